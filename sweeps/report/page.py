"""The study report as one self-contained HTML page (figures inline), built from tidy frames and
drawn figures.

The page is a list of sections (:data:`SECTIONS`); another analysis adds its section by adding a
row.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import optuna

from sweeps import space as space_vocabulary
from sweeps.report import analysis_html, explorer
from sweeps.report.drawing import ABLATION_PATH, noise_name
from sweeps.report.style import BEST_FIRST, MODE_PALETTE, fmt, text_color
from sweeps.results import frames as tidy
from sweeps.results.reading import runs
from sweeps.store.masking import mask

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:0 auto;
padding:0 20px 40px;
color:#1d1d1d;line-height:1.45}
h1{margin:24px 0 4px}h2{margin-top:36px;border-bottom:2px solid #ddd;padding-bottom:4px}
.question{color:#555;font-style:italic;margin:4px 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{flex:1 1 200px;border:1px solid #ddd;border-radius:8px;padding:10px 14px;background:#fafafa}
.card .big{font-size:1.7em;font-weight:600}.card .small{color:#555;font-size:.9em}
.mode{display:inline-block;border-radius:4px;padding:1px 7px;font-size:.85em;font-weight:600}
.strip{display:flex;height:26px;border-radius:5px;overflow:hidden;margin:6px 0 2px;min-width:240px}
.strip div{display:flex;align-items:center;justify-content:center;font-size:.8em;font-weight:600;
overflow:hidden;
white-space:nowrap}
table{border-collapse:collapse;margin:8px 0;font-size:.9em}th,td{border-bottom:1px solid #e3e3e3;
padding:4px 9px;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;
font-variant-numeric:tabular-nums}
figure{margin:14px 0 22px}figure img,figure svg{max-width:100%;height:auto;border:1px solid #eee}
figure svg{background:#fff}
figcaption{color:#444;font-size:.92em;margin-top:4px;max-width:950px}
pre{background:#f6f8fa;border:1px solid #ddd;border-radius:6px;padding:10px 14px;overflow-x:auto;
font-size:.88em}
button{font-size:.85em;padding:2px 10px;margin-left:6px}ul.levers li{margin:3px 0}
.note{color:#666;font-size:.88em}.wide{overflow-x:auto}table.compact{font-size:.8em}
table.compact td,table.compact th{padding:3px 6px}footer{margin-top:40px;color:#777;font-size:.82em}
.live{background:#FFF4D6;border:1px solid #E69F00;border-radius:6px;padding:6px 12px;
font-weight:600}
table.map td.cell{text-align:center;min-width:64px;border:1px solid #fff}
table.map td.fixed{outline:3px solid #222;
outline-offset:-3px}table.map th{text-align:right;background:none}
details.note summary{cursor:pointer}
nav.toc{border:1px solid #ddd;border-radius:8px;padding:8px 14px;background:#fafafa;margin:12px 0}
nav.toc ol{columns:2;margin:6px 0 0;padding-left:22px}
"""
COPY_SCRIPT = """<script>function copyText(id){const t=document.getElementById(id).innerText;
if(navigator.clipboard){navigator.clipboard.writeText(t).catch(()=>select(id))}else{select(id)}}
function select(id){const r=document.createRange();
r.selectNodeContents(document.getElementById(id));
const s=getSelection();s.removeAllRanges();s.addRange(r);
document.execCommand&&document.execCommand('copy')}</script>"""


# --- html pieces -------------------------------------------------------------------------------


def badge(mode: str | None) -> str:
    if mode not in MODE_PALETTE:
        return html.escape(str(mode))
    c = MODE_PALETTE[mode]
    return (
        f'<span class="mode mode-{mode}" style="background:{c};color:{text_color(c)}">{mode}</span>'
    )


def mode_strip(counts: dict[str, int], legend: bool = True) -> str:
    """A stacked bar of mode counts, fit first, in the mode colours (a count shows where it
    fits)."""
    total = sum(counts.values()) or 1
    cells = "".join(
        f'<div class="mode-{m}" '
        f'style="width:{100 * counts[m] / total:.2f}%;background:{MODE_PALETTE[m]};'
        f'color:{text_color(MODE_PALETTE[m])}" title="{m}: {counts[m]}">'
        f"{counts[m] if counts[m] / total >= 0.04 else ''}</div>"
        for m in BEST_FIRST
        if counts.get(m)
    )
    key = " ".join(f"{badge(m)}&nbsp;{counts.get(m, 0)}" for m in BEST_FIRST)
    return f'<div class="strip">{cells}</div>' + (
        f'<div class="note">{key}</div>' if legend else ""
    )


