"""Reliability, round two: workers die with their run, finished work survives interruptions,
every command line ends in one line, and no silent wrong answer."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import tinynet as tn
from experiments import part3_break
from experiments.harness.runner import Run, run_many
from helpers import alive, descendants
from tinynet import gradcheck

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINUX = pathlib.Path("/proc/self/status").exists()


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


# --- 1. workers die with their run -------------------------------------------------------------------
@pytest.mark.skipif(not LINUX, reason="reads the process tree from Linux's /proc")
def test_a_killed_run_takes_its_workers_with_it(tmp_path):
    """SIGKILL to the main process alone (as the OOM killer or `timeout -s KILL` sends it):
    the spawn workers and multiprocessing's resource tracker are gone within 10 s."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "experiments" / "part3_break.py"), "--seeds", "0-1",
                             "--jobs", "2", "--steps", "50000", "--out", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    started: dict[int, str] = {}
    while time.monotonic() < deadline and len(started) < 3:  # two workers and the resource tracker
        time.sleep(0.2)
        started = descendants(proc.pid)
    assert len(started) >= 2, "the workers never started"
    time.sleep(1.0)  # training now
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p, t) for p, t in started.items()):
        time.sleep(0.2)
    survivors = [p for p, t in started.items() if alive(p, t)]
    for p in survivors:  # leave none of them behind, whatever the verdict (only ours: same start time)
        os.kill(p, signal.SIGKILL)
    assert not survivors, f"{len(survivors)} of {len(started)} processes outlived their run by 10 s"


# --- 2. finished work survives a Ctrl-C -------------------------------------------------------------
def test_ctrl_c_between_runs_keeps_the_runs_that_finished(monkeypatch):
    """jobs = 1: a Ctrl-C outside train() (building the next model) returns the runs done so far."""
    import experiments.harness.runner as runner

    runs = [Run("a", seed=s, data_seed=s, lr=0.1, steps=3, sizes=(2, 4, 2), n=10) for s in range(3)]
    real, calls = runner.tn.create_model, {"n": 0}

    def interrupt_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner.tn, "create_model", interrupt_third)
    done, interrupted = run_many(runs, backend="numpy", jobs=1)
    assert interrupted and list(done) == runs[:2] and all(not o.history.interrupted for o in done.values())


def test_ctrl_c_in_the_initialisation_study_keeps_every_run(monkeypatch, tmp_path):
    """Part 3's forward-only study comes after all the training: a Ctrl-C there writes every run
    in results.json, the study's initialisations done so far, and exits 130."""
    calls = {"n": 0}
    real = part3_break.at_initialisation

    def interrupt_at_10(*args):
        calls["n"] += 1
        if calls["n"] == 10:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(part3_break, "at_initialisation", interrupt_at_10)
    assert part3_break.main(["--quick", "--jobs", "1", "--out", str(tmp_path)]) == 130
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["interrupted"] is True and len(results["runs"]) == 6
    assert not any(r["interrupted"] for r in results["runs"]) and results["init_study"]["inits"] == 9
    assert {c["id"] for c in results["claims"]} == {"lr10_diverges", "relu_last_stops_learning"}


