"""Part 3's failures of training, each declared once: what is broken and how it is applied
(the user-written layer, loss, data transform or weights of experiments/part3/user_code.py),
the claim (the log's words, or a prediction fixed before any run), the judge that turns one
seed's runs into a verdict, the cause in a sentence from that seed's numbers, and the figure.

A case is one ``Case(...)`` below (the type: experiments/part3/case.py), after the functions
that only it uses, each named (no lambdas: a case travels whole to the worker that trains
it). Adding one is adding one such block: part3_break.py plans, trains, judges, writes and
draws every case the same way. The predictions beyond the log were written down, with their
thresholds, before the first run of any case; a prediction that fails on a seed is reported
as such, with the mechanism's numbers that say why not.
"""
from __future__ import annotations

import math
from typing import Any

from experiments.harness import verdicts as v
from experiments.harness.verdicts import Verdict
from experiments.part3.case import (Case, Level, Lines, Measured, Trial, fell, first_layer_norm, first_layer_norms,
                                    loss_at_measurements)
from experiments.part3 import user_code as user
from experiments.part3.measures import measure_symmetry, revived_units
from tinynet.data import Dataset
from tinynet.training import DIVERGENCE_FACTOR, History

LN2 = math.log(2)
BREAKING_LR = 10.0  # the log's first failure
TINY_LR = 1e-5  # "a learning rate too small"
DEEP = (2, 100, 100, 100, 100, 2)  # the sigmoid net: four hidden layers
VAL_FRACTION = 0.5  # the shuffled-labels case keeps 50 fresh examples, with their true labels
SOFTMAX_TWICE_FLOOR = math.log(1 + 1 / math.e)  # 2 classes: no loss below ln(1 + 1/e) = 0.313
# The spread a healthy start has, for the figure: the first layer's W ~ U(-1/sqrt(2), 1/sqrt(2)),
# whose standard deviation is 1/sqrt(2) / sqrt(3) = 0.41.
HEALTHY_SPREAD = 1 / math.sqrt(2) / math.sqrt(3)
IDENTICAL = 1e-6  # a spread between units' weights below this is float32 rounding: the units are the same

# --- the log's first failure: lr 10 ----------------------------------------------------------------
def judge_lr10(t: Trial) -> tuple[Measured, bool]:
    h = t.broken
    summed_norm = sum(g[0] for g in h.grad_norm.values())  # every Linear's, at the start
    return ({"diverged_at_step": h.diverged_at, "loss_at_start": h.loss[0], "loss_when_stopped": h.loss[-1],
             "gradient_norm_at_start": summed_norm, "immediate_means_within_steps": v.IMMEDIATE_STEPS},
            v.diverged_immediately(h.diverged_at))


def cause_lr10(t: Trial, m: Measured, happened: bool) -> str:
    if m["diverged_at_step"] is None:
        return f"The loss stayed within {DIVERGENCE_FACTOR:g}x its start at lr {t.lr:g} for all its steps."
    text = (f"An update at lr {t.lr:g} takes a step {t.lr / t.healthy_lr:,g} times the healthy one (lr "
            f"{t.healthy_lr:g}) along the same gradient (summed norm {m['gradient_norm_at_start']:.3g} at the start), "
            f"and overshoots: the loss went from {m['loss_at_start']:.3g} to {m['loss_when_stopped']:.3g}, and the "
            f"run was stopped as diverged (above {DIVERGENCE_FACTOR:g}x its start) at step {m['diverged_at_step']}")
    return text + ("." if happened else f", later than 'immediately' ({v.IMMEDIATE_STEPS} steps).")


LR10 = Case("lr10", "lr 10", "the learning rate of the log's first failure, 10", "lr10_diverges",
            "The training loss diverged immediately, indicating numerical instability and an inability of the "
            "model to learn.", judge_lr10, cause_lr10, "lr_too_high", settings={"lr": BREAKING_LR}, in_log=True,
            key="diverged_at_step", any_length=True)  # "immediately": within the first 100 steps


