"""The training loop: histories, divergence, bad data, mini-batches, determinism."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import tinynet as tn
from tinynet.data import make_dataset
from tinynet.training import DIVERGENCE_FACTOR, History, train


def small_model(be, **kw):
    return tn.create_model([2, 16, 2], seed=0, backend=be, **kw)


def test_history_records_every_step_and_the_measurements(be):
    data = make_dataset("xor", 40, seed=0, val_fraction=0.25)
    h = train(small_model(be), data, lr=0.1, steps=50, eval_every=10, progress=False)
    assert h.steps_taken == 50 and h.diverged_at is None and not h.interrupted
    assert h.eval_steps == [0, 10, 20, 30, 40, 49]
    for series in (h.train_acc, h.val_acc, *h.relu_zero.values()):
        assert len(series) == 6 and all(0 <= v <= 1 for v in series)
    assert h.measured == {}  # nothing beyond the loop's own series unless a hook asks
    assert list(h.grad_norm) == ["layers[0] Linear(2->16)", "layers[2] Linear(16->2)"]
    assert list(h.relu_zero) == ["layers[1] ReLU()"]
    assert h.loss[-1] < h.loss[0]


def test_until_loss_stops_at_the_end_of_the_interval_that_reached_it(be):
    data = make_dataset("xor", 40, seed=0)
    h = train(tn.create_model([2, 32, 32, 2], seed=0, backend=be), data, lr=0.5, steps=3000, eval_every=10,
              until_loss=0.2, progress=False)
    assert h.reached_at is not None and h.loss[h.reached_at] <= 0.2
    assert all(v > 0.2 for v in h.loss[:h.reached_at])
    assert h.steps_taken < 3000 and h.reached_at < h.steps_taken <= h.reached_at + 10
    assert h.steps_taken - 10 <= h.eval_steps[-1] < h.steps_taken  # measured at the last interval's start
    full = train(tn.create_model([2, 32, 32, 2], seed=0, backend=be), data, lr=0.5, steps=50,
                 progress=False)
    assert full.reached_at is None and full.steps_taken == 50  # not asked: every step


def test_divergence_stops_the_run_and_records_the_step(be):
    data = make_dataset("xor", 40, seed=0)
    h = train(tn.create_model([2, 64, 64, 2], seed=0, backend=be), data, lr=10.0, steps=500,
              progress=False)  # pytest turns any RuntimeWarning into an error
    assert h.diverged_at is not None and h.steps_taken == h.diverged_at + 1
    assert not np.isfinite(h.loss[-1]) or h.loss[-1] > DIVERGENCE_FACTOR * h.loss[0]


def test_mini_batches_cover_the_data_and_are_seeded(be):
    data = make_dataset("xor", 30, seed=0)
    a = train(small_model(be), data, lr=0.1, steps=20, batch_size=8, progress=False, seed=1)
    b = train(small_model(be), data, lr=0.1, steps=20, batch_size=8, progress=False, seed=1)
    c = train(small_model(be), data, lr=0.1, steps=20, batch_size=8, progress=False, seed=2)
    assert a.loss == b.loss and a.loss != c.loss


def test_each_epoch_visits_every_example_once(monkeypatch):
    """Mini-batches of 8 from 32 examples: every 4 steps, each example exactly once."""
    import tinynet.training

    seen = []
    batches = tinynet.training.batches

    def record(*args):  # the batches the loop takes, as it takes them
        for x, labels in batches(*args):
            seen.append([tuple(row) for row in x.tolist()])
            yield x, labels

    monkeypatch.setattr(tinynet.training, "batches", record)
    data = make_dataset("xor", 32, seed=0)
    train(tn.create_model([2, 4, 2], dtype="float64"), data, lr=0.1, steps=8, batch_size=8, progress=False)
    everything = sorted(tuple(row) for row in data.x_train.tolist())
    for epoch in (seen[:4], seen[4:]):
        assert sorted(row for batch in epoch for row in batch) == everything
    assert seen[:4] != seen[4:]  # reshuffled


def test_same_seed_same_history_different_seed_different(be):
    def run(seed):
        data = make_dataset("random", 30, seed=seed, val_fraction=0.2)
        model = tn.create_model([2, 16, 2], seed=seed, backend=be)
        h = train(model, data, lr=0.1, steps=30, progress=False)
        return dataclasses.replace(h, seconds=0.0)

    assert run(3) == run(3)
    assert run(3).loss != run(4).loss


def test_labels_are_range_checked_once_on_the_host_not_at_every_step(monkeypatch):
    """A range check on the device reads two numbers back to the host: on a GPU, a sync per
    step. train() checks the labels on the host before the first step and skips it after."""
    import tinynet.losses

    range_checks = []
    check = tinynet.checks.check_labels

    def spy(*args, check_range=True, **kwargs):
        range_checks.append(check_range)
        check(*args, check_range=check_range, **kwargs)

    monkeypatch.setattr(tinynet.checks, "check_labels", spy)
    train(tn.create_model([2, 4, 2]), make_dataset("xor", 20), lr=0.1, steps=30, eval_every=10, progress=False)
    assert len(range_checks) == 30 and not any(range_checks)  # one loss a step: no measurement repeats it


def count_crossings(monkeypatch, be) -> dict[str, int]:
    """Count every crossing between host and device: be.asarray in, be.to_numpy and the
    Python scalar conversions (float(), int(), bool(), index) of device arrays out."""
    from array_api_strict._array_object import Array

    counts = {"to_device": 0, "to_host": 0}

    def spy(cls, name, direction):
        original = getattr(cls, name)

        def counted(*args, **kwargs):
            counts[direction] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(cls, name, counted)

    spy(tn.Backend, "asarray", "to_device")
    spy(tn.Backend, "to_numpy", "to_host")
    for name in ("__float__", "__int__", "__bool__", "__index__"):
        spy(Array, name, "to_host")
    return counts


@pytest.mark.parametrize("batch_size", [None, 8])
def test_no_host_device_crossing_per_step(monkeypatch, batch_size):
    """On a GPU every copy to or from the host waits for the queued work: a sync. Steps
    between measurements cross nothing: losses come back once per interval, and a
    mini-batch order goes to the device once per epoch (5 steps here), not per step."""
    be = tn.get_backend("strict")
    data = make_dataset("xor", 40, seed=0, val_fraction=0.25)

    def crossings(steps):
        counts = count_crossings(monkeypatch, be)
        train(small_model(be), data, lr=0.1, steps=steps, eval_every=steps, batch_size=batch_size,
              progress=False)
        monkeypatch.undo()
        return counts

    short, long = crossings(20), crossings(200)
    assert long["to_host"] == short["to_host"]
    epochs = 0 if batch_size is None else 200 // 5 - 20 // 5
    assert long["to_device"] == short["to_device"] + epochs


def interrupt_update(monkeypatch, at: int) -> None:
    """A Ctrl-C that lands inside the ``at``-th update (SGD.step), as a user's would."""
    calls = {"n": 0}
    step = tn.SGD.step

    def interrupting(self):
        calls["n"] += 1
        if calls["n"] == at:
            raise KeyboardInterrupt
        step(self)

    monkeypatch.setattr(tn.SGD, "step", interrupting)


