"""Part 3's figures. Each shows a seed where the failure happened (the first such seed; the
first seed only where it happened on none), and says which in its title: a learner opening
losses.png should see the failure, not a seed that learned anyway."""
from __future__ import annotations

from typing import Any

from experiments.cases import BY_NAME
from experiments.figures import case_figure, seed_study
from experiments.runner import Outcome, Run
from experiments.verdicts import k_of_n
from tinynet import plots

N = 100


def shown_seed(args: Any, claim: dict | None) -> Any:
    """(the seed to show, whether the failure happened on it): the first seed where the claim
    held, else the first seed."""
    happened = [e["seed"] for e in claim["per_seed"] if e["reproduced"]] if claim else []
    number = happened[0] if happened else args.seeds[0].seed
    return next(s for s in args.seeds if s.seed == number), bool(happened)


def draw(args: Any, plans: dict, outcomes: dict[Run, Outcome], claims: list[dict],
         init_study: dict | None) -> list[str]:
    hist = {r: o.history for r, o in outcomes.items()}
    by_id = {c["id"]: c for c in claims}
    figures = []
    relu = by_id.get("relu_last_stops_learning")
    seed, stalled = shown_seed(args, relu)
    plan = plans[seed]
    log_runs = [r for r in (plan.healthy, plan.cases.get("lr10"), plan.cases.get("relu_last")) if r in hist]
    if len(log_runs) > 1:
        why = " (it stalled with ReLU last)" if stalled else ""
        plots.loss_curves({r.label: hist[r].loss for r in log_runs},
                          f"Part 3: {N} examples, {args.dataset} data, seed {seed.seed}{why}",
                          args.out / "losses.png", marks={r.label: hist[r].diverged_at for r in log_runs})
        figures.append("losses.png")
    if relu is not None and init_study is not None:
        per_seed = relu["per_seed"]
        seed_study(
            seeds=[e["seed"] for e in per_seed],
            healthy=[e["measured"]["healthy_final_loss"] for e in per_seed],
            relu_last=[e["measured"]["final_loss"] for e in per_seed],
            floors=[e["measured"]["loss_floor_at_end"] for e in per_seed],
            stalled=[e["reproduced"] for e in per_seed],
            dead=[len(e["measured"]["dead_output_units_at_end"]) for e in per_seed],
            stranded_at_init=[e["measured"]["stranded_at_init"] for e in per_seed],
            study=init_study["stranded"], dead_share=init_study["with_dead_unit"],
            stall_rate=stall_rate(relu), path=args.out / "seeds.png")
        figures.append("seeds.png")
        lines = {}
        for e in per_seed:
            h = hist[plans[next(s for s in plans if s.seed == e["seed"])].cases["relu_last"]]
            lines[f"seed {e['seed']} ({'stalled' if e['reproduced'] else 'learned'})"] = (
                h.eval_steps, h.measured["stranded"])
        plots.series(lines, "ReLU last: examples whose own logit is clipped to 0 (each keeps a loss >= ln 2)",
                     "fraction of examples", args.out / "stranded.png", ylim=(-0.02, 1.02))
        figures.append("stranded.png")
    pair = [r for r in (plan.healthy, plan.cases.get("relu_last")) if r in hist]
    if len(pair) == 2:
        plots.series({r.label: (hist[r].eval_steps, next(iter(hist[r].grad_norm.values()))) for r in pair},
                     f"Gradient norm of the first Linear layer, seed {seed.seed}", "norm of (dW, db)",
                     args.out / "grad_norms.png", logy=True)
        figures.append("grad_norms.png")
    panels = [(r, outcomes[r]) for r in pair if outcomes[r].boundary is not None]
    if len(panels) == 2:
        data = panels[0][0].data()
        plots.decision_boundaries([(f"{r.label}: loss {hist[r].loss[-1]:.3g}", o.boundary) for r, o in panels],
                                  panels[0][1].grid, data.x_train, data.y_train, args.out / "boundaries.png")
        figures.append("boundaries.png")
    for name, case in BY_NAME.items():
        if case.claim in by_id:
            figures.append(draw_case(args, plans, hist, case, by_id[case.claim]))
    return figures


def stall_rate(relu: dict) -> str:
    """"ReLU last stalled on 2 of 5 seeds (95% CI 12-77%)": does a typical seed stall, at a glance."""
    low, high = relu["interval"]
    return (f"ReLU last stalled on {relu['reproduced_in']} of {relu['seeds']} seeds "
            f"(95% CI {low:.0%}-{high:.0%})").replace("%-", "-", 1)


def draw_case(args: Any, plans: dict, hist: dict, case: Any, claim: dict) -> str:
    """Left: the loss of the healthy run and the broken one; right: the case's mechanism. The
    seed shown: the first where it happened whose run has a course to show (did not diverge
    within its first measurements), else the first where it happened, else the first seed."""
    seed, happened = shown_seed(args, claim)
    if happened:
        ran_on = [s for s in args.seeds for e in claim["per_seed"] if e["seed"] == s.seed and e["reproduced"]
                  and len(hist[plans[s].cases[case.name]].eval_steps) > 2]
        seed = ran_on[0] if ran_on else seed
    broken, healthy = hist[plans[seed].cases[case.name]], hist[plans[seed].healthy]
    ylabel, lines, level, logy = case.plot(broken, healthy)
    said = "it happened" if happened else "it happened on no seed"
    name = f"case_{case.name}.png"
    case_figure(title=f"{case.broken}: seed {seed.seed} ({said}), {k_of_n(claim['reproduced_in'], claim['seeds'])}",
                losses={"healthy": healthy.loss, case.name.replace("_", " "): broken.loss},
                marks={case.name.replace("_", " "): broken.diverged_at}, lines=lines, ylabel=ylabel, level=level,
                logy=logy, path=args.out / name)
    return name
