"""The engine end to end: training steps, repeatability, determinism, SGD semantics."""
from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from helpers import random_data


def train(be, steps=10, seed=0, dtype="float32", lr=0.1, sizes=(2, 16, 16, 3), momentum=0.0):
    """A few full-batch SGD steps; returns the losses (host floats) and the model."""
    model = tn.create_model(list(sizes), seed=seed, dtype=dtype, backend=be)
    x, y = random_data(be, np.random.default_rng(seed), 32, sizes[0], sizes[-1], dtype=dtype)
    loss_fn = tn.SoftmaxCrossEntropy()
    opt = tn.SGD(model, lr=lr, momentum=momentum)
    losses = []
    for _ in range(steps):
        loss = loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward())
        opt.step()
        losses.append(float(loss))
    return losses, model


def weights(be, model):
    return [be.to_numpy(getattr(layer, name)) for _, layer, name in tn.parameters(model)]


def test_a_full_training_step_runs_and_lowers_the_loss(be):
    """On "strict" this proves the whole step makes no hidden host copy."""
    losses, model = train(be, steps=30)
    assert losses[-1] < losses[0]
    assert all(w.dtype == np.float32 for w in weights(be, model))  # no silent promotion


def test_same_seed_gives_bit_identical_weights_and_losses(be):
    losses_a, model_a = train(be, seed=3)
    losses_b, model_b = train(be, seed=3)
    assert losses_a == losses_b
    for a, b in zip(weights(be, model_a), weights(be, model_b)):
        np.testing.assert_array_equal(a, b)


def test_different_seed_gives_different_numbers(be):
    assert train(be, seed=1)[0] != train(be, seed=2)[0]


def test_initial_weights_are_identical_on_every_backend(be):
    here = weights(be, tn.create_model([3, 7, 2], seed=5, backend=be))
    host = weights(tn.get_backend("numpy"), tn.create_model([3, 7, 2], seed=5, backend="numpy"))
    for a, b in zip(here, host):
        np.testing.assert_array_equal(a, b)


def test_torch_default_init_bounds():
    layer = tn.Linear(400, 300, seed=0, dtype="float64")
    bound = 1 / np.sqrt(400)
    for p in (layer.W, layer.b):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.99 * bound  # uniform over the whole interval
    assert np.std(layer.W) == pytest.approx(bound / np.sqrt(3), rel=0.02)  # std of U(-a, a)


def test_he_init():
    layer = tn.Linear(400, 300, seed=0, dtype="float64", init="he")
    assert np.std(layer.W) == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert not np.any(layer.b)


def test_model_structure():
    model = tn.create_model([2, 500, 500, 2], seed=0)
    assert [repr(layer) for layer in model.layers] == [
        "Linear(2->500)", "ReLU()", "Linear(500->500)", "ReLU()", "Linear(500->2)"]
    assert repr(tn.create_model([2, 3]).layers[-1]) == "Linear(2->3)"  # logits straight from the last Linear


def test_repeated_backward_gives_identical_gradients(be):
    model = tn.create_model([3, 6, 4], seed=0, dtype="float64", backend=be)
    x, y = random_data(be, np.random.default_rng(0), 5, 3, 4)
    loss_fn = tn.SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(x), y)
    dx1 = be.to_numpy(model.backward(loss_fn.backward()))
    first = [be.to_numpy(layer.dW) for layer in model.layers[::2]]
    dx2 = be.to_numpy(model.backward(loss_fn.backward()))
    second = [be.to_numpy(layer.dW) for layer in model.layers[::2]]
    np.testing.assert_array_equal(dx1, dx2)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_zero_upstream_gives_zero_gradients(be):
    model = tn.create_model([3, 6, 4], seed=0, dtype="float64", backend=be)
    x, _ = random_data(be, np.random.default_rng(0), 5, 3, 4)
    out = model.forward(x)
    dx = model.backward(be.xp.zeros_like(out))
    assert not np.any(be.to_numpy(dx))
    for _, layer, name in tn.parameters(model):
        assert not np.any(be.to_numpy(getattr(layer, "d" + name)))


def test_batch_gradient_is_the_mean_of_single_example_gradients(be):
    """Batch of one and batch of many agree: the loss is a mean, so is its gradient."""
    n = 6
    model = tn.create_model([3, 6, 4], seed=0, dtype="float64", backend=be)
    x_host = np.random.default_rng(1).standard_normal((n, 3))
    y_host = np.random.default_rng(2).integers(0, 4, size=n)
    loss_fn = tn.SoftmaxCrossEntropy()

    def grads(rows):
        loss_fn.forward(model.forward(be.asarray(x_host[rows])), be.asarray(y_host[rows]))
        model.backward(loss_fn.backward())
        return [be.to_numpy(getattr(layer, "d" + name)) for _, layer, name in tn.parameters(model)]

    batch = grads(slice(0, n))
    singles = [grads(slice(i, i + 1)) for i in range(n)]
    for k, g in enumerate(batch):
        np.testing.assert_allclose(g, np.mean([s[k] for s in singles], axis=0), rtol=1e-12, atol=1e-15)


