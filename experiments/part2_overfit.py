"""Part 2: overfit 100 examples with the log's model, and the log's findings about it.

Full-batch gradient descent on 100 examples: the model [2, w, w, 2] for a sweep of widths
w (the log's create_model() has w = 500) at lr 0.01, and the w = 500 model at lr 10.

    python experiments/part2_overfit.py          # 1 to 2 minutes on 2 cores
    python experiments/part2_overfit.py --quick  # seconds
"""
from __future__ import annotations

import pathlib
import sys
from typing import Any, NamedTuple

sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))  # the repository root, for `experiments`
from experiments.harness import preamble  # noqa: E402 (first: from here on, Ctrl-C ends the script with one line)
from experiments.harness import flags, study  # noqa: E402
from experiments.harness import verdicts as v  # noqa: E402
from experiments.harness.flags import Seed  # noqa: E402
from experiments.harness.report import interrupted_at  # noqa: E402
from experiments.harness.runner import N_EXAMPLES, Outcome, Run, model_for  # noqa: E402
from tinynet.breakages import BREAKING_LR  # noqa: E402
from experiments.harness.study import Claim  # noqa: E402
from experiments.harness.verdicts import Verdict  # noqa: E402
from tinynet import plots  # noqa: E402
from tinynet.metrics import first_step_at_or_below  # noqa: E402
from tinynet.training import History  # noqa: E402

WIDTHS = (25, 100, 500)
QUICK_WIDTHS = (25, 500)
MAIN_WIDTH = 500  # the log's create_model()


class OverfitRuns(NamedTuple):
    """The runs of one seed: one per width at the script's lr, and the main model at lr 10."""

    widths: dict[int, Run]
    high_lr: Run

    def runs(self) -> list[Run]:
        return [*self.widths.values(), self.high_lr]


# --- The claims, one seed at a time -----------------------------------------------------------
def judge_overfit(h: History, lr: float) -> Verdict:
    return Verdict(
        {"final_loss": h.loss[-1], "final_train_accuracy": h.train_acc[-1], "steps": h.steps_taken,
         "near_zero_means_at_most": v.NEAR_ZERO_LOSS},
        v.near_zero(h.loss[-1]),
        f"After {h.steps_taken} full-batch steps at lr {lr:g} the training loss is {h.loss[-1]:.4g} "
        f"and {h.train_acc[-1]:.0%} of the {N_EXAMPLES} examples are classified correctly.")


def judge_stable(h: History) -> Verdict:
    return Verdict(
        {"diverged_at_step": h.diverged_at, "loss_at_start": h.loss[0], "final_loss": h.loss[-1]},
        v.stable(h.diverged_at, h.loss),
        f"No divergence; the loss went from {h.loss[0]:.4g} to {h.loss[-1]:.4g}." if h.diverged_at is None
        else f"It diverged at step {h.diverged_at}.")


def judge_wider(by_width: dict[int, History], steps: int) -> Verdict:
    reached = {w: first_step_at_or_below(h.loss, v.CONVERGED_LOSS) for w, h in by_width.items()}
    return Verdict(
        {"steps_to_reach_loss": {str(w): s for w, s in reached.items()}, "loss_threshold": v.CONVERGED_LOSS},
        v.wider_is_faster(reached),
        f"Steps until the training loss first fell to {v.CONVERGED_LOSS:g}, per width: "
        + ", ".join(f"{w}: {s if s is not None else f'not within {steps}'}" for w, s in reached.items()) + ".")


def judge_blow_up(h: History) -> Verdict:
    return Verdict(
        {"diverged_at_step": h.diverged_at, "loss_at_start": h.loss[0], "loss_when_stopped": h.loss[-1]},
        h.diverged_at is not None,
        f"At lr {BREAKING_LR:g} the loss went from {h.loss[0]:.4g} to {h.loss[-1]:.4g}"
        + (f" and the run diverged at step {h.diverged_at}." if h.diverged_at is not None else " without diverging."))


CLAIMS = (
    Claim("overfit_near_zero_loss", "20,000 training steps were sufficient for the model to reach a state of "
          "overfitting, achieving near-zero training loss.",
          needs=lambda p: [p.widths[MAIN_WIDTH]],
          judge=lambda s, p, hist, args: judge_overfit(hist[p.widths[MAIN_WIDTH]], args.lr), key="final_loss"),
    Claim("lr001_stable", "A learning rate of 0.01 was found to be stable and allowed for successful convergence.",
          needs=lambda p: [p.widths[MAIN_WIDTH]],
          judge=lambda s, p, hist, args: judge_stable(hist[p.widths[MAIN_WIDTH]]), key="final_loss",
          any_length=True),  # no divergence, and a loss that fell: at any length
    Claim("wider_converges_faster", "Increasing the size of the intermediate linear layers resulted in faster "
          "convergence during training.",
          needs=lambda p: list(p.widths.values()),
          judge=lambda s, p, hist, args: judge_wider({w: hist[r] for w, r in p.widths.items()}, p.high_lr.steps),
          key="steps_to_reach_loss"),
    Claim("lr10_blows_up", "Initial experiments with a high learning rate (e.g., lr=10) caused the training "
          "process to diverge (\"blow up\").",
          needs=lambda p: [p.high_lr], judge=lambda s, p, hist, args: judge_blow_up(hist[p.high_lr]),
          key="diverged_at_step", any_length=True),  # a blow-up comes in the first steps
)


