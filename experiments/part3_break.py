"""Part 3: break training on purpose, and see why it breaks.

Three runs of the log's model [2, 500, 500, 2] on the same 100 examples, full-batch:
  healthy     lr 0.01, logits straight from the last Linear
  lr 10       the learning rate of the log's first failure
  ReLU last   a ReLU after the last Linear, the log's second failure
and for each, at intervals: the loss, the gradient norm of every layer, and the fraction
of logits at or below zero (clipped to 0 where a ReLU follows the last layer).

    python experiments/part3_break.py            # under a minute on 2 cores
    python experiments/part3_break.py --quick    # seconds
"""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from experiments import common  # noqa: E402
from tinynet import plots  # noqa: E402
from tinynet.data import make_dataset  # noqa: E402

SCRIPT = "part3_break"
N = 100
BREAKING_LR = 10.0


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__.split("\n\n")[0], default_steps=5000)
    args = common.parse(p, argv, SCRIPT)
    steps = 300 if args.quick else args.steps
    data = make_dataset(args.dataset, N, seed=args.seed)

    configs = {
        f"healthy (lr {args.lr:g})": dict(lr=args.lr),
        f"lr {BREAKING_LR:g}": dict(lr=BREAKING_LR),
        f"ReLU last (lr {args.lr:g})": dict(lr=args.lr, relu_last=True),
    }
    histories, models = {}, {}
    for label, config in configs.items():
        histories[label], models[label] = common.train_run(args, data, steps=steps, desc=label, **config)
        if histories[label].interrupted:
            break
    interrupted = any(h.interrupted for h in histories.values())
    histories = common.measured(histories)
    healthy, broken_lr, relu_last = (histories.get(label) for label in configs)

    claims = []
    if broken_lr is not None:
        claims.append(lr10_claim(broken_lr, args.lr))
    if relu_last is not None and healthy is not None:
        claims.append(relu_last_claim(relu_last, healthy))

    figures = []
    if histories:
        plots.loss_curves({k: h.loss for k, h in histories.items()}, f"Part 3: {N} examples, {args.dataset} data",
                          args.out / "losses.png", marks={k: h.diverged_at for k, h in histories.items()})
        figures.append("losses.png")
    if healthy is not None and relu_last is not None:
        labels = [list(configs)[0], list(configs)[2]]
        lines = {f"{k}: logits <= 0": (histories[k].eval_steps, histories[k].logits_clipped) for k in labels}
        lines[f"{labels[1]}: output units dead"] = (histories[labels[1]].eval_steps, histories[labels[1]].dead_outputs)
        plots.series(lines, "Logits at or below 0 (a last ReLU clips them to 0, gradient 0)", "fraction",
                     args.out / "clipped.png", ylim=(-0.02, 1.02))
        figures.append("clipped.png")
        plots.series({k: (histories[k].eval_steps, next(iter(histories[k].grad_norm.values()))) for k in labels},
                     "Gradient norm of the first Linear layer", "norm of (dW, db)", args.out / "grad_norms.png",
                     logy=True)
        figures.append("grad_norms.png")
    xy = common.grid(data)
    shown = [k for k, h in histories.items() if h.diverged_at is None]  # a diverged run's boundary shows nothing
    panels = [(k, common.boundary(models[k], args, xy)) for k in shown]
    if panels:
        plots.decision_boundaries(panels, xy, data.x_train, data.y_train, args.out / "boundaries.png")
        figures.append("boundaries.png")

    config = {"n_train": N, "model": common.MODEL, "runs": {k: {**v, "steps": steps} for k, v in configs.items()}}
    path = common.write_results(args, SCRIPT, config, {k: h.as_dict() for k, h in histories.items()},
                                claims, figures, interrupted)
    common.print_claims("Part 3: breaking it on purpose", claims, interrupted)
    for label, h in histories.items():
        end = f"diverged at step {h.diverged_at}" if h.diverged_at is not None else f"final loss {h.loss[-1]:.4f}"
        print(f"  {label:<22} loss {h.loss[0]:.4f} -> {end}; logits <= 0: "
              f"{h.logits_clipped[0]:.0%} at start, {h.logits_clipped[-1]:.0%} at end")
    print(f"results: {path}")
    return 0


def lr10_claim(h, healthy_lr: float) -> dict:
    first_norm = sum(v[0] for v in h.grad_norm.values())
    measured = {"diverged_at_step": h.diverged_at, "loss_at_start": h.loss[0],
                "loss_when_stopped": h.loss[-1], "gradient_norm_at_start": first_norm,
                "immediate_means_within_steps": common.IMMEDIATE_STEPS}
    if common.diverged_immediately(h.diverged_at):
        why = (f"An update at lr {BREAKING_LR:g} is {BREAKING_LR / healthy_lr:g} times the step at lr "
               f"{healthy_lr:g} along the same gradient (summed norm {first_norm:.3g} at the start). It overshoots: "
               f"the loss goes from {h.loss[0]:.3g} to {h.loss[-1]:.3g}, and at step {h.diverged_at} the run is "
               f"stopped as diverged (loss above {common.tn.train.DIVERGENCE_FACTOR:g}x its start, or not finite).")
    elif h.diverged_at is None:
        why = f"The loss stayed finite and within {common.tn.train.DIVERGENCE_FACTOR:g}x its start for all {h.steps_taken} steps."
    else:
        why = f"It diverged, but only at step {h.diverged_at}, later than 'immediately' ({common.IMMEDIATE_STEPS} steps)."
    return common.claim("lr10_diverges", "The training loss diverged immediately, indicating numerical "
                        "instability and an inability of the model to learn.", measured,
                        common.diverged_immediately(h.diverged_at), why)


def relu_last_claim(h, healthy) -> dict:
    fell = 1 - h.loss[-1] / h.loss[0]
    measured = {"loss_at_start": h.loss[0], "final_loss": h.loss[-1], "fraction_of_loss_lost": fell,
                "healthy_final_loss": healthy.loss[-1], "logits_clipped_at_start": h.logits_clipped[0],
                "logits_clipped_at_end": h.logits_clipped[-1], "dead_output_units_at_end": h.dead_outputs[-1],
                "stopped_means_fell_less_than": common.STOPPED_FRACTION}
    stopped = common.stopped_learning(h.loss)
    if stopped:
        why = (f"The loss fell by only {fell:.1%} (healthy run: {healthy.loss[0]:.3g} -> {healthy.loss[-1]:.3g}). "
               f"A ReLU after the last layer clips every negative logit to 0 and passes it no gradient: "
               f"{h.logits_clipped[-1]:.0%} of logits ended clipped, and {h.dead_outputs[-1]:.0%} of output units "
               f"were clipped on every example, so nothing can move them again.")
    else:
        why = (f"Not here: the loss still fell by {fell:.1%}, to {h.loss[-1]:.3g} (healthy: {healthy.loss[-1]:.3g}). "
               f"Only {h.logits_clipped[0]:.0%} of the logits started at or below 0, and at no measured step was more "
               f"than {max(h.dead_outputs):.0%} of the output units clipped on every example (such a unit gets no "
               f"gradient at all). "
               f"Cross-entropy only needs the right logit above the others: the right one can still grow, and "
               f"a wrong one held at 0 is no obstacle. The ReLU did take away the gradient of every clipped "
               f"logit ({h.logits_clipped[-1]:.0%} of them at the end), but with no output unit dead, learning went on.")
    return common.claim("relu_last_stops_learning", "The model stopped learning effectively, and the loss "
                        "remained high or flat.", measured, stopped, why)


if __name__ == "__main__":
    common.run_main(main)
