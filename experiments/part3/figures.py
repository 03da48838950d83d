"""Part 3's figures. Each shows a seed where the failure happened (the first such seed; the
first seed only where it happened on none), and says which in its title: a learner opening
losses.png should see the failure, not a seed that learned anyway.

``draw`` draws every case alike, from its declaration; a case's own figures beyond its
mechanism are named on it (the ReLU-last case's: ``relu_last_figures``). Nothing here
imports the catalogue: a case reaches these functions as the case itself."""
from __future__ import annotations

import pathlib
from typing import Any, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from experiments.harness.runner import N_EXAMPLES, Outcome, Run
from experiments.harness.seeds import Seed
from experiments.harness.verdicts import Judged, interval_text, k_of_n
from experiments.part3.case import Case, Trial
from tinynet import plots
from tinynet.data import shape_of
from tinynet.plots import plt, save


def draw(args: Any, plans: dict, outcomes: dict[Run, Outcome], verdicts: dict[str, Judged], context: dict[str, Any],
         cases: Sequence[Case]) -> list[str]:
    """Every figure of the ``cases`` asked for, each drawn the same way: the log's failures
    together on one seed (losses.png), each case's mechanism (case_<name>.png, where its claim
    was judged), and what a case draws beyond that (its ``figures``)."""
    hist = {r: o.history for r, o in outcomes.items()}
    figures = log_losses(args, plans, hist, verdicts, [case for case in cases if case.in_log])
    for case in cases:
        judged = verdicts.get(case.claim)  # None where its claim was not judged (a run too short)
        if case.plot is not None and judged is not None:
            figures.append(draw_case(args, plans, hist, case, judged))
        if case.figures is not None:
            figures += case.figures(case, args, plans, outcomes, judged, context)
    return figures


def log_losses(args: Any, plans: dict, hist: dict, verdicts: dict[str, Judged], log: Sequence[Case]) -> list[str]:
    """losses.png: the healthy run and each of the log's failures, on the first seed where the
    most of them happened (the first seed where none did, or none was judged)."""
    judged = {case: verdicts[case.claim] for case in log if case.claim in verdicts}

    def happened(seed: Seed) -> list[Case]:
        return [c for c, j in judged.items() if seed in j.per_seed and j.per_seed[seed].reproduced]

    seed = max(args.seeds, key=lambda s: len(happened(s)))  # max keeps the first of equals
    plan = plans[seed]
    runs = [r for r in (plan.healthy, *(plan.cases.get(case.name) for case in log)) if r in hist]
    if len(runs) < 2:
        return []
    broke = happened(seed)
    why = f" (where {' and '.join(case.role for case in broke)} broke training)" if broke else ""
    plots.loss_curves({r.label: hist[r].loss for r in runs},
                      f"Part 3: {N_EXAMPLES} examples, {args.dataset} data, seed {seed.seed}{why}",
                      args.out / "losses.png", marks={r.label: hist[r].diverged_at for r in runs})
    return ["losses.png"]


def relu_last_figures(case: Case, args: Any, plans: dict, outcomes: dict[Run, Outcome], relu: Judged | None,
                      context: dict[str, Any]) -> list[str]:
    """The ReLU-last case's own figures: seeds.png and stranded.png (every seed, and the
    initialisation study), and, on the seed shown, grad_norms.png (the mechanism against the
    healthy run) and boundaries.png (both decision boundaries)."""
    hist = {r: o.history for r, o in outcomes.items()}
    figures = []
    if relu is not None and context.get("init_study") is not None:
        figures += relu_last_seeds(case, args, plans, hist, relu, context["init_study"])
    seed = relu.shown() if relu else args.seeds[0]
    plan = plans[seed]
    pair = [r for r in (plan.healthy, plan.cases.get(case.name)) if r in hist]
    if len(pair) == 2:
        gradient_figure({("healthy" if r is plan.healthy else r.role): hist[r] for r in pair}, seed.seed,
                        args.out / "grad_norms.png")
        figures.append("grad_norms.png")
    panels = [(r, outcomes[r]) for r in pair if outcomes[r].boundary is not None]
    if len(panels) == 2:
        data = panels[0][0].data()
        plots.decision_boundaries([(f"{r.label}: loss {hist[r].loss[-1]:.3g}", o.boundary) for r, o in panels],
                                  panels[0][1].grid, data.x_train, data.y_train, args.out / "boundaries.png")
        figures.append("boundaries.png")
    drawn = [(r, outcomes[r]) for r in pair if outcomes[r].predicted is not None]
    if len(drawn) == 2:
        data = drawn[0][0].data()
        plots.pictures([(f"{r.label}: loss {hist[r].loss[-1]:.3g}", o.first_layer, o.predicted) for r, o in drawn],
                       data.x_train, data.y_train, data.image_shape, data.n_classes, args.out / "pictures.png")
        figures.append("pictures.png")
    return figures


