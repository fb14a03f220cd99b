"""Figures written as SVG text, without matplotlib: the ones a page can draw with rectangles, lines and dots.

    >>> markup = mode_map_svg(levers)                        # :func:`sweeps.frames.levers_frame`
    >>> markup = mode_gallery_svg(predictions, data)         # :func:`sweeps.frames.predictions_frame`
    >>> markup = learning_curves_svg(curves, references)     # :func:`sweeps.frames.curves_frame`
    >>> markup = history_svg(trials, references, key=True)   # :func:`sweeps.frames.trials_frame`

They draw what :func:`sweeps.plots.mode_map`, :func:`~sweeps.plots.mode_gallery`,
:func:`~sweeps.plots.learning_curves` and :func:`~sweeps.plots.history` draw, in the same colours, as a few
hundred elements the browser lays out, with tooltips giving their numbers: no figure to lay out, no pixels
to encode. The report and the running page inline them, and the report also writes them to
``figures/*.svg``; the matplotlib versions stay for notebooks. Text has no font metrics here, so widths
are reckoned from character counts (:data:`CHAR_WIDTH`).
"""

from __future__ import annotations

import html
import math

from sweeps import frames as tidy
from sweeps.page import fmt
from sweeps.plots import BEST_FIRST, MODE_COLORS, REFERENCE_STYLES, TARGET_COLOR, setting_rows

FONT = 'font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"'
CHAR_WIDTH = 6.4
"""A generous mean width of a character at 11 px in a sans-serif font, for laying out labels."""
SVG_DASHES = {":": "2,3", "--": "6,4", "-.": "1,2,5,2", "-": "none"}
"""matplotlib's line styles (plots.REFERENCE_STYLES: a reference line's style by its name) as SVG dash arrays."""


def _svg(css_class: str, width: float, height: float, label: str, parts: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="{width:.0f}" height="{height:.0f}" font-size="11" {FONT} fill="#262626" role="img" '
            f'aria-label="{html.escape(label)}">{"".join(parts)}</svg>')


# --- how each setting's trials ended ----------------------------------------------------------------------

PANEL_WIDTH = 330
"""One panel's width in CSS pixels; three a row fill the page's 1000-pixel column."""
ROW = 19
"""One bar's height with its gap."""
COUNTS_WIDTH = 96
"""Room at a bar's right for "n=120, 100% fit"."""


def mode_map_svg(levers, params: list[str] | None = None, ncols: int = 3) -> str:
    """One panel per parameter (all of ``levers``, a :func:`sweeps.frames.levers_frame`, by default): a 100%-stacked
    bar of the modes of each of its values or bins, fit first, with its trial count and the share that escaped;
    categorical values sorted by escape rate (best on top), numeric bins in their order; an unsampled value
    an empty bar. A key to the modes on top. What :func:`sweeps.plots.mode_map` draws."""
    from sweeps.space import title

    params = list(dict.fromkeys(levers["param"])) if params is None else params
    panels = [(param, title(param), setting_rows(levers, param)) for param in params]
    labels = [str(v) for *_, rows in panels for v in rows["value"]]
    label_width = 8 + CHAR_WIDTH * max(map(len, labels), default=4)
    bar_width = max(60.0, PANEL_WIDTH - label_width - COUNTS_WIDTH - 12)
    key_height = 34
    parts = _mode_key(ncols * PANEL_WIDTH)
    top = key_height
    for start in range(0, len(panels), ncols):
        line = panels[start:start + ncols]
        height = 26 + ROW * max(len(rows) for *_, rows in line) + 18
        for column, (param, name, rows) in enumerate(line):
            parts.append(_mode_panel(param, name, rows, column * PANEL_WIDTH, top, label_width, bar_width))
        top += height + 10
    return _svg("mode-map", ncols * PANEL_WIDTH, top, "failure modes by setting", parts)


def _mode_key(width: float) -> list[str]:
    """The modes' colours in a row, centred, under a line saying what the bars and numbers are."""
    return [f'<text x="{width / 2:.0f}" y="12" text-anchor="middle">failure mode (share of trials per setting; '
            "numbers: trials, and the share that escaped)</text>",
            *_key_row(width, [(MODE_COLORS[m], m) for m in BEST_FIRST], 19)]


