"""Part 3: break training on purpose, and see when and why it breaks.

For each seed, the log's model [2, 500, 500, 2] on the same 100 examples, full-batch, healthy
(lr 0.01, logits straight from the last Linear) and broken, one way per case:

  the log's two (--cases log, the default):
    lr10                 the learning rate of the log's first failure, 10
    relu_last            a ReLU after the last Linear, the log's second failure
  beyond the log (--cases all, or by name; experiments/cases.py declares each):
    constant_init        every weight the same constant: symmetry
    lr_too_small         lr 1e-5
    unnormalised_inputs  inputs scaled by 1,000
    softmax_twice        probabilities fed to the cross-entropy's own softmax
    labels_shuffled      the training labels shuffled: memorised, not learned
    sum_not_mean         the loss summed where the mean belongs: gradients N times too large
    sigmoid_deep         Sigmoid in place of ReLU in a deeper net: vanishing gradients

Each case's claim is judged on every seed, with the mechanism measured on each (for the
ReLU-last case: which output units are dead and how many examples are stranded). Then,
beyond the log, forward passes alone over many initialisations: how often a model starts
with examples stranded or an output unit dead, against how often the trained seeds stalled.

    python experiments/part3_break.py                  # the log's two cases, 5 seeds: about a minute
    python experiments/part3_break.py --cases all      # every case, 5 seeds: a few minutes on 2 cores
    python experiments/part3_break.py --cases softmax_twice,sum_not_mean --seeds 0-9
    python experiments/part3_break.py --quick          # seconds
"""
from __future__ import annotations

import argparse
import math
import pathlib
import sys
from typing import Any, NamedTuple

sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))  # the repository root, for `experiments`
from experiments import preamble  # noqa: E402 (first: from here on, Ctrl-C ends the script with one line)
import numpy as np  # noqa: E402
from experiments import breakages, relu_last, study  # noqa: E402
from experiments import verdicts as v  # noqa: E402
from experiments.cases import BY_NAME, CASES, Case  # noqa: E402
from experiments.flags import Seed  # noqa: E402
from experiments.part3_figures import draw  # noqa: E402
from experiments.report import interrupted_at  # noqa: E402
from experiments.runner import MODEL, Hooks, Outcome, Run  # noqa: E402
from experiments.study import Claim  # noqa: E402
from experiments.verdicts import Verdict  # noqa: E402
from tinynet import create_model  # noqa: E402
from tinynet.data import make_dataset  # noqa: E402
from tinynet.training import DIVERGENCE_FACTOR, History  # noqa: E402

N = 100
BREAKING_LR = 10.0
INITIALISATIONS = 1000  # in the forward-only study (100 with --quick)
LN2 = math.log(2)
LOG_CASES = ("lr10", "relu_last")
ALL_CASES = LOG_CASES + tuple(case.name for case in CASES)
TERMS = ("Terms: a ReLU after the last layer clips every logit <= 0 to exactly 0 and passes it no gradient. A "
         "stranded example is one whose own class's logit is clipped: nothing pushes that logit back up, and its "
         "loss stays at ln 2 = 0.693 or more. A dead output unit is one clipped on every example: no gradient "
         "reaches its weights at all. The loss floor is ln 2 times the share of examples stranded.")


class Plan(NamedTuple):
    """The runs of one seed: the healthy run, and one run per case (by case name)."""

    healthy: Run
    cases: dict[str, Run]

    def runs(self) -> list[Run]:
        return [self.healthy, *self.cases.values()]


def cases_flag(text: str) -> tuple[str, ...]:
    """--cases: "log", "all", or case names separated by commas."""
    if text in ("log", "all"):
        return LOG_CASES if text == "log" else ALL_CASES
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",")))
    unknown = [name for name in names if name not in ALL_CASES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown case {', '.join(map(repr, unknown)) or repr(text)}; choose log, "
                                         f"all, or names from: {', '.join(ALL_CASES)}")
    return names


