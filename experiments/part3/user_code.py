"""Part 3's breakages, each written the way a user would write it: their own layer, their own
loss, a data transform, weights they assigned. The engine is never edited to break it. Each
layer and loss here passes tinynet.testing.assert_backward_correct (tests/test_part3_cases.py):
its backward is right; what breaks is using it. experiments/part3/cases.py says which case
uses which piece.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

import tinynet as tn
from tinynet.backend import backend_of
from tinynet.data import Dataset

CONSTANT = 0.1  # every weight of the constant initialisation
INPUT_SCALE = 1000.0  # the unnormalised inputs: the data as measured in, say, millimetres


class Sigmoid:
    """out = 1 / (1 + exp(-x)), elementwise: a smooth layer, no parameters. (Messages name it
    Sigmoid(): tinynet names a layer without a repr of its own by its class.)"""

    param_names = ()
    cache: Any = None  # out of the last forward, for backward

    def forward(self, x: Any) -> Any:
        """x: (N, D) -> out: (N, D), each entry in (0, 1)."""
        self.cache = 1.0 / (1.0 + backend_of(x).xp.exp(-x))  # (N, D), kept for backward
        return self.cache

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, D) -> dL/dx = dout * out * (1 - out): (N, D). The slope is at
        most 1/4 (at x = 0): through k such layers a gradient shrinks by 4^k or more."""
        out = self.cache
        return dout * out * (1.0 - out)


class SoftmaxTwiceCrossEntropy:
    """The cross-entropy of softmax(softmax(logits)): a model that already outputs
    probabilities, fed to a loss that applies softmax again.

    Probabilities lie in [0, 1], so the second softmax gives any class at most
    e / (e + C - 1): each example's loss is at least ln(1 + (C - 1) / e), 0.313 for 2 classes.
    """

    def __init__(self) -> None:
        self.inner = tn.SoftmaxCrossEntropy()
        self.cache: Any = None

    def __repr__(self) -> str:
        return "SoftmaxTwiceCrossEntropy()"

    def forward(self, logits: Any, labels: Any) -> Any:
        """logits: (N, C), labels: (N,) -> loss: (), the mean cross-entropy of softmax(p), p = softmax(logits)."""
        xp = backend_of(logits).xp
        shifted = xp.exp(logits - xp.max(logits, axis=1, keepdims=True))  # (N, C)
        probs = shifted / xp.sum(shifted, axis=1, keepdims=True)  # (N, C): the first softmax
        self.cache = probs
        return self.inner.forward(probs, labels)  # the second softmax, inside the usual loss

    def backward(self, dout: Any = 1.0) -> Any:
        """dout = dL_total/dL -> dL/dlogits: (N, C). dL/dp from the usual loss, then through the
        first softmax: dz = p * (dp - sum_c dp * p), row by row (its Jacobian-vector product)."""
        p = self.cache
        dp = self.inner.backward(dout)  # (N, C)
        return p * (dp - backend_of(p).xp.sum(dp * p, axis=1, keepdims=True))


class SumCrossEntropy:
    """Softmax cross-entropy summed over the batch where the mean belongs: the loss, and every
    gradient, N times too large. At lr 0.01 and N = 100 that is a step of lr 1 in disguise."""

    def __init__(self) -> None:
        self.inner = tn.SoftmaxCrossEntropy()
        self.n = 0

    def __repr__(self) -> str:
        return "SumCrossEntropy()"

    def forward(self, logits: Any, labels: Any) -> Any:
        """logits: (N, C), labels: (N,) -> loss: () = sum_i -log p_{i, labels_i}."""
        self.n = logits.shape[0]
        return self.inner.forward(logits, labels) * self.n

    def backward(self, dout: Any = 1.0) -> Any:
        """dout = dL_total/dL -> dL/dlogits = dout * (probs - onehot): (N, C), no 1/N."""
        return self.inner.backward(dout * self.n)


def constant_init(model: Any) -> Any:
    """What a user writes to start 'neutral': every weight the same, every bias 0. Returns the model."""
    for layer in model.layers:
        if isinstance(layer, tn.Linear):
            be = layer.backend
            layer.W = be.asarray(np.full(tuple(layer.W.shape), CONSTANT), dtype="float32")
            layer.b = be.asarray(np.zeros(tuple(layer.b.shape)), dtype="float32")
    return model


def relu_after_last(model: Any) -> Any:
    """The log's second failure, as a user writes it: one more ReLU, after the last Linear."""
    return tn.Sequential(*model.layers, tn.ReLU())


def with_sigmoids(model: Any) -> Any:
    """The same Linear layers, with a Sigmoid wherever the model had a ReLU."""
    return tn.Sequential(*[Sigmoid() if isinstance(layer, tn.ReLU) else layer for layer in model.layers])


def scaled_inputs(data: Dataset) -> Dataset:
    """The inputs as recorded in other units, not rescaled before training."""
    return dataclasses.replace(data, x_train=data.x_train * INPUT_SCALE, x_val=data.x_val * INPUT_SCALE)


def shuffled_labels(data: Dataset, seed: int) -> Dataset:
    """The training labels shuffled among the examples (the validation labels left true): no
    pattern left to learn, only examples to memorise."""
    order = np.random.default_rng([seed, 31]).permutation(len(data.y_train))
    return dataclasses.replace(data, y_train=data.y_train[order])
