"""Input checks for the layers and the loss: each forward and backward opens with one call
here, so that what the eye meets first in tinynet/layers.py is the math.

Every check raises with a message that names what is wrong and how to fix it.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .backend import Backend, backend_of, dtype_name


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


def check_memory(what: str, needed: float) -> None:
    """Refuse, before allocating, what cannot fit: NumPy would either fail with its own
    message or, where the system overcommits, start and be killed by the out-of-memory killer."""
    free = free_memory()
    if free is not None and needed > free:
        raise MemoryError(f"{what} needs about {needed / 2 ** 30:,.1f} GiB, more than the {free / 2 ** 30:,.1f} GiB "
                          f"this machine has free")


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
    leaves masked entries out of sums (a loss of -249,998.95 where 1.037 was right)."""
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
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
        return float(dout)
    if getattr(dout, "shape", None) != ():
        shape = f" of shape {tuple(dout.shape)}" if hasattr(dout, "shape") else ""
        raise ValueError(f"{loss!r}.backward takes dL_total/dL, one number (default 1.0), "
                         f"got {type(dout).__name__}{shape}")
    be = backend_of(dout)  # a 0-d array: cast where it lives, no copy to the host
    if not (be.is_float_dtype(dout.dtype) or be.is_integer_dtype(dout.dtype)):
        raise ValueError(f"{loss!r}.backward takes dL_total/dL, one number (default 1.0), real, got dtype "
                         f"{dout.dtype}")
    return be.xp.astype(dout, cache[0].dtype)


# (argument, the methods train_step calls on it, an example of one)
TRAIN_STEP_ARGUMENTS = (
    ("model", ("forward", "backward"), "tn.create_model(...)"),
    ("loss_fn", ("forward", "backward"), "tn.SoftmaxCrossEntropy()"),
    ("opt", ("step",), "tn.SGD(model, lr=...)"),
)


def check_train_step(model: Any, loss_fn: Any, opt: Any) -> None:
    """train_step's three arguments, each with the methods the step calls on it, and an
    optimizer that updates this model (or one of its layers), not another one."""
    for (name, methods, example), value in zip(TRAIN_STEP_ARGUMENTS, (model, loss_fn, opt)):
        if isinstance(value, type) or not all(callable(getattr(value, m, None)) for m in methods):
            got = f"the class {value.__name__}" if isinstance(value, type) else type(value).__name__
            wanted = " and ".join(f"{m}()" for m in methods)
            raise TypeError(f"train_step: {name} must have {wanted}, like {example}; got {got}")
    bound = getattr(opt, "model", None)  # what tn.SGD updates; a learner's optimizer may not say
    if bound is not None and bound is not model and not any(bound is layer for layer in getattr(model, "layers", ())):
        raise ValueError(f"train_step: opt updates {bound!r}, not this model {model!r}: the step would train the "
                         f"one and leave the other; build the optimizer on this model, tn.SGD(model, lr=...)")


# --- What train() needs, checked before the first step ------------------------------------------
def check_train_options(**options: Any) -> None:
    """train()'s options, each refused with a message naming it."""
    o = options
    if not is_positive_int(o["steps"]):
        raise ValueError(f"steps must be a positive integer, got {o['steps']!r}")
    if o["batch_size"] is not None and not is_positive_int(o["batch_size"]):
        raise ValueError(f"batch_size must be a positive integer or None (full batch), got {o['batch_size']!r}")
    if o["eval_every"] is not None and not is_positive_int(o["eval_every"]):
        raise ValueError(f"eval_every must be a positive integer or None (about 200 per run), got {o['eval_every']!r}")
    if o["until_loss"] is not None and not (is_real(o["until_loss"]) and math.isfinite(o["until_loss"])):
        raise ValueError(f"until_loss must be a finite number or None (run all steps), got {o['until_loss']!r}")
    if o["progress"] is not None and not isinstance(o["progress"], bool):
        raise TypeError(f"progress must be True, False or None (a bar only on a terminal), got {o['progress']!r}")
    if not isinstance(o["quiet"], bool):
        raise TypeError(f"quiet must be True or False, got {o['quiet']!r}")
    if not isinstance(o["desc"], str):
        raise TypeError(f"desc must be a string (the progress bar's label), got {o['desc']!r}")
    if o["measure"] is not None and not callable(o["measure"]):
        raise TypeError(f"measure must be a function measure(model, x, labels) -> {{name: number}}, "
                        f"got {type(o['measure']).__name__}")


