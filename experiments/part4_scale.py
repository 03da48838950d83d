"""Part 4: scale from 100 to 1,000 examples, and diagnose what the log saw.

The log's model [2, 500, 500, 2], full-batch at lr 0.01 for 20,000 steps, on 1,000 training
examples with 250 held out for validation; an lr sweep; time per step at N = 100, 1,000
and 10,000; then a diagnosis: runs that each change one thing from the main run (the label
structures and class balances that the log's "about 64%, close to the baseline" implies,
and mini-batches), to the same budget, each checked against the log's picture.

    python experiments/part4_scale.py                # one seed, about 20 minutes on 2 cores
    python experiments/part4_scale.py --seeds 0-2    # three seeds, three times as long
    python experiments/part4_scale.py --quick        # seconds

On --dataset digits: all 1,437 training digits that leave a quarter as many for validation,
time per step at N = 100, 1,000 and all 1,797, and the one-change runs that mean something
with ten classes whose labels are learnable (see ``changes``).
"""
from __future__ import annotations

import pathlib
import statistics
import sys
import time
from typing import Any, NamedTuple

sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))  # the repository root, for `experiments`
from experiments.harness import preamble  # noqa: E402 (first: from here on, Ctrl-C ends the script with one line)
import numpy as np  # noqa: E402
from experiments.harness import flags, study  # noqa: E402
from experiments.harness import verdicts as v  # noqa: E402
from experiments.part4.figures import diagnosis as diagnosis_figure  # noqa: E402
from experiments.harness.flags import Seed  # noqa: E402
from experiments.harness.report import interrupted_at  # noqa: E402
from experiments.harness.runner import Outcome, Run, model_for  # noqa: E402
from experiments.harness.study import Claim  # noqa: E402
from experiments.harness.verdicts import Verdict, across_seeds  # noqa: E402
from tinynet import SGD, SoftmaxCrossEntropy, create_model, plots, train_step  # noqa: E402
from tinynet.data import make_dataset, most_examples  # noqa: E402
from tinynet.training import History  # noqa: E402

N = 1000
VAL_FRACTION = 0.25
SWEEP = (0.001, 0.01, 0.1)  # lrs; the main run's lr is added if it is not among them
TIMING_NS = (100, 1000, 10000)
DIGITS = 1797  # make_dataset("digits") has no more
MINI_BATCH = 32
LOG_VAL_ACCURACY = 0.64  # "approximately 64%": within NEAR_BASELINE of it, as "close" is
MAJORITY = 1 - LOG_VAL_ACCURACY  # the share of class 1 that puts the majority class at 64%


def examples(dataset: str) -> int:
    """The training set: the log's 1,000, or, of the 1,797 digits, all that leave a quarter as
    many for validation (1,437 + 359)."""
    return most_examples(DIGITS, VAL_FRACTION) if dataset == "digits" else N


def timing_ns(dataset: str) -> tuple[int, ...]:
    """The batch sizes timed: up to 10,000 drawn examples, or all 1,797 digits."""
    return (100, 1000, DIGITS) if dataset == "digits" else TIMING_NS


class Change(NamedTuple):
    """One change from the main run, for the diagnosis."""

    role: str  # names the change; part of the run's identity
    why: str  # what the log's numbers say that makes it worth testing
    settings: dict[str, Any]


def changes(dataset: str) -> tuple[Change, ...]:
    """The one-change runs. A validation accuracy of about 64% "close to the baseline" says the
    majority class held about 64% of the data, and that the model learned little or nothing of
    a pattern: labels with no pattern, at 50:50 and at 64:36; the pattern kept, at 64:36; the
    pattern diluted by label noise until 64% is the best any model can do; and mini-batches.

    Digits have ten classes in near-equal shares: no 64:36 balance to set, and the 2-D coin-flip
    data would be another data set, not a change. Their changes: no pattern (each label
    flipped with probability 9/10 to one of the other nine: every label then equally likely,
    whatever the image), the pattern diluted until 64% is the best possible accuracy (36%
    flipped), and mini-batches."""
    if dataset == "digits":
        return (
            Change("digits, labels without pattern", "no pattern in the labels: flipped with probability 9/10, "
                   "each of the ten then as likely whatever the image", dict(flip=0.9)),
            Change(f"{dataset}, 36% of labels flipped", "the pattern diluted: 64% is the best possible accuracy",
                   dict(flip=MAJORITY)),
            Change(f"mini-batch {MINI_BATCH}", "the optimiser, not the data: stochastic gradients",
                   dict(batch_size=MINI_BATCH)),
        )
    return (
        Change("labels: coin flips, 50:50", "no pattern in the labels", dict(dataset="random")),
        Change("labels: coin flips, 64:36", "no pattern, and the majority class at the log's 64%",
               dict(dataset="random", ones=MAJORITY)),
        Change(f"{dataset}, classes 64:36", "the pattern kept, the classes at the log's 64:36 balance",
               dict(ones=MAJORITY)),
        Change(f"{dataset}, 36% of labels flipped", "the pattern diluted: 64% is the best possible accuracy",
               dict(flip=MAJORITY)),
        Change(f"mini-batch {MINI_BATCH}", "the optimiser, not the data: stochastic gradients",
               dict(batch_size=MINI_BATCH)),
    )


