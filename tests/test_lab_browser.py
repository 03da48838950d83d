"""The lab page in a real browser: headless Chromium (Debian's package) driven by Playwright,
against `python -m tinynet.lab` started as a user starts it. The page is driven only by its
data-testid hooks, the contract that checks outside this repository use too.

These run in CI (.ci/run installs Chromium where it is missing); on a machine without
Chromium they are skipped, except under CI=true, where a missing browser is a failure.
Screenshots: TINYNET_LAB_SCREENSHOTS=docs/lab writes the ones docs/lab.md shows.
"""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

# In CI nothing here may skip: a missing package or browser is an error, not a quiet pass.
IN_CI = os.environ.get("CI") == "true"
if IN_CI:
    import starlette  # noqa: F401 (the lab's extra)
    from playwright import sync_api as playwright
else:
    pytest.importorskip("starlette", reason="the lab's extra: pip install -e '.[lab]'")
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if IN_CI:
        raise RuntimeError("the lab's browser tests need Chromium, and CI must run them: apt-get install -y chromium")
    pytest.skip("no Chromium here (apt-get install -y chromium)", allow_module_level=True)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab():
    """The lab, as a user starts it, on a free port: its address."""
    port = free_port()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "tinynet.lab", "--no-browser", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = server.stdout.readline()
    assert line.strip() == f"tinynet lab: http://127.0.0.1:{port}/ (Ctrl-C to stop)", line
    end = time.monotonic() + 30
    while time.monotonic() < end:  # the line comes just before the server listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/", server
    if server.poll() is None:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1150})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    page.close()
    assert errors == []  # no script error on the page


def screenshot(page, tmp_path: pathlib.Path, name: str) -> pathlib.Path:
    """The page as a compact PNG (a 64-colour palette): into TINYNET_LAB_SCREENSHOTS if set, else tmp_path."""
    import io

    from PIL import Image

    folder = os.environ.get("TINYNET_LAB_SCREENSHOTS")
    path = ((ROOT / folder) if folder else tmp_path) / name
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def status_step(page) -> tuple[int, float | None]:
    text = page.get_by_test_id("status").inner_text()
    step = int(re.search(r"step (\d+)", text).group(1))
    loss = re.search(r"loss ([0-9.e+-]+)", text)
    return step, float(loss.group(1)) if loss else None


def test_train_moves_the_step_and_lowers_the_loss_and_pause_holds_it(lab, page, tmp_path):
    address, _ = lab
    page.goto(address + "?steps=1000000&lr=0.1")  # long enough to be still training when paused
    page.get_by_test_id("status").filter(has_text="step 0").wait_for()
    page.get_by_test_id("step").click()
    page.get_by_test_id("status").filter(has_text="step 1 ").wait_for()
    _, first = status_step(page)
    page.get_by_test_id("train").click()
    page.wait_for_function("() => /step ([0-9]{3,})/.test(document.querySelector('[data-testid=status]').innerText)")
    page.wait_for_timeout(1500)
    page.get_by_test_id("pause").click()
    page.get_by_test_id("status").filter(has_not_text="(training)").wait_for(timeout=5000)
    step, loss = status_step(page)
    assert 100 < step < 1_000_000 and loss < first
    page.wait_for_timeout(800)
    assert status_step(page)[0] == step  # paused: held
    assert page.get_by_test_id("doctor").inner_text().startswith("cause:")
    for view in ("loss-chart", "boundary", "network"):
        assert page.get_by_test_id(view).is_visible()
    page.get_by_test_id("work").click()
    page.get_by_test_id("worked-step").filter(has_text="checked by finite differences").wait_for()
    assert "DISAGREES" not in page.get_by_test_id("worked-step").inner_text()
    assert screenshot(page, tmp_path, "lab_healthy.png").stat().st_size < 200_000


