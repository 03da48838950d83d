"""Exercises: write the backward passes (and two optimizers) yourself, graded by the checker.

    python -m tinynet.exercises start my_backprop          # the exercise files, each method blanked
    python -m tinynet.exercises check my_backprop          # a table: passed / failed (why) / not attempted
    python -m tinynet.exercises check my_backprop --json   # the same, as Gradescope's results.json
    python -m tinynet.exercises start my_backprop --from course/   # with a course's own exercises
    python -m tinynet.exercises check my_backprop --from my_backprop   # a started course folder, checked whole
    python -m tinynet.exercises start week1 --only Linear,ReLU,Sigmoid  # an assignment: these alone
    python -m tinynet.exercises autograder gs_week1 --only Linear,ReLU,Sigmoid   # Gradescope's autograder
    python -m tinynet.exercises grade submissions/ --csv grades.csv   # a folder per learner: one table, one CSV

``start`` writes tinynet's own layers and loss with every backward blanked, the files of the
exercises beyond the engine (tinynet/exercises/skeletons/) and, with ``--from``, a course's
own (docs/teachers.md), each blanked method keeping its shapes and a one-line hint. ``check``
grades each exercise in a child process of its own with a time limit (grader.py): the layers
and losses against finite differences, the optimizers against a reference trajectory. The
exit status is 0 only when every exercise passes.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import json
import pathlib
import shutil
import sys
import time
from typing import Any

from ..checks import is_positive_int
from ..cli import Parser, positive_int
from ..files import write_text
from . import gradescope, roster
from .catalogue import ENGINE, Exercise, blank_source, declared, exercises, select
from .grader import Grade, grade, grade_all
from .handin import locate, staged

README = """# Backprop exercises

Each file here holds methods for you to write; the forward passes are complete. Each blanked
method states the shapes it takes and returns, and gives a one-line hint;
`docs/backprop.md` in the tinynet repository derives the engine's, if you get stuck.
`layers.py` and `losses.py`, where they are here, are working copies of tinynet's own with
their backward blanked. The files, and what to write in each:

{listing}

Grade your work at any time:

    python -m tinynet.exercises check {folder}{course}{only}

