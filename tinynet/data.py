"""Seeded synthetic 2-D datasets with a train/validation split.

Every dataset is drawn on the host with NumPy's Generator from a seed, so the same seed
gives the same points and labels; the engine receives them through ``be.asarray``.

    "random"  points uniform in [-1, 1]^2, labels a fair coin flip, independent of the
              points: nothing to learn, so a model can only memorise. Part 4's diagnosis
              uses it.
    "xor"     points uniform in [-1, 1]^2, label 1 where x1 * x2 > 0: learnable structure
              that no linear model can fit, and a two-layer ReLU net fits easily. The
              experiments' default (docs/experiments_log.md, "Which data", says why).
    "moons"   two interleaved half-circles with Gaussian noise (sd 0.1): learnable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import host_rng

DATASETS = ("random", "xor", "moons")


@dataclass(frozen=True)
class Dataset:
    """Host arrays: x_* (N, 2) float64, y_* (N,) int64 labels in 0..n_classes-1."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int = 2

    @property
    def majority_baseline(self) -> float:
        """Validation accuracy of always predicting the training set's most common class."""
        majority = np.bincount(self.y_train, minlength=self.n_classes).argmax()
        return float(np.mean(self.y_val == majority)) if len(self.y_val) else float("nan")


def make_dataset(name: str, n: int, *, seed: int = 0, val_fraction: float = 0.0) -> Dataset:
    """``n`` training examples of dataset ``name``, plus round(n * val_fraction) for validation.

    The validation examples are drawn from the same distribution, after the training ones.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"dataset size must be a positive integer, got {n!r}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    n_val = int(round(n * val_fraction))
    rng = host_rng(seed, "make_dataset")
    x, y = _draw(name, n + n_val, rng)
    return Dataset(name, x[:n], y[:n], x[n:], y[n:])


def _draw(name: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if name == "moons":
        y = rng.integers(0, 2, size=n)
        angle = rng.uniform(0.0, np.pi, size=n)
        upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)  # class 0: the upper arc
        lower = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)  # class 1
        x = np.where(y[:, None] == 0, upper, lower) + rng.normal(0.0, 0.1, size=(n, 2))
        return x - [0.5, 0.25], y  # centred near the origin
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    if name == "xor":
        return x, (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x, rng.integers(0, 2, size=n)  # "random": labels independent of x
