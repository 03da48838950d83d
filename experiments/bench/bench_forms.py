"""Benchmark: each faster form the engine keeps, against the textbook line beside it.

tinynet writes its formulas as a textbook does, except where this benchmark shows that
another form of the same math gains at least 5% of a training step (docs/performance.md,
"Forms kept for speed"). For each such form the step is timed as the engine runs it and with
that one line in its textbook form, interleaved round by round in one process, medians
reported (these machines are noisy: a ratio is taken within one run, never across runs):

- the bias added in place, ``out = x @ W; out += b``, against ``out = x @ W + b``;
- the bias gradient as a product, ``db = ones @ dout``, against ``db = dout.sum(axis=0)``.

    python experiments/bench/bench_forms.py                      # numpy, N = 100 and 1000
    python experiments/bench/bench_forms.py --backend cupy --sizes 1000 100000
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time
from typing import Any, Callable

sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))  # the repository root; tinynet: the installed one
import tinynet as tn  # noqa: E402
from experiments.bench.bench_step import MODEL, make_problem, synchroniser  # noqa: E402
from tinynet.checks import check_linear_backward, check_linear_input  # noqa: E402
from tinynet.cli import positive_int  # noqa: E402

ENGINE = {"forward": tn.Linear.forward, "backward": tn.Linear.backward}


def forward_textbook(self: tn.Linear, x: Any) -> Any:
    check_linear_input(self, self.backend, self.W, self.b, x)
    self.cache = (x, self.W)
    return x @ self.W + self.b  # the textbook line: two fresh (N, n_out) arrays


def backward_textbook(self: tn.Linear, dout: Any) -> Any:
    check_linear_backward(self, self.cache, dout)
    x, W = self.cache
    self.dW = x.T @ dout
    self.db = self.backend.xp.sum(dout, axis=0)  # the textbook line: a reduction along the batch
    return dout @ W.T


# Each candidate: the Linear methods it runs. "engine" is tinynet as it is.
CANDIDATES: dict[str, dict[str, Callable]] = {
    "engine": {},
    "bias x @ W + b": {"forward": forward_textbook},
    "db = dout.sum(axis=0)": {"backward": backward_textbook},
}


def use(candidate: str) -> None:
    methods = {**ENGINE, **CANDIDATES[candidate]}
    tn.Linear.forward, tn.Linear.backward = methods["forward"], methods["backward"]


def timed(be: tn.Backend, n: int, rounds: int, steps: int) -> dict[str, float]:
    """Milliseconds per step of each candidate on [2, 500, 500, 2], float32: the median over
    ``rounds`` rounds, each timing ``steps`` steps of every candidate in turn."""
    model, x, y = make_problem(be, n, "float32")
    loss_fn = tn.SoftmaxCrossEntropy(validate_labels=False)
    opt = tn.SGD(model, lr=1e-6)  # tiny: the work of a step, with weights that barely move
    wait = synchroniser(be)
    times: dict[str, list[float]] = {c: [] for c in CANDIDATES}
    try:
        for _ in range(rounds):
            for candidate in CANDIDATES:
                use(candidate)
                tn.train_step(model, loss_fn, opt, x, y)  # warm: the first step of a form makes its arrays
                wait()
                start = time.perf_counter()
                for _ in range(steps):
                    tn.train_step(model, loss_fn, opt, x, y)
                wait()
                times[candidate].append((time.perf_counter() - start) / steps * 1e3)
    finally:
        use("engine")
    return {c: statistics.median(t) for c, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default=None, choices=tn.backend.BACKENDS)
    p.add_argument("--sizes", type=positive_int, nargs="+", default=[100, 1000], help="batch sizes N")
    p.add_argument("--rounds", type=positive_int, default=41, help="timed rounds (the median is reported)")
    p.add_argument("--steps", type=positive_int, default=None, help="steps per candidate per round "
                   "(default: 40 at N <= 100, 10 above)")
    args = p.parse_args(argv)
    try:
        be = tn.get_backend(args.backend)
    except (ValueError, tn.BackendUnavailableError) as e:
        p.error(str(e))
    print(f"model {MODEL}, float32, backend {be.name}; ms per step, medians of {args.rounds} interleaved rounds")
    for n in args.sizes:
        ms = timed(be, n, args.rounds, args.steps or (40 if n <= 100 else 10))
        engine = ms["engine"]
        print(f"N = {n}: engine {engine:.3f} ms")
        for candidate, value in ms.items():
            if candidate != "engine":
                print(f"  {candidate:<24} {value:8.3f} ms   {value / engine:.3f} x the engine's step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
