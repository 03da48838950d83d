"""experiments/run_all.py: all four parts, then the log, into folders that need not exist yet."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from experiments import run_all

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"


def parts_that_copy_the_committed_results(monkeypatch) -> list[str]:
    """Each part's main replaced by one that writes the committed results where it was told
    to: run_all's own work (folders, flags, the log) at full speed. Returns the parts run."""
    ran = []
    for part in run_all.PARTS:
        module = __import__(f"experiments.{part}", fromlist=["main"])

        def main(argv, part=part):
            out = pathlib.Path(argv[argv.index("--out") + 1])
            out.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(RESULTS / part / "results.json", out / "results.json")
            ran.append(part)
            return 0

        monkeypatch.setattr(module, "main", main)
    return ran


@pytest.mark.parametrize("log", [None, "elsewhere/new/log.md"], ids=["log in --out", "log in a new folder"])
def test_a_run_into_folders_that_do_not_exist_yet_writes_its_log_there(monkeypatch, tmp_path, log):
    """--out and --log in folders that are made by the run: the log's check must not refuse
    them before the parts have made them (every run into a new folder was refused)."""
    ran = parts_that_copy_the_committed_results(monkeypatch)
    out = tmp_path / "new" / "folder"
    argv = ["--quick", "--out", str(out)] + (["--log", str(tmp_path / log)] if log else [])
    assert run_all.main(argv) == 0
    assert ran == list(run_all.PARTS)
    written = tmp_path / log if log else out / "experiments_log.md"
    assert written.read_text().startswith("# Phase 0 - Experiments Log (regenerated)")
    assert (out / "run_all.json").is_file()


def test_a_log_that_cannot_be_written_is_refused_before_any_part_runs(monkeypatch, tmp_path, capsys):
    ran = parts_that_copy_the_committed_results(monkeypatch)
    with pytest.raises(SystemExit) as info:
        run_all.main(["--quick", "--out", str(tmp_path / "new"), "--log", f"{__file__}/no/log.md"])
    assert info.value.code == 2 and ran == []
    assert "cannot write --log" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs git and a checkout")
def test_the_readme_s_quick_run_all_works_on_a_fresh_clone(tmp_path):
    """A fresh clone has no runs/ folder: `python experiments/run_all.py --quick` must make its
    own (about three minutes on 2 cores)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    assert not (clone / "runs").exists()
    env = {**os.environ, "PYTHONPATH": str(clone)}  # the clone's own code, not this checkout's
    done = subprocess.run([sys.executable, "experiments/run_all.py", "--quick", "--jobs", "2"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (clone / "runs" / "run_all" / "experiments_log.md").is_file()
