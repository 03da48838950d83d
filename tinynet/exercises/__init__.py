"""Exercises: write the backward passes yourself, graded by the gradient checker.

    python -m tinynet.exercises start my_backprop   # a copy of the engine's layers and loss,
                                                    # every backward blanked, and a README
    python -m tinynet.exercises check my_backprop   # a table: passed / failed (why) / not attempted

``start`` copies tinynet/layers.py and tinynet/losses.py into the folder with the body of
every ``backward`` replaced by the shapes involved, a one-line hint and
``raise NotImplementedError``; the forward passes stay as they are. It adds ``tanh.py``, a
layer beyond the engine whose backward is also yours to write. ``check`` imports the
learner's files and runs ``tinynet.gradcheck`` on each exercise: the exit status is 0 only
when every one passes.
"""
from __future__ import annotations

import ast
import importlib.util
import pathlib
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

import numpy as np

from .. import gradcheck
from ..cli import Parser
from ..backend import get_backend

ENGINE = pathlib.Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Exercise:
    name: str  # as shown in the table
    file: str  # the learner's file that holds it
    cls: str  # the class whose backward is blanked
    doc: str  # the blanked method's docstring: shapes only
    hint: str  # one line


EXERCISES = (
    Exercise("Linear.backward", "layers.py", "Linear",
             "dout = dL/dout: (N, n_out) -> dL/dx: (N, n_in). Also set self.dW: (n_in, n_out) and "
             "self.db: (n_out,).\n\nCached by forward: x, W = self.cache, x (N, n_in) and W (n_in, n_out).",
             "y[n, j] = sum_i x[n, i] W[i, j] + b[j]: which x and W entries touch y[n, j]? b is added to every row."),
    Exercise("ReLU.backward", "layers.py", "ReLU",
             "dout = dL/dout: (N, D) -> dL/dx: (N, D).\n\nCached by forward: mask, dtype = self.cache, mask (N, D) "
             "bool, True where x > 0.",
             "The slope of max(x, 0) is 1 where x > 0 and 0 elsewhere; the chain rule multiplies."),
    Exercise("SoftmaxCrossEntropy.backward", "losses.py", "SoftmaxCrossEntropy",
             "dout = dL_total/dL: a number (default 1) -> dL/dlogits: (N, C).\n\nCached by forward: "
             "probs, onehot = self.cache, probs (N, C) = softmax(logits), onehot (N, C) = 1 at each row's label.",
             "Differentiate L_n = -z[n, y_n] + log sum_k exp z[n, k] by z[n, c]; the loss is the mean over N rows."),
    Exercise("Tanh.backward", "tanh.py", "Tanh",
             "dout = dL/dout: (N, D) -> dL/dx: (N, D).\n\nCached by forward: self._y (N, D) = tanh(x).",
             "d tanh(x) / dx = 1 - tanh(x)^2, and tanh(x) is already cached."),
)

TANH = '''"""Tanh, a layer beyond the engine: y = tanh(x), elementwise. Its backward is yours."""
from __future__ import annotations

from typing import Any

from tinynet.backend import backend_of


class Tanh:
    param_names = ()  # no parameters: only dL/dx to compute

    def __init__(self) -> None:
        self._y: Any = None

    def __repr__(self) -> str:
        return "Tanh()"

    def forward(self, x: Any) -> Any:
        """x: (N, D) -> y = tanh(x): (N, D)."""
        self._y = backend_of(x).xp.tanh(x)  # (N, D), cached for backward
        return self._y

    def backward(self, dout: Any) -> Any:
        """Blanked."""
        raise NotImplementedError
'''

README = """# Backprop exercises

Each file here is a working copy of part of tinynet with every `backward` left for you to
write: `layers.py` (Linear, ReLU), `losses.py` (SoftmaxCrossEntropy) and `tanh.py` (a layer
tinynet does not have). The forward passes are complete. Each blanked method says the shapes
it takes and returns, and gives a one-line hint; `docs/backprop.md` in the tinynet repository
derives every one of them, if you get stuck.

Grade your work at any time:

    python -m tinynet.exercises check {folder}

Each exercise is checked against finite differences in float64 (`tinynet.gradcheck`): passed,
failed (with the worst entry, both values and their ratio: a ratio of -1 is a flipped sign, a
ratio of N a missing 1/N), or not attempted (still raising NotImplementedError). The command
exits with status 0 once every exercise passes.
"""


def start(folder: pathlib.Path) -> list[pathlib.Path]:
    """Write the exercise files into ``folder``; refuses to overwrite earlier work."""
    files = {"layers.py": blank(ENGINE / "layers.py"), "losses.py": blank(ENGINE / "losses.py"),
             "tanh.py": blank_source(TANH), "README.md": README.format(folder=folder)}
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder; choose a folder for the exercises")
    taken = [name for name in files if (folder / name).exists()]
    if taken:
        raise ValueError(f"{folder} already holds {', '.join(taken)}: starting again would overwrite your work; "
                         f"choose another folder, or delete those files first")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return [folder / name for name in files]


def blank(path: pathlib.Path) -> str:
    """An engine file with its relative imports made absolute, its module docstring (which
    states the answers) replaced, and every exercise blanked."""
    source = path.read_text().replace("from .", "from tinynet.")
    doc = ast.get_docstring(ast.parse(source), clean=False)
    header = (f"Your copy of tinynet/{path.name}: the forward passes work as in tinynet; every backward is "
              f"yours to write.\n\nGrade your work with: python -m tinynet.exercises check FOLDER\n")
    return blank_source(source.replace(f'"""{doc}"""', f'"""{header}"""', 1))