def _ratio_words(best: float, ref: float | None, name: str) -> str:
    if not ref:
        return ""
    r = best / ref
    if not (
        np.isfinite(r) and r > 0
    ):  # a perfect fit (0) or a value that does not compare: the values, no ratio
        return f"{fmt(best)} against {name} ({fmt(ref)})"
    times = lambda k: f"{k:,.0f}×" if k >= 100 else f"{k:.3g}×"  # noqa: E731
    return (
        f"{times(1 / r)} below {name} ({fmt(ref)})"
        if r < 1
        else f"{times(r)} above {name} ({fmt(ref)})"
    )


def headline_html(h: dict[str, Any], decides: str | None = None) -> str:
    """The cards, the modes strip and "What decides it" (``decides``: the swap-tested version, when
    there is one)."""
    share = h["escape_share"] or 0.0
    versus = [
        s
        for s in (
            _ratio_words(h["best_value"], h["line_value"], "the best straight line"),
            _ratio_words(h["best_value"], h["noise_value"], f"the {noise_name(h)}"),
        )
        if s
    ]
    if h["noise_value"] is None and not h.get("noise_estimated"):
        versus.append("the data are noise-free")
    cards = [
        (
            "trials",
            f"{h['trials'] + h.get('pruned', 0)}",
            (f"{h['trials']} complete, {h['pruned']} pruned; " if h.get("pruned") else "")
            + (f"each the median of {h['repeats']} init seeds; " if h["repeats"] > 1 else "")
            + (f"{h['failed']} failed to run" if h["failed"] else "all ran"),
        ),
        (
            "escaped the linear fit",
            f"{share:.0%}",
            f"{h['escaped']} of {h['trials']} trials ended {badge('fit')}",
        ),
        (
            "best value",
            fmt(h["best_value"]),
            f"trial #{h['best_number']} {badge(h['best_mode'])}; " + "; ".join(versus),
        ),
        (
            "the question's own config",
            fmt(h["baseline_value"]),
            f"{badge(h['baseline_mode'])}{_as_swept(h)}" if h["baseline_mode"] else "not evaluated",
        ),
    ]
    cards_html = "".join(
        f'<div class="card"><div class="small">{t}</div><div class="big">{b}</div>'
        f'<div class="small">{s}</div></div>'
        for t, b, s in cards
    )
    levers = "".join(f"<li>{html.escape(l['sentence'])}</li>" for l in h["levers"][:4])
    if levers:
        on = (
            f"the {h['levers_on']} exploration trials, drawn at random,"
            if h.get("levers_on")
            else "every trial"
        )
        levers_html = (
            f"<p><b>Raw escape shares, not tested</b> (share of {on} that escaped, best against "
            "worst "
            f"value, among values with at least {tidy.MIN_LEVER_TRIALS} trials; what the sampler "
            "tried "
            "alongside a setting can make it look decisive: <code>python -m sweeps explain "
            "STUDY</code> "
            f'checks each with a swap test):</p><ul class="levers">{levers}</ul>'
        )
    elif not h["escaped"]:
        levers_html = (
            '<p class="note">No trial escaped the linear fit, so no setting can be credited with '
            "it; "
            "section 2 shows which failure each setting leads to.</p>"
        )
    else:
        levers_html = '<p class="note">Too few trials per setting to compare escape rates.</p>'
    levers_html = levers_html if decides is None else decides
    return (
        f'<div class="cards">{cards_html}</div>'
        f"<p><b>How the {h['trials']} trials ended</b> (value = validation MSE / var(y); 1 = "
        "predicting a "
        f"constant):</p>{mode_strip(h['modes'])}{levers_html}"
    )


def _as_swept(h: dict[str, Any]) -> str:
    """How the sweep trained the question's config: "; the median of 3 init seeds, 1,000 steps"."""
    seeds, steps = h.get("baseline_seeds") or [], (h.get("baseline_config") or {}).get("steps")
    said = (
        []
        if not seeds
        else [
            f"the median of {len(seeds)} init seeds" if len(seeds) > 1 else f"init seed {seeds[0]}"
        ]
    )
    said += [f"{steps:,} steps"] if steps else []
    return "; " + ", ".join(said) if said else ""


