"""Grading: each exercise in a child process of its own, with a time limit, so that a grade
depends only on the checker's verdict.

A learner's file runs inside the child: an answer that calls sys.exit() or os._exit(), never
returns, or raises KeyboardInterrupt ends or stalls that child alone, and the exercise is
failed with the reason. The child prints its grade on one line that starts with a token the
parent sent it on stdin; a child that ends without that line did not finish its check.

    python -m tinynet.exercises.grader FOLDER SPEC_JSON     (what check() runs, once per exercise)
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import pathlib
import secrets
import signal
import subprocess
import sys
import threading
import time
import traceback
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..files import write_bytes
from .catalogue import Exercise

MARK = "TINYNET-GRADE"
PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[2]  # the folder that holds tinynet/


@dataclass
class Grade:
    exercise: str
    status: str  # "passed", "failed" or "not attempted"
    detail: str = ""
    points: float = 1.0
    printed: str = ""  # what the learner's code printed while it was checked (shown in the table only)

    @property
    def score(self) -> float:
        return self.points if self.status == "passed" else 0.0


# --- In the parent: one child per exercise -----------------------------------------------------------
_children: set[subprocess.Popen] = set()  # the grading processes running now
MARKER = "TINYNET_GRADING"  # in a child's environment, and so in every process it starts
KEPT = 64 * 1024  # characters of a child's output kept (a learner's print in a loop must not fill memory)
DETAIL = 8000  # characters of a verdict's detail: the child's one line stays well under KEPT


def grade_all(folder: pathlib.Path, chosen: list[Exercise], timeout: float, jobs: int) -> list[Grade]:
    """Every exercise graded in its own child process, ``jobs`` at a time, in the order given.
    A Ctrl-C stops the children at once: none is left grading, nor waited for. If tinynet's own
    files changed meanwhile (a learner's code rewrote them), they are put back and no grade stands."""
    installed = Installation()
    pool = ThreadPoolExecutor(max(1, jobs))
    try:
        grades = list(pool.map(lambda e: grade_in_child(folder, e, timeout), chosen))
    except BaseException:
        for child in list(_children):
            end_all(child)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        changed = installed.restore()  # a Ctrl-C too must not leave a learner's change installed
    if changed:
        why = (f"no grade: while this folder was graded, tinynet's own files changed ({', '.join(changed[:3])}); "
               f"they are restored, and a grade computed on changed files cannot be trusted")
        return [Grade(g.exercise, "failed", why, g.points) for g in grades]
    return grades


class Installation:
    """tinynet's own files as the grader found them, byte for byte: a learner's code runs with
    the grader's rights and could rewrite the checker, for this grade and every later one."""

    def __init__(self) -> None:
        self.package = PACKAGE_ROOT / "tinynet"
        self.files = {path: path.read_bytes() for path in self._python_files()}

    def _python_files(self) -> list[pathlib.Path]:
        return sorted(self.package.rglob("*.py"))

    def restore(self) -> list[str]:
        """Put back every file that changed, remove every file added; the names, or [] if none."""
        changed = []
        for path in self._python_files():
            if path not in self.files:
                changed.append(str(path.relative_to(PACKAGE_ROOT)))
                path.unlink()
        for path, original in self.files.items():
            if not path.exists() or path.read_bytes() != original:
                changed.append(str(path.relative_to(PACKAGE_ROOT)))
                write_bytes(path, original)
        return changed


def grade_in_child(folder: pathlib.Path, e: Exercise, timeout: float) -> Grade:
    token = secrets.token_hex(8)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1",  # one BLAS thread per child: children run side by side
           MARKER: secrets.token_hex(8),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "tinynet.exercises.grader", str(folder.resolve()), json.dumps(e.as_json())]
    # Run from the folder that holds tinynet, not the learner's: python -m puts its working folder
    # first on sys.path, and a tinynet/ of the learner's would otherwise stand in for the grader.
    # A session of its own: the time limit ends the child and everything it started.
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             encoding="utf-8", errors="replace", env=env, cwd=PACKAGE_ROOT, start_new_session=True)
    child.marker = env[MARKER]  # type: ignore[attr-defined]
    _children.add(child)
    out, err = _Reader(child.stdout, token), _Reader(child.stderr, token)
    try:
        with contextlib.suppress(OSError):  # a child that ended at once
            child.stdin.write(token + "\n")
            child.stdin.close()
        child.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        end_all(child)
        _children.discard(child)
    # The pipes close once every process holding them has ended; one that escaped is not waited for.
    out.join(2.0)
    err.join(2.0)
    if timed_out:
        return Grade(e.name, "failed", f"stopped after {timeout:g} s without finishing: a loop that never ends in "
                                       f"{e.file}? (the time limit is check's --timeout)", e.points, out.text())
    if out.verdict is not None:
        try:
            found = json.loads(out.verdict)
            return Grade(e.name, found["status"], found["detail"], e.points, out.text())
        except (ValueError, KeyError, TypeError):  # a line the child did not finish writing
            pass
    last = (err.text().strip().splitlines() or [""])[-1]
    why = (f"the check never finished: the grading process ended with exit status {child.returncode} before it "
           f"could report. Does {e.file} call sys.exit(), exit() or os._exit() at import or in {e.cls}?")
    return Grade(e.name, "failed", why + (f" Its last words: {last}" if last else ""), e.points, out.text())


