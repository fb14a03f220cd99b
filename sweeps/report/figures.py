"""The report's figures, each drawn once, with seaborn, from the tidy frames of
:mod:`sweeps.results.frames`: the page writes them as SVG and a notebook shows the same Figure.

    >>> import sweeps
    >>> from sweeps.results import frames
    >>> f = frames.build("sqrt")  # by name: its data and trial files (curves, predictions) come
    along
    >>> ax = sweeps.report.history(f.trials)    # one Axes: ``ax=`` in (default: the current one)
    >>> fig = sweeps.report.mode_map(f.levers)  # small multiples: ``fig=`` in (default: a new one)

As with seaborn's own functions, a figure of one Axes draws into ``ax`` and returns it, and one of
several panels draws into ``fig`` (cleared, and sized to its panels) and returns it; without them,
pyplot provides them, so that Jupyter shows the figure. seaborn's theme applies only while a
function draws (:func:`sweeps.report.style.theme`), and every mode has its colour
(:data:`~sweeps.report.style.MODE_PALETTE`). The dots, bars, cells and lines carry their numbers as
tooltips (:mod:`sweeps.report.hover`) for the page. matplotlib and seaborn are imported when a
figure is drawn, not with this module.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from mlpcore import MODES
from sweeps.report.hover import titled
from sweeps.report.layout import axis_room, legend_height, overhang, place
from sweeps.report.style import (
    BEST_FIRST,
    CURVE_CLIP,
    DATA_COLOR,
    EMPTY_CELL,
    IMPORTANCE_COLORS,
    MODE_PALETTE,
    OBJECTIVE_LABEL,
    REFERENCE_COLOR,
    REFERENCE_STYLES,
    TARGET_COLOR,
    escape_cmap,
    fmt,
    theme,
    trials_text,
)
from sweeps.results.frames import complete, no_contrast_text
from sweeps.space import title

TITLE_Y = 1.0
"""A panel's title at a fixed height, where it sits anyway with the ticks at the bottom: given, it
skips matplotlib's placement of titles, which measures every tick label at each draw."""
NO_TRIAL = "no trial ended here"


def themed(draw):
    """Draw inside seaborn's theme (:func:`sweeps.report.style.theme`), matplotlib's settings
    untouched after."""

    @functools.wraps(draw)
    def inside(*args, **kwargs):
        with theme():
            return draw(*args, **kwargs)

    return inside


