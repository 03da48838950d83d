"""The step benchmark runs, and writes the JSON it promises (timings are not asserted)."""
from __future__ import annotations

import json
import pathlib
import runpy
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "experiments" / "bench" / "bench_step.py"


def run_bench(monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", [str(BENCH), *argv])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(BENCH), run_name="__main__")
    return info.value.code


def test_bench_writes_medians_and_ratios(monkeypatch, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert run_bench(monkeypatch, "--sizes", "8", "--dtypes", "float32", "--repeats", "2", "--out", str(out)) == 0
    report = json.loads(out.read_text())
    (row,) = report["results"]
    assert row["n"] == 8 and row["dtype"] == "float32"
    assert row["step_ms"] > 0 and row["bound_ms"] > 0
    assert row["step_over_bound"] == pytest.approx(row["step_ms"] / row["bound_ms"])
    assert row["floor_ms"] > 0
    assert row["floor_over_bound"] == pytest.approx(row["floor_ms"] / row["bound_ms"])
    assert row["step_over_floor"] == pytest.approx(row["step_ms"] / row["floor_ms"])
    assert report["model"] == [2, 500, 500, 2]
    assert "step/bound" in capsys.readouterr().out


def test_bench_width_sets_the_hidden_layers(monkeypatch, tmp_path):
    out = tmp_path / "bench.json"
    assert run_bench(monkeypatch, "--width", "16", "--sizes", "4", "--dtypes", "float64", "--repeats", "1",
                     "--out", str(out)) == 0
    report = json.loads(out.read_text())
    assert report["model"] == [2, 16, 16, 2]
    assert report["results"][0]["dtype"] == "float64"


def test_bench_runs_off_numpy(monkeypatch, tmp_path):
    """The strict backend stands in for CuPy here: no floor, no PyTorch peer, and every
    array of the step and of its bound on the backend's device."""
    out = tmp_path / "bench.json"
    assert run_bench(monkeypatch, "--backend", "strict", "--sizes", "4", "--dtypes", "float32",
                     "--repeats", "1", "--out", str(out)) == 0
    report = json.loads(out.read_text())
    (row,) = report["results"]
    assert report["machine"]["backend"] == "strict"
    assert row["step_ms"] > 0 and row["bound_ms"] > 0
    assert not any(key.startswith(("floor", "torch")) for key in row)


@pytest.mark.parametrize("flag", [["--repeats", "0"], ["--width", "0"], ["--sizes", "0"]])
def test_bench_refuses_bad_flags(monkeypatch, flag):
    assert run_bench(monkeypatch, *flag) == 2


def load_bench():
    return runpy.run_path(str(BENCH), run_name="bench_step")


@pytest.mark.parametrize("sizes", [[3, 7, 5, 2], [4, 6, 3]])
def test_floor_takes_the_same_step_as_tinynet(sizes):
    """The floor is only a fair yardstick if it does the step's real work: after two steps its
    weights must match tinynet's SGD to float64 rounding, and the model must be left alone."""
    import numpy as np

    import tinynet as tn

    bench = load_bench()
    be = tn.get_backend("numpy")
    rng = np.random.default_rng(1)
    model = tn.create_model(sizes, seed=2, dtype="float64", backend=be)
    x = rng.normal(size=(9, sizes[0]))
    y = rng.integers(0, sizes[-1], size=9)
    before = [layer.W.copy() for layer in model.layers[::2]]
    step, floor_params = bench["numpy_floor"](model, x, y, lr=0.5)
    step()
    step()
    assert all(np.array_equal(layer.W, W) for layer, W in zip(model.layers[::2], before))

    loss_fn, opt = tn.SoftmaxCrossEntropy(), tn.SGD(model, lr=0.5)
    for _ in range(2):
        loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward())
        opt.step()
    linears = model.layers[::2]
    expected = [layer.W for layer in linears] + [layer.b for layer in linears]
    for got, want in zip(floor_params, expected):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-14), np.max(np.abs(got - want))
    assert not np.allclose(floor_params[0], before[0])  # the weights did move


