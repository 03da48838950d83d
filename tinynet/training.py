"""The training loop: data -> model -> loss -> backward -> optimizer, once per step.

``train`` records the loss at every step and, every ``eval_every`` steps, what a person
needs to see why a run works or breaks: train and validation accuracy, each Linear layer's
gradient norm and the fraction of each ReLU's outputs that are zero (tinynet/metrics.py).
An experiment adds its own numbers through the ``measure`` hook.

A run that diverges (a loss that is not finite, or more than DIVERGENCE_FACTOR times its
starting value) stops there, and the step is recorded; the arithmetic warnings of the
diverging steps are the expected symptom, so they are silenced, not shown. Ctrl-C stops a
run cleanly: the history so far comes back marked ``interrupted``.
"""
from __future__ import annotations

import contextlib
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from .backend import Backend, dtype_name, host_rng
from .checks import check_dataset, check_train_options, check_train_step
from .data import Dataset
from .losses import SoftmaxCrossEntropy
from .metrics import accuracy, first_linear, first_step_at_or_below, gradient_norms, relu_zero_fractions
from .model import Sequential
from .optim import SGD

DIVERGENCE_FACTOR = 10.0  # a finite loss above 10x its first value counts as diverged

# measure(model, x, labels) -> {name: value}: called at every measurement step with the
# training set on the backend; the history keeps each name's values in ``measured``.
Measure = Callable[[Any, Any, Any], dict[str, Any]]


@dataclass(repr=False)
class History:
    """What one run measured; plain Python lists, ready for JSON and plotting."""

    loss: list[float] = field(default_factory=list)  # one per step taken
    eval_steps: list[int] = field(default_factory=list)  # steps at which the rest was measured
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    grad_norm: dict[str, list[float]] = field(default_factory=dict)  # per Linear layer
    relu_zero: dict[str, list[float]] = field(default_factory=dict)  # per ReLU: fraction of outputs = 0
    measured: dict[str, list[Any]] = field(default_factory=dict)  # what train(measure=...) returned
    diverged_at: int | None = None  # first step whose loss diverged
    reached_at: int | None = None  # with train(until_loss=...): first step at or below it
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def steps_taken(self) -> int:
        return len(self.loss)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def __repr__(self) -> str:
        """One line: the run at a glance (the series themselves are the fields)."""
        if not self.loss:
            return "History(no step taken)"
        parts = [f"{self.steps_taken} steps", f"loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}"]
        if self.train_acc:
            parts.append(f"train acc {self.train_acc[-1]:.0%}")
        if self.val_acc and math.isfinite(self.val_acc[-1]):
            parts.append(f"val acc {self.val_acc[-1]:.0%}")
        if self.diverged_at is not None:
            parts.append(f"diverged at step {self.diverged_at}")
        if self.interrupted:
            parts.append("interrupted")
        return f"History({', '.join(parts)})"


