"""Swish (or SiLU): out = x * sigmoid(x), elementwise. An exercise a course adds to tinynet's own:
this file holds the answer, and `python -m tinynet.exercises start FOLDER --from docs/course`
gives learners the same file with the backward blanked."""
from __future__ import annotations

from typing import Any

from tinynet.backend import backend_of


class Swish:
    param_names = ()

    def __init__(self) -> None:
        self.cache: Any = None

    def __repr__(self) -> str:
        return "Swish()"

    def forward(self, x: Any) -> Any:
        """x: (N, D) -> out = x * sigmoid(x): (N, D)."""
        s = 1.0 / (1.0 + backend_of(x).xp.exp(-x))  # (N, D): sigmoid(x)
        self.cache = (x, s)
        return x * s

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, D) -> dL/dx: (N, D).

        Cached by forward: x, s = self.cache, x (N, D) and s (N, D) = sigmoid(x).
        """
        x, s = self.cache
        return dout * (s + x * s * (1.0 - s))  # the product rule: d(x s)/dx = s + x s'


EXERCISE = {
    "name": "Swish.backward", "class": "Swish", "method": "backward", "kind": "layer", "shape": [5, 4],
    "hint": "The product rule: d(x * s(x))/dx = s(x) + x * s'(x), with s' = s (1 - s); then times dout.",
    "points": 2,
}
