"""The one skeleton every part fills in: train the planned runs, judge each claim on every
seed, write results.json, draw, print.

A part is a ``Study``: its claims, its figures and its printed lines. A claim is one
declaration, a ``Claim``: its id, the log's words, the runs it rests on, the judge that turns
one seed's histories into a Verdict, and the number its sentence across seeds quotes. Each
part's ``main`` reads its flags (experiments/harness/flags.py), plans its runs and its
settings, and hands them to ``run(study, args, plans, config)``, which does the rest the same
way for every part:

    hold --out -> train every run (experiments/harness/runner.py) -> the study's context
    (numbers beyond single runs) -> the doctor -> judge every claim on every seed
    (experiments/harness/verdicts.py) -> results.json -> the study's last measurements ->
    figures -> results.json again -> print

The numbers are written before any figure is drawn: a figure that fails loses no result.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from experiments.harness import output, report
from experiments.harness.flags import Flag
from experiments.harness.seeds import Seed
from experiments.harness.runner import Outcome, Run, run_many
from experiments.harness.verdicts import Judged, Verdict, across_seeds, not_judged_at_length, wilson_interval
from tinynet.cli import requested
from tinynet.training import History



class SeedRuns(Protocol):
    """One seed's runs, as a part plans them (its own NamedTuple of Runs)."""

    def runs(self) -> list[Run]: ...

Histories = dict[Run, History]


@dataclass(frozen=True)
class Claim:
    """One claim of the log (or one beyond it), declared once."""

    id: str
    log_says: str
    # The runs of one seed that the claim rests on; None for a run this study did not plan (a
    # Part 3 case not asked for): such a claim, like one whose runs were all cut short before
    # their first measurement, is not judged.
    needs: Callable[[SeedRuns], list[Run | None]]
    judge: Callable[[Seed, SeedRuns, Histories, argparse.Namespace], Verdict]  # one seed's verdict
    key: str | None = None  # the measured number that the sentence across seeds quotes per seed
    # Its own sentence across seeds, from the per-seed verdicts, the seeds cut short and the
    # study's context; by default, which seeds reproduced it and which did not.
    why: Callable[[dict[Seed, Verdict], list[Seed], dict[str, Any]], str] | None = None
    # The cause in one sentence, from the numbers of one seed (the first where it happened):
    # cause(seed, its verdict, the flags) -> sentence. Printed under the claim's k/n.
    cause: Callable[[Seed, Verdict, argparse.Namespace], str] | None = None
    # Whether its thresholds mean the same at any length of run (a divergence within the first
    # steps, a gradient check). False: they were set for the part's full length (a loss that
    # should have converged by then), and a shorter run leaves the claim not judged.
    any_length: bool = False


class Study:
    """What a part declares; run() runs it. Methods have defaults for a part that needs none."""

    script: str  # "part3_break": results go to runs/<script>/ by default
    default_steps: int
    quick_steps: int | None = None  # the steps of a --quick run (None: --steps)
    default_seeds: str = "0-4"
    trains: bool = True  # False: no --steps or --lr (Part 1 trains nothing)
    flags: Sequence[Flag] = ()  # the part's own flags, beside those every script takes
    claims: Sequence[Claim] = ()  # every claim the part can judge: those whose runs it planned are judged

    def terms(self, args: argparse.Namespace) -> str:
        """Words the printed claims use, defined before they are first printed."""
        return ""

    @property
    def description(self) -> str:
        """--help's text: the first paragraph of the part's module docstring."""
        return (sys.modules[type(self).__module__].__doc__ or "").split("\n\n")[0]

    def title(self, args: argparse.Namespace) -> str:
        raise NotImplementedError

    def boundary_for(self, args: argparse.Namespace, plans: dict[Seed, SeedRuns]) -> list[Run]:
        """The runs whose decision boundary is predicted over a grid, for a figure."""
        return []

    def context(self, args: argparse.Namespace, plans: dict[Seed, SeedRuns], hist: Histories) -> dict[str, Any]:
        """Numbers beyond single runs, computed after training and before judging."""
        return {}

    def doctor(self, args: argparse.Namespace, plans: dict[Seed, SeedRuns], outcomes: dict[Run, Outcome]
               ) -> dict[str, Any] | None:
        """What the part makes of the doctor's diagnoses (each run's is in results.json anyway):
        by default, where runs break something on purpose, the doctor's labelled benchmark."""
        return doctor_benchmark(args, plans, outcomes)

    def extra(self, context: dict[str, Any]) -> dict[str, Any]:
        """What results.json keeps beside the runs and the claims."""
        return {}

    def after_results(self, args: argparse.Namespace, plans: dict[Seed, SeedRuns], claims: list[dict[str, Any]],
                      context: dict[str, Any], interrupted: bool) -> bool:
        """Measurements taken once the training results are safe on disk; True if they added
        to the claims or the context, which are then written again."""
        return False

    def draw(self, args: argparse.Namespace, plans: dict[Seed, SeedRuns], outcomes: dict[Run, Outcome],
             verdicts: dict[str, Judged], context: dict[str, Any]) -> list[str]:
        """The figures, from the runs and the verdicts ({claim id: its verdict on every seed})."""
        return []

    def print_runs(self, args: argparse.Namespace, plans: dict[Seed, SeedRuns], hist: Histories,
                   context: dict[str, Any]) -> None:
        """A line per run, after the claims."""


