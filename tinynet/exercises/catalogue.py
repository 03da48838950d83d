"""The exercises: what each one asks, where its file comes from, and how it is checked.

An exercise is one method to write (a backward, or an optimizer's step) in one class of one
file. Three sources, one format:

- the engine's own layers and loss (tinynet/layers.py, tinynet/losses.py), their backward
  blanked when a learner starts: the engine is the answer;
- the files in tinynet/exercises/skeletons/, already blank (their answers are kept in the
  test suite, not here);
- a course folder of a teacher's (``--from COURSE``): any .py file there that declares an
  ``EXERCISE``, written with its answer, which ``start`` blanks (docs/teachers.md).

A file declares its exercise as a literal dict, read without running the file:

    EXERCISE = {
        "name": "Swish.backward",   # as graded
        "class": "Swish",           # the class, and
        "method": "backward",       # the method to write ("step" for an optimizer)
        "kind": "layer",            # layer | loss | optimizer: how it is checked (grader.py)
        "shape": [5, 4],            # the input's shape (layer), the logits' (loss)
        "init": {},                 # keyword arguments that build the class
        "kinks": [0.0],             # a layer's kinks: inputs kept at least 0.1 away from each
        "labels": "classes",        # a loss's labels: classes (0..C-1), values (floats), none
        "hint": "one line",         # put above the blanked method's body
        "points": 1,                # its weight in the grade
        "input": "logits",          # a loss's input, as its gradient is named (dL/dpred); default logits
        "reference": [[...], ...],  # an optimizer's parameters after each step
    }
"""
from __future__ import annotations

import ast
import pathlib
from dataclasses import asdict, dataclass, field
from typing import Any

ENGINE = pathlib.Path(__file__).resolve().parents[1]
SKELETONS = pathlib.Path(__file__).resolve().parent / "skeletons"
KINDS = ("layer", "loss", "optimizer")
# The skeletons in the order a course meets them: smooth layers, a kink, a Jacobian, losses,
# parameters, a fork, a whole network by hand, then optimizers.
ORDER = ("sigmoid", "leaky_relu", "softmax", "mse", "weight_decay", "layer_norm", "dropout", "residual",
         "two_layer", "momentum", "adam")
LABELS = ("classes", "values", "none")


@dataclass(frozen=True)
class Exercise:
    name: str  # as shown in the grades
    file: str  # the learner's file that holds it
    cls: str  # the class whose method is blanked
    method: str  # "backward", or "step" for an optimizer
    kind: str  # "layer", "loss" or "optimizer"
    hint: str  # one line
    source: str  # the file it is made from: an engine file, a skeleton, a course file
    shape: tuple[int, ...] = (5, 4)
    init: dict[str, Any] = field(default_factory=dict)
    kinks: tuple[float, ...] = ()
    labels: str = "classes"
    points: float = 1.0
    reference: tuple[tuple[float, ...], ...] = ()
    input: str = "logits"  # a loss's input: its gradient is reported as dL/d<input> (dL/dpred, dL/dW)
    doc: str | None = None  # the blanked method's docstring, where the source's own states the answer

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


ENGINE_EXERCISES = (
    Exercise("Linear.backward", "layers.py", "Linear", "backward", "layer",
             "y[n, j] = sum_i x[n, i] W[i, j] + b[j]: which x and W entries touch out[n, j]? b is added to every row.",
             str(ENGINE / "layers.py"), shape=(5, 3), init={"n_in": 3, "n_out": 4, "seed": 0, "dtype": "float64"},
             doc="dout = dL/dout: (N, n_out) -> dL/dx: (N, n_in). Also set self.dW: (n_in, n_out) and "
                 "self.db: (n_out,).\n\nCached by forward: x, W = self.cache, x (N, n_in) and W (n_in, n_out)."),
    Exercise("ReLU.backward", "layers.py", "ReLU", "backward", "layer",
             "The slope of max(x, 0) is 1 where x > 0 and 0 elsewhere; the chain rule multiplies.",
             str(ENGINE / "layers.py"), shape=(5, 4), kinks=(0.0,),
             doc="dout = dL/dout: (N, D) -> dL/dx: (N, D).\n\nCached by forward: mask, dtype = self.cache, mask "
                 "(N, D) bool, True where x > 0."),
    Exercise("SoftmaxCrossEntropy.backward", "losses.py", "SoftmaxCrossEntropy", "backward", "loss",
             "Differentiate L_n = -z[n, y_n] + log sum_k exp z[n, k] by z[n, c]; the loss is the mean over N rows, "
             "and dout multiplies it all.",
             str(ENGINE / "losses.py"), shape=(5, 3),
             doc="dout = dL_total/dL: a number (default 1) -> dL/dlogits: (N, C).\n\nCached by forward: "
                 "probs, onehot = self.cache, probs (N, C) = softmax(logits), onehot (N, C) = 1 at each row's label."),
)


def declared(path: pathlib.Path) -> Exercise | None:
    """The exercise a file declares (its EXERCISE dict, read as a literal), or None if it
    declares none. A malformed declaration raises ValueError naming the file and the field."""
    tree = ast.parse(path.read_text(), filename=str(path))
    spec = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "EXERCISE" for t in node.targets):
            try:
                spec = ast.literal_eval(node.value)
            except ValueError:
                raise ValueError(f"{path.name}: EXERCISE must be a literal dict (numbers, strings, lists)") from None
    if spec is None:
        return None
    return from_spec(spec, path)


