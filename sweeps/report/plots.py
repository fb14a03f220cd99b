"""Figures from the frames of :mod:`sweeps.results.frames` (no study access, no pyplot state).

Each function takes a frame and an optional ``ax`` (one axes) or ``fig`` (small multiples, drawn
into the figure's own subplots) and returns what it drew: the Axes, or the Figure, as its
docstring says; so it works in a notebook. The report page writes the same figures as SVG text
(:mod:`sweeps.report.svg`) and takes from here only those of studies with several inputs.
Figures are plain ``matplotlib.figure.Figure`` objects on the Agg canvas: nothing opens a
window and nothing is kept in pyplot's registry. matplotlib is imported inside the functions, so
importing this module (for MODE_COLORS) costs nothing; the look is seaborn's (:data:`THEME`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlpcore import MODES
from sweeps.results.frames import no_contrast_text
from sweeps.space import title

MODE_COLORS = {
    "diverged": "#B2182B",   # red: it blew up
    "collapsed": "#8C8C8C",  # grey: a flat, dead prediction
    "linear": "#E69F00",     # amber: the straight line the users asked about
    "underfit": "#56B4E9",   # sky blue: it bends, not enough
    "fit": "#009E73",        # green: escaped
}
"""One colour per failure mode, used by every figure and by the HTML badges (Okabe-Ito based,
readable with the common colour-vision deficiencies)."""

BEST_FIRST = tuple(reversed(MODES))
"""Modes in the order bars stack them: fit first, so the green share reads from the left edge."""

OBJECTIVE_LABEL = "validation MSE / var(y)\n(1 = constant predictor)"
TARGET_COLOR = "#111111"
DATA_COLOR = "#B8B8B8"
IMPORTANCE_COLORS = {"objective": "#3B4A6B", "escape": MODE_COLORS["fit"]}
REFERENCE_STYLES = {"constant predictor": ":", "best straight line": "--", "noise floor": "-.",
                    "estimated noise floor": "-."}
CURVE_CLIP = 1e3
"""Losses above this many times var(y) are drawn at it: a diverging run would squash every other curve."""
DPI = 100
TITLE_Y = 1.0
"""A panel's title at a fixed height, where it sits anyway when the ticks are at the bottom. Given, it skips
matplotlib's automatic placement, which measures every y tick label at each draw (a fifth of the failure-mode
map's drawing). Only on axes that cannot carry an offset text above them (categories, log scales), which the
automatic placement would have lifted the title over."""


def new_figure(width: float, height: float, **subplots: Any):
    """A Figure on the Agg canvas, with ``subplots(**subplots)`` axes; returns (figure, axes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _theme()
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(**subplots) if subplots else fig.add_subplot()


def prepare() -> None:
    """Import what drawing needs and set the theme, at once: a process does it before it forks processes to draw."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.patches  # noqa: F401

    _theme()


DEEP = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD"]
"""seaborn's "deep" palette, the colour cycle of :data:`THEME`."""
THEME: dict[str, Any] = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.grid": True, "axes.labelcolor": ".15",
    "axes.labelsize": 10.8, "axes.linewidth": 1.25, "axes.titlesize": 10.8,
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "font.size": 10.8, "grid.color": ".8", "grid.linewidth": 1.0, "legend.fontsize": 9.9,
    "legend.title_fontsize": 10.8, "lines.solid_capstyle": "round", "patch.edgecolor": "w",
    "patch.force_edgecolor": True, "text.color": ".15", "xtick.bottom": False, "xtick.color": ".15",
    "xtick.labelsize": 9.9, "xtick.major.size": 6.0, "xtick.major.width": 1.25, "xtick.minor.size": 4.0,
    "xtick.minor.width": 1.0, "ytick.color": ".15", "ytick.labelsize": 9.9, "ytick.left": False,
    "ytick.major.size": 6.0, "ytick.major.width": 1.25, "ytick.minor.size": 4.0, "ytick.minor.width": 1.0,
}
"""What ``seaborn.set_theme(style="whitegrid", context="notebook", font_scale=0.9)`` sets, written out (with
:data:`DEEP` as the colour cycle; its default colormap, which no figure here uses, left out): importing seaborn
would cost the report ~0.85 s, most of it scipy.stats. tests/sweeps/test_plots.py checks it against seaborn's."""


