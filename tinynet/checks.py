"""The input checks of the layers and the loss, and the few checks other modules share.

Each forward and backward of tinynet/layers.py and tinynet/losses.py opens with one call
here, so that what the eye meets first there is the math. The shared ones: what counts as a
real number or a positive integer, and whether an allocation fits in memory. A module that
checks its own arguments keeps those checks beside them (SGD's lr, make_dataset's options,
Sequential's layers); train()'s checks of its arguments as a whole are in
tinynet/training_checks.py, which only training.py imports.

This module is the floor of the engine: it imports backend.py alone, so that any other
module may import it without a circle. Every check raises with a message that names what
is wrong and how to fix it.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .backend import Backend, backend_of, dtype_name


class DtypeSlip(TypeError):
    """A learner's layer or loss returned an array of another dtype than the one it was given
    (a float64 one-hot against float32 logits): raised at the place it happened, naming the
    learner's own class and method."""


def check_same_dtype(who: str, method: str, given: Any, returned: Any, fix: str, what: str = "input") -> None:
    """``returned`` must have ``given``'s dtype; who.method is named where it does not."""
    had, got = getattr(given, "dtype", None), getattr(returned, "dtype", None)
    if had is not None and got is not None and had != got:
        raise DtypeSlip(f"{who}.{method} returned {dtype_name(got)} for {dtype_name(had)} {what}: {fix}")


def is_real(value: Any) -> bool:
    """A real number of any kind (Python, NumPy, a 0-d array), but not a bool: True as a
    learning rate or a probability is almost surely a slip."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_positive_int(value: Any) -> bool:
    """An integer >= 1 of any kind (Python or NumPy), but not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 1


def free_memory() -> int | None:
    """Bytes this machine can give now (Linux: MemAvailable), or None where it cannot say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_batch_size(batch_size: Any) -> None:
    """A batch size: a positive integer, or None for the whole training set at once."""
    if batch_size is not None and not is_positive_int(batch_size):
        raise ValueError(f"batch_size must be a positive integer or None (full batch), got {batch_size!r}")


def check_measure(measure: Any) -> None:
    """train()'s measure hook: a function, or None."""
    if measure is not None and not callable(measure):
        raise TypeError(f"measure must be a function measure(model, x, labels) -> {{name: number}}, "
                        f"got {type(measure).__name__}")


def check_memory(what: str, needed: float) -> None:
    """Refuse, before allocating, what cannot fit: NumPy would either fail with its own
    message or, where the system overcommits, start and be killed by the out-of-memory killer."""
    free = free_memory()
    if free is not None and needed > free:
        raise MemoryError(f"{what} needs about {needed / 2 ** 30:,.1f} GiB, more than the {free / 2 ** 30:,.1f} GiB "
                          f"this machine has free")


def check_layer_size(who: str, n_in: Any, n_out: Any) -> None:
    """A layer's sizes, before its weights are drawn: positive integers, and a W of n_in x
    n_out entries that this machine can draw (in float64 on the host, then cast: about 12
    bytes an entry at once)."""
    for name, n in (("n_in", n_in), ("n_out", n_out)):
        if not is_positive_int(n):
            raise ValueError(f"{who}: {name} must be a positive integer, got {n!r}")
    entries = int(n_in) * int(n_out)
    check_memory(f"{who}({n_in}->{n_out}): W of {entries:,} entries", entries * 12.0)


def input_backend(layer: Any, x: Any, what: str = "input") -> Backend:
    """The backend of a layer's (or a loss's) input, or an error naming the layer and the
    argument: a list, a tuple, None or a number is not a batch of rows."""
    try:
        return backend_of(x)
    except TypeError:
        raise TypeError(f"{layer!r} takes its {what} as an array of shape (N, features), got "
                        f"{type(x).__name__}; convert it with tn.get_backend('numpy').asarray(x)") from None


def check_rows(layer: Any, be: Backend, x: Any, n_features: int | None = None, what: str = "input") -> None:
    """Refuse input that the layer cannot use, saying what is wrong and how to fix it:
    a floating-point batch of rows on the layer's backend (``what`` names it in messages)."""
    check_plain(layer, x, what)
    if not be.is_array(x):
        raise TypeError(
            f"{layer!r} takes an array of the {be.name!r} backend, shape (N, features), but got "
            f"{type(x).__name__} {what}; convert it with tn.get_backend({be.name!r}).asarray(x)"
        )
    if x.ndim != 2:
        raise ValueError(
            f"{layer!r} expects a batch of rows, shape (N, features), got shape {tuple(x.shape)}"
        )
    if not be.is_float_dtype(x.dtype):
        raise TypeError(f"{layer!r} needs floating-point {what} (float32 or float64), got dtype {x.dtype}; "
                        f"convert it with be.asarray(x, dtype='float32')")
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(
            f"{layer!r} expects input of shape (N, {n_features}) but got shape {tuple(x.shape)}: "
            f"{x.shape[1]} features instead of {n_features}"
        )


