"""Part 1: the checks one makes before trusting a training run (not in the log).

The data, its majority-class baseline, the untrained model's loss (for 2 balanced classes
it should be close to ln 2 = 0.693: the model starts out unsure), and a full float64
gradient check of the log's model [2, 500, 500, 2] on that data.

    python experiments/part1_sanity.py           # seconds
"""
from __future__ import annotations

import math
import pathlib
import sys

sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))  # for `experiments`; tinynet: the installed one
from experiments import ctrl_c  # noqa: E402

ctrl_c.during_imports(__name__)  # from here on, Ctrl-C ends the script with one line
import numpy as np  # noqa: E402
from experiments import common  # noqa: E402
from tinynet import SoftmaxCrossEntropy, create_model, gradcheck, plots  # noqa: E402
from tinynet.data import make_dataset  # noqa: E402

SCRIPT = "part1_sanity"
N = 100


def main(argv: list[str] | None = None) -> int:
    args = common.parse(common.parser(__doc__.split("\n\n")[0], default_steps=1), argv, SCRIPT)
    samples = 30 if args.quick else 1000
    per_seed, data_of = {}, {}
    for seed in args.seeds:  # no training: seconds per seed, in this process
        data_of[seed] = make_dataset(args.dataset, N, seed=seed.data)
        per_seed[seed] = check(args, seed, data_of[seed], samples)
    claims = [common.across_seeds({s: c[i] for s, c in per_seed.items()}, key=key)
              for i, key in enumerate(("loss_at_init", "worst_relative_error"))]
    first = args.seeds[0]
    baselines = {str(s.seed): majority_share(data.y_train) for s, data in data_of.items()}
    extra = {"majority_baseline": baselines, "gradcheck": [r.__dict__ for r in per_seed[first][2]]}
    path = common.write_results(args, SCRIPT, {"n_train": N, "model": common.MODEL}, {}, claims, [], extra=extra)
    plots.dataset(data_of[first].x_train, data_of[first].y_train,
                  f"{args.dataset}, seed {first.data}: {N} examples, majority class {baselines[str(first.seed)]:.0%}",
                  args.out / "dataset.png")
    common.write_results(args, SCRIPT, {"n_train": N, "model": common.MODEL}, {}, claims, ["dataset.png"],
                         extra=extra)
    common.print_claims(f"Part 1: sanity before training ({len(args.seeds)} seeds; {args.varied} vary)", claims)
    print("  majority-class baseline per seed: " + ", ".join(f"{s}: {b:.0%}" for s, b in baselines.items()))
    print(f"  gradient check of seed {first.seed}:")
    print(gradcheck.format_table(per_seed[first][2]))
    common.print_figures(args.out, ["dataset.png"])
    print(f"results: {path}")
    return 0


def majority_share(labels: np.ndarray) -> float:
    """The accuracy of always answering the most common class."""
    counts = np.bincount(labels, minlength=2)
    return float(counts.max() / counts.sum())


def check(args, seed: common.Seed, data, samples: int) -> tuple[dict, dict, list]:
    """One seed: (loss-at-init claim, gradient-check claim, the gradient check's results)."""
    be = args.be
    model = create_model(list(common.MODEL), seed=seed.weights, backend=be)
    x = be.asarray(data.x_train, dtype="float32")
    y = be.asarray(data.y_train)
    logits = model.forward(x)  # (N, 2)
    largest_logit = float(be.xp.max(be.xp.abs(logits)))
    loss = float(SoftmaxCrossEntropy().forward(logits, y))
    results = gradcheck.check_model(model, x, y, seed=seed.weights, max_entries=samples)
    worst = max(results, key=lambda r: r.error)
    ln2 = common.claim(
        "loss_at_init_ln2", "(not in the log) The untrained model's loss is close to ln 2.",
        {"loss_at_init": loss, "ln2": math.log(2), "difference": loss - math.log(2),
         "tolerance": common.LN2_TOLERANCE, "largest_abs_logit": largest_logit},
        common.loss_close_to_ln2(loss),
        f"The untrained model's logits are all within {largest_logit:.3f} of 0, so softmax gives each "
        f"class close to 1/2 and the loss is close to ln 2: measured {loss:.4f}, {loss - math.log(2):+.4f} from ln 2.")
    grads = common.claim(
        "gradients_match_finite_differences", "(not in the log) Backprop's gradients agree with finite differences.",
        {"worst_relative_error": worst.error, "worst_tensor": f"{worst.where} d{worst.param}",
         "tolerance": worst.tol, "entries_checked": sum(r.checked for r in results),
         "entries_skipped_at_kinks": sum(r.skipped for r in results), "sampled_entries_per_large_tensor": samples},
        all(r.passed for r in results),
        f"Every parameter and the input gradient, in float64 with centered differences "
        f"(h = {gradcheck.H:g}); tensors over {samples} entries sampled. Worst: {worst}.")
    return ln2, grads, results


if __name__ == "__main__":
    common.run_main(main)
