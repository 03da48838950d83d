"""One step on one example, written out as a textbook does it, in this run's numbers: the
forward values of each layer, the loss, dL/dz at the output, and for one chosen weight the
chain-rule product that gives its gradient. Every gradient shown is checked by centred
finite differences in float64 (tinynet.gradcheck.numerical_gradient), and its line says by
how much the two agree, or shows them disagree.

It works on a float64 copy of the model at its current weights (the run itself is left
alone): in float32 the rounding of the loss swamps a finite difference.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..gradcheck import EPS, H, NOISE_ULPS, TOL, numerical_gradient, relative_error
from ..layers import Linear
from ..losses import SoftmaxCrossEntropy
from .run import LabRun, one_example
from .view import finite

SHOWN = 6  # entries of a vector written out; the rest are "..."


def vector(values: np.ndarray) -> str:
    values = np.asarray(values, dtype=float).ravel()
    text = ", ".join(f"{v:.4g}" for v in values[:SHOWN])
    return f"[{text}{', ...' if values.size > SHOWN else ''}]"


def float64_copy(run: LabRun) -> tuple[list[Any], Any]:
    """The run's layers and loss, rebuilt in float64 on the host with the same weights."""
    layers = []
    for layer in run.model.layers:
        if isinstance(layer, Linear):
            copy = Linear(*layer.W.shape, dtype="float64", backend="numpy")
            copy.W = run.be.to_numpy(layer.W).astype(np.float64)  # (n_in, n_out)
            copy.b = run.be.to_numpy(layer.b).astype(np.float64)  # (n_out,)
            layers.append(copy)
        else:
            layers.append(type(layer)())  # an activation: no state beyond its last forward
    return layers, type(run.loss_fn)()


def checked(analytic: float, numeric: float, near_kink: bool, floor: float) -> dict[str, Any]:
    """Backprop's number against the centred difference, by tinynet.gradcheck's rule: relative
    error at most TOL, where the denominator is at least ``floor``, the size below which the
    loss's own rounding swamps the difference (see noise_floor)."""
    error = float(relative_error(np.array([analytic]), np.array([numeric]), floor)[0])
    return {"analytic": finite(analytic), "numeric": finite(numeric), "error": finite(error),
            "ok": bool(error <= TOL), "kink": bool(near_kink)}


def noise_floor(loss: float, output: np.ndarray) -> float:
    """tinynet.gradcheck's floor for a loss: L is computed from logits of size max|z| and a
    log-sum-exp, so it carries a rounding of about u (1 + |L| + max|z|) however small it is;
    over 2h that is a difference of NOISE_ULPS u S / h, and a gradient below that / TOL cannot
    be checked to TOL relative (a well-fit example's loss, ~1e-8, is there)."""
    scale = 1.0 + abs(loss) + float(np.max(np.abs(output)))
    return max(EPS, NOISE_ULPS * float(np.finfo(np.float64).eps) * scale / (H * TOL))


def largest_gradient(layers: list[Any], k: int, x: np.ndarray, y: np.ndarray, loss_fn: Any) -> tuple[int, int]:
    """(i, j) of layer k's W whose gradient on this one example is largest in size."""
    one_example(layers, loss_fn, x.astype(np.float64), y)  # leaves each Linear's dW for this example
    i, j = np.unravel_index(int(np.argmax(np.abs(layers[k].dW))), layers[k].dW.shape)
    return int(i), int(j)


