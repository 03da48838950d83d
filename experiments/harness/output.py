"""What an experiment writes: results.json, held in an --out folder that one run owns.

Every file goes through tinynet.files.write_atomically (whole or absent, 0644); figures are
drawn by tinynet.plots and each part's own figures module, which use the same writer.
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import tempfile
from dataclasses import fields
from typing import Any

from experiments.harness.verdicts import VERDICT_RULE
from tinynet.cli import Parser
from tinynet.files import InUse, check_writable, lock, remove_stale, umask, write_atomically


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


def write_json(path: pathlib.Path, obj: Any) -> None:
    write_atomically(path, lambda f: json.dump(clean(obj), f, separators=(",", ":"), allow_nan=False))


def run_record(run: Any, outcome: Any) -> dict[str, Any]:
    """A run for results.json: its settings, and its history with the loss kept at the
    measured steps (the loss of every step of 5 seeds x 20,000 steps would be megabytes).
    What the experiment's own ``measure`` hook took sits beside the loop's own series."""
    settings = {f.name: getattr(run, f.name) for f in fields(run)}  # every field of the Run
    settings["case"] = run.case.name if run.case is not None else None  # the case by its name
    h = outcome.history.as_dict()
    loss = h.pop("loss")
    own = h.pop("measured")
    return {"run": settings, "label": run.label, "final_loss": loss[-1], "steps_taken": len(loss),
            "loss_at_eval_steps": [loss[s] for s in h["eval_steps"]], **h, **own, "doctor": outcome.doctor}


def write_results(out: pathlib.Path, args: argparse.Namespace, script: str, config: dict[str, Any],
                  runs: dict[Any, Any],
                  claims: list[dict[str, Any]], figures: list[str], interrupted: bool = False,
                  extra: dict[str, Any] | None = None) -> tuple[pathlib.Path, str | None]:
    """results.json in ``out``; returns the path written, and why not in ``out`` (None if it
    is there). A folder that became unwritable is replaced by a fresh temporary one, where the
    returned path then is; the study says so, once."""
    config = {"script": script, "backend": args.be.name, "seeds": [s.seed for s in args.seeds],
              "weight_seeds": [s.weights for s in args.seeds], "data_seeds": [s.data for s in args.seeds],
              "varied": args.varied, "dataset": args.dataset, "steps": args.steps, "quick": args.quick,
              "jobs": args.jobs, **config}
    results = {"config": config, "interrupted": interrupted, "verdict_rule": VERDICT_RULE,
               "runs": [run_record(r, o) for r, o in runs.items()], "claims": claims, "figures": figures,
               **(extra or {})}
    try:
        write_json(out / "results.json", results)
    except OSError as e:  # the folder became unwritable during the run: the run is not lost for it
        out = pathlib.Path(tempfile.mkdtemp(prefix=f"tinynet-{script}-"))
        out.chmod(0o777 & ~umask())  # a folder like any other (mkdtemp's is the owner's alone)
        write_json(out / "results.json", results)
        return out / "results.json", str(e.strerror or e)
    return out / "results.json", None


def trouble_line(asked: pathlib.Path, out: pathlib.Path, trouble: dict[str, str], figures: bool) -> str:
    """The one line that says what --out refused, and where everything is instead."""
    if "results" not in trouble:
        return f"cannot write the figures to {asked} ({trouble['figures']}); results.json has every number"
    where = "results and figures go to" if figures else "results go to"
    line = f"cannot write to --out {asked} ({trouble['results']}): {where} {out} instead"
    return line + (f"; the figures could not be drawn there either ({trouble['figures']})" if "figures" in trouble
                   else "")


def hold(out: pathlib.Path) -> Any:
    """Create --out if needed, check that it can be written, and hold it for this run: a second
    run on the same folder stops with one line instead of mixing its results and figures with
    this one's. The lock goes with the process (a killed run leaves none); once it is held,
    temporary files that a killed run left behind are removed. A folder that cannot be used
    ends the run with one line (argparse's error, exit 2), before anything is trained."""
    p = Parser()  # its one-line error, under the script's own name, as a bad flag's
    try:
        check_writable(out)
    except OSError as e:  # unwritable, under a file, a name over the system's limit
        p.error(f"cannot write to --out {str(out)[:80]}: {e.strerror or e}")
    key = str(out.resolve())
    if key in _held:  # this process holds it already (a script's main called twice, as tests do)
        return _held[key]
    try:
        handle = lock(out)
    except InUse as e:
        p.error(f"--out {out} is in use by another run ({e.owner}); wait for it to finish, or choose another --out")
    remove_stale(out)
    _held[key] = handle
    return handle


_held: dict[str, Any] = {}  # the --out folders this process has locked, until it exits
