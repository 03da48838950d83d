"""Part 3's catalogue of failures beyond the log, each declared once: what is broken, the
symptom predicted before any run (as a threshold of experiments/verdicts.py), the mechanism
measured on every seed, and the figure that shows it.

The predictions were written down, with their thresholds, before the first run of any case;
a prediction that fails on a seed is reported as such, with the mechanism's numbers that say
why not. The breakages themselves, written as a user would write them, are in
experiments/breakages.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from experiments import breakages
from experiments import verdicts as v
from tinynet.training import History

TINY_LR = 1e-5  # "a learning rate too small"
DEEP = (2, 100, 100, 100, 100, 2)  # the sigmoid net: four hidden layers
VAL_FRACTION = 0.5  # the shuffled-labels case keeps 50 fresh examples, with their true labels
SOFTMAX_TWICE_FLOOR = math.log(1 + 1 / math.e)  # 2 classes: no loss below ln(1 + 1/e) = 0.313
# The spread a healthy start has, for the figure: the first layer's W ~ U(-1/sqrt(2), 1/sqrt(2)),
# whose standard deviation is 1/sqrt(2) / sqrt(3) = 0.41.
HEALTHY_SPREAD = 1 / math.sqrt(2) / math.sqrt(3)

Lines = dict[str, tuple[list[int], list[float]]]
Level = tuple[float, str] | None


@dataclass(frozen=True)
class Case:
    """One failure of training, declared once."""

    name: str  # what --cases takes
    broken: str  # what is broken, as a user did it
    claim: str  # the id of its claim
    predicts: str  # the symptom, predicted in words before any run
    settings: dict[str, Any]  # how its run differs from the healthy run (the fields of a Run)
    # (its run, the healthy run, its lr) -> (the measured numbers, whether the predicted symptom happened)
    judge: Callable[[History, History, float], tuple[dict[str, Any], bool]]
    cause: Callable[[dict[str, Any], bool], str]  # one seed's cause in a sentence, from its measured numbers
    key: str  # the measured number that the sentence across seeds quotes
    # The mechanism over the steps, for the figure: (its run, healthy) -> (y label, lines, a level to
    # mark as (value, label) or None, log y).
    plot: Callable[[History, History], tuple[str, Lines, Level, bool]] = field(repr=False, default=None)


def first_norm(h: History) -> float:
    """The first Linear layer's gradient norm at the first measurement."""
    return next(iter(h.grad_norm.values()))[0]


def fell(h: History) -> float:
    return 1 - h.loss[-1] / h.loss[0]


def loss_at_measurements(h: History) -> tuple[list[int], list[float]]:
    return h.eval_steps, [h.loss[s] for s in h.eval_steps]


def first_norms(h: History) -> tuple[list[int], list[float]]:
    return h.eval_steps, next(iter(h.grad_norm.values()))


# --- constant initialisation: symmetry ------------------------------------------------------------
def judge_constant(h: History, g: History, lr: float) -> tuple[dict[str, Any], bool]:
    spread = h.measured["unit_spread"]
    return ({"final_loss": h.loss[-1], "healthy_final_loss": g.loss[-1], "fraction_of_loss_lost": fell(h),
             "diverged_at_step": h.diverged_at, "unit_spread_at_start": spread[0], "unit_spread_at_end": spread[-1],
             "largest_unit_spread": max(spread), "flat_means_fell_less_than": v.STOPPED_FRACTION,
             "high_means_above_while_healthy_at_most": v.CONVERGED_LOSS},
            v.stopped_learning(h.loss, g.loss[-1]))


IDENTICAL = 1e-6  # a spread between units' weights below this is float32 rounding: the units are the same


def cause_constant(m: dict[str, Any], happened: bool) -> str:
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


# --- a learning rate too small ---------------------------------------------------------------------
def judge_tiny_lr(h: History, g: History, lr: float) -> tuple[dict[str, Any], bool]:
    squared = sum(norms[0] ** 2 for norms in h.grad_norm.values())  # |dL/dtheta|^2 at the start
    return ({"lr": lr, "loss_at_start": h.loss[0], "final_loss": h.loss[-1], "fraction_of_loss_lost": fell(h),
             "first_order_drop_per_step": lr * squared, "steps": h.steps_taken,
             "healthy_final_loss": g.loss[-1], "flat_means_fell_less_than": v.STOPPED_FRACTION},
            v.stayed_flat(h.loss))


def cause_tiny_lr(m: dict[str, Any], happened: bool) -> str:
    text = (f"A step lowers the loss by about lr x |gradient|^2, {m['first_order_drop_per_step']:.2g} at the start at "
            f"lr {m['lr']:g}: the loss went from {m['loss_at_start']:.3g} to {m['final_loss']:.3g} in {m['steps']} "
            f"steps ({m['fraction_of_loss_lost']:.1%} of it)")
    return text + (", so it looks flat." if happened else ", enough to count as moving.")


