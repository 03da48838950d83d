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
    rules = (_unlearnable,) if exam.broken_gradient else (_unlearnable, _too_high, _vanishing, _dead)
    for rule in rules:
        finding = rule(watch, history)
        if finding is not None:
            found.append(finding)
    if not found:  # a flat loss with any finding above is explained by it: tiny steps follow tiny gradients
        finding = _too_low(watch, history)
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


def _vanishing(watch: Any, h: Any) -> Finding | None:
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
    return Finding("vanishing_gradients",
                   f"the gradient norm of {names[0]} was {at_start:.2g} times that of {names[-1]} at the start "
                   f"({first[0]:.2g} against {last[0]:.2g}; median over the run {typical:.2g}): on its way back "
                   f"through {len(names) - 1} layers the gradient shrinks, and the first layers barely learn",
                   "use ReLU (not sigmoid or tanh) in the hidden layers, an initialisation scaled to each layer "
                   "(init='he' for ReLU), or fewer layers")


def _dead(watch: Any, h: Any) -> Finding | None:
    dead = {name: series[-1] for name, series in watch.dead.items() if series and series[-1] > T.MOSTLY_DEAD}
    if not dead:
        return None
    said = ", ".join(f"{share:.0%} of the units behind {name}" for name, share in dead.items())
    start = ", ".join(f"{watch.dead[name][0]:.0%}" for name in dead)
    return Finding("dead_relus", f"{said} output 0 for every training example at the end (at the start: {start}): "
                   f"a dead unit passes no gradient, so nothing can revive it",
                   "lower the learning rate (large steps push units below 0 for good), start biases at 0 or a small "
                   "positive value, or use init='he'")


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
