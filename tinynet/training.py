"""The training loop: data -> model -> loss -> backward -> optimizer, once per step.

``train`` records the loss at every step and, every ``eval_every`` steps, what a person
needs to see why a run works or breaks: train and validation accuracy, each Linear layer's
gradient norm and the fraction of each ReLU's outputs that are zero (tinynet/metrics.py).
An experiment adds its own numbers through the ``measure`` hook.

A run that diverges (a loss that is not finite, or more than DIVERGENCE_FACTOR times its
starting value) stops there, and the step is recorded; the arithmetic warnings of the
diverging steps are the expected symptom, so they are silenced, not shown. Ctrl-C stops a
run cleanly: the history so far comes back marked ``interrupted``; in a script (not at a
prompt), a later train call then raises KeyboardInterrupt instead of starting: the script
asked to stop.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from .backend import Backend, dtype_name, host_rng
from .data import Dataset
from .losses import SoftmaxCrossEntropy
from .metrics import LossSummary, first_step_at_or_below, measured
from .model import Sequential, linear_layers
from .optim import SGD
from .training_checks import check_train, check_train_step, dtype_named

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

    def loss_summary(self) -> LossSummary:
        """The per-step losses as the doctor reads them (count, first, last, rises, lowest)."""
        return LossSummary.of(self.loss)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def plot(self, model: Any = None, data: Any = None) -> Any:
        """The run in one figure (tinynet/plot.py): loss, accuracy, gradient norms, and the
        boundary given the model and 2-D data. In a notebook it shows inline."""
        from .plot import plot

        return plot(self, model, data)

    def record(self, step: int, taken: dict[str, Any], own: Any) -> None:
        """One measurement, appended to every series at once: ``taken`` from
        tinynet.metrics.measured, ``own`` what train(measure=...) returned."""
        if not (isinstance(own, dict) and all(isinstance(k, str) for k in own)):
            raise TypeError(f"train: measure must return a dict of named numbers, {{name: value}}, got "
                            f"{type(own).__name__}")
        self.eval_steps.append(step)
        self.train_acc.append(taken["train_acc"])
        self.val_acc.append(taken["val_acc"])
        for series, values in (("grad_norm", taken["grad_norm"]), ("relu_zero", taken["relu_zero"]),
                               ("measured", own)):
            for name, value in values.items():
                getattr(self, series).setdefault(name, []).append(value)

    def drop_unfinished(self) -> None:
        """A Ctrl-C inside a step loses that step's loss; its measurement, taken before the
        update, goes too, so that every measured step has its loss (whole or absent)."""
        if self.eval_steps and self.eval_steps[-1] >= len(self.loss):
            for series in (self.eval_steps, self.train_acc, self.val_acc, *self.grad_norm.values(),
                           *self.relu_zero.values(), *self.measured.values()):
                series.pop()

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
    if _stop.requested and not interactive():  # a Ctrl-C ended an earlier run of this script: it asked to stop
        raise KeyboardInterrupt("train: a Ctrl-C stopped an earlier tn.train call of this script, which asked the "
                                "script to stop; it was not started")
    check_train(model, data, opt=opt, loss_fn=loss_fn, lr=lr, momentum=momentum, steps=steps,  # once, before the loop
                batch_size=batch_size, eval_every=eval_every, until_loss=until_loss, progress=progress, desc=desc,
                measure=measure, quiet=quiet)
    if opt is None:
        opt = SGD(model, lr=lr, momentum=momentum)
    if loss_fn is None:  # the labels were range-checked above, once, on the host: no device sync per step
        loss_fn = SoftmaxCrossEntropy(validate_labels=False)
    be, train_set, val_set = on_device(model, data)  # once, not per step
    eval_every = eval_every or max(1, steps // 200)
    order = batches(*train_set, batch_size, host_rng(seed, "train"), be)
    history = History()
    step_loss = dtype_named(loss_fn)  # a learner's loss: a backward in another dtype is named on its class
    if isinstance(model, Sequential):
        model.train()  # the steps in training mode (a dropout draws); the measurements switch to eval mode
    with _Run(history, steps, desc, progress, be, loss_fn) as run:  # the bar, the losses' way to the host, Ctrl-C
        for step, (x, labels) in zip(range(steps), order):
            logits = model.forward(x)  # (B, C)
            loss = step_loss.forward(logits, labels)  # (): the mean loss over the batch
            model.backward(step_loss.backward(1.0))  # from dL/dL = 1, every layer stores its gradients
            if step % eval_every == 0 or step == steps - 1:  # measured before the update
                history.record(step, measured(model, be, train_set, val_set),
                               {} if measure is None else measure(model, *train_set))
            opt.step()  # theta <- theta - lr * dL/dtheta
            run.add(loss)
            if (step + 1) % eval_every == 0 or step == steps - 1:
                if run.flush() or (until_loss is not None and _reached(history, until_loss)):
                    break  # diverged, or got there
    if history.diverged_at is not None and not quiet:
        print(f"train: the loss diverged at step {history.diverged_at} ({history.loss[-1]:.4g}, from "
              f"{history.loss[0]:.4g}); the run stopped there. To see why, build the model afresh and call "
              f"tn.diagnose(model, data, ...) with the same arguments", file=sys.stderr)
    return history


def on_device(model: Any, data: Dataset) -> tuple[Backend, tuple[Any, Any], tuple[Any, Any]]:
    """The model's backend, and the training and validation sets on it, as (x (N, D), labels
    (N,)) in the model's dtype: its first Linear's weights say where it computes, and how."""
    first = linear_layers(model)[0]
    be, dtype = first.backend, dtype_name(first.W.dtype)
    return (be, (be.asarray(data.x_train, dtype=dtype), be.asarray(data.y_train)),
            (be.asarray(data.x_val, dtype=dtype), be.asarray(data.y_val)))


def train_step(model: Any, loss_fn: Any, opt: Any, x: Any, labels: Any) -> Any:
    """One step of gradient descent on the batch (x, labels); returns its loss (before the update).

    x: (N, D), labels: (N,). The whole of training, four lines: data -> model -> loss ->
    backward -> optimizer. (train() makes the same four calls, with its measurements
    between the backward and the update.)
    """
    check_train_step(model, loss_fn, opt)
    loss = loss_fn.forward(model.forward(x), labels)  # (): the mean loss over the batch
    model.backward(loss_fn.backward(1.0))  # from dL/dL = 1, every layer stores its gradients
    opt.step()  # theta <- theta - lr * dL/dtheta
    return loss


# --- The loop's helpers, one job each ------------------------------------------------------------
def batches(x: Any, labels: Any, batch_size: int | None, rng: np.random.Generator, be: Backend) -> Iterator:
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


class _Run:
    """What surrounds the loop, so that its body is the step alone:

    - the losses, kept on the device and brought to the host once per measurement interval
      (float() on each loss would be a device-to-host copy, and on a GPU a wait, per step),
      each checked for divergence there;
    - the progress bar (tqdm on a terminal, or when asked);
    - the arithmetic warnings of a diverging run, silenced: overflow and invalid values are
      its symptom, recorded as ``diverged_at``;
    - Ctrl-C, which ends the run and not the program: the losses so far are kept, a
      measurement whose step never finished is dropped, and the history comes back marked
      interrupted;
    - the run's wall time.
    """

    def __init__(self, history: History, steps: int, desc: str, progress: bool | None, be: Backend,
                 loss_fn: Any) -> None:
        self.history, self.be, self.loss_fn = history, be, loss_fn
        self.pending: list[Any] = []  # 0-d device arrays: the losses not yet on the host
        if progress is None:
            progress = sys.stderr.isatty()
        self.bar = _progress_bar(steps, desc) if progress else None
        self.quiet = contextlib.ExitStack()

    def __enter__(self) -> _Run:
        self.start = time.perf_counter()
        self.quiet.enter_context(warnings.catch_warnings())
        self.quiet.enter_context(np.errstate(all="ignore"))
        warnings.simplefilter("ignore", RuntimeWarning)
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> bool:
        stopped = kind is not None and issubclass(kind, KeyboardInterrupt)
        try:
            if stopped:
                _stop.requested = True  # the next train call of a script does not start (see ``interactive``)
                self.flush()
                self.history.drop_unfinished()
                self.history.interrupted = True
        finally:
            self.quiet.close()
            if self.bar is not None:
                self.bar.close()
            self.history.seconds = time.perf_counter() - self.start
        return stopped  # Ctrl-C is handled here; any other error goes on up

    def add(self, loss: Any) -> None:
        """A step's loss, as loss_fn.forward returned it: one number, a 0-d array or a real."""
        if not (getattr(loss, "shape", None) == () or isinstance(loss, numbers.Real)) or isinstance(loss, bool):
            shape = f" of shape {tuple(loss.shape)}" if hasattr(loss, "shape") else ""
            raise TypeError(f"train: {type(self.loss_fn).__name__}.forward returned {type(loss).__name__}{shape}; "
                            f"it must return the loss as one number (a 0-d array or a float): the mean over the batch")
        self.pending.append(loss)

    def flush(self) -> bool:
        """Move the pending losses to the history; True if the run has diverged."""
        h, pending = self.history, self.pending
        values = self.be.to_numpy(self.be.xp.stack(pending)).tolist() if pending else []  # (steps in interval,)
        self.pending = []
        for value in values:
            h.loss.append(value)
            if diverged(value, h.loss[0]):
                h.diverged_at = len(h.loss) - 1
                return True
        if self.bar is not None and values:
            self.bar.update(len(values))
            self.bar.set_postfix(loss=f"{h.loss[-1]:.4g}")
        return False


