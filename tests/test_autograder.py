"""A course's term: homework as chosen subsets, the Gradescope autograder run end to end the way
Gradescope runs it (no `python` on the PATH, the submission where Gradescope puts it), uploads as
learners make them, and a grader that a learner's answer cannot stall or rewrite."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

from exercise_answers import ANSWERS, answer
from tinynet import exercises
from tinynet.exercises import handin

ENGINE = pathlib.Path(exercises.__file__).resolve().parents[1]
COURSE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "course"
WEEK1 = "Linear,ReLU,Sigmoid"
TOOLS = ("bash", "mkdir", "rm", "mktemp", "mv", "cat", "tail", "tr", "sed", "awk", "grep")  # what run_autograder calls


def solve(folder: pathlib.Path) -> None:
    """Write the answers into whichever exercise files ``folder`` holds."""
    for name in ("layers.py", "losses.py"):
        if (folder / name).exists():
            (folder / name).write_text((ENGINE / name).read_text().replace("from .", "from tinynet."))
    for name, body in ANSWERS.items():
        if (folder / name).exists():
            (folder / name).write_text(answer((folder / name).read_text(), body))


def check_json(*argv: str, env: dict | None = None, timeout: float = 180) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "tinynet.exercises", "check", *argv, "--json"], capture_output=True,
                          text=True, timeout=timeout, env=env)
    return done.returncode, json.loads(done.stdout)


# --- Homework as chosen subsets ------------------------------------------------------------------------
def test_an_assignment_starts_and_grades_its_own_exercises_out_of_their_points(tmp_path):
    written = exercises.start(tmp_path, only="linear, ReLU,Sigmoid.backward")
    assert sorted(p.name for p in written) == ["README.md", "layers.py", "sigmoid.py"]
    assert f"--only {WEEK1}" in (tmp_path / "README.md").read_text()
    code, blank = check_json(str(tmp_path), "--only", WEEK1)
    assert code == 1 and [t["name"] for t in blank["tests"]] == ["Linear.backward", "ReLU.backward",
                                                                  "Sigmoid.backward"]
    assert sum(t["max_score"] for t in blank["tests"]) == 3 and blank["score"] == 0
    solve(tmp_path)
    code, done = check_json(str(tmp_path), "--only", WEEK1, "--hidden", "Sigmoid")
    assert code == 0 and done["score"] == 3
    assert [t["visibility"] for t in done["tests"]] == ["visible", "visible", "after_due_date"]
    assert isinstance(done["execution_time"], int) and done["execution_time"] >= 1
    follows_the_specification(done)


# Gradescope's results.json, as its autograder specification lists the fields used here.
TOP_FIELDS = {"score": (int, float), "execution_time": int, "output": str, "tests": list}
TEST_FIELDS = {"name": str, "score": (int, float), "max_score": (int, float), "status": str, "output": str,
               "visibility": str}


def follows_the_specification(results: dict) -> None:
    assert set(results) <= set(TOP_FIELDS), set(results) - set(TOP_FIELDS)
    assert all(isinstance(results[k], TOP_FIELDS[k]) for k in results)
    for test in results["tests"]:
        assert set(test) <= set(TEST_FIELDS) and all(isinstance(test[k], TEST_FIELDS[k]) for k in test), test
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")


def test_only_naming_no_exercise_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"--only names no exercise 'Tanh'; choose from: Linear, ReLU"):
        exercises.start(pathlib.Path("never-written"), only="Linear,Tanh")


# --- The autograder, as Gradescope runs it -------------------------------------------------------------
def gradescope_machine(tmp_path: pathlib.Path, with_python: bool = True) -> dict[str, str]:
    """A PATH holding only what run_autograder calls, and python3 (never `python`, as on Ubuntu 22.04)."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in TOOLS:
        (tools / tool).symlink_to(shutil.which(tool))
    if with_python:  # this interpreter: it has tinynet's requirements, as the image's venv would
        (tools / "python3").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
        (tools / "python3").chmod(0o755)
    assert shutil.which("python", path=str(tools)) is None
    return {"PATH": str(tools), "AUTOGRADER_ROOT": str(tmp_path), "HOME": str(tmp_path)}