def relu_last_seeds(case: Case, args: Any, plans: dict, hist: dict, relu: Judged, init_study: dict) -> list[str]:
    """seeds.png (final loss per seed, and how broken a model starts) and stranded.png."""
    seeds = list(relu.per_seed)
    m = [relu.per_seed[s].measured for s in seeds]
    seed_study(
        seeds=[s.seed for s in seeds],
        healthy=[e["healthy_final_loss"] for e in m],
        relu_last=[e["final_loss"] for e in m],
        floors=[e["loss_floor_at_end"] for e in m],
        stalled=[relu.per_seed[s].reproduced for s in seeds],
        dead=[len(e["dead_output_units_at_end"]) for e in m],
        stranded_at_init=[e["stranded_at_init"] for e in m],
        study=init_study["stranded"], dead_share=init_study["with_dead_unit"],
        stall_rate=stall_rate(relu), path=args.out / "seeds.png")
    lines = {}
    for s in seeds:
        h = hist[plans[s].cases[case.name]]
        lines[f"seed {s.seed} ({'stalled' if relu.per_seed[s].reproduced else 'learned'})"] = (
            h.eval_steps, h.measured["stranded"])
    plots.series(lines, "ReLU last: examples whose own logit is clipped to 0 (each keeps a loss >= ln C)",
                 "fraction of examples", args.out / "stranded.png", ylim=(-0.02, 1.02))
    return ["seeds.png", "stranded.png"]


def stall_rate(relu: Judged) -> str:
    """"ReLU last stalled on 2 of 5 seeds (95% CI 12-77%)": does a typical seed stall, at a glance."""
    return f"ReLU last stalled on {relu.k} of {relu.n} seeds ({interval_text(relu.k, relu.n)})"


def draw_case(args: Any, plans: dict, hist: dict, case: Case, judged: Judged) -> str:
    """Left: the loss of the healthy run and the broken one; right: the case's mechanism. The
    seed shown: the first where it happened whose run has a course to show (did not diverge
    within its first measurements), else the first where it happened, else the first seed."""
    happened = [s for s in judged.counted if judged.per_seed[s].reproduced]
    ran_on = [s for s in happened if len(hist[plans[s].cases[case.name]].eval_steps) > 2]
    seed: Seed = (ran_on or happened or [next(iter(judged.per_seed))])[0]
    run, healthy = plans[seed].cases[case.name], plans[seed].healthy
    trial = Trial(hist[run], hist[healthy], run.lr, healthy.lr, shape_of(run.dataset)[1])
    ylabel, lines, level, logy = case.plot(trial)
    said = "it happened" if happened else "it happened on no seed"
    name = f"case_{case.name}.png"
    case_figure(title=f"{case.broken}: seed {seed.seed} ({said}), {k_of_n(judged.k, judged.n)}",
                losses={"healthy": trial.healthy.loss, case.role: trial.broken.loss},
                marks={case.role: trial.broken.diverged_at}, lines=lines, ylabel=ylabel, level=level,
                logy=logy, path=args.out / name)
    return name


