"""The checker's settings, refused where the check would mean nothing: an h or a tol that turns
a wrong gradient into a pass, or a right one into a failure."""
from __future__ import annotations

import math
from typing import Any

from ..checks import is_positive_int, is_real


# Outside these, a setting can turn a wrong gradient into a pass: a tol of 0 or an h far
# below the rounding noise makes the error floor (module docstring) infinite or huge, and
# every entry then "agrees".
H_RANGE = (1e-8, 1e-2)
TOL_RANGE = (1e-12, 0.1)


def check_number_in(name: str, value: Any, lo: float, hi: float) -> None:
    if not (is_real(value) and lo <= float(value) <= hi):
        raise ValueError(f"gradcheck: {name} must be a number in [{lo:g}, {hi:g}], got {value!r}")


def check_options(*, h: Any, tol: Any, eps: Any, max_entries: Any) -> None:
    """Refuse settings under which the check would mean nothing, naming the argument."""
    check_number_in("h", h, *H_RANGE)
    check_number_in("tol", tol, *TOL_RANGE)
    check_number_in("eps", eps, 1e-300, 1e-3)
    if h * h > tol:  # a centred difference is itself off by ~h^2 (relative): a right backward would fail
        raise ValueError(f"gradcheck: h = {h:g} is too large for tol = {tol:g}: a centred difference is itself off by "
                         f"about h^2 = {h * h:.0e}, so even a right backward would fail; use h at most sqrt(tol) = "
                         f"{math.sqrt(tol):.2g} (the default, 1e-05, suits any tol), or a tol of at least h^2")
    if max_entries is not None and not is_positive_int(max_entries):
        raise ValueError(f"gradcheck: max_entries must be a positive integer or None (every entry), "
                         f"got {max_entries!r}")