# --- the log's second failure: a ReLU after the last layer ------------------------------------------
def judge_relu_last(t: Trial) -> tuple[Measured, bool]:
    h, m = t.broken, t.broken.measured  # measure_clipping's series
    return ({"loss_at_start": h.loss[0], "final_loss": h.loss[-1], "fraction_of_loss_lost": fell(h),
             "healthy_final_loss": t.healthy.loss[-1],
             "dead_output_units_at_init": m["dead_units"][0], "dead_output_units_at_end": m["dead_units"][-1],
             "dead_output_units_ever": sorted({u for units in m["dead_units"] for u in units}),
             "revived_output_units": revived_units(h.eval_steps, m["dead_units"]),
             "stranded_at_init": m["stranded"][0], "stranded_at_end": m["stranded"][-1],
             "loss_floor_at_end": LN2 * m["stranded"][-1], "logits_clipped_at_end": m["logits_clipped"][-1],
             "flat_means_fell_less_than": v.STOPPED_FRACTION,
             "high_means_above_while_healthy_at_most": v.CONVERGED_LOSS},
            v.stopped_learning(h.loss, t.healthy.loss[-1]))


def cause_relu_last(t: Trial, m: Measured, stalled: bool) -> str:
    text = (f"A ReLU after the last layer passes no gradient to a clipped logit: {m['stranded_at_end']:.0%} of the "
            f"examples ended stranded, a loss floor of {m['loss_floor_at_end']:.3g} under a final loss of "
            f"{m['final_loss']:.3g}")
    return text + (f" (healthy model: {m['healthy_final_loss']:.3g})." if stalled else "; few enough to learn anyway.")


def explain_relu_last(m: Measured, stalled: bool, seed: int) -> str:
    """One seed's story, every number taken from ``m`` (the claim's measured dict)."""
    def units(us: list) -> str:
        return f"output unit{'s' * (len(us) > 1)} {', '.join(str(u) for u in us)}"

    if not stalled:
        text = (f"Seed {seed} learned: the loss fell to {m['final_loss']:.3g} (healthy model: "
                f"{m['healthy_final_loss']:.3g}).")
    elif m["fraction_of_loss_lost"] < v.STOPPED_FRACTION:
        moved = (f"fell by only {m['fraction_of_loss_lost']:.0%}" if m["fraction_of_loss_lost"] >= 0
                 else f"rose by {-m['fraction_of_loss_lost']:.0%}")  # "fell by -5%" would read as a typo
        text = (f"Seed {seed} stalled: the loss {moved}, to {m['final_loss']:.3g}, while the healthy model "
                f"reached {m['healthy_final_loss']:.3g}.")
    else:
        text = (f"Seed {seed} stalled: the loss ended at {m['final_loss']:.3g}, above {v.CONVERGED_LOSS:g}, "
                f"while the healthy model reached {m['healthy_final_loss']:.3g}.")
    if m["stranded_at_end"] > 0:
        holds = " that holds it up" if stalled and m["loss_floor_at_end"] > v.CONVERGED_LOSS else ""
        text += (f" At the end {m['stranded_at_end']:.0%} of the examples had their own class's logit clipped to 0: "
                 f"the ReLU passes such a logit no gradient, so each of these examples keeps a loss of at least "
                 f"ln 2, a floor of {m['loss_floor_at_end']:.3g} under the mean loss{holds}.")
    else:
        text += " At the end no example had its own class's logit clipped to 0, so nothing held the loss up."
    if m["dead_output_units_at_end"]:
        text += (f" {units(m['dead_output_units_at_end']).capitalize()} ended dead (clipped on every example, "
                 f"so no gradient reaches it), and every example of that class is stranded.")
    else:
        text += " No output unit was dead at the end."
    text += f" It started with {m['stranded_at_init']:.0%} of the examples stranded and "
    dead = m["dead_output_units_at_init"]
    text += f"{units(dead)} dead." if dead else "no output unit dead."
    for unit, steps in m["revived_output_units"].items():
        again = ", and was dead again at the end" if int(unit) in m["dead_output_units_at_end"] else ""
        times = f"at step {steps[0]}" if len(steps) == 1 else f"{len(steps)} times, first at step {steps[0]}"
        text += f" Output unit {unit} came back from dead {times}{again}."
    return text