def diagnosis_html(h: dict[str, Any], command: str | None = None) -> str:
    """Why the question's config fails (its hints, naming the init seed they are of, and
    ``command``, the ``diagnose`` command line that repeats them given the seed) and what the best
    config changes."""
    hints = "".join(f"<li>{html.escape(x)}</li>" for x in h["baseline_hints"])
    seeds, seed = h.get("baseline_seeds") or [], h.get("baseline_seed")
    steps = (h.get("baseline_config") or {}).get("steps")
    ends = (
        f"<p>The question's own config ends {badge(h['baseline_mode'])} with value "
        f"{fmt(h['baseline_value'])}"
    )
    if seeds and seed is not None:
        again = (
            f" (<code>{html.escape(command)} --seed {seed}</code> repeats it)" if command else ""
        )
        trained = f" at {steps:,} steps" if steps else ""
        if len(seeds) > 1:
            listed = ", ".join(map(str, seeds))
            ends += (
                f", the median of its {len(seeds)} init seeds ({listed}){trained}. "
                f"The diagnosis of the median one, init seed {seed}{again}"
            )
        else:
            ends += f" from init seed {seed}{trained}. Its diagnosis{again}"
        parts = [ends + (f" says:</p><ul>{hints}</ul>" if hints else " gives no hint.</p>")]
    else:
        parts = [ends + "." + (f" The diagnosis says:</p><ul>{hints}</ul>" if hints else "</p>")]
    base, best = h["baseline_config"] or {}, h["best_config"] or {}
    ignore = {
        *space_vocabulary.SET_BY_SWEEP,
        *space_vocabulary.inert(best),
    }  # the sweep's seeds; settings that do nothing
    changed = [k for k in best if k not in ignore and base.get(k) != best.get(k)]
    if base and changed:
        rows = "".join(
            f"<tr><td>{k}</td><td>{html.escape(_setting(base.get(k)))}</td>"
            f"<td><b>{html.escape(_setting(best[k]))}</b></td></tr>"
            for k in changed
        )
        parts.append(
            "<p>What the best trial does "
            "differently:</p><table><tr><th>setting</th><th>question's config"
            f"</th><th>best config</th></tr>{rows}</table>"
        )
    return "".join(parts)


def _setting(value: Any) -> str:
    """A config value as JSON, floats to 3 significant digits (the JSON below holds them
    exactly)."""
    return f"{value:.3g}" if isinstance(value, float) else json.dumps(value)


def reuse_html(h: dict[str, Any], ref: str, out: str | Path, storage: str | None) -> str:
    storage = None if storage is None else mask(storage)  # the page is shared: never the password
    where = (
        ""
        if storage is None and str(out) == "results"
        else (f", storage={storage!r}" if storage is not None else f", out={str(out)!r}")
    )
    line = f"cfg = sweeps.best_config({ref!r}{where})"
    cli_where = (
        ""
        if storage is None and str(out) == "results"
        else (f" --storage {storage}" if storage is not None else f" --out {out}")
    )
    return (
        f"<p>The best trial (#{h['best_number']}, value {fmt(h['best_value'])}, "
        f"{badge(h['best_mode'])}) "
        f"as a config:</p><button onclick=\"copyText('best-config')\">copy</button>"
        f'<pre id="best-config">{html.escape(tidy.config_json(h["best_config"]))}</pre>'
        f"<p>Reuse it in Python:</p><button onclick=\"copyText('reuse')\">copy</button>"
        f'<pre id="reuse">import sweeps, mlpcore\n{html.escape(line)}\nmodel = mlpcore.fit(cfg, x, '
        "y).model</pre>"
        '<p class="note">or on the command line: <code>python -m sweeps best '
        f"{html.escape(ref)}{html.escape(cli_where)}"
        f" &gt; {html.escape(h['study'])}.json</code></p>"
    )


