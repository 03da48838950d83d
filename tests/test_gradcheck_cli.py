"""python -m tinynet.gradcheck: the table, the exit code, and a planted bug turning it red."""
from __future__ import annotations

import subprocess
import sys

import pytest

import tinynet as tn
from tinynet.gradcheck.__main__ import main


def test_module_runs_and_passes_on_the_seed_model():
    done = subprocess.run([sys.executable, "-m", "tinynet.gradcheck", "--samples", "100"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Linear(500->500)" in done.stdout and "100/250000" in done.stdout
    assert "input" in done.stdout and "all 7 gradients agree" in done.stdout
    assert "Warning" not in done.stderr


def test_strict_backend(capsys):
    assert main(["--backend", "strict", "--samples", "20", "--batch", "4"]) == 0
    assert "backend strict" in capsys.readouterr().out


def test_a_planted_bug_makes_it_fail(monkeypatch, capsys):
    correct = tn.Linear.backward

    def db_averaged(self, dy):
        dx = correct(self, dy)
        self.db = self.db / dy.shape[0]  # the bug: mean instead of sum over the batch
        return dx

    monkeypatch.setattr(tn.Linear, "backward", db_averaged)
    assert main(["--samples", "20"]) == 1
    out = capsys.readouterr().out
    assert "FAILED: 3 of 7" in out and "db" in out and "FAIL" in out


@pytest.mark.parametrize("argv", [["--backend", "jax"], ["--samples", "0"], ["--batch", "-1"], ["--seed", "-1"]])
def test_bad_flags_exit_2_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err
