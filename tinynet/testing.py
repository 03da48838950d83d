"""Checks for your own layers: one call in a test, and a hypothesis strategy for its inputs.

    from tinynet.testing import assert_backward_correct, assert_loss_correct

    def test_my_tanh():
        assert_backward_correct(Tanh(), np.random.default_rng(0).normal(size=(4, 3)))

``assert_backward_correct`` runs the full gradient check of ``tinynet.gradcheck``: the input
gradient and every parameter, against centered finite differences in float64, with a random
upstream gradient, skipping entries whose +-h steps cross a kink of a layer that exposes its
branches as ``mask``. On failure it raises AssertionError naming the tensor, the worst entry,
both values and their ratio: a flipped sign shows as -1, a missing 1/N as N.
docs/own_layer.md walks through writing a layer and testing it with these.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from . import gradcheck
from .backend import backend_of, get_backend, host_numbers
from .checks import is_real
from .model import layer_name, parameters


def assert_backward_correct(layer: Any, x: Any, *, y: Any = None, tol: float | None = None,
                            seed: int = 0) -> list[gradcheck.CheckResult]:
    """Check ``layer.backward`` against finite differences; raise AssertionError if it is wrong.

    layer: an object with forward(x) -> out and backward(dout) -> dL/dx, its parameters named
           in ``param_names`` and their gradients stored by backward as ``d<name>`` (a
           Sequential of such layers works too). Built in float32 or float64: the check
           runs in float64 either way, and puts the layer back as it was afterwards.
    x:     the input, (N, D): a NumPy array, a list, or an array of the layer's backend.
    y:     integer labels (N,) to check the layer followed by SoftmaxCrossEntropy (for a
           model whose output is logits); None checks the layer alone. (As everywhere in
           tinynet, y is labels; a layer's output is ``out``.)
    tol:   the largest relative error allowed (default gradcheck.TOL, 1e-6).
    seed:  of the random upstream gradient.

    Returns the per-tensor results when every gradient agrees.
    """
    if isinstance(layer, type):
        raise TypeError(f"assert_backward_correct needs a layer instance, got the class {layer.__name__}; "
                        f"call it first, e.g. {layer.__name__}(...)")
    if not (callable(getattr(layer, "forward", None)) and callable(getattr(layer, "backward", None))):
        raise TypeError(f"assert_backward_correct needs an object with forward and backward methods, "
                        f"got {type(layer).__name__}")
    tol = _tolerance(tol)
    be = _backend_of_layer(layer, x)
    host = _host(x, "x", be)
    if np.iscomplexobj(host):  # the cast to float64 would drop the imaginary part, silently
        raise TypeError(f"assert_backward_correct: x must hold real numbers, got {host.dtype}")
    x = be.asarray(host, dtype="float64")  # (N, D) on the layer's backend
    if x.ndim != 2:
        raise ValueError(f"x must be a batch of rows, shape (N, D), got shape {tuple(x.shape)}")
    options: dict[str, Any] = {"seed": seed, "tol": tol}
    if y is None:
        results = gradcheck.check_layer(layer, x, **options)
    else:
        results = gradcheck.check_model(layer, x, be.asarray(_host(y, "y", be)), **options)
    return _all_agree(layer, results)


def assert_loss_correct(loss_fn: Any, logits: Any, labels: Any = None, *, tol: float | None = None,
                        seed: int = 0) -> list[gradcheck.CheckResult]:
    """Check a loss's backward against finite differences, as assert_backward_correct does a
    layer's; raise AssertionError if it is wrong.

    loss_fn: an object with forward(logits, labels) -> a number and backward(dout) -> dL/dlogits.
             The checker sends a dout other than 1 (a loss is rarely the last step): a backward
             that ignores it is told so.
    logits:  (N, C): a NumPy array, a list, or an array of a backend.
    labels:  whatever the loss's forward takes beside the logits (integer classes (N,), target
             values (N, C), or None).
    """
    if isinstance(loss_fn, type) or not (callable(getattr(loss_fn, "forward", None))
                                         and callable(getattr(loss_fn, "backward", None))):
        what = f"the class {loss_fn.__name__}" if isinstance(loss_fn, type) else type(loss_fn).__name__
        raise TypeError(f"assert_loss_correct needs a loss instance with forward(logits, labels) and "
                        f"backward(dout), got {what}")
    tol = _tolerance(tol)
    be = _backend_of_layer(None, logits)
    logits = be.asarray(_host(logits, "logits", be), dtype="float64")
    if logits.ndim != 2:
        raise ValueError(f"logits must be a batch of rows, shape (N, C), got shape {tuple(logits.shape)}")
    labels = None if labels is None else be.asarray(_host(labels, "labels", be))
    return _all_agree(loss_fn, gradcheck.check_loss(loss_fn, logits, labels, seed=seed, tol=tol))


def _tolerance(tol: Any) -> float:
    """tol, or gradcheck's default (1e-6) for None; a number in (0, 1)."""
    tol = gradcheck.TOL if tol is None else tol
    if not (is_real(tol) and 0 < tol < 1):
        raise ValueError(f"tol must be a number in (0, 1), got {tol!r}")
    return tol