def run(study: Study, args: argparse.Namespace, plans: dict[Seed, SeedRuns], config: dict[str, Any]) -> int:
    """Train the planned runs (``plans``: for each seed, the part's runs), judge, write, draw,
    print. ``config``: the part's settings, as results.json records them. Returns the exit code."""
    output.hold(args.out)  # create, check and lock the folder (unless main did): held until the process exits
    every = [r for plan in plans.values() for r in plan.runs()]
    outcomes, interrupted = run_many(every, backend=args.be.name, jobs=args.jobs,
                                     boundary_for=study.boundary_for(args, plans))
    outcomes = measured_runs(outcomes)
    hist = {r: o.history for r, o in outcomes.items()}
    context = study.context(args, plans, hist)
    context["doctor"] = study.doctor(args, plans, outcomes)
    interrupted = bool(context.pop("interrupted", False)) or interrupted  # a Ctrl-C in the context's own work
    verdicts, claims = judge(study.claims, args, plans, hist, context, full_steps=study.default_steps)
    asked = args.out
    trouble: dict[str, str] = {}  # what went wrong with --out: said once, in one line, at the end

    def write(figures: list[str]) -> Any:
        path, why = output.write_results(args.out, args, study.script, config, outcomes, claims,
                                         figures, interrupted, extra=study.extra(context))
        if why is not None:  # a fresh folder: what follows (figures, the next write) goes there too
            args.out, trouble["results"] = path.parent, why
        return path

    try:
        path = write([])
    except KeyboardInterrupt:  # the runs are finished: they are written, marked interrupted (a second Ctrl-C ends it)
        interrupted = True
        path = write([])
    if study.after_results(args, plans, claims, context, interrupted):
        path = write([])
    figures = draw(study, args, plans, outcomes, verdicts, context, trouble)
    if "figures" in trouble and "results" not in trouble:
        path = write([])  # the full disk may refuse the results now too: then they move, and so may the figures
        if "results" in trouble:
            figures = draw(study, args, plans, outcomes, verdicts, context, trouble)
    interrupted = interrupted or requested()  # a signal whose exception Matplotlib's callbacks swallowed
    path = write(figures)
    if trouble:
        print(output.trouble_line(asked, args.out, trouble, bool(figures)), file=sys.stderr)
    report.print_claims(study.title(args), claims, interrupted, terms=study.terms(args))
    study.print_runs(args, plans, hist, context)
    report.print_files(args.out, figures, path)
    return 130 if interrupted else 1 if trouble else 0


def draw(study: Study, args: argparse.Namespace, plans: dict[Seed, SeedRuns], outcomes: dict[Run, Outcome],
         verdicts: dict[str, Judged], context: dict[str, Any], trouble: dict[str, str]) -> list[str]:
    """The study's figures, or none where the folder refuses them (a full disk, a folder made
    read-only): the numbers are written already, and ``trouble`` records why."""
    try:
        figures = study.draw(args, plans, outcomes, verdicts, context)
        trouble.pop("figures", None)
        return figures
    except OSError as e:
        trouble["figures"] = str(e.strerror or e)
        return []