def why_relu_last(per_seed: dict[Any, Verdict], cut: list, context: dict[str, Any]) -> str:
    """The sentence across seeds: who stalled, what held them, and what the init study says."""
    judged = [s for s in per_seed if s not in cut]
    stalled = [s for s in judged if per_seed[s].reproduced]
    learned = [s for s in judged if not per_seed[s].reproduced]

    def seeds_of(group: list, name: str, spec: str = ".3g") -> str:
        return ", ".join(f"{per_seed[s].measured[name]:{spec}}" for s in group)

    parts = []
    if stalled:
        # "Held up" only where every stalled seed's floor alone keeps its loss above converged.
        held = all(per_seed[s].measured["loss_floor_at_end"] > v.CONVERGED_LOSS for s in stalled)
        parts.append(f"Stalled on {len(stalled)} of {len(judged)} seeds ({', '.join(str(s.seed) for s in stalled)}): "
                     f"final loss {seeds_of(stalled, 'final_loss')} against the healthy model's "
                     f"{seeds_of(stalled, 'healthy_final_loss')}, "
                     + ("held up by the examples left with their own logit clipped to 0" if held else
                        "with these shares of examples left with their own logit clipped to 0")
                     + f" ({seeds_of(stalled, 'stranded_at_end', '.0%')} of them; floors "
                     f"{seeds_of(stalled, 'loss_floor_at_end')}).")
    if learned:
        parts.append(f"Learned on {len(learned)} ({', '.join(str(s.seed) for s in learned)}): final loss "
                     f"{seeds_of(learned, 'final_loss')}.")
    if stalled and learned:
        parts.append(f"At initialisation the stalled seeds had {seeds_of(stalled, 'stranded_at_init', '.0%')} of "
                     f"their examples stranded, the others {seeds_of(learned, 'stranded_at_init', '.0%')}.")
    study = context.get("init_study")
    if study is not None:
        parts.append(f"Over {study['inits']} initialisations (forward passes only), {study['with_dead_unit']:.0%} "
                     f"start with an output unit dead and the median share of examples stranded at the start is "
                     f"{study['stranded_median']:.0%}.")
    return " ".join(parts)


RELU_LAST = Case("relu_last", "ReLU last", "a ReLU after the last Linear, the log's second failure",
                 "relu_last_stops_learning", "The model stopped learning effectively, and the loss remained high or "
                 "flat.", judge_relu_last, cause_relu_last, "output_relu", model=user.relu_after_last, in_log=True,
                 explain=explain_relu_last, why=why_relu_last)


# --- constant initialisation: symmetry ------------------------------------------------------------
def judge_constant(t: Trial) -> tuple[Measured, bool]:
    h, g = t.broken, t.healthy
    spread = h.measured["unit_spread"]
    return ({"final_loss": h.loss[-1], "healthy_final_loss": g.loss[-1], "fraction_of_loss_lost": fell(h),
             "diverged_at_step": h.diverged_at, "unit_spread_at_start": spread[0], "unit_spread_at_end": spread[-1],
             "largest_unit_spread": max(spread), "flat_means_fell_less_than": v.STOPPED_FRACTION,
             "high_means_above_while_healthy_at_most": v.CONVERGED_LOSS},
            v.stopped_learning(h.loss, g.loss[-1]))


def cause_constant(t: Trial, m: Measured, happened: bool) -> str:
    stayed = ("all stayed identical" if m["largest_unit_spread"] < IDENTICAL else "yet they drifted apart")
    same = (f"every hidden unit started with the same weights ({user.CONSTANT:g}), so each got the same gradient; "
            f"{stayed} (the largest spread between units' weights: {m['largest_unit_spread']:.2g})")
    if happened and m["diverged_at_step"] is not None:
        return (f"Symmetry: {same}; a layer of identical units computes one function, and their identical updates "
                f"add up: the steps overshoot, and the run diverged at step {m['diverged_at_step']}.")
    if happened:
        return (f"Symmetry: {same}; a layer of identical units computes one function, and the loss ended at "
                f"{m['final_loss']:.3g} where the healthy model reached {m['healthy_final_loss']:.3g}.")
    return f"No stall: {same}, yet the loss reached {m['final_loss']:.3g} (healthy: {m['healthy_final_loss']:.3g})."


