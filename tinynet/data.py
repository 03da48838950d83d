"""Datasets with a train/validation split: three synthetic 2-D ones and real handwritten digits.

Every dataset is drawn on the host with NumPy's Generator from a seed, so the same seed
gives the same points and labels (and, for digits, the same split); the engine receives them
through ``be.asarray``.

    "random"  points uniform in [-1, 1]^2, labels a fair coin flip, independent of the
              points: nothing to learn, so a model can only memorise.
    "xor"     points uniform in [-1, 1]^2, label 1 where x1 * x2 > 0: learnable structure
              that no linear model can fit, and a two-layer ReLU net fits easily.
    "moons"   two interleaved half-circles with Gaussian noise (sd 0.1): learnable.
    "digits"  1,797 real 8x8 images of handwritten digits, 10 classes, shipped with tinynet
              (tinynet/datasets/README.md says where they come from): 64 features, each pixel's
              ink count 0..16 divided by 16, so every input lies in [0, 1] like a grey level.
              Not standardised per pixel: the corner pixels are blank in nearly every image,
              and dividing by their tiny spread would make a stray speck of ink a huge input.

Files in the IDX format MNIST and Fashion-MNIST come in are read by ``load_idx``
(tinynet/idx.py).

Two options change the labels' structure one thing at a time:
``ones`` sets the share of class 1 (each example's class drawn first, then its point from
that class's region), and ``flip`` flips each label with that probability after drawing, so
that no model can do better than 1 - flip on fresh data (with C classes a flipped label
becomes one of the other C - 1, each as likely). ``ones`` is for the two-class sets only.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from .backend import host_rng
from .checks import check_memory, is_positive_int, is_real
from .idx import read_images_and_labels

DATASETS = ("random", "xor", "moons", "digits")
SHAPES = {"random": (2, 2), "xor": (2, 2), "moons": (2, 2), "digits": (64, 10)}  # (D features, C classes)
DIGITS_EXAMPLES = 1797
DIGITS_FILE = "digits.npz"  # in tinynet/datasets/: images (1797, 8, 8) uint8 0..16, labels (1797,) uint8


@dataclass(frozen=True)
class Dataset:
    """Host arrays: x_* (N, D) float64, y_* (N,) int64 labels in 0..n_classes-1.

    image_shape: (height, width) where each row of x is an image read row by row (digits:
    (8, 8), so D = 64), None for points; figures draw images only where it is set.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int = 2
    image_shape: tuple[int, int] | None = None

    @property
    def n_features(self) -> int:
        """D: the number of inputs each example has (the first layer's n_in)."""
        return int(np.shape(self.x_train)[1])

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

    The validation examples are drawn from the same distribution, after the training ones;
    for digits, both are drawn without overlap from the 1,797 images in an order the seed
    shuffles, so a request for more than there are is refused.
    ones: the probability of class 1 (None: the dataset's own, 1/2 for the three 2-D sets;
          two-class sets only).
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
    if ones is not None and name == "digits":
        raise ValueError("ones sets the share of class 1 in a two-class data set; digits has 10 classes in their "
                         "own proportions: leave ones=None")
    n = int(n)  # a Python int: n + n_val in a NumPy integer's own type could wrap (uint8: 255 + 51 is 50)
    n_val = int(round(n * val_fraction))
    if name == "digits":
        images, labels = digits()
        return split(name, images, labels, n, n_val, host_rng(seed, "make_dataset"), flip=flip, n_classes=10,
                     image_shape=(8, 8), source=f"make_dataset('digits', {n:,}, val_fraction={val_fraction!r})")
    # x (float64, 2 features), its uniform draws, and the labels: about 48 bytes an example
    check_memory(f"make_dataset({name!r}, {n:,}): {n + n_val:,} examples", (n + n_val) * 48)
    rng = host_rng(seed, "make_dataset")
    x, y = _draw(name, n + n_val, rng) if ones is None else _draw_balanced(name, n + n_val, ones, rng)
    if flip:
        y = np.where(rng.uniform(size=len(y)) < flip, 1 - y, y)
    return Dataset(name, x[:n], y[:n], x[n:], y[n:])


def shape_of(name: str) -> tuple[int, int]:
    """(D, C) of make_dataset(name, ...): the inputs each example has and the classes; a
    network for it is [D, ..., C]."""
    if not isinstance(name, str) or name not in SHAPES:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)} (a string)")
    return SHAPES[name]


