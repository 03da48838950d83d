"""The flags every experiment script takes, and the seeds they name.

Any bad flag ends the script with one line that names it, and exit code 2 (argparse's
error, through tinynet.cli.Parser), before anything is trained or written.
"""
from __future__ import annotations

import argparse
import math
import pathlib
from typing import Any, Callable, Protocol, Sequence

import tinynet as tn
from experiments.harness.runner import cores
from experiments.harness.seeds import Seed, parse_seeds
from tinynet.cli import Parser, non_negative_int, positive_int
from tinynet.data import DATASETS

ROOT = pathlib.Path(__file__).resolve().parents[2]  # the repository
DEFAULT_DATASET = "xor"


class Flag:
    """One flag of a part's own, as argparse's add_argument takes it (Part 3's --cases)."""

    def __init__(self, *names: str, **options: Any) -> None:
        self.names, self.options = names, options


class Script(Protocol):
    """What a part's script declares of its command line (experiments/harness/study.py Study)."""

    script: str  # results go to runs/<script>/ by default
    description: str  # --help's text
    default_steps: int
    quick_steps: int | None  # the steps of a --quick run (None: --steps)
    default_seeds: str
    trains: bool  # False: no --steps or --lr
    flags: Sequence[Flag]  # the part's own flags


def read(part: Script, argv: Sequence[str] | None) -> argparse.Namespace:
    """The flags of a part's script: those every script takes, and the part's own. Pure, as
    ``parse``; a --quick run gets the part's own number of steps."""
    p = parser(part.description, default_steps=part.default_steps, default_seeds=part.default_seeds,
               trains=part.trains)
    for flag in part.flags:
        p.add_argument(*flag.names, **flag.options)
    args = parse(p, argv, part.script)
    if args.quick and part.quick_steps:
        args.steps = part.quick_steps
    return args


def seeds_text(text: str) -> str:
    """An argparse type: seeds as every part reads them (parse_seeds), kept as text to pass on."""
    parse_seeds(text)
    return text


def names(what: str, choices: Sequence[str], groups: dict[str, tuple[str, ...]]) -> Callable[[str], tuple[str, ...]]:
    """An argparse type for a part's own selection flag (Part 3's --cases): a group's name
    ("log", "all"), or names from ``choices`` separated by commas. ``what``: one choice, in
    the refusal."""
    def parse(text: str) -> tuple[str, ...]:
        if text in groups:
            return groups[text]
        chosen = tuple(dict.fromkeys(name.strip() for name in text.split(",")))
        unknown = [name for name in chosen if name not in choices]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(map(repr, unknown)) or repr(text)}; choose "
                                             f"{', '.join(groups)}, or names from: {', '.join(choices)}")
        return chosen

    return parse


def out_folder(text: str) -> pathlib.Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; name a folder, e.g. --out runs/mine")
    return pathlib.Path(text)


def parser(description: str, *, default_steps: int, default_seeds: str = "0-4",
           quick_seeds: str = "0-1", trains: bool = True) -> argparse.ArgumentParser:
    """The flags every script takes (--steps and --lr only where the script trains)."""
    p = Parser(description=description)
    p.add_argument("--backend", default=None, help="numpy (default), cupy or strict")
    p.add_argument("--seeds", type=parse_seeds, default=None,
                   help=f"seeds to judge every claim on, e.g. 0-9 or 0,3,7 (default {default_seeds}; "
                        f"{quick_seeds} with --quick)")
    p.add_argument("--seed", type=non_negative_int, default=None, help="one seed: the same as --seeds N")
    p.add_argument("--data-seed", type=non_negative_int, default=None,
                   help="fix the data to this seed, so that only the weights vary with --seeds")
    p.add_argument("--weight-seed", type=non_negative_int, default=None,
                   help="fix the initial weights to this seed, so that only the data varies with --seeds")
    p.add_argument("--jobs", type=positive_int, default=None,
                   help=f"worker processes for independent runs (default: the cores, {cores()} here)")
    p.add_argument("--out", type=out_folder, default=None,
                   help="output folder (default runs/<script>/, or runs/<script>-quick/ with --quick)")
    p.add_argument("--dataset", default=DEFAULT_DATASET,
                   help=f"one of {', '.join(DATASETS)} (default {DEFAULT_DATASET}; see docs/experiments_log.md)")
    if trains:
        p.add_argument("--steps", type=positive_int, default=None,
                       help=f"training steps (default {default_steps}; --quick sets its own)")
        p.add_argument("--lr", type=float, default=0.01, help="learning rate of the healthy run (default 0.01)")
    else:  # accepted and ignored would be recorded as if they had been used
        p.set_defaults(steps=None, lr=None)
    p.add_argument("--quick", action="store_true", help="a CI-sized run of the same code (seconds)")
    p.set_defaults(default_seeds=default_seeds, quick_seeds=quick_seeds, default_steps=default_steps)
    return p


def parse(p: argparse.ArgumentParser, argv: Sequence[str] | None, script: str) -> argparse.Namespace:
    """Parse and validate; any bad flag ends with one line and exit code 2 (argparse's error).
    Pure: nothing is created or locked here (the study holds its --out folder, output.hold)."""
    args = p.parse_args(argv)
    if args.steps is not None and args.quick:
        p.error("--quick sets its own number of steps; give --steps without --quick, or --quick alone")
    args.steps = args.default_steps if args.steps is None else args.steps
    if args.seed is not None and args.seeds is not None:
        p.error("give --seed N (one seed) or --seeds (several), not both")
    if args.data_seed is not None and args.weight_seed is not None:
        p.error("--data-seed and --weight-seed together leave nothing to vary; give one of them")
    if args.jobs is not None and args.jobs > cores():
        p.error(f"--jobs must be between 1 and the {cores()} cores here, got {args.jobs}")
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        p.error(f"--lr must be a positive number, got {args.lr}")
    if args.dataset not in DATASETS:
        p.error(f"unknown --dataset {args.dataset!r}; choose one of: {', '.join(DATASETS)}")
    try:
        args.be = tn.get_backend(args.backend)
    except (ValueError, tn.BackendUnavailableError) as e:
        p.error(str(e).replace("backend='numpy'", "--backend numpy"))
    if args.seed is not None:
        numbers = [args.seed]
    else:
        numbers = args.seeds or parse_seeds(args.quick_seeds if args.quick else args.default_seeds)
    args.seeds = [Seed(s, s if args.weight_seed is None else args.weight_seed,
                       s if args.data_seed is None else args.data_seed) for s in numbers]
    args.varied = ("the data" if args.weight_seed is not None else
                   "the initial weights" if args.data_seed is not None else "the initial weights and the data")
    args.jobs = args.jobs or cores()
    # A --quick run has its own folder: it never writes over a full run's results and figures.
    args.out = args.out or ROOT / "runs" / (f"{script}-quick" if args.quick else script)
    try:  # looked at, not touched: the study creates the folder (output.hold)
        a_file = args.out.exists() and not args.out.is_dir()
    except OSError as e:  # a name over the system's limit
        p.error(f"cannot write to --out {str(args.out)[:80]}: {e.strerror or e}")
    if a_file:
        p.error(f"--out {args.out} is a file, not a folder; name a folder")
    return args
