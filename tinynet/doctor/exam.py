"""The checks before the first step: what no loss curve shows.

Run once, at the first measurement (before any update), on the whole training set:

- the structure: does the model already output probabilities, or clip its logits at 0?
- the loss, probed: at certain, correct logits (a floor above 0 is softmax applied twice),
  and on one batch written twice (a sum over the batch doubles, a mean does not);
- the inputs' scale, feature by feature;
- identical units in a hidden layer;
- whether the labels can be predicted from the inputs at all (nearest neighbours);
- a finite-difference check, on a few rows, of every layer and loss that is not tinynet's own;
  a layer that draws at random (two forwards on the same input differ) is checked in training
  mode with its randomness held still (randomness.py), and is a finding if it still draws in
  eval mode, where tinynet measures.

The checks run in eval mode (the Watcher puts the model there), as every measurement does.

Each check that a learner's own code breaks (it raises, or returns the wrong shape) becomes a
finding, never a traceback from the doctor.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import gradcheck
from ..backend import Backend, backend_of
from ..losses import SoftmaxCrossEntropy
from ..metrics import own_output_at_zero, unit_spread
from ..model import layer_label, layer_name, parameters
from . import thresholds as T
from .finding import Finding
from .randomness import held_still, mode, random_in


def own_code(obj: Any) -> bool:
    """A learner's layer or loss: anything whose class is not tinynet's own."""
    return not type(obj).__module__.startswith("tinynet.")


def weighted(layer: Any) -> bool:
    return bool(getattr(layer, "param_names", ()))


class Exam:
    """What the doctor saw before the first step: findings, and what it keeps for later."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.checked: list[str] = []
        self.identical: dict[int, str] = {}  # layer index -> its label, for layers of identical units
        self.clipping: tuple[int, int] | None = None  # (last weighted layer, first layer after it)
        self.unpredictable: str | None = None  # the neighbours' evidence, where labels look unlearnable
        self.n_classes = 0
        self.neighbours: tuple[float, int] | None = None  # (leave-one-out k-NN training accuracy, examples it read)
        self.activations: list[str] = []  # the type of each layer without weights between two with weights
        self.broken_gradient = ""  # where a backward made NaN or inf from finite numbers: what followed is its doing

    def add(self, cause: str, evidence: str, fix: str) -> None:
        self.findings.append(Finding(cause, evidence, fix))


def examine(model: Any, x: Any, labels: Any, loss_fn: Any) -> Exam:
    """model: the Sequential train() runs; x: (N, D) and labels: (N,), the training set on the
    backend; loss_fn: the run's loss (None: tinynet's cross-entropy)."""
    exam = Exam()
    be = backend_of(x)
    _finite_gradients(exam, model, x, be)  # first: the checks below run backward again, over these gradients
    outs = _forward_each(exam, model, x)
    if outs is None:
        return exam
    out = outs[-1]
    exam.n_classes = int(out.shape[1])
    _structure(exam, model, outs, labels, be)
    at = [i for i, layer in enumerate(model.layers) if weighted(layer)]
    between = model.layers[at[0]:at[-1]] if at else []  # the activations a gradient passes on its way back
    exam.activations = [type(layer).__name__ for layer in between if not weighted(layer)]
    _loss_probes(exam, loss_fn or SoftmaxCrossEntropy(), out, labels, be)
    host_x, host_labels = be.to_numpy(x), be.to_numpy(labels)
    _input_scale(exam, host_x)
    _identical_units(exam, model, be)
    _neighbours(exam, host_x, host_labels)
    _own_code(exam, model, loss_fn, x, outs, labels, be)
    return exam


def _finite_gradients(exam: Exam, model: Any, x: Any, be: Backend) -> None:
    """The first step's gradients, as its backward left them: with finite inputs and finite
    weights, a NaN or inf in a gradient is a backward's doing, not the learning rate's (the
    finite-difference check samples a few entries and can miss one). A NaN flows backward into
    every layer before the one that made it, so the one named is the last, nearest the loss."""
    xp = be.xp
    if not bool(xp.all(xp.isfinite(x))):
        return
    found, weighted_seen = None, None
    for where, layer, name in parameters(model):
        param, grad = getattr(layer, name), getattr(layer, "d" + name, None)
        weighted_seen = where
        if grad is None or getattr(grad, "shape", None) != getattr(param, "shape", ()) or not bool(
                xp.all(xp.isfinite(param))):
            continue
        bad = int(xp.sum(xp.astype(~xp.isfinite(grad), xp.int64)))
        if bad:
            found = (where, name, bad, int(grad.size))
    if found is None:
        return
    where, name, bad, size = found
    exam.broken_gradient = where
    after = " (it is the last layer with weights: the NaN may come from the loss's backward)" if (
        where == weighted_seen) else ""
    exam.add("wrong_gradient", f"{where}: at the first step the backward left {bad} of {size} entries of d{name} NaN "
             f"or infinite, with finite inputs and finite weights{after}",
             f"fix the backward that made it ({where}.backward, or one after it): a 0/0, a log(0) or an overflow "
             f"(check each with tinynet.testing.assert_backward_correct)")