def test_floor_is_numpy_only():
    import tinynet as tn

    bench = load_bench()
    be = tn.get_backend("strict")
    model = tn.create_model([2, 3, 2], seed=0, backend=be)
    x = be.asarray([[0.0, 1.0]], dtype="float32")
    assert bench["numpy_floor"](model, x, be.asarray([1])) is None


FUSED = BENCH.parent / "bench_fused.py"


def test_fused_benchmark_without_numba_says_how_to_install(monkeypatch, capsys):
    fused = runpy.run_path(str(FUSED), run_name="bench_fused")
    fused["main"].__globals__["numba"] = None  # as on a machine without Numba (CI)
    with pytest.raises(SystemExit) as info:
        fused["main"](["--sizes", "4", "--repeats", "1"])
    assert info.value.code == 2
    assert "needs Numba, which is not installed: pip install numba" in capsys.readouterr().err


@pytest.mark.parametrize("sizes", [[3, 7, 5, 2], [4, 6, 3]])
def test_fused_floor_takes_the_floors_step(sizes):
    """Numba is optional: where it is installed, the fused loops must take exactly the
    floor's step (which the test above ties to tinynet's), and a broken loop must show."""
    pytest.importorskip("numba")
    import numpy as np

    import tinynet as tn

    fused = runpy.run_path(str(FUSED), run_name="bench_fused")
    be = tn.get_backend("numpy")
    model = tn.create_model(sizes, seed=2, dtype="float64", backend=be)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(9, sizes[0])), rng.integers(0, sizes[-1], size=9)
    assert fused["same_step"](model, x, y) < 1e-12

    bias_relu, relu_backward_and_bias_grad, sgd = fused["kernels"]()

    def relu_without_bias(z, b):
        np.maximum(z, 0, out=z)

    fused["fused_floor"].__globals__["kernels"] = lambda: (relu_without_bias, relu_backward_and_bias_grad, sgd)
    assert fused["same_step"](model, x, y) > 1e-6


