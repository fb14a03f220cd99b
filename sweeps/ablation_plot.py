"""The figure of the ablation path: each step's value over its seeds, coloured by mode (no study access)."""

from __future__ import annotations

from typing import Any

import numpy as np


def path_figure(path_runs, ax=None) -> Any:
    """Draw the ablation path: one column per step, the question's config on the left, the target config on
    the right; a dot per seed (value, log scale), coloured by its mode; the median joined step to step.

    Parameters
    ----------
    path_runs : DataFrame with step, label, repeat, value, mode (``Explanation.path_runs``).
    ax : a matplotlib Axes; a new figure when None.

    Returns
    -------
    The Axes drawn on.
    """
    from sweeps.plots import MODE_COLORS, new_figure

    if ax is None:
        _, ax = new_figure(max(6.0, 0.9 * path_runs["step"].nunique() + 2), 4.2)
    steps = sorted(path_runs["step"].unique())
    labels = [path_runs.loc[path_runs["step"] == s, "label"].iloc[0] for s in steps]
    seen = set()
    for s in steps:
        runs = path_runs[path_runs["step"] == s].sort_values("repeat")
        spread = np.linspace(-0.18, 0.18, len(runs)) if len(runs) > 1 else np.zeros(1)
        for dx, (_, r) in zip(spread, runs.iterrows()):
            color = MODE_COLORS.get(r["mode"], "#000000")
            ax.scatter(s + dx, r["value"], color=color, s=36, edgecolor="white", linewidth=0.5, zorder=3,
                       label=None if r["mode"] in seen else r["mode"])
            seen.add(r["mode"])
    medians = path_runs.groupby("step")["value"].median().reindex(steps)
    ax.plot(steps, medians.to_numpy(), color="#333333", linewidth=1.2, marker="_", markersize=18, zorder=2,
            label="median")
    ax.set_yscale("log")
    ax.set_xticks(steps)
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("question's config → one change at a time (greedy) → target config")
    ax.set_ylabel("validation MSE / var(y)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax
