"""experiments/harness/compare_results.py: the proof that a restructuring moved no number
must itself be able to see a moved number."""
from __future__ import annotations

import copy
import json
import pathlib

from experiments.harness.compare_results import compare, main


def results() -> dict:
    run = {"role": "healthy", "weight_seed": 0, "data_seed": 0, "lr": 0.01, "steps": 3, "case": None}
    return {
        "config": {"script": "part3_break"},
        "runs": [{"run": run, "label": "healthy, seed 0", "loss_at_eval_steps": [0.7, 0.5, 0.4], "seconds": 1.5}],
        "claims": [{"id": "c", "per_seed": [{"seed": 0, "measured": {"ratio": 2.0}, "reproduced": True}]}],
        "doctor": {"healthy": {"found": 5, "of": 5}},
    }


def test_the_same_results_are_identical():
    compared, differences, _ = compare(results(), results())
    # 3 losses, 1 measured, 2 in the doctor's entry (the run's settings are its identity, not compared)
    assert differences == [] and compared == 6


def test_a_changed_loss_is_a_difference():
    after = results()
    after["runs"][0]["loss_at_eval_steps"][2] = 0.4000000000000001
    assert compare(results(), after)[1] == ["healthy, seed 0: loss_at_eval_steps differs"]


def test_wall_time_is_not_a_difference():
    after = results()
    after["runs"][0]["seconds"] = 9.0
    assert compare(results(), after)[1] == []


def test_a_changed_verdict_measure_and_doctor_are_differences():
    after = results()
    after["claims"][0]["per_seed"][0]["reproduced"] = False
    after["doctor"]["healthy"]["found"] = 4
    assert compare(results(), after)[1] == ["claim c, seed 0: reproduced differs", "doctor differs"]


def test_a_claim_judged_on_fewer_seeds_is_a_difference():
    after = results()
    after["claims"][0]["per_seed"] = []
    assert compare(results(), after)[1] == ["claim c: judged on 1 seeds before, 0 after"]


def test_a_run_with_other_settings_is_not_matched():
    after = results()
    after["runs"][0]["run"]["lr"] = 0.02
    differences = compare(results(), after)[1]
    assert sorted(d.split(":")[0] for d in differences) == ["run only after", "run only before"]


def test_results_written_before_the_seed_was_renamed_still_match():
    before = copy.deepcopy(results())
    before["runs"][0]["run"]["seed"] = before["runs"][0]["run"].pop("weight_seed")
    assert compare(before, results())[1] == []


def test_main_exits_1_on_a_difference(tmp_path: pathlib.Path, capsys):
    after = results()
    after["runs"][0]["loss_at_eval_steps"][0] = 0.8
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "results.json").write_text(json.dumps(results()))
    (tmp_path / "b" / "results.json").write_text(json.dumps(after))
    assert main([str(tmp_path / "a"), str(tmp_path / "a")]) == 0
    assert main([str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    assert "1 differences" in capsys.readouterr().out
