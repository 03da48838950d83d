"""A script that trains with its own loop (model.forward, loss_fn.forward, backward,
opt.step, as the README shows) makes no tn.train call for the doctor to watch. What it can
still see, without changing a number: each tinynet SGD step, and the loss tinynet's
SoftmaxCrossEntropy computed last before it (the step's training loss). From those it says
in one line whether the run diverged, and how to get the full diagnosis.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator

from ..losses import SoftmaxCrossEntropy
from ..optim import SGD
from ..training import DIVERGENCE_FACTOR


class OwnLoop:
    """The steps of tinynet's SGD and the losses before them, while ``watching``."""

    def __init__(self) -> None:
        self.losses: list[float] = []  # the training loss of each step, where tinynet's loss computed it
        self.steps = 0
        self.lr: float | None = None
        self._latest: Any = None

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        forward, step = SoftmaxCrossEntropy.forward, SGD.step
        recorder = self

        def recorded_forward(loss_fn: Any, logits: Any, labels: Any) -> Any:
            recorder._latest = loss = forward(loss_fn, logits, labels)
            return loss

        def recorded_step(opt: Any) -> None:
            recorder.steps += 1
            recorder.lr = opt.lr
            if recorder._latest is not None:
                recorder.losses.append(float(recorder._latest))  # one number to the host: the step's loss
                recorder._latest = None
            step(opt)

        SoftmaxCrossEntropy.forward, SGD.step = recorded_forward, recorded_step
        try:
            yield
        finally:
            SoftmaxCrossEntropy.forward, SGD.step = forward, step

    def report(self) -> str:
        """One line: what the loop did, as far as the doctor saw it, and how to get a diagnosis."""
        how = ("for the full diagnosis, train with tn.train(model, data, steps=..., lr=...) (it takes the same "
               "model, loss and optimizer), or call tn.diagnose the same way")
        if not self.steps:
            return (f"tinynet doctor: the script made no tn.train call and took no tinynet SGD step; nothing to "
                    f"diagnose: {how}")
        said = f"the script trained with its own loop, not tn.train ({self.steps} SGD steps)"
        if not self.losses:
            return f"tinynet doctor: {said}, with a loss of its own the doctor cannot read: {how}"
        first = self.losses[0]
        diverged = next((i for i, loss in enumerate(self.losses)
                         if not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * first), None)
        if diverged is None:
            return (f"tinynet doctor: {said}; its loss went from {first:.4g} to {self.losses[-1]:.4g}; nothing "
                    f"more can be said from outside the loop: {how}")
        lr = f" (now {self.lr:g})" if self.lr else ""
        return (f"tinynet doctor: {said}; its loss went from {first:.4g} to {self.losses[diverged]:.4g}: it "
                f"diverged at step {diverged} (not finite, or over {DIVERGENCE_FACTOR:g} times its start): "
                f"lr_too_high, most likely: lower the learning rate{lr} by factors of 10; {how}")
