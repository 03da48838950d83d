"""The training doctor: why a network does not train, with the numbers of that run and the fix.

    d = tn.diagnose(model, data, steps=2000, lr=0.01)   # trains exactly as tn.train would
    print(d)                                          # the report
    d.cause                                           # one id of CAUSES; "healthy" if nothing was found
    d.findings                                        # each with .id, .evidence, .fix; most important first
    d.history                                         # the run's History, as tn.train returns it

It checks before the first step what no loss curve shows (exam.py), watches the run at its
measurement steps (watch.py), and judges by thresholds kept in one place, each with its
reason (thresholds.py). docs/doctor.md describes every cause. ``python -m tinynet.doctor
SCRIPT.py [ARGS]`` runs a script unchanged and diagnoses each tn.train call it makes.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from .finding import CAUSES, Diagnosis, Finding
from .watch import Watcher

__all__ = ["CAUSES", "Diagnosis", "Finding", "Watcher", "diagnose"]


def diagnose(model: Any, data: Any, *, steps: int, opt: Any = None, loss_fn: Any = None, lr: float | None = None,
             batch_size: int | None = None, seed: int = 0, progress: bool | None = None,
             measure: Callable | None = None, **options: Any) -> Diagnosis:
    """Train ``model`` on ``data`` as tn.train(model, data, steps=..., ...) would, with the same
    arguments and the same losses, bit for bit, and say what stops it from training.

    Every argument is tn.train's; ``measure`` (your own hook) still reaches the History.
    Refuses what tn.train refuses, with the same messages. Ctrl-C returns the diagnosis so
    far, marked interrupted, as tn.train returns its History.
    """
    from ..training import train

    return watched(train, model, data, steps=steps, opt=opt, loss_fn=loss_fn, lr=lr, batch_size=batch_size,
                   seed=seed, progress=progress, measure=measure, **options)


def watched(train: Callable, model: Any, data: Any, *, opt: Any = None, lr: Any = None, loss_fn: Any = None,
            batch_size: Any = None, measure: Callable | None = None, **options: Any) -> Diagnosis:
    """``train`` (tn.train itself) run with a Watcher as its measure hook, then the diagnosis."""
    if "quiet" in options:
        raise TypeError("diagnose: quiet is not taken: the doctor's report says where a run diverged, so train's "
                        "one line about it is always left out; drop quiet=")
    step = getattr(opt, "lr", None) if opt is not None else lr
    # The lr the watcher quotes in its advice: a learner's optimizer may hold anything there (0 while frozen,
    # a schedule), which is the optimizer's business, not a reason to refuse the run.
    known = isinstance(step, (int, float)) and not isinstance(step, bool) and math.isfinite(step) and step > 0
    watch = Watcher(data, loss_fn=loss_fn, lr=step if known else None,
                    batch_size=batch_size, measure=measure)
    history = train(model, data, opt=opt, lr=lr, loss_fn=loss_fn, batch_size=batch_size, measure=watch, quiet=True,
                    **options)
    return watch.diagnosis(history)
