"""Run all four parts and regenerate the experiments log from what they measured.

    python experiments/run_all.py                # full runs -> docs/results/, docs/experiments_log.md
    python experiments/run_all.py --quick        # CI-sized -> runs/run_all/
    python experiments/run_all.py --log-only     # re-render the log from existing results

Parts 1-3 judge every claim on --seeds (default 0-4), Part 3 with every failure case (--cases
all); Part 4, about 20 minutes a seed on 2 cores, on --part4-seeds (default 0). The whole run:
about 25 minutes on 2 cores. The log is a pure function of the results files (``render``), so
a test can check that the committed log says exactly what the committed results do.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import sys
import tempfile
import time
from typing import Any

sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))  # the repository root, for `experiments`
from experiments.harness import preamble  # noqa: E402 (first: from here on, Ctrl-C ends the script with one line)
from experiments.harness import runner  # noqa: E402
from experiments.harness import verdicts as v  # noqa: E402
from experiments.harness.flags import DEFAULT_DATASET, ROOT, out_folder, seeds_text  # noqa: E402
from experiments.harness.output import write_json  # noqa: E402
from experiments.harness.report import summary  # noqa: E402
from tinynet.cli import Parser, requested  # noqa: E402
from experiments.part3.cases import CASES  # noqa: E402
from tinynet.files import write_text  # noqa: E402

PARTS = ("part1_sanity", "part2_overfit", "part3_break", "part4_scale")
RESULTS = [f"{part}/results.json" for part in PARTS] + ["run_all.json"]  # what the log is written from
TITLES = {
    "part1_sanity": "Part 1: Sanity before training",
    "part2_overfit": "Part 2: Overfitting Experiment (Synthetic Dataset)",
    "part3_break": "Part 3: Breaking It On Purpose",
    "part4_scale": "Part 4: Scaling Sanity Check",
}
OBJECTIVES = {
    "part1_sanity": "Check what must hold before any training run is trusted: the data and its baseline, the "
                    "untrained model's loss, and the gradients (not part of the original log).",
    "part2_overfit": "Demonstrate control over the training process by overfitting a small synthetic dataset.",
    "part3_break": "Intentionally introduce failures into the training process to understand their effects.",
    "part4_scale": "Train the same model on a larger synthetic dataset to observe changes in convergence and "
                   "stability, and diagnose the outcome.",
}


def main(argv: list[str] | None = None) -> int:
    p = Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default=None)
    # Checked here, not only by each part: a bad --part4-seeds must not wait for parts 1-3 to finish.
    p.add_argument("--seeds", type=seeds_text, default=None, help="seeds of parts 1-3 (default 0-4; 0-1 with --quick)")
    p.add_argument("--part4-seeds", type=seeds_text, default=None, help="seeds of part 4 (default 0; 0-1 with --quick)")
    p.add_argument("--data-seed", default=None, help="fix the data of every part to this seed")
    p.add_argument("--weight-seed", default=None, help="fix the initial weights of every part to this seed")
    p.add_argument("--jobs", default=None, help="worker processes per part (default: the cores)")
    p.add_argument("--dataset", default=DEFAULT_DATASET)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=out_folder, default=None, help="results folder (default docs/results, "
                   "or runs/run_all with --quick)")
    p.add_argument("--log", type=log_file, default=None, help="the log to write (default "
                   "docs/experiments_log.md, or <out>/experiments_log.md with --quick)")
    p.add_argument("--log-only", action="store_true", help="only re-render the log from --out")
    args = p.parse_args(argv)
    out = args.out or (ROOT / ("runs/run_all" if args.quick else "docs/results"))
    log = args.log or (out / "experiments_log.md" if args.quick else ROOT / "docs" / "experiments_log.md")
    if log.is_dir():
        p.error(f"--log {log} is a folder; name the file to write, e.g. {log / 'experiments_log.md'}")

    if not args.log_only:
        try:  # now, not after the parts' minutes: a log that cannot be written
            tempfile.TemporaryFile(dir=existing_folder(log.parent)).close()
        except OSError as e:
            p.error(f"cannot write --log {log}: {e.strerror or e}")
        flags = ["--dataset", args.dataset] + (["--quick"] if args.quick else [])
        for flag in ("backend", "data_seed", "weight_seed", "jobs"):
            if getattr(args, flag) is not None:
                flags += [f"--{flag.replace('_', '-')}", getattr(args, flag)]
        start = time.perf_counter()
        for part in PARTS:
            print(f"\n=== {part} ===", flush=True)
            seeds = args.part4_seeds if part == "part4_scale" else args.seeds
            module = importlib.import_module(f"experiments.{part}")
            own = ["--cases", "all"] if part == "part3_break" else []  # every failure case, not only the log's
            code = module.main(flags + own + (["--seeds", seeds] if seeds else []) + ["--out", str(out / part)])
            if code == 130 or requested():
                # Ctrl-C stopped a training run and the part wrote what it had; stop here, as
                # the user asked, rather than go on to the next part with partial results.
                preamble.say_interrupted(f"\ninterrupted: {part} stopped early, its partial results in {out / part}; "
                                         f"the log was not regenerated (run run_all.py again for a complete log)")
                return 130
            if code:
                return code
        wall = time.perf_counter() - start
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "run_all.json", {"wall_seconds": wall, "cores": runner.cores(),
                                                 "command": "python experiments/run_all.py "
                                                 + " ".join(argv if argv is not None else sys.argv[1:])})
    missing = [name for name in RESULTS if not (out / name).is_file()]
    if missing:
        p.error(f"no results to write the log from in {out} ({', '.join(missing)} missing); run the parts "
                f"first: python experiments/run_all.py --out {out}")
    try:
        text = render(out, log.parent)
    except (ValueError, KeyError, TypeError, IndexError) as e:  # a truncated or incomplete results file
        p.error(f"the results in {out} are incomplete or damaged ({type(e).__name__}: {str(e)[:80]}); "
                f"run the parts again: python experiments/run_all.py --out {out}")
    try:
        log.parent.mkdir(parents=True, exist_ok=True)  # a new --out, or a --log in a folder still to make
        write_text(log, text)
    except OSError as e:  # unwritable, under a file
        p.error(f"cannot write --log {log}: {e.strerror or e}")
    print(f"\nwrote {log}")
    return 0


def existing_folder(folder: pathlib.Path) -> pathlib.Path:
    """``folder``, or where it does not exist yet (a new --out, where the log goes with --quick)
    the nearest folder above it that does: the log's folder is made there, so that is the one
    that must be writable. A file on the way is returned as it is, and refused as no folder."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def log_file(text: str) -> pathlib.Path:
    """An argparse type: the log's path, not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; name the log file, e.g. --log docs/experiments_log.md")
    return pathlib.Path(text)


def load(out: pathlib.Path) -> tuple[dict, dict]:
    results = {part: json.loads((out / part / "results.json").read_text()) for part in PARTS}
    meta = json.loads((out / "run_all.json").read_text())
    return results, meta


def render(out: pathlib.Path, log_dir: pathlib.Path) -> str:
    """The experiments log, in Markdown, from the results files under ``out``."""
    results, meta = load(out)
    first = results["part1_sanity"]["config"]
    lines = [
        "# Phase 0 - Experiments Log (regenerated)",
        "",
        "Generated by `experiments/run_all.py` from the results files in "
        f"`{os.path.relpath(out, log_dir)}/`; every number below was measured by that run, and every verdict "
        "was computed by code from those numbers (`experiments/harness/verdicts.py`). The original log is "
        f"[`original_log.md`]({os.path.relpath(ROOT / 'docs' / 'original_log.md', log_dir)}).",
        "",
        f"- Command: `{meta['command'].strip()}`; backend `{first['backend']}`, dataset `{first['dataset']}`"
        f"{' (quick mode)' if first['quick'] else ''}.",
        "- Seeds: " + "; ".join(f"{part.split('_')[0].replace('part', 'Part ')}: {seeds(res['config'])}"
                                for part, res in results.items()) + ".",
        f"- Wall time of the whole run: {meta['wall_seconds'] / 60:.1f} minutes on {meta.get('cores', '?')} cores.",
        "",
        "## Summary",
        "",
        "| part | claim | seeds (95% CI) | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for part, res in results.items():
        for c in res["claims"]:
            lines.append(summary_row(part, c))
    lines += ["", "## How a verdict is reached", "", v.VERDICT_RULE, "", v.INTERVAL_MEANING, "", "## Which data", "",
              DIGITS_NOTE if first["dataset"] == "digits" else DATA_NOTE, "",
              "## Thresholds", "",
              "Fixed in `experiments/harness/verdicts.py` before the full run, from what the log's words mean:",
              ""]
    lines += [f"- `{name}` = {getattr(v, name)}" for name in v.THRESHOLDS]
    for part, res in results.items():
        lines += ["", f"## {TITLES[part]}", "", f"**Objective.** {OBJECTIVES[part]}", "",
                  "**Config.** `" + json.dumps(res["config"], separators=(", ", ": ")) + "`", "",
                  "Measured: one value when it was the same on every seed, else one per seed, in seed order.", "",
                  "| claim | the log says | measured | seeds | verdict |", "| --- | --- | --- | --- | --- |"]
        for c in res["claims"]:
            lines.append(f"| `{c['id']}` | {c['log_says']} | {summary(c['measured'])} | "
                         f"{v.k_of_n(c['reproduced_in'], c['seeds'])} | {verdict(c)} |")
        cases_only = all(c["id"] in CASE_OF_CLAIM for c in res["claims"])
        lines += ["", "**What the numbers say.**" + (" Case by case, in the sections below." if cases_only else ""), ""]
        for c in res["claims"]:
            if c["id"] in CASE_OF_CLAIM:
                continue  # a case of Part 3: its own section below
            lines.append(f"- `{c['id']}` ({v.k_of_n(c['reproduced_in'], c['seeds'])}): {c['explanation']}")
            if len(c["per_seed"]) > 1:
                lines += [f"  - seed {e['seed']}: {e['explanation']}" for e in c["per_seed"]]
        if part == "part4_scale" and res.get("diagnosis"):
            lines += [f"- Diagnosis. The log's picture: {res['diagnosis']['picture']}. "
                      f"{res['diagnosis']['conclusion']}"]
        if res.get("interrupted"):
            lines += ["- This part was interrupted: its results are partial."]
        lines += doctor_section(part, res)
        lines += [""]
        for fig in res["figures"]:
            if not fig.startswith("case_"):
                lines.append(f"![{part} {fig}]({os.path.relpath(out / part / fig, log_dir)})")
        for c in res["claims"]:
            if c["id"] in CASE_OF_CLAIM:
                lines += case_section(CASE_OF_CLAIM[c["id"]], c, res, os.path.relpath(out / part, log_dir))
    return "\n".join(lines) + "\n"


def case_section(case: Any, c: dict, res: dict, folder: str) -> list[str]:
    """A case of Part 3, the log's two and those beyond it alike: what was broken, the log's
    words or the prediction fixed before any run (and how they are read, where they need it),
    k/n with its interval, the cause on one seed, every seed's story, and its figure."""
    said = (f"- **The log says:** {case.says}" if case.in_log else
            f"- **Prediction** (fixed before any run): {case.says.removeprefix('(predicted) ')}")
    lines = ["", f"### {'The log' if case.in_log else 'Beyond the log'}: `{case.name}`", "",
             f"- **Broken:** {case.broken}.", said]
    if case.reading:
        lines.append(f"- **Read as:** {case.reading}")
    lines.append(f"- **Result:** `{c['id']}` held on {v.k_of_n(c['reproduced_in'], c['seeds'])} seeds: {verdict(c)}.")
    if c.get("cause"):
        lines.append(f"- **Why:** {c['cause']}")
    lines.append(f"- **Across seeds:** {c['explanation']}")
    lines += [f"  - {e['explanation']}" for e in c["per_seed"]]
    figure = f"case_{case.name}.png"
    if figure in res["figures"]:
        lines += ["", f"![part3_break {figure}]({folder}/{figure})"]
    return lines