def _forward_each(exam: Exam, model: Any, x: Any) -> list[Any] | None:
    """Each layer's output on the training set, in order: outs[i] = layers[i]'s output."""
    outs = []
    for i, layer in enumerate(model.layers):
        try:
            x = layer.forward(x)
        except Exception as e:  # the learner's layer: a finding, not the doctor's traceback
            exam.add("wrong_gradient", f"{layer_label(i, layer)}.forward raised {type(e).__name__}: {e}",
                     f"fix {layer_name(layer)}.forward: it must take (N, features) and return (N, units)")
            return None
        outs.append(x)
    return outs


def _structure(exam: Exam, model: Any, outs: list[Any], labels: Any, be: Backend) -> None:
    """Probabilities out of the model, or logits clipped at 0 after the last weighted layer."""
    xp = be.xp
    out = outs[-1]
    low, high = float(xp.min(out)), float(xp.max(out))
    sums = xp.sum(out, axis=1)
    last = max((i for i, layer in enumerate(model.layers) if weighted(layer)), default=None)
    exam.checked.append("the model's outputs")
    if low >= 0 and high <= 1 and float(xp.max(xp.abs(sums - 1.0))) < 1e-3:
        after = model.layers[-1]
        most = math.e / (math.e + out.shape[1] - 1)  # softmax of probabilities: e / (e + C - 1) at most
        exam.add("softmax_twice",
                 f"the model's outputs are already probabilities (each row in [0, 1], summing to 1: "
                 f"{layer_label(len(model.layers) - 1, after)} ends it), and the cross-entropy applies softmax "
                 f"again: no class can get a probability above e/(e + C - 1) = {most:.0%}",
                 f"remove {layer_label(len(model.layers) - 1, after)}: give the loss the last layer's raw logits")
        return
    if last is None or last == len(model.layers) - 1:
        return
    if _clips(model.layers[last + 1:], outs[last], be):
        exam.clipping = (last, last + 1)
        clipped = float(xp.mean(xp.astype(out <= 0, xp.float32)))
        stuck = own_output_at_zero(out, labels, be)
        after = ", ".join(layer_label(i, model.layers[i]) for i in range(last + 1, len(model.layers)))
        exam.add("output_relu",
                 f"{after} after {layer_label(last, model.layers[last])} keeps the outputs at 0 or above: a logit "
                 f"cannot go negative, and one at 0 gets no gradient. At the start {clipped:.0%} of the outputs "
                 f"were 0, and {stuck:.0%} of the examples had their own class's output at 0 (while it stays "
                 f"there, that example's loss is at least ln {out.shape[1]} = {math.log(out.shape[1]):.3g})",
                 f"remove {after}: the loss needs the raw logits of {layer_label(last, model.layers[last])}, "
                 f"negative ones too")


def _clips(tail: list[Any], logits: Any, be: Backend) -> bool:
    """Do the layers after the last weighted one keep negative logits from coming out? Asked
    with logits that are all negative: a ReLU (or a sigmoid, or any clipping) returns none."""
    xp = be.xp
    out = -1.0 - xp.abs(logits)  # (N, C), every entry <= -1
    for layer in tail:
        out = layer.forward(out)
    return float(xp.min(out)) >= 0