def _theme() -> None:
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(THEME | {"axes.prop_cycle": cycler(color=DEEP)})


def _axes(ax, width: float = 6.0, height: float = 4.0):
    return ax if ax is not None else new_figure(width, height)[1]


def _panels(fig, width: float, height: float, **subplots: Any):
    """(figure, axes): ``fig`` (cleared, given the size) with ``subplots(**subplots)``, or a new figure."""
    if fig is None:
        return new_figure(width, height, **subplots)
    _theme()
    fig.clear()
    fig.set_size_inches(width, height)
    fig.set_layout_engine("constrained")
    return fig, fig.subplots(**subplots)


def mode_handles(modes=BEST_FIRST) -> list:
    """Legend patches, one per mode, in the mode colours."""
    from matplotlib.patches import Patch

    return [Patch(facecolor=MODE_COLORS[m], label=m) for m in modes]


def _mode_legend(fig, title: str = "failure mode") -> None:
    fig.legend(handles=mode_handles(), loc="outside upper center", ncols=len(MODES), title=title, frameon=False)


# --- failure-mode map --------------------------------------------------------------------------


def mode_shares(levers, param: str, ax=None):
    """100%-stacked bars of the modes of one parameter's values (``levers_frame`` rows), fit first.

    Categorical values are sorted by escape rate (best on top); numeric bins keep their order.
    Each bar is annotated with its trial count; an unsampled value shows an empty bar. Returns the Axes.
    """

    ax = _axes(ax, 5, 3)
    rows = setting_rows(levers, param).iloc[::-1]  # barh draws bottom-up; the first row goes on top
    y = np.arange(len(rows))
    n = rows["trials"].to_numpy()
    left = np.zeros(len(rows))
    for mode in BEST_FIRST:
        share = np.divide(rows[mode].to_numpy(), n, out=np.zeros(len(rows)), where=n > 0)
        ax.barh(y, share, left=left, color=MODE_COLORS[mode], height=0.75, label=mode, edgecolor="white", linewidth=0.5)
        left += share
    for yi, count, rate in zip(y, n, rows["escape_rate"]):
        text = f"n={count}, {rate:.0%} fit" if count else "not sampled"
        ax.text(1.02, yi, text, va="center", ha="left", fontsize=8, color="#333333" if count else "#999999")
    ax.set_yticks(y, rows["value"].tolist())
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.xaxis.set_major_formatter("{x:.0%}")
    ax.set_xlabel("share of trials")
    ax.set_title(title(param), loc="left", fontsize=10, fontweight="bold", y=TITLE_Y)
    ax.grid(axis="y", visible=False)
    return ax


def setting_rows(levers, param: str):
    """The ``levers`` rows of ``param`` in the order a mode map shows them, top first: categorical values by
    escape rate (best first, unsampled last), numeric bins in their order."""
    rows = levers[levers["param"] == param]
    if len(rows) and rows["kind"].iloc[0] == "categorical":
        rows = rows.sort_values("escape_rate", ascending=False, kind="stable", na_position="last")
    return rows


