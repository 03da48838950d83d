"""Where the arrays live: the one place that chooses the array module.

Every other module computes with ``be.xp``, the array namespace of a backend, and
uses only the subset of functions that NumPy, CuPy and the Python array API
standard share. Host data goes in through ``be.asarray`` and comes back out
through ``be.to_numpy``; nothing else crosses between host and device.

Backends:
    "numpy"   the host, with NumPy (the default).
    "cupy"    an NVIDIA GPU, with CuPy.
    "strict"  array-api-strict on a non-host device. It raises on any silent
              conversion to NumPy, so running the engine on it proves that the
              GPU path has no hidden host copies.

The default backend is "numpy"; the environment variable ``TINYNET_BACKEND``
may name another one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BACKENDS = ("numpy", "cupy", "strict")
DTYPES = ("float32", "float64")
ENV_VAR = "TINYNET_BACKEND"



def host_numbers(a: Any, who: str) -> np.ndarray:
    """``a`` as a NumPy array of numbers (bool, int or float), or one line saying why it is not
    one: NumPy would make a string, a dict or any object a 0-d array of it, and says of a
    ragged list only that an element was set with a sequence."""
    try:
        host = np.asarray(a)
    except (ValueError, TypeError) as e:
        why = "rows of different lengths" if "inhomogeneous" in str(e) else str(e).split("\n")[0]
        raise ValueError(f"{who}: cannot read the {type(a).__name__} as an array of numbers ({why}); give a NumPy "
                         f"array, or lists of numbers whose rows have equal lengths") from None
    if host.dtype.kind not in "biuf":
        raise TypeError(f"{who}: takes numbers (bool, int or float), got a {type(a).__name__} that NumPy reads as "
                        f"{host.dtype} {host.shape}; give a NumPy array or a list of numbers")
    return host


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run here (for CuPy: not installed, or no GPU)."""


