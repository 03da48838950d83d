"""What every experiment script does first, in one place: Ctrl-C from the first moment, and
the compiled modules loaded while a Ctrl-C still ends the script at once.

A script imports it right after putting the repository root on sys.path:

    sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))  # for `experiments`
    from experiments.harness import preamble  # noqa: E402, F401

Importing NumPy and Matplotlib takes about a second. A Ctrl-C (or SIGTERM, what `timeout` and
batch schedulers send) in that second ends the script with one line and exit code 130,
instead of a traceback through Python's import machinery. ``run_main`` hands Ctrl-C back to
Python (KeyboardInterrupt) once the script runs, so that a run can stop cleanly and write
what it has.

Only a script run from the command line is set up so: the module does nothing to a program
that merely imports the experiments (the test suite, run_all.py's import of each part).
"""
from __future__ import annotations

import os
import pathlib
import signal
import sys
from typing import Any, Callable

SCRIPTS = pathlib.Path(__file__).resolve().parents[1]  # experiments/: the scripts a user runs


def _quit(signum: int, frame: Any) -> None:
    print("\ninterrupted", file=sys.stderr, flush=True)
    # At once, not by raising SystemExit: an exception raised while a compiled module (NumPy,
    # Matplotlib) initialises comes out as "ImportError: initialization failed". Nothing is
    # written yet, so there is nothing to clean up. 130: the shell's code for "ended by Ctrl-C".
    os._exit(130)


def _main_module_is_a_script_here() -> str | None:
    """"__main__" when an experiment script runs, "__mp_main__" in its worker processes
    (multiprocessing imports the script again under that name), else None."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or pathlib.Path(path).resolve().parent != SCRIPTS:
        return None
    return main.__name__


_role = _main_module_is_a_script_here()
if _role == "__main__":
    signal.signal(signal.SIGINT, _quit)
    signal.signal(signal.SIGTERM, _quit)
elif _role == "__mp_main__":  # a worker: the parent hears the Ctrl-C and passes it on once the worker runs
    signal.signal(signal.SIGINT, signal.SIG_IGN)

# Compiled modules that NumPy and Matplotlib would otherwise load lazily, in the middle of a
# run: loaded now. Later, a KeyboardInterrupt raised inside a compiled module's
# initialisation would surface as "ImportError: initialization failed" instead of an
# interrupted run.
import contourpy  # noqa: E402, F401 (Matplotlib's contour plots)
import matplotlib.backends.backend_agg  # noqa: E402, F401 (every PNG)
import numpy.random  # noqa: E402, F401


_said = False  # the script already said, in its one line, that it was interrupted


def say_interrupted(line: str) -> None:
    """The one line that ends an interrupted script, where the script can say more than
    "interrupted" (where its partial results are)."""
    global _said
    print(line, file=sys.stderr)
    _said = True


def run_main(main: Callable[[], int]) -> None:
    """Exit with main's code; Ctrl-C outside training still exits cleanly (130). SIGTERM is
    treated as Ctrl-C: partial results, exit 130. A signal whose KeyboardInterrupt Python
    dropped (raised in a finaliser or a weakref callback) still ends the script as interrupted:
    the handler records it, and the script asks at its safe points (tinynet.cli.requested)."""
    from tinynet.cli import as_interrupt, requested  # here: nothing of tinynet before run_main

    signal.signal(signal.SIGINT, as_interrupt)  # Ctrl-C: KeyboardInterrupt again, and recorded
    signal.signal(signal.SIGTERM, as_interrupt)
    try:
        code = main()
        if requested() and code == 0:
            code = 130
    except KeyboardInterrupt:
        code = 130
    # Done, whatever is written is whole. A signal during Python's own shutdown would otherwise
    # kill the finished process with its default action (exit -15 after SIGTERM).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if code == 130 and not _said:  # stopped early, its partial results (if any) written: one line
        print("\ninterrupted", file=sys.stderr)
    sys.exit(code)