# --- The drawings: host data in, one PNG out ------------------------------------------------------
def seed_study(*, seeds: Sequence[int], healthy: Sequence[float], relu_last: Sequence[float],
               floors: Sequence[float], stalled: Sequence[bool], dead: Sequence[int],
               stranded_at_init: Sequence[float], study: Sequence[float], dead_share: float,
               path: pathlib.Path, stall_rate: str = "") -> None:
    """Left: final loss per seed, healthy vs ReLU last, with the floor that stranded examples
    put under the ReLU-last loss. Right: the share of examples stranded at initialisation over
    many initialisations, with each trained seed marked where it started."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    x = np.arange(len(seeds))
    left.plot(x - 0.12, healthy, "o", color="#3182bd", label="healthy: final loss")
    colors = ["#d62728" if s else "#2ca02c" for s in stalled]
    left.scatter(x + 0.12, relu_last, marker="s", c=colors, zorder=3,
                 label="ReLU last: final loss (red: stalled, green: learned)")
    above = np.asarray(floors) > 0  # a floor of 0 (nothing stranded) has no place on a log axis
    left.hlines(np.asarray(floors)[above], x[above] - 0.3, x[above] + 0.3, colors="k", lw=1.5,
                label="floor: ln C x share of examples stranded")
    for xi, (loss, d) in enumerate(zip(relu_last, dead)):
        if d:
            # centred over its own marker, so that neighbouring seeds' labels never meet
            left.annotate(f"{d} dead unit" if d == 1 else f"{d} dead units", (xi + 0.12, loss),
                          textcoords="offset points", xytext=(0, 7), ha="center", fontsize=7)
    left.set_yscale("log")
    top = max(max(relu_last), max(healthy))
    left.set_ylim(top=top * 2)  # room above the highest point for its label
    left.set_xticks(x, [str(s) for s in seeds])
    left.set_xlabel("seed")
    left.set_ylabel("training loss (log scale)")
    left.set_title(f"Final loss per seed\n{stall_rate}" if stall_rate else "Final loss per seed", fontsize=10)
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below: no point hidden
    left.grid(alpha=0.3)

    right.hist(study, bins=20, range=(0, 1), color="#bdbdbd", label=f"{len(study)} initialisations")
    for share, s in zip(stranded_at_init, stalled):
        right.axvline(share, color="#d62728" if s else "#2ca02c", lw=1.5)
    median = float(np.median(study))
    right.axvline(median, color="k", ls=":", lw=1.2, label=f"median initialisation: {median:.0%} stranded")
    right.plot([], [], color="#d62728", label="trained seed that stalled")
    right.plot([], [], color="#2ca02c", label="trained seed that learned")
    right.set_xlabel("share of examples whose own logit starts <= 0 (stranded)")
    right.set_ylabel("initialisations")
    # The title says what the histogram shows; the share with a dead output unit is a note.
    right.set_title(f"Before training: the share of examples stranded, over {len(study)} initialisations\n"
                    f"({dead_share:.0%} of them start with an output unit dead)", fontsize=10)
    right.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below, as the left one: no bar hidden
    save(fig, path)


def case_figure(*, title: str, losses: dict[str, Sequence[float]], marks: dict[str, int | None],
                lines: dict[str, tuple[Sequence[int], Sequence[float]]], ylabel: str,
                level: tuple[float, str] | None,
                logy: bool, path: pathlib.Path) -> None:
    """A case of Part 3: left, the training loss of the healthy and the broken run (log scale,
    an x where a run diverged); right, the case's mechanism over the steps."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, loss, color in zip(losses, losses.values(), colours(losses)):
        loss = np.asarray(loss, dtype=float)
        finite = np.where(np.isfinite(loss) & (loss > 0), loss, np.nan)
        left.plot(np.arange(len(loss)), finite, label=label, lw=1.2, color=color)
        step = marks.get(label)
        if step is not None and np.isfinite(np.nanmax(finite[: step + 1])):
            left.plot([step], [np.nanmax(finite[: step + 1])], "kx", ms=9, label=f"{label}: diverged at step {step}")
    left.set_yscale("log")
    left.set_xlabel("step")
    # Steps are whole numbers: a run stopped at step 1 shows 0 and 1, not 0.2, 0.4, ...
    left.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    left.set_ylabel("training loss (log scale)")
    left.legend(fontsize=7)
    left.grid(alpha=0.3)
    for label, (xs, ys), color in zip(lines, lines.values(), colours(lines)):
        ys = np.asarray(ys, dtype=float)
        right.plot(xs, np.where(np.isfinite(ys), ys, np.nan), "o-" if len(ys) <= 3 else "-", label=label, lw=1.2,
                   color=color)
    if level is not None:
        right.axhline(level[0], color="gray", ls="--", lw=1, label=level[1])
    if logy:
        right.set_yscale("log")
    else:
        right.set_ylim(bottom=min(0.0, right.get_ylim()[0]))  # a spread of 1e-8 shows as the 0 it is
        right.ticklabel_format(axis="y", useOffset=False)
    right.set_xlabel("step")
    right.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    right.set_ylabel(ylabel)
    right.legend(fontsize=7)
    right.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    save(fig, path)


def gradient_figure(runs: dict[str, Any], seed: int, path: pathlib.Path) -> None:
    """ReLU last, the mechanism: left, the share of the loss's push on the examples' own logits
    that passes the last ReLU (healthy: all of it); right, the first Linear's gradient norm,
    what is left of the gradient once it has come down the network."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"wspace": 0.35})
    for (role, h), color in zip(runs.items(), colours(list(runs))):
        passed = h.measured.get("push_passed", [1.0] * len(h.eval_steps))  # no last ReLU: all of it passes
        left.plot(h.eval_steps, passed, lw=1.2, color=color, label=role)
        right.plot(h.eval_steps, next(iter(h.grad_norm.values())), lw=1.2, color=color, label=role)
    left.set_ylim(-0.02, 1.02)
    left.set_ylabel("share of the push that passes")
    left.set_title("The loss pushes each example's own logit up:\nhow much of that push reaches the weights",
                   fontsize=9)
    right.set_yscale("log")
    right.set_ylabel("norm of (dW, db), log scale")
    right.set_title("The first Linear layer's gradient", fontsize=9)
    for ax in (left, right):
        ax.set_xlabel("step")
        ax.legend(fontsize=7, loc="lower left" if ax is left else "upper right")
        ax.grid(alpha=0.3)
    fig.suptitle(f"ReLU last, seed {seed}: a clipped logit passes no gradient", fontsize=10, y=1.04)
    save(fig, path)


def colours(labels: Sequence[str]) -> list[str]:
    """The same colour for the same run in both panels: the healthy run blue (C0), the others
    orange (C1), then green, ... in their order."""
    others = iter(f"C{i}" for i in range(1, 10))
    return ["C0" if label == "healthy" else next(others) for label in labels]
