"""The worked example of docs/backprop.md, run through tinynet: the page and the code agree."""
from __future__ import annotations

import pathlib
import re

import numpy as np

import tinynet as tn

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "backprop.md"

# The numbers as printed in section 5 of the page.
EXPECTED = {
    "z1": [[1, 2], [3, -3]],
    "h": [[1, 2], [3, 0]],
    "z2": [[-1, 2], [3, 0]],
    "p": [[0.047426, 0.952574], [0.952574, 0.047426]],
    "L": 0.048587,
    "dz2": [[0.023713, -0.023713], [-0.023713, 0.023713]],
    "dW2": [[-0.047426, 0.047426], [0.047426, -0.047426]],
    "db2": [0, 0],
    "dW1": [[-0.047426, -0.047426], [0.071139, -0.094852]],
    "db1": [0, -0.047426],
    "dx": [[0.071139, -0.047426], [-0.023713, 0]],
}


def run_example(be):
    model = tn.create_model([2, 2, 2], dtype="float64", backend=be)
    first, relu, second = model.layers
    first.W, first.b = be.asarray(np.array([[1.0, -1.0], [0.0, 1.0]])), be.asarray(np.array([0.0, 1.0]))
    second.W, second.b = be.asarray(np.array([[1.0, 0.0], [-1.0, 1.0]])), be.asarray(np.array([0.0, 0.0]))
    x = be.asarray(np.array([[1.0, 2.0], [3.0, -1.0]]))
    y = be.asarray(np.array([1, 0]))
    z1 = first.forward(x)
    h = relu.forward(z1)
    z2 = second.forward(h)
    loss_fn = tn.SoftmaxCrossEntropy()
    L = loss_fn.forward(z2, y)
    dz2 = loss_fn.backward()
    dx = model.backward(dz2)
    got = dict(z1=z1, h=h, z2=z2, p=loss_fn._probs, L=L, dz2=dz2, dW2=second.dW, db2=second.db,
               dW1=first.dW, db1=first.db, dx=dx)
    return {k: be.to_numpy(v) for k, v in got.items()}


def test_engine_reproduces_the_worked_example(be):
    got = run_example(be)
    for name, value in EXPECTED.items():
        np.testing.assert_allclose(got[name], value, atol=5e-7, err_msg=name)


def test_the_page_prints_these_numbers():
    text = DOC.read_text()
    section = text[text.index("## 5."):text.index("## 6.")]
    printed = {float(t) for t in re.findall(r"-?\d+\.\d+", section)}
    for name, value in EXPECTED.items():
        for v in np.ravel(value):
            if v != int(v):
                assert float(v) in printed, f"{name}: {v} is not on the page"
    assert "q = 0.047426 / 2 = 0.023713" in section
