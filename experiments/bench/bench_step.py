"""Benchmark: one training step of tinynet against the bound set by its matrix products.

All the arithmetic an MLP step needs is matrix products; everything else (ReLU, bias,
softmax, the SGD update) is overhead. So the bound is measured, not assumed: the same
step's matrix products, on the same shapes, timed alone in the same process, interleaved
with the full steps so that both see the same machine state. Reports medians and the
ratio step / bound, and writes them as JSON.

On NumPy a third candidate, the floor, runs in the same rounds: the same step written as
straight-line NumPy with every buffer allocated once and every elementwise pass in place.
It is not how tinynet is written (it fixes the model's shape, and it gives up a fresh,
readable array per result); it measures how close to the bound NumPy itself gets on this
machine, which separates the engine's own overhead (step / floor) from the cost of NumPy's
elementwise passes (floor / bound).

    python experiments/bench/bench_step.py                      # numpy, N = 100, 1000, 10000
    python experiments/bench/bench_step.py --backend cupy       # on a GPU, timed with synchronisation
    python experiments/bench/bench_step.py --sizes 100 --repeats 50 --out runs/bench.json
    python experiments/bench/bench_step.py --width 1000 --sizes 1000   # hidden layers 1000 wide
    python experiments/bench/bench_step.py --inputs 64 --classes 10 --sizes 1437   # digits' [64, 500, 500, 10]

Where PyTorch is installed, its step on the same model is timed too, as a peer: on the CPU
beside NumPy, on the GPU (CUDA) beside CuPy. On a GPU, where a call returns before its
kernels finish, each candidate is also timed in a loop (--loop steps back to back, one
synchronisation at the end), as training runs: that time per step is the one to compare
across GPU frameworks; a synchronised single step adds the launch latency of every call.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time
from typing import Any, Callable

import numpy as np

sys.path.append(str(pathlib.Path(__file__).resolve().parents[2]))  # the repository root; tinynet: the installed one
import tinynet as tn  # noqa: E402
from tinynet.cli import positive_int  # noqa: E402
from tinynet.files import write_text  # noqa: E402

MODEL = [2, 500, 500, 2]  # the log's model; --width changes its two hidden layers
LR = 1e-6  # tiny: the weights barely move over a benchmark, the work per step is the same


def make_problem(be: tn.Backend, n: int, dtype: str, sizes: list[int] = MODEL):
    rng = np.random.default_rng(0)
    model = tn.create_model(sizes, seed=0, dtype=dtype, backend=be)
    x = be.asarray(rng.uniform(-1, 1, size=(n, sizes[0])), dtype=dtype)
    y = be.asarray(rng.integers(0, sizes[-1], size=n))
    return model, x, y


def tinynet_step(model, x, y) -> Callable[[], None]:
    loss_fn = tn.SoftmaxCrossEntropy(validate_labels=False)  # as train(): labels checked once, not per step
    opt = tn.SGD(model, lr=LR)

    def step() -> None:
        tn.train_step(model, loss_fn, opt, x, y)  # what train() runs at every step

    return step


def matmul_bound(be: tn.Backend, model, x) -> Callable[[], None]:
    """The step's matrix products alone, on its shapes: forward x @ W for every layer, and
    backward the dW = a.T @ d and da = d @ W.T that backprop needs."""
    Ws = [layer.W for layer in model.layers[::2]]
    n, dtype = x.shape[0], tn.backend.dtype_name(x.dtype)
    acts = [x] + [be.asarray(np.ones((n, W.shape[1])), dtype=dtype) for W in Ws[:-1]]  # on x's device
    outs = [be.asarray(np.ones((n, W.shape[1])), dtype=dtype) for W in Ws]

    def products() -> None:
        for a, W in zip(acts, Ws):
            a @ W
        for i in reversed(range(len(Ws))):
            acts[i].T @ outs[i]
            if i > 0:  # the input gradient of the first layer is not needed
                outs[i] @ Ws[i].T

    return products


def logits_to_grad(z: np.ndarray, onehot: np.ndarray, per_row: np.ndarray, scale) -> np.ndarray:
    """Logits z: (N, C) become dL/dlogits = (softmax(z) - onehot) / N, in place; returns z.
    per_row: an (N, 1) buffer; scale: 1 / N in z's dtype."""
    np.max(z, axis=1, keepdims=True, out=per_row)
    z -= per_row  # each row's max is 0: exp cannot overflow
    np.exp(z, out=z)
    np.sum(z, axis=1, keepdims=True, out=per_row)
    z /= per_row
    z -= onehot
    z *= scale
    return z


