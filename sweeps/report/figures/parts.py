"""What every figure of the report shares: seaborn's theme around each drawing function, the Axes
or panels it draws into, log axes, titled lines, notes and titles in a panel, the legend of the
modes. matplotlib and seaborn are imported when a figure is drawn, not with this module."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from sweeps.report.hover import titled
from sweeps.report.style import BEST_FIRST, MODE_PALETTE, theme, trials_text

TITLE_Y = 1.0
"""A panel's title at a fixed height, where it sits anyway with the ticks at the bottom: given, it
skips matplotlib's placement of titles, which measures every tick label at each draw."""
NO_TRIAL = "no trial ended here"


def no_trial(ax) -> None:
    """Say on a mode's panel that no trial ended in that mode."""
    ax.text(0.5, 0.5, NO_TRIAL, transform=ax.transAxes, ha="center", color="#888888")


def themed(draw):
    """Draw inside seaborn's theme (:func:`sweeps.report.style.theme`), matplotlib's settings
    untouched after."""

    @functools.wraps(draw)
    def inside(*args, **kwargs):
        with theme():
            return draw(*args, **kwargs)

    return inside


def ax_or_current(ax):
    """``ax``, or pyplot's current Axes, as seaborn's axes-level functions take it."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def panels(fig, width: float, height: float, **subplots: Any):
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


def outer_labels(axes) -> None:
    """A row of panels on one y axis: its label on the first panel only."""
    for ax in axes[1:]:
        ax.set_ylabel("")


def seaborn():
    """The seaborn module, imported when a figure is first drawn."""
    import seaborn as sns

    return sns


def added(artists, before: int):
    """The artists a seaborn call added to an Axes list that had ``before`` of them."""
    return list(artists)[before:]


def mode_handles(modes=BEST_FIRST) -> list:
    """Legend patches, one per mode, in the mode colours."""
    from matplotlib.patches import Patch

    return [Patch(facecolor=MODE_PALETTE[m], label=m) for m in modes]


def log_y(ax) -> None:
    """A log y axis with a label at each power of ten as plain text ("0.01", "1e-05"), and no minor
    ticks: matplotlib's own (math text, and eight unlabelled ticks a decade) are most of the time
    such a figure takes."""
    from matplotlib.ticker import LogLocator, NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter("{x:g}")


def drawable(values) -> np.ndarray:
    """Which values have a place on a log axis (finite, above 0)."""
    v = np.asarray(values, dtype=float)
    return np.isfinite(v) & (v > 0)


def titled_line(ax, rows, x: str, y: str, tip: str, **style):
    """``rows`` as one seaborn line (no aggregation), titled ``tip``; returns the Line2D."""
    before = len(ax.lines)
    seaborn().lineplot(rows, x=x, y=y, estimator=None, sort=False, ax=ax, **style)
    line = added(ax.lines, before)
    return titled(line[0], tip) if line else None


def corner_note(ax, text: str) -> None:
    """``text`` in the top left corner of a panel, on white."""
    ax.text(
        0.03,
        0.97,
        text,
        transform=ax.transAxes,
        va="top",
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
    )


def mode_title(ax, mode: str, n: int) -> None:
    """A mode's panel's title: the mode and its trials, in its colour."""
    ax.set_title(
        f"{mode} ({trials_text(n)})",
        color=MODE_PALETTE[mode],
        fontweight="bold",
        fontsize=10,
        y=TITLE_Y,
    )
