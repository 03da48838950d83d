"""What the training loop measures about any model, and predictions for plotting.

Each function reads the model's state after a forward (and, for gradient norms, a backward)
and returns host numbers: one small device-to-host copy per number, taken only at the
loop's measurement steps.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .backend import Backend, dtype_name
from .layers import Linear, ReLU
from .model import layer_label


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


def first_linear(model: Any) -> Linear:
    """The model's first Linear layer: its W says the dtype and the number of input features."""
    return next(layer for layer in model.layers if isinstance(layer, Linear))


def predict_grid(model: Any, be: Backend, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Predicted class on a grid of 2-D points, as a host array of shape (len(ys), len(xs))."""
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)  # (len(xs) * len(ys), 2)
    dtype = dtype_name(first_linear(model).W.dtype)
    out = model.forward(be.asarray(points, dtype=dtype))
    return be.to_numpy(be.xp.argmax(out, axis=1)).reshape(gx.shape)


def first_step_at_or_below(losses: Sequence[float], level: float) -> int | None:
    """The first step whose loss is at or below ``level``; None if none is."""
    return next((step for step, loss in enumerate(losses) if loss <= level), None)