def test_bench_loop_timing_and_its_ratios(monkeypatch, tmp_path):
    """--loop adds each candidate's time per step over steps run back to back (what a GPU
    is compared by); the PyTorch ratios are made from its step and loop times. PyTorch need
    not be installed: a stand-in peer takes its place, so the ratios are always checked."""
    import types

    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(__version__="stand-in"))  # for its version line
    bench = runpy.run_path(str(BENCH), run_name="bench_step")
    peer_steps = []
    bench["main"].__globals__.update(torch_device=lambda be: "cpu", torch_synchroniser=lambda device: lambda: None,
                                     torch_step=lambda *args: lambda: peer_steps.append(1))
    out = tmp_path / "bench.json"
    assert bench["main"](["--sizes", "4", "--dtypes", "float32", "--repeats", "2", "--loop", "3",
                          "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["results"]
    assert row["step_loop_ms"] > 0 and row["bound_loop_ms"] > 0 and peer_steps
    assert row["step_over_torch"] == pytest.approx(row["step_ms"] / row["torch_ms"])
    assert row["loop_step_over_torch"] == pytest.approx(row["step_loop_ms"] / row["torch_loop_ms"])


def test_a_step_s_array_operations_are_counted_and_stay_few():
    """On a GPU each array operation is a kernel launch: the count of the log's model's step,
    by phase (experiments/bench/count_ops.py; docs/performance.md quotes it). A change to any layer's
    formulas shows here."""
    count_ops = runpy.run_path(str(BENCH.parent / "count_ops.py"), run_name="count_ops")
    phases = count_ops["by_phase"]([2, 500, 500, 2])
    assert phases == {"forward": 10, "loss": 19, "backward": 13, "update": 12}
    assert sum(count_ops["step_operations"]([2, 500, 500, 2]).values()) == sum(phases.values())
    assert sum(count_ops["step_operations"]([2, 8, 8, 8, 2]).values()) > sum(phases.values())  # a layer more


def test_the_doctor_s_cost_is_measured_against_train(capsys):
    """experiments/bench/bench_doctor.py: train and diagnose on the same run, interleaved, and
    their ratio (a benchmark, not a timed test: nothing here asserts a speed). The ratio it
    prints is the one its two printed times make."""
    import re

    bench = runpy.run_path(str(BENCH.parent / "bench_doctor.py"), run_name="bench_doctor")
    assert bench["main"](["--steps", "20", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    train = float(re.search(r"train +([0-9.]+) s", out).group(1))
    diagnose, ratio = (float(v) for v in re.search(r"diagnose +([0-9.]+) s +\(([0-9.]+) x train", out).groups())
    assert train > 0 and diagnose > 0
    # Each time is printed rounded to within 0.0005 s, the ratio to within 0.0005: the times the
    # printed ones stand for bound the ratio they make (at 20 steps the times are tens of ms).
    lowest, highest = (diagnose - 0.0005) / (train + 0.0005), (diagnose + 0.0005) / (train - 0.0005)
    assert lowest - 0.0005 <= ratio <= highest + 0.0005, (train, diagnose, ratio)
def test_the_forms_benchmark_times_the_same_math_and_restores_the_engine():
    """experiments/bench/bench_forms.py: each textbook line it times against the engine's kept
    form computes the same numbers (the bias add to the bit, the bias gradient to rounding),
    every candidate is timed, and the engine's own methods are back afterwards."""
    import numpy as np

    import tinynet as tn

    forms = runpy.run_path(str(BENCH.parent / "bench_forms.py"), run_name="bench_forms")
    engine = (tn.Linear.forward, tn.Linear.backward)
    be = tn.get_backend("numpy")
    layer = tn.Linear(3, 4, seed=0)
    x = be.asarray(np.random.default_rng(0).normal(size=(5, 3)), dtype="float32")
    dout = be.asarray(np.random.default_rng(1).normal(size=(5, 4)), dtype="float32")
    out, dx = layer.forward(x), layer.backward(dout)
    db = layer.db
    np.testing.assert_array_equal(forms["forward_textbook"](layer, x), out)
    np.testing.assert_array_equal(forms["backward_textbook"](layer, dout), dx)
    np.testing.assert_allclose(layer.db, db, rtol=1e-6)
    ms = forms["timed"](be, 4, 1, 1)
    assert set(ms) == {"engine", "bias x @ W + b", "db = dout.sum(axis=0)"} and min(ms.values()) > 0
    assert (tn.Linear.forward, tn.Linear.backward) == engine


def test_the_lab_s_cost_is_measured_against_train_and_diagnose(capsys):
    """experiments/bench/bench_lab.py: the lab session, train and diagnose on the same set-up,
    interleaved; it prints each rate and the ratios (never asserted: a benchmark, not a timed test)."""
    pytest.importorskip("starlette", reason="the lab's extra")
    bench = runpy.run_path(str(BENCH.parent / "bench_lab.py"), run_name="bench_lab")
    assert bench["main"](["--seconds", "0.05", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("lab / train (target at least 0.90)") == 2 and "tn.diagnose" in out
    for line in out.splitlines():
        if "lab / train" in line:
            lab_over_train = float(line.split()[1])
            assert 0 < lab_over_train < 10


def test_bench_step_times_digits_model_and_its_floor(tmp_path):
    """--inputs 64 --classes 10: the step of [64, 500, 500, 10], its floor doing the same
    arithmetic (the two agree on the updated weights, tested above for the 2-D model)."""
    bench = runpy.run_path(str(BENCH), run_name="bench_step")
    out = tmp_path / "bench.json"
    assert bench["main"](["--inputs", "64", "--classes", "10", "--width", "16", "--sizes", "30", "--dtypes", "float32",
                          "--repeats", "2", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["model"] == [64, 16, 16, 10] and report["results"][0]["step_over_floor"] > 0
