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
from .checks import check_logits_and_labels, check_loss_backward


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels.

    validate_labels: check on every forward that each label lies in 0..C-1 (the default).
    The check reads two numbers back to the host, which on a GPU is a synchronisation per
    step; tinynet.train checks its labels once, on the host, before the first step,
    and turns it off. Shapes and dtypes are checked either way.
    """

    def __init__(self, validate_labels: bool = True) -> None:
        if not isinstance(validate_labels, bool):
            raise TypeError(f"SoftmaxCrossEntropy: validate_labels must be True or False, got {validate_labels!r}")
        self.validate_labels = validate_labels
        self.cache: Any = None  # (probs, onehot) of the last forward

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"

    def forward(self, logits: Any, labels: Any) -> Any:
        """logits: (N, C), labels: (N,) integers in 0..C-1 -> loss: () = -mean_i log p_{i, labels_i}.

        Returns a 0-d array on the backend; float(loss) gives a Python float. Keeps
        (probs, onehot) for backward. Finite whenever the exact mean is: a row's loss that
        overflows (logits more than the largest float apart) makes it inf, nothing else does.
        """
        check_logits_and_labels(self, logits, labels, check_range=self.validate_labels)
        be = backend_of(logits)
        xp = be.xp
        n, n_classes = logits.shape
        # Minus each row's max: the same probabilities, every exponent <= 0, so exp never
        # overflows and log sees a sum >= 1 (a logit that far below its max shifts to -inf: exp 0).
        with np.errstate(over="ignore"):
            shifted = logits - xp.max(logits, axis=1, keepdims=True)  # (N, C), each row's max is 0
        log_norm = xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))  # (N, 1), in [0, log C]
        log_probs = shifted - log_norm  # (N, C), log p: finite even where p underflows to 0
        is_label = label_mask(labels, n_classes, be)  # (N, C) bool: True at each row's label
        self.cache = (xp.exp(log_probs), xp.astype(is_label, logits.dtype))  # probs (N, C), onehot (N, C)
        # log p_{i, labels_i} picked out of each row by where(), not onehot * log_probs: that
        # would compute 0 * -inf = nan wherever a wrong class's probability underflows to 0.
        picked = xp.sum(xp.where(is_label, log_probs, 0.0), axis=1)  # (N,)
        with np.errstate(over="ignore"):  # an overflow here is repaired on the next line
            mean = xp.sum(picked / -n)  # (): the mean of -log p_{i, labels_i}; each share divided first
        # At float's very limit the shares, each rounded, can sum past the largest float while
        # their exact mean, never above the largest row's loss, does not: then that row's loss
        # is the mean (to rounding). A row whose loss is itself inf keeps the mean inf.
        return xp.where(xp.isinf(mean), -xp.min(picked), mean)  # ()

    def backward(self, dout: Any = 1.0) -> Any:
        """dout = dL_total/dL: a number (default 1) -> dL/dlogits = dout * (probs - onehot) / N: (N, C)."""
        dout = check_loss_backward(self, self.cache, dout)  # a real number; keeps the logits' dtype
        probs, onehot = self.cache
        n = probs.shape[0]
        return (probs - onehot) * (dout / n)  # (N, C)


def label_mask(labels: Any, n_classes: int, be: Backend) -> Any:
    """labels: (N,) integers in 0..C-1 -> (N, C) bool, True at each row's label: the one-hot
    rows, as a mask that picks each example's own logit out of its row."""
    return labels[:, None] == be.arange(n_classes)[None, :]
