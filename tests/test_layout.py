"""The layout docs/architecture.md draws: a library that knows nothing of the log, one concern
per module, harness layers that import one way, one writer of files, and the public names that
code outside this repository uses."""
from __future__ import annotations

import ast
import os
import pathlib
import re
import stat

import numpy as np
import pytest

import tinynet as tn

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinynet"
# Names that belong to the log's experiments (Part 3's series and figures, Part 4's diagnosis of
# the log's picture). The doctor's own words (a diagnosis, dead units of hidden layers) are not.
EXPERIMENT_WORDS = r"stranded|dead_units|dead_outputs|dead output|logits_clipped|seed_study|like_the_log|" \
                   r"the log\b|part ?[1-4]|case_"


def sources(*folders: str) -> list[pathlib.Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_the_library_knows_nothing_of_the_log():
    found = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in sources("tinynet")
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(EXPERIMENT_WORDS, line, flags=re.I)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", sources("tinynet", "experiments"), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_reads_in_one_sitting(path):
    assert len(path.read_text().splitlines()) <= 400


def test_no_line_is_wider_than_120_characters():
    """The exercise skeletons' reference numbers aside (data a student never edits)."""
    skeletons = PACKAGE / "exercises" / "skeletons"
    wide = [f"{p.relative_to(ROOT)}:{i} ({len(line)})" for p in sources("tinynet", "experiments", "tests")
            if skeletons not in p.parents
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if len(line) > 120]
    assert not wide, ", ".join(wide)


def writes_of(source: str) -> list[str]:
    """The calls in ``source`` that write a file themselves: open() for writing, a Path's
    write_text or write_bytes, shutil's copies, a zip or a temporary file made by name. (A
    write into a file object that tinynet.files hands over is not one.)"""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        owner = node.func.value if isinstance(node.func, ast.Attribute) else None
        modes = [a.value for a in node.args[1:2] + [k.value for k in node.keywords if k.arg == "mode"]
                 if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if name == "open" and any(set(m) & set("wax") for m in modes):
            found.append(f"open(..., {modes[0]!r})")
        elif name in ("write_text", "write_bytes") and owner is not None and getattr(owner, "id", "") != "files":
            found.append(f".{name}(...)")
        elif name in ("copyfile", "copy2", "copytree", "move", "mkstemp", "NamedTemporaryFile", "savetxt"):
            found.append(f"{name}(...)")
        elif name == "copy" and getattr(owner, "id", "") == "shutil":  # not an array's .copy()
            found.append("copy(...)")
        elif name == "ZipFile" and node.args and not isinstance(node.args[0], ast.Name):
            found.append("ZipFile(a path, ...)")
    return found


def test_every_file_is_written_by_the_one_writer():
    """tinynet/files.py writes every file tinynet and the experiments write (whole or absent,
    0644): the grader, the hand-in stager, the autograder builder and the benchmarks too."""
    writers = {str(p.relative_to(ROOT)): writes_of(p.read_text()) for p in sources("tinynet", "experiments")}
    assert {path: calls for path, calls in writers.items() if calls} == {
        # a temporary renamed over the target once whole; the probe of a folder; the lock file
        "tinynet/files.py": ["mkstemp(...)", "open(..., 'a+')", "NamedTemporaryFile(...)"]}


def test_the_writer_test_sees_each_way_of_writing():
    source = ("open(p, 'w'); open(p, mode='ab'); path.write_text(t); shutil.copyfile(a, b); zipfile.ZipFile(folder "
              "/ 'a.zip', 'w'); open(p); open(p, 'rb'); files.write_text(p, t); write_text(p, t); ZipFile(f, 'w'); "
              "W.copy(); shutil.copy(a, b)")
    assert writes_of(source) == ["open(..., 'w')", "open(..., 'ab')", ".write_text(...)", "copyfile(...)",
                                 "ZipFile(a path, ...)", "copy(...)"]


def test_written_files_are_readable_by_others(tmp_path):
    """A figure and a results file alike: 0644 less the umask (0022 here), never 0600."""
    from experiments.harness.output import write_json
    from tinynet import plots

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "results.json", {"a": 1})
        plots.scaling([1, 10], [1.0, 2.0], "t", tmp_path / "fig.png")
    finally:
        os.umask(old)
    for name in ("results.json", "fig.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_the_design_s_public_names_work_as_the_design_says():
    """Each name of ../shared/DESIGN.md's public API, used as the contract describes it: code
    outside this repository relies on them, so a renamed or broken one must fail here."""
    import hypothesis.strategies

    import tinynet.doctor
    import tinynet.testing
    from tinynet.data import Dataset, load_idx, make_dataset

    be = tn.get_backend("numpy")
    x = be.asarray([[1.0, -2.0], [0.0, 3.0]], dtype="float32")  # (N, 2) on the backend
    assert be.xp is np and be.to_numpy(x).dtype == np.float32
    lin = tn.Linear(2, 3, seed=0)
    np.testing.assert_allclose(lin.forward(x), x @ lin.W + lin.b)  # y = x @ W + b, W (n_in, n_out)
    dx = lin.backward(np.ones((2, 3), np.float32))
    assert lin.dW.shape == (2, 3) and lin.db.shape == (3,) and dx.shape == (2, 2)
    relu = tn.ReLU()
    relu.forward(x)
    np.testing.assert_array_equal(relu.backward(np.ones((2, 2), np.float32)), [[1, 0], [0, 1]])  # 0 at exactly 0
    loss_fn = tn.SoftmaxCrossEntropy()
    loss = loss_fn.forward(np.zeros((2, 2), np.float32), np.array([0, 1]))
    assert float(loss) == pytest.approx(np.log(2))  # the mean over the batch, a Python float
    np.testing.assert_allclose(loss_fn.backward(), [[-0.25, 0.25], [0.25, -0.25]])  # (softmax - onehot) / N
    model = tn.create_model([2, 4, 2], seed=0)
    assert isinstance(model, tn.Sequential) and [type(m) for m in model.layers] == [tn.Linear, tn.ReLU, tn.Linear]
    assert [name for _, _, name in tn.parameters(model)] == ["W", "b", "W", "b"]
    opt = tn.SGD(model, lr=0.1)
    loss = tn.train_step(model, loss_fn, opt, x, np.array([0, 1]))
    assert opt.lr == 0.1 and np.isfinite(float(loss))
    data = make_dataset("xor", 20, seed=0)
    assert isinstance(data, Dataset) and data.x_train.shape == (20, 2)
    digits = make_dataset("digits", 20, seed=0)  # (N, 64), labels 0..9, from the package
    assert digits.x_train.shape == (20, 64) and digits.n_classes == 10 and digits.y_train.max() <= 9
    assert callable(load_idx)  # its files are written and read in tests/test_data.py
    hist = tn.train(model, data, steps=3, lr=0.1, progress=False)
    assert isinstance(hist, tn.History) and len(hist.loss) == 3
    d = tn.diagnose(tn.create_model([2, 4, 2], seed=0), data, steps=3, lr=0.1, progress=False)
    assert d.cause in tinynet.doctor.CAUSES and d.history.loss and all(f.id and f.fix for f in d.findings)
    checked = tn.gradcheck.check_model(tn.create_model([2, 4, 2], dtype="float64"), data.x_train[:4],
                                       data.y_train[:4])
    assert checked and all(r.passed for r in checked)
    tinynet.testing.assert_backward_correct(tn.Linear(2, 3, seed=0), data.x_train[:4])
    assert isinstance(tinynet.testing.layer_inputs(), hypothesis.strategies.SearchStrategy)


def test_the_part_scripts_import_their_preamble_from_one_place():
    """The first import of each script is the preamble (from there on, Ctrl-C ends it with one
    line), and no script installs a signal handler of its own. Read from the code, not its text:
    a comment that names them proves nothing."""
    for part in ("part1_sanity", "part2_overfit", "part3_break", "part4_scale", "run_all"):
        tree = ast.parse((ROOT / "experiments" / f"{part}.py").read_text())
        ours = [node for node in tree.body if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            ("experiments", "tinynet"))]
        assert (ours[0].module, [a.name for a in ours[0].names]) == ("experiments.harness", ["preamble"]), part
        calls = [node.func for node in ast.walk(tree) if isinstance(node, ast.Call)]
        assert not any(isinstance(f, ast.Attribute) and f.attr == "signal" for f in calls), part


def imports_of(source: str, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """The tinynet modules that module ``name`` (its ``source``) imports, anywhere in it: at
    the top, inside a function (a lazy import), under TYPE_CHECKING. ``from pkg import x``
    counts as pkg.x where that is a module, else as pkg itself."""
    package = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from its own package, or one above per extra dot
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m in modules and m != name}


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import one another round a circle: the strongly connected
    components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = [stack.pop()]
            while group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def library_imports() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in sources("tinynet")}
    return {name: imports_of(p.read_text(), name, p.name == "__init__.py", set(paths)) for name, p in paths.items()}


