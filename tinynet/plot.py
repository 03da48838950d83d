"""A run drawn in one call, for a notebook: ``tn.plot(hist)`` or ``hist.plot()``.

    hist = tn.train(model, data, steps=2000, lr=0.1)
    hist.plot(model, data)        # in Jupyter the figure shows inline, below the cell

Panels: the training loss at every step (log scale); training and validation accuracy at the
measurement steps; each Linear layer's gradient norm (log scale); and, given the model and
2-D data, the decision boundary over the training points. Given the model and image data
(digits, MNIST: ``data.image_shape`` set), a second row in place of the boundary: the first
layer's weights as images, the confusion matrix and the misclassified examples, on the
validation set (the training set where there is none; tinynet/images.py draws them). Built with Matplotlib's
object-oriented API (a Figure, no pyplot): it changes no backend and opens no window, and
Jupyter draws the returned figure inline. Host data only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import images
from .metrics import grid_around, predict, predict_grid
from .model import linear_layers

if TYPE_CHECKING:
    from matplotlib.figure import Figure

GRID = 120  # the boundary's grid, per side


def plot(history: Any, model: Any = None, data: Any = None) -> Figure:
    """The run's figure: loss, accuracy, gradient norms, and the boundary where a model and
    2-D data are given. Returns the Figure (save it with fig.savefig("run.png"))."""
    if not (hasattr(history, "loss") and hasattr(history, "eval_steps")):
        raise TypeError(f"plot: takes the History that tn.train returned, got {type(history).__name__}")
    if (model is None) != (data is None):
        raise TypeError("plot: the boundary needs both the model and the data (plot(hist, model, data)), or neither")
    from matplotlib.figure import Figure  # here: import tinynet stays light

    boundary = model is not None and np.asarray(data.x_train).ndim == 2 and np.asarray(data.x_train).shape[1] == 2
    pictures = model is not None and getattr(data, "image_shape", None) is not None
    panels = 4 if boundary else 3
    fig = Figure(figsize=(3.6 * panels, 6.8 if pictures else 3.2), layout="constrained")
    top = fig.subfigures(2, 1, height_ratios=[1, 1.1]) if pictures else [fig]
    axes = top[0].subplots(1, panels)
    loss = np.asarray(history.loss, dtype=float)
    axes[0].plot(np.arange(len(loss)), np.where(np.isfinite(loss), loss, np.nan), lw=1.2)
    axes[0].set(yscale="log", xlabel="step", title="training loss")
    if history.diverged_at is not None:
        axes[0].axvline(history.diverged_at, color="red", ls="--", lw=1, label=f"diverged at {history.diverged_at}")
        axes[0].legend(fontsize=8)
    axes[1].plot(history.eval_steps, history.train_acc, label="training")
    if history.val_acc and np.isfinite(history.val_acc).any():
        axes[1].plot(history.eval_steps, history.val_acc, label="validation")
    axes[1].set(ylim=(0, 1.02), xlabel="step", title="accuracy")
    axes[1].legend(fontsize=8)
    for name, norms in history.grad_norm.items():
        axes[2].plot(history.eval_steps, norms, label=name.split("] ")[-1])
    axes[2].set(yscale="log", xlabel="step", title="gradient norm per Linear layer")
    if history.grad_norm:
        axes[2].legend(fontsize=7)
    if boundary:
        draw_boundary(axes[3], model, data)
    for ax in axes:
        ax.grid(alpha=0.3)
    if pictures:
        draw_images(top[1], model, data)
    return fig


def draw_images(fig: Any, model: Any, data: Any) -> None:
    """First-layer weights, confusion matrix and mistakes, side by side in ``fig`` (a subfigure)."""
    weights, matrix, wrong = fig.subfigures(1, 3, width_ratios=[1.2, 0.9, 1.2])
    first = linear_layers(model)[0]
    images.first_layer(weights, first.backend.to_numpy(first.W), data.image_shape, units=16, cols=4)
    weights.suptitle("first layer's weights, unit by unit", fontsize=9)
    held_out = len(data.y_val) > 0
    x, y = (data.x_val, data.y_val) if held_out else (data.x_train, data.y_train)
    guessed = predict(model, first.backend, np.asarray(x))
    which = "validation" if held_out else "training"
    images.confusion(matrix.subplots(), y, guessed, data.n_classes, title=f"{which} set: true vs predicted")
    missed = images.misclassified(wrong, x, y, guessed, data.image_shape, count=16, cols=4)
    wrong.suptitle(f"wrong: guess (true), {missed} of {len(y)}", fontsize=9)


def draw_boundary(ax: Any, model: Any, data: Any) -> None:
    """The predicted class over a grid around the training points, and the points."""
    x, y = np.asarray(data.x_train, dtype=float), np.asarray(data.y_train)
    xs, ys = grid_around(x, GRID)
    classes = predict_grid(model, linear_layers(model)[0].backend, xs, ys)  # (GRID, GRID)
    ax.contourf(xs, ys, classes, alpha=0.3, cmap="coolwarm", levels=np.arange(classes.max() + 2) - 0.5)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", s=10, edgecolors="k", linewidths=0.3)
    ax.set(title="decision boundary", xlabel="x1", ylabel="x2")
