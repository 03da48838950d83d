"""Bad input gets a clear error naming what is wrong, never a deep traceback or a wrong number."""
from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from tinynet.data import make_dataset
from tinynet.training import train


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


@pytest.mark.parametrize("sizes", [[2], [], [2, 0, 2], [2, -3], [2, 2.5], "22"])
def test_bad_model_sizes(sizes):
    with pytest.raises(ValueError, match="sizes must list at least two positive integers"):
        tn.create_model(sizes)


@pytest.mark.parametrize("kwargs, message", [
    ({"init": "xavier"}, "unknown init 'xavier'; choose one of: torch, he"),
    ({"dtype": "float16"}, "dtype must be one of"),
    ({"backend": "tpu"}, "unknown backend 'tpu'"),
])
def test_bad_layer_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tn.Linear(2, 3, **kwargs)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), True, "0.1"])
def test_bad_learning_rate(lr):
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        tn.SGD(tn.create_model([2, 2]), lr=lr)


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


@pytest.mark.parametrize("grad", [np.ones(3), np.ones((2, 2)), "1", True])
def test_loss_backward_takes_one_number(grad):
    loss_fn = tn.SoftmaxCrossEntropy()
    loss_fn.forward(np.zeros((2, 2), dtype=np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match="backward takes dL_total/dL, one number"):
        loss_fn.backward(grad)
    assert loss_fn.backward(np.float64(2.0)).shape == (2, 2)


@pytest.mark.parametrize("args", [(3, None), (tn.Linear(2, 2), "not a loss")])
def test_gradcheck_refuses_what_has_no_forward_and_backward(args):
    model, loss_fn = args
    with pytest.raises(TypeError, match="gradcheck: (model|loss_fn) must be a layer, a model or a loss"):
        tn.gradcheck.check(model, np.zeros((2, 2)), loss_fn=loss_fn)


def test_step_before_backward_says_so():
    with pytest.raises(RuntimeError, match=r"layers\[0\] Linear\(2->2\): no gradient dW; call backward"):
        tn.SGD(tn.create_model([2, 2]), lr=0.1).step()


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)])
@pytest.mark.parametrize("who, call", [
    ("Linear", lambda seed: tn.Linear(2, 3, seed=seed)),
    ("create_model", lambda seed: tn.create_model([2, 3, 2], seed=seed)),
    ("make_dataset", lambda seed: make_dataset("xor", 10, seed=seed)),
    ("train", lambda seed: train(tn.create_model([2, 3, 2]), make_dataset("xor", 10), lr=0.1, steps=1,
                                 seed=seed, progress=False)),
    ("gradcheck.check", lambda seed: tn.gradcheck.check_model(
        tn.create_model([2, 3, 2], dtype="float64"), np.zeros((2, 2)), np.array([0, 1]), seed=seed)),
])
def test_a_bad_seed_is_named_where_it_was_given(who, call, seed, error):
    """Not NumPy's "expected non-negative integer" from deep inside default_rng."""
    with pytest.raises(error, match=f"{who}: seed must be a non-negative integer, None or a numpy Generator"):
        call(seed)


def test_a_generator_or_none_is_a_valid_seed():
    generator = np.random.default_rng(5)
    assert tn.create_model([2, 3, 2], seed=generator).layers[0].W.shape == (2, 3)
    assert tn.Linear(2, 3, seed=None).W.shape == (2, 3)


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


@pytest.mark.parametrize("call, error, message", [
    (lambda: tn.create_model([2, 3, 2], dtype=None), ValueError, "dtype must be one of"),
    (lambda: tn.Linear(2, 3, dtype="int8"), ValueError, "dtype must be one of"),
    (lambda: make_dataset("xor", True), ValueError, "dataset size must be a positive integer, got True"),
    (lambda: make_dataset("xor", 10, val_fraction=None), ValueError, "val_fraction must be in"),
    (lambda: tn.gradcheck.check_layer(tn.Linear, np.ones((2, 2))), TypeError, "got the class Linear"),
])
def test_more_bad_arguments_name_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("dtype", [np.float32, np.dtype("float32"), "float32"])
def test_numpy_dtypes_name_a_dtype_too(dtype):
    assert tn.create_model([2, 3, 2], dtype=dtype).layers[0].W.dtype == np.float32
