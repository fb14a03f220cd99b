"""The question's hints against the evidence: each hint's own advice, tried.

The diagnosis of the question's config gives hints, and each hint carries its advice as data
(``mlpcore.diagnostics.Hint.advice``: alternatives, each a set of config changes, the learning rate
as a direction). Every alternative is trained here, on the question's config at the asker's budget,
over the learning-rate grid (a direction keeps the rates on its side of the question's own). The
verdict follows one rule: a hint is ``borne out`` only where its own advice was trained and escaped.

- ``borne out``: an alternative of its advice makes the question's config escape;
- ``part of the fix``: none does alone, but the smallest fix makes one of its changes;
- ``not borne out``: its advice was trained and does not escape, and the fix makes none of its
  changes;
- ``untested``: it advises no setting (``train for more steps``), or only a rate off the grid.
"""

from __future__ import annotations

import re
from typing import Any

from mlpcore.diagnostics import HIGHER, LOWER
from sweeps import space as search_space
from sweeps.analysis.fixes import Search
from sweeps.analysis.lab import Run
from sweeps.analysis.tuning import COARSE, GRID_WORDS, Tuned, Tuner

VERDICTS = ("borne out", "part of the fix", "not borne out", "untested")


NUMBER = re.compile(r"-?\d[\d.e+-]*%?")
"""A number in a hint's text: 60%, 2.21, 3.9e+03."""


def hint_kind(hint: str) -> str:
    """The hint with its numbers blanked: the same rule on other seeds reads the same."""
    return NUMBER.sub("#", hint)


def over_seeds(texts: list[str]) -> str:
    """One kind of hint as several init seeds got it: each number they differ in as its range over
    them ("60-80% of the relu units are dead"), the others as they are."""
    words = NUMBER.split(texts[0])
    numbers = [NUMBER.findall(t) for t in texts]
    out = [words[0]]
    for i, after in enumerate(words[1:]):
        seen = [n[i] for n in numbers]
        out += [seen[0] if len(set(seen)) == 1 else _range(seen), after]
    return "".join(out)


def _range(seen: list[str]) -> str:
    """ "60-80%" of ["80%", "60%", "70%"]; "-1 to 2.5" where a number is negative."""

    def value(number: str) -> float:
        m = re.match(r"-?\d+(\.\d*)?(e[+-]?\d+)?", number)
        return float(m[0]) if m else 0.0

    lo, hi = min(seen, key=value), max(seen, key=value)
    if lo.endswith("%") and hi.endswith("%"):
        return f"{lo[:-1]}-{hi}"
    return f"{lo} to {hi}" if lo.startswith("-") or hi.startswith("-") else f"{lo}-{hi}"


def hint_seeds(h: dict[str, Any]) -> str:
    """Which init seeds got hint ``h`` (an entry of :func:`check_hints`): "3 of 5 init seeds:
    2508653836, 3078145799, 3018974554", or "5 of 5 init seeds" when all did."""
    seeds = h.get("init_seeds") or []
    listed = f": {', '.join(map(str, seeds))}" if seeds and len(seeds) < h["of"] else ""
    return f"{h['seeds']} of {h['of']} init seeds{listed}"


def advice_text(alternative: dict[str, Any]) -> str:
    """``x_scaling='standard'``, ``a lower learning rate``."""
    words = {LOWER: "a lower learning rate", HIGHER: "a higher learning rate"}
    return " and ".join(words[v] if k == "lr" else f"{k}={v!r}" for k, v in alternative.items())


def check_hints(tuner: Tuner, found: Search, runs: list[Run]) -> list[dict[str, Any]]:
    """Each hint the question's config gets over its init seeds (``runs``, one a seed of
    ``tuner.seeds``), how many and which seeds get it (its numbers as their range over them), its
    advice tried and its verdict, as plain JSON."""
    kinds: dict[str, dict[str, Any]] = {}
    for seed, run in zip(tuner.seeds, runs):
        for hint, advice in zip(run.hints, run.advice or [()] * len(run.hints)):
            entry = kinds.setdefault(
                hint_kind(hint),
                {"texts": [], "init_seeds": [], "advice": [dict(a) for a in advice]},
            )
            entry["texts"].append(hint)
            entry["init_seeds"].append(seed)
    out = []
    for entry in kinds.values():
        tried = [_try(tuner, found, alternative) for alternative in entry["advice"]]
        out.append(
            {
                "hint": over_seeds(entry["texts"]),
                "advice": entry["advice"],
                "seeds": len(entry["texts"]),
                "of": len(runs),
                "init_seeds": entry["init_seeds"],
                "tried": tried,
                **_verdict(found, entry["advice"], tried),
            }
        )
    return out


def _try(tuner: Tuner, found: Search, alternative: dict[str, Any]) -> dict[str, Any]:
    """One alternative of a hint's advice, trained: the question's config with its changes, the
    rates it allows."""
    changes = {k: v for k, v in alternative.items() if k != "lr"}
    direction = alternative.get("lr")
    own = found.question.lr
    lrs = tuple(
        lr for lr in COARSE if direction is None or (lr < own if direction == LOWER else lr > own)
    )
    said = advice_text(alternative)
    if not lrs:
        return {
            "advice": said,
            "tested": False,
            "why": f"no rate of the grid ({GRID_WORDS}) is {direction} than {own:g}",
        }
    config = search_space.apply(found.question, changes)
    tuned: Tuned = tuner.tune({0: config}, {0: lrs}, complete=True)[0]
    best = tuned.best
    return {
        "advice": said,
        "tested": True,
        "escapes": tuned.escapes,
        "lr_range": list(tuned.lr_range or []) or None,
        "best_lr": tuned.best_lr,
        "modes_text": best.modes_text(),
        "fits": best.fits,
        "seeds": best.n,
    }


def _verdict(
    found: Search, advice: list[dict[str, Any]], tried: list[dict[str, Any]]
) -> dict[str, str]:
    tested = [t for t in tried if t["tested"]]
    if not tested:
        why = (
            "it advises no setting to change" if not advice else "; ".join(t["why"] for t in tried)
        )
        return {"verdict": "untested", "evidence": why}
    escaping = [t for t in tested if t["escapes"]]
    if escaping:
        t = escaping[0]
        lo, hi = t["lr_range"]
        at = f"lr {lo:.3g}" if lo == hi else f"any lr in {lo:.3g}-{hi:.3g}"
        return {
            "verdict": "borne out",
            "evidence": f"its advice, tried: {t['advice']} fits {t['fits']} of "
            f"{t['seeds']} init seeds at {at}",
        }
    fix = dict(found.fix or ())
    in_fix = [a for a in advice if any(k in fix and fix[k] == v for k, v in a.items() if k != "lr")]
    failed = "; ".join(f"{t['advice']}: {t['modes_text']} at its best rate" for t in tested)
    if in_fix:
        return {
            "verdict": "part of the fix",
            "evidence": f"its advice alone does not escape ({failed}), but the smallest fix makes "
            + ", ".join(advice_text({k: v for k, v in a.items() if k != "lr"}) for a in in_fix)
            + " among its changes",
        }
    return {
        "verdict": "not borne out",
        "evidence": f"its advice, tried, does not escape ({failed}), and the "
        "smallest fix makes none of its changes",
    }
