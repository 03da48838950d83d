"""Input checks for the layers and the loss: each forward and backward opens with one call
here, so that what the eye meets first in tinynet/layers.py is the math.

Every check raises with a message that names what is wrong and how to fix it.
"""
from __future__ import annotations

from typing import Any

from .backend import Backend, backend_of


def check_input(layer: Any, be: Backend, x: Any, n_features: int | None = None) -> None:
    """Refuse input that the layer cannot use, saying what is wrong and how to fix it."""
    if not be.is_array(x):
        raise TypeError(
            f"{layer!r} runs on the {be.name!r} backend but got {type(x).__name__} input; "
            f"move the data there first with tn.get_backend({be.name!r}).asarray(x)"
        )
    if x.ndim != 2:
        raise ValueError(
            f"{layer!r} expects a batch of rows, shape (N, features), got shape {tuple(x.shape)}"
        )
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(
            f"{layer!r} expects input of shape (N, {n_features}) but got shape {tuple(x.shape)}: "
            f"{x.shape[1]} features instead of {n_features}"
        )


def check_upstream(layer: Any, dout: Any, expected_shape: tuple[int, ...], expected_dtype: Any = None) -> None:
    """The upstream gradient dL/dy must be an array with the shape (and, where given, the
    dtype) of the forward output y: a float64 dout in a float32 model would turn W into
    float64 at the next update, and the next forward would fail far from the cause."""
    if not hasattr(dout, "shape") or not hasattr(dout, "dtype"):
        raise TypeError(f"{layer!r}.backward expects dL/dy as an array of shape {tuple(expected_shape)}, "
                        f"got {type(dout).__name__}")
    if expected_dtype is not None and dout.dtype != expected_dtype:
        raise TypeError(f"{layer!r}.backward expects dL/dy of dtype {expected_dtype} (its forward output's), "
                        f"got {dout.dtype}")
    if tuple(dout.shape) != tuple(expected_shape):
        raise ValueError(
            f"{layer!r}.backward expects dL/dy of shape {tuple(expected_shape)} (the shape of "
            f"its last forward output), got {tuple(dout.shape)}"
        )


def check_linear_input(layer: Any, x: Any) -> None:
    """Linear's input: a batch of rows on the layer's backend, n_in features, W's dtype."""
    check_input(layer, layer.backend, x, n_features=layer.W.shape[0])
    if x.dtype != layer.W.dtype:
        raise TypeError(
            f"{layer!r} holds {layer.W.dtype} weights but got {x.dtype} input; convert the "
            f"input (be.asarray(x, dtype=...)) or build the layer with a matching dtype"
        )


def check_linear_backward(layer: Any, dout: Any) -> None:
    """Linear's backward: after a forward, dout of that forward's output shape and dtype."""
    if layer.cache is None:
        raise RuntimeError(f"{layer!r}.backward was called before forward")
    x, W = layer.cache
    check_upstream(layer, dout, (x.shape[0], W.shape[1]), W.dtype)


def check_backward_call(layer: Any, cached: Any, dout: Any) -> None:
    """A backward whose output has the shape of what forward cached (ReLU's mask)."""
    if cached is None:
        raise RuntimeError(f"{layer!r}.backward was called before forward")
    check_upstream(layer, dout, cached.shape)


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
    lo = int(be.xp.min(labels))
    hi = int(be.xp.max(labels))
    if lo < 0 or hi >= n_classes:
        raise ValueError(
            f"label out of range: labels must lie in 0..{n_classes - 1} for {n_classes} classes "
            f"(the logits' width), found labels from {lo} to {hi}"
        )


def check_logits_and_labels(loss: Any, logits: Any, labels: Any, *, check_range: bool) -> None:
    """The loss's input: floating-point logits (N, C) with N >= 1, and one label per row."""
    be = backend_of(logits)
    check_input(loss, be, logits)
    n, n_classes = logits.shape
    if n == 0:
        raise ValueError(f"{loss!r} needs at least one row of logits, got shape (0, C)")
    if not be.is_float_dtype(logits.dtype):
        raise TypeError(f"{loss!r} needs floating-point logits, got dtype {logits.dtype}")
    check_labels(be, labels, n, n_classes, check_range=check_range)


def check_loss_backward(loss: Any, dout: Any) -> None:
    """The loss's backward: after a forward, with dL_total/dL as one number."""
    if loss.cache is None:
        raise RuntimeError(f"{loss!r}.backward was called before forward")
    is_number = isinstance(dout, (int, float)) and not isinstance(dout, bool)
    if not (is_number or getattr(dout, "shape", None) == ()):  # a Python number or a 0-d array
        shape = f" of shape {tuple(dout.shape)}" if hasattr(dout, "shape") else ""
        raise ValueError(f"{loss!r}.backward takes dL_total/dL, one number (default 1.0), "
                         f"got {type(dout).__name__}{shape}")