def _axes(ax):
    """``ax``, or pyplot's current Axes, as seaborn's axes-level functions take it."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def _panels(fig, width: float, height: float, **subplots: Any):
    """(figure, axes): ``fig`` cleared and sized ``width`` x ``height`` inches, with
    ``subplots(**subplots)``; without ``fig``, a new pyplot figure (as seaborn's figure-level
    functions make one). The panels are placed when drawn (:func:`sweeps.report.layout.place`)."""
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(width, height))
    else:
        fig.clear()
        fig.set_size_inches(width, height)
        fig.set_layout_engine("none")
    return fig, fig.subplots(**subplots)


def _outer_labels(axes) -> None:
    """A row of panels on one y axis: its label on the first panel only."""
    for ax in axes[1:]:
        ax.set_ylabel("")


def _sns():
    import seaborn as sns

    return sns


def _new(artists, before: int):
    """The artists a seaborn call added to an Axes list that had ``before`` of them."""
    return list(artists)[before:]


def mode_handles(modes=BEST_FIRST) -> list:
    """Legend patches, one per mode, in the mode colours."""
    from matplotlib.patches import Patch

    return [Patch(facecolor=MODE_PALETTE[m], label=m) for m in modes]


def _log_y(ax) -> None:
    """A log y axis with a label at each power of ten as plain text ("0.01", "1e-05"), and no minor
    ticks: matplotlib's own (math text, and eight unlabelled ticks a decade) are most of the time
    such a figure takes."""
    from matplotlib.ticker import LogLocator, NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter("{x:g}")


def _drawable(values) -> np.ndarray:
    """Which values have a place on a log axis (finite, above 0)."""
    v = np.asarray(values, dtype=float)
    return np.isfinite(v) & (v > 0)


# --- how each setting's trials ended --------------------------------------------------------------


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

    ax = _axes(ax)
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
        _sns().histplot(
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
    fig, axes = _panels(
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


# --- the share that escaped, per cell of two settings ---------------------------------------------


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
    ax = _axes(ax)
    rate, count = escape_cells(settings, x, y)
    n = count.to_numpy()
    annot = np.where(
        n > 0,
        [[f"{r:.0%}\nn={k}" for r, k in zip(rs, ks)] for rs, ks in zip(rate.to_numpy(), n)],
        "",
    )
    before = len(ax.collections)
    _sns().heatmap(
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
    mesh = _new(ax.collections, before)[0]
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
    fig, axes = _panels(
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


# --- importance -----------------------------------------------------------------------------------

IMPORTANCE_TITLES = {
    "objective": "for the objective (best tenth of trials)",
    "escape": "for escaping (mode fit)",
}


def importance_labels(importances, target: str, order: list[str]):
    """One target's importances in ``order``: (values, which settings have no contrast, each bar's
    text: its value, "no contrast: the sampler chose ... in ...% of trials", or "n/a" where the
    target had no contrast at all)."""
    rows = importances[importances["target"] == target].set_index("param").reindex(order)
    values = rows["importance"].to_numpy(dtype=float)
    flat = (
        ~rows["contrast"].fillna(True).astype(bool).to_numpy()
        if "contrast" in rows
        else np.zeros(len(rows), bool)
    )
    texts = [
        no_contrast_text(row) if no else "n/a" if np.isnan(v) else f"{v:.2f}"
        for v, no, (_, row) in zip(values, flat, rows.iterrows())
    ]
    return values, flat, texts


def importance_order(importances) -> list[str]:
    """The settings by their two importances' sum, largest first: the one order of both panels."""
    by = {
        t: importances[importances["target"] == t].set_index("param")["importance"]
        for t in IMPORTANCE_TITLES
    }
    return list(
        (by["escape"].fillna(0) + by["objective"].fillna(0))
        .sort_values(ascending=False, kind="stable")
        .index
    )


@themed
def importance_bars(importances, target: str, ax=None, order: list[str] | None = None):
    """One target's PED-ANOVA importances as horizontal bars.

    Parameters
    ----------
    importances : :func:`sweeps.results.frames.importances_frame`.
    target : "objective" or "escape".
    ax : matplotlib Axes, optional. Default: pyplot's current Axes.
    order : the settings top to bottom; default by importance, largest first.

    Returns
    -------
    The Axes. A setting without contrast reads "no contrast: the sampler chose ... in ...% of
    trials" instead of a number; one whose target had no contrast at all reads "n/a".
    """
    import pandas as pd

    ax = _axes(ax)
    if order is None:
        rows = importances[importances["target"] == target]
        order = list(rows.set_index("param")["importance"].sort_values(ascending=False).index)
    values, flat, texts = importance_labels(importances, target, order)
    shown = np.where(flat, 0.0, np.nan_to_num(values))
    # first: seaborn skips the ticks
    ax.set(xlabel="importance (PED-ANOVA, sums to 1)", ylabel="setting")
    before = len(ax.patches)
    _sns().barplot(
        pd.DataFrame({"param": order, "importance": shown}),
        x="importance",
        y="param",
        order=order,
        color=IMPORTANCE_COLORS.get(target, "#555555"),
        saturation=1,
        errorbar=None,
        width=0.7,
        ax=ax,
    )
    for bar, param, text in zip(_new(ax.patches, before), order, texts):
        titled(bar, f"{param}: {text}")
    for i, (v, no, text) in enumerate(zip(shown, flat, texts)):
        ax.text(
            v + 0.01,
            i,
            text,
            va="center",
            fontsize=8,
            color="#777777" if no else "#111111",
            style="italic" if no else "normal",
        )
    ax.set_xlim(0, max(0.1, float(np.nanmax(values, initial=0)) * 1.25))
    ax.set_ylabel("")
    ax.grid(axis="y", visible=False)
    return ax


