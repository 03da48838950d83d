"""Sigmoid: out = 1 / (1 + exp(-x)), elementwise. A smooth layer: no kink, no parameters."""
from __future__ import annotations

from typing import Any

from tinynet.backend import backend_of


class Sigmoid:
    param_names = ()  # no parameters: only dL/dx to compute

    def __init__(self) -> None:
        self.cache: Any = None

    def __repr__(self) -> str:
        return "Sigmoid()"

    def forward(self, x: Any) -> Any:
        """x: (N, D) -> out = 1 / (1 + exp(-x)): (N, D), each entry in (0, 1)."""
        self.cache = 1.0 / (1.0 + backend_of(x).xp.exp(-x))  # out, kept for backward
        return self.cache

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, D) -> dL/dx: (N, D).

        Cached by forward: out = self.cache, (N, D).
        """
        raise NotImplementedError


EXERCISE = {
    "name": "Sigmoid.backward", "class": "Sigmoid", "method": "backward", "kind": "layer", "shape": [5, 4],
    "hint": "d sigmoid(x) / dx = sigmoid(x) (1 - sigmoid(x)), and sigmoid(x) is cached; the chain rule multiplies "
            "by dout.",
}
