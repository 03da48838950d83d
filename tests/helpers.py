"""Helpers shared by the tests: building data on a backend, and running the checker."""
from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

import tinynet as tn
from tinynet.gradcheck import CheckResult


def random_data(be: tn.Backend, rng: np.random.Generator, n: int, d: int, n_classes: int,
                dtype: str = "float64") -> tuple[Any, Any]:
    """x: (n, d) standard normal, y: (n,) labels in 0..n_classes-1, both on ``be``."""
    x = be.asarray(rng.standard_normal((n, d)), dtype=dtype)
    y = be.asarray(rng.integers(0, n_classes, size=n))
    return x, y


def failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.passed]


def assert_passed(results: list[CheckResult]) -> None:
    """Every tensor's error within its tolerance; else each failure's report."""
    assert results, "no tensor was checked"
    failed = [r.report() for r in results if not r.passed]
    assert not failed, "gradient check failed:\n" + "\n".join(failed)


def assert_all_checked_and_ok(results: list[CheckResult]) -> None:
    """Every tensor passed, and every tensor had at least one entry actually compared."""
    assert_passed(results)
    unchecked = [str(r) for r in results if r.checked == 0]
    assert not unchecked, "tensors with no entry checked:\n" + "\n".join(unchecked)


def assert_ok_apart_from_kinks(results: list[CheckResult]) -> None:
    """Every compared entry passed; a tensor may go unchecked only because all its entries
    sat within h of a ReLU kink (a tiny layer can), and most entries overall were compared."""
    at_kinks = [r for r in results if r.checked == 0 and "at kinks" in r.note]
    assert_passed([r for r in results if r not in at_kinks])
    assert sum(r.checked for r in results) > sum(r.skipped for r in results), results


# --- processes (Linux's /proc): what a killed run leaves behind --------------------------------
def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` (Linux: /proc/<pid>/task/*/children), with its start time:
    a pid can be reused by an unrelated process once its own has gone."""
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in pathlib.Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            for child in children - set(found):
                started = start_time(child)
                if started is not None:
                    found[child] = started
                    todo.append(child)
    return found


def start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), or None once it has gone."""
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[19]
    except (OSError, IndexError):
        return None


def alive(pid: int, started: str) -> bool:
    """The same process (same start time) is still running, and not a zombie."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()
    except OSError:
        return False
    return fields[19] == started and fields[0] != "Z"


def kill_and_reap(proc: Any, children: dict[int, str], wait: float = 10.0) -> list[int]:
    """SIGKILL ``proc`` alone, give its ``children`` (pid -> start time) ``wait`` seconds to end,
    and kill any that did not (only ours: the same start time). Returns those that outlived it."""
    import os
    import signal
    import time

    proc.kill()
    proc.wait(timeout=wait)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(alive(p, t) for p, t in children.items()):
        time.sleep(0.2)
    left = [p for p, t in children.items() if alive(p, t)]
    for p in left:  # leave none of them behind, whatever the verdict
        os.kill(p, signal.SIGKILL)
    return left
