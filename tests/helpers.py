"""Helpers shared by the tests: building data on a backend, and running the checker."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinynet.gradcheck import CheckResult


def random_data(be: tn.Backend, rng: np.random.Generator, n: int, d: int, n_classes: int,
                dtype: str = "float64") -> tuple[Any, Any]:
    """x: (n, d) standard normal, y: (n,) labels in 0..n_classes-1, both on ``be``."""
    x = be.asarray(rng.standard_normal((n, d)), dtype=dtype)
    y = be.asarray(rng.integers(0, n_classes, size=n))
    return x, y


def failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.passed]


def assert_passed(results: list[CheckResult]) -> None:
    """Every tensor's error within its tolerance; else each failure's report."""
    assert results, "no tensor was checked"
    failed = [r.report() for r in results if not r.passed]
    assert not failed, "gradient check failed:\n" + "\n".join(failed)


def assert_all_checked_and_ok(results: list[CheckResult]) -> None:
    """Every tensor passed, and every tensor had at least one entry actually compared."""
    assert_passed(results)
    unchecked = [str(r) for r in results if r.checked == 0]
    assert not unchecked, "tensors with no entry checked:\n" + "\n".join(unchecked)


def assert_ok_apart_from_kinks(results: list[CheckResult]) -> None:
    """Every compared entry passed; a tensor may go unchecked only because all its entries
    sat within h of a ReLU kink (a tiny layer can), and most entries overall were compared."""
    at_kinks = [r for r in results if r.checked == 0 and "at kinks" in r.note]
    assert_passed([r for r in results if r not in at_kinks])
    assert sum(r.checked for r in results) > sum(r.skipped for r in results), results
