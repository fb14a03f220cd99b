"""Figures written as SVG text, without matplotlib: the ones a page can draw with rectangles, lines and dots.

    >>> markup = mode_map_svg(levers)                        # :func:`sweeps.results.frames.levers_frame`
    >>> markup = mode_gallery_svg(predictions, data)         # :func:`sweeps.results.frames.predictions_frame`
    >>> markup = learning_curves_svg(curves, references)     # :func:`sweeps.results.frames.curves_frame`
    >>> markup = history_svg(trials, references, key=True)   # :func:`sweeps.results.frames.trials_frame`

They draw what :func:`sweeps.report.plots.mode_map`, :func:`~sweeps.report.plots.mode_gallery`,
:func:`~sweeps.report.plots.learning_curves` and :func:`~sweeps.report.plots.history` draw, in the same colours, as a few
hundred elements the browser lays out, with tooltips giving their numbers: no figure to lay out, no pixels
to encode. The report and the running page inline them, and the report also writes them to
``figures/*.svg``; the matplotlib versions stay for notebooks. Text has no font metrics here, so widths
are reckoned from character counts (:data:`CHAR_WIDTH`).
"""

from __future__ import annotations

import html
import math

from sweeps.results import frames as tidy
from sweeps.report.plots import (BEST_FIRST, CURVE_CLIP, curve_picks, DATA_COLOR, IMPORTANCE_COLORS, importance_labels, importance_order, IMPORTANCE_TITLES, _known_target, MODE_COLORS, REFERENCE_STYLES, representatives, setting_rows, TARGET_COLOR, _trials, _y_limits)
from sweeps.space import title

FONT = 'font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"'
CHAR_WIDTH = 6.4
"""A generous mean width of a character at 11 px in a sans-serif font, for laying out labels."""
SVG_DASHES = {":": "2,3", "--": "6,4", "-.": "1,2,5,2", "-": "none"}
"""matplotlib's line styles (plots.REFERENCE_STYLES: a reference line's style by its name) as SVG dash arrays."""


def fmt(value: float | None, digits: int = 3) -> str:
    """A number as the page and its figures print it: ``digits`` significant digits, a dash for None."""
    return "–" if value is None else f"{value:.{digits}g}"


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
    """One panel per parameter (all of ``levers``, a :func:`sweeps.results.frames.levers_frame`, by default): a 100%-stacked
    bar of the modes of each of its values or bins, fit first, with its trial count and the share that escaped;
    categorical values sorted by escape rate (best on top), numeric bins in their order; an unsampled value
    an empty bar. A key to the modes on top. What :func:`sweeps.report.plots.mode_map` draws."""

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
    far the sweep is; ``key``: the modes' colours above it. ``trials``: a :func:`sweeps.results.frames.trials_frame`.
    What :func:`sweeps.report.plots.history` draws."""
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
    shown = sorted(((y(value), name, value) for name, value in references.items()
                    if _drawable(value) and low <= math.log10(value) <= high), key=lambda r: r[0])
    below = -math.inf  # the last name's baseline: names of lines closer than a line of text stack downwards
    for at, name, value in shown:
        below = max(at + 4, below + 12)
        parts.append(_reference_line(x0, x1, at, name, value)
                     + f'<text x="{x1 + 6}" y="{below:.1f}" fill="#444">{html.escape(name)}</text>')
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


def _reference_line(x0: float, x1: float, y: float, name: str, value: float) -> str:
    """Reference line ``name`` (plots.REFERENCE_STYLES: its dashes) at height ``y`` from x0 to x1, its value on hover."""
    return (f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#444" stroke-dasharray="'
            f'{SVG_DASHES[REFERENCE_STYLES.get(name, "-.")]}"><title>{html.escape(name)}: {fmt(value)}</title></line>')


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
    What :func:`sweeps.report.plots.learning_curves` draws. ``curves``: a :func:`sweeps.results.frames.curves_frame`."""

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
        parts += [_reference_line(panel.left, panel.left + panel.width, panel.y(value), name, value)
                  for name, value in references.items() if _drawable(value) and low <= math.log10(value) <= high]
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


def _x_range(*frames) -> tuple[float, float]:
    """The finite range of the frames' x columns (frames may be None), or (0, 1) where there is none."""
    xs = [float(v) for f in frames if f is not None for v in f["x"] if math.isfinite(v)]
    return (min(xs), max(xs)) if xs else (0.0, 1.0)


