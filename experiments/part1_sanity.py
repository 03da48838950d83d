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

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from experiments import common  # noqa: E402
from tinynet import gradcheck, plots  # noqa: E402
from tinynet.data import make_dataset  # noqa: E402

SCRIPT = "part1_sanity"
N = 100


def main(argv: list[str] | None = None) -> int:
    args = common.parse(common.parser(__doc__.split("\n\n")[0], default_steps=1), argv, SCRIPT)
    be = args.be
    data = make_dataset(args.dataset, N, seed=args.seed)
    counts = np.bincount(data.y_train, minlength=2)
    baseline = float(counts.max() / counts.sum())
    plots.dataset(data.x_train, data.y_train, f"{args.dataset}: {N} examples, majority class {baseline:.0%}",
                  args.out / "dataset.png")

    model = common.tn.create_model(common.MODEL, seed=args.seed, backend=be)
    x = be.asarray(data.x_train, dtype="float32")
    y = be.asarray(data.y_train)
    logits = model.forward(x)  # (N, 2)
    largest_logit = float(be.xp.max(be.xp.abs(logits)))
    loss = float(common.tn.SoftmaxCrossEntropy().forward(logits, y))
    samples = 30 if args.quick else 1000
    results = gradcheck.check_model(model, x, y, seed=args.seed, max_entries=samples)
    worst = max(results, key=lambda r: r.error)

    claims = [
        common.claim("loss_at_init_ln2", "(not in the log) The untrained model's loss is close to ln 2.",
                     {"loss_at_init": loss, "ln2": math.log(2), "difference": loss - math.log(2),
                      "tolerance": common.LN2_TOLERANCE, "largest_abs_logit": largest_logit},
                     common.loss_close_to_ln2(loss),
                     f"The untrained model's logits are all within {largest_logit:.3f} of 0, so softmax gives each "
                     f"class close to 1/2 and the loss is close to ln 2: measured {loss:.4f}, "
                     f"{loss - math.log(2):+.4f} from ln 2."),
        common.claim("gradients_match_finite_differences",
                     "(not in the log) Backprop's gradients agree with finite differences.",
                     {"worst_relative_error": worst.error, "worst_tensor": f"{worst.where} d{worst.param}",
                      "tolerance": worst.tol, "entries_checked": sum(r.checked for r in results),
                      "entries_skipped_at_kinks": sum(r.skipped for r in results),
                      "sampled_entries_per_large_tensor": samples},
                     all(r.passed for r in results),
                     f"Every parameter and the input gradient, in float64 with centered differences "
                     f"(h = {gradcheck.H:g}); tensors over {samples} entries sampled. Worst: {worst}."),
    ]
    path = common.write_results(args, SCRIPT, {"n_train": N, "model": common.MODEL}, {}, claims, ["dataset.png"],
                                extra={"majority_baseline": baseline, "class_counts": counts.tolist(),
                                       "gradcheck": [r.__dict__ for r in results]})
    common.print_claims("Part 1: sanity before training", claims)
    print(f"  majority-class baseline: {baseline:.0%} ({counts.tolist()} examples per class)")
    print(gradcheck.format_table(results))
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    common.run_main(main)
