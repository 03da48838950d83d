"""What the lab page costs a run: a lab session training with its updates sent (each one built
and written as JSON, as the server sends it to the open page) against tn.train on the same
set-up, steps per second, interleaved in one process, medians of several rounds.

    python experiments/bench/bench_lab.py                    # [2, 500, 500, 2] and [2, 16, 16, 2], N = 100
    python experiments/bench/bench_lab.py --seconds 3 --rounds 5

The target: the lab trains at 90% or more of tn.train's steps per second (docs/performance.md).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import threading
import time

sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))  # the repository root; tinynet: the installed one
import tinynet as tn  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from tinynet.cli import positive_int  # noqa: E402
from tinynet.lab import LabRun, Setup  # noqa: E402
from tinynet.lab.live import Session  # noqa: E402

MODELS = ((2, 500, 500, 2), (2, 16, 16, 2))


def train_rate(setup: Setup) -> float:
    """tn.train's steps per second on the set-up (the run the page's "as Python" writes)."""
    run = LabRun(setup)  # its model and data, built as the page builds them
    start = time.perf_counter()
    tn.train(run.model, run.data, steps=setup.steps, lr=setup.run_lr, seed=setup.seed, progress=False)
    return setup.steps / (time.perf_counter() - start)


def diagnose_rate(setup: Setup) -> float:
    """tn.diagnose's steps per second: tn.train with the doctor watching, as the page's run is."""
    run = LabRun(setup)
    start = time.perf_counter()
    tn.diagnose(run.model, run.data, steps=setup.steps, lr=setup.run_lr, seed=setup.seed, progress=False)
    return setup.steps / (time.perf_counter() - start)


def lab_rate(setup: Setup) -> tuple[float, int]:
    """The lab session's steps per second, and the updates it sent while training."""
    sent = []
    ready, done = threading.Event(), threading.Event()

    def send(message: dict) -> None:
        json.dumps(message, allow_nan=False)  # what the server does with each message
        sent.append(message["kind"])
        ready.set()
        if message["kind"] == "update" and message["status"]["finished"]:
            done.set()

    session = Session(send)
    try:
        session.post({"do": "setup", "fields": setup.query()})
        ready.wait(60)  # the set-up's first update: step 0 of steps
        time.sleep(0.1)
        updates = sent.count("update")
        start = time.perf_counter()
        session.post({"do": "train"})
        done.wait()  # waiting on an event, not polling: the thread that trains keeps the interpreter
        elapsed = time.perf_counter() - start
        return session.run.steps_taken / elapsed, sent.count("update") - updates
    finally:
        session.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=8.0, help="about how long each timed run lasts (default 8)")
    p.add_argument("--rounds", type=positive_int, default=5, help="timed rounds, each one train and one lab run")
    args = p.parse_args(argv)
    with threadpool_limits(limits=1):  # one BLAS thread for both
        for sizes in MODELS:
            probe = Setup(layers=sizes, steps=20, lr=0.01)
            steps = max(20, int(train_rate(probe) * args.seconds))
            setup = Setup(layers=sizes, steps=steps, lr=0.01)
            rates: dict[str, list[float]] = {"train": [], "diagnose": [], "lab": []}
            updates = []
            for _ in range(args.rounds):
                rates["train"].append(train_rate(setup))
                rates["diagnose"].append(diagnose_rate(setup))
                rate, sent = lab_rate(setup)
                rates["lab"].append(rate)
                updates.append(sent)
            ratios = [lab / train for lab, train in zip(rates["lab"], rates["train"])]
            watched = [lab / doctor for lab, doctor in zip(rates["lab"], rates["diagnose"])]
            print(f"{list(sizes)}, N = 100, {steps} steps, medians of {args.rounds} interleaved rounds:")
            print(f"  tn.train     {statistics.median(rates['train']):,.0f} steps/s")
            print(f"  tn.diagnose  {statistics.median(rates['diagnose']):,.0f} steps/s "
                  f"(the doctor watching, as in the lab)")
            print(f"  lab          {statistics.median(rates['lab']):,.0f} steps/s, "
                  f"{statistics.median(updates):.0f} updates sent per run")
            print(f"  ratio        {statistics.median(ratios):.3f} lab / train (target at least 0.90), "
                  f"{statistics.median(watched):.3f} lab / diagnose; per round, then the median")
    return 0


if __name__ == "__main__":
    sys.exit(main())
