"""Part 3: break training on purpose, and see when and why it breaks.

For each seed, three runs of the log's model [2, 500, 500, 2] on the same 100 examples,
full-batch:
  healthy     lr 0.01, logits straight from the last Linear
  lr 10       the learning rate of the log's first failure
  ReLU last   a ReLU after the last Linear, the log's second failure
and, at intervals: the loss, each layer's gradient norm, which output units are dead
(clipped on every example) and how many examples are stranded (their own class's logit
clipped to 0, so their loss cannot fall below ln 2). Then, beyond the log, forward passes
alone over many initialisations: how often a model starts with examples stranded or an
output unit dead, against how often the trained seeds stalled.

    python experiments/part3_break.py                 # 5 seeds, about a minute on 2 cores
    python experiments/part3_break.py --seeds 0-19    # a bigger study
    python experiments/part3_break.py --quick         # seconds
"""
from __future__ import annotations

import math
import pathlib
import sys
from typing import Any, NamedTuple

sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))  # the repository root, for `experiments`
from experiments import preamble  # noqa: E402 (first: from here on, Ctrl-C ends the script with one line)
import numpy as np  # noqa: E402
from experiments import relu_last, study  # noqa: E402
from experiments import verdicts as v  # noqa: E402
from experiments.figures import seed_study  # noqa: E402
from experiments.flags import Seed  # noqa: E402
from experiments.report import interrupted_at  # noqa: E402
from experiments.runner import MODEL, Outcome, Run  # noqa: E402
from experiments.study import Claim  # noqa: E402
from experiments.verdicts import Verdict  # noqa: E402
from tinynet import create_model, plots  # noqa: E402
from tinynet.data import make_dataset  # noqa: E402
from tinynet.training import DIVERGENCE_FACTOR, History  # noqa: E402

N = 100
BREAKING_LR = 10.0
INITIALISATIONS = 1000  # in the forward-only study (100 with --quick)
LN2 = math.log(2)


