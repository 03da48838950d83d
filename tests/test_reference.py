"""tinynet's gradients against an independent reference: complex-step differentiation.

The reference below shares no code with tinynet: a plain NumPy forward pass of the same MLP
and loss, written for complex numbers. For a real-analytic f, Im f(theta + i t e_k) / t
equals df/dtheta_k to rounding error (there is no subtraction, so no cancellation), with
t = 1e-30. ReLU is analytic on each side of its kink, so the reference is exact away from it.
That makes the comparison far tighter than finite differences: agreement to ~1e-13.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinynet as tn

T = 1e-30  # the complex step


def reference_loss(params, x, y):
    """Mean softmax cross-entropy of an MLP; params = [W0, b0, W1, b1, ...], complex-safe."""
    a = x.astype(complex)
    n_layers = len(params) // 2
    for k in range(n_layers):
        z = a @ params[2 * k] + params[2 * k + 1]
        a = np.where(z.real > 0, z, 0) if k < n_layers - 1 else z
    shift = a.real.max(axis=1, keepdims=True)  # a real constant: does not change the value
    log_norm = np.log(np.exp(a - shift).sum(axis=1)) + shift[:, 0]
    return np.mean(log_norm - a[np.arange(len(y)), y])


def reference_gradients(params, x, y):
    grads = []
    for k, p in enumerate(params):
        g = np.zeros(p.shape)
        for index in np.ndindex(p.shape):
            shifted = [q.astype(complex) for q in params]
            shifted[k][index] += 1j * T
            g[index] = reference_loss(shifted, x, y).imag / T
        grads.append(g)
    return grads


def tinynet_gradients(be, model, x, y):
    loss_fn = tn.SoftmaxCrossEntropy()
    loss = loss_fn.forward(model.forward(be.asarray(x)), be.asarray(y))
    model.backward(loss_fn.backward())
    grads = [be.to_numpy(getattr(layer, "d" + name)) for _, layer, name in tn.parameters(model)]
    return float(loss), grads


def host_params(be, model):
    return [be.to_numpy(getattr(layer, name)) for _, layer, name in tn.parameters(model)]


@given(seed=st.integers(0, 2**32 - 1), depth=st.integers(1, 3), data=st.data())
def test_gradients_agree_with_the_complex_step_reference(be, seed, depth, data):
    sizes = [data.draw(st.integers(1, 8)) for _ in range(depth)] + [data.draw(st.integers(2, 5))]
    n = data.draw(st.integers(1, 8))
    rng = np.random.default_rng(seed)
    model = tn.create_model(sizes, seed=seed, dtype="float64", backend=be)
    x = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], size=n)
    params = host_params(be, model)
    loss, grads = tinynet_gradients(be, model, x, y)
    assert loss == pytest.approx(reference_loss(params, x, y).real, rel=1e-13)
    for ours, ref in zip(grads, reference_gradients(params, x, y)):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-14)


def test_sgd_training_tracks_the_reference_for_40_steps(be):
    sizes, n, lr = [2, 6, 5, 3], 10, 0.5
    rng = np.random.default_rng(7)
    model = tn.create_model(sizes, seed=7, dtype="float64", backend=be)
    x = rng.standard_normal((n, 2))
    y = rng.integers(0, 3, size=n)
    ref = host_params(be, model)
    opt = tn.SGD(model, lr=lr)
    for step in range(40):
        loss, _ = tinynet_gradients(be, model, x, y)
        opt.step()
        ref_loss = reference_loss(ref, x, y).real
        ref = [p - lr * g for p, g in zip(ref, reference_gradients(ref, x, y))]
        assert loss == pytest.approx(ref_loss, rel=1e-11), f"step {step}"
    for ours, theirs in zip(host_params(be, model), ref):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    initial = tn.create_model(sizes, seed=7, dtype="float64", backend="numpy")
    assert loss < 0.9 * reference_loss(host_params(tn.get_backend("numpy"), initial), x, y).real
