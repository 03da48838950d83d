"""Independent training runs, run side by side in worker processes.

A run is a ``Run``: a frozen dataclass whose fields are its identity (role, seeds, settings),
so two runs are the same only when every field matches, and no flag value can make two runs
share one. A script plans its runs, ``run_many`` trains them, and the script looks each
outcome up by the ``Run`` it planned, never by a display label.

Runs of different seeds share nothing, so they run in parallel processes (``jobs``, at most
one per core). Every run computes with one BLAS thread, whatever ``jobs`` is:
  - processes x threads never exceeds the cores: two processes each starting one BLAS
    thread per core fight over the same cores, which was measured to make a run 13x slower
    on a busy 2-core machine;
  - a matrix product split over more threads adds in another order and can differ in the
    last bit, and a run's numbers must not depend on how many runs went beside it: with
    one thread, --jobs 1 and --jobs 2 give the same numbers (a test checks it);
  - on 2 cores, two one-thread processes did 1.3x the work of one two-thread process.

Ctrl-C: every worker stops the run it is training (``train`` returns the history so far,
marked interrupted), idle workers take no new run, and ``run_many`` returns what finished
or was cut short, saying that it was interrupted.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

import tinynet as tn
from tinynet.breakages import Breakage
from tinynet.cli import requested
from tinynet.data import Dataset, make_dataset, with_ends
from tinynet.metrics import grid_around, predict, predict_grid
from tinynet.training import History

MODEL = (2, 500, 500, 2)  # the log's create_model()
N_EXAMPLES = 100  # the log's training set (Parts 1-3)


def model_for(dataset: str, sizes: Sequence[int] = MODEL) -> tuple[int, ...]:
    """``sizes`` with its ends made the data's: the first layer takes the data's D features,
    the last gives its C classes. The log's (2, 500, 500, 2) is (64, 500, 500, 10) on digits
    and itself on the 2-D sets."""
    return with_ends(sizes, dataset)


class Broken(Protocol):
    """What a run breaks, as a user would: a Part 3 case (experiments/part3/case.py), which
    carries its tinynet.breakages.Breakage and the numbers it measures. Sent to a worker whole."""

    name: str  # how results.json names it
    breakage: Breakage  # the model, data and loss as the user broke them
    measure: Callable | None  # train()'s measure hook: the numbers the case needs of its run
    doctor: str  # the cause tinynet.diagnose should name for the run (the study's doctor benchmark)


@dataclass(frozen=True)
class Run:
    """One training run: what it is for, its seeds, and every setting it trains with."""

    role: str  # what the run is for in its script, e.g. "healthy", "ReLU last", "width"
    weight_seed: int  # of the initial weights (and of the mini-batch order)
    data_seed: int  # of the dataset
    lr: float
    steps: int
    sizes: tuple[int, ...] = MODEL  # the hidden widths; the ends are the data's (``layers``)
    batch_size: int | None = None  # None: full batch, as in the log
    dataset: str = "xor"
    n: int = N_EXAMPLES  # training examples
    val_fraction: float = 0.0
    ones: float | None = None  # share of class 1 (None: the dataset's own)
    flip: float = 0.0  # label noise
    until_loss: float | None = None  # stop once the training loss reaches this
    case: Broken | None = None  # what the run breaks, applied in the worker (a Part 3 case)

    def data(self) -> Dataset:
        return make_dataset(self.dataset, self.n, seed=self.data_seed, val_fraction=self.val_fraction,
                            ones=self.ones, flip=self.flip)

    @property
    def layers(self) -> tuple[int, ...]:
        """The sizes the network is built with: ``sizes`` with the data's D and C at its ends."""
        return model_for(self.dataset, self.sizes)

    @property
    def label(self) -> str:
        """For progress bars and messages only: never parsed."""
        data = f" (data {self.data_seed})" if self.data_seed != self.weight_seed else ""
        return f"{self.role}, seed {self.weight_seed}{data}"

    def cost(self) -> float:
        """Rough work of the run (multiply-adds), to start the longest runs first."""
        per_example = sum(a * b for a, b in zip(self.layers, self.layers[1:]))
        return self.steps * min(self.n, self.batch_size or self.n) * per_example


@dataclass
class Outcome:
    """What a run sends back: its history, the doctor's diagnosis, and, if asked, the predicted
    class over a grid (2-D data) or its first layer and predictions (images)."""

    history: History
    doctor: dict[str, Any] | None = None  # the doctor's diagnosis of the run: cause, findings
    boundary: np.ndarray | None = None  # (len(ys), len(xs)) predicted classes
    grid: tuple[np.ndarray, np.ndarray] | None = None  # (xs, ys)
    # Image data in place of a boundary: the first layer's weights (D, H), and the predicted
    # class of each training example (N,), host copies.
    first_layer: np.ndarray | None = None
    predicted: np.ndarray | None = None


def execute(run: Run, backend: str, boundary: bool = False) -> Outcome:
    """Train one run from its seeds, with one BLAS thread; in a worker process or in this one."""
    with threadpool_limits(limits=1):
        return _execute(run, backend, boundary)