def mode_map(levers, params: list[str] | None = None, ncols: int = 3, fig=None):
    """One :func:`mode_shares` panel per parameter (all of ``levers`` by default), one mode legend on top.

    Drawn into ``fig`` (cleared) or a new figure; returns the Figure.
    """
    params = list(dict.fromkeys(levers["param"])) if params is None else params
    nrows = max(1, -(-len(params) // ncols))
    heights = [max(1.6, 0.32 * (levers["param"] == p).sum() + 0.9) for p in params]
    row_heights = [max(heights[i:i + ncols]) for i in range(0, len(params), ncols)] or [2.0]
    fig, axes = _panels(fig, 4.3 * ncols, sum(row_heights) + 0.9, nrows=nrows, ncols=ncols, squeeze=False,
                        gridspec_kw={"height_ratios": row_heights})
    fig.get_layout_engine().set(w_pad=0.15, h_pad=0.12)
    for ax, param in zip(axes.flat, params):
        mode_shares(levers, param, ax=ax)
        ax.set_xlabel("")
    for ax in axes.flat[len(params):]:
        ax.set_visible(False)
    _mode_legend(fig, title="failure mode (share of trials per setting; numbers: trials, and the share that escaped)")
    return fig


# --- escape-rate heatmaps ----------------------------------------------------------------------


def escape_heatmap(settings, x: str, y: str, ax=None, *, colorbar: bool = True, xlabel: str | None = None,
                   ylabel: str | None = None):
    """Share of trials that escaped (mode fit) per cell of two binned settings (``settings_frame``).

    Each cell reads "share / n"; a cell no trial fell in is left grey. Returns the Axes.
    """
    ax = _axes(ax, 6, 4)
    grouped = settings.groupby([y, x], observed=False)["escaped"]
    rate = grouped.mean().unstack(x)  # row 0 (the smallest y bin) at the bottom, as on a y axis
    count = grouped.size().unstack(x).reindex_like(rate).to_numpy()
    values = np.ma.masked_invalid(rate.to_numpy(dtype=float))
    ax.set_facecolor("#EDEDED")
    ax.grid(False)
    # pcolormesh rather than seaborn's heatmap, which draws the whole figure once more to check its labels
    cmap = escape_cmap()
    mesh = ax.pcolormesh(values, cmap=cmap, vmin=0, vmax=1, edgecolors="white", linewidth=0.5)
    for (i, j), n in np.ndenumerate(count):
        if n:
            r, g, b, _ = cmap(float(values[i, j]))
            ink = "#111111" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.408 else "#ffffff"
            ax.text(j + 0.5, i + 0.5, f"{values[i, j]:.0%}\nn={n}", ha="center", va="center", fontsize=7.5, color=ink)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="share that escaped (fit)", format="{x:.0%}")
    ax.set_xticks(np.arange(rate.shape[1]) + 0.5, [str(c) for c in rate.columns], rotation=30, ha="right")
    ax.set_yticks(np.arange(rate.shape[0]) + 0.5, [str(i) for i in rate.index], rotation=0)
    ax.set_xlim(0, rate.shape[1])
    ax.set_ylim(0, rate.shape[0])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    return ax


def escape_cmap():
    """White to the fit colour: the greener a cell, the more of its trials escaped."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("escape", ["#FFFFFF", "#BFE6D9", MODE_COLORS["fit"], "#00513B"])


def escape_heatmaps(settings, x: str, y: str, col: str | None = None, fig=None, **labels: str):
    """:func:`escape_heatmap` faceted by the values of ``col`` (one shared colour bar).

    Drawn into ``fig`` (cleared) or a new figure; returns the Figure.
    """
    values = [None] if col is None else [v for v in settings[col].cat.categories if (settings[col] == v).any()]
    panel = max(3.5, 0.62 * len(settings[x].cat.categories) + 1.2)
    fig, axes = _panels(fig, panel * len(values) + 1.2, 0.55 * len(settings[y].cat.categories) + 2.2,
                        ncols=len(values), squeeze=False, sharey=True)
    for i, (ax, value) in enumerate(zip(axes.flat, values)):
        part = settings if value is None else settings[settings[col] == value]
        escape_heatmap(part, x, y, ax=ax, colorbar=i == len(values) - 1, **labels)
        if value is not None:
            ax.set_title(f"{col}={value}  ({_trials(len(part))})", fontsize=10, y=TITLE_Y)
        if i:
            ax.set_ylabel("")
    return fig


# --- importance --------------------------------------------------------------------------------


def importance_bars(importances, target: str, ax=None, order: list[str] | None = None):
    """Horizontal bars of one target's importances (``importances_frame``), in ``order`` (top first).

    A setting without contrast reads "no contrast: the sampler chose ... in ...% of trials" instead of a
    number; one whose target had no contrast at all reads "n/a". Returns the Axes.
    """
    ax = _axes(ax, 4, 4)
    if order is None:
        rows = importances[importances["target"] == target]
        order = list(rows.set_index("param")["importance"].sort_values(ascending=False).index)
    values, flat, texts = importance_labels(importances, target, order)
    y = np.arange(len(order))[::-1]
    ax.barh(y, np.where(flat, 0, np.nan_to_num(values)), color=IMPORTANCE_COLORS.get(target, "#555555"), height=0.7)
    for yi, v, no, text in zip(y, values, flat, texts):
        ax.text((0 if no or np.isnan(v) else v) + 0.01, yi, text, va="center", fontsize=8,
                color="#777777" if no else "#111111", style="italic" if no else "normal")
    ax.set_yticks(y, order)
    ax.set_xlim(0, max(0.1, np.nanmax(values, initial=0) * 1.2))
    ax.set_xlabel("importance (PED-ANOVA, sums to 1)")
    ax.grid(axis="y", visible=False)
    return ax


def importance_labels(importances, target: str, order: list[str]):
    """One target's importances in ``order``: (values, which settings have no contrast, each bar's text: its value,
    "no contrast: the sampler chose ... in ...% of trials", or "n/a" where the target had no contrast at all)."""

    rows = importances[importances["target"] == target].set_index("param").reindex(order)
    values = rows["importance"].to_numpy(dtype=float)
    flat = ~rows["contrast"].fillna(True).astype(bool).to_numpy() if "contrast" in rows else np.zeros(len(rows), bool)
    texts = [no_contrast_text(row) if no else "n/a" if np.isnan(v) else f"{v:.2f}"
             for v, no, (_, row) in zip(values, flat, rows.iterrows())]
    return values, flat, texts


IMPORTANCE_TITLES = {"objective": "for the objective (best tenth of trials)", "escape": "for escaping (mode fit)"}


def importance_order(importances) -> list[str]:
    """The settings by their two importances' sum, largest first: the one order of both panels."""
    by = {t: importances[importances["target"] == t].set_index("param")["importance"] for t in IMPORTANCE_TITLES}
    return list((by["escape"].fillna(0) + by["objective"].fillna(0)).sort_values(ascending=False, kind="stable").index)


