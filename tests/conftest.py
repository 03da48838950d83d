"""Shared fixtures: every engine test runs on each backend; hypothesis profiles."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import tinynet as tn

# CI: derandomized (the same examples every run) and no deadline (shared machines are noisy).
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
# A long search, by hand: HYPOTHESIS_PROFILE=stress python -m pytest tests/test_gradients.py
settings.register_profile("stress", deadline=None, max_examples=1000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _a_fresh_stop_request():
    """A test that interrupts a run (a KeyboardInterrupt from its hook) leaves the process's stop
    request set, as a script's Ctrl-C would (training.py ``_Stop``); each test starts without one."""
    import tinynet.training

    yield
    tinynet.training._stop.requested = False


@pytest.fixture(scope="session", params=["numpy", "strict", "cupy"])
def be(request) -> tn.Backend:
    """The backend under test. CuPy is skipped, with the reason, where it cannot run."""
    try:
        return tn.get_backend(request.param)
    except tn.BackendUnavailableError as e:
        pytest.skip(str(e))


def _cupy_missing() -> str | None:
    """Why the CuPy backend cannot run here, or None where it can."""
    try:
        tn.get_backend("cupy")
    except tn.BackendUnavailableError as e:
        return str(e)
    return None


_NOT_RUN: dict[str, object] = {}


def pytest_collection_modifyitems(config, items):
    """Where CuPy cannot run, its tests are left out, said once at the end (not once per test)."""
    reason = _cupy_missing()
    if reason is None:
        return
    cupy = [item for item in items if getattr(item, "callspec", None) and item.callspec.params.get("be") == "cupy"]
    if cupy:
        config.hook.pytest_deselected(items=cupy)
        items[:] = [item for item in items if item not in set(cupy)]
        _NOT_RUN.update(count=len(cupy), reason=reason)


def pytest_terminal_summary(terminalreporter):
    if _NOT_RUN:
        terminalreporter.write_line(f"CuPy: {_NOT_RUN['count']} tests not run here (deselected): {_NOT_RUN['reason']}")
