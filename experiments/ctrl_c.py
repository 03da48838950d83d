"""Ctrl-C while a script is still importing NumPy and Matplotlib (about a second): one line
and exit 130, as later in the run, instead of a traceback through Python's import machinery.

Every experiment script calls ``during_imports(__name__)`` before its first slow import;
common.run_main hands Ctrl-C back to Python (KeyboardInterrupt) once the imports are done.
"""
from __future__ import annotations

import os
import signal
import sys
from typing import Any


def during_imports(module_name: str) -> None:
    if module_name == "__main__":  # run as a script
        signal.signal(signal.SIGINT, _quit)
        signal.signal(signal.SIGTERM, _quit)  # what `timeout` and batch schedulers send
    elif module_name == "__mp_main__":  # imported again by a worker process: the parent hears
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the Ctrl-C and passes it on once the worker runs


def _quit(signum: int, frame: Any) -> None:
    print("\ninterrupted", file=sys.stderr, flush=True)
    # At once, not by raising SystemExit: an exception raised while a compiled module (NumPy,
    # Matplotlib) initialises comes out as "ImportError: initialization failed". Nothing is
    # written yet, so there is nothing to clean up. 130: the shell's code for "ended by Ctrl-C".
    os._exit(130)
