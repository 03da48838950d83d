"""An L2 weight-decay term: penalty = lam / 2 * sum(W^2), added to the loss to keep weights
small. Checked as a loss whose input is the weight matrix itself."""
from __future__ import annotations

from typing import Any

from tinynet.backend import backend_of


class L2Penalty:
    def __init__(self, lam: float = 0.1) -> None:
        self.lam = lam
        self.cache: Any = None

    def __repr__(self) -> str:
        return f"L2Penalty({self.lam:g})"

    def forward(self, W: Any, labels: Any = None) -> Any:
        """W: (n_in, n_out) -> penalty: () = lam / 2 * sum of W's squared entries. (labels: unused.)"""
        self.cache = W
        return self.lam / 2 * backend_of(W).xp.sum(W * W)

    def backward(self, dout: Any = 1.0) -> Any:
        """dout = dL_total/dpenalty: a number -> dL/dW: (n_in, n_out).

        Cached by forward: W = self.cache.
        """
        raise NotImplementedError


EXERCISE = {
    "name": "L2Penalty.backward", "class": "L2Penalty", "method": "backward", "kind": "loss", "shape": [4, 3],
    "labels": "none", "init": {"lam": 0.1},
    "hint": "d (lam / 2 * W^2) / dW = lam * W, entry by entry; the /2 is there to cancel the 2.",
    "input": "W",
}
