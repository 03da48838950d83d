"""Part 3's catalogue of failures of training (``CASES``), and the seven beyond the log, each
declared once: what is broken and how it is applied (its breakage, declared in
tinynet/breakages.py, where the lab page takes it too: the user-written layer, loss, data
transform or weights), the claim (a prediction fixed before any run), what one seed's runs show
(``observe``: the measured numbers, and whether the symptom happened), the cause in a sentence
from that seed's numbers, and the figure. The log's own two are declared the same way in
experiments/part3/log_cases.py.

A case is one ``Case(...)`` below (the type: experiments/part3/case.py), by keyword, after the
functions that only it uses, each named (no lambdas: a case travels whole to the worker that
trains it). Adding one is adding its breakage, one such block and its name to ``CASES``: part3_break.py
plans, trains, judges, writes and draws every case the same way and names none. The
predictions beyond the log were written down, with their thresholds, before the first run of
any case; a prediction that fails on a seed is reported as such, with the mechanism's numbers
that say why not.
"""
from __future__ import annotations

import math

from experiments.harness import verdicts as v
from experiments.part3.case import (Case, Level, Lines, Measured, Trial, first_layer_norm,
                                    first_layer_norms_against_healthy, loss_at_measurements)
from experiments.part3.log_cases import LR10, RELU_LAST
from experiments.part3.measures import measure_symmetry
from tinynet import breakages
from tinynet.metrics import fell

def softmax_twice_floor(classes: int) -> float:
    """Probabilities fed to a second softmax give any class at most e / (e + C - 1): no loss
    below ln(1 + (C - 1)/e), 0.313 for 2 classes, 1.46 for 10."""
    return math.log(1 + (classes - 1) / math.e)
# The spread a healthy start has, for the figure: the first layer's W ~ U(-1/sqrt(2), 1/sqrt(2)),
# whose standard deviation is 1/sqrt(2) / sqrt(3) = 0.41.
HEALTHY_SPREAD = 1 / math.sqrt(2) / math.sqrt(3)
IDENTICAL = 1e-6  # a spread between units' weights below this is float32 rounding: the units are the same


# --- constant initialisation: symmetry ------------------------------------------------------------
def observe_constant(t: Trial) -> tuple[Measured, bool]:
    h, g = t.broken, t.healthy
    spread = h.measured["unit_spread"]
    return ({"final_loss": h.loss[-1], "healthy_final_loss": g.loss[-1], "fraction_of_loss_lost": fell(h.loss),
             "diverged_at_step": h.diverged_at, "unit_spread_at_start": spread[0], "unit_spread_at_end": spread[-1],
             "largest_unit_spread": max(spread), "flat_means_fell_less_than": v.FLAT,
             "high_means_above_while_healthy_at_most": v.CONVERGED_LOSS},
            v.stopped_learning(h.loss, g.loss[-1]))


def cause_constant(t: Trial, m: Measured, happened: bool) -> str:
    stayed = ("all stayed identical" if m["largest_unit_spread"] < IDENTICAL else "yet they drifted apart")
    same = (f"every hidden unit started with the same weights ({breakages.CONSTANT:g}), so each got the same gradient; "
            f"{stayed} (the largest spread between units' weights: {m['largest_unit_spread']:.2g})")
    if happened and m["diverged_at_step"] is not None:
        return (f"Symmetry: {same}; a layer of identical units computes one function, and their identical updates "
                f"add up: the steps overshoot, and the run diverged at step {m['diverged_at_step']}.")
    if happened:
        return (f"Symmetry: {same}; a layer of identical units computes one function, and the loss ended at "
                f"{m['final_loss']:.3g} where the healthy model reached {m['healthy_final_loss']:.3g}.")
    return f"No stall: {same}, yet the loss reached {m['final_loss']:.3g} (healthy: {m['healthy_final_loss']:.3g})."


def plot_constant(t: Trial) -> tuple[str, Lines, Level, bool]:
    h = t.broken
    return ("spread between units' weights", {"constant init": (h.eval_steps, h.measured["unit_spread"])},
            (HEALTHY_SPREAD, f"a random start: {HEALTHY_SPREAD:.2f}"), False)


