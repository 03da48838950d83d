"""Sequential models: layers applied in order, gradients passed back in reverse."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np

from .backend import Backend, host_rng
from .checks import check_same_dtype, is_positive_int
from .layers import Linear, ReLU


# What a layer that changed the dtype should do instead.
SAME_DTYPE = ("keep the dtype it is given: make any array it builds with dtype=x.dtype (or dout.dtype), "
              "e.g. xp.zeros(shape, dtype=x.dtype)")


class Sequential:
    """Applies ``layers`` in order. Backward runs them in reverse: the chain rule.

    forward:  x (N, D_0) -> layer 0 -> ... -> layer k -> out (N, D_k)
    backward: dL/dout (N, D_k) -> layer k.backward -> ... -> layer 0.backward -> dL/dx (N, D_0)

    model.train() / model.eval() (PyTorch's words) set ``training`` on the model and on each
    layer: a random layer (dropout) draws at random only while training is True. tn.train
    trains in training mode; its measurements, validation and the doctor's probes run in
    eval mode.
    """

    training = True

    def __init__(self, *layers: Any) -> None:
        for i, layer in enumerate(layers):
            if isinstance(layer, type):
                raise TypeError(f"Sequential: argument {i} is the class {layer.__name__}, not a layer; "
                                f"call it first, e.g. {layer.__name__}(...)")
            if not (hasattr(layer, "forward") and hasattr(layer, "backward")):
                raise TypeError(f"Sequential: argument {i} ({layer!r}) has no forward/backward")
            if isinstance(layer, Sequential):
                # Its parameters would be hidden from SGD and the checker (they list a model's own
                # layers), and a layer shared through it would get a wrong gradient.
                raise TypeError(f"Sequential: argument {i} is itself a Sequential; nesting is not supported: "
                                f"unpack it, tn.Sequential(*inner.layers, ...)")
            first = next(j for j, other in enumerate(layers) if other is layer)
            if first != i:
                # A layer keeps one forward's cache and one set of gradients: a second use would
                # overwrite the first's, and its dW would hold only the last use's share. Where one
                # weight feeds two places, its gradient is the sum of both (gradients add at forks).
                raise ValueError(f"Sequential: {layer_name(layer)} is used twice (arguments {first} and {i}); a "
                                 f"layer keeps the cache and gradients of one use only, so its gradient would be "
                                 f"wrong. Use two layers; to share weights, add their gradients yourself (gradients "
                                 f"add at forks, docs/backprop.md)")
        self.layers = list(layers)

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(layer_name(layer) for layer in self.layers) + ")"

    def train(self, mode: bool = True) -> Sequential:
        """Training mode (mode=True) or eval mode (False), for the model and each layer; returns
        the model. A layer that cannot take the attribute (its class forbids it) is left as it is."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"Sequential.train: mode must be True or False, got {mode!r} (model.eval() for False)")
        self.training = bool(mode)
        for layer in self.layers:
            try:
                layer.training = bool(mode)
            except AttributeError:  # __slots__ or a read-only property: the layer has no mode to set
                pass
        return self

    def eval(self) -> Sequential:
        """Eval mode: every layer deterministic (a dropout passes its input on); returns the model."""
        return self.train(False)

    def forward(self, x: Any) -> Any:
        """x: (N, D_0) -> output of the last layer: (N, D_k). A layer that returns another dtype
        than it was given is named (checks.DtypeSlip): the layer after it would refuse the input."""
        for i, layer in enumerate(self.layers):
            out = layer.forward(x)
            if getattr(out, "dtype", None) != getattr(x, "dtype", None):  # named only then: no string per step
                check_same_dtype(layer_label(i, layer), "forward", x, out, SAME_DTYPE)
            x = out
        return x

    def backward(self, dout: Any) -> Any:
        """dout = dL/dout: (N, D_k) -> dL/dx: (N, D_0); each layer stores its own parameter gradients.

        With x_0 = x and x_i = f_i(x_{i-1}), the chain rule is dx_{i-1} = J_i^T dx_i
        (docs/backprop.md, section 4): each layer's backward, from the last to the first.
        """
        for i in reversed(range(len(self.layers))):
            given, dout = dout, self.layers[i].backward(dout)
            if getattr(dout, "dtype", None) != getattr(given, "dtype", None):
                check_same_dtype(layer_label(i, self.layers[i]), "backward", given, dout, SAME_DTYPE)
            if dout is None and i > 0:  # the layer below would be blamed for it: name this one
                raise TypeError(f"{layer_label(i, self.layers[i])}.backward returned None; it must return "
                                f"dL/dx for the layer before it (end it with `return dx`)")
        return dout


@contextmanager
def evaluating(model: Any) -> Iterator[Any]:
    """A Sequential in eval mode inside the block, and back in the mode it was in after. Any
    other model (a learner's own class, whose train() may mean something else) is used as it is."""
    if not isinstance(model, Sequential):
        yield model
        return
    was = bool(getattr(model, "training", True))
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


def parameters(model: Any) -> Iterator[tuple[str, Any, str]]:
    """(where, layer, name) for every parameter of a model or of a single layer.

    ``where`` names the layer for messages, e.g. "layers[0] Linear(2->500)".
    getattr(layer, name) is the parameter, getattr(layer, "d" + name) its gradient.
    Parameters are looked up anew on every call, so reassigned arrays count.
    """
    if not_a_layer(model):
        raise TypeError(f"parameters: model must be a layer or a tn.Sequential, got {type(model).__name__}; "
                        f"for a list of layers, build tn.Sequential(*layers)")
    for where, layer in labelled_layers(model):
        names = getattr(layer, "param_names", ())
        if not (isinstance(names, (tuple, list)) and all(isinstance(n, str) for n in names)):
            raise TypeError(f"{where}: param_names must be a tuple of attribute names, e.g. ('W', 'b'), or () "
                            f"for a layer without parameters; got {names!r}")
        for name in names:
            if not hasattr(layer, name):
                raise AttributeError(f"{where}: param_names lists {name!r}, but the layer has no attribute {name}")
            yield where, layer, name


def linear_layers(model: Any) -> list[Linear]:
    """A Sequential's Linear layers, in order. The first one's W says how many features the
    model takes, in which dtype and on which backend; the last one's, how many classes."""
    return [layer for layer in model.layers if isinstance(layer, Linear)]


def not_a_layer(obj: Any) -> bool:
    """None, a list or tuple of layers, a number or an array: what no layer or model is."""
    return obj is None or isinstance(obj, (list, tuple, int, float, complex, np.number, np.ndarray))


def layers_of(model: Any) -> list[Any]:
    """The layers of a Sequential in order, or [model] for a single layer."""
    return model.layers if isinstance(model, Sequential) else [model]


def layer_label(i: int, layer: Any) -> str:
    """How messages and histories name a model's i-th layer, e.g. "layers[0] Linear(2->500)"."""
    return f"layers[{i}] {layer_name(layer)}"


def labelled_layers(model: Any) -> list[tuple[str, Any]]:
    """(label, layer) for every layer of a Sequential, or (its name, it) for a single layer."""
    if isinstance(model, Sequential):
        return [(layer_label(i, layer), layer) for i, layer in enumerate(model.layers)]
    return [(layer_name(model), model)]


def layer_name(layer: Any) -> str:
    """The layer's repr, or its class name when it has no repr of its own (a learner's layer
    would otherwise show as <__main__.Tanh object at 0x7f...>)."""
    if type(layer).__repr__ is object.__repr__:
        return f"{type(layer).__name__}()"
    return repr(layer)


def create_model(
    sizes: Sequence[int],
    *,
    seed: Any = 0,
    dtype: str = "float32",
    backend: str | Backend | None = None,
    init: str = "torch",
) -> Sequential:
    """An MLP: Linear, ReLU, ..., Linear, e.g. sizes=[2, 500, 500, 2]. The last Linear's outputs
    are the logits. A model with one more layer, say a ReLU after the last Linear, is built
    as any user builds one: tn.Sequential(*model.layers, tn.ReLU()).

    All layers draw their weights, in order, from one NumPy Generator seeded with ``seed``,
    so the same seed gives the same model on every backend.
    """
    # An ordered sequence of sizes: a list, a tuple, a range, a 1-D array. A dict or a set has no
    # order to trust, and a string or bytes is not numbers (b'\x02\x02' would list [2, 2]).
    ordered = isinstance(sizes, (list, tuple, range)) or (isinstance(sizes, np.ndarray) and sizes.ndim == 1)
    listed = list(sizes) if ordered else []
    if len(listed) < 2 or not all(is_positive_int(s) for s in listed):
        raise ValueError(
            f"create_model: sizes must list at least two positive integers, as a list, tuple or range "
            f"(inputs, ..., classes), e.g. [2, 500, 500, 2]; got {sizes!r}"
        )
    sizes = listed
    rng = host_rng(seed, "create_model")
    layers: list[Any] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        try:
            layers.append(Linear(n_in, n_out, seed=rng, dtype=dtype, backend=backend, init=init))
        except MemoryError as e:  # named by the argument that asked for it, not by the layer alone
            raise MemoryError(f"create_model: sizes[{k}] = {n_in:,} and sizes[{k + 1}] = {n_out:,} ask for a layer "
                              f"too large: {e}; use smaller sizes") from None
        layers.append(ReLU())
    layers.pop()  # the last Linear's outputs are the logits: no ReLU after it
    return Sequential(*layers)
