"""Values over time on a log axis, beside the reference values: each mode's learning curves
(:func:`learning_curves`), and the sweep's value trial by trial (:func:`history`)."""

from __future__ import annotations

import numpy as np

from mlpcore import MODES
from sweeps.report.figures.parts import (
    TITLE_Y,
    added,
    ax_or_current,
    drawable,
    log_y,
    no_trial,
    outer_labels,
    panels,
    seaborn,
    themed,
    titled_line,
)
from sweeps.report.hover import titled
from sweeps.report.layout import legend_height, place
from sweeps.report.style import (
    BEST_FIRST,
    CURVE_CLIP,
    MODE_PALETTE,
    OBJECTIVE_LABEL,
    REFERENCE_COLOR,
    REFERENCE_STYLES,
    TARGET_COLOR,
    fmt,
)
from sweeps.results.frames import complete


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
    fig, axes = panels(fig, 12.0, 3.3, ncols=len(MODES), sharey=True, sharex=True)
    for ax, (mode, (runs, picked)) in zip(axes, curve_picks(curves, per_mode).items()):
        log_y(ax)
        ax.set_xlabel("training step")
        ax.set_ylabel(OBJECTIVE_LABEL)
        drawn = [
            (number, rows.assign(rel=rows["rel"].clip(upper=CURVE_CLIP))) for number, rows in picked
        ]
        drawn = [(number, rows[drawable(rows["rel"])]) for number, rows in drawn]
        drawn = [(number, rows) for number, rows in drawn if len(rows)]
        if drawn:
            import pandas as pd

            lines = pd.concat([rows for _, rows in drawn])
            before = len(ax.lines)
            # a dot where each run ended: early for a plateau stop or a divergence
            seaborn().lineplot(
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
            for line, (number, rows) in zip(added(ax.lines, before), drawn):
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
            no_trial(ax)
        _references(ax, references)
        ax.set_title(
            f"{mode} ({len(picked)} of {len(runs)})",
            color=MODE_PALETTE[mode],
            fontweight="bold",
            fontsize=10,
            y=TITLE_Y,
        )
    outer_labels(axes)
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
    ax = ax_or_current(ax)
    done = complete(trials).sort_values("number")
    done = done[drawable(done["value"])].astype({"value": float})
    present = [m for m in BEST_FIRST if (done["mode"] == m).any()]
    ax.set_xlabel("trial number (order of sampling)")
    ax.set_ylabel(OBJECTIVE_LABEL)
    log_y(ax)
    if len(done):
        before = len(ax.collections)
        seaborn().scatterplot(
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
            added(ax.collections, before)[0],
            [
                f"trial #{n}: {fmt(v)} ({m})"
                for n, v, m in zip(done["number"], done["value"], done["mode"])
            ],
        )
        best = done.assign(best=done["value"].cummin())
        titled_line(
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