def _mode_panel(param: str, name: str, rows, x0: float, y0: float, label_width: float, bar_width: float) -> str:
    """One parameter's bars, its title ``name`` above them, a 0-100% axis below, at (x0, y0)."""
    left = x0 + label_width
    bottom = y0 + 26 + ROW * len(rows)
    parts = [f'<text x="{x0 + 4}" y="{y0 + 14}" font-weight="bold" font-size="12">{html.escape(name)}</text>']
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + share * bar_width
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0 + 22}" y2="{bottom}" stroke="#e6e6e6"/>')
    for share in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{left + share * bar_width:.1f}" y="{bottom + 13}" text-anchor="middle" '
                     f'font-size="10" fill="#666">{share:.0%}</text>')
    for i, row in enumerate(rows.itertuples(index=False)):
        y = y0 + 26 + ROW * i
        n = int(row.trials)
        value = html.escape(str(row.value))
        parts.append(f'<text x="{left - 6:.1f}" y="{y + 12}" text-anchor="end">{value}</text>')
        at = left
        for mode in BEST_FIRST:
            count = int(getattr(row, mode))
            if n and count:
                w = bar_width * count / n
                parts.append(f'<rect x="{at:.2f}" y="{y + 2}" width="{w:.2f}" height="{ROW - 5}" '
                             f'fill="{MODE_COLORS[mode]}" stroke="#fff" stroke-width="0.5"><title>{param} = {value}: {mode} in '
                             f"{count} of {n} trials</title></rect>")
                at += w
        text = f"n={n}, {row.escape_rate:.0%} fit" if n else "not sampled"
        parts.append(f'<text x="{left + bar_width + 6:.1f}" y="{y + 12}" font-size="10" '
                     f'fill="{"#333" if n else "#999"}">{text}</text>')
    return "".join(parts)


# --- every trial's value in sampling order --------------------------------------------------------------

WIDTH, HEIGHT = 880, 280
"""The history's size in CSS pixels."""
MARGIN = {"left": 56, "right": 136, "top": 12, "bottom": 40}
"""The right margin holds the reference lines' names, clear of the dots."""
LOG_RANGE = (-6.0, 3.0)
"""log10 of the smallest and largest value drawn; values beyond are drawn at the edge."""


def _drawable(v) -> bool:
    """Whether a value has a place on the log axis."""
    return v is not None and math.isfinite(v) and v > 0


def history_svg(trials, references: dict[str, float | None], total: int | None = None, key: bool = False) -> str:
    """Each completed trial's value (log scale) against its number, coloured by mode, the best so far as a step
    line, and dashed reference lines; the x axis runs to ``total`` when it is known, so the page shows how
    far the sweep is; ``key``: the modes' colours above it. ``trials``: a :func:`sweeps.frames.trials_frame`.
    What :func:`sweeps.plots.history` draws."""
    done = tidy.complete(trials).sort_values("number")
    values = [(int(n), float(v), m) for n, v, m in zip(done["number"], done["value"], done["mode"]) if _drawable(v)]
    finite = [v for _, v, _ in values] + [r for r in references.values() if _drawable(r)]
    low = max(LOG_RANGE[0], math.floor(math.log10(min(finite)))) if finite else -3.0
    high = min(LOG_RANGE[1], math.ceil(math.log10(max(finite)))) if finite else 1.0
    high = max(high, low + 1)
    last = max([total or 0, *(n + 1 for n, _, _ in values), 1])
    x0, x1 = MARGIN["left"], WIDTH - MARGIN["right"]
    y0, y1 = HEIGHT - MARGIN["bottom"], MARGIN["top"]

    def x(n: float) -> float:
        return x0 + (x1 - x0) * n / last

    def y(v: float) -> float:
        e = min(max(math.log10(v), low), high)
        return y0 + (y1 - y0) * (e - low) / (high - low)

    parts = [f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" stroke="#999"/>']
    for e in range(int(low), int(high) + 1):  # a tick and a faint grid line per power of ten
        parts.append(f'<line x1="{x0}" x2="{x1}" y1="{y(10.0**e):.1f}" y2="{y(10.0**e):.1f}" stroke="#eee"/>'
                     f'<text x="{x0 - 6}" y="{y(10.0**e) + 4:.1f}" text-anchor="end">1e{e}</text>')
    for n in _ticks(last):
        parts.append(f'<text x="{x(n):.1f}" y="{y0 + 16}" text-anchor="middle">{n}</text>')
    parts.append(f'<text x="{(x0 + x1) / 2}" y="{HEIGHT - 6}" text-anchor="middle">trial number (order of sampling)'
                 "</text>")
    parts.append(f'<text transform="translate(14 {(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">'
                 "validation MSE / var(y)</text>")
    for name, value in references.items():
        if _drawable(value) and low <= math.log10(value) <= high:
            dash = SVG_DASHES[REFERENCE_STYLES.get(name, "-.")]
            parts.append(f'<line x1="{x0}" x2="{x1}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#444" '
                         f'stroke-dasharray="{dash}"><title>{html.escape(name)}: {fmt(value)}</title></line>'
                         f'<text x="{x1 + 6}" y="{y(value) + 4:.1f}" fill="#444">'
                         f"{html.escape(name)}</text>")
    for n, v, m in values:
        parts.append(f'<circle cx="{x(n + 0.5):.1f}" cy="{y(v):.1f}" r="3" fill="{MODE_COLORS.get(m, "#000")}">'
                     f"<title>trial #{n}: {fmt(v)} ({html.escape(str(m))})</title></circle>")
    best, steps = math.inf, []
    for n, v, _ in values:
        if v < best:
            best = v
            steps.append((n, v))
    if steps:
        points = []
        for (n, v), (n_next, _) in zip(steps, [*steps[1:], (values[-1][0] + 1, None)]):
            points += [f"{x(n + 0.5):.1f},{y(v):.1f}", f"{x(n_next + 0.5):.1f},{y(v):.1f}"]
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{TARGET_COLOR}" stroke-width="1.5">'
                     "<title>best so far</title></polyline>")
    if not key:
        return _svg("history", WIDTH, HEIGHT, "history of trial values", parts)
    present = [m for m in BEST_FIRST if any(mode == m for _, _, mode in values)]
    row = _key_row(WIDTH, [(MODE_COLORS[m], m) for m in present] + [(TARGET_COLOR, "best so far")], 4)
    return _svg("history", WIDTH, HEIGHT + 24, "history of trial values",
                [*row, '<g transform="translate(0 24)">', *parts, "</g>"])


