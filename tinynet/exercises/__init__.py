"""Exercises: write the backward passes (and two optimizers) yourself, graded by the checker.

    python -m tinynet.exercises start my_backprop          # the exercise files, each method blanked
    python -m tinynet.exercises check my_backprop          # a table: passed / failed (why) / not attempted
    python -m tinynet.exercises check my_backprop --json   # the same, as Gradescope's results.json
    python -m tinynet.exercises start my_backprop --from course/   # with a course's own exercises

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
import json
import pathlib
import sys
from typing import Any

from ..cli import Parser
from ..files import write_text
from .catalogue import ENGINE, Exercise, blank_source, exercises
from .grader import Grade, grade, grade_all

README = """# Backprop exercises

Each file here holds methods for you to write: `layers.py` and `losses.py` are working copies
of tinynet's own Linear, ReLU and softmax cross-entropy with every `backward` blanked; the other
files hold one exercise each, from a sigmoid to Adam. The forward passes are complete. Each
blanked method states the shapes it takes and returns, and gives a one-line hint;
`docs/backprop.md` in the tinynet repository derives the engine's, if you get stuck.

Grade your work at any time:

    python -m tinynet.exercises check {folder}{course}

Each layer and loss is checked against finite differences in float64 (`tinynet.gradcheck`),
each optimizer against a reference trajectory: passed, failed (with the worst entry, both
values and their ratio: -1 is a flipped sign, N a missing 1/N), or not attempted (still raising
NotImplementedError). The command exits with status 0 once every exercise passes.
"""


def start(folder: pathlib.Path, course: pathlib.Path | None = None) -> list[pathlib.Path]:
    """Write the exercise files into ``folder``; refuses to overwrite earlier work."""
    chosen = exercises(course)
    files: dict[str, str] = {}
    for name in ("layers.py", "losses.py"):
        files[name] = _engine_file(ENGINE / name, [e for e in chosen if e.file == name])
    for e in chosen:
        if e.file not in files:
            files[e.file] = blank_source(pathlib.Path(e.source).read_text(), [e])
    course_flag = f" --from {course}" if course is not None else ""
    files["README.md"] = README.format(folder=folder, course=course_flag)
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
          isolate: bool = True) -> list[Grade]:
    """Grade every exercise in ``folder``, each in a child process with ``timeout`` seconds
    (isolate=False: in this process, without a time limit; for tests of the checks alone)."""
    check_timeout(timeout, "check: timeout")
    folder = pathlib.Path(folder)  # a string names a folder as well
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder; create one with: python -m tinynet.exercises start {folder}")
    chosen = exercises(course)
    if isolate:
        return grade_all(folder, chosen, timeout, jobs)
    return [Grade(e.name, *grade(folder, e), points=e.points) for e in chosen]


def check_timeout(timeout: object, what: str) -> None:
    low, high = TIMEOUT_RANGE
    real = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if not (real and low <= timeout <= high):
        raise ValueError(f"{what} must be a number of seconds from {low:g} (a child process takes about a second "
                         f"to start) to {high:g} (a day), got {timeout!r}")


def format_grades(grades: list[Grade]) -> str:
    width = max(len(g.exercise) for g in grades)
    rows = [f"{'exercise':<{width}}  {'result':<13}  detail", "-" * (width + 30)]
    indent = "\n" + " " * (width + 17)  # a detail's further lines, under its first
    rows += [f"{g.exercise:<{width}}  {g.status:<13}  {indent.join(g.detail.splitlines())}" for g in grades]
    done = sum(g.status == "passed" for g in grades)
    rows.append(f"\n{done} of {len(grades)} passed" + ("." if done < len(grades) else ": well done."))
    return "\n".join(rows)


def gradescope(grades: list[Grade]) -> dict[str, Any]:
    """Gradescope's results.json: the total score, and one test per exercise (status passed or
    failed; not attempted is failed, with that output)."""
    tests = [{"name": g.exercise, "score": g.score, "max_score": g.points,
              "status": "passed" if g.status == "passed" else "failed",
              "output": g.detail or g.status} for g in grades]
    done = sum(g.status == "passed" for g in grades)
    return {"score": sum(g.score for g in grades), "output": f"{done} of {len(grades)} exercises passed",
            "tests": tests}


def folder_arg(text: str) -> pathlib.Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; name a folder, e.g. my_backprop")
    return pathlib.Path(text)


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m tinynet.exercises", description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("start", "check"), help="start: write the exercises; check: grade them")
    p.add_argument("folder", type=folder_arg, help="the folder of your exercises")
    p.add_argument("--from", dest="course", type=folder_arg, default=None,
                   help="a course folder whose exercise files join tinynet's own (docs/teachers.md)")
    p.add_argument("--json", action="store_true", help="check: print Gradescope's results.json instead of a table")
    p.add_argument("--timeout", type=float, default=60.0, help="check: seconds each exercise may take (default 60)")
    args = p.parse_args(argv)
    if args.course is not None and not args.course.is_dir():
        p.error(f"--from {args.course} is not a folder")
    try:
        check_timeout(args.timeout, "--timeout")
    except ValueError as e:
        p.error(str(e))
    try:
        if args.command == "start":
            written = start(args.folder, args.course)
            print(f"wrote {len(written)} files in {args.folder}: {', '.join(f.name for f in written)}")
            course = f" --from {args.course}" if args.course else ""
            print(f"next: write the methods, then: python -m tinynet.exercises check {args.folder}{course}")
            return 0
        grades = check(args.folder, args.course, args.timeout)
    except (ValueError, SyntaxError) as e:
        p.error(str(e))
    except OSError as e:  # an unwritable folder, a path under a file
        p.error(f"cannot write to {args.folder}: {e.strerror or e}")
    if args.json:
        json.dump(gradescope(grades), sys.stdout, indent=1)
        print()
    else:
        print(format_grades(grades))
    return 0 if all(g.status == "passed" for g in grades) else 1
