"""tinynet/layers.py: Linear and ReLU, forward and backward, their initialisation, and what each
refuses, on every backend (the gradients against finite differences: test_gradients.py)."""
from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from helpers import random_data


def test_wrong_feature_count_names_the_layer_and_both_shapes(be):
    layer = tn.Linear(2, 500, seed=0, backend=be)
    with pytest.raises(ValueError, match=r"Linear\(2->500\).*\(N, 2\).*\(4, 3\)"):
        layer.forward(be.asarray(np.zeros((4, 3)), dtype="float32"))


def test_wrong_feature_count_inside_a_model(be):
    model = tn.create_model([2, 5, 2], seed=0, backend=be)
    with pytest.raises(ValueError, match=r"Linear\(2->5\).*\(N, 2\).*\(1, 7\)"):
        model.forward(be.asarray(np.zeros((1, 7)), dtype="float32"))


def test_one_dimensional_input_is_refused(be):
    with pytest.raises(ValueError, match=r"batch of rows.*\(2,\)"):
        tn.Linear(2, 3, seed=0, backend=be).forward(be.asarray(np.zeros(2), dtype="float32"))


def test_input_dtype_mismatch_is_refused(be):
    layer = tn.Linear(2, 3, seed=0, backend=be)  # float32
    with pytest.raises(TypeError, match="float32 weights.*float64 input"):
        layer.forward(be.asarray(np.zeros((1, 2)), dtype="float64"))


def test_host_array_on_a_device_backend_is_refused():
    be = tn.get_backend("strict")
    layer = tn.Linear(2, 3, seed=0, backend=be)
    with pytest.raises(TypeError, match="'strict' backend.*ndarray.*asarray"):
        layer.forward(np.zeros((1, 2), dtype=np.float32))


@pytest.mark.parametrize("layer", [tn.ReLU(), tn.SoftmaxCrossEntropy()], ids=repr)
def test_backward_before_forward_says_so(layer):
    with pytest.raises(RuntimeError, match="backward was called before forward"):
        layer.backward(np.zeros((1, 2)))


def test_linear_backward_before_forward_says_so(be):
    layer = tn.Linear(2, 3, seed=0, backend=be)
    with pytest.raises(RuntimeError, match=r"Linear\(2->3\)\.backward was called before forward"):
        layer.backward(be.asarray(np.zeros((1, 3)), dtype="float32"))


def test_upstream_gradient_of_the_wrong_shape_is_refused(be):
    layer = tn.Linear(2, 3, seed=0, backend=be)
    layer.forward(be.asarray(np.zeros((4, 2)), dtype="float32"))
    with pytest.raises(ValueError, match=r"expects dL/dout of shape \(4, 3\).*got \(4, 2\)"):
        layer.backward(be.asarray(np.zeros((4, 2)), dtype="float32"))


@pytest.mark.parametrize("dy", [np.ones((4, 3)), np.ones((4, 3), dtype=np.complex64), np.ones((4, 3), dtype=int)])
def test_an_upstream_gradient_of_the_wrong_dtype_is_refused_where_it_enters(dy):
    """A float64 dy in a float32 model used to turn W into float64 at the next update."""
    layer = tn.Linear(2, 3)
    layer.forward(np.ones((4, 2), dtype=np.float32))
    with pytest.raises(TypeError, match=r"expects dL/dout of dtype float32 .*got " + str(dy.dtype)):
        layer.backward(dy)


@pytest.mark.parametrize("layer", [tn.Linear(2, 2), tn.ReLU()])
def test_an_upstream_gradient_that_is_not_an_array_is_refused(layer):
    layer.forward(np.ones((2, 2), dtype=np.float32))
    with pytest.raises(TypeError, match=r"expects dL/dout as an array of shape \(2, 2\), got list"):
        layer.backward([[1.0, 1.0], [1.0, 1.0]])


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


def test_a_memory_mapped_array_is_taken_as_the_array_it_holds(tmp_path):
    """np.memmap: taken by a layer, the loss and train alike, with the numbers of the loaded
    array (it was refused by the layers while train took it)."""
    from tinynet.data import Dataset

    mm = np.memmap(tmp_path / "x.dat", dtype=np.float32, mode="w+", shape=(4, 2))
    mm[:] = np.arange(8, dtype=np.float32).reshape(4, 2) / 8
    layer = tn.Linear(2, 3, seed=0)
    np.testing.assert_array_equal(layer.forward(mm), layer.forward(np.asarray(mm).copy()))
    labels, loss_fn = np.array([0, 1, 0, 1]), tn.SoftmaxCrossEntropy()
    assert float(loss_fn.forward(mm, labels)) == float(loss_fn.forward(np.array(mm), labels))
    data = Dataset("mapped", mm.astype(np.float64), np.array([0, 1, 0, 1]), mm[:0].astype(np.float64), np.zeros(0, int))
    assert len(tn.train(tn.create_model([2, 3, 2], seed=0), data, steps=2, lr=0.1, progress=False).loss) == 2
