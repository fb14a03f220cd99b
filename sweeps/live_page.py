"""The page a running sweep shows: the headline and the history of its values, drawn without matplotlib.

    >>> html_text = live_page(trials, headline, Live(done=57, total=120, updated="14:02:11", refresh=5))

What the final report opens with (the cards, how the trials ended, the raw escape shares) and one figure,
every trial's value in sampling order with the best so far, written as inline SVG. Nothing here imports
matplotlib or builds the frames the final figures need (curves, predictions, importances), so a rewrite
of a 120-trial sweep takes ~0.15 CPU s beside it (:mod:`sweeps.live`); the full page follows when the
sweep ends.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import optuna

from mlpcore.atomic import replace_file
from sweeps import frames as tidy
from sweeps.page import REPORT_NAME, STYLE, Live, badge, fmt, headline_html, live_html
from sweeps.page import references as reference_values
from sweeps.plots import BEST_FIRST, MODE_COLORS, REFERENCE_STYLES, TARGET_COLOR

WIDTH, HEIGHT = 880, 280
"""The history's size in CSS pixels."""
MARGIN = {"left": 56, "right": 136, "top": 12, "bottom": 40}
"""The right margin holds the reference lines' names, clear of the dots."""
LOG_RANGE = (-6.0, 3.0)
"""log10 of the smallest and largest value drawn; values beyond are drawn at the edge."""
SVG_DASHES = {":": "2,3", "--": "6,4", "-.": "1,2,5,2", "-": "none"}
"""matplotlib's line styles (plots.REFERENCE_STYLES: a reference line's style by its name) as SVG dash arrays."""


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
    return (f'<svg class="history" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
            f'font-size="11" font-family="system-ui,sans-serif" role="img" aria-label="history of trial values">'
            f'{"".join(parts)}</svg>')


def _ticks(last: int) -> list[int]:
    """Trial numbers from 0 to ``last`` at a round step (1, 2 or 5 times a power of ten), at most eleven."""
    step = next(m * 10**k for k in range(12) for m in (1, 2, 5) if last / (m * 10**k) <= 10)
    return list(range(0, last + 1, step))


def live_page(trials, headline: dict[str, Any], live: Live) -> str:
    """The whole running page: the banner (which reloads it), the headline and the history."""
    h = headline
    head, banner = live_html(live)
    key = " ".join(f"{badge(m)}" for m in BEST_FIRST)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{head}<title>{html.escape(h["study"])}: '
            f"running</title><style>{STYLE}</style></head><body><h1>{html.escape(h['study'])}: "
            f"{html.escape(h['title'])}</h1>{banner}<p class=\"question\">{html.escape(h['question'])}</p>"
            f'<h2 id="s1">So far</h2>{headline_html(h)}'
            f'<h2 id="s2">Every trial so far</h2>{history_svg(trials, reference_values(h), live.total)}'
            f'<p class="note">Each trial\'s value in the order the sampler tried them, coloured by mode ({key}), '
            f"with the best so far (black). The full report, with the figures that explain the failure modes, "
            f"replaces this page when the sweep ends.</p></body></html>")


def write_live_page(opt: optuna.Study, out: str | Path, live: Live) -> Path:
    """Replace ``out/NAME/report.html`` with the running page of ``opt`` (a still copy of the sweep)."""
    trials = tidy.trials_frame(opt)
    headline = tidy.headline(opt, trials)
    return replace_file(Path(out) / opt.study_name / REPORT_NAME, live_page(trials, headline, live))
