"""Meta-tests: a deliberately broken gradient must fail the checker.

Each mutant below rewrites one formula the way people really get it wrong. The shapes are
chosen so that no mutant can hide: batch 3 (not 1, so sums and means over the batch
differ), n_in != n_out (so a transposed matrix cannot pass), random upstream gradients (so a
mis-summed axis shows).
"""
from __future__ import annotations

import numpy as np
import pytest

import tinynet as tn
from tinynet import gradcheck
from tinynet.gradcheck import check_layer, check_loss, check_model
from helpers import failures, random_data

N, N_IN, N_OUT, C = 3, 4, 5, 3


# --- Linear: dW, db, dx -------------------------------------------------------------------
class LinearMutant(tn.Linear):
    """Linear whose backward is the correct one with one formula replaced by ``mutate``."""

    mutate = None  # (xp, x, W, dy) -> (dW, db, dx)

    def backward(self, dy):
        dx = super().backward(dy)
        dW, db, dx = type(self).mutate(self.backend.xp, *self.cache, dy, self.dW, self.db, dx)
        self.dW, self.db = dW, db
        return dx


LINEAR_MUTANTS = {
    # dW
    "dW scaled by 2": lambda xp, x, W, dy, dW, db, dx: (2 * dW, db, dx),
    "dW averaged over the batch": lambda xp, x, W, dy, dW, db, dx: (dW / x.shape[0], db, dx),
    "dW from the first example only": lambda xp, x, W, dy, dW, db, dx: (x[:1, :].T @ dy[:1, :], db, dx),
    "dW with the sign flipped": lambda xp, x, W, dy, dW, db, dx: (-dW, db, dx),
    "dW from the output, not the input": lambda xp, x, W, dy, dW, db, dx: (x.T @ (x @ W), db, dx),
    "dW ignores the upstream gradient": lambda xp, x, W, dy, dW, db, dx: (x.T @ xp.ones_like(dy), db, dx),
    # db
    "db averaged, not summed": lambda xp, x, W, dy, dW, db, dx: (dW, xp.mean(dy, axis=0), dx),
    "db is the first row": lambda xp, x, W, dy, dW, db, dx: (dW, dy[0, :], dx),
    "db is zero": lambda xp, x, W, dy, dW, db, dx: (dW, xp.zeros_like(db), dx),
    "db summed over the wrong axis": lambda xp, x, W, dy, dW, db, dx: (dW, xp.sum(dy, axis=1), dx),
    # dx
    "dx scaled by 1/2": lambda xp, x, W, dy, dW, db, dx: (dW, db, dx / 2),
    "dx is zero": lambda xp, x, W, dy, dW, db, dx: (dW, db, xp.zeros_like(dx)),
    "dx uses |W|": lambda xp, x, W, dy, dW, db, dx: (dW, db, dy @ xp.abs(W).T),
    "dx with the sign flipped": lambda xp, x, W, dy, dW, db, dx: (dW, db, -dx),
    "dx adds the bias gradient": lambda xp, x, W, dy, dW, db, dx: (dW, db, dx + xp.sum(dy, axis=1, keepdims=True)),
}


@pytest.mark.parametrize("name", sorted(LINEAR_MUTANTS))
def test_broken_linear_fails_the_checker(be, name):
    Mutant = type("Mutant", (LinearMutant,), {"mutate": staticmethod(LINEAR_MUTANTS[name])})
    layer = Mutant(N_IN, N_OUT, seed=0, dtype="float64", backend=be)
    x, _ = random_data(be, np.random.default_rng(0), N, N_IN, 2)
    assert failures(check_layer(layer, x)), f"planted bug not caught: {name}"


def test_correct_linear_passes_the_same_check(be):
    """The control: with the same shapes and data the real Linear passes."""
    layer = tn.Linear(N_IN, N_OUT, seed=0, dtype="float64", backend=be)
    x, _ = random_data(be, np.random.default_rng(0), N, N_IN, 2)
    assert not failures(check_layer(layer, x))


# --- ReLU: the mask -----------------------------------------------------------------------
RELU_MUTANTS = {
    "no mask (identity backward)": lambda xp, mask, dy: dy,
    "inverted mask": lambda xp, mask, dy: xp.where(mask, 0.0, dy),
    "leaky mask": lambda xp, mask, dy: xp.where(mask, dy, 0.01 * dy),
    "mask of the first row for all rows": lambda xp, mask, dy: xp.where(mask[:1, :], dy, 0.0),
    "mask with its columns reversed": lambda xp, mask, dy: xp.where(xp.flip(mask, axis=1), dy, 0.0),
}


@pytest.mark.parametrize("name", sorted(RELU_MUTANTS))
def test_broken_relu_fails_the_checker(be, name):
    mutate = RELU_MUTANTS[name]

    class Mutant(tn.ReLU):
        def backward(self, dy):
            super().backward(dy)
            return mutate(be.xp, self.mask, dy)

    x = be.asarray(np.random.default_rng(1).standard_normal((N, N_OUT)))
    assert failures(check_layer(Mutant(), x)), f"planted bug not caught: {name}"


