"""How each setting's trials ended: the modes of each value (or bin) of a setting as 100%-stacked
bars (:func:`mode_shares`), and every setting's in columns under one key (:func:`mode_map`)."""

from __future__ import annotations

import numpy as np

from mlpcore import MODES
from sweeps.report.figures.parts import ax_or_current, mode_handles, panels, seaborn, themed
from sweeps.report.hover import titled
from sweeps.report.layout import legend_height, overhang, place
from sweeps.report.style import MODE_PALETTE
from sweeps.space import title


def setting_rows(levers, param: str):
    """The ``levers`` rows of ``param`` in the order a mode map shows them, top first: categorical
    values by escape rate (best first, unsampled last), numeric bins in their order."""
    rows = levers[levers["param"] == param]
    if len(rows) and rows["kind"].iloc[0] == "categorical":
        rows = rows.sort_values("escape_rate", ascending=False, kind="stable", na_position="last")
    return rows


@themed
def mode_shares(levers, params: str | list[str] | None = None, ax=None):
    """The modes of each value (or bin) of one or more settings as 100%-stacked bars, fit first,
    each setting's bars under its name.

    Parameters
    ----------
    levers : :func:`sweeps.results.frames.levers_frame`, one row per (setting, value) with a count
        per mode.
    params : a setting, or settings in order; default every one in ``levers``.
    ax : matplotlib Axes, optional. Default: pyplot's current Axes.

    Returns
    -------
    The Axes. Categorical values are sorted by escape rate (best on top), numeric bins keep their
    order; each bar says its trials and the share that escaped; an unsampled value shows an empty
    bar.
    """
    import pandas as pd

    ax = ax_or_current(ax)
    if params is None:
        params = list(dict.fromkeys(levers["param"]))
    params = [params] if isinstance(params, str) else params
    rows, headings = [], []
    for param in params:  # a row for the setting's name, then one a value
        headings.append((len(rows) + len(headings), title(param)))
        for row in setting_rows(levers, param).itertuples(index=False):
            rows.append((len(rows) + len(headings), row))
    counts = pd.DataFrame(
        [{"at": at, "mode": m, "count": getattr(row, m)} for at, row in rows for m in MODES]
    )
    counts = counts[counts["count"] > 0] if len(counts) else counts
    # labels first: seaborn then skips measuring the ticks
    ax.set(xlabel="share of trials", ylabel="setting")
    if len(counts):
        # hue in MODES order: seaborn stacks the last level first, so fit is on the left
        seaborn().histplot(
            counts,
            y="at",
            hue="mode",
            weights="count",
            multiple="fill",
            discrete=True,
            shrink=0.75,
            hue_order=list(MODES),
            palette=MODE_PALETTE,
            alpha=1,
            legend=False,
            ax=ax,
            edgecolor="white",
            linewidth=0.5,
        )
    by_at = dict(rows)
    by_colour = {MODE_PALETTE[m].lower(): m for m in MODES}
    for bar in list(ax.patches):
        at = int(round(bar.get_y() + bar.get_height() / 2))
        if not np.isfinite(bar.get_width()) or bar.get_width() <= 0 or at not in by_at:
            bar.remove()  # a heading's row, a value no trial had, or a mode none of them ended in
            continue
        row, mode = by_at[at], by_colour[_hex(bar.get_facecolor())]
        count = getattr(row, mode)
        of = f"{count} of {row.trials} trials ({count / row.trials:.0%})"
        titled(bar, f"{row.param} = {row.value}: {mode} in {of}")
    for at, row in rows:
        text = f"n={row.trials}, {row.escape_rate:.0%} fit" if row.trials else "not sampled"
        ax.text(
            1.02,
            at,
            text,
            va="center",
            ha="left",
            fontsize=8,
            color="#333333" if row.trials else "#999999",
        )
    for at, name in headings:
        ax.text(0, at + 0.2, name, va="center", ha="left", fontsize=9.5, fontweight="bold")
    ax.set_yticks([at for at, _ in rows], [str(row.value) for _, row in rows])
    ax.set_ylim(len(rows) + len(headings) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter("{x:.0%}")
    ax.set_ylabel("")
    ax.grid(axis="y", visible=False)
    return ax


def _hex(colour) -> str:
    from matplotlib.colors import to_hex

    return to_hex(colour)


def _columns(sizes: list[int], ncols: int) -> list[list[int]]:
    """Indices of ``sizes`` (rows a setting takes) cut, in order, into ``ncols`` runs of about equal
    rows."""
    total, out, run, filled = sum(sizes), [], [], 0
    for i, size in enumerate(sizes):
        if run and filled + size / 2 > total * (len(out) + 1) / ncols and len(out) < ncols - 1:
            out.append(run)
            run = []
        run.append(i)
        filled += size
    return out + [run]


@themed
def mode_map(levers, params: list[str] | None = None, ncols: int = 3, fig=None):
    """:func:`mode_shares` of every setting, in ``ncols`` columns, under one key to the modes.

    Parameters
    ----------
    levers : :func:`sweeps.results.frames.levers_frame`.
    params : the settings to show, in order; default every one in ``levers``.
    ncols : columns of settings.
    fig : matplotlib Figure, optional, cleared and sized to the columns. Default: a new pyplot
        figure.

    Returns
    -------
    The Figure.
    """
    params = list(dict.fromkeys(levers["param"])) if params is None else params
    sizes = [1 + int((levers["param"] == p).sum()) for p in params]
    columns = _columns(sizes, min(ncols, max(1, len(params))))
    rows = max(sum(sizes[i] for i in column) for column in columns)
    fig, axes = panels(
        fig, 4.0 * len(columns), 0.22 * rows + 1.3, ncols=len(columns), squeeze=False
    )
    for ax, column in zip(axes.flat, columns):
        mode_shares(levers, [params[i] for i in column], ax=ax)
        ax.set_ylim(rows - 0.5, -0.5)  # one row height in every column
    legend = fig.legend(
        handles=mode_handles(),
        loc="outside upper center",
        ncols=len(MODES),
        frameon=False,
        title="failure mode (share of trials per setting; numbers: trials, and the share that "
        "escaped)",
    )
    top = legend_height(1, legend.get_texts()[0].get_fontsize(), legend.get_title().get_fontsize())
    # the counts right of each panel's bars, and the last column's long headings: room for them,
    # as far as they reach at the panels' first width (as matplotlib's constrained layout does)
    width = place(fig, axes, top=top)["panel_width"]
    right_each = overhang(axes, width, outside=True)
    place(
        fig,
        axes,
        top=top,
        right=max(0.0, overhang(axes.flat[-1], width) - right_each),
        right_each=right_each,
    )
    return fig
