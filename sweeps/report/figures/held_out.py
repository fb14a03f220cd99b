"""Studies of several inputs: held-out predictions against the actual values
(:func:`predicted_actual`, one per mode in :func:`held_out_gallery`), and the fit along a slice of
each input (:func:`slices`)."""

from __future__ import annotations

import numpy as np

from mlpcore import MODES
from sweeps.report.figures.fits import best_number, function_space, mode_picks
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
)
from sweeps.report.hover import titled
from sweeps.report.layout import place
from sweeps.report.style import BEST_FIRST, MODE_PALETTE, TARGET_COLOR, fmt


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
    seaborn().scatterplot(shown, x="actual", y="shown", ax=ax, zorder=3, legend=False, **style)
    titled(
        added(ax.collections, before)[0],
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
    ax = ax_or_current(ax)
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
    fig, axes = panels(fig, 4.0 * ncols, 3.5 * nrows, nrows=nrows, ncols=ncols, squeeze=False)
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
    fig, axes = panels(fig, 12.0, 3.1, ncols=len(MODES), sharex=True, sharey=True)
    trials, picks, counts = mode_picks(held_out)
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
            corner_note(ax, note)
        else:
            no_trial(ax)
        mode_title(ax, mode, int(counts.get(mode, 0)))
    outer_labels(axes)
    place(fig, axes)
    return fig