def linear_layers(model: Any) -> list[Any]:
    """The model's Linear layers; refuses a model train() cannot use, saying why."""
    from .layers import Linear  # here, not at the top: layers.py and model.py import this module
    from .model import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"train: model must be a tn.Sequential (e.g. tn.create_model([2, 500, 500, 2])), "
                        f"got {type(model).__name__}")
    linears = [layer for layer in model.layers if isinstance(layer, Linear)]
    if not linears:
        raise ValueError(f"train: {model!r} has no Linear layer, so nothing to train; build it with "
                         f"tn.create_model(...) or tn.Sequential(tn.Linear(...), ...)")
    return linears


def check_dataset(data: Any, model: Any) -> None:
    """Refuse data the model cannot learn from, before any step is taken."""
    from .data import Dataset

    if not isinstance(data, Dataset):
        raise TypeError(f"train: data must be a tinynet.data.Dataset (make_dataset(...) or "
                        f"Dataset(name, x_train, y_train, x_val, y_val)), got {type(data).__name__}")
    linears = linear_layers(model)
    dtype = dtype_name(linears[0].W.dtype)
    for part in ("train", "val"):
        _check_part(part, getattr(data, f"x_{part}"), getattr(data, f"y_{part}"), dtype)
    if len(data.x_train) == 0:
        raise ValueError("the training set is empty")
    first, last = linears[0], linears[-1]
    for part in ("train", "val"):
        x = getattr(data, f"x_{part}")
        if len(x) and x.shape[1] != first.W.shape[0]:
            raise ValueError(f"{part} set: the data has {x.shape[1]} features but the model's first layer "
                             f"{first!r} expects {first.W.shape[0]}")
    labels = np.concatenate([data.y_train, data.y_val])
    n_out = last.W.shape[1]
    check_label_range(int(labels.min()), int(labels.max()), n_out, f"the model's {n_out} outputs")


def _check_part(part: str, x: Any, y: Any, dtype: str) -> None:
    """One part of a Dataset: host NumPy arrays, as make_dataset gives, real inputs (complex
    ones would lose their imaginary part in the cast, silently) and integer labels."""
    real = isinstance(x, np.ndarray) and (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer))
    if not real:
        raise TypeError(f"{part} set: inputs (x_{part}) must be a NumPy array of real numbers, got "
                        f"{x.dtype if isinstance(x, np.ndarray) else type(x).__name__}")
    if not (isinstance(y, np.ndarray) and np.issubdtype(y.dtype, np.integer)):
        raise TypeError(f"{part} set: labels (y_{part}) must be a NumPy array of integers (class indices), got "
                        f"{y.dtype if isinstance(y, np.ndarray) else type(y).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{part} set: inputs must have shape (N, features), got shape {x.shape}")
    if y.ndim != 1:
        raise ValueError(f"{part} set: labels must have shape (N,), one per input row, got shape {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"{part} set: {len(x)} inputs but {len(y)} labels; they must match one to one")
    with np.errstate(over="ignore"):
        seen = np.asarray(x).astype(dtype)  # what the model will see: 1e300 is inf in float32
    if len(x) and not np.isfinite(seen).all():
        bad = int(np.sum(~np.isfinite(seen).all(axis=1)))
        raise ValueError(f"{part} set: {bad} input rows contain NaN or inf as {dtype} (the model's dtype; "
                         f"{np.finfo(dtype).max:.3g} is its largest number); clean, rescale or drop them "
                         f"before training")
