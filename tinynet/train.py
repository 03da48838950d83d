"""The training loop: gradient descent with a history that explains what happened.

data -> model -> loss -> backward -> optimizer, once per step. The history records the
loss at every step and, every ``eval_every`` steps, what a person needs to see why a run
works or breaks: train and validation accuracy, each Linear layer's gradient norm, the
fraction of ReLU outputs that are zero, and, when a ReLU follows the last layer, the
fraction of logits clipped to zero, the output units that get no gradient at all, and the
fraction of examples whose own class's logit is clipped (their loss cannot fall below ln 2).

A run that diverges (a loss that is not finite, or more than DIVERGENCE_FACTOR times its
starting value) stops there, and the step is recorded; the arithmetic warnings of the
diverging steps are the expected symptom, so they are silenced, not shown. Ctrl-C stops a
run cleanly: the history so far comes back marked ``interrupted``.
"""
from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backend import Backend, dtype_name, get_backend, host_rng
from .checks import check_train_step, is_positive_int, is_real
from .data import Dataset
from .layers import Linear, ReLU
from .losses import SoftmaxCrossEntropy
from .model import Sequential
from .optim import SGD

DIVERGENCE_FACTOR = 10.0  # a finite loss above 10x its first value counts as diverged


@dataclass
class History:
    """What one run measured; plain Python lists, ready for JSON and plotting."""

    loss: list[float] = field(default_factory=list)  # one per step taken
    eval_steps: list[int] = field(default_factory=list)  # steps at which the rest was measured
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    grad_norm: dict[str, list[float]] = field(default_factory=dict)  # per Linear layer
    relu_zero: dict[str, list[float]] = field(default_factory=dict)  # per ReLU: fraction of outputs = 0
    # Fraction of the last Linear's outputs <= 0: clipped to 0 when a ReLU follows it; for a
    # healthy model, what such a ReLU would clip.
    logits_clipped: list[float] = field(default_factory=list)
    dead_outputs: list[float] = field(default_factory=list)  # output units clipped on every example
    dead_units: list[list[int]] = field(default_factory=list)  # which units those are (indices)
    # Fraction of examples whose true class's logit is <= 0. Behind a last ReLU that logit is
    # exactly 0 and gets no gradient, so the example's loss is at least ln 2 (the other logits
    # are >= 0): the run's loss cannot go below ln 2 times this fraction. For a healthy model,
    # what such a ReLU would strand.
    stranded: list[float] = field(default_factory=list)
    diverged_at: int | None = None  # first step whose loss diverged
    reached_at: int | None = None  # with train(until_loss=...): first step at or below it
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def steps_taken(self) -> int:
        return len(self.loss)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def linear_layers(model: Any) -> list[Linear]:
    """The model's Linear layers; refuses a model train() cannot use, saying why."""
    if not isinstance(model, Sequential):
        raise TypeError(f"train: model must be a tn.Sequential (e.g. tn.create_model([2, 500, 500, 2])), "
                        f"got {type(model).__name__}")
    linears = [layer for layer in model.layers if isinstance(layer, Linear)]
    if not linears:
        raise ValueError(f"train: {model!r} has no Linear layer, so nothing to train; build it with "
                         f"tn.create_model(...) or tn.Sequential(tn.Linear(...), ...)")
    return linears


