"""python -m tinynet.gradcheck: check every gradient of the model [2, 500, 500, 2].

Every entry of every parameter is checked, except the 500x500 matrix of the middle layer,
of which a random sample is (--samples entries, 1000 by default: checking all 250,000
would take minutes and add nothing a sample does not show). The input gradient is checked
too. Prints a table; exits 1 if any error exceeds its tolerance.
"""
from __future__ import annotations

import numpy as np

from .. import backend as backend_module
from ..cli import Parser, non_negative_int, positive_int, run
from ..losses import SoftmaxCrossEntropy
from ..model import create_model
from . import H, TOL, check_model, format_table

SIZES = [2, 500, 500, 2]


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="python -m tinynet.gradcheck",
        description="Finite-difference check (float64, centered) of every gradient of the "
        "seed model [2, 500, 500, 2] with softmax cross-entropy.",
    )
    parser.add_argument("--backend", choices=backend_module.BACKENDS, default=None,
                        help="array backend (default: $TINYNET_BACKEND or numpy)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the model and the data (default 0)")
    parser.add_argument("--batch", type=positive_int, default=16, help="examples in the batch (default 16)")
    parser.add_argument("--samples", type=positive_int, default=1000,
                        help="entries checked per tensor larger than this (default 1000)")
    args = parser.parse_args(argv)
    try:
        be = backend_module.get_backend(args.backend)
    except (ValueError, backend_module.BackendUnavailableError) as e:
        parser.error(str(e).replace("backend='numpy'", "--backend numpy"))

    if args.batch * SIZES[0] * 8 > 2 ** 34:  # 16 GiB of float64 inputs, before the model's own arrays
        parser.error(f"--batch {args.batch} would need {args.batch * SIZES[0] * 8 / 2 ** 30:,.0f} GiB for the inputs "
                     f"alone, and as much again per hidden layer; try a batch of at most a few thousand")
    rng = np.random.default_rng(args.seed)
    model = create_model(SIZES, seed=args.seed, backend=be)
    x = be.asarray(rng.uniform(-1.0, 1.0, size=(args.batch, SIZES[0])), dtype="float32")
    y = be.asarray(rng.integers(0, SIZES[-1], size=args.batch))
    print(f"gradient check of {model!r}")
    print(f"backend {be.name}, seed {args.seed}, batch {args.batch}; float64, centered "
          f"differences with h = {H:g}; tensors over {args.samples} entries are sampled")
    results = check_model(model, x, y, SoftmaxCrossEntropy(), seed=args.seed, max_entries=args.samples)
    print(format_table(results))
    failed = [r for r in results if not r.passed]
    worst = max(r.error for r in results)
    if failed:
        print(f"FAILED: {len(failed)} of {len(results)} gradients exceed tolerance {TOL:g} "
              f"(worst relative error {worst:.2e})")
        return 1
    print(f"all {len(results)} gradients agree: worst relative error {worst:.2e} <= {TOL:g}")
    return 0


if __name__ == "__main__":
    run(main)