@themed
def importance_panels(importances, fig=None):
    """Importances for the objective and for escaping, side by side, on one order of the settings.

    Parameters
    ----------
    importances : :func:`sweeps.results.frames.importances_frame`.
    fig : matplotlib Figure, optional, cleared and sized to the panels. Default: a new pyplot
        figure.

    Returns
    -------
    The Figure.
    """
    order = importance_order(importances)
    fig, axes = _panels(fig, 11.5, 0.3 * len(order) + 1.3, ncols=2, sharey=True)
    for ax, (target, heading) in zip(axes, IMPORTANCE_TITLES.items()):
        importance_bars(importances, target, ax=ax, order=order)
        ax.set_title(heading, fontsize=10, y=TITLE_Y)
    # a bar's text may reach past its panel's right edge: room for it, then placed again
    place(fig, axes, right_each=overhang(axes, place(fig, axes)["panel_width"]))
    return fig


# --- the fit in function space --------------------------------------------------------------------


def _y_limits(predictions, data=None) -> tuple[float, float]:
    """The target's (and data's) range with a margin: wild predictions leave the plot, not squash
    it. Without either (no known target, no data), the predictions' own range."""
    target = predictions.loc[predictions["source"] == "target", "y"]
    ys = np.r_[
        target.to_numpy(dtype=float), data["y"].to_numpy(dtype=float) if data is not None else []
    ]
    if not np.isfinite(ys).any():
        ys = predictions["y"].to_numpy(dtype=float)
    if not np.isfinite(ys).any():
        return -1.0, 1.0
    lo, hi = float(np.nanmin(ys)), float(np.nanmax(ys))
    pad = 0.25 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _known_target(predictions):
    """The target's rows, or None when the study does not know its true function (all NaN)."""
    target = predictions[predictions["source"] == "target"]
    return target if target["y"].notna().any() else None


def _training(data):
    """The training rows of a data frame (all of them without a ``split`` column), or None."""
    if data is None:
        return None
    return data[data["split"] == "train"] if "split" in data else data


def _line(ax, rows, x: str, y: str, tip: str, **style):
    """``rows`` as one seaborn line (no aggregation), titled ``tip``; returns the Line2D."""
    before = len(ax.lines)
    _sns().lineplot(rows, x=x, y=y, estimator=None, sort=False, ax=ax, **style)
    line = _new(ax.lines, before)
    return titled(line[0], tip) if line else None


def best_number(rows) -> int | None:
    """The trial with the lowest value among the trial rows of a frame (the lowest number on a tie),
    the rule of :func:`sweeps.results.reading.best_trial`; None without trials."""
    trials = rows[rows["source"] == "trial"]
    if not len(trials):
        return None
    return int(trials.sort_values(["value", "number"], kind="stable")["number"].iloc[0])