def test_no_circle_of_imports_in_the_library():
    """tinynet/ imports one way, lazy imports included: in a circle no module can be read, or
    imported, without the others."""
    graph = library_imports()
    assert {"tinynet.training_checks", "tinynet.model", "tinynet.metrics"} <= graph["tinynet.training"]
    assert circles(graph) == []


# The engine's core: what trains and diagnoses a network. It never imports the ways to break
# training (tinynet/breakages.py) nor the lab page built on top of it.
CORE = ("tinynet.backend", "tinynet.checks", "tinynet.data", "tinynet.layers", "tinynet.losses", "tinynet.metrics",
        "tinynet.model", "tinynet.optim", "tinynet.training", "tinynet.training_checks", "tinynet.doctor")


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for name in graph.get(todo.pop(), set()) - seen:
            seen.add(name)
            todo.append(name)
    return seen


def test_the_engine_core_never_imports_the_breakages_or_the_lab():
    graph = library_imports()
    core = [name for name in graph if name.startswith(CORE)]
    assert "tinynet.doctor.rules" in core and "tinynet.training" in core
    assert "tinynet.breakages" in reachable(graph, "tinynet.lab.run")  # the test can see such an import
    used = {name: sorted(n for n in reachable(graph, name) if n.startswith(("tinynet.breakages", "tinynet.lab")))
            for name in core}
    assert {name: found for name, found in used.items() if found} == {}