def _key_row(width: float, items: list[tuple[str, str]], y: float) -> list[str]:
    """A square of each (colour, name) and the name, in a row centred across ``width``, its top at ``y``."""
    widths = [22 + CHAR_WIDTH * len(name) for _, name in items]
    x = (width - sum(widths)) / 2
    parts = []
    for (color, name), w in zip(items, widths):
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{x + 16:.1f}" y="{y + 10}">{html.escape(name)}</text>')
        x += w
    return parts


# --- small multiples: one panel per mode ---------------------------------------------------------------

GRID_WIDTH = 1000
"""The small multiples' width in CSS pixels: five panels of the page's column."""
GRID = {"left": 58, "gap": 26, "top": 30, "title": 20, "height": 190, "bottom": 38}
"""Room for the y tick labels and axis label (left of the first panel), between panels, for the key, the
panels' titles, each plot, and the x tick labels and axis label below."""


class _Panel:
    """One plot's area on the page, at (left, top), ``width`` by ``height``: x linear over ``xlim``, y linear or
    log10 over ``ylim`` (for a log axis, the powers of ten at its ends). What :meth:`clipped` wraps is cut at the
    area's edges; ``clip_id``: the id of its clip path, unique in the page (every inline SVG shares its ids)."""

    def __init__(self, left: float, top: float, width: float, height: float, xlim, ylim, ylog: bool = False,
                 clip_id: str = ""):
        self.left, self.top, self.width, self.height = left, top, width, height
        self.xlim, self.ylim, self.ylog, self.clip_id = xlim, ylim, ylog, clip_id

    def x(self, v: float) -> float:
        lo, hi = self.xlim
        return self.left + self.width * ((v - lo) / (hi - lo) if hi > lo else 0.5)

    def y(self, v: float) -> float:
        lo, hi = self.ylim
        e = math.log10(v) if self.ylog else v
        e = min(max(e, lo - (hi - lo)), hi + (hi - lo))  # beyond: a height past the edge, cut by the clip path
        return self.top + self.height * (1 - ((e - lo) / (hi - lo) if hi > lo else 0.5))

    def path(self, points) -> str:
        """SVG path data through ``points`` (x, y): a gap where a y has no place on the axis."""
        d, pen = [], "M"
        for xv, yv in points:
            if not (math.isfinite(xv) and yv is not None and math.isfinite(yv) and (yv > 0 or not self.ylog)):
                pen = "M"
                continue
            d.append(f"{pen}{self.x(xv):.1f},{self.y(yv):.1f}")
            pen = "L"
        return "".join(d)

    def dots(self, points, color: str, size: float) -> str:
        """Points as round dots of ``size`` pixels, one path (no element a point)."""
        d = "".join(f"M{self.x(xv):.1f},{self.y(yv):.1f}h0" for xv, yv in points
                    if math.isfinite(xv) and math.isfinite(yv) and (yv > 0 or not self.ylog))
        return (f'<path d="{d}" stroke="{color}" stroke-width="{size}" stroke-linecap="round" opacity="0.6"/>'
                if d else "")

    def axes(self, xticks, yticks, labels: bool) -> str:
        """The frame, a grid line and label per tick (y labels on the first panel only)."""
        right, bottom = self.left + self.width, self.top + self.height
        parts = [f'<rect x="{self.left:.1f}" y="{self.top}" width="{self.width:.1f}" height="{self.height}" '
                 'fill="none" stroke="#999"/>']
        if self.clip_id:
            parts.append(f'<clipPath id="{self.clip_id}"><rect x="{self.left:.1f}" y="{self.top}" '
                         f'width="{self.width:.1f}" height="{self.height}"/></clipPath>')
        for v, text in yticks:
            yv = self.y(v)
            parts.append(f'<line x1="{self.left}" x2="{right}" y1="{yv:.1f}" y2="{yv:.1f}" stroke="#eee"/>')
            if labels:
                parts.append(f'<text x="{self.left - 5}" y="{yv + 4:.1f}" text-anchor="end" font-size="10">{text}</text>')
        for v, text in xticks:
            xv = self.x(v)
            parts.append(f'<line x1="{xv:.1f}" x2="{xv:.1f}" y1="{self.top}" y2="{bottom}" stroke="#f2f2f2"/>'
                         f'<text x="{xv:.1f}" y="{bottom + 13}" text-anchor="middle" font-size="10">{text}</text>')
        return "".join(parts)

    def clipped(self, markup: str) -> str:
        """``markup`` cut at the plot's edges."""
        return f'<g clip-path="url(#{self.clip_id})">{markup}</g>' if self.clip_id and markup else markup

    def note(self, text: str, corner: str = "left", color: str = "#262626") -> str:
        """Lines of ``text`` in a top corner of the plot, on a white ground."""
        lines = text.split("\n")
        width = 8 + 5.2 * max(map(len, lines))
        x = self.left + 5 if corner == "left" else self.left + self.width - 5 - width
        parts = [f'<rect x="{x:.1f}" y="{self.top + 4}" width="{width:.1f}" height="{4 + 12 * len(lines)}" '
                 'fill="#fff" opacity="0.85"/>']
        parts += [f'<text x="{x + 4:.1f}" y="{self.top + 14 + 12 * i}" font-size="9.5" fill="{color}">'
                  f"{html.escape(line)}</text>" for i, line in enumerate(lines)]
        return "".join(parts)

    def centre(self, text: str) -> str:
        return (f'<text x="{self.left + self.width / 2:.1f}" y="{self.top + self.height / 2:.1f}" '
                f'text-anchor="middle" fill="#888">{html.escape(text)}</text>')


