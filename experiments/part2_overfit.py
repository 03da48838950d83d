"""Part 2: overfit 100 examples with the log's model, and the log's findings about it.

Full-batch gradient descent on 100 examples: the model [2, w, w, 2] for a sweep of widths
w (the log's create_model() has w = 500) at lr 0.01, and the w = 500 model at lr 10.

    python experiments/part2_overfit.py          # 1 to 2 minutes on 2 cores
    python experiments/part2_overfit.py --quick  # seconds
"""
from __future__ import annotations

import pathlib
import sys
from typing import NamedTuple

sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))  # for `experiments`; tinynet: the installed one
from experiments import ctrl_c  # noqa: E402

ctrl_c.during_imports(__name__)  # from here on, Ctrl-C ends the script with one line
from experiments import common  # noqa: E402
from experiments.runner import Run, run_many  # noqa: E402
from tinynet import plots  # noqa: E402

SCRIPT = "part2_overfit"
N = 100
WIDTHS = (25, 100, 500)
MAIN_WIDTH = 500  # the log's create_model()
BREAKING_LR = 10.0


class Plan(NamedTuple):
    """The runs of one seed: one per width at the script's lr, and the main model at lr 10."""

    widths: dict[int, Run]
    high_lr: Run

    def runs(self) -> list[Run]:
        return [*self.widths.values(), self.high_lr]


def plan(args, steps: int, widths: tuple[int, ...]) -> dict[common.Seed, Plan]:
    plans = {}
    for seed in args.seeds:
        same = dict(steps=steps, dataset=args.dataset, n=N)
        plans[seed] = Plan(widths={w: common.run("main", seed, lr=args.lr, sizes=(2, w, w, 2), **same)
                                   for w in widths},
                           high_lr=common.run(f"lr {BREAKING_LR:g}", seed, lr=BREAKING_LR, **same))
    return plans


def main(argv: list[str] | None = None) -> int:
    args = common.parse(common.parser(__doc__.split("\n\n")[0], default_steps=20000), argv, SCRIPT)
    steps = 400 if args.quick else args.steps
    widths = (25, MAIN_WIDTH) if args.quick else WIDTHS
    plans = plan(args, steps, widths)
    every = [r for plan_ in plans.values() for r in plan_.runs()]
    first = plans[args.seeds[0]]
    outcomes, interrupted = run_many(every, backend=args.be.name, jobs=args.jobs,
                                     boundary_for=[first.widths[MAIN_WIDTH]])
    outcomes = common.measured_runs(outcomes)
    hist = {r: o.history for r, o in outcomes.items()}

    claims = []
    seeds, cut = common.seeds_with(args, outcomes, lambda s: [plans[s].widths[MAIN_WIDTH]])
    if seeds:
        mains = {s: hist[plans[s].widths[MAIN_WIDTH]] for s in seeds}
        claims.append(common.across_seeds({s: overfit_claim(h, args.lr) for s, h in mains.items()}, cut,
                                          key="final_loss"))
        claims.append(common.across_seeds({s: stable_claim(h) for s, h in mains.items()}, cut, key="final_loss"))
    seeds, cut = common.seeds_with(args, outcomes, lambda s: list(plans[s].widths.values()))
    if seeds and len(widths) >= 2:
        claims.append(common.across_seeds(
            {s: wider_claim({w: hist[r] for w, r in plans[s].widths.items()}, steps) for s in seeds}, cut,
            key="steps_to_reach_loss"))
    seeds, cut = common.seeds_with(args, outcomes, lambda s: [plans[s].high_lr])
    if seeds:
        claims.append(common.across_seeds({s: blow_up_claim(hist[plans[s].high_lr]) for s in seeds}, cut,
                                          key="diverged_at_step"))

    config = {"n_train": N, "model": common.MODEL, "widths": list(widths), "lrs": [args.lr, BREAKING_LR],
              "full_batch": True}
    path = common.write_results(args, SCRIPT, config, outcomes, claims, [], interrupted)
    figures = draw(args, first, outcomes)
    common.write_results(args, SCRIPT, config, outcomes, claims, figures, interrupted)
    common.print_claims(f"Part 2: overfitting {N} examples ({len(args.seeds)} seeds; {args.varied} vary)",
                        claims, interrupted)
    for run, h in hist.items():
        width = f"width {run.sizes[1]}, lr {run.lr:g}"
        diverged = f", diverged at step {h.diverged_at}" if h.diverged_at is not None else ""
        print(f"  {run.label:<18} {width:<20} loss {h.loss[0]:.4f} -> {h.loss[-1]:.4g} in {h.steps_taken} steps "
              f"({h.seconds:.1f} s){diverged}{common.interrupted_at(h)}")
    common.print_figures(args.out, figures)
    print(f"results: {path}")
    return 130 if interrupted else 0


