"""What every command line of the project shares: a bad flag ends with one line that names
it, and exit code 2, never argparse's usage block or a traceback; Ctrl-C and SIGTERM end it
with one line and exit code 130."""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Any, Callable


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
    signal.signal(signal.SIGTERM, as_interrupt)
    try:
        code = main()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the line
        print("\ninterrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


def as_interrupt(signum: int, frame: Any) -> None:
    """A signal handler: SIGTERM handled as Ctrl-C, so a run stops cleanly and keeps what it has."""
    raise KeyboardInterrupt
