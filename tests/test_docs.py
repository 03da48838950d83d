"""The worked example of docs/backprop.md, run through tinynet: the page and the code agree."""
from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

import tinynet as tn

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "backprop.md"

# The numbers as printed in section 5 of the page.
EXPECTED = {
    "z1": [[1, 2], [3, -3]],
    "h": [[1, 2], [3, 0]],
    "z2": [[-1, 2], [3, 0]],
    "p": [[0.047426, 0.952574], [0.952574, 0.047426]],
    "L": 0.048587,
    "dz2": [[0.023713, -0.023713], [-0.023713, 0.023713]],
    "dW2": [[-0.047426, 0.047426], [0.047426, -0.047426]],
    "db2": [0, 0],
    "dW1": [[-0.047426, -0.047426], [0.071139, -0.094852]],
    "db1": [0, -0.047426],
    "dx": [[0.071139, -0.047426], [-0.023713, 0]],
}


def run_example(be):
    model = tn.create_model([2, 2, 2], dtype="float64", backend=be)
    first, relu, second = model.layers
    first.W, first.b = be.asarray(np.array([[1.0, -1.0], [0.0, 1.0]])), be.asarray(np.array([0.0, 1.0]))
    second.W, second.b = be.asarray(np.array([[1.0, 0.0], [-1.0, 1.0]])), be.asarray(np.array([0.0, 0.0]))
    x = be.asarray(np.array([[1.0, 2.0], [3.0, -1.0]]))
    y = be.asarray(np.array([1, 0]))
    z1 = first.forward(x)
    h = relu.forward(z1)
    z2 = second.forward(h)
    loss_fn = tn.SoftmaxCrossEntropy()
    L = loss_fn.forward(z2, y)
    dz2 = loss_fn.backward()
    dx = model.backward(dz2)
    got = dict(z1=z1, h=h, z2=z2, p=loss_fn.cache[0], L=L, dz2=dz2, dW2=second.dW, db2=second.db,
               dW1=first.dW, db1=first.db, dx=dx)
    return {k: be.to_numpy(v) for k, v in got.items()}


def test_engine_reproduces_the_worked_example(be):
    got = run_example(be)
    for name, value in EXPECTED.items():
        np.testing.assert_allclose(got[name], value, atol=5e-7, err_msg=name)


def test_the_page_prints_these_numbers():
    text = DOC.read_text()
    section = text[text.index("## 5."):text.index("## 6.")]
    printed = {float(t) for t in re.findall(r"-?\d+\.\d+", section)}
    for name, value in EXPECTED.items():
        for v in np.ravel(value):
            if v != int(v):
                assert float(v) in printed, f"{name}: {v} is not on the page"
    assert "q = 0.047426 / 2 = 0.023713" in section