def mode_gallery_svg(predictions, data=None) -> str:
    """One representative fit per mode (the mode's median trial) against the target (where the study knows
    it) and the training data. What :func:`sweeps.report.plots.mode_gallery` draws. ``predictions``: a
    :func:`sweeps.results.frames.predictions_frame` along one input; ``data``: the study's data frame."""

    picks = representatives(predictions)
    trials = predictions[predictions["source"] == "trial"]
    counts = trials.drop_duplicates("number")["mode"].value_counts()
    target = _known_target(predictions)
    lo, hi = _y_limits(predictions, data)
    train = data[data["split"] == "train"] if data is not None else None
    xlim = _x_range(predictions, train)
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
            missing = ys != ys  # NaN
            outside = float(((ys < lo) | (ys > hi) | missing).mean())
            note = f"trial #{picks[mode]}, value {float(rows['value'].iloc[0]):.3g}"
            if missing.all():
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


# --- the share that escaped, per cell of two settings ------------------------------------------------------

ESCAPE_STOPS = ("#FFFFFF", "#BFE6D9", MODE_COLORS["fit"], "#00513B")
"""The escape colour scale, white to the fit colour and beyond, evenly spaced over 0-100%: plots.escape_cmap's."""
CELL = (58, 34)
"""A heatmap cell's width and height in CSS pixels."""
EMPTY_CELL = "#EDEDED"


def escape_color(share: float) -> str:
    """The colour of a share in [0, 1] on the escape scale (linear in RGB between ESCAPE_STOPS)."""
    at = min(max(share, 0.0), 1.0) * (len(ESCAPE_STOPS) - 1)
    i = min(int(at), len(ESCAPE_STOPS) - 2)
    lo, hi = (tuple(int(c[k:k + 2], 16) for k in (1, 3, 5)) for c in ESCAPE_STOPS[i:i + 2])
    return "#" + "".join(f"{round(a + (b - a) * (at - i)):02X}" for a, b in zip(lo, hi))


def _ink(color: str) -> str:
    """Dark text on a light cell, white on a dark one (relative luminance, as plots.escape_heatmap decides)."""
    r, g, b = (int(color[k:k + 2], 16) / 255 for k in (1, 3, 5))
    return "#111111" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.408 else "#ffffff"


def escape_heatmaps_svg(settings, x: str, y: str, col: str | None = None, xlabel: str | None = None,
                        ylabel: str | None = None) -> str:
    """The share of trials that escaped (mode fit) in each cell of two binned settings, one panel per value of
    ``col`` (each value some trial has), a cell reading "share / n=trials", grey where no trial fell; one colour
    scale. What :func:`sweeps.report.plots.escape_heatmaps` draws. ``settings``: a :func:`sweeps.results.frames.settings_frame`."""
    values = [None] if col is None else [v for v in settings[col].cat.categories if (settings[col] == v).any()]
    xs, ys = [str(c) for c in settings[x].cat.categories], [str(c) for c in settings[y].cat.categories]
    left = 8 + CHAR_WIDTH * max(map(len, ys), default=1)
    panel_width = CELL[0] * len(xs)
    top = 44 if col is not None else 26  # under the rows' name (y's label, often too long to stand beside them)
    grid_height = CELL[1] * len(ys)
    label_room = 12 + 0.6 * CHAR_WIDTH * max(map(len, xs), default=1)  # the x labels at 35 degrees
    parts = []
    for k, value in enumerate(values):
        part = settings if value is None else settings[settings[col] == value]
        x0 = left + k * (panel_width + 24)
        grouped = part.groupby([y, x], observed=False)["escaped"]
        rate, count = grouped.mean(), grouped.size()
        if value is not None:
            parts.append(f'<text x="{x0 + panel_width / 2:.1f}" y="36" text-anchor="middle" font-size="12">'
                         f"{html.escape(f'{col}={value}')}  ({len(part)} trial{'' if len(part) == 1 else 's'})</text>")
        for i, yv in enumerate(settings[y].cat.categories):
            cy = top + grid_height - CELL[1] * (i + 1)  # the smallest bin at the bottom, as on a y axis
            if k == 0:
                parts.append(f'<text x="{left - 6}" y="{cy + CELL[1] / 2 + 4:.1f}" text-anchor="end">'
                             f"{html.escape(ys[i])}</text>")
            for j, xv in enumerate(settings[x].cat.categories):
                n = int(count.get((yv, xv), 0))
                share = float(rate.get((yv, xv), math.nan))
                fill = escape_color(share) if n else EMPTY_CELL
                cx = x0 + CELL[0] * j
                tip = (f"{y} {ys[i]}, {x} {xs[j]}: {share:.0%} of {n} trial{'' if n == 1 else 's'} escaped" if n
                       else f"{y} {ys[i]}, {x} {xs[j]}: no trial")
                parts.append(f'<rect x="{cx:.1f}" y="{cy}" width="{CELL[0]}" height="{CELL[1]}" fill="{fill}" '
                             f'stroke="#fff"><title>{html.escape(tip)}</title></rect>')
                if n:
                    ink = _ink(fill)
                    parts.append(f'<text x="{cx + CELL[0] / 2:.1f}" y="{cy + 14}" text-anchor="middle" font-size="10" '
                                 f'fill="{ink}">{share:.0%}</text><text x="{cx + CELL[0] / 2:.1f}" y="{cy + 27}" '
                                 f'text-anchor="middle" font-size="9.5" fill="{ink}">n={n}</text>')
        for j in range(len(xs)):
            tx, ty = x0 + CELL[0] * (j + 0.5) + 4, top + grid_height + 12
            parts.append(f'<text transform="translate({tx:.1f} {ty}) rotate(-35)" text-anchor="end" font-size="10">'
                         f"{html.escape(xs[j])}</text>")
        parts.append(f'<text x="{x0 + panel_width / 2:.1f}" y="{top + grid_height + label_room + 16:.1f}" '
                     f'text-anchor="middle">{html.escape(xlabel or x)}</text>')
    parts.append(f'<text x="4" y="14">rows: {html.escape(ylabel or y)}</text>')
    scale_x = left + len(values) * (panel_width + 24)
    parts += _escape_scale(f"escape-scale-{x}-{y}", scale_x, top, grid_height)
    return _svg("escape-heatmap", scale_x + 150, top + grid_height + label_room + 24,
                f"share that escaped by {x} and {y}", parts)


