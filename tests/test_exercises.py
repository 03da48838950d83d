"""python -m tinynet.exercises: the blank skeleton fails every exercise, the answers pass every
one, each planted mistake fails the exercise it is planted in and no other, the grade reaches a
course platform as Gradescope's results.json, a teacher's own exercise joins in, and no answer
file can fool or stall the grader."""
from __future__ import annotations

import json
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from exercise_answers import ANSWERS, answer
from tinynet import exercises
from tinynet.exercises import catalogue, grader

ENGINE = pathlib.Path(exercises.__file__).resolve().parents[1]
COURSE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "course"
ALL = [e.name for e in catalogue.exercises()]


def solved(folder: pathlib.Path) -> None:
    """Fill the learner's files: the engine's own backward passes, and the answers kept in the tests."""
    for name in ("layers.py", "losses.py"):
        (folder / name).write_text((ENGINE / name).read_text().replace("from .", "from tinynet."))
    for name, body in ANSWERS.items():
        (folder / name).write_text(answer((folder / name).read_text(), body))


def run(*argv: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinynet.exercises", *argv], capture_output=True, text=True,
                          timeout=timeout)


def test_a_course_s_worth_of_exercises():
    assert len(ALL) >= 12
    kinds = {e.kind for e in catalogue.exercises()}
    assert kinds == {"layer", "loss", "optimizer"}
    assert not any("Tanh" in name for name in ALL), "own_layer.md solves Tanh word for word"


def test_the_blank_skeleton_fails_every_exercise_as_not_attempted(tmp_path):
    folder = tmp_path / "ex"
    assert run("start", str(folder)).returncode == 0
    done = run("check", str(folder), "--json")
    assert done.returncode == 1
    grades = json.loads(done.stdout)
    assert grades["score"] == 0 and [t["name"] for t in grades["tests"]] == ALL
    assert all(t["status"] == "failed" and t["output"] == "not attempted" and t["score"] == 0
               for t in grades["tests"])
    assert sum(t["max_score"] for t in grades["tests"]) == len(ALL)


def test_the_skeleton_hides_the_answers(tmp_path):
    exercises.start(tmp_path)
    losses = (tmp_path / "losses.py").read_text()
    layers = (tmp_path / "layers.py").read_text()
    assert "p - onehot" not in losses and "(probs - onehot)" not in losses
    assert "x.T @ dout" not in layers and "dout @ W.T" not in layers and "ones @ dout" not in layers
    assert "self.mask = x > 0" in layers, "the forward passes stay"
    for name, body in ANSWERS.items():
        text = (tmp_path / name).read_text()
        key_line = [line.strip() for line in body.splitlines() if "return" in line or "setattr" in line][-1]
        assert key_line not in text, (name, key_line)
        assert "raise NotImplementedError" in text and "# Hint:" in text