@dataclass(frozen=True, eq=False)
class Backend:
    """An array namespace plus the device the engine's arrays live on.

    Attributes:
        name:   "numpy", "cupy" or "strict".
        xp:     the array namespace the engine computes with.
        device: the device arrays are placed on (None: the namespace's default).
    """

    name: str
    xp: Any
    device: Any = None
    # Constant arrays (ones, 0..n-1) made once and kept; see _constant.
    _constants: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"

    def dtype(self, name: Any) -> Any:
        """The namespace's dtype object for "float32" or "float64" (NumPy's dtype objects and
        types for them, np.float32 or np.dtype("float32"), name them too)."""
        # A dtype object or type names one (np.float32, np.dtype("float32")); a number does not,
        # though NumPy would read np.float32(0.5) as its type.
        if isinstance(name, (np.dtype, type)):
            try:
                name = np.dtype(name).name
            except TypeError:
                pass
        if not isinstance(name, str) or name not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {name!r}")
        return getattr(self.xp, name)

    def asarray(self, a: Any, dtype: str | None = None) -> Any:
        """Host data (NumPy arrays, lists, scalars) as an array on this backend.

        a: array-like of any shape -> array of the same shape on the backend's device.
        dtype: "float32", "float64" or None (keep the data's own dtype).
        """
        if a is None:  # NumPy would make it an object array, or nan as a float
            raise TypeError(f"{self.name} backend: asarray got None; give it numbers, e.g. a NumPy array or a list")
        if self.name == "strict" and isinstance(a, _strict_array_type()):
            a = a.to_device(self.device)  # already a strict array: move, no host round trip
        elif not self.is_array(a):
            a = host_numbers(a, f"{self.name} backend: asarray")  # lists and scalars: NumPy picks the dtype
        elif isinstance(a, np.ndarray) and a.dtype.kind == "c":  # a cast would drop the imaginary part, silently
            raise TypeError(f"{self.name} backend: asarray takes real numbers, got a {a.dtype} array")
        xp_dtype = None if dtype is None else self.dtype(dtype)
        if self.device is None:
            return self.xp.asarray(a, dtype=xp_dtype)
        return self.xp.asarray(a, dtype=xp_dtype, device=self.device)

    def to_numpy(self, a: Any) -> np.ndarray:
        """An explicit copy back to the host: the only way out of the backend.

        a: backend array of any shape -> NumPy array of the same shape and dtype.
        """
        if a is None:
            raise TypeError(f"{self.name} backend: to_numpy got None, not an array; did a backward forget to return?")
        if not self.is_array(a) and _is_device_array(a):  # another backend's: only its own to_numpy can copy it
            owner = backend_of(a).name
            raise TypeError(f"{self.name} backend: to_numpy got an array of the {owner!r} backend; copy it with "
                            f"tn.get_backend({owner!r}).to_numpy(a)")
        if self.name == "cupy":
            return self.xp.asnumpy(a)
        if self.name == "strict":
            return np.asarray(a.to_device(self.xp.Device("CPU_DEVICE")))
        return np.asarray(a)

    def is_array(self, a: Any) -> bool:
        """True when ``a`` is an array of this backend, on its device."""
        if self.name == "numpy":
            return isinstance(a, np.ndarray)
        if self.name == "cupy":
            return isinstance(a, self.xp.ndarray)
        return isinstance(a, _strict_array_type()) and a.device == self.device

    def arange(self, n: int) -> Any:
        """0, 1, ..., n-1 as an integer array on the backend's device: shape (n,). Kept and shared
        (see _constant): never write into it."""
        return self._constant("arange", n, None)

    def ones(self, n: int, dtype: Any) -> Any:
        """n ones of ``dtype`` on the backend's device: shape (n,). Kept and shared (see
        _constant): never write into it."""
        return self._constant("ones", n, dtype)

    def _constant(self, kind: str, n: int, dtype: Any) -> Any:
        """The array ``kind`` ("ones" or "arange") of length n, made on first use and then kept.

        Every training step asks for the same ones (the bias gradients) and the same 0..C-1 (the
        loss's labels); on a GPU, making them anew is a kernel launch each, three or four of a
        step's ~50. NumPy's copies are read-only, so a write into one raises instead of changing
        the next step's numbers. At most 16 are kept: a run asks for one or two batch sizes.
        """
        key = (kind, n, dtype, self._current_device())  # the dtype object itself: str() costs 5 us
        array = self._constants.get(key)
        if array is None:
            if len(self._constants) >= 16:
                self._constants.clear()
            on_device = {} if self.device is None else {"device": self.device}
            if kind == "ones":
                array = self.xp.ones(n, dtype=dtype, **on_device)
            else:
                array = self.xp.arange(n, **on_device)
            if self.name == "numpy":
                array.flags.writeable = False
            self._constants[key] = array
        return array

    def _current_device(self) -> Any:
        """The GPU CuPy is placing arrays on now (a constant kept for one GPU is not used on
        another); None on the other backends, whose device is fixed."""
        if self.name == "cupy":
            return self.xp.cuda.Device().id
        return None

    # Asked about ten times a step: the dtype's one-letter kind is the fast way to ask
    # (docs/performance.md, "Forms kept for speed").
    def is_float_dtype(self, dtype: Any) -> bool:
        """True for float32 and float64, the engine's two dtypes (float16 and longdouble are not:
        no layer is written or checked for them)."""
        if self.name == "strict":
            return self.xp.isdtype(dtype, "real floating")
        dtype = np.dtype(dtype)
        return dtype.kind == "f" and dtype.itemsize in (4, 8)

    def is_integer_dtype(self, dtype: Any) -> bool:
        """True for signed or unsigned integer dtypes (bool is not an integer here)."""
        if self.name == "strict":
            return self.xp.isdtype(dtype, "integral")
        return np.dtype(dtype).kind in "iu"