def test_own_layer_page_runs_as_written():
    """docs/own_layer.md: every code block, run in order; then its test functions, called."""
    page = (DOC.parent / "own_layer.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert len(blocks) >= 6
    namespace: dict = {}
    exec(compile("\n".join(blocks), "docs/own_layer.md", "exec"), namespace)
    tests = [name for name in namespace if name.startswith("test_")]
    assert len(tests) == 4
    for name in tests:
        namespace[name]()


def test_own_layer_page_the_failure_it_shows_is_real():
    """The page shows the message a Tanh without the square gets: it must say so, and fail."""
    page = (DOC.parent / "own_layer.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    namespace: dict = {}
    exec(compile(blocks[0], "docs/own_layer.md", "exec"), namespace)
    tanh = namespace["Tanh"]

    class Unsquared(tanh):
        def backward(self, dout):
            return dout * (1 - self.out)

    x = np.random.default_rng(0).normal(size=(4, 3))
    with pytest.raises(AssertionError) as info:
        namespace["assert_backward_correct"](Unsquared(), x)
    for shown in ("worst entry at index (3, 0): backprop -2.3442589", "finite difference -0.34565658",
                  "ratio backprop / finite difference 6.782"):
        assert shown in str(info.value), shown  # the numbers on the page are the checker's own
    assert "backprop -2.3442589,\n      finite difference -0.34565658, ratio backprop / finite difference 6.782" in page


def test_the_tutorial_runs_end_to_end(tmp_path):
    """docs/tutorial.py, as a learner runs it (a short training, so that it stays seconds)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TUTORIAL_STEPS": "150", "TUTORIAL_OUT": str(tmp_path)}
    done = subprocess.run([sys.executable, str(DOC.parent / "tutorial.py")], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("by hand and tinynet agree: True") == 5
    assert "diverged at step" in done.stdout and "stranded" in done.stdout
    assert "tinynet doctor: wrong_gradient" in done.stdout and "layers[1] MySigmoid()" in done.stdout
    assert (tmp_path / "losses.png").exists() and (tmp_path / "stranded.png").exists()
    accuracy = float(re.search(r"digits: .* validation accuracy ([\d.]+)%", done.stdout).group(1))
    assert accuracy >= 95.0  # the section's promise: your own network on real digits, 95% or better
    assert f"figure: {tmp_path / 'losses.png'}" in done.stdout  # a script names them; a notebook shows them


# The tutorial's three Your-turn cells, answered as a learner would.
YOUR_TURN = [
    """    def loss_with_W2(W2_changed):
        z2 = np.maximum(x @ W1 + b1, 0) @ W2_changed + b2
        p = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)
        return -np.log(p[np.arange(N), y]).mean()

    up, down = W2.copy(), W2.copy()
    up[0, 1] += step
    down[0, 1] -= step
    return (loss_with_W2(up) - loss_with_W2(down)) / (2 * step)
""",
    "        return dout / (1 + np.exp(-self.x))  # (N, D): sigmoid(x) * dout\n",
    "        return dout * np.sign(self.diff) / len(self.diff)  # (N, D)\n",
]
BLANK = "raise NotImplementedError  # your code here\n"


@pytest.mark.parametrize("answered", [False, True], ids=["blank", "answered"])
def test_the_tutorial_s_your_turn_cells_check_what_a_learner_writes(answered, tmp_path):
    """Blank, each cell says 'not written yet'; answered, 'passed'; the last with its sign lost
    (a slip a learner makes), 'not yet right' with the checker's ratio of -1."""
    import os
    import subprocess
    import sys

    source = (DOC.parent / "tutorial.py").read_text()
    blanks = [line for line in source.splitlines(keepends=True) if line.endswith(BLANK)]
    assert len(blanks) == 3
    if answered:
        for blank, body in zip(blanks, YOUR_TURN):
            source = source.replace(blank, body, 1)
        source = source.replace(YOUR_TURN[2], YOUR_TURN[2].replace("dout *", "-dout *"))  # the slip
    script = tmp_path / "tutorial.py"
    script.write_text(source)
    env = {**os.environ, "TUTORIAL_STEPS": "30", "TUTORIAL_OUT": str(tmp_path)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    if not answered:
        assert done.stdout.count(": not written yet") == 3
        return
    assert "dL/dW2[0, 1] by a finite difference: passed" in done.stdout
    assert "Softplus.backward: passed" in done.stdout
    assert "MeanAbsoluteError.backward: not yet right" in done.stdout and "a sign is flipped" in done.stdout


def test_the_readme_snippet_runs_on_every_backend_and_the_loss_falls(be, capsys):
    readme = (DOC.parents[1] / "README.md").read_text()
    snippet = re.findall(r"```python\n(.*?)```", readme[readme.index("## Using it"):], flags=re.S)[0]
    assert 'tn.get_backend("numpy")' in snippet
    code = snippet.replace('tn.get_backend("numpy")', f'tn.get_backend("{be.name}")')
    code = code.replace("range(1001)", "range(301)").replace("step % 250", "step % 300")  # shorter here
    exec(compile(code, "README.md", "exec"), {})
    losses = [float(line.split()[-1]) for line in capsys.readouterr().out.splitlines()]
    assert len(losses) == 2 and losses[1] < losses[0] - 0.05


def test_the_readme_snippet_prints_the_losses_its_comment_promises(capsys):
    """The comment says 'falls from A to B': run the snippet as written (numpy, 1,001 steps)
    and compare, to the two decimals the comment gives."""
    readme = (DOC.parents[1] / "README.md").read_text()
    snippet = re.findall(r"```python\n(.*?)```", readme[readme.index("## Using it"):], flags=re.S)[0]
    first, last = (float(v) for v in re.search(r"falls from ([\d.]+) to ([\d.]+)", snippet).groups())
    exec(compile(snippet, "README.md", "exec"), {})
    losses = [float(line.split()[-1]) for line in capsys.readouterr().out.splitlines()]
    assert (round(losses[0], 2), round(losses[-1], 2)) == (first, last), losses


def test_the_readme_s_own_pieces_snippet_runs():
    """The second snippet of "Using it": tn.train with a learner's optimizer, loss and hook."""
    readme = (DOC.parents[1] / "README.md").read_text()
    snippet = re.findall(r"```python\n(.*?)```", readme[readme.index("## Using it"):], flags=re.S)[1]
    from tinynet.data import make_dataset

    model = tn.create_model([2, 16, 2], seed=0)
    namespace = {"tn": tn, "model": model, "data": make_dataset("xor", 40), "my_loss": tn.SoftmaxCrossEntropy(),
                 "my_optimizer": tn.SGD(model, lr=0.1)}
    exec(compile(snippet, "README.md", "exec"), namespace)
    hist = namespace["hist"]
    assert len(hist.measured["mean_logit"]) == len(hist.eval_steps) > 1 and hist.steps_taken == 500


def test_the_notebook_holds_the_tutorial_s_code_without_outputs():
    """docs/tutorial.ipynb is docs/tutorial.py as a notebook (jupytext --to notebook): the same
    cells, in the same order, with no outputs. The suite runs the .py (above)."""
    import json

    import jupytext

    script = jupytext.read(DOC.parent / "tutorial.py")
    notebook = json.loads((DOC.parent / "tutorial.ipynb").read_text())
    assert [(c.cell_type, c.source) for c in script.cells] == \
        [(c["cell_type"], "".join(c["source"])) for c in notebook["cells"]], \
        "docs/tutorial.ipynb is stale: jupytext --to notebook docs/tutorial.py -o docs/tutorial.ipynb"
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    assert "find_spec(\"tinynet\") is None" in "".join(code[0]["source"]), "the first cell installs tinynet"


def test_the_readme_s_doctor_report_is_what_the_doctor_prints():
    """The README's report, from the tutorial's learner-written sigmoid with its slip: the same
    run gives the same report, line for line."""
    readme = (DOC.parents[1] / "README.md").read_text()
    shown = re.search(r"```text\n(tinynet doctor: .*?)```", readme, flags=re.S).group(1).strip()
    source = (DOC.parent / "tutorial.py").read_text()
    namespace = {"np": np, "tn": tn}
    exec(source[source.index("class MySigmoid"):source.index("report = tn.diagnose")], namespace)
    from tinynet.data import make_dataset

    model = namespace["my_model"](namespace["MySigmoid"]())
    d = tn.diagnose(model, make_dataset("xor", 100, seed=3), steps=3000, lr=0.5, seed=0, progress=False)
    assert "\n".join(str(d).splitlines()[:3]) == shown