def run_autograder(tmp_path: pathlib.Path, env: dict[str, str]) -> dict:
    subprocess.run([str(tmp_path / "source" / "run_autograder")], env=env, cwd=tmp_path, timeout=300,
                   capture_output=True, check=True)
    return json.loads((tmp_path / "results" / "results.json").read_text())


def test_the_autograder_grades_a_submission_with_its_own_copy_of_tinynet(tmp_path):
    assert exercises.main(["autograder", str(tmp_path / "source"), "--only", WEEK1, "--hidden", "Sigmoid",
                           "--timeout", "30"]) == 0
    source = tmp_path / "source"
    for script in ("setup.sh", "run_autograder"):
        assert os.access(source / script, os.X_OK)
        assert "python3" in (source / script).read_text() and "pip3" not in (source / script).read_text()
    # The copy in the autograder is the one that grades: mark it, and look for the mark.
    own = source / "tinynet" / "exercises" / "__init__.py"
    own.write_text(own.read_text().replace("exercises passed", "exercises passed (graded by the autograder's copy)"))
    exercises.start(tmp_path / "submission", only=WEEK1)
    solve(tmp_path / "submission")
    results = run_autograder(tmp_path, gradescope_machine(tmp_path))
    assert results["score"] == 3 and "graded by the autograder's copy" in results["output"]
    assert [t["visibility"] for t in results["tests"]] == ["visible", "visible", "after_due_date"]
    follows_the_specification(results)


def test_the_zip_holds_the_scripts_at_its_root_and_executable(tmp_path):
    import zipfile

    zipped = exercises.gradescope.write(tmp_path / "gs", "Linear", None, COURSE, 60.0)
    assert zipped == tmp_path / "gs" / "autograder.zip"  # the file docs/teachers.md tells a teacher to upload
    with zipfile.ZipFile(zipped) as z:
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    for script in ("setup.sh", "run_autograder"):  # both parse as bash
        subprocess.run(["bash", "-n", str(tmp_path / "gs" / script)], check=True)
    assert "course/swish.py" in modes and "tinynet/exercises/grader.py" in modes
    assert not any("__pycache__" in name for name in modes)


@pytest.mark.parametrize("what", ["no submission", "no python3"])
def test_the_autograder_always_writes_a_valid_results_file(what, tmp_path):
    exercises.gradescope.write(tmp_path / "source", WEEK1, None, None, 30.0)
    if what == "no submission":
        results = run_autograder(tmp_path, gradescope_machine(tmp_path))
        assert "Nothing could be graded" in results["output"] and "is not a folder" in results["output"]
    else:
        (tmp_path / "submission").mkdir()
        results = run_autograder(tmp_path, gradescope_machine(tmp_path, with_python=False))
        assert "could not run (exit status 127)" in results["output"] and "python3" in results["output"]
    assert results["score"] == 0 and results["tests"] == []
    follows_the_specification(results)


# --- Uploads as learners make them ---------------------------------------------------------------------
def test_a_nested_and_renamed_upload_is_graded_and_said(tmp_path):
    started = tmp_path / "started"
    exercises.start(started, only=WEEK1)
    solve(started)
    nested = tmp_path / "upload" / "my_backprop"
    nested.mkdir(parents=True)
    shutil.copyfile(started / "layers.py", nested / "layers (1).py")
    shutil.copyfile(started / "sigmoid.py", nested / "sigmoid.py")
    (tmp_path / "upload" / "__MACOSX").mkdir()
    (tmp_path / "upload" / "__MACOSX" / "layers.py").write_text("junk a zip tool left")
    grades, notes = exercises.check_handin(tmp_path / "upload", only=WEEK1)
    assert [g.status for g in grades] == ["passed"] * 3, grades
    assert notes == ["graded my_backprop/layers (1).py as layers.py", "graded my_backprop/sigmoid.py as sigmoid.py"]


def test_an_upload_without_the_file_says_what_was_expected_and_what_was_found(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "layers.py").write_text("")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "layers.py").write_text("")
    (tmp_path / "notes.py").write_text("")
    found, missing = handin.locate(tmp_path, ["layers.py", "sigmoid.py"])
    assert found == {}
    assert missing["layers.py"] == "2 files could be layers.py (a/layers.py, b/layers.py): hand in one, named layers.py"
    assert "sigmoid.py was not found" in missing["sigmoid.py"] and "a/layers.py" in missing["sigmoid.py"]