# --- The claims, one seed at a time -----------------------------------------------------------
def judge_lr10(h: History, healthy_lr: float) -> Verdict:
    first_norm = sum(g[0] for g in h.grad_norm.values())
    measured = {"diverged_at_step": h.diverged_at, "loss_at_start": h.loss[0],
                "loss_when_stopped": h.loss[-1], "gradient_norm_at_start": first_norm,
                "immediate_means_within_steps": v.IMMEDIATE_STEPS}
    if v.diverged_immediately(h.diverged_at):
        why = (f"An update at lr {BREAKING_LR:g} is {BREAKING_LR / healthy_lr:g} times the step at lr "
               f"{healthy_lr:g} along the same gradient (summed norm {first_norm:.3g} at the start). It overshoots: "
               f"the loss goes from {h.loss[0]:.3g} to {h.loss[-1]:.3g}, and at step {h.diverged_at} the run is "
               f"stopped as diverged (loss above {DIVERGENCE_FACTOR:g}x its start, or not finite).")
    elif h.diverged_at is None:
        why = f"The loss stayed finite and within {DIVERGENCE_FACTOR:g}x its start for all {h.steps_taken} steps."
    else:
        why = f"It diverged, but only at step {h.diverged_at}, later than 'immediately' ({v.IMMEDIATE_STEPS} steps)."
    return Verdict(measured, v.diverged_immediately(h.diverged_at), why)


def judge_relu_last(h: History, healthy: History, seed: Seed) -> Verdict:
    """Stalled or not, judged by the log's words; the explanation built from this seed's numbers."""
    m = h.measured  # relu_last.measure's series
    measured = {"loss_at_start": h.loss[0], "final_loss": h.loss[-1],
                "fraction_of_loss_lost": 1 - h.loss[-1] / h.loss[0],
                "healthy_final_loss": healthy.loss[-1],
                "dead_output_units_at_init": m["dead_units"][0], "dead_output_units_at_end": m["dead_units"][-1],
                "dead_output_units_ever": sorted({u for units in m["dead_units"] for u in units}),
                "revived_output_units": relu_last.revived_units(h.eval_steps, m["dead_units"]),
                "stranded_at_init": m["stranded"][0], "stranded_at_end": m["stranded"][-1],
                "loss_floor_at_end": LN2 * m["stranded"][-1],
                "logits_clipped_at_end": m["logits_clipped"][-1],
                "flat_means_fell_less_than": v.STOPPED_FRACTION,
                "high_means_above_while_healthy_at_most": v.CONVERGED_LOSS}
    stalled = v.stopped_learning(h.loss, healthy.loss[-1])
    return Verdict(measured, stalled, explain_relu_last(measured, stalled, seed.seed))


def cause_lr10(seed: Seed, verdict: Verdict, args: Any) -> str:
    m = verdict.measured
    if m["diverged_at_step"] is None:
        return f"On seed {seed.seed} the loss stayed within {DIVERGENCE_FACTOR:g}x its start at lr {BREAKING_LR:g}."
    return (f"An update at lr {BREAKING_LR:g} takes a step {BREAKING_LR / args.lr:,g} times the healthy one (lr "
            f"{args.lr:g}) along the same gradient, and "
            f"overshoots: on seed {seed.seed} the loss went from {m['loss_at_start']:.3g} to {m['loss_when_stopped']:.3g}"
            f" and the run was stopped as diverged at step {m['diverged_at_step']}.")


def cause_relu_last(seed: Seed, verdict: Verdict, args: Any) -> str:
    m = verdict.measured
    text = (f"A ReLU after the last layer passes no gradient to a clipped logit: on seed {seed.seed}, "
            f"{m['stranded_at_end']:.0%} of the examples ended stranded, a loss floor of {m['loss_floor_at_end']:.3g} "
            f"under a final loss of {m['final_loss']:.3g}")
    return text + (" (healthy model: " + f"{m['healthy_final_loss']:.3g})." if verdict.reproduced
                   else "; few enough to learn anyway.")


LOG_CLAIMS = {
    "lr10": Claim("lr10_diverges", "The training loss diverged immediately, indicating numerical instability and "
                  "an inability of the model to learn.",
                  needs=lambda p: [p.cases["lr10"]],
                  judge=lambda s, p, hist, args: judge_lr10(hist[p.cases["lr10"]], args.lr),
                  key="diverged_at_step", cause=cause_lr10),
    "relu_last": Claim("relu_last_stops_learning", "The model stopped learning effectively, and the loss remained "
                       "high or flat.",
                       needs=lambda p: [p.healthy, p.cases["relu_last"]],
                       judge=lambda s, p, hist, args: judge_relu_last(hist[p.cases["relu_last"]], hist[p.healthy], s),
                       why=lambda per_seed, cut, context: relu_last_why(per_seed, cut, context["init_study"]),
                       cause=cause_relu_last),
}