def plot_tiny_lr(h: History, g: History) -> tuple[str, Lines, Level, bool]:
    drop = [TINY_LR * sum(norms[i] ** 2 for norms in h.grad_norm.values()) for i in range(len(h.eval_steps))]
    return "lr x |gradient|^2: the loss's drop per step", {"lr 1e-05": (h.eval_steps, drop)}, None, True


# --- inputs not normalised -------------------------------------------------------------------------
def judge_unnormalised(h: History, g: History, lr: float) -> tuple[dict[str, Any], bool]:
    return ({"diverged_at_step": h.diverged_at, "loss_at_start": h.loss[0], "final_loss": h.loss[-1],
             "healthy_final_loss": g.loss[-1], "first_layer_gradient_norm_at_start": first_norm(h),
             "healthy_first_layer_gradient_norm_at_start": first_norm(g),
             "gradient_ratio": first_norm(h) / first_norm(g), "input_scale": breakages.INPUT_SCALE,
             "converged_means_loss_at_most": v.CONVERGED_LOSS},
            h.diverged_at is not None or v.stayed_high(h.loss[-1], g.loss[-1]))


def cause_unnormalised(m: dict[str, Any], happened: bool) -> str:
    text = (f"Inputs {m['input_scale']:g} times larger make dW = x.T @ dout of the first layer "
            f"{m['gradient_ratio']:.3g} times the healthy run's at the start")
    if m["diverged_at_step"] is not None:
        return text + f": the steps overshoot, and the run diverged at step {m['diverged_at_step']}."
    return text + (f"; the loss ended at {m['final_loss']:.3g} (healthy: {m['healthy_final_loss']:.3g})"
                   + (", not converged." if happened else ", converged all the same."))


# --- softmax applied twice -------------------------------------------------------------------------
def judge_softmax_twice(h: History, g: History, lr: float) -> tuple[dict[str, Any], bool]:
    return ({"final_loss": h.loss[-1], "loss_floor": SOFTMAX_TWICE_FLOOR,
             "above_floor": h.loss[-1] - SOFTMAX_TWICE_FLOOR,
             "final_train_accuracy": h.train_acc[-1], "healthy_final_loss": g.loss[-1],
             "converged_means_loss_at_most": v.CONVERGED_LOSS},
            not v.converged(h.loss[-1]))


def cause_softmax_twice(m: dict[str, Any], happened: bool) -> str:
    return (f"Probabilities fed to a second softmax give any class at most e/(e+1) = 73%, so no example's loss can go "
            f"below ln(1 + 1/e) = {m['loss_floor']:.3f}: the loss ended at {m['final_loss']:.3g}, "
            f"{m['above_floor']:.3g} above that floor, with {m['final_train_accuracy']:.0%} of the examples "
            f"classified correctly.")


# --- labels shuffled -----------------------------------------------------------------------------
def judge_shuffled(h: History, g: History, lr: float) -> tuple[dict[str, Any], bool]:
    gap = h.train_acc[-1] - h.val_acc[-1]
    return ({"final_train_accuracy": h.train_acc[-1], "final_val_accuracy": h.val_acc[-1], "gap": gap,
             "final_loss": h.loss[-1], "steps": h.steps_taken, "memorised_means_gap_at_least": v.MEMORISED_GAP},
            gap >= v.MEMORISED_GAP)


def cause_shuffled(m: dict[str, Any], happened: bool) -> str:
    text = (f"With the labels shuffled there is no pattern to learn: the model fit {m['final_train_accuracy']:.0%} of "
            f"its training labels and {m['final_val_accuracy']:.0%} of fresh examples (chance: about 50%), a gap of "
            f"{m['gap']:.0%}")
    return text + (": memorised, not learned." if happened else f": not yet memorised in {m['steps']} steps.")


def plot_shuffled(h: History, g: History) -> tuple[str, Lines, Level, bool]:
    return "accuracy", {"train (shuffled labels)": (h.eval_steps, h.train_acc),
                        "validation (true labels)": (h.eval_steps, h.val_acc)}, (0.5, "chance"), False


# --- a sum where the mean belongs ------------------------------------------------------------------
def judge_sum(h: History, g: History, lr: float) -> tuple[dict[str, Any], bool]:
    return ({"lr": lr, "diverged_at_step": h.diverged_at, "gradient_ratio": first_norm(h) / first_norm(g),
             "loss_at_start": h.loss[0], "loss_when_stopped": h.loss[-1], "final_train_accuracy": h.train_acc[-1],
             "steps": h.steps_taken},
            h.diverged_at is not None)