def _execute(run: Run, backend: str, boundary: bool) -> Outcome:
    be = tn.get_backend(backend)
    data = run.data()
    model = tn.create_model(list(run.layers), seed=run.weight_seed, backend=be)
    options: dict[str, Any] = {}
    if run.case is not None:
        model, data = broken(run.case, model, data, run.data_seed, options)
    # Trained exactly as tn.train would (the same numbers), with the doctor watching.
    found = tn.diagnose(model, data, lr=run.lr, steps=run.steps, batch_size=run.batch_size, seed=run.weight_seed,
                        desc=run.label, until_loss=run.until_loss, **options)
    history = found.history
    outcome = Outcome(history, doctor=found.as_dict())
    if boundary and history.eval_steps and history.diverged_at is None:
        if data.n_features == 2:
            outcome.grid = grid(data)
            outcome.boundary = predict_grid(model, be, *outcome.grid)
        elif data.image_shape is not None:  # the pictures a learner expects of images (tinynet/images.py)
            first = next(layer for layer in model.layers if isinstance(layer, tn.Linear))
            outcome.first_layer = be.to_numpy(first.W)
            outcome.predicted = predict(model, be, data.x_train)
    return outcome


def broken(case: Broken, model: Any, data: Dataset, data_seed: int, options: dict[str, Any]) -> tuple[Any, Dataset]:
    """(model, data) as the user broke them; the user's loss and the case's measure hook go
    into ``options``, the other arguments of train."""
    model, data, used = case.breakage.apply(model, data, data_seed)
    options.update(used)
    if case.measure is not None:
        options["measure"] = case.measure
    return model, data


def grid(data: Dataset, resolution: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates (xs, ys) covering the training points, with a margin."""
    return grid_around(data.x_train, resolution)


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_many(runs: Sequence[Run], *, backend: str, jobs: int, boundary_for: Sequence[Run] = ()
             ) -> tuple[dict[Run, Outcome], bool]:
    """Train every run; returns ({run: outcome} in the order given, interrupted).

    jobs = 1 trains in this process, one run after another; more jobs train in that many
    worker processes. The numbers do not depend on it.
    """
    boundary_for = set(boundary_for)
    jobs = max(1, min(jobs, len(runs)))
    if jobs == 1:
        done: dict[Run, Outcome] = {}
        try:
            for run in runs:
                done[run] = execute(run, backend, run in boundary_for)
                if done[run].history.interrupted or requested():  # a stop asked for, even if its exception was lost
                    return done, True
        except KeyboardInterrupt:  # between runs (building a model, predicting a grid): keep what finished
            return done, True
        return done, False
    done, interrupted = _in_workers(runs, backend, jobs, boundary_for)
    return {run: done[run] for run in runs if run in done}, interrupted


def _in_workers(runs: Sequence[Run], backend: str, jobs: int, boundary_for: set[Run]
                ) -> tuple[dict[Run, Outcome], bool]:
    # "spawn": a fresh interpreter per worker. A forked child would inherit the parent's BLAS
    # and CUDA state, which neither OpenBLAS nor CUDA supports.
    context = multiprocessing.get_context("spawn")
    pids = context.SimpleQueue()  # each worker says who it is, so Ctrl-C can be passed on
    # Set on Ctrl-C. The pool hands a worker its next run before the last one ends, and such a
    # run can no longer be cancelled: the worker checks this before it starts one.
    stop = context.Event()
    done: dict[Run, Outcome] = {}
    interrupted = False
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(pids, stop)) as pool:
        futures = {pool.submit(_execute_in_worker, run, backend, run in boundary_for): run
                   for run in longest_first(runs)}
        try:
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                if done[futures[future]].history.interrupted or requested():  # a worker got the Ctrl-C first,
                    raise KeyboardInterrupt  # or this process's was lost where Python drops exceptions
        except KeyboardInterrupt:
            interrupted = True
            stop.set()
            for future in futures:
                future.cancel()
            _pass_on_interrupt(pids)
            for future, run in futures.items():  # the runs cut short come back with their history so far
                try:
                    done[run] = future.result()
                except (KeyboardInterrupt, CancelledError, BrokenProcessPool):
                    pass
    return done, interrupted


def longest_first(runs: Sequence[Run]) -> list[Run]:
    """The order workers take runs in: the most work first (ties in the order planned), so
    that no long run starts last while the other workers sit idle. A run that stops early
    (until_loss) is planned at its full length: it can only finish sooner."""
    return sorted(runs, key=Run.cost, reverse=True)


_stop: Any = None  # in a worker: the pool's stop event


def _start_worker(pids: Any, stop: Any) -> None:
    global _stop
    _stop = stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # idle between runs: a Ctrl-C has nothing to stop
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    pids.put(os.getpid())


def _exit_with_parent() -> None:
    """A worker whose parent died (SIGKILL, the OOM killer) has no one to report to: without
    this it would finish the run it holds, then block on a pipe forever, and so would anything
    waiting for the run's output. The parent's sentinel becomes ready when it exits."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(1)  # at once: no clean-up could reach anyone


def _execute_in_worker(run: Run, backend: str, boundary: bool) -> Outcome:
    if _stop is not None and _stop.is_set():  # interrupted: start no new run
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, _interrupt_once)  # while training: Ctrl-C stops this run
    try:
        return execute(run, backend, boundary)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interrupt_once(signum: int, frame: Any) -> None:
    """A Ctrl-C from the terminal and the one passed on by the parent both arrive: the first
    stops the run, the second must not interrupt the run's own clean-up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _pass_on_interrupt(pids: Any) -> None:
    """Ctrl-C reaches every process of a terminal's job, but ``kill -INT`` or ``timeout -s INT``
    reach only this one: pass it on to the workers."""
    while not pids.empty():
        try:
            os.kill(pids.get(), signal.SIGINT)
        except ProcessLookupError:
            pass
