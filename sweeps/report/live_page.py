"""The page a running sweep shows: the headline and the history of its values.

    >>> html_text = live_page(trials, headline, Live(done=57, total=120, updated="14:02:11",
    refresh=5))

What the final report opens with (the cards, how the trials ended, the raw escape shares) and one
figure, every trial's value in sampling order with the best so far: the report's own history figure
(:func:`sweeps.report.drawing.history_svg`), its x axis to the sweep's total. Nothing here builds
the frames the other figures need (curves, predictions, importances), so a rewrite stays a small
share of the sweep (:mod:`sweeps.report.live`); the full page follows when the sweep ends.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import optuna

from mlpcore.atomic import replace_file
from sweeps.results import frames as tidy
from sweeps.report.drawing import history_svg
from sweeps.report.files import REPORT_NAME
from sweeps.report.page import STYLE, Live, badge, headline_html, live_html
from sweeps.report.style import BEST_FIRST


DRIVER_META = re.compile(r'<meta name="sweeps-driver" content="([^"]*)">')
"""The running page's record of its driver: its identity and heartbeat
(`sweeps.store.liveness.process_identity`), the page's state ("running", "ended", "stopped"), the
sweep's total and reference; read back by :func:`sweeps.report.live.settle_page`."""
BANNER = re.compile(r'<p class="live" id="live">.*?</p>', re.DOTALL)
REFRESH = re.compile(r'<meta http-equiv="refresh" content="[^"]*">')


def driver_meta(driver: dict) -> str:
    """The page's record of its driver (:data:`DRIVER_META`), as HTML."""
    return f'<meta name="sweeps-driver" content="{html.escape(json.dumps(driver), quote=True)}">'


def read_driver(text: str) -> dict | None:
    """The driver record of a page's text; None for a page that has none (a final report, or not a
    running page)."""
    found = DRIVER_META.search(text)
    if found is None:
        return None
    try:
        driver = json.loads(html.unescape(found[1]))
    except ValueError:
        return None
    return driver if isinstance(driver, dict) else None


def live_page(trials, headline: dict[str, Any], live: Live, driver: dict | None = None) -> str:
    """The whole running page: the banner (which reloads it), the headline and the history;
    ``driver``: the record of the driver it runs for (:data:`DRIVER_META`)."""
    h = headline
    head, banner = live_html(live)
    head += "" if driver is None else driver_meta(driver)
    key = " ".join(f"{badge(m)}" for m in BEST_FIRST)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta '
        f'charset="utf-8">{head}<title>{html.escape(h["study"])}: '
        f"running</title><style>{STYLE}</style></head><body><h1>{html.escape(h['study'])}: "
        f"{html.escape(h['title'])}</h1>{banner}<p "
        f'class="question">{html.escape(h["question"])}</p>'
        f'<h2 id="s1">So far</h2>{headline_html(h)}'
        '<h2 id="s2">Every trial so far</h2><figure '
        f'id="fig-history">{history_svg(trials, h, live.total).decode()}</figure>'
        '<p class="note">Each trial\'s value in the order the sampler tried them, coloured by '
        f"mode ({key}), "
        "with the best so far (black). The full report, with the figures that explain the failure "
        "modes, "
        f"replaces this page when the sweep ends.</p></body></html>"
    )


def write_live_page(
    opt: optuna.Study, out: str | Path, live: Live, driver: dict | None = None
) -> Path:
    """Replace ``out/NAME/report.html`` with the running page of ``opt`` (a still copy of the
    sweep)."""
    trials = tidy.trials_frame(opt)
    headline = tidy.headline(opt, trials)
    return replace_file(
        Path(out) / opt.study_name / REPORT_NAME, live_page(trials, headline, live, driver)
    )


def with_driver(text: str, driver: dict) -> str:
    """A running page's text with its driver record replaced by ``driver``."""
    return DRIVER_META.sub(lambda _: driver_meta(driver), text, count=1)


def restate(text: str, banner: str, driver: dict) -> str:
    """A running page's text with its banner replaced by ``banner`` (HTML), its reload removed and
    its driver record replaced by ``driver``: a page that says what happened instead of
    "running"."""
    text = with_driver(REFRESH.sub("", text, count=1), driver)
    return BANNER.sub(lambda _: banner, text, count=1)
