"""python -m tinynet.doctor SCRIPT.py [ARGS]: run a learner's script unchanged and, after each
tn.train call it makes, print the doctor's diagnosis of that run (as python -m cProfile
reports time). The script sees the same History, and the same numbers, as without the doctor.
"""
from __future__ import annotations

import argparse
import pathlib
import runpy
import sys
from typing import Any

from ..checks import DtypeSlip
from ..cli import Parser, run


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m tinynet.doctor", description=__doc__.split("\n\n")[0])
    p.add_argument("script", help="the Python script to run, e.g. my_training.py")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments, passed on as given")
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # argparse would call the script's arguments required too
        p.error("give the script to run, e.g. python -m tinynet.doctor my_training.py")
    if argv[0].startswith("-"):  # --help, or a flag before the script: argparse says what it takes
        p.parse_args(argv)
    # The script's arguments go on exactly as given: argparse would take a "--" among them as its own.
    script, script_args = argv[0], argv[1:]
    path = pathlib.Path(script)
    if not path.is_file():
        p.error(f"no script {script!r} here; give the path of a .py file, e.g. python -m tinynet.doctor train.py")
    try:  # read as Python would run it, so that a file that is no script is one line, not runpy's traceback
        compile(path.read_bytes(), str(path), "exec")
    except (SyntaxError, ValueError) as e:  # ValueError: null bytes (Python 3.11)
        where = f" (line {e.lineno})" if getattr(e, "lineno", None) else ""
        p.error(f"{script} is not a Python script Python can run: {getattr(e, 'msg', None) or e}{where}")
    import tinynet
    import tinynet.training
    from . import watched
    from .loop import OwnLoop

    real = tinynet.training.train
    calls = 0

    def train(model: Any, data: Any, **options: Any) -> Any:  # what the script calls as tn.train
        nonlocal calls
        options.pop("quiet", None)  # the script's own wish: the doctor's report says where a run diverged anyway
        calls += 1
        try:
            d = watched(real, model, data, **options)
        except DtypeSlip as e:  # the learner's layer or loss, named: one line, not a traceback through the doctor
            print(f"tinynet doctor: train call {calls} stopped: {e}", file=sys.stderr)
            raise SystemExit(1) from None
        print(f"\n--- tinynet doctor: train call {calls} ---\n{d}\n", flush=True)
        return d.history

    sys.argv, sys.path[0:0] = [str(path), *script_args], [str(path.resolve().parent)]
    tinynet.train = tinynet.training.train = train
    code = 0
    loop = OwnLoop()  # a script that trains with its own loop: what the doctor can still see of it
    try:
        with loop.watching():
            runpy.run_path(str(path), run_name="__main__")
    except SystemExit as e:  # the script's own exit: its code, and its message as Python prints it
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        tinynet.train = tinynet.training.train = real
    if not calls:
        print(loop.report(), file=sys.stderr)
    return code


if __name__ == "__main__":
    run(main)
