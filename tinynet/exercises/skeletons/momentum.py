"""SGD with momentum, in PyTorch's form: for every parameter theta with gradient g,

    v     <- momentum * v + g          (v starts at 0: the first step has v = g)
    theta <- theta - lr * v

A velocity per parameter, kept between steps. Finite differences cannot grade an optimizer:
it is graded against a reference trajectory, the parameters after each of a few steps."""
from __future__ import annotations

from typing import Any

from tinynet import parameters


class MomentumSGD:
    def __init__(self, model: Any, lr: float = 0.1, momentum: float = 0.9) -> None:
        self.model, self.lr, self.momentum = model, lr, momentum
        self.velocity: dict[tuple[int, str], Any] = {}  # (id(layer), name) -> v, of the parameter's shape

    def step(self) -> None:
        """Update every parameter in place of the model's: setattr(layer, name, new value).

        parameters(self.model) yields (where, layer, name): the parameter is getattr(layer, name),
        its gradient getattr(layer, "d" + name).
        """
        raise NotImplementedError


EXERCISE = {
    "name": "MomentumSGD.step", "class": "MomentumSGD", "method": "step", "kind": "optimizer",
    "init": {"lr": 0.1, "momentum": 0.9},
    "hint": "Keep v per parameter in self.velocity: v = momentum * v + g (or g at the first step), then theta - lr * v.",
    "reference": [  # W and b, flattened, after each step: from the answer in tests/
        [0.9998769846642518, 0.17012544624915302, -0.07258621446377825, 0.8890591838757275, 0.6454670785171722, 1.299164655499646, -0.006014360259743849, 0.06597847544454666],
        [1.0489869227172113, 0.20528583785538476, -0.09689801249969848, 0.9335237485478761, 0.6758460242828374, 1.4814596499201482, -0.008502102247185964, -0.12417121610119014],
        [1.227607321693383, 0.28269176640501514, 0.07134364324805773, 1.1024956307313074, 0.8873605792511092, 1.6690342580060682, 0.11600357810848647, -0.32243237437452343],
    ],
}
