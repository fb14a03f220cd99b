"""A fixed layout for the report's figures: each Axes placed once, at margins measured from the
texts around it, instead of matplotlib's constrained layout (which measures every tick of every
Axes at each draw, twice).

    >>> fig, axes = plt.subplots(ncols=5, figsize=(12, 3.3))
    >>> ...                                # draw; titles, labels and tick labels set
    >>> place(fig, axes, top=legend_height(1, 8))

:func:`place` reads what sits around each Axes (its tick labels, as its locator and formatter give
them, without making the ticks; its axis labels; its title) and measures their text with the
figure's fonts; what it cannot know (a legend or a text outside the Axes, a colour bar) the caller
gives as extra inches on a side.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

EDGE = 3 / 72
"""Inches left blank at the figure's edges and beside the texts of each panel."""


def _points(size) -> float:
    from matplotlib.font_manager import FontProperties

    return FontProperties(size=size).get_size_in_points()


def text_width(texts: Sequence[str], size, weight: str = "normal") -> float:
    """Inches of the widest line of ``texts`` at font ``size`` (points or a name) and ``weight``."""
    from matplotlib.font_manager import FontProperties, findfont

    prop = FontProperties(size=size, weight=weight)
    font = findfont(prop)  # the file that the settings in force pick: a width depends on it too
    lines = {line for text in texts for line in str(text).split("\n") if line}
    return max((_line_width(line, prop, font) for line in lines), default=0.0) / 72


@functools.lru_cache(maxsize=4096)
def _line_width(line: str, prop, font: str) -> float:
    """Points one line of text takes in ``prop`` (a FontProperties: family, style, weight, size),
    set in the font file ``font``: remembered, as the figures measure the same labels again and
    again."""
    from matplotlib.textpath import text_to_path

    return text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0]


def line_height(size, lines: int = 1) -> float:
    """Inches of ``lines`` lines of text at font ``size``, as matplotlib spaces them."""
    return lines * 1.2 * _points(size) / 72


def legend_height(rows: int, size, title_size=None) -> float:
    """Inches a legend of ``rows`` rows at font ``size`` (with a one-line title at ``title_size``)
    takes, with its pad to the figure's edge."""
    import matplotlib as mpl

    rc = mpl.rcParams
    fs = _points(size)
    pads = 2 * rc["legend.borderpad"] + (rows - 1) * rc["legend.labelspacing"]
    pads += rc["legend.borderaxespad"]
    return (
        rows * line_height(size)
        + pads * fs / 72
        + (line_height(title_size) if title_size is not None else 0.0)
    )


def legend_width(labels: Sequence[str], size) -> float:
    """Inches a one-column legend of ``labels`` at font ``size`` takes, with its pads and
    handles."""
    import matplotlib as mpl

    rc = mpl.rcParams
    em = 2 * rc["legend.borderpad"] + rc["legend.handlelength"] + rc["legend.handletextpad"]
    return text_width(labels, size) + em * _points(size) / 72


def _tick_texts(axis, side: str) -> tuple[list[str], float]:
    """(the tick labels an axis shows, as its locator and formatter give them, and their font size);
    none where its labels on ``side`` are hidden."""
    params = axis.get_tick_params()
    if not params.get(f"label{side}", True):
        return [], 0.0
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(lo), abs(hi), 1.0)
    locs = [loc for loc in axis.get_majorticklocs() if lo - slack <= loc <= hi + slack]
    texts = [text for text in axis.get_major_formatter().format_ticks(locs) if text]
    import matplotlib as mpl

    return texts, params.get("labelsize", mpl.rcParams[f"{axis.axis_name}tick.labelsize"])


def _tick_room(axis, side: str) -> tuple[float, float]:
    """(inches across the axis, inches along it) the tick labels take beside the Axes: their pad,
    and the labels turned by their rotation."""
    import matplotlib as mpl

    texts, size = _tick_texts(axis, side)
    if not texts:
        return 0.0, 0.0
    rc = mpl.rcParams
    name = axis.axis_name
    pad = (rc[f"{name}tick.major.pad"] + rc[f"{name}tick.major.size"]) / 72
    params = axis.get_tick_params()
    turned = [
        t.get_rotation() for t in axis.get_ticklabels() if t.get_text()
    ]  # set label by label, if so
    angle = np.radians(
        max(turned, default=0.0) or params.get("labelrotation", params.get("rotation", 0.0)) or 0.0
    )
    width, height = text_width(texts, size), line_height(size)
    if name == "x":  # across: up/down
        across = abs(width * np.sin(angle)) + abs(height * np.cos(angle))
    else:
        across = abs(width * np.cos(angle)) + abs(height * np.sin(angle))
    return across + pad, 0.0


