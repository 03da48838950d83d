"""What the four experiment scripts share: flags, seeds, verdict thresholds, claims, safe output.

Thresholds that turn measured numbers into verdicts are stated here, once, and quoted in
docs/experiments_log.md. They were fixed before the full runs, from what the log's words
mean, and are never adjusted to obtain a verdict.

Every claim is judged on each seed separately, then across seeds by one rule
(``overall_verdict``, quoted in the log): a verdict about training that rests on one seed is
an anecdote, since a run's fate can hang on its initial weights.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pathlib
import signal
import sys
import tempfile
from dataclasses import asdict
from typing import Any, Callable, NamedTuple, Sequence

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for `experiments` itself; tinynet is the installed package
    sys.path.append(str(ROOT))

# Compiled modules that NumPy and Matplotlib would otherwise load lazily, in the middle of a
# run: loaded now, while a Ctrl-C still ends the script at once (experiments/ctrl_c.py). Later,
# a KeyboardInterrupt raised inside a compiled module's initialisation would surface as
# "ImportError: initialization failed" instead of an interrupted run.
import contourpy  # noqa: E402, F401 (Matplotlib's contour plots)
import matplotlib.backends.backend_agg  # noqa: E402, F401 (every PNG)
import numpy.random  # noqa: E402, F401

import tinynet as tn  # noqa: E402
from experiments.runner import MODEL, Outcome, Run, cores  # noqa: E402, F401 (MODEL: for the scripts)
from tinynet import plots  # noqa: E402
from tinynet.cli import Parser  # noqa: E402
from tinynet.data import DATASETS  # noqa: E402

# --- Thresholds: the meaning of the log's words, in numbers ---------------------------------
LN2_TOLERANCE = 0.05  # "loss at init close to ln 2": |loss - ln 2| <= 0.05
NEAR_ZERO_LOSS = 0.05  # "near-zero training loss": final loss <= 0.05
CONVERGED_LOSS = 0.10  # "converged" (Part 4 and the width sweep): training loss <= 0.10
IMMEDIATE_STEPS = 100  # "diverged immediately": within the first 100 steps
STOPPED_FRACTION = 0.10  # "loss remained flat": it fell by less than 10% of its start
# "Loss remained high": it ended above CONVERGED_LOSS while the healthy model, same seeds and
# steps, ended at or below it. Either one ("high or flat") is "stopped learning effectively".
NEAR_BASELINE = 0.05  # "close to the baseline": within 5 accuracy points of the majority class
TIME_GROWTH = 2.0  # "time per step increased significantly": >= 2x from N = 100 to N = 1000

DEFAULT_DATASET = "xor"


class Seed(NamedTuple):
    """One seed of a study: ``seed`` is the number reported (k of n counts these); the weights
    and the data are drawn from ``weights`` and ``data``, equal to it unless one is fixed."""

    seed: int
    weights: int
    data: int


def parse_seeds(text: str) -> list[int]:
    """"0-4" -> [0, 1, 2, 3, 4]; "0,3,7" and "0-2,9" too. Duplicates are dropped, order kept."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi if dash else lo)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"takes non-negative integers and ranges such as 0-4 or 0,3,7; got {text!r}") from None
        if first < 0 or last < first:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not a range of non-negative seeds")
        seeds += [s for s in range(first, last + 1) if s not in seeds]
    return seeds


def out_folder(text: str) -> pathlib.Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; name a folder, e.g. --out runs/mine")
    return pathlib.Path(text)


def parser(description: str, *, default_steps: int, default_seeds: str = "0-4",
           quick_seeds: str = "0-1") -> argparse.ArgumentParser:
    """The flags every script takes."""
    p = Parser(description=description)
    p.add_argument("--backend", default=None, help="numpy (default), cupy or strict")
    p.add_argument("--seeds", type=parse_seeds, default=None,
                   help=f"seeds to judge every claim on, e.g. 0-9 or 0,3,7 (default {default_seeds}; "
                        f"{quick_seeds} with --quick)")
    p.add_argument("--seed", type=int, default=None, help="one seed: the same as --seeds N")
    p.add_argument("--data-seed", type=int, default=None,
                   help="fix the data to this seed, so that only the weights vary with --seeds")
    p.add_argument("--weight-seed", type=int, default=None,
                   help="fix the initial weights to this seed, so that only the data varies with --seeds")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"worker processes for independent runs (default: the cores, {cores()} here)")
    p.add_argument("--out", type=out_folder, default=None, help="output folder (default runs/<script>/)")
    p.add_argument("--dataset", default=DEFAULT_DATASET,
                   help=f"one of {', '.join(DATASETS)} (default {DEFAULT_DATASET}; see docs/experiments_log.md)")
    p.add_argument("--steps", type=int, default=default_steps, help=f"training steps (default {default_steps})")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate of the healthy run (default 0.01)")
    p.add_argument("--quick", action="store_true", help="a CI-sized run of the same code (seconds)")
    p.set_defaults(default_seeds=default_seeds, quick_seeds=quick_seeds)
    return p


