"""Part 1: the checks one makes before trusting a training run (not in the log).

The data, the share of its majority class, the untrained model's loss (for C classes it
should be close to ln C, 0.693 for 2 and 2.303 for 10: the model starts out unsure), and a
full float64 gradient check of the log's model [2, 500, 500, 2] on that data ([64, 500, 500,
10] on digits).

    python experiments/part1_sanity.py                    # seconds
    python experiments/part1_sanity.py --dataset digits   # the same on real digits
"""
from __future__ import annotations

import math
import pathlib
import sys
from typing import Any, NamedTuple

sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))  # the repository root, for `experiments`
from experiments.harness import preamble  # noqa: E402 (first: from here on, Ctrl-C ends the script with one line)
import numpy as np  # noqa: E402
from experiments.harness import flags, output, study  # noqa: E402
from experiments.harness import verdicts as v  # noqa: E402
from experiments.harness.flags import Seed  # noqa: E402
from experiments.harness.runner import N_EXAMPLES, Outcome, Run, model_for  # noqa: E402
from experiments.harness.study import Claim  # noqa: E402
from experiments.harness.verdicts import Verdict  # noqa: E402
from tinynet import SoftmaxCrossEntropy, create_model, gradcheck, plots  # noqa: E402
from tinynet.data import Dataset, make_dataset  # noqa: E402



class Sanity(NamedTuple):
    """One seed, untrained: its data, the model's loss and largest logit, the gradient check.
    Nothing is trained in Part 1, so a seed's plan holds its measurements and no run."""

    data: Dataset
    loss: float
    largest_logit: float
    gradcheck: list[gradcheck.CheckResult]
    samples: int  # entries checked per tensor larger than this

    @property
    def classes(self) -> int:
        return self.data.n_classes

    def runs(self) -> list[Run]:
        return []


def sanity(args: Any, seed: Seed, samples: int) -> Sanity:
    be = args.be
    data = make_dataset(args.dataset, N_EXAMPLES, seed=seed.data, val_fraction=0.0)
    model = create_model(list(model_for(args.dataset)), seed=seed.weights, backend=be)
    x = be.asarray(data.x_train, dtype="float32")
    y = be.asarray(data.y_train)
    logits = model.forward(x)  # (N, C)
    largest_logit = float(be.xp.max(be.xp.abs(logits)))
    loss = float(SoftmaxCrossEntropy().forward(logits, y))
    results = gradcheck.check_model(model, x, y, seed=seed.weights, max_entries=samples)
    return Sanity(data, loss, largest_logit, results, samples)


def majority_share(labels: np.ndarray) -> float:
    """The share of the most common class: the accuracy of always answering it."""
    counts = np.bincount(labels)
    return float(counts.max() / counts.sum())


# --- The claims, one seed at a time -----------------------------------------------------------
def judge_ln_c(p: Sanity) -> Verdict:
    loss, c = p.loss, p.classes
    return Verdict(
        {"loss_at_init": loss, "classes": c, "ln_c": math.log(c), "difference": loss - math.log(c),
         "tolerance": v.LN2_TOLERANCE, "largest_abs_logit": p.largest_logit},
        v.loss_close_to_ln_c(loss, c),
        f"The untrained model's logits are all within {p.largest_logit:.3f} of 0, so softmax gives each of the "
        f"{c} classes close to 1/{c} and the loss is close to ln {c} = {math.log(c):.4f}: measured {loss:.4f}, "
        f"{loss - math.log(c):+.4f} from ln {c}.")


def judge_gradients(p: Sanity) -> Verdict:
    results = p.gradcheck
    worst = max(results, key=lambda r: r.error)
    return Verdict(
        {"worst_relative_error": worst.error, "worst_tensor": f"{worst.where} d{worst.param}",
         "tolerance": worst.tol, "entries_checked": sum(r.checked for r in results),
         "entries_skipped_at_kinks": sum(r.skipped for r in results), "sampled_entries_per_large_tensor": p.samples},
        all(r.passed for r in results),
        f"Every parameter and the input gradient, in float64 with centered differences "
        f"(h = {gradcheck.H:g}); tensors over {p.samples} entries sampled. Worst: {worst}.")


CLAIMS = (
    Claim("loss_at_init_ln2", "(not in the log) The untrained model's loss is close to ln C, a uniform guess "
          "over C classes (ln 2 = 0.693 for two; 2.303 for digits' ten).",
          needs=lambda p: [], judge=lambda s, p, hist, args: judge_ln_c(p), key="loss_at_init",
          any_length=True),
    Claim("gradients_match_finite_differences", "(not in the log) Backprop's gradients agree with finite "
          "differences.", needs=lambda p: [], judge=lambda s, p, hist, args: judge_gradients(p),
          key="worst_relative_error", any_length=True),
)


# --- The study: Part 1 as the skeleton runs it ---------------------------------------------------
class Part1(study.Study):
    script = "part1_sanity"
    default_steps = 1  # nothing is trained
    trains = False
    claims = CLAIMS

    def title(self, args: Any) -> str:
        return f"Part 1: sanity before training ({len(args.seeds)} seeds; {args.varied} vary)"

    def context(self, args: Any, plans: dict[Seed, Sanity], hist: dict) -> dict[str, Any]:
        return {"majority_class_share": {str(s.seed): majority_share(p.data.y_train) for s, p in plans.items()},
                "gradcheck": [r.__dict__ for r in plans[args.seeds[0]].gradcheck]}

    def extra(self, context: dict[str, Any]) -> dict[str, Any]:
        return context

    def draw(self, args: Any, plans: dict[Seed, Sanity], outcomes: dict[Run, Outcome], verdicts: dict,
             context: dict[str, Any]) -> list[str]:
        first = args.seeds[0]
        data, share = plans[first].data, context["majority_class_share"][str(first.seed)]
        title = f"{args.dataset}, seed {first.data}: {N_EXAMPLES} examples, majority class {share:.0%}"
        if data.image_shape is not None:
            plots.image_examples(data.x_train, data.y_train, data.image_shape, title, args.out / "dataset.png")
        else:
            plots.dataset(data.x_train, data.y_train, title, args.out / "dataset.png")
        return ["dataset.png"]

    def print_runs(self, args: Any, plans: dict[Seed, Sanity], hist: dict, context: dict[str, Any]) -> None:
        print("  the majority class's share of the training set, per seed: "
              + ", ".join(f"{s}: {b:.0%}" for s, b in context["majority_class_share"].items()))
        print(f"  gradient check of seed {args.seeds[0].seed}:")
        print(gradcheck.format_table(plans[args.seeds[0]].gradcheck))


PART1 = Part1()


def plan(args: Any) -> dict[Seed, Sanity]:
    """Each seed's sanity checks, computed here: seconds per seed, in this process."""
    samples = 30 if args.quick else 1000
    return {seed: sanity(args, seed, samples) for seed in args.seeds}


def config(args: Any) -> dict[str, Any]:
    """The study's settings, as results.json records them."""
    return {"n_train": N_EXAMPLES, "model": model_for(args.dataset)}


def main(argv: list[str] | None = None) -> int:
    args = flags.read(PART1, argv)
    output.hold(args.out)  # first: the plan is the work (about 40 s of gradient checks); a bad folder is said at once
    return study.run(PART1, args, plan(args), config(args))


if __name__ == "__main__":
    preamble.run_main(main)
