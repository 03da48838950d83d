"""What the training loop measures about any model, and predictions for plotting.

Each function reads the model's state after a forward (and, for gradient norms, a backward)
and returns host numbers: one small device-to-host copy per number, taken only at the
loop's measurement steps (``measured``, all of them at once).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .backend import Backend, dtype_name
from .layers import Linear, ReLU
from .losses import label_mask
from .model import evaluating, layer_label, linear_layers


def measured(model: Any, be: Backend, train_set: tuple[Any, Any], val_set: tuple[Any, Any]) -> dict[str, Any]:
    """Right after a step's backward, before its update: each Linear's gradient norm and the
    zeros behind each ReLU on that step's batch, then the accuracy on the whole training set
    and on the validation set (NaN without one). In this order: the accuracies' forward
    passes replace what the layers kept of the step's batch.

    train_set, val_set: (x (N, D), labels (N,)) on the backend.
    """
    taken: dict[str, Any] = {"grad_norm": gradient_norms(model, be), "relu_zero": relu_zero_fractions(model, be)}
    (x, labels), (x_val, labels_val) = train_set, val_set
    with evaluating(model):  # a dropout passes its input on: the accuracy of the model, not of one draw
        taken["train_acc"] = accuracy(model.forward(x), labels, be)
        taken["val_acc"] = accuracy(model.forward(x_val), labels_val, be) if labels_val.shape[0] else float("nan")
    return taken


def gradient_norms(model: Any, be: Backend) -> dict[str, float]:
    """After a backward: each Linear layer's gradient norm, sqrt(|dW|^2 + |db|^2).

    A norm that collapses towards 0 layer after layer is a vanishing gradient; one that
    explodes is what a too-large learning rate feeds on.
    """
    xp = be.xp
    return {layer_label(i, layer): float(xp.sqrt(xp.sum(layer.dW ** 2) + xp.sum(layer.db ** 2)))
            for i, layer in enumerate(model.layers) if isinstance(layer, Linear)}


def relu_zero_fractions(model: Any, be: Backend) -> dict[str, float]:
    """After a forward: for each ReLU, the fraction of its outputs that are 0 (its inputs
    were <= 0, so no gradient passes back through them)."""
    xp = be.xp
    return {layer_label(i, layer): 1.0 - float(xp.mean(xp.astype(layer.mask, xp.float32)))
            for i, layer in enumerate(model.layers) if isinstance(layer, ReLU)}


def accuracy(out: Any, labels: Any, be: Backend) -> float:
    """Fraction of rows whose largest output is the label (ties go to the lowest index).

    out: (N, C) on the backend, labels: (N,) integers.
    """
    xp = be.xp
    predicted = xp.argmax(out, axis=1)  # (N,)
    return float(xp.mean(xp.astype(predicted == labels, xp.float32)))


def grid_around(x: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates (xs, ys), ``resolution`` each, covering 2-D points x (N, 2) with a
    margin of 0.25: where a decision boundary is drawn."""
    lo, hi = x.min(axis=0) - 0.25, x.max(axis=0) + 0.25
    return np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)


def predict(model: Any, be: Backend, x: np.ndarray) -> np.ndarray:
    """Predicted class of each row of host inputs x (N, D): a host array (N,) of ints."""
    dtype = dtype_name(linear_layers(model)[0].W.dtype)
    with evaluating(model):
        out = model.forward(be.asarray(x, dtype=dtype))  # (N, C)
    return be.to_numpy(be.xp.argmax(out, axis=1))


def predict_grid(model: Any, be: Backend, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Predicted class on a grid of 2-D points, as a host array of shape (len(ys), len(xs))."""
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)  # (len(xs) * len(ys), 2)
    return predict(model, be, points).reshape(gx.shape)


def own_output_at_zero(out: Any, labels: Any, be: Backend) -> float:
    """out: (N, C), labels: (N,) -> the share of examples whose output for their own class is
    <= 0 (exactly k / N). Behind a ReLU such an output passes no gradient: nothing in that
    example's own loss can raise it, and while it stays at 0 its loss is ln C or more."""
    xp = be.xp
    at_zero = xp.any(label_mask(labels, out.shape[1], be) & (out <= 0), axis=1)  # (N,)
    return float(xp.mean(xp.astype(at_zero, xp.float64)))


def unit_spread(layer: Any, be: Backend) -> float:
    """How different a layer's units are: the largest standard deviation, across its units, of
    one incoming weight (or of the bias). 0 when every unit computes the same function."""
    xp = be.xp
    return max(float(xp.max(xp.std(layer.W, axis=1))), float(xp.std(layer.b)) if hasattr(layer, "b") else 0.0)


@dataclass
class LossSummary:
    """What the doctor reads of a run's per-step losses, kept as they come: how many, the
    first, the last, how many steps rose over the step before, the lowest (min's own order)."""

    count: int = 0
    first: float = math.nan
    last: float = math.nan
    rises: int = 0
    lowest: float = math.nan

    def add(self, loss: float) -> None:
        if self.count == 0:
            self.first = self.lowest = loss
        else:
            self.rises += loss > self.last
            if loss < self.lowest:
                self.lowest = loss
        self.last = loss
        self.count += 1

    @classmethod
    def of(cls, losses: Sequence[float]) -> LossSummary:
        summary = cls()
        for loss in losses:
            summary.add(loss)
        return summary


def fell(losses: Sequence[float]) -> float:
    """How far the loss fell over a run, as a share of where it started: 1 - last / first
    (0.9: it lost 90% of its start; negative: it rose; a start of 0 had nothing to lose: 0)."""
    first, last = losses[0], losses[-1]
    return 0.0 if first == 0 else 1 - last / first


def first_step_at_or_below(losses: Sequence[float], level: float) -> int | None:
    """The first step whose loss is at or below ``level``; None if none is."""
    return next((step for step, loss in enumerate(losses) if loss <= level), None)
