"""Part 3's own measurements (experiments/part3/measures.py), taken through train()'s measure hook:
clipped logits, dead output units, stranded examples, and how alike the hidden units are."""
from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from experiments import part3_break
from experiments.part3 import cases, measures
from experiments.part3.measures import measure_clipping as measure
from tinynet.data import make_dataset
from tinynet.training import train


def relu_last(model):
    """A ReLU after the last Linear, as a user adds one."""
    return tn.Sequential(*model.layers, tn.ReLU())


def test_relu_last_model_reports_clipped_logits_and_dead_outputs(be):
    data = make_dataset("xor", 40, seed=0)
    model = relu_last(tn.create_model([2, 16, 2], seed=0, backend=be))
    h = train(model, data, lr=0.1, steps=5, eval_every=1, progress=False, measure=measure)
    mask = be.to_numpy(model.layers[-1].mask)  # the last ReLU's branch on the last forward
    assert "layers[3] ReLU()" in h.relu_zero
    assert h.measured["logits_clipped"] == h.relu_zero["layers[3] ReLU()"]
    assert 0 <= h.measured["dead_outputs"][-1] <= 1 and mask.shape[1] == 2


def test_dead_output_unit_is_counted():
    """Force output unit 0 below zero for every input: it is clipped everywhere, so dead."""
    data = make_dataset("xor", 20, seed=0)
    model = relu_last(tn.create_model([2, 8, 2], seed=0, dtype="float64"))
    model.layers[2].b = np.array([-100.0, 0.0])
    h = train(model, data, lr=1e-6, steps=2, eval_every=1, progress=False, measure=measure)
    assert h.measured["dead_outputs"][0] == pytest.approx(0.5)
    assert h.measured["dead_units"][0] == [0]
    # Every example of class 0 has its own logit clipped: stranded, a loss of at least ln 2 each
    # (and examples of class 1 whose logit is <= 0 too).
    assert h.measured["stranded"][0] >= np.mean(data.y_train == 0) - 1e-6
    assert h.loss[0] >= np.log(2) * h.measured["stranded"][0]


def test_stranded_examples_are_those_whose_own_logit_is_clipped(be):
    """Hand-set weights: with h = relu(x), logits (h1 - h2, h2 - h1). An example is stranded
    exactly where its own logit is <= 0, and no unit is dead (each passes on part of the plane)."""
    data = make_dataset("xor", 40, seed=0)
    model = relu_last(tn.create_model([2, 2, 2], seed=0, dtype="float64", backend=be))
    first, _, last = model.layers[:3]
    first.W, first.b = be.asarray(np.eye(2)), be.asarray(np.zeros(2))
    last.W, last.b = be.asarray(np.array([[1.0, -1.0], [-1.0, 1.0]])), be.asarray(np.zeros(2))
    h = train(model, data, lr=1e-9, steps=1, eval_every=1, progress=False, measure=measure)
    hidden = np.maximum(data.x_train, 0)  # (N, 2) after the first ReLU
    logits = hidden @ np.array([[1.0, -1.0], [-1.0, 1.0]])  # (N, 2), before the last ReLU
    own = logits[np.arange(len(logits)), data.y_train]  # (N,): each example's own logit
    assert h.measured["stranded"][0] == pytest.approx(np.mean(own <= 0))
    assert h.measured["dead_units"][0] == []  # each unit passes on half of the examples
    assert (own > 0).any() and (own <= 0).any()  # both kinds of example are there


def test_the_initialisation_study_asks_what_the_hook_asks(be):
    """at_initialisation (host, float64 mean) and the hook's first measurement (device, float32
    mean) agree on a fresh ReLU-last model: the same dead units, the same share stranded."""
    data = make_dataset("xor", 100, seed=3)
    model = relu_last(tn.create_model([2, 500, 500, 2], seed=3, backend=be))
    dead, stranded = measures.at_initialisation(model, data.x_train, data.y_train)
    h = train(model, data, lr=1e-9, steps=1, progress=False, measure=measure)
    assert dead == len(h.measured["dead_units"][0])
    assert stranded == pytest.approx(h.measured["stranded"][0], abs=1e-6)


def test_revived_units_are_found_between_measurements():
    assert measures.revived_units([0, 10, 20, 30], [[1], [1], [], [1]]) == {"1": [20]}
    assert measures.revived_units([0, 10], [[], []]) == {}


def test_part3_s_hooks_are_its_cases_own_and_every_claim_is_declared_once():
    study = part3_break.PART3
    assert not hasattr(study, "measure")  # no study-wide hook: a case measures its own run
    assert cases.RELU_LAST.measure is measures.measure_clipping
    assert cases.CONSTANT_INIT.measure is measures.measure_symmetry
    ids = [c.id for c in study.claims]
    assert ids[:2] == ["lr10_diverges", "relu_last_stops_learning"] and len(set(ids)) == len(ids) == 9


def test_the_push_that_passes_is_the_own_logits_share_of_the_loss_s_push_through_the_last_relu(be):
    """Three examples, two classes, logits after the last ReLU given by hand: the loss pushes
    each own logit up by 1 - p (times 1/N); a stranded example's push is blocked."""
    out = be.asarray(np.array([[2.0, 0.0], [0.0, 0.0], [0.0, 1.0]]), dtype="float64")
    labels = be.asarray(np.array([0, 0, 1]))
    passed = be.asarray(np.array([[True, False], [False, False], [False, True]]))  # example 1 stranded
    p = np.exp([[2.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    p /= p.sum(axis=1, keepdims=True)
    push = 1 - np.array([p[0, 0], p[1, 0], p[2, 1]])  # (3,): the own logit's |dL/dz| x N
    want = (push[0] + push[2]) / push.sum()
    assert measures.push_passed(out, labels, passed) == pytest.approx(want, rel=1e-12)
    assert measures.push_passed(out, labels, be.asarray(np.ones((3, 2), dtype=bool))) == 1.0
    assert measures.push_passed(out, labels, be.asarray(np.zeros((3, 2), dtype=bool))) == 0.0


def test_a_model_without_a_last_relu_passes_all_of_the_push():
    data = make_dataset("xor", 20, seed=0)
    h = train(tn.create_model([2, 8, 2], seed=0), data, lr=0.1, steps=2, eval_every=1, progress=False,
              measure=measure)
    assert h.measured["push_passed"] == [1.0, 1.0]