def importance_panels(importances, fig=None):
    """Importances for the objective and for escaping, side by side, on one parameter order.

    Drawn into ``fig`` (cleared) or a new figure; returns the Figure.
    """
    order = importance_order(importances)
    fig, axes = _panels(fig, 11, 0.32 * len(order) + 1.3, ncols=2, sharey=True)
    for ax, (target, heading) in zip(axes, IMPORTANCE_TITLES.items()):
        importance_bars(importances, target, ax=ax, order=order)
        ax.set_title(heading, fontsize=10, y=TITLE_Y)
    return fig


# --- function space ----------------------------------------------------------------------------


def _trials(n: int) -> str:
    return f"{n} trial" if n == 1 else f"{n} trials"


def _y_limits(predictions, data=None) -> tuple[float, float]:
    """The target's (and data's) range with a margin: wild predictions leave the plot, not squash it.
    Without either (no known target, no data), the predictions' own range."""
    target = predictions.loc[predictions["source"] == "target", "y"]
    ys = np.r_[target.to_numpy(dtype=float), data["y"].to_numpy(dtype=float) if data is not None else []]
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


def _prediction_line(ax, rows, label: str, **style) -> None:
    mode = rows["mode"].iloc[0]
    ax.plot(rows["x"], rows["y"], color=MODE_COLORS.get(mode, "#555555"), label=label, **style)


def function_space(predictions, data=None, ax=None, number: int | None = None, *,
                   xlabel: str = "x (the study's input)", data_label: str = "training data"):
    """The target (where the study knows it), the data, the question's config's fit and trial ``number``'s fit
    on one axes; returns the Axes.

    ``number`` defaults to the trial with the lowest value (the lowest number on a tie), the rule of
    :func:`sweeps.results.reading.best_trial`. ``data`` rows with a ``split`` column show their training rows.
    """
    ax = _axes(ax, 9, 4.5)
    if data is not None:
        train = data[data["split"] == "train"] if "split" in data else data
        ax.scatter(train["x"], train["y"], s=9, color=DATA_COLOR, alpha=0.8, linewidths=0, label=data_label,
                   zorder=1)
    target = _known_target(predictions)
    if target is not None:
        # the target is drawn thin and on top, so that a perfect fit shows as a band around it, not hiding it
        ax.plot(target["x"], target["y"], color=TARGET_COLOR, lw=1.3, label="true target", zorder=6)
    base = predictions[predictions["source"] == "baseline"]
    if len(base):
        _prediction_line(ax, base, f"the question's config: {base['mode'].iloc[0]}, value {base['value'].iloc[0]:.3g}",
                         lw=2, ls="--", zorder=4)
    trials = predictions[predictions["source"] == "trial"]
    if len(trials):
        first = trials.drop_duplicates("number").sort_values(["value", "number"], kind="stable")
        number = int(first["number"].iloc[0]) if number is None else number
        best = trials[trials["number"] == number]
        _prediction_line(ax, best, f"best trial #{number}: {best['mode'].iloc[0]}, value {best['value'].iloc[0]:.3g}",
                         lw=3.5, alpha=0.85, zorder=5)
    ax.set_ylim(*_y_limits(predictions, data))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("y (the study's target)")
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    return ax


