"""tinynet.testing: the one-call checker a learner uses on a layer of their own, and the
hypothesis strategy for its inputs. The layers below are the ones docs/own_layer.md builds."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

import tinynet as tn
from tinynet.backend import backend_of
from tinynet.testing import assert_backward_correct, layer_inputs


class Tanh:  # no __repr__ on purpose: messages fall back to the class name
    param_names = ()

    def forward(self, x):
        self.y = backend_of(x).xp.tanh(x)  # (N, D)
        return self.y

    def backward(self, dout):
        return dout * (1 - self.y ** 2)  # (N, D)


class TanhMissingFactor(Tanh):
    def backward(self, dout):
        return dout * (1 - self.y)  # forgot to square


class TanhWrongSign(Tanh):
    def backward(self, dout):
        return -dout * (1 - self.y ** 2)


class LeakyReLU:
    param_names = ()

    def __init__(self, slope=0.1, expose_mask=True):
        self.slope, self.expose_mask = slope, expose_mask

    def forward(self, x):
        xp = backend_of(x).xp
        positive = x > 0  # (N, D): the branch each entry took
        if self.expose_mask:
            self.mask = positive
        self._positive = positive
        return xp.where(positive, x, self.slope * x)

    def backward(self, dout):
        xp = backend_of(dout).xp
        return xp.where(self._positive, dout, self.slope * dout)


class ScaleShift:
    """y = x * a + c, with a and c of shape (D,): parameters, so dL/da and dL/dc too."""

    param_names = ("a", "c")

    def __init__(self, d, dtype="float32", forget=None, mean=False):
        self.a = np.linspace(0.5, 1.5, d).astype(dtype)
        self.c = np.zeros(d, dtype=dtype)
        self.forget, self.mean = forget, mean

    def forward(self, x):
        self.x = x
        return x * self.a + self.c

    def backward(self, dout):
        xp = backend_of(dout).xp
        if self.forget != "a":
            self.da = xp.sum(dout * self.x, axis=0) / (dout.shape[0] if self.mean else 1)
        if self.forget != "c":
            self.dc = xp.sum(dout, axis=0)
        return dout * self.a


X = np.random.default_rng(0).normal(size=(4, 3))


def test_a_correct_tanh_passes():
    results = assert_backward_correct(Tanh(), X)
    assert [r.param for r in results] == ["x"] and results[0].checked == 12


def test_a_tanh_missing_a_factor_fails_and_says_where():
    with pytest.raises(AssertionError) as info:
        assert_backward_correct(TanhMissingFactor(), X)
    text = str(info.value)
    assert "TanhMissingFactor()" in text and "object at 0x" not in text
    assert "dL/dx" in text and "worst entry" in text and "ratio backprop / finite difference" in text


def test_a_flipped_sign_shows_as_ratio_minus_one():
    with pytest.raises(AssertionError, match=r"ratio backprop / finite difference -1 .*\n.*a sign is flipped"):
        assert_backward_correct(TanhWrongSign(), X)


def test_a_leaky_relu_next_to_its_kink_passes_when_it_declares_its_branches():
    x = X.copy()
    x[0, :] = [5e-7, -5e-7, 1e-6]  # within 1e-6 of the kink: +-h steps cross it
    results = assert_backward_correct(LeakyReLU(), x)
    assert results[0].skipped >= 2 and results[0].checked >= 9


def test_the_same_leaky_relu_without_its_mask_fails_with_a_hint():
    x = X.copy()
    x[0, :] = [5e-7, -5e-7, 1e-6]
    with pytest.raises(AssertionError, match="self.mask"):
        assert_backward_correct(LeakyReLU(expose_mask=False), x)


def test_parameters_a_missing_mean_and_a_gradient_never_stored():
    assert len(assert_backward_correct(ScaleShift(3), X)) == 3  # float32 layer: checked in float64
    with pytest.raises(AssertionError, match=r"ratio of 1/N = 1/4"):
        assert_backward_correct(ScaleShift(3, mean=True), X)
    with pytest.raises(AssertionError, match=r"dc: backward stored no gradient \(backward must store it"):
        assert_backward_correct(ScaleShift(3, forget="c"), X)


def test_a_model_with_its_loss(be):
    model = tn.create_model([3, 8, 2], seed=0, backend=be)
    results = assert_backward_correct(model, X, y=[0, 1, 1, 0])
    assert len(results) == 5  # W, b of two layers, and the input
    assert be.to_numpy(model.layers[0].W).dtype == np.float32  # put back as it was


def test_the_layer_is_left_as_it_was():
    layer = ScaleShift(3)
    a = layer.a.copy()
    assert_backward_correct(layer, X)
    assert layer.a.dtype == np.float32 and np.array_equal(layer.a, a)


@pytest.mark.parametrize("call, message", [
    (lambda: assert_backward_correct(tn.Linear, X), "needs a layer instance, got the class Linear"),
    (lambda: assert_backward_correct(object(), X), "forward and backward"),
    (lambda: assert_backward_correct(Tanh(), X[0]), r"shape \(N, D\)"),
    (lambda: assert_backward_correct(Tanh(), X, tol=0), "tol must be a number in"),
    (lambda: layer_inputs(rows=(3, 1)), "rows must be"),
])
def test_clear_errors(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


@given(layer_inputs(kinks=[0.0]))
def test_property_leaky_relu_on_generated_inputs(x):
    assert x.ndim == 2 and np.all(np.abs(x) >= 1e-3)
    assert_backward_correct(LeakyReLU(), x)


@given(layer_inputs(rows=(2, 5), features=(1, 4)))
def test_property_tanh_on_generated_inputs(x):
    assert 2 <= x.shape[0] <= 5 and 1 <= x.shape[1] <= 4
    assert_backward_correct(Tanh(), x)
