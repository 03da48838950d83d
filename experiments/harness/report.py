"""What an experiment prints: each claim with k/n and its sentence, and where the files went."""
from __future__ import annotations

import pathlib
import textwrap
from typing import Any

from experiments.harness.verdicts import fmt, k_of_n


def print_claims(title: str, claims: list[dict[str, Any]], interrupted: bool = False, terms: str = "") -> None:
    """Per claim: k/n with its interval, the verdict, the cause on a seed where it happened
    (where the claim declares one), and the sentence across seeds. ``terms`` first."""
    print(f"\n{title}" + ("  [INTERRUPTED: partial results]" if interrupted else ""))
    if terms:
        print(textwrap.fill(terms, width=WIDTH, initial_indent="  ", subsequent_indent="  "))
    if not claims:
        print("  no claim could be judged: stopped before the runs it rests on finished")
        return
    for c in claims:
        counted = f"  {k_of_n(c['reproduced_in'], c['seeds'])}" if c["seeds"] else ""
        print(f"  {c['id']}{counted}  {c['verdict']}")
        said = "predicted" if c["log_says"].startswith("(predicted)") else "the log says"
        wrapped(f"{said}: {c['log_says'].removeprefix('(predicted) ')}")
        if c.get("cause"):
            wrapped(f"why: {c['cause']}")
        wrapped(c["explanation"])


def wrapped(text: str) -> None:
    """A claim's sentence, wrapped to the width of a terminal, under its claim."""
    print(textwrap.fill(text, width=WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 8))


WIDTH = 110


def interrupted_at(h: Any) -> str:
    """For a run's printed line: ", interrupted at step K" where a Ctrl-C stopped the run (its
    numbers are from that step, not from the end), else nothing."""
    return f", interrupted at step {h.steps_taken}" if h.interrupted else ""


def print_doctor(bench: dict[str, Any]) -> None:
    """The doctor's labelled benchmark (study.doctor_benchmark): per case, on how many seeds it
    named the case's cause, and what it named on the others; its false alarms on healthy runs."""
    print("\n  The doctor (tn.diagnose) on every run: did it name the case's cause?")
    width = max(len(name) for name in bench["cases"]) if bench["cases"] else 0
    for name, row in bench["cases"].items():
        missed = [f"seed {e['seed']}: {e['cause']}" for e in row["per_seed"] if e["cause"] != row["expected"]]
        print(f"  {name:<{width}}  {row['expected']:<20} {k_of_n(row['k'], row['n'])}"
              + (f"  (otherwise {'; '.join(missed)})" if missed else ""))
    alarms = bench["false_alarms"]
    named = [f"seed {e['seed']}: {e['cause']}" for e in alarms["per_seed"] if e["cause"] != "healthy"]
    print(f"  {'healthy':<{width}}  false alarms         {k_of_n(alarms['k'], alarms['n'])}"
          + (f"  ({'; '.join(named)})" if named else ""))


def print_files(out: pathlib.Path, figures: list[str], results: pathlib.Path) -> None:
    if figures:
        print("figures: " + ", ".join(str(out / f) for f in figures))
    print(f"results: {results}")


def summary(measured: dict[str, Any]) -> str:
    """The measured numbers on one line."""
    return ", ".join(f"{k}={fmt(v)}" for k, v in measured.items())
