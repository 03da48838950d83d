"""tinynet/checks.py: the checks the layers, the loss and the other modules share, each on what
it must take and what it must refuse, with the message a learner then reads."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinynet as tn
from tinynet import checks


@pytest.mark.parametrize("value", [0, -2.5, 1e300, math.inf, np.float32(0.1), np.int64(3), np.array(0.5)])
def test_real_numbers_of_every_kind_are_real(value):
    assert checks.is_real(value)


@pytest.mark.parametrize("value", [True, np.bool_(False), "1", None, 1j, np.array([0.5]), [1.0]])
def test_a_bool_a_string_a_complex_or_an_array_is_not_a_real_number(value):
    assert not checks.is_real(value)


@pytest.mark.parametrize("value, positive", [(1, True), (np.int32(7), True), (0, False), (-1, False), (True, False),
                                             (2.0, False), ("3", False), (None, False)])
def test_a_positive_integer_is_an_integer_of_any_kind_at_least_1_and_not_a_bool(value, positive):
    assert bool(checks.is_positive_int(value)) is positive


def test_memory_is_refused_before_it_is_asked_for_and_the_message_says_how_much(monkeypatch):
    monkeypatch.setattr(checks, "free_memory", lambda: 2 * 2 ** 30)
    checks.check_memory("a small array", 2 ** 30)  # fits: nothing said
    with pytest.raises(MemoryError, match=r"a big array needs about 3.0 GiB, more than the 2.0 GiB this machine has"):
        checks.check_memory("a big array", 3 * 2 ** 30)
    monkeypatch.setattr(checks, "free_memory", lambda: None)  # a system that cannot say: nothing refused
    checks.check_memory("anything", 10.0 ** 30)


def test_a_layer_s_size_is_checked_before_its_weights_are_drawn(monkeypatch):
    monkeypatch.setattr(checks, "free_memory", lambda: 10 ** 6)
    checks.check_layer_size("Linear", 10, 10)  # 100 entries, 1,200 bytes
    with pytest.raises(MemoryError, match=r"Linear\(1000->1000\): W of 1,000,000 entries needs about"):
        checks.check_layer_size("Linear", 1000, 1000)
    with pytest.raises(ValueError, match="Linear: n_out must be a positive integer, got 0"):
        checks.check_layer_size("Linear", 2, 0)


@pytest.mark.parametrize("kind", ["matrix", "masked"])
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix's own, on making one
def test_an_array_subclass_that_changes_the_operators_is_refused(kind):
    array = np.matrix([[1.0, 2.0]]) if kind == "matrix" else np.ma.masked_array([[1.0, 2.0]], mask=[[0, 1]])
    with pytest.raises(TypeError, match=f"Linear takes a plain array, not numpy.*{type(array).__name__}"):
        checks.check_plain("Linear", array, "x")
    checks.check_plain("Linear", np.asarray(array), "x")  # converted, as the message says


def test_labels_out_of_range_name_the_classes_and_where_their_number_comes_from():
    checks.check_label_range(0, 9, 10, "the logits' width")
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9 for 10 classes \(the model's 10 outputs\), "
                                         r"found labels from 0 to 10"):
        checks.check_label_range(0, 10, 10, "the model's 10 outputs")
    with pytest.raises(ValueError, match="found labels from -1 to 3"):
        checks.check_label_range(-1, 3, 10, "the logits' width")


def test_the_upstream_gradient_must_match_the_forward_output_in_shape_and_dtype():
    layer = tn.ReLU()
    float32 = np.dtype("float32")  # the forward output's dtype, as a layer keeps it
    checks.check_upstream(layer, np.zeros((2, 3), np.float32), (2, 3), float32)
    with pytest.raises(ValueError, match=r"expects dL/dout of shape \(2, 3\) .* got \(3, 2\)"):
        checks.check_upstream(layer, np.zeros((3, 2), np.float32), (2, 3), float32)
    with pytest.raises(TypeError, match="expects dL/dout of dtype float32 .*got float64"):
        checks.check_upstream(layer, np.zeros((2, 3)), (2, 3), float32)


@pytest.mark.parametrize("dout, kept", [(2, 2.0), (np.float64(0.5), 0.5), (True, None), (1j, None), ("1", None)])
def test_the_loss_s_dout_is_one_real_number_given_back_as_a_python_float(dout, kept):
    """A Python float keeps the gradient in the logits' dtype: NumPy's float64 0.5 times a
    float32 array would be float64, and the model would fail far from here."""
    cache = (np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32))
    if kept is None:
        with pytest.raises(ValueError, match="takes dL_total/dL, one number"):
            checks.check_loss_backward("loss", cache, dout)
    else:
        given = checks.check_loss_backward("loss", cache, dout)
        assert type(given) is float and given == kept
    with pytest.raises(RuntimeError, match="backward was called before forward"):
        checks.check_loss_backward("loss", None, 1.0)


def test_a_layer_s_input_must_be_a_float_batch_of_rows_of_its_width():
    be = tn.get_backend("numpy")
    layer = tn.Linear(3, 2)
    checks.check_rows(layer, be, np.zeros((4, 3), np.float32), n_features=3)
    for x, error, says in [(np.zeros(3, np.float32), ValueError, r"batch of rows, shape \(N, features\), got shape"),
                           (np.zeros((4, 3), int), TypeError, "needs floating-point input"),
                           (np.zeros((4, 2), np.float32), ValueError, "2 features instead of 3")]:
        with pytest.raises(error, match=says):
            checks.check_rows(layer, be, x, n_features=3)
