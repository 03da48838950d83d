"""Find the exercise files in a folder as learners hand them in: at its top, one folder down
(an uploaded folder), or renamed by a browser or a learning platform ("layers (1).py",
"layers-2.py"). What is found elsewhere than at the top is copied, under its expected name,
into a folder of its own to be graded, and each such finding is said.
"""
from __future__ import annotations

import pathlib
import re
import tempfile

from ..files import copy_file

SKIPPED = {"__MACOSX", "__pycache__"}  # what zip tools and Python add
DEPTH = 3  # folders below the top that are searched


def candidates(folder: pathlib.Path) -> list[pathlib.Path]:
    """Every .py file in ``folder`` and its folders, DEPTH deep, hidden ones and tool folders aside."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).parts
        if len(parts) <= DEPTH + 1 and not any(p.startswith(".") or p in SKIPPED for p in parts):
            found.append(path)
    return found


def renamed(name: str, path: pathlib.Path) -> bool:
    """Whether ``path`` is ``name`` as an upload renames it: "layers (1).py", "layers-2.py", "layers_3.py"."""
    stem = re.escape(pathlib.Path(name).stem)
    return re.fullmatch(rf"{stem}(?: ?\(\d+\)|[-_ ]\d+)\.py", path.name) is not None


def locate(folder: pathlib.Path, names: list[str]) -> tuple[dict[str, pathlib.Path], dict[str, str]]:
    """({expected name: the file found for it}, {expected name: why none was taken}).

    For each name: the file of that name at the top; else the only one of that name below;
    else the only renamed copy anywhere. Two equally good candidates are refused: which one
    the learner meant cannot be known."""
    files = candidates(folder)
    found: dict[str, pathlib.Path] = {}
    missing: dict[str, str] = {}
    for name in names:
        if (folder / name).is_file():
            found[name] = folder / name
            continue
        for matches in ([f for f in files if f.name == name], [f for f in files if renamed(name, f)]):
            if len(matches) == 1:
                found[name] = matches[0]
                break
            if len(matches) > 1:
                shown = ", ".join(str(f.relative_to(folder)) for f in matches)
                missing[name] = f"{len(matches)} files could be {name} ({shown}): hand in one, named {name}"
                break
        else:
            seen = ", ".join(str(f.relative_to(folder)) for f in files[:8]) or "no .py file at all"
            missing[name] = (f"{name} was not found in {folder.name}/ (found: {seen}); hand in the files that "
                             f"`python -m tinynet.exercises start` wrote, under their own names")
    return found, missing


def staged(folder: pathlib.Path, found: dict[str, pathlib.Path]) -> tuple[pathlib.Path, list[str]]:
    """(the folder to grade, what was taken from where). ``folder`` itself when every file is at
    its top under its own name; otherwise a new temporary folder (the caller removes it) holding
    each file under its expected name, beside the other .py files of the folders they came from
    (an answer may import its neighbours)."""
    moved = {name: path for name, path in found.items() if path != folder / name}
    if not moved:
        return folder, []
    stage = pathlib.Path(tempfile.mkdtemp(prefix="tinynet-grade-"))
    for source in {path.parent for path in found.values()}:
        for neighbour in source.glob("*.py"):
            copy_file(neighbour, stage / neighbour.name)
    for name, path in found.items():
        copy_file(path, stage / name)
    notes = [f"graded {path.relative_to(folder)} as {name}" for name, path in sorted(moved.items())]
    return stage, notes