def diverged(loss: float, first: float) -> bool:
    """A step's loss (on the host) that says the run diverged: not finite, or more than
    DIVERGENCE_FACTOR times the run's first loss."""
    return not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * max(first, 1e-12)


class _Stop:
    """Whether a Ctrl-C (or SIGTERM) has ended a run of this process. train returns that run's
    history, marked interrupted, rather than raising: a notebook keeps what it trained. But a
    script that calls train many times asked to stop, not to skip to its next run: there, the
    next train call raises KeyboardInterrupt instead of starting (docs/architecture.md)."""

    requested = False


_stop = _Stop()


def interactive() -> bool:
    """A person at a prompt (the Python or IPython prompt, Jupyter, python -i), where each cell
    or line is a new request: a Ctrl-C there stops that run alone."""
    return hasattr(sys, "ps1") or bool(sys.flags.interactive) or "ipykernel" in sys.modules or (
        "IPython" in sys.modules and getattr(sys.modules["IPython"], "get_ipython", lambda: None)() is not None)


def _progress_bar(steps: int, desc: str) -> Any:
    from tqdm import tqdm  # here: a run without a bar never imports it

    return tqdm(total=steps, desc=desc, unit="step", leave=False, dynamic_ncols=True)


def _reached(history: History, until_loss: float) -> bool:
    """Record the first step whose loss is at or below ``until_loss``; True once there is one."""
    if history.reached_at is None:
        history.reached_at = first_step_at_or_below(history.loss, until_loss)
    return history.reached_at is not None