def slices(predictions, near=None, fig=None, number: int | None = None, ncols: int = 3):
    """d > 1 inputs: one :func:`function_space` panel per input, along its slice of the grid (the other inputs
    at their training medians), with the training rows nearest the slice (``near``, a
    :func:`sweeps.results.frames.slice_rows` frame) as dots.

    Drawn into ``fig`` (cleared) or a new figure; returns the Figure.
    """
    feature_ids = sorted(int(j) for j in predictions["feature"].unique())
    ncols = min(ncols, len(feature_ids))
    nrows = -(-len(feature_ids) // ncols)
    fig, axes = _panels(fig, 5.2 * ncols, 3.8 * nrows, nrows=nrows, ncols=ncols, squeeze=False)
    for ax, j in zip(axes.flat, feature_ids):
        rows = near[near["feature"] == j] if near is not None else None
        function_space(predictions[predictions["feature"] == j], rows, ax=ax, number=number,
                       xlabel=f"x{j + 1} (the other inputs at their medians)", data_label="training rows near the slice")
        if j:
            ax.get_legend().remove()  # one legend, on the first panel: the lines are the same nets
    for ax in axes.flat[len(feature_ids):]:
        ax.set_visible(False)
    return fig


def _held_out_limits(rows) -> tuple[float, float]:
    """The actual values' range with a margin (predictions far off leave the plot, as in function space)."""
    lo, hi = float(rows["actual"].min()), float(rows["actual"].max())
    pad = 0.15 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _diagonal(ax, lo: float, hi: float) -> None:
    ax.plot([lo, hi], [lo, hi], color=TARGET_COLOR, lw=1, ls="--", label="predicted = actual", zorder=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)


def predicted_actual(held_out, ax=None, number: int | None = None):
    """Each held-out row's prediction against its actual value (``held_out_frame``): trial ``number``'s net
    (default: the best trial) and the question's config's, with the diagonal of a perfect fit; returns the Axes."""
    ax = _axes(ax, 5.5, 5.5)
    if not len(held_out):
        return ax
    lo, hi = _held_out_limits(held_out)
    _diagonal(ax, lo, hi)
    ax.set_aspect("equal", adjustable="box")  # alone on its figure: square (in a row of panels it clips the titles)
    trials = held_out[held_out["source"] == "trial"]
    if number is None and len(trials):
        number = int(trials.sort_values(["value", "number"], kind="stable")["number"].iloc[0])
    for rows, label, marker, size in (
            (held_out[held_out["source"] == "baseline"], "the question's config", "x", 22),
            (trials[trials["number"] == number], f"best trial #{number}", "o", 16)):
        if len(rows):
            mode = rows["mode"].iloc[0]
            ax.scatter(rows["actual"], rows["predicted"].clip(lo, hi), s=size, marker=marker, alpha=0.8,
                       color=MODE_COLORS.get(mode, "#555555"), linewidths=1 if marker == "x" else 0,
                       label=f"{label}: {mode}, value {rows['value'].iloc[0]:.3g}", zorder=3)
    ax.set_xlabel("actual y (held-out rows)")
    ax.set_ylabel("predicted y")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    return ax


def held_out_gallery(held_out, fig=None):
    """Small multiples: for each mode, its median trial's held-out predictions against the actual values.

    Drawn into ``fig`` (cleared) or a new figure; returns the Figure.
    """
    fig, axes = _panels(fig, 15, 3.4, ncols=len(MODES), sharex=True, sharey=True)
    trials = held_out[held_out["source"] == "trial"]
    picks = representatives(trials)
    counts = trials.drop_duplicates("number")["mode"].value_counts()
    lo, hi = _held_out_limits(held_out) if len(held_out) else (-1.0, 1.0)
    for ax, mode in zip(axes, BEST_FIRST):
        _diagonal(ax, lo, hi)
        if mode in picks:
            rows = trials[trials["number"] == picks[mode]]
            ax.scatter(rows["actual"], rows["predicted"].clip(lo, hi), s=6, color=MODE_COLORS[mode], alpha=0.8,
                       linewidths=0, zorder=3)
            note = f"trial #{picks[mode]}, value {rows['value'].iloc[0]:.3g}"
            off = int(((rows["predicted"] < lo) | (rows["predicted"] > hi)).sum())
            if rows["predicted"].isna().all():
                note += "\nno finite prediction"
            elif off:
                note += f"\n{off} of {len(rows)} beyond the plot, drawn at its edge"
            ax.text(0.03, 0.97, note, transform=ax.transAxes, va="top", fontsize=8,
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
        else:
            ax.text(0.5, 0.5, "no trial ended here", transform=ax.transAxes, ha="center", color="#888888")
        ax.set_title(f"{mode} ({_trials(counts.get(mode, 0))})", color=MODE_COLORS[mode], fontweight="bold")
        ax.set_xlabel("actual y")
    axes[0].set_ylabel("predicted y (held-out rows)")
    return fig


def representatives(predictions) -> dict[str, int]:
    """Per mode, the trial with the median value among that mode's trials (lower number on ties)."""
    trials = predictions[predictions["source"] == "trial"].drop_duplicates("number")
    out = {}
    for mode, group in trials.groupby("mode"):
        ranked = group.sort_values(["value", "number"], kind="stable")
        out[mode] = int(ranked["number"].iloc[(len(ranked) - 1) // 2])
    return out


def mode_gallery(predictions, data=None, fig=None):
    """Small multiples: one representative fit per mode (the mode's median trial) against the target
    (where the study knows it) and the training data.

    Drawn into ``fig`` (cleared) or a new figure; returns the Figure.
    """
    fig, axes = _panels(fig, 15, 3.2, ncols=len(MODES), sharex=True, sharey=True)
    picks = representatives(predictions)
    counts = predictions[predictions["source"] == "trial"].drop_duplicates("number")["mode"].value_counts()
    target = _known_target(predictions)
    lo, hi = _y_limits(predictions, data)
    for ax, mode in zip(axes, BEST_FIRST):
        if data is not None:
            train = data[data["split"] == "train"]
            ax.scatter(train["x"], train["y"], s=3, color=DATA_COLOR, alpha=0.5, linewidths=0)
        if target is not None:
            ax.plot(target["x"], target["y"], color=TARGET_COLOR, lw=1.1, zorder=3)
        if mode in picks:
            rows = predictions[(predictions["source"] == "trial") & (predictions["number"] == picks[mode])]
            ax.plot(rows["x"], rows["y"], color=MODE_COLORS[mode], lw=3, alpha=0.85, zorder=2)
            outside = ((rows["y"] < lo) | (rows["y"] > hi) | rows["y"].isna()).mean()
            note = f"trial #{picks[mode]}, value {rows['value'].iloc[0]:.3g}"
            if rows["y"].isna().all():
                note += "\nno finite prediction"
            elif outside > 0.5:
                note += "\nprediction mostly off the plot"
            ax.text(0.03, 0.97, note, transform=ax.transAxes, va="top", fontsize=8,
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
        else:
            ax.text(0.5, 0.5, "no trial ended here", transform=ax.transAxes, ha="center", color="#888888")
        ax.set_title(f"{mode} ({_trials(counts.get(mode, 0))})", color=MODE_COLORS[mode], fontweight="bold")
        ax.set_ylim(lo, hi)
        ax.set_xlabel("x")
    axes[0].set_ylabel("y")
    return fig


# --- learning ----------------------------------------------------------------------------------


def _references(ax, references: dict[str, float | None] | None, orientation: str = "h") -> None:
    for name, value in (references or {}).items():
        if value is None or not np.isfinite(value) or value <= 0:
            continue
        line = ax.axhline if orientation == "h" else ax.axvline
        line(value, color="#444444", lw=1, ls=REFERENCE_STYLES.get(name, "-"), label=name, zorder=2)


def curve_picks(curves, per_mode: int = 12) -> dict:
    """Per mode (fit first): (the mode's trials, one row each, best value first; [(number, its validation
    curve without missing losses)] of ``per_mode`` of them spread evenly over their values, best to worst)."""
    val = curves[(curves["source"] == "trial") & (curves["split"] == "val")]
    out = {}
    for mode in BEST_FIRST:
        runs = val[val["mode"] == mode].drop_duplicates("number").sort_values(["value", "number"], kind="stable")
        picked = runs["number"].iloc[np.unique(np.linspace(0, len(runs) - 1, min(per_mode, len(runs))).round().astype(int))]
        out[mode] = (runs, [(number, rows.dropna(subset=["rel"]))
                            for number, rows in val[val["number"].isin(picked)].groupby("number")])
    return out


def learning_curves(curves, per_mode: int = 12, references: dict[str, float | None] | None = None, fig=None):
    """Validation loss (relative to var(y)) against step, one panel per mode, ``per_mode`` trials each
    (spread evenly over the mode's values, best to worst), log scale; dashed reference lines.

    Drawn into ``fig`` (cleared) or a new figure; returns the Figure.
    """
    fig, axes = _panels(fig, 15, 3.4, ncols=len(MODES), sharey=True, sharex=True)
    for ax, (mode, (runs, picked)) in zip(axes, curve_picks(curves, per_mode).items()):
        clipped = False
        for _, rows in picked:
            clipped |= bool((rows["rel"] > CURVE_CLIP).any())
            # the dot marks where the run ended: early for a plateau stop or a divergence
            ax.plot(rows["step"], rows["rel"].clip(upper=CURVE_CLIP), color=MODE_COLORS[mode], lw=1, alpha=0.75,
                    marker="o", markersize=3, markevery=[len(rows) - 1] if len(rows) else None)
        if clipped:
            ax.text(0.97, 0.97, f"losses above {CURVE_CLIP:g} drawn at {CURVE_CLIP:g}", transform=ax.transAxes,
                    ha="right", va="top", fontsize=7.5, color="#555555")
        if not len(runs):
            ax.text(0.5, 0.5, "no trial ended here", transform=ax.transAxes, ha="center", color="#888888")
        _references(ax, references)
        ax.set_yscale("log")
        ax.set_title(f"{mode} ({len(picked)} of {len(runs)})", color=MODE_COLORS[mode], fontweight="bold", y=TITLE_Y)
        ax.set_xlabel("training step")
    axes[0].set_ylabel(OBJECTIVE_LABEL)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside upper center", ncols=len(handles), frameon=False, fontsize=8)
    return fig


def history(trials, ax=None, references: dict[str, float | None] | None = None):
    """Each completed trial's value against its number, coloured by mode, with the best so far; log scale.
    Returns the Axes."""
    ax = _axes(ax, 10, 4)
    done = trials[trials["state"] == "COMPLETE"].sort_values("number")
    ax.scatter(done["number"], done["value"], c=[MODE_COLORS.get(m, TARGET_COLOR) for m in done["mode"]], s=22,
               linewidths=0, zorder=3)  # one collection, in sampling order; the legend's markers below
    for mode in BEST_FIRST:
        if (done["mode"] == mode).any():
            ax.scatter([], [], color=MODE_COLORS[mode], s=22, linewidths=0, label=mode)
    ax.step(done["number"], done["value"].cummin(), where="post", color=TARGET_COLOR, lw=1.5, label="best so far",
            zorder=4)
    _references(ax, references)
    ax.set_yscale("log")
    ax.set_xlabel("trial number (order of sampling)")
    ax.set_ylabel(OBJECTIVE_LABEL)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return ax
