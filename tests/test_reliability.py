"""The experiments' processes: workers die with their run, finished work survives
interruptions, and every command line ends in one line."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from experiments import part3_break
from experiments.part3 import measures
from experiments.harness.runner import Run, run_many
from helpers import descendants, kill_and_reap

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINUX = pathlib.Path("/proc/self/status").exists()


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
    survivors = kill_and_reap(proc, started)
    assert not survivors, f"{len(survivors)} of {len(started)} processes outlived their run by 10 s"


# --- 2. finished work survives a Ctrl-C -------------------------------------------------------------
def test_ctrl_c_between_runs_keeps_the_runs_that_finished(monkeypatch):
    """jobs = 1: a Ctrl-C outside train() (building the next model) returns the runs done so far."""
    import experiments.harness.runner as runner

    runs = [Run("a", weight_seed=s, data_seed=s, lr=0.1, steps=3, sizes=(2, 4, 2), n=10) for s in range(3)]
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
    real = measures.at_initialisation

    def interrupt_at_10(*args):
        calls["n"] += 1
        if calls["n"] == 10:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(measures, "at_initialisation", interrupt_at_10)
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


@pytest.fixture
def fallback(monkeypatch, tmp_path):
    """A run's fallback folder (tempfile.mkdtemp) made inside the test's own folder, so that no
    test leaves one in the system's temporary folder."""
    folder = tmp_path / "fallback"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_folder_made_read_only_during_a_run_loses_nothing(monkeypatch, tmp_path, capsys, fallback):
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
    assert elsewhere.parent == fallback
    assert len(json.loads((elsewhere / "results.json").read_text())["runs"]) == 6


def test_a_folder_made_read_only_during_a_run_loses_nothing_even_as_root(monkeypatch, tmp_path, capsys, fallback):
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
    assert elsewhere.parent == fallback
    results = json.loads((elsewhere / "results.json").read_text())
    assert len(results["runs"]) == 6 and results["figures"] and (elsewhere / results["figures"][0]).exists()


def importing_numpy(pid: int) -> bool:
    """NumPy's compiled core is mapped into the process: tinynet's import is under way."""
    try:
        return "_multiarray_umath" in pathlib.Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not pathlib.Path("/proc/self/maps").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", [["tinynet.gradcheck"], ["tinynet.exercises", "check", "."],
                                     ["tinynet.doctor", "x.py"]], ids=["gradcheck", "exercises", "doctor"])
def test_a_signal_while_the_command_line_imports_numpy_is_one_line(command, sig):
    """python -m imports tinynet, and NumPy with it, before the command runs: a signal there
    ends the command with one line and exit code 130 (not a traceback, not a silent death)."""
    proc = subprocess.Popen([sys.executable, "-m", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while not importing_numpy(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err.strip() == "interrupted", (proc.returncode, err)


def test_a_program_that_imports_tinynet_keeps_its_own_signal_handlers():
    code = ("import signal; before = signal.getsignal(signal.SIGTERM); import tinynet; "
            "assert signal.getsignal(signal.SIGTERM) is before; assert signal.getsignal(signal.SIGINT) is "
            "signal.default_int_handler; print('kept')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "kept", done.stderr


def test_a_script_whose_own_arguments_name_a_command_keeps_its_signal_handlers(tmp_path):
    """`python mine.py -m tinynet.doctor`: the script's arguments, not python's -m."""
    script = tmp_path / "mine.py"
    script.write_text("import signal, tinynet\nassert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
                      "print('kept')\n")
    done = subprocess.run([sys.executable, str(script), "-m", "tinynet.doctor"], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "kept", done.stderr


LOST = """
import signal, weakref
from tinynet.cli import as_interrupt, run

class Figure:
    pass

def main():
    figure = Figure()
    # The handler runs inside a weakref callback (as inside Matplotlib's while a figure is
    # freed): Python prints "Exception ignored in ..." and drops the KeyboardInterrupt.
    watcher = weakref.ref(figure, lambda ref: as_interrupt(signal.SIGTERM, None))  # noqa: F841
    del figure
    print("ran on")
    return 0

run(main)
"""


def test_a_signal_whose_interrupt_python_dropped_still_ends_the_command_as_interrupted():
    done = subprocess.run([sys.executable, "-c", LOST], capture_output=True, text=True, timeout=60)
    assert "Exception ignored" in done.stderr and done.stdout.strip() == "ran on"  # dropped, as Python does
    assert done.returncode == 130 and done.stderr.strip().endswith("interrupted"), (done.returncode, done.stderr)


def test_a_disk_full_at_the_figures_says_one_line_and_the_figures_follow_the_results(monkeypatch, tmp_path, capsys,
                                                                                     fallback):
    """The disk fills as the first figure is written, then refuses results.json too: the
    results move to a fresh folder (readable as any other, not the owner's alone), the figures
    are drawn there, and the whole say is one line."""
    from experiments.harness import output

    real_draw, real_write = part3_break.Part3.draw, output.write_json
    calls = {"draw": 0, "write": 0}

    def draw_on_a_full_disk(self, *args, **kwargs):
        calls["draw"] += 1
        if calls["draw"] == 1:
            raise OSError(28, "No space left on device")
        return real_draw(self, *args, **kwargs)

    def write_once_then_full(path, obj):
        calls["write"] += 1
        if calls["write"] == 2 and str(tmp_path) in str(path):
            raise OSError(28, "No space left on device")
        real_write(path, obj)

    monkeypatch.setattr(part3_break.Part3, "draw", draw_on_a_full_disk)
    monkeypatch.setattr(output, "write_json", write_once_then_full)
    code = part3_break.main(["--quick", "--seed", "0", "--jobs", "1", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "results and figures go to" in err[0], err
    elsewhere = pathlib.Path(err[0].split("go to ")[1].split(" instead")[0])
    assert elsewhere.parent == fallback
    results = json.loads((elsewhere / "results.json").read_text())
    assert results["figures"] and all((elsewhere / f).exists() for f in results["figures"])
    mask = os.umask(0)
    os.umask(mask)
    assert elsewhere.stat().st_mode & 0o777 == 0o777 & ~mask