# --- The study: Part 2 as the skeleton runs it ---------------------------------------------------
class Part2(study.Study):
    script = "part2_overfit"
    default_steps = 20000
    quick_steps = 400
    claims = CLAIMS

    def title(self, args: Any) -> str:
        return f"Part 2: overfitting {N_EXAMPLES} examples ({len(args.seeds)} seeds; {args.varied} vary)"

    def boundary_for(self, args: Any, plans: dict[Seed, OverfitRuns]) -> list[Run]:
        return [plans[args.seeds[0]].widths[MAIN_WIDTH]]

    def draw(self, args: Any, plans: dict[Seed, OverfitRuns], outcomes: dict[Run, Outcome], verdicts: dict,
             context: dict) -> list[str]:
        return draw(args, plans[args.seeds[0]], outcomes)

    def print_runs(self, args: Any, plans: dict[Seed, OverfitRuns], hist: dict[Run, History], context: dict) -> None:
        for run, h in hist.items():
            width = f"width {run.sizes[1]}, lr {run.lr:g}"
            diverged = f", diverged at step {h.diverged_at}" if h.diverged_at is not None else ""
            print(f"  {run.label:<18} {width:<20} loss {h.loss[0]:.4f} -> {h.loss[-1]:.4g} in {h.steps_taken} steps "
                  f"({h.seconds:.1f} s){diverged}{interrupted_at(h)}")


PART2 = Part2()


def plan(args: Any) -> dict[Seed, OverfitRuns]:
    """For each seed: the log's model at each width, and the same model at the breaking lr."""
    widths = QUICK_WIDTHS if args.quick else WIDTHS
    plans = {}
    for seed in args.seeds:
        same = dict(steps=args.steps, dataset=args.dataset, n=N_EXAMPLES)
        by_width = {w: seed.run("main", lr=args.lr, sizes=(2, w, w, 2), **same) for w in widths}  # ends: the data's
        high_lr = seed.run(f"lr {BREAKING_LR:g}", lr=BREAKING_LR, **same)
        plans[seed] = OverfitRuns(widths=by_width, high_lr=high_lr)
    return plans


def config(args: Any) -> dict[str, Any]:
    """The study's settings, as results.json records them."""
    widths = list(QUICK_WIDTHS if args.quick else WIDTHS)
    return {"n_train": N_EXAMPLES, "model": model_for(args.dataset), "widths": widths,
            "lrs": [args.lr, BREAKING_LR], "full_batch": True}


def main(argv: list[str] | None = None) -> int:
    args = flags.read(PART2, argv)
    return study.run(PART2, args, plan(args), config(args))


def draw(args: Any, first: OverfitRuns, outcomes: dict[Run, Outcome]) -> list[str]:
    """The first seed's runs: loss per width, loss per lr, the main model's decision boundary."""
    figures = []
    hist = {r: o.history for r, o in outcomes.items()}
    by_width = {f"width {w}, lr {r.lr:g}": hist[r].loss for w, r in first.widths.items() if r in hist}
    if by_width:
        title = f"Part 2: loss per width ({N_EXAMPLES} examples, {args.dataset}, seed {args.seeds[0].seed})"
        plots.loss_curves(by_width, title,
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
        # The study's seed, as the other two figures and k/n name it (with --weight-seed fixed it is not the run's).
        plots.decision_boundaries([(f"seed {args.seeds[0].seed}, width {MAIN_WIDTH}, {hist[main].steps_taken} steps",
                                    outcomes[main].boundary)], outcomes[main].grid,
                                  data.x_train, data.y_train, args.out / "boundary.png")
        figures.append("boundary.png")
    if main in outcomes and outcomes[main].predicted is not None:
        data = main.data()
        plots.pictures([(f"seed {args.seeds[0].seed}, width {MAIN_WIDTH}", outcomes[main].first_layer,
                         outcomes[main].predicted)], data.x_train, data.y_train, data.image_shape, data.n_classes,
                       args.out / "pictures.png")
        figures.append("pictures.png")
    return figures


if __name__ == "__main__":
    preamble.run_main(main)
