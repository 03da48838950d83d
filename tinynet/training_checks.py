"""train()'s checks: every argument, once, before the first step.

A refusal names the argument and how to fix it. Nothing here runs inside the loop: a check
per step would read numbers back from the device (a wait, on a GPU) and repeat what cannot
have changed. Only training.py imports this module; it imports the engine's pieces to check
them, and none of them imports it back.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .backend import dtype_name
from .checks import check_batch_size, check_label_range, check_measure, check_same_dtype, is_positive_int, is_real
from .data import Dataset
from .model import Sequential, linear_layers


def check_train(model: Any, data: Any, *, opt: Any, loss_fn: Any, lr: Any, momentum: Any,
                **options: Any) -> None:
    """train(model, data, ...)'s arguments: its options, then the model and the data, then the
    optimizer and the loss (the learner's own, or lr for the default SGD)."""
    check_options(**options)
    check_model_and_data(model, data)
    if opt is None and lr is None:
        raise TypeError("train: give lr=... (for the default optimizer, SGD) or your own opt=...")
    if opt is not None and (lr is not None or momentum):
        raise TypeError("train: lr and momentum set up the default SGD; with your own opt=..., set them on it")
    for name, value in (("loss_fn", loss_fn), ("opt", opt)):
        if value is not None:  # None: train builds tinynet's own
            _check_piece(name, value)
    _check_bound(model, opt)


def check_options(**options: Any) -> None:
    """train()'s options, each refused with a message naming it."""
    o = options
    if not is_positive_int(o["steps"]):
        raise ValueError(f"steps must be a positive integer, got {o['steps']!r}")
    check_batch_size(o["batch_size"])
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
    check_measure(o["measure"])


def check_model_and_data(model: Any, data: Any) -> None:
    """A Sequential with a Linear layer to train, and data it can learn from: host arrays of
    the first layer's width, labels one per row and each a class the last layer outputs."""
    if not isinstance(data, Dataset):
        raise TypeError(f"train: data must be a tinynet.data.Dataset (make_dataset(...) or "
                        f"Dataset(name, x_train, y_train, x_val, y_val)), got {type(data).__name__}")
    if not isinstance(model, Sequential):
        raise TypeError(f"train: model must be a tn.Sequential (e.g. tn.create_model([2, 500, 500, 2])), "
                        f"got {type(model).__name__}")
    linears = linear_layers(model)
    if not linears:
        raise ValueError(f"train: {model!r} has no Linear layer, so nothing to train; build it with "
                         f"tn.create_model(...) or tn.Sequential(tn.Linear(...), ...)")
    first, last = linears[0], linears[-1]
    dtype = dtype_name(first.W.dtype)
    for part in ("train", "val"):
        _check_part(part, getattr(data, f"x_{part}"), getattr(data, f"y_{part}"), dtype)
    if len(data.x_train) == 0:
        raise ValueError("the training set is empty")
    # The widths are tinynet's Linear layers' to say only where one is the model's first (or last)
    # layer with weights: a learner's own dense layer before it takes the data's features itself.
    layers = model.layers
    if layers[0] is first:
        for part in ("train", "val"):
            x = getattr(data, f"x_{part}")
            if len(x) and x.shape[1] != first.W.shape[0]:
                raise ValueError(f"{part} set: the data has {x.shape[1]} features but the model's first layer "
                                 f"{first!r} expects {first.W.shape[0]}")
    after = layers[layers.index(last) + 1:]
    if not any(getattr(layer, "param_names", ()) for layer in after):
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


# {argument: (the methods a step calls on it, an example of one)}
STEP_ARGUMENTS = {
    "model": (("forward", "backward"), "tn.create_model(...)"),
    "loss_fn": (("forward", "backward"), "tn.SoftmaxCrossEntropy()"),
    "opt": (("step",), "tn.SGD(model, lr=...)"),
}


class DtypeNamed:
    """A learner's loss as train calls it: the same forward and backward, and a backward that
    returns another dtype than the logits' (a float64 one-hot against float32 logits, the
    classic slip) is named on the learner's own class, where the layer below would refuse it."""

    def __init__(self, loss_fn: Any) -> None:
        self.loss_fn, self.logits = loss_fn, None

    def forward(self, logits: Any, labels: Any) -> Any:
        self.logits = logits
        return self.loss_fn.forward(logits, labels)

    def backward(self, dout: Any) -> Any:
        dlogits = self.loss_fn.backward(dout)
        check_same_dtype(type(self.loss_fn).__name__, "backward", self.logits, dlogits,
                         "build the one-hot, and any array it makes, with the logits' dtype, e.g. "
                         "xp.eye(C, dtype=logits.dtype)[labels]", what="logits")
        return dlogits


def dtype_named(loss_fn: Any) -> Any:
    """tinynet's own loss as it is; a learner's, its dtype slips named (DtypeNamed)."""
    return loss_fn if type(loss_fn).__module__.startswith("tinynet.") else DtypeNamed(loss_fn)


def check_train_step(model: Any, loss_fn: Any, opt: Any) -> None:
    """A step's three pieces, each with the methods the step calls on it, and an optimizer
    that updates this model (or one of its layers), not another one."""
    for name, value in (("model", model), ("loss_fn", loss_fn), ("opt", opt)):
        _check_piece(name, value)
    _check_bound(model, opt)


def _check_piece(name: str, value: Any) -> None:
    methods, example = STEP_ARGUMENTS[name]
    if isinstance(value, type) or not all(callable(getattr(value, m, None)) for m in methods):
        got = f"the class {value.__name__}" if isinstance(value, type) else type(value).__name__
        wanted = " and ".join(f"{m}()" for m in methods)
        raise TypeError(f"train_step: {name} must have {wanted}, like {example}; got {got}")


def _check_bound(model: Any, opt: Any) -> None:
    bound = getattr(opt, "model", None)  # what tn.SGD updates; a learner's optimizer may not say
    if bound is not None and bound is not model and not any(bound is layer for layer in getattr(model, "layers", ())):
        raise ValueError(f"train_step: opt updates {bound!r}, not this model {model!r}: the step would train the "
                         f"one and leave the other; build the optimizer on this model, tn.SGD(model, lr=...)")
