"""The answer the question got where it was asked, tried as a practitioner would apply it.

A seed question was answered in its thread (``studies.Answer``: the answer in a few words, and the
config it amounts to). The answer's changes are applied to the question's config, the learning rate
is retuned (an answer that rescales the data, tried at the asker's stale learning rate, would be a
test of that learning rate, not of the answer), and it is trained at the asker's budget. The verdict
says only what was trained:

- ``not needed``: the question's config escapes without the answer's changes (the learning rate
  alone retuned);
- ``agrees``: the answer's config escapes (and which of its changes that needs);
- ``agrees, with more``: it escapes once further changes are made that do not escape without it (the
  fewest
  found: one more candidate, or the rest of the smallest fix): the answer is part of a fix;
- ``disagrees``: it does not escape at any learning rate of the grid, nor is it part of such a fix.
"""

from __future__ import annotations

from typing import Any, Mapping

from sweeps.analysis.evidence import seeds_text
from sweeps.analysis.fixes import Changes, Search, changes_text, without
from sweeps.analysis.tuning import GRID_WORDS, Tuned, Tuner

VERDICTS = ("not needed", "agrees", "agrees, with more", "disagrees")


def check_answer(
    tuner: Tuner, found: Search, answer, answer_params: Mapping[str, Any], budget_words: str
) -> dict:
    """Try ``answer`` (``answer_params``: its config as a point of the space) on the question of
    ``found`` (the fix search at the asker's budget); plain JSON: its changes, how it ended, the
    verdict and its sentence."""
    q = found.params
    changes: Changes = found.sort(
        (k, answer_params[k])
        for k in q
        if k != "lr" and k in answer_params and _differs(q[k], answer_params[k])
    )
    said = f"{answer.source[0].upper()}{answer.source[1:]}, “{answer.text}”"
    out: dict[str, Any] = {
        "text": answer.text,
        "source": answer.source,
        "changes": {k: v for k, v in changes},
        "changes_text": changes_text(changes, q),
    }
    if not changes:
        return out | {
            "verdict": "untested",
            "more": None,
            "sentence": f"{said}, changes no setting this study's search space holds: not tried.",
        }
    tuned = _tune_refined(tuner, found, [changes])[changes]
    out["tuned"] = tuned.to_dict()
    head = (
        f"{said}: {changes_text(changes, q)} on your config, the learning rate retuned, trained as "
        "you trained "
        f"it ({budget_words}), {seeds_text(tuner.repeats)}:"
    )
    question = found.tuned[()]
    if question.escapes:
        also = (
            f" With them it escapes too ({_at(tuned)})."
            if tuned.escapes
            else f" With them it does not ({tuned.best.modes_text()} at its best rate)."
        )
        return out | {
            "verdict": "not needed",
            "more": None,
            "sentence": f"{head} not needed. Your config escapes without its changes, with the "
            "learning "
            f"rate alone retuned ({_at(question)})." + also,
        }
    if tuned.escapes:
        return out | {
            "verdict": "agrees",
            "more": None,
            "sentence": f"{head} it escapes ({_at(tuned)}). The evidence agrees."
            + _needed(tuner, found, changes),
        }
    more = _more(tuner, found, changes)
    if more is not None:
        extra, t = more
        out |= {"verdict": "agrees, with more", "more": dict(extra), "more_tuned": t.to_dict()}
        return out | {
            "sentence": f"{head} alone it does not escape ({tuned.best.modes_text()} at its best "
            "rate), "
            f"but it does with {changes_text(extra, q)} as well ({_at(t)})."
        }
    return out | {
        "verdict": "disagrees",
        "more": None,
        "sentence": f"{head} it does not escape at any learning rate from {GRID_WORDS} "
        f"({tuned.best.modes_text()} at its best rate, {tuned.best_lr:.3g}), and no one more "
        "change, nor the rest of the smallest fix, escapes with it that does not escape without "
        "it. The evidence disagrees.",
    }


def _differs(a: Any, b: Any) -> bool:
    return type(a) is not type(b) or a != b


def _at(t: Tuned) -> str:
    lo, hi = t.lr_range
    rates = f"lr {lo:.3g}" if lo == hi else f"any lr in {lo:.3g}-{hi:.3g}"
    return f"fits {t.best.fits} of {t.best.n} at {rates}"


def _tune_refined(tuner: Tuner, found: Search, sets: list[Changes]) -> dict[Changes, Tuned]:
    found.tune(tuner, sets)
    escaping = {s: found.config(s) for s in sets if found.tuned[s].escapes}
    if escaping:
        found.tuned |= tuner.refine(escaping, {s: found.tuned[s] for s in escaping})
    return {s: found.tuned[s] for s in sets}


def _needed(tuner: Tuner, found: Search, changes: Changes) -> str:
    """Which of the answer's changes its escape needs: each taken back in turn."""
    if len(changes) < 2:
        return ""
    back = {k: without(changes, k) for k, _ in changes}
    tuned = _tune_refined(tuner, found, list(back.values()))
    needed = [k for k, s in back.items() if not tuned[s].escapes]
    spare = [k for k in back if k not in needed]
    parts = []
    if needed:
        parts.append(
            ("Each change is needed" if not spare else f"It needs {_names(needed)}")
            + ": "
            + "; ".join(
                f"without {k}, {tuned[back[k]].best.modes_text()} at its best rate" for k in needed
            )
            + "."
        )
    if spare:
        parts.append(
            f"It does not need {_names(spare)}: "
            + "; ".join(f"without {k}, it {_at(tuned[back[k]])}" for k in spare)
            + "."
        )
    return " " + " ".join(parts)


def _more(tuner: Tuner, found: Search, changes: Changes) -> tuple[Changes, Tuned] | None:
    """The fewest further changes (one candidate, or the rest of the fix) with which the answer
    escapes while they do not escape without it: the answer then is part of a fix."""
    taken = {k for k, _ in changes}
    singles = [
        (found.sort([c.pair]), found.sort((*changes, c.pair)))
        for c in found.candidates
        if c.setting not in taken
    ]
    with_fix = []
    if found.fix:
        extra = found.sort(p for p in found.fix if p[0] not in taken)
        if len(extra) > 1:
            with_fix.append((extra, found.sort((*changes, *extra))))
    for group in (singles, with_fix):
        tuned = _tune_refined(tuner, found, [s for _, s in group])
        alone = found.tune(tuner, [extra for extra, s in group if tuned[s].escapes])
        escaping = [
            (extra, tuned[s]) for extra, s in group if tuned[s].escapes and not alone[extra].escapes
        ]
        if escaping:
            return min(
                escaping,
                key=lambda e: (-e[1].best.escape_rate, -len(e[1].escaping), e[1].best.value),
            )
    return None


def _names(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