def test_sgd_update_is_exactly_theta_minus_lr_grad(be):
    model = tn.create_model([3, 4, 2], seed=0, dtype="float64", backend=be)
    x, y = random_data(be, np.random.default_rng(0), 5, 3, 2)
    loss_fn = tn.SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    before = [(be.to_numpy(getattr(l, n)), be.to_numpy(getattr(l, "d" + n))) for _, l, n in tn.parameters(model)]
    tn.SGD(model, lr=0.25).step()
    for (p, g), (_, layer, name) in zip(before, tn.parameters(model)):
        np.testing.assert_array_equal(be.to_numpy(getattr(layer, name)), p - 0.25 * g)


def test_sgd_finds_reassigned_parameters_and_never_mutates_them(be):
    model = tn.create_model([2, 3], seed=0, dtype="float64", backend=be)
    layer = model.layers[0]
    mine = be.asarray(np.ones((2, 3)))
    layer.W = mine
    x, y = random_data(be, np.random.default_rng(0), 4, 2, 3)
    loss_fn = tn.SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    grad = be.to_numpy(layer.dW)
    tn.SGD(model, lr=0.5).step()
    np.testing.assert_array_equal(be.to_numpy(layer.W), 1.0 - 0.5 * grad)
    np.testing.assert_array_equal(be.to_numpy(mine), np.ones((2, 3)))  # the user's array is intact


def test_momentum_matches_its_formula(be):
    model = tn.create_model([2, 3], seed=0, dtype="float64", backend=be)
    layer = model.layers[0]
    opt = tn.SGD(model, lr=0.1, momentum=0.9)
    g1, g2 = be.asarray(np.full((2, 3), 1.0)), be.asarray(np.full((2, 3), 2.0))
    w0 = be.to_numpy(layer.W)
    layer.dW, layer.db = g1, be.xp.zeros_like(layer.b)
    opt.step()  # v = g1
    layer.dW = g2
    opt.step()  # v = 0.9 g1 + g2
    np.testing.assert_allclose(be.to_numpy(layer.W), w0 - 0.1 * 1.0 - 0.1 * (0.9 * 1.0 + 2.0), rtol=1e-15)


def test_float64_training_tracks_float32_training(be):
    """The same steps in both precisions give nearly the same losses."""
    l32, _ = train(be, dtype="float32")
    l64, _ = train(be, dtype="float64")
    np.testing.assert_allclose(l32, l64, rtol=1e-4)


def test_a_layer_used_twice_is_refused_at_construction():
    lin = tn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"Linear\(2->2\) is used twice \(arguments 0 and 2\)"):
        tn.Sequential(lin, tn.ReLU(), lin)
    relu = tn.ReLU()
    with pytest.raises(ValueError, match="gradients add at forks"):
        tn.Sequential(tn.Linear(2, 2), relu, tn.Linear(2, 2), relu)


def test_a_backward_that_returns_nothing_is_named_not_the_layer_below():
    class Forgets:
        param_names = ()

        def forward(self, x):
            return x

        def backward(self, dout):
            dout * 1  # computed, and not returned

    model = tn.Sequential(tn.Linear(2, 3, seed=0), Forgets(), tn.Linear(3, 2, seed=1))
    model.forward(np.ones((4, 2), np.float32))
    with pytest.raises(TypeError, match=r"layers\[1\] Forgets\(\)\.backward returned None"):
        model.backward(np.ones((4, 2), np.float32))
    first = tn.Sequential(Forgets(), tn.Linear(2, 2, seed=0))  # the first layer's dL/dx reaches no one
    first.forward(np.ones((4, 2), np.float32))
    assert first.backward(np.ones((4, 2), np.float32)) is None


def test_an_array_changed_in_place_between_forward_and_backward_reaches_backward_changed():
    """The documented behaviour (Linear.forward's docstring): forward keeps x and W, not copies.
    Changed in place, backward uses the changed values; reassigned, the forward's own."""
    x = np.ones((2, 2))
    layer = tn.Linear(2, 2, seed=0, dtype="float64")
    layer.forward(x)
    x *= 2  # in place: the kept x is this array
    layer.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(layer.dW, np.full((2, 2), 4.0))  # 2 rows of 2, where the forward saw 1s: 2
    W = layer.W.copy()
    layer.forward(np.ones((2, 2)))
    layer.W = layer.W * 0  # reassigned: backward keeps the forward's W
    np.testing.assert_array_equal(layer.backward(np.ones((2, 2))), np.ones((2, 2)) @ W.T)
    layer.forward(np.ones((2, 2)))
    layer.W *= 0  # in place: backward's dx uses the zeroed W
    np.testing.assert_array_equal(layer.backward(np.ones((2, 2))), np.zeros((2, 2)))