Each layer and loss is checked against finite differences in float64 (`tinynet.gradcheck`),
each optimizer against a reference trajectory: passed, failed (with the worst entry, both
values and their ratio: -1 is a flipped sign, N a missing 1/N), or not attempted (still raising
NotImplementedError). The command exits with status 0 once every exercise passes.
"""


def start(folder: pathlib.Path, course: pathlib.Path | None = None, only: str | None = None) -> list[pathlib.Path]:
    """Write the exercise files into ``folder`` (those of the exercises ``only`` names, or all);
    refuses to overwrite earlier work."""
    chosen = select(exercises(course), only)
    files: dict[str, str] = {}
    for name in ("layers.py", "losses.py"):
        if any(e.file == name for e in chosen):
            files[name] = _engine_file(ENGINE / name, [e for e in chosen if e.file == name])
    for e in chosen:
        if e.file not in files:
            files[e.file] = blank_source(pathlib.Path(e.source).read_text(), [e])
    course_flag = f" --from {course}" if course is not None else ""
    only_flag = f" --only {','.join(e.cls for e in chosen)}" if only is not None else ""
    written = {}  # file -> the exercises in it: the README names what was written, and only that
    for e in chosen:
        written.setdefault(e.file, []).append(e.name)
    listing = "\n".join(f"- `{file}`: {', '.join(names)}" for file, names in written.items())
    files["README.md"] = README.format(folder=folder, course=course_flag, only=only_flag, listing=listing)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder; choose a folder for the exercises")
    taken = [name for name in files if (folder / name).exists()]
    if taken:
        raise ValueError(f"{folder} already holds {', '.join(taken)}: starting again would overwrite your work; "
                         f"choose another folder, or delete those files first")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        write_text(folder / name, text)
    return [folder / name for name in files]


def _engine_file(path: pathlib.Path, chosen: list[Exercise]) -> str:
    """An engine file with its relative imports made absolute, its module docstring (which
    states the answers) replaced, and its exercises blanked."""
    source = path.read_text().replace("from .", "from tinynet.")
    doc = ast.get_docstring(ast.parse(source), clean=False)
    header = (f"Your copy of tinynet/{path.name}: the forward passes work as in tinynet; every backward is "
              f"yours to write.\n\nGrade your work with: python -m tinynet.exercises check FOLDER\n")
    return blank_source(source.replace(f'"""{doc}"""', f'"""{header}"""', 1), chosen)


# Each exercise's child process starts Python and imports NumPy first, about a second: a
# shorter limit would fail every answer, a right one too. A day is more than any answer needs
# (and a finite number: an infinite timeout cannot be waited on).
TIMEOUT_RANGE = (1.0, 86400.0)


def check(folder: pathlib.Path | str, course: pathlib.Path | None = None, timeout: float = 60.0, jobs: int = 2,
          isolate: bool = True, only: str | None = None) -> list[Grade]:
    """Grade every exercise in ``folder`` (those ``only`` names, or all), each in a child process
    with ``timeout`` seconds (isolate=False: in this process, without a time limit; for tests
    of the checks alone)."""
    return check_handin(folder, course, timeout, jobs, isolate, only)[0]


def check_handin(folder: pathlib.Path | str, course: pathlib.Path | None = None, timeout: float = 60.0,
                 jobs: int = 2, isolate: bool = True, only: str | None = None) -> tuple[list[Grade], list[str]]:
    """check(), and what was found where: files taken from a nested folder or under another
    name (handin.py), course exercises present but not asked for."""
    check_timeout(timeout, "check: timeout")
    if not is_positive_int(jobs):
        raise ValueError(f"check: jobs must be a positive integer (children grading side by side), got {jobs!r}")
    folder = pathlib.Path(folder)  # a string names a folder as well
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder; create one with: python -m tinynet.exercises start {folder}")
    chosen = select(exercises(course), only)
    found, missing = locate(folder, sorted({e.file for e in chosen}))
    notes = unasked(folder, chosen) if course is None and only is None else []
    here, moved = staged(folder, found)
    try:
        present = [e for e in chosen if e.file in found]
        if isolate:
            graded = grade_all(here, present, timeout, jobs)
        else:
            graded = [Grade(e.name, *grade(here, e), points=e.points) for e in present]
    finally:
        if here != folder:
            shutil.rmtree(here, ignore_errors=True)
    by_name = {g.exercise: g for g in graded}
    grades = [by_name.get(e.name) or Grade(e.name, "failed", missing[e.file], e.points) for e in chosen]
    return grades, moved + notes


def unasked(folder: pathlib.Path, chosen: list[Exercise]) -> list[str]:
    """A note naming the course exercises in ``folder`` that this check does not grade."""
    names = {e.name for e in chosen}
    extra = []
    for path in sorted(folder.glob("*.py")):
        try:
            e = declared(path)
        except (ValueError, SyntaxError):
            continue
        if e is not None and e.name not in names:
            extra.append(f"{path.name} ({e.name})")
    if not extra:
        return []
    return [f"not graded: {', '.join(extra)}, a course's exercises; add --from with the course's folder (or this "
            f"folder itself: --from {folder}) to grade them too"]


def check_timeout(timeout: object, what: str) -> None:
    low, high = TIMEOUT_RANGE
    real = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if not (real and low <= timeout <= high):
        raise ValueError(f"{what} must be a number of seconds from {low:g} (a child process takes about a second "
                         f"to start) to {high:g} (a day), got {timeout!r}")


def format_grades(grades: list[Grade], notes: list[str] = ()) -> str:
    width = max(len(g.exercise) for g in grades)
    rows = [f"{'exercise':<{width}}  {'result':<13}  detail", "-" * (width + 30)]
    indent = "\n" + " " * (width + 17)  # a detail's further lines, under its first
    for g in grades:
        detail = g.detail + (f"\nyour code printed:\n{_first_lines(g.printed)}" if g.printed.strip() else "")
        rows.append(f"{g.exercise:<{width}}  {g.status:<13}  {indent.join(detail.splitlines())}")
    done = sum(g.status == "passed" for g in grades)
    rows.append(f"\n{done} of {len(grades)} passed" + ("." if done < len(grades) else ": well done."))
    return "\n".join(rows + notes)


def _first_lines(text: str, n: int = 10) -> str:
    lines = text.rstrip().splitlines()
    return "\n".join(["  " + line for line in lines[:n]] + ([f"  ... ({len(lines) - n} more lines)"]
                                                              if len(lines) > n else []))


def gradescope_results(grades: list[Grade], notes: list[str] = (), hidden: frozenset[str] = frozenset(),
               seconds: float | None = None) -> dict[str, Any]:
    """Gradescope's results.json: the total score, and one test per exercise (status passed or
    failed; not attempted is failed, with that output). Tests named in ``hidden`` are shown to
    the learner only after the due date. What the learner's code printed stays out."""
    tests = [{"name": g.exercise, "score": g.score, "max_score": g.points,
              "status": "passed" if g.status == "passed" else "failed",
              "output": g.detail or g.status,
              "visibility": "after_due_date" if g.exercise in hidden else "visible"} for g in grades]
    done = sum(g.status == "passed" for g in grades)
    results: dict[str, Any] = {"score": sum(g.score for g in grades),
                               "output": "\n".join([f"{done} of {len(grades)} exercises passed", *notes]),
                               "tests": tests}
    if seconds is not None:
        results["execution_time"] = max(1, round(seconds))  # whole seconds, as Gradescope reads it
    return results


def not_graded(why: str) -> dict[str, Any]:
    """results.json when nothing could be graded: a score of 0, and why, where the learner sees it."""
    return {"score": 0, "output": f"Nothing could be graded: {why}", "tests": []}