def _grid(name: str, n: int, xlim, ylim, ylog: bool = False) -> list[_Panel]:
    """``n`` panels in a row across GRID_WIDTH, under the key; ``name``: the figure's, for the clip paths' ids."""
    width = (GRID_WIDTH - GRID["left"] - 18 - GRID["gap"] * (n - 1)) / n
    top = GRID["top"] + GRID["title"]
    return [_Panel(GRID["left"] + i * (width + GRID["gap"]), top, width, GRID["height"], xlim, ylim, ylog,
                   f"{name}-{i}") for i in range(n)]


def _grid_svg(css_class: str, label: str, panels: list[_Panel], titles, xlabel: str, ylabel: str,
              parts: list[str]) -> str:
    """The panels' titles (text, colour) and axis labels around ``parts``, as one SVG."""
    height = GRID["top"] + GRID["title"] + GRID["height"] + GRID["bottom"]
    for panel, (text, color) in zip(panels, titles):
        parts.append(f'<text x="{panel.left + panel.width / 2:.1f}" y="{panel.top - 7}" text-anchor="middle" '
                     f'font-weight="bold" font-size="12" fill="{color}">{html.escape(text)}</text>'
                     f'<text x="{panel.left + panel.width / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                     f"{html.escape(xlabel)}</text>")
    middle = panels[0].top + panels[0].height / 2
    parts.append(f'<text transform="translate(14 {middle:.1f}) rotate(-90)" text-anchor="middle">'
                 f"{html.escape(ylabel)}</text>")
    return _svg(css_class, GRID_WIDTH, height, label, parts)


def linear_ticks(lo: float, hi: float, most: int = 5) -> list[tuple[float, str]]:
    """At most ``most`` + 1 round values (1, 2 or 5 times a power of ten apart) in [lo, hi], with their labels."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [(lo, fmt(lo))] if math.isfinite(lo) else []
    k = math.floor(math.log10((hi - lo) / most))
    step = next(m * 10.0**k for m in (1, 2, 5, 10, 20) if (hi - lo) / (m * 10.0**k) <= most)
    decimals = max(0, -math.floor(math.log10(step)))
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    for i in range(first, math.floor(hi / step + 1e-9) + 1):
        v = i * step
        ticks.append((v, f"{v:.{decimals}f}"))
    return ticks


def log_ticks(low: int, high: int) -> list[tuple[float, str]]:
    """The powers of ten from 10**low to 10**high, at most ten of them (every other one, and so on, beyond)."""
    every = max(1, math.ceil((high - low + 1) / 10))
    return [(10.0**e, f"1e{e}") for e in range(low, high + 1, every)]


def _reference_key(references: dict[str, float | None], width: float) -> list[str]:
    """A dashed line and the name of each drawable reference, in a row, centred at the top."""
    drawn = [(name, value) for name, value in references.items() if _drawable(value)]
    widths = [34 + CHAR_WIDTH * len(name) for name, _ in drawn]
    x = (width - sum(widths)) / 2
    parts = []
    for (name, _), w in zip(drawn, widths):
        dash = SVG_DASHES[REFERENCE_STYLES.get(name, "-.")]
        parts.append(f'<line x1="{x:.1f}" x2="{x + 24:.1f}" y1="14" y2="14" stroke="#444" stroke-dasharray="{dash}"/>'
                     f'<text x="{x + 28:.1f}" y="18">{html.escape(name)}</text>')
        x += w
    return parts


def learning_curves_svg(curves, references: dict[str, float | None], per_mode: int = 12) -> str:
    """Validation loss (relative to var(y), log scale) against step, one panel per mode, ``per_mode`` trials
    each spread evenly over the mode's values, a dot where each run ended; the reference lines dashed.
    What :func:`sweeps.plots.learning_curves` draws. ``curves``: a :func:`sweeps.frames.curves_frame`."""
    from sweeps.plots import CURVE_CLIP, curve_picks

    picks = curve_picks(curves, per_mode)
    losses = [v for _, picked in picks.values() for _, rows in picked for v in rows["rel"] if _drawable(v)]
    losses += [r for r in references.values() if _drawable(r)]
    low = max(LOG_RANGE[0] - 2, math.floor(math.log10(min(losses)))) if losses else -3
    high = max(low + 1, math.ceil(math.log10(min(max(losses), CURVE_CLIP)))) if losses else 1
    steps = [s for _, picked in picks.values() for _, rows in picked for s in rows["step"]]
    panels = _grid("learning-curves", len(picks), (0.0, float(max(steps, default=1)) or 1.0), (low, high), ylog=True)
    parts = _reference_key(references, GRID_WIDTH)
    titles = []
    for i, (panel, (mode, (runs, picked))) in enumerate(zip(panels, picks.items())):
        parts.append(panel.axes(linear_ticks(*panel.xlim, most=4), log_ticks(low, high), labels=i == 0))
        for name, value in references.items():
            if _drawable(value) and low <= math.log10(value) <= high:
                parts.append(f'<line x1="{panel.left}" x2="{panel.left + panel.width:.1f}" y1="{panel.y(value):.1f}" '
                             f'y2="{panel.y(value):.1f}" stroke="#444" stroke-dasharray="'
                             f'{SVG_DASHES[REFERENCE_STYLES.get(name, "-.")]}"><title>{html.escape(name)}: '
                             f"{fmt(value)}</title></line>")
        clipped = False
        for number, rows in picked:
            points = [(float(s), min(float(v), CURVE_CLIP)) for s, v in zip(rows["step"], rows["rel"])]
            clipped |= bool((rows["rel"] > CURVE_CLIP).any())
            ends = [(xv, yv) for xv, yv in points if _drawable(yv)][-1:]
            tip = f"<title>trial #{number}: value {fmt(float(rows['value'].iloc[0]))}</title>" if len(rows) else ""
            parts.append(panel.clipped(f'<path d="{panel.path(points)}" fill="none" stroke="{MODE_COLORS[mode]}" '
                                       f'stroke-width="1.2" opacity="0.75">{tip}</path>'))
            parts += [f'<circle cx="{panel.x(xv):.1f}" cy="{panel.y(yv):.1f}" r="2.5" fill="{MODE_COLORS[mode]}"/>'
                      for xv, yv in ends]  # where the run ended: early for a plateau stop or a divergence
        if clipped:
            parts.append(panel.note(f"above {CURVE_CLIP:g}: drawn at {CURVE_CLIP:g}", "right", "#555"))
        if not len(runs):
            parts.append(panel.centre("no trial ended here"))
        titles.append((f"{mode} ({len(picked)} of {len(runs)})", MODE_COLORS[mode]))
    return _grid_svg("learning-curves", "validation loss during training, by failure mode", panels, titles,
                     "training step", "validation MSE / var(y)", parts)


def mode_gallery_svg(predictions, data=None) -> str:
    """One representative fit per mode (the mode's median trial) against the target (where the study knows
    it) and the training data. What :func:`sweeps.plots.mode_gallery` draws. ``predictions``: a
    :func:`sweeps.frames.predictions_frame` along one input; ``data``: the study's data frame."""
    from sweeps.plots import DATA_COLOR, _known_target, _trials, _y_limits, representatives

    picks = representatives(predictions)
    trials = predictions[predictions["source"] == "trial"]
    counts = trials.drop_duplicates("number")["mode"].value_counts()
    target = _known_target(predictions)
    lo, hi = _y_limits(predictions, data)
    xs = [float(v) for v in predictions["x"] if math.isfinite(v)]
    train = data[data["split"] == "train"] if data is not None else None
    if train is not None:
        xs += [float(v) for v in train["x"] if math.isfinite(v)]
    xlim = (min(xs), max(xs)) if xs else (0.0, 1.0)
    panels = _grid("mode-gallery", len(BEST_FIRST), xlim, (lo, hi))
    parts = []
    titles = []
    for i, (panel, mode) in enumerate(zip(panels, BEST_FIRST)):
        parts.append(panel.axes(linear_ticks(*xlim, most=4), linear_ticks(lo, hi), labels=i == 0))
        if train is not None:
            parts.append(panel.clipped(panel.dots(zip(train["x"], train["y"]), DATA_COLOR, 2.5)))
        if target is not None:
            parts.append(panel.clipped(f'<path d="{panel.path(zip(target["x"], target["y"]))}" fill="none" '
                                       f'stroke="{TARGET_COLOR}" stroke-width="1.1"><title>the true function</title></path>'))
        if mode in picks:
            rows = trials[trials["number"] == picks[mode]]
            ys = rows["y"].to_numpy(dtype=float)
            outside = float(((ys < lo) | (ys > hi) | ~(ys == ys)).mean())
            note = f"trial #{picks[mode]}, value {float(rows['value'].iloc[0]):.3g}"
            if not (ys == ys).any():
                note += "\nno finite prediction"
            elif outside > 0.5:
                note += "\nprediction mostly off the plot"
            parts.append(panel.clipped(f'<path d="{panel.path(zip(rows["x"], ys))}" fill="none" '
                                       f'stroke="{MODE_COLORS[mode]}" stroke-width="3" opacity="0.85">'
                                       f"<title>trial #{picks[mode]}</title></path>"))
            parts.append(panel.note(note))
        else:
            parts.append(panel.centre("no trial ended here"))
        titles.append((f"{mode} ({_trials(int(counts.get(mode, 0)))})", MODE_COLORS[mode]))
    return _grid_svg("mode-gallery", "a representative fit of each failure mode", panels, titles, "x", "y", parts)


def _ticks(last: int) -> list[int]:
    """Trial numbers from 0 to ``last`` at a round step (1, 2 or 5 times a power of ten), at most eleven."""
    step = next(m * 10**k for k in range(12) for m in (1, 2, 5) if last / (m * 10**k) <= 10)
    return list(range(0, last + 1, step))