def check_dataset(data: Dataset, model: Sequential) -> None:
    """Refuse data the model cannot learn from, before any step is taken."""
    if not isinstance(data, Dataset):
        raise TypeError(f"train: data must be a tinynet.data.Dataset (make_dataset(...) or "
                        f"Dataset(name, x_train, y_train, x_val, y_val)), got {type(data).__name__}")
    linears = linear_layers(model)
    dtype = dtype_name(linears[0].W.dtype)
    for part in ("train", "val"):
        x, y = getattr(data, f"x_{part}"), getattr(data, f"y_{part}")
        # Host NumPy arrays, as make_dataset gives: real inputs (complex ones would lose their
        # imaginary part in the cast, silently) and integer labels.
        real = isinstance(x, np.ndarray) and (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer))
        if not real:
            raise TypeError(f"{part} set: inputs (x_{part}) must be a NumPy array of real numbers, got "
                            f"{x.dtype if isinstance(x, np.ndarray) else type(x).__name__}")
        if not (isinstance(y, np.ndarray) and np.issubdtype(y.dtype, np.integer)):
            raise TypeError(f"{part} set: labels (y_{part}) must be a NumPy array of integers (class indices), got "
                            f"{y.dtype if isinstance(y, np.ndarray) else type(y).__name__}")
        if x.ndim != 2:
            raise ValueError(f"{part} set: inputs must have shape (N, features), got shape {x.shape}")
        if y.ndim != 1:
            raise ValueError(f"{part} set: labels must have shape (N,), one per input row, got shape {y.shape}")
        if len(x) != len(y):
            raise ValueError(f"{part} set: {len(x)} inputs but {len(y)} labels; they must match one to one")
        with np.errstate(over="ignore"):
            seen = np.asarray(x).astype(dtype)  # what the model will see: 1e300 is inf in float32
        if len(x) and not np.isfinite(seen).all():
            bad = int(np.sum(~np.isfinite(seen).all(axis=1)))
            raise ValueError(f"{part} set: {bad} input rows contain NaN or inf as {dtype} (the model's dtype; "
                             f"{np.finfo(dtype).max:.3g} is its largest number); clean, rescale or drop them "
                             f"before training")
    if len(data.x_train) == 0:
        raise ValueError("the training set is empty")
    first, last = linears[0], linears[-1]
    if data.x_train.shape[1] != first.W.shape[0]:
        raise ValueError(f"the data has {data.x_train.shape[1]} features but the model's first layer "
                         f"{first!r} expects {first.W.shape[0]}")
    labels = np.concatenate([data.y_train, data.y_val])
    if labels.min() < 0 or labels.max() >= last.W.shape[1]:
        raise ValueError(f"label out of range: labels run from {labels.min()} to {labels.max()} but the "
                         f"model has {last.W.shape[1]} outputs (classes 0..{last.W.shape[1] - 1})")


