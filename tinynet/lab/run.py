"""One lab run: built from a Setup, stepped when the page asks, read by the page between steps.

Its step is tn.train's, call for call: data -> model -> loss -> backward -> (measured at
train's measurement steps, the doctor's watcher among the measures) -> optimizer, with the
data, the model, the mini-batch order and the divergence rule built as train builds them. So
its losses, its History and the doctor's report are what tn.train and tn.diagnose give for
the same set-up, bit for bit (tests/test_lab.py runs the page's "as Python" script and
compares). What differs is only who holds the loop: the page steps it, pauses it, resumes it.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from ..backend import host_rng
from ..breakages import with_sigmoids
from ..data import Dataset, make_dataset
from ..doctor import Watcher
from ..losses import SoftmaxCrossEntropy
from ..metrics import LossSummary, measured
from ..model import create_model
from ..optim import SGD
from ..training import History, batches, diverged, on_device
from .setup import Setup


KEEP = 10_000  # the most per-step losses a run's History keeps: a run of a million steps holds no more


class ThinnedHistory(History):
    """tn.train's History, holding at most KEEP per-step losses: beyond that, every other one
    is dropped, and from then on every 2nd, 4th, ... step's is kept (``loss_steps`` says which).
    The first and the latest loss are always kept, and what the doctor reads of the rest (how
    many, how many rose, the lowest) is counted as they come, exactly: its report is the one
    tn.diagnose gives. A run of at most KEEP steps keeps every loss, as tn.train does."""

    def __init__(self) -> None:
        super().__init__()
        self.summary = LossSummary()
        self.loss_steps: list[int] = []  # the step of each loss kept
        self.stride = 1

    @property
    def steps_taken(self) -> int:
        return self.summary.count

    def loss_summary(self) -> LossSummary:
        return self.summary

    def add_loss(self, loss: float) -> None:
        step = self.summary.count
        self.summary.add(loss)
        if self.loss_steps and self.loss_steps[-1] % self.stride:  # the latest, kept only as the latest
            self.loss.pop()
            self.loss_steps.pop()
        self.loss.append(loss)
        self.loss_steps.append(step)
        if len(self.loss) > KEEP:
            self.stride *= 2
            keep = [i for i, s in enumerate(self.loss_steps) if s % self.stride == 0 or i == len(self.loss_steps) - 1]
            self.loss = [self.loss[i] for i in keep]
            self.loss_steps = [self.loss_steps[i] for i in keep]


def one_example(layers: list[Any], loss_fn: Any, x: Any, y: Any) -> tuple[list[Any], Any, list[Any], Any]:
    """Forward and backward through the layers' own passes, on x (1, D) and y (1,): each
    layer's output, the loss, dL/d(each layer's output) (what the layer after it passed back;
    the last one's from the loss) and dL/dx. The page's network view and its worked step both
    read a step this way; the layers keep what it leaves in them until the next step's forward."""
    outs, out = [], x
    for layer in layers:
        out = layer.forward(out)
        outs.append(out)
    loss = loss_fn.forward(out, y)
    grads: list[Any] = [None] * len(layers)
    d = loss_fn.backward(1.0)  # dL/d(output), (1, C)
    for k in range(len(layers) - 1, -1, -1):
        grads[k] = d  # dL/d(out of layer k)
        d = layers[k].backward(d)
    return outs, loss, grads, d


class LabRun:
    """The model, data and pieces of one Setup, and its loop, a step at a time."""

    def __init__(self, setup: Setup) -> None:
        s = self.setup = setup
        data = make_dataset(s.dataset, s.examples, seed=s.seed, val_fraction=s.val_fraction)
        model = create_model(list(s.run_layers), seed=s.seed, init=s.init)
        if s.activation == "sigmoid":
            model = with_sigmoids(model)
        options: dict[str, Any] = {}
        if s.breakage is not None:
            model, data, options = s.breakage.apply(model, data, s.seed)
        self.model: Any = model.train()  # as train: the steps in training mode, the measurements in eval mode
        self.data: Dataset = data
        own_loss = options.get("loss_fn")  # a breakage's loss, as the learner wrote it; None: tinynet's
        # train's default loss: the labels were checked once, on the host, by make_dataset
        self.loss_fn = own_loss if own_loss is not None else SoftmaxCrossEntropy(validate_labels=False)
        self.opt = SGD(model, lr=s.run_lr, momentum=s.momentum)
        self.watch = Watcher(data, loss_fn=own_loss, lr=s.run_lr, batch_size=s.batch)  # as tn.diagnose builds it
        self.be, self.train_set, self.val_set = on_device(model, data)  # as train puts them there
        self.eval_every = max(1, s.steps // 200)  # train's default
        self.order = batches(*self.train_set, s.batch, host_rng(s.seed, "train"), self.be)
        self.history = ThinnedHistory()
        # (step, loss) not yet read by the page; bounded, should no page read them for a long time
        self.fresh: deque[tuple[int, float]] = deque(maxlen=KEEP)
        self.steps_taken = 0  # steps whose update was made (a diverged run takes a few past its last loss)
        self.stopped = False  # diverged: stopped as train stops, at the end of that measurement interval

    @property
    def finished(self) -> bool:
        return self.stopped or self.steps_taken >= self.setup.steps

    def advance(self, n: int) -> int:
        """Take up to ``n`` steps (fewer once the run has finished); returns how many were taken."""
        model, loss_fn, h, last = self.model, self.loss_fn, self.history, self.setup.steps - 1
        taken = 0
        with np.errstate(all="ignore"):  # a diverging run's overflow is its symptom, recorded as diverged_at
            while taken < n and not self.finished:
                step = self.steps_taken
                x, labels = next(self.order)
                logits = model.forward(x)  # (B, C)
                loss = loss_fn.forward(logits, labels)  # (): the mean loss over the batch
                model.backward(loss_fn.backward(1.0))  # from dL/dL = 1, every layer stores its gradients
                if step % self.eval_every == 0 or step == last:  # measured before the update, as train does
                    h.record(step, measured(model, self.be, self.train_set, self.val_set),
                             self.watch(model, *self.train_set))
                self.opt.step()  # theta <- theta - lr * dL/dtheta
                self.steps_taken += 1
                taken += 1
                self._keep(float(loss))
                if ((step + 1) % self.eval_every == 0 or step == last) and h.diverged_at is not None:
                    self.stopped = True  # train looks at its losses once per interval, and stops there
        return taken

    def _keep(self, loss: float) -> None:
        """A step's loss into the history, until the run has diverged (train keeps no loss past that step)."""
        h = self.history
        if h.diverged_at is not None:
            return
        h.add_loss(loss)
        self.fresh.append((h.steps_taken - 1, loss))
        if diverged(loss, h.loss[0]):
            h.diverged_at = h.steps_taken - 1

    def diagnosis(self) -> Any:
        """The doctor's report of the run so far; at its end, the report tn.diagnose gives."""
        return self.watch.diagnosis(self.history) if self.history.loss else None