def host_rng(seed: Any, who: str) -> np.random.Generator:
    """NumPy's Generator for ``seed``: random numbers are drawn on the host, then moved to the
    device, so a seed gives the same numbers on every backend.

    seed: a non-negative integer, None (fresh entropy), or a Generator (used as it is).
    who:  the function or class taking the seed, named in the error for anything else.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    # NumPy would take True as 1 (almost surely a slip), and a list as entropy for a SeedSequence.
    if isinstance(seed, (bool, np.bool_)) or not (seed is None or isinstance(seed, (int, np.integer))):
        raise TypeError(f"{who}: seed must be a non-negative integer, None or a numpy Generator, got {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as e:
        raise type(e)(
            f"{who}: seed must be a non-negative integer, None or a numpy Generator, got {seed!r}"
        ) from e


def dtype_name(dtype: Any) -> str:
    """"float32" or "float64" for a dtype of any backend (their reprs differ)."""
    return str(dtype).split(".")[-1]


_cache: dict[str, Backend] = {}


def get_backend(name: str | Backend | None = None) -> Backend:
    """The backend called ``name``; None means $TINYNET_BACKEND, else "numpy".

    Raises:
        ValueError: ``name`` is not one of "numpy", "cupy", "strict".
        BackendUnavailableError: "cupy" was asked for, and CuPy is not installed
            or finds no usable GPU (the message says which, and how to fix it); or
            "strict" was asked for without array-api-strict installed.
    """
    if isinstance(name, Backend):
        return name
    if name is None:
        name = os.environ.get(ENV_VAR) or "numpy"
        source = f" (from the environment variable {ENV_VAR})" if os.environ.get(ENV_VAR) else ""
    else:
        source = ""
    if name not in BACKENDS:
        raise ValueError(
            f"unknown backend {name!r}{source}; choose one of: {', '.join(BACKENDS)}"
        )
    if name not in _cache:
        _cache[name] = _make(name)
    return _cache[name]


def _make(name: str) -> Backend:
    if name == "numpy":
        return Backend("numpy", np)
    if name == "strict":
        try:
            import array_api_strict
        except ImportError as e:
            raise BackendUnavailableError(
                f"backend 'strict' needs array-api-strict, which is not installed ({e}); "
                "run `pip install -e \".[test]\"` (or `pip install array-api-strict`)"
            ) from e
        return Backend("strict", array_api_strict, array_api_strict.Device("device1"))
    return Backend("cupy", _import_cupy())


def _import_cupy() -> Any:
    """Import CuPy and make sure it can reach a GPU, or explain what is missing."""
    try:
        import cupy
    except ImportError as e:
        raise BackendUnavailableError(
            "backend 'cupy' needs CuPy, which is not installed "
            f"({e}). On a machine with an NVIDIA GPU and CUDA 12, run "
            "`pip install -e \".[gpu]\"` (installs cupy-cuda12x); "
            "otherwise use backend='numpy'."
        ) from e
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDARuntimeError, or a driver that will not load
        raise BackendUnavailableError(
            "backend 'cupy': CuPy is installed but no usable NVIDIA GPU was found "
            f"({type(e).__name__}: {e}). Check that `nvidia-smi` lists a GPU and that "
            "the driver matches CuPy's CUDA version; otherwise use backend='numpy'."
        ) from e
    if count < 1:
        raise BackendUnavailableError(
            "backend 'cupy': CuPy is installed but no usable NVIDIA GPU was found "
            "(the CUDA runtime reports 0 devices). Check `nvidia-smi`; "
            "otherwise use backend='numpy'."
        )
    return cupy


def backend_of(a: Any) -> Backend:
    """The backend that owns array ``a``.

    Raises TypeError, naming the type, for anything that is not a backend array.
    """
    if isinstance(a, np.ndarray):
        return get_backend("numpy")
    module = type(a).__module__.split(".")[0]
    if module == "array_api_strict":
        return get_backend("strict")
    if module == "cupy":
        return get_backend("cupy")
    raise TypeError(
        f"expected an array of a tinynet backend (numpy, cupy or strict), got "
        f"{type(a).__name__}; convert host data with tn.get_backend(name).asarray(data)"
    )


def _strict_array_type() -> type:
    from array_api_strict._array_object import Array

    return Array


def _is_device_array(a: Any) -> bool:
    """An array of a device backend (strict or CuPy), as backend_of tells them apart."""
    return type(a).__module__.split(".")[0] in ("array_api_strict", "cupy")
