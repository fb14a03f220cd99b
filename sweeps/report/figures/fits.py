"""The fit in function space, for a study of one input: the target, the data, the question's
config's and the best trial's fit (:func:`function_space`), and one fit per mode
(:func:`mode_gallery`)."""

from __future__ import annotations

import numpy as np

from mlpcore import MODES
from sweeps.report.figures.parts import (
    added,
    ax_or_current,
    corner_note,
    mode_title,
    no_trial,
    outer_labels,
    panels,
    seaborn,
    themed,
    titled_line,
)
from sweeps.report.hover import titled
from sweeps.report.layout import place
from sweeps.report.style import BEST_FIRST, DATA_COLOR, MODE_PALETTE, TARGET_COLOR, fmt


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
    ax = ax_or_current(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("y (the study's target)")
    train = _training(data)
    if train is not None and len(train):
        seaborn().scatterplot(
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
        titled_line(
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
        titled_line(
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
        titled_line(
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


def mode_picks(frame):
    """A gallery's trials: the trial rows of ``frame`` (predictions or held-out rows), the trial it
    shows a mode (:func:`representatives`) and each mode's number of trials."""
    trials = frame[frame["source"] == "trial"]
    return trials, representatives(trials), trials.drop_duplicates("number")["mode"].value_counts()


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
    seaborn().lineplot(
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
    for line, text in zip(added(ax.lines, before), order):
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
    fig, axes = panels(fig, 12.0, 3.0, ncols=len(MODES), sharex=True, sharey=True)
    trials, picks, counts = mode_picks(predictions)
    target = _known_target(predictions)
    train = _training(data)
    lo, hi = _y_limits(predictions, data)
    for ax, mode in zip(axes, BEST_FIRST):
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        if train is not None and len(train):
            seaborn().scatterplot(
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
            corner_note(ax, note)
        else:
            no_trial(ax)
        mode_title(ax, mode, int(counts.get(mode, 0)))
        ax.set_ylim(lo, hi)
    outer_labels(axes)
    place(fig, axes)
    return fig