def figure_html(name: str, data: bytes, caption: str) -> str:
    """A figure (SVG bytes, inlined as they are) and its caption."""
    return (
        f'<figure id="fig-{name}">{data.decode()}'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def provenance_html(opt: optuna.Study) -> str:
    """The footer: the study's settings and every run that added to it (``run:<id>`` attributes),
    oldest first."""
    items = "".join(
        f"<li><code>{html.escape(mask(str(r.get('command'))))}</code> "
        f"{html.escape(str(r.get('started')))} → "
        f"{html.escape(str(r.get('ended', 'running')))}, git "
        f"{html.escape(str(r.get('git'))[:10])}, "
        f"optuna {html.escape(str((r.get('versions') or {}).get('optuna')))}</li>"
        for r in runs(opt)
    )
    settings = html.escape(json.dumps(opt.user_attrs.get("settings", {})))
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return (
        f"<footer>Study settings {settings}. Runs:<ul>{items}</ul>Report written {stamp}.</footer>"
    )


class Live(NamedTuple):
    """The state of a sweep still running, for the page's banner."""

    done: int
    total: int | None
    updated: str
    """HH:MM:SS, local time."""
    refresh: int
    """Seconds after which the browser reloads the page."""


class Context(NamedTuple):
    """What a section builder reads: the study, its frames, the figures as (SVG bytes, caption),
    where it lives."""

    opt: optuna.Study
    frames: tidy.Frames
    figures: dict[str, tuple[bytes, str]]
    ref: str
    out: str | Path
    storage: str | None
    analysis: dict | None = None
    """The stored counterfactual analysis (`sweeps.analysis.explain`), when there is one."""

    def figs(self, *names: str) -> str:
        return "".join(figure_html(n, *self.figures[n]) for n in names if n in self.figures)


def _glance(c: Context) -> str:
    if c.analysis is None:
        where = "" if str(c.out) == "results" else f" --out {c.out}"
        command = f"python -m sweeps diagnose {c.ref}{where}"
        return headline_html(c.frames.headline) + diagnosis_html(c.frames.headline, command)
    return headline_html(
        c.frames.headline, analysis_html.decides_html(c.analysis)
    ) + analysis_html.hints_html(c.analysis)


def _smallest_fix(c: Context) -> str | None:
    if c.analysis is None:
        return None
    return analysis_html.smallest_fix_html(c.analysis) + c.figs(ABLATION_PATH)


def _modes(c: Context) -> str:
    if c.analysis is None:
        return c.figs("modes_by_setting", "escape_lr_init_scale", "escape_width_depth")
    return (
        analysis_html.map_html(c.analysis)
        + analysis_html.swaps_html(c.analysis)
        + '<h3>What the sampler tried</h3><p class="note">The search\'s own trials, as the sampler '
        "chose them: "
        "a share here says what was tried alongside what, not what a setting does (the map above "
        "does).</p>" + c.figs("modes_by_setting", "escape_lr_init_scale", "escape_width_depth")
    )


def _no_target_note(c: Context) -> str:
    """The one sentence a study without a true function needs: what its figures show and what they
    cannot."""
    if c.frames.headline.get("target_known", True):
        return ""
    return (
        '<p class="note" id="no-target">These data come without their true function, so the '
        "figures show the "
        "data and the fits only, and no approximation error (a fit's distance from the true "
        "function) is "
        "computed: every value is measured on the held-out rows.</p>"
    )


def _copy(c: Context) -> str:
    def reuse() -> str:
        return reuse_html(c.frames.headline, c.ref, c.out, c.storage)

    return reuse() if c.analysis is None else analysis_html.copy_html(c.analysis, reuse)


EVERY_TRIAL = "Every trial"
"""The title of the section that lists every trial (:mod:`sweeps.report.explorer`): it needs no
figure."""

SECTIONS: list[tuple[str, Callable[[Context], str | None]]] = [
    ("Your question: the smallest fix", _smallest_fix),
    ("At a glance", _glance),
    ("Which settings escape", _modes),
    (
        "What matters most",
        lambda c: c.figs("importance") or '<p class="note">Too few trials to rank importances.</p>',
    ),
    (
        "In function space",
        lambda c: (
            _no_target_note(c)
            + c.figs("function_space", "predicted_actual", "slices", "gallery_by_mode")
        ),
    ),
    ("Learning", lambda c: c.figs("learning_curves", "history")),
    (EVERY_TRIAL, lambda c: explorer.explorer_html(c.frames)),
    ("What to copy", _copy),
]
"""The page's sections in order: (title, builder). A builder returns the section's HTML, or None to
leave it out; another analysis adds its section by inserting a row here (numbering follows the
order)."""


def section_id(title: str) -> str:
    """A section's id, from its title: "What to copy" -> "what-to-copy"."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def contents_html(titles: list[str]) -> str:
    """The table of contents: a link to each section, numbered as the sections are."""
    items = "".join(f'<li><a href="#{section_id(t)}">{html.escape(t)}</a></li>' for t in titles)
    return f'<nav class="toc" id="contents"><b>Contents</b><ol>{items}</ol></nav>'


RUNNING_BANNER = re.compile(r'<p class="live" id="live">running: [^<]*</p>')
"""The banner of a running page (:func:`live_html`), as it appears in the page's text."""


def live_banner(text: str) -> str:
    """The banner line of a page whose sweep is not finished: ``text`` (HTML) in its box."""
    return f'<p class="live" id="live">{text}</p>'


def live_html(live: Live | None) -> tuple[str, str]:
    """(head, banner) of a page whose sweep is still running: a meta refresh and the progress
    line."""
    if live is None:
        return "", ""
    return (
        f'<meta http-equiv="refresh" content="{live.refresh}">',
        live_banner(
            f"running: {live.done}{f' of {live.total}' if live.total else ''} trials, "
            f"updated {live.updated} (this page reloads itself every {live.refresh} s)"
        ),
    )


def page(
    opt: optuna.Study,
    frames: tidy.Frames,
    figures: dict[str, tuple[bytes, str]],
    *,
    ref: str,
    out: str | Path = "results",
    storage: str | None = None,
    live: Live | None = None,
    analysis: dict | None = None,
    prebuilt: dict[str, str] | None = None,
) -> str:
    """The whole report page as one HTML string (figures given as SVG bytes with captions).

    ``live`` marks a page written while the sweep runs: it says how far the sweep is and reloads
    itself. ``analysis`` (the stored counterfactual analysis, `sweeps.analysis.explain`) adds the
    smallest fix and the swap tests. ``prebuilt``: sections built already (title -> HTML, as their
    builder returns it), such as while the figures were drawn.
    """
    h = frames.headline
    context = Context(opt, frames, figures, ref, out, storage, analysis)
    prebuilt = prebuilt or {}
    built = [
        (title, content)
        for title, build in SECTIONS
        if (content := prebuilt[title] if title in prebuilt else build(context)) is not None
    ]
    body = "".join(
        f'<section id="{section_id(t)}"><h2>{i}. {t}</h2>{content}</section>'
        for i, (t, content) in enumerate(built, 1)
    )
    head, banner = live_html(live)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta '
        f'charset="utf-8">{head}<title>{html.escape(h["study"])}: '
        f"study report</title><style>{STYLE}{explorer.style()}</style>{COPY_SCRIPT}</head><body>"
        f"<h1>{html.escape(h['study'])}: "
        f"{html.escape(h['title'])}</h1>{banner}<p "
        f'class="question">{html.escape(h["question"])}</p>'
        f"{contents_html([t for t, _ in built])}{body}"
        f"{provenance_html(opt)}</body></html>"
    )


