"""Part 4's own figure: the diagnosis, one bar per change tried. Drawn from host data only,
saved through tinynet.plots.save (whole or absent, 0644)."""
from __future__ import annotations

import pathlib
import textwrap
from typing import Any

import numpy as np

from tinynet.plots import plt, save


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
