"""The report's look: one colour per failure mode, the other colours and names its figures share,
and seaborn's theme, applied only inside :func:`theme` (a user's matplotlib settings are never
changed).

    >>> sns.scatterplot(trials, x="number", y="value", hue="mode", palette=MODE_PALETTE)

Importing this module imports neither matplotlib nor seaborn: the page's badges need only the
colours.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from mlpcore import MODES

MODE_PALETTE = {
    "diverged": "#B2182B",  # red: it blew up
    "collapsed": "#8C8C8C",  # grey: a flat, dead prediction
    "linear": "#E69F00",  # amber: the straight line the users asked about
    "underfit": "#56B4E9",  # sky blue: it bends, not enough
    "fit": "#009E73",  # green: escaped
}
"""One colour per failure mode, for every figure (seaborn's ``palette=``) and the page's badges
(Okabe-Ito based, readable with the common colour-vision deficiencies)."""

BEST_FIRST = tuple(reversed(MODES))
"""Modes from the escape to the worst failure: the order of keys, panels and stacked shares (fit on
the left)."""

TARGET_COLOR = "#111111"
DATA_COLOR = "#B8B8B8"
EMPTY_CELL = "#EDEDED"
"""A heatmap cell no trial fell in."""
IMPORTANCE_COLORS = {"objective": "#3B4A6B", "escape": MODE_PALETTE["fit"]}
ESCAPE_STOPS = ("#FFFFFF", "#BFE6D9", MODE_PALETTE["fit"], "#00513B")
"""The escape-rate colour scale, evenly spaced over 0-100%: white, through the fit colour, to a dark
green."""
REFERENCE_STYLES = {
    "constant predictor": ":",
    "best straight line": "--",
    "noise floor": "-.",
    "estimated noise floor": "-.",
}
"""A reference line's dashes, by its name (:func:`sweeps.report.drawing.references`)."""
REFERENCE_COLOR = "#444444"
CURVE_CLIP = 1e3
"""Losses above this many times var(y) are drawn at it: a diverging run would squash every other
curve."""
OBJECTIVE_LABEL = "validation MSE / var(y)\n(1 = constant predictor)"

THEME = {"style": "whitegrid", "context": "notebook", "font_scale": 0.9, "palette": "deep"}
"""The seaborn theme of every figure (what ``seaborn.set_theme(**THEME)`` would set for a whole
session)."""


@contextmanager
def theme(rc: dict[str, Any] | None = None) -> Iterator[None]:
    """seaborn's theme (:data:`THEME`), and ``rc`` on top, for the figures drawn inside;
    matplotlib's settings are as they were when it ends."""
    import matplotlib as mpl
    import seaborn as sns
    from cycler import cycler

    settings = {
        **sns.axes_style(THEME["style"]),
        **sns.plotting_context(THEME["context"], font_scale=THEME["font_scale"]),
        "axes.prop_cycle": cycler(color=sns.color_palette(THEME["palette"])),
        **(rc or {}),
    }
    with mpl.rc_context(settings):
        try:
            yield
        finally:
            session = {key: mpl.rcParams[key] for key in SESSION_SETTINGS}
    mpl.rcParams.update(session)


SESSION_SETTINGS = ("interactive",)
"""Settings that are the session's, not the theme's, and stay as a figure left them: pyplot,
imported for the first time while a figure draws, turns ``interactive`` on in Jupyter (so that its
inline backend shows each figure); undoing it would leave every later figure of the session
unshown."""


def escape_cmap():
    """White to the fit colour and beyond (:data:`ESCAPE_STOPS`): the greener a cell, the more of
    its trials escaped."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("escape", ESCAPE_STOPS)


def text_color(hex_color: str) -> str:
    """Black or white, whichever reads on ``hex_color``."""
    r, g, b = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return "#111111" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "#ffffff"


def fmt(value: float | None, digits: int = 3) -> str:
    """A number as the page and its figures print it: ``digits`` significant digits, a dash for
    None."""
    return "–" if value is None else f"{value:.{digits}g}"


def trials_text(n: int) -> str:
    """ "1 trial", "5 trials"."""
    return f"{n} trial" if n == 1 else f"{n} trials"