class ScaleRuns(NamedTuple):
    """The runs of one seed: the lr sweep (the main run among them) and the diagnosis."""

    sweep: dict[float, Run]
    main: Run
    diagnosis: dict[str, Run]  # by change role

    def runs(self) -> list[Run]:
        return [*self.sweep.values(), *self.diagnosis.values()]


# --- The claims, one seed at a time -----------------------------------------------------------
def judge_convergence(h: History, lr: float, n: int) -> Verdict:
    return Verdict({"final_train_loss": h.loss[-1], "final_train_accuracy": h.train_acc[-1], "steps": h.steps_taken,
                    "converged_means_loss_at_most": v.CONVERGED_LOSS},
                   not v.converged(h.loss[-1]),
                   f"After {h.steps_taken} full-batch steps at lr {lr:g} on {n:,} examples the training loss is "
                   f"{h.loss[-1]:.4g} (train accuracy {h.train_acc[-1]:.0%}); converged means <= "
                   f"{v.CONVERGED_LOSS:g}.")


def judge_val_accuracy(h: History, baseline: float) -> Verdict:
    val = h.val_acc[-1]
    return Verdict({"final_val_accuracy": val, "majority_baseline": baseline, "difference": val - baseline,
                    "near_means_within": v.NEAR_BASELINE},
                   v.near_baseline(val, baseline),
                   f"Validation accuracy {val:.1%} against a majority-class baseline of {baseline:.1%}.")


def judge_lr_sweep(sweep: dict[float, History]) -> Verdict:
    finals = {f"lr {lr:g}": h.loss[-1] for lr, h in sweep.items()}
    helped = [k for k, loss in finals.items() if v.converged(loss)]
    return Verdict({"final_train_loss": finals, "converged": helped}, not helped,
                   "Final training loss per lr: " + ", ".join(f"{k}: {x:.4g}" for k, x in finals.items())
                   + (f"; converged: {', '.join(helped)}." if helped else "; none converged."))


CLAIMS = (
    Claim("fails_to_converge_1000", "The model failed to converge on the larger dataset.",
          needs=lambda p: [p.main], judge=lambda s, p, hist, args: judge_convergence(hist[p.main], args.lr, p.main.n),
          key="final_train_loss"),
    Claim("val_acc_near_baseline", "The validation accuracy was approximately 64%, which is close to the dataset's "
          "baseline and indicates the model is not learning the underlying pattern.",
          needs=lambda p: [p.main],
          judge=lambda s, p, hist, args: judge_val_accuracy(hist[p.main], p.main.data().majority_baseline),
          key="final_val_accuracy"),
    Claim("lr_does_not_help", "Adjusting the learning rate did not resolve the convergence issue.",
          needs=lambda p: list(p.sweep.values()),
          judge=lambda s, p, hist, args: judge_lr_sweep({lr: hist[r] for lr, r in p.sweep.items()})),
)
TIMING = ("time_per_step_grows", "The training time per step increased significantly due to the larger number of "
          "examples being processed in a single batch.")


