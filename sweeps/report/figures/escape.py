"""The share of trials that escaped in each cell of two binned settings: one heatmap
(:func:`escape_heatmap`), or one panel per value of a third setting (:func:`escape_heatmaps`)."""

from __future__ import annotations

import numpy as np

from sweeps.report.figures.parts import TITLE_Y, added, ax_or_current, panels, seaborn, themed
from sweeps.report.hover import titled
from sweeps.report.layout import axis_room, place
from sweeps.report.style import EMPTY_CELL, escape_cmap, trials_text


def escape_cells(settings, x: str, y: str):
    """(share that escaped, trials) of each cell of two binned settings (``settings_frame`` columns
    ``x`` and ``y``), as two frames with the largest ``y`` bin in the first row (the top of a
    heatmap)."""
    grouped = settings.groupby([y, x], observed=False)["escaped"]
    rate = grouped.mean().unstack(x).iloc[::-1]
    count = grouped.size().unstack(x).reindex_like(rate).fillna(0).astype(int)
    return rate, count


@themed
def escape_heatmap(
    settings,
    x: str,
    y: str,
    ax=None,
    *,
    cbar: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
    cbar_ax=None,
):
    """The share of trials that escaped (mode fit) in each cell of two binned settings.

    Parameters
    ----------
    settings : :func:`sweeps.results.frames.settings_frame`.
    x, y : the settings along the columns and the rows (the smallest ``y`` bin at the bottom).
    ax : matplotlib Axes, optional. Default: pyplot's current Axes.
    cbar : draw the colour scale.
    xlabel, ylabel : axis labels; default the settings' names.
    cbar_ax : the Axes of the colour scale; default room taken from ``ax``.

    Returns
    -------
    The Axes: each cell reads "share / n=trials"; a cell no trial fell in is grey.
    """
    ax = ax_or_current(ax)
    rate, count = escape_cells(settings, x, y)
    n = count.to_numpy()
    annot = np.where(
        n > 0,
        [[f"{r:.0%}\nn={k}" for r, k in zip(rs, ks)] for rs, ks in zip(rate.to_numpy(), n)],
        "",
    )
    before = len(ax.collections)
    seaborn().heatmap(
        rate.astype(float),
        mask=n == 0,
        annot=annot,
        fmt="",
        cmap=escape_cmap(),
        vmin=0,
        vmax=1,
        linewidths=0.5,
        linecolor="white",
        cbar=cbar,
        ax=ax,
        cbar_ax=cbar_ax,
        annot_kws={"fontsize": 7.5},
        xticklabels=[str(c) for c in rate.columns],
        yticklabels=[str(i) for i in rate.index],
        cbar_kws={"label": "share that escaped (fit)", "format": "{x:.0%}"},
    )
    mesh = added(ax.collections, before)[0]
    titled(
        mesh,
        [
            f"{y} {yv}, {x} {xv}: "
            + (f"{rate.loc[yv, xv]:.0%} of {trials_text(k)} escaped" if k else "no trial")
            for yv, ks in zip(rate.index, n)
            for xv, k in zip(rate.columns, ks)
        ],
    )
    ax.set_xlabel(xlabel or x)  # after seaborn's heatmap, which names the axes after the columns
    ax.set_ylabel((ylabel or y).replace(": ", ":\n", 1))  # a long setting's title on two lines
    ax.set_facecolor(EMPTY_CELL)
    ax.grid(False)
    ax.tick_params(axis="x", rotation=30)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.tick_params(axis="y", rotation=0)
    return ax


@themed
def escape_heatmaps(
    settings,
    x: str,
    y: str,
    col: str | None = None,
    fig=None,
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
):
    """:func:`escape_heatmap` in one panel per value of ``col`` that some trial has, with one colour
    scale.

    Parameters
    ----------
    settings : :func:`sweeps.results.frames.settings_frame`.
    x, y : the settings along each panel's columns and rows.
    col : the setting whose values split the panels; None: one panel.
    fig : matplotlib Figure, optional, cleared and sized to the panels. Default: a new pyplot
        figure.
    xlabel, ylabel : axis labels; default the settings' names.

    Returns
    -------
    The Figure.
    """
    values = (
        [None]
        if col is None
        else [v for v in settings[col].cat.categories if (settings[col] == v).any()]
    )
    panel = max(3.0, 0.55 * len(settings[x].cat.categories) + 1.0)
    width = min(12.0, panel * len(values) + 1.6)
    fig, axes = panels(
        fig,
        width,
        0.42 * len(settings[y].cat.categories) + 2.1,
        ncols=len(values),
        squeeze=False,
        sharey=True,
    )
    scale = fig.add_axes((0, 0, 1, 1))  # the colour scale's, placed beside the last panel below
    for i, (ax, value) in enumerate(zip(axes.flat, values)):
        part = settings if value is None else settings[settings[col] == value]
        last = i == len(values) - 1
        escape_heatmap(
            part,
            x,
            y,
            ax=ax,
            cbar=last,
            xlabel=xlabel,
            ylabel=ylabel,
            cbar_ax=scale if last else None,
        )
        if value is not None:
            ax.set_title(f"{col}={value}  ({trials_text(len(part))})", fontsize=10, y=TITLE_Y)
        if i:
            ax.set_ylabel("")
            ax.tick_params(axis="y", labelleft=False)
    gap, bar = 0.12, 0.15  # inches from the last panel to the scale, and its width
    # the panels apart as far as their turned tick labels reach left
    place(fig, axes, right=gap + bar + axis_room(scale.yaxis, "right"), gap=0.3)
    edge = axes.flat[-1].get_position()
    inches = fig.get_size_inches()
    scale.set_position((edge.x1 + gap / inches[0], edge.y0, bar / inches[0], edge.height))
    return fig