def test_the_circle_test_sees_a_circle_closed_by_a_lazy_import():
    """It can fail: b imports a inside a function while a imports b at the top (checks.py
    once did so with layers.py), and a relative import is resolved from its package."""
    source = {"tinynet.a": "from . import b\n", "tinynet.b": "def f():\n    from .a import g\n"}
    modules = set(source)
    graph = {name: imports_of(text, name, False, modules) for name, text in source.items()}
    assert graph == {"tinynet.a": {"tinynet.b"}, "tinynet.b": {"tinynet.a"}}
    assert circles(graph) == [["tinynet.a", "tinynet.b"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a"}}) == []


# What experiments/ may use of the library, as docs/architecture.md lists it: the public API of
# ../shared/DESIGN.md and the modules the library keeps for any user's own scripts. The
# benchmarks alone reach further (they time the engine's own pieces: tinynet.checks).
LIBRARY_FOR_USERS = {"tinynet", "tinynet.backend", "tinynet.breakages", "tinynet.cli", "tinynet.data", "tinynet.doctor",
                     "tinynet.doctor.thresholds", "tinynet.files", "tinynet.gradcheck", "tinynet.losses",
                     "tinynet.metrics", "tinynet.plots", "tinynet.testing", "tinynet.training"}
FOR_BENCHMARKS = {"tinynet.checks", "tinynet.lab", "tinynet.lab.live"}


def test_the_experiments_use_the_library_as_any_user_would():
    used = {}
    for path in sources("experiments"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tinynet"):
                names = [(node.module, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                names = [(a.name, "") for a in node.names if a.name.startswith("tinynet")]
            else:
                continue
            allowed = LIBRARY_FOR_USERS | (FOR_BENCHMARKS if "bench" in path.parts else set())
            for module, name in names:
                if module not in allowed or name.startswith("_"):
                    used.setdefault(str(path.relative_to(ROOT)), []).append(f"{module}.{name}".rstrip("."))
    assert used == {}


def test_train_s_own_checks_are_imported_by_train_alone():
    importers = [name for name, imported in library_imports().items() if "tinynet.training_checks" in imported]
    assert importers == ["tinynet.training"]


# The harness's layers, lowest first: a module may import only modules of lower layers.
HARNESS_LAYERS = [{"runner", "preamble", "compare_results"}, {"seeds"}, {"verdicts"}, {"report", "output"},
                  {"flags"}, {"study"}]


def test_the_harness_imports_one_way():
    """experiments/harness/: no module imports one of its own layer or above, not even under
    TYPE_CHECKING; and nothing in it imports the part scripts or a part's own modules."""
    layer_of = {name: i for i, names in enumerate(HARNESS_LAYERS) for name in names}
    harness = ROOT / "experiments" / "harness"
    assert {p.stem for p in harness.glob("*.py")} - {"__init__"} == set(layer_of)
    for path in harness.glob("*.py"):
        if path.stem == "__init__":
            continue
        for node in ast.walk(ast.parse(path.read_text())):  # every import, TYPE_CHECKING ones too
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("experiments"):
                modules = [node.module] if node.module != "experiments.harness" else \
                    [f"experiments.harness.{a.name}" for a in node.names]
                for module in modules:
                    assert module.startswith("experiments.harness."), f"{path.stem} imports {module}"
                    imported = module.split(".")[2]
                    assert layer_of[imported] < layer_of[path.stem], f"{path.stem} imports {imported}"


def test_parsing_the_flags_touches_nothing(tmp_path):
    """flags.parse only reads: the study creates and locks its --out folder."""
    from experiments.harness import flags

    out = tmp_path / "not" / "yet"
    args = flags.parse(flags.parser("", default_steps=1), ["--out", str(out)], "x")
    assert args.out == out and not (tmp_path / "not").exists()
