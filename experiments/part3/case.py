"""What a Part 3 case is: one failure of training, declared once (``Case``), judged on one
seed's pair of runs (``Trial``). The catalogue of cases is experiments/part3/cases.py.

What is broken, and how it is applied, is the case's ``breakage``, declared in
tinynet/breakages.py, where the lab page takes it too; what Part 3 makes of it (the claim, its
judge, its measure, its figures) is declared here. A case travels as itself: part3_break.py
plans a ``Run`` that carries it, the runner applies its breakage and measure in the worker
(experiments/harness/runner.py ``broken``), and the study judges it as a claim (``as_claim``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from experiments.harness.runner import Run
from experiments.harness.seeds import Seed
from experiments.harness.study import Claim
from experiments.harness.verdicts import Verdict
from tinynet.breakages import Breakage
from tinynet.data import shape_of
from tinynet.doctor import CAUSES
from tinynet.training import History

Lines = dict[str, tuple[list[int], list[float]]]
Level = tuple[float, str] | None
Measured = dict[str, Any]


class Trial(NamedTuple):
    """One seed's evidence for a case: its run and the healthy run, same seeds and steps."""

    broken: History
    healthy: History
    lr: float  # the broken run's learning rate
    healthy_lr: float
    classes: int = 2  # C of the data: the loss floors that depend on it (ln C, ln(1 + (C - 1)/e))


@dataclass(frozen=True, eq=False, kw_only=True)
class Case:
    """One failure of training, declared once, by keyword. Two cases are the same only if they
    are the same declaration (eq=False: compared, and hashed inside a Run, by identity).

    What a case alone needs (words to define, a line per run, a decision boundary, numbers
    beyond its runs, figures of its own) is declared here too, so that part3_break.py, the
    figures and run_all.py treat every case alike and name none."""

    breakage: Breakage  # what is broken and how it is applied, as a user would: tinynet.breakages
    role: str  # the run's name in labels and figures
    claim: str  # the id of its claim
    says: str  # the log's words, or "(predicted) ...": the symptom, written before any run
    observe: Callable[[Trial], tuple[Measured, bool]]  # one seed's trial -> (the measured numbers, whether it happened)
    cause: Callable[[Trial, Measured, bool], str]  # one seed's cause in a sentence, from its numbers
    measure: Callable | None = None  # train()'s hook: the case's own numbers at every measurement of its run
    in_log: bool = False  # one of the log's two failures (--cases log)
    any_length: bool = False  # its thresholds mean the same on a short run (see Claim.any_length)
    key: str | None = None  # the measured number that the sentence across seeds quotes
    # The mechanism over the steps, for its figure case_<name>.png: (its run, healthy) -> (y label,
    # lines, a level to mark as (value, label) or None, log y).
    plot: Callable[[Trial], tuple[str, Lines, Level, bool]] | None = field(repr=False, default=None)
    # One seed's story (measured, happened, seed number); by default "Seed s: " and the cause.
    explain: Callable[[Measured, bool, int], str] | None = field(repr=False, default=None)
    # The sentence across seeds (per-seed verdicts, seeds cut short, the study's context); by
    # default, which seeds it happened on and which not.
    why: Callable[[dict, list, dict], str] | None = field(repr=False, default=None)
    reading: str = ""  # how its claim reads the log's words, where they need reading
    terms: str = ""  # words its printed lines use, defined before the claims are printed
    line: Callable[[History], str] | None = field(repr=False, default=None)  # its run's printed line, after the loss
    boundary: bool = False  # its run's decision boundary (and the healthy run's) predicted for its figures
    # Numbers beyond its runs, computed after training when some seed's runs finished:
    # context(args) -> {name: value}, kept in results.json by name ("interrupted": a Ctrl-C cut it short).
    context: Callable[[Any], dict[str, Any]] | None = field(repr=False, default=None)
    # Its figures beyond case_<name>.png: figures(args, plans, outcomes, its Judged, the study's
    # context) -> the files written.
    figures: Callable[..., list[str]] | None = field(repr=False, default=None)

    def __post_init__(self) -> None:
        if self.breakage.doctor not in CAUSES:  # a misspelt cause would score 0 of n, silently
            raise ValueError(f"case {self.name}: doctor={self.doctor!r} is not one of tinynet.doctor.CAUSES "
                             f"({', '.join(CAUSES)})")

    # What the breakage declares, read as the case's own: --cases, results.json and the doctor
    # benchmark name a case by its breakage's name and expect its breakage's cause.
    @property
    def name(self) -> str:
        return self.breakage.name

    @property
    def broken(self) -> str:
        return self.breakage.broken

    @property
    def doctor(self) -> str:
        return self.breakage.doctor

    @property
    def settings(self) -> dict[str, Any]:
        """The fields of its Run that differ from the healthy run's (lr, sizes, val_fraction)."""
        return self.breakage.settings

    def verdict(self, trial: Trial, seed: int) -> Verdict:
        measured, happened = self.observe(trial)
        cause = self.cause(trial, measured, happened)
        story = self.explain(measured, happened, seed) if self.explain else f"Seed {seed}: {cause}"
        return Verdict(measured, happened, story, cause)

    def as_claim(self) -> Claim:
        """The case as a claim of the study, judged on each seed from its run and the healthy
        one (``runs``: the seed's planned runs, with .healthy and .cases by name; a case not
        asked for has no run, and its claim is not judged)."""
        def judge(seed: Seed, runs: Any, hist: dict[Run, History], args: Any) -> Verdict:
            run = runs.cases[self.name]
            classes = shape_of(run.dataset)[1]
            return self.verdict(Trial(hist[run], hist[runs.healthy], run.lr, runs.healthy.lr, classes), seed.seed)

        return Claim(self.claim, self.says, needs=lambda runs: [runs.healthy, runs.cases.get(self.name)], judge=judge,
                     key=self.key, why=self.why, any_length=self.any_length)


def first_layer_norm(h: History) -> float:
    """The first Linear layer's gradient norm at the first measurement."""
    return next(iter(h.grad_norm.values()))[0]


def loss_at_measurements(h: History) -> tuple[list[int], list[float]]:
    return h.eval_steps, [h.loss[s] for s in h.eval_steps]


def first_layer_norms(h: History) -> tuple[list[int], list[float]]:
    return h.eval_steps, next(iter(h.grad_norm.values()))


def first_layer_norms_against_healthy(h: History, g: History, role: str) -> tuple[str, Lines, Level, bool]:
    """A case's figure of the first layer's gradient norm, its run (``role``) against the healthy one, log y."""
    return "first layer's gradient norm", {"healthy": first_layer_norms(g), role: first_layer_norms(h)}, None, True
