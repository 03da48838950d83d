"""From what the doctor saw to a diagnosis: the checks before the first step, then what the run
showed, each finding with this run's numbers, most important first (finding.CAUSES).

Of a History's per-step losses the rules read only loss[0] (the first), loss[-1] (the last),
steps_taken and loss_summary() (rises, lowest): a History may keep the losses between thinned
(the lab's, on a run of a million steps), never those."""
from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np

from ..metrics import fell
from . import thresholds as T
from .finding import CAUSES, Diagnosis, Finding


def diagnosis(watch: Any, history: Any) -> Diagnosis:
    exam = watch.exam
    if exam is None:  # stopped before the first measurement: nothing was seen, so nothing is "healthy"
        how = "it was interrupted (Ctrl-C) before" if history.interrupted else "it stopped before"
        return Diagnosis([Finding("no_steps", f"the run took no step: {how} its first measurement, so nothing was "
                                              f"measured and nothing can be said about it",
                                  "run it again and let it take at least one step (train measures at its first)")],
                         history, interrupted=history.interrupted)
    found = [_what_it_cost(f, watch, history) for f in exam.findings]
    # A backward that made NaN from finite numbers explains what the run did next (it diverges,
    # its NaN weights pass nothing): the rules that read the run would blame the learning rate.
    rules = (_unlearnable,) if exam.broken_gradient else (_unlearnable, _too_high, _small_gradient, _dead)
    for rule in rules:
        finding = rule(watch, history)
        if finding is not None and finding.id not in [f.id for f in found]:  # a small gradient may be dead units
            found.append(finding)
    # A flat loss, or a poor fit, with any finding above is explained by it: tiny steps follow
    # tiny gradients, and a network that cannot learn fits nothing.
    for rule in (_too_low, _too_small):
        if not found:
            finding = rule(watch, history)
            found += [finding] if finding is not None else []
    found.sort(key=lambda f: CAUSES.index(f.id))  # stable: within one cause, in the order found
    checked = exam.checked + ["the loss curve, gradient norms per layer, weight updates and dead units at "
                              f"{len(history.eval_steps)} measurements"]
    return Diagnosis(found, history, checked=checked, interrupted=history.interrupted)


def _ending(h: Any) -> str:
    if h.diverged_at is not None:
        return f"the run diverged at step {h.diverged_at}"
    return f"the loss went from {h.loss[0]:.3g} to {h.loss[-1]:.3g} in {h.steps_taken} steps"


def _what_it_cost(f: Finding, watch: Any, h: Any) -> Finding:
    """A defect found before the first step, with what it did to this run (or why it did not bite)."""
    if not h.loss:
        return f
    if f.id == "symmetric_init" and watch.spread:
        end = max(series[-1] for series in watch.spread.values())
        stayed = "still identical" if end <= T.IDENTICAL_UNITS else "they had begun to differ"
        more = f"; at step {h.eval_steps[-1]} the relative spread was {end:.2g}: {stayed}; {_ending(h)}"
    elif f.id == "output_relu" and watch.own_output_at_zero:
        more = (f"; at the end {watch.own_output_at_zero[-1]:.0%} of the examples had their own output at 0, and "
                f"{_ending(h)}" + ("" if watch.own_output_at_zero[-1] else " (this time few enough to learn anyway)"))
    elif f.id == "loss_summed":
        more = f"; {_ending(h)}" + ("" if h.diverged_at is not None else
                                    " (it did not diverge here: at this learning rate and batch size the "
                                    "N-times step was still small enough, but a larger batch would not be)")
    else:
        more = f"; {_ending(h)}"
    return Finding(f.id, f.evidence + more, f.fix)


def _unlearnable(watch: Any, h: Any) -> Finding | None:
    """Labels the inputs do not predict: no neighbourhood predicts them, or, with a validation
    set, fresh examples are predicted no better than by the majority class while what the
    model learned on the training set does not carry over to them. That second sign needs
    training that worked (after a defect found before the first step, a wrong gradient say,
    poor validation accuracy is that defect's doing, not the labels'), enough validation
    examples to tell their accuracy from the majority share, and a gap between training and
    validation accuracy larger than their sampling noise."""
    data, near = watch.data, watch.exam.unpredictable
    if not (data is not None and len(getattr(data, "y_val", ())) and h.val_acc and math.isfinite(h.val_acc[-1])):
        return None if near is None else Finding("unlearnable_labels", near, UNLEARNABLE_FIX)
    # The best a constant answer does on the validation set: its most common class's share.
    baseline = float(np.bincount(np.asarray(data.y_val)).max() / len(data.y_val))
    val, train = h.val_acc[-1], h.train_acc[-1]
    defects = watch.exam.findings  # found before the first step
    n_val, n_train = len(data.y_val), len(data.y_train)
    noise = math.sqrt(val * (1 - val) / n_val + train * (1 - train) / n_train)  # the gap's standard error
    memorised = (train - val >= max(T.MEMORISED, T.GAP_ERRORS * noise) and not defects
                 and n_val >= T.VALIDATION_EXAMPLES)
    if not (val <= baseline + T.NEAR_BASELINE and (near is not None or memorised)):
        return None  # fresh examples were predicted after all, or the model has not learned anything yet
    said = near + "; " if near else ""
    return Finding("unlearnable_labels",
                   f"{said}validation accuracy ended at {val:.0%}, against {baseline:.0%} for always answering the "
                   f"majority class, while training accuracy reached {train:.0%}: what the model learned does "
                   f"not carry over to fresh examples", UNLEARNABLE_FIX)