def overfit_claim(h, lr: float) -> dict:
    return common.claim(
        "overfit_near_zero_loss", "20,000 training steps were sufficient for the model to reach a state of "
        "overfitting, achieving near-zero training loss.",
        {"final_loss": h.loss[-1], "final_train_accuracy": h.train_acc[-1], "steps": h.steps_taken,
         "near_zero_means_at_most": common.NEAR_ZERO_LOSS},
        common.near_zero(h.loss[-1]),
        f"After {h.steps_taken} full-batch steps at lr {lr:g} the training loss is {h.loss[-1]:.4g} "
        f"and {h.train_acc[-1]:.0%} of the {N} examples are classified correctly.")


def stable_claim(h) -> dict:
    return common.claim(
        "lr001_stable", "A learning rate of 0.01 was found to be stable and allowed for successful convergence.",
        {"diverged_at_step": h.diverged_at, "loss_at_start": h.loss[0], "final_loss": h.loss[-1]},
        common.stable(h.diverged_at, h.loss),
        f"No divergence; the loss went from {h.loss[0]:.4g} to {h.loss[-1]:.4g}." if h.diverged_at is None
        else f"It diverged at step {h.diverged_at}.")


def wider_claim(by_width: dict, steps: int) -> dict:
    reached = {w: common.first_step_below(h.loss, common.CONVERGED_LOSS) for w, h in by_width.items()}
    return common.claim(
        "wider_converges_faster", "Increasing the size of the intermediate linear layers resulted in faster "
        "convergence during training.",
        {"steps_to_reach_loss": {str(w): s for w, s in reached.items()}, "loss_threshold": common.CONVERGED_LOSS},
        common.wider_is_faster(reached),
        f"Steps until the training loss first fell to {common.CONVERGED_LOSS:g}, per width: "
        + ", ".join(f"{w}: {s if s is not None else f'not within {steps}'}" for w, s in reached.items()) + ".")


def blow_up_claim(h) -> dict:
    return common.claim(
        "lr10_blows_up", "Initial experiments with a high learning rate (e.g., lr=10) caused the training "
        "process to diverge (\"blow up\").",
        {"diverged_at_step": h.diverged_at, "loss_at_start": h.loss[0], "loss_when_stopped": h.loss[-1]},
        h.diverged_at is not None,
        f"At lr {BREAKING_LR:g} the loss went from {h.loss[0]:.4g} to {h.loss[-1]:.4g}"
        + (f" and the run diverged at step {h.diverged_at}." if h.diverged_at is not None else " without diverging."))


def draw(args, first: Plan, outcomes: dict) -> list[str]:
    """The first seed's runs: loss per width, loss per lr, the main model's decision boundary."""
    figures = []
    hist = {r: o.history for r, o in outcomes.items()}
    by_width = {f"width {w}, lr {r.lr:g}": hist[r].loss for w, r in first.widths.items() if r in hist}
    if by_width:
        plots.loss_curves(by_width, f"Part 2: loss per width ({N} examples, {args.dataset}, seed {args.seeds[0].seed})",
                          args.out / "loss_by_width.png")
        figures.append("loss_by_width.png")
    pair = [r for r in (first.widths[MAIN_WIDTH], first.high_lr) if r in hist]
    if pair:
        label = {r: f"{r.role} run: lr {r.lr:g}" for r in pair}  # two roles: two lines, whatever the lrs
        plots.loss_curves({label[r]: hist[r].loss for r in pair},
                          f"Part 2: loss per learning rate (width {MAIN_WIDTH}, seed {args.seeds[0].seed})",
                          args.out / "loss_by_lr.png", marks={label[r]: hist[r].diverged_at for r in pair})
        figures.append("loss_by_lr.png")
    main = first.widths[MAIN_WIDTH]
    if main in outcomes and outcomes[main].boundary is not None:
        data = main.data()
        plots.decision_boundaries([(f"seed {main.seed}, width {MAIN_WIDTH}, {hist[main].steps_taken} steps",
                                    outcomes[main].boundary)], outcomes[main].grid,
                                  data.x_train, data.y_train, args.out / "boundary.png")
        figures.append("boundary.png")
    return figures


if __name__ == "__main__":
    common.run_main(main)