def _escape_scale(gradient_id: str, x: float, top: float, height: float) -> list[str]:
    """The colour scale, 0% at the bottom, with ticks and its name; ``gradient_id``: unique in the page."""
    stops = "".join(f'<stop offset="{i / (len(ESCAPE_STOPS) - 1):.3f}" stop-color="{c}"/>'
                    for i, c in enumerate(reversed(ESCAPE_STOPS)))
    parts = [f'<linearGradient id="{gradient_id}" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient>',
             f'<rect x="{x:.1f}" y="{top}" width="14" height="{height}" fill="url(#{gradient_id})" stroke="#999"/>']
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        ty = top + height * (1 - share)
        parts.append(f'<text x="{x + 19:.1f}" y="{ty + 4:.1f}" font-size="10">{share:.0%}</text>')
    parts.append(f'<text x="{x:.1f}" y="{top - 8}" font-size="10">share that escaped (fit)</text>')
    return parts


# --- importance -----------------------------------------------------------------------------------------


def importance_svg(importances) -> str:
    """Optuna's importances for the objective and for escaping side by side, as bars on one parameter order
    (largest sum first); a setting without contrast says so instead of a number, one whose target had no
    contrast at all reads "n/a". What :func:`sweeps.report.plots.importance_panels` draws. ``importances``: a
    :func:`sweeps.results.frames.importances_frame`."""

    order = importance_order(importances)
    label_width = 10 + CHAR_WIDTH * max(map(len, order), default=4)
    panel, row, top = 380, 22, 26
    parts = []
    for k, (target, heading) in enumerate(IMPORTANCE_TITLES.items()):
        values, flat, texts = importance_labels(importances, target, order)
        most = max(0.1, float(max((v for v in values if not math.isnan(v)), default=0.0)) * 1.2)
        x0 = label_width + k * (panel + 20)
        bottom = top + row * len(order)
        parts.append(f'<text x="{x0 + panel / 2}" y="16" text-anchor="middle" font-size="12">{heading}</text>')
        for tick, text in linear_ticks(0.0, most, most=4):
            tx = x0 + panel * tick / most
            parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top}" y2="{bottom}" stroke="#eee"/>'
                         f'<text x="{tx:.1f}" y="{bottom + 13}" text-anchor="middle" font-size="10">{text}</text>')
        parts.append(f'<rect x="{x0}" y="{top}" width="{panel}" height="{bottom - top}" fill="none" stroke="#999"/>')
        for i, (param, v, no, text) in enumerate(zip(order, values, flat, texts)):
            y = top + row * i
            if k == 0:
                parts.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{html.escape(param)}</text>')
            w = 0.0 if no or math.isnan(v) else panel * v / most
            if w:
                parts.append(f'<rect x="{x0}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
                             f'fill="{IMPORTANCE_COLORS[target]}"><title>{html.escape(param)}: {text}</title></rect>')
            style = ' fill="#777" font-style="italic"' if no else ""
            parts.append(f'<text x="{x0 + w + 4:.1f}" y="{y + 15}" font-size="10"{style}>{html.escape(text)}</text>')
        parts.append(f'<text x="{x0 + panel / 2}" y="{bottom + 30}" text-anchor="middle">importance (PED-ANOVA, '
                     "sums to 1)</text>")
    return _svg("importance", label_width + 2 * panel + 30, top + row * len(order) + 40, "importance of each setting",
                parts)


