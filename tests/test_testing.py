"""tinynet.testing: the one-call checker a learner uses on a layer of their own, and the
hypothesis strategy for its inputs. The layers below are the ones docs/own_layer.md builds."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

import tinynet as tn
from tinynet.breakages import Sigmoid
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
    kink = "mask"  # declared; with expose_mask=False there is no mask to read

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


@given(layer_inputs(kinks=[0.0]))
def test_property_leaky_relu_on_generated_inputs(x):
    assert x.ndim == 2 and np.all(np.abs(x) >= 1e-3)
    assert_backward_correct(LeakyReLU(), x)


@given(layer_inputs(rows=(2, 5), features=(1, 4)))
def test_property_tanh_on_generated_inputs(x):
    assert 2 <= x.shape[0] <= 5 and 1 <= x.shape[1] <= 4
    assert_backward_correct(Tanh(), x)


# --- a learner's own loss, in one call ---------------------------------------------------------------
class HalfSquared:
    """L = (1/2N) sum (z - t)^2: a loss for values."""

    def forward(self, z, t):
        self.diff, self.n = z - t, z.shape[0]
        return float(np.sum(self.diff ** 2)) / (2 * self.n)

    def backward(self, dout=1.0):
        return dout * self.diff / self.n


class HalfSquaredWithoutDout(HalfSquared):
    def backward(self, dout=1.0):
        return self.diff / self.n


def test_a_learner_s_loss_is_checked_in_one_call():
    from tinynet.testing import assert_loss_correct

    t = np.random.default_rng(3).normal(size=(4, 3))
    assert len(assert_loss_correct(HalfSquared(), X, t)) == 1
    with pytest.raises(AssertionError, match="dL/dlogits.*\n.*backward ignores dout: the checker sends"):
        assert_loss_correct(HalfSquaredWithoutDout(), X, t)
    with pytest.raises(TypeError, match="needs a loss instance"):
        assert_loss_correct(HalfSquared, X, t)


# --- the checker never misleads -------------------------------------------------------------------------
class Gain:
    """out = x * a * g, with g forgotten in param_names (and a wrong dg)."""

    param_names = ("a",)

    def __init__(self):
        self.a, self.g = np.linspace(0.5, 1.5, 3), np.full(3, 2.0)
        self.da = self.dg = None

    def forward(self, x):
        self.x = x
        return x * self.a * self.g

    def backward(self, dout):
        self.da = np.sum(dout * self.x * self.g, axis=0)
        self.dg = np.zeros(3)  # wrong, and never checked unless the checker looks
        self.dx = dout * self.a * self.g  # stored as well as returned: the input is not a parameter
        return self.dx


class SigmoidWithoutDout(Sigmoid):
    """A correct forward, and a backward that forgets to multiply by dout."""

    def backward(self, dout):
        return self.cache * (1 - self.cache)


class Doubler:
    param_names = ()

    def forward(self, x):
        return 2 * x

    def backward(self, dout):
        self.dx = 2 * dout  # stored, not returned


def test_a_parameter_hidden_from_param_names_is_named():
    with pytest.raises(AssertionError, match=r'g has a gradient dg but is not in param_names.*add "g"') as info:
        assert_backward_correct(Gain(), X)
    assert "x has a gradient" not in str(info.value)


def test_a_smooth_layer_that_forgot_dout_hears_about_dout_not_kinks():
    with pytest.raises(AssertionError) as info:
        assert_backward_correct(SigmoidWithoutDout(), X)
    hint = str(info.value).split("hint:")[1]
    assert "ignores dout" in hint and "kink" not in hint and "mask" not in hint


def test_a_missing_return_is_told_as_a_missing_return():
    with pytest.raises(AssertionError, match=r"backward returned None: it must return dL/dx \(return dx\)") as info:
        assert_backward_correct(Doubler(), X)
    assert "must store" not in str(info.value)