def _label_room(label) -> float:
    """Inches an axis label takes across its axis, its pad with it (0 for none)."""
    import matplotlib as mpl

    text = label.get_text()
    if not text or not label.get_visible():
        return 0.0
    lines = text.count("\n") + 1
    return line_height(label.get_fontsize(), lines) + mpl.rcParams["axes.labelpad"] / 72


def _title_room(ax) -> float:
    import matplotlib as mpl

    text = ax.title.get_text()
    if not text:
        return 0.0
    return (
        line_height(ax.title.get_fontsize(), text.count("\n") + 1)
        + mpl.rcParams["axes.titlepad"] / 72
    )


def axis_room(axis, side: str) -> float:
    """Inches an axis's tick labels on ``side`` ("left", "bottom", "right"), and its label, take
    across it, pads included."""
    return _tick_room(axis, side)[0] + _label_room(axis.label)


def overhang(axes, panel_width: float, outside: bool = False) -> float:
    """Inches the texts drawn in ``axes`` (``ax.text``, left-aligned, placed in data or axes
    coordinates along x) reach past the right edge of a panel ``panel_width`` inches wide; with
    ``outside``, only those that start past it."""
    past = 0.0
    for ax in np.ravel(np.asarray(axes, dtype=object)):
        lo, hi = ax.get_xlim()
        for text in ax.texts:
            x = text.get_position()[0]
            share = x if text.get_transform() == ax.transAxes else (x - lo) / (hi - lo)
            if outside and share <= 1:
                continue
            reach = share * panel_width + text_width(
                [text.get_text()], text.get_fontsize(), text.get_fontweight()
            )
            past = max(past, reach - panel_width)
    return past


def needs(ax) -> dict[str, float]:
    """Inches the texts around ``ax`` take on each side: its tick labels and axis labels, its
    title."""
    return {
        "left": axis_room(ax.yaxis, "left"),
        "bottom": axis_room(ax.xaxis, "bottom"),
        "top": _title_room(ax),
        "right": _last_tick_room(ax.xaxis),
    }


def _last_tick_room(axis) -> float:
    """Inches the last tick label of an x axis, centred on its tick, reaches right of the Axes at
    most (half its width; none for labels turned and aligned to the right)."""
    params = axis.get_tick_params()
    if params.get("labelrotation", params.get("rotation", 0.0)):
        return 0.0
    texts, size = _tick_texts(axis, "bottom")
    return text_width(texts[-1:], size) / 2


def place(
    fig,
    axes,
    *,
    left: float = 0.0,
    right: float = 0.0,
    top: float = 0.0,
    bottom: float = 0.0,
    right_each: float = 0.0,
    gap: float = 0.0,
) -> dict[str, float]:
    """Place ``axes`` (an Axes, or a grid of them as ``subplots`` returns it) in ``fig`` once: the
    margins and the gaps between panels are what the texts around them take (:func:`needs`), plus
    the extra inches given for each side of the figure and ``right_each`` on the right of every
    panel; panels at least ``gap`` inches apart. The figure's layout engine is removed. Returns the
    margins, and a panel's width and height, in inches."""
    grid = np.atleast_2d(np.asarray(axes, dtype=object))
    shown = [[ax for ax in row if ax.get_visible()] for row in grid]
    room = {ax: needs(ax) for row in shown for ax in row}
    nrows, ncols = grid.shape
    cols = [[room[ax] for ax in grid[:, j] if ax in room] for j in range(ncols)]
    rows = [[room[ax] for ax in grid[i] if ax in room] for i in range(nrows)]

    def most(needs_, side):
        return max((n[side] for n in needs_), default=0.0)

    margins = {
        "left": EDGE + left + most(cols[0], "left"),
        "right": EDGE + right + right_each + most(cols[-1], "right"),
        "top": EDGE + top + most(rows[0], "top"),
        "bottom": EDGE + bottom + most(rows[-1], "bottom"),
    }
    width, height = fig.get_size_inches()
    wgap = max(
        [
            gap,
            *(
                2 * EDGE + right_each + most(cols[j - 1], "right") + most(cols[j], "left")
                for j in range(1, ncols)
            ),
        ]
    )
    hgap = max(
        [
            gap,
            *(
                2 * EDGE + most(rows[i - 1], "bottom") + most(rows[i], "top")
                for i in range(1, nrows)
            ),
        ]
    )
    panel_w = (width - margins["left"] - margins["right"] - (ncols - 1) * wgap) / ncols
    panel_h = (height - margins["top"] - margins["bottom"] - (nrows - 1) * hgap) / nrows
    fig.set_layout_engine("none")
    fig.subplots_adjust(
        left=margins["left"] / width,
        right=1 - margins["right"] / width,
        bottom=margins["bottom"] / height,
        top=1 - margins["top"] / height,
        wspace=wgap / panel_w if ncols > 1 else 0.0,
        hspace=hgap / panel_h if nrows > 1 else 0.0,
    )
    return margins | {"panel_width": panel_w, "panel_height": panel_h}