def parse(p: argparse.ArgumentParser, argv: Sequence[str] | None, script: str) -> argparse.Namespace:
    """Parse and validate; any bad flag ends with one line and exit code 2 (argparse's error)."""
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error(f"--steps must be a positive integer, got {args.steps}")
    for flag in ("seed", "data_seed", "weight_seed"):
        value = getattr(args, flag)
        if value is not None and value < 0:
            p.error(f"--{flag.replace('_', '-')} must be a non-negative integer, got {value}")
    if args.seed is not None and args.seeds is not None:
        p.error("give --seed N (one seed) or --seeds (several), not both")
    if args.data_seed is not None and args.weight_seed is not None:
        p.error("--data-seed and --weight-seed together leave nothing to vary; give one of them")
    if args.jobs is not None and not 1 <= args.jobs <= cores():
        p.error(f"--jobs must be between 1 and the {cores()} cores here, got {args.jobs}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        p.error(f"--lr must be a positive number, got {args.lr}")
    if args.dataset not in DATASETS:
        p.error(f"unknown --dataset {args.dataset!r}; choose one of: {', '.join(DATASETS)}")
    try:
        args.be = tn.get_backend(args.backend)
    except (ValueError, tn.BackendUnavailableError) as e:
        p.error(str(e).replace("backend='numpy'", "--backend numpy"))
    if args.seed is not None:
        numbers = [args.seed]
    else:
        numbers = args.seeds or parse_seeds(args.quick_seeds if args.quick else args.default_seeds)
    args.seeds = [Seed(s, s if args.weight_seed is None else args.weight_seed,
                       s if args.data_seed is None else args.data_seed) for s in numbers]
    args.varied = ("the data" if args.weight_seed is not None else
                   "the initial weights" if args.data_seed is not None else "the initial weights and the data")
    args.jobs = args.jobs or cores()
    args.out = args.out or ROOT / "runs" / script
    if args.out.exists() and not args.out.is_dir():
        p.error(f"--out {args.out} is a file, not a folder; name a folder")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=args.out):
            pass
    except OSError as e:
        p.error(f"cannot write to --out {args.out}: {e.strerror or e}")
    args.lock = lock_out(p, args.out)
    return args


def run(role: str, seed: Seed, **settings: Any) -> Run:
    """The Run of ``role`` for one seed of the study."""
    return Run(role, seed=seed.weights, data_seed=seed.data, **settings)


# --- Claims: judged per seed, then across seeds by one rule ------------------------------------
VERDICT_RULE = ("A claim is judged on each seed by the thresholds below, then across seeds: *reproduced* when "
                "it reproduced on every seed judged, *not reproduced* when on none, and *reproduced in k of n "
                "seeds* otherwise. A seed whose runs were cut short (Ctrl-C) is not judged, and is named.")


def overall_verdict(k: int, n: int) -> str:
    """The one rule that turns k reproducing seeds out of n judged into a verdict."""
    if n == 0:
        return "not judged"
    if k == n:
        return "reproduced"
    if k == 0:
        return "not reproduced"
    return f"reproduced in {k} of {n} seeds"


def claim(id: str, log_says: str, measured: dict[str, Any], reproduced: bool, explanation: str) -> dict[str, Any]:
    """One seed's verdict on one claim, from that seed's numbers."""
    return {"id": id, "log_says": log_says, "measured": measured, "reproduced": bool(reproduced),
            "explanation": explanation}