def plot_constant(h: History, g: History) -> tuple[str, Lines, Level, bool]:
    return ("spread between units' weights", {"constant init": (h.eval_steps, h.measured["unit_spread"])},
            (HEALTHY_SPREAD, f"a random start: {HEALTHY_SPREAD:.2f}"), False)


CONSTANT_INIT = Case(
    "constant_init", "constant init", "every weight initialised to the same constant (0.1), every bias to 0",
    "constant_init_stays_symmetric", "(predicted) The hidden units stay identical and the model stops learning: "
    "the loss stays flat, or high where the healthy model converges.", judge_constant, cause_constant, "symmetric_init",
    model=user.constant_init, measure=measure_symmetry, key="final_loss", plot=plot_constant)


# --- a learning rate too small ---------------------------------------------------------------------
def judge_tiny_lr(t: Trial) -> tuple[Measured, bool]:
    h, g, lr = t.broken, t.healthy, t.lr
    squared = sum(norms[0] ** 2 for norms in h.grad_norm.values())  # |dL/dtheta|^2 at the start
    return ({"lr": lr, "loss_at_start": h.loss[0], "final_loss": h.loss[-1], "fraction_of_loss_lost": fell(h),
             "first_order_drop_per_step": lr * squared, "steps": h.steps_taken,
             "healthy_final_loss": g.loss[-1], "flat_means_fell_less_than": v.STOPPED_FRACTION},
            v.stayed_flat(h.loss))


def cause_tiny_lr(t: Trial, m: Measured, happened: bool) -> str:
    text = (f"A step lowers the loss by about lr x |gradient|^2, {m['first_order_drop_per_step']:.2g} at the start at "
            f"lr {m['lr']:g}: the loss went from {m['loss_at_start']:.3g} to {m['final_loss']:.3g} in {m['steps']} "
            f"steps ({m['fraction_of_loss_lost']:.1%} of it)")
    return text + (", so it looks flat." if happened else ", enough to count as moving.")


def plot_tiny_lr(h: History, g: History) -> tuple[str, Lines, Level, bool]:
    drop = [TINY_LR * sum(norms[i] ** 2 for norms in h.grad_norm.values()) for i in range(len(h.eval_steps))]
    return "lr x |gradient|^2: the loss's drop per step", {"lr 1e-05": (h.eval_steps, drop)}, None, True


LR_TOO_SMALL = Case(
    "lr_too_small", "lr too small", "a learning rate of 1e-5", "tiny_lr_stays_flat",
    "(predicted) The loss stays flat: it falls by less than 10% of its start.", judge_tiny_lr, cause_tiny_lr,
    "lr_too_low", settings={"lr": TINY_LR}, key="fraction_of_loss_lost", plot=plot_tiny_lr)


# --- inputs not normalised -------------------------------------------------------------------------
def judge_unnormalised(t: Trial) -> tuple[Measured, bool]:
    h, g = t.broken, t.healthy
    return ({"diverged_at_step": h.diverged_at, "loss_at_start": h.loss[0], "final_loss": h.loss[-1],
             "healthy_final_loss": g.loss[-1], "first_layer_gradient_norm_at_start": first_layer_norm(h),
             "healthy_first_layer_gradient_norm_at_start": first_layer_norm(g),
             "gradient_ratio": first_layer_norm(h) / first_layer_norm(g), "input_scale": user.INPUT_SCALE,
             "converged_means_loss_at_most": v.CONVERGED_LOSS},
            h.diverged_at is not None or v.stayed_high(h.loss[-1], g.loss[-1]))