class Trio(NamedTuple):
    """The three runs of one seed."""

    healthy: Run
    high_lr: Run
    relu_last: Run

    def runs(self) -> list[Run]:
        return list(self)


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
    measured = {"loss_at_start": h.loss[0], "final_loss": h.loss[-1], "fraction_of_loss_lost": 1 - h.loss[-1] / h.loss[0],
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


CLAIMS = (
    Claim("lr10_diverges", "The training loss diverged immediately, indicating numerical instability and an "
          "inability of the model to learn.",
          needs=lambda p: [p.high_lr], judge=lambda s, p, hist, args: judge_lr10(hist[p.high_lr], args.lr),
          key="diverged_at_step"),
    Claim("relu_last_stops_learning", "The model stopped learning effectively, and the loss remained high or flat.",
          needs=lambda p: [p.healthy, p.relu_last],
          judge=lambda s, p, hist, args: judge_relu_last(hist[p.relu_last], hist[p.healthy], s),
          why=lambda per_seed, cut, context: relu_last_why(per_seed, cut, context["init_study"])),
)


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


def relu_last_why(per_seed: dict[Seed, Verdict], cut: list[Seed], init_study: dict) -> str:
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
    parts.append(f"Over {init_study['inits']} initialisations (forward passes only), {init_study['with_dead_unit']:.0%} "
                 f"start with an output unit dead and the median share of examples stranded at the start is "
                 f"{init_study['stranded_median']:.0%}.")
    return " ".join(parts)


# --- Beyond the log: many initialisations, forward passes only ---------------------------------
def init_study(args: Any, inits: int) -> dict[str, Any]:
    """Over ``inits`` initialisations (seeds 0..inits-1, data seeded as the study's seeds are),
    the ReLU-last model's state before any step: dead output units, and the share of examples
    whose own logit is clipped. A forward pass each: seconds for a thousand."""
    dead, stranded = [], []
    for i in range(inits):
        weights = i if args.weight_seed is None else args.weight_seed
        data = make_dataset(args.dataset, N, seed=i if args.data_seed is None else args.data_seed)
        model = create_model(list(MODEL), seed=weights, backend=args.be, relu_last=True)
        n_dead, share = relu_last.at_initialisation(model, data.x_train, data.y_train)
        dead.append(n_dead)
        stranded.append(share)
    return {"inits": inits, "dead_units": dead, "stranded": stranded,
            "with_dead_unit": float(np.mean(np.array(dead) > 0)), "stranded_median": float(np.median(stranded))}


# --- Figures ------------------------------------------------------------------------------------
def draw(args: Any, runs: dict[Seed, Trio], outcomes: dict[Run, Outcome], claims: list[dict],
         init_study: dict | None) -> list[str]:
    figures = []
    hist = {r: o.history for r, o in outcomes.items()}
    first = runs[args.seeds[0]]
    shown = [r for r in first if r in hist]
    if shown:
        plots.loss_curves({r.label: hist[r].loss for r in shown}, f"Part 3: {N} examples, {args.dataset} data",
                          args.out / "losses.png", marks={r.label: hist[r].diverged_at for r in shown})
        figures.append("losses.png")
    relu = next((c for c in claims if c["id"] == "relu_last_stops_learning"), None)
    if relu is not None and init_study is not None:
        seed_study(
            seeds=[e["seed"] for e in relu["per_seed"]],
            healthy=[e["measured"]["healthy_final_loss"] for e in relu["per_seed"]],
            relu_last=[e["measured"]["final_loss"] for e in relu["per_seed"]],
            floors=[e["measured"]["loss_floor_at_end"] for e in relu["per_seed"]],
            stalled=[e["reproduced"] for e in relu["per_seed"]],
            dead=[len(e["measured"]["dead_output_units_at_end"]) for e in relu["per_seed"]],
            stranded_at_init=[e["measured"]["stranded_at_init"] for e in relu["per_seed"]],
            study=init_study["stranded"], dead_share=init_study["with_dead_unit"], path=args.out / "seeds.png")
        figures.append("seeds.png")
        lines = {}
        for e in relu["per_seed"]:
            h = hist[runs[next(s for s in runs if s.seed == e["seed"])].relu_last]
            lines[f"seed {e['seed']} ({'stalled' if e['reproduced'] else 'learned'})"] = (h.eval_steps, h.measured["stranded"])
        plots.series(lines, "ReLU last: examples whose own logit is clipped to 0 (each keeps a loss >= ln 2)",
                     "fraction of examples", args.out / "stranded.png", ylim=(-0.02, 1.02))
        figures.append("stranded.png")
    pair = [r for r in (first.healthy, first.relu_last) if r in hist]
    if len(pair) == 2:
        plots.series({r.label: (hist[r].eval_steps, next(iter(hist[r].grad_norm.values()))) for r in pair},
                     "Gradient norm of the first Linear layer", "norm of (dW, db)", args.out / "grad_norms.png",
                     logy=True)
        figures.append("grad_norms.png")
    panels = boundary_panels(runs, outcomes, relu)
    if panels:
        data = panels[0][0].data()
        plots.decision_boundaries([(f"{r.label}: loss {hist[r].loss[-1]:.3g}", outcomes[r].boundary)
                                   for r, _ in panels], panels[0][1], data.x_train, data.y_train,
                                  args.out / "boundaries.png")
        figures.append("boundaries.png")
    return figures


def boundary_panels(runs: dict[Seed, Trio], outcomes: dict[Run, Outcome], relu: dict | None) -> list:
    """Healthy and ReLU last, side by side on one seed's data: the first seed that stalled if
    any did, else the first seed."""
    if relu is None:
        return []
    stalled = [e["seed"] for e in relu["per_seed"] if e["reproduced"]]
    pick = stalled[0] if stalled else relu["per_seed"][0]["seed"]
    trio = runs[next(s for s in runs if s.seed == pick)]
    return [(r, outcomes[r].grid) for r in (trio.healthy, trio.relu_last)
            if r in outcomes and outcomes[r].boundary is not None]


# --- The study: Part 3 as the skeleton runs it ---------------------------------------------------
class Part3(study.Study):
    script = "part3_break"
    default_steps = 5000
    quick_steps = 300
    claims = CLAIMS
    measure = staticmethod(relu_last.measure)  # stranded examples and dead output units, in every run

    def title(self, args: Any) -> str:
        return f"Part 3: breaking it on purpose ({len(args.seeds)} seeds; {args.varied} vary)"

    def plan(self, args: Any, steps: int) -> dict[Seed, Trio]:
        runs = {}
        for seed in args.seeds:
            same = dict(steps=steps, dataset=args.dataset, n=N)
            runs[seed] = Trio(healthy=study.seed_run("healthy", seed, lr=args.lr, **same),
                              high_lr=study.seed_run(f"lr {BREAKING_LR:g}", seed, lr=BREAKING_LR, **same),
                              relu_last=study.seed_run("ReLU last", seed, lr=args.lr, relu_last=True, **same))
        return runs

    def config(self, args: Any) -> dict[str, Any]:
        return {"n_train": N, "model": MODEL, "lr": args.lr, "breaking_lr": BREAKING_LR,
                "runs_per_seed": list(Trio._fields)}

    def boundary_for(self, args: Any, plans: dict[Seed, Trio]) -> list[Run]:
        return [r for trio in plans.values() for r in (trio.healthy, trio.relu_last)]

    def context(self, args: Any, plans: dict[Seed, Trio], hist: dict[Run, History]) -> dict[str, Any]:
        """The initialisation study, when the ReLU-last claim has seeds to quote it for."""
        seeds, _ = study.seeds_with(args, hist, lambda s: [plans[s].healthy, plans[s].relu_last])
        inits = INITIALISATIONS // 10 if args.quick else INITIALISATIONS
        return {"init_study": init_study(args, inits) if seeds else None}

    def extra(self, context: dict[str, Any]) -> dict[str, Any]:
        return {"init_study": context["init_study"]}

    def draw(self, args: Any, plans: dict[Seed, Trio], outcomes: dict[Run, Outcome], claims: list[dict],
             context: dict[str, Any]) -> list[str]:
        return draw(args, plans, outcomes, claims, context["init_study"])

    def print_runs(self, args: Any, plans: dict[Seed, Trio], hist: dict[Run, History], context: dict) -> None:
        for seed in args.seeds:
            for r in plans[seed]:
                if r in hist:
                    print(f"  {r.label:<24} {ending(r, hist[r])}")


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
