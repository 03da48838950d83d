"""Softmax cross-entropy, fused: one forward, one backward, numerically safe.

For logits z (N, C) and integer labels y (N,):

    p_ij = exp(z_ij) / sum_k exp(z_ik)           softmax, row by row
    L    = -(1/N) sum_i log p_{i, y_i}           mean over the batch
    dL/dz = (p - onehot(y)) / N                  the whole backward pass

Fusing the two is both simpler (the Jacobian of softmax never appears) and
stabler: log p is computed as a log-sum-exp of max-shifted logits, so no
exponential ever overflows and no log ever sees 0. See docs/backprop.md.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .backend import Backend, backend_of
from .layers import check_input


def check_labels(be: Backend, y: Any, n: int, n_classes: int, *, check_range: bool = True) -> None:
    """Labels must be integers 0..C-1, one per row of the logits.

    The range check reads the labels' min and max back to the host: on a GPU that waits for
    all queued work, so callers that checked their labels once may skip it (check_range=False).
    """
    if not be.is_array(y):
        raise TypeError(
            f"labels must be an integer array on the {be.name!r} backend (the logits' "
            f"backend), got {type(y).__name__}; convert with tn.get_backend({be.name!r}).asarray(labels)"
        )
    if y.ndim != 1:
        raise ValueError(f"labels must have shape (N,), one label per row, got shape {tuple(y.shape)}")
    if y.shape[0] != n:
        raise ValueError(f"got {y.shape[0]} labels for {n} rows of logits; they must match one to one")
    if not be.is_integer_dtype(y.dtype):
        raise ValueError(
            f"labels must be integer class indices, got dtype {y.dtype}; "
            f"if they are whole numbers, cast them with astype(int)"
        )
    if not check_range:
        return
    lo = int(be.xp.min(y))
    hi = int(be.xp.max(y))
    if lo < 0 or hi >= n_classes:
        raise ValueError(
            f"label out of range: labels must lie in 0..{n_classes - 1} for {n_classes} classes "
            f"(the logits' width), found labels from {lo} to {hi}"
        )


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels.

    validate_labels: check on every forward that each label lies in 0..C-1 (the default).
    The check reads two numbers back to the host, which on a GPU is a synchronisation per
    step; tinynet.train.train checks its labels once, on the host, before the first step,
    and turns it off. Shapes and dtypes are checked either way.
    """

    def __init__(self, validate_labels: bool = True) -> None:
        self.validate_labels = validate_labels
        self._probs: Any = None
        self._onehot: Any = None

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"

    def forward(self, logits: Any, y: Any) -> Any:
        """logits: (N, C), y: (N,) integers in 0..C-1 -> loss: () = -mean_i log p_{i, y_i}.

        Returns a 0-d array on the backend; float(loss) gives a Python float.
        """
        be = backend_of(logits)
        xp = be.xp
        check_input(self, be, logits)
        n, n_classes = logits.shape
        if n == 0:
            raise ValueError("SoftmaxCrossEntropy needs at least one row of logits, got shape (0, C)")
        if not be.is_float_dtype(logits.dtype):
            raise TypeError(f"SoftmaxCrossEntropy needs floating-point logits, got dtype {logits.dtype}")
        check_labels(be, y, n, n_classes, check_range=self.validate_labels)
        # Subtracting each row's max changes no probability, and makes every exponent <= 0:
        # exp never overflows, and the largest term of each sum is exactly 1, so log sees >= 1.
        # A logit more than the dtype's largest number below its row's max shifts to -inf, the
        # right limit (its exp is 0): NumPy's overflow warning there is no error.
        with np.errstate(over="ignore"):
            shifted = logits - xp.max(logits, axis=1, keepdims=True)  # (N, C), each row's max is 0
        log_norm = xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))  # (N, 1), in [0, log C]
        log_probs = shifted - log_norm  # (N, C), log p: finite even where p underflows to 0
        onehot = xp.astype(y[:, None] == be.arange(n_classes)[None, :], logits.dtype)  # (N, C)
        self._probs = xp.exp(log_probs)  # (N, C)
        self._onehot = onehot
        # log p_{i, y_i}, picked out of each row: summing onehot * log_probs instead would
        # compute 0 * -inf = nan wherever a wrong class's probability underflows to 0.
        picked = xp.take_along_axis(log_probs, xp.reshape(y, (-1, 1)), axis=1)  # (N, 1)
        # Each row's term is divided by N before the sum: a sum of huge terms could overflow
        # where their mean does not.
        return -xp.sum(picked / n)  # (): the mean of -log p_{i, y_i}

    def backward(self, grad: Any = 1.0) -> Any:
        """grad = dL_total/dL: scalar (default 1) -> dL/dlogits = grad * (p - onehot) / N: (N, C)."""
        if self._probs is None:
            raise RuntimeError("SoftmaxCrossEntropy().backward was called before forward")
        is_number = isinstance(grad, (int, float)) and not isinstance(grad, bool)
        if not (is_number or getattr(grad, "shape", None) == ()):  # a Python number or a 0-d array
            shape = f" of shape {tuple(grad.shape)}" if hasattr(grad, "shape") else ""
            raise ValueError(f"SoftmaxCrossEntropy().backward takes dL_total/dL, one number (default 1.0), "
                             f"got {type(grad).__name__}{shape}")
        n = self._probs.shape[0]
        return (self._probs - self._onehot) * (grad / n)  # (N, C)