def test_ctrl_c_returns_the_history_so_far(monkeypatch):
    interrupt_update(monkeypatch, at=7)
    h = train(tn.create_model([2, 4, 2]), make_dataset("xor", 20), lr=0.1, steps=100, eval_every=5, progress=False)
    assert h.interrupted and h.steps_taken == 6  # steps 0-5; step 6 was cut short inside its update
    assert h.eval_steps == [0, 5] and len(h.train_acc) == len(h.val_acc) == 2


def test_progress_bar_is_quiet_when_not_a_terminal(capsys):
    train(tn.create_model([2, 4, 2]), make_dataset("xor", 20), lr=0.1, steps=5, progress=None)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_history_is_plain_data():
    assert History().as_dict()["loss"] == []


def test_a_model_starting_with_a_relu_trains():
    """The first Linear, not the first layer, says the dtype and the number of features."""
    h = train(tn.Sequential(tn.ReLU(), tn.Linear(2, 2, seed=0)), make_dataset("xor", 10), lr=0.1, steps=3,
              progress=False)
    assert h.steps_taken == 3


@pytest.mark.filterwarnings("error")
def test_finiteness_is_checked_in_the_model_s_dtype():
    """1e300 is finite in float64 and inf in float32: refused before the first step, no warning."""
    from tinynet.data import Dataset

    data = Dataset("big", np.array([[1e300, 0.0], [0.0, 1.0]]), np.array([0, 1]), np.zeros((0, 2)),
                   np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="NaN or inf as float32"):
        train(tn.create_model([2, 2]), data, lr=0.1, steps=2, progress=False)
    h = train(tn.create_model([2, 2], dtype="float64"), data, lr=1e-320, steps=1, progress=False)
    assert h.steps_taken == 1  # float64 holds it