def folder_arg(text: str) -> pathlib.Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; name a folder, e.g. my_backprop")
    return pathlib.Path(text)


def results_arg(text: str) -> pathlib.Path:
    """--results: a file to write, in a folder that exists."""
    path = folder_arg(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; name the file to write, e.g. {path / 'results.json'}")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder of {text} does not exist")
    return path


EPILOG = """A course folder (--from) adds its exercises to tinynet's own. A folder started with --from
holds both, and checks whole with itself as the course: check week1 --from week1.
--only names an assignment's exercises (Linear,ReLU or Linear.backward,ReLU.backward):
start writes those, check grades those, out of their points. autograder DIR writes a
Gradescope autograder (DIR/autograder.zip; docs/teachers.md)."""


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m tinynet.exercises", description=__doc__.split("\n\n")[0], epilog=EPILOG,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("start", "check", "autograder", "grade"),
                   help="start: write the exercises; check: grade them; autograder: write Gradescope's autograder; "
                        "grade: a folder of submissions, one folder per learner")
    p.add_argument("folder", type=folder_arg, help="the folder of your exercises (autograder: a new folder; grade: "
                                                   "the folder of the learners' folders)")
    p.add_argument("--from", dest="course", type=folder_arg, default=None,
                   help="a course folder whose exercise files join tinynet's own (docs/teachers.md)")
    p.add_argument("--only", default=None, help="the exercises of an assignment, by name, separated by commas")
    p.add_argument("--hidden", default=None,
                   help="check --json, autograder: exercises whose result the learner sees after the due date")
    p.add_argument("--json", action="store_true", help="check: print Gradescope's results.json instead of a table")
    p.add_argument("--results", type=results_arg, default=None,
                   help="check: write Gradescope's results.json to this file; whatever fails, it is written")
    p.add_argument("--timeout", type=float, default=60.0, help="check: seconds each exercise may take (default 60)")
    p.add_argument("--csv", type=results_arg, default=None, help="grade: write the table as CSV to this file")
    p.add_argument("--jobs", type=positive_int, default=2, help="check, grade: exercises graded side by side "
                                                                "(default 2)")
    args = p.parse_args(argv)
    try:
        return _run(args)
    except (ValueError, SyntaxError, OSError) as e:
        if isinstance(e, OSError):  # an unwritable folder, a path under a file
            e = ValueError(f"cannot write to {e.filename or args.folder}: {e.strerror or e}")
        if args.command == "check" and args.results is not None:
            with contextlib.suppress(OSError):  # the results file itself may be what failed
                _write_results(args.results, not_graded(str(e)))
        p.error(str(e))
    except Exception as e:  # noqa: BLE001: with --results, even a bug of the grader's is a results.json
        if args.command == "check" and args.results is not None:
            _write_results(args.results, not_graded(f"the grader failed ({type(e).__name__}: {e}); tell your teacher"))
        raise


def _run(args: argparse.Namespace) -> int:
    if args.course is not None and not args.course.is_dir():
        raise ValueError(f"--from {args.course} is not a folder")
    check_timeout(args.timeout, "--timeout")
    if args.command == "start":
        written = start(args.folder, args.course, args.only)
        print(f"wrote {len(written)} files in {args.folder}: {', '.join(f.name for f in written)}")
        course = f" --from {args.course}" if args.course else ""
        only = f" --only {args.only}" if args.only else ""
        print(f"next: write the methods, then: python -m tinynet.exercises check {args.folder}{course}{only}")
        return 0
    if args.command == "autograder":
        hidden = select(select(exercises(args.course), args.only), args.hidden, "--hidden")  # in the assignment
        zipped = gradescope.write(args.folder, args.only, args.hidden and ",".join(e.name for e in hidden),
                                  args.course, args.timeout)
        print(f"wrote the autograder in {args.folder}; upload {zipped} to Gradescope (docs/teachers.md)")
        return 0
    if args.command == "grade":
        graded = roster.grade_submissions(check_handin, args.folder, args.course, args.only, args.timeout,
                                          args.jobs)
        print(roster.format_roster(graded))
        if args.csv is not None:
            write_text(args.csv, roster.roster_csv(graded))
            print(f"wrote {args.csv}")
        return 0
    hidden = (frozenset(e.name for e in select(exercises(args.course), args.hidden, "--hidden")) if args.hidden
              else frozenset())
    began = time.monotonic()
    grades, notes = check_handin(args.folder, args.course, args.timeout, args.jobs, only=args.only)
    results = gradescope_results(grades, notes, hidden, time.monotonic() - began)
    if args.results is not None:
        _write_results(args.results, results)
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    else:
        print(format_grades(grades, notes))
    return 0 if all(g.status == "passed" for g in grades) else 1


def _write_results(path: pathlib.Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(results, indent=1) + "\n")