def check_plain(who: Any, value: Any, what: str) -> None:
    """A NumPy array itself, not a subclass that changes what the operators mean: np.matrix
    multiplies with * and keeps 2-D what should be 1-D (db of shape (1, n_out)); a MaskedArray
    leaves masked entries out of sums (a loss of -249,998.95 where 1.037 was right).

    np.memmap is taken: an array whose values live in a file (a data set too large to load) is
    an ndarray of its own values, and every operation on it gives a plain ndarray, the same
    numbers as on the loaded array; tinynet.train takes one too."""
    if isinstance(value, np.ndarray) and type(value) not in (np.ndarray, np.memmap):
        name = who if isinstance(who, str) else repr(who)
        raise TypeError(f"{name} takes a plain array, not {type(value).__module__}.{type(value).__name__} ({what}); "
                        f"convert it with np.asarray(...)")


def check_upstream(layer: Any, dout: Any, expected_shape: tuple[int, ...], expected_dtype: Any = None) -> None:
    """The upstream gradient dL/dout must be an array with the shape (and, where given, the
    dtype) of the forward output: a float64 dout in a float32 model would turn W into
    float64 at the next update, and the next forward would fail far from the cause."""
    if not hasattr(dout, "shape") or not hasattr(dout, "dtype"):
        raise TypeError(f"{layer!r}.backward expects dL/dout as an array of shape {tuple(expected_shape)}, "
                        f"got {type(dout).__name__}")
    check_plain(layer, dout, "dL/dout")
    if expected_dtype is not None and dout.dtype != expected_dtype:
        raise TypeError(f"{layer!r}.backward expects dL/dout of dtype {expected_dtype} (its forward output's), "
                        f"got {dout.dtype}")
    if tuple(dout.shape) != tuple(expected_shape):
        raise ValueError(
            f"{layer!r}.backward expects dL/dout of shape {tuple(expected_shape)} (the shape of "
            f"its last forward output), got {tuple(dout.shape)}"
        )


def check_linear_input(who: Any, be: Backend, W: Any, b: Any, x: Any) -> None:
    """Linear's input: a batch of rows on the layer's backend, n_in features, W's dtype.
    ``who`` names the layer in messages; W and b are the arrays it holds now."""
    check_linear_params(be, W, b)
    check_rows(who, be, x, n_features=W.shape[0])
    if x.dtype != W.dtype:
        raise TypeError(
            f"{who!r} holds {W.dtype} weights but got {x.dtype} input; convert the "
            f"input (be.asarray(x, dtype=...)) or build the layer with a matching dtype"
        )


def check_linear_params(be: Backend, W: Any, b: Any) -> None:
    """W and b may be reassigned by the user at any time: what they hold now must still be
    a W (n_in, n_out) and a b (n_out,) of one float dtype on the layer's backend."""
    for name, value in (("W", W), ("b", b)):
        check_plain("Linear", value, name)
        if not be.is_array(value):
            raise TypeError(f"Linear: {name} must be an array on the {be.name!r} backend, got "
                            f"{type(value).__name__}; assign tn.get_backend({be.name!r}).asarray(...)")
    if W.ndim != 2 or tuple(b.shape) != (W.shape[1],):
        raise ValueError(f"Linear: W must have shape (n_in, n_out) and b shape (n_out,), got W "
                         f"{tuple(W.shape)} and b {tuple(b.shape)}")
    if W.dtype != b.dtype or not be.is_float_dtype(W.dtype):
        raise TypeError(f"Linear: W and b must share one float dtype (float32 or float64), got W {W.dtype} "
                        f"and b {b.dtype}")


def check_linear_backward(who: Any, cache: Any, dout: Any) -> None:
    """Linear's backward: after a forward (``cache`` = that forward's (x, W)), dout of that
    forward's output shape and dtype."""
    if cache is None:
        raise RuntimeError(f"{who!r}.backward was called before forward")
    x, W = cache
    check_upstream(who, dout, (x.shape[0], W.shape[1]), W.dtype)


def check_backward_call(layer: Any, cache: Any, dout: Any) -> None:
    """An elementwise layer's backward (ReLU's): after a forward, whose ``cache`` is (mask,
    x's dtype), dout of the mask's shape and of x's dtype."""
    if cache is None:
        raise RuntimeError(f"{layer!r}.backward was called before forward")
    mask, dtype = cache
    check_upstream(layer, dout, mask.shape, dtype)


