"""What fused kernels would buy: the step's floor with its elementwise passes fused by Numba.

The floor of bench_step.py (every buffer allocated once, every pass in place) still makes
about a dozen separate passes over (N, 500) arrays per step. Here the passes that can merge
do, in compiled loops: the bias add and ReLU in one pass, the ReLU mask and the bias
gradient in one pass, and the update in one pass per parameter. The matrix products stay
BLAS's, and the loss on (N, 2) logits stays NumPy's. tinynet itself does not use Numba: this
script measures whether a compiler would reach the performance target, as input to the
decision whether to use one.

    pip install numba
    python experiments/bench/bench_fused.py                 # float32, N = 100, 1000, 10000
    python experiments/bench/bench_fused.py --sizes 1000 --repeats 50

The kernels are serial: with Numba's parallel loops, its worker threads and OpenBLAS's
competed for the two cores of the development machine, and the fused step ran 3 to 12 times
slower at N = 100 and 1,000. Before timing, every run checks that the fused step takes exactly the floor's step
(the same weights after two steps), so it cannot look fast by skipping work.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
from typing import Callable

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bench_step  # noqa: E402
from tinynet.cli import positive_int  # noqa: E402
from tinynet.files import write_text  # noqa: E402

try:
    import numba
except ImportError:  # the script says so in main(); importing this module stays possible
    numba = None


def kernels() -> tuple[Callable, Callable, Callable]:
    """The three fused loops, compiled on first use."""

    @numba.njit(cache=True)
    def bias_relu(z, b):
        """z: (N, D) <- max(z + b, 0), in place: the bias add and ReLU in one pass."""
        n, m = z.shape
        for i in range(n):
            for j in range(m):
                v = z[i, j] + b[j]
                z[i, j] = v if v > 0 else 0

    @numba.njit(cache=True)
    def relu_backward_and_bias_grad(d, h, db):
        """d: (N, D) <- d * [h > 0], in place; db: (D,) <- the column sums of the new d."""
        n, m = d.shape
        db[:] = 0
        for i in range(n):
            for j in range(m):
                v = d[i, j] if h[i, j] > 0 else 0
                d[i, j] = v
                db[j] += v

    @numba.njit(cache=True)
    def sgd(p, g, lr):
        """p <- p - lr * g, in place, one pass; p, g: same shape, any."""
        flat_p, flat_g = p.reshape(-1), g.reshape(-1)
        for k in range(flat_p.size):
            flat_p[k] -= lr * flat_g[k]

    return bias_relu, relu_backward_and_bias_grad, sgd


def fused_floor(model, x, y, lr: float = bench_step.LR):
    """The floor's step with fused passes, on copies of the weights of ``model`` (Linear,
    ReLU, ..., Linear). Returns the step and its parameters [W_0, ..., b_0, ...]."""
    bias_relu, relu_backward_and_bias_grad, sgd = kernels()
    linears = model.layers[::2]
    Ws = [layer.W.copy() for layer in linears]  # (n_in, n_out) each
    bs = [layer.b.copy() for layer in linears]  # (n_out,) each
    n, dtype = x.shape[0], x.dtype
    zs = [np.empty((n, W.shape[1]), dtype) for W in Ws]  # z = a @ W + b, then ReLU(z) in place
    dzs = [np.empty(z.shape, dtype) for z in zs[:-1]]  # dL/dz of every hidden layer
    dWs = [np.empty_like(W) for W in Ws]
    dbs = [np.empty_like(b) for b in bs]
    onehot = np.zeros(zs[-1].shape, dtype)
    onehot[np.arange(n), np.asarray(y)] = 1
    per_row = np.empty((n, 1), dtype)
    scale = dtype.type(1 / n)
    step_size = dtype.type(lr)
    last = len(Ws) - 1

    def step() -> None:
        a = x
        for i, (W, b, z) in enumerate(zip(Ws, bs, zs)):
            np.matmul(a, W, out=z)
            if i < last:
                bias_relu(z, b)  # ReLU(z) > 0 exactly where z > 0: it is its own mask
            else:
                z += b
            a = z
        d = bench_step.logits_to_grad(a, onehot, per_row, scale)  # as in the floor
        np.sum(d, axis=0, out=dbs[last])
        for i in reversed(range(len(Ws))):
            np.matmul((zs[i - 1] if i else x).T, d, out=dWs[i])
            if i:  # the input gradient of the first layer is not needed
                np.matmul(d, Ws[i].T, out=dzs[i - 1])
                relu_backward_and_bias_grad(dzs[i - 1], zs[i - 1], dbs[i - 1])
                d = dzs[i - 1]
        for param, grad in zip(Ws + bs, dWs + dbs):
            sgd(param, grad, step_size)

    return step, Ws + bs


def same_step(model, x, y) -> float:
    """Largest relative difference between the fused and the floor's weights after two steps."""
    fused, fused_params = fused_floor(model, x, y, lr=0.1)
    floor, floor_params = bench_step.numpy_floor(model, x, y, lr=0.1)
    for _ in range(2):
        fused()
        floor()
    return max(float(np.max(np.abs(a - b) / (np.abs(b) + 1e-30))) for a, b in zip(fused_params, floor_params))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[100, 1000, 10000], help="batch sizes N")
    parser.add_argument("--repeats", type=positive_int, default=30, help="timed rounds per case (median reported)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/bench_fused.json"))
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.sizes) < 1:
        parser.error("--repeats and --sizes must be positive")
    if numba is None:
        parser.error("this benchmark needs Numba, which is not installed: pip install numba")

    be = bench_step.tn.get_backend("numpy")
    sync = bench_step.synchroniser(be)
    print(f"model {bench_step.MODEL}, float32, numba {numba.__version__}, serial kernels")
    print(f"{'N':>6} {'step ms':>9} {'bound ms':>9} {'floor ms':>9} {'fused ms':>9} "
          f"{'step/bound':>10} {'floor/bound':>11} {'fused/bound':>11}")
    rows = []
    for n in args.sizes:
        model, x, y = bench_step.make_problem(be, n, "float32")
        difference = same_step(model, x, y)
        if difference > 1e-5:
            raise SystemExit(f"N = {n}: the fused step differs from the floor's by {difference:.2g} "
                             "(relative) after two steps; its timings would mean nothing")
        candidates = {"step": bench_step.tinynet_step(model, x, y), "bound": bench_step.matmul_bound(be, model, x),
                      "floor": bench_step.numpy_floor(model, x, y)[0], "fused": fused_floor(model, x, y)[0]}
        for fn in candidates.values():  # warm-up: compilation, allocations, BLAS threads
            for _ in range(3):
                fn()
        samples: dict[str, list[float]] = {name: [] for name in candidates}
        for _ in range(args.repeats):  # interleaved, as in bench_step.py
            for name, fn in candidates.items():
                samples[name].append(bench_step.timed(fn, sync))
        row = {"n": n, "max_relative_difference_from_floor": difference}
        row |= {f"{name}_ms": 1e3 * statistics.median(v) for name, v in samples.items()}
        for name in ("step", "floor", "fused"):
            row[f"{name}_over_bound"] = row[f"{name}_ms"] / row["bound_ms"]
        rows.append(row)
        print(f"{n:>6} {row['step_ms']:>9.3f} {row['bound_ms']:>9.3f} {row['floor_ms']:>9.3f} {row['fused_ms']:>9.3f} "
              f"{row['step_over_bound']:>10.3f} {row['floor_over_bound']:>11.3f} {row['fused_over_bound']:>11.3f}",
              flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.out, json.dumps({"model": bench_step.MODEL, "machine": bench_step.machine(be),
                                     "numba": numba.__version__, "repeats": args.repeats, "results": rows}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