def time_per_step(args, steps: int) -> dict[str, float]:
    """Median seconds per full-batch step (forward, loss, backward, update), in ms, per N."""
    be = args.be
    seed = args.seeds[0]
    result = {}
    for n in timing_ns(args.dataset):
        data = make_dataset(args.dataset, n, seed=seed.data, val_fraction=0.0)
        model = create_model(list(model_for(args.dataset)), seed=seed.weights, backend=be)
        x, y = be.asarray(data.x_train, dtype="float32"), be.asarray(data.y_train)
        loss_fn, opt = SoftmaxCrossEntropy(), SGD(model, lr=args.lr)
        times = []
        for i in range(steps + 2):
            start = time.perf_counter()
            loss = train_step(model, loss_fn, opt, x, y)
            float(loss)  # a copy to the host: on a GPU, the step has really finished
            if i >= 2:  # the first two warm up allocations and BLAS threads
                times.append(time.perf_counter() - start)
        result[str(n)] = 1e3 * statistics.median(times)
    return result


def judge_timing(ms: dict[str, float]) -> Verdict:
    ns = [int(n) for n in ms]
    slope = float(np.polyfit(np.log(ns), np.log(list(ms.values())), 1)[0])
    grows = v.time_grows(ms["100"], ms["1000"])
    largest = max(ns)
    return Verdict({"ms_per_step": ms, "ratio_1000_over_100": ms["1000"] / ms["100"],
                    "loglog_slope": slope, "significant_means_ratio_at_least": v.TIME_GROWTH},
                   grows, f"{ms['100']:.2f} ms at N = 100, {ms['1000']:.2f} ms at 1,000, {ms[str(largest)]:.1f} ms "
                   f"at {largest:,}: time grows as N^{slope:.2f}. " + (TIME_GROWS if grows else TIME_FLAT))


# Why the time per step grows with N, or does not: chosen by the measured verdict.
TIME_GROWS = ("A full-batch step's work is three (N x 500) by (500 x 500) matrix products, linear in N; below a "
              "few hundred examples fixed costs (the 500 x 500 weight update, per-call overhead) hide part of that.")
TIME_FLAT = ("The arithmetic is linear in N, but here it is not what a step waits for: fixed costs per call "
             "(on a GPU, the launch of each of the step's ~50 kernels) take longer than the products at these "
             "sizes, so the time stays nearly flat.")


# --- The diagnosis ------------------------------------------------------------------------------
def picture(h, baseline: float) -> dict[str, Any]:
    """One run against the log's picture, by thresholds fixed before the run: no convergence,
    and a validation accuracy close to the baseline and about 64% (both within NEAR_BASELINE)."""
    val = h.val_acc[-1]
    converged = h.reached_at is not None or v.converged(h.loss[-1])
    row = {"final_train_loss": h.loss[-1], "final_train_accuracy": h.train_acc[-1], "final_val_accuracy": val,
           "majority_baseline": baseline, "converged": converged, "stopped_at_step": h.reached_at,
           "val_near_baseline": v.near_baseline(val, baseline),
           "val_about_64": abs(val - LOG_VAL_ACCURACY) <= v.NEAR_BASELINE}
    row["like_the_log"] = not converged and row["val_near_baseline"] and row["val_about_64"]
    return row


def diagnose(args: Any, plans: dict[Seed, ScaleRuns], hist: dict, baseline: dict) -> dict[str, Any]:
    """Each one-change run (and the main run) against the log's picture, on every seed; which
    changes reproduce it, in k of n seeds. Runs cut short are left out."""
    rows: dict[str, dict[str, Any]] = {}
    for seed, p in plans.items():
        for role, run in [("main run", p.main), *p.diagnosis.items()]:
            if run in hist and not hist[run].interrupted:
                rows.setdefault(role, {})[str(seed.seed)] = picture(hist[run], baseline[run])
    if "main run" not in rows:
        return {}
    summary = {role: {"like_the_log_in": sum(r["like_the_log"] for r in by_seed.values()), "seeds": len(by_seed)}
               for role, by_seed in rows.items()}
    return {"picture": f"no convergence (training loss above {v.CONVERGED_LOSS:g} at the end, never reached "
                       f"before), validation accuracy within {v.NEAR_BASELINE * 100:g} points of the majority "
                       f"baseline and of {LOG_VAL_ACCURACY:.0%}",
            "runs": rows, "summary": summary, "conclusion": conclusion(rows, summary)}


