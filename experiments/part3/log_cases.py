"""The log's two failures of training, each declared once as a Part 3 case: the learning rate
of 10, and a ReLU after the last layer. Declared as every other case is (the type:
experiments/part3/case.py; the catalogue, the cases beyond the log among them:
experiments/part3/cases.py); a case's own words, lines, numbers and figures are on its
declaration, never named in part3_break.py.
"""
from __future__ import annotations

import math
from typing import Any

from experiments.harness import verdicts as v
from experiments.harness.verdicts import Verdict
from experiments.part3 import figures
from experiments.part3.case import Case, Level, Lines, Measured, Trial
from experiments.part3.measures import initialisations, measure_clipping, revived_units
from tinynet import breakages
from tinynet.metrics import fell
from tinynet.training import DIVERGENCE_FACTOR, History

TERMS = ("Terms: a ReLU after the last layer clips every logit <= 0 to exactly 0 and passes it no gradient. A "
         "stranded example is one whose own class's logit is clipped: nothing pushes that logit back up, and "
         "its loss stays at ln C or more (ln 2 = 0.693 for two classes). A dead output unit is one clipped on every "
         "example: no gradient reaches its weights at all. The loss floor is ln C times the share of examples "
         "stranded.")


# --- the log's first failure: lr 10 ----------------------------------------------------------------
def observe_lr10(t: Trial) -> tuple[Measured, bool]:
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


def plot_lr10(t: Trial) -> tuple[str, Lines, Level, bool]:
    h = t.broken
    steps = list(range(len(h.loss)))  # every step it took: a run at lr 10 lasts only a few
    return ("training loss, step by step", {"lr 10": (steps, h.loss)},
            (DIVERGENCE_FACTOR * h.loss[0], f"diverged: {DIVERGENCE_FACTOR:g}x its start"), True)


LR10 = Case(
    breakage=breakages.LR10,
    role="lr 10",
    claim="lr10_diverges",
    says="The training loss diverged immediately, indicating numerical instability and an inability of the model "
         "to learn.",
    observe=observe_lr10,
    cause=cause_lr10,
    in_log=True,
    key="diverged_at_step",
    any_length=True,  # "immediately": within the first 100 steps
    plot=plot_lr10,
)


# --- the log's second failure: a ReLU after the last layer ------------------------------------------
def observe_relu_last(t: Trial) -> tuple[Measured, bool]:
    h, m = t.broken, t.broken.measured  # its measure_clipping's series
    return ({"loss_at_start": h.loss[0], "final_loss": h.loss[-1], "fraction_of_loss_lost": fell(h.loss),
             "healthy_final_loss": t.healthy.loss[-1],
             "dead_output_units_at_init": m["dead_units"][0], "dead_output_units_at_end": m["dead_units"][-1],
             "dead_output_units_ever": sorted({u for units in m["dead_units"] for u in units}),
             "revived_output_units": revived_units(h.eval_steps, m["dead_units"]),
             "stranded_at_init": m["stranded"][0], "stranded_at_end": m["stranded"][-1],
             "loss_floor_at_end": math.log(t.classes) * m["stranded"][-1],
             "logits_clipped_at_end": m["logits_clipped"][-1],
             "flat_means_fell_less_than": v.FLAT,
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
    elif m["fraction_of_loss_lost"] < v.FLAT:
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
                 f"ln C, a floor of {m['loss_floor_at_end']:.3g} under the mean loss{holds}.")
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


def plot_relu_last(t: Trial) -> tuple[str, Lines, Level, bool]:
    h = t.broken
    return ("share of examples stranded", {"ReLU last": (h.eval_steps, h.measured["stranded"])}, None, False)


def line_relu_last(h: History) -> str:
    """The end of its run's printed line: how many examples were stranded, which units dead."""
    dead = h.measured["dead_units"][-1]
    return f"; examples stranded at end: {h.measured['stranded'][-1]:.0%}" + (
        f"; dead output units at end: {dead}" if dead else "")


RELU_LAST = Case(
    breakage=breakages.RELU_LAST,
    role="ReLU last",
    claim="relu_last_stops_learning",
    says="The model stopped learning effectively, and the loss remained high or flat.",
    observe=observe_relu_last,
    cause=cause_relu_last,
    measure=measure_clipping,
    in_log=True,
    explain=explain_relu_last,
    why=why_relu_last,
    plot=plot_relu_last,
    reading="`relu_last_stops_learning` reads all of the log's words (\"stopped learning effectively, and the loss "
            "remained high or flat\"): *flat* is a loss that fell by less than `FLAT` of its start; *high* is a final "
            "loss above `CONVERGED_LOSS` where the healthy model, same seeds and steps, ended at or below it.",
    terms=TERMS,
    line=line_relu_last,
    boundary=True,
    context=initialisations,
    figures=figures.relu_last_figures,
)
