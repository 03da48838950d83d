"""What the four experiment scripts share: flags, verdict thresholds, claims, safe output.

Thresholds that turn measured numbers into verdicts are stated here, once, and quoted in
docs/experiments_log.md. They were fixed before the full runs, from what the log's words
mean, and are never adjusted to obtain a verdict.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys
import tempfile
from typing import Any, Callable, Sequence

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import tinynet as tn  # noqa: E402
from tinynet.data import DATASETS  # noqa: E402
from tinynet.train import predict_grid, train  # noqa: E402

# --- Thresholds: the meaning of the log's words, in numbers ---------------------------------
LN2_TOLERANCE = 0.05  # "loss at init close to ln 2": |loss - ln 2| <= 0.05
NEAR_ZERO_LOSS = 0.05  # "near-zero training loss": final loss <= 0.05
CONVERGED_LOSS = 0.10  # "converged" (Part 4 and the width sweep): training loss <= 0.10
IMMEDIATE_STEPS = 100  # "diverged immediately": within the first 100 steps
STOPPED_FRACTION = 0.10  # "stopped learning": loss fell by less than 10% of its start
NEAR_BASELINE = 0.05  # "close to the baseline": within 5 accuracy points of the majority class
TIME_GROWTH = 2.0  # "time per step increased significantly": >= 2x from N = 100 to N = 1000

DEFAULT_DATASET = "xor"


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag ends with one line (no usage block) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parser(description: str, *, default_steps: int) -> argparse.ArgumentParser:
    """The flags every script takes."""
    p = Parser(description=description)
    p.add_argument("--backend", default=None, help="numpy (default), cupy or strict")
    p.add_argument("--seed", type=int, default=0, help="seed of data and weights (default 0)")
    p.add_argument("--out", type=pathlib.Path, default=None, help="output folder (default runs/<script>/)")
    p.add_argument("--dataset", default=DEFAULT_DATASET,
                   help=f"one of {', '.join(DATASETS)} (default {DEFAULT_DATASET}; see docs/experiments_log.md)")
    p.add_argument("--steps", type=int, default=default_steps, help=f"training steps (default {default_steps})")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate of the healthy run (default 0.01)")
    p.add_argument("--quick", action="store_true", help="a CI-sized run of the same code (seconds)")
    return p


def parse(p: argparse.ArgumentParser, argv: Sequence[str] | None, script: str) -> argparse.Namespace:
    """Parse and validate; any bad flag ends with one line and exit code 2 (argparse's error)."""
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error(f"--steps must be a positive integer, got {args.steps}")
    if args.seed < 0:
        p.error(f"--seed must be a non-negative integer, got {args.seed}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        p.error(f"--lr must be a positive number, got {args.lr}")
    if args.dataset not in DATASETS:
        p.error(f"unknown --dataset {args.dataset!r}; choose one of: {', '.join(DATASETS)}")
    try:
        args.be = tn.get_backend(args.backend)
    except (ValueError, tn.BackendUnavailableError) as e:
        p.error(str(e))
    args.out = args.out or ROOT / "runs" / script
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=args.out):
            pass
    except OSError as e:
        p.error(f"cannot write to --out {args.out}: {e.strerror or e}")
    return args


def claim(id: str, log_says: str, measured: dict[str, Any], reproduced: bool, explanation: str) -> dict[str, Any]:
    return {"id": id, "log_says": log_says, "measured": measured, "reproduced": bool(reproduced),
            "explanation": explanation}


def clean(obj: Any, digits: int | None = None) -> Any:
    """JSON-safe: non-finite floats become the strings "inf", "-inf", "nan".

    Long series (over 100 values, e.g. a loss per step) keep 6 significant digits, which
    keeps a 20,000-step history small; every other number is kept exactly.
    """
    if isinstance(obj, float):
        if not math.isfinite(obj):
            return str(obj)
        return float(f"{obj:.{digits}g}") if digits else obj
    if isinstance(obj, dict):
        return {str(k): clean(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v, 6 if len(obj) > 100 else digits) for v in obj]
    return obj


def write_json(path: pathlib.Path, obj: Any) -> None:
    """Atomically: written to a temporary file in the same folder, then renamed over."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(clean(obj), f, separators=(",", ":"), allow_nan=False)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for everyone to read
    os.replace(tmp, path)


def write_results(args: argparse.Namespace, script: str, config: dict[str, Any], runs: dict[str, Any],
                  claims: list[dict[str, Any]], figures: list[str], interrupted: bool = False,
                  extra: dict[str, Any] | None = None) -> pathlib.Path:
    config = {"script": script, "backend": args.be.name, "seed": args.seed, "dataset": args.dataset,
              "steps": args.steps, "quick": args.quick, **config}
    results = {"config": config, "interrupted": interrupted, "runs": runs, "claims": claims,
               "figures": figures, **(extra or {})}
    path = args.out / "results.json"
    write_json(path, results)
    return path


def print_claims(title: str, claims: list[dict[str, Any]], interrupted: bool = False) -> None:
    print(f"\n{title}" + ("  [INTERRUPTED: partial results]" if interrupted else ""))
    if not claims:
        print("  no claim could be judged: stopped before the runs it rests on finished")
        return
    width = max(len(c["id"]) for c in claims)
    for c in claims:
        verdict = "reproduced" if c["reproduced"] else "NOT reproduced"
        print(f"  {c['id']:<{width}}  {verdict:<15} {summary(c['measured'])}")


def summary(measured: dict[str, Any]) -> str:
    """The measured numbers on one line (dicts inline, floats to 4 significant digits)."""
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {fmt(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return str(v)

    return ", ".join(f"{k}={fmt(v)}" for k, v in measured.items())


def run_main(main: Callable[[], int]) -> None:
    """Exit with main's code; Ctrl-C outside training still exits cleanly (130)."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)


# --- Verdicts: pure functions of measured numbers (unit-tested on synthetic histories) -------
def loss_close_to_ln2(loss: float) -> bool:
    return abs(loss - math.log(2)) <= LN2_TOLERANCE


def near_zero(final_loss: float) -> bool:
    return math.isfinite(final_loss) and final_loss <= NEAR_ZERO_LOSS


def diverged_immediately(diverged_at: int | None) -> bool:
    return diverged_at is not None and diverged_at <= IMMEDIATE_STEPS


def stable(diverged_at: int | None, losses: Sequence[float]) -> bool:
    """No divergence, and the loss ended lower than it started."""
    return diverged_at is None and len(losses) > 1 and losses[-1] < losses[0]


def stopped_learning(losses: Sequence[float]) -> bool:
    """The loss fell by less than STOPPED_FRACTION of its start (or rose)."""
    return losses[-1] > (1.0 - STOPPED_FRACTION) * losses[0]


def first_step_below(losses: Sequence[float], threshold: float) -> int | None:
    for step, loss in enumerate(losses):
        if loss <= threshold:
            return step
    return None


def wider_is_faster(steps_by_width: dict[int, int | None]) -> bool:
    """Each wider model reaches the threshold in fewer steps (None: never reached)."""
    widths = sorted(steps_by_width)
    reached = [steps_by_width[w] if steps_by_width[w] is not None else math.inf for w in widths]
    return all(b < a for a, b in zip(reached, reached[1:])) and reached[-1] < math.inf


def converged(final_loss: float) -> bool:
    return math.isfinite(final_loss) and final_loss <= CONVERGED_LOSS


def near_baseline(val_acc: float, baseline: float) -> bool:
    return abs(val_acc - baseline) <= NEAR_BASELINE


def time_grows(ms_small: float, ms_large: float) -> bool:
    return ms_large >= TIME_GROWTH * ms_small


# --- Running one configuration ----------------------------------------------------------------
MODEL = [2, 500, 500, 2]  # the log's create_model()


def train_run(args: argparse.Namespace, data: Any, *, lr: float, steps: int, sizes: Sequence[int] = MODEL,
              relu_last: bool = False, init: str = "torch", batch_size: int | None = None,
              desc: str = "") -> tuple[Any, Any]:
    """One training run with the script's backend and seed; returns (history, model)."""
    model = tn.create_model(list(sizes), seed=args.seed, backend=args.be, relu_last=relu_last, init=init)
    history = train(model, data, lr=lr, steps=steps, batch_size=batch_size, seed=args.seed,
                    backend=args.be, desc=desc)
    return history, model


def measured(histories: dict[str, Any]) -> dict[str, Any]:
    """The runs with at least one measurement. Ctrl-C can stop a run before its first; such a
    run has nothing to judge, plot or print, and is left out (the results say interrupted)."""
    return {label: h for label, h in histories.items() if h.eval_steps}


def grid(data: Any, resolution: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates (xs, ys) covering the training points, with a margin."""
    lo, hi = data.x_train.min(axis=0) - 0.25, data.x_train.max(axis=0) + 0.25
    return np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)


def boundary(model: Any, args: argparse.Namespace, xy: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The model's predicted class at every grid point: (len(ys), len(xs))."""
    return predict_grid(model, args.be, *xy)