def _loss_probes(exam: Exam, loss_fn: Any, out: Any, labels: Any, be: Backend) -> None:
    """The loss at certain, correct logits (its floor), and on a batch written twice (mean or sum)."""
    rows = min(T.CHECK_ROWS, int(out.shape[0]))
    n_classes = int(out.shape[1])
    y = be.to_numpy(labels[:rows])
    dtype = str(be.to_numpy(out[:1, :]).dtype)
    certain = be.asarray(T.CERTAIN_MARGIN * np.eye(n_classes)[y], dtype=dtype)  # (rows, C)
    zeros_once, zeros_twice = (be.asarray(np.zeros((k, n_classes)), dtype=dtype) for k in (rows, 2 * rows))
    saved = dict(vars(loss_fn)) if hasattr(loss_fn, "__dict__") else None
    try:
        floor = float(loss_fn.forward(certain, be.asarray(y)))
        once = float(loss_fn.forward(zeros_once, be.asarray(y)))
        twice = float(loss_fn.forward(zeros_twice, be.asarray(np.concatenate([y, y]))))
    except Exception as e:  # the learner's loss
        exam.add("wrong_gradient", f"{layer_name(loss_fn)}.forward raised {type(e).__name__} on {rows} examples "
                 f"of {n_classes} classes: {e}", f"fix {layer_name(loss_fn)}.forward(logits (N, C), labels (N,))")
        return
    finally:
        if saved is not None:
            vars(loss_fn).update(saved)
    exam.checked.append("the loss at certain logits and on a batch written twice")
    ln_c = math.log(n_classes)
    if floor > T.LOSS_FLOOR * ln_c:
        exam.add("softmax_twice",
                 f"{layer_name(loss_fn)} cannot go below {floor:.3g} even at logits that make every label "
                 f"certain (a cross-entropy is 0 there): it applies softmax to probabilities, and "
                 f"ln(1 + (C - 1)/e) = {math.log(1 + (n_classes - 1) / math.e):.3g} is the floor that leaves",
                 f"apply softmax once: pass {layer_name(loss_fn)} the raw logits, or use tn.SoftmaxCrossEntropy()")
    if once > 0 and twice / once > T.SUMMED_RATIO:
        exam.add("loss_summed",
                 f"{layer_name(loss_fn)} of one batch written twice is {twice / once:.3g} times its loss of the "
                 f"batch once ({once:.3g} for {rows} examples at zero logits: ln {n_classes} x {once / ln_c:.3g}): "
                 f"it sums over the batch, so every gradient, and every step, is N times what the mean gives",
                 "divide the loss and its gradient by the batch size N (the mean), or divide lr by N")


def _input_scale(exam: Exam, x: np.ndarray) -> None:
    """One feature far above unit scale, or all of them together far below it."""
    rms = np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=0))  # (D,): each feature's size
    exam.checked.append("the inputs' scale")
    if not np.any(rms > 0):
        return
    overall = float(np.sqrt(np.mean(np.square(rms))))  # the size of a typical input, all features together
    large = float(rms.max())
    if large > T.FAR_FROM_UNIT:
        feature = int(np.argmax(rms))
        said = f"input feature {feature} has a root-mean-square of {large:.3g} (the features together {overall:.3g})"
        worst = large
    elif overall < 1 / T.FAR_FROM_UNIT:
        said = f"the inputs have a root-mean-square of {overall:.3g}, all {len(rms)} features together"
        worst = overall
    else:
        return
    exam.add("unnormalised_inputs",
             f"{said}; the first layer's gradient x.T @ dout scales with x, so its steps are "
             f"{worst:.3g} times what the learning rate was chosen for",
             "standardise each feature before training: x = (x - mean) / std, with the training set's mean "
             "and std (apply the same to validation data)")


def _identical_units(exam: Exam, model: Any, be: Backend) -> None:
    """Hidden layers (weighted, with another weighted layer after them) whose units are the same."""
    weighted_at = [i for i, layer in enumerate(model.layers) if weighted(layer) and hasattr(layer, "W")]
    exam.checked.append("identical units")
    for i in weighted_at[:-1]:
        if model.layers[i].W.shape[1] > 1 and relative_spread(model.layers[i], be) <= T.IDENTICAL_UNITS:
            exam.identical[i] = layer_label(i, model.layers[i])
    if exam.identical:
        names = ", ".join(exam.identical.values())
        exam.add("symmetric_init",
                 f"every unit of {names} starts with the same weights (the largest spread between units, against "
                 f"the largest weight: {max(relative_spread(model.layers[i], be) for i in exam.identical):.2g}): "
                 f"each gets the same gradient and takes the same step, so they stay one unit copied",
                 "draw the initial weights at random (tn.create_model does, or W = rng.uniform(-1/sqrt(n_in), "
                 "1/sqrt(n_in), (n_in, n_out))): different units must start different")


def relative_spread(layer: Any, be: Backend) -> float:
    """unit_spread against the layer's largest weight: 0 for identical units (all-zero weights too)."""
    spread = unit_spread(layer, be)
    size = float(be.xp.max(be.xp.abs(layer.W)))
    if spread == 0:
        return 0.0
    if size == 0:  # W all zero, the units told apart by their biases alone: not identical
        return float("inf")
    return spread / size




