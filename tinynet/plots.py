"""Figures of any training run, drawn from host data only (histories and NumPy arrays),
saved as compact PNGs. An experiment's own figures live with the experiment."""
from __future__ import annotations

import pathlib
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # files only: no window, works on machines without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import images  # noqa: E402
from .files import write_atomically  # noqa: E402

DPI = 80


def save(fig: Any, path: pathlib.Path) -> None:
    """Write the figure as a PNG, whole or not at all (tinynet/files.py), and close it."""
    try:
        write_atomically(path, lambda f: fig.savefig(f, dpi=DPI, bbox_inches="tight", format="png"), binary=True)
    finally:
        plt.close(fig)


def loss_curves(curves: dict[str, Sequence[float]], title: str, path: pathlib.Path,
                marks: dict[str, int] | None = None) -> None:
    """Loss per step, log scale; ``marks`` puts an x where a run diverged."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, loss in curves.items():
        loss = np.asarray(loss, dtype=float)
        finite = np.where(np.isfinite(loss), loss, np.nan)
        ax.plot(np.arange(len(loss)), finite, label=label, lw=1.2)
        if marks and marks.get(label) is not None:
            step = marks[label]
            y = finite[step] if np.isfinite(finite[step]) else np.nanmax(finite[: step + 1])
            ax.plot([step], [y], "kx", ms=9)
            ax.annotate(f"diverged at step {step}", (step, y), textcoords="offset points", xytext=(8, 0), fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (log scale)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _first_steps(ax, curves)
    save(fig, path)


def _first_steps(ax: Any, curves: dict[str, Sequence[float]]) -> None:
    """A run that stopped within the first 2% of the longest (a divergence at step 2 of 5,000)
    is a spike at the axis' edge: an inset draws every curve over those first steps, step by step."""
    lengths = [len(loss) for loss in curves.values()]
    short = min(lengths)
    if not lengths or short * 50 > max(lengths):
        return
    shown = short + 2  # the steps of the shortest run, and two more of the others
    inset = ax.inset_axes([0.42, 0.42, 0.3, 0.3])
    for loss in curves.values():
        loss = np.asarray(loss[:shown], dtype=float)
        inset.plot(np.arange(len(loss)), np.where(np.isfinite(loss), loss, np.nan), marker=".", ms=4, lw=1)
    inset.set_yscale("log")
    inset.set_title(f"the first {shown} steps", fontsize=7)
    inset.tick_params(labelsize=6)
    inset.set_xticks(range(shown))


def series(lines: dict[str, tuple[Sequence[int], Sequence[float]]], title: str, ylabel: str,
           path: pathlib.Path, ylim: tuple[float, float] | None = None, hline: float | None = None,
           hline_label: str = "", logy: bool = False) -> None:
    """One line per label: (steps, values)."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, (xs, ys) in lines.items():
        ax.plot(xs, ys, label=label, lw=1.2)
    if logy:
        ax.set_yscale("log")
    if hline is not None:
        ax.axhline(hline, color="gray", ls="--", lw=1, label=hline_label)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, path)


def image_examples(x: np.ndarray, y: np.ndarray, image_shape: tuple[int, int], title: str,
                   path: pathlib.Path) -> None:
    """The first 24 examples of image data, each with its label (where points cannot be drawn)."""
    fig = plt.figure(figsize=(6, 3.2), layout="constrained")
    images.examples(fig, x, y, image_shape)
    fig.suptitle(title, fontsize=10)
    save(fig, path)


def dataset(x: np.ndarray, y: np.ndarray, title: str, path: pathlib.Path) -> None:
    fig, ax = plt.subplots(figsize=(4, 4))
    _points(ax, x, y)
    ax.set_title(title, fontsize=10)
    save(fig, path)


def decision_boundaries(panels: list[tuple[str, np.ndarray]], grid: tuple[np.ndarray, np.ndarray],
                        x: np.ndarray, y: np.ndarray, path: pathlib.Path) -> None:
    """Side by side: each model's predicted class over the plane, with the training points."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6), squeeze=False)
    xs, ys = grid
    for ax, (title, classes) in zip(axes[0], panels):
        ax.contourf(xs, ys, classes, levels=[-0.5, 0.5, 1.5], colors=["#9ecae1", "#fdae6b"], alpha=0.6)
        _points(ax, x, y)
        ax.set_title(title, fontsize=9)
    save(fig, path)


def pictures(panels: list[tuple[str, np.ndarray, np.ndarray]], x: np.ndarray, y: np.ndarray,
             image_shape: tuple[int, int], classes: int, path: pathlib.Path) -> None:
    """For image data, one row per model (title, first-layer W (D, H), predicted (N,)): 8 of its
    first layer's units as images, its confusion matrix, and 8 examples it got wrong."""
    fig = plt.figure(figsize=(11, 2.9 * len(panels)), layout="constrained")
    rows = fig.subfigures(len(panels), 1, squeeze=False)[:, 0]
    for row, (title, W, predicted) in zip(rows, panels):
        weights, matrix, wrong = row.subfigures(1, 3, width_ratios=[1.3, 0.8, 1.3])
        images.first_layer(weights, W, image_shape, units=8, cols=4)
        images.confusion(matrix.subplots(), y, predicted, classes, title="training set")
        missed = images.misclassified(wrong, x, y, predicted, image_shape, count=8, cols=4)
        weights.suptitle(f"{title}: first layer", fontsize=9)
        wrong.suptitle(f"wrong: guess (true), {missed} of {len(y)}", fontsize=9)
    save(fig, path)


def scaling(ns: Sequence[int], ms: Sequence[float], title: str, path: pathlib.Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.loglog(ns, ms, "o-")
    ax.set_xlabel("examples per full batch, N")
    ax.set_ylabel("time per step (ms)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    save(fig, path)


def _points(ax: Any, x: np.ndarray, y: np.ndarray) -> None:
    for c, color in ((0, "#3182bd"), (1, "#e6550d")):
        ax.scatter(x[y == c, 0], x[y == c, 1], s=10, c=color, label=f"class {c}", edgecolors="none")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper right")
