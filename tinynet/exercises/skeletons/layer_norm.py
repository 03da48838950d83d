"""LayerNorm: each row normalised to mean 0 and variance 1 over its features, then scaled and
shifted: out = gamma * (x - mean) / sqrt(var + eps) + beta. Parameters gamma, beta: (D,)."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinynet.backend import backend_of


class LayerNorm:
    param_names = ("gamma", "beta")

    def __init__(self, d: int, eps: float = 1e-5) -> None:
        rng = np.random.default_rng(0)
        self.gamma = 1.0 + 0.1 * rng.standard_normal(d)  # (D,): not all ones, so that a lost gamma shows
        self.beta = 0.1 * rng.standard_normal(d)  # (D,)
        self.eps = eps
        self.dgamma: Any = None
        self.dbeta: Any = None
        self.cache: Any = None

    def __repr__(self) -> str:
        return f"LayerNorm({self.gamma.shape[0]})"

    def forward(self, x: Any) -> Any:
        """x: (N, D) -> out: (N, D)."""
        xp = backend_of(x).xp
        mean = xp.mean(x, axis=1, keepdims=True)  # (N, 1)
        var = xp.mean((x - mean) ** 2, axis=1, keepdims=True)  # (N, 1)
        inv = 1.0 / xp.sqrt(var + self.eps)  # (N, 1)
        xhat = (x - mean) * inv  # (N, D): each row mean 0, variance ~1
        self.cache = (xhat, inv)
        return self.gamma * xhat + self.beta

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, D) -> dL/dx: (N, D). Also set self.dgamma: (D,) and self.dbeta: (D,).

        Cached by forward: xhat, inv = self.cache, xhat (N, D) the normalised x, inv (N, 1) = 1 / sqrt(var + eps).
        """
        raise NotImplementedError


EXERCISE = {
    "name": "LayerNorm.backward", "class": "LayerNorm", "method": "backward", "kind": "layer", "shape": [5, 4],
    "init": {"d": 4},
    "hint": "dbeta and dgamma sum over rows; with g = dout * gamma, dx = inv * (g - mean(g) - xhat * mean(g * xhat)), "
            "means over each row's features.",
}
