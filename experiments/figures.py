"""The experiments' own figures: Part 3's seed study and Part 4's diagnosis. Drawn from host
data only, saved through tinynet.plots.save (whole or absent, 0644)."""
from __future__ import annotations

import pathlib
import textwrap
from typing import Any, Sequence

import numpy as np

from tinynet.plots import plt, save


def seed_study(*, seeds: Sequence[int], healthy: Sequence[float], relu_last: Sequence[float],
               floors: Sequence[float], stalled: Sequence[bool], dead: Sequence[int],
               stranded_at_init: Sequence[float], study: Sequence[float], dead_share: float,
               path: pathlib.Path, stall_rate: str = "") -> None:
    """Left: final loss per seed, healthy vs ReLU last, with the floor that stranded examples
    put under the ReLU-last loss. Right: the share of examples stranded at initialisation over
    many initialisations, with each trained seed marked where it started."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    x = np.arange(len(seeds))
    left.plot(x - 0.12, healthy, "o", color="#3182bd", label="healthy: final loss")
    colors = ["#d62728" if s else "#2ca02c" for s in stalled]
    left.scatter(x + 0.12, relu_last, marker="s", c=colors, zorder=3,
                 label="ReLU last: final loss (red: stalled, green: learned)")
    above = np.asarray(floors) > 0  # a floor of 0 (nothing stranded) has no place on a log axis
    left.hlines(np.asarray(floors)[above], x[above] - 0.3, x[above] + 0.3, colors="k", lw=1.5,
                label="floor: ln 2 x share of examples stranded")
    for xi, (loss, d) in enumerate(zip(relu_last, dead)):
        if d:
            left.annotate(f"{d} unit dead" if d == 1 else f"{d} units dead", (xi + 0.12, loss),
                          textcoords="offset points", xytext=(6, 4), fontsize=8)
    left.set_yscale("log")
    top = max(max(relu_last), max(healthy))
    left.set_ylim(top=top * 2)  # room above the highest point for its label
    left.set_xticks(x, [str(s) for s in seeds])
    left.set_xlabel("seed")
    left.set_ylabel("training loss (log scale)")
    left.set_title(f"Final loss per seed\n{stall_rate}" if stall_rate else "Final loss per seed", fontsize=10)
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below: no point hidden
    left.grid(alpha=0.3)

    right.hist(study, bins=20, range=(0, 1), color="#bdbdbd", label=f"{len(study)} initialisations")
    for share, s in zip(stranded_at_init, stalled):
        right.axvline(share, color="#d62728" if s else "#2ca02c", lw=1.5)
    median = float(np.median(study))
    right.axvline(median, color="k", ls=":", lw=1.2, label=f"median initialisation: {median:.0%} stranded")
    right.plot([], [], color="#d62728", label="trained seed that stalled")
    right.plot([], [], color="#2ca02c", label="trained seed that learned")
    right.set_xlabel("share of examples whose own logit starts <= 0 (stranded)")
    right.set_ylabel("initialisations")
    right.set_title(f"Before training: {dead_share:.0%} of initialisations\nstart with an output unit dead",
                    fontsize=10)
    right.legend(fontsize=7)
    save(fig, path)


def diagnosis(rows: dict[str, dict[str, Any]], log_accuracy: float, title: str, path: pathlib.Path) -> None:
    """One bar per run: its final validation accuracy, its majority baseline as a black tick,
    hatched where training did not converge; the log's accuracy as a dashed line."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    x = np.arange(len(rows))
    for xi, r in zip(x, rows.values()):
        like = r["like_the_log"]
        ax.bar(xi, r["final_val_accuracy"], color="#d62728" if like else "#9ecae1",
               hatch=None if r["converged"] else "//", edgecolor="k", lw=0.5)
        ax.hlines(r["majority_baseline"], xi - 0.4, xi + 0.4, colors="k", lw=2)
    ax.axhline(log_accuracy, color="gray", ls="--", lw=1, label=f"the log: about {log_accuracy:.0%}")
    ax.hlines([], 0, 0, colors="k", lw=2, label="majority baseline")
    ax.bar([0], [0], color="white", hatch="//", edgecolor="k", lw=0.5, label="did not converge")
    ax.bar([0], [0], color="#d62728", label="the log's picture")
    ax.set_xticks(x, [textwrap_label(k) for k in rows], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("final validation accuracy")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3, axis="y")
    save(fig, path)


def textwrap_label(text: str, width: int = 14) -> str:
    return "\n".join(textwrap.wrap(text, width))


def case_figure(*, title: str, losses: dict[str, Sequence[float]], marks: dict[str, int | None],
                lines: dict[str, tuple[Sequence[int], Sequence[float]]], ylabel: str,
                level: tuple[float, str] | None,
                logy: bool, path: pathlib.Path) -> None:
    """A case of Part 3: left, the training loss of the healthy and the broken run (log scale,
    an x where a run diverged); right, the case's mechanism over the steps."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, loss in losses.items():
        loss = np.asarray(loss, dtype=float)
        finite = np.where(np.isfinite(loss) & (loss > 0), loss, np.nan)
        left.plot(np.arange(len(loss)), finite, label=label, lw=1.2)
        step = marks.get(label)
        if step is not None and np.isfinite(np.nanmax(finite[: step + 1])):
            left.plot([step], [np.nanmax(finite[: step + 1])], "kx", ms=9, label=f"{label}: diverged at step {step}")
    left.set_yscale("log")
    left.set_xlabel("step")
    left.set_ylabel("training loss (log scale)")
    left.legend(fontsize=7)
    left.grid(alpha=0.3)
    for label, (xs, ys) in lines.items():
        ys = np.asarray(ys, dtype=float)
        right.plot(xs, np.where(np.isfinite(ys), ys, np.nan), "o-" if len(ys) <= 3 else "-", label=label, lw=1.2)
    if level is not None:
        right.axhline(level[0], color="gray", ls="--", lw=1, label=level[1])
    if logy:
        right.set_yscale("log")
    else:
        right.set_ylim(bottom=min(0.0, right.get_ylim()[0]))  # a spread of 1e-8 shows as the 0 it is
        right.ticklabel_format(axis="y", useOffset=False)
    right.set_xlabel("step")
    right.set_ylabel(ylabel)
    right.legend(fontsize=7)
    right.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    save(fig, path)