class _Reader(threading.Thread):
    """Reads a child's pipe as it comes: the verdict line, and the first KEPT characters of the rest."""

    def __init__(self, pipe: Any, token: str) -> None:
        super().__init__(daemon=True)
        self.pipe, self.prefix = pipe, f"{MARK} {token} "
        self.kept: list[str] = []
        self.size = 0
        self.verdict: str | None = None
        self.start()

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while line := self.pipe.readline(KEPT):
                if line.startswith(self.prefix):
                    self.verdict = line[len(self.prefix):]
                elif self.size < KEPT:
                    self.kept.append(line)
                    self.size += len(line)

    def text(self) -> str:
        return "".join(self.kept)[:KEPT]


def end_all(child: subprocess.Popen) -> None:
    """End the child, its session, and any process that still carries its marker (one that
    started a session of its own), then reap the child."""
    with contextlib.suppress(OSError):
        os.killpg(child.pid, signal.SIGKILL)
    for pid in _marked(getattr(child, "marker", None)):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    child.kill()
    child.wait()


def _marked(marker: str | None) -> list[int]:
    """The processes whose environment holds MARKER=marker (Linux: /proc; elsewhere none)."""
    if marker is None:
        return []
    wanted = f"{MARKER}={marker}".encode()
    found = []
    for entry in pathlib.Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


# --- In the child: load the learner's file and check one exercise ---------------------------------------
def grade(folder: pathlib.Path, e: Exercise) -> tuple[str, str]:
    """(status, detail) of one exercise: the checker's verdict on the learner's class."""
    path = folder / e.file
    if not path.exists():
        return "failed", (f"{e.file} is missing: this folder was started without it (an older tinynet, or another "
                          f"--from); python -m tinynet.exercises start NEW_FOLDER writes every exercise")
    try:
        module = _load(path)
    except Exception as err:  # noqa: BLE001: any error in the learner's file is the grade, not a crash
        return "failed", f"{e.file} could not be imported: {type(err).__name__}: {err}"
    cls = getattr(module, e.cls, None)
    if not isinstance(cls, type):
        return "failed", f"{e.file} has no class {e.cls}"
    try:
        if e.kind == "optimizer":
            return trajectory(cls, e)
        results = _check(cls, e)
    except NotImplementedError:
        return "not attempted", ""
    except Exception as err:  # noqa: BLE001: a learner's bug is a failed exercise, with its message
        return "failed", f"{type(err).__name__}: {err}{_where(err, path)}"
    failed = [r for r in results if not r.passed]
    if failed:
        return "failed", "\n".join(r.report() for r in failed)
    worst = max(r.error for r in results)
    agree = f"{len(results)} gradients agree" if len(results) > 1 else "1 gradient agrees"
    return "passed", f"{agree} with finite differences (worst relative error {worst:.1e})"


def _check(cls: type, e: Exercise) -> list[Any]:
    from .. import gradcheck
    from ..backend import get_backend

    be = get_backend("numpy")
    rng = np.random.default_rng(zlib.crc32(e.name.encode()))  # the same inputs every time, per exercise
    n, d = e.shape
    if e.kind == "layer":
        magnitude = rng.uniform(0.1, 2.0, size=(n, d))  # |x - kink| >= 0.1: the +-h steps never cross it
        if e.kinks:
            x = rng.choice(e.kinks, size=(n, d)) + magnitude * rng.choice([-1.0, 1.0], size=(n, d))
        else:
            x = rng.uniform(-2.0, 2.0, size=(n, d))
        return gradcheck.check_layer(cls(**e.init), be.asarray(x))
    logits = rng.normal(size=(n, d))  # named after the loss's own input in what is reported (dL/dpred)
    labels = {"classes": lambda: be.asarray(rng.integers(0, d, size=n)), "values": lambda: be.asarray(
        rng.normal(size=(n, d))), "none": lambda: None}[e.labels]()
    results = gradcheck.check_loss(cls(**e.init), be.asarray(logits), labels)
    return [replace(r, param=e.input) if r.where == "input" else r for r in results]


