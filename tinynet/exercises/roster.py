"""A folder of submissions graded into one table and one CSV, without Gradescope:

    python -m tinynet.exercises grade submissions/ --csv grades.csv [--from course/] [--only ...]

``submissions/`` holds one folder per learner (its name is the learner's); each is graded as
``check`` grades one (handin.py finds the files as learners hand them in; grader.py runs each
exercise in a child process with the time limit), exercises side by side. The table has a row
per learner and a column per exercise; the CSV the same, with each exercise's score, the
total and the maximum, ready for a spreadsheet.
"""
from __future__ import annotations

import csv
import io
import pathlib
from typing import Any, Callable

from .grader import Grade

MARK = {"passed": "pass", "failed": "FAIL", "not attempted": "-"}


def learners(submissions: pathlib.Path) -> list[pathlib.Path]:
    """The learners' folders, by name; refuses a folder that holds none."""
    if not submissions.is_dir():
        raise ValueError(f"{submissions} is not a folder; give the folder that holds one folder per learner")
    found = sorted((p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith(".")),
                   key=lambda p: p.name)
    if not found:
        raise ValueError(f"{submissions} holds no learner's folder; put each learner's files in a folder named for "
                         f"them (submissions/ada/layers.py, submissions/grace/layers.py, ...)")
    return found


def grade_submissions(check_handin: Callable, submissions: pathlib.Path, course: pathlib.Path | None = None,
                      only: str | None = None, timeout: float = 60.0,
                      jobs: int = 2) -> list[tuple[str, list[Grade], list[str]]]:
    """(learner, grades, notes) for every learner's folder, each checked by ``check_handin``
    (tinynet.exercises.check_handin: as ``check`` checks one)."""
    graded = []
    for folder in learners(submissions):
        try:
            grades, notes = check_handin(folder, course, timeout, jobs, only=only)
        except ValueError as e:  # one learner's folder that cannot be graded must not stop the others
            grades, notes = [], [f"not graded: {e}"]
        graded.append((folder.name, grades, notes))
    return graded


def columns(graded: list[tuple[str, list[Grade], list[str]]]) -> list[tuple[str, float]]:
    """(exercise, points) in the order graded, from the first learner graded whole."""
    for _, grades, _ in graded:
        if grades:
            return [(g.exercise, g.points) for g in grades]
    return []


def format_roster(graded: list[tuple[str, list[Grade], list[str]]]) -> str:
    """A row per learner, a column per exercise (pass, FAIL, - for not attempted), the score."""
    exercises = columns(graded)
    width = max([len("learner")] + [len(name) for name, _, _ in graded])
    heads = [name for name, _ in exercises]
    cells = [max(len(h), 4) for h in heads]
    total = sum(points for _, points in exercises)
    lines = ["  ".join([f"{'learner':<{width}}", *(f"{h:<{w}}" for h, w in zip(heads, cells)), "score"])]
    lines.append("-" * len(lines[0]))
    notes = []
    for name, grades, said in graded:
        by = {g.exercise: g for g in grades}
        marks = [MARK.get(by[h].status, "?") if h in by else "n/a" for h in heads]
        score = sum(g.score for g in grades)
        lines.append("  ".join([f"{name:<{width}}", *(f"{m:<{w}}" for m, w in zip(marks, cells)),
                                f"{score:g} / {total:g}"]))
        notes += [f"{name}: {note}" for note in said]
    return "\n".join(lines + ([""] + notes if notes else []))


def roster_csv(graded: list[tuple[str, list[Grade], list[str]]]) -> str:
    """learner, each exercise's score, total, max_score, notes: one row per learner."""
    exercises = columns(graded)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["learner", *(name for name, _ in exercises), "total", "max_score", "notes"])
    maximum = sum(points for _, points in exercises)
    for name, grades, notes in graded:
        by: dict[str, Any] = {g.exercise: g.score for g in grades}
        writer.writerow([name, *(f"{by[e]:g}" if e in by else "" for e, _ in exercises),
                         f"{sum(g.score for g in grades):g}", f"{maximum:g}", " | ".join(notes)])
    return out.getvalue()