def test_the_answers_pass_every_exercise_for_a_full_score(tmp_path):
    exercises.start(tmp_path)
    solved(tmp_path)
    done = run("check", str(tmp_path), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    grades = json.loads(done.stdout)
    assert grades["score"] == len(ALL) and all(t["status"] == "passed" for t in grades["tests"])
    table = run("check", str(tmp_path))
    assert table.returncode == 0 and f"{len(ALL)} of {len(ALL)} passed: well done" in table.stdout
    assert "1 gradient agrees" in table.stdout and "1 gradient agree " not in table.stdout


# One mistake of the kind learners make, per exercise (tests/planted_mistakes.json, data): in which
# file, the correct text, the wrong text put in its place, and what the grade must then say.
MISTAKES = {name: (m["file"], m["correct"], m["wrong"], m["says"])
            for name, m in json.loads((pathlib.Path(__file__).parent / "planted_mistakes.json").read_text()).items()}


def test_every_exercise_has_its_planted_mistake():
    assert sorted(MISTAKES) == sorted(ALL)


@pytest.mark.parametrize("exercise", list(MISTAKES))
def test_each_planted_mistake_fails_its_exercise_alone_and_says_why(exercise, tmp_path):
    file, correct, wrong, says = MISTAKES[exercise]
    exercises.start(tmp_path)
    solved(tmp_path)
    text = (tmp_path / file).read_text()
    assert correct in text, f"the planted mistake no longer matches {file}"
    (tmp_path / file).write_text(text.replace(correct, wrong, 1))
    grades = {g.exercise: g for g in exercises.check(tmp_path, isolate=False)}
    assert grades[exercise].status == "failed", grades[exercise]
    assert says in grades[exercise].detail, grades[exercise].detail
    assert all(g.status == "passed" for name, g in grades.items() if name != exercise)


def test_the_textbook_loss_gradient_that_ignores_dout_is_told_so(tmp_path):
    """(probs - onehot) / N is right only for dout = 1; the checker sends another dout, and says so."""
    exercises.start(tmp_path)
    solved(tmp_path)
    losses = tmp_path / "losses.py"
    losses.write_text(losses.read_text().replace("return (probs - onehot) * (dout / n)", "return (probs - onehot) / n"))
    grade = next(g for g in exercises.check(tmp_path, isolate=False) if g.exercise == "SoftmaxCrossEntropy.backward")
    assert "dL/dlogits" in grade.detail and "dL/dx" not in grade.detail
    assert "backward ignores dout: the checker sends dL_total/dloss" in grade.detail and "not 1" in grade.detail


def test_the_reference_trajectories_are_the_answers_own(tmp_path):
    """The optimizers' stored trajectories come from the answers in the tests: rerun, they agree."""
    exercises.start(tmp_path)
    solved(tmp_path)
    for e in catalogue.exercises():
        if e.kind == "optimizer":
            module = grader._load(tmp_path / e.file)
            got = grader.run_optimizer(getattr(module, e.cls), e.init, len(e.reference))
            assert [list(map(float, step)) for step in got] == [list(step) for step in e.reference], e.name


# --- a teacher's own exercise --------------------------------------------------------------------------
def test_a_teacher_s_exercise_is_picked_up_blanked_and_graded(tmp_path):
    folder = tmp_path / "class"
    assert run("start", str(folder), "--from", str(COURSE)).returncode == 0
    swish = (folder / "swish.py").read_text()
    assert "raise NotImplementedError" in swish and "s + x * s * (1.0 - s)" not in swish
    assert "The product rule" in swish, "the course's hint is above the blank"
    grades = json.loads(run("check", str(folder), "--from", str(COURSE), "--json").stdout)
    assert grades["tests"][-1] == {"name": "Swish.backward", "score": 0.0, "max_score": 2.0, "status": "failed",
                                   "output": "not attempted", "visibility": "visible"}
    solved(folder)
    (folder / "swish.py").write_text(answer(swish, "        x, s = self.cache\n"
                                                   "        return dout * (s + x * s * (1.0 - s))\n"))
    done = run("check", str(folder), "--from", str(COURSE), "--json")
    grades = json.loads(done.stdout)
    assert done.returncode == 0 and grades["score"] == len(ALL) + 2
    assert grades["tests"][-1]["status"] == "passed"


def test_a_malformed_course_file_is_one_line(tmp_path):
    (tmp_path / "bad.py").write_text('EXERCISE = {"name": "X.backward", "class": "X", "kind": "widget", "hint": "h"}\n')
    done = run("start", str(tmp_path / "ex"), "--from", str(tmp_path))
    assert done.returncode == 2 and "kind must be one of layer, loss, optimizer" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


SWISH = (COURSE / "swish.py").read_text()
SPEC = SWISH[SWISH.index("EXERCISE = {"):]


@pytest.mark.parametrize("old, new, says", [
    ('"class": "Swish"', '"class": "Swosh"', "class 'Swosh' is not a class of this file"),
    ('"method": "backward"', '"method": "backwards"', "method 'backwards' is not a method of class Swish"),
    ('"hint": "', '"hint": "two\\nlines ', "hint must be one line"),
    ('"points": 2', '"points": 1e400', "points must be a number above 0, at most 1000"),
    ('"points": 2', '"points": True', "points must be a number above 0"),
    ('"shape": [5, 4]', '"shapes": [5, 4]', "has no field 'shapes'"),
    ('"shape": [5, 4]', '"shape": 5', "shape must be two positive integers"),
    ('"kind": "layer"', '"kind": "layer", "kinks": [1e400]', "kinks must be a list of finite numbers"),
    ('"kind": "layer"', '"kind": "layer", "kinks": ["a"]', "kinks must be a list of finite numbers"),
    ('"kind": "layer"', '"kind": "optimizer", "reference": [[1, 2, 3, 4, 5, 6, 7, 8], [1.0]]',
     "reference must list, for each step, the 8 finite numbers"),
    ('"name": "Swish.backward"', '"name": "Swish\\".backward"', "name must be one line without quotes"),
])
def test_every_field_of_a_course_declaration_is_checked_when_the_course_loads(old, new, says, tmp_path):
    """A wrong class or method would have start copy the teacher's answer unblanked; a hint with
    a newline, a file that does not parse; points of 1e400, a results.json that is not JSON."""
    assert old in SPEC
    course = tmp_path / "course"
    course.mkdir()
    (course / "swish.py").write_text(SWISH.replace(SPEC, SPEC.replace(old, new, 1)))
    done = run("start", str(tmp_path / "ex"), "--from", str(course))
    assert done.returncode == 2 and "swish.py: EXERCISE" in done.stderr and says in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "ex").exists(), "nothing is written from a course that does not load"


