"""The doctor's eyes during a run: a ``measure`` hook for tn.train.

At every measurement step (before that step's update) it records, for each layer with
weights, how far its weights moved since the last measurement relative to their size, and for
each hidden ReLU the share of its units that output 0 for every training example. At the
first measurement it runs the checks before the first step (exam.py). It returns only what
the learner's own hook returns, so the run's History is the one tn.train would give.

    watch = tn.doctor.Watcher(data, loss_fn=my_loss)
    hist = tn.train(model, data, steps=500, loss_fn=my_loss, measure=watch)
    print(watch.diagnosis(hist))
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..backend import backend_of
from ..checks import check_batch_size, check_measure, is_real
from ..layers import ReLU
from ..losses import SoftmaxCrossEntropy
from ..model import evaluating, layer_label
from ..metrics import own_output_at_zero
from .exam import Exam, examine, relative_spread, weighted
from .randomness import untouched


class Watcher:
    """Pass it as train(measure=...), with the data and the pieces given to train."""

    def __init__(self, data: Any = None, *, loss_fn: Any = None, lr: float | None = None,
                 batch_size: int | None = None, measure: Callable | None = None) -> None:
        # train's own checks, and words: tn.diagnose builds its Watcher before train checks its arguments.
        check_measure(measure)
        check_batch_size(batch_size)
        if lr is not None and not (is_real(lr) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a positive finite number (the run's learning rate), or None; got {lr!r}")
        self.data, self.loss_fn, self.lr, self.batch_size, self.measure = data, loss_fn, lr, batch_size, measure
        self.exam: Exam | None = None
        self.moved: dict[str, list[float]] = {}  # layer label -> |change| / |weights| since the last measurement
        self.dead: dict[str, list[float]] = {}  # hidden ReLU label -> share of units dead on every example
        self.spread: dict[str, list[float]] = {}  # layer label -> relative spread between units (identical ones)
        self.norms: dict[str, list[float]] = {}  # layer label -> |weights| (all its parameters) at each measurement
        self.own_output_at_zero: list[float] = []  # with a clipping layer: share of examples whose own output is 0
        self.first_loss: float | None = None  # its loss on the training set at the first measurement
        self._last: dict[str, Any] = {}  # the weights at the last measurement

    def __call__(self, model: Any, x: Any, labels: Any) -> dict[str, Any]:
        # In eval mode, as every measurement; and drawing nothing from the run's random
        # generators (a dropout's), so that the run's numbers are tn.train's.
        with untouched(model):
            if self.exam is None:
                with evaluating(model):
                    self.exam = examine(model, x, labels, self.loss_fn)
                self.first_loss = self._own_loss(model, x, labels)  # in the run's own mode: the loss it trained on
            with evaluating(model):
                self._movement(model)
                self._units(model, x, labels)
        return {} if self.measure is None else self.measure(model, x, labels)

    def _own_loss(self, model: Any, x: Any, labels: Any) -> float | None:
        """The loss this Watcher was given, on the whole training set at the first measurement:
        with full batches it is the run's first loss, bit for bit, if the run used that loss.
        None where there is nothing to compare: a model or loss that draws at random (a dropout
        left on gives another value each time) or one that raises (the exam names that)."""
        loss_fn = self.loss_fn or SoftmaxCrossEntropy()
        try:
            with np.errstate(all="ignore"):
                once, again = (float(loss_fn.forward(model.forward(x), labels)) for _ in range(2))
        except Exception:
            return None
        return once if once == again or (math.isnan(once) and math.isnan(again)) else None

    def _movement(self, model: Any) -> None:
        """|W_now - W_then| / |W_now| over each weighted layer's parameters, since the last measurement."""
        for i, layer in enumerate(model.layers):
            if not weighted(layer):
                continue
            label = layer_label(i, layer)
            params = [getattr(layer, name) for name in layer.param_names]
            xp = backend_of(params[0]).xp
            size = math.sqrt(sum(float(xp.sum(p * p)) for p in params))
            self.norms.setdefault(label, []).append(size)
            before = self._last.get(label)
            if before is not None and size > 0:
                change = math.sqrt(sum(float(xp.sum((p - q) ** 2)) for p, q in zip(params, before)))
                self.moved.setdefault(label, []).append(change / size)
            self._last[label] = [p + 0 for p in params]  # a copy: an optimizer may update in place

    def _units(self, model: Any, x: Any, labels: Any) -> None:
        """Dead units behind each hidden ReLU, identical units, and outputs clipped at 0."""
        be = backend_of(x)
        xp = be.xp
        last = max(i for i, layer in enumerate(model.layers) if weighted(layer))
        out = x
        for i, layer in enumerate(model.layers):
            out = layer.forward(out)
            if isinstance(layer, ReLU) and i < last:
                alive = xp.any(layer.mask, axis=0)  # (units,): passed something for some example
                share = 1.0 - float(xp.mean(xp.astype(alive, xp.float32)))
                self.dead.setdefault(layer_label(i, layer), []).append(share)
        for i in self.exam.identical:
            self.spread.setdefault(layer_label(i, model.layers[i]), []).append(relative_spread(model.layers[i], be))
        if self.exam.clipping is not None:
            self.own_output_at_zero.append(own_output_at_zero(out, labels, be))

    def _check_same_loss(self, history: Any) -> None:
        """A Watcher told of another loss than the run used would examine, and blame, a loss the
        run never ran. With full batches the run's first loss is the Watcher's loss on the
        training set before any update: if they differ, the Watcher was told wrong."""
        first, own = (history.loss[0] if history.loss else None), self.first_loss
        if self.batch_size is not None or first is None or own is None or not math.isfinite(first):
            return
        if not math.isclose(first, own, rel_tol=1e-5, abs_tol=1e-7):
            told = type(self.loss_fn).__name__ if self.loss_fn is not None else "none (tinynet's SoftmaxCrossEntropy)"
            raise ValueError(f"Watcher.diagnosis: the run's first loss was {first:.6g}, but the loss this Watcher was "
                             f"given ({told}) gives {own:.6g} there: the run used another loss, or mini-batches. Pass "
                             f"Watcher(data, loss_fn=..., batch_size=...) the loss_fn and batch_size you gave train")

    def diagnosis(self, history: Any) -> Any:
        """The diagnosis of the run this watcher watched, from its History."""
        from ..training import History
        from .rules import diagnosis

        if not isinstance(history, History):
            raise TypeError(f"Watcher.diagnosis takes the History that tn.train returned for the run it watched, got "
                            f"{type(history).__name__}")
        if self.exam is None and history.loss and not history.interrupted:  # train measures at its first step
            raise ValueError("Watcher.diagnosis: this Watcher saw none of the run's steps; pass it to train as "
                             "measure=watch (or call tn.diagnose), then ask it")
        self._check_same_loss(history)
        return diagnosis(self, history)
