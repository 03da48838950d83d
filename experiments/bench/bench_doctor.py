"""What the doctor costs: tn.diagnose against tn.train on the same run, timed in one process,
interleaved, medians of several rounds (these machines are noisy: never one timing).

    python experiments/bench/bench_doctor.py                 # [2, 500, 500, 2], N = 100, 1,000 steps
    python experiments/bench/bench_doctor.py --steps 5000 --rounds 5

The target: diagnose takes at most 1.25 times train's time (docs/doctor.md, "What it costs").
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))  # the repository root; tinynet: the installed one
import tinynet as tn  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from tinynet.cli import positive_int  # noqa: E402
from tinynet.data import make_dataset  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=positive_int, default=1000, help="training steps per run (default 1000)")
    p.add_argument("--n", type=positive_int, default=100, help="training examples (default 100)")
    p.add_argument("--rounds", type=positive_int, default=5, help="timed rounds, each one train and one diagnose")
    args = p.parse_args(argv)
    data = make_dataset("xor", args.n, seed=0, val_fraction=0.0)
    times: dict[str, list[float]] = {"train": [], "diagnose": []}
    with threadpool_limits(limits=1):  # one BLAS thread, as the experiments run
        for _ in range(args.rounds):
            for name, run in (("train", tn.train), ("diagnose", tn.diagnose)):
                model = tn.create_model([2, 500, 500, 2], seed=0)
                start = time.perf_counter()
                run(model, data, steps=args.steps, lr=0.01, progress=False)
                times[name].append(time.perf_counter() - start)
    train, doctor = statistics.median(times["train"]), statistics.median(times["diagnose"])
    print(f"[2, 500, 500, 2], N = {args.n}, {args.steps} steps, medians of {args.rounds} interleaved rounds:")
    print(f"  train     {train:.3f} s")
    print(f"  diagnose  {doctor:.3f} s  ({doctor / train:.3f} x train; target at most 1.25)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