# --- a grader that cannot be fooled or stalled --------------------------------------------------------
FOOLS = {
    "sys.exit(0) at import": "import sys\nsys.exit(0)\n",
    "os._exit(0) at import": "import os\nos._exit(0)\n",
    "KeyboardInterrupt at import": "raise KeyboardInterrupt\n",
}


@pytest.mark.parametrize("fool", list(FOOLS))
def test_an_answer_that_exits_is_a_failed_exercise(fool, tmp_path):
    exercises.start(tmp_path)
    solved(tmp_path)
    sigmoid = tmp_path / "sigmoid.py"
    sigmoid.write_text(FOOLS[fool] + sigmoid.read_text())
    done = run("check", str(tmp_path), "--json")
    assert done.returncode == 1, done.stdout
    grades = {t["name"]: t for t in json.loads(done.stdout)["tests"]}
    assert grades["Sigmoid.backward"]["status"] == "failed"
    assert "Traceback" not in done.stderr
    assert all(t["status"] == "passed" for name, t in grades.items() if name != "Sigmoid.backward")


def test_an_exception_of_any_length_is_one_failed_exercise_that_says_where(tmp_path):
    """A 200,000-character message made the child's report longer than a line the grader reads
    whole: the whole check ended in a JSON error. The report keeps its head and its end."""
    exercises.start(tmp_path)
    solved(tmp_path)
    sigmoid = tmp_path / "sigmoid.py"
    sigmoid.write_text(sigmoid.read_text().replace("        out = self.cache\n",
                                                   "        raise ValueError('x' * 200000)\n"))
    done = run("check", str(tmp_path), "--json", "--only", "Sigmoid,LeakyReLU")
    grades = {t["name"]: t for t in json.loads(done.stdout)["tests"]}
    said = grades["Sigmoid.backward"]["output"]
    assert done.returncode == 1 and grades["LeakyReLU.backward"]["status"] == "passed"
    assert said.startswith("ValueError: xxx") and "characters left out" in said and "(sigmoid.py, line" in said
    assert len(said) < 10000


def test_a_fake_grader_in_the_learner_s_folder_is_not_run(tmp_path):
    """A tinynet/exercises/grader.py of the learner's that would report a pass: never imported."""
    exercises.start(tmp_path)
    fake = tmp_path / "tinynet" / "exercises"
    fake.mkdir(parents=True)
    for folder in (tmp_path / "tinynet", fake):
        (folder / "__init__.py").write_text("")
    (fake / "grader.py").write_text("import sys\nprint('TINYNET-GRADE', sys.stdin.readline().strip(), "
                                    "'{\"status\": \"passed\", \"detail\": \"fake\"}')\n")
    grades = json.loads(run("check", str(tmp_path), "--json").stdout)
    assert grades["score"] == 0 and all(t["output"] == "not attempted" for t in grades["tests"])


def test_a_backward_that_never_returns_is_stopped_at_the_time_limit(tmp_path):
    exercises.start(tmp_path)
    solved(tmp_path)
    sigmoid = tmp_path / "sigmoid.py"
    forever = "        while True:\n            pass\n"
    sigmoid.write_text(sigmoid.read_text().replace("        out = self.cache\n", forever))
    start = time.monotonic()
    done = run("check", str(tmp_path), "--timeout", "5")
    assert time.monotonic() - start < 60 and done.returncode == 1
    line = next(line for line in done.stdout.splitlines() if line.startswith("Sigmoid.backward"))
    assert "stopped after 5 s without finishing" in line