def worked_step(run: LabRun, example: int, layer: int, i: int | None = None, j: int | None = None) -> dict[str, Any]:
    """Example ``example`` of the training set; the weight W[i, j] of the model's
    ``layer``-th Linear layer (0 the first), by default the one whose gradient on this example
    is largest. Returns the lines to show, each with its check."""
    layers, loss_fn = float64_copy(run)
    linears = [k for k, lay in enumerate(layers) if isinstance(lay, Linear)]
    if not (0 <= example < len(run.data.y_train)):
        raise ValueError(f"example: one of 0 to {len(run.data.y_train) - 1}, the training examples; got {example}")
    if not 0 <= layer < len(linears):
        raise ValueError(f"layer: one of 0 to {len(linears) - 1}, the model's Linear layers; got {layer}")
    k = linears[layer]
    W = layers[k].W
    if i is None or j is None:
        i, j = largest_gradient(layers, k, run.data.x_train[example:example + 1], run.data.y_train[example:example + 1],
                                loss_fn)
    if not (0 <= i < W.shape[0] and 0 <= j < W.shape[1]):
        raise ValueError(f"unit: W of layer {layer} is {W.shape[0]} x {W.shape[1]}; got W[{i}, {j}]")
    x = run.data.x_train[example:example + 1].astype(np.float64)  # (1, D)
    y = run.data.y_train[example:example + 1]  # (1,)
    lines: list[dict[str, Any]] = [{"text": f"example {example}: x = {vector(x)}, class y = {int(y[0])}"}]

    # Forward, layer by layer; backward from the loss (shown below, after the loss).
    outs, loss, grads, _ = one_example(layers, loss_fn, x, y)
    loss = float(loss)
    act = layers[k + 1] if k + 1 < len(layers) and not isinstance(layers[k + 1], Linear) else None
    # The activation's own derivative at this example, f'(z), elementwise: its backward of a gradient of ones.
    slope = None if act is None else act.backward(np.ones_like(outs[k + 1]))
    ins = [x] + outs[:-1]  # what each layer received
    for n, (lay, out) in enumerate(zip(layers, outs)):
        if isinstance(lay, Linear):
            name = f"z{linears.index(n) + 1}"
            lines.append({"text": f"{name} = a @ W{linears.index(n) + 1} + b{linears.index(n) + 1} = {vector(out)}"})
        else:
            lines.append({"text": f"{type(lay).__name__.lower()}(previous) = {vector(out)}"})
    floor = noise_floor(loss, outs[-1])
    if isinstance(loss_fn, SoftmaxCrossEntropy):
        shifted = np.exp(outs[-1] - outs[-1].max())
        p = shifted / shifted.sum()
        own = p[0, y[0]]  # near 1 on a well-fit example: "-log 1" would read as a loss of 0
        said = f"{own:.4g}" if own < 0.999 else f"(1 - {1 - own:.3g})"
        lines.append({"text": f"p = softmax(output) = {vector(p)}; L = -log p[y] = -log {said} = {loss:.6g}"})
    else:
        lines.append({"text": f"L = {type(loss_fn).__name__}(output, y) = {loss:.6g} (the run's own loss)"})

    dz = grads[-1]  # (1, C): dL/d(output), from the loss's backward

    def loss_from(n: int, a: np.ndarray) -> float:  # L with the output of layer n replaced by a
        out = a
        for lay in layers[n + 1:]:
            out = lay.forward(out)
        return float(loss_fn.forward(out, y))

    last = outs[-1].copy()
    numeric = numerical_gradient(lambda: loss_from(len(layers) - 1, last), last)
    plain = isinstance(loss_fn, SoftmaxCrossEntropy) and len(layers) - 1 == linears[-1]  # logits straight to it
    said = "p - onehot" if plain else "dL/d(output)"
    for c in range(dz.shape[1]):
        lines.append({"text": f"dL/d(output)[{c}] = {said} = {dz[0, c]:.6g}",
                      "check": checked(float(dz[0, c]), float(numeric[0, c]), False, floor)})

    # The chosen weight: dL/dW[i, j] = a_i * dL/dz_j, a the layer's input, z its output.
    a, g = ins[k], grads[k]
    z_name, w_name = f"z{layer + 1}", f"W{layer + 1}"
    zk = outs[k].copy()
    numeric_z = numerical_gradient(lambda: loss_from(k, zk), zk, indices=[(0, j)])
    if act is not None:  # an activation after it: one more link, dL/dz = dL/dh x f'(z)
        text = (f"dL/d{z_name}[{j}] = dL/dh[{j}] x {type(act).__name__.lower()}'({z_name}[{j}]) = "
                f"{grads[k + 1][0, j]:.6g} x {slope[0, j]:.4g} = {g[0, j]:.6g}  (h[{j}] = {outs[k + 1][0, j]:.4g})")
        lines.append({"text": text,
                      "check": checked(float(g[0, j]), float(numeric_z[0, j]), abs(zk[0, j]) < H, floor)})
    else:
        lines.append({"text": f"dL/d{z_name}[{j}] = {g[0, j]:.6g}",
                      "check": checked(float(g[0, j]), float(numeric_z[0, j]), False, floor)})
    dW = layers[k].dW[i, j]
    product = a[0, i] * g[0, j]
    weights = layers[k].W
    numeric_w = numerical_gradient(lambda: loss_from(-1, x), weights, indices=[(i, j)])
    # Near a kink: some hidden pre-activation within h of 0, where a difference straddles the kink.
    near = bool(np.any([np.any(np.abs(o) < H) for n, o in enumerate(outs) if isinstance(layers[n], Linear)
                        and n + 1 < len(layers) and not isinstance(layers[n + 1], Linear)]))
    lines.append({"text": f"dL/d{w_name}[{i}, {j}] = a[{i}] x dL/d{z_name}[{j}] = {a[0, i]:.6g} x {g[0, j]:.6g} = "
                          f"{product:.6g}  (backward's dW: {dW:.6g})",
                  "check": checked(float(dW), float(numeric_w[i, j]), near, floor)})
    return {"example": example, "layer": layer, "i": i, "j": j, "loss": finite(loss), "lines": lines,
            "all_ok": all(line["check"]["ok"] for line in lines if "check" in line)}
