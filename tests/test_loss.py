"""Softmax cross-entropy: values computed by hand, and exact finite answers at extreme logits."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinynet as tn


def loss_and_grad(be, logits, labels, dtype="float64"):
    loss_fn = tn.SoftmaxCrossEntropy()
    loss = loss_fn.forward(be.asarray(np.asarray(logits), dtype=dtype), be.asarray(np.asarray(labels)))
    return float(loss), be.to_numpy(loss_fn.backward())


@pytest.mark.parametrize("c", [2, 3, 5, 10])
def test_all_zero_logits_give_log_c(be, c):
    loss, grad = loss_and_grad(be, np.zeros((4, c)), [0, 1, 1, 0])
    assert loss == pytest.approx(math.log(c), rel=1e-15)
    expected = (np.full((4, c), 1.0 / c) - np.eye(c)[[0, 1, 1, 0]]) / 4
    np.testing.assert_allclose(grad, expected, rtol=1e-14, atol=1e-17)


def test_hand_computed_value(be):
    # logits [1, 2, 3], label 2: loss = log(e + e^2 + e^3) - 3
    loss, grad = loss_and_grad(be, [[1.0, 2.0, 3.0]], [2])
    assert loss == pytest.approx(math.log(math.e + math.e**2 + math.e**3) - 3.0, rel=1e-14)
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(grad, [p - [0, 0, 1]], rtol=1e-14)


def test_mean_over_the_batch(be):
    one, _ = loss_and_grad(be, [[0.5, -1.0]], [1])
    two, _ = loss_and_grad(be, [[0.5, -1.0], [0.0, 0.0]], [1, 0])
    assert two == pytest.approx((one + math.log(2)) / 2, rel=1e-14)


def test_upstream_gradient_scales_the_backward(be):
    loss_fn = tn.SoftmaxCrossEntropy()
    loss_fn.forward(be.asarray(np.array([[0.3, -0.2]])), be.asarray(np.array([0])))
    np.testing.assert_allclose(be.to_numpy(loss_fn.backward(2.5)), 2.5 * be.to_numpy(loss_fn.backward()), rtol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_logits_give_exact_finite_answers(be, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, underflow or divide warning may escape
        loss, grad = loss_and_grad(be, [[1e4, -1e4], [1e4, -1e4], [-1e4, 1e4]], [0, 1, 1], dtype)
    # Right: log(1 + e^-20000) = 0. Wrong: 20000. Loss = (0 + 20000 + 0) / 3.
    assert loss == pytest.approx(20000 / 3, rel=1e-6)
    np.testing.assert_allclose(grad, [[0, 0], [1 / 3, -1 / 3], [0, 0]], atol=1e-7)


@given(logits=hnp.arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(2, 5)),
                         elements=st.floats(-1e4, 1e4)),
       dtype=st.sampled_from(["float32", "float64"]), data=st.data())
def test_loss_and_gradient_are_finite_for_logits_up_to_1e4(logits, dtype, data):
    be = tn.get_backend("numpy")
    n, c = logits.shape
    labels = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad = loss_and_grad(be, logits, labels, dtype)
    assert math.isfinite(loss) and loss >= 0
    assert np.isfinite(grad).all()
    # Each row of softmax - onehot sums to 0; each entry lies in [-1/N, 1/N].
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-6 / n)
    assert (np.abs(grad) <= 1.0 / n + 1e-7).all()
    # The exact value, computed independently in float64 from the (rounded) inputs.
    z = logits.astype(dtype).astype(np.float64)
    exact = np.mean(np.log(np.sum(np.exp(z - z.max(1, keepdims=True)), 1)) + z.max(1) - z[np.arange(n), labels])
    assert loss == pytest.approx(exact, rel=1e-5 if dtype == "float32" else 1e-12, abs=1e-5)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("logits, labels, expected", [
    ([[-np.inf, 0.0, 1.0]], [1], 1.0 + np.log1p(np.exp(-1.0))),  # -inf logit: was nan (0 * -inf)
    ([[3e38, -3e38]], [0], 0.0),  # the gap overflows to -inf: was nan
    ([[1e38, -1e38], [-1e38, 1e38]], [1, 0], 2e38),  # a sum of 4e38 overflows float32: was inf
])
def test_loss_is_exact_at_the_float_limits(be, dtype, logits, labels, expected):
    loss_fn = tn.SoftmaxCrossEntropy()
    loss = float(loss_fn.forward(be.asarray(np.array(logits), dtype=dtype), be.asarray(np.array(labels))))
    assert loss == pytest.approx(expected, rel=1e-6, abs=1e-7)
    grad = be.to_numpy(loss_fn.backward())  # (p - onehot) / N: finite, as it always was
    assert np.isfinite(grad).all()
    assert np.allclose(grad.sum(axis=1), 0.0, atol=1e-6)


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


@pytest.mark.parametrize("dout", [np.float64(1), np.int64(1), np.array(1.0), 2, np.float32(0.5)])
def test_the_loss_gradient_keeps_the_logits_dtype_whatever_number_dout_is(dout):
    loss = tn.SoftmaxCrossEntropy()
    loss.forward(f32(3, 2), np.array([0, 1, 0]))
    assert loss.backward(dout).dtype == np.float32


@pytest.mark.parametrize("dout", [np.bool_(True), True, 1 + 0j, np.array(1 + 1j)])
def test_the_loss_refuses_a_dout_that_is_no_real_number(dout):
    loss = tn.SoftmaxCrossEntropy()
    loss.forward(f32(3, 2), np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="dL_total/dL, one number"):
        loss.backward(dout)


def test_the_loss_at_float64_s_limit_is_the_exact_mean_for_one_row_and_for_three():
    """Each row loses the largest float: the mean is that float. Three shares of a third,
    each rounded up, used to sum to inf (with NumPy's overflow warning, an error here)."""
    biggest = np.finfo(np.float64).max
    one = tn.SoftmaxCrossEntropy().forward(np.array([[0.0, -biggest]]), np.array([1]))
    three = tn.SoftmaxCrossEntropy().forward(np.array([[0.0, -biggest]] * 3), np.array([1, 1, 1]))
    assert float(one) == biggest and float(three) == biggest


def test_the_loss_is_inf_where_a_row_s_loss_overflows_and_nan_stays_nan():
    """Logits the largest float on either side of 0: that row's loss is twice the largest
    float, past what a float holds, so inf is the right answer and the repair must keep it."""
    biggest = np.finfo(np.float64).max
    with np.errstate(over="ignore"):  # the shift overflows to -inf on purpose: see forward
        beyond = tn.SoftmaxCrossEntropy().forward(np.array([[biggest, -biggest], [0.0, 0.0]]), np.array([1, 0]))
    assert float(beyond) == np.inf
    with np.errstate(invalid="ignore"):
        assert np.isnan(float(tn.SoftmaxCrossEntropy().forward(np.array([[np.nan, 0.0]]), np.array([0]))))


def logits_on(be, n=3, c=4):
    return be.asarray(np.zeros((n, c)), dtype="float32")


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, 1, 4]), r"label out of range.*0\.\.3 for 4 classes.*0 to 4"),
        (np.array([0, -1, 2]), r"label out of range.*-1 to 2"),
        (np.array([0.0, 1.0, 2.0]), r"labels must be integer.*float64"),
        (np.array([True, False, True]), r"labels must be integer.*bool"),
        (np.array([0, 1]), r"2 labels for 3 rows"),
        (np.array([[0, 1, 2]]), r"labels must have shape \(N,\)"),
    ],
    ids=["too large", "negative", "float", "bool", "wrong length", "two-dimensional"],
)
def test_bad_labels_raise_value_error_saying_label(be, labels, message):
    with pytest.raises(ValueError, match=message):
        tn.SoftmaxCrossEntropy().forward(logits_on(be), be.asarray(labels))


