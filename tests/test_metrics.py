"""tinynet/metrics.py: what a history records, each on numbers worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from tinynet.metrics import accuracy, first_step_at_or_below, gradient_norms


def test_first_step_at_or_below():
    assert first_step_at_or_below([0.7, 0.3, 0.1, 0.01], 0.1) == 2  # "at" counts
    assert first_step_at_or_below([0.7, 0.3], 0.1) is None
    assert first_step_at_or_below([], 0.1) is None


def test_gradient_norms_are_named_by_layer_label_and_computed_from_dw_and_db():
    model = tn.create_model([2, 3, 2], seed=0, dtype="float64")
    first, last = model.layers[0], model.layers[2]
    first.dW, first.db = np.full((2, 3), 1.0), np.full(3, 2.0)  # sqrt(6 * 1 + 3 * 4) = sqrt(18)
    last.dW, last.db = np.zeros((3, 2)), np.array([3.0, 4.0])  # sqrt(9 + 16) = 5
    norms = gradient_norms(model, tn.get_backend("numpy"))
    assert norms == {"layers[0] Linear(2->3)": pytest.approx(np.sqrt(18)), "layers[2] Linear(3->2)": pytest.approx(5)}


def test_accuracy_is_the_share_of_rows_whose_largest_output_is_the_label():
    out = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0], [1.0, 1.5]])
    assert accuracy(out, np.array([0, 1, 1, 0]), tn.get_backend("numpy")) == pytest.approx(0.5)
