"""The analysis on the report page: HTML pieces built from its document (`sweeps.analysis.explain`),
no drawing.

Every sentence here is the document's, or says what the document's numbers are: what was trained, at
which budget, over which learning rates and seeds.
"""

from __future__ import annotations

import html
import json
from typing import Any, Callable

from sweeps.analysis.advice import hint_seeds
from sweeps.analysis.evidence import needed_fits, seeds_text, show
from sweeps.analysis.lab import FAR, PACE

VERDICT_WORDS = {
    "borne out": "borne out: its advice, tried, escapes",
    "part of the fix": "part of the fix: its advice does not escape alone",
    "not borne out": "not borne out: its advice, tried, does not escape",
    "untested": "not tried",
}


def _e(text: Any) -> str:
    return html.escape(str(text))


def _rates(lr_range) -> str:
    if not lr_range:
        return "at no lr"
    lo, hi = lr_range
    return f"lr {lo:.3g}" if lo == hi else f"lr {lo:.3g}-{hi:.3g}"


def _without_rates(brief: dict) -> str:
    """Where the fix without a change escapes, or the best lr it was tried at."""
    return _rates(brief["lr_range"]) if brief["escapes"] else f"best {brief['best_lr']:.3g}"


NO_LEVER = "<li>no single setting: every value of every setting escapes once the fix is made</li>"


def smallest_fix_html(doc: dict) -> str:
    """The page's top section: how the question's config ends as asked, the fix and its evidence,
    what was searched, the fix at the sweep's own budget, and the thread's answer."""
    fix, q, budget = doc["fix"], doc["question"], doc["budget"]
    parts = [
        f'<p class="asked">{_e(q["sentence"])}</p>',
        f'<p class="fix"><b>{_e(fix["sentence"])}</b></p>',
    ]
    if fix["evidence"]:
        rows = "".join(
            f"<tr><td>{_e(e['setting'])}</td><td>{_e(show(e['from'], e['setting']))}</td>"
            f"<td><b>{_e(show(e['to'], e['setting']))}</b></td>"
            f"<td>{_e(e['without']['modes_text'])} "
            f"({_e(_without_rates(e['without']))})</td>"
            f"<td>{_e(e['alone']['modes_text'])}</td></tr>"
            for e in fix["evidence"]
        )
        parts.append(
            "<table><tr><th>setting</th><th>yours</th><th>the fix</th><th>the fix without it, at "
            "its best "
            f"lr</th><th>this change alone, at its best lr</th></tr>{rows}</table>"
        )
    parts.append(in_your_code_html(fix))
    if fix["alternatives"]:
        alts = "; ".join(
            f"{a['text']} ({a['fits']} of {a['seeds']} at {_rates(a['lr_range'])})"
            for a in fix["alternatives"]
        )
        parts.append(f'<p class="note">Other fixes of the same size escape too: {_e(alts)}.</p>')
    searched = doc["searched"]
    listed = ", ".join(
        f"{c['setting']}={show(c['value'], c['setting'])}" for c in searched["candidate_list"]
    )
    k = searched["exhaustive_up_to"]
    parts.append(
        f'<details class="note"><summary>What was searched: {searched["candidates"]} candidate '
        "changes, every "
        + ("single change" if k == 1 else f"set of up to {k}")
        + " tried"
        + (
            f", and {searched['beyond']['tried']} of the {searched['beyond']['of']} sets of "
            f"{searched['beyond']['size']}, the most promising first"
            if searched.get("beyond")
            else ""
        )
        + f"</summary>{_e(listed)}. Each set was trained at every lr from "
        f"{doc['lr_grid'][0]:g} to {doc['lr_grid'][-1]:g} (decades, then "
        f"half-decades around those that escape), from {doc['repeats']} fresh init seeds, "
        f"{_e(budget['words'])}; a set escapes when {needed_fits(doc['repeats'])} of its "
        f"{doc['repeats']} "
        "init seeds fit at one lr. A training stops once it fits, or once it could not come within "
        f"{FAR:g} times the loss of a fit in the steps left, even at {PACE:g} times its recent "
        "pace."
        "</details>"
    )
    if doc.get("at_search_budget"):
        parts.append(f'<p class="note">{_e(doc["at_search_budget"]["sentence"])}</p>')
    if doc["answer"] is not None:
        parts.append(answer_html(doc["answer"]))
    return "".join(parts)


