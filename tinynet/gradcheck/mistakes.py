"""What a failed check means, beyond its numbers: a parameter hidden from param_names, and a
backward that ignores dout. Each answers a mistake learners make, which the numbers alone
would only call a mismatch (or, for a hidden parameter, not see at all)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..model import labelled_layers, layers_of
from .report import CheckResult


def held_arrays(model: Any) -> list[dict[str, int]]:
    """Per layer, {attribute: id of the array it holds}, taken before a forward: what a forward
    then stores (its cache: the input, the output) is new, a parameter is the same array."""
    return [{name: id(value) for name, value in _attributes(layer).items() if _array(value)}
            for layer in _layers(model)]


def hidden_parameters(model: Any, held: list[dict[str, int]], tol: float) -> list[CheckResult]:
    """An array ``g``, held before the forward, with a gradient ``dg`` of its shape stored by
    backward, that the layer leaves out of ``param_names``: the checker would not check it and
    SGD would never update it. One failed result each, naming it."""
    found = []
    for (where, layer), before in zip(labelled_layers(model), held):
        declared = set(getattr(layer, "param_names", ()) or ())
        attributes = _attributes(layer)
        for name, value in attributes.items():
            grad = attributes.get("d" + name)
            if name in declared or before.get(name) != id(value) or not _array(grad):
                continue
            if tuple(value.shape) != tuple(grad.shape):
                continue
            nan = float("nan")
            found.append(CheckResult(
                where, name, tuple(value.shape), 0, 0, (), nan, nan, float("inf"), tol,
                note=f"{name} has a gradient d{name} but is not in param_names {tuple(declared)}: the checker skips "
                     f"it and SGD never updates it; add \"{name}\" to param_names"))
    return found


def _layers(model: Any) -> list[Any]:
    return [] if model is None else layers_of(model)


def _attributes(layer: Any) -> dict[str, Any]:
    return dict(vars(layer)) if hasattr(layer, "__dict__") else {}


def ignores_dout(problem: Any, dx: np.ndarray | None) -> bool:
    """Whether backward returns the same input gradient when the upstream gradient is doubled:
    a backward that never multiplies by dout. (dx: the host copy of the first backward's.)"""
    if dx is None or not np.any(dx):
        return False
    try:
        out = problem.output()  # the unperturbed forward again: the checks left the last step's cached
        if problem.loss_fn is None:
            again = problem.model.backward(2 * problem.upstream)
        else:
            problem.loss_fn.forward(out, problem.labels)
            d_out = problem.loss_fn.backward(2 * problem.upstream)
            again = d_out if problem.model is None else problem.model.backward(d_out)
        return again is not None and bool(np.allclose(problem.be.to_numpy(again), dx, rtol=1e-12, atol=0))
    except Exception:  # noqa: BLE001: a backward that fails a second time says nothing about dout
        return False


def _array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and getattr(value, "ndim", 0) >= 1
