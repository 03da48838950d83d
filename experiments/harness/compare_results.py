"""Compare two results.json files run by run: the proof that a restructuring changed no number.

    python experiments/harness/compare_results.py runs/before/part3_break runs/after/part3_break

Runs are matched by their identity (the run's settings), never by position or label. For
every run, every series of its history is compared exactly, as the JSON holds it, except
the wall time (``seconds``, and Part 4's time per step); then each claim's per-seed measured numbers and verdicts, and
what else the results keep (Part 1's gradient check, Part 3's initialisation study and doctor benchmark, Part 4's
diagnosis). Prints one
line per difference and a summary; exits 0 only when every shared number is identical.
Series kept by only one side are listed, not counted as differences (a history that gained
or lost a series changed no number).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

IGNORED = {"seconds"}  # wall time: never the same twice
# Top-level entries that are not results: how the run was asked for, and wall times.
NOT_RESULTS = {"config", "interrupted", "verdict_rule", "runs", "claims", "figures", "time_per_step_ms"}
WALL_TIME_CLAIMS = {"time_per_step_grows"}  # Part 4's claim about the wall time of a step
RUN_KEYS = {"run", "label"}


def load(folder: pathlib.Path) -> dict[str, Any]:
    path = folder / "results.json" if folder.is_dir() else folder
    return json.loads(path.read_text())


# How a Part 3 run names its breakage changed (a relu_last flag beside a case name, then the
# case name alone); the run's role says which case it is in every version, so these two are
# left out of its identity.
BREAKAGE_NAMES = {"relu_last", "case"}
# Settings renamed since: the run's ``seed`` became ``weight_seed`` (the seed reported is another number).
RENAMED = {"seed": "weight_seed"}


def runs_by_identity(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{the run's settings as JSON: its record}. Settings left at None are left out, so that a
    setting added since (unset in the runs that were already there) matches its absence.
    Two runs of one file with the same identity are refused: they could not be told apart."""
    found: dict[str, dict[str, Any]] = {}
    for r in results["runs"]:
        settings = {RENAMED.get(k, k): v for k, v in r["run"].items()}
        key = json.dumps({k: v for k, v in settings.items() if v is not None and k not in BREAKAGE_NAMES},
                         sort_keys=True)
        if key in found:
            raise ValueError(f"two runs with the same settings, {found[key]['label']!r} and {r['label']!r}")
        found[key] = r
    return found


def compare(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, list[str], list[str]]:
    """(numbers compared, differences, series found on one side only)."""
    differences: list[str] = []
    one_sided: set[str] = set()
    compared = 0
    old, new = runs_by_identity(before), runs_by_identity(after)
    for key in sorted(set(old) ^ set(new)):
        differences.append(f"run only {'before' if key in old else 'after'}: {key}")
    for key in sorted(set(old) & set(new)):
        a, b = old[key], new[key]
        for field in sorted(set(a) | set(b)):
            if field in IGNORED or field in RUN_KEYS:
                continue
            if field not in a or field not in b:
                one_sided.add(f"{field} ({'before' if field in a else 'after'} only)")
                continue
            compared += _count(a[field])
            if a[field] != b[field]:
                differences.append(f"{a['label']}: {field} differs")
    old_claims = {c["id"]: c for c in before["claims"]}
    new_claims = {c["id"]: c for c in after["claims"]}
    for cid in sorted((set(old_claims) | set(new_claims)) - WALL_TIME_CLAIMS):
        if cid not in old_claims or cid not in new_claims:
            differences.append(f"claim only {'before' if cid in old_claims else 'after'}: {cid}")
            continue
        if len(old_claims[cid]["per_seed"]) != len(new_claims[cid]["per_seed"]):
            differences.append(f"claim {cid}: judged on {len(old_claims[cid]['per_seed'])} seeds before, "
                               f"{len(new_claims[cid]['per_seed'])} after")
            continue
        for e, f in zip(old_claims[cid]["per_seed"], new_claims[cid]["per_seed"]):
            for field in ("measured", "reproduced"):
                compared += _count(e[field])
                if e[field] != f[field]:
                    differences.append(f"claim {cid}, seed {e['seed']}: {field} differs")
    # What else a part keeps: Part 1's gradient check, Part 3's initialisation study and the
    # doctor's benchmark, Part 4's diagnosis.
    for extra in sorted((set(before) | set(after)) - NOT_RESULTS):
        compared += _count(before.get(extra))
        if before.get(extra) != after.get(extra):
            differences.append(f"{extra} differs")
    return compared, differences, sorted(one_sided)


def _count(value: Any) -> int:
    """How many numbers a JSON value holds."""
    if isinstance(value, dict):
        return sum(_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count(v) for v in value)
    return 1 if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before", type=pathlib.Path)
    p.add_argument("after", type=pathlib.Path)
    args = p.parse_args(argv)
    compared, differences, one_sided = compare(load(args.before), load(args.after))
    for line in differences:
        print(f"  DIFFERENT: {line}")
    if one_sided:
        print("  series on one side only: " + ", ".join(one_sided))
    runs = len(load(args.after)["runs"])
    verdict = "identical" if not differences else f"{len(differences)} differences"
    print(f"{args.after}: {runs} runs, {compared} numbers compared: {verdict}")
    return 0 if not differences else 1


if __name__ == "__main__":
    sys.exit(main())
