"""How measured numbers become verdicts: thresholds, predicates, and the one rule across seeds.

No I/O: this is what docs/experiments_log.md quotes. The thresholds turn the log's words
into numbers; they were fixed before the full runs, from what the words mean, and are never
adjusted to obtain a verdict.

Every claim is judged on each seed separately (a ``Verdict``), then across seeds by one rule
(``overall_verdict``): a verdict about training that rests on one seed is an anecdote, since
a run's fate can hang on its initial weights.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

from experiments.harness.seeds import Seed
from tinynet.doctor.thresholds import FLAT  # "the loss remained flat": it fell by less than 10% of its start
from tinynet.metrics import fell

# --- Thresholds: the meaning of the log's words, in numbers ---------------------------------
# "loss at init close to ln C" (ln 2 for two classes): |loss - ln C| <= 0.05. Absolute, not a
# share of ln C: the gap comes from the spread of the initial logits, whatever C is.
LN2_TOLERANCE = 0.05
NEAR_ZERO_LOSS = 0.05  # "near-zero training loss": final loss <= 0.05
CONVERGED_LOSS = 0.10  # "converged" (Part 4 and the width sweep): training loss <= 0.10
IMMEDIATE_STEPS = 100  # "diverged immediately": within the first 100 steps
# "Loss remained flat": FLAT (imported above: tinynet's own reading of flat, the doctor's too).
# "Loss remained high": it ended above CONVERGED_LOSS while the healthy model, same seeds and
# steps, ended at or below it. Either one ("high or flat") is "stopped learning effectively".
NEAR_BASELINE = 0.05  # "close to the baseline": within 5 accuracy points of the majority class
TIME_GROWTH = 2.0  # "time per step increased significantly": >= 2x from N = 100 to N = 1000
# Part 3's cases beyond the log: predictions, fixed before any of them was run.
MEMORISED_GAP = 0.25  # "memorised, not learned": train accuracy >= 25 points above validation accuracy
THRESHOLDS = ("LN2_TOLERANCE", "NEAR_ZERO_LOSS", "CONVERGED_LOSS", "IMMEDIATE_STEPS", "FLAT",
              "NEAR_BASELINE", "TIME_GROWTH", "MEMORISED_GAP")

VERDICT_RULE = ("A claim is judged on each seed by the thresholds below, then across seeds: *reproduced* when "
                "it reproduced on every seed judged, *not reproduced* when on none, and *reproduced in k of n "
                "seeds* otherwise. A seed whose runs were cut short (Ctrl-C) is not judged, and is named.")
INTERVAL_MEANING = ("Each k/n comes with a 95% Wilson score interval for the share of seeds on which the claim "
                    "holds: the range of shares that k of n seeds is consistent with, at 95% confidence. Few seeds "
                    "say little: 2 of 5 fits any share from 12% to 77%, 5 of 5 any share above 57%.")
Z95 = 1.959963984540054  # the standard normal's 97.5th percentile: a two-sided 95% interval


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a share, from k successes in n trials (95% by default).

    Unlike k/n +- z sqrt(p(1-p)/n), it stays inside [0, 1] and is not empty at k = 0 or
    k = n: 0 of 5 still allows a share up to 43%. (0, 1) when nothing was judged.
    """
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def interval_text(k: int, n: int) -> str:
    """"95% CI 12-77%": the interval of k of n, as printed everywhere."""
    low, high = wilson_interval(k, n)
    return f"95% CI {low * 100:.0f}-{high:.0%}"


def k_of_n(k: int, n: int) -> str:
    """"2/5 (95% CI 12-77%)": k of n with its interval, as printed and tabled everywhere."""
    return f"{k}/{n} ({interval_text(k, n)})"


class Verdict(NamedTuple):
    """One seed's verdict on one claim, from that seed's numbers."""

    measured: dict[str, Any]  # the numbers the verdict rests on, with the thresholds it used
    reproduced: bool
    explanation: str  # the seed's story, every number taken from ``measured``
    cause: str = ""  # the cause in one sentence, where the claim has one (printed under its k/n)