@themed
def function_space(
    predictions,
    data=None,
    ax=None,
    number: int | None = None,
    *,
    xlabel: str = "x (the study's input)",
    data_label: str = "training data",
):
    """The target (where the study knows it), the training data, the question's config's fit and a
    trial's fit.

    Parameters
    ----------
    predictions : :func:`sweeps.results.frames.predictions_frame` along one input.
    data : :func:`sweeps.results.frames.data_frame` (its training rows are drawn), optional.
    ax : matplotlib Axes, optional. Default: pyplot's current Axes.
    number : the trial whose fit is drawn; default the best.
    xlabel, data_label : the x axis's label and the data's name in the legend.

    Returns
    -------
    The Axes.
    """
    ax = _axes(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("y (the study's target)")
    train = _training(data)
    if train is not None and len(train):
        _sns().scatterplot(
            train,
            x="x",
            y="y",
            s=9,
            color=DATA_COLOR,
            alpha=0.8,
            linewidth=0,
            label=data_label,
            ax=ax,
            zorder=1,
        )
    base = predictions[predictions["source"] == "baseline"]
    if len(base):
        value = fmt(float(base["value"].iloc[0]))
        text = f"the question's config: {base['mode'].iloc[0]}, value {value}"
        _line(
            ax,
            base,
            "x",
            "y",
            text,
            color=MODE_PALETTE.get(base["mode"].iloc[0], "#555555"),
            lw=2,
            ls="--",
            label=text,
            zorder=4,
        )
    number = best_number(predictions) if number is None else number
    best = predictions[(predictions["source"] == "trial") & (predictions["number"] == number)]
    if len(best):
        value = fmt(float(best["value"].iloc[0]))
        text = f"best trial #{number}: {best['mode'].iloc[0]}, value {value}"
        _line(
            ax,
            best,
            "x",
            "y",
            text,
            color=MODE_PALETTE.get(best["mode"].iloc[0], "#555555"),
            lw=3.5,
            alpha=0.85,
            label=text,
            zorder=5,
        )
    target = _known_target(predictions)
    # thin and on top: a perfect fit shows as a band around it, not hiding it
    if target is not None:
        _line(
            ax,
            target,
            "x",
            "y",
            "true target",
            color=TARGET_COLOR,
            lw=1.3,
            label="true target",
            zorder=6,
        )
    ax.set_ylim(*_y_limits(predictions, data))
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    return ax


def representatives(predictions) -> dict[str, int]:
    """Per mode, the trial with the median value among that mode's trials (lower number on ties)."""
    trials = predictions[predictions["source"] == "trial"].drop_duplicates("number")
    out = {}
    for mode, group in trials.groupby("mode", observed=True):
        ranked = group.sort_values(["value", "number"], kind="stable")
        out[str(mode)] = int(ranked["number"].iloc[(len(ranked) - 1) // 2])
    return out


def _note(ax, text: str) -> None:
    ax.text(
        0.03,
        0.97,
        text,
        transform=ax.transAxes,
        va="top",
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
    )


def _mode_title(ax, mode: str, n: int) -> None:
    ax.set_title(
        f"{mode} ({trials_text(n)})",
        color=MODE_PALETTE[mode],
        fontweight="bold",
        fontsize=10,
        y=TITLE_Y,
    )


def _gallery_lines(ax, target, rows, mode: str) -> None:
    """The true function (thin, black, where known) and a mode's fit (thick, in its colour),
    titled."""
    import pandas as pd

    number = int(rows["number"].iloc[0]) if len(rows) else None
    name = (
        f"trial #{number} ({mode}): value {fmt(float(rows['value'].iloc[0]))}" if len(rows) else ""
    )
    parts = ([target.assign(line="the true function")] if target is not None else []) + (
        [rows.assign(line=name)] if len(rows) else []
    )
    lines = pd.concat(parts)
    order = [n for n in ("the true function", name) if n and (lines["line"] == n).any()]
    before = len(ax.lines)
    _sns().lineplot(
        lines,
        x="x",
        y="y",
        hue="line",
        hue_order=order,
        size="line",
        size_order=order,
        sizes={"the true function": 1.1, name: 3.0},
        estimator=None,
        sort=False,
        legend=False,
        ax=ax,
        palette={"the true function": TARGET_COLOR, name: MODE_PALETTE[mode]},
    )
    for line, text in zip(_new(ax.lines, before), order):
        titled(line, text)
        line.set_zorder(3 if text == "the true function" else 2)
        line.set_alpha(1 if text == "the true function" else 0.85)


@themed
def mode_gallery(predictions, data=None, fig=None):
    """One fit per mode, fit first: the trial with the mode's median value, over the target (where
    the study knows it) and the training data.

    Parameters
    ----------
    predictions : :func:`sweeps.results.frames.predictions_frame` along one input.
    data : :func:`sweeps.results.frames.data_frame`, optional.
    fig : matplotlib Figure, optional, cleared and sized to the panels. Default: a new pyplot
        figure.

    Returns
    -------
    The Figure.
    """
    fig, axes = _panels(fig, 12.0, 3.0, ncols=len(MODES), sharex=True, sharey=True)
    trials = predictions[predictions["source"] == "trial"]
    picks = representatives(predictions)
    counts = trials.drop_duplicates("number")["mode"].value_counts()
    target = _known_target(predictions)
    train = _training(data)
    lo, hi = _y_limits(predictions, data)
    for ax, mode in zip(axes, BEST_FIRST):
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        if train is not None and len(train):
            _sns().scatterplot(
                train, x="x", y="y", s=3, color=DATA_COLOR, alpha=0.5, linewidth=0, ax=ax
            )
        rows = trials[trials["number"] == picks[mode]] if mode in picks else trials.iloc[:0]
        if target is not None or len(
            rows
        ):  # the true function and the mode's fit: one seaborn call
            _gallery_lines(ax, target, rows, mode)
        if len(rows):
            ys = rows["y"].to_numpy(dtype=float)
            note = f"trial #{picks[mode]}, value {fmt(float(rows['value'].iloc[0]))}"
            if np.isnan(ys).all():
                note += "\nno finite prediction"
            elif ((ys < lo) | (ys > hi) | np.isnan(ys)).mean() > 0.5:
                note += "\nprediction mostly off the plot"
            _note(ax, note)
        else:
            ax.text(0.5, 0.5, NO_TRIAL, transform=ax.transAxes, ha="center", color="#888888")
        _mode_title(ax, mode, int(counts.get(mode, 0)))
        ax.set_ylim(lo, hi)
    _outer_labels(axes)
    place(fig, axes)
    return fig


# --- learning -------------------------------------------------------------------------------------


def _references(ax, references: dict[str, float | None] | None) -> None:
    """A horizontal line, dashed by its name, at each reference value that has a place on the
    axis."""
    for name, value in (references or {}).items():
        if value is None or not np.isfinite(value) or (value <= 0 and ax.get_yscale() == "log"):
            continue
        line = ax.axhline(
            value,
            color=REFERENCE_COLOR,
            lw=1,
            ls=REFERENCE_STYLES.get(name, "-."),
            label=name,
            zorder=2,
        )
        titled(line, f"{name}: {fmt(value)}")


def curve_picks(curves, per_mode: int = 12) -> dict:
    """Per mode (fit first): (the mode's trials, one row each, best value first; [(number, its
    validation curve without missing losses)] of ``per_mode`` of them spread evenly over their
    values, best to worst)."""
    val = curves[(curves["source"] == "trial") & (curves["split"] == "val")]
    out = {}
    for mode in BEST_FIRST:
        runs = (
            val[val["mode"] == mode]
            .drop_duplicates("number")
            .sort_values(["value", "number"], kind="stable")
        )
        spread = np.unique(
            np.linspace(0, len(runs) - 1, min(per_mode, len(runs))).round().astype(int)
        )
        picked = runs["number"].iloc[spread]
        out[mode] = (
            runs,
            [
                (int(number), rows.dropna(subset=["rel"]))
                for number, rows in val[val["number"].isin(picked)].groupby("number")
            ],
        )
    return out


@themed
def learning_curves(
    curves, references: dict[str, float | None] | None = None, per_mode: int = 12, fig=None
):
    """Validation loss (relative to var(y), log scale) against the step, one panel per mode, fit
    first.

    Parameters
    ----------
    curves : :func:`sweeps.results.frames.curves_frame`.
    references : reference values by name (:func:`sweeps.report.drawing.references`), drawn as
        dashed lines.
    per_mode : the trials drawn in a panel, spread evenly over the mode's values, best to worst.
    fig : matplotlib Figure, optional, cleared and sized to the panels. Default: a new pyplot
        figure.

    Returns
    -------
    The Figure. A dot marks where each run ended (early: a plateau stop or a divergence); losses
    above :data:`~sweeps.report.style.CURVE_CLIP` are drawn at it, and the panel says so.
    """
    fig, axes = _panels(fig, 12.0, 3.3, ncols=len(MODES), sharey=True, sharex=True)
    for ax, (mode, (runs, picked)) in zip(axes, curve_picks(curves, per_mode).items()):
        _log_y(ax)
        ax.set_xlabel("training step")
        ax.set_ylabel(OBJECTIVE_LABEL)
        drawn = [
            (number, rows.assign(rel=rows["rel"].clip(upper=CURVE_CLIP))) for number, rows in picked
        ]
        drawn = [(number, rows[_drawable(rows["rel"])]) for number, rows in drawn]
        drawn = [(number, rows) for number, rows in drawn if len(rows)]
        if drawn:
            import pandas as pd

            lines = pd.concat([rows for _, rows in drawn])
            before = len(ax.lines)
            # a dot where each run ended: early for a plateau stop or a divergence
            _sns().lineplot(
                lines,
                x="step",
                y="rel",
                units="number",
                estimator=None,
                color=MODE_PALETTE[mode],
                lw=1,
                alpha=0.75,
                marker="o",
                markersize=3.5,
                markeredgewidth=0,
                markevery=[-1],
                ax=ax,
            )
            # one line a unit, by number
            for line, (number, rows) in zip(_new(ax.lines, before), drawn):
                titled(line, f"trial #{number}: value {fmt(float(rows['value'].iloc[0]))}")
        if any((rows["rel"] > CURVE_CLIP).any() for _, rows in picked):
            ax.text(
                0.97,
                0.97,
                f"losses above {CURVE_CLIP:g} drawn at {CURVE_CLIP:g}",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=7.5,
                color="#555555",
            )
        if not len(runs):
            ax.text(0.5, 0.5, NO_TRIAL, transform=ax.transAxes, ha="center", color="#888888")
        _references(ax, references)
        ax.set_title(
            f"{mode} ({len(picked)} of {len(runs)})",
            color=MODE_PALETTE[mode],
            fontweight="bold",
            fontsize=10,
            y=TITLE_Y,
        )
    _outer_labels(axes)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside upper center",
            ncols=len(handles),
            frameon=False,
            fontsize=8,
        )
    place(fig, axes, top=legend_height(1, 8) if handles else 0.0)
    return fig


@themed
def history(
    trials, references: dict[str, float | None] | None = None, total: int | None = None, ax=None
):
    """Every completed trial's value in the order the sampler tried them (log scale), coloured by
    mode, with the best so far.

    Parameters
    ----------
    trials : :func:`sweeps.results.frames.trials_frame`.
    references : reference values by name (:func:`sweeps.report.drawing.references`), drawn as
        dashed lines.
    total : the trials the sweep runs to: the x axis reaches it (a running sweep shows how far it
        is).
    ax : matplotlib Axes, optional. Default: pyplot's current Axes.

    Returns
    -------
    The Axes. A value with no place on a log axis (not finite, or not above 0) is left out.
    """
    ax = _axes(ax)
    done = complete(trials).sort_values("number")
    done = done[_drawable(done["value"])].astype({"value": float})
    present = [m for m in BEST_FIRST if (done["mode"] == m).any()]
    ax.set_xlabel("trial number (order of sampling)")
    ax.set_ylabel(OBJECTIVE_LABEL)
    _log_y(ax)
    if len(done):
        before = len(ax.collections)
        _sns().scatterplot(
            done,
            x="number",
            y="value",
            hue="mode",
            hue_order=present,
            palette=MODE_PALETTE,
            s=22,
            linewidth=0,
            legend=False,
            ax=ax,
            zorder=3,
        )
        titled(
            _new(ax.collections, before)[0],
            [
                f"trial #{n}: {fmt(v)} ({m})"
                for n, v, m in zip(done["number"], done["value"], done["mode"])
            ],
        )
        best = done.assign(best=done["value"].cummin())
        _line(
            ax,
            best,
            "number",
            "best",
            "best so far",
            color=TARGET_COLOR,
            lw=1.5,
            drawstyle="steps-post",
            zorder=4,
        )
    _references(ax, references)
    last = max([total or 0, *(done["number"] + 1)], default=1)
    ax.set_xlim(-0.5, last + 0.5)
    from matplotlib.lines import Line2D

    keys = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            markersize=6,
            markeredgewidth=0,
            color=MODE_PALETTE[m],
            label=m,
        )
        for m in present
    ] + [Line2D([], [], color=TARGET_COLOR, lw=1.5, label="best so far")]
    references_drawn = [line for line in ax.lines if line.get_label() in (references or {})]
    ax.legend(
        handles=keys + references_drawn,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=8,
        frameon=False,
    )
    return ax