def _neighbours(exam: Exam, x: np.ndarray, labels: np.ndarray) -> None:
    """Leave-one-out k-nearest-neighbour accuracy, on standardised features, against always
    answering the majority class: labels that no neighbourhood predicts carry no signal."""
    n = min(len(x), T.NEIGHBOUR_SAMPLE)
    if n <= T.NEIGHBOURS or np.unique(labels[:n]).size < 2:  # one class: nothing to predict, nothing to miss
        return
    x, labels = x[:n].astype(np.float64), labels[:n]
    spread = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    squared = np.sum(x ** 2, axis=1)
    distance = squared[:, None] + squared[None, :] - 2 * x @ x.T  # (n, n)
    np.fill_diagonal(distance, np.inf)  # leave each example out of its own vote
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :T.NEIGHBOURS]
    votes = np.apply_along_axis(np.bincount, 1, labels[nearest], minlength=int(labels.max()) + 1)
    accuracy = float(np.mean(votes.argmax(axis=1) == labels))
    exam.neighbours = (accuracy, n)
    baseline = float(np.bincount(labels).max() / n)
    exam.checked.append("whether the inputs predict the labels")
    if accuracy <= baseline + T.NEAR_BASELINE:
        exam.unpredictable = (f"each training example's {T.NEIGHBOURS} nearest neighbours predict its label for "
                              f"{accuracy:.0%} of them, against {baseline:.0%} for always answering the majority "
                              f"class")


def _own_code(exam: Exam, model: Any, loss_fn: Any, x: Any, outs: list[Any], labels: Any, be: Backend) -> None:
    """A finite-difference check, on a few rows in float64, of every layer and loss not tinynet's own."""
    rows = min(T.CHECK_ROWS, int(x.shape[0]))

    def float64(a: Any) -> Any:
        return be.asarray(be.to_numpy(a[:rows, ...]), dtype="float64")

    inputs = [x, *outs[:-1]]
    for i, layer in enumerate(model.layers):
        if own_code(layer) and layer_label(i, layer) != exam.broken_gradient:  # named already, at its NaN
            _check_layer(exam, layer_label(i, layer), layer, float64(inputs[i]))
    if loss_fn is not None and own_code(loss_fn):
        _check(exam, layer_name(loss_fn), lambda: gradcheck.check_loss(loss_fn, float64(outs[-1]),
                                                                       labels[:rows], max_entries=20))


def _check_layer(exam: Exam, where: str, layer: Any, x: Any) -> None:
    """A learner's layer against finite differences on x (rows, D) float64. A layer that draws at
    random is checked in training mode with the mask it drew held still; one that draws in eval
    mode too is a finding (tinynet measures in eval mode: its numbers would be noise)."""
    try:
        at_eval = random_in(layer, x)  # the model is in eval mode here
        with mode(layer, True):
            in_training = random_in(layer, x)
    except Exception:  # the check below runs it again, and names what it raises
        at_eval = in_training = 0.0
    if at_eval:
        exam.add("random_at_evaluation", f"{where}: in eval mode (model.eval(), as tinynet measures accuracy and "
                 f"validation) two forward passes on the same input gave different outputs in {at_eval:.0%} of "
                 f"the entries: it draws at random when it should not, so every accuracy, validation number and "
                 f"prediction of this model is noisy",
                 f"in {layer_name(layer)}.forward, draw only while self.training is True and return the input "
                 f"unchanged otherwise (model.train() and model.eval() set it; tinynet trains in training mode and "
                 f"measures in eval mode)")
    if not (at_eval or in_training):
        _check(exam, where, lambda: gradcheck.check_layer(layer, x, max_entries=20))
        return
    with mode(layer, True), held_still(layer):
        if random_in(layer, x):  # drawn from somewhere the doctor cannot put back: no function to check
            exam.checked.append(f"{where}: draws at random from a source the doctor cannot hold still; its backward "
                                f"was not checked (check it with its mask fixed: tinynet.testing)")
            return
        _check(exam, f"{where} (random: checked with the mask it drew held still)",
               lambda: gradcheck.check_layer(layer, x, max_entries=20))


def _check(exam: Exam, where: str, run: Any) -> None:
    exam.checked.append(f"{where} against finite differences")
    try:
        results = run()
    except Exception as e:  # the learner's code raised inside the check
        exam.add("wrong_gradient", f"checking {where} against finite differences, it raised "
                 f"{type(e).__name__}: {e}", f"make {where} work on (N, features) float64 input, then check it "
                 f"with tinynet.testing.assert_backward_correct")
        return
    failed = [r for r in results if not r.passed]
    if failed:
        r = max(failed, key=lambda r: r.error)
        said = r.note or (f"backprop gives {r.analytic:.4g} where finite differences give {r.numeric:.4g} at entry "
                          f"{r.worst_index} (ratio {r.ratio:.3g}; relative error {r.error:.2g}, tolerance {r.tol:.0e})")
        exam.add("wrong_gradient", f"{where}: the gradient d{r.param} is wrong: {said}",
                 f"fix {where}.backward{': ' + r.hint if r.hint else ''}; "
                 f"tinynet.testing.assert_backward_correct shows each failing entry")
