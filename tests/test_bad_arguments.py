"""Every public entry point, given bad arguments: the right exception type, raised by tinynet
itself (not from deep inside NumPy), with a message that names the argument.

The one home of bad-argument rows: one table for the Python API, one for the command lines
(the four experiment scripts, run_all, and the package's command lines). Each row is a bad
input a user could plausibly give; the fragment is what the message must contain (the
argument's name, and where it helps, what is accepted). Behaviour that goes beyond a message
is tested beside its module, in the test file named after it: a refusal on every backend
(test_layers.py, test_loss.py), which checks run when (test_train.py), that a refused update
moved no parameter (test_optim.py), that a damaged results file is named (test_reliability.py).
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
import shlex
from typing import Any, Callable

import numpy as np
import pytest

import tinynet as tn
from experiments import part1_sanity, part2_overfit, part3_break, part4_scale, run_all
from experiments.harness import flags
from tinynet import gradcheck, testing
from tinynet.data import make_dataset
from tinynet.exercises import check as exercises_check
from tinynet.exercises import main as exercises_main
from tinynet.gradcheck.__main__ import main as gradcheck_main
from tinynet.backend import backend_of
from tinynet.training import train

TINYNET = pathlib.Path(tn.__file__).parent
RESULTS = TINYNET.parent / "docs" / "results"  # committed results, for run_all --log-only
SCRIPTS = {m.__name__.split(".")[-1]: m for m in (part1_sanity, part2_overfit, part3_break, part4_scale)}


def f32(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=np.float32)


def after_forward(layer: Any, x: Any) -> Any:
    layer.forward(x)
    return layer


def linear_holding(**params: Any) -> tn.Linear:
    layer = tn.Linear(2, 3)
    for name, value in params.items():
        setattr(layer, name, value)
    return layer


def loss_after_forward() -> tn.SoftmaxCrossEntropy:
    loss_fn = tn.SoftmaxCrossEntropy()
    loss_fn.forward(f32(2, 2), np.array([0, 1]))
    return loss_fn


def read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def sgd_with_gradient(grad: Any, **params: Any) -> None:
    layer = tn.Linear(2, 3, seed=0)
    layer.backward(layer.forward(f32(2, 2)))
    if grad is not None:
        layer.dW = grad
    for name, value in params.items():
        setattr(layer, name, value)
    tn.SGD(layer).step()


def model() -> tn.Sequential:
    return tn.create_model([2, 3, 2])


def train_with(**changes: Any) -> Any:
    kwargs = {"lr": 0.1, "steps": 2, "progress": False, **changes}
    return train(kwargs.pop("model", model()), kwargs.pop("data", make_dataset("xor", 10)), **kwargs)


UNSET: Any = object()


def dataset_with(**parts: Any) -> Any:
    return dataclasses.replace(make_dataset("xor", 10), **parts)


def check(layer: Any = UNSET, x: Any = UNSET, **options: Any) -> Any:
    """gradcheck.check_layer, on a float64 Linear and a (2, 2) input unless told otherwise."""
    layer = tn.Linear(2, 2, dtype="float64") if layer is UNSET else layer
    return gradcheck.check_layer(layer, np.ones((2, 2)) if x is UNSET else x, **options)


A = tuple[str, Callable[[], Any], type, str]  # id, the call, the exception type, what the message names
API: list[A] = [
    # Linear
    ("Linear n_in=0", lambda: tn.Linear(0, 3), ValueError, "n_in must be a positive integer"),
    ("Linear n_in='2'", lambda: tn.Linear("2", 3), ValueError, "n_in must be a positive integer"),
    ("Linear n_in=True", lambda: tn.Linear(True, 3), ValueError, "n_in must be a positive integer"),
    ("Linear n_out=2.5", lambda: tn.Linear(2, 2.5), ValueError, "n_out must be a positive integer"),
    ("Linear n_out=None", lambda: tn.Linear(2, None), ValueError, "n_out must be a positive integer"),
    ("Linear dtype=int", lambda: tn.Linear(2, 3, dtype=int), ValueError, "dtype must be one of"),
    ("Linear dtype=float16", lambda: tn.Linear(2, 3, dtype="float16"), ValueError, "dtype must be one of"),
    ("Linear dtype=None", lambda: tn.Linear(2, 3, dtype=None), ValueError, "dtype must be one of"),
    ("Linear backend=3", lambda: tn.Linear(2, 3, backend=3), ValueError, "unknown backend 3"),
    ("Linear backend='gpu'", lambda: tn.Linear(2, 3, backend="gpu"), ValueError, "unknown backend 'gpu'"),
    ("Linear init=None", lambda: tn.Linear(2, 3, init=None), ValueError, "unknown init None"),
    ("Linear init='xavier'", lambda: tn.Linear(2, 3, init="xavier"), ValueError, "unknown init 'xavier'"),
    ("Linear seed=-1", lambda: tn.Linear(2, 3, seed=-1), ValueError, "Linear: seed must be"),
    ("Linear seed=1.5", lambda: tn.Linear(2, 3, seed=1.5), TypeError, "Linear: seed must be"),
    ("Linear seed=[1]", lambda: tn.Linear(2, 3, seed=[1]), TypeError, "Linear: seed must be"),
    ("Linear seed=True", lambda: tn.Linear(2, 3, seed=True), TypeError, "Linear: seed must be"),
    ("Linear.forward list", lambda: tn.Linear(2, 3).forward([[1.0, 2.0]]), TypeError, "got list input"),
    ("Linear.forward None", lambda: tn.Linear(2, 3).forward(None), TypeError, "got NoneType input"),
    ("Linear.forward 1-D", lambda: tn.Linear(2, 3).forward(f32(2)), ValueError, "batch of rows"),
    ("Linear.forward 3-D", lambda: tn.Linear(2, 3).forward(f32(1, 2, 2)), ValueError, "batch of rows"),
    ("Linear.forward 3 features", lambda: tn.Linear(2, 3).forward(f32(4, 3)), ValueError, "3 features instead of 2"),
    ("Linear.forward float64", lambda: tn.Linear(2, 3).forward(np.zeros((1, 2))), TypeError, "float64 input"),
    ("Linear.forward int", lambda: tn.Linear(2, 3).forward(np.zeros((1, 2), int)), TypeError, "floating-point input"),
    ("Linear.forward complex", lambda: tn.Linear(2, 3).forward(np.zeros((1, 2), np.complex64)), TypeError,
     "floating-point input"),
    ("Linear.forward strict array on numpy", lambda: tn.Linear(2, 3).forward(
        tn.get_backend("strict").asarray(f32(1, 2))), TypeError, "'numpy' backend"),
    ("Linear.backward before forward", lambda: tn.Linear(2, 3).backward(f32(1, 3)), RuntimeError,
     "backward was called before forward"),
    ("Linear.backward None", lambda: after_forward(tn.Linear(2, 3), f32(4, 2)).backward(None), TypeError,
     "dL/dout as an array"),
    ("Linear.backward list", lambda: after_forward(tn.Linear(2, 3), f32(4, 2)).backward([[0.0] * 3] * 4),
     TypeError, "dL/dout as an array"),
    ("Linear.backward rows", lambda: after_forward(tn.Linear(2, 3), f32(4, 2)).backward(f32(3, 3)), ValueError,
     "dL/dout of shape (4, 3)"),
    ("Linear.backward 1-D", lambda: after_forward(tn.Linear(2, 3), f32(4, 2)).backward(f32(3)), ValueError,
     "dL/dout of shape (4, 3)"),
    ("Linear.backward float64", lambda: after_forward(tn.Linear(2, 3), f32(4, 2)).backward(np.zeros((4, 3))),
     TypeError, "dL/dout of dtype float32"),
    ("Linear.W a list", lambda: linear_holding(W=[[0.0] * 3] * 2).forward(f32(1, 2)), TypeError,
     "W must be an array"),
    ("Linear.b a list", lambda: linear_holding(b=[0.0] * 3).forward(f32(1, 2)), TypeError, "b must be an array"),
    ("Linear.b wrong shape", lambda: linear_holding(b=f32(4)).forward(f32(1, 2)), ValueError, "b shape (n_out,)"),
    ("Linear.W 1-D", lambda: linear_holding(W=f32(6)).forward(f32(1, 2)), ValueError, "W must have shape"),
    ("Linear.W float64", lambda: linear_holding(W=np.zeros((2, 3))).forward(f32(1, 2)), TypeError,
     "W and b must share one float dtype"),
    ("Linear.W int", lambda: linear_holding(W=np.zeros((2, 3), int), b=np.zeros(3, int)).forward(f32(1, 2)),
     TypeError, "W and b must share one float dtype"),
    # ReLU
    ("ReLU.forward list", lambda: tn.ReLU().forward([[1.0]]), TypeError,
     "ReLU() takes its input as an array of shape (N, features), got list"),
    ("ReLU.forward None", lambda: tn.ReLU().forward(None), TypeError,
     "ReLU() takes its input as an array of shape (N, features), got NoneType"),
    ("ReLU.forward 1-D", lambda: tn.ReLU().forward(f32(3)), ValueError, "batch of rows"),
    ("ReLU.forward int", lambda: tn.ReLU().forward(np.zeros((2, 2), int)), TypeError, "floating-point input"),
    ("ReLU.forward bool", lambda: tn.ReLU().forward(np.zeros((2, 2), bool)), TypeError, "floating-point input"),
    ("ReLU.backward before forward", lambda: tn.ReLU().backward(f32(1, 1)), RuntimeError,
     "backward was called before forward"),
    ("ReLU.backward shape", lambda: after_forward(tn.ReLU(), f32(4, 2)).backward(f32(2, 4)), ValueError,
     "dL/dout of shape (4, 2)"),
    ("ReLU.backward float64", lambda: after_forward(tn.ReLU(), f32(4, 2)).backward(np.zeros((4, 2))), TypeError,
     "dL/dout of dtype float32"),
    ("ReLU.backward None", lambda: after_forward(tn.ReLU(), f32(4, 2)).backward(None), TypeError,
     "dL/dout as an array"),
    # SoftmaxCrossEntropy
    ("loss validate_labels='no'", lambda: tn.SoftmaxCrossEntropy(validate_labels="no"), TypeError,
     "validate_labels must be True or False"),
    ("loss logits list", lambda: tn.SoftmaxCrossEntropy().forward([[0.0, 1.0]], np.array([0])), TypeError,
     "got list"),
    ("loss logits None", lambda: tn.SoftmaxCrossEntropy().forward(None, np.array([0])), TypeError, "got NoneType"),
    ("loss logits 1-D", lambda: tn.SoftmaxCrossEntropy().forward(f32(2), np.array([0, 1])), ValueError,
     "batch of rows"),
    ("loss logits int", lambda: tn.SoftmaxCrossEntropy().forward(np.zeros((2, 2), int), np.array([0, 1])),
     TypeError, "floating-point logits"),
    ("loss no rows", lambda: tn.SoftmaxCrossEntropy().forward(f32(0, 2), np.array([], int)), ValueError,
     "at least one row of logits"),
    ("loss no classes", lambda: tn.SoftmaxCrossEntropy().forward(f32(2, 0), np.array([0, 0])), ValueError,
     "at least one class"),
    ("loss labels None", lambda: tn.SoftmaxCrossEntropy().forward(f32(2, 2), None), TypeError,
     "labels must be an integer array"),
    ("loss labels list", lambda: tn.SoftmaxCrossEntropy().forward(f32(2, 2), [0, 1]), TypeError,
     "labels must be an integer array"),
    ("loss labels 0-D", lambda: tn.SoftmaxCrossEntropy().forward(f32(1, 2), np.array(0)), ValueError,
     "labels must have shape (N,)"),
    ("loss labels 2-D", lambda: tn.SoftmaxCrossEntropy().forward(f32(2, 2), np.array([[0, 1]])), ValueError,
     "labels must have shape (N,)"),
    ("loss labels count", lambda: tn.SoftmaxCrossEntropy().forward(f32(3, 2), np.array([0, 1])), ValueError,
     "2 labels for 3 rows"),
    ("loss labels float", lambda: tn.SoftmaxCrossEntropy().forward(f32(2, 2), np.array([0.0, 1.0])), ValueError,
     "labels must be integer"),
    ("loss labels bool", lambda: tn.SoftmaxCrossEntropy().forward(f32(2, 2), np.array([True, False])), ValueError,
     "labels must be integer"),
    ("loss label too large", lambda: tn.SoftmaxCrossEntropy().forward(f32(2, 2), np.array([0, 2])), ValueError,
     "label out of range"),
    ("loss label negative", lambda: tn.SoftmaxCrossEntropy().forward(f32(2, 2), np.array([-1, 0])), ValueError,
     "label out of range"),
    ("loss.backward before forward", lambda: tn.SoftmaxCrossEntropy().backward(), RuntimeError,
     "backward was called before forward"),
    ("loss.backward None", lambda: loss_after_forward().backward(None), ValueError, "dL_total/dL, one number"),
    ("loss.backward array", lambda: loss_after_forward().backward(np.ones(3)), ValueError, "dL_total/dL, one number"),
    ("loss.backward bool", lambda: loss_after_forward().backward(True), ValueError, "dL_total/dL, one number"),
    ("loss.backward str", lambda: loss_after_forward().backward("1"), ValueError, "dL_total/dL, one number"),
    # Sequential and create_model
    ("Sequential(1)", lambda: tn.Sequential(1), TypeError, "argument 0 (1) has no forward/backward"),
    ("Sequential(list)", lambda: tn.Sequential([tn.ReLU()]), TypeError, "argument 0 ([ReLU()])"),
    ("Sequential(class)", lambda: tn.Sequential(tn.ReLU(), tn.Linear), TypeError, "argument 1 is the class Linear"),
    ("Sequential.backward before forward", lambda: model().backward(f32(1, 2)), RuntimeError,
     "Linear(3->2).backward was called before forward"),
    ("create_model sizes=None", lambda: tn.create_model(None), ValueError, "sizes must list at least two"),
    ("create_model sizes=3", lambda: tn.create_model(3), ValueError, "sizes must list at least two"),
    ("create_model sizes='22'", lambda: tn.create_model("22"), ValueError, "sizes must list at least two"),
    ("create_model sizes=[2]", lambda: tn.create_model([2]), ValueError, "sizes must list at least two"),
    ("create_model sizes=[]", lambda: tn.create_model([]), ValueError, "sizes must list at least two"),
    ("create_model sizes=[2, 0, 2]", lambda: tn.create_model([2, 0, 2]), ValueError, "sizes must list at least two"),
    ("create_model sizes=[2, -3]", lambda: tn.create_model([2, -3]), ValueError, "sizes must list at least two"),
    ("create_model sizes=[2, 2.5]", lambda: tn.create_model([2, 2.5]), ValueError, "sizes must list at least two"),
    ("create_model seed=-1", lambda: tn.create_model([2, 2], seed=-1), ValueError, "create_model: seed must be"),
    ("create_model seed='0'", lambda: tn.create_model([2, 2], seed="0"), TypeError, "create_model: seed must be"),
    ("create_model dtype=None", lambda: tn.create_model([2, 2], dtype=None), ValueError, "dtype must be one of"),
    ("create_model dtype=float16", lambda: tn.create_model([2, 2], dtype=np.float16), ValueError,
     "dtype must be one of"),
    ("create_model backend='tpu'", lambda: tn.create_model([2, 2], backend="tpu"), ValueError, "unknown backend"),
    ("create_model init='x'", lambda: tn.create_model([2, 2], init="x"), ValueError, "unknown init 'x'"),
    ("get_backend(3)", lambda: tn.get_backend(3), ValueError, "unknown backend 3"),
    # SGD
    ("SGD(model.layers)", lambda: tn.SGD(model().layers), TypeError, "pass the model itself, not model.layers"),
    ("SGD(None)", lambda: tn.SGD(None), TypeError, "SGD needs a model"),
    ("SGD(ReLU())", lambda: tn.SGD(tn.ReLU()), TypeError, "SGD needs a model"),
    ("SGD(class)", lambda: tn.SGD(tn.Sequential), TypeError, "got the class Sequential"),
    ("SGD lr=0", lambda: tn.SGD(model(), lr=0), ValueError, "lr must be a positive finite number"),
    ("SGD lr=-0.1", lambda: tn.SGD(model(), lr=-0.1), ValueError, "lr must be a positive finite number"),
    ("SGD lr=nan", lambda: tn.SGD(model(), lr=float("nan")), ValueError, "lr must be a positive finite number"),
    ("SGD lr=inf", lambda: tn.SGD(model(), lr=float("inf")), ValueError, "lr must be a positive finite number"),
    ("SGD lr=True", lambda: tn.SGD(model(), lr=True), ValueError, "lr must be a positive finite number"),
    ("SGD lr='0.1'", lambda: tn.SGD(model(), lr="0.1"), ValueError, "lr must be a positive finite number"),
    ("SGD lr=None", lambda: tn.SGD(model(), lr=None), ValueError, "lr must be a positive finite number"),
    ("SGD lr=[0.1]", lambda: tn.SGD(model(), lr=np.array([0.1])), ValueError, "lr must be a positive finite"),
    ("SGD lr=1j", lambda: tn.SGD(model(), lr=1j), ValueError, "lr must be a positive finite number"),
    ("SGD momentum=1", lambda: tn.SGD(model(), momentum=1.0), ValueError, "momentum must be a number in [0, 1)"),
    ("SGD momentum=-0.1", lambda: tn.SGD(model(), momentum=-0.1), ValueError, "momentum must be a number"),
    ("SGD momentum=nan", lambda: tn.SGD(model(), momentum=float("nan")), ValueError, "momentum must be a number"),
    ("SGD momentum='0.9'", lambda: tn.SGD(model(), momentum="0.9"), ValueError, "momentum must be a number"),
    ("SGD momentum=True", lambda: tn.SGD(model(), momentum=True), ValueError, "momentum must be a number"),
    ("SGD.lr = -1", lambda: setattr(tn.SGD(model()), "lr", -1), ValueError, "lr must be a positive finite"),
    ("SGD.momentum = 2", lambda: setattr(tn.SGD(model()), "momentum", 2), ValueError, "momentum must be"),
    ("SGD.step before backward", lambda: tn.SGD(model()).step(), RuntimeError, "no gradient dW; call backward"),
    # make_dataset
    ("make_dataset name=None", lambda: make_dataset(None, 10), ValueError, "unknown dataset None"),
    ("make_dataset name='spiral'", lambda: make_dataset("spiral", 10), ValueError, "unknown dataset 'spiral'"),
    ("make_dataset n=0", lambda: make_dataset("xor", 0), ValueError, "dataset size must be a positive integer"),
    ("make_dataset n=True", lambda: make_dataset("xor", True), ValueError, "dataset size must be a positive"),
    ("make_dataset n=1.5", lambda: make_dataset("xor", 1.5), ValueError, "dataset size must be a positive"),
    ("make_dataset n='10'", lambda: make_dataset("xor", "10"), ValueError, "dataset size must be a positive"),
    ("make_dataset val_fraction=1", lambda: make_dataset("xor", 10, val_fraction=1), ValueError,
     "val_fraction must be in [0, 1)"),
    ("make_dataset val_fraction=None", lambda: make_dataset("xor", 10, val_fraction=None), ValueError,
     "val_fraction must be in [0, 1)"),
    ("make_dataset val_fraction=nan", lambda: make_dataset("xor", 10, val_fraction=float("nan")), ValueError,
     "val_fraction must be in [0, 1)"),
    ("make_dataset val_fraction='0.2'", lambda: make_dataset("xor", 10, val_fraction="0.2"), ValueError,
     "val_fraction must be in [0, 1)"),
    ("make_dataset ones=2", lambda: make_dataset("xor", 10, ones=2), ValueError, "ones must be a probability"),
    ("make_dataset ones=True", lambda: make_dataset("xor", 10, ones=True), ValueError, "ones must be a probability"),
    ("make_dataset ones=nan", lambda: make_dataset("xor", 10, ones=float("nan")), ValueError,
     "ones must be a probability"),
    ("make_dataset flip=-0.1", lambda: make_dataset("xor", 10, flip=-0.1), ValueError, "flip must be a probability"),
    ("make_dataset flip=None", lambda: make_dataset("xor", 10, flip=None), ValueError, "flip must be a probability"),
    ("make_dataset flip='0.1'", lambda: make_dataset("xor", 10, flip="0.1"), ValueError,
     "flip must be a probability"),
    ("make_dataset seed='0'", lambda: make_dataset("xor", 10, seed="0"), TypeError, "make_dataset: seed must be"),
    # train and train_step
    ("train steps=0", lambda: train_with(steps=0), ValueError, "steps must be a positive integer"),
    ("train steps=1.5", lambda: train_with(steps=1.5), ValueError, "steps must be a positive integer"),
    ("train steps=None", lambda: train_with(steps=None), ValueError, "steps must be a positive integer"),
    ("train lr=0", lambda: train_with(lr=0), ValueError, "lr must be a positive finite number"),
    ("train lr='0.1'", lambda: train_with(lr="0.1"), ValueError, "lr must be a positive finite number"),
    ("train momentum=1", lambda: train_with(momentum=1), ValueError, "momentum must be a number in [0, 1)"),
    ("train batch_size=0", lambda: train_with(batch_size=0), ValueError, "batch_size must be a positive integer"),
    ("train batch_size=2.0", lambda: train_with(batch_size=2.0), ValueError, "batch_size must be a positive"),
    ("train eval_every=0", lambda: train_with(eval_every=0), ValueError, "eval_every must be a positive integer"),
    ("train until_loss=nan", lambda: train_with(until_loss=float("nan")), ValueError,
     "until_loss must be a finite number"),
    ("train until_loss='0.1'", lambda: train_with(until_loss="0.1"), ValueError, "until_loss must be a finite"),
    ("train progress='x'", lambda: train_with(progress="x"), TypeError, "progress must be True, False or None"),
    ("train desc=3", lambda: train_with(desc=3), TypeError, "desc must be a string"),
    ("train without lr or opt", lambda: train_with(lr=None), TypeError, "give lr=... (for the default optimizer"),
    ("train opt and lr", lambda: train_with(opt=tn.SGD(model(), lr=0.1)), TypeError,
     "with your own opt=..., set them on it"),
    ("train opt without step", lambda: train_with(lr=None, opt=object()), TypeError, "opt must have step()"),
    ("train loss_fn without backward", lambda: train_with(loss_fn=object()), TypeError,
     "loss_fn must have forward() and backward()"),
    ("train measure=3", lambda: train_with(measure=3), TypeError, "measure must be a function"),
    ("train measure returning a list", lambda: train_with(measure=lambda m, x, y: [1.0]), TypeError,
     "measure must return a dict of named numbers"),
    ("train seed=-1", lambda: train_with(seed=-1), ValueError, "train: seed must be"),
    ("train data=(x, y)", lambda: train_with(data=(np.zeros((2, 2)), np.zeros(2, int))), TypeError,
     "data must be a tinynet.data.Dataset"),
    ("train data=None", lambda: train_with(data=None), TypeError, "data must be a tinynet.data.Dataset"),
    ("train x_train 1-D", lambda: train_with(data=dataset_with(x_train=np.zeros(10))), ValueError,
     "train set: inputs must have shape (N, features)"),
    ("train x_train a list", lambda: train_with(data=dataset_with(x_train=[[0.0, 0.0]] * 10)), TypeError,
     "inputs (x_train) must be a NumPy array of real numbers"),
    ("train x_train complex", lambda: train_with(data=dataset_with(x_train=np.zeros((10, 2), complex))), TypeError,
     "inputs (x_train) must be a NumPy array of real numbers"),
    ("train y_train float", lambda: train_with(data=dataset_with(y_train=np.zeros(10))), TypeError,
     "labels (y_train) must be a NumPy array of integers"),
    ("train y_train 2-D", lambda: train_with(data=dataset_with(y_train=np.zeros((10, 1), int))), ValueError,
     "train set: labels must have shape (N,)"),
    ("train y_val too short", lambda: train_with(data=dataset_with(x_val=np.zeros((3, 2)), y_val=np.zeros(2, int))),
     ValueError, "val set: 3 inputs but 2 labels"),
    ("train model=None", lambda: train_with(model=None), TypeError, "model must be a tn.Sequential"),
    ("train model=Linear", lambda: train_with(model=tn.Linear(2, 2)), TypeError, "model must be a tn.Sequential"),
    ("train model=Sequential()", lambda: train_with(model=tn.Sequential()), ValueError, "has no Linear layer"),
    ("train model too narrow", lambda: train_with(model=tn.create_model([3, 2])), ValueError,
     "the data has 2 features but the model's first layer Linear(3->2) expects 3"),
    ("train model one class", lambda: train_with(model=tn.create_model([2, 1])), ValueError,
     "label out of range"),
    ("train_step opt=None", lambda: tn.train_step(model(), tn.SoftmaxCrossEntropy(), None, f32(1, 2),
                                                  np.array([0])), TypeError, "train_step: opt must have"),
    ("train_step loss_fn=class", lambda: tn.train_step(model(), tn.SoftmaxCrossEntropy, tn.SGD(model()),
                                                       f32(1, 2), np.array([0])), TypeError,
     "train_step: loss_fn must have"),
    ("train_step model=None", lambda: tn.train_step(None, tn.SoftmaxCrossEntropy(), tn.SGD(model()), f32(1, 2),
                                                    np.array([0])), TypeError, "train_step: model must have"),
    ("train_step x=None", lambda: (lambda m: tn.train_step(m, tn.SoftmaxCrossEntropy(), tn.SGD(m), None,
                                                           np.array([0])))(model()), TypeError, "got NoneType input"),
    # gradcheck
    ("check h=0", lambda: check(h=0), ValueError, "h must be a number in"),
    ("check h=1e-300", lambda: check(h=1e-300), ValueError, "h must be a number in"),
    ("check h='1e-5'", lambda: check(h="1e-5"), ValueError, "h must be a number in"),
    ("check tol=0", lambda: check(tol=0), ValueError, "tol must be a number in"),
    ("check tol=nan", lambda: check(tol=float("nan")), ValueError, "tol must be a number in"),
    ("check tol=1", lambda: check(tol=1.0), ValueError, "tol must be a number in"),
    ("check eps=-1", lambda: check(eps=-1), ValueError, "eps must be a number in"),
    ("check max_entries=0", lambda: check(max_entries=0), ValueError, "max_entries must be a positive integer"),
    ("check max_entries=-1", lambda: check(max_entries=-1), ValueError, "max_entries must be a positive integer"),
    ("check max_entries=1.5", lambda: check(max_entries=1.5), ValueError, "max_entries must be a positive"),
    ("check max_entries=True", lambda: check(max_entries=True), ValueError, "max_entries must be a positive"),
    ("check seed=-1", lambda: check(seed=-1), ValueError, "gradcheck.check: seed must be"),
    ("check x=list", lambda: check(x=[[1.0, 2.0]]), TypeError, "got list"),
    ("check x=None", lambda: check(x=None), TypeError, "got NoneType"),
    ("check_layer(class)", lambda: check(layer=tn.ReLU), TypeError, "got the class ReLU"),
    ("check_layer(3)", lambda: check(layer=3), TypeError, "model must be a layer, a model or a loss"),
    ("check_loss(class)", lambda: gradcheck.check_loss(tn.SoftmaxCrossEntropy, np.ones((2, 2)), np.array([0, 1])),
     TypeError, "got the class SoftmaxCrossEntropy"),
    ("check_loss labels list", lambda: gradcheck.check_loss(tn.SoftmaxCrossEntropy(), np.ones((2, 2)), [0, 1]),
     TypeError, "labels must be an integer array"),
    ("check_model(None)", lambda: gradcheck.check_model(None, np.ones((2, 2)), np.array([0, 1])), TypeError,
     "model must be a layer or a model, got None"),
    ("check_model loss_fn='x'", lambda: gradcheck.check_model(tn.Linear(2, 2, dtype="float64"), np.ones((2, 2)),
                                                              np.array([0, 1]), loss_fn="x"), TypeError,
     "loss_fn must be a layer, a model or a loss"),
    ("numerical_gradient f=3", lambda: gradcheck.numerical_gradient(3, np.ones(2)), TypeError,
     "f must be a function"),
    ("numerical_gradient h=0", lambda: gradcheck.numerical_gradient(lambda: 0.0, np.ones(2), h=0), ValueError,
     "h must be a number in"),
    ("numerical_gradient int array", lambda: gradcheck.numerical_gradient(lambda: 0.0, np.ones(2, int)),
     TypeError, "array must be a float64 NumPy array"),
    ("numerical_gradient float32", lambda: gradcheck.numerical_gradient(lambda: 0.0, f32(2)), TypeError,
     "array must be a float64 NumPy array"),
    ("relative_error eps=-1", lambda: gradcheck.relative_error(np.ones(2), np.ones(2), eps=-1), ValueError,
     "eps must be a positive number"),
    # reliability, round two: what an answer went wrong silently or unclearly for
    ("ReLU.forward np scalar", lambda: tn.ReLU().forward(np.float32(1)), TypeError, "got float32"),
    ("loss.forward tuple", lambda: tn.SoftmaxCrossEntropy().forward((1.0, 2.0), np.array([0])), TypeError,
     "SoftmaxCrossEntropy() takes its logits as an array"),
    ("check_layer x list", lambda: gradcheck.check_layer(tn.ReLU(), [[1.0]]), TypeError, "x must be an array"),
    ("check_loss logits None", lambda: gradcheck.check_loss(tn.SoftmaxCrossEntropy(), None, np.array([0])), TypeError,
     "logits must be an array"),
    ("train x_val features", lambda: train_with(data=dataset_with(x_val=np.zeros((3, 5)), y_val=np.zeros(3, int))),
     ValueError, "val set: the data has 5 features"),
    ("SGD param_names None", lambda: tn.SGD(type("L", (), {"param_names": None})()), TypeError,
     "param_names must be a tuple of attribute names"),
    ("SGD param_names missing", lambda: tn.SGD(type("L", (), {"param_names": ("W",)})()), AttributeError,
     "param_names lists 'W', but the layer has no attribute W"),
    ("SGD.step dW list", lambda: sgd_with_gradient([[1.0] * 3] * 2), TypeError, "dW must be an array"),
    ("majority_baseline float labels", lambda: dataset_with(y_train=np.full(10, 0.5)).majority_baseline, TypeError,
     "integer class labels"),
    ("majority_baseline negative", lambda: dataset_with(y_train=np.full(10, -1)).majority_baseline, ValueError,
     "class labels 0..C-1"),
    ("layer_inputs margin swallows the range", lambda: testing.layer_inputs(kinks=[0.0], margin=5.0), ValueError,
     "no input in [-3.0, 3.0]"),
    ("layer_inputs kinks=3", lambda: testing.layer_inputs(kinks=3), ValueError, "kinks must be a list of numbers"),
    ("layer_inputs low='a'", lambda: testing.layer_inputs(low="a"), ValueError, "low < high must be finite numbers"),
    ("numerical_gradient read-only", lambda: gradcheck.numerical_gradient(lambda: 0.0, read_only(np.ones(2))),
     ValueError, "array is read-only"),
    ("numerical_gradient f -> str", lambda: gradcheck.numerical_gradient(lambda: "x", np.ones(2)), TypeError,
     "f must return one number"),
    ("numerical_gradient indices", lambda: gradcheck.numerical_gradient(lambda: 0.0, np.ones(2), indices=[(5,)]),
     IndexError, "indices must list entries of an array of shape (2,)"),
    ("relative_error lists", lambda: gradcheck.relative_error("a", np.ones(2)), TypeError,
     "a must be a NumPy array or a number"),
    ("format_table None", lambda: gradcheck.format_table(None), TypeError, "format_table takes the list of results"),
    ("create_model huge", lambda: tn.create_model([2, 10 ** 6, 10 ** 6]), MemoryError,
     "W of 1,000,000,000,000 entries needs about 11,175.9 GiB, more than"),
    # sizes no machine holds: said before allocating (an overcommitting system would start, then be killed)
    ("make_dataset n=10**12", lambda: make_dataset("xor", 10 ** 12), MemoryError,
     "1,200,000,000,000 examples needs about 53,644.2 GiB, more than"),
    ("Linear n_out=10**30", lambda: tn.Linear(3, 10 ** 30), MemoryError, "GiB, more than"),
    ("create_model [2, 2**62, 2]", lambda: tn.create_model([2, 2 ** 62, 2]), MemoryError, "GiB, more than"),
    ("format_table title=3", lambda: gradcheck.format_table([], title=3), TypeError, "title must be a string"),
    ("layer_inputs rows=3", lambda: testing.layer_inputs(rows=3), ValueError, "rows must be (smallest, largest)"),
    ("SGD.step W a list", lambda: sgd_with_gradient(None, W=[[1.0] * 3] * 2), TypeError,
     "Linear(W list): parameter W is list, not an array"),
    # tinynet.testing
    ("assert_backward_correct(class)", lambda: testing.assert_backward_correct(tn.ReLU, np.ones((2, 2))),
     TypeError, "needs a layer instance, got the class ReLU"),
    ("assert_backward_correct(3)", lambda: testing.assert_backward_correct(3, np.ones((2, 2))), TypeError,
     "needs an object with forward and backward"),
    ("assert_backward_correct tol=0", lambda: testing.assert_backward_correct(tn.ReLU(), np.ones((2, 2)), tol=0),
     ValueError, "tol must be a number in (0, 1)"),
    ("assert_backward_correct x 1-D", lambda: testing.assert_backward_correct(tn.ReLU(), np.ones(2)), ValueError,
     "x must be a batch of rows"),
    ("layer_inputs rows=(0, 3)", lambda: testing.layer_inputs(rows=(0, 3)), ValueError, "rows must be"),
    ("layer_inputs low > high", lambda: testing.layer_inputs(low=3, high=-3), ValueError, "low < high"),
    # what was taken silently and gave a wrong number (reliability, round three)
    ("Sequential(Sequential)", lambda: tn.Sequential(tn.Sequential(tn.Linear(2, 3)), tn.Linear(3, 2)), TypeError,
     "nesting is not supported"),
    ("parameters(None)", lambda: list(tn.parameters(None)), TypeError, "parameters: model must be a layer"),
    ("parameters(model.layers)", lambda: list(tn.parameters(model().layers)), TypeError, "tn.Sequential(*layers)"),
    ("parameters(3)", lambda: list(tn.parameters(3)), TypeError, "got int"),
    ("get_backend asarray(None)", lambda: tn.get_backend("numpy").asarray(None, dtype="float32"), TypeError,
     "asarray got None"),
    ("get_backend to_numpy(None)", lambda: tn.get_backend("numpy").to_numpy(None), TypeError, "to_numpy got None"),
    ("majority_baseline y_val strings", lambda: dataclasses.replace(make_dataset("xor", 10, val_fraction=0.5),
     y_val=np.array(["a"] * 5)).majority_baseline, TypeError, "integer class labels in y_val"),
    ("check(None, x)", lambda: gradcheck.check(None, np.ones((2, 2))), TypeError, "nothing to check"),
    ("check timeout=0", lambda: exercises_check(pathlib.Path("."), timeout=0), ValueError,
     "check: timeout must be a number of seconds from 1"),
    ("check timeout=-1", lambda: exercises_check(pathlib.Path("."), timeout=-1), ValueError, "got -1"),
    ("check timeout='5'", lambda: exercises_check(pathlib.Path("."), timeout="5"), ValueError, "got '5'"),
    ("relative_error two shapes", lambda: gradcheck.relative_error(np.ones(2), np.ones(3)), ValueError,
     "a and n must have the same shape, got (2,) and (3,)"),
    ("to_numpy strict array", lambda: tn.get_backend("numpy").to_numpy(tn.get_backend("strict").asarray(f32(2))),
     TypeError, "to_numpy got an array of the 'strict' backend; copy it with tn.get_backend('strict').to_numpy(a)"),
    ("loss.backward strict 0-d", lambda: loss_after_forward().backward(tn.get_backend("strict").asarray(1.0)),
     TypeError, "takes dL_total/dL on the logits' backend ('numpy'), got a 'strict' array"),
    ("check jobs='2'", lambda: exercises_check(pathlib.Path("."), jobs="2"), ValueError,
     "check: jobs must be a positive integer"),
    ("check jobs=0", lambda: exercises_check(pathlib.Path("."), jobs=0), ValueError, "got 0"),
    ("numerical_gradient indices=[0]", lambda: gradcheck.numerical_gradient(lambda: 0.0, np.ones((2, 2)),
     indices=[0]), IndexError, "each a tuple of 2 integers"),
    ("numerical_gradient indices=[(0,)]", lambda: gradcheck.numerical_gradient(lambda: 0.0, np.ones((2, 2)),
     indices=[(0,)]), IndexError, "got (0,)"),
    ("numerical_gradient indices=[[0, 1]]", lambda: gradcheck.numerical_gradient(lambda: 0.0, np.ones((2, 2)),
     indices=[[0, 1]]), IndexError, "got [0, 1]"),
    ("numerical_gradient indices=slice", lambda: gradcheck.numerical_gradient(lambda: 0.0, np.ones((2, 2)),
     indices=[slice(None)]), IndexError, "indices must list entries"),
    ("numerical_gradient indices=5", lambda: gradcheck.numerical_gradient(lambda: 0.0, np.ones(2), indices=5),
     IndexError, "got 5"),
    ("assert_backward_correct complex x", lambda: testing.assert_backward_correct(tn.ReLU(), np.ones((2, 2)) + 1j),
     TypeError, "x must hold real numbers, got complex128"),
    # train: the data, checked before the first step
    ("train x_train NaN", lambda: train_with(data=dataset_with(x_train=np.where(np.arange(10)[:, None] == 3, np.nan,
     make_dataset("xor", 10).x_train))), ValueError, "train set: 1 input rows contain NaN or inf"),
    ("train x_val inf", lambda: train_with(data=dataset_with(x_val=np.full((5, 2), np.inf), y_val=np.zeros(5, int))),
     ValueError, "val set: 5 input rows contain NaN or inf"),
    ("train y_train short", lambda: train_with(data=dataset_with(y_train=np.zeros(9, int))), ValueError,
     "train set: 10 inputs but 9 labels"),
    ("train y_train out of range", lambda: train_with(data=dataset_with(y_train=np.full(10, 2))), ValueError,
     "label out of range"),
    ("train x_train 3 features", lambda: train_with(data=dataset_with(x_train=np.zeros((10, 3)))), ValueError,
     "expects 2"),
    ("train x_train empty", lambda: train_with(data=dataset_with(x_train=np.zeros((0, 2)), y_train=np.zeros(0, int))),
     ValueError, "empty"),
    ("train steps='5'", lambda: train_with(steps="5"), ValueError, "steps must be a positive integer"),
    ("train steps=True", lambda: train_with(steps=True), ValueError, "steps must be a positive integer"),
    ("train eval_every=-1", lambda: train_with(eval_every=-1), ValueError, "eval_every must be a positive integer"),
    ("train eval_every=2.5", lambda: train_with(eval_every=2.5), ValueError, "eval_every must be a positive integer"),
    ("make_dataset ones='half'", lambda: make_dataset("xor", 10, ones="half"), ValueError,
     "ones must be a probability"),
    ("get_backend backend_of(list)", lambda: backend_of([1.0, 2.0]), TypeError, "asarray"),
    ("get_backend asarray float16", lambda: tn.get_backend("numpy").asarray([1.0], dtype="float16"), ValueError,
     "float32"),
    ("layer_inputs rows=(3, 1)", lambda: testing.layer_inputs(rows=(3, 1)), ValueError, "rows must be"),
    # the doctor: what train refuses, with train's messages, and a watcher that is not a hook
    ("diagnose steps=0", lambda: tn.diagnose(model(), make_dataset("xor", 10), steps=0, lr=0.1), ValueError,
     "steps must be a positive integer"),
    ("diagnose data list", lambda: tn.diagnose(model(), [[0.0, 1.0]], steps=2, lr=0.1), TypeError,
     "data must be a tinynet.data.Dataset"),
    ("diagnose without lr or opt", lambda: tn.diagnose(model(), make_dataset("xor", 10), steps=2), TypeError,
     "give lr=..."),
    ("diagnose quiet='no'", lambda: tn.diagnose(model(), make_dataset("xor", 10), steps=2, lr=0.1, quiet="no"),
     TypeError, "quiet is not taken"),
    ("diagnose measure=3", lambda: tn.diagnose(model(), make_dataset("xor", 10), steps=2, lr=0.1, measure=3),
     TypeError, "measure must be a function measure(model, x, labels)"),
    ("plot history=list", lambda: tn.plot([0.7, 0.6]), TypeError,
     "plot: takes the History that tn.train returned, got list"),
    ("plot model without data", lambda: tn.plot(tn.History(), model()), TypeError,
     "plot: the boundary needs both the model and the data"),
    ("Watcher measure=3", lambda: tn.doctor.Watcher(measure=3), TypeError, "measure must be a function"),
    ("Watcher lr='0.1'", lambda: tn.doctor.Watcher(lr="0.1"), ValueError, "lr must be a positive finite number"),
    ("Watcher batch_size='all'", lambda: tn.doctor.Watcher(batch_size="all"), ValueError,
     "batch_size must be a positive integer or None (full batch), got 'all'"),
    ("Watcher.diagnosis(None)", lambda: tn.doctor.Watcher().diagnosis(None), TypeError,
     "Watcher.diagnosis takes the History that tn.train returned"),
    ("diagnose batch_size='all'", lambda: tn.diagnose(model(), make_dataset("xor", 10), steps=2, lr=0.1,
                                                      batch_size="all"), ValueError,
     "batch_size must be a positive integer or None (full batch), got 'all'"),
]


@pytest.mark.parametrize("call, error, names", [row[1:] for row in API], ids=[row[0] for row in API])
def test_a_bad_argument_gets_a_clear_error(call, error, names):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert names in str(info.value), f"the message does not say {names!r}: {info.value}"
    raised_in = pathlib.Path(info.traceback[-1].path)
    assert TINYNET in raised_in.parents, f"raised in {raised_in}, not by tinynet: {info.value}"


def experiment(*argv: str) -> Any:
    return flags.parse(flags.parser("", default_steps=1), ["--out", "runs/flag-test", *argv], "flag-test")


# Every experiment script's flags (flags.parser), as typed on a command line, and what the one line names.
EXPERIMENT_FLAGS = [
    ("--steps abc", "argument --steps: must be a positive integer, got 'abc'"),
    ("--steps 0", "argument --steps: must be a positive integer, got '0'"),
    ("--steps 1.5", "argument --steps: must be a positive integer, got '1.5'"),
    ("--steps", "argument --steps: expected one argument"),
    ("--lr abc", "argument --lr: invalid float value"),
    ("--lr -1", "--lr must be a positive number"),
    ("--lr nan", "--lr must be a positive number"),
    ("--lr inf", "--lr must be a positive number"),
    ("--seed abc", "argument --seed: must be a non-negative integer, got 'abc'"),
    ("--seed -1", "argument --seed: must be a non-negative integer, got '-1'"),
    ("--seeds ''", "argument --seeds: takes non-negative integers"),
    ("--seeds 1,,2", "argument --seeds: takes non-negative integers"),
    ("--seeds 4-2", "argument --seeds: '4-2' is not a range"),
    ("--seed 1 --seeds 0-2", "not both"),
    ("--data-seed -1", "argument --data-seed: must be a non-negative integer, got '-1'"),
    ("--weight-seed x", "argument --weight-seed: must be a non-negative integer, got 'x'"),
    ("--data-seed 1 --weight-seed 2", "leave nothing to vary"),
    ("--jobs x", "argument --jobs: must be a positive integer, got 'x'"),
    ("--jobs 0", "argument --jobs: must be a positive integer, got '0'"),
    ("--backend ''", "unknown backend ''"),
    ("--backend tpu", "unknown backend 'tpu'"),
    ("--dataset spiral", "unknown --dataset 'spiral'"),
    ("--out ''", "argument --out: is empty"),
    ("--bogus", "unrecognized arguments: --bogus"),
    ("extra", "unrecognized arguments: extra"),
    ("--quick=1", "argument --quick: ignored explicit argument '1'"),
]


C = tuple[str, Callable[[pathlib.Path], Any], str]  # id, the call (given a scratch folder), what stderr names
CLI: list[C] = [
    # every experiment script (flags.parser), the rows of EXPERIMENT_FLAGS; and run_all.py
    *[(flags, lambda _, argv=shlex.split(flags): experiment(*argv), says) for flags, says in EXPERIMENT_FLAGS],
    ("--out a file", lambda _: experiment("--out", __file__), "is a file"),
    ("run_all --seeds x", lambda d: run_all.main(["--seeds", "x", "--out", str(d)]),
     "argument --seeds: takes non-negative integers"),
    ("run_all --part4-seeds x", lambda d: run_all.main(["--part4-seeds", "x", "--out", str(d)]),
     "argument --part4-seeds: takes non-negative integers"),
    ("run_all --out ''", lambda _: run_all.main(["--out", ""]), "argument --out: is empty"),
    ("run_all --bogus", lambda _: run_all.main(["--bogus"]), "unrecognized arguments: --bogus"),
    ("run_all --log-only without results", lambda d: run_all.main(["--log-only", "--out", str(d)]),
     "no results to write the log from"),
    ("run_all --log a folder", lambda d: run_all.main(["--log-only", "--log", str(d), "--out", str(RESULTS)]),
     "is a folder"),
    ("run_all --log under a file", lambda _: run_all.main(["--log-only", "--log", f"{__file__}/log.md", "--out",
                                                           str(RESULTS)]), "cannot write --log"),
    ("run_all --log unwritable, before any part runs", lambda d: run_all.main(
        ["--quick", "--log", f"{__file__}/log.md", "--out", str(d)]), "cannot write --log"),
    ("run_all --log in /proc", lambda _: run_all.main(["--log-only", "--log", "/proc/log.md", "--out", str(RESULTS)]),
     "cannot write --log"),
    *[(f"{part} --out over the name limit", lambda _, part=part: SCRIPTS[part].main(
        ["--quick", "--out", "runs/" + "x" * 300]), "cannot write to --out") for part in SCRIPTS],
    ("part3_break --quick --steps", lambda _: SCRIPTS["part3_break"].main(["--quick", "--steps", "50", "--out",
                                                                          "runs/flag-test"]),
     "--quick sets its own number of steps"),
    ("part1_sanity --steps", lambda _: SCRIPTS["part1_sanity"].main(["--steps", "5", "--out", "runs/flag-test"]),
     "unrecognized arguments: --steps"),  # Part 1 trains nothing: the flag would be recorded without effect
    ("part1_sanity --lr", lambda _: SCRIPTS["part1_sanity"].main(["--lr", "3", "--out", "runs/flag-test"]),
     "unrecognized arguments: --lr"),
    # python -m tinynet.gradcheck
    ("gradcheck --batch abc", lambda _: gradcheck_main(["--batch", "abc"]), "argument --batch: must be a positive"),
    ("gradcheck --samples 0", lambda _: gradcheck_main(["--samples", "0"]), "argument --samples: must be a positive"),
    ("gradcheck --seed -1", lambda _: gradcheck_main(["--seed", "-1"]), "argument --seed: must be a non-negative"),
    ("gradcheck --backend jax", lambda _: gradcheck_main(["--backend", "jax"]), "argument --backend: invalid choice"),
    ("gradcheck --bogus", lambda _: gradcheck_main(["--bogus"]), "unrecognized arguments: --bogus"),
    ("gradcheck --batch 10**12", lambda _: gradcheck_main(["--batch", str(10 ** 12)]), "GiB for the inputs alone"),
    ("experiment --quick --steps", lambda _: experiment("--quick", "--steps", "5"), "--quick sets its own"),
    ("run_all --log ''", lambda d: run_all.main(["--log-only", "--log", "", "--out", str(d)]), "is empty"),
    ("exercises start ''", lambda _: exercises_main(["start", ""]), "is empty"),
    ("exercises check ''", lambda _: exercises_main(["check", ""]), "is empty"),
    ("exercises --timeout 0", lambda d: exercises_main(["check", str(d), "--timeout", "0"]), "--timeout must be"),
    ("exercises --timeout 1e-9", lambda d: exercises_main(["check", str(d), "--timeout", "1e-9"]),
     "--timeout must be a number of seconds from 1"),
    ("exercises --timeout inf", lambda d: exercises_main(["check", str(d), "--timeout", "inf"]), "to 86400 (a day)"),
    ("exercises --from a file", lambda d: exercises_main(["start", str(d / "x"), "--from", __file__]),
     "is not a folder"),
    # python -m tinynet.exercises
    ("exercises --only Tanh", lambda d: exercises_main(["start", str(d / "x"), "--only", "Linear,Tanh"]),
     "--only names no exercise 'Tanh'; choose from: Linear, ReLU"),
    ("exercises --hidden Tanh", lambda d: exercises_main(["check", str(d), "--hidden", "Tanh"]),
     "--hidden names no exercise 'Tanh'"),
    ("exercises --results a folder", lambda d: exercises_main(["check", str(d), "--results", str(d)]),
     "is a folder; name the file to write"),
    ("exercises --results in no folder", lambda d: exercises_main(["check", str(d), "--results", str(d / "no" / "r")]),
     "does not exist"),
    ("exercises autograder into a file", lambda _: exercises_main(["autograder", __file__]),
     "is not an empty folder"),
    ("exercises without arguments", lambda _: exercises_main([]), "the following arguments are required"),
    ("exercises frobnicate", lambda d: exercises_main(["frobnicate", str(d)]), "argument command: invalid choice"),
    ("exercises check a missing folder", lambda d: exercises_main(["check", str(d / "missing")]),
     "is not a folder"),
    ("exercises check a file", lambda _: exercises_main(["check", __file__]), "is not a folder"),
]


@pytest.mark.parametrize("call, names", [row[1:] for row in CLI], ids=[row[0] for row in CLI])
def test_a_bad_flag_ends_with_one_line_and_exit_2(call, names, tmp_path, capsys):
    try:
        code = call(tmp_path)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert names in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_the_tables_cover_every_public_entry_point():
    """A new public name must come with bad-argument rows here."""
    # A row's id starts with the entry point it calls ("train", "Linear.forward", "SGD(None)"),
    # then the argument it spoils ("train opt without step"): each is matched as a whole word.
    called = {row[0].split()[0].split("(")[0].split(".")[0] for row in API}
    for name in ["Linear", "ReLU", "loss", "Sequential", "create_model", "get_backend", "SGD", "make_dataset",
                 "train", "train_step", "check_layer", "check_loss", "check_model", "numerical_gradient",
                 "relative_error", "assert_backward_correct", "layer_inputs", "diagnose", "plot"]:
        assert name in called, name
    train_arguments = {row[0].split()[1].split("=")[0] for row in API if row[0].split()[0] == "train"}
    for name in ["opt", "loss_fn", "measure", "steps", "batch_size", "eval_every", "until_loss", "progress", "desc"]:
        assert name in train_arguments, name
    public = set(tn.__all__) - {"Backend", "BackendUnavailableError", "History", "gradcheck", "testing", "parameters"}
    assert public <= {"Linear", "ReLU", "SGD", "Sequential", "SoftmaxCrossEntropy", "create_model", "diagnose",
                      "doctor", "get_backend", "plot", "train", "train_step"}, public


@pytest.mark.parametrize("call, error, says", [
    (lambda: gradcheck.check_layer(None, np.ones((2, 2))), TypeError, "layer must be a layer"),
    (lambda: gradcheck.check_loss(None, np.ones((2, 2)), np.array([0, 1])), TypeError, "loss_fn must be a loss"),
    (lambda: gradcheck.relative_error(np.ones(2), np.ones(2), eps=np.inf), ValueError, "eps must be a positive"),
    (lambda: gradcheck.check_layer(tn.Linear(2, 2, dtype="float64"), np.full((2, 2), np.nan)), ValueError,
     "x holds 4 NaN or inf"),
    (lambda: gradcheck.check_layer(tn.Linear(2, 2, dtype="float64"), np.zeros((0, 2))), ValueError, "x is empty"),
    (lambda: gradcheck.check(tn.Linear(2, 2), np.ones((2, 2)), check_input="x"), TypeError,
     "check_input must be True or False"),
    (lambda: tn.create_model({2: 0, 3: 0}), ValueError, "as a list, tuple or range"),
    (lambda: tn.create_model({2, 3}), ValueError, "as a list, tuple or range"),
    (lambda: tn.create_model(b"\x02\x02"), ValueError, "as a list, tuple or range"),
    (lambda: tn.Linear(2, 2, dtype=np.float32(0.5)), ValueError, "dtype must be one of"),
    (lambda: tn.ReLU().forward(np.ones((2, 2), np.float16)), TypeError, "float32 or float64"),
    (lambda: tn.ReLU().forward(np.ones((2, 2), np.longdouble)), TypeError, "float32 or float64"),
    (lambda: tn.SoftmaxCrossEntropy().forward(np.ones((2, 2), np.float16), np.array([0, 1])), TypeError,
     "float32 or float64"),
    (lambda: tn.ReLU().forward(np.matrix([[1.0, -1.0]])), TypeError, "not numpy.matrix"),
    (lambda: tn.Linear(2, 2).forward(np.matrix(np.ones((1, 2), np.float32))), TypeError, "not numpy.matrix"),
    # an ndarray subclass changes what the operators mean: refused wherever an array goes in
    (lambda: after_forward(tn.Linear(2, 3), f32(4, 2)).backward(np.matrix(f32(4, 3))), TypeError,
     r"Linear\(2->3\) takes a plain array, not numpy.matrix \(dL/dout\)"),
    (lambda: after_forward(linear_holding(W=np.matrix(f32(2, 3))), f32(1, 2)), TypeError,
     r"Linear takes a plain array, not numpy.matrix \(W\)"),
    (lambda: tn.ReLU().forward(np.ma.masked_array(f32(2, 2), mask=[[0, 1], [0, 0]])), TypeError,
     "not numpy.ma.MaskedArray"),
    (lambda: tn.SoftmaxCrossEntropy().forward(np.ma.masked_array(f32(2, 2)), np.array([0, 1])), TypeError,
     r"SoftmaxCrossEntropy\(\) takes a plain array, not numpy.ma.MaskedArray \(logits\)"),
])
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix's own, on making one
def test_what_checked_nothing_or_was_taken_silently_is_refused(call, error, says):
    with pytest.raises(error, match=says):
        call()


def test_a_named_dataset_is_a_string_and_an_empty_training_set_has_no_baseline():
    from tinynet.data import Dataset, make_dataset

    with pytest.raises(ValueError, match="unknown dataset"):
        make_dataset(np.array("xor"), 10)
    empty = Dataset("x", np.zeros((0, 2)), np.zeros(0, dtype=int), np.zeros((3, 2)), np.zeros(3, dtype=int))
    assert np.isnan(empty.majority_baseline)
    fractional = np.array([0.5, 1.0])
    with pytest.raises(TypeError, match="integer class labels"):
        _ = Dataset("x", np.zeros((2, 2)), fractional, np.zeros((2, 2)), np.zeros(2, dtype=int)).majority_baseline


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


@pytest.mark.parametrize("bad, error, says", [
    ("abc", TypeError, "numpy backend: asarray: takes numbers (bool, int or float), got a str"),
    ([[1, 2], [3]], ValueError, "cannot read the list as an array of numbers (rows of different lengths)"),
    (object(), TypeError, "takes numbers (bool, int or float), got a object"),
    ({"a": 1}, TypeError, "takes numbers (bool, int or float), got a dict"),
])
def test_asarray_takes_numbers_and_says_so_in_one_line(bad, error, says):
    """NumPy would make a string, a dict or an object a 0-d array of it (and a train or a check
    would fail far away), and of a ragged list says only that an element was set with a sequence."""
    for backend in ("numpy", "strict"):
        with pytest.raises(error, match=re.escape(says.replace("numpy", backend))):
            tn.get_backend(backend).asarray(bad)


def test_a_string_given_to_assert_backward_correct_is_named():
    with pytest.raises(TypeError, match=r"^x: takes numbers \(bool, int or float\), got a str"):
        tn.testing.assert_backward_correct(tn.Linear(2, 3, dtype="float64"), "abc")
    with pytest.raises(ValueError, match=r"^logits: cannot read the list as an array of numbers"):
        tn.testing.assert_loss_correct(tn.SoftmaxCrossEntropy(), [[1.0, 2.0], [3.0]], [0, 1])
