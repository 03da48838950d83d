"""Choosing a backend, moving data, and the errors when a backend cannot run."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import tinynet as tn
from tinynet import backend as backend_module


def test_default_is_numpy(monkeypatch):
    monkeypatch.delenv("TINYNET_BACKEND", raising=False)
    assert tn.get_backend().name == "numpy"
    assert tn.get_backend().xp is np


def test_environment_variable_changes_the_default(monkeypatch):
    monkeypatch.setenv("TINYNET_BACKEND", "strict")
    assert tn.get_backend().name == "strict"
    assert tn.Linear(2, 3, seed=0).backend.name == "strict"


def test_unknown_backend_lists_the_choices(monkeypatch):
    with pytest.raises(ValueError, match="unknown backend 'jax'.*numpy, cupy, strict"):
        tn.get_backend("jax")
    monkeypatch.setenv("TINYNET_BACKEND", "torch")
    with pytest.raises(ValueError, match="TINYNET_BACKEND"):
        tn.get_backend()


def test_cupy_not_installed_says_so_and_how_to_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` fail
    monkeypatch.setattr(backend_module, "_cache", {})
    with pytest.raises(tn.BackendUnavailableError, match="not installed.*pip install") as info:
        tn.get_backend("cupy")
    assert isinstance(info.value, RuntimeError)


def test_strict_without_array_api_strict_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "array_api_strict", None)
    monkeypatch.setattr(backend_module, "_cache", {})
    with pytest.raises(tn.BackendUnavailableError, match="array-api-strict.*not installed.*pip install"):
        tn.get_backend("strict")


def test_cupy_without_a_gpu_says_so_and_how_to_fix(monkeypatch):
    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device)))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(backend_module, "_cache", {})
    with pytest.raises(tn.BackendUnavailableError, match="installed but no usable NVIDIA GPU.*nvidia-smi"):
        tn.get_backend("cupy")


def test_cupy_with_zero_devices_says_so(monkeypatch):
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 0)))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(backend_module, "_cache", {})
    with pytest.raises(tn.BackendUnavailableError, match="0 devices"):
        tn.get_backend("cupy")


def test_round_trip_keeps_values_and_dtype(be):
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = be.asarray(host)
    assert be.is_array(a)
    back = be.to_numpy(a)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, host)
    assert be.to_numpy(be.asarray(host, dtype="float64")).dtype == np.float64


def test_asarray_rejects_unknown_dtypes(be):
    with pytest.raises(ValueError, match="float32.*float64"):
        be.asarray([1.0], dtype="float16")


def test_strict_refuses_silent_host_conversion():
    """The reason the strict backend exists: any hidden np.asarray on its arrays raises."""
    be = tn.get_backend("strict")
    a = be.asarray(np.ones(3))
    with pytest.raises(RuntimeError, match="NumPy"):
        np.asarray(a)


def test_constants_are_made_once_per_length_and_dtype_and_are_right(be):
    """ones and arange are kept between steps (a fill is a GPU launch): the same array comes back
    for the same request, a different one for another length or dtype, each with its values."""
    f32, f64 = be.dtype("float32"), be.dtype("float64")
    ones = be.ones(5, f32)
    assert be.ones(5, f32) is ones and be.arange(3) is be.arange(3)
    np.testing.assert_array_equal(be.to_numpy(ones), np.ones(5, dtype=np.float32))
    assert be.to_numpy(be.ones(4, f32)).shape == (4,)
    assert be.to_numpy(be.ones(5, f64)).dtype == np.float64
    np.testing.assert_array_equal(be.to_numpy(be.arange(3)), [0, 1, 2])


def test_kept_constants_are_bounded_and_read_only_on_numpy():
    be = tn.Backend("numpy", np)  # a fresh backend: the shared one's constants stay as they are
    for n in range(1, 40):
        assert be.ones(n, np.float32).shape == (n,)
    assert len(be._constants) <= 16
    with pytest.raises(ValueError, match="read-only"):
        be.ones(3, np.float32)[0] = 2.0  # a write would change every later bias gradient


@pytest.mark.parametrize("name", ["numpy", "strict"])
def test_asarray_refuses_complex_numbers(name):
    """Cast to float, the imaginary part would be dropped without a word."""
    with pytest.raises(TypeError, match=r"asarray.*complex128"):
        tn.get_backend(name).asarray(np.array([[1 + 2j, 3.0]]), dtype="float32")