UNLEARNABLE_FIX = ("check the labels against the inputs (aligned row by row? shuffled? noise?): no model can learn "
                   "what the inputs do not predict")


def _too_high(watch: Any, h: Any) -> Finding | None:
    lr = f" (now {watch.lr:g}); try {watch.lr / 10:g}" if watch.lr else ""
    fix = f"lower the learning rate{lr}, by factors of 10 until the loss falls steadily"
    if h.diverged_at is not None:
        return Finding("lr_too_high", f"the loss went from {h.loss[0]:.3g} to {h.loss[-1]:.3g} and the run was "
                       f"stopped as diverged at step {h.diverged_at} (not finite, or over 10 times its start): each "
                       f"step overshoots the minimum it aims at", fix)
    full_batch = watch.batch_size is None or (watch.data is not None and watch.batch_size >= len(watch.data.y_train))
    if not full_batch or h.steps_taken < 10:
        return None
    summary = h.loss_summary()  # read once: a long run's History may keep its losses thinned (the lab's)
    rises = summary.rises / (summary.count - 1)
    lowest = summary.lowest
    if rises > T.RISING_STEPS and h.loss[-1] > T.ABOVE_LOWEST * lowest:
        return Finding("lr_too_high", f"the full-batch loss rose at {rises:.0%} of the steps and ended at "
                       f"{h.loss[-1]:.3g}, {h.loss[-1] / lowest:.3g} times its lowest ({lowest:.3g}): the steps "
                       f"oscillate across the minimum instead of settling into it", fix)
    return None


def _small_gradient(watch: Any, h: Any) -> Finding | None:
    """The first layer's gradient far below the last one's, explained by its cause: no unit
    passes it (dead ReLUs), the weights collapsed toward 0, or it shrinks layer by layer
    through saturating activations (vanishing gradients). Its size alone names none of them."""
    names = list(h.grad_norm)
    if len(names) < 2:
        return None
    first, last = h.grad_norm[names[0]], h.grad_norm[names[-1]]
    ratios = [a / b if b > 0 else math.inf for a, b in zip(first, last)]
    if not ratios:  # stopped (Ctrl-C) before its first measurement was whole
        return None
    # At the start, or typically over the run: once the last layer has fitted what it can, its
    # own gradient falls too, and the ratio no longer shows what starved the first layers.
    at_start, typical = ratios[0], statistics.median(ratios)
    if not min(at_start, typical) < T.VANISHING_RATIO:
        return None
    when = "at the start" if at_start <= typical else "over the run (median)"
    got = (f"{names[0]} got no gradient at all {when}" if min(at_start, typical) == 0 else
           f"the gradient norm of {names[0]} was {min(at_start, typical):.2g} times that of {names[-1]} {when}")
    collapsed = _collapsed(watch, h, got)  # first: shrunken weights also leave units at exactly 0
    if collapsed is not None:
        return collapsed
    dead = _dead(watch, h, why=got)
    if dead is not None:
        return dead
    factors = [_factor(h.grad_norm[a][0], h.grad_norm[b][0]) for a, b in zip(names, names[1:])]
    saturating = [name for name in watch.exam.activations if name != "ReLU"]
    fix = ("use ReLU (not sigmoid or tanh) in the hidden layers, an initialisation scaled to each layer "
           "(init='he' for ReLU), or fewer layers") if saturating else (
           "an initialisation scaled to each layer (init='he' for ReLU), or fewer layers")
    through = f" through {', '.join(dict.fromkeys(saturating))}" if saturating else ""
    return Finding("vanishing_gradients",
                   f"{got} (at the start {first[0]:.2g} against {last[0]:.2g}; median ratio {typical:.2g}): on its "
                   f"way back{through}, from each Linear layer to the one before, the gradient norm was multiplied "
                   f"by {', '.join(factors)} (at the start), and the first layers barely learn", fix)


def _factor(below: float, above: float) -> str:
    """How a gradient norm changed from one Linear layer to the one before it, in words."""
    if above == 0:
        return "nothing (no gradient reached it)"
    return "0 (no gradient at all)" if below == 0 else f"{below / above:.2g}"