# --- Softmax cross-entropy: the 1/N and the rest ------------------------------------------
LOSS_MUTANTS = {
    "no 1/N": lambda p, onehot, n, grad: (p - onehot) * grad,
    "1/N squared": lambda p, onehot, n, grad: (p - onehot) * (grad / n**2),
    "1/C instead of 1/N": lambda p, onehot, n, grad: (p - onehot) * (grad / p.shape[1]),
    "onehot not subtracted": lambda p, onehot, n, grad: p * (grad / n),
    "sign flipped": lambda p, onehot, n, grad: (onehot - p) * (grad / n),
    "upstream gradient ignored": lambda p, onehot, n, grad: (p - onehot) / n,
}


@pytest.mark.parametrize("name", sorted(LOSS_MUTANTS))
def test_broken_loss_fails_the_checker(be, name):
    mutate = LOSS_MUTANTS[name]

    class Mutant(tn.SoftmaxCrossEntropy):
        def backward(self, grad=1.0):
            super().backward(grad)
            probs, onehot = self.cache
            return mutate(probs, onehot, probs.shape[0], grad)

    logits, y = random_data(be, np.random.default_rng(2), N_OUT, C, C)  # 5 rows, 3 classes: 1/N != 1/C
    assert failures(check_loss(Mutant(), logits, y)), f"planted bug not caught: {name}"


def test_broken_layer_is_caught_inside_a_whole_model(be):
    """The checker finds a bug in the middle of a model, and names the layer it is in."""
    Mutant = type("Mutant", (LinearMutant,), {"mutate": staticmethod(LINEAR_MUTANTS["dW scaled by 2"])})
    model = tn.create_model([N_IN, 6, C], seed=0, dtype="float64", backend=be)
    model.layers[2] = Mutant(6, C, seed=1, dtype="float64", backend=be)
    x, y = random_data(be, np.random.default_rng(3), N, N_IN, C)
    failed = failures(check_model(model, x, y))
    assert [(r.where, r.param) for r in failed] == [("layers[2] Linear(6->3)", "W")]
    assert "relative error" in str(failed[0]) and "index" in str(failed[0])


def test_wrong_shape_gradient_is_reported_not_crashed(be):
    Mutant = type("Mutant", (LinearMutant,), {"mutate": staticmethod(LINEAR_MUTANTS["db summed over the wrong axis"])})
    layer = Mutant(N_IN, N_OUT, seed=0, dtype="float64", backend=be)
    x, _ = random_data(be, np.random.default_rng(0), N, N_IN, 2)
    (bad,) = failures(check_layer(layer, x))
    assert bad.param == "b" and "shape" in bad.note


# --- SGD: the sign of the step -------------------------------------------------------------
def descent_ratio(opt_class, be, lr=1e-7):
    """(L(theta after one step) - L(theta)) / (-lr * |g|^2): 1 for a correct SGD step.

    To first order a step theta - lr g changes the loss by -lr |g|^2; this checks the
    optimizer against the gradient without looking at its code.
    """
    model = tn.create_model([N_IN, 6, C], seed=0, dtype="float64", backend=be)
    x, y = random_data(be, np.random.default_rng(4), 8, N_IN, C)
    loss_fn = tn.SoftmaxCrossEntropy()
    before = float(loss_fn.forward(model.forward(x), y))
    model.backward(loss_fn.backward())
    g2 = sum(float(be.xp.sum(getattr(layer, "d" + name) ** 2)) for _, layer, name in tn.parameters(model))
    opt_class(model, lr=lr).step()
    after = float(loss_fn.forward(model.forward(x), y))
    return (after - before) / (-lr * g2)


def test_sgd_step_descends_at_the_first_order_rate(be):
    assert descent_ratio(tn.SGD, be) == pytest.approx(1.0, abs=1e-3)


class SGDAscent(tn.SGD):
    def step(self):
        for _, layer, name in tn.parameters(self.model):
            setattr(layer, name, getattr(layer, name) + self.lr * getattr(layer, "d" + name))


class SGDSquaredRate(tn.SGD):
    def step(self):
        for _, layer, name in tn.parameters(self.model):
            setattr(layer, name, getattr(layer, name) - self.lr**2 * getattr(layer, "d" + name))


@pytest.mark.parametrize("mutant", [SGDAscent, SGDSquaredRate], ids=["sign flipped", "lr squared"])
def test_broken_sgd_fails_the_descent_check(be, mutant):
    assert descent_ratio(mutant, be) != pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("options, message", [
    (dict(tol=0), "tol must be a number"), (dict(tol=-1), "tol must be a number"),
    (dict(h=1e-300), "h must be a number"), (dict(h=0), "h must be a number"), (dict(h=float("nan")), "h must be"),
    (dict(max_entries=-1), "max_entries must be a positive integer"),
    (dict(max_entries=1.5), "max_entries must be a positive integer"),
    (dict(max_entries=True), "max_entries must be a positive integer"), (dict(eps=0), "eps must be a number"),
])
def test_no_setting_of_the_checker_can_pass_a_wrong_gradient(options, message, monkeypatch):
    """With tol = 0 the error floor was infinite and a doubled dW passed; h = 1e-300 passed
    everything. Such settings are refused, naming the argument."""
    correct = tn.Linear.backward

    def doubled(self, dy):
        dx = correct(self, dy)
        self.dW = 2 * self.dW
        return dx

    monkeypatch.setattr(tn.Linear, "backward", doubled)
    x = np.random.default_rng(0).normal(size=(4, 3))
    with pytest.raises(ValueError, match=message):
        gradcheck.check_layer(tn.Linear(3, 2, seed=0, dtype="float64"), x, **options)
