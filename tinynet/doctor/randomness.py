"""Layers that draw at random (a learner's dropout), for the doctor: found, held still, and
never disturbed.

- ``random_in`` runs a layer's forward twice on the same input: a layer whose output changes
  draws at random. The doctor asks it in eval mode (where a dropout must not draw: a finding
  if it does) and in training mode (where it may: then its backward is checked held still).
- ``held_still`` puts every random generator the layer holds, and NumPy's global one, back to
  its state before each forward, so that each forward draws the same mask: the layer is then
  a function, and finite differences can check its backward with that mask fixed.
- ``untouched`` keeps every generator the model holds in the state it was in: the doctor's
  extra forward passes draw nothing from the run's randomness, so the run's numbers are
  tn.train's, bit for bit.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np

from ..backend import backend_of
from ..model import layers_of


def generators(layer: Any) -> list[np.random.Generator]:
    """The NumPy Generators a layer keeps among its attributes (where a learner keeps one)."""
    return [v for v in vars(layer).values() if isinstance(v, np.random.Generator)] if hasattr(layer, "__dict__") else []


@contextlib.contextmanager
def untouched(model: Any) -> Iterator[None]:
    """Every generator of the model's layers, and NumPy's global one, as it was before the block."""
    held = [(g, g.bit_generator.state) for layer in layers_of(model) for g in generators(layer)]
    global_state = np.random.get_state()
    try:
        yield
    finally:
        for g, state in held:
            g.bit_generator.state = state
        np.random.set_state(global_state)


@contextlib.contextmanager
def mode(layer: Any, training: bool) -> Iterator[None]:
    """The layer's ``training`` flag set for the block (as model.train() / eval() set it), then
    as it was; a layer that cannot take it is left alone."""
    had, was = hasattr(layer, "training"), getattr(layer, "training", None)
    try:
        layer.training = training
    except AttributeError:
        yield
        return
    try:
        yield
    finally:
        if had:
            layer.training = was
        else:
            del layer.training


def random_in(layer: Any, x: Any) -> float:
    """The share of output entries that differ between two forwards on the same input x (0:
    the layer is a function of its input). Raises what the layer raises."""
    first = backend_of(x).to_numpy(layer.forward(x))
    second = backend_of(x).to_numpy(layer.forward(x))
    if first.shape != second.shape:
        return 1.0
    return float(np.mean(~((first == second) | (np.isnan(first) & np.isnan(second))))) if first.size else 0.0


@contextlib.contextmanager
def held_still(layer: Any) -> Iterator[None]:
    """Inside the block each forward of ``layer`` draws what its first did: its generators
    (and NumPy's global one) are put back before every call. The layer's own forward is
    restored after."""
    states = [(g, g.bit_generator.state) for g in generators(layer)]
    global_state = np.random.get_state()
    own = type(layer).forward

    def forward(x: Any) -> Any:
        for g, state in states:
            g.bit_generator.state = state
        np.random.set_state(global_state)
        return own(layer, x)

    layer.forward = forward  # an instance attribute, over the class's method
    try:
        yield
    finally:
        vars(layer).pop("forward", None)