class Judged(NamedTuple):
    """One claim judged on every seed whose runs finished: what figures draw from."""

    per_seed: dict[Seed, Verdict]
    cut_short: tuple[Seed, ...] = ()  # seeds among them whose runs were interrupted: shown, not counted

    @property
    def counted(self) -> list[Seed]:
        return [s for s in self.per_seed if s not in self.cut_short]

    @property
    def k(self) -> int:
        """On how many counted seeds it reproduced."""
        return sum(bool(self.per_seed[s].reproduced) for s in self.counted)

    @property
    def n(self) -> int:
        return len(self.counted)

    def shown(self) -> Seed:
        """The seed a figure or a cause sentence shows: the first counted seed where it
        happened, else the first seed."""
        return next((s for s in self.counted if self.per_seed[s].reproduced), next(iter(self.per_seed)))


def overall_verdict(k: int, n: int) -> str:
    """The one rule that turns k reproducing seeds out of n judged into a verdict."""
    if n == 0:
        return "not judged"
    if k == n:
        return "reproduced"
    if k == 0:
        return "not reproduced"
    return f"reproduced in {k} of {n} seeds"


def across_seeds(id: str, log_says: str, per_seed: dict[Seed, Verdict], cut_short: Sequence[Seed] = (),
                 key: str | None = None, why: str | None = None, cause: str | None = None) -> dict[str, Any]:
    """One claim over every seed: the per-seed verdicts, k of n, and the overall verdict.

    per_seed:  {seed: Verdict} for every seed whose runs could be judged.
    cut_short: seeds among them whose runs were interrupted: kept in per_seed, not counted.
    key:       the measured number that the summary sentence quotes per seed.
    why:       the claim's own sentence across seeds; by default, which seeds did and did not.
    cause:     the cause in one sentence, from one seed's numbers (kept as "cause" where given).
    """
    j = Judged(per_seed, tuple(cut_short))
    judged, k, n = j.counted, j.k, j.n
    entries = [{"seed": s.seed, "weight_seed": s.weights, "data_seed": s.data, "interrupted": s in cut_short,
                "measured": v.measured, "reproduced": bool(v.reproduced), "explanation": v.explanation}
               for s, v in per_seed.items()]
    if why is None:
        why = which_seeds(per_seed, judged, key)
    if cut_short:
        why += f" Not judged: seed{'s' * (len(cut_short) > 1)} {_list(s.seed for s in cut_short)} (interrupted)."
    claim = {"id": id, "log_says": log_says, "measured": collect(per_seed[s].measured for s in judged),
             "reproduced": k == n if n else None,  # None: judged on no seed, neither reproduced nor refuted
             "reproduced_in": k, "seeds": n, "interval": list(wilson_interval(k, n)),
             "verdict": overall_verdict(k, n), "explanation": why, "per_seed": entries}
    return claim if cause is None else {**claim, "cause": cause}


NOT_JUDGED_AT_LENGTH = "not judged at this length"


def not_judged_at_length(id: str, log_says: str, per_seed: dict[Seed, Verdict], steps: int,
                         full_steps: int, cut_short: Sequence[Seed] = ()) -> dict[str, Any]:
    """A claim whose thresholds were set for runs of ``full_steps``, on runs of ``steps``: its
    numbers are kept, and no verdict is given (a loss that has not converged after a few
    hundred steps says nothing about one that should converge by 5,000)."""
    entries = [{"seed": s.seed, "weight_seed": s.weights, "data_seed": s.data, "interrupted": s in cut_short,
                "measured": v.measured, "reproduced": None, "explanation": v.explanation}
               for s, v in per_seed.items()]
    why = (f"Its thresholds are set for runs of {full_steps:,} steps; these ran {steps:,} (for a verdict, run without "
           f"--quick, or with --steps {full_steps:,} or more). Numbers kept in results.json.")
    if cut_short:
        why += f" Seed{'s' * (len(cut_short) > 1)} {_list(s.seed for s in cut_short)} interrupted."
    return {"id": id, "log_says": log_says, "measured": collect(v.measured for v in per_seed.values()),
            "reproduced": None, "reproduced_in": 0, "seeds": 0, "interval": [0.0, 1.0],
            "verdict": NOT_JUDGED_AT_LENGTH, "explanation": why, "per_seed": entries}


