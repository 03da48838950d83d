"""experiments/harness/runner.py: the order workers take runs in."""
from __future__ import annotations

from experiments.harness.runner import Run, longest_first


def run(role: str, **settings) -> Run:
    return Run(role, weight_seed=0, data_seed=0, lr=0.01, **{"steps": 1000, **settings})


def test_the_longest_runs_start_first_and_ties_keep_their_planned_order():
    """Part 4's shape: full-batch runs on 1,000 examples, one mini-batch run of 32, and a
    shorter full-batch one. The mini-batch run is the least work per step: it goes last."""
    planned = [run("mini-batch", n=1000, batch_size=32), run("sweep a", n=1000), run("short", n=1000, steps=100),
               run("sweep b", n=1000), run("deep", n=1000, sizes=(2, 500, 500, 500, 2))]
    assert [r.role for r in longest_first(planned)] == ["deep", "sweep a", "sweep b", "short", "mini-batch"]


def test_the_cost_counts_steps_examples_and_the_products_of_every_layer():
    assert run("a", n=100, sizes=(2, 3, 2)).cost() == 1000 * 100 * (2 * 3 + 3 * 2)
    assert run("b", n=100, batch_size=10, sizes=(2, 3, 2)).cost() == 1000 * 10 * 12
