"""Softmax alone: each row of x becomes probabilities. Its Jacobian is a full C x C matrix per
row; backward never forms it, it computes the Jacobian-vector product."""
from __future__ import annotations

from typing import Any

from tinynet.backend import backend_of


class Softmax:
    param_names = ()

    def __init__(self) -> None:
        self.cache: Any = None

    def __repr__(self) -> str:
        return "Softmax()"

    def forward(self, x: Any) -> Any:
        """x: (N, C) -> p = exp(x) / sum_k exp(x_k), row by row: (N, C)."""
        xp = backend_of(x).xp
        e = xp.exp(x - xp.max(x, axis=1, keepdims=True))  # max-shifted: no overflow
        self.cache = e / xp.sum(e, axis=1, keepdims=True)
        return self.cache

    def backward(self, dout: Any) -> Any:
        """dout = dL/dp: (N, C) -> dL/dx: (N, C).

        Cached by forward: p = self.cache, (N, C).
        """
        raise NotImplementedError


EXERCISE = {
    "name": "Softmax.backward", "class": "Softmax", "method": "backward", "kind": "layer", "shape": [5, 3],
    "hint": "dp_c/dx_k = p_c ([c == k] - p_k); summed against dout over c, row by row: p * (dout - sum(dout * p)).",
}