CONSTANT_INIT = Case(
    breakage=breakages.CONSTANT_INIT,
    role="constant init",
    claim="constant_init_stays_symmetric",
    says="(predicted) The hidden units stay identical and the model stops learning: the loss stays flat, or high "
         "where the healthy model converges.",
    observe=observe_constant,
    cause=cause_constant,
    measure=measure_symmetry,
    key="final_loss",
    plot=plot_constant,
)


# --- a learning rate too small ---------------------------------------------------------------------
def observe_tiny_lr(t: Trial) -> tuple[Measured, bool]:
    h, g, lr = t.broken, t.healthy, t.lr
    squared = sum(norms[0] ** 2 for norms in h.grad_norm.values())  # |dL/dtheta|^2 at the start
    return ({"lr": lr, "loss_at_start": h.loss[0], "final_loss": h.loss[-1], "fraction_of_loss_lost": fell(h.loss),
             "first_order_drop_per_step": lr * squared, "steps": h.steps_taken,
             "healthy_final_loss": g.loss[-1], "flat_means_fell_less_than": v.FLAT},
            v.stayed_flat(h.loss))


def cause_tiny_lr(t: Trial, m: Measured, happened: bool) -> str:
    text = (f"A step lowers the loss by about lr x |gradient|^2, {m['first_order_drop_per_step']:.2g} at the start at "
            f"lr {m['lr']:g}: the loss went from {m['loss_at_start']:.3g} to {m['final_loss']:.3g} in {m['steps']} "
            f"steps ({m['fraction_of_loss_lost']:.1%} of it)")
    return text + (", so it looks flat." if happened else ", enough to count as moving.")


def plot_tiny_lr(t: Trial) -> tuple[str, Lines, Level, bool]:
    h = t.broken
    drop = [breakages.TINY_LR * sum(norms[i] ** 2 for norms in h.grad_norm.values()) for i in range(len(h.eval_steps))]
    return "lr x |gradient|^2: the loss's drop per step", {"lr 1e-05": (h.eval_steps, drop)}, None, True


LR_TOO_SMALL = Case(
    breakage=breakages.LR_TOO_SMALL,
    role="lr too small",
    claim="tiny_lr_stays_flat",
    says="(predicted) The loss stays flat: it falls by less than 10% of its start.",
    observe=observe_tiny_lr,
    cause=cause_tiny_lr,
    key="fraction_of_loss_lost",
    plot=plot_tiny_lr,
)


# --- inputs not normalised -------------------------------------------------------------------------
def observe_unnormalised(t: Trial) -> tuple[Measured, bool]:
    h, g = t.broken, t.healthy
    return ({"diverged_at_step": h.diverged_at, "loss_at_start": h.loss[0], "final_loss": h.loss[-1],
             "healthy_final_loss": g.loss[-1], "first_layer_gradient_norm_at_start": first_layer_norm(h),
             "healthy_first_layer_gradient_norm_at_start": first_layer_norm(g),
             "gradient_ratio": first_layer_norm(h) / first_layer_norm(g), "input_scale": breakages.INPUT_SCALE,
             "converged_means_loss_at_most": v.CONVERGED_LOSS},
            h.diverged_at is not None or v.stayed_high(h.loss[-1], g.loss[-1]))


def cause_unnormalised(t: Trial, m: Measured, happened: bool) -> str:
    text = (f"Inputs {m['input_scale']:g} times larger make dW = x.T @ dout of the first layer "
            f"{m['gradient_ratio']:.3g} times the healthy run's at the start")
    if m["diverged_at_step"] is not None:
        return text + f": the steps overshoot, and the run diverged at step {m['diverged_at_step']}."
    return text + (f"; the loss ended at {m['final_loss']:.3g} (healthy: {m['healthy_final_loss']:.3g})"
                   + (", not converged." if happened else ", converged all the same."))


def plot_unnormalised(t: Trial) -> tuple[str, Lines, Level, bool]:
    h, g = t.broken, t.healthy
    return first_layer_norms_against_healthy(h, g, "inputs x 1000")