def cause_sum(m: dict[str, Any], happened: bool) -> str:
    text = (f"A sum over the batch where the mean belongs makes every gradient {m['gradient_ratio']:.3g} times larger: "
            f"a step at lr {m['lr']:g} is one at lr {m['lr'] * m['gradient_ratio']:.3g}")
    if happened:
        return text + f"; it overshoots, and the run diverged at step {m['diverged_at_step']}."
    return text + (f"; it did not diverge: the summed loss went from {m['loss_at_start']:.3g} to "
                   f"{m['loss_when_stopped']:.3g} in {m['steps']} steps.")


# --- sigmoid hidden layers in a deeper net ----------------------------------------------------------
def judge_sigmoid(h: History, g: History, lr: float) -> tuple[dict[str, Any], bool]:
    norms = [n[0] for n in h.grad_norm.values()]  # per Linear, first to last, at the start
    return ({"gradient_norms_at_start": norms, "first_over_last": norms[0] / norms[-1], "loss_at_start": h.loss[0],
             "final_loss": h.loss[-1], "fraction_of_loss_lost": fell(h), "steps": h.steps_taken,
             "flat_means_fell_less_than": v.STOPPED_FRACTION},
            v.stayed_flat(h.loss))


def cause_sigmoid(m: dict[str, Any], happened: bool) -> str:
    text = (f"A Sigmoid passes back at most 1/4 of the gradient it receives: at the start the first layer's gradient "
            f"norm was {m['first_over_last']:.2g} times the last layer's, and the loss ")
    moved = f"fell by {m['fraction_of_loss_lost']:.1%}" if m["fraction_of_loss_lost"] >= 0 else "rose"
    return text + f"{moved} in {m['steps']} steps (to {m['final_loss']:.3g})" + (": flat." if happened else ".")


def plot_sigmoid(h: History, g: History) -> tuple[str, Lines, Level, bool]:
    return "gradient norm, per layer", {name: (h.eval_steps, norms) for name, norms in h.grad_norm.items()}, None, True


CASES = (
    Case("constant_init", "every weight initialised to the same constant (0.1), every bias to 0",
         "constant_init_stays_symmetric", "(predicted) The hidden units stay identical and the model stops learning: "
         "the loss stays flat, or high where the healthy model converges.",
         {}, judge_constant, cause_constant, "final_loss",
         lambda h, g: ("spread between units' weights", {"constant init": (h.eval_steps, h.measured["unit_spread"])},
                       (HEALTHY_SPREAD, f"a random start: {HEALTHY_SPREAD:.2f}"), False)),
    Case("lr_too_small", "a learning rate of 1e-5", "tiny_lr_stays_flat",
         "(predicted) The loss stays flat: it falls by less than 10% of its start.",
         {"lr": TINY_LR}, judge_tiny_lr, cause_tiny_lr, "fraction_of_loss_lost", plot_tiny_lr),
    Case("unnormalised_inputs", "inputs scaled by 1,000 (not normalised)", "unnormalised_inputs_do_not_converge",
         "(predicted) Training fails: the loss diverges, or ends above the converged level where the healthy "
         "model converges.",
         {}, judge_unnormalised, cause_unnormalised, "gradient_ratio",
         lambda h, g: ("first layer's gradient norm", {"inputs x 1000": first_norms(h), "healthy": first_norms(g)},
                       None, True)),
    Case("softmax_twice", "softmax applied to probabilities: the model's softmax, then the loss's own",
         "softmax_twice_never_converges", "(predicted) The loss never converges: it stays above ln(1 + 1/e) = 0.313.",
         {}, judge_softmax_twice, cause_softmax_twice, "final_loss",
         lambda h, g: ("training loss", {"softmax twice": loss_at_measurements(h)},
                       (SOFTMAX_TWICE_FLOOR, "the floor, ln(1 + 1/e) = 0.313"), False)),
    Case("labels_shuffled", "the training labels shuffled among the examples", "shuffled_labels_memorised",
         "(predicted) Memorised, not learned: training accuracy at least 25 points above validation accuracy.",
         {"val_fraction": VAL_FRACTION}, judge_shuffled, cause_shuffled, "gap", plot_shuffled),
    Case("sum_not_mean", "the loss summed over the batch where the mean belongs", "sum_not_mean_diverges",
         "(predicted) The gradient is N = 100 times too large, a step of lr 1 in disguise: the run diverges.",
         {}, judge_sum, cause_sum, "gradient_ratio",
         lambda h, g: ("first layer's gradient norm", {"summed loss": first_norms(h), "healthy": first_norms(g)},
                       None, True)),
    Case("sigmoid_deep", "Sigmoid in place of ReLU, in a deeper net [2, 100, 100, 100, 100, 2]",
         "sigmoid_deep_stays_flat", "(predicted) The gradient vanishes on its way down and the loss stays flat: it "
         "falls by less than 10% of its start.",
         {"sizes": DEEP}, judge_sigmoid, cause_sigmoid, "first_over_last", plot_sigmoid),
)
BY_NAME = {case.name: case for case in CASES}
