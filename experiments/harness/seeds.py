"""The seeds of a study, as the flags name them: the lowest layer of the harness, importing
nothing of it."""
from __future__ import annotations

import argparse
from typing import NamedTuple


class Seed(NamedTuple):
    """One seed of a study: ``seed`` is the number reported (k of n counts these); the weights
    and the data are drawn from ``weights`` and ``data``, equal to it unless one is fixed."""

    seed: int
    weights: int
    data: int


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