UNNORMALISED_INPUTS = Case(
    breakage=breakages.UNNORMALISED_INPUTS,
    role="unnormalised inputs",
    claim="unnormalised_inputs_do_not_converge",
    says="(predicted) Training fails: the loss diverges, or ends above the converged level where the healthy "
         "model converges.",
    observe=observe_unnormalised,
    cause=cause_unnormalised,
    key="gradient_ratio",
    plot=plot_unnormalised,
)


# --- softmax applied twice -------------------------------------------------------------------------
def observe_softmax_twice(t: Trial) -> tuple[Measured, bool]:
    h, g = t.broken, t.healthy
    floor = softmax_twice_floor(t.classes)
    return ({"final_loss": h.loss[-1], "loss_floor": floor, "above_floor": h.loss[-1] - floor,
             "final_train_accuracy": h.train_acc[-1], "healthy_final_loss": g.loss[-1],
             "converged_means_loss_at_most": v.CONVERGED_LOSS},
            not v.converged(h.loss[-1]))


def cause_softmax_twice(t: Trial, m: Measured, happened: bool) -> str:
    c = t.classes
    return (f"Probabilities fed to a second softmax give any of {c} classes at most e/(e+{c - 1}) = "
            f"{math.e / (math.e + c - 1):.0%}, so no example's loss can go below ln(1 + {c - 1}/e) = "
            f"{m['loss_floor']:.3f}: the loss ended at {m['final_loss']:.3g}, "
            f"{m['above_floor']:.3g} above that floor, with {m['final_train_accuracy']:.0%} of the examples "
            f"classified correctly.")


def plot_softmax_twice(t: Trial) -> tuple[str, Lines, Level, bool]:
    h = t.broken
    floor = softmax_twice_floor(t.classes)
    return ("training loss", {"softmax twice": loss_at_measurements(h)},
            (floor, f"the floor, ln(1 + {t.classes - 1}/e) = {floor:.3f}"), False)


SOFTMAX_TWICE = Case(
    breakage=breakages.SOFTMAX_TWICE,
    role="softmax twice",
    claim="softmax_twice_never_converges",
    says="(predicted) The loss never converges: it stays above ln(1 + (C - 1)/e), 0.313 for two classes.",
    observe=observe_softmax_twice,
    cause=cause_softmax_twice,
    key="final_loss",
    plot=plot_softmax_twice,
)


# --- labels shuffled -----------------------------------------------------------------------------
def observe_shuffled(t: Trial) -> tuple[Measured, bool]:
    h = t.broken
    gap = h.train_acc[-1] - h.val_acc[-1]
    return ({"final_train_accuracy": h.train_acc[-1], "final_val_accuracy": h.val_acc[-1], "gap": gap,
             "final_loss": h.loss[-1], "steps": h.steps_taken, "memorised_means_gap_at_least": v.MEMORISED_GAP},
            gap >= v.MEMORISED_GAP)


def cause_shuffled(t: Trial, m: Measured, happened: bool) -> str:
    text = (f"With the labels shuffled there is no pattern to learn: the model fit {m['final_train_accuracy']:.0%} of "
            f"its training labels and {m['final_val_accuracy']:.0%} of fresh examples (chance: about "
            f"{1 / t.classes:.0%}), a gap of "
            f"{m['gap']:.0%}")
    return text + (": memorised, not learned." if happened else f": not yet memorised in {m['steps']} steps.")


def plot_shuffled(t: Trial) -> tuple[str, Lines, Level, bool]:
    h = t.broken
    return "accuracy", {"train (shuffled labels)": (h.eval_steps, h.train_acc),
                        "validation (true labels)": (h.eval_steps, h.val_acc)}, (0.5, "chance"), False


LABELS_SHUFFLED = Case(
    breakage=breakages.LABELS_SHUFFLED,
    role="labels shuffled",
    claim="shuffled_labels_memorised",
    says="(predicted) Memorised, not learned: training accuracy at least 25 points above validation accuracy.",
    observe=observe_shuffled,
    cause=cause_shuffled,
    key="gap",
    plot=plot_shuffled,
)