# --- the learner's own pieces, and an experiment's own measurements -------------------------------
class CountingSGD:
    """A stand-in optimizer: plain SGD that counts its steps (duck typing: only step())."""

    def __init__(self, model, lr):
        self.inner, self.steps = tn.SGD(model, lr=lr), 0

    def step(self):
        self.steps += 1
        self.inner.step()


class CountingLoss:
    """A stand-in loss: softmax cross-entropy that counts its calls and the douts it gets."""

    def __init__(self):
        self.inner, self.forwards, self.douts = tn.SoftmaxCrossEntropy(), 0, []

    def forward(self, logits, labels):
        self.forwards += 1
        return self.inner.forward(logits, labels)

    def backward(self, dout):
        self.douts.append(dout)
        return self.inner.backward(dout)


def test_train_drives_the_learner_s_own_optimizer_and_loss():
    """tn.train with duck-typed pieces: every step goes through them, and the numbers are those
    of the defaults they wrap, bit for bit."""
    data = make_dataset("xor", 40, seed=0)
    opt_model, default_model = (tn.create_model([2, 16, 2], seed=0) for _ in range(2))
    opt, loss_fn = CountingSGD(opt_model, lr=0.1), CountingLoss()
    h = tn.train(opt_model, data, steps=20, opt=opt, loss_fn=loss_fn, eval_every=5, progress=False)
    assert opt.steps == 20  # one update per step
    assert loss_fn.forwards == 20  # one forward a step: a measurement reads that step's own gradients
    assert loss_fn.douts == [1.0] * 20  # backward(dout) from dL/dL = 1
    default = tn.train(default_model, data, steps=20, lr=0.1, eval_every=5, progress=False)
    assert h.loss == default.loss and h.grad_norm == default.grad_norm


def test_train_step_is_the_three_lines_it_names():
    """One call of tn.train_step takes the same step, to the bit, as forward, backward and
    opt.step() written out: the loss returned is the one before the update."""
    data = make_dataset("xor", 16, seed=0)
    x, y = data.x_train.astype("float32"), data.y_train
    stepped, by_hand = (tn.create_model([2, 8, 2], seed=0) for _ in range(2))
    loss_fn = tn.SoftmaxCrossEntropy()
    loss = tn.train_step(stepped, loss_fn, tn.SGD(stepped, lr=0.5), x, y)
    expected = loss_fn.forward(by_hand.forward(x), y)
    by_hand.backward(loss_fn.backward())
    tn.SGD(by_hand, lr=0.5).step()
    assert float(loss) == float(expected)
    for a, b in zip(stepped.layers[::2], by_hand.layers[::2]):
        np.testing.assert_array_equal(a.W, b.W)
        np.testing.assert_array_equal(a.b, b.b)
    assert not np.array_equal(stepped.layers[0].W, tn.create_model([2, 8, 2], seed=0).layers[0].W)  # it stepped