def cause_unnormalised(t: Trial, m: Measured, happened: bool) -> str:
    text = (f"Inputs {m['input_scale']:g} times larger make dW = x.T @ dout of the first layer "
            f"{m['gradient_ratio']:.3g} times the healthy run's at the start")
    if m["diverged_at_step"] is not None:
        return text + f": the steps overshoot, and the run diverged at step {m['diverged_at_step']}."
    return text + (f"; the loss ended at {m['final_loss']:.3g} (healthy: {m['healthy_final_loss']:.3g})"
                   + (", not converged." if happened else ", converged all the same."))


def scale_inputs(data: Dataset, data_seed: int) -> Dataset:
    """The user's transform takes no seed: it draws nothing."""
    return user.scaled_inputs(data)


def plot_unnormalised(h: History, g: History) -> tuple[str, Lines, Level, bool]:
    norms = {"healthy": first_layer_norms(g), "inputs x 1000": first_layer_norms(h)}
    return "first layer's gradient norm", norms, None, True


UNNORMALISED_INPUTS = Case(
    "unnormalised_inputs", "unnormalised inputs", "inputs scaled by 1,000 (not normalised)",
    "unnormalised_inputs_do_not_converge", "(predicted) Training fails: the loss diverges, or ends above the "
    "converged level where the healthy model converges.", judge_unnormalised, cause_unnormalised, "unnormalised_inputs",
    data=scale_inputs, key="gradient_ratio", plot=plot_unnormalised)


# --- softmax applied twice -------------------------------------------------------------------------
def judge_softmax_twice(t: Trial) -> tuple[Measured, bool]:
    h, g = t.broken, t.healthy
    return ({"final_loss": h.loss[-1], "loss_floor": SOFTMAX_TWICE_FLOOR,
             "above_floor": h.loss[-1] - SOFTMAX_TWICE_FLOOR,
             "final_train_accuracy": h.train_acc[-1], "healthy_final_loss": g.loss[-1],
             "converged_means_loss_at_most": v.CONVERGED_LOSS},
            not v.converged(h.loss[-1]))


def cause_softmax_twice(t: Trial, m: Measured, happened: bool) -> str:
    return (f"Probabilities fed to a second softmax give any class at most e/(e+1) = 73%, so no example's loss can go "
            f"below ln(1 + 1/e) = {m['loss_floor']:.3f}: the loss ended at {m['final_loss']:.3g}, "
            f"{m['above_floor']:.3g} above that floor, with {m['final_train_accuracy']:.0%} of the examples "
            f"classified correctly.")


def plot_softmax_twice(h: History, g: History) -> tuple[str, Lines, Level, bool]:
    return ("training loss", {"softmax twice": loss_at_measurements(h)},
            (SOFTMAX_TWICE_FLOOR, "the floor, ln(1 + 1/e) = 0.313"), False)


SOFTMAX_TWICE = Case(
    "softmax_twice", "softmax twice", "softmax applied to probabilities: the model's softmax, then the loss's own",
    "softmax_twice_never_converges", "(predicted) The loss never converges: it stays above ln(1 + 1/e) = 0.313.",
    judge_softmax_twice, cause_softmax_twice, "softmax_twice", loss=user.SoftmaxTwiceCrossEntropy, key="final_loss",
    plot=plot_softmax_twice)


# --- labels shuffled -----------------------------------------------------------------------------
def judge_shuffled(t: Trial) -> tuple[Measured, bool]:
    h = t.broken
    gap = h.train_acc[-1] - h.val_acc[-1]
    return ({"final_train_accuracy": h.train_acc[-1], "final_val_accuracy": h.val_acc[-1], "gap": gap,
             "final_loss": h.loss[-1], "steps": h.steps_taken, "memorised_means_gap_at_least": v.MEMORISED_GAP},
            gap >= v.MEMORISED_GAP)


def cause_shuffled(t: Trial, m: Measured, happened: bool) -> str:
    text = (f"With the labels shuffled there is no pattern to learn: the model fit {m['final_train_accuracy']:.0%} of "
            f"its training labels and {m['final_val_accuracy']:.0%} of fresh examples (chance: about 50%), a gap of "
            f"{m['gap']:.0%}")
    return text + (": memorised, not learned." if happened else f": not yet memorised in {m['steps']} steps.")