@pytest.mark.parametrize("name, taken", [("layers (1).py", True), ("layers-2.py", True), ("layers_3.py", True),
                                         ("layers(12).py", True), ("my_layers.py", False), ("layers2.py", False),
                                         ("layers.py.py", False)])
def test_names_an_upload_gives_a_file(name, taken):
    assert handin.renamed("layers.py", pathlib.Path(name)) is taken


# --- A course folder a learner can check ---------------------------------------------------------------
def test_a_started_course_folder_checks_whole_with_itself_as_the_course(tmp_path):
    exercises.start(tmp_path, COURSE)
    grades = exercises.check(tmp_path, tmp_path, isolate=False)
    assert "Swish.backward" in [g.exercise for g in grades]
    assert {g.status for g in grades} == {"not attempted"}
    _, notes = exercises.check_handin(tmp_path, isolate=False)
    assert notes == [f"not graded: swish.py (Swish.backward), a course's exercises; add --from with the course's "
                     f"folder (or this folder itself: --from {tmp_path}) to grade them too"]


# --- Messages: each exercise's own gradient, a learner's prints -----------------------------------------
def test_a_loss_failure_names_the_loss_s_own_input(tmp_path):
    exercises.start(tmp_path, only="MSELoss,L2Penalty")
    wrong_answers = {"mse.py": "        return dout * 2.0 * self.cache\n", "weight_decay.py": "        return dout\n"}
    for name, wrong in wrong_answers.items():
        path = tmp_path / name
        path.write_text(answer(path.read_text(), wrong))
    grades = exercises.check(tmp_path, isolate=False, only="MSELoss,L2Penalty")
    assert "FAIL: dL/dpred" in grades[0].detail and "FAIL: dL/dW" in grades[1].detail
    assert "logits" not in grades[0].detail + grades[1].detail


def test_a_learner_s_prints_reach_the_table_and_stay_out_of_the_json(tmp_path):
    exercises.start(tmp_path, only="Sigmoid")
    path = tmp_path / "sigmoid.py"
    path.write_text(answer(path.read_text(), "        print('shape of dout:', dout.shape)\n" + ANSWERS["sigmoid.py"]))
    table = subprocess.run([sys.executable, "-m", "tinynet.exercises", "check", str(tmp_path), "--only", "Sigmoid"],
                           capture_output=True, text=True, timeout=120)
    assert "your code printed:" in table.stdout and "shape of dout: (5, 4)" in table.stdout
    code, results = check_json(str(tmp_path), "--only", "Sigmoid")
    assert code == 0 and "shape of dout" not in json.dumps(results)


def test_a_print_left_without_its_newline_does_not_hide_the_verdict(tmp_path):
    """print(..., end="") leaves the line open: the grader's own line must still be read."""
    exercises.start(tmp_path, only="Sigmoid")
    path = tmp_path / "sigmoid.py"
    path.write_text(answer(path.read_text(), "        print('no newline', end='')\n" + ANSWERS["sigmoid.py"]))
    (grade,) = exercises.check(tmp_path, only="Sigmoid")
    assert grade.status == "passed", grade.detail
    assert "no newline" in grade.printed


# --- A grader a learner's answer cannot stall or rewrite -----------------------------------------------
STALL = """\
        import os, sys, time
        if os.fork() == 0:           # a grandchild in a session of its own, holding stdout open
            os.setsid()
            if os.fork() == 0:
                open(os.environ["STALL_PID_FILE"], "w").write(str(os.getpid()))
                time.sleep(600)
            os._exit(0)
        time.sleep(600)
"""


def test_a_time_limit_ends_every_process_the_answer_started(tmp_path):
    exercises.start(tmp_path, only="Sigmoid")
    path = tmp_path / "sigmoid.py"
    path.write_text(answer(path.read_text(), STALL))
    env = {**os.environ, "STALL_PID_FILE": str(tmp_path / "pid")}
    began = time.monotonic()
    code, results = check_json(str(tmp_path), "--only", "Sigmoid", "--timeout", "4", env=env, timeout=60)
    assert time.monotonic() - began < 30 and code == 1
    assert "stopped after 4 s" in results["tests"][0]["output"]
    pid = int((tmp_path / "pid").read_text())
    time.sleep(0.5)
    assert not pathlib.Path(f"/proc/{pid}").exists() or "Z" in pathlib.Path(f"/proc/{pid}/stat").read_text().split()[2]