def conclusion(rows: dict[str, dict[str, dict]], summary: dict[str, dict]) -> str:
    def numbers(role: str) -> str:
        parts = []
        for seed, r in rows[role].items():
            trained = (f"converged (stopped at step {r['stopped_at_step']})" if r["stopped_at_step"] is not None
                       else f"train loss {r['final_train_loss']:.3g}")
            parts.append(f"{trained}, val accuracy {r['final_val_accuracy']:.1%} "
                         f"against a {r['majority_baseline']:.1%} "
                         f"baseline" + (f" (seed {seed})" if len(rows[role]) > 1 else ""))
        return "; ".join(parts)

    n = max(s["seeds"] for s in summary.values())
    text = [f"{role}: {numbers(role)}: the log's picture in {s['like_the_log_in']} of {s['seeds']}."
            for role, s in summary.items()]
    every = [role for role, s in summary.items() if s["like_the_log_in"] == s["seeds"]]
    some = [role for role, s in summary.items() if 0 < s["like_the_log_in"] < s["seeds"]]
    if every or some:
        found = "; ".join([*(f"{r} (every seed)" for r in every), *(f"{r} (some seeds)" for r in some)])
        text.append(f"The log's picture is reproduced by: {found}.")
    else:
        text.append("None of the changes tried reproduces the log's picture.")
    text.append(f"These conclusions rest on {n} seed{'s' * (n > 1)}.")
    return " ".join(text)


# --- The study: Part 4 as the skeleton runs it ---------------------------------------------------
class Part4(study.Study):
    script = "part4_scale"
    default_steps = 20000
    quick_steps = 30
    default_seeds = "0"
    claims = CLAIMS

    def title(self, args: Any) -> str:
        seeds = f"{len(args.seeds)} seed{'s' * (len(args.seeds) > 1)}"
        return f"Part 4: scaling to {examples(args.dataset):,} examples ({seeds}; {args.varied} vary)"

    def context(self, args: Any, plans: dict[Seed, ScaleRuns], hist: dict[Run, History]) -> dict[str, Any]:
        """Each run's majority baseline, and the diagnosis once the lr sweep finished on a seed."""
        baseline = {r: r.data().majority_baseline for p in plans.values() for r in p.runs()}
        seeds, _ = study.seeds_with(args, hist, lambda s: list(plans[s].sweep.values()))
        return {"baseline": baseline, "timing": {},
                "diagnosis": diagnose(args, plans, hist, baseline) if seeds else {}}

    def doctor(self, args: Any, plans: dict[Seed, ScaleRuns], outcomes: dict[Run, Outcome]) -> dict[Run, str]:
        """The doctor's cause for each run (its findings are in each run's record)."""
        return {r: o.doctor["cause"] for r, o in outcomes.items()}

    def extra(self, context: dict[str, Any]) -> dict[str, Any]:
        timing = {"time_per_step_ms": context["timing"]} if context["timing"] else {}
        return {"diagnosis": context["diagnosis"], **timing}

    def after_results(self, args: Any, plans: dict[Seed, ScaleRuns], claims: list[dict], context: dict[str, Any],
                      interrupted: bool) -> bool:
        """The time per step, measured once the training runs are saved: an interruption here
        (Ctrl-C, a full disk) keeps what took the minutes."""
        if interrupted:
            return False
        context["timing"] = time_per_step(args, steps=5 if args.quick else 20)
        claims.append(across_seeds(*TIMING, {args.seeds[0]: judge_timing(context["timing"])}))
        return True

    def draw(self, args: Any, plans: dict[Seed, ScaleRuns], outcomes: dict[Run, Outcome], verdicts: dict,
             context: dict[str, Any]) -> list[str]:
        hist = {r: o.history for r, o in outcomes.items()}
        return figures_for(args, plans[args.seeds[0]], hist, context["baseline"], context["timing"],
                           context["diagnosis"])

    def print_runs(self, args: Any, plans: dict[Seed, ScaleRuns], hist: dict[Run, History], context: dict) -> None:
        # By the study's seed, the number k/n counts: with --weight-seed fixed, every run has the same weight seed.
        for seed in args.seeds:
            for run in [r for r in plans[seed].runs() if r in hist]:
                h = hist[run]
                setting = f"lr {run.lr:g}" if run.role == "lr sweep" else run.role
                stop = f", stopped at step {h.reached_at} (converged)" if h.reached_at is not None else ""
                print(f"  seed {seed.seed}  {setting:<28} train loss {h.loss[0]:.4f} -> {h.loss[-1]:.4g}, train acc "
                      f"{h.train_acc[-1]:.0%}, val acc {h.val_acc[-1]:.0%} (baseline {context['baseline'][run]:.0%}), "
                      f"{h.seconds:.0f} s, doctor: {context['doctor'][run]}{stop}{interrupted_at(h)}")
        if context["diagnosis"]:
            print(f"  diagnosis: {context['diagnosis']['conclusion']}")


