"""The lab page's logic without a browser: fields, runs, the worked step, the "as Python"
script, the session's thread, and the server's refusals (Starlette's TestClient)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import tinynet as tn
from tinynet.lab import FieldError, LabRun, Setup, as_python
from tinynet.lab.view import MAX_POINTS, Thinned, Viewer, network
from tinynet.lab.worked import worked_step

if os.environ.get("CI") == "true":  # CI installs the lab's extra: a missing one is an error, not a quiet skip
    import starlette  # noqa: F401
else:
    pytest.importorskip("starlette", reason="the lab's extra: pip install -e '.[lab]'")


def run_all(setup: Setup) -> LabRun:
    run = LabRun(setup)
    while not run.finished:
        run.advance(37)  # in chunks, as the page steps it
    return run


# --- Fields ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("field, text, says", [
    ("layers", "2,abc,2", "layers: sizes from 1 to 4,096 separated by commas"),
    ("layers", "3,4,2", "the first size is the inputs (2"),
    ("layers", "2,4096,4096,4096,2", "more than the lab builds"),
    ("lr", "-1", "lr: a number above 0 and at most 1000"),
    ("lr", "nan", "lr: a number above 0"),
    ("examples", "1", "examples: a whole number from 2 to 10,000; got 1"),
    ("batch", "500", "batch: at most the 100 training examples"),
    ("case", "lr11", "case: one of healthy, lr10, relu_last"),
    ("dataset", "mnist", "dataset: one of random, xor, moons"),
    ("steps", "2.5", "steps: a whole number from 1 to 1,000,000"),
    ("evil", "1", "evil: not a field of the lab"),
])
def test_a_bad_field_is_named_with_what_it_accepts(field, text, says):
    with pytest.raises(FieldError, match=says.replace("(", r"\(")) as caught:
        Setup.from_query({field: text})
    assert caught.value.field == field and "\n" not in str(caught.value)


def test_the_address_round_trips_the_set_up():
    setup = Setup.from_query({"dataset": "moons", "examples": "64", "layers": "2,8,3,2", "activation": "sigmoid",
                              "init": "he", "lr": "0.05", "batch": "16", "optimizer": "momentum", "steps": "40",
                              "seed": "7", "case": "softmax_twice"})
    assert Setup.from_query(setup.query()) == setup
    assert Setup.from_query({}) == Setup()


def test_digits_set_their_own_inputs_classes_and_most_examples():
    with pytest.raises(FieldError, match=r"the inputs \(64 for digits\) and the last the classes \(10\), "
                                         r"e.g. 64,16,16,10; got 2,16,16,2"):
        Setup.from_query({"dataset": "digits"})
    assert Setup.from_query({"dataset": "digits", "layers": "64,8,10", "case": "sigmoid_deep"}).run_layers == \
        (64, 100, 100, 100, 100, 10)  # a deeper net's sizes, with the data's ends
    with pytest.raises(FieldError, match="digits has 1,797 images, so at most 1,497 training examples") as e:
        Setup.from_query({"dataset": "digits", "layers": "64,8,10", "examples": "1498"})
    assert e.value.field == "examples"
    assert Setup.from_query({"dataset": "digits", "layers": "64,8,10", "examples": "1198",
                             "case": "labels_shuffled"}).examples == 1198  # 1,198 + 599 held out: all of them


def test_image_data_shows_weights_confusion_and_mistakes_in_place_of_the_boundary():
    from tinynet.lab.view import TILES, WRONG, boundary, points
    run = run_all(Setup.from_query({"dataset": "digits", "layers": "64,40,10", "steps": "40", "examples": "300"}))
    shown = boundary(run)
    assert shown["kind"] == "images" and shown["shape"] == [8, 8] and shown["set"] == "validation"
    W = run.model.layers[0].W
    assert len(shown["weights"]) == TILES and shown["weights"][5] == pytest.approx(W[:, 5].tolist())
    guessed = np.argmax(run.model.forward(np.asarray(run.data.x_val, np.float32)), axis=1)
    matrix = np.array(shown["confusion"])
    assert matrix.shape == (10, 10) and matrix.sum() == 60 and np.trace(matrix) == shown["right"]
    assert shown["right"] == np.sum(guessed == run.data.y_val)
    assert 0 < len(shown["wrong"]) <= WRONG and all(e["guess"] != e["true"] for e in shown["wrong"])
    assert points(run) is None and len(json.dumps(shown)) < 40_000
    assert boundary(run_all(Setup.from_query({"steps": "5"})))["kind"] == "boundary"


def test_a_case_sets_what_it_breaks_and_the_page_says_so():
    assert Setup(case="lr10").run_lr == 10.0 and Setup(case="lr10").lr == 0.1
    assert Setup(case="sigmoid_deep").run_layers == (2, 100, 100, 100, 100, 2)
    assert Setup(case="labels_shuffled").val_fraction == 0.5 and Setup().val_fraction == 0.2


# --- A run is tn.train's run ------------------------------------------------------------------------
@pytest.mark.parametrize("fields", [
    {"steps": "300"},
    {"steps": "200", "batch": "16", "optimizer": "momentum", "dataset": "moons"},
    {"steps": "300", "case": "lr10"},
    {"steps": "150", "case": "relu_last", "activation": "sigmoid"},
    {"steps": "120", "case": "labels_shuffled", "init": "he"},
    {"steps": "120", "case": "sum_not_mean", "seed": "3"},
    {"steps": "60", "dataset": "digits", "layers": "64,32,10", "batch": "50", "case": "sigmoid_deep"},
])
def test_the_as_python_script_gives_the_page_s_losses_bit_for_bit(fields, tmp_path):
    """The script runs in a child process, on the public API alone; its losses, measurements
    and the doctor's report equal the page's run."""
    setup = Setup.from_query(fields)
    run = run_all(setup)
    script = tmp_path / "run.py"
    script.write_text(as_python(setup).replace("print(history)", "import json; print(json.dumps(history.as_dict()))\n"
                                               "print(repr(tn.diagnose.__name__))"))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True)
    theirs = json.loads(out.stdout.splitlines()[0])
    ours = run.history.as_dict()
    for key in ("loss", "eval_steps", "train_acc", "val_acc", "grad_norm", "relu_zero", "diverged_at"):
        assert theirs[key] == ours[key], key
    assert run.steps_taken >= len(run.history.loss)


def test_the_live_doctor_gives_tn_diagnose_s_report():
    setup = Setup.from_query({"steps": "400", "case": "softmax_twice"})
    run = run_all(setup)
    ns: dict = {}
    exec(as_python(setup).replace("history = tn.train(", "found = tn.diagnose(").replace("print(history)", ""), ns)
    assert str(run.diagnosis()) == str(ns["found"]) and run.diagnosis().cause == "softmax_twice"


def test_a_run_that_diverges_stops_as_train_stops():
    run = run_all(Setup.from_query({"steps": "500", "case": "lr10"}))
    h = tn.train(tn.create_model([2, 16, 16, 2], seed=0), tn.data.make_dataset("xor", 100, seed=0), steps=500,
                 lr=10.0, quiet=True)
    assert run.history.diverged_at == h.diverged_at is not None and run.history.loss == h.loss


# --- What the page shows ----------------------------------------------------------------------------
def test_curves_are_thinned_so_a_long_run_holds_no_more_than_a_short_one():
    short, long = Thinned(), Thinned()
    for step in range(10_000):
        short.add(step, 1.0)
    for step in range(1_000_000):
        long.add(step, 1.0)
    assert len(short.steps) <= MAX_POINTS and len(long.steps) <= MAX_POINTS and long.steps[0] == 0
    assert long.steps == sorted(long.steps) and long.steps[-1] > 990_000


def test_the_network_view_is_the_engine_s_own_gradients_and_bounded_for_wide_layers():
    run = LabRun(Setup(steps=10))
    run.advance(3)
    net = network(run, 5)
    # dL/d(unit) at the output, for example 5's loss alone: p - onehot, as the loss's backward gives it
    x, y = run.data.x_train[5:6].astype(np.float32), run.data.y_train[5:6]
    loss = tn.SoftmaxCrossEntropy()
    loss.forward(run.model.forward(x), y)
    assert np.allclose(net["columns"][-1]["grad"]["values"], loss.backward(1.0)[0], rtol=1e-6)
    assert [c["width"] for c in net["columns"]] == [2, 16, 16, 2] and len(net["weights"]) == 3
    wide = LabRun(Setup(layers=(2, 300, 2), steps=10))
    wide.advance(1)
    big = network(wide, 0)
    assert "histogram" in big["columns"][1]["act"] and "histogram" in big["weights"][0]
    assert len(json.dumps(big)) < 20_000  # bounded, whatever the width


def test_every_update_is_strict_json_even_for_a_diverged_run():
    run = run_all(Setup.from_query({"steps": "50", "case": "lr10"}))
    viewer = Viewer(run)
    json.dumps({"curves": viewer.curves(), "status": viewer.status(), "network": network(run, 0),
                "worked": worked_step(run, 0, 0)}, allow_nan=False)


@pytest.mark.parametrize("case", ["healthy", "softmax_twice", "relu_last", "sigmoid_deep"])
def test_the_worked_step_is_the_engine_s_gradient_and_checked(case):
    run = LabRun(Setup(case=case, steps=100))
    run.advance(20)
    worked = worked_step(run, 4, 0)
    checks = [line["check"] for line in worked["lines"] if "check" in line]
    assert len(checks) >= 4 and worked["all_ok"] and all(c["error"] < 1e-6 for c in checks)
    # The weight's gradient shown is what backward gives for that example's loss, in float32 here
    i, j = worked["i"], worked["j"]
    x, y = run.data.x_train[4:5].astype(np.float32), run.data.y_train[4:5]
    run.loss_fn.forward(run.model.forward(x), y)
    run.model.backward(run.loss_fn.backward(1.0))
    assert checks[-1]["analytic"] == pytest.approx(float(tn.model.linear_layers(run.model)[0].dW[i, j]), rel=1e-4)


def test_a_worked_step_that_disagrees_shows_the_disagreement():
    """A backward planted wrong (ReLU passing every gradient) is caught by the check beside it."""
    run = LabRun(Setup(steps=100))
    run.advance(30)
    relu = type(run.model.layers[1])
    original = relu.backward
    relu.backward = lambda self, dout: dout  # noqa: E731 (the planted bug)
    try:
        worked = worked_step(run, 0, 0)
    finally:
        relu.backward = original
    assert not worked["all_ok"] and any(not line["check"]["ok"] for line in worked["lines"] if "check" in line)


# --- The session's thread ------------------------------------------------------------------------
def wait_for(got: list, kind: str, timeout: float = 20.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = [m for m in got if m["kind"] == kind]
        if found:
            return found[-1]
        time.sleep(0.02)
    raise AssertionError(f"no {kind} message in {timeout} s; got {[m['kind'] for m in got]}")


def test_a_session_trains_pauses_steps_resets_and_survives_a_bad_field():
    from tinynet.lab.live import Session

    got: list = []
    session = Session(got.append)
    try:
        session.post({"do": "setup", "fields": {"steps": "100000"}})
        wait_for(got, "setup")
        session.post({"do": "train"})
        time.sleep(1.0)
        session.post({"do": "pause"})
        time.sleep(0.3)
        held = session.run.steps_taken
        time.sleep(0.3)
        assert 0 < held == session.run.steps_taken  # paused: nothing moves
        session.post({"do": "step"})
        time.sleep(0.3)
        assert session.run.steps_taken == held + 1
        session.post({"do": "setup", "fields": {"layers": "2,abc,2"}})
        assert "layers:" in wait_for(got, "error")["message"]
        assert session.run.steps_taken == held + 1  # the run in progress unharmed
        session.post("not a command")
        time.sleep(0.2)
        session.post({"do": "reset"})
        time.sleep(0.3)
        assert session.run.steps_taken == 0 and wait_for(got, "update")["status"]["step"] == 0
        session.post({"do": "train"})
        time.sleep(0.5)
    finally:
        start = time.monotonic()
        session.close()
    assert not session.thread.is_alive() and time.monotonic() - start < 3  # a closed tab stops its training


# --- The server's refusals ------------------------------------------------------------------------
@pytest.fixture
def client():
    from starlette.testclient import TestClient

    from tinynet.lab.server import create_app

    return TestClient(create_app("127.0.0.1", 8765), base_url="http://127.0.0.1:8765")


def test_the_server_serves_its_page_and_refuses_other_hosts_and_origins(client):
    from starlette.websockets import WebSocketDisconnect

    assert client.get("/").status_code == 200 and 'data-testid="loss-chart"' in client.get("/").text
    assert client.get("/plotly.js").status_code == 200
    assert client.get("/", headers={"host": "attacker.example:8765"}).status_code == 403  # DNS rebinding
    assert client.get("/", headers={"origin": "http://attacker.example"}).status_code == 403
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("ws://127.0.0.1:8765/ws", headers={"origin": "http://attacker.example"}) as ws:
            ws.receive_text()
    with client.websocket_connect("ws://127.0.0.1:8765/ws", headers={"origin": "http://127.0.0.1:8765"}) as ws:
        ws.send_text(json.dumps({"do": "setup", "fields": {"steps": "20"}}))
        assert json.loads(ws.receive_text())["kind"] == "setup"
        ws.send_text("{not json")
        kinds = {json.loads(ws.receive_text())["kind"] for _ in range(2)}
        assert "error" in kinds


def test_the_page_offers_exactly_the_choices_the_server_accepts(client):
    from tinynet.lab import setup

    html = client.get("/").text
    for name, options in (("dataset", tn.data.DATASETS), ("activation", setup.ACTIVATIONS),
                          ("optimizer", setup.OPTIMIZERS), ("case", setup.CASES)):
        block = html.split(f'name="{name}"')[1].split("</select>")[0]
        assert [o.split("</option>")[0] for o in block.split("<option>")[1:]] == list(options), name


def test_one_update_at_a_time_is_in_flight_and_the_latest_goes_next():
    """A slow browser must never fall behind: the next update waits until the page has drawn
    the last one, and then only the newest goes; other messages are never dropped."""
    import asyncio

    from tinynet.lab.server import send_latest

    async def scenario() -> list:
        sent: list = []

        class Page:
            async def send_text(self, text: str) -> None:
                message = json.loads(text)
                sent.append(f"{message['kind']}{message.get('n', '')}")

        outbox: asyncio.Queue = asyncio.Queue()
        drawn = asyncio.Event()
        drawn.set()
        task = asyncio.create_task(send_latest(Page(), outbox, drawn))
        outbox.put_nowait({"kind": "update", "n": 0})
        await asyncio.sleep(0.05)
        for message in ({"kind": "update", "n": 1}, {"kind": "update", "n": 2}, {"kind": "worked"}):
            outbox.put_nowait(message)
        await asyncio.sleep(0.05)
        before = list(sent)
        drawn.set()  # the page says: drawn
        await asyncio.sleep(0.05)
        task.cancel()
        return [before, sent]

    before, after = asyncio.run(scenario())
    assert before == ["update0"]
    assert after == ["update0", "worked", "update2"]


def test_the_worked_step_takes_the_weight_asked_for_and_names_a_bad_one():
    from tinynet.lab.live import Session

    got: list = []
    session = Session(got.append)
    try:
        session.post({"do": "setup", "fields": {"steps": "50"}})
        session.post({"do": "worked", "example": 2, "layer": 1, "i": 3, "j": 5})
        worked = wait_for(got, "worked")
        assert (worked["example"], worked["layer"], worked["i"], worked["j"]) == (2, 1, 3, 5)
        assert worked["lines"][-1]["text"].startswith("dL/dW2[3, 5] = a[3] x dL/dz2[5]")
        session.post({"do": "worked", "example": 2, "layer": 1, "i": "abc", "j": 5})
        assert wait_for(got, "error")["message"].startswith("unit: W[i, j] as two whole numbers")
        got.clear()
        session.post({"do": "worked", "example": 2, "layer": 1, "i": 99, "j": 0})
        assert wait_for(got, "error")["message"] == "unit: W of layer 1 is 16 x 16; got W[99, 0]"
    finally:
        session.close()


def test_listening_on_every_interface_answers_ip_addresses_but_no_other_name():
    from starlette.testclient import TestClient

    from tinynet.lab.server import create_app

    client = TestClient(create_app("0.0.0.0", 8765), base_url="http://192.168.1.5:8765")
    assert client.get("/").status_code == 200  # the machine's address on the network
    assert client.get("/", headers={"host": "evil.example:8765"}).status_code == 403  # a rebinding DNS name
    assert client.get("/", headers={"host": "192.168.1.5:9999"}).status_code == 403  # another port
    assert client.get("/", headers={"origin": "http://evil.example"}).status_code == 403


def test_closing_the_tab_ends_its_session_and_its_thread(client):
    import threading

    with client.websocket_connect("ws://127.0.0.1:8765/ws", headers={"origin": "http://127.0.0.1:8765"}) as ws:
        ws.send_text(json.dumps({"do": "setup", "fields": {"steps": "1000000"}}))
        ws.receive_text()
        ws.send_text(json.dumps({"do": "train"}))
        ws.receive_text()
        assert any(t.name == "tinynet-lab-session" for t in threading.enumerate())
    end = time.monotonic() + 5
    while time.monotonic() < end and any(t.name == "tinynet-lab-session" for t in threading.enumerate()):
        time.sleep(0.05)
    assert not any(t.name == "tinynet-lab-session" for t in threading.enumerate())
    assert client.app.app.state.sessions == set()


def test_the_update_to_weight_ratio_is_per_step():
    """The doctor's watcher measures |dW| / |W| since the last measurement; the page divides by
    the steps between them, so a last, shorter interval does not read as a drop."""
    run = run_all(Setup.from_query({"steps": "450"}))  # measured every 2 steps, the last after 1
    curves = Viewer(run).curves()
    name, moved = next(iter(curves["moved"].items()))
    steps = run.history.eval_steps
    assert steps[-1] - steps[-2] == 1 and steps[-2] - steps[-3] == 2
    assert moved["y"][-1] == pytest.approx(run.watch.moved[name][-1])
    assert moved["y"][-2] == pytest.approx(run.watch.moved[name][-2] / 2)


@pytest.mark.parametrize("fields", [
    {"steps": "3000", "lr": "0.5"},  # healthy
    {"steps": "1500", "lr": "4"},  # lr_too_high from the share of rising steps and the lowest, not a divergence
    {"steps": "2500", "lr": "3", "seed": "1"},  # vanishing_gradients
    {"steps": "3000", "case": "lr_too_small"},  # lr_too_low, from how far the loss fell
])
def test_a_long_run_keeps_a_bounded_history_and_still_gets_tn_diagnose_s_report(fields, monkeypatch):
    """KEEP losses at most (here 100, in the lab 10,000: a run of a million steps holds no more
    than one of ten thousand), the first and the latest always among them, and the doctor's
    report the one tn.diagnose gives for the whole run."""
    from tinynet.lab import run as lab_run

    monkeypatch.setattr(lab_run, "KEEP", 100)
    setup = Setup.from_query(fields)
    run = run_all(setup)
    h = run.history
    ns: dict = {}
    exec(as_python(setup).replace("history = tn.train(", "found = tn.diagnose(").replace("print(history)", ""), ns)
    theirs = ns["found"].history
    assert len(h.loss) <= 101 and h.steps_taken == theirs.steps_taken > 100
    assert h.loss[0] == theirs.loss[0] and h.loss[-1] == theirs.loss[-1]
    assert h.loss == [theirs.loss[s] for s in h.loss_steps] and h.loss_steps == sorted(set(h.loss_steps))
    assert h.loss_summary() == theirs.loss_summary()
    assert str(run.diagnosis()) == str(ns["found"])


def test_the_loss_summary_reads_as_the_doctor_read_the_list():
    from tinynet.metrics import LossSummary

    losses = [0.7, 0.8, 0.6, 0.6, 0.9, 0.2, 0.3]
    s = LossSummary.of(losses)
    assert (s.count, s.first, s.last, s.lowest) == (7, 0.7, 0.3, 0.2)
    assert s.rises == sum(b > a for a, b in zip(losses, losses[1:])) == 3


def test_listening_beyond_this_machine_a_port_in_use_and_a_bad_port_are_each_one_line():
    import socket
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "tinynet.lab", "--no-browser", "--host", "0.0.0.0", "--port",
                               str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        warning = server.stderr.readline()
        assert warning.strip() == "tinynet lab: listening on 0.0.0.0: anyone who can reach that address can use the lab"
        assert server.stdout.readline().strip() == f"tinynet lab: http://0.0.0.0:{port}/ (Ctrl-C to stop)"
    finally:
        server.terminate()
        server.wait(10)
    with socket.create_server(("127.0.0.1", 0)) as taken:  # a port another program holds
        port = taken.getsockname()[1]
        busy = subprocess.run([sys.executable, "-m", "tinynet.lab", "--no-browser", "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert busy.returncode == 1 and busy.stdout == "" and busy.stderr.splitlines() == [
        f"tinynet lab: cannot listen on 127.0.0.1:{port} (Address already in use); another program may be using it: "
        f"try --port {port + 1}"]
    bad = subprocess.run([sys.executable, "-m", "tinynet.lab", "--port", "99999"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1 and "a port number from 1 to 65535" in bad.stderr


def test_a_fifth_tab_is_told_why_it_gets_no_session(client):
    from contextlib import ExitStack

    from tinynet.lab.server import MAX_SESSIONS

    url, origin = "ws://127.0.0.1:8765/ws", {"origin": "http://127.0.0.1:8765"}
    with ExitStack() as tabs:
        for _ in range(MAX_SESSIONS):
            ws = tabs.enter_context(client.websocket_connect(url, headers=origin))
            ws.send_text(json.dumps({"do": "setup", "fields": {"steps": "10"}}))
            assert json.loads(ws.receive_text())["kind"] == "setup"
        with client.websocket_connect(url, headers=origin) as fifth:
            said = json.loads(fifth.receive_text())
        assert said["kind"] == "error" and f"at most {MAX_SESSIONS} tabs" in said["message"]
