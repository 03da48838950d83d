"""What every command line of the project shares: a bad flag ends with one line that names
it, and exit code 2, never argparse's usage block or a traceback; Ctrl-C and SIGTERM end it
with one line and exit code 130."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, Callable

# The package's own command lines: ``python -m`` imports tinynet, and NumPy with it, before
# the command's code runs (guard_the_import).
COMMANDS = ("tinynet.gradcheck", "tinynet.exercises", "tinynet.doctor", "tinynet.lab")
_requested: list[int] = []  # the signals received: a request to stop stands once made


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag ends with one line (no usage block) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def int_at_least(lowest: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer >= lowest, or one line saying what was expected."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = lowest - 1
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be a {what} integer, got {text!r}")
        return value

    return parse


positive_int = int_at_least(1, "positive")
non_negative_int = int_at_least(0, "non-negative")


def run(main: Callable[[], int]) -> None:
    """Exit with main's code. Ctrl-C, and SIGTERM (what `timeout` and batch schedulers send),
    end the command with one line, "interrupted", and exit code 130, the shell's code for it."""
    signal.signal(signal.SIGINT, as_interrupt)
    signal.signal(signal.SIGTERM, as_interrupt)
    try:
        code = main()
        if requested():  # its KeyboardInterrupt was raised where Python drops exceptions
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the line
        print("\ninterrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


def as_interrupt(signum: int, frame: Any) -> None:
    """A signal handler: SIGTERM handled as Ctrl-C, so a run stops cleanly and keeps what it has.

    The request is recorded as well as raised: Python drops an exception raised inside a
    finaliser or a weakref callback (Matplotlib runs some while a figure is freed), and the
    program asks ``requested()`` at its safe points, so that no signal is lost."""
    _requested.append(signum)
    raise KeyboardInterrupt


def requested() -> bool:
    """Whether a Ctrl-C or SIGTERM has been received: once made, the request stands."""
    return bool(_requested)


def guard_the_import() -> None:
    """For the package's own command lines only (COMMANDS): a Ctrl-C or SIGTERM while Python
    imports tinynet and NumPy, the second before the command runs, ends it with one line and
    exit code 130, not a traceback through the import machinery or a silent death. ``run``
    hands the signals back to the command. A program that imports tinynet is left as it was."""
    # While ``python -m`` imports the command's package, sys.argv[0] is "-m" (a script that
    # merely has "-m tinynet.doctor" among its own arguments is not a command line of ours).
    argv = getattr(sys, "orig_argv", [])
    at = argv.index("-m") + 1 if "-m" in argv else len(argv)
    if sys.argv[:1] == ["-m"] and at < len(argv) and argv[at] in COMMANDS:
        signal.signal(signal.SIGINT, _quit_at_once)
        signal.signal(signal.SIGTERM, _quit_at_once)


def _quit_at_once(signum: int, frame: Any) -> None:
    # experiments/harness/preamble.py has its own copy of these three lines: it runs before
    # tinynet (and NumPy with it) may be imported, so it cannot call this one.
    print("\ninterrupted", file=sys.stderr, flush=True)
    # At once, not by raising: an exception raised while a compiled module initialises comes
    # out as "ImportError: initialization failed". Nothing has been written yet.
    os._exit(130)