# --- the fit in function space ----------------------------------------------------------------------------


def function_space_svg(predictions, data=None, number: int | None = None) -> str:
    """The target (where the study knows it), the training data, the question's config's fit (dashed) and trial
    ``number``'s fit (default: the best trial) on one plot, with a key. What :func:`sweeps.report.plots.function_space`
    draws. ``predictions``: a :func:`sweeps.results.frames.predictions_frame` along one input."""

    lo, hi = _y_limits(predictions, data)
    train = None if data is None else data[data["split"] == "train"] if "split" in data else data
    xlim = _x_range(predictions, train)
    panel = _Panel(70, 14, 800, 330, xlim, (lo, hi), clip_id="function-space")
    parts = [panel.axes(linear_ticks(*xlim), linear_ticks(lo, hi), labels=True)]
    key = []
    if train is not None:
        parts.append(panel.clipped(panel.dots(zip(train["x"], train["y"]), DATA_COLOR, 3.5)))
        key.append((f'<circle r="3" fill="{DATA_COLOR}"/>', "training data"))
    base = predictions[predictions["source"] == "baseline"]
    if len(base):
        color = MODE_COLORS.get(base["mode"].iloc[0], "#555")
        text = f"the question's config: {base['mode'].iloc[0]}, value {float(base['value'].iloc[0]):.3g}"
        parts.append(panel.clipped(f'<path d="{panel.path(zip(base["x"], base["y"]))}" fill="none" stroke="{color}" '
                                   f'stroke-width="2" stroke-dasharray="7,4"><title>{html.escape(text)}</title></path>'))
        key.append((f'<line x1="-10" x2="10" stroke="{color}" stroke-width="2" stroke-dasharray="7,4"/>', text))
    trials = predictions[predictions["source"] == "trial"]
    if len(trials):
        first = trials.drop_duplicates("number").sort_values(["value", "number"], kind="stable")
        number = int(first["number"].iloc[0]) if number is None else number
        best = trials[trials["number"] == number]
        color = MODE_COLORS.get(best["mode"].iloc[0], "#555")
        text = f"best trial #{number}: {best['mode'].iloc[0]}, value {float(best['value'].iloc[0]):.3g}"
        parts.append(panel.clipped(f'<path d="{panel.path(zip(best["x"], best["y"]))}" fill="none" stroke="{color}" '
                                   f'stroke-width="3.5" opacity="0.85"><title>{html.escape(text)}</title></path>'))
        key.append((f'<line x1="-10" x2="10" stroke="{color}" stroke-width="3.5"/>', text))
    target = _known_target(predictions)
    if target is not None:  # thin and on top: a perfect fit shows as a band around it
        parts.append(panel.clipped(f'<path d="{panel.path(zip(target["x"], target["y"]))}" fill="none" '
                                   f'stroke="{TARGET_COLOR}" stroke-width="1.3"><title>true target</title></path>'))
        key.insert(1 if train is not None else 0, (f'<line x1="-10" x2="10" stroke="{TARGET_COLOR}" '
                                                   'stroke-width="1.3"/>', "true target"))
    width = 34 + 5.8 * max((len(t) for _, t in key), default=0)
    parts.append(f'<rect x="{panel.left + 8}" y="{panel.top + 8}" width="{width:.0f}" height="{8 + 16 * len(key)}" '
                 'fill="#fff" opacity="0.9" stroke="#ddd"/>')
    for i, (mark, text) in enumerate(key):
        y = panel.top + 20 + 16 * i
        parts.append(f'<g transform="translate({panel.left + 26} {y})">{mark}</g>'
                     f'<text x="{panel.left + 42}" y="{y + 4}" font-size="10.5">{html.escape(text)}</text>')
    parts.append(f'<text x="{panel.left + panel.width / 2}" y="{panel.top + panel.height + 34}" text-anchor="middle">'
                 "x (the study's input)</text>"
                 f'<text transform="translate(14 {panel.top + panel.height / 2}) rotate(-90)" text-anchor="middle">'
                 "y (the study's target)</text>")
    return _svg("function-space", 890, panel.top + panel.height + 44, "the fits in function space", parts)