def train(
    model: Sequential,
    data: Dataset,
    *,
    steps: int,
    opt: Any = None,
    loss_fn: Any = None,
    lr: float | None = None,
    momentum: float = 0.0,
    batch_size: int | None = None,
    eval_every: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
    desc: str = "training",
    until_loss: float | None = None,
    measure: Measure | None = None,
    quiet: bool = False,
) -> History:
    """Train ``model`` on ``data`` for ``steps`` steps and return its History.

    opt:        any object with step() (default SGD(model, lr, momentum)).
    loss_fn:    any object with forward(logits, labels) and backward(dout) (default
                SoftmaxCrossEntropy()).
    lr, momentum: of the default SGD; with your own ``opt``, set them on it instead.
    batch_size: None for full-batch gradient descent, else mini-batches
                drawn without replacement from an order reshuffled each epoch with ``seed``
                (the n % batch_size examples left over at an epoch's end sit that epoch out).
    eval_every: steps between measurements (default: about 200 over the run).
    progress:   a tqdm bar; None shows it only when stderr is a terminal.
    until_loss: stop once the training loss has been at or below this (None: run all steps).
                Losses reach the host once per measurement interval, so the run stops at
                the end of the interval in which it got there; ``reached_at`` says the step,
                and the last measurement is the one at that interval's start.
    measure:    measure(model, x, labels) -> {name: number}: an experiment's own numbers,
                taken at every measurement step (before that step's update) with the whole
                training set on the backend; kept in ``history.measured[name]``.
    quiet:      no line when the run diverges (by default one line on stderr says at which
                step it stopped, and that tn.diagnose can say why).
    """
    check_train_options(steps=steps, batch_size=batch_size, eval_every=eval_every, until_loss=until_loss,
                        progress=progress, desc=desc, measure=measure, quiet=quiet)
    check_dataset(data, model)
    opt, loss_fn = _pieces(model, opt, loss_fn, lr, momentum)
    be = first_linear(model).backend  # the model's own: its weights live there
    dtype = dtype_name(first_linear(model).W.dtype)
    train_set = (be.asarray(data.x_train, dtype=dtype), be.asarray(data.y_train))  # (N, D), (N,): on the device once
    val_set = (be.asarray(data.x_val, dtype=dtype), be.asarray(data.y_val))
    eval_every = eval_every or max(1, steps // 200)
    batches = _batches(*train_set, batch_size, host_rng(seed, "train"), be)
    history = History()
    start = time.perf_counter()
    with _progress_bar(steps, desc, progress) as bar, _quiet_arithmetic():
        losses = _HostLosses(history, bar, be)
        with _stops_on_ctrl_c(history, losses):
            for step, (xb, yb) in zip(range(steps), batches):
                last = step == steps - 1
                if step % eval_every == 0 or last:  # before the update, from this step's own gradients
                    _record(history, step, _measure(model, loss_fn, xb, yb, train_set, val_set, be, measure))
                losses.add(train_step(model, loss_fn, opt, xb, yb))
                if (step + 1) % eval_every == 0 or last:
                    if losses.flush() or (until_loss is not None and _reached(history, until_loss)):
                        break  # diverged, or got there
    history.seconds = time.perf_counter() - start
    if history.diverged_at is not None and not quiet:
        print(f"train: the loss diverged at step {history.diverged_at} ({history.loss[-1]:.4g}, from "
              f"{history.loss[0]:.4g}); the run stopped there. To see why, build the model afresh and call "
              f"tn.diagnose(model, data, ...) with the same arguments", file=sys.stderr)
    return history


def train_step(model: Any, loss_fn: Any, opt: Any, x: Any, labels: Any) -> Any:
    """One step of gradient descent on the batch (x, labels); returns its loss (before the update).

    x: (N, D), labels: (N,). The whole of training, four lines: data -> model -> loss ->
    backward -> optimizer.
    """
    check_train_step(model, loss_fn, opt)
    loss = loss_fn.forward(model.forward(x), labels)  # (): the mean loss over the batch
    model.backward(loss_fn.backward(1.0))  # from dL/dL = 1, every layer stores its gradients
    opt.step()  # theta <- theta - lr * dL/dtheta
    return loss


# --- The learner's pieces, or the defaults ----------------------------------------------------
def _pieces(model: Any, opt: Any, loss_fn: Any, lr: Any, momentum: Any) -> tuple[Any, Any]:
    """The optimizer and the loss: the learner's own, or the defaults built from lr."""
    if opt is None:
        if lr is None:
            raise TypeError("train: give lr=... (for the default optimizer, SGD) or your own opt=...")
        opt = SGD(model, lr=lr, momentum=momentum)
    elif lr is not None or momentum:
        raise TypeError("train: lr and momentum set up the default SGD; with your own opt=..., set them on it")
    if loss_fn is None:
        # Labels are range-checked once, on the host, by check_dataset: no device sync per step.
        loss_fn = SoftmaxCrossEntropy(validate_labels=False)
    check_train_step(model, loss_fn, opt)
    return opt, loss_fn


# --- The loop's helpers, one job each ------------------------------------------------------------
def _batches(x: Any, labels: Any, batch_size: int | None, rng: np.random.Generator, be: Backend) -> Iterator:
    """Endless (x, labels) batches: the whole set each step, or mini-batches that visit every
    example once per epoch, in an order reshuffled each epoch.

    The order goes to the device once per epoch: a copy to a GPU at every step would wait
    for all the work queued before it, a host sync per step.
    """
    n = x.shape[0]
    while batch_size is None or batch_size >= n:
        yield x, labels
    while True:
        order = be.asarray(rng.permutation(n))  # (N,) on the device
        for start in range(0, n - batch_size + 1, batch_size):  # a partial last batch is dropped
            idx = order[start:start + batch_size]  # (B,): a view, already on the device
            yield be.xp.take(x, idx, axis=0), be.xp.take(labels, idx, axis=0)


class _HostLosses:
    """The step losses, kept on the device and brought to the host once per measurement
    interval: float() on each loss would be a device-to-host copy, and on a GPU a wait, per
    step."""

    def __init__(self, history: History, bar: Any, be: Backend) -> None:
        self.history, self.bar, self.be = history, bar, be
        self.pending: list[Any] = []  # 0-d device arrays

    def add(self, loss: Any) -> None:
        self.pending.append(loss)

    def flush(self) -> bool:
        """Move the pending losses to the history; True if the run has diverged."""
        h, pending = self.history, self.pending
        values = self.be.to_numpy(self.be.xp.stack(pending)).tolist() if pending else []  # (steps in interval,)
        self.pending = []
        for value in values:
            h.loss.append(value)
            if not math.isfinite(value) or value > DIVERGENCE_FACTOR * max(h.loss[0], 1e-12):
                h.diverged_at = len(h.loss) - 1
                return True
        self.bar.update(len(values))
        if values:
            self.bar.set_postfix(loss=f"{h.loss[-1]:.4g}")
        return False


@contextlib.contextmanager
def _stops_on_ctrl_c(history: History, losses: _HostLosses) -> Iterator[None]:
    """Ctrl-C ends the run, not the program: the losses so far are kept, a measurement whose
    step never finished is dropped, and the history comes back marked interrupted."""
    try:
        yield
    except KeyboardInterrupt:
        losses.flush()
        _drop_unfinished_measurement(history)
        history.interrupted = True


@contextlib.contextmanager
def _quiet_arithmetic() -> Iterator[None]:
    """Overflow and invalid values in a diverging run are its symptom, recorded as
    ``diverged_at``: not warnings to print."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _measure(model: Any, loss_fn: Any, xb: Any, yb: Any, train_set: tuple, val_set: tuple, be: Backend,
             measure: Measure | None) -> dict[str, Any]:
    """Everything measured at one step, before its update; recorded by _record all at once, so
    a Ctrl-C in the middle leaves every series as long as ``eval_steps``."""
    loss_fn.forward(model.forward(xb), yb)  # this step's forward and backward, as train_step does them
    model.backward(loss_fn.backward(1.0))
    taken = {"grad_norm": gradient_norms(model, be), "relu_zero": relu_zero_fractions(model, be)}
    (x, labels), (x_val, labels_val) = train_set, val_set
    taken["train_acc"] = accuracy(model.forward(x), labels, be)
    taken["val_acc"] = accuracy(model.forward(x_val), labels_val, be) if labels_val.shape[0] else float("nan")
    taken["measured"] = {} if measure is None else _own_measurements(measure, model, x, labels)
    return taken


def _own_measurements(measure: Measure, model: Any, x: Any, labels: Any) -> dict[str, Any]:
    values = measure(model, x, labels)
    if not (isinstance(values, dict) and all(isinstance(k, str) for k in values)):
        raise TypeError(f"train: measure must return a dict of named numbers, {{name: value}}, got "
                        f"{type(values).__name__}")
    return values


def _record(history: History, step: int, taken: dict[str, Any]) -> None:
    history.eval_steps.append(step)
    history.train_acc.append(taken["train_acc"])
    history.val_acc.append(taken["val_acc"])
    for series in ("grad_norm", "relu_zero", "measured"):
        for name, value in taken[series].items():
            getattr(history, series).setdefault(name, []).append(value)


def _drop_unfinished_measurement(history: History) -> None:
    """A Ctrl-C inside a step loses that step's loss; its measurement, taken just before, goes
    too, so that every measured step has its loss (a measurement is whole or absent)."""
    if history.eval_steps and history.eval_steps[-1] >= len(history.loss):
        for series in (history.eval_steps, history.train_acc, history.val_acc, *history.grad_norm.values(),
                       *history.relu_zero.values(), *history.measured.values()):
            series.pop()


def _reached(history: History, until_loss: float) -> bool:
    """Record the first step whose loss is at or below ``until_loss``; True once there is one."""
    if history.reached_at is None:
        history.reached_at = first_step_at_or_below(history.loss, until_loss)
    return history.reached_at is not None


class _NoBar:
    def update(self, n: int) -> None: ...
    def set_postfix(self, **kw: Any) -> None: ...
    def close(self) -> None: ...


@contextlib.contextmanager
def _progress_bar(steps: int, desc: str, progress: bool | None) -> Iterator[Any]:
    """A tqdm bar on a terminal (or when asked), nothing otherwise; closed however the run ends."""
    if progress is None:
        progress = sys.stderr.isatty()
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps, desc=desc, unit="step", leave=False, dynamic_ncols=True)
    else:
        bar = _NoBar()
    try:
        yield bar
    finally:
        bar.close()