def blank_source(source: str) -> str:
    """``source`` with the body of each exercise's backward replaced (docstring, hint, raise)."""
    lines = source.splitlines()
    tree = ast.parse(source)
    by_class = {e.cls: e for e in EXERCISES}
    edits = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in by_class:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "backward":
                    edits.append((item.body[0].lineno, item.end_lineno, by_class[node.name]))
    for first, last, exercise in sorted(edits, reverse=True):  # bottom-up: line numbers stay valid
        lines[first - 1:last] = _blank_body(exercise)
    return "\n".join(lines) + "\n"


def _blank_body(e: Exercise) -> list[str]:
    indent = " " * 8
    doc = e.doc.replace("\n", "\n" + indent).replace(indent + "\n", "\n")
    return [f'{indent}"""{doc}\n{indent}"""', f"{indent}# Hint: {e.hint}",
            f'{indent}raise NotImplementedError("{e.name}: your turn (the docstring gives the shapes)")']


@dataclass
class Grade:
    exercise: str
    status: str  # "passed", "failed" or "not attempted"
    detail: str = ""


def check(folder: pathlib.Path) -> list[Grade]:
    """Grade every exercise in ``folder``."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder; create one with: python -m tinynet.exercises start {folder}")
    modules: dict[str, ModuleType | str] = {}
    for file in sorted({e.file for e in EXERCISES}):
        modules[file] = _load(folder / file)
    return [_grade(e, modules[e.file]) for e in EXERCISES]


def _load(path: pathlib.Path) -> ModuleType | str:
    """The learner's module, or why it could not be imported."""
    if not path.exists():
        return f"{path.name} is missing (python -m tinynet.exercises start makes it)"
    name = f"tinynet_exercise_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001: any error in the learner's file is reported, not raised
        return f"{path.name} could not be imported: {type(e).__name__}: {e}"
    return module


def _grade(e: Exercise, module: ModuleType | str) -> Grade:
    if isinstance(module, str):
        return Grade(e.name, "failed", module)
    try:
        results = CHECKS[e.cls](module)
    except NotImplementedError:
        return Grade(e.name, "not attempted")
    except Exception as err:  # noqa: BLE001: a learner's bug is a failed exercise, with its message
        return Grade(e.name, "failed", f"{type(err).__name__}: {err}")
    failed = [r for r in results if not r.passed]
    if not failed:
        return Grade(e.name, "passed", f"{len(results)} gradient{'s' * (len(results) > 1)} agree")
    return Grade(e.name, "failed", "\n".join(r.report() for r in failed))


# --- How each exercise is checked: float64, a few rows, inputs clear of ReLU's kink -------------
N = 5  # rows in every check


def _inputs(shape: tuple[int, int], seed: int) -> Any:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)  # |x| >= 0.1, both signs
    return get_backend("numpy").asarray(x)


def _check_linear(module: ModuleType) -> list[gradcheck.CheckResult]:
    layer = module.Linear(3, 4, seed=0, dtype="float64")
    return gradcheck.check_layer(layer, _inputs((N, 3), 1))


def _check_relu(module: ModuleType) -> list[gradcheck.CheckResult]:
    return gradcheck.check_layer(module.ReLU(), _inputs((N, 4), 2))


def _check_loss(module: ModuleType) -> list[gradcheck.CheckResult]:
    labels = get_backend("numpy").asarray(np.array([0, 2, 1, 2, 0]))
    return gradcheck.check_loss(module.SoftmaxCrossEntropy(), _inputs((N, 3), 3), labels)


def _check_tanh(module: ModuleType) -> list[gradcheck.CheckResult]:
    return gradcheck.check_layer(module.Tanh(), _inputs((N, 4), 4))


CHECKS: dict[str, Callable[[ModuleType], list[gradcheck.CheckResult]]] = {
    "Linear": _check_linear, "ReLU": _check_relu, "SoftmaxCrossEntropy": _check_loss, "Tanh": _check_tanh}


def format_grades(grades: list[Grade]) -> str:
    width = max(len(g.exercise) for g in grades)
    rows = [f"{'exercise':<{width}}  {'result':<13}  detail", "-" * (width + 30)]
    indent = "\n" + " " * (width + 17)  # a detail's further lines, under its first
    rows += [f"{g.exercise:<{width}}  {g.status:<13}  {indent.join(g.detail.splitlines())}" for g in grades]
    done = sum(g.status == "passed" for g in grades)
    rows.append(f"\n{done} of {len(grades)} passed" + ("." if done < len(grades) else ": well done."))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m tinynet.exercises", description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("start", "check"), help="start: write the exercises; check: grade them")
    p.add_argument("folder", type=pathlib.Path, help="the folder of your exercises")
    args = p.parse_args(argv)
    try:
        if args.command == "start":
            written = start(args.folder)
            print(f"wrote {', '.join(str(f) for f in written)}")
            print(f"next: write the backward passes, then: python -m tinynet.exercises check {args.folder}")
            return 0
        grades = check(args.folder)
    except ValueError as e:
        print(f"python -m tinynet.exercises: error: {e}", file=sys.stderr)
        return 2
    print(format_grades(grades))
    return 0 if all(g.status == "passed" for g in grades) else 1
