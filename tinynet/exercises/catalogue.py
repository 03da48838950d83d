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
import math
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
    e = from_spec(spec, path)
    methods = {c.name: {f.name for f in c.body if isinstance(f, ast.FunctionDef)}
               for c in tree.body if isinstance(c, ast.ClassDef)}
    # Without them start would copy the file unblanked: the teacher's answer, in the learner's file.
    if e.cls not in methods:
        raise ValueError(f"{path.name}: EXERCISE class {e.cls!r} is not a class of this file")
    if e.method not in methods[e.cls]:
        raise ValueError(f"{path.name}: EXERCISE method {e.method!r} is not a method of class {e.cls}")
    return e


FIELDS = ("name", "class", "method", "kind", "shape", "init", "kinks", "labels", "hint", "points", "input",
          "reference")


def from_spec(spec: Any, path: pathlib.Path) -> Exercise:
    """An EXERCISE dict, checked field by field: each message names the file and the field."""
    where = f"{path.name}: EXERCISE"
    if not isinstance(spec, dict):
        raise ValueError(f"{where} must be a dict, got {type(spec).__name__}")
    unknown = sorted(str(k) for k in spec if k not in FIELDS)
    if unknown:
        raise ValueError(f"{where} has no field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
    for key in ("name", "class", "kind", "hint"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise ValueError(f"{where} needs {key!r}, a non-empty string")
    if any(c in spec["hint"] for c in "\n\r"):  # a comment line of the learner's file
        raise ValueError(f"{where} hint must be one line, got {spec['hint']!r}")
    if any(c in spec["name"] for c in '\n\r"\\'):  # inside a string of the learner's file
        raise ValueError(f"{where} name must be one line without quotes or backslashes, got {spec['name']!r}")
    method = spec.get("method", "backward")
    for key, value in (("class", spec["class"]), ("method", method)):
        if not (isinstance(value, str) and value.isidentifier()):
            raise ValueError(f"{where} {key} must be a Python name, got {value!r}")
    if spec["kind"] not in KINDS:
        raise ValueError(f"{where} kind must be one of {', '.join(KINDS)}, got {spec['kind']!r}")
    labels = spec.get("labels", "classes")
    if labels not in LABELS:
        raise ValueError(f"{where} labels must be one of {', '.join(LABELS)}, got {labels!r}")
    shape = spec.get("shape", (5, 4))
    if not (isinstance(shape, (list, tuple)) and len(shape) == 2 and all(_whole(n) and n >= 1 for n in shape)):
        raise ValueError(f"{where} shape must be two positive integers [N, D], got {shape!r}")
    init = spec.get("init", {})
    if not (isinstance(init, dict) and all(isinstance(k, str) and k.isidentifier() for k in init)):
        raise ValueError(f"{where} init must be a dict of keyword arguments, got {init!r}")
    kinks = spec.get("kinks", [])
    if not (isinstance(kinks, (list, tuple)) and all(_finite(k) for k in kinks)):
        raise ValueError(f"{where} kinks must be a list of finite numbers, got {kinks!r}")
    reference = _reference(spec, where)
    given = spec.get("input", "logits")
    if not (isinstance(given, str) and given.isidentifier()):
        raise ValueError(f"{where} input must be a name such as 'pred', got {given!r}")
    points = spec.get("points", 1)
    if not (_finite(points) and 0 < points <= 1000):
        raise ValueError(f"{where} points must be a number above 0, at most 1000, got {points!r}")
    return Exercise(spec["name"], path.name, spec["class"], method, spec["kind"], spec["hint"], str(path),
                    shape=tuple(shape), init=init, kinks=tuple(float(k) for k in kinks), labels=labels,
                    points=float(points), reference=reference, input=given)


def _reference(spec: dict[str, Any], where: str) -> tuple[tuple[float, ...], ...]:
    """An optimizer's reference trajectory: after each step, W (3, 2) then b (2,), flattened."""
    reference = spec.get("reference", [])
    if spec["kind"] == "optimizer" and not reference:
        raise ValueError(f"{where} of an optimizer needs its reference trajectory ('reference')")
    steps = reference if isinstance(reference, (list, tuple)) else [None]
    if not all(isinstance(r, (list, tuple)) and len(r) == 8 and all(_finite(v) for v in r) for r in steps):
        raise ValueError(f"{where} reference must list, for each step, the 8 finite numbers of W (3, 2) then b "
                         f"(2,), got {reference!r}"[:300])
    return tuple(tuple(float(v) for v in r) for r in reference)


def _whole(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


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


def select(chosen: list[Exercise], only: str | None, flag: str = "--only") -> list[Exercise]:
    """The exercises an assignment names: ``only`` lists exercise names ("Linear.backward") or
    class names ("Linear"), separated by commas, in any case; None keeps them all. ``flag``
    names the option in messages."""
    if only is None:
        return chosen
    by_name = {}
    for e in chosen:
        by_name[e.name.lower()] = by_name[e.cls.lower()] = e
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n.lower() not in by_name]
    if unknown or not names:
        raise ValueError(f"{flag} names no exercise {', '.join(map(repr, unknown)) or repr(only)}; choose from: "
                         f"{', '.join(e.cls for e in chosen)}")
    picked = {by_name[n.lower()].name for n in names}
    return [e for e in chosen if e.name in picked]  # in the course's order, each once