# --- 3. every command line: one line, exit 130 on Ctrl-C and SIGTERM ----------------------------------
GRADCHECK = [sys.executable, "-m", "tinynet.gradcheck", "--samples", "100000", "--batch", "64"]  # minutes


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_gradient_checker_s_command_line_ends_in_one_line(sig):
    proc = subprocess.Popen(GRADCHECK, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # importing, then checking a 500 x 500 matrix entry by entry: minutes
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip() == "interrupted", err


@pytest.mark.parametrize("argv, says", [
    (["--log-only", "--log", ""], "argument --log: is empty"),
    (["--log-only", "--log", "{folder}"], "is a folder"),
    (["--log-only", "--log", "{file}/log.md"], "cannot write --log"),
    (["--log-only", "--log", "/proc/log.md"], "cannot write --log"),
])
def test_run_all_log_only_refuses_a_bad_log_in_one_line(argv, says, tmp_path, capsys):
    from experiments import run_all

    results = ROOT / "docs" / "results"
    (tmp_path / "file").write_text("x")
    argv = [a.format(folder=tmp_path, file=tmp_path / "file") for a in argv]
    with pytest.raises(SystemExit) as info:
        run_all.main([*argv, "--out", str(results)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and says in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("damage", ["truncated", "no claims"])
def test_run_all_log_only_names_a_damaged_results_file(damage, tmp_path, capsys):
    import shutil

    from experiments import run_all

    shutil.copytree(ROOT / "docs" / "results", tmp_path / "results", ignore=shutil.ignore_patterns("*.png"))
    target = tmp_path / "results" / "part2_overfit" / "results.json"
    text = target.read_text()
    if damage == "truncated":
        target.write_text(text[: len(text) // 2])
    else:
        data = json.loads(text)
        del data["claims"]
        target.write_text(json.dumps(data))
    with pytest.raises(SystemExit) as info:
        run_all.main(["--log-only", "--out", str(tmp_path / "results"), "--log", str(tmp_path / "log.md")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "incomplete or damaged" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("part", ["part1_sanity", "part2_overfit", "part3_break", "part4_scale"])
def test_an_out_name_over_the_system_s_limit_is_one_line(part, capsys):
    import importlib

    module = importlib.import_module(f"experiments.{part}")
    with pytest.raises(SystemExit) as info:
        module.main(["--quick", "--out", "runs/" + "x" * 300])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "cannot write to --out" in err and len(err.strip().splitlines()) == 1, err


def test_quick_with_steps_is_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        part3_break.main(["--quick", "--steps", "50", "--out", "runs/flag-test"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--quick sets its own number of steps" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_folder_made_read_only_during_a_run_loses_nothing(monkeypatch, tmp_path, capsys):
    """Made read-only once the runs are trained: results and figures go to a fresh folder,
    named in one line, and the exit code says something went wrong (1)."""
    original = part3_break.Part3.context

    def lock_then_go_on(self, args, plans, hist):
        os.chmod(args.out, 0o555)
        return original(self, args, plans, hist)

    monkeypatch.setattr(part3_break.Part3, "context", lock_then_go_on)
    try:
        code = part3_break.main(["--quick", "--jobs", "1", "--out", str(tmp_path / "out")])
    finally:
        os.chmod(tmp_path / "out", 0o755)
    err = capsys.readouterr().err
    assert code == 1 and "results and figures go to" in err
    elsewhere = pathlib.Path(err.split("go to ")[1].split(" instead")[0])
    assert len(json.loads((elsewhere / "results.json").read_text())["runs"]) == 6


def test_a_folder_made_read_only_during_a_run_loses_nothing_even_as_root(monkeypatch, tmp_path, capsys):
    """The same, with the write failing as it would for a user (root ignores permissions)."""
    from experiments.harness import output

    real, calls = output.write_json, {"n": 0}

    def fail_first(path, obj):
        calls["n"] += 1
        if calls["n"] == 1:
            raise PermissionError(13, "Permission denied")
        real(path, obj)

    monkeypatch.setattr(output, "write_json", fail_first)
    code = part3_break.main(["--quick", "--jobs", "1", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "cannot write to --out" in err and "Permission denied" in err
    elsewhere = pathlib.Path(err.split("go to ")[1].split(" instead")[0])
    results = json.loads((elsewhere / "results.json").read_text())
    assert len(results["runs"]) == 6 and results["figures"] and (elsewhere / results["figures"][0]).exists()


# --- 5-8. no silent wrong answer ---------------------------------------------------------------------
def test_a_layer_used_twice_is_refused_at_construction():
    lin = tn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"Linear\(2->2\) is used twice \(arguments 0 and 2\)"):
        tn.Sequential(lin, tn.ReLU(), lin)
    relu = tn.ReLU()
    with pytest.raises(ValueError, match="gradients add at forks"):
        tn.Sequential(tn.Linear(2, 2), relu, tn.Linear(2, 2), relu)


def test_sgd_updates_all_or_nothing():
    """A bad gradient in the last layer: no parameter moves, not even the first layer's."""
    model = tn.create_model([2, 3, 2], seed=0)
    opt = tn.SGD(model, lr=0.1)
    model.backward(np.ones((1, 2), np.float32) * 0 + model.forward(f32(1, 2)))
    before = [getattr(layer, name).copy() for _, layer, name in tn.parameters(model)]
    model.layers[2].dW = np.ones((5, 5), np.float32)
    with pytest.raises(ValueError, match="dW has shape"):
        opt.step()
    after = [getattr(layer, name) for _, layer, name in tn.parameters(model)]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("grad_dtype", [np.float64, np.int64, np.complex64])
def test_sgd_keeps_each_parameter_s_dtype(grad_dtype):
    layer = tn.Linear(2, 2, seed=0)  # float32
    layer.backward(np.ones((1, 2), np.float32) * 0 + layer.forward(f32(1, 2)))
    layer.dW = layer.dW.astype(grad_dtype)
    opt = tn.SGD(layer, lr=0.1)
    if np.issubdtype(grad_dtype, np.floating):
        opt.step()
        assert layer.W.dtype == np.float32 and layer.b.dtype == np.float32
    else:
        W = layer.W.copy()
        with pytest.raises(TypeError, match="dW must hold real floating-point numbers"):
            opt.step()
        assert np.array_equal(layer.W, W)


def test_train_step_refuses_an_optimizer_bound_to_another_model():
    model, other = tn.create_model([2, 3, 2], seed=0), tn.create_model([2, 3, 2], seed=1)
    with pytest.raises(ValueError, match="opt updates .* not this model"):
        tn.train_step(model, tn.SoftmaxCrossEntropy(), tn.SGD(other), f32(2, 2), np.array([0, 1]))
    tn.train_step(model, tn.SoftmaxCrossEntropy(), tn.SGD(model.layers[0]), f32(2, 2), np.array([0, 1]))  # a layer of it


@pytest.mark.parametrize("dout", [np.float64(1), np.int64(1), np.array(1.0), 2, np.float32(0.5)])
def test_the_loss_gradient_keeps_the_logits_dtype_whatever_number_dout_is(dout):
    loss = tn.SoftmaxCrossEntropy()
    loss.forward(f32(3, 2), np.array([0, 1, 0]))
    assert loss.backward(dout).dtype == np.float32


@pytest.mark.parametrize("dout", [np.bool_(True), True, 1 + 0j, np.array(1 + 1j)])
def test_the_loss_refuses_a_dout_that_is_no_real_number(dout):
    loss = tn.SoftmaxCrossEntropy()
    loss.forward(f32(3, 2), np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="dL_total/dL, one number"):
        loss.backward(dout)


# --- 9-10. the checker checks something; inputs that should be refused are -----------------------
@pytest.mark.parametrize("call, error, says", [
    (lambda: gradcheck.check_layer(None, np.ones((2, 2))), TypeError, "layer must be a layer"),
    (lambda: gradcheck.check_loss(None, np.ones((2, 2)), np.array([0, 1])), TypeError, "loss_fn must be a loss"),
    (lambda: gradcheck.relative_error(np.ones(2), np.ones(2), eps=np.inf), ValueError, "eps must be a positive"),
    (lambda: gradcheck.check_layer(tn.Linear(2, 2, dtype="float64"), np.full((2, 2), np.nan)), ValueError,
     "x holds 4 NaN or inf"),
    (lambda: gradcheck.check_layer(tn.Linear(2, 2, dtype="float64"), np.zeros((0, 2))), ValueError, "x is empty"),
    (lambda: gradcheck.check(tn.Linear(2, 2), np.ones((2, 2)), check_input="x"), TypeError,
     "check_input must be True or False"),
    (lambda: tn.create_model({2: 0, 3: 0}), ValueError, "as a list, tuple or range"),
    (lambda: tn.create_model({2, 3}), ValueError, "as a list, tuple or range"),
    (lambda: tn.create_model(b"\x02\x02"), ValueError, "as a list, tuple or range"),
    (lambda: tn.Linear(2, 2, dtype=np.float32(0.5)), ValueError, "dtype must be one of"),
    (lambda: tn.ReLU().forward(np.ones((2, 2), np.float16)), TypeError, "float32 or float64"),
    (lambda: tn.ReLU().forward(np.ones((2, 2), np.longdouble)), TypeError, "float32 or float64"),
    (lambda: tn.SoftmaxCrossEntropy().forward(np.ones((2, 2), np.float16), np.array([0, 1])), TypeError,
     "float32 or float64"),
    (lambda: tn.ReLU().forward(np.matrix([[1.0, -1.0]])), TypeError, "not np.matrix"),
    (lambda: tn.Linear(2, 2).forward(np.matrix(np.ones((1, 2), np.float32))), TypeError, "not np.matrix"),
])
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix's own, on making one
def test_what_checked_nothing_or_was_taken_silently_is_refused(call, error, says):
    with pytest.raises(error, match=says):
        call()


def test_a_named_dataset_is_a_string_and_an_empty_training_set_has_no_baseline():
    from tinynet.data import Dataset, make_dataset

    with pytest.raises(ValueError, match="unknown dataset"):
        make_dataset(np.array("xor"), 10)
    empty = Dataset("x", np.zeros((0, 2)), np.zeros(0, dtype=int), np.zeros((3, 2)), np.zeros(3, dtype=int))
    assert np.isnan(empty.majority_baseline)
    with pytest.raises(TypeError, match="integer class labels"):
        _ = Dataset("x", np.zeros((2, 2)), np.array([0.5, 1.0]), np.zeros((2, 2)), np.zeros(2, dtype=int)).majority_baseline
