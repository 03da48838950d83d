"""python -m tinynet.exercises: the blank skeleton fails every exercise, the engine's own
formulas pass every one, and each planted mistake fails the exercise it is planted in."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from tinynet import exercises

ENGINE = pathlib.Path(exercises.__file__).resolve().parents[1]

# The answer to the exercise beyond the engine: kept here, not in the package.
TANH_ANSWER = "        return dout * (1 - self._y ** 2)  # (N, D): d tanh / dx = 1 - tanh^2\n"


def solved(folder: pathlib.Path) -> None:
    """Fill the learner's files with the engine's own backward passes (and Tanh's answer)."""
    for name in ("layers.py", "losses.py"):
        (folder / name).write_text((ENGINE / name).read_text().replace("from .", "from tinynet."))
    tanh = (folder / "tanh.py").read_text()
    start = tanh.index("    def backward")
    (folder / "tanh.py").write_text(tanh[:start] + "    def backward(self, dout):\n" + TANH_ANSWER)


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinynet.exercises", *argv], capture_output=True, text=True,
                          timeout=120)


def test_the_blank_skeleton_fails_every_exercise_as_not_attempted(tmp_path):
    folder = tmp_path / "ex"
    assert run("start", str(folder)).returncode == 0
    done = run("check", str(folder))
    assert done.returncode == 1
    for e in exercises.EXERCISES:
        assert f"{e.name}" in done.stdout
    assert done.stdout.count("not attempted") == len(exercises.EXERCISES) and "0 of 4 passed" in done.stdout


def test_the_skeleton_hides_the_answers(tmp_path):
    exercises.start(tmp_path)
    losses = (tmp_path / "losses.py").read_text()
    layers = (tmp_path / "layers.py").read_text()
    assert "p - onehot" not in losses and "(probs - onehot)" not in losses
    assert "x.T @ dout" not in layers and "dout @ W.T" not in layers and "ones @ dout" not in layers
    assert "self.mask = x > 0" in layers, "the forward passes stay"


def test_the_engine_formulas_pass_every_exercise(tmp_path):
    exercises.start(tmp_path)
    solved(tmp_path)
    done = run("check", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") >= len(exercises.EXERCISES) and "4 of 4 passed" in done.stdout


# Each mistake the planted-bug suite knows, planted in one exercise: (file, correct, wrong, exercise).
MISTAKES = {
    "missing 1/N": ("losses.py", "(dout / n)", "dout", "SoftmaxCrossEntropy.backward"),
    "wrong sign": ("losses.py", "return (probs - onehot)", "return (onehot - probs)",
                   "SoftmaxCrossEntropy.backward"),
    "transposed product": ("layers.py", "self.dW = x.T @ dout", "self.dW = dout.T @ x",
                           "Linear.backward"),
    "missing mask": ("layers.py", "dx *= dout\n        return dx", "return dout", "ReLU.backward"),
    "db averaged, not summed": ("layers.py", "self.db = ones @ dout", "self.db = ones @ dout / dout.shape[0]",
                                "Linear.backward"),
    "tanh without the chain rule": ("tanh.py", "dout * (1 - self._y ** 2)", "(1 - self._y ** 2)", "Tanh.backward"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_planted_mistake_fails_its_exercise_alone(mistake, tmp_path):
    file, correct, wrong, exercise = MISTAKES[mistake]
    exercises.start(tmp_path)
    solved(tmp_path)
    text = (tmp_path / file).read_text()
    assert correct in text, f"the planted mistake no longer matches {file}"
    (tmp_path / file).write_text(text.replace(correct, wrong, 1))
    grades = {g.exercise: g for g in exercises.check(tmp_path)}
    assert grades[exercise].status == "failed", grades[exercise]
    assert all(g.status == "passed" for name, g in grades.items() if name != exercise)


def test_failures_say_why(tmp_path):
    exercises.start(tmp_path)
    solved(tmp_path)
    losses = tmp_path / "losses.py"
    losses.write_text(losses.read_text().replace("return (probs - onehot)", "return (onehot - probs)"))
    grade = next(g for g in exercises.check(tmp_path) if g.exercise == "SoftmaxCrossEntropy.backward")
    assert "finite difference -1 " in grade.detail and "a sign is flipped" in grade.detail
    losses.write_text(losses.read_text().replace("(onehot - probs) * (dout / n)", "(probs - onehot) * dout"))
    grade = next(g for g in exercises.check(tmp_path) if g.exercise == "SoftmaxCrossEntropy.backward")
    assert "finite difference 5 " in grade.detail and "1/N" in grade.detail


def test_a_file_that_does_not_import_is_a_failed_exercise_not_a_crash(tmp_path):
    exercises.start(tmp_path)
    (tmp_path / "tanh.py").write_text("def broken(:\n")
    grades = {g.exercise: g for g in exercises.check(tmp_path)}
    assert grades["Tanh.backward"].status == "failed" and "could not be imported" in grades["Tanh.backward"].detail
    assert grades["Linear.backward"].status == "not attempted"


def test_start_never_overwrites_work_and_check_needs_a_folder(tmp_path):
    exercises.start(tmp_path)
    done = run("start", str(tmp_path))
    assert done.returncode == 2 and "would overwrite your work" in done.stderr and "Traceback" not in done.stderr
    done = run("check", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "is not a folder" in done.stderr