# --- a sum where the mean belongs ------------------------------------------------------------------
def observe_sum(t: Trial) -> tuple[Measured, bool]:
    h, g, lr = t.broken, t.healthy, t.lr
    return ({"lr": lr, "diverged_at_step": h.diverged_at, "gradient_ratio": first_layer_norm(h) / first_layer_norm(g),
             "loss_at_start": h.loss[0], "loss_when_stopped": h.loss[-1], "final_train_accuracy": h.train_acc[-1],
             "steps": h.steps_taken},
            h.diverged_at is not None)


def cause_sum(t: Trial, m: Measured, happened: bool) -> str:
    text = (f"A sum over the batch where the mean belongs makes every gradient {m['gradient_ratio']:.3g} times larger: "
            f"a step at lr {m['lr']:g} is one at lr {m['lr'] * m['gradient_ratio']:.3g}")
    if happened:
        return text + f"; it overshoots, and the run diverged at step {m['diverged_at_step']}."
    return text + (f"; it did not diverge: the summed loss went from {m['loss_at_start']:.3g} to "
                   f"{m['loss_when_stopped']:.3g} in {m['steps']} steps.")


def plot_sum(t: Trial) -> tuple[str, Lines, Level, bool]:
    h, g = t.broken, t.healthy
    return first_layer_norms_against_healthy(h, g, "summed loss")


SUM_NOT_MEAN = Case(
    breakage=breakages.SUM_NOT_MEAN,
    role="sum not mean",
    claim="sum_not_mean_diverges",
    says="(predicted) The gradient is N = 100 times too large, a step of lr 1 in disguise: the run diverges.",
    observe=observe_sum,
    cause=cause_sum,
    key="diverged_at_step",
    plot=plot_sum,
)


# --- sigmoid hidden layers in a deeper net ----------------------------------------------------------
def observe_sigmoid(t: Trial) -> tuple[Measured, bool]:
    h = t.broken
    norms = [n[0] for n in h.grad_norm.values()]  # per Linear, first to last, at the start
    return ({"gradient_norms_at_start": norms, "first_over_last": norms[0] / norms[-1], "loss_at_start": h.loss[0],
             "final_loss": h.loss[-1], "fraction_of_loss_lost": fell(h.loss), "steps": h.steps_taken,
             "flat_means_fell_less_than": v.FLAT},
            v.stayed_flat(h.loss))


def cause_sigmoid(t: Trial, m: Measured, happened: bool) -> str:
    text = (f"A Sigmoid passes back at most 1/4 of the gradient it receives: at the start the first layer's gradient "
            f"norm was {m['first_over_last']:.2g} times the last layer's, and the loss ")
    moved = f"fell by {m['fraction_of_loss_lost']:.1%}" if m["fraction_of_loss_lost"] >= 0 else "rose"
    return text + f"{moved} in {m['steps']} steps (to {m['final_loss']:.3g})" + (": flat." if happened else ".")


def plot_sigmoid(t: Trial) -> tuple[str, Lines, Level, bool]:
    h = t.broken
    return "gradient norm, per layer", {name: (h.eval_steps, norms) for name, norms in h.grad_norm.items()}, None, True


SIGMOID_DEEP = Case(
    breakage=breakages.SIGMOID_DEEP,
    role="sigmoid deep",
    claim="sigmoid_deep_stays_flat",
    says="(predicted) The gradient vanishes on its way down and the loss stays flat: it falls by less than 10% of "
         "its start.",
    observe=observe_sigmoid,
    cause=cause_sigmoid,
    key="fraction_of_loss_lost",
    plot=plot_sigmoid,
)


# Every case, in the order results.json, the printed table and --help list them.
CASES = (LR10, RELU_LAST, CONSTANT_INIT, LR_TOO_SMALL, UNNORMALISED_INPUTS, SOFTMAX_TWICE, LABELS_SHUFFLED,
         SUM_NOT_MEAN, SIGMOID_DEEP)
BY_NAME = {case.name: case for case in CASES}
LOG_CASES = tuple(case.name for case in CASES if case.in_log)
