"""Figures written as SVG text, without matplotlib: the ones a page can draw with rectangles, lines and dots.

    >>> markup = mode_map_svg(levers)                # :func:`sweeps.frames.levers_frame`
    >>> markup = history_svg(trials, references)     # :func:`sweeps.frames.trials_frame`

They draw what :func:`sweeps.plots.mode_map` and :func:`sweeps.plots.history` draw, in the same colours,
as a few hundred elements the browser lays out, each with a tooltip giving its numbers: no figure to lay
out, no pixels to encode. The report and the running page inline them, and the report also writes them to
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
    parts = [f'<text x="{width / 2:.0f}" y="12" text-anchor="middle">failure mode (share of trials per setting; '
             "numbers: trials, and the share that escaped)</text>"]
    widths = [22 + CHAR_WIDTH * len(m) for m in BEST_FIRST]
    x = (width - sum(widths)) / 2
    for mode, w in zip(BEST_FIRST, widths):
        parts.append(f'<rect x="{x:.1f}" y="19" width="12" height="12" fill="{MODE_COLORS[mode]}"/>'
                     f'<text x="{x + 16:.1f}" y="29">{mode}</text>')
        x += w
    return parts


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


def history_svg(trials, references: dict[str, float | None], total: int | None = None) -> str:
    """Each completed trial's value (log scale) against its number, coloured by mode, the best so far as a step
    line, and dashed reference lines; the x axis runs to ``total`` when it is known, so the page shows how
    far the sweep is. ``trials``: a :func:`sweeps.frames.trials_frame`."""
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
    return _svg("history", WIDTH, HEIGHT, "history of trial values", parts)


def _ticks(last: int) -> list[int]:
    """Trial numbers from 0 to ``last`` at a round step (1, 2 or 5 times a power of ten), at most eleven."""
    step = next(m * 10**k for k in range(12) for m in (1, 2, 5) if last / (m * 10**k) <= 10)
    return list(range(0, last + 1, step))