def case_claim(case: Case) -> Claim:
    """A case beyond the log as a claim: its prediction stands where the log's words would."""
    def judge(seed: Seed, plan: Plan, hist: dict[Run, History], args: Any) -> Verdict:
        run = plan.cases[case.name]
        measured, happened = case.judge(hist[run], hist[plan.healthy], run.lr)
        return Verdict(measured, happened, f"Seed {seed.seed}: {case.cause(measured, happened)}")

    return Claim(case.claim, case.predicts, needs=lambda p: [p.healthy, p.cases[case.name]], judge=judge,
                 key=case.key, cause=lambda seed, verdict, args: case.cause(verdict.measured, verdict.reproduced))


CLAIMS = {**LOG_CLAIMS, **{case.name: case_claim(case) for case in CASES}}


def explain_relu_last(m: dict, stalled: bool, seed: int) -> str:
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
    text += f"{units(m['dead_output_units_at_init'])} dead." if m["dead_output_units_at_init"] else "no output unit dead."
    for unit, steps in m["revived_output_units"].items():
        again = ", and was dead again at the end" if int(unit) in m["dead_output_units_at_end"] else ""
        times = f"at step {steps[0]}" if len(steps) == 1 else f"{len(steps)} times, first at step {steps[0]}"
        text += f" Output unit {unit} came back from dead {times}{again}."
    return text


def relu_last_why(per_seed: dict[Seed, Verdict], cut: list[Seed], init_study: dict | None) -> str:
    """The sentence across seeds: who stalled, what held them, and what the init study says."""
    judged = [s for s in per_seed if s not in cut]
    stalled = [s for s in judged if per_seed[s].reproduced]
    learned = [s for s in judged if not per_seed[s].reproduced]

    def seeds_of(group: list[Seed], field: str, fmt: str = ".3g") -> str:
        return ", ".join(f"{per_seed[s].measured[field]:{fmt}}" for s in group)

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
    if init_study is None:
        return " ".join(parts)
    parts.append(f"Over {init_study['inits']} initialisations (forward passes only), {init_study['with_dead_unit']:.0%} "
                 f"start with an output unit dead and the median share of examples stranded at the start is "
                 f"{init_study['stranded_median']:.0%}.")
    return " ".join(parts)


# --- Beyond the log: many initialisations, forward passes only ---------------------------------
def init_study(args: Any, inits: int) -> tuple[dict[str, Any] | None, bool]:
    """Over ``inits`` initialisations (seeds 0..inits-1, data seeded as the study's seeds are),
    the ReLU-last model's state before any step: dead output units, and the share of examples
    whose own logit is clipped. A forward pass each: seconds for a thousand.

    Returns (the study, interrupted): a Ctrl-C keeps the initialisations done so far (None if
    none), and the training results, which took the minutes, are written all the same."""
    dead, stranded = [], []
    try:
        for i in range(inits):
            weights = i if args.weight_seed is None else args.weight_seed
            data = make_dataset(args.dataset, N, seed=i if args.data_seed is None else args.data_seed)
            model = create_model(list(MODEL), seed=weights, backend=args.be, relu_last=True)
            n_dead, share = relu_last.at_initialisation(model, data.x_train, data.y_train)
            dead.append(n_dead)
            stranded.append(share)
    except KeyboardInterrupt:
        pass
    if not dead:
        return None, len(dead) < inits
    return ({"inits": len(dead), "dead_units": dead, "stranded": stranded,
             "with_dead_unit": float(np.mean(np.array(dead) > 0)), "stranded_median": float(np.median(stranded))},
            len(dead) < inits)