def _collapsed(watch: Any, h: Any, got: str) -> Finding | None:
    """Weights that shrank toward 0 over the run: every signal and every gradient shrinks with them."""
    shrunk = _shrunk(watch)
    if not shrunk:
        return None
    said = ", ".join(f"{name} from {watch.norms[name][0]:.3g} to {watch.norms[name][-1]:.2g}" for name in shrunk)
    return Finding("weights_collapsed",
                   f"the weights shrank toward 0 over the run ({said}: below {T.COLLAPSED:g} of their start), so "
                   f"every activation and every gradient shrank with them: {got}; {_ending(h)}",
                   "if you decay the weights (weight decay, L2), make it weaker by factors of 10: a decay of lambda "
                   "shrinks every weight by lr x lambda of itself each step; otherwise check what your optimizer "
                   "does to the weights besides following the gradient")


def _shrunk(watch: Any) -> dict[str, float]:
    """{layer: its weights' size at the end over at the start}, for layers that collapsed."""
    return {name: norms[-1] / norms[0] for name, norms in watch.norms.items()
            if len(norms) > 1 and norms[0] > 0 and norms[-1] < T.COLLAPSED * norms[0]}


def _dead(watch: Any, h: Any, why: str = "") -> Finding | None:
    """Most units of a hidden ReLU layer output 0 for every example at the end (or, explaining a
    gradient that did not arrive, ``why``, at the start), and what put them there: the
    initialisation (dead before any step) or the run (a large step)."""
    dead = {name: series for name, series in watch.dead.items()
            if series and (max(series[0], series[-1]) if why else series[-1]) > T.MOSTLY_DEAD}
    if not dead:
        return None
    name, series = max(dead.items(), key=lambda item: item[1][-1])
    at_start, at_end = series[0], series[-1]
    if at_start > T.MOSTLY_DEAD:
        origin = (f"dead from the start ({at_start:.0%} before any step): the initial weights and biases put every "
                  f"example below 0 there")
        fix = ("start the biases at 0 or a small positive value, and draw the weights scaled to the layer "
               "(init='he', or tn.create_model's default): a unit must see some example above 0 to learn")
    elif _shrunk(watch):
        origin = (f"silenced as the weights shrank toward 0 ({at_start:.0%} at the start; see weights_collapsed): "
                  f"inputs of 0 leave a ReLU at exactly 0")
        fix = "stop the weights collapsing (weights_collapsed): the units come back with weights of some size"
    else:
        origin = (f"killed by the run ({at_start:.0%} at the start): steps too large pushed them below 0 for every "
                  f"example")
        fix = "lower the learning rate (large steps push units below 0 for good), or use init='he'"
    others = [f"{n} ({s[-1]:.0%})" for n, s in dead.items() if n != name]
    also = f"; also {', '.join(others)}" if others else ""
    starved = f": {why}" if why else ""
    return Finding("dead_relus", f"{at_end:.0%} of the units behind {name} output 0 for every training example at the "
                   f"end, {origin}{also}; a dead unit passes no gradient back, so the layers before it learn "
                   f"nothing through it{starved}", fix)


def _too_low(watch: Any, h: Any) -> Finding | None:
    if h.diverged_at is not None or h.steps_taken < 2 or not watch.moved:
        return None
    lost = fell(h.loss)
    if lost >= T.FLAT:
        return None
    gaps = [b - a for a, b in zip(h.eval_steps, h.eval_steps[1:])]
    per_step = [max(series[j] for series in watch.moved.values() if j < len(series)) / gaps[j]
                for j in range(min(len(gaps), min(len(s) for s in watch.moved.values())))]
    if not per_step or statistics.median(per_step) >= T.UPDATE_TOO_SMALL:
        return None
    lr = f" (now {watch.lr:g})" if watch.lr else ""
    return Finding("lr_too_low", f"the loss fell by {lost:.1%} in {h.steps_taken} steps, and each step moved the "
                   f"weights of the layer that moved most by {statistics.median(per_step):.2g} of their size "
                   f"(median): steps this small take a very long time to get anywhere",
                   f"raise the learning rate{lr} by factors of 10 until the loss falls clearly")


def _too_small(watch: Any, h: Any) -> Finding | None:
    """Underfitting: the run's training accuracy ended far below what the data allows, read
    from the training set itself (its examples' nearest neighbours), with nothing else wrong."""
    known = watch.exam.neighbours
    if known is None or h.diverged_at is not None or not h.train_acc or not math.isfinite(h.train_acc[-1]):
        return None
    allowed, n = known
    fit = h.train_acc[-1]
    noise = math.sqrt(allowed * (1 - allowed) / n + fit * (1 - fit) / n)  # the gap's standard error
    if allowed - fit < max(T.UNDERFIT, T.GAP_ERRORS * noise):
        return None
    return Finding("too_small", f"training accuracy ended at {fit:.0%}, where each training example's "
                   f"{T.NEIGHBOURS} nearest neighbours predict {allowed:.0%} of the labels: the data allows more "
                   f"than this run learned, and nothing else was found wrong; {_ending(h)}",
                   "give the model more room or time: wider or more hidden layers, more steps, or a larger learning "
                   "rate if the loss was still falling slowly")
