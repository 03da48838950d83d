"""A Gradescope autograder, written whole: ``python -m tinynet.exercises autograder DIR``.

DIR receives what Gradescope's specification asks for at the root of the zip a teacher
uploads (``DIR/autograder.zip``, written too): ``setup.sh``, which builds the image once
(Python 3.10 or newer, a virtual environment, tinynet's requirements), and
``run_autograder``, which grades each submission. Beside them: a copy of this tinynet (the
grader the learners' answers meet, the same version they started from), the course's files
when there are any, and ``requirements.txt``.

``run_autograder`` always leaves a valid results.json: the grades, or, if grading could not
run at all, a score of 0 and the reason, where the learner sees it.
"""
from __future__ import annotations

import configparser
import importlib.metadata
import pathlib
import shlex
import stat
import zipfile
from typing import Any

from ..files import copy_file, copy_tree, write_atomically, write_text

PACKAGE = pathlib.Path(__file__).resolve().parents[1]  # tinynet/
EXECUTABLE = 0o755

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image. Written by
# python -m tinynet.exercises autograder. tinynet needs Python 3.10 or newer: Gradescope's
# Ubuntu 22.04 base image (Python 3.10) or a newer one.
set -euo pipefail
cd "$(dirname "$0")"
root="${AUTOGRADER_ROOT:-/autograder}"  # another root only to try it outside Gradescope
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq python3 python3-venv python3-pip
fi
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "tinynet needs Python 3.10 or newer, \
and this image has " + sys.version.split()[0] + ": choose the Ubuntu 22.04 base image (or newer) in the \
autograder settings")'
python3 -m venv "$root/venv"  # its own environment: Ubuntu 24.04 refuses pip installs into the system's Python
"$root/venv/bin/pip" install --quiet -r requirements.txt
"""

RUN = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission. Written by
#   python -m tinynet.exercises autograder @WRITTEN_BY@
# It always leaves a valid results.json: the grades, or a score of 0 and why grading could not run.
root="${AUTOGRADER_ROOT:-/autograder}"  # another root only to try it outside Gradescope
results="$root/results/results.json"
mkdir -p "$root/results"
rm -f "$results"
python="$root/venv/bin/python3"
[ -x "$python" ] || python=python3
log=$(mktemp)
grades=$(mktemp)
run="$RANDOM$RANDOM$RANDOM"  # in the environment of the grader and of every process it starts
# The tinynet copied beside this script comes first on the path: the grader the learners started from.
TINYNET_RUN="$run" PYTHONPATH="$root/source" "$python" -m tinynet.exercises check "$root/submission" \
    --results "$grades" @CHECK_FLAGS@ 2> "$log"
status=$?
cat "$log" >&2  # for the teacher: Gradescope shows run_autograder's output to the staff
# A grader killed before it could end what the answers started: end it here.
for process in /proc/[0-9]*; do
    # In braces: a redirection that fails (another user's process) is reported before a 2>/dev/null
    # after it applies, 63 lines of noise per submission; the braces' 2>/dev/null is in place first.
    if { tr '\0' '\n' < "$process/environ"; } 2>/dev/null | grep -qx "TINYNET_RUN=$run"; then
        kill -9 "${process##*/}" 2>/dev/null
    fi
done
if [ "$status" -le 2 ] && [ -s "$grades" ]; then  # the grader ended as it does (0, 1, or 2 with nothing graded)
    mv "$grades" "$results"
else  # Python could not run, or the grader was killed: still a results.json, with the reason
    why=$(tail -n 5 "$log" | tr -d '\000-\011\013-\037' | sed 's/\\/\\\\/g; s/"/\\"/g' | awk '{printf "%s\\n", $0}')
    said="The autograder could not run (exit status $status); tell your teacher."
    printf '{"score": 0, "output": "%s %s", "tests": []}\n' "$said" "$why" > "$results"
fi
rm -f "$log" "$grades"
exit 0
"""


def requirements() -> str:
    """tinynet's own requirements (its extras aside): as installed metadata states them, or, in a
    checkout never installed, as its setup.cfg does. One list, kept in setup.cfg."""
    try:
        found = importlib.metadata.requires("tinynet") or []
    except importlib.metadata.PackageNotFoundError:
        setup = configparser.ConfigParser()
        if not setup.read(PACKAGE.parent / "setup.cfg"):
            raise ValueError("tinynet's requirements are unknown here (not installed, no setup.cfg beside it); "
                             "install it first: pip install -e .") from None
        found = [line.strip() for line in setup["options"]["install_requires"].splitlines() if line.strip()]
    return "\n".join(r for r in found if "extra ==" not in r) + "\n"


def write(folder: pathlib.Path, only: str | None, hidden: str | None, course: pathlib.Path | None,
          timeout: float) -> pathlib.Path:
    """Write the autograder into ``folder`` (new or empty); returns the zip to upload."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder} is not an empty folder: the autograder is written into a folder of its own")
    flags = ["--timeout", f"{timeout:g}"]
    flags += ["--only", only] if only else []
    flags += ["--hidden", hidden] if hidden else []
    flags += ["--from", '"$root/source/course"'] if course is not None else []
    quoted = " ".join(f if f.startswith('"$root') else shlex.quote(f) for f in flags)
    folder.mkdir(parents=True, exist_ok=True)
    copy_tree(PACKAGE, folder / "tinynet")
    if course is not None:
        (folder / "course").mkdir()
        for path in sorted(course.glob("*.py")):
            copy_file(path, folder / "course" / path.name)
    write_text(folder / "requirements.txt", requirements())
    write_text(folder / "setup.sh", SETUP)
    written_by = " ".join(shlex.quote(f) for f in ["DIR", *[f.replace('"$root/source/course"', str(course))
                                                             for f in flags]])
    write_text(folder / "run_autograder", RUN.replace("@CHECK_FLAGS@", quoted).replace("@WRITTEN_BY@", written_by))
    for name in ("setup.sh", "run_autograder"):
        (folder / name).chmod(EXECUTABLE)
    return _zip(folder)


def _zip(folder: pathlib.Path) -> pathlib.Path:
    """Every file of ``folder`` at the zip's root (Gradescope looks for setup.sh there), with
    the two scripts executable."""
    target = folder / "autograder.zip"
    files = [path for path in sorted(folder.rglob("*")) if path.is_file() and path != target]

    def write(f: Any) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            for path in files:
                info = zipfile.ZipInfo.from_file(path, path.relative_to(folder).as_posix())
                mode = EXECUTABLE if path.name in ("setup.sh", "run_autograder") else 0o644
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, path.read_bytes())

    write_atomically(target, write, binary=True)
    return target
