"""LeakyReLU: out = x where x > 0, slope * x elsewhere. A kink at 0, declared as ``mask``."""
from __future__ import annotations

from typing import Any

from tinynet.backend import backend_of


class LeakyReLU:
    param_names = ()
    kink = "mask"  # declared: the checker reads self.mask as the branch each entry took

    def __init__(self, slope: float = 0.1) -> None:
        self.slope = slope
        self.mask: Any = None  # the branch each entry took: the checker skips entries whose steps cross it

    def __repr__(self) -> str:
        return f"LeakyReLU({self.slope:g})"

    def forward(self, x: Any) -> Any:
        """x: (N, D) -> out = x where x > 0, slope * x elsewhere: (N, D)."""
        self.mask = x > 0  # (N, D) bool, kept for backward and declared to the checker
        return backend_of(x).xp.where(self.mask, x, self.slope * x)

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, D) -> dL/dx: (N, D).

        Cached by forward: self.mask (N, D) bool, True where x > 0; the slope is self.slope.
        """
        raise NotImplementedError


EXERCISE = {
    "name": "LeakyReLU.backward", "class": "LeakyReLU", "method": "backward", "kind": "layer", "shape": [5, 4],
    "kinks": [0.0], "hint": "The slope is 1 where x > 0 and self.slope elsewhere: xp.where(self.mask, ..., ...).",
}