def train(
    model: Sequential,
    data: Dataset,
    *,
    lr: float,
    steps: int,
    batch_size: int | None = None,
    momentum: float = 0.0,
    eval_every: int | None = None,
    seed: int = 0,
    backend: str | Backend | None = None,
    progress: bool | None = None,
    desc: str = "training",
    until_loss: float | None = None,
) -> History:
    """Train ``model`` on ``data`` for ``steps`` steps of SGD and return its History.

    batch_size: None for full-batch gradient descent (what the log did), else mini-batches
                drawn without replacement from an order reshuffled each epoch with ``seed``
                (the n % batch_size examples left over at an epoch's end sit that epoch out).
    eval_every: steps between measurements (default: about 200 over the run).
    progress:   a tqdm bar; None shows it only when stderr is a terminal.
    until_loss: stop once the training loss has been at or below this (None: run all steps).
                Losses reach the host once per measurement interval, so the run stops at
                the end of the interval in which it got there; ``reached_at`` says the step,
                and the last measurement is the one at that interval's start.
    """
    if not is_positive_int(steps):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if batch_size is not None and not is_positive_int(batch_size):
        raise ValueError(f"batch_size must be a positive integer or None (full batch), got {batch_size!r}")
    if eval_every is not None and not is_positive_int(eval_every):
        raise ValueError(f"eval_every must be a positive integer or None (about 200 per run), got {eval_every!r}")
    if until_loss is not None and not (is_real(until_loss) and math.isfinite(until_loss)):
        raise ValueError(f"until_loss must be a finite number or None (run all steps), got {until_loss!r}")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None (a bar only on a terminal), got {progress!r}")
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a string (the progress bar's label), got {desc!r}")
    check_dataset(data, model)
    be = get_backend(backend)
    dtype = dtype_name(linear_layers(model)[0].W.dtype)
    x_train = be.asarray(data.x_train, dtype=dtype)  # (N, D), on the device once
    y_train = be.asarray(data.y_train)
    x_val = be.asarray(data.x_val, dtype=dtype)
    y_val = be.asarray(data.y_val)
    n = len(data.x_train)
    eval_every = eval_every or max(1, steps // 200)
    loss_fn = SoftmaxCrossEntropy(validate_labels=False)  # checked once above: no host sync per step
    opt = SGD(model, lr=lr, momentum=momentum)
    rng = host_rng(seed, "train")
    order: Any = None  # this epoch's example order, on the device
    position = n  # n: the first step starts an epoch
    history = History()
    pending: list[Any] = []  # device scalars, brought to the host once per eval interval

    bar = _progress_bar(steps, desc, progress)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            for step in range(steps):
                if batch_size is None or batch_size >= n:
                    xb, yb = x_train, y_train
                else:
                    if position + batch_size > n:  # epoch done: a new order; a partial last batch is dropped
                        # Sent to the device once per epoch: a copy to a GPU at every step would wait
                        # for all the work queued before it, a host sync per step.
                        order, position = be.asarray(rng.permutation(n)), 0
                    idx = order[position:position + batch_size]  # (B,): a view, already on the device
                    position += batch_size
                    xb, yb = be.xp.take(x_train, idx, axis=0), be.xp.take(y_train, idx, axis=0)
                last = step == steps - 1
                if step % eval_every == 0 or last:
                    # Measured before the update, from this step's own gradients (a
                    # forward and backward more, one step in eval_every).
                    _measure(history, step, model, loss_fn, xb, yb, x_train, y_train, x_val, y_val, be)
                pending.append(train_step(model, loss_fn, opt, xb, yb))
                if (step + 1) % eval_every == 0 or last:
                    if _flush(history, pending, bar, be):
                        break
                    if until_loss is not None and _reached(history, until_loss):
                        break
    except KeyboardInterrupt:
        _flush(history, pending, bar, be)
        _drop_unfinished_measurement(history)
        history.interrupted = True
    finally:
        bar.close()
    history.seconds = time.perf_counter() - start
    return history


def train_step(model: Any, loss_fn: SoftmaxCrossEntropy, opt: SGD, x: Any, labels: Any) -> Any:
    """One step of gradient descent on the batch (x, labels); returns its loss (before the update).

    x: (N, D), labels: (N,). The whole of training, four lines: data -> model -> loss ->
    backward -> optimizer.
    """
    check_train_step(model, loss_fn, opt)
    loss = loss_fn.forward(model.forward(x), labels)  # (): the mean loss over the batch
    model.backward(loss_fn.backward())  # every layer stores its gradients
    opt.step()  # theta <- theta - lr * dL/dtheta
    return loss


def _drop_unfinished_measurement(history: History) -> None:
    """A Ctrl-C inside a step loses that step's loss; its measurement, taken just before, goes
    too, so that every measured step has its loss (a measurement is whole or absent)."""
    if history.eval_steps and history.eval_steps[-1] >= len(history.loss):
        for series in (history.eval_steps, history.train_acc, history.val_acc, history.logits_clipped,
                       history.dead_outputs, history.dead_units, history.stranded,
                       *history.grad_norm.values(), *history.relu_zero.values()):
            series.pop()


def _reached(history: History, until_loss: float) -> bool:
    """Record the first step whose loss is at or below ``until_loss``; True once there is one."""
    if history.reached_at is None:
        history.reached_at = next((i for i, v in enumerate(history.loss) if v <= until_loss), None)
    return history.reached_at is not None


def _flush(history: History, pending: list[Any], bar: Any, be: Backend) -> bool:
    """Move the pending losses to the host; True if the run has diverged.

    One copy for the whole interval: float() on each loss would be a device-to-host copy,
    and on a GPU a wait, per step.
    """
    values = be.to_numpy(be.xp.stack(pending)).tolist() if pending else []  # (steps in interval,)
    for value in values:
        history.loss.append(value)
        first = history.loss[0]
        if not math.isfinite(value) or value > DIVERGENCE_FACTOR * max(first, 1e-12):
            history.diverged_at = len(history.loss) - 1
            pending.clear()
            return True
    bar.update(len(pending))
    if pending:
        bar.set_postfix(loss=f"{history.loss[-1]:.4g}")
    pending.clear()
    return False


def _measure(history: History, step: int, model: Sequential, loss_fn: SoftmaxCrossEntropy, xb, yb,
             x_train, y_train, x_val, y_val, be: Backend) -> None:
    """Gradient norms and ReLU statistics of the step about to be taken, then accuracies.

    Everything is measured first and recorded at the end, so a Ctrl-C in the middle leaves
    every series of the history the same length as ``eval_steps``.
    """
    xp = be.xp
    loss_fn.forward(model.forward(xb), yb)  # this step's forward and backward, as train_step does them
    model.backward(loss_fn.backward())
    grad_norm, relu_zero = {}, {}
    for i, layer in enumerate(model.layers):
        name = f"layers[{i}] {layer!r}"
        if isinstance(layer, Linear):
            grad_norm[name] = float(xp.sqrt(xp.sum(layer.dW ** 2) + xp.sum(layer.db ** 2)))
        elif isinstance(layer, ReLU):
            relu_zero[name] = 1.0 - float(xp.mean(xp.astype(layer.mask, xp.float32)))
    out = model.forward(x_train)  # (N, C): the model's output on the whole training set
    relu_last = isinstance(model.layers[-1], ReLU)
    # Which logits pass a last ReLU (its mask); for a healthy model, which ones would.
    passed = model.layers[-1].mask if relu_last else out > 0  # (N, C) bool
    clipped = 1.0 - float(xp.mean(xp.astype(passed, xp.float32)))
    n_classes = out.shape[1]
    is_label = xp.reshape(be.arange(n_classes), (1, n_classes)) == xp.reshape(y_train, (-1, 1))  # (N, C)
    own_passed = xp.any(passed & is_label, axis=1)  # (N,): the example's own logit passed
    stranded = 1.0 - float(xp.mean(xp.astype(own_passed, xp.float32)))
    dead_units: list[int] = []
    if relu_last:  # an output unit gets no gradient from the batch when clipped on every example
        alive = be.to_numpy(xp.any(passed, axis=0))  # (C,), a few bytes to the host
        dead_units = [int(i) for i in np.flatnonzero(~alive)]
    dead = len(dead_units) / n_classes
    train_acc = accuracy(out, y_train, be)
    val_acc = accuracy(model.forward(x_val), y_val, be) if y_val.shape[0] else float("nan")

    history.eval_steps.append(step)
    for name, value in grad_norm.items():
        history.grad_norm.setdefault(name, []).append(value)
    for name, value in relu_zero.items():
        history.relu_zero.setdefault(name, []).append(value)
    history.logits_clipped.append(clipped)
    history.dead_outputs.append(dead)
    history.dead_units.append(dead_units)
    history.stranded.append(stranded)
    history.train_acc.append(train_acc)
    history.val_acc.append(val_acc)


def accuracy(out: Any, y: Any, be: Backend) -> float:
    """Fraction of rows whose largest output is the label (ties go to the lowest index)."""
    xp = be.xp
    predicted = xp.argmax(out, axis=1)  # (N,)
    return float(xp.mean(xp.astype(predicted == y, xp.float32)))


def predict_grid(model: Sequential, be: Backend, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Predicted class on a grid of 2-D points, as a host array of shape (len(ys), len(xs))."""
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    dtype = dtype_name(linear_layers(model)[0].W.dtype)
    out = model.forward(be.asarray(points, dtype=dtype))
    return be.to_numpy(be.xp.argmax(out, axis=1)).reshape(gx.shape)


class _NoBar:
    def update(self, n: int) -> None: ...
    def set_postfix(self, **kw: Any) -> None: ...
    def close(self) -> None: ...


def _progress_bar(steps: int, desc: str, progress: bool | None) -> Any:
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=steps, desc=desc, unit="step", leave=False, dynamic_ncols=True)