def in_your_code_html(fix: dict) -> str:
    """The fix in a hand-written NumPy loop: for each change, and the learning rate, a one-line
    heading and the lines that make it (`sweeps.analysis.numpy_lines`), each under a comment saying
    where in the loop it goes."""
    items = fix.get("in_your_code") or []  # an analysis written before the lines has none
    if not items:
        return ""
    blocks = []
    for item in items:
        also = "".join(
            f"; this also makes {a['setting']} {show(a['value'], a['setting'])}"
            for a in item["also"]
        )
        blocks.append(
            f'<p class="code-title"><b>{_e(item["title"])}</b>{_e(also)}</p>'
            f"<pre><code>{_e(item['code'])}</code></pre>"
        )
    return (
        '<div class="in-your-code"><p><b>In your own NumPy loop</b>: the lines that make '
        "each change, each under a comment saying where in the loop it goes "
        "(<code>x_train</code> of shape (n, 1), weights <code>W1, b1, W2, b2</code>, "
        "parameters updated through <code>params</code> and <code>grads</code>; the whole "
        "loop: <code>sweeps.analysis.numpy_lines.program(config)</code>).</p>"
        + "".join(blocks)
        + "</div>"
    )


def answer_html(answer: dict) -> str:
    """The answer the question was given, tried: the verdict and the sentence that says what was
    trained."""
    return (
        '<p class="answer"><b>The thread\'s answer, tried</b> (verdict: '
        f"<b>{_e(answer['verdict'])}</b>). "
        f"{_e(answer['sentence'])}</p>"
    )


def _escape_color(share: float) -> str:
    """White (none escaped) to the fit green (all did)."""
    low, high = (255, 255, 255), (0, 158, 115)
    r, g, b = (round(lo + (hi - lo) * share) for lo, hi in zip(low, high))
    return f"#{r:02x}{g:02x}{b:02x}"


def map_html(doc: dict) -> str:
    """The causal map: one row per setting, one cell per value, each the fixed config with that
    value (lr retuned), coloured by its escape rate at its best lr; the fixed config's own value
    outlined."""
    if not doc["map"]:
        return ""
    width = max(len(row["cells"]) for row in doc["map"])
    rows = []
    for row in doc["map"]:
        cells = []
        for c in row["cells"]:
            tip = (
                f"{row['setting']}={c['label']}: {c['modes_text']} at its best lr "
                f"{c['best_lr']:.3g}"
                + (
                    f"; escapes at {_rates(c['lr_range'])}"
                    if c["escapes"]
                    else "; escapes at no lr"
                )
            )
            mark = " fixed" if c["fixed"] else ""
            ink = "#ffffff" if c["escape_rate"] > 0.6 else "#111111"
            cells.append(
                f'<td class="cell{mark}" '
                f'style="background:{_escape_color(c["escape_rate"])};color:{ink}" '
                f'title="{_e(tip)}">{_e(c["label"])}<br>'
                f"<small>{c['fits']}/{c['seeds']}</small></td>"
            )
        cells += ["<td></td>"] * (width - len(cells))
        rows.append(f"<tr><th>{_e(row['setting'])}</th>{''.join(cells)}</tr>")
    lr = "".join(
        f'<td class="cell" style="background:{_escape_color(p["escape_rate"])};color:'
        f'{"#ffffff" if p["escape_rate"] > 0.6 else "#111111"}" title="{_e(p["modes_text"])}">'
        f"{p['lr']:.3g}<br><small>{p['fits']}/{p['seeds']}</small></td>"
        for p in doc["lr_profile"]
    )
    return (
        "<p><b>Which settings escape</b>: your config, fixed, with one setting moved at a time "
        "(the row), every "
        f"other held, the learning rate retuned, {seeds_text(doc['repeats'])}, "
        f"{_e(doc['budget']['words'])}. A "
        "cell gives the init seeds that fit at its best lr; green: all fit, white: none; outlined: "
        "the fixed "
        "config's "
        'own value. Hover a cell for its modes and lr range.</p><div class="wide"><table '
        'class="map">'
        f"{''.join(rows)}<tr><th>lr (the fixed config)</th>{lr}</tr></table></div>"
    )