def numpy_floor(model, x, y, lr: float = LR) -> tuple[Callable[[], None], list[np.ndarray]] | None:
    """The step of ``model`` (Linear, ReLU, ..., Linear) as allocation-free NumPy, on copies
    of its weights. Returns the step and its parameters [W_0, ..., b_0, ...], updated in place
    by each call; None off NumPy.

    Same arithmetic as tinynet's step, minus what NumPy can avoid: no new arrays (matmul
    writes into buffers), no checks, no Python layers, and the fastest exact form of each
    pass measured here (ReLU as a maximum against a zero row, which NumPy runs on its fast
    contiguous path, where a scalar 0 is 2-3x slower).
    """
    if not isinstance(x, np.ndarray):
        return None
    linears = model.layers[::2]
    Ws = [layer.W.copy() for layer in linears]  # (n_in, n_out) each
    bs = [layer.b.copy() for layer in linears]  # (n_out,) each
    n, dtype = x.shape[0], x.dtype
    zs = [np.empty((n, W.shape[1]), dtype) for W in Ws]  # z = a @ W + b, then ReLU(z) in place
    masks = [np.empty(z.shape, bool) for z in zs[:-1]]  # z > 0, for every hidden layer
    dzs = [np.empty(z.shape, dtype) for z in zs[:-1]]  # dL/dz of every hidden layer
    dWs = [np.empty_like(W) for W in Ws]
    dbs = [np.empty_like(b) for b in bs]
    zero_rows = [np.zeros(z.shape[1], dtype) for z in zs[:-1]]  # ReLU(z) = maximum(z, 0), row by row
    onehot = np.zeros(zs[-1].shape, dtype)
    onehot[np.arange(n), np.asarray(y)] = 1
    per_row = np.empty((n, 1), dtype)
    scale = dtype.type(1 / n)
    step_size = dtype.type(lr)

    def step() -> None:
        a = x
        for i, (W, b, z) in enumerate(zip(Ws, bs, zs)):
            np.matmul(a, W, out=z)
            z += b
            if i < len(masks):
                np.greater(z, 0, out=masks[i])
                np.maximum(z, zero_rows[i], out=z)
            a = z
        d = logits_to_grad(a, onehot, per_row, scale)
        for i in reversed(range(len(Ws))):
            np.matmul((zs[i - 1] if i else x).T, d, out=dWs[i])
            np.sum(d, axis=0, out=dbs[i])
            if i:  # the input gradient of the first layer is not needed
                np.matmul(d, Ws[i].T, out=dzs[i - 1])
                dzs[i - 1] *= masks[i - 1]
                d = dzs[i - 1]
        for param, grad in zip(Ws + bs, dWs + dbs):
            grad *= step_size
            param -= grad

    return step, Ws + bs


def torch_device(be: tn.Backend) -> str | None:
    """Where PyTorch runs as the peer of ``be``: "cpu" beside NumPy, "cuda" beside CuPy (when
    PyTorch has CUDA), None when there is no such peer."""
    try:
        import torch
    except ImportError:
        return None
    if be.name == "numpy":
        return "cpu"
    if be.name == "cupy" and torch.cuda.is_available():
        return "cuda"
    return None


def torch_step(n: int, dtype: str, sizes: list[int] = MODEL, device: str = "cpu") -> Callable[[], None]:
    """PyTorch's eager training step of the same MLP (nn.Linear's default init, CrossEntropyLoss, SGD)."""
    import torch

    torch.manual_seed(0)
    tdtype = getattr(torch, dtype)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out, dtype=tdtype, device=device), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(n, sizes[0], dtype=tdtype, device=device) * 2 - 1
    y = torch.randint(0, sizes[-1], (n,), device=device)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def synchroniser(be: tn.Backend) -> Callable[[], None]:
    """Waits until the GPU has finished the work CuPy queued; on the CPU there is nothing to wait for."""
    if be.name == "cupy":
        return be.xp.cuda.Device().synchronize
    return lambda: None


def torch_synchroniser(device: str) -> Callable[[], None]:
    """The same for PyTorch's work on ``device``."""
    if device == "cuda":
        import torch

        return torch.cuda.synchronize
    return lambda: None


def timed(fn: Callable[[], None], sync: Callable[[], None], steps: int = 1) -> float:
    """Seconds per call of ``fn``, over ``steps`` calls back to back, synchronised before and
    after: steps = 1 times one step with its launch latency, more times the steady state."""
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    sync()
    return (time.perf_counter() - t) / steps