def test_without_label_validation_only_the_range_goes_unchecked(be):
    """validate_labels=False skips the one check that reads data back to the host (the range);
    shape and dtype, known without a sync, are still refused, and valid labels give the same loss."""
    unchecked = tn.SoftmaxCrossEntropy(validate_labels=False)
    for labels, message in [(np.array([0, 1]), "2 labels for 3 rows"), (np.array([0.0, 1.0, 2.0]), "integer")]:
        with pytest.raises(ValueError, match=message):
            unchecked.forward(logits_on(be), be.asarray(labels))
    logits = be.asarray(np.random.default_rng(0).normal(size=(3, 4)), dtype="float64")
    labels = be.asarray(np.array([3, 0, 2]))
    assert float(unchecked.forward(logits, labels)) == float(tn.SoftmaxCrossEntropy().forward(logits, labels))


def test_integer_logits_are_refused(be):
    with pytest.raises(TypeError, match="floating-point logits.*int"):
        tn.SoftmaxCrossEntropy().forward(be.asarray(np.zeros((2, 3), dtype=np.int64)), be.asarray(np.array([0, 1])))


def test_labels_as_a_list_are_refused_with_the_fix(be):
    with pytest.raises(TypeError, match="labels must be an integer array.*asarray"):
        tn.SoftmaxCrossEntropy().forward(logits_on(be), [0, 1, 2])


@pytest.mark.parametrize("grad", [np.ones(3), np.ones((2, 2)), "1", True])
def test_loss_backward_takes_one_number(grad):
    loss_fn = tn.SoftmaxCrossEntropy()
    loss_fn.forward(np.zeros((2, 2), dtype=np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match="backward takes dL_total/dL, one number"):
        loss_fn.backward(grad)
    assert loss_fn.backward(np.float64(2.0)).shape == (2, 2)


@pytest.mark.parametrize("dout", [float("nan"), float("inf"), np.float32("-inf")])
def test_a_loss_backward_refuses_an_upstream_gradient_that_is_not_finite(dout):
    """Every gradient of the model would be NaN or inf, without a word."""
    loss = tn.SoftmaxCrossEntropy()
    loss.forward(np.zeros((2, 2), np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match="one finite number"):
        loss.backward(dout)