def decides_html(doc: dict) -> str:
    """ "What decides it": from the causal map only, each setting whose values split escaping from
    failing."""
    items = []
    for row in doc["map"]:
        failing = [c for c in row["cells"] if not c["escapes"]]
        if not failing:
            continue
        fixed = next(c for c in row["cells"] if c["fixed"])
        lost = "; ".join(
            f"{c['label']}: {c['fits']} of {c['seeds']} at its best lr" for c in failing
        )
        items.append(
            f"<li><b>{_e(row['setting'])}</b>: the fixed config escapes with {_e(fixed['label'])} "
            f"({fixed['fits']} of {fixed['seeds']}), not with {_e(lost)}</li>"
        )
    settled = [row["setting"] for row in doc["map"] if all(c["escapes"] for c in row["cells"])]
    out = (
        "<p><b>What decides it</b> (the fixed config with one setting moved, the learning rate "
        "retuned, "
        f"{seeds_text(doc['repeats'])}, {_e(doc['budget']['words'])}):</p>"
        f'<ul class="levers">{"".join(items) or NO_LEVER}</ul>'
    )
    if settled:
        out += (
            f'<p class="note">Any value escapes, the rest held at the fixed config: '
            f"{_e(', '.join(settled))}.</p>"
        )
    return out


def hints_html(doc: dict) -> str:
    """The question's hints over its init seeds, each naming the seeds that got it (a number that
    differs between them reads as its range), with its own advice tried."""
    items = "".join(
        f'<li>{_e(h["hint"])} <span class="small">({hint_seeds(h)}; '
        f"<b>{VERDICT_WORDS[h['verdict']]}</b>: {_e(h['evidence'])})</span></li>"
        for h in doc["hints"]
    )
    named = f" ({', '.join(map(str, doc['seeds']))})" if doc.get("seeds") else ""
    asked = f"{_e(doc['budget']['words'])}, lr {doc['question']['lr']:g}"
    return (
        f"<p>The diagnosis of your config, trained as you trained it ({asked}), over "
        f"{seeds_text(doc['question']['seeds'])}{named} (each hint's advice tried on your "
        f"config, the learning rate retuned):</p><ul>{items}</ul>"
    )


def swaps_html(doc: dict) -> str:
    """The swap table: each change of the fix alone, into your config and out of the fixed one."""
    if not doc["swaps"]:
        return ""
    rows = "".join(
        f"<tr><td>{_e(s['direction'])}</td><td>{_e(s['setting'])}</td>"
        f"<td>{_e(show(s['to'], s['setting']))}</td><td>{_e(s['modes_text'])}</td>"
        f"<td>{_e(_rates(s['lr_range']) if s['escapes'] else 'escapes at no lr')}</td>"
        "</tr>"
        for s in doc["swaps"]
    )
    return (
        "<p><b>Each change of the fix alone</b>, both ways, the learning rate retuned (at its best "
        "lr):</p>"
        '<table class="compact"><tr><th>swapped</th><th>setting</th><th>set to</th><th>init '
        "seeds</th>"
        f"<th>escapes at</th></tr>{rows}</table>"
    )


def copy_html(doc: dict, reuse: Callable[[], str]) -> str:
    """ "What to copy": your config, fixed, first; the sweep's best trial second (``reuse()`` draws
    it), and whether the two are tied."""
    copy = doc.get("copy")
    if copy is None:
        return reuse()
    config = json.dumps(copy["config"], indent=1)
    best = doc.get("best_trial")
    return (
        f"<h3>Your config, fixed</h3><p>Your config with the smallest fix, and lr {copy['lr']:.3g} "
        "from the middle "
        f"of the range where it escapes ({_rates(copy['lr_range'])}: {copy['fits']} of "
        f"{seeds_text(copy['seeds'])} "
        "fit); floats to 3 significant digits, settings it does not read left out:</p>"
        "<button onclick=\"copyText('fixed-config')\">copy</button>"
        f'<pre id="fixed-config">{_e(config)}</pre>'
        f"<h3>The sweep's best trial</h3>"
        + (f"<p>{_e(best['sentence'])}</p>" if best else "")
        + reuse()
    )
