"""tinynet/optim.py: SGD updates every parameter or none, and keeps each parameter's dtype."""
from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


def test_sgd_updates_all_or_nothing():
    """A bad gradient in the last layer: no parameter moves, not even the first layer's."""
    model = tn.create_model([2, 3, 2], seed=0)
    opt = tn.SGD(model, lr=0.1)
    model.backward(np.ones((1, 2), np.float32) * 0 + model.forward(f32(1, 2)))
    before = [getattr(layer, name).copy() for _, layer, name in tn.parameters(model)]
    model.layers[2].dW = np.ones((5, 5), np.float32)
    with pytest.raises(ValueError, match="dW has shape"):
        opt.step()
    after = [getattr(layer, name) for _, layer, name in tn.parameters(model)]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("grad_dtype", [np.float64, np.int64, np.complex64])
def test_sgd_keeps_each_parameter_s_dtype(grad_dtype):
    layer = tn.Linear(2, 2, seed=0)  # float32
    layer.backward(np.ones((1, 2), np.float32) * 0 + layer.forward(f32(1, 2)))
    layer.dW = layer.dW.astype(grad_dtype)
    opt = tn.SGD(layer, lr=0.1)
    if np.issubdtype(grad_dtype, np.floating):
        opt.step()
        assert layer.W.dtype == np.float32 and layer.b.dtype == np.float32
    else:
        W = layer.W.copy()
        with pytest.raises(TypeError, match="dW must hold real floating-point numbers"):
            opt.step()
        assert np.array_equal(layer.W, W)


@pytest.mark.parametrize("lr", [np.float32(0.01), np.int64(1), np.array(0.1), 0.5])
def test_real_numbers_of_any_kind_are_learning_rates(lr):
    opt = tn.SGD(tn.create_model([2, 2]), lr=lr, momentum=np.float32(0.5))
    assert opt.lr == pytest.approx(float(lr)) and opt.momentum == 0.5


@pytest.mark.parametrize("not_a_model", [tn.create_model([2, 3, 2]).layers, None, "model", (), {}, tn.ReLU()])
def test_sgd_refuses_what_has_no_parameters(not_a_model):
    """SGD(model.layers) used to update nothing and say nothing."""
    with pytest.raises(TypeError, match="SGD needs a model or a layer with parameters.*not model.layers"):
        tn.SGD(not_a_model)


@pytest.mark.parametrize("name, value", [("lr", -1), ("lr", float("nan")), ("lr", True), ("momentum", 1.0),
                                         ("momentum", -0.1)])
def test_sgd_settings_are_checked_on_assignment_too(name, value):
    opt = tn.SGD(tn.create_model([2, 2]), lr=0.1)
    with pytest.raises(ValueError, match=f"SGD: {name} must be"):
        setattr(opt, name, value)


def test_step_before_backward_says_so():
    with pytest.raises(RuntimeError, match=r"layers\[0\] Linear\(2->2\): no gradient dW; call backward"):
        tn.SGD(tn.create_model([2, 2]), lr=0.1).step()


def test_a_gradient_that_backward_did_not_set_is_said_so():
    """backward ran (W has its gradient) but set no db: the learner's backward forgot it, and
    "call backward before step()" would send them the wrong way."""
    layer = tn.Linear(2, 2, seed=0)
    layer.backward(layer.forward(f32(1, 2)))
    layer.db = None
    with pytest.raises(RuntimeError, match=r"no gradient db: backward ran, but this layer's backward did not set it"):
        tn.SGD(layer, lr=0.1).step()


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix's own, on making one
def test_a_gradient_that_is_a_matrix_is_refused_and_the_parameter_stays_an_array():
    layer = tn.Linear(2, 2, seed=0)
    layer.backward(layer.forward(f32(1, 2)))
    layer.dW = np.asmatrix(layer.dW)
    with pytest.raises(TypeError, match=r"takes a plain array, not numpy.matrix \(dW\)"):
        tn.SGD(layer, lr=0.1).step()
    assert type(layer.W) is np.ndarray