def with_ends(sizes: Any, name: str) -> tuple[int, ...]:
    """Layer sizes with the first made dataset ``name``'s D and the last its C: (2, 100, 2)
    is (64, 100, 10) for digits. A way to break training declared once with 2-D sizes (a
    deeper net) then fits every data set."""
    features, classes = shape_of(name)
    return (features, *tuple(sizes)[1:-1], classes)


@functools.cache
def _digits_file() -> tuple[np.ndarray, np.ndarray]:
    with resources.files("tinynet").joinpath("datasets", DIGITS_FILE).open("rb") as f:
        with np.load(f, allow_pickle=False) as stored:
            return stored["images"], stored["labels"]


def digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits, in the file's order: x (1797, 64) float64 in [0, 1] (ink count / 16),
    y (1797,) int64 in 0..9. Fresh arrays each call."""
    images, labels = _digits_file()
    return images.reshape(len(images), 64) / 16.0, labels.astype(np.int64)


def most_examples(available: int, val_fraction: float) -> int:
    """The largest n with n + round(n * val_fraction) <= available."""
    n = int(available / (1.0 + val_fraction))
    while n + 1 + round((n + 1) * val_fraction) <= available:
        n += 1
    while n > 0 and n + round(n * val_fraction) > available:
        n -= 1
    return n


def split(name: str, x: np.ndarray, y: np.ndarray, n: int, n_val: int, rng: np.random.Generator, *,
          flip: float, n_classes: int, image_shape: tuple[int, int] | None, source: str) -> Dataset:
    """A Dataset of n training and n_val validation examples of a fixed set x (M, D), y (M,):
    the seed's shuffle of the M, the first n to train on, the next n_val to validate on (no
    example in both). ``flip`` adds label noise as make_dataset's does."""
    if n + n_val > len(y):
        val_fraction = n_val / n
        raise ValueError(f"{source} asks for {n:,} training + {n_val:,} validation examples, but {name} has "
                         f"{len(y):,}: ask for n <= {most_examples(len(y), val_fraction):,} at this val_fraction")
    order = rng.permutation(len(y))[:n + n_val]
    x, y = x[order], y[order]
    if flip:
        flipped = rng.uniform(size=len(y)) < flip
        other = (y + rng.integers(1, n_classes, size=len(y))) % n_classes  # one of the other C - 1 classes
        y = np.where(flipped, other, y)
    return Dataset(name, x[:n], y[:n], x[n:], y[n:], n_classes=n_classes, image_shape=image_shape)


def load_idx(images: Any, labels: Any, *, n: int | None = None, seed: int = 0, val_fraction: float = 0.2,
             n_classes: int = 10, flip: float = 0.0) -> Dataset:
    """A Dataset from an IDX images file (N, height, width) and its labels file (N,), e.g.
    MNIST's train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz (gzipped or not).

    x: each image read row by row, (N, height * width) float64; MNIST's grey levels 0..255
       divided by 255, so every input lies in [0, 1] (tinynet/idx.py reads the format).
    n: training examples (None: as many as the file holds with val_fraction of that many
       more for validation); the seed's shuffle picks them and, after them, the validation
       examples, none in both, as make_dataset("digits", n) does. flip: label noise, as there.
    n_classes: labels must lie in 0..n_classes-1 (MNIST and Fashion-MNIST: 10).
    """
    if not (is_real(val_fraction) and 0.0 <= val_fraction < 1.0):
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    if not is_positive_int(n_classes) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if not (is_real(flip) and 0.0 <= flip <= 1.0):
        raise ValueError(f"flip must be a probability in [0, 1] (0: no label noise), got {flip!r}")
    if n is not None and not is_positive_int(n):
        raise ValueError(f"n must be a positive integer or None (as many as the file holds), got {n!r}")
    x, y, image_shape = read_images_and_labels(images, labels, int(n_classes))
    n = most_examples(len(y), val_fraction) if n is None else int(n)
    name = os.path.basename(os.fspath(images))
    if n == 0:
        raise ValueError(f"{os.fspath(images)} holds no images: nothing to train on")
    return split(name, x, y, n, int(round(n * val_fraction)), host_rng(seed, "load_idx"), flip=flip,
                 n_classes=int(n_classes), image_shape=image_shape,
                 source=f"load_idx({name!r}, n={n:,}, val_fraction={val_fraction!r})")


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
