"""A residual block: out = x + (x @ W + b). x reaches out two ways, around the block and
through it: its gradient is the sum of both (gradients add at forks)."""
from __future__ import annotations

from typing import Any

import numpy as np


class Residual:
    param_names = ("W", "b")

    def __init__(self, d: int) -> None:
        rng = np.random.default_rng(1)
        self.W = rng.uniform(-1, 1, size=(d, d)) / np.sqrt(d)  # (D, D)
        self.b = rng.uniform(-1, 1, size=d) / np.sqrt(d)  # (D,)
        self.dW: Any = None
        self.db: Any = None
        self.cache: Any = None

    def __repr__(self) -> str:
        return f"Residual({self.W.shape[0]})"

    def forward(self, x: Any) -> Any:
        """x: (N, D) -> out = x + x @ W + b: (N, D)."""
        self.cache = x
        return x + x @ self.W + self.b

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, D) -> dL/dx: (N, D). Also set self.dW: (D, D) and self.db: (D,).

        Cached by forward: x = self.cache, (N, D).
        """
        raise NotImplementedError


EXERCISE = {
    "name": "Residual.backward", "class": "Residual", "method": "backward", "kind": "layer", "shape": [5, 4],
    "init": {"d": 4},
    "hint": "Two paths from x to out: the identity passes dout as it is, the Linear passes dout @ W.T; add them.",
}