REWRITE = """\
        import pathlib, tinynet.gradcheck.report as report
        source = pathlib.Path(report.__file__)
        source.write_text(source.read_text().replace("return bool(self.error <= self.tol)", "return True"))
        return dout
"""


def test_an_answer_that_rewrites_the_checker_gets_no_grade_and_the_checker_is_restored(tmp_path):
    exercises.gradescope.write(tmp_path / "source", None, None, None, 60.0)
    report = tmp_path / "source" / "tinynet" / "gradcheck" / "report.py"
    original = report.read_text()
    exercises.start(tmp_path / "work", only="Sigmoid")
    path = tmp_path / "work" / "sigmoid.py"
    path.write_text(answer(path.read_text(), REWRITE))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "source")}
    code, results = check_json(str(tmp_path / "work"), "--only", "Sigmoid", env=env)
    assert code == 1 and results["score"] == 0
    said = results["tests"][0]["output"]
    assert "tinynet/gradcheck/report.py" in said and "restored" in said
    assert report.read_text() == original
    exercises.start(tmp_path / "again", only="Sigmoid")
    path.write_text(answer((tmp_path / "again" / "sigmoid.py").read_text(), "        return dout\n"))
    code, results = check_json(str(tmp_path / "work"), "--only", "Sigmoid", env=env)
    # The real checker again: a wrong answer fails, with its ratio.
    assert results["tests"][0]["status"] == "failed" and "ratio" in results["tests"][0]["output"]


FORGE = """\
        import json, os, signal
        parent = os.getppid()
        argv = open(f"/proc/{parent}/cmdline").read().split("\\0")
        fake = json.dumps({"score": 3, "tests": [{"name": "Sigmoid.backward", "score": 3, "status": "passed"}]})
        open(argv[argv.index("--results") + 1], "w").write(fake)   # the grader's results file
        open(f"/proc/{parent}/fd/1", "w").write(fake)              # and its standard output
        os.kill(parent, signal.SIGKILL)                             # before it can write the truth
        return dout
"""


def test_an_answer_that_forges_the_results_and_kills_the_grader_scores_0(tmp_path):
    exercises.gradescope.write(tmp_path / "source", "Sigmoid", None, None, 30.0)
    exercises.start(tmp_path / "submission", only="Sigmoid")
    path = tmp_path / "submission" / "sigmoid.py"
    path.write_text(answer(path.read_text(), FORGE))
    results = run_autograder(tmp_path, gradescope_machine(tmp_path))
    assert results["score"] == 0 and "exit status 137" in results["output"], results
    follows_the_specification(results)


def test_the_autograder_installs_tinynet_s_own_requirements(monkeypatch):
    """One list, setup.cfg's: read from the installed metadata, or from setup.cfg in a checkout."""
    import configparser
    import importlib.metadata

    setup = configparser.ConfigParser()
    setup.read(ENGINE.parent / "setup.cfg")
    wanted = setup["options"]["install_requires"].split()
    assert exercises.gradescope.requirements().split() == wanted

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "requires", not_installed)
    assert exercises.gradescope.requirements().split() == wanted


def test_the_sweep_of_left_processes_prints_nothing_for_processes_it_cannot_read(tmp_path):
    """Run as Gradescope's user, /proc/<pid>/environ of other users' processes cannot be read:
    the failing input redirection printed one 'Permission denied' per process, about 63 lines
    of 70 on every submission. The sweep's own lines, run over files that cannot be opened,
    print nothing."""
    script = exercises.gradescope.RUN
    loop = script[script.index("for process in /proc/[0-9]*; do"):script.index("done", script.index("for process"))]
    loop = loop.replace("/proc/[0-9]*", " ".join(str(tmp_path / f"gone{i}") for i in range(3))) + "done\n"
    out = subprocess.run(["bash", "-c", 'run=123\n' + loop.replace('"$process/environ"', '"$process/nowhere"')],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stderr == "" and out.stdout == ""