def doctor_rows(res: dict) -> list[str]:
    """Part 3 as the doctor's benchmark, one table row per case and one for the healthy runs
    (the log's and the README's tables)."""
    bench = res.get("doctor")
    if not bench:
        return []
    rows = []
    for name, row in bench["cases"].items():
        other = sorted({e["cause"] for e in row["per_seed"] if e["cause"] != row["expected"]})
        rows.append(f"| `{name}` | `{row['expected']}` | {v.k_of_n(row['k'], row['n'])} | "
                    f"{', '.join(f'`{c}`' for c in other) or '-'} |")
    alarms = bench["false_alarms"]
    named = sorted({e["cause"] for e in alarms["per_seed"] if e["cause"] != "healthy"})
    rows.append(f"| healthy | none (false alarms) | {v.k_of_n(alarms['k'], alarms['n'])} | "
                f"{', '.join(f'`{c}`' for c in named) or '-'} |")
    return rows


DOCTOR_HEADER = ["| case | the doctor should name | named on | named instead |", "| --- | --- | --- | --- |"]


def doctor_section(part: str, res: dict) -> list[str]:
    """What tn.diagnose said of every run: Part 3's benchmark table; Part 4's cause per run."""
    if part == "part3_break" and res.get("doctor"):
        return ["", "**The doctor on every run.** Each run was trained through `tn.diagnose` (the same numbers as "
                "`tn.train`); the table says on how many seeds it named the case's own cause, and on how many "
                "healthy runs it named anything at all (docs/doctor.md).", "", *DOCTOR_HEADER, *doctor_rows(res)]
    if part == "part4_scale" and all(r.get("doctor") for r in res["runs"]):
        return ["- The doctor (`tn.diagnose`), run by run: "
                + "; ".join(f"{r['label']}: `{r['doctor']['cause']}`" for r in res["runs"]) + "."]
    return []


