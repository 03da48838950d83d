"""Nine ways to break training, each declared once (``Breakage``): what is broken, how it is
applied as a user would do it, and the cause tinynet's doctor should name. The lab page
(``python -m tinynet.lab``, its *break it* menu) and the experiments (experiments/, which judge
each one as a claim across seeds) both take them from here, so the two break training the
same way.

Every piece is written the way a user would write it: their own layer, their own loss, a
data transform, weights they assigned. The engine is never edited to break it, and the
engine's core (layers, losses, model, optim, training, doctor) never imports this module.
Each layer and loss here passes tinynet.testing.assert_backward_correct
(the tests check each): its backward is right; what breaks is using it.

    from tinynet.breakages import BY_NAME
    b = BY_NAME["softmax_twice"]
    model, data, options = b.apply(model, data, data_seed=0)   # options: loss_fn= where it has one
    tn.train(model, data, steps=500, lr=b.settings.get("lr", 0.01), **options)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .backend import backend_of
from .data import Dataset
from .layers import Linear, ReLU
from .losses import SoftmaxCrossEntropy
from .model import Sequential

BREAKING_LR = 10.0  # a learning rate far too large for these models
TINY_LR = 1e-5  # "a learning rate too small"
DEEP = (2, 100, 100, 100, 100, 2)  # the sigmoid net: four hidden layers
VAL_FRACTION = 0.5  # the shuffled-labels case keeps 50 fresh examples, with their true labels
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
        self.inner = SoftmaxCrossEntropy()
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
        self.inner = SoftmaxCrossEntropy()
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
        if isinstance(layer, Linear):
            be = layer.backend
            layer.W = be.asarray(np.full(tuple(layer.W.shape), CONSTANT), dtype="float32")
            layer.b = be.asarray(np.zeros(tuple(layer.b.shape)), dtype="float32")
    return model


def relu_after_last(model: Any) -> Any:
    """One more ReLU, after the last Linear, as a user writes it: the logits clipped at 0."""
    return Sequential(*model.layers, ReLU())


def with_sigmoids(model: Any) -> Any:
    """The same Linear layers, with a Sigmoid wherever the model had a ReLU."""
    return Sequential(*[Sigmoid() if isinstance(layer, ReLU) else layer for layer in model.layers])


def scaled_inputs(data: Dataset) -> Dataset:
    """The inputs as recorded in other units, not rescaled before training."""
    return dataclasses.replace(data, x_train=data.x_train * INPUT_SCALE, x_val=data.x_val * INPUT_SCALE)


def shuffled_labels(data: Dataset, seed: int) -> Dataset:
    """The training labels shuffled among the examples (the validation labels left true): no
    pattern left to learn, only examples to memorise."""
    order = np.random.default_rng([seed, 31]).permutation(len(data.y_train))
    return dataclasses.replace(data, y_train=data.y_train[order])


# --- The declarations ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, kw_only=True)
class Breakage:
    """One way to break training, as a user would. Two are the same only if they are the same
    declaration (eq=False). Each piece is a module-level function or class, never a lambda:
    a breakage travels whole to the worker process that trains it."""

    name: str  # what the lab's menu and the experiments' --cases take
    broken: str  # what is broken, as a user did it, in one phrase
    doctor: str  # the cause tinynet's doctor should name: one of tinynet.doctor.CAUSES
    # The settings it changes, by the names of a run's set-up: lr, sizes (the layer sizes), val_fraction.
    settings: dict[str, Any] = field(default_factory=dict)
    model: Callable[[Any], Any] | None = None  # model -> the model as the user broke it
    data: Callable[[Dataset, int], Dataset] | None = None  # (data, data seed) -> the data as the user fed it
    loss: Callable[[], Any] | None = None  # the user's loss, in place of SoftmaxCrossEntropy

    def apply(self, model: Any, data: Dataset, data_seed: int) -> tuple[Any, Dataset, dict[str, Any]]:
        """(model, data) as the user broke them, and train()'s options that carry the rest
        ({"loss_fn": the user's loss} where it has one). Its settings are the caller's to use:
        they say how the run was set up, before the model and data were made."""
        options: dict[str, Any] = {}
        if self.model is not None:
            model = self.model(model)
        if self.data is not None:
            data = self.data(data, data_seed)
        if self.loss is not None:
            options["loss_fn"] = self.loss()
        return model, data, options


def scale_inputs(data: Dataset, data_seed: int) -> Dataset:
    """The user's transform takes no seed: it draws nothing."""
    return scaled_inputs(data)


LR10 = Breakage(name="lr10", broken="a learning rate of 10", doctor="lr_too_high",
                settings={"lr": BREAKING_LR})
RELU_LAST = Breakage(name="relu_last", broken="a ReLU after the last Linear",
                     doctor="output_relu", model=relu_after_last)
CONSTANT_INIT = Breakage(name="constant_init", broken="every weight initialised to the same constant (0.1), every "
                         "bias to 0", doctor="symmetric_init", model=constant_init)
LR_TOO_SMALL = Breakage(name="lr_too_small", broken="a learning rate of 1e-5", doctor="lr_too_low",
                        settings={"lr": TINY_LR})
UNNORMALISED_INPUTS = Breakage(name="unnormalised_inputs", broken="inputs scaled by 1,000 (not normalised)",
                               doctor="unnormalised_inputs", data=scale_inputs)
SOFTMAX_TWICE = Breakage(name="softmax_twice", broken="softmax applied to probabilities: the model's softmax, then "
                         "the loss's own", doctor="softmax_twice", loss=SoftmaxTwiceCrossEntropy)
LABELS_SHUFFLED = Breakage(name="labels_shuffled", broken="the training labels shuffled among the examples",
                           doctor="unlearnable_labels", settings={"val_fraction": VAL_FRACTION}, data=shuffled_labels)
SUM_NOT_MEAN = Breakage(name="sum_not_mean", broken="the loss summed over the batch where the mean belongs",
                        doctor="loss_summed", loss=SumCrossEntropy)
SIGMOID_DEEP = Breakage(name="sigmoid_deep", broken="Sigmoid in place of ReLU, in a deeper net [2, 100, 100, 100, "
                        "100, 2]", doctor="vanishing_gradients", settings={"sizes": DEEP}, model=with_sigmoids)

# Every breakage, in the order the experiments' results and the lab's menu list them.
BREAKAGES = (LR10, RELU_LAST, CONSTANT_INIT, LR_TOO_SMALL, UNNORMALISED_INPUTS, SOFTMAX_TWICE, LABELS_SHUFFLED,
             SUM_NOT_MEAN, SIGMOID_DEEP)
BY_NAME = {b.name: b for b in BREAKAGES}