def test_an_experiment_s_measurement_reaches_the_history_through_the_hook(be):
    """measure(model, x, labels) at every measurement step, with the training set on the
    backend; each name's values kept in order in history.measured."""
    data = make_dataset("xor", 40, seed=0, val_fraction=0.25)
    seen = []

    def measure(model, x, labels):
        seen.append((tuple(x.shape), tuple(labels.shape)))
        return {"mean_logit": float(be.xp.mean(model.forward(x))), "rows": int(x.shape[0])}

    h = train(small_model(be), data, lr=0.1, steps=30, eval_every=10, progress=False, measure=measure)
    assert h.eval_steps == [0, 10, 20, 29] and seen == [((40, 2), (40,))] * 4
    assert h.measured["rows"] == [40] * 4 and len(h.measured["mean_logit"]) == 4
    assert h.measured["mean_logit"][0] != h.measured["mean_logit"][-1]  # taken as training goes


def test_a_measurement_cut_short_by_ctrl_c_leaves_no_partial_series(monkeypatch):
    """The hook's series are dropped with the rest of an unfinished measurement."""
    interrupt_update(monkeypatch, at=6)
    h = train(tn.create_model([2, 4, 2]), make_dataset("xor", 20), lr=0.1, steps=100, eval_every=5, progress=False,
              measure=lambda model, x, labels: {"n": int(x.shape[0])})
    assert h.interrupted and h.eval_steps == [0] and h.measured == {"n": [20]}


class Scale:
    """out = x * w, with a repr that changes at every forward (as a learner's might)."""

    param_names = ("w",)

    def __init__(self):
        self.w, self.dw, self.calls = np.array([1.0]), None, 0

    def __repr__(self):
        return f"Scale(calls={self.calls})"

    def forward(self, x):
        self.calls += 1
        self.x = x
        return x * self.w

    def backward(self, dout):
        self.dw = np.array([np.sum(dout * self.x)])
        return dout * self.w


def test_momentum_velocity_is_kept_per_parameter_not_per_display_name():
    """SGD's velocity belongs to the parameter: a layer whose printed name changes between steps
    keeps its momentum (keyed by display text, it restarted at every step)."""
    layer, x = Scale(), np.array([[1.0]])
    opt = tn.SGD(layer, lr=0.1, momentum=0.9)
    w, v = 1.0, 0.0
    for _ in range(3):
        layer.backward(np.ones((1, 1)) + 0 * layer.forward(x))  # dL/dw = x = 1 at every step
        opt.step()
        v = 0.9 * v + 1.0 if v else 1.0
        w -= 0.1 * v
    assert layer.w[0] == pytest.approx(w)  # 1 - 0.1 (1 + 1.9 + 2.71)


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


def test_train_step_refuses_an_optimizer_bound_to_another_model():
    model, other = tn.create_model([2, 3, 2], seed=0), tn.create_model([2, 3, 2], seed=1)
    with pytest.raises(ValueError, match="opt updates .* not this model"):
        tn.train_step(model, tn.SoftmaxCrossEntropy(), tn.SGD(other), f32(2, 2), np.array([0, 1]))
    # An optimizer of one layer of this model is accepted.
    tn.train_step(model, tn.SoftmaxCrossEntropy(), tn.SGD(model.layers[0]), f32(2, 2), np.array([0, 1]))


def test_a_history_prints_in_one_short_line():
    data = make_dataset("xor", 40, seed=0, val_fraction=0.25)
    h = train(tn.create_model([2, 8, 2], seed=0), data, steps=50, lr=0.1, progress=False)
    text = repr(h)
    assert text.startswith("History(50 steps, loss ") and "train acc" in text and "val acc" in text
    assert len(text) < 100 and "\n" not in text
    assert repr(tn.History()) == "History(no step taken)"


@pytest.mark.parametrize("returned", [[0.5], None, "0.5", np.array([0.5]), True], ids=repr)
def test_a_loss_that_returns_no_single_number_is_named(returned):
    """Not 'must be real number, not list' from inside the loop: the learner's loss, named."""
    class OwnLoss(tn.SoftmaxCrossEntropy):
        def forward(self, logits, labels):
            super().forward(logits, labels)
            return returned

    with pytest.raises(TypeError, match=r"train: OwnLoss\.forward returned .*; it must return the loss as one number"):
        train(tn.create_model([2, 4, 2]), make_dataset("xor", 20), loss_fn=OwnLoss(), lr=0.1, steps=3, progress=False)