def index_page(rows: list[dict[str, Any]]) -> str:
    """The index of study reports: one row per study with trials, escape share, best value and top
    lever."""
    body = []
    for r in rows:
        if "error" in r:
            body.append(
                f"<tr><td>{html.escape(r['study'])}</td><td colspan=6 "
                f"class=note>{html.escape(r['error'])}</td></tr>"
            )
            continue
        lever = html.escape(r["levers"][0]["sentence"]) if r["levers"] else "–"
        body.append(
            f'<tr><td><a href="{html.escape(r["link"])}">{html.escape(r["study"])}</a></td>'
            f"<td>{html.escape(r['title'])}</td><td class=num>{r['trials']}</td>"
            f"<td>{(r['escape_share'] or 0):.0%}{mode_strip(r['modes'], legend=False)}</td>"
            f"<td class=num>{fmt(r['best_value'])} {badge(r['best_mode'])}</td>"
            f"<td class=num>{fmt(r['line_value'])}</td><td>{lever}</td></tr>"
        )
    head = "".join(
        f"<th>{t}</th>"
        for t in (
            "study",
            "question",
            "trials",
            "escaped the linear fit",
            "best value",
            "best straight line",
            "top lever",
        )
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Study reports</title>'
        f"<style>{STYLE}</style></head><body><h1>Study reports</h1><p class=note>Value = "
        "validation MSE / var(y) "
        "(1 = predicting a constant; lower is better). Modes: "
        f"{' '.join(badge(m) for m in BEST_FIRST)}</p>"
        f"<table><tr>{head}</tr>{''.join(body)}</table></body></html>"
    )
