"""Dropout (training mode): each entry kept with probability 1 - p and scaled by 1 / (1 - p),
else set to 0. The mask is drawn from a seed, the same at every forward, so that finite
differences see one function."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinynet.backend import backend_of


class Dropout:
    param_names = ()

    def __init__(self, p: float = 0.5, seed: int = 0) -> None:
        self.p, self.seed = p, seed
        self.cache: Any = None

    def __repr__(self) -> str:
        return f"Dropout({self.p:g})"

    def forward(self, x: Any) -> Any:
        """x: (N, D) -> out = x * keep / (1 - p): (N, D), keep drawn from the seed."""
        be = backend_of(x)
        keep = np.random.default_rng(self.seed).uniform(size=tuple(x.shape)) >= self.p  # (N, D) bool, on the host
        scale = be.asarray(keep / (1.0 - self.p), dtype=str(x.dtype))  # (N, D): 0 or 1 / (1 - p)
        self.cache = scale
        return x * scale

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, D) -> dL/dx: (N, D).

        Cached by forward: scale = self.cache, (N, D): 0 where dropped, 1 / (1 - p) where kept.
        """
        raise NotImplementedError


EXERCISE = {
    "name": "Dropout.backward", "class": "Dropout", "method": "backward", "kind": "layer", "shape": [6, 5],
    "init": {"p": 0.5, "seed": 0},
    "hint": "out is x times a fixed scale: a dropped entry passes no gradient, a kept one passes dout / (1 - p).",
}