def from_spec(spec: Any, path: pathlib.Path) -> Exercise:
    """An EXERCISE dict, checked field by field."""
    where = path.name
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: EXERCISE must be a dict, got {type(spec).__name__}")
    for key in ("name", "class", "kind", "hint"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise ValueError(f"{where}: EXERCISE needs {key!r}, a non-empty string")
    if spec["kind"] not in KINDS:
        raise ValueError(f"{where}: EXERCISE kind must be one of {', '.join(KINDS)}, got {spec['kind']!r}")
    labels = spec.get("labels", "classes")
    if labels not in LABELS:
        raise ValueError(f"{where}: EXERCISE labels must be one of {', '.join(LABELS)}, got {labels!r}")
    shape = tuple(spec.get("shape", (5, 4)))
    if len(shape) != 2 or not all(isinstance(n, int) and n >= 1 for n in shape):
        raise ValueError(f"{where}: EXERCISE shape must be two positive integers (N, D), got {spec.get('shape')!r}")
    init = spec.get("init", {})
    if not isinstance(init, dict):
        raise ValueError(f"{where}: EXERCISE init must be a dict of keyword arguments, got {init!r}")
    if spec["kind"] == "optimizer" and not spec.get("reference"):
        raise ValueError(f"{where}: an optimizer exercise needs its reference trajectory (EXERCISE['reference'])")
    given = spec.get("input", "logits")
    if not (isinstance(given, str) and given.isidentifier()):
        raise ValueError(f"{where}: EXERCISE input must be a name such as 'pred', got {given!r}")
    points = spec.get("points", 1)
    if not isinstance(points, (int, float)) or points <= 0:
        raise ValueError(f"{where}: EXERCISE points must be a positive number, got {points!r}")
    return Exercise(spec["name"], path.name, spec["class"], spec.get("method", "backward"), spec["kind"], spec["hint"],
                    str(path), shape=shape, init=init, kinks=tuple(float(k) for k in spec.get("kinks", ())),
                    labels=labels, points=float(points), reference=tuple(tuple(r) for r in spec.get("reference", ())),
                    input=given)


def exercises(course: pathlib.Path | None = None) -> list[Exercise]:
    """Every exercise: the engine's, the skeletons', then a course folder's (sorted by file)."""
    found = list(ENGINE_EXERCISES)
    def place(path: pathlib.Path) -> tuple[int, str]:
        return (ORDER.index(path.stem) if path.stem in ORDER else len(ORDER), path.name)

    skeletons = sorted(SKELETONS.glob("*.py"), key=place)
    found += [e for e in (declared(p) for p in skeletons) if e is not None]
    if course is not None:
        ours = [e for e in (declared(p) for p in sorted(course.glob("*.py"))) if e is not None]
        # A started folder holds copies of tinynet's own exercise files beside the course's:
        # the same file declaring the same exercise is tinynet's, not the course's.
        own = {(e.file, e.name) for e in found}
        ours = [e for e in ours if (e.file, e.name) not in own]
        if not ours:
            raise ValueError(f"{course} holds no exercise: a course file declares one as EXERCISE = {{...}} "
                             f"(docs/teachers.md)")
        clash = sorted({e.file for e in ours} & {e.file for e in found})
        if clash:
            raise ValueError(f"course file {clash[0]} has the name of one of tinynet's own exercise files; rename it")
        found += ours
    names = [e.name for e in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"two exercises are named {', '.join(twice)}; give each its own name")
    return found


def blank_source(source: str, chosen: list[Exercise]) -> str:
    """``source`` with the body of each chosen exercise's method replaced: its docstring (the
    shapes), a one-line hint, and ``raise NotImplementedError``. Everything else stays."""
    lines = source.splitlines()
    by_class = {e.cls: e for e in chosen}
    edits = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and node.name in by_class:
            e = by_class[node.name]
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == e.method:
                    edits.append((item.body[0].lineno, item.end_lineno, e, ast.get_docstring(item)))
    for first, last, e, doc in sorted(edits, key=lambda edit: edit[0], reverse=True):  # bottom-up
        lines[first - 1:last] = _blank_body(e, e.doc or doc or "")
    return "\n".join(lines) + "\n"


def _blank_body(e: Exercise, doc: str) -> list[str]:
    indent = " " * 8
    doc = doc.replace("\n", "\n" + indent).replace(indent + "\n", "\n")
    return [f'{indent}"""{doc}\n{indent}"""', f"{indent}# Hint: {e.hint}",
            f'{indent}raise NotImplementedError("{e.name}: your turn (the docstring gives the shapes)")']


def select(chosen: list[Exercise], only: str | None) -> list[Exercise]:
    """The exercises an assignment names: ``only`` lists exercise names ("Linear.backward") or
    class names ("Linear"), separated by commas, in any case; None keeps them all."""
    if only is None:
        return chosen
    by_name = {}
    for e in chosen:
        by_name[e.name.lower()] = by_name[e.cls.lower()] = e
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n.lower() not in by_name]
    if unknown or not names:
        raise ValueError(f"--only names no exercise {', '.join(map(repr, unknown)) or repr(only)}; choose from: "
                         f"{', '.join(e.cls for e in chosen)}")
    picked = {by_name[n.lower()].name for n in names}
    return [e for e in chosen if e.name in picked]  # in the course's order, each once