# --- the ablation path ------------------------------------------------------------------------------------


def ablation_path_svg(path_runs) -> str:
    """One column per step of the ablation path, the question's config on the left, the target config on the
    right; a dot per seed (value, log scale), coloured by its mode; the medians joined step to step. What
    :func:`sweeps.ablation_plot.path_figure` draws. ``path_runs``: ``Explanation.path_runs``."""
    steps = sorted(path_runs["step"].unique())
    labels = [str(path_runs.loc[path_runs["step"] == s, "label"].iloc[0]) for s in steps]
    values = [float(v) for v in path_runs["value"] if _drawable(float(v))]
    low = math.floor(math.log10(min(values))) if values else -3
    high = max(low + 1, math.ceil(math.log10(max(values)))) if values else 1
    width = max(560, 70 * len(steps) + 120)
    panel = _Panel(70, 30, width - 90, 260, (-0.5, len(steps) - 0.5), (low, high), ylog=True)
    parts = [panel.axes([], log_ticks(low, high), labels=True)]
    medians = path_runs.groupby("step")["value"].median().reindex(steps)
    median_points = [(float(i), float(v)) for i, v in enumerate(medians)]
    parts.append(f'<path d="{panel.path(median_points)}" fill="none" stroke="#333" stroke-width="1.2">'
                 "<title>the median of each step</title></path>")
    parts += [f'<line x1="{panel.x(i) - 9:.1f}" x2="{panel.x(i) + 9:.1f}" y1="{panel.y(v):.1f}" y2="{panel.y(v):.1f}" '
              f'stroke="#333" stroke-width="1.6"><title>median {fmt(v)}</title></line>'
              for i, v in median_points if _drawable(v)]
    seen = []
    for i, s in enumerate(steps):
        runs = path_runs[path_runs["step"] == s].sort_values("repeat")
        spread = [-0.18 + 0.36 * k / (len(runs) - 1) for k in range(len(runs))] if len(runs) > 1 else [0.0]
        for dx, r in zip(spread, runs.itertuples(index=False)):
            v = float(r.value)
            seen += [r.mode] if r.mode not in seen else []
            if _drawable(v):
                parts.append(f'<circle cx="{panel.x(i + dx):.1f}" cy="{panel.y(v):.1f}" r="4.5" '
                             f'fill="{MODE_COLORS.get(r.mode, "#000")}" stroke="#fff" stroke-width="0.5">'
                             f"<title>{html.escape(labels[i])}, seed {r.repeat}: {fmt(v)} ({r.mode})</title></circle>")
        tx, ty = panel.x(i) + 4, panel.top + panel.height + 12
        parts.append(f'<text transform="translate({tx:.1f} {ty}) rotate(-30)" text-anchor="end" font-size="10">'
                     f"{html.escape(labels[i])}</text>")
    label_room = 12 + 0.5 * CHAR_WIDTH * max(map(len, labels), default=1)
    bottom = panel.top + panel.height + label_room + 12
    parts.append(f'<text x="{panel.left + panel.width / 2:.1f}" y="{bottom + 6:.1f}" text-anchor="middle">'
                 "question's config \u2192 one change at a time (greedy) \u2192 target config</text>"
                 f'<text transform="translate(14 {panel.top + panel.height / 2}) rotate(-90)" text-anchor="middle">'
                 "validation MSE / var(y)</text>")
    key = _key_row(width, [(MODE_COLORS[m], m) for m in BEST_FIRST if m in seen], 6)
    return _svg("ablation-path", width, bottom + 14, "the ablation path", [*key, *parts])


def _ticks(last: int) -> list[int]:
    """Trial numbers from 0 to ``last`` at a round step (1, 2 or 5 times a power of ten), at most eleven."""
    step = next(m * 10**k for k in range(12) for m in (1, 2, 5) if last / (m * 10**k) <= 10)
    return list(range(0, last + 1, step))
