"""The study report: one self-contained HTML page (figures embedded as PNG) from tidy frames and plots.

    python -m sweeps report sqrt        # results/sqrt/report.html, figures/*.png, trials.csv
    python -m sweeps report --all       # every study's report and results/index.html

    >>> from sweeps import page
    >>> page.write_report("sqrt")  # the path of the page
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import optuna

import studies
from mlpcore import MODES
from mlpcore.atomic import replace_file
from sweeps import frames as tidy
from sweeps import space as space_vocabulary
from sweeps import userdata
from sweeps.masking import mask
from sweeps.plots import BEST_FIRST, MODE_COLORS

REPORT_NAME = "report.html"
INDEX_NAME = "index.html"
FIGURES_DIR = "figures"
TOP_TRIALS = 10
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:0 auto;padding:0 20px 40px;
color:#1d1d1d;line-height:1.45}
h1{margin:24px 0 4px}h2{margin-top:36px;border-bottom:2px solid #ddd;padding-bottom:4px}
.question{color:#555;font-style:italic;margin:4px 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{flex:1 1 200px;border:1px solid #ddd;border-radius:8px;padding:10px 14px;background:#fafafa}
.card .big{font-size:1.7em;font-weight:600}.card .small{color:#555;font-size:.9em}
.mode{display:inline-block;border-radius:4px;padding:1px 7px;font-size:.85em;font-weight:600}
.strip{display:flex;height:26px;border-radius:5px;overflow:hidden;margin:6px 0 2px;min-width:240px}
.strip div{display:flex;align-items:center;justify-content:center;font-size:.8em;font-weight:600;overflow:hidden;
white-space:nowrap}
table{border-collapse:collapse;margin:8px 0;font-size:.9em}th,td{border-bottom:1px solid #e3e3e3;padding:4px 9px;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:14px 0 22px}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.92em;margin-top:4px;max-width:950px}
pre{background:#f6f8fa;border:1px solid #ddd;border-radius:6px;padding:10px 14px;overflow-x:auto;font-size:.88em}
button{font-size:.85em;padding:2px 10px;margin-left:6px}ul.levers li{margin:3px 0}
.note{color:#666;font-size:.88em}.wide{overflow-x:auto}table.compact{font-size:.8em}
table.compact td,table.compact th{padding:3px 6px}footer{margin-top:40px;color:#777;font-size:.82em}
"""
COPY_SCRIPT = """<script>function copyText(id){const t=document.getElementById(id).innerText;
if(navigator.clipboard){navigator.clipboard.writeText(t).catch(()=>select(id))}else{select(id)}}
function select(id){const r=document.createRange();r.selectNodeContents(document.getElementById(id));
const s=getSelection();s.removeAllRanges();s.addRange(r);document.execCommand&&document.execCommand('copy')}</script>"""


# --- figures -----------------------------------------------------------------------------------


def figures(frames: tidy.Frames) -> dict[str, tuple[Any, str]]:
    """The page's figures in page order: name -> (matplotlib Figure, caption). A figure whose
    parameters the study does not search is left out."""
    from sweeps import plots

    h, space = frames.headline, frames.space
    refs = {"constant predictor": 1.0, "best straight line": h["line_value"], "noise floor": h["noise_value"]}
    out: dict[str, tuple[Any, str]] = {}
    out["modes_by_setting"] = (plots.mode_map(frames.levers), (
        "How each setting's trials ended. Bars stack the failure modes, escaped (fit, green) first; numbers give "
        "the trials with that setting and the share that escaped. Numbers are put in bins (log-scale decades "
        "where the sweep searched them on a log scale). The sampler tries promising settings more often, so a "
        "rarely-tried value has a rougher share."))
    labels = {p: space_vocabulary.title(p) + (" (decade bins)" if getattr(d, "log", False) else "") for p, d in space.items()}
    if {"lr", "init_scale"} <= set(frames.settings):
        col = "x_scaling" if "x_scaling" in frames.settings else None
        out["escape_lr_init_scale"] = (plots.escape_heatmaps(frames.settings, "lr", "init_scale", col,
                                                             xlabel=labels["lr"], ylabel=labels["init_scale"]), (
            "Share of trials that escaped the linear fit, by learning rate and initial weight scale"
            + (", one panel per input scaling." if col else ".") + " Each cell: the share, and its trials; grey: none."))
    if {"width", "depth"} <= set(frames.settings):
        out["escape_width_depth"] = (plots.escape_heatmaps(frames.settings, "width", "depth", None,
                                                           xlabel=labels["width"], ylabel=labels["depth"]),
                                     "Share of trials that escaped, by network width and depth.")
    if frames.importances["importance"].notna().any():
        out["importance"] = (plots.importance_panels(frames.importances), (
            "How much each setting decides the result (Optuna's PED-ANOVA: how differently the good trials "
            "are spread over a setting than all the trials the sampler drew). Left: for reaching the best tenth of "
            "values; right: "
            "for escaping (mode fit). n/a: no contrast (too few trials, or all or none escaped)."))
    first_slice = frames.predictions[frames.predictions["feature"] == 0]  # d > 1: input 1 varies, the rest at medians
    out["function_space"] = (plots.function_space(first_slice, frames.data).figure, (
        "The true function, the training data, what the question's own config learns, and the best trial's fit."))
    out["gallery_by_mode"] = (plots.mode_gallery(first_slice, frames.data), (
        "What each failure mode looks like here: for each mode, the trial with the median value among that mode's "
        "trials."))
    out["learning_curves"] = (plots.learning_curves(frames.curves, references=refs), (
        "Validation loss during training for a sample of trials of each mode (log scale). Horizontal lines: a "
        "constant prediction (1), the best straight line, and the noise floor where the study knows it."))
    out["history"] = (plots.history(frames.trials, references=refs).figure, (
        "Every trial's value in the order the sampler tried them, coloured by mode, with the best so far."))
    return out


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    return buf.getvalue()


