"""The counterfactual analysis's figure: the ablation path from the question's config to the fixed
one, a dot per seed (:func:`ablation_path`)."""

from __future__ import annotations

from sweeps.report.figures.parts import (
    added,
    ax_or_current,
    drawable,
    log_y,
    mode_handles,
    seaborn,
    themed,
    titled_line,
)
from sweeps.report.hover import titled
from sweeps.report.style import BEST_FIRST, MODE_PALETTE, OBJECTIVE_LABEL, fmt


@themed
def ablation_path(path_runs, ax=None):
    """The ablation path: a column per step, from the question's config to the fixed one, a dot
    per seed (value, log scale) in its mode's colour, the medians joined.

    Parameters
    ----------
    path_runs : a frame with one row per run: ``step`` (the columns' order), ``label`` (a step's
        name), ``repeat`` (the seed), ``value`` and ``mode``, as ``sweeps.explain(...).path_runs``
        gives it.
    ax : matplotlib Axes, optional. Default: pyplot's current Axes.

    Returns
    -------
    The Axes. A value with no place on a log axis is left out.
    """
    ax = ax_or_current(ax)
    steps = sorted(path_runs["step"].unique())
    column = {s: i for i, s in enumerate(steps)}
    labels = [str(path_runs.loc[path_runs["step"] == s, "label"].iloc[0]) for s in steps]
    runs = path_runs[drawable(path_runs["value"])].sort_values(["step", "repeat"], kind="stable")
    runs = runs.assign(value=runs["value"].astype(float), mode=runs["mode"].astype(str))
    seeds = runs.groupby("step")["repeat"].rank(method="first") - 1
    width = runs.groupby("step")["repeat"].transform("size").clip(lower=2) - 1
    # seeds side by side
    runs = runs.assign(at=runs["step"].map(column) - 0.18 + 0.36 * seeds / width)
    ax.set_xlabel(
        "question's config \u2192 one change at a time (greedy) \u2192 your config, fixed"
    )
    ax.set_ylabel(OBJECTIVE_LABEL)
    log_y(ax)
    if len(runs):
        medians = (
            runs.groupby("step", as_index=False)["value"]
            .median()
            .assign(at=lambda f: f["step"].map(column))
        )
        titled_line(
            ax,
            medians,
            "at",
            "value",
            "the median of each step",
            color="#333333",
            lw=1.2,
            marker="_",
            markersize=18,
            markeredgewidth=1.6,
            zorder=2,
        )
        before = len(ax.collections)
        present = [m for m in BEST_FIRST if (runs["mode"] == m).any()]
        seaborn().scatterplot(
            runs,
            x="at",
            y="value",
            hue="mode",
            hue_order=present,
            palette=MODE_PALETTE,
            s=40,
            edgecolor="white",
            linewidth=0.5,
            legend=False,
            ax=ax,
            zorder=3,
        )
        titled(
            added(ax.collections, before)[0],
            [
                f"{labels[column[s]]}, seed {r}: {fmt(v)} ({m})"
                for s, r, v, m in zip(runs["step"], runs["repeat"], runs["value"], runs["mode"])
            ],
        )
        ax.legend(
            handles=mode_handles(present),
            loc="best",
            fontsize=8,
            title="mode of a seed",
            title_fontsize=8,
        )
    ax.set_xticks(range(len(steps)), labels, rotation=30, ha="right")
    ax.set_xlim(-0.5, len(steps) - 0.5)
    return ax
