"""Mean squared error: L = (1/N) sum_n sum_d (pred[n, d] - target[n, d])^2, a loss for values
rather than classes."""
from __future__ import annotations

from typing import Any

from tinynet.backend import backend_of


class MSELoss:
    def __init__(self) -> None:
        self.cache: Any = None

    def __repr__(self) -> str:
        return "MSELoss()"

    def forward(self, pred: Any, target: Any) -> Any:
        """pred: (N, D), target: (N, D) -> L: (), the mean over the N rows of each row's squared error."""
        diff = pred - target  # (N, D)
        self.cache = diff
        return backend_of(pred).xp.sum(diff * diff) / pred.shape[0]

    def backward(self, dout: Any = 1.0) -> Any:
        """dout = dL_total/dL: a number -> dL/dpred: (N, D).

        Cached by forward: diff = self.cache = pred - target, (N, D).
        """
        raise NotImplementedError


EXERCISE = {
    "name": "MSELoss.backward", "class": "MSELoss", "method": "backward", "kind": "loss", "shape": [5, 3],
    "labels": "values", "hint": "d (p - t)^2 / dp = 2 (p - t); the mean puts a 1/N in front; dout multiplies it all.",
    "input": "pred",
}
