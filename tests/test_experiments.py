"""The four experiment scripts: --quick runs, their results schema, verdict logic, and the log."""
from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys

import pytest

import tinynet as tn
from experiments import common, part1_sanity, part2_overfit, part3_break, part4_scale, run_all

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLAIMS = {
    "part1_sanity": ["loss_at_init_ln2", "gradients_match_finite_differences"],
    "part2_overfit": ["overfit_near_zero_loss", "lr001_stable", "wider_converges_faster", "lr10_blows_up"],
    "part3_break": ["lr10_diverges", "relu_last_stops_learning"],
    "part4_scale": ["fails_to_converge_1000", "val_acc_near_baseline", "lr_does_not_help", "time_per_step_grows"],
}
SCRIPTS = {"part1_sanity": part1_sanity, "part2_overfit": part2_overfit, "part3_break": part3_break,
           "part4_scale": part4_scale}


def check_results(folder: pathlib.Path, part: str) -> dict:
    results = json.loads((folder / "results.json").read_text())
    assert results["config"]["script"] == part
    assert [c["id"] for c in results["claims"]] == CLAIMS[part]
    for c in results["claims"]:
        assert set(c) == {"id", "log_says", "measured", "reproduced", "explanation"}
        assert isinstance(c["reproduced"], bool) and c["measured"] and c["explanation"]
    assert results["figures"]
    for fig in results["figures"]:
        assert (folder / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", fig
    assert not list(folder.glob("*.tmp*")), "a temporary file was left behind"
    return results


@pytest.mark.parametrize("part", list(SCRIPTS))
def test_quick_run_writes_the_promised_results(part, tmp_path, capsys):
    assert SCRIPTS[part].main(["--quick", "--out", str(tmp_path)]) == 0
    results = check_results(tmp_path, part)
    assert results["config"]["quick"] is True and results["interrupted"] is False
    printed = capsys.readouterr().out
    assert all(claim_id in printed for claim_id in CLAIMS[part])


@pytest.mark.parametrize("part", ["part3_break", "part4_scale"])  # Part 4: what .ci/gpu runs on CuPy
def test_quick_run_on_the_strict_backend(part, tmp_path):
    assert SCRIPTS[part].main(["--quick", "--backend", "strict", "--out", str(tmp_path)]) == 0
    assert check_results(tmp_path, part)["config"]["backend"] == "strict"


def test_same_seed_same_numbers_different_seed_different(tmp_path):
    def losses(seed, name):
        part3_break.main(["--quick", "--seed", str(seed), "--out", str(tmp_path / name)])
        runs = json.loads((tmp_path / name / "results.json").read_text())["runs"]
        return {k: v["loss"] for k, v in runs.items()}

    assert losses(1, "a") == losses(1, "b")
    assert losses(1, "a") != losses(2, "c")


@pytest.mark.parametrize("argv, message", [
    (["--steps", "-5"], "--steps must be a positive integer"),
    (["--seed", "-1"], "--seed must be a non-negative integer"),
    (["--lr", "0"], "--lr must be a positive number"),
    (["--backend", "tpu"], "unknown backend 'tpu'"),
    (["--dataset", "spiral"], "unknown --dataset 'spiral'"),
    (["--out", "/proc/forbidden"], "cannot write to --out"),
])
def test_bad_flags_end_with_one_line_and_exit_2(argv, message):
    done = subprocess.run([sys.executable, str(ROOT / "experiments" / "part3_break.py"), *argv],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_ctrl_c_writes_partial_results_marked_interrupted(monkeypatch, tmp_path):
    calls = {"n": 0}
    step = tn.SGD.step

    def interrupt_later(self):
        calls["n"] += 1
        if calls["n"] == 320:  # 300 healthy steps, 1 at lr 10 before it diverges: inside the third run
            raise KeyboardInterrupt
        step(self)

    monkeypatch.setattr(tn.SGD, "step", interrupt_later)
    assert part3_break.main(["--quick", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["interrupted"] is True
    runs = results["runs"]
    assert [r["interrupted"] for r in runs.values()] == [False, False, True]
    assert len(runs["ReLU last (lr 0.01)"]["loss"]) == 19


@pytest.mark.parametrize("part", ["part2_overfit", "part3_break", "part4_scale"])
@pytest.mark.parametrize("at_forward", [1, 2, 3])  # the first step; its measurement; then the next forward
@pytest.mark.filterwarnings("error::UserWarning")  # e.g. matplotlib's, for a figure drawn with nothing in it
def test_ctrl_c_in_the_first_run_ends_cleanly(part, at_forward, monkeypatch, tmp_path, capsys):
    """Ctrl-C before anything can be judged: results marked interrupted, no traceback, and
    every series of a run as long as its list of measurement steps."""
    calls = {"n": 0}
    forward = tn.Sequential.forward

    def interrupt(self, x):
        calls["n"] += 1
        if calls["n"] == at_forward:
            raise KeyboardInterrupt
        return forward(self, x)

    monkeypatch.setattr(tn.Sequential, "forward", interrupt)
    assert SCRIPTS[part].main(["--quick", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["interrupted"] is True
    assert "INTERRUPTED" in capsys.readouterr().out
    for run in results["runs"].values():
        n = len(run["eval_steps"])
        assert n >= 1 and len(run["loss"]) >= 1
        assert len(run["train_acc"]) == len(run["val_acc"]) == len(run["logits_clipped"]) == n
        assert all(len(series) == n for series in [*run["grad_norm"].values(), *run["relu_zero"].values()])


def test_ctrl_c_stops_run_all_at_the_part_it_interrupted(monkeypatch, tmp_path, capsys):
    """One Ctrl-C stops the whole run: the interrupted part keeps its partial results, no
    later part runs, and the log is not regenerated from a mix of old and partial results."""
    def interrupt(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(tn.SGD, "step", interrupt)  # Part 1 takes no step; Part 2's first step stops
    log = tmp_path / "log.md"
    assert run_all.main(["--quick", "--out", str(tmp_path), "--log", str(log)]) == 130
    assert json.loads((tmp_path / "part2_overfit" / "results.json").read_text())["interrupted"] is True
    assert not (tmp_path / "part3_break").exists() and not log.exists()
    assert "part2_overfit was interrupted" in capsys.readouterr().err


# --- verdict logic on synthetic histories, both outcomes ---------------------------------------
def test_verdicts_on_synthetic_numbers():
    assert common.loss_close_to_ln2(math.log(2) + 0.01) and not common.loss_close_to_ln2(1.0)
    assert common.near_zero(0.01) and not common.near_zero(0.2) and not common.near_zero(float("nan"))
    assert common.diverged_immediately(3) and not common.diverged_immediately(5000)
    assert not common.diverged_immediately(None)
    assert common.stable(None, [0.7, 0.5, 0.1]) and not common.stable(12, [0.7, 50.0])
    assert not common.stable(None, [0.7, 0.8])
    assert common.stopped_learning([0.70, 0.69, 0.68]) and not common.stopped_learning([0.7, 0.4, 0.1])
    assert common.first_step_below([0.7, 0.3, 0.05, 0.01], 0.1) == 2
    assert common.first_step_below([0.7, 0.3], 0.1) is None
    assert common.wider_is_faster({25: 9000, 100: 4000, 500: 800})
    assert not common.wider_is_faster({25: 900, 100: 4000, 500: 800})
    assert not common.wider_is_faster({25: None, 100: None, 500: None})
    assert common.wider_is_faster({25: None, 500: 800})
    assert common.converged(0.05) and not common.converged(0.3)
    assert common.near_baseline(0.62, 0.60) and not common.near_baseline(0.95, 0.60)
    assert common.time_grows(2.0, 15.0) and not common.time_grows(2.0, 3.0)


def test_diagnosis_names_the_change_that_reproduces_the_log():
    class H:  # the few fields diagnose() reads
        def __init__(self, loss, train, val):
            self.loss, self.train_acc, self.val_acc = [0.7, loss], [0.5, train], [0.5, val]

    runs = {"lr 0.01": H(0.02, 1.0, 0.97), "labels: random": H(0.6, 0.66, 0.51), "mini-batch 32": H(0.03, 1.0, 0.96)}
    d = part4_scale.diagnose(runs, "lr 0.01", ["labels: random", "mini-batch 32"], 0.52, "xor")
    assert d["reproduce_the_log"] == ["labels: random"]
    assert d["did_not_converge"] == ["labels: random"] and "taking the pattern out of the labels" in d["conclusion"]
    runs["labels: random"] = H(0.02, 1.0, 0.9)
    d = part4_scale.diagnose(runs, "lr 0.01", ["labels: random", "mini-batch 32"], 0.52, "xor")
    assert d["reproduce_the_log"] == [] and "No run meets both" in d["conclusion"]
    assert "taking the pattern out" not in d["conclusion"]


# --- the committed log --------------------------------------------------------------------------
def test_committed_log_is_exactly_what_the_committed_results_say():
    results_dir, log = ROOT / "docs" / "results", ROOT / "docs" / "experiments_log.md"
    text = log.read_text()
    readme = (ROOT / "README.md").read_text()
    assert run_all.render(results_dir, log.parent) == text, "docs/experiments_log.md is stale: run run_all.py --log-only"
    for part, ids in CLAIMS.items():
        results = check_results(results_dir / part, part)
        assert results["config"]["quick"] is False, f"{part}: the committed results must come from a full run"
        for c in results["claims"]:
            verdict = "reproduced" if c["reproduced"] else "**not reproduced**"
            assert f"| {part} | `{c['id']}` | {verdict} |" in text
            assert f"| {part} | `{c['id']}` | {verdict} |" in readme, f"README's results table is stale: {c['id']}"