# --- the counterfactual analysis ------------------------------------------------------------------


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
    ax = _axes(ax)
    steps = sorted(path_runs["step"].unique())
    column = {s: i for i, s in enumerate(steps)}
    labels = [str(path_runs.loc[path_runs["step"] == s, "label"].iloc[0]) for s in steps]
    runs = path_runs[_drawable(path_runs["value"])].sort_values(["step", "repeat"], kind="stable")
    runs = runs.assign(value=runs["value"].astype(float), mode=runs["mode"].astype(str))
    seeds = runs.groupby("step")["repeat"].rank(method="first") - 1
    width = runs.groupby("step")["repeat"].transform("size").clip(lower=2) - 1
    # seeds side by side
    runs = runs.assign(at=runs["step"].map(column) - 0.18 + 0.36 * seeds / width)
    ax.set_xlabel(
        "question's config \u2192 one change at a time (greedy) \u2192 your config, fixed"
    )
    ax.set_ylabel(OBJECTIVE_LABEL)
    _log_y(ax)
    if len(runs):
        medians = (
            runs.groupby("step", as_index=False)["value"]
            .median()
            .assign(at=lambda f: f["step"].map(column))
        )
        _line(
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
        _sns().scatterplot(
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
            _new(ax.collections, before)[0],
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


# --- several inputs: held-out rows and slices -----------------------------------------------------


def _held_out_limits(rows) -> tuple[float, float]:
    """The actual values' range with a margin (predictions far off leave the plot, as in function
    space)."""
    lo, hi = float(rows["actual"].min()), float(rows["actual"].max())
    pad = 0.15 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _diagonal(ax, lo: float, hi: float) -> None:
    (line,) = ax.plot(
        [lo, hi], [lo, hi], color=TARGET_COLOR, lw=1, ls="--", label="predicted = actual", zorder=1
    )
    titled(line, "predicted = actual")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)


def _held_out_dots(ax, rows, lo: float, hi: float, **style) -> None:
    """Each held-out row of one net as a dot at (actual, predicted), the prediction drawn at the
    plot's edge beyond it; the finite ones, titled with their numbers."""
    rows = rows[np.isfinite(rows["predicted"].astype(float))]
    if not len(rows):
        return
    shown = rows.assign(shown=rows["predicted"].astype(float).clip(lo, hi))
    before = len(ax.collections)
    _sns().scatterplot(shown, x="actual", y="shown", ax=ax, zorder=3, legend=False, **style)
    titled(
        _new(ax.collections, before)[0],
        [
            f"row {r}: actual {fmt(a)}, predicted {fmt(p)}"
            for r, a, p in zip(rows["row"], rows["actual"], rows["predicted"])
        ],
    )


@themed
def predicted_actual(held_out, number: int | None = None, ax=None):
    """Each held-out row's prediction against its actual value, for a trial's net and the question's
    config's, with the diagonal of a perfect fit.

    Parameters
    ----------
    held_out : :func:`sweeps.results.frames.held_out_frame`.
    number : the trial drawn; default the best.
    ax : matplotlib Axes, optional. Default: pyplot's current Axes.

    Returns
    -------
    The Axes.
    """
    ax = _axes(ax)
    if not len(held_out):
        return ax
    lo, hi = _held_out_limits(held_out)
    _diagonal(ax, lo, hi)
    ax.set_xlabel("actual y (held-out rows)")
    ax.set_ylabel("predicted y")
    number = best_number(held_out) if number is None else number
    for rows, label, marker, size in (
        (held_out[held_out["source"] == "baseline"], "the question's config", "X", 30),
        (
            held_out[(held_out["source"] == "trial") & (held_out["number"] == number)],
            f"best trial #{number}",
            "o",
            18,
        ),
    ):
        if len(rows):
            mode = rows["mode"].iloc[0]
            _held_out_dots(
                ax,
                rows,
                lo,
                hi,
                marker=marker,
                s=size,
                alpha=0.8,
                linewidth=0,
                color=MODE_PALETTE.get(mode, "#555555"),
                label=f"{label}: {mode}, value {fmt(float(rows['value'].iloc[0]))}",
            )
    ax.set_aspect("equal", adjustable="box")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    return ax


@themed
def slices(predictions, near=None, number: int | None = None, ncols: int = 3, fig=None):
    """d > 1 inputs: one :func:`function_space` panel per input along its slice of the grid (the
    other inputs at their training medians), with the training rows nearest the slice as dots.

    Parameters
    ----------
    predictions : :func:`sweeps.results.frames.predictions_frame` (``feature`` j: the slice of input
        j + 1).
    near : :func:`sweeps.results.frames.slice_rows`, optional.
    number : the trial whose fit is drawn; default the best.
    ncols : panels a row.
    fig : matplotlib Figure, optional, cleared and sized to the panels. Default: a new pyplot
        figure.

    Returns
    -------
    The Figure; the legend is on the first panel (every panel draws the same nets).
    """
    features = sorted(int(j) for j in predictions["feature"].unique())
    ncols = min(ncols, len(features))
    nrows = -(-len(features) // ncols)
    fig, axes = _panels(fig, 4.0 * ncols, 3.5 * nrows, nrows=nrows, ncols=ncols, squeeze=False)
    for ax, j in zip(axes.flat, features):
        rows = near[near["feature"] == j] if near is not None else None
        function_space(
            predictions[predictions["feature"] == j],
            rows,
            ax=ax,
            number=number,
            xlabel=f"x{j + 1} (the other inputs at their medians)",
            data_label="training rows near the slice",
        )
        if j:
            ax.get_legend().remove()
    for ax in axes.flat[len(features) :]:
        ax.set_visible(False)
    place(fig, axes)
    return fig


@themed
def held_out_gallery(held_out, fig=None):
    """d > 1 inputs: for each mode, fit first, the held-out predictions against the actual values of
    the trial with the mode's median value.

    Parameters
    ----------
    held_out : :func:`sweeps.results.frames.held_out_frame`.
    fig : matplotlib Figure, optional, cleared and sized to the panels. Default: a new pyplot
        figure.

    Returns
    -------
    The Figure.
    """
    fig, axes = _panels(fig, 12.0, 3.1, ncols=len(MODES), sharex=True, sharey=True)
    trials = held_out[held_out["source"] == "trial"]
    picks = representatives(trials)
    counts = trials.drop_duplicates("number")["mode"].value_counts()
    lo, hi = _held_out_limits(held_out) if len(held_out) else (-1.0, 1.0)
    for ax, mode in zip(axes, BEST_FIRST):
        ax.set_xlabel("actual y")
        ax.set_ylabel("predicted y (held-out rows)")
        _diagonal(ax, lo, hi)
        if mode in picks:
            rows = trials[trials["number"] == picks[mode]]
            _held_out_dots(ax, rows, lo, hi, s=6, color=MODE_PALETTE[mode], alpha=0.8, linewidth=0)
            note = f"trial #{picks[mode]}, value {fmt(float(rows['value'].iloc[0]))}"
            predicted = rows["predicted"].astype(float)
            off = int(((predicted < lo) | (predicted > hi)).sum())
            if predicted.isna().all():
                note += "\nno finite prediction"
            elif off:
                note += f"\n{off} of {len(rows)} beyond the plot, drawn at its edge"
            _note(ax, note)
        else:
            ax.text(0.5, 0.5, NO_TRIAL, transform=ax.transAxes, ha="center", color="#888888")
        _mode_title(ax, mode, int(counts.get(mode, 0)))
    _outer_labels(axes)
    place(fig, axes)
    return fig
