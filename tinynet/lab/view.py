"""What the page shows of a run, as plain JSON-ready numbers, each message of bounded size
whatever the model and however long the run.

- the curves (training loss per step, validation loss, accuracy) are thinned as they grow:
  at most MAX_POINTS points each, every 2nd, 4th, ... step kept as the run goes on, so a run
  of a million steps sends and keeps no more than one of ten thousand;
- the network: each unit's activation on one chosen example and its gradient dL/d(unit),
  each edge's weight; a layer wider than the diagram (DIAGRAM_WIDTH units) is summarised by
  histograms of HISTOGRAM_BINS bins;
- the decision boundary for 2-D data on a GRID x GRID grid; for images in its place (digits)
  the first layer's weights of TILES units as images, the validation set's confusion matrix
  and up to WRONG misclassified examples (tinynet/images.py draws the same for a notebook).

Read between steps, on host copies (be.to_numpy): a forward and backward pass on the chosen
example, which overwrite what the layers kept of the last step. The next step's forward
replaces them anyway; no parameter is touched.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..images import confusion_matrix
from ..layers import Linear
from ..metrics import grid_around, predict, predict_grid
from ..model import evaluating, linear_layers
from .run import LabRun, one_example

MAX_POINTS = 1000  # per curve
DIAGRAM_WIDTH = 16  # the most units a column of the network diagram draws
HISTOGRAM_BINS = 20
GRID = 32  # the decision boundary's grid, per side
TILES = 16  # first-layer units drawn as images
WRONG = 8  # misclassified examples shown


class Thinned:
    """A curve of (step, value) that keeps at most MAX_POINTS points: when full, every other
    point is dropped and from then on every other new one is skipped (stride 1, 2, 4, ...)."""

    def __init__(self, limit: int = MAX_POINTS) -> None:
        self.limit, self.stride = limit, 1
        self.steps: list[int] = []
        self.values: list[float] = []

    def add(self, step: int, value: float) -> None:
        if step % self.stride:
            return
        self.steps.append(step)
        self.values.append(value)
        if len(self.steps) > self.limit:
            self.stride *= 2
            keep = [i for i, s in enumerate(self.steps) if s % self.stride == 0]
            self.steps = [self.steps[i] for i in keep]
            self.values = [self.values[i] for i in keep]

    def as_dict(self) -> dict[str, list]:
        return {"x": list(self.steps), "y": [finite(v) for v in self.values]}


def finite(value: float) -> float | None:
    """JSON has no NaN or infinity: such a value is sent as null (a gap in the chart)."""
    return float(value) if np.isfinite(value) else None


def histogram(values: np.ndarray) -> dict[str, list]:
    counts, edges = np.histogram(values[np.isfinite(values)], bins=HISTOGRAM_BINS)
    return {"counts": counts.tolist(), "edges": [float(e) for e in edges]}


def summary(values: np.ndarray) -> dict[str, Any]:
    """A column's or an edge set's numbers: themselves where the diagram can draw them, else a histogram."""
    values = np.asarray(values, dtype=float)
    small = values.shape[-1] <= DIAGRAM_WIDTH and (values.ndim == 1 or values.shape[0] <= DIAGRAM_WIDTH)
    if small:
        return {"values": np.where(np.isfinite(values), values, 0.0).tolist()}
    return {"histogram": histogram(values.ravel())}


def network(run: LabRun, example: int) -> dict[str, Any]:
    """The network on training example ``example``: every column of units (the inputs, each
    hidden layer after its activation, the model's output) with its activations and its
    gradients dL/d(unit) for that example's loss alone, and the weights between columns.

    The units' gradients are the layers' own backward passes, taken through the run's loss
    on the one example: dL/d(out of layer k) is what layer k+1's backward returned.
    """
    be, layers = run.be, run.model.layers
    x, labels = run.train_set
    x, labels = x[example:example + 1], labels[example:example + 1]  # (1, D), (1,)
    outs, _, grads, input_grad = one_example(layers, run.loss_fn, x, labels)
    columns = [{"name": "inputs x", "act": summary(be.to_numpy(x)[0]), "grad": summary(be.to_numpy(input_grad)[0])}]
    weights = []
    for k, layer in enumerate(layers):
        if isinstance(layer, Linear):
            weights.append(summary(be.to_numpy(layer.W)))  # (n_in, n_out): edge i -> j
        ends_column = k == len(layers) - 1 or isinstance(layers[k + 1], Linear)
        if ends_column:
            name = "output" if k == len(layers) - 1 else f"hidden {len(columns)}"
            columns.append({"name": name, "width": int(outs[k].shape[1]), "after": type(layer).__name__,
                            "act": summary(be.to_numpy(outs[k])[0]), "grad": summary(be.to_numpy(grads[k])[0])})
    columns[0]["width"] = int(x.shape[1])
    return {"example": example, "label": int(be.to_numpy(labels)[0]), "columns": columns, "weights": weights}


def boundary(run: LabRun) -> dict[str, Any]:
    """The predicted class over a grid around the training points (2-D data), or, for images,
    what shows a learner what the net sees (``pictures``)."""
    if run.data.image_shape is not None:
        return pictures(run)
    xs, ys = grid_around(run.data.x_train, GRID)
    return {"kind": "boundary", "x": xs.tolist(), "y": ys.tolist(),
            "z": predict_grid(run.model, run.be, xs, ys).tolist()}


def pictures(run: LabRun) -> dict[str, Any]:
    """Image data: TILES first-layer units' weights (each a list of D numbers, an image read row
    by row), the confusion matrix (C x C counts, rows the true class) and up to WRONG examples
    got wrong, on the validation set (the training set where there is none)."""
    data, first = run.data, linear_layers(run.model)[0]
    x, y = (data.x_val, data.y_val) if len(data.y_val) else (data.x_train, data.y_train)
    with np.errstate(all="ignore"):  # a diverged run's NaN logits: argmax still gives a class
        guessed = predict(run.model, run.be, x)
    W = run.be.to_numpy(first.W)  # (D, H)
    wrong = np.flatnonzero(guessed != y)[:WRONG]
    return {"kind": "images", "shape": list(data.image_shape), "set": "validation" if len(data.y_val) else "training",
            "weights": [[finite(v) for v in W[:, j]] for j in range(min(TILES, W.shape[1]))],
            "confusion": confusion_matrix(y, guessed, data.n_classes).tolist(),
            "wrong": [{"pixels": x[i].tolist(), "guess": int(guessed[i]), "true": int(y[i])} for i in wrong],
            "right": int(np.sum(guessed == y)), "of": int(len(y))}


def points(run: LabRun) -> dict[str, list] | None:
    """The training points and labels, for the boundary's scatter (sent once per set-up); None
    for images, which are not points in a plane."""
    if run.data.n_features != 2:
        return None
    return {"x": run.data.x_train[:, 0].tolist(), "y": run.data.x_train[:, 1].tolist(),
            "label": run.data.y_train.tolist()}


class Viewer:
    """Follows one run: the curves thinned as they grow, and what each update sends."""

    def __init__(self, run: LabRun) -> None:
        self.run = run
        self.loss = Thinned()
        self.val_loss = Thinned()

    def curves(self) -> dict[str, Any]:
        """The curves, brought up to date: every new training loss, and the validation loss now."""
        h, run = self.run.history, self.run
        for step, value in run.fresh:
            self.loss.add(step, value)
        run.fresh.clear()
        if h.loss and len(run.data.y_val):
            with np.errstate(all="ignore"):
                with evaluating(run.model):
                    value = float(run.loss_fn.forward(run.model.forward(run.val_set[0]), run.val_set[1]))
            self.val_loss.add(h.steps_taken - 1, value)
        w = run.watch
        steps = h.eval_steps
        return {
            "loss": self.loss.as_dict(), "val_loss": self.val_loss.as_dict(),
            "train_acc": {"x": steps, "y": [finite(v) for v in h.train_acc]},
            "val_acc": {"x": steps, "y": [finite(v) for v in h.val_acc]},
            "grad_norm": {name: {"x": steps, "y": [finite(v) for v in values]} for name, values in h.grad_norm.items()},
            # The update-to-weight ratio: |W_now - W_then| / |W_now| since the last measurement (one
            # fewer than the measurements), per step between them (the last interval may be shorter)
            "moved": {name: {"x": steps[1:len(values) + 1],
                             "y": [finite(v / (b - a)) for v, a, b in zip(values, steps, steps[1:])]}
                      for name, values in w.moved.items()},
            "dead": {name: {"x": steps, "y": values} for name, values in w.dead.items()},
        }

    def status(self) -> dict[str, Any]:
        run, h = self.run, self.run.history
        loss = h.loss[-1] if h.loss else None
        text = f"step {run.steps_taken} of {run.setup.steps}"
        if loss is not None:
            text += f", loss {loss:.4g}"
        if h.diverged_at is not None:
            text += f"; diverged at step {h.diverged_at}"
        elif run.finished:
            text += "; finished"
        return {"step": run.steps_taken, "steps": run.setup.steps, "loss": None if loss is None else finite(loss),
                "finished": run.finished, "diverged_at": h.diverged_at, "text": text}