# --- The study: Part 3 as the skeleton runs it ---------------------------------------------------
class Part3(study.Study):
    script = "part3_break"
    default_steps = 5000
    quick_steps = 300
    hooks = Hooks(measure=relu_last.measure, prepare=breakages.prepare)  # Part 3's own numbers; the breakages

    def add_flags(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("--cases", type=cases_flag, default=LOG_CASES,
                       help=f"log (the default: {', '.join(LOG_CASES)}), all, or names from: {', '.join(ALL_CASES)}")

    def claims_for(self, args: Any) -> list[Claim]:
        return [CLAIMS[name] for name in ALL_CASES if name in args.cases]

    def title(self, args: Any) -> str:
        return f"Part 3: breaking it on purpose ({len(args.seeds)} seeds; {args.varied} vary)"

    def terms(self, args: Any) -> str:
        return TERMS if "relu_last" in args.cases else ""

    def plan(self, args: Any, steps: int) -> dict[Seed, Plan]:
        plans = {}
        for seed in args.seeds:
            same = dict(steps=steps, dataset=args.dataset, n=N)
            cases = {name: case_run(name, seed, args, same) for name in ALL_CASES if name in args.cases}
            plans[seed] = Plan(study.seed_run("healthy", seed, lr=args.lr, **same), cases)
        return plans

    def config(self, args: Any) -> dict[str, Any]:
        return {"n_train": N, "model": MODEL, "lr": args.lr, "breaking_lr": BREAKING_LR,
                "cases": list(args.cases), "runs_per_seed": ["healthy", *args.cases],
                "broken": {case.name: case.broken for case in CASES if case.name in args.cases}}

    def boundary_for(self, args: Any, plans: dict[Seed, Plan]) -> list[Run]:
        return [r for p in plans.values() for r in (p.healthy, p.cases.get("relu_last")) if r is not None]

    def context(self, args: Any, plans: dict[Seed, Plan], hist: dict[Run, History]) -> dict[str, Any]:
        """The initialisation study, when the ReLU-last claim has seeds to quote it for."""
        if "relu_last" not in args.cases:
            return {"init_study": None}
        seeds, _ = study.seeds_with(args, hist, lambda s: [plans[s].healthy, plans[s].cases["relu_last"]])
        if not seeds:
            return {"init_study": None}
        found, interrupted = init_study(args, INITIALISATIONS // 10 if args.quick else INITIALISATIONS)
        return {"init_study": found, "interrupted": interrupted}

    def extra(self, context: dict[str, Any]) -> dict[str, Any]:
        return {"init_study": context["init_study"]}

    def draw(self, args: Any, plans: dict[Seed, Plan], outcomes: dict[Run, Outcome], claims: list[dict],
             context: dict[str, Any]) -> list[str]:
        return draw(args, plans, outcomes, claims, context["init_study"])

    def print_runs(self, args: Any, plans: dict[Seed, Plan], hist: dict[Run, History], context: dict) -> None:
        for seed in args.seeds:
            for r in plans[seed].runs():
                if r in hist:
                    print(f"  {r.label:<30} {ending(r, hist[r])}")


def case_run(name: str, seed: Seed, args: Any, same: dict[str, Any]) -> Run:
    """One case's run for one seed: the log's two by their own settings, the rest as declared."""
    if name == "lr10":
        return study.seed_run(f"lr {BREAKING_LR:g}", seed, lr=BREAKING_LR, **same)
    if name == "relu_last":
        return study.seed_run("ReLU last", seed, lr=args.lr, relu_last=True, **same)
    return study.seed_run(name.replace("_", " "), seed, **{"lr": args.lr, **same, **BY_NAME[name].settings, "case": name})


def ending(run: Run, h: History) -> str:
    end = f"diverged at step {h.diverged_at}" if h.diverged_at is not None else f"final loss {h.loss[-1]:.4f}"
    end += interrupted_at(h)
    if not run.relu_last:
        return f"loss {h.loss[0]:.4f} -> {end}"
    dead = h.measured["dead_units"][-1]
    dead = f"; dead output units at end: {dead}" if dead else ""
    return f"loss {h.loss[0]:.4f} -> {end}; examples stranded at end: {h.measured['stranded'][-1]:.0%}{dead}"


def main(argv: list[str] | None = None) -> int:
    return study.main(Part3(), argv)


if __name__ == "__main__":
    preamble.run_main(main)
