"""Seeded synthetic 2-D datasets with a train/validation split.

Every dataset is drawn on the host with NumPy's Generator from a seed, so the same seed
gives the same points and labels; the engine receives them through ``be.asarray``.

    "random"  points uniform in [-1, 1]^2, labels a fair coin flip, independent of the
              points: nothing to learn, so a model can only memorise.
    "xor"     points uniform in [-1, 1]^2, label 1 where x1 * x2 > 0: learnable structure
              that no linear model can fit, and a two-layer ReLU net fits easily.
    "moons"   two interleaved half-circles with Gaussian noise (sd 0.1): learnable.

Two options change the labels' structure one thing at a time:
``ones`` sets the share of class 1 (each example's class drawn first, then its point from
that class's region), and ``flip`` flips each label with that probability after drawing, so
that no model can do better than 1 - flip on fresh data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import host_rng
from .checks import check_memory, is_positive_int, is_real

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
        """Validation accuracy of always predicting the training set's most common class (NaN
        when either set is empty: there is no majority, or nothing to score it on)."""
        labels = np.asarray(self.y_train)
        if not (np.issubdtype(labels.dtype, np.integer) and labels.ndim == 1):
            raise TypeError(f"majority_baseline needs integer class labels of shape (N,), got {labels.dtype} "
                            f"of shape {labels.shape}")
        if labels.size and labels.min() < 0:
            raise ValueError(f"majority_baseline needs class labels 0..C-1, found {labels.min()}")
        val = np.asarray(self.y_val)
        if len(val) and not (np.issubdtype(val.dtype, np.integer) and val.ndim == 1):
            raise TypeError(f"majority_baseline needs integer class labels in y_val, of shape (N,), got {val.dtype} "
                            f"of shape {val.shape}")
        if not (len(labels) and len(self.y_val)):
            return float("nan")
        majority = np.bincount(labels, minlength=self.n_classes).argmax()
        return float(np.mean(self.y_val == majority))


def make_dataset(name: str, n: int, *, seed: int = 0, val_fraction: float = 0.2,
                 ones: float | None = None, flip: float = 0.0) -> Dataset:
    """``n`` training examples of dataset ``name``, plus round(n * val_fraction) for validation
    (by default a fifth as many: train's val_acc then says how the model does on examples it
    never trained on; val_fraction=0 for none).

    The validation examples are drawn from the same distribution, after the training ones.
    ones: the probability of class 1 (None: the dataset's own, 1/2 for all three).
    flip: the probability that a label is flipped after drawing (label noise).
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)} (a string)")
    if not is_positive_int(n):
        raise ValueError(f"dataset size must be a positive integer, got {n!r}")
    if not (is_real(val_fraction) and 0.0 <= val_fraction < 1.0):
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    if ones is not None and not (is_real(ones) and 0.0 <= ones <= 1.0):
        raise ValueError(f"ones must be a probability in [0, 1], or None for the dataset's own balance; got {ones!r}")
    if not (is_real(flip) and 0.0 <= flip <= 1.0):
        raise ValueError(f"flip must be a probability in [0, 1] (0: no label noise), got {flip!r}")
    n = int(n)  # a Python int: n + n_val in a NumPy integer's own type could wrap (uint8: 255 + 51 is 50)
    n_val = int(round(n * val_fraction))
    # x (float64, 2 features), its uniform draws, and the labels: about 48 bytes an example
    check_memory(f"make_dataset({name!r}, {n:,}): {n + n_val:,} examples", (n + n_val) * 48)
    rng = host_rng(seed, "make_dataset")
    x, y = _draw(name, n + n_val, rng) if ones is None else _draw_balanced(name, n + n_val, ones, rng)
    if flip:
        y = np.where(rng.uniform(size=len(y)) < flip, 1 - y, y)
    return Dataset(name, x[:n], y[:n], x[n:], y[n:])


def _draw(name: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if name == "moons":
        y = rng.integers(0, 2, size=n)
        return _moons(y, rng), y
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    if name == "xor":
        return x, (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x, rng.integers(0, 2, size=n)  # "random": labels independent of x


def _draw_balanced(name: str, n: int, ones: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each example's class first (1 with probability ``ones``), then a point of that class."""
    y = (rng.uniform(size=n) < ones).astype(np.int64)
    if name == "moons":
        return _moons(y, rng), y
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    if name == "xor":  # move each point into its class's quadrants: x1 * x2 > 0 for class 1
        x[:, 1] = np.abs(x[:, 1]) * np.sign(x[:, 0]) * np.where(y == 1, 1.0, -1.0)
    return x, y


def _moons(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points for labels y (N,): class 0 on the upper arc, class 1 on the lower; (N, 2)."""
    angle = rng.uniform(0.0, np.pi, size=len(y))
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)  # class 0: the upper arc
    lower = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)  # class 1
    x = np.where(y[:, None] == 0, upper, lower) + rng.normal(0.0, 0.1, size=(len(y), 2))
    return x - [0.5, 0.25]  # centred near the origin
