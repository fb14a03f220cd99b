"""The counterfactual analysis on the report page: HTML pieces built from its stored document (no drawing)."""

from __future__ import annotations

import html
from typing import Any, Callable

from sweeps.analysis.evidence import BACKWARD, needed_fits, show

VERDICT_WORDS = {"supported": "borne out by a swap test", "refuted": "refuted by a swap test",
                 "untested": "not tested", "unneeded": "not needed from your config"}


def _e(text: Any) -> str:
    return html.escape(str(text))


def smallest_fix_html(doc: dict, badge: Callable[[str], str]) -> str:
    """The page's top section: the sentence, the table of changes with the evidence for each."""
    fix, q = doc["fix"], doc["question"]
    parts = [f"<p>The question's own config, trained from {q['seeds']} fresh seeds: <b>{_e(q['modes_text'])}</b>. "
             f"{_e(doc['target']['sentence'])}</p>",
             f'<p class="fix"><b>{_e(fix["sentence"])}</b></p>']
    if fix["evidence"]:
        rows = "".join(
            f"<tr><td>{_e(e['setting'])}</td><td>{_e(show(e['from'], e['setting']))}</td><td><b>{_e(show(e['to'], e['setting']))}</b></td>"
            f"<td>{_e(e['without']['modes_text'])}</td><td>{_e(e['alone']['modes_text'])}</td></tr>"
            for e in fix["evidence"])
        parts.append("<table><tr><th>setting</th><th>question's</th><th>fix</th><th>the fix without it</th>"
                     f"<th>this change alone</th></tr>{rows}</table>")
    if doc["answer"] is not None:
        parts.append(answer_html(doc["answer"], badge))
    need = needed_fits(doc["repeats"])
    parts.append(f'<p class="note">Found by: {_e(fix["found_by"])}. A config escapes when at least {need} of its '
                 f"{doc['repeats']} seeds reach {badge('fit')}; every row was retrained from fresh seeds, apart from "
                 "the search (the study <code>" + _e(doc["study"]) + ":explain</code> in the same storage).</p>")
    if fix["alternatives"]:
        alts = "; ".join(", ".join(a) for a in fix["alternatives"])
        parts.append(f'<p class="note">Other sets of the same size that escape too: {_e(alts)}.</p>')
    return "".join(parts)


def answer_html(answer: dict, badge: Callable[[str], str]) -> str:
    """The answer the question was given, tested: its config's mode over the fresh seeds, and the verdict in a sentence."""
    modes = "" if answer["verdict"] == "untested" else f"{badge(answer['mode'])} "
    return (f'<p class="answer"><b>The answer given, tested</b>: {modes}<b>{_e(answer["verdict"])}</b>. '
            f"{_e(answer['sentence'])}</p>")


def swaps_html(doc: dict, badge: Callable[[str], str]) -> str:
    """The swap-test table: each setting swapped alone, into the question's config and out of the target one."""
    need = needed_fits(doc["repeats"])
    rows = []
    for s in doc["swaps"]:
        escaped = s["fits"] >= need and s["seeds"] >= doc["repeats"]
        rows.append(f"<tr><td>{_e(s['direction'])}</td><td>{_e(s['setting'])}</td><td>{_e(show(s['to'], s['setting']))}</td>"
                    f"<td>{badge(s['mode'])}</td><td>{_e(s['modes_text'])}</td>"
                    f"<td>{'escapes' if escaped else 'fails'}</td></tr>")
    return ("<p><b>Swap tests</b>: one setting at a time, from the question's config toward the target config's "
            "value, and from the target config back to the question's value; each from "
            f"{doc['repeats']} fresh seeds.</p><table class=\"compact\"><tr><th>start from</th><th>setting</th>"
            f"<th>set to</th><th>mode</th><th>seeds</th><th></th></tr>{''.join(rows)}</table>")


def decides_html(doc: dict) -> str:
    """"What decides it": only sentences a swap test backs; raw shares a swap test contradicts, corrected."""
    need, r = needed_fits(doc["repeats"]), doc["repeats"]
    needed = [s for s in doc["swaps"] if s["direction"] == BACKWARD and s["fits"] < need]
    fix = doc["fix"]["changes"]
    items = [f"<li><b>{_e(s['setting'])}</b> decides it: the target config with {_e(s['setting'])}="
             f"{_e(show(s['to'], s['setting']))} (the question's) put back fits {s['fits']} of {s['seeds']} ({_e(s['modes_text'])})"
             + ("" if fix is None or s["setting"] in fix else
                f"; in the target only: your config escapes keeping {_e(s['setting'])}={_e(show(s['to'], s['setting']))} "
                "(the smallest fix)")
             + "</li>" for s in needed]
    items += [f"<li>{_e(row['sentence'])}</li>" for row in doc["levers"] if row["verdict"] == "backed"]
    wrong = [f"<li>{_e(row['sentence'])}</li>" for row in doc["levers"] if row["verdict"] == "contradicted"]
    out = (f"<p><b>What decides it</b> (each sentence backed by a swap test from {r} fresh seeds; raw escape "
           f"shares computed on {_e(doc.get('levers_basis', 'the trials'))}):</p><ul class=\"levers\">"
           f"{''.join(items) or '<li>no single setting: see the smallest fix</li>'}</ul>")
    if wrong:
        out += ("<p><b>Raw shares the swap tests contradict</b> (the swap test wins):</p>"
                f"<ul class=\"levers\">{''.join(wrong)}</ul>")
    return out


def hints_html(doc: dict) -> str:
    """The question's hints over its seeds, each with its verdict against the swap tests."""
    items = "".join(f"<li>{_e(h['hint'])} <span class=\"small\">({h['seeds']} of {h['of']} seeds; "
                    f"<b>{VERDICT_WORDS[h['verdict']]}</b>: {_e(h['evidence'])})</span></li>" for h in doc["hints"])
    return f"<p>The diagnosis of the question's config, over {doc['question']['seeds']} seeds:</p><ul>{items}</ul>"