class Parameters:
    """What an optimizer exercise updates: W (3, 2) and b (2,), float64, with the gradients of
    each step set from a fixed sequence."""

    param_names = ("W", "b")

    def __init__(self) -> None:
        self.W = np.array([[1.0, 0.2], [-0.1, 0.8], [0.6, 1.2]])
        self.b = np.array([0.0, 0.2])
        self.dW: Any = None
        self.db: Any = None

    def __repr__(self) -> str:
        return "Parameters(W (3, 2), b (2,))"


def gradients(steps: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The gradients fed to an optimizer exercise, step by step: (dW, db), fixed."""
    rng = np.random.default_rng(7)
    return [(rng.normal(size=(3, 2)), rng.normal(size=2)) for _ in range(steps)]


def run_optimizer(cls: type, init: dict[str, Any], steps: int) -> list[np.ndarray]:
    """The parameters (W and b, flattened, in that order) after each step of ``cls``."""
    params = Parameters()
    opt = cls(params, **init)
    trajectory_ = []
    for dW, db in gradients(steps):
        params.dW, params.db = dW.copy(), db.copy()
        opt.step()
        trajectory_.append(np.concatenate([np.ravel(params.W), np.ravel(params.b)]))
    return trajectory_


def trajectory(cls: type, e: Exercise) -> tuple[str, str]:
    """An optimizer against its reference: the parameters after each step, to 1e-9 relative."""
    reference = [np.array(r) for r in e.reference]
    got = run_optimizer(cls, e.init, len(reference))
    names = [f"W[{i}, {j}]" for i in range(3) for j in range(2)] + ["b[0]", "b[1]"]
    start = np.concatenate([np.ravel(Parameters().W), np.ravel(Parameters().b)])
    for step, (mine, want) in enumerate(zip(got, reference), 1):
        if mine.shape != want.shape:
            return "failed", f"after step {step} the parameters have {mine.size} entries, the reference {want.size}"
        if step == 1 and np.array_equal(mine, start):
            return "failed", ("the parameters did not change at step 1: step() must set each new value, "
                              "setattr(layer, name, new)")
        wrong = ~np.isclose(mine, want, rtol=1e-9, atol=1e-12)
        if wrong.any():
            i = int(np.argmax(np.abs(mine - want) * wrong))
            return "failed", (f"after step {step} of {len(reference)}, {names[i]} is {mine[i]:.10g} where the "
                              f"reference is {want[i]:.10g} (the steps before agreed); check this step's formula "
                              f"against the docstring")
    return "passed", f"all {len(reference)} steps agree with the reference trajectory (to 1e-9)"


def _load(path: pathlib.Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"learner_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _where(err: BaseException, path: pathlib.Path) -> str:
    """" (layers.py, line 42)": the last line of the learner's file the error passed through."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if pathlib.Path(f.filename) == path]
    return f" ({path.name}, line {frames[-1].lineno})" if frames else ""


def _exit_with_parent(parent: int) -> None:
    """A grader killed outright (SIGKILL, the OOM killer) cannot stop its children: each stops
    itself once its parent is gone, or an answer that never returns would run forever."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def main(argv: list[str]) -> None:
    folder, spec = pathlib.Path(argv[0]), json.loads(argv[1])
    token = sys.stdin.readline().strip()  # read before any of the learner's code runs
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    e = Exercise(**{**spec, "shape": tuple(spec["shape"]), "kinks": tuple(spec["kinks"]),
                    "reference": tuple(tuple(r) for r in spec["reference"])})
    sys.path.insert(0, str(folder))  # a learner's file may import its neighbours
    try:
        status, detail = grade(folder, e)
    except BaseException as err:  # noqa: BLE001: SystemExit, KeyboardInterrupt raised by the learner's code
        status, detail = "failed", f"your code raised {type(err).__name__} during the check: an answer must return"
    if len(detail) > DETAIL:  # an exception's message can be any length; its end says where it was raised
        detail = f"{detail[:DETAIL - 200]} ... ({len(detail) - DETAIL:,} characters left out) ... {detail[-200:]}"
    # On a line of its own: the learner's code may have printed a line it did not end.
    sys.stdout.write(f"\n{MARK} {token} {json.dumps({'status': status, 'detail': detail})}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