def check_labels(be: Backend, labels: Any, n: int, n_classes: int, *, check_range: bool = True) -> None:
    """Labels must be integers 0..C-1, one per row of the logits.

    The range check reads the labels' min and max back to the host: on a GPU that waits for
    all queued work, so callers that checked their labels once may skip it (check_range=False).
    """
    if not be.is_array(labels):
        raise TypeError(
            f"labels must be an integer array on the {be.name!r} backend (the logits' "
            f"backend), got {type(labels).__name__}; convert with tn.get_backend({be.name!r}).asarray(labels)"
        )
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), one label per row, got shape {tuple(labels.shape)}")
    if labels.shape[0] != n:
        raise ValueError(f"got {labels.shape[0]} labels for {n} rows of logits; they must match one to one")
    if not be.is_integer_dtype(labels.dtype):
        raise ValueError(
            f"labels must be integer class indices, got dtype {labels.dtype}; "
            f"if they are whole numbers, cast them with astype(int)"
        )
    if not check_range:
        return
    check_label_range(int(be.xp.min(labels)), int(be.xp.max(labels)), n_classes, "the logits' width")


def check_label_range(lo: int, hi: int, n_classes: int, whose: str) -> None:
    """The one range check of labels, from their smallest and largest values: 0..C-1.
    ``whose`` says where C comes from (the logits' width, a model's outputs)."""
    if lo < 0 or hi >= n_classes:
        raise ValueError(
            f"label out of range: labels must lie in 0..{n_classes - 1} for {n_classes} classes "
            f"({whose}), found labels from {lo} to {hi}"
        )


def check_logits_and_labels(loss: Any, logits: Any, labels: Any, *, check_range: bool) -> None:
    """The loss's input: floating-point logits (N, C) with N >= 1, and one label per row."""
    be = input_backend(loss, logits, what="logits")
    check_rows(loss, be, logits, what="logits")
    n, n_classes = logits.shape
    if n == 0:
        raise ValueError(f"{loss!r} needs at least one row of logits, got shape (0, C)")
    if n_classes == 0:
        raise ValueError(f"{loss!r} needs at least one class, a column of logits per class; got shape (N, 0)")
    check_labels(be, labels, n, n_classes, check_range=check_range)


def check_loss_backward(loss: Any, cache: Any, dout: Any) -> Any:
    """The loss's backward: after a forward (``cache`` = its (probs, onehot)), with dL_total/dL
    as one real number. Returns dout in a form that keeps the gradient in the logits' dtype: a
    Python float for any number (NumPy's float64 1.0 would make the gradient of float32 logits
    float64, and the model fail far from here), a 0-d array cast to the logits' dtype."""
    if cache is None:
        raise RuntimeError(f"{loss!r}.backward was called before forward")
    if isinstance(dout, (bool, np.bool_)) or str(getattr(dout, "dtype", "")) == "bool":
        raise ValueError(f"{loss!r}.backward takes dL_total/dL, one number (default 1.0), got a bool")
    if isinstance(dout, numbers.Number) and not isinstance(dout, numbers.Real):
        raise ValueError(f"{loss!r}.backward takes dL_total/dL, one number (default 1.0), real, got "
                         f"{type(dout).__name__}")
    if isinstance(dout, (numbers.Real, np.generic)):  # a Python or NumPy number
        if not math.isfinite(float(dout)):  # every gradient would be NaN or inf, without a word
            raise ValueError(f"{loss!r}.backward takes dL_total/dL, one finite number (default 1.0), got {dout!r}")
        return float(dout)
    if getattr(dout, "shape", None) != ():
        shape = f" of shape {tuple(dout.shape)}" if hasattr(dout, "shape") else ""
        raise ValueError(f"{loss!r}.backward takes dL_total/dL, one number (default 1.0), "
                         f"got {type(dout).__name__}{shape}")
    be = backend_of(dout)  # a 0-d array: cast where it lives, no copy to the host
    logits_be = backend_of(cache[0])
    if be is not logits_be:
        raise TypeError(f"{loss!r}.backward takes dL_total/dL on the logits' backend ({logits_be.name!r}), got a "
                        f"{be.name!r} array; pass a number, e.g. loss_fn.backward(1.0)")
    if not (be.is_float_dtype(dout.dtype) or be.is_integer_dtype(dout.dtype)):
        raise ValueError(f"{loss!r}.backward takes dL_total/dL, one number (default 1.0), real, got dtype "
                         f"{dout.dtype}")
    return be.xp.astype(dout, cache[0].dtype)
