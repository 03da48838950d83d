"""Part 3: break training on purpose, and see when and why it breaks.

For each seed, the log's model [2, 500, 500, 2] on the same 100 examples, full-batch, healthy
(lr 0.01, logits straight from the last Linear) and broken, one way per case:

  the log's two (--cases log, the default):
    lr10                 a learning rate of 10
    relu_last            a ReLU after the last Linear
  beyond the log (--cases all, or by name):
    constant_init        every weight the same constant: symmetry
    lr_too_small         lr 1e-5
    unnormalised_inputs  inputs scaled by 1,000
    softmax_twice        probabilities fed to the cross-entropy's own softmax
    labels_shuffled      the training labels shuffled: memorised, not learned
    sum_not_mean         the loss summed where the mean belongs: gradients N times too large
    sigmoid_deep         Sigmoid in place of ReLU in a deeper net: vanishing gradients

Each case is declared once, in experiments/part3/cases.py. Its claim is judged on every seed,
with the mechanism measured on each (for the ReLU-last case: which output units are dead and
how many examples are stranded). Then, beyond the log, forward passes alone over many
initialisations: how often a model starts with examples stranded or an output unit dead,
against how often the trained seeds stalled.

    python experiments/part3_break.py                  # the log's two cases, 5 seeds: about a minute
    python experiments/part3_break.py --cases all      # every case, 5 seeds: a few minutes on 2 cores
    python experiments/part3_break.py --cases softmax_twice,sum_not_mean --seeds 0-9
    python experiments/part3_break.py --quick          # seconds
"""
from __future__ import annotations

import pathlib
import sys
from typing import Any, NamedTuple

sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))  # the repository root, for `experiments`
from experiments.harness import preamble  # noqa: E402 (first: from here on, Ctrl-C ends the script with one line)
from experiments.harness import flags, report, study  # noqa: E402
from experiments.harness.report import interrupted_at  # noqa: E402
from experiments.harness.runner import N_EXAMPLES, Outcome, Run, model_for  # noqa: E402
from tinynet.breakages import BREAKING_LR  # noqa: E402
from experiments.harness.seeds import Seed  # noqa: E402
from experiments.harness.verdicts import Judged  # noqa: E402
from experiments.part3 import figures  # noqa: E402
from experiments.part3.case import Case  # noqa: E402
from experiments.part3.cases import BY_NAME, CASES, LOG_CASES  # noqa: E402
from tinynet.training import History  # noqa: E402

ALL_CASES = tuple(BY_NAME)


class BreakRuns(NamedTuple):
    """The runs of one seed: the healthy run, and one run per case (by case name)."""

    healthy: Run
    cases: dict[str, Run]

    def runs(self) -> list[Run]:
        return [self.healthy, *self.cases.values()]


def asked(args: Any) -> list[Case]:
    """The cases --cases asked for, in the catalogue's order."""
    return [case for case in CASES if case.name in args.cases]


# --- The study: Part 3 as the skeleton runs it. Every case alike: what one needs is on its declaration.
class Part3(study.Study):
    script = "part3_break"
    default_steps = 5000
    quick_steps = 300
    claims = tuple(case.as_claim() for case in CASES)  # judged where --cases planned the case's runs
    flags = (flags.Flag("--cases", type=flags.names("case", ALL_CASES, {"log": LOG_CASES, "all": ALL_CASES}),
                        default=LOG_CASES,
                        help=f"log (the default: {', '.join(LOG_CASES)}), all, or names from: {', '.join(ALL_CASES)}"),)

    def title(self, args: Any) -> str:
        return f"Part 3: breaking it on purpose ({len(args.seeds)} seeds; {args.varied} vary)"

    def terms(self, args: Any) -> str:
        return " ".join(case.terms for case in asked(args) if case.terms)

    def boundary_for(self, args: Any, plans: dict[Seed, BreakRuns]) -> list[Run]:
        """Each run of a case that draws decision boundaries, and the healthy run beside it."""
        drawn = [case.name for case in asked(args) if case.boundary]
        return [r for p in plans.values() for r in ([p.healthy] if drawn else []) + [p.cases[n] for n in drawn]]

    def context(self, args: Any, plans: dict[Seed, BreakRuns], hist: dict[Run, History]) -> dict[str, Any]:
        """Each case's numbers beyond its runs, where some seed's runs of it finished."""
        found: dict[str, Any] = {}
        for case in asked(args):
            seeds, _ = study.seeds_with(args, hist, lambda s: [plans[s].healthy, plans[s].cases[case.name]])
            if case.context is not None and seeds:
                more = case.context(args)
                found["interrupted"] = found.get("interrupted", False) or more.pop("interrupted", False)
                found.update(more)
        return found

    def extra(self, context: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in context.items() if name != "interrupted"}

    def draw(self, args: Any, plans: dict[Seed, BreakRuns], outcomes: dict[Run, Outcome],
             verdicts: dict[str, Judged], context: dict[str, Any]) -> list[str]:
        return figures.draw(args, plans, outcomes, verdicts, context, asked(args))

    def print_runs(self, args: Any, plans: dict[Seed, BreakRuns], hist: dict[Run, History], context: dict) -> None:
        for seed in args.seeds:
            for r in plans[seed].runs():
                if r in hist:
                    print(f"  {r.label:<30} {ending(r, hist[r])}")
        report.print_doctor(context["doctor"])


PART3 = Part3()


def ending(run: Run, h: History) -> str:
    end = f"diverged at step {h.diverged_at}" if h.diverged_at is not None else f"final loss {h.loss[-1]:.4f}"
    line = f"loss {h.loss[0]:.4f} -> {end}{interrupted_at(h)}"
    return line + (run.case.line(h) if run.case is not None and run.case.line is not None else "")


def plan(args: Any) -> dict[Seed, BreakRuns]:
    """For each seed the healthy run, and each case's run: the healthy run's settings with the
    case's own over them, carrying the case."""
    healthy = dict(lr=args.lr, steps=args.steps, dataset=args.dataset, n=N_EXAMPLES)
    return {seed: BreakRuns(seed.run("healthy", **healthy),
                            {case.name: seed.run(case.role, case=case, **{**healthy, **case.settings})
                             for case in asked(args)})
            for seed in args.seeds}


def config(args: Any) -> dict[str, Any]:
    """The study's settings, as results.json records them."""
    return {"n_train": N_EXAMPLES, "model": model_for(args.dataset), "lr": args.lr, "breaking_lr": BREAKING_LR,
            "cases": list(args.cases), "runs_per_seed": ["healthy", *args.cases],
            "broken": {case.name: case.broken for case in CASES if case.name in args.cases and not case.in_log}}


def main(argv: list[str] | None = None) -> int:
    args = flags.read(PART3, argv)
    return study.run(PART3, args, plan(args), config(args))


if __name__ == "__main__":
    preamble.run_main(main)