# --- html pieces -------------------------------------------------------------------------------


def text_color(hex_color: str) -> str:
    """Black or white, whichever reads on ``hex_color``."""
    r, g, b = (int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "#111111" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "#ffffff"


def badge(mode: str | None) -> str:
    if mode not in MODE_COLORS:
        return html.escape(str(mode))
    c = MODE_COLORS[mode]
    return f'<span class="mode mode-{mode}" style="background:{c};color:{text_color(c)}">{mode}</span>'


def mode_strip(counts: dict[str, int], legend: bool = True) -> str:
    """A stacked bar of mode counts, fit first, in the mode colours (a count shows where it fits)."""
    total = sum(counts.values()) or 1
    cells = "".join(f'<div class="mode-{m}" style="width:{100 * counts[m] / total:.2f}%;background:{MODE_COLORS[m]};'
                    f'color:{text_color(MODE_COLORS[m])}" title="{m}: {counts[m]}">'
                    f'{counts[m] if counts[m] / total >= 0.04 else ""}</div>' for m in BEST_FIRST if counts.get(m))
    key = " ".join(f"{badge(m)}&nbsp;{counts.get(m, 0)}" for m in BEST_FIRST)
    return f'<div class="strip">{cells}</div>' + (f'<div class="note">{key}</div>' if legend else "")


def fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _ratio_words(best: float, ref: float | None, name: str) -> str:
    if not ref:
        return ""
    r = best / ref
    times = lambda k: f"{k:,.0f}×" if k >= 100 else f"{k:.3g}×"  # noqa: E731
    return f"{times(1 / r)} below {name} ({fmt(ref)})" if r < 1 else f"{times(r)} above {name} ({fmt(ref)})"


def headline_html(h: dict[str, Any], decides: str | None = None) -> str:
    """The cards, the modes strip and "What decides it" (``decides``: the swap-tested version, when there is one)."""
    share = h["escape_share"] or 0.0
    versus = [s for s in (_ratio_words(h["best_value"], h["line_value"], "the best straight line"),
                          _ratio_words(h["best_value"], h["noise_value"], "the noise floor")) if s]
    if h["noise_value"] is None:
        versus.append("the data are noise-free")
    cards = [
        ("trials", f"{h['trials'] + h.get('pruned', 0)}",
         (f"{h['trials']} complete, {h['pruned']} pruned; " if h.get("pruned") else "")
         + (f"each the median of {h['repeats']} init seeds; " if h["repeats"] > 1 else "")
         + (f"{h['failed']} failed to run" if h["failed"] else "all ran")),
        ("escaped the linear fit", f"{share:.0%}", f"{h['escaped']} of {h['trials']} trials ended {badge('fit')}"),
        ("best value", fmt(h["best_value"]), f"trial #{h['best_number']} {badge(h['best_mode'])}; " + "; ".join(versus)),
        ("the question's own config", fmt(h["baseline_value"]), badge(h["baseline_mode"]) if h["baseline_mode"] else "not evaluated"),
    ]
    cards_html = "".join(f'<div class="card"><div class="small">{t}</div><div class="big">{b}</div>'
                         f'<div class="small">{s}</div></div>' for t, b, s in cards)
    levers = "".join(f"<li>{html.escape(l['sentence'])}</li>" for l in h["levers"][:4])
    if levers:
        levers_html = (f'<p><b>What decides it</b> (share of trials that escaped, best against worst value, among '
                       f'values with at least {tidy.MIN_LEVER_TRIALS} trials):</p><ul class="levers">{levers}</ul>')
    elif not h["escaped"]:
        levers_html = ('<p class="note">No trial escaped the linear fit, so no setting can be credited with it; '
                       "section 2 shows which failure each setting leads to.</p>")
    else:
        levers_html = '<p class="note">Too few trials per setting to compare escape rates.</p>'
    levers_html = levers_html if decides is None else decides
    return (f'<div class="cards">{cards_html}</div>'
            f'<p><b>How the {h["trials"]} trials ended</b> (value = validation MSE / var(y); 1 = predicting a '
            f'constant):</p>{mode_strip(h["modes"])}{levers_html}')


def diagnosis_html(h: dict[str, Any]) -> str:
    """Why the question's config fails (its hints) and what the best config changes."""
    hints = "".join(f"<li>{html.escape(x)}</li>" for x in h["baseline_hints"])
    parts = [f"<p>The question's own config ends {badge(h['baseline_mode'])} with value {fmt(h['baseline_value'])}."
             + (f" The diagnosis says:</p><ul>{hints}</ul>" if hints else "</p>")]
    base, best = h["baseline_config"] or {}, h["best_config"] or {}
    ignore = {*space_vocabulary.SET_BY_SWEEP, *space_vocabulary.inert(best)}  # the sweep's seeds; settings that do nothing
    changed = [k for k in best if k not in ignore and base.get(k) != best.get(k)]
    if base and changed:
        rows = "".join(f"<tr><td>{k}</td><td>{html.escape(_setting(base.get(k)))}</td>"
                       f"<td><b>{html.escape(_setting(best[k]))}</b></td></tr>" for k in changed)
        parts.append(f"<p>What the best trial does differently:</p><table><tr><th>setting</th><th>question's config"
                     f"</th><th>best config</th></tr>{rows}</table>")
    return "".join(parts)


def _setting(value: Any) -> str:
    """A config value as JSON, floats to 3 significant digits (the JSON below holds them exactly)."""
    return f"{value:.3g}" if isinstance(value, float) else json.dumps(value)


def top_trials_html(frames: tidy.Frames, n: int = TOP_TRIALS) -> str:
    done = tidy.complete(frames.trials).sort_values(["value", "number"], kind="stable").head(n)
    params = [p for p in frames.space if f"params_{p}" in done]
    head = "".join(f"<th>{p}</th>" for p in ["trial", "value", "mode", *params])
    rows = []
    for _, r in done.iterrows():
        cells = [f'<td class="num">{r["number"]}</td>', f'<td class="num">{fmt(r["value"])}</td>', f"<td>{badge(r['mode'])}</td>"]
        for p in params:
            v = r[f"params_{p}"]
            if hasattr(frames.space[p], "choices"):
                v = tidy.choice_labels([v], p, frames.space[p].choices)[0]
            elif isinstance(v, float) and not float(v).is_integer():
                v = f"{v:.3g}"
            cells.append(f"<td>{html.escape(str(v))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<div class="wide"><table class="compact"><tr>{head}</tr>{"".join(rows)}</table></div>'


def reuse_html(h: dict[str, Any], ref: str, out: str | Path, storage: str | None) -> str:
    storage = None if storage is None else mask(storage)  # the page is shared: never the password
    where = "" if storage is None and str(out) == "results" else (
        f", storage={storage!r}" if storage is not None else f", out={str(out)!r}")
    line = f"cfg = sweeps.best_config({ref!r}{where})"
    cli_where = "" if storage is None and str(out) == "results" else (
        f" --storage {storage}" if storage is not None else f" --out {out}")
    return (f"<p>The best trial (#{h['best_number']}, value {fmt(h['best_value'])}, {badge(h['best_mode'])}) "
            f"as a config:</p><button onclick=\"copyText('best-config')\">copy</button>"
            f'<pre id="best-config">{html.escape(tidy.config_json(h["best_config"]))}</pre>'
            f"<p>Reuse it in Python:</p><button onclick=\"copyText('reuse')\">copy</button>"
            f'<pre id="reuse">import sweeps, mlpcore\n{html.escape(line)}\nmodel = mlpcore.fit(cfg, x, y).model</pre>'
            f'<p class="note">or on the command line: <code>python -m sweeps best {html.escape(ref)}{html.escape(cli_where)}'
            f" &gt; {html.escape(h['study'])}.json</code></p>")


def figure_html(name: str, png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="fig-{name}"><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def provenance_html(opt: optuna.Study) -> str:
    runs = opt.user_attrs.get("runs", [])
    items = "".join(f"<li><code>{html.escape(str(r.get('command')))}</code> {html.escape(str(r.get('started')))} → "
                    f"{html.escape(str(r.get('ended')))}, git {html.escape(str(r.get('git'))[:10])}, "
                    f"optuna {html.escape(str((r.get('versions') or {}).get('optuna')))}</li>" for r in runs)
    settings = html.escape(json.dumps(opt.user_attrs.get("settings", {})))
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return f"<footer>Study settings {settings}. Runs:<ul>{items}</ul>Report written {stamp}.</footer>"


def page(opt: optuna.Study, frames: tidy.Frames, pngs: dict[str, tuple[bytes, str]], *, ref: str,
         out: str | Path = "results", storage: str | None = None, analysis: dict | None = None) -> str:
    """The whole report page as one HTML string (figures given as PNG bytes with captions); ``analysis``
    (the stored counterfactual analysis, `sweeps.explain`) adds the smallest fix and the swap tests."""
    from sweeps import explain_html as ex

    h = frames.headline
    fig = lambda *names: "".join(figure_html(n, *pngs[n]) for n in names if n in pngs)  # noqa: E731
    glance = headline_html(h) + diagnosis_html(h)
    if analysis is not None:
        glance = headline_html(h, ex.decides_html(analysis)) + ex.hints_html(analysis)
    sections = [
        *([("The smallest fix", ex.smallest_fix_html(analysis, badge) + fig("ablation_path"))] if analysis else []),
        ("At a glance", glance),
        ("Which settings end in which failure mode", fig("modes_by_setting", "escape_lr_init_scale", "escape_width_depth")
         + (ex.swaps_html(analysis, badge) if analysis else "")),
        ("What matters most", fig("importance") or '<p class="note">Too few trials to rank importances.</p>'),
        ("In function space", fig("function_space", "gallery_by_mode")),
        ("Learning", fig("learning_curves", "history")),
        ("What to copy", reuse_html(h, ref, out, storage) + f"<h3>Top {TOP_TRIALS} trials</h3>" + top_trials_html(frames)),
    ]
    body = "".join(f'<h2 id="s{i}">{i}. {t}</h2>{content}' for i, (t, content) in enumerate(sections, 1))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(h["study"])}: study report'
            f"</title><style>{STYLE}</style>{COPY_SCRIPT}</head><body><h1>{html.escape(h['study'])}: "
            f"{html.escape(h['title'])}</h1><p class=\"question\">{html.escape(h['question'])}</p>{body}"
            f"{provenance_html(opt)}</body></html>")


# --- files -------------------------------------------------------------------------------------


def _definition(ref: str, out: str | Path = "results"):
    """The study's definition, for its data points; None when only the stored sweep is known."""
    try:
        return userdata.find(ref, out)
    except ValueError:
        return None


def write_report(study: str, *, out: str | Path = "results", storage: str | None = None,
                 opt: optuna.Study | None = None) -> Path:
    """Write ``out/NAME/report.html``, ``figures/*.png``, ``trials.csv`` and ``headline.json`` (the page's
    numbers, as data) for the stored sweep of ``study``; returns the page's path."""
    from sweeps.loader import load

    definition = _definition(study, out)
    if opt is None:
        try:
            opt = load(study, out=out, storage=storage)
        except ValueError as e:
            if definition is None and not study.endswith(".py"):  # neither a stored sweep nor a known study
                raise ValueError(f"unknown study {study!r}: no such study ({', '.join(studies.names())} or a .py "
                                 f"file) and no sweep of that name in {mask(str(storage or out))!r}") from None
            raise e from None
    frames = tidy.build(opt, definition)
    out_dir = Path(out) / opt.study_name
    fig_dir = out_dir / FIGURES_DIR
    fig_dir.mkdir(parents=True, exist_ok=True)
    pngs = {}
    for name, (fig, caption) in figures(frames).items():
        png = png_bytes(fig)
        replace_file(fig_dir / f"{name}.png", png)
        pngs[name] = (png, caption)
    analysis = explanation_figure(opt.study_name, out_dir, storage, pngs)
    replace_file(out_dir / "trials.csv", frames.trials.to_csv(index=False))
    path = out_dir / REPORT_NAME
    replace_file(path, page(opt, frames, pngs, ref=study, out=out, storage=storage, analysis=analysis))
    replace_file(out_dir / "headline.json", json.dumps(frames.headline, indent=2, default=str) + "\n")
    return path


def explanation_figure(name: str, out_dir: Path, storage: str | None, pngs: dict) -> dict | None:
    """The stored counterfactual analysis of sweep ``name`` (None if there is none); its path figure goes to ``pngs``."""
    from mlpcore.atomic import replace_file
    from sweeps.ablation_plot import path_figure
    from sweeps.explain import frames as explanation_frames, stored_analysis
    from sweeps.storage import open_storage

    analysis = stored_analysis(name, open_storage(storage, out_dir))
    if analysis is not None:
        ax = path_figure(explanation_frames(analysis).path_runs)
        png = png_bytes(ax.figure)
        replace_file(out_dir / FIGURES_DIR / "ablation_path.png", png)
        pngs["ablation_path"] = (png, "The ablation path: from the question's config (left), the one change that "
                                      "most improves the median value at each step, to the best config (right); a dot "
                                      "per fresh seed, coloured by its mode, the line joins the medians.")
    return analysis


def write_all(*, out: str | Path = "results", storage: str | None = None) -> Path:
    """Every stored sweep's report, and ``out/index.html`` linking them; an error when there is none."""
    names = stored_studies(out, storage)
    if not names:
        raise ValueError(f"no sweep found in {mask(str(storage or out))!r}; run one first: python -m sweeps run STUDY")
    rows = []
    for name in names:
        try:
            path = write_report(name, out=out, storage=storage)
        except ValueError as e:  # a sweep with no completed trial yet: listed, not reported
            rows.append({"study": name, "error": str(e)})
            continue
        rows.append(json.loads((path.parent / "headline.json").read_text()) | {"link": f"{name}/{REPORT_NAME}"})
    index = Path(out) / INDEX_NAME
    replace_file(index, index_page(rows))
    return index


def stored_studies(out: str | Path, storage: str | None) -> list[str]:
    """Names of the sweeps stored in ``storage``, or in the journal files ``out/*/journal.log``."""
    from sweeps.storage import JOURNAL_NAME, open_storage

    if storage is not None:
        return sorted(n for n in optuna.get_all_study_names(open_storage(storage, Path(out)))
                      if not n.endswith(":explain"))  # a sweep's analysis (sweeps.explain), not a sweep
    root = Path(out)
    return sorted(d.name for d in root.iterdir() if (d / JOURNAL_NAME).is_file()) if root.is_dir() else []


def index_page(rows: list[dict[str, Any]]) -> str:
    """The index of study reports: one row per study with trials, escape share, best value and top lever."""
    body = []
    for r in rows:
        if "error" in r:
            body.append(f"<tr><td>{html.escape(r['study'])}</td><td colspan=6 class=note>{html.escape(r['error'])}</td></tr>")
            continue
        lever = html.escape(r["levers"][0]["sentence"]) if r["levers"] else "–"
        body.append(f'<tr><td><a href="{html.escape(r["link"])}">{html.escape(r["study"])}</a></td>'
                    f"<td>{html.escape(r['title'])}</td><td class=num>{r['trials']}</td>"
                    f"<td>{(r['escape_share'] or 0):.0%}{mode_strip(r['modes'], legend=False)}</td>"
                    f"<td class=num>{fmt(r['best_value'])} {badge(r['best_mode'])}</td>"
                    f"<td class=num>{fmt(r['line_value'])}</td><td>{lever}</td></tr>")
    head = "".join(f"<th>{t}</th>" for t in ("study", "question", "trials", "escaped the linear fit", "best value",
                                             "best straight line", "top lever"))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Study reports</title>'
            f"<style>{STYLE}</style></head><body><h1>Study reports</h1><p class=note>Value = validation MSE / var(y) "
            f"(1 = predicting a constant; lower is better). Modes: {' '.join(badge(m) for m in BEST_FIRST)}</p>"
            f"<table><tr>{head}</tr>{''.join(body)}</table></body></html>")