def test_a_loss_returned_as_a_python_float_trains():
    class FloatLoss(tn.SoftmaxCrossEntropy):
        def forward(self, logits, labels):
            return float(super().forward(logits, labels))

    h = train(tn.create_model([2, 4, 2], seed=0), make_dataset("xor", 20), loss_fn=FloatLoss(), lr=0.1, steps=3,
              progress=False)
    assert len(h.loss) == 3 and all(isinstance(v, float) for v in h.loss)


STOPPING_SCRIPT = """
import os, signal
import tinynet as tn
from tinynet.data import make_dataset

data = make_dataset("xor", 40, seed=0)

def ctrl_c_at_step_10(model, x, labels, seen=[0]):
    seen[0] += 1
    if seen[0] == 10:  # the user presses Ctrl-C during the first run
        os.kill(os.getpid(), signal.SIGINT)
    return {}

for call in range(1, 51):
    hist = tn.train(tn.create_model([2, 8, 2], seed=call), data, steps=40, lr=0.1, eval_every=1,
                    measure=ctrl_c_at_step_10)
    print(f"call {call}: {hist.steps_taken} steps, interrupted={hist.interrupted}", flush=True)
"""


def test_ctrl_c_in_a_script_that_trains_many_times_stops_the_script(tmp_path):
    """train returns the interrupted run's history, and the script's next train call does not
    start: the Ctrl-C asked the script to stop, not to skip to its next run."""
    script = tmp_path / "many.py"
    script.write_text(STOPPING_SCRIPT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.stdout.splitlines() == ["call 1: 9 steps, interrupted=True"], out.stdout
    assert out.returncode != 0 and "KeyboardInterrupt: train: a Ctrl-C stopped an earlier tn.train call" in out.stderr


def test_at_a_prompt_each_train_call_is_a_new_request():
    """In a notebook or at the Python prompt a Ctrl-C stops that run alone: the next one starts."""
    import tinynet.training

    tinynet.training._stop.requested = True
    sys.ps1 = ">>> "
    try:
        hist = tn.train(tn.create_model([2, 4, 2], seed=0), make_dataset("xor", 20), steps=3, lr=0.1)
    finally:
        del sys.ps1
    assert hist.steps_taken == 3
    with pytest.raises(KeyboardInterrupt, match="a Ctrl-C stopped an earlier tn.train call"):
        tn.train(tn.create_model([2, 4, 2], seed=0), make_dataset("xor", 20), steps=3, lr=0.1)


class OwnDense:
    """A learner's dense layer, as they write one: not a tinynet Linear."""

    param_names = ("W", "b")

    def __init__(self, n_in: int, n_out: int) -> None:
        self.W = (np.random.default_rng(0).normal(size=(n_in, n_out)) * 0.5).astype(np.float32)
        self.b = np.zeros(n_out, np.float32)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW, self.db = self.x.T @ dout, dout.sum(axis=0)
        return dout @ self.W.T


def test_a_learner_s_own_dense_layer_first_is_not_mistaken_for_tinynet_s():
    """The first tinynet Linear was taken for the model's first layer: 2 features were refused
    because Linear(16->2), the third layer, expects 16."""
    hist = tn.train(tn.Sequential(OwnDense(2, 16), tn.ReLU(), tn.Linear(16, 2)), make_dataset("xor", 50), steps=20,
                    lr=0.1)
    assert hist.steps_taken == 20 and hist.loss[-1] < hist.loss[0]
    with pytest.raises(ValueError, match=r"the data has 2 features but the model's first layer Linear\(3->16\)"):
        tn.train(tn.Sequential(tn.Linear(3, 16), tn.ReLU(), OwnDense(16, 2)), make_dataset("xor", 50), steps=2,
                 lr=0.1)