def test_softmax_twice_makes_the_doctor_name_it(lab, page, tmp_path):
    address, _ = lab
    page.goto(address + "?steps=1500")
    page.get_by_test_id("status").filter(has_text="step 0").wait_for()
    page.get_by_test_id("case").select_option("softmax_twice")
    page.get_by_test_id("python").filter(has_text="softmax_twice").wait_for()
    page.get_by_test_id("train").click()
    page.get_by_test_id("status").filter(has_text="finished").wait_for(timeout=60_000)
    page.get_by_test_id("doctor").filter(has_text="softmax_twice").wait_for()
    assert page.get_by_test_id("doctor").inner_text().startswith("cause: softmax_twice")
    assert screenshot(page, tmp_path, "lab_softmax_twice.png").stat().st_size < 200_000


def test_digits_bring_their_ends_and_pictures_in_place_of_the_boundary(lab, page, tmp_path):
    address, _ = lab
    page.goto(address + "?steps=300&lr=0.5&layers=2,32,2")
    page.get_by_test_id("status").filter(has_text="step 0").wait_for()
    page.get_by_test_id("dataset").select_option("digits")  # the layers' ends follow: 64 inputs, 10 classes
    page.wait_for_function("() => location.search.includes('dataset=digits')")
    assert page.get_by_test_id("layers").input_value() == "64,32,10"
    assert page.get_by_test_id("error").inner_text() == ""
    page.get_by_test_id("train").click()
    page.get_by_test_id("status").filter(has_text="finished").wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    pictures = page.get_by_test_id("pictures")
    assert pictures.locator("canvas").count() >= 16  # the first layer's 16 units, and any mistakes
    assert "right" in page.locator("#boundary-title").inner_text()
    right, of = map(int, re.search(r"(\d+) of (\d+) right", page.locator("#boundary-title").inner_text()).groups())
    assert of == 20 and right > 2  # 300 steps at lr 0.5 learn digits well above chance (2 of 20)
    assert "make_dataset('digits', 100" in page.get_by_test_id("python").inner_text()
    assert screenshot(page, tmp_path, "lab_digits.png").stat().st_size < 200_000


def test_a_bad_layer_size_shows_an_error_and_the_page_keeps_working(lab, page):
    address, _ = lab
    page.goto(address + "?steps=500")
    page.get_by_test_id("status").filter(has_text="step 0").wait_for()
    page.get_by_test_id("layers").fill("2,abc,2")
    page.get_by_test_id("layers").dispatch_event("change")
    page.get_by_test_id("error").filter(has_text="layers:").wait_for()
    assert "Traceback" not in page.content()
    page.get_by_test_id("layers").fill("2,8,2")
    page.get_by_test_id("layers").dispatch_event("change")
    page.get_by_test_id("error").filter(has_text=re.compile("^$")).wait_for()
    page.get_by_test_id("step").click()
    page.get_by_test_id("status").filter(has_text="step 1 ").wait_for()


def test_the_address_round_trips_the_set_up(lab, page, browser):
    address, _ = lab
    page.goto(address)
    page.get_by_test_id("status").filter(has_text="step 0").wait_for()
    page.get_by_test_id("seed").fill("5")
    page.get_by_test_id("seed").dispatch_event("change")
    page.get_by_test_id("lr").fill("0.05")
    page.get_by_test_id("lr").dispatch_event("change")
    page.wait_for_function("() => location.search.includes('seed=5') && location.search.includes('lr=0.05')")
    page.get_by_test_id("step").click()
    page.get_by_test_id("status").filter(has_text="step 1 ").wait_for()
    shared = page.url
    other = browser.new_page()
    try:
        other.goto(shared)  # the link a teacher sends
        other.get_by_test_id("status").filter(has_text="step 0").wait_for()
        assert other.get_by_test_id("seed").input_value() == "5" and other.get_by_test_id("lr").input_value() == "0.05"
        other.get_by_test_id("step").click()
        other.get_by_test_id("status").filter(has_text="step 1 ").wait_for()
        assert status_step(other) == status_step(page)  # same seed, same numbers
    finally:
        other.close()


def test_ctrl_c_ends_the_server_in_one_line_with_130(lab):
    import signal

    _, server = lab
    server.send_signal(signal.SIGINT)
    _, err = server.communicate(timeout=20)
    assert server.returncode == 130 and err.strip() == "interrupted", err
