"""Count the array operations of one training step: on a GPU, each is a kernel launch.

At N = 1,000 a CuPy step is bound by launches, not arithmetic (docs/performance.md, "GPU"),
so their number is the figure to lower. Counted on the strict backend (array-api-strict),
which runs tinynet's exact calls on the CPU: every array-API function and every arithmetic
or comparison operator on an array counts once, however it is nested. Views (a slice,
``.T``, a reshape) and reading ``.shape`` launch nothing and are not counted. The step counted
is the second: the constant arrays a backend keeps (the ones of the bias gradients, the loss's
0..C-1) are made in the first step only, as in a training run.

    python experiments/bench/count_ops.py                # the log's model, [2, 500, 500, 2]
    python experiments/bench/count_ops.py --sizes 2 8 2
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import pathlib
import sys
from typing import Any, Callable, Iterator

import numpy as np

sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))  # the repository root; tinynet: the installed one
import tinynet as tn  # noqa: E402
from tinynet.cli import positive_int  # noqa: E402

# Operators that compute a new array (or write one in place): one kernel each on a GPU.
OPERATORS = [f"__{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "pow", "matmul", "mod")]
OPERATORS += [f"__{kind}{op[2:]}" for op in OPERATORS for kind in ("r", "i")]
OPERATORS += ["__neg__", "__abs__", "__invert__", "__gt__", "__ge__", "__lt__", "__le__", "__eq__", "__ne__",
              "__and__", "__or__"]
# Namespace functions that launch nothing: views, and questions about dtypes.
NOT_LAUNCHES = {"reshape", "permute_dims", "expand_dims", "squeeze", "isdtype", "finfo", "iinfo", "result_type",
                "can_cast", "broadcast_to", "matrix_transpose"}


@contextlib.contextmanager
def counting(xp: Any) -> Iterator[collections.Counter]:
    """Within the block, count each array operation of the strict namespace ``xp`` by name."""
    from array_api_strict._array_object import Array

    counts: collections.Counter = collections.Counter()
    depth = [0]  # only the outermost call counts: an operator may call another inside

    def counted(name: str, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0:
                counts[name] += 1
            depth[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1
        return wrapper

    patched: list[tuple[Any, str, Any]] = []
    for name in OPERATORS:
        if hasattr(Array, name):
            patched.append((Array, name, getattr(Array, name)))
    for name in dir(xp):
        value = getattr(xp, name)
        if callable(value) and not name.startswith("_") and not isinstance(value, type) and name not in NOT_LAUNCHES:
            patched.append((xp, name, value))
    try:
        for owner, name, fn in patched:
            setattr(owner, name, counted(name, fn))
        yield counts
    finally:
        for owner, name, fn in patched:
            setattr(owner, name, fn)


def problem(sizes: list[int], n: int) -> tuple:
    """An MLP with ``sizes`` on the strict backend, a batch of n examples, the loss as train()
    runs it (labels range-checked beforehand, not per step) and SGD, after one step."""
    be = tn.get_backend("strict")
    rng = np.random.default_rng(0)
    model = tn.create_model(sizes, seed=0, backend=be)
    x = be.asarray(rng.uniform(-1, 1, size=(n, sizes[0])), dtype="float32")
    y = be.asarray(rng.integers(0, sizes[-1], size=n))
    loss_fn, opt = tn.SoftmaxCrossEntropy(validate_labels=False), tn.SGD(model, lr=0.01)
    tn.train_step(model, loss_fn, opt, x, y)  # the first step, which makes the kept constants
    return be, model, loss_fn, opt, x, y


def step_operations(sizes: list[int], n: int = 100) -> collections.Counter:
    """The operations of one tn.train_step (forward, loss, backward, update), by name."""
    be, model, loss_fn, opt, x, y = problem(sizes, n)
    with counting(be.xp) as counts:
        tn.train_step(model, loss_fn, opt, x, y)
    return counts


def by_phase(sizes: list[int], n: int = 100) -> dict[str, int]:
    """Operations per phase of a step: the layers' forward, the loss, the layers' backward, SGD."""
    be, model, loss_fn, opt, x, y = problem(sizes, n)
    totals = []
    with counting(be.xp) as counts:
        logits = model.forward(x)
        totals.append(sum(counts.values()))
        loss_fn.forward(logits, y)
        dlogits = loss_fn.backward()
        totals.append(sum(counts.values()))
        model.backward(dlogits)
        totals.append(sum(counts.values()))
        opt.step()
        totals.append(sum(counts.values()))
    ends = dict(zip(("forward", "loss", "backward", "update"), totals))
    starts = dict(zip(ends, [0] + totals[:-1]))
    return {phase: ends[phase] - starts[phase] for phase in ends}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[2, 500, 500, 2], help="the MLP's layer sizes")
    args = parser.parse_args(argv)
    if len(args.sizes) < 2 or min(args.sizes) < 1:
        parser.error("--sizes must list at least two positive integers")
    counts = step_operations(args.sizes)
    phases = by_phase(args.sizes)
    print(f"model {args.sizes}: {sum(counts.values())} array operations per training step")
    print("by phase: " + ", ".join(f"{name} {k}" for name, k in phases.items()))
    print("by operation: " + ", ".join(f"{name} {k}" for name, k in sorted(counts.items(), key=lambda kv: -kv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