def across_seeds(per_seed: dict[Seed, dict[str, Any]], cut_short: Sequence[Seed] = (),
                 key: str | None = None, why: str | None = None) -> dict[str, Any]:
    """One claim over every seed: the per-seed verdicts, k of n, and the overall verdict.

    per_seed:  {seed: claim(...)} for every seed whose runs could be judged.
    cut_short: seeds among them whose runs were interrupted: kept in per_seed, not counted.
    key:       the measured number that the summary sentence quotes per seed.
    why:       the claim's own sentence across seeds; by default, which seeds did and did not.
    """
    first = next(iter(per_seed.values()))
    judged = [s for s in per_seed if s not in cut_short]
    k = sum(per_seed[s]["reproduced"] for s in judged)
    n = len(judged)
    entries = [{"seed": s.seed, "weight_seed": s.weights, "data_seed": s.data, "interrupted": s in cut_short,
                **{f: per_seed[s][f] for f in ("measured", "reproduced", "explanation")}} for s in per_seed]
    if why is None:
        why = which_seeds(per_seed, judged, key)
    if cut_short:
        why += f" Not judged: seed{'s' * (len(cut_short) > 1)} {_list(s.seed for s in cut_short)} (interrupted)."
    return {"id": first["id"], "log_says": first["log_says"], "measured": collect(per_seed[s]["measured"] for s in judged),
            "reproduced": n > 0 and k == n, "reproduced_in": k, "seeds": n, "verdict": overall_verdict(k, n),
            "explanation": why, "per_seed": entries}


def which_seeds(per_seed: dict[Seed, dict[str, Any]], judged: Sequence[Seed], key: str | None) -> str:
    """"Reproduced on seeds 1, 3 (final_loss 0.36, 0.53); not on seeds 0, 2, 4 (...)."""
    def group(seeds: list[Seed]) -> str:
        text = f"seed{'s' * (len(seeds) > 1)} {_list(s.seed for s in seeds)}"
        if key is not None:
            text += f" ({key} {_list(fmt(per_seed[s]['measured'][key]) for s in seeds)})"
        return text

    yes = [s for s in judged if per_seed[s]["reproduced"]]
    no = [s for s in judged if not per_seed[s]["reproduced"]]
    if not judged:
        return "No seed could be judged."
    if len(judged) == 1:
        return per_seed[judged[0]]["explanation"]
    if not no:
        return f"Reproduced on every seed: {group(yes)}."
    if not yes:
        return f"Reproduced on no seed: {group(no)}."
    return f"Reproduced on {group(yes)}; not on {group(no)}."


def collect(measured: Any) -> dict[str, Any]:
    """Per-seed measured dicts -> {name: [value per seed]}; a value equal on every seed once."""
    measured = list(measured)
    if len(measured) == 1:
        return dict(measured[0])
    out = {}
    for name in measured[0] if measured else ():
        values = [m.get(name) for m in measured]
        out[name] = values[0] if all(v == values[0] for v in values) else values
    return out


def _list(items: Any) -> str:
    return ", ".join(str(i) for i in items)


def clean(obj: Any, digits: int | None = None) -> Any:
    """JSON-safe: non-finite floats become the strings "inf", "-inf", "nan".

    Long series (over 100 values, e.g. a loss per measurement) keep 6 significant digits;
    every other number is kept exactly.
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


def write_atomically(path: pathlib.Path, write: Callable[[Any], None]) -> None:
    """``write(file)`` into a temporary file in the same folder, then renamed over ``path``. A
    failure (a full disk, Ctrl-C) removes the temporary file, and an old ``path`` stays whole."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=plots.TMP_SUFFIX)
    try:
        with os.fdopen(fd, "w") as f:
            write(f)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_json(path: pathlib.Path, obj: Any) -> None:
    write_atomically(path, lambda f: json.dump(clean(obj), f, separators=(",", ":"), allow_nan=False))