def measure(be: tn.Backend, n: int, dtype: str, repeats: int, sizes: list[int] = MODEL,
            loop: int = 0) -> dict[str, Any]:
    """Medians of the step, its bound and (on NumPy) the floor, interleaved; then PyTorch's
    step, on its own. With loop > 0, also each one's time per step over ``loop`` steps back
    to back (median of max(3, repeats // 10) such loops), as ``<name>_loop_ms``.

    PyTorch runs after, not between, tinynet's timings: its thread pool keeps spinning for a
    while after each call and, on a small machine, slows whatever runs next (measured here:
    interleaving it made tinynet's step 1.5-2x slower).
    """
    model, x, y = make_problem(be, n, dtype, sizes)
    rows: dict[str, Any] = {"n": n, "dtype": dtype}
    tinynet_group = {"step": tinynet_step(model, x, y), "bound": matmul_bound(be, model, x)}
    floor = numpy_floor(model, x, y)
    if floor is not None:
        tinynet_group["floor"] = floor[0]
    groups = [(tinynet_group, synchroniser(be))]
    device = torch_device(be)
    if device is not None:
        groups.append(({"torch": torch_step(n, dtype, sizes, device)}, torch_synchroniser(device)))
    for candidates, sync in groups:
        for fn in candidates.values():  # warm-up: allocations, BLAS threads, kernel caches
            for _ in range(3):
                fn()
        samples: dict[str, list[float]] = {name: [] for name in candidates}
        for _ in range(repeats):  # interleaved: each round times every candidate once
            for name, fn in candidates.items():
                samples[name].append(timed(fn, sync))
        if loop:
            for name in candidates:
                samples[f"{name}_loop"] = []
            for _ in range(max(3, repeats // 10)):
                for name, fn in candidates.items():
                    samples[f"{name}_loop"].append(timed(fn, sync, steps=loop))
        for name, values in samples.items():
            rows[f"{name}_ms"] = 1e3 * statistics.median(values)
    rows["step_over_bound"] = rows["step_ms"] / rows["bound_ms"]
    if "floor_ms" in rows:
        rows["floor_over_bound"] = rows["floor_ms"] / rows["bound_ms"]
        rows["step_over_floor"] = rows["step_ms"] / rows["floor_ms"]
    if "torch_ms" in rows:
        rows["step_over_torch"] = rows["step_ms"] / rows["torch_ms"]
    if "torch_loop_ms" in rows:
        rows["loop_step_over_torch"] = rows["step_loop_ms"] / rows["torch_loop_ms"]
    return rows


def machine(be: tn.Backend) -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                            "cpus": os.cpu_count(), "backend": be.name, "numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                        for d in threadpool_info() if d.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    if be.name == "cupy":
        cp = be.xp
        info["gpu"] = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        info["cupy"] = cp.__version__
    device = torch_device(be)
    if device is not None:
        import torch

        info["torch"] = f"{torch.__version__} on {device}"
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default=None, choices=tn.backend.BACKENDS)
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[100, 1000, 10000], help="batch sizes N")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--width", type=positive_int, default=MODEL[1], help="units in each of the two hidden layers")
    parser.add_argument("--inputs", type=positive_int, default=MODEL[0], help="features per example (digits: 64)")
    parser.add_argument("--classes", type=positive_int, default=MODEL[-1], help="classes (digits: 10)")
    parser.add_argument("--repeats", type=positive_int, default=30, help="timed rounds per case (median reported)")
    parser.add_argument("--loop", type=positive_int, default=None,
                        help="also time this many steps back to back (default 200 on cupy, 0: off, elsewhere)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/bench_step.json"))
    args = parser.parse_args(argv)
    if args.classes < 2:
        parser.error("--classes must be at least 2")
    if args.loop is not None and args.loop < 0:
        parser.error("--loop must be 0 (off) or a positive number of steps")
    try:
        be = tn.get_backend(args.backend)
    except (ValueError, tn.BackendUnavailableError) as e:
        parser.error(str(e).replace("backend='numpy'", "--backend numpy"))
    loop = (200 if be.name == "cupy" else 0) if args.loop is None else args.loop

    sizes = [args.inputs, args.width, args.width, args.classes]
    info = machine(be)
    print(f"model {sizes}, backend {be.name}, {info['cpus']} CPUs, BLAS {info['blas']}")
    rows = []
    header = f"{'N':>6} {'dtype':<8} {'step ms':>9} {'bound ms':>9} {'step/bound':>10}"
    if be.name == "numpy":
        header += f" {'floor ms':>9} {'floor/bound':>11} {'step/floor':>10}"
    has_torch = torch_device(be) is not None
    if has_torch:
        header += f" {'torch ms':>9} {'step/torch':>10}"
    if loop:
        header += f" {'loop ms':>8}" + (f" {'torch loop':>10} {'loop/torch':>10}" if has_torch else "")
    print(header)
    for dtype in args.dtypes:
        for n in args.sizes:
            row = measure(be, n, dtype, args.repeats, sizes, loop)
            rows.append(row)
            line = f"{n:>6} {dtype:<8} {row['step_ms']:>9.3f} {row['bound_ms']:>9.3f} {row['step_over_bound']:>10.3f}"
            if "floor_ms" in row:
                line += f" {row['floor_ms']:>9.3f} {row['floor_over_bound']:>11.3f} {row['step_over_floor']:>10.3f}"
            if "torch_ms" in row:
                line += f" {row['torch_ms']:>9.3f} {row['step_over_torch']:>10.3f}"
            if loop:
                line += f" {row['step_loop_ms']:>8.3f}"
                if "torch_loop_ms" in row:
                    line += f" {row['torch_loop_ms']:>10.3f} {row['loop_step_over_torch']:>10.3f}"
            print(line, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.out, json.dumps({"model": sizes, "machine": info, "repeats": args.repeats, "loop": loop,
                                     "results": rows}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