def plot_shuffled(h: History, g: History) -> tuple[str, Lines, Level, bool]:
    return "accuracy", {"train (shuffled labels)": (h.eval_steps, h.train_acc),
                        "validation (true labels)": (h.eval_steps, h.val_acc)}, (0.5, "chance"), False


LABELS_SHUFFLED = Case(
    "labels_shuffled", "labels shuffled", "the training labels shuffled among the examples",
    "shuffled_labels_memorised", "(predicted) Memorised, not learned: training accuracy at least 25 points above "
    "validation accuracy.", judge_shuffled, cause_shuffled, "unlearnable_labels",
    settings={"val_fraction": VAL_FRACTION}, data=user.shuffled_labels, key="gap", plot=plot_shuffled)


# --- a sum where the mean belongs ------------------------------------------------------------------
def judge_sum(t: Trial) -> tuple[Measured, bool]:
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


def plot_sum(h: History, g: History) -> tuple[str, Lines, Level, bool]:
    norms = {"healthy": first_layer_norms(g), "summed loss": first_layer_norms(h)}
    return "first layer's gradient norm", norms, None, True


SUM_NOT_MEAN = Case(
    "sum_not_mean", "sum not mean", "the loss summed over the batch where the mean belongs", "sum_not_mean_diverges",
    "(predicted) The gradient is N = 100 times too large, a step of lr 1 in disguise: the run diverges.",
    judge_sum, cause_sum, "loss_summed", loss=user.SumCrossEntropy, key="diverged_at_step",
    plot=plot_sum)


# --- sigmoid hidden layers in a deeper net ----------------------------------------------------------
def judge_sigmoid(t: Trial) -> tuple[Measured, bool]:
    h = t.broken
    norms = [n[0] for n in h.grad_norm.values()]  # per Linear, first to last, at the start
    return ({"gradient_norms_at_start": norms, "first_over_last": norms[0] / norms[-1], "loss_at_start": h.loss[0],
             "final_loss": h.loss[-1], "fraction_of_loss_lost": fell(h), "steps": h.steps_taken,
             "flat_means_fell_less_than": v.STOPPED_FRACTION},
            v.stayed_flat(h.loss))


def cause_sigmoid(t: Trial, m: Measured, happened: bool) -> str:
    text = (f"A Sigmoid passes back at most 1/4 of the gradient it receives: at the start the first layer's gradient "
            f"norm was {m['first_over_last']:.2g} times the last layer's, and the loss ")
    moved = f"fell by {m['fraction_of_loss_lost']:.1%}" if m["fraction_of_loss_lost"] >= 0 else "rose"
    return text + f"{moved} in {m['steps']} steps (to {m['final_loss']:.3g})" + (": flat." if happened else ".")


def plot_sigmoid(h: History, g: History) -> tuple[str, Lines, Level, bool]:
    return "gradient norm, per layer", {name: (h.eval_steps, norms) for name, norms in h.grad_norm.items()}, None, True


SIGMOID_DEEP = Case(
    "sigmoid_deep", "sigmoid deep", "Sigmoid in place of ReLU, in a deeper net [2, 100, 100, 100, 100, 2]",
    "sigmoid_deep_stays_flat", "(predicted) The gradient vanishes on its way down and the loss stays flat: it falls "
    "by less than 10% of its start.", judge_sigmoid, cause_sigmoid, "vanishing_gradients", settings={"sizes": DEEP},
    model=user.with_sigmoids, key="fraction_of_loss_lost", plot=plot_sigmoid)


# Every case, in the order results.json, the printed table and --help list them.
CASES = (LR10, RELU_LAST, CONSTANT_INIT, LR_TOO_SMALL, UNNORMALISED_INPUTS, SOFTMAX_TWICE, LABELS_SHUFFLED,
         SUM_NOT_MEAN, SIGMOID_DEEP)
BY_NAME = {case.name: case for case in CASES}
LOG_CASES = tuple(case.name for case in CASES if case.in_log)
