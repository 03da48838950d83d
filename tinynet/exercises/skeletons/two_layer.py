"""A two-layer network written as one layer: out = relu(x @ W1 + b1) @ W2 + b2. Its backward
is the whole chain rule by hand: two Linear backwards and a ReLU's, composed."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinynet.backend import backend_of


class TwoLayerNet:
    param_names = ("W1", "b1", "W2", "b2")
    kink = "mask"  # the ReLU's branch, declared to the checker

    def __init__(self, d_in: int, hidden: int, d_out: int) -> None:
        rng = np.random.default_rng(2)
        self.W1 = rng.uniform(-1, 1, size=(d_in, hidden)) / np.sqrt(d_in)  # (D, H)
        self.b1 = rng.uniform(-1, 1, size=hidden) / np.sqrt(d_in)  # (H,)
        self.W2 = rng.uniform(-1, 1, size=(hidden, d_out)) / np.sqrt(hidden)  # (H, C)
        self.b2 = rng.uniform(-1, 1, size=d_out) / np.sqrt(hidden)  # (C,)
        self.dW1 = self.db1 = self.dW2 = self.db2 = None
        self.mask: Any = None  # the hidden ReLU's branches, declared to the checker
        self.cache: Any = None

    def __repr__(self) -> str:
        return f"TwoLayerNet({self.W1.shape[0]}->{self.W1.shape[1]}->{self.W2.shape[1]})"

    def forward(self, x: Any) -> Any:
        """x: (N, D) -> out: (N, C)."""
        z = x @ self.W1 + self.b1  # (N, H)
        self.mask = z > 0  # (N, H) bool
        h = backend_of(x).xp.where(self.mask, z, 0.0)  # (N, H) = relu(z)
        self.cache = (x, h)
        return h @ self.W2 + self.b2

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, C) -> dL/dx: (N, D). Also set dW1 (D, H), db1 (H,), dW2 (H, C), db2 (C,).

        Cached by forward: x, h = self.cache, x (N, D) and h (N, H) = relu(x @ W1 + b1); self.mask (N, H).
        """
        raise NotImplementedError


EXERCISE = {
    "name": "TwoLayerNet.backward", "class": "TwoLayerNet", "method": "backward", "kind": "layer",
    "shape": [5, 3], "init": {"d_in": 3, "hidden": 6, "d_out": 2},
    "hint": "Last layer first: dW2 = h.T @ dout, then dh = dout @ W2.T, dz = dh where mask, then the first layer's.",
}
