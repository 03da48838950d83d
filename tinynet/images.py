"""Figures for data whose examples are images (digits, MNIST): the pictures a learner expects
where a decision boundary cannot be drawn (it needs 2-D inputs).

    examples        the inputs themselves, each with its label
    first_layer     each first-layer unit's incoming weights W[:, j] drawn as an image: the
                    pattern of ink that turns the unit on (blue) or off (red), the colours
                    of the lab's network diagram
    confusion       how often each true class (row) was predicted as each class (column)
    misclassified   the examples the model got wrong, with its guess and the truth

Each draws into a Matplotlib Figure or Axes it is given (no pyplot: tinynet/plot.py's rule);
host arrays only. x: (N, D) with D = height * width, each row an image read row by row.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def _tiles(fig: Any, images: np.ndarray, titles: list[str], cols: int, **imshow: Any) -> None:
    """images (K, height, width) in a grid of ``cols`` columns, each with its title."""
    rows = max(1, -(-len(images) // cols))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, image, title in zip(axes, images, titles):
        ax.imshow(image, **imshow)
        ax.set_title(title, fontsize=7, pad=2)


def examples(fig: Any, x: np.ndarray, y: np.ndarray, image_shape: tuple[int, int], count: int = 24,
             cols: int = 8) -> None:
    """The first ``count`` examples x (N, D) with their labels y (N,), ink dark on white."""
    shown = np.asarray(x[:count], dtype=float).reshape(-1, *image_shape)
    _tiles(fig, shown, [f"label {int(c)}" for c in y[:count]], cols, cmap="gray_r", vmin=0.0)


def first_layer(fig: Any, W: np.ndarray, image_shape: tuple[int, int], units: int = 16, cols: int = 8) -> None:
    """Units 0..units-1 of a first layer W (D, n_out): column j reshaped to (height, width).
    One colour scale, symmetric about 0, for every tile, so tiles compare: blue is a weight
    that pushes the unit up where there is ink, red one that pushes it down."""
    W = np.asarray(W, dtype=float)
    if W.shape[0] != image_shape[0] * image_shape[1]:
        raise ValueError(f"first_layer: W has {W.shape[0]} rows, but images of {image_shape[0]} x "
                         f"{image_shape[1]} have {image_shape[0] * image_shape[1]} pixels")
    shown = W[:, :units].T.reshape(-1, *image_shape)  # (units, height, width)
    limit = float(np.abs(shown).max()) or 1.0
    _tiles(fig, shown, [f"unit {j}" for j in range(len(shown))], cols, cmap="RdBu", vmin=-limit, vmax=limit)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(C, C) counts: row = the true class, column = the predicted one."""
    cell = np.asarray(true, dtype=np.int64) * classes + np.asarray(predicted, dtype=np.int64)  # (N,)
    return np.bincount(cell, minlength=classes * classes).reshape(classes, classes)


def confusion(ax: Any, true: np.ndarray, predicted: np.ndarray, classes: int, title: str = "confusion") -> None:
    """The confusion matrix, each cell's count written in it; the diagonal is what was right."""
    counts = confusion_matrix(true, predicted, classes)
    ax.imshow(counts, cmap="Blues")
    for i in range(classes):
        for j in range(classes):
            if counts[i, j]:
                dark = counts[i, j] > counts.max() / 2
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if dark else "black")
    ax.set(xticks=range(classes), yticks=range(classes), xlabel="predicted", ylabel="true")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)


def misclassified(fig: Any, x: np.ndarray, true: np.ndarray, predicted: np.ndarray,
                  image_shape: tuple[int, int], count: int = 16, cols: int = 8) -> int:
    """Up to ``count`` examples the model got wrong, titled "guess (true)". Returns how many
    were wrong in all (0: the figure says so)."""
    wrong = np.flatnonzero(np.asarray(true) != np.asarray(predicted))
    if not len(wrong):
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "every example classified right", ha="center", va="center")
        return 0
    shown = np.asarray(x, dtype=float)[wrong[:count]].reshape(-1, *image_shape)
    titles = [f"{int(predicted[i])} ({int(true[i])})" for i in wrong[:count]]
    _tiles(fig, shown, titles, cols, cmap="gray_r", vmin=0.0)
    return len(wrong)
