"""Layers: each one a forward pass and its hand-written backward pass.

Batches are rows: an input of N examples with D features has shape (N, D), and a layer's
output is ``out``. A layer keeps what its backward pass needs in forward, in ``cache``;
backward takes the upstream gradient ``dout`` = dL/dout and returns dL/dx, storing parameter
gradients on the layer. A layer with a kink (ReLU at 0) also keeps the branch each entry took
as ``mask`` and declares it (``kink = "mask"``), so that the gradient checker skips entries
that straddle it. ``training`` is set by model.train() / model.eval(); these layers compute
the same in both modes. Each
method opens with one call that checks its input; the math follows. The derivations are in
docs/backprop.md.

NaN and inf flow through forward and backward as they do through NumPy: checking every
call would cost a host sync per step on a GPU. tinynet.train stops at the first loss that
is not finite.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .backend import Backend, backend_of, get_backend, host_rng
from .checks import (check_backward_call, check_layer_size, check_linear_backward, check_linear_input, check_rows,
                     input_backend)

INIT_SCHEMES = ("torch", "he")  # how a Linear draws its first W and b


def init_params(rng: np.random.Generator, n_in: int, n_out: int, init: str) -> tuple[np.ndarray, np.ndarray]:
    """Initial W (n_in, n_out) and b (n_out,) as float64 host arrays.

    "torch": PyTorch's nn.Linear default, W, b ~ U(-1/sqrt(n_in), 1/sqrt(n_in)):
             kaiming_uniform(a=sqrt(5)) works out to exactly this bound. The
             default.
    "he":    W ~ N(0, 2/n_in), b = 0, which keeps the variance of ReLU activations
             constant from layer to layer.
    """
    check_layer_size("Linear", n_in, n_out)  # positive integers, and room to draw W
    if init == "torch":
        bound = 1.0 / np.sqrt(n_in)
        W = rng.uniform(-bound, bound, size=(n_in, n_out))
        b = rng.uniform(-bound, bound, size=n_out)
    elif init == "he":
        W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        b = np.zeros(n_out)
    else:
        raise ValueError(f"unknown init {init!r}; choose one of: {', '.join(INIT_SCHEMES)}")
    return W, b


class Linear:
    """Fully connected layer, out = x @ W + b.

    W: (n_in, n_out), b: (n_out,). Both may be reassigned by the user at any time;
    forward uses whatever they hold then. After backward, dW and db hold
    dL/dW (n_in, n_out) and dL/db (n_out,).
    """

    param_names = ("W", "b")
    training = True  # model.train() / model.eval() set it; a Linear is the same in both

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        seed: Any = None,
        dtype: str = "float32",
        backend: str | Backend | None = None,
        init: str = "torch",
    ) -> None:
        # Drawn on the host in float64 from the seed, then cast: the same weights on every backend.
        W, b = init_params(host_rng(seed, "Linear"), n_in, n_out, init)  # (n_in, n_out), (n_out,)
        self.backend = get_backend(backend)
        self.backend.dtype(dtype)  # float32 or float64: refused here (None would quietly keep float64)
        self.W = self.backend.asarray(W, dtype=dtype)  # (n_in, n_out), on the backend's device
        self.b = self.backend.asarray(b, dtype=dtype)  # (n_out,)
        self.dW: Any = None
        self.db: Any = None
        self.cache: Any = None  # (x, W) of the last forward

    def __repr__(self) -> str:
        shape = getattr(self.W, "shape", ())
        if len(shape) != 2:  # W reassigned to something that is no matrix: the checks name it
            return f"Linear(W {type(self.W).__name__})"
        n_in, n_out = shape
        return f"Linear({n_in}->{n_out})"

    def forward(self, x: Any) -> Any:
        """x: (N, n_in) -> out = x @ W + b: (N, n_out).

        Keeps (x, W): x for dW, and W for dx, the W this forward used even if the user
        reassigns self.W before backward. Kept, not copied: an array changed *in place*
        between forward and backward (x *= 2, self.W *= 0) reaches backward changed, and dW,
        dx follow the changed values. Assign a new array instead (self.W = self.W * 0).
        PyTorch refuses such a change through a version counter; tinynet leaves it to you
        rather than copy x and W every step.
        """
        check_linear_input(self, self.backend, self.W, self.b, x)
        self.cache = (x, self.W)
        # out = x @ W + b, with b added in place: one fresh (N, n_out) array where that line
        # makes two, 4-15% of a step at N = 1,000 (docs/performance.md, "Forms kept for speed").
        out = x @ self.W  # (N, n_in) @ (n_in, n_out) -> (N, n_out)
        out += self.b  # (N, n_out): b added to every row
        return out

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, n_out) -> dL/dx = dout @ W.T: (N, n_in).

        Sets dW = x.T @ dout: (n_in, n_out) and db = the sum of dout over the batch: (n_out,).
        """
        check_linear_backward(self, self.cache, dout)
        x, W = self.cache  # from forward
        self.dW = x.T @ dout  # (n_in, N) @ (N, n_out) -> (n_in, n_out)
        # db = dout.sum(axis=0): b feeds every row, so its gradient sums dout over the batch.
        # Written as the product 1^T dout, the same sum: on a GPU the sum along axis 0 took 4.8 ms
        # of an 11 ms step (docs/performance.md, "Forms kept for speed").
        ones = self.backend.ones(dout.shape[0], dout.dtype)  # (N,)
        self.db = ones @ dout  # (N,) @ (N, n_out) -> (n_out,)
        return dout @ W.T  # (N, n_out) @ (n_out, n_in) -> (N, n_in)


class ReLU:
    """out = max(x, 0), elementwise. The gradient at exactly 0 is taken to be 0.

    After forward, ``mask`` (same shape as x, bool) says which inputs were > 0: the branch
    each entry took at the kink, declared to the gradient checker by ``kink = "mask"``.
    ``cache`` holds it with x's dtype, for backward.
    """

    param_names = ()
    kink = "mask"  # the attribute holding the branch each entry took: the checker reads it
    training = True

    def __init__(self) -> None:
        self.mask: Any = None
        self.cache: Any = None  # (mask, x's dtype) of the last forward: backward's dout must match it

    def __repr__(self) -> str:
        return "ReLU()"

    def forward(self, x: Any) -> Any:
        """x: (N, D) -> out = x where x > 0, else 0: (N, D).

        (maximum, not where: NumPy runs where() 3x slower.)
        """
        check_rows(self, input_backend(self, x), x)
        self.mask = x > 0  # (N, D) bool: the branch each entry took
        self.cache = (self.mask, x.dtype)
        return backend_of(x).xp.maximum(x, 0.0)

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, D) -> dL/dx = dout * [x > 0]: (N, D)."""
        check_backward_call(self, self.cache, dout)  # after forward; dout shaped like the mask, x's dtype
        mask, _ = self.cache  # (N, D) bool: x > 0
        return dout * backend_of(dout).xp.astype(mask, dout.dtype)  # (N, D): dout where x > 0, else 0
