"""Part 3's own measurements, taken through train()'s ``measure`` hook of the case that needs
them: what a ReLU after the last layer clips, and how alike the hidden units are (the
constant initialisation); and, beyond the runs, how broken the ReLU-last model starts out
over many initialisations.

A ReLU after the last Linear clips every logit <= 0 to exactly 0 and passes it no gradient.

- A *stranded* example is one whose own class's logit is clipped: nothing pushes that logit
  up (only changes made for other examples can bring it back), and while it stays at 0 the
  example's loss is at least ln C (the other C - 1 logits are 0 or above; ln 2 for two
  classes). The run's mean loss cannot fall below ln C times the share of examples
  stranded: the loss floor.
- A *dead output unit* is one clipped on every example: no example sends it any gradient,
  so its weights stop changing (the layers below still change, and can revive it).
- The *push that passes*: the loss sends each example's own logit a gradient that pushes it
  up, dL/dz[n, y_n] = (p[n, y_n] - 1) / N. Of that push, summed over the examples, the share
  that passes the last ReLU to the weights below; a stranded example's passes none. 1 for a
  model without a last ReLU.

``measure_clipping`` is the ReLU-last case's hook: it adds these numbers to its run's history
at every measurement (for a model without a last ReLU it reports what such a ReLU would
do). ``at_initialisation`` asks the same of a fresh model, for ``initialisations``, the study
of many initialisations.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import tinynet as tn
from experiments.harness.runner import N_EXAMPLES, model_for
from tinynet.breakages import relu_after_last
from tinynet.backend import backend_of
from tinynet.data import make_dataset
from tinynet.losses import label_mask
from tinynet.metrics import own_output_at_zero, unit_spread


def measure_clipping(model: Any, x: Any, labels: Any) -> dict[str, Any]:
    """x: (N, D), labels: (N,) on the backend -> the shares of logits clipped and examples
    stranded, the dead output units and their share."""
    be = backend_of(x)
    xp = be.xp
    out = model.forward(x)  # (N, C): the model's output on the whole training set
    clips = isinstance(model.layers[-1], tn.ReLU)  # a ReLU after the last layer
    # Which logits pass a last ReLU (its mask); for a healthy model, which ones would.
    passed = model.layers[-1].mask if clips else out > 0  # (N, C) bool
    clipped = 1.0 - float(xp.mean(xp.astype(passed, xp.float32)))
    n_classes = out.shape[1]
    stranded = own_output_at_zero(out, labels, be)  # behind the ReLU, an own output at 0 is a clipped logit
    dead_units: list[int] = []
    if clips:  # an output unit gets no gradient from the batch when clipped on every example
        alive = be.to_numpy(xp.any(passed, axis=0))  # (C,), a few bytes to the host
        dead_units = [int(i) for i in np.flatnonzero(~alive)]
    return {"logits_clipped": clipped, "dead_outputs": len(dead_units) / n_classes, "dead_units": dead_units,
            "stranded": stranded, "push_passed": push_passed(out, labels, passed) if clips else 1.0}


def push_passed(out: Any, labels: Any, passed: Any) -> float:
    """out: (N, C) the model's output, labels: (N,), passed: (N, C) bool the last ReLU's mask
    -> the share of the loss's push on the examples' own logits that passes the ReLU. The push
    is the engine's own gradient, dL/dz = (p - onehot) / N, negative at each own logit."""
    be = backend_of(out)
    xp = be.xp
    loss = tn.SoftmaxCrossEntropy()
    loss.forward(out, labels)
    push = -xp.where(label_mask(labels, out.shape[1], be), loss.backward(), 0.0)  # (N, C): >= 0 at own logits
    total = float(xp.sum(push))
    return float(xp.sum(xp.where(passed, push, 0.0))) / total if total > 0 else 1.0


def measure_symmetry(model: Any, x: Any, labels: Any) -> dict[str, Any]:
    """How different the hidden units are: for each hidden Linear, the spread (standard
    deviation) across its output units of their incoming weights and biases, the largest
    over inputs and layers. 0 means every unit of a layer computes the same function."""
    be = backend_of(x)
    linears = [layer for layer in model.layers if isinstance(layer, tn.Linear)][:-1]  # the hidden ones
    return {"unit_spread": max(unit_spread(layer, be) for layer in linears)}


def at_initialisation(model: Any, x: np.ndarray, labels: np.ndarray) -> tuple[int, float]:
    """A ReLU-last model before any step, on host data x: (N, D), labels: (N,) -> (dead output
    units, share of examples stranded), from one forward pass."""
    be = model.layers[0].backend
    out = model.forward(be.asarray(x, dtype="float32"))  # (N, C), each logit clipped at 0 by the last ReLU
    passed = be.to_numpy(model.layers[-1].mask)  # (N, C): logit > 0
    return int((~passed.any(axis=0)).sum()), own_output_at_zero(out, be.asarray(labels), be)


INITIALISATIONS = 1000  # in the forward-only study (100 with --quick)


def initialisations(args: Any) -> dict[str, Any]:
    """Beyond the log: over many initialisations (seeds 0..inits-1, data seeded as the study's
    seeds are), the ReLU-last model's state before any step: dead output units, and the share
    of examples whose own logit is clipped. A forward pass each: seconds for a thousand.

    Returns {"init_study": the study or None, "interrupted": bool}: a Ctrl-C keeps the
    initialisations done so far (None if none), and the training results, which took the
    minutes, are written all the same."""
    inits = INITIALISATIONS // 10 if args.quick else INITIALISATIONS
    dead, stranded = [], []
    try:
        for i in range(inits):
            weights = i if args.weight_seed is None else args.weight_seed
            data = make_dataset(args.dataset, N_EXAMPLES, seed=i if args.data_seed is None else args.data_seed,
                                val_fraction=0.0)
            model = relu_after_last(tn.create_model(list(model_for(args.dataset)), seed=weights, backend=args.be))
            n_dead, share = at_initialisation(model, data.x_train, data.y_train)
            dead.append(n_dead)
            stranded.append(share)
    except KeyboardInterrupt:
        pass
    found = None if not dead else {
        "inits": len(dead), "dead_units": dead, "stranded": stranded,
        "with_dead_unit": float(np.mean(np.array(dead) > 0)), "stranded_median": float(np.median(stranded))}
    return {"init_study": found, "interrupted": len(dead) < inits}


def revived_units(steps: list[int], dead_units: list[list[int]]) -> dict[str, list[int]]:
    """{unit: [each measured step at which it was found alive again after being dead]}.

    A dead unit's own weights get no gradient, but the hidden layers below it keep changing
    (the other outputs still train them), so its logit can rise above 0 again."""
    revived: dict[str, list[int]] = {}
    for i in range(1, len(dead_units)):
        for unit in sorted(set(dead_units[i - 1]) - set(dead_units[i])):
            revived.setdefault(str(unit), []).append(steps[i])
    return revived
