"""The report of a gradient check: one result per tensor, what its failure usually means,
and the table. Every place that shows a check (the table, the AssertionError of
tinynet.testing.assert_backward_correct, the exercise grades) renders CheckResult.report().
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class CheckResult:
    """The worst entry of one checked tensor (a parameter, or the input), and what it means.

    The one report of a check: the table, the AssertionError of
    tinynet.testing.assert_backward_correct and the exercise grades all render it with
    ``report()``.
    """

    where: str  # the layer, e.g. "layers[0] Linear(2->500)", or "input"
    param: str  # "W", "b", ...; "x" for the input gradient, "logits" for a loss's
    shape: tuple[int, ...]
    checked: int  # entries compared
    skipped: int  # entries skipped because +-h crossed a kink
    worst_index: tuple[int, ...]
    analytic: float  # backprop's value at the worst index
    numeric: float  # the centered difference there
    error: float  # relative error there: the largest over the checked entries
    tol: float
    noise_floor: float = 0.0  # eps used: below it, |a| + |n| is compared absolutely
    note: str = ""  # why no number could be compared (no gradient stored, wrong shape, ...)
    hint: str = ""  # what the failure usually means (its ratio, or its note)
    failing: int = 0  # entries whose error exceeds tol: a few near a kink, or most for a wrong formula

    @property
    def passed(self) -> bool:
        return bool(self.error <= self.tol)  # NaN fails too

    @property
    def ratio(self) -> float:
        """backprop / finite difference at the worst entry: -1 is a flipped sign, N a missing 1/N."""
        if self.note:
            return math.nan
        return self.analytic / self.numeric if self.numeric != 0 else math.inf

    @property
    def gradient(self) -> str:
        """The gradient's name as a learner reads it: dL/dx, dL/dlogits (or a loss's own input,
        dL/dpred), or the layer's dW."""
        if self.where == "input":
            return "dL/dx (the value backward returned)" if self.param == "x" else f"dL/d{self.param}"
        return f"{self.where}: d{self.param}"

    def report(self) -> str:
        """One line (two with a hint): the verdict, the gradient, its worst entry, both values
        and their ratio."""
        head = f"{'ok' if self.passed else 'FAIL'}: {self.gradient}"
        if self.note:
            return f"{head}: {self.note}" + (f" ({self.hint})" if self.hint and not self.passed else "")
        compared = "<=" if self.passed else ">"
        text = (f"{head} {self.shape}: worst entry at index {self.worst_index}: backprop {self.analytic:.8g}, finite "
                f"difference {self.numeric:.8g}, ratio backprop / finite difference {self.ratio:.4g} (relative "
                f"error {self.error:.2e} {compared} tol {self.tol:.0e}; {self.checked} entries checked, "
                f"{self.skipped} skipped at kinks, noise floor {self.noise_floor:.1e})")
        return text + (f"\n      hint: {self.hint}" if self.hint and not self.passed else "")

    __str__ = report


LARGE_H = 1e-4  # a step above this is the user's choice, not the default's (1e-5)


def with_hint(r: CheckResult, n_rows: int, kinks_declared: bool, ignores_dout: bool = False,
              upstream: float | None = None, h: float = 0.0) -> CheckResult:
    """The result with what its failure usually means: from its note, from a backward that
    ignores dout (found by doubling it), from its ratio, or from how many entries disagree.

    upstream: for a loss, the dL_total/dloss the checker sent (a random number, not 1).
    h:        the step used: a large one fails a right backward by the difference's own error.
    """
    if r.passed:
        return r
    # A centred difference is off by about h^2 (times the function's third derivative): with
    # h = 1e-2 that is 1e-4, far above tol = 1e-6, and a right backward fails by a ratio near 1.
    if not r.note and h > LARGE_H and abs(r.ratio - 1) <= 100 * h * h:
        return replace(r, hint=(f"h = {h:g} is too large for tol = {r.tol:.0e}: the finite difference itself is off "
                                f"by about h^2 = {h * h:.0e} (relative), so even a right backward fails; use the "
                                f"default h (1e-05), or a tol above h^2"))
    if "stored no gradient" in r.note:
        hint = f"backward must store it: self.d{r.param} = ..."
    elif r.note:
        hint = ""
    elif ignores_dout and upstream is not None:
        hint = (f"backward ignores dout: the checker sends dL_total/dloss = {upstream:.4g}, not 1, and backward "
                f"returned the same gradient when it was doubled; multiply by dout (the loss is rarely the last step)")
    elif ignores_dout:
        hint = ("backward ignores dout: it returned the same dL/dx when dout was doubled; the chain rule multiplies "
                "the layer's own slope by dout")
    else:
        hint = ratio_hint(r.ratio, n_rows)
        few = r.failing <= max(1, r.checked // 3)  # a kink spoils the few entries within h of it
        if not hint and few and not kinks_declared:
            hint = ("if the layer has a kink (as ReLU has at 0) and x comes within h = 1e-5 of it, the finite "
                    "difference straddles two branches: store the branch each entry took as self.mask (a bool "
                    "array) in forward and declare it in the class (kink = \"mask\"), and the checker skips the "
                    "entries whose steps cross it")
        elif not hint and not few:
            hint = (f"{r.failing} of {r.checked} entries disagree, not a few near a kink: the formula itself is off "
                    f"(a factor or a term missing)")
    return replace(r, hint=hint)


def ratio_hint(ratio: float, n: int) -> str:
    """What a ratio backprop / finite difference usually means, for a batch of n rows."""
    def near(target: float) -> bool:
        return math.isfinite(ratio) and abs(ratio - target) <= 0.02 * abs(target)

    if near(-1.0):
        return "a ratio of -1: a sign is flipped"
    if n > 1 and near(float(n)):
        return f"a ratio of N = {n}: a 1/N (the batch mean) is missing"
    if n > 1 and near(1.0 / n):
        return f"a ratio of 1/N = 1/{n}: divided by N once too often (or a mean where a sum belongs)"
    if near(2.0) or near(0.5):
        return f"a ratio of {ratio:.3g}: a factor of 2 is off"
    if ratio == 0:
        return "backprop is 0 where the gradient is not: a term or a branch is missing"
    return ""


def format_table(results: list[CheckResult], title: str = "") -> str:
    """The results as an aligned text table, one row per checked tensor, each failure's
    report under its row.

    checked: entries compared / entries in the tensor; kinks: entries skipped at a kink;
    noise: the noise floor, below which entries are compared absolutely.
    title: a line above the table, naming what was checked.
    """
    header = (f"{'layer':<28} {'grad':<7} {'shape':<12} {'checked':>11} {'kinks':>5} "
              f"{'noise':>7} {'worst rel. err':>14} {'tol':>7}  result")
    if not (isinstance(results, list) and all(isinstance(r, CheckResult) for r in results)):
        raise TypeError(f"format_table takes the list of results of a check (check_layer, check_loss, ...), "
                        f"got {type(results).__name__}")
    if not isinstance(title, str):
        raise TypeError(f"format_table: title must be a string (a line above the table), got {type(title).__name__}")
    rows = ([title] if title else []) + [header, "-" * len(header)]
    for r in results:
        checked = f"{r.checked}/{int(np.prod(r.shape))}"
        rows.append(
            f"{r.where:<28} {'d' + r.param:<7} {str(r.shape):<12} {checked:>11} {r.skipped:>5} "
            f"{r.noise_floor:>7.0e} {r.error:>14.2e} {r.tol:>7.0e}  {'ok' if r.passed else 'FAIL'}"
        )
        if not r.passed:
            rows.append(f"    {r.report()}")
    return "\n".join(rows)
