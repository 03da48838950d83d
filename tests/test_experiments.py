"""The four experiment scripts: --quick runs, their results schema, verdict logic, and the log."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from typing import NamedTuple

import numpy as np
import pytest

import tinynet as tn
from experiments import part1_sanity, part2_overfit, part3_break, part4_scale, run_all
from experiments.harness import flags, output, verdicts
from experiments.part3.cases import CASES
from experiments.harness.runner import run_many

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLAIMS = {
    "part1_sanity": ["loss_at_init_ln2", "gradients_match_finite_differences"],
    "part2_overfit": ["overfit_near_zero_loss", "lr001_stable", "wider_converges_faster", "lr10_blows_up"],
    "part3_break": ["lr10_diverges", "relu_last_stops_learning"],
    "part4_scale": ["fails_to_converge_1000", "val_acc_near_baseline", "lr_does_not_help", "time_per_step_grows"],
}
# The claims whose thresholds mean the same on a --quick run; the others are not judged there.
AT_ANY_LENGTH = {"loss_at_init_ln2", "gradients_match_finite_differences", "lr001_stable", "lr10_blows_up",
                 "lr10_diverges", "time_per_step_grows"}
SCRIPTS = {"part1_sanity": part1_sanity, "part2_overfit": part2_overfit, "part3_break": part3_break,
           "part4_scale": part4_scale}
STUDIES = {"part1_sanity": part1_sanity.PART1, "part2_overfit": part2_overfit.PART2,
           "part3_break": part3_break.PART3, "part4_scale": part4_scale.PART4}


def check_results(folder: pathlib.Path, part: str, claims: dict[str, list[str]] = CLAIMS) -> dict:
    results = json.loads((folder / "results.json").read_text())
    assert results["config"]["script"] == part
    assert [c["id"] for c in results["claims"]] == claims[part]
    for c in results["claims"]:
        assert set(c) - {"cause"} == {"id", "log_says", "measured", "reproduced", "explanation", "reproduced_in",
                                      "seeds", "interval", "verdict", "per_seed"}
        assert c["interval"] == pytest.approx(list(verdicts.wilson_interval(c["reproduced_in"], c["seeds"])))
        assert c["measured"] and c["explanation"]
        # reproduced: on every seed judged; null where no seed was judged, never a false that reads as refuted
        assert c["reproduced"] is (c["reproduced_in"] == c["seeds"] if c["seeds"] else None)
        for e in c["per_seed"]:
            fields = {"seed", "weight_seed", "data_seed", "interrupted", "measured", "reproduced", "explanation"}
            assert fields == set(e)
        if c["verdict"] == verdicts.NOT_JUDGED_AT_LENGTH:  # a claim set for the full length, on a short run
            assert c["seeds"] == 0 and all(e["reproduced"] is None for e in c["per_seed"])
            continue
        assert c["verdict"] == verdicts.overall_verdict(c["reproduced_in"], c["seeds"])
        assert c["reproduced_in"] == sum(e["reproduced"] for e in c["per_seed"] if not e["interrupted"])
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
    assert len(results["config"]["seeds"]) >= 2, "--quick judges every claim on at least 2 seeds"
    printed = capsys.readouterr().out
    assert all(claim_id in printed for claim_id in CLAIMS[part])
    for c in results["claims"]:
        if c["id"] in AT_ANY_LENGTH:
            assert f"{c['id']}  {c['reproduced_in']}/{c['seeds']}" in printed
        else:  # its thresholds are for the full length: no verdict from a quick run
            assert f"{c['id']}  not judged at this length" in printed and c["seeds"] == 0
    assert all(fig in printed for fig in results["figures"]), "the summary lists the figures it wrote"


@pytest.mark.parametrize("part", list(SCRIPTS))
def test_quick_run_on_digits(part, tmp_path, capsys):
    """Real data: every part on 64 features and 10 classes, the model [64, 500, 500, 10], the
    claims that depend on C judged against it, and pictures of images where a boundary was."""
    cases = ["--cases", "all"] if part == "part3_break" else []
    assert SCRIPTS[part].main(["--quick", "--dataset", "digits", "--seed", "0", *cases, "--out", str(tmp_path)]) == 0
    every_case = {**CLAIMS, "part3_break": [case.claim for case in CASES]}
    results = check_results(tmp_path, part, every_case)
    assert results["config"]["dataset"] == "digits" and results["config"]["model"] == [64, 500, 500, 10]
    by_id = {c["id"]: c for c in results["claims"]}
    if part == "part1_sanity":
        measured = by_id["loss_at_init_ln2"]["per_seed"][0]["measured"]
        assert measured["classes"] == 10 and measured["ln_c"] == pytest.approx(np.log(10))
        assert by_id["loss_at_init_ln2"]["reproduced_in"] == 1  # about 2.30, not 0.69
    if part in ("part2_overfit", "part3_break"):
        assert "pictures.png" in results["figures"] and "boundary.png" not in results["figures"]
    if part == "part3_break":
        twice = by_id["softmax_twice_never_converges"]["per_seed"][0]["measured"]
        assert twice["loss_floor"] == pytest.approx(np.log(1 + 9 / np.e))  # ln(1 + (C - 1)/e), 1.46 for 10
    if part == "part4_scale":
        assert results["config"]["n_train"] == 1437 and results["config"]["n_val"] == 359  # every digit but one
        assert "1,797" in by_id["time_per_step_grows"]["per_seed"][0]["explanation"]


@pytest.mark.parametrize("part", ["part3_break", "part4_scale"])  # Part 4: what .ci/gpu runs on CuPy
def test_quick_run_on_the_strict_backend(part, tmp_path):
    """Every Part 3 case too: the user-written layers and losses, the data transforms and the
    hooks make no hidden copy to the host either."""
    cases = ["--cases", "all"] if part == "part3_break" else []
    assert SCRIPTS[part].main(["--quick", "--backend", "strict", "--seed", "0", *cases, "--out", str(tmp_path)]) == 0
    every_case = {**CLAIMS, "part3_break": [case.claim for case in CASES]}
    assert check_results(tmp_path, part, every_case)["config"]["backend"] == "strict"


def study_args(part: str, argv: list[str]):
    """The flags as the part's own script reads them (with its own flags, e.g. Part 3's --cases)."""
    return flags.read(STUDIES[part], argv)


def runs_of(folder: pathlib.Path) -> dict[str, dict]:
    """{the run's identity as JSON: its record less the wall time}."""
    runs = json.loads((folder / "results.json").read_text())["runs"]
    return {json.dumps(r["run"], sort_keys=True): {k: v for k, v in r.items() if k != "seconds"} for r in runs}


def test_same_seed_same_numbers_serial_or_parallel_and_different_seed_different(tmp_path):
    """Every run computes with one BLAS thread in its own process or in this one: its numbers
    cannot depend on --jobs. Runs of different seeds, in the same results, must differ."""
    for jobs in ("1", "2"):
        assert part3_break.main(["--steps", "30", "--seeds", "0-1", "--jobs", jobs, "--out", str(tmp_path / jobs)]) == 0
    serial, parallel = runs_of(tmp_path / "1"), runs_of(tmp_path / "2")
    assert serial == parallel and len(serial) == 6
    by_seed: dict[int, list] = {}
    for record in serial.values():
        by_seed.setdefault(record["run"]["weight_seed"], []).append(record["loss_at_eval_steps"])
    assert by_seed[0] != by_seed[1]


def test_part4_runs_do_not_depend_on_jobs():
    """Part 4's runs at N = 1,000, where two BLAS threads changed products in the last bit:
    trained in this process and in two workers, every number agrees."""
    args = flags.parse(flags.parser("", default_steps=5), ["--seeds", "0", "--out", "runs/flag-test"], "x")
    runs = [r for p in part4_scale.plan(args).values() for r in p.runs()]
    serial, parallel = (run_many(runs, backend="numpy", jobs=jobs)[0] for jobs in (1, 2))
    assert len(serial) == len(runs) == 8
    for run in runs:
        a, b = (output.run_record(run, outcomes[run]) for outcomes in (serial, parallel))
        a.pop("seconds"), b.pop("seconds")
        assert a == b, run.label


@pytest.mark.parametrize("given", [[], ["--lr", "10"], ["--lr", "0.01"], ["--lr", "10", "--steps", "7"],
                                   ["--seeds", "0,0,1"], ["--data-seed", "3", "--seeds", "0-2"],
                                   ["--weight-seed", "3", "--seeds", "0-2"]])
@pytest.mark.parametrize("part", ["part2_overfit", "part3_break", "part4_scale"])
def test_no_flag_value_makes_two_runs_share_an_identity(part, given):
    """Runs are looked up by their Run (every setting and a role), never by a display label:
    with --lr 10 the main run and the lr-10 run have the same settings but stay two runs."""
    cases = ["--cases", "all"] if part == "part3_break" else []
    args = study_args(part, [*given, *cases, "--out", "runs/identity-test"])
    plans = SCRIPTS[part].plan(args)
    runs = [r for p in plans.values() for r in p.runs()]
    per_seed = len(next(iter(plans.values())).runs())
    assert len(set(runs)) == len(runs) == len(args.seeds) * per_seed


def test_lr_10_keeps_the_healthy_run_and_judges_the_main_one(tmp_path):
    """The reported bug: `part2_overfit.py --quick --lr 10` gave two runs one label and lost one."""
    assert part2_overfit.main(["--quick", "--lr", "10", "--seed", "0", "--jobs", "1", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    roles = [(r["run"]["role"], r["run"]["sizes"][1], r["run"]["lr"]) for r in results["runs"]]
    assert roles == [("main", 25, 10.0), ("main", 500, 10.0), ("lr 10", 500, 10.0)]
    stable = next(c for c in results["claims"] if c["id"] == "lr001_stable")
    assert stable["reproduced"] is False  # judged on the main run, which diverged at lr 10


@pytest.mark.parametrize("argv, message", [
    (["--steps", "-5"], "argument --steps: must be a positive integer, got '-5'"),
    (["--seed", "-1"], "argument --seed: must be a non-negative integer, got '-1'"),
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


def test_ctrl_c_writes_partial_results_marked_interrupted(monkeypatch, tmp_path, capsys):
    calls = {"n": 0}
    step = tn.SGD.step

    def interrupt_later(self):
        calls["n"] += 1
        if calls["n"] == 320:  # 300 healthy steps, 2 at lr 10 (it diverges at the second): inside the third run
            raise KeyboardInterrupt
        step(self)

    monkeypatch.setattr(tn.SGD, "step", interrupt_later)
    assert part3_break.main(["--quick", "--jobs", "1", "--out", str(tmp_path)]) == 130
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["interrupted"] is True
    runs = results["runs"]
    assert [(r["run"]["role"], r["interrupted"]) for r in runs] == [
        ("healthy", False), ("lr 10", False), ("ReLU last", True)]
    assert runs[2]["steps_taken"] == 17  # its 18th update was cut short, with that step's loss
    relu = next(c for c in results["claims"] if c["id"] == "relu_last_stops_learning")
    assert relu["seeds"] == 0 and relu["verdict"] == "not judged at this length"
    assert "Seed 0 interrupted" in relu["explanation"]
    assert relu["per_seed"][0]["interrupted"] is True  # judged, shown, and marked, not counted
    # The printed line of the run cut short says so, and where: its "final loss" is from step 17.
    lines = [line for line in capsys.readouterr().out.splitlines() if "seed 0 " in line and " -> " in line]
    assert [("interrupted at step 17" in line) for line in lines] == [False, False, True], lines


def test_a_claim_of_a_part_that_trains_nothing_is_judged():
    """Part 1 trains nothing (no --steps: args.steps is None): a claim there is judged, whatever
    its any_length, never compared with a number of steps."""
    from experiments.harness import study
    from experiments.harness.seeds import Seed
    from experiments.harness.verdicts import Verdict

    claim = study.Claim("c", "(not in the log) says", needs=lambda p: [],
                        judge=lambda s, p, hist, args: Verdict({"x": 1.0}, True, "Seed 0: it did."))
    args = type("Args", (), {"seeds": [Seed(0, 0, 0)], "steps": None})()
    _, claims = study.judge([claim], args, {Seed(0, 0, 0): None}, {}, {}, full_steps=1)
    assert claims[0]["reproduced_in"] == claims[0]["seeds"] == 1



@pytest.mark.parametrize("part", ["part2_overfit", "part3_break", "part4_scale"])
def test_a_part_s_flags_give_its_own_steps_quick_or_not(part):
    """flags.read: the part's default number of steps, its own with --quick, --steps if given."""
    study = STUDIES[part]
    given = ([], ["--quick"], ["--steps", "7"])
    read = [flags.read(study, [*flags_, "--out", "runs/flag-test"]).steps for flags_ in given]
    assert read == [study.default_steps, study.quick_steps, 7]


def test_the_doctor_benchmark_counts_each_case_by_its_own_cause_and_the_healthy_runs_false_alarms():
    """Runs that carry a case are tallied by the cause their case expects; runs that break
    nothing count a false alarm for any cause but "healthy"; a run cut short is not counted; a
    study whose runs break nothing has no benchmark."""
    from experiments.harness import study
    from experiments.harness.runner import Outcome, Run
    from experiments.harness.seeds import Seed
    from tinynet.training import History

    class Case:  # the two fields the benchmark reads of a case
        def __init__(self, name, doctor):
            self.name, self.doctor = name, doctor

    class Runs(NamedTuple):
        healthy: Run
        broken: Run

        def runs(self):
            return [self.healthy, self.broken]

    case = Case("too_fast", "lr_too_high")
    seeds = [Seed(s, s, s) for s in range(4)]
    plans = {s: Runs(s.run("healthy", lr=0.01, steps=1), s.run("broken", lr=10.0, steps=1, case=case))
             for s in seeds}
    said = {(0, "healthy"): "healthy", (0, "broken"): "lr_too_high", (1, "healthy"): "dead_relu",
            (1, "broken"): "unlearnable", (2, "healthy"): "healthy", (2, "broken"): "lr_too_high",
            (3, "healthy"): "healthy", (3, "broken"): "lr_too_high"}
    outcomes = {r: Outcome(History(loss=[0.7], eval_steps=[0], interrupted=s.seed == 2),
                           doctor={"cause": said[s.seed, r.role], "findings": [{"id": "a"}]})
                for s, p in plans.items() for r in p.runs()}
    args = type("Args", (), {"seeds": seeds})()
    bench = study.doctor_benchmark(args, plans, outcomes)
    row = bench["cases"]["too_fast"]
    assert (row["expected"], row["k"], row["n"]) == ("lr_too_high", 2, 3)  # seed 2 cut short: not counted
    assert [e["cause"] for e in row["per_seed"]] == ["lr_too_high", "unlearnable", "lr_too_high"]
    assert (bench["false_alarms"]["k"], bench["false_alarms"]["n"]) == (1, 3)
    assert bench["false_alarms"]["per_seed"][1] == {"seed": 1, "cause": "dead_relu", "findings": ["a"]}
    healthy_only = {s: Runs(p.healthy, p.healthy) for s, p in plans.items()}
    assert study.doctor_benchmark(args, healthy_only, outcomes) is None

def test_part2_s_figures_name_the_study_s_seed(monkeypatch, tmp_path):
    """With --weight-seed fixed the run's weight seed is not the study's seed: every figure's
    title names the study's seed, the one k/n counts."""
    from tinynet import plots

    titles = []
    monkeypatch.setattr(plots, "loss_curves", lambda curves, title, *a, **k: titles.append(title))
    monkeypatch.setattr(plots, "decision_boundaries", lambda panels, *a, **k: titles.append(panels[0][0]))
    argv = ["--steps", "3", "--seed", "1", "--weight-seed", "3", "--jobs", "1", "--out", str(tmp_path)]
    assert part2_overfit.main(argv) == 0
    assert len(titles) == 3 and all("seed 1" in t and "seed 3" not in t for t in titles), titles


def test_part4_prints_each_run_under_the_study_s_seed(capsys):
    """With --weight-seed fixed every run has the same weight seed: the printed lines name the
    study's seeds, 0 and 1, as the claims count them."""
    from tinynet.training import History

    args = flags.parse(flags.parser("", default_steps=5), ["--seeds", "0-1", "--weight-seed", "3", "--out",
                                                            "runs/flag-test"], "x")
    plans = part4_scale.plan(args)
    hist = {p.main: History(loss=[0.7, 0.6], eval_steps=[0, 1], train_acc=[0.5, 0.6], val_acc=[0.5, 0.6],
                            grad_norm={}, measured={}) for p in plans.values()}
    part4_scale.PART4.print_runs(args, plans, hist, {"baseline": dict.fromkeys(hist, 0.5),
                                                       "doctor": dict.fromkeys(hist, "healthy"), "diagnosis": None})
    printed = [line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith("  seed ")]
    assert printed == ["0", "1"]


def test_part4_prints_which_run_was_cut_short_and_where(monkeypatch, tmp_path, capsys):
    """A run's printed line gives its last numbers; for a run that Ctrl-C stopped, those are not
    the end of training, and the line says at which step they were taken."""
    calls = {"n": 0}
    step = tn.SGD.step

    def interrupt_later(self):
        calls["n"] += 1
        if calls["n"] == 101:  # three 30-step lr-sweep runs, then the 11th update of the fourth run
            raise KeyboardInterrupt
        step(self)

    monkeypatch.setattr(tn.SGD, "step", interrupt_later)
    assert part4_scale.main(["--quick", "--seeds", "0", "--jobs", "1", "--out", str(tmp_path)]) == 130
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  seed 0 ")]
    assert len(lines) == 4 and not any("interrupted" in line for line in lines[:3]), lines
    assert lines[3].endswith("interrupted at step 10"), lines[3]


def test_ctrl_c_reaches_the_worker_processes(tmp_path):
    """SIGINT to the script alone (as `timeout -s INT` sends it) stops the runs in its workers:
    exit 130, the runs cut short kept and marked, no traceback."""
    script = ROOT / "experiments" / "part3_break.py"
    proc = subprocess.Popen([sys.executable, str(script), "--seeds", "0-1", "--jobs", "2", "--steps", "50000",
                             "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # the workers are training by now (a run takes minutes)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err and "INTERRUPTED" in out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["interrupted"] is True
    assert any(r["interrupted"] for r in results["runs"])


@pytest.mark.parametrize("part", ["part2_overfit", "part3_break", "part4_scale"])
@pytest.mark.parametrize("at_forward", [1, 2, 3])  # the first step; its measurement's forwards
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
    assert SCRIPTS[part].main(["--quick", "--jobs", "1", "--out", str(tmp_path)]) == 130
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["interrupted"] is True
    assert "INTERRUPTED" in capsys.readouterr().out
    for run in results["runs"]:
        n = len(run["eval_steps"])
        assert n >= 1 and run["steps_taken"] >= 1 and len(run["loss_at_eval_steps"]) == n
        lists = {k: v for k, v in run.items() if isinstance(v, list)}  # the loop's series and the hook's
        assert {"eval_steps", "train_acc", "val_acc"} <= set(lists)
        if run["label"].startswith("ReLU last"):  # the hook of that case, on its run alone
            assert {"logits_clipped", "dead_outputs", "dead_units", "stranded"} <= set(lists)
        assert all(len(series) == n for series in lists.values()), {k: len(v) for k, v in lists.items()}
        assert all(len(series) == n for series in [*run["grad_norm"].values(), *run["relu_zero"].values()])


def test_ctrl_c_stops_run_all_at_the_part_it_interrupted(monkeypatch, tmp_path, capsys):
    """One Ctrl-C stops the whole run: the interrupted part keeps its partial results, no
    later part runs, and the log is not regenerated from a mix of old and partial results."""
    def interrupt(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(tn.SGD, "step", interrupt)  # Part 1 takes no step; Part 2's first step stops
    log = tmp_path / "log.md"
    assert run_all.main(["--quick", "--jobs", "1", "--out", str(tmp_path), "--log", str(log)]) == 130
    assert json.loads((tmp_path / "part2_overfit" / "results.json").read_text())["interrupted"] is True
    assert not (tmp_path / "part3_break").exists() and not log.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("interrupted: part2_overfit stopped early"), err


def test_run_all_signalled_mid_part_ends_with_one_line(tmp_path):
    """As a user runs it: SIGTERM during Part 2, and the script's whole say is one line."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "experiments" / "run_all.py"), "--quick", "--jobs", "1",
                             "--out", str(tmp_path), "--log", str(tmp_path / "log.md")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("=== part2_overfit"):
            break
    time.sleep(1.0)  # into Part 2's training
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    lines = err.strip().splitlines()  # Part 2, or a later part on a machine fast enough to have finished it
    assert len(lines) == 1 and lines[0].startswith("interrupted: part") and "stopped early" in lines[0], err


# --- seeds, and the one rule across them --------------------------------------------------------
@pytest.mark.parametrize("text, seeds", [("0-4", [0, 1, 2, 3, 4]), ("7", [7]), ("0,3,7", [0, 3, 7]),
                                         ("0-2,9", [0, 1, 2, 9]), ("1,1,0-1", [1, 0])])
def test_seed_lists_and_ranges(text, seeds):
    assert flags.parse_seeds(text) == seeds


@pytest.mark.parametrize("argv, varied, pairs", [
    ([], "the initial weights and the data", [(0, 0, 0), (1, 1, 1)]),
    (["--data-seed", "5"], "the initial weights", [(0, 0, 5), (1, 1, 5)]),
    (["--weight-seed", "5"], "the data", [(0, 5, 0), (1, 5, 1)]),
])
def test_data_and_weight_seeds_can_be_fixed_separately(argv, varied, pairs):
    args = flags.parse(flags.parser("", default_steps=1), [*argv, "--seeds", "0-1", "--out", "runs/flag-test"], "x")
    assert args.varied == varied and [tuple(s) for s in args.seeds] == pairs


# --- Part 4's diagnosis ------------------------------------------------------------------------
class DiagHistory:
    def __init__(self, loss, val, reached_at=None):
        self.loss, self.train_acc, self.val_acc, self.reached_at = [0.7, loss], [0.5, 0.9], [0.5, val], reached_at


def test_the_log_s_picture_needs_all_three_of_its_numbers():
    assert part4_scale.picture(DiagHistory(0.6, 0.63), 0.64)["like_the_log"]  # stuck, 63% vs a 64% baseline
    assert not part4_scale.picture(DiagHistory(0.6, 0.50), 0.52)["like_the_log"]  # near its baseline, not 64%
    assert not part4_scale.picture(DiagHistory(0.6, 0.64), 0.52)["like_the_log"]  # 64%, far from the baseline
    assert not part4_scale.picture(DiagHistory(0.02, 0.64), 0.64)["like_the_log"]  # converged
    assert not part4_scale.picture(DiagHistory(0.2, 0.64, reached_at=900), 0.64)["like_the_log"]  # got there


def test_diagnosis_names_the_change_that_reproduces_the_log():
    rows = {"main run": {"0": part4_scale.picture(DiagHistory(0.02, 0.97), 0.52)},
            "labels: coin flips, 64:36": {"0": part4_scale.picture(DiagHistory(0.6, 0.63), 0.64)},
            "mini-batch 32": {"0": part4_scale.picture(DiagHistory(0.03, 0.96), 0.52)}}
    summary = {role: {"like_the_log_in": sum(r["like_the_log"] for r in by.values()), "seeds": len(by)}
               for role, by in rows.items()}
    text = part4_scale.conclusion(rows, summary)
    assert "reproduced by: labels: coin flips, 64:36 (every seed)" in text
    assert "rest on 1 seed." in text and "main run: train loss 0.02, val accuracy 97.0%" in text
    rows["labels: coin flips, 64:36"]["0"] = part4_scale.picture(DiagHistory(0.02, 0.9), 0.64)
    summary["labels: coin flips, 64:36"]["like_the_log_in"] = 0
    assert "None of the changes tried reproduces the log's picture." in part4_scale.conclusion(rows, summary)


def test_diagnosis_changes_one_thing_from_the_main_run():
    args = flags.parse(flags.parser("", default_steps=100, default_seeds="0"), ["--out", "runs/x"], "x")
    p = part4_scale.plan(args)[args.seeds[0]]
    main = vars(p.main)
    for role, run in p.diagnosis.items():
        changed = {k for k, v in vars(run).items() if v != main[k]} - {"role", "until_loss"}
        assert len(changed) == 1 or changed == {"dataset", "ones"}, (role, changed)  # coin flips at 64:36


# --- the committed log --------------------------------------------------------------------------
@pytest.mark.parametrize("results, log, dataset", [("results", "experiments_log.md", "xor"),
                                                   ("results_digits", "experiments_log_digits.md", "digits")])
def test_committed_log_is_exactly_what_the_committed_results_say(results, log, dataset):
    results_dir, log = ROOT / "docs" / results, ROOT / "docs" / log
    text = log.read_text()
    readme = (ROOT / "README.md").read_text()
    assert run_all.render(results_dir, log.parent) == text, \
        f"docs/{log.name} is stale: run run_all.py --log-only --out docs/{results} --log docs/{log.name}"
    assert json.loads((results_dir / "part1_sanity" / "results.json").read_text())["config"]["dataset"] == dataset
    every_case = {**CLAIMS, "part3_break": [case.claim for case in CASES]}  # --cases all
    for part, ids in every_case.items():
        results = check_results(results_dir / part, part, every_case)
        assert results["config"]["quick"] is False, f"{part}: the committed results must come from a full run"
        if part != "part4_scale":
            assert len(results["config"]["seeds"]) >= 5, f"{part}: the committed log judges on at least 5 seeds"
        for c in results["claims"]:
            row = run_all.summary_row(part, c)
            assert row in text
            assert row in readme, f"README's results table is stale: {c['id']}"
    doctor = run_all.doctor_rows(json.loads((results_dir / "part3_break" / "results.json").read_text()))
    assert len(doctor) == len(CASES) + 1, "the committed Part 3 results must hold the doctor's benchmark"
    for row in doctor:
        assert row in text and row in readme, f"README's doctor table is stale: {row}"


# --- runs and files: one run per --out, no temporary file left, SIGTERM as Ctrl-C ---------------
def test_a_second_run_on_the_same_out_is_refused_with_one_line(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    with open(tmp_path / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running experiment holds it
        held.write("pid 12345")
        held.flush()
        done = subprocess.run([sys.executable, str(ROOT / "experiments" / "part3_break.py"), "--quick",
                               "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and not (tmp_path / "results.json").exists()
    assert "is in use by another run (pid 12345)" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_part1_refuses_a_folder_it_cannot_use_before_its_sanity_checks(monkeypatch, tmp_path, capsys):
    """Part 1's plan is its work (a full gradient check per seed, about 40 s): the folder is held
    first, so an --out that cannot be used is said at once, not after the checks."""
    def planned(args):
        raise AssertionError("planned before the folder was held")

    monkeypatch.setattr(part1_sanity, "plan", planned)
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit) as info:
        part1_sanity.main(["--quick", "--out", str(tmp_path / "a_file" / "under")])
    assert info.value.code == 2 and "cannot write to --out" in capsys.readouterr().err


def test_the_lock_goes_with_the_run_and_stale_temporaries_are_removed(tmp_path):
    (tmp_path / ".results.abc123.tinynet-tmp").write_text("left by a killed run")
    assert part1_sanity.main(["--quick", "--out", str(tmp_path)]) == 0
    assert part1_sanity.main(["--quick", "--out", str(tmp_path)]) == 0  # the first run's lock is gone
    assert not list(tmp_path.glob("*tinynet-tmp*"))


def test_a_figure_that_cannot_be_saved_leaves_no_temporary_file(monkeypatch, tmp_path):
    from tinynet import plots

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plots.plt.Figure, "savefig", full_disk)
    with pytest.raises(OSError, match="No space left"):
        plots.scaling([1, 10], [1.0, 2.0], "t", tmp_path / "fig.png")
    assert list(tmp_path.iterdir()) == []


def test_sigterm_is_treated_as_ctrl_c(tmp_path):
    """What `timeout` and batch schedulers send: partial results written, exit 130, one line."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "experiments" / "part3_break.py"), "--seed", "0",
                             "--jobs", "1", "--steps", "50000", "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert json.loads((tmp_path / "results.json").read_text())["interrupted"] is True


def test_an_unavailable_backend_is_named_as_a_flag(capsys):
    try:
        tn.get_backend("cupy")
        pytest.skip("CuPy works here")
    except tn.BackendUnavailableError:
        pass
    with pytest.raises(SystemExit):
        flags.parse(flags.parser("", default_steps=1), ["--backend", "cupy", "--out", "runs/flag-test"], "x")
    err = capsys.readouterr().err
    assert "--backend numpy" in err and "backend='numpy'" not in err


KILLED_RUNS = [["part1_sanity.py", "--quick"], ["part2_overfit.py", "--steps", "30"]]  # ~1.1 and ~1.6 s alone


def catches_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler yet (Linux: the SigCgt mask in /proc)."""
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    except OSError:  # already gone
        pass
    return False


@pytest.mark.skipif(not pathlib.Path("/proc/self/status").exists(), reason="reads signal masks from Linux's /proc")
def test_runs_killed_at_random_moments_leave_complete_results_or_none(tmp_path):
    """Fault injection, seeded: 30 short runs (Part 1, and Part 2 with its training, figures
    and results), eight at a time, each sent SIGKILL, SIGTERM or SIGINT at a random moment
    from when the script has installed its signal handlers (experiments/harness/preamble.py, before its
    first slow import; the interpreter's own start-up before that is not the project's to
    handle) to past its end. Results are absent or whole and valid; SIGTERM and SIGINT end
    with one line and exit 130 (or 0 if the run had finished), even during the imports;
    SIGKILL may leave temporary files only under names the next run on that folder removes."""
    rng = np.random.default_rng(0)
    trials = [(KILLED_RUNS[i % 2], [signal.SIGKILL, signal.SIGTERM, signal.SIGINT][i % 3], float(rng.uniform(0.0, 4.5)))
              for i in range(30)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}  # eight processes on two cores: no spinning BLAS threads
    waiting, running, ended = list(enumerate(trials)), [], []
    while waiting or running:
        while waiting and len(running) < 8:
            i, (argv, sig, delay) = waiting.pop(0)
            out = tmp_path / str(i)
            proc = subprocess.Popen([sys.executable, str(ROOT / "experiments" / argv[0]), *argv[1:], "--seed", "0",
                                     "--jobs", "1", "--out", str(out)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True, env=env)
            running.append([proc, sig, delay, None, out])  # None: the moment to kill it, once its handlers are in
        time.sleep(0.01)
        for trial in list(running):
            proc, sig, delay, kill_at, _ = trial
            if kill_at is None and catches_sigterm(proc.pid):
                trial[3] = kill_at = time.monotonic() + delay
            if proc.poll() is None and (kill_at is None or time.monotonic() < kill_at):
                continue
            if proc.poll() is None:
                proc.send_signal(sig)
            running.remove(trial)
            ended.append((proc, sig, kill_at, trial[4]))
    for proc, sig, _, out in ended:
        err = proc.communicate(timeout=120)[1]
        if sig == signal.SIGKILL:
            assert proc.returncode in (0, -signal.SIGKILL)
        elif proc.returncode == 130:
            assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err, err
        else:  # it finished first. A signal in its last moments can land in a weakref callback,
            # where Python itself prints "Exception ignored in ..." and carries on: not ours to stop.
            assert proc.returncode == 0, err
            assert "Traceback" not in err or "Exception ignored in" in err, err
        if (out / "results.json").exists():
            assert json.loads((out / "results.json").read_text())["config"]["script"] in ("part1_sanity",
                                                                                         "part2_overfit")
        for png in out.glob("*.png") if out.exists() else []:
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png} was left half-written"
        if out.exists():
            kept = {"results.json", ".lock"}
            leftovers = [p.name for p in out.iterdir() if p.name not in kept and p.suffix != ".png"]
            assert all(name.endswith(".tinynet-tmp") for name in leftovers), leftovers
            output.hold(out)  # what the next run on it does first
            assert not list(out.glob("*.tinynet-tmp"))
    codes = [proc.returncode for proc, *_ in ended]
    assert codes.count(130) >= 10 and codes.count(-signal.SIGKILL) >= 5, codes  # most landed before the end


INTERRUPT_DURING_IMPORTS = """
import os, runpy, signal, sys
class CtrlC:  # a Ctrl-C at the moment the script starts importing NumPy
    def find_spec(self, name, path, target=None):
        if name == "numpy":
            os.kill(os.getpid(), signal.SIGINT)
sys.meta_path.insert(0, CtrlC())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("script", [*SCRIPTS, "run_all"])
def test_ctrl_c_during_the_imports_ends_with_one_line(script, tmp_path):
    done = subprocess.run([sys.executable, "-c", INTERRUPT_DURING_IMPORTS, str(ROOT / "experiments" / f"{script}.py"),
                           "--quick", "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130 and done.stderr.strip() == "interrupted", done.stderr
    assert not (tmp_path / "results.json").exists()


def test_the_timing_explanation_follows_the_measured_verdict():
    """On a CPU the step grows with N; on a GPU it was flat (launch-bound): the sentence of why
    must match what was measured, not assume growth."""
    grew = part4_scale.judge_timing({"100": 1.2, "1000": 9.7, "10000": 102.0})
    flat = part4_scale.judge_timing({"100": 1.32, "1000": 1.35, "10000": 1.80})
    assert grew.reproduced and "linear in N; below a few hundred" in grew.explanation
    assert not flat.reproduced and "stays nearly flat" in flat.explanation
    assert "hide part of that" not in flat.explanation


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped interrupt, as planned
def test_a_signal_whose_interrupt_matplotlib_swallowed_still_stops_the_part(monkeypatch, tmp_path):
    """SIGTERM arrived while Python ran a weakref callback of Matplotlib's: the KeyboardInterrupt
    was dropped and the part ran on, to exit 0. The handler's record is read at the next safe
    point: the part ends interrupted (130), its results say so."""
    import weakref

    from tinynet import cli

    monkeypatch.setattr(cli, "_requested", [])  # this test's own record of signals
    real = part3_break.Part3.draw

    def draw_and_lose_a_signal(self, *args, **kwargs):
        class Figure:
            pass

        figure = Figure()
        watcher = weakref.ref(figure, lambda ref: cli.as_interrupt(signal.SIGTERM, None))  # noqa: F841
        del figure  # the callback runs: Python prints "Exception ignored" and drops the interrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(part3_break.Part3, "draw", draw_and_lose_a_signal)
    assert part3_break.main(["--quick", "--seed", "0", "--jobs", "1", "--out", str(tmp_path)]) == 130
    assert json.loads((tmp_path / "results.json").read_text())["interrupted"] is True