def judge(claims: Sequence[Claim], args: argparse.Namespace, plans: dict[Seed, SeedRuns], hist: Histories,
          context: dict[str, Any], full_steps: int | None = None) -> tuple[dict[str, Judged], list[dict[str, Any]]]:
    """Every claim whose runs were planned and measured on at least one seed, judged on each
    such seed, then across them (a seed whose runs were cut short is shown, not counted). A
    claim set for the full length (``full_steps``) is not judged on shorter runs: its numbers
    are kept, with no verdict. Returns the verdicts ({claim id: Judged}, what figures draw
    from) and the claims as results.json keeps them."""
    verdicts, judged = {}, []
    short = full_steps is not None and args.steps is not None and args.steps < full_steps  # steps None: trains nothing
    for c in claims:
        seeds, cut = seeds_with(args, hist, lambda s: c.needs(plans[s]))
        if not seeds:
            continue
        per_seed = {s: c.judge(s, plans[s], hist, args) for s in seeds}
        if short and not c.any_length:
            judged.append(not_judged_at_length(c.id, c.log_says, per_seed, args.steps, full_steps, cut))
            continue
        verdicts[c.id] = j = Judged(per_seed, tuple(cut))
        why = c.why(j.per_seed, cut, context) if c.why else None
        shown = j.shown()
        cause = c.cause(shown, j.per_seed[shown], args) if c.cause else j.per_seed[shown].cause or None
        judged.append(across_seeds(c.id, c.log_says, j.per_seed, cut, key=c.key, why=why, cause=cause))
    return verdicts, judged


def measured_runs(outcomes: dict[Run, Outcome]) -> dict[Run, Outcome]:
    """The runs with at least one measurement. Ctrl-C can stop a run before its first; such a
    run has nothing to judge, plot or print, and is left out (the results say interrupted)."""
    return {r: o for r, o in outcomes.items() if o.history.eval_steps}


def seeds_with(args: argparse.Namespace, hist: Histories, needs: Callable[[Seed], list[Run | None]]
               ) -> tuple[list[Seed], list[Seed]]:
    """(seeds whose runs ``needs(seed)`` all have measurements, those of them cut short)."""
    have = [s for s in args.seeds if all(r in hist for r in needs(s))]
    return have, [s for s in have if any(hist[r].interrupted for r in needs(s))]


def doctor_benchmark(args: argparse.Namespace, plans: dict[Seed, SeedRuns], outcomes: dict[Run, Outcome]
                     ) -> dict[str, Any] | None:
    """The doctor's labelled benchmark, where runs carry what they break (a Part 3 case): for
    each case, on how many seeds tinynet.diagnose named the case's own cause (``case.doctor``);
    for the runs that break nothing, on how many it named anything (a false alarm). A run cut
    short by Ctrl-C is not counted. None where no run breaks anything."""
    by_case: dict[Any, list[tuple[Seed, Run]]] = {}
    healthy: list[tuple[Seed, Run]] = []
    for seed in args.seeds:
        for r in plans[seed].runs():
            if r.case is None:
                healthy.append((seed, r))
            else:
                by_case.setdefault(r.case, []).append((seed, r))
    if not by_case:
        return None

    def tally(runs: list[tuple[Seed, Run]], hit: Callable[[str], bool]) -> dict[str, Any]:
        seen = [(s, outcomes[r].doctor) for s, r in runs if r in outcomes and not outcomes[r].history.interrupted]
        k = sum(hit(d["cause"]) for _, d in seen)
        return {"k": k, "n": len(seen), "interval": list(wilson_interval(k, len(seen))),
                "per_seed": [{"seed": s.seed, "cause": d["cause"], "findings": [f["id"] for f in d["findings"]]}
                             for s, d in seen]}

    cases = {case.name: {"expected": case.doctor, **tally(runs, lambda cause, e=case.doctor: cause == e)}
             for case, runs in by_case.items()}
    return {"cases": cases, "false_alarms": tally(healthy, lambda cause: cause != "healthy")}
