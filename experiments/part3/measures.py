"""Part 3's own measurements, taken through train()'s ``measure`` hook: what a ReLU after the
last layer clips (every run), and how alike the hidden units are (the constant initialisation).

A ReLU after the last Linear clips every logit <= 0 to exactly 0 and passes it no gradient.

- A *stranded* example is one whose own class's logit is clipped: nothing pushes that logit
  up (only changes made for other examples can bring it back), and while it stays at 0 the
  example's loss is at least ln 2 (the other logits are 0 or above). The run's mean loss
  cannot fall below ln 2 times the share of examples stranded: the loss floor.
- A *dead output unit* is one clipped on every example: no example sends it any gradient,
  so its weights stop changing (the layers below still change, and can revive it).
- The *push that passes*: the loss sends each example's own logit a gradient that pushes it
  up, dL/dz[n, y_n] = (p[n, y_n] - 1) / N. Of that push, summed over the examples, the share
  that passes the last ReLU to the weights below; a stranded example's passes none. 1 for a
  model without a last ReLU.

``measure_clipping`` is train()'s hook: it adds these numbers to every run's history at every
measurement. For a model without a last ReLU it reports what such a ReLU would do.
``at_initialisation`` is the same question asked of a fresh model on the host, for the
study of many initialisations.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import tinynet as tn
from tinynet.backend import backend_of
from tinynet.doctor.exam import unit_spread
from tinynet.losses import label_mask


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
    own_passed = xp.any(passed & label_mask(labels, n_classes, be), axis=1)  # (N,): the example's own logit passed
    stranded = 1.0 - float(xp.mean(xp.astype(own_passed, xp.float32)))
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
    over inputs and layers. 0 means every unit of a layer computes the same function.
    Part 3's own numbers (measure_clipping) are taken too."""
    be = backend_of(x)
    linears = [layer for layer in model.layers if isinstance(layer, tn.Linear)][:-1]  # the hidden ones
    spread = max(unit_spread(layer, be) for layer in linears)
    return {**measure_clipping(model, x, labels), "unit_spread": spread}


def at_initialisation(model: Any, x: np.ndarray, labels: np.ndarray) -> tuple[int, float]:
    """A ReLU-last model before any step, on host data x: (N, D), labels: (N,) -> (dead output
    units, share of examples stranded), from one forward pass."""
    be = model.layers[0].backend
    model.forward(be.asarray(x, dtype="float32"))
    passed = be.to_numpy(model.layers[-1].mask)  # (N, C): logit > 0
    return int((~passed.any(axis=0)).sum()), float(np.mean(~passed[np.arange(len(labels)), labels]))


def revived_units(steps: list[int], dead_units: list[list[int]]) -> dict[str, list[int]]:
    """{unit: [each measured step at which it was found alive again after being dead]}.

    A dead unit's own weights get no gradient, but the hidden layers below it keep changing
    (the other outputs still train them), so its logit can rise above 0 again."""
    revived: dict[str, list[int]] = {}
    for i in range(1, len(dead_units)):
        for unit in sorted(set(dead_units[i - 1]) - set(dead_units[i])):
            revived.setdefault(str(unit), []).append(steps[i])
    return revived
