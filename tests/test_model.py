"""tinynet/model.py: Sequential applies its layers in order and passes gradients back in
reverse, create_model builds the log's MLP, and what they refuse."""
from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn


def test_a_generator_or_none_is_a_valid_seed():
    generator = np.random.default_rng(5)
    assert tn.create_model([2, 3, 2], seed=generator).layers[0].W.shape == (2, 3)
    assert tn.Linear(2, 3, seed=None).W.shape == (2, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.dtype("float32"), "float32"])
def test_numpy_dtypes_name_a_dtype_too(dtype):
    assert tn.create_model([2, 3, 2], dtype=dtype).layers[0].W.dtype == np.float32


def test_model_structure():
    model = tn.create_model([2, 500, 500, 2], seed=0)
    assert [repr(layer) for layer in model.layers] == [
        "Linear(2->500)", "ReLU()", "Linear(500->500)", "ReLU()", "Linear(500->2)"]
    assert repr(tn.create_model([2, 3]).layers[-1]) == "Linear(2->3)"  # logits straight from the last Linear


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


def test_a_model_no_machine_holds_is_named_by_its_sizes():
    with pytest.raises(MemoryError, match=r"^create_model: sizes\[1\] = 1,000,000 and sizes\[2\] = 1,000,000 ask for a "
                                          r"layer too large: Linear\(1000000->1000000\): W of .* GiB.*; use smaller"):
        tn.create_model([2, 10 ** 6, 10 ** 6, 2])