@pytest.mark.parametrize("argv, says", [(["start", ""], "is empty"), (["check", ""], "is empty"),
                                        (["start", "{file}/ex"], "cannot write to"),
                                        (["start", "/proc/ex"], "cannot write to")])
def test_bad_folders_are_one_line(argv, says, tmp_path):
    (tmp_path / "file").write_text("x")
    done = run(*[a.format(file=tmp_path / "file") for a in argv])
    assert done.returncode == 2 and says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def hang_in_sigmoid(folder: pathlib.Path) -> None:
    sigmoid = folder / "sigmoid.py"
    sigmoid.write_text(sigmoid.read_text().replace("        raise NotImplementedError", "        while True:\n"
                                                   "            pass\n        raise NotImplementedError", 1))


@pytest.mark.skipif(not pathlib.Path("/proc/self/status").exists(), reason="reads the process tree from /proc")
def test_a_killed_grader_leaves_no_child_grading(tmp_path):
    """SIGKILL to `check` while an answer loops forever: its children stop themselves within 10 s."""
    from helpers import descendants, kill_and_reap

    exercises.start(tmp_path)
    hang_in_sigmoid(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "tinynet.exercises", "check", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: dict[int, str] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not children:
        time.sleep(0.2)
        children = descendants(proc.pid)
    time.sleep(2)  # the loop is running in one of them by now
    children.update(descendants(proc.pid))
    assert children, "no grading process started"
    left = kill_and_reap(proc, children)
    assert not left, f"{len(left)} grading processes outlived a killed check by 10 s"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_and_sigterm_end_the_grader_in_one_line(sig, tmp_path):
    exercises.start(tmp_path)
    hang_in_sigmoid(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "tinynet.exercises", "check", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "interrupted", err


def test_a_folder_given_as_a_string_is_checked_like_a_path(tmp_path):
    from tinynet.exercises import check, start

    start(tmp_path / "mine")
    grades = check(str(tmp_path / "mine"), isolate=False)
    assert grades and all(g.exercise for g in grades)


def test_the_readme_names_the_files_and_exercises_written_and_no_others(tmp_path):
    """start --only Linear,ReLU,Sigmoid wrote a README naming losses.py and "a sigmoid to Adam"."""
    exercises.start(tmp_path, only="Linear,ReLU,Sigmoid")
    readme = (tmp_path / "README.md").read_text()
    written = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".py")
    assert written == ["layers.py", "sigmoid.py"]
    assert "- `layers.py`: Linear.backward, ReLU.backward" in readme and "- `sigmoid.py`: Sigmoid.backward" in readme
    assert "losses.py`:" not in readme and "Adam" not in readme and "--only Linear,ReLU,Sigmoid" in readme


def test_a_folder_of_submissions_is_graded_into_one_table_and_one_csv(tmp_path):
    """A teacher without Gradescope: one folder per learner, graded as check grades one."""
    import csv

    subs = tmp_path / "submissions"
    exercises.start(subs / "ada", only="Linear,ReLU")
    (subs / "ada" / "layers.py").write_text((ENGINE / "layers.py").read_text().replace("from .", "from tinynet."))
    exercises.start(subs / "grace", only="Linear,ReLU")  # handed in blank
    (subs / "grace" / "layers.py").write_text((subs / "grace" / "layers.py").read_text().replace(
        "raise NotImplementedError", "return None  # raise NotImplementedError", 1))
    (subs / "notes.txt").write_text("not a learner")  # a stray file at the top is no learner
    out = run("grade", str(subs), "--only", "Linear,ReLU", "--csv", str(tmp_path / "grades.csv"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["learner", "Linear.backward", "ReLU.backward", "score"]
    assert lines[2].split() == ["ada", "pass", "pass", "2", "/", "2"]
    assert lines[3].split()[0] == "grace" and lines[3].split()[-3:] == ["0", "/", "2"]
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert [r["learner"] for r in rows] == ["ada", "grace"]
    assert rows[0]["Linear.backward"] == "1" and rows[0]["total"] == "2" and rows[0]["max_score"] == "2"
    assert rows[1]["total"] == "0"


def test_grade_refuses_a_folder_without_learners_in_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    out = run("grade", str(tmp_path / "empty"))
    assert out.returncode == 2 and "holds no learner's folder" in out.stderr and len(out.stderr.splitlines()) == 1
