"""Stochastic gradient descent: step each parameter against its gradient."""
from __future__ import annotations

import math
from typing import Any

from .backend import backend_of
from .checks import check_plain, is_real
from .model import not_a_layer, parameters


class SGD:
    """theta <- theta - lr * dL/dtheta, for every parameter of ``model``.

    With momentum mu > 0 (PyTorch's form): v <- mu * v + dL/dtheta; theta <- theta - lr * v.
    ``lr`` and ``momentum`` are public and may be changed between steps.
    """

    def __init__(self, model: Any, lr: float = 0.01, momentum: float = 0.0) -> None:
        if isinstance(model, type) or not_a_layer(model) or not list(parameters(model)):
            what = (f"the class {model.__name__}" if isinstance(model, type)
                    else f"{type(model).__name__} with none to update")
            raise TypeError(
                f"SGD needs a model or a layer with parameters (tn.Sequential, tn.create_model(...), "
                f"tn.Linear), got {what}; pass the model itself, not model.layers")
        self.model = model
        self.lr = lr
        self.momentum = momentum
        # Keyed by the layer object itself and the parameter's name, never by display text:
        # two layers that print alike (two Linear(2->2)) keep two velocities.
        self._velocity: dict[tuple[int, str], Any] = {}

    # Checked on every assignment, not only in __init__: opt.lr = -1 between steps is refused too.
    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: Any) -> None:
        if not (is_real(value) and math.isfinite(value) and value > 0):
            raise ValueError(f"SGD: lr must be a positive finite number, got {value!r}")
        self._lr = float(value)

    @property
    def momentum(self) -> float:
        return self._momentum_mu

    @momentum.setter
    def momentum(self, value: Any) -> None:
        if not (is_real(value) and 0 <= value < 1):
            raise ValueError(f"SGD: momentum must be a number in [0, 1), got {value!r}")
        self._momentum_mu = float(value)

    def step(self) -> None:
        """Update every parameter from the gradient its layer's last backward stored.

        All or nothing: every gradient is checked before any parameter changes. Each parameter
        keeps its dtype (a float64 gradient updates a float32 W in float32).
        """
        params = list(parameters(self.model))
        backward_ran = any(getattr(layer, "d" + name, None) is not None for _, layer, name in params)
        updates = [self._checked(where, layer, name, backward_ran) for where, layer, name in params]
        for layer, name, param, grad in updates:
            if self.momentum:
                grad = self._momentum(layer, name, grad)
            # A new array: one the user assigned is never changed in place.
            setattr(layer, name, param - self.lr * grad)  # theta <- theta - lr * dL/dtheta

    def _checked(self, where: str, layer: Any, name: str, backward_ran: bool) -> tuple[Any, str, Any, Any]:
        """(layer, name, parameter, gradient), the gradient of the parameter's dtype; or an error
        naming what is wrong, before anything is updated. ``backward_ran``: some parameter of the
        model has a gradient, so a missing one is its layer's backward's doing."""
        param = getattr(layer, name, None)
        grad = getattr(layer, "d" + name, None)
        if grad is None and backward_ran:
            raise RuntimeError(f"{where}: no gradient d{name}: backward ran, but this layer's backward did not set "
                               f"it; store dL/d{name} as self.d{name} in backward")
        if grad is None:
            raise RuntimeError(f"{where}: no gradient d{name}; call backward before step()")
        if not (hasattr(param, "shape") and hasattr(param, "dtype")):
            raise TypeError(f"{where}: parameter {name} is {type(param).__name__}, not an array")
        check_plain(where, grad, f"d{name}")  # np.matrix would turn the parameter into a matrix
        be = backend_of(param)
        if not be.is_array(grad):
            raise TypeError(f"{where}: d{name} must be an array of the {be.name!r} backend like {name}, got "
                            f"{type(grad).__name__}")
        if tuple(grad.shape) != tuple(param.shape):
            raise ValueError(
                f"{where}: {name} has shape {tuple(param.shape)} but d{name} has shape "
                f"{tuple(grad.shape)}; run forward and backward again after reassigning {name}"
            )
        if not be.is_float_dtype(grad.dtype):
            raise TypeError(f"{where}: d{name} must hold real floating-point numbers, got dtype {grad.dtype}")
        if grad.dtype != param.dtype:
            grad = be.xp.astype(grad, param.dtype)
        return layer, name, param, grad

    def _momentum(self, layer: Any, name: str, grad: Any) -> Any:
        key = (id(layer), name)  # the model holds the layer, so its id stays its own
        v = self._velocity.get(key)
        v = grad if v is None or v.shape != grad.shape else self.momentum * v + grad
        self._velocity[key] = v
        return v