def lock_out(p: argparse.ArgumentParser, out: pathlib.Path) -> Any:
    """Hold --out for this run: a second run on the same folder stops with one line instead
    of mixing its results and figures with this one's. The lock goes with the process (a
    killed run leaves none); once it is held, temporary files that a killed run left behind
    are removed."""
    key = str(out.resolve())
    if key in _held:  # this process holds it already (a script's main called twice, as tests do)
        return _held[key]
    handle = open(out / ".lock", "a+")
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        p.error(f"--out {out} is in use by another run ({owner}); wait for it to finish, or choose another --out")
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    for stale in out.glob(f".*{plots.TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stale.unlink()
    _held[key] = handle
    return handle


_held: dict[str, Any] = {}  # the --out folders this process has locked, until it exits


def run_record(run: Run, outcome: Outcome) -> dict[str, Any]:
    """A run for results.json: its settings, and its history with the loss kept at the
    measured steps (the loss of every step of 5 seeds x 20,000 steps would be megabytes)."""
    h = outcome.history.as_dict()
    loss = h.pop("loss")
    return {"run": asdict(run), "label": run.label, "final_loss": loss[-1], "steps_taken": len(loss),
            "loss_at_eval_steps": [loss[s] for s in h["eval_steps"]], **h}


def write_results(args: argparse.Namespace, script: str, config: dict[str, Any], runs: dict[Run, Outcome],
                  claims: list[dict[str, Any]], figures: list[str], interrupted: bool = False,
                  extra: dict[str, Any] | None = None) -> pathlib.Path:
    config = {"script": script, "backend": args.be.name, "seeds": [s.seed for s in args.seeds],
              "weight_seeds": [s.weights for s in args.seeds], "data_seeds": [s.data for s in args.seeds],
              "varied": args.varied, "dataset": args.dataset, "steps": args.steps, "quick": args.quick,
              "jobs": args.jobs, **config}
    results = {"config": config, "interrupted": interrupted, "verdict_rule": VERDICT_RULE,
               "runs": [run_record(r, o) for r, o in runs.items()], "claims": claims, "figures": figures,
               **(extra or {})}
    path = args.out / "results.json"
    write_json(path, results)
    return path


def print_claims(title: str, claims: list[dict[str, Any]], interrupted: bool = False) -> None:
    """Per claim: k/n, the verdict, and the sentence that says why."""
    print(f"\n{title}" + ("  [INTERRUPTED: partial results]" if interrupted else ""))
    if not claims:
        print("  no claim could be judged: stopped before the runs it rests on finished")
        return
    width = max(len(c["id"]) for c in claims)
    for c in claims:
        print(f"  {c['id']:<{width}}  {c['reproduced_in']}/{c['seeds']}  {c['verdict']}")
        print(f"  {'':<{width}}       {c['explanation']}")


def interrupted_at(h: Any) -> str:
    """For a run's printed line: ", interrupted at step K" where a Ctrl-C stopped the run (its
    numbers are from that step, not from the end), else nothing."""
    return f", interrupted at step {h.steps_taken}" if h.interrupted else ""


def print_figures(out: pathlib.Path, figures: list[str]) -> None:
    if figures:
        print("figures: " + ", ".join(str(out / f) for f in figures))


def fmt(v: Any) -> str:
    """A measured value, short: floats to 4 significant digits, lists and dicts inline."""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    return str(v)


def summary(measured: dict[str, Any]) -> str:
    """The measured numbers on one line."""
    return ", ".join(f"{k}={fmt(v)}" for k, v in measured.items())


def run_main(main: Callable[[], int]) -> None:
    """Exit with main's code; Ctrl-C outside training still exits cleanly (130). SIGTERM (what
    `timeout`, batch schedulers and CI send) is treated as Ctrl-C: partial results, exit 130.
    (During the script's imports, experiments/ctrl_c.py answered both with one line.)"""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C: KeyboardInterrupt again
    signal.signal(signal.SIGTERM, _as_interrupt)
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    # Done, whatever is written is whole. A signal during Python's own shutdown would otherwise
    # kill the finished process with its default action (exit -15 after SIGTERM).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if code == 130:  # stopped early, its partial results (if any) written: one line, wherever it stopped
        print("\ninterrupted", file=sys.stderr)
    sys.exit(code)


def _as_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


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


def stayed_flat(losses: Sequence[float]) -> bool:
    """The loss fell by less than STOPPED_FRACTION of its start (or rose)."""
    return losses[-1] > (1.0 - STOPPED_FRACTION) * losses[0]


def stayed_high(final_loss: float, healthy_final_loss: float) -> bool:
    """Not converged, where the healthy model with the same seeds and steps converged."""
    return converged(healthy_final_loss) and not converged(final_loss)


def stopped_learning(losses: Sequence[float], healthy_final_loss: float) -> bool:
    """The log's "stopped learning effectively, and the loss remained high or flat"."""
    return stayed_flat(losses) or stayed_high(losses[-1], healthy_final_loss)


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


# --- Outcomes --------------------------------------------------------------------------------
def measured_runs(outcomes: dict[Run, Outcome]) -> dict[Run, Outcome]:
    """The runs with at least one measurement. Ctrl-C can stop a run before its first; such a
    run has nothing to judge, plot or print, and is left out (the results say interrupted)."""
    return {r: o for r, o in outcomes.items() if o.history.eval_steps}


def seeds_with(args: argparse.Namespace, outcomes: dict[Run, Outcome], needs: Callable[[Seed], list[Run]]
               ) -> tuple[list[Seed], list[Seed]]:
    """(seeds whose runs ``needs(seed)`` all have measurements, those of them cut short)."""
    have = [s for s in args.seeds if all(r in outcomes for r in needs(s))]
    return have, [s for s in have if any(outcomes[r].history.interrupted for r in needs(s))]
