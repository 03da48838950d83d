"""The step benchmark runs, and writes the JSON it promises (timings are not asserted)."""
from __future__ import annotations

import json
import pathlib
import runpy
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "experiments" / "bench_step.py"


def run_bench(monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", [str(BENCH), *argv])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(BENCH), run_name="__main__")
    return info.value.code


def test_bench_writes_medians_and_ratios(monkeypatch, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert run_bench(monkeypatch, "--sizes", "8", "--dtypes", "float32", "--repeats", "2", "--out", str(out)) == 0
    report = json.loads(out.read_text())
    (row,) = report["results"]
    assert row["n"] == 8 and row["dtype"] == "float32"
    assert row["step_ms"] > 0 and row["bound_ms"] > 0
    assert row["step_over_bound"] == pytest.approx(row["step_ms"] / row["bound_ms"])
    assert report["model"] == [2, 500, 500, 2]
    assert "step/bound" in capsys.readouterr().out


def test_bench_refuses_bad_flags(monkeypatch):
    assert run_bench(monkeypatch, "--repeats", "0") == 2