def which_seeds(per_seed: dict[Seed, Verdict], judged: Sequence[Seed], key: str | None) -> str:
    """"Reproduced on seeds 1, 3 (final_loss 0.36, 0.53); not on seeds 0, 2, 4 (...)."""
    def group(seeds: list[Seed]) -> str:
        text = f"seed{'s' * (len(seeds) > 1)} {_list(s.seed for s in seeds)}"
        if key is not None:
            text += f" ({key} {_list(fmt(per_seed[s].measured[key]) for s in seeds)})"
        return text

    yes = [s for s in judged if per_seed[s].reproduced]
    no = [s for s in judged if not per_seed[s].reproduced]
    if not judged:
        return "No seed could be judged."
    if len(judged) == 1:
        return per_seed[judged[0]].explanation
    if not no:
        return f"Reproduced on every seed: {group(yes)}."
    if not yes:
        return f"Reproduced on no seed: {group(no)}."
    return f"Reproduced on {group(yes)}; not on {group(no)}."


def collect(measured: Any) -> dict[str, Any]:
    """Per-seed measured dicts -> {name: [value per seed]}; a value equal on every seed once."""
    measured = list(measured)
    if len(measured) == 1:
        return dict(measured[0])
    out = {}
    for name in measured[0] if measured else ():
        values = [m.get(name) for m in measured]
        out[name] = values[0] if all(v == values[0] for v in values) else values
    return out


def fmt(v: Any) -> str:
    """A measured value, short: floats to 4 significant digits, lists and dicts inline."""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    return str(v)


def _list(items: Any) -> str:
    return ", ".join(str(i) for i in items)


# --- Predicates: pure functions of measured numbers (unit-tested on synthetic histories) -----
def loss_close_to_ln_c(loss: float, classes: int) -> bool:
    """The loss of a model that gives each of C classes about 1/C: close to ln C."""
    return abs(loss - math.log(classes)) <= LN2_TOLERANCE


def near_zero(final_loss: float) -> bool:
    return math.isfinite(final_loss) and final_loss <= NEAR_ZERO_LOSS


def diverged_immediately(diverged_at: int | None) -> bool:
    return diverged_at is not None and diverged_at <= IMMEDIATE_STEPS


def stable(diverged_at: int | None, losses: Sequence[float]) -> bool:
    """No divergence, and the loss ended lower than it started."""
    return diverged_at is None and len(losses) > 1 and losses[-1] < losses[0]


def stayed_flat(losses: Sequence[float]) -> bool:
    """The loss fell by less than FLAT of its start (or rose)."""
    return fell(losses) < FLAT


def stayed_high(final_loss: float, healthy_final_loss: float) -> bool:
    """Not converged, where the healthy model with the same seeds and steps converged."""
    return converged(healthy_final_loss) and not converged(final_loss)


def stopped_learning(losses: Sequence[float], healthy_final_loss: float) -> bool:
    """The log's "stopped learning effectively, and the loss remained high or flat"."""
    return stayed_flat(losses) or stayed_high(losses[-1], healthy_final_loss)


def wider_is_faster(steps_by_width: dict[int, int | None]) -> bool:
    """Each wider model reaches the threshold in fewer steps (None: never reached)."""
    widths = sorted(steps_by_width)
    reached = [steps_by_width[w] if steps_by_width[w] is not None else math.inf for w in widths]
    return all(b < a for a, b in zip(reached, reached[1:])) and reached[-1] < math.inf


def converged(final_loss: float) -> bool:
    return math.isfinite(final_loss) and final_loss <= CONVERGED_LOSS


def near_baseline(val_acc: float, baseline: float) -> bool:
    return abs(val_acc - baseline) <= NEAR_BASELINE


def time_grows(ms_small: float, ms_large: float) -> bool:
    return ms_large >= TIME_GROWTH * ms_small