def seeds(config: dict) -> str:
    values = config["seeds"]
    text = f"{values[0]}-{values[-1]}" if values == list(range(values[0], values[-1] + 1)) and len(values) > 1 \
        else ", ".join(str(v) for v in values)
    return f"{text} ({config['varied']} vary)" if len(values) > 1 else text


def summary_row(part: str, c: dict) -> str:
    """A claim's row in the log's and the README's summary tables."""
    return f"| {part} | `{c['id']}` | {v.k_of_n(c['reproduced_in'], c['seeds'])} | {verdict(c)} |"


def verdict(c: dict) -> str:
    return c["verdict"] if c["reproduced_in"] > 0 else f"**{c['verdict']}**"


CASE_OF_CLAIM = {case.claim: case for case in CASES}

DATA_NOTE = (
    "The log does not say which synthetic data it used. The default here is `xor` (points uniform in the "
    "square [-1, 1]^2, label 1 where x1 * x2 > 0): data with a pattern that a two-layer ReLU network can learn "
    "and a linear model cannot, so that Part 2's \"overfit\" and Part 4's \"learning the underlying pattern\" "
    "both have a meaning. The log's own Part 4 numbers (about 64% validation accuracy, close to the baseline) "
    "say something about its data: Part 4's diagnosis reruns the main configuration with the label structures "
    "and class balances those numbers imply, one change at a time. Every script takes `--dataset random|xor|moons|"
    "digits`; the digits run is docs/experiments_log_digits.md, its write-up docs/digits.md.")

DIGITS_NOTE = (
    "This run is on real data: the 1,797 8x8 handwritten digits shipped with tinynet (64 inputs, 10 classes; "
    "`make_dataset(\"digits\")`), not the log's synthetic data. The log's model gets the data's ends, "
    "[64, 500, 500, 10]; every threshold keeps its value, and the three numbers that depend on the number of "
    "classes C are computed from it (the loss at initialisation against ln C, the ReLU-last floor of ln C per "
    "stranded example, the softmax-twice floor ln(1 + (C - 1)/e)). Part 4 trains on 1,437 digits, and its "
    "diagnosis tries the changes that mean something with ten learnable classes. docs/digits.md states the "
    "predictions written before this run and reads it claim by claim.")


if __name__ == "__main__":
    preamble.run_main(main)
