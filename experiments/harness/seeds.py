"""The seeds of a study, as the flags name them, and the runs planned from them: above the
runner (a ``Run``), below everything else of the harness."""
from __future__ import annotations

import argparse
from typing import Any, NamedTuple

from experiments.harness.runner import Run


class Seed(NamedTuple):
    """One seed of a study: ``seed`` is the number reported (k of n counts these); the weights
    and the data are drawn from ``weights`` and ``data``, equal to it unless one is fixed."""

    seed: int
    weights: int
    data: int

    def run(self, role: str, **settings: Any) -> Run:
        """The Run of ``role`` for this seed: its weights and data drawn from this seed's own."""
        return Run(role, weight_seed=self.weights, data_seed=self.data, **settings)


def parse_seeds(text: str) -> list[int]:
    """"0-4" -> [0, 1, 2, 3, 4]; "0,3,7" and "0-2,9" too. Duplicates are dropped, order kept."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi if dash else lo)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"takes non-negative integers and ranges such as 0-4 or 0,3,7; got {text!r}") from None
        if first < 0 or last < first:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not a range of non-negative seeds")
        seeds += [s for s in range(first, last + 1) if s not in seeds]
    return seeds
