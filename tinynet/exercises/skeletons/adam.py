"""Adam: for every parameter theta with gradient g, at step t = 1, 2, ...

    m     <- beta1 * m + (1 - beta1) * g          (m and v start at 0)
    v     <- beta2 * v + (1 - beta2) * g^2
    m_hat =  m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
    theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)

Graded against a reference trajectory: the parameters after each of a few steps."""
from __future__ import annotations

from typing import Any

from tinynet import parameters


class Adam:
    def __init__(self, model: Any, lr: float = 0.1, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.model, self.lr, self.beta1, self.beta2, self.eps = model, lr, beta1, beta2, eps
        self.t = 0  # steps taken
        self.m: dict[tuple[int, str], Any] = {}  # (id(layer), name) -> first moment
        self.v: dict[tuple[int, str], Any] = {}  # (id(layer), name) -> second moment

    def step(self) -> None:
        """Update every parameter of the model: setattr(layer, name, new value).

        parameters(self.model) yields (where, layer, name): the parameter is getattr(layer, name),
        its gradient getattr(layer, "d" + name). Count the step first: t is 1 at the first step.
        """
        raise NotImplementedError


EXERCISE = {
    "name": "Adam.step", "class": "Adam", "method": "step", "kind": "optimizer",
    "init": {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "hint": "Count the step first (t = 1 at the first step): the bias corrections divide by 1 - beta^t.",
    "reference": [  # W and b, flattened, after each step: from the answer in tests/
        [0.900000812900168, 0.10000000334733022, -3.647799617922942e-09, 0.8999999988771512, 0.6999999978006065, 1.2999999989915763, -0.09999998337313047, 0.1000000007461488],
        [0.9742468800724344, 0.1379969926269505, -0.03223292481766088, 0.9345014127422597, 0.7484579593896232, 1.3997835351638677, -0.1276909460034783, 0.006246385357789347],
        [1.0539619923271601, 0.19782581120544435, 0.021985522385815318, 1.001680528735008, 0.8195787904798466, 1.4866779847979295, -0.06502508836982249, -0.0763874502403837],
    ],
}