def _all_agree(checked: Any, results: list[gradcheck.CheckResult]) -> list[gradcheck.CheckResult]:
    """The results, if every tensor agrees; else an AssertionError with each failure's report."""
    failed = [r for r in results if not r.passed]
    if failed:
        lines = [f"backward of {layer_name(checked)} disagrees with finite differences for {len(failed)} of "
                 f"{len(results)} tensor{'s' * (len(results) > 1)}:"]
        lines += ["  " + r.report() for r in failed]
        raise AssertionError("\n".join(lines))
    return results


def layer_inputs(*, rows: Sequence[int] = (1, 6), features: Sequence[int] = (1, 6), low: float = -3.0,
                 high: float = 3.0, kinks: Sequence[float] = (), margin: float = 1e-3) -> Any:
    """A hypothesis strategy for a layer's input: float64 NumPy arrays of shape (N, D).

    rows, features: the smallest and largest N and D (inclusive).
    low, high:      the range of the entries.
    kinks:          points where the layer has a kink (0 for ReLU); entries stay at least
                    ``margin`` away from each, so that the checker's +-h steps never straddle
                    one (margin = 100 h by default).
    """
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    for name, pair in (("rows", rows), ("features", features)):
        pair_ok = isinstance(pair, (list, tuple)) and len(pair) == 2
        if not pair_ok or not all(isinstance(v, int) and v >= 1 for v in pair) or pair[0] > pair[1]:
            raise ValueError(f"{name} must be (smallest, largest), positive integers, got {pair!r}")
    if not (is_real(low) and is_real(high) and math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"low < high must be finite numbers, got low={low!r}, high={high!r}")
    if not (is_real(margin) and 0 <= margin < math.inf):
        raise ValueError(f"margin must be a number >= 0, got {margin!r}")
    if not (isinstance(kinks, (list, tuple)) and all(is_real(k) for k in kinks)):
        raise ValueError(f"kinks must be a list of numbers, e.g. [0.0], got {kinks!r}")
    kinks = [float(k) for k in kinks]
    # Some part of [low, high] must lie at least margin from every kink, or no input can be drawn.
    edges = sorted({low, high, *(k - margin for k in kinks), *(k + margin for k in kinks)})
    free = [(a + b) / 2 for a, b in zip(edges, edges[1:]) if low <= (a + b) / 2 <= high
            and all(abs((a + b) / 2 - k) > margin for k in kinks)]
    if not free:
        raise ValueError(f"no input in [{low}, {high}] lies {margin} or more from the kinks {kinks}: widen "
                         f"[low, high] or lower the margin")
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False)
    if kinks:
        elements = elements.filter(lambda v: all(abs(v - k) >= margin for k in kinks))
    shapes = st.tuples(st.integers(*rows), st.integers(*features))
    return shapes.flatmap(lambda shape: hnp.arrays(np.float64, shape, elements=elements))


def _backend_of_layer(layer: Any, x: Any):
    """The backend of the layer's parameters, else of x, else NumPy."""
    for _, owner, name in ([] if layer is None else parameters(layer)):
        try:
            return backend_of(getattr(owner, name))
        except TypeError:
            break
    try:
        return backend_of(x)
    except TypeError:
        return get_backend("numpy")


def _host(a: Any, name: str, be: Any) -> np.ndarray:
    """NumPy copy of ``a`` (a list, a NumPy array, or an array of backend ``be``)."""
    if be.is_array(a):
        return be.to_numpy(a)
    try:
        if np.iscomplexobj(a):  # said by the caller, in its own words
            return np.asarray(a)
    except ValueError:  # a ragged list: host_numbers says so
        pass
    return host_numbers(a, name)  # a string, a dict, a ragged list: one line naming the argument