def figures_for(args: Any, first: ScaleRuns, hist: dict, baseline: dict, timing: dict, diagnosis: dict) -> list[str]:
    """The first seed's runs: accuracy of the main run, the lr sweep, the timing, the diagnosis."""
    figures = []
    seed = args.seeds[0].seed
    if first.main in hist:
        h = hist[first.main]
        plots.series({"train": (h.eval_steps, h.train_acc), "validation": (h.eval_steps, h.val_acc)},
                     f"Part 4: accuracy, {examples(args.dataset)} examples ({args.dataset}), lr {first.main.lr:g}, "
                     f"seed {seed}", "accuracy", args.out / "accuracy.png",
                     # low enough for digits' accuracies near 10% and their baseline near 8%
                     ylim=(min(0.3, min(h.train_acc + h.val_acc + [baseline[first.main]]) - 0.02), 1.02),
                     hline=baseline[first.main], hline_label="majority baseline")
        figures.append("accuracy.png")
    sweep = {f"lr {lr:g}": hist[r] for lr, r in first.sweep.items() if r in hist}
    if sweep:
        plots.loss_curves({k: h.loss for k, h in sweep.items()},
                          f"Part 4: training loss per learning rate ({examples(args.dataset)} examples, seed {seed})",
                          args.out / "lr_sweep.png", marks={k: h.diverged_at for k, h in sweep.items()})
        figures.append("lr_sweep.png")
    if timing:
        plots.scaling([int(n) for n in timing], list(timing.values()), "Part 4: time per full-batch step",
                      args.out / "time_per_step.png")
        figures.append("time_per_step.png")
    if diagnosis:
        rows = {role: by_seed[str(seed)] for role, by_seed in diagnosis["runs"].items() if str(seed) in by_seed}
        diagnosis_figure(rows, LOG_VAL_ACCURACY, f"Part 4 diagnosis: one change at a time, seed {seed}",
                        args.out / "diagnosis.png")
        figures.append("diagnosis.png")
    return figures


PART4 = Part4()


def plan(args: Any) -> dict[Seed, ScaleRuns]:
    """For each seed: the lr sweep (the main run among them) and the one-change runs."""
    plans = {}
    for seed in args.seeds:
        same = dict(steps=args.steps, dataset=args.dataset, n=examples(args.dataset), val_fraction=VAL_FRACTION)
        sweep = {lr: seed.run("lr sweep", lr=lr, **same) for lr in sorted(set(SWEEP) | {args.lr})}
        diagnosis = {}
        for change in changes(args.dataset):
            settings = {**same, **change.settings}
            if "batch_size" not in settings:
                # A full-batch diagnosis run stops once its training loss reaches CONVERGED_LOSS:
                # from then on it cannot show the log's picture (no convergence). A mini-batch
                # run's loss is one batch's, too noisy to stop on; it runs its whole budget.
                settings["until_loss"] = v.CONVERGED_LOSS
            diagnosis[change.role] = seed.run(change.role, lr=args.lr, **settings)
        plans[seed] = ScaleRuns(sweep=sweep, main=sweep[args.lr], diagnosis=diagnosis)
    return plans


def config(args: Any) -> dict[str, Any]:
    """The study's settings, as results.json records them."""
    n = examples(args.dataset)
    return {"n_train": n, "n_val": round(n * VAL_FRACTION), "model": model_for(args.dataset), "lr": args.lr,
            "lr_sweep": sorted(set(SWEEP) | {args.lr}), "log_val_accuracy": LOG_VAL_ACCURACY,
            "diagnosis": {c.role: {"changes": c.settings, "why": c.why} for c in changes(args.dataset)}}


def main(argv: list[str] | None = None) -> int:
    args = flags.read(PART4, argv)
    return study.run(PART4, args, plan(args), config(args))


if __name__ == "__main__":
    preamble.run_main(main)
