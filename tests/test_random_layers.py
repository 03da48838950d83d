"""Train and eval modes, and layers that draw at random (a learner's dropout): tinynet trains in
training mode and measures in eval mode; the doctor checks a random layer's backward with the
mask it drew held still, names a layer still random in eval mode, and draws nothing from the
run's randomness (tn.diagnose gives tn.train's numbers)."""
from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from tinynet import gradcheck
from tinynet.data import make_dataset


class Dropout:
    """Inverted dropout, as a learner writes it: zero each unit with probability p while training,
    scale the rest by 1 / (1 - p); the identity in eval mode."""

    param_names = ()

    def __init__(self, p=0.5, seed=0, obeys_eval=True, forgets_mask=False):
        self.p, self.rng = p, np.random.default_rng(seed)
        self.obeys_eval, self.forgets_mask = obeys_eval, forgets_mask
        self.training = True

    def forward(self, x):
        if not self.training and self.obeys_eval:
            self.mask = np.ones_like(x)
            return x
        self.mask = (self.rng.random(x.shape) >= self.p).astype(x.dtype) / (1 - self.p)  # (N, D)
        return x * self.mask

    def backward(self, dout):
        return dout if self.forgets_mask else dout * self.mask  # (N, D)


def model_with(dropout, seed=0):
    m = tn.create_model([2, 32, 32, 2], seed=seed)
    return tn.Sequential(m.layers[0], m.layers[1], dropout, *m.layers[2:])


def test_train_and_eval_set_the_flag_on_the_model_and_every_layer():
    model = model_with(Dropout())
    assert model.eval() is model and not model.training
    assert all(layer.training is False for layer in model.layers)
    assert model.train() is model and all(layer.training is True for layer in model.layers)
    with pytest.raises(TypeError, match="mode must be True or False, got 'no'"):
        model.train("no")


def test_train_steps_in_training_mode_and_measures_in_eval_mode():
    data = make_dataset("moons", 120, seed=1)
    dropout = Dropout(p=0.8, seed=3)
    model = model_with(dropout)
    model.eval()  # left in eval mode by an earlier evaluation: train must still drop units
    modes = []

    def both(model, x, labels):  # at each measurement: the accuracy in each mode, and the mode train is in
        modes.append(model.training)
        def acc():
            return float(np.mean(np.argmax(model.forward(x), axis=1) == labels))
        with tn.model.evaluating(model):
            at_eval = acc()
        return {"at_eval": at_eval, "one_draw": acc()}

    hist = tn.train(model, data, steps=60, lr=0.1, eval_every=10, progress=False, measure=both)
    assert modes and all(modes) and model.training  # the steps in training mode, and left there
    # the recorded accuracy is the deterministic model's
    assert hist.train_acc == pytest.approx(hist.measured["at_eval"], abs=1e-6)
    assert hist.measured["one_draw"] != hist.measured["at_eval"]  # with 80% dropped, one draw's is another
    again = tn.train(model_with(Dropout(p=0.8, seed=3)), data, steps=60, lr=0.1, eval_every=10, progress=False,
                     measure=both)
    assert again.loss == hist.loss  # same seed, same draws: same numbers


def test_a_correct_dropout_is_checked_held_still_and_not_blamed():
    d = tn.diagnose(model_with(Dropout()), make_dataset("moons", 150, seed=2), steps=200, lr=0.3, progress=False)
    assert "wrong_gradient" not in [f.id for f in d.findings] and "random_at_evaluation" not in d.cause, str(d)
    assert any("checked with the mask it drew held still" in c for c in d.checked), d.checked


def test_a_dropout_with_a_wrong_backward_is_caught_held_still():
    d = tn.diagnose(model_with(Dropout(forgets_mask=True)), make_dataset("moons", 150, seed=2), steps=30, lr=0.3,
                    progress=False)
    assert d.cause == "wrong_gradient" and "Dropout" in d.findings[0].evidence, str(d)


def test_a_dropout_left_on_at_evaluation_is_named_for_what_it_is():
    d = tn.diagnose(model_with(Dropout(obeys_eval=False)), make_dataset("xor", 150, seed=4), steps=60, lr=0.3,
                    progress=False)
    found = [f.id for f in d.findings]
    assert "random_at_evaluation" in found and "wrong_gradient" not in found, str(d)
    finding = next(f for f in d.findings if f.id == "random_at_evaluation")
    assert "layers[2] Dropout" in finding.evidence and "self.training" in finding.fix


@pytest.mark.parametrize("obeys_eval", [True, False])
def test_the_doctor_draws_nothing_from_the_run_s_randomness(obeys_eval):
    """tn.diagnose trains exactly as tn.train: its extra forward passes (the exam, each
    measurement) leave the dropout's generator where the run left it."""
    data = make_dataset("moons", 100, seed=5)
    plain = tn.train(model_with(Dropout(seed=7, obeys_eval=obeys_eval)), data, steps=80, lr=0.2, progress=False)
    watched = tn.diagnose(model_with(Dropout(seed=7, obeys_eval=obeys_eval)), data, steps=80, lr=0.2,
                          progress=False).history
    assert watched.loss == plain.loss and watched.train_acc == plain.train_acc


class SignMask:
    """|x| written with a branch kept as `mask` but not declared a kink."""

    param_names = ()

    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, x, -x)

    def backward(self, dout):
        return np.where(self.mask, dout, -dout)


def test_the_checker_reads_a_kink_only_where_the_layer_declares_one():
    x = np.array([[5e-7, 1.0, -2.0], [0.5, -5e-7, 3.0]])
    undeclared = gradcheck.check_layer(SignMask(), x)
    assert not all(r.passed for r in undeclared)  # the entries within h of 0 straddle the kink
    assert "kink = \"mask\"" in undeclared[0].hint

    class Declared(SignMask):
        kink = "mask"

    declared = gradcheck.check_layer(Declared(), x)
    assert all(r.passed for r in declared) and sum(r.skipped for r in declared) == 2
