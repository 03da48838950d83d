"""Part 2: overfit 100 examples with the log's model, and the log's findings about it.

Full-batch gradient descent on 100 examples: the model [2, w, w, 2] for a sweep of widths
w (the log's create_model() has w = 500) at lr 0.01, and the w = 500 model at lr 10.

    python experiments/part2_overfit.py          # 1 to 2 minutes on 2 cores
    python experiments/part2_overfit.py --quick  # seconds
"""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from experiments import common  # noqa: E402
from tinynet import plots  # noqa: E402
from tinynet.data import make_dataset  # noqa: E402

SCRIPT = "part2_overfit"
N = 100
WIDTHS = (25, 100, 500)
BREAKING_LR = 10.0


def main(argv: list[str] | None = None) -> int:
    args = common.parse(common.parser(__doc__.split("\n\n")[0], default_steps=20000), argv, SCRIPT)
    steps = 400 if args.quick else args.steps
    widths = (25, 500) if args.quick else WIDTHS
    data = make_dataset(args.dataset, N, seed=args.seed)

    histories, models = {}, {}
    for w in widths:
        label = f"width {w}, lr {args.lr:g}"
        histories[label], models[label] = common.train_run(
            args, data, lr=args.lr, steps=steps, sizes=[2, w, w, 2], desc=label)
        if histories[label].interrupted:
            break
    main_label = f"width 500, lr {args.lr:g}"
    lr_label = f"width 500, lr {BREAKING_LR:g}"
    if not any(h.interrupted for h in histories.values()):
        histories[lr_label], models[lr_label] = common.train_run(args, data, lr=BREAKING_LR, steps=steps, desc=lr_label)
    interrupted = any(h.interrupted for h in histories.values())
    histories = common.measured(histories)

    claims = []
    main = histories.get(main_label)
    if main is not None:
        claims.append(common.claim(
            "overfit_near_zero_loss", "20,000 training steps were sufficient for the model to reach a state of "
            "overfitting, achieving near-zero training loss.",
            {"final_loss": main.loss[-1], "final_train_accuracy": main.train_acc[-1], "steps": main.steps_taken,
             "near_zero_means_at_most": common.NEAR_ZERO_LOSS},
            common.near_zero(main.loss[-1]),
            f"After {main.steps_taken} full-batch steps at lr {args.lr:g} the training loss is {main.loss[-1]:.4g} "
            f"and {main.train_acc[-1]:.0%} of the {N} examples are classified correctly."))
        claims.append(common.claim(
            "lr001_stable", "A learning rate of 0.01 was found to be stable and allowed for successful convergence.",
            {"diverged_at_step": main.diverged_at, "loss_at_start": main.loss[0], "final_loss": main.loss[-1]},
            common.stable(main.diverged_at, main.loss),
            f"No divergence; the loss went from {main.loss[0]:.4g} to {main.loss[-1]:.4g}."))
    reached = {int(label.split()[1].rstrip(",")): common.first_step_below(h.loss, common.CONVERGED_LOSS)
               for label, h in histories.items() if label.endswith(f"lr {args.lr:g}")}
    if len(reached) >= 2:
        claims.append(common.claim(
            "wider_converges_faster", "Increasing the size of the intermediate linear layers resulted in faster "
            "convergence during training.",
            {"steps_to_reach_loss": {str(w): s for w, s in reached.items()}, "loss_threshold": common.CONVERGED_LOSS},
            common.wider_is_faster(reached),
            f"Steps until the training loss first fell to {common.CONVERGED_LOSS:g}, per width: "
            + ", ".join(f"{w}: {s if s is not None else f'not within {steps}'}" for w, s in reached.items())
            + "."))
    broken = histories.get(lr_label)
    if broken is not None:
        claims.append(common.claim(
            "lr10_blows_up", "Initial experiments with a high learning rate (e.g., lr=10) caused the training "
            "process to diverge (\"blow up\").",
            {"diverged_at_step": broken.diverged_at, "loss_at_start": broken.loss[0], "loss_when_stopped": broken.loss[-1]},
            broken.diverged_at is not None,
            f"At lr {BREAKING_LR:g} the loss went from {broken.loss[0]:.4g} to {broken.loss[-1]:.4g}"
            + (f" and the run diverged at step {broken.diverged_at}." if broken.diverged_at is not None else " without diverging.")))

    figures = []
    width_runs = {k: h.loss for k, h in histories.items() if k.endswith(f"lr {args.lr:g}")}
    if width_runs:
        plots.loss_curves(width_runs, f"Part 2: loss per width ({N} examples, {args.dataset})",
                          args.out / "loss_by_width.png")
        figures.append("loss_by_width.png")
    lr_runs = {k: histories[k].loss for k in (main_label, lr_label) if k in histories}
    if lr_runs:
        plots.loss_curves(lr_runs, "Part 2: loss per learning rate (width 500)", args.out / "loss_by_lr.png",
                          marks={k: histories[k].diverged_at for k in lr_runs})
        figures.append("loss_by_lr.png")
    if main is not None:
        xy = common.grid(data)
        classes = common.boundary(models[main_label], args, xy)
        plots.decision_boundaries([(f"{main_label}, {main.steps_taken} steps", classes)], xy,
                                  data.x_train, data.y_train, args.out / "boundary.png")
        figures.append("boundary.png")

    config = {"n_train": N, "model": common.MODEL, "widths": list(widths), "lrs": [args.lr, BREAKING_LR],
              "full_batch": True}
    path = common.write_results(args, SCRIPT, config, {k: h.as_dict() for k, h in histories.items()},
                                claims, figures, interrupted)
    common.print_claims("Part 2: overfitting 100 examples", claims, interrupted)
    for label, h in histories.items():
        print(f"  {label:<20} loss {h.loss[0]:.4f} -> {h.loss[-1]:.4g} in {h.steps_taken} steps "
              f"({h.seconds:.1f} s)" + (f", diverged at step {h.diverged_at}" if h.diverged_at is not None else ""))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    common.run_main(main)
