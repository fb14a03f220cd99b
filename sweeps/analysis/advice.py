"""The question's hints against the evidence: each hint's own advice, tried.

The diagnosis of the question's config gives hints, and each hint carries its advice as data
(``mlpcore.diagnostics.Hint.advice``: alternatives, each a set of config changes, the learning rate as a
direction). Every alternative is trained here, on the question's config at the asker's budget, over the
learning-rate grid (a direction keeps the rates on its side of the question's own). The verdict follows one
rule: a hint is ``borne out`` only where its own advice was trained and escaped.

- ``borne out``: an alternative of its advice makes the question's config escape;
- ``part of the fix``: none does alone, but the smallest fix makes one of its changes;
- ``not borne out``: its advice was trained and does not escape, and the fix makes none of its changes;
- ``untested``: it advises no setting (``train for more steps``), or only a rate off the grid.
"""

from __future__ import annotations

import re
from typing import Any

from mlpcore.diagnostics import HIGHER, LOWER
from sweeps import space as search_space
from sweeps.analysis.fixes import Search
from sweeps.analysis.lab import Run
from sweeps.analysis.tuning import COARSE, Tuned, Tuner

VERDICTS = ("borne out", "part of the fix", "not borne out", "untested")


def hint_kind(hint: str) -> str:
    """The hint with its numbers blanked: the same rule on other seeds reads the same."""
    return re.sub(r"-?\d[\d.e+-]*%?", "#", hint)


def advice_text(alternative: dict[str, Any]) -> str:
    """``x_scaling='standard'``, ``a lower learning rate``."""
    words = {LOWER: "a lower learning rate", HIGHER: "a higher learning rate"}
    return " and ".join(words[v] if k == "lr" else f"{k}={v!r}" for k, v in alternative.items())


def check_hints(tuner: Tuner, found: Search, runs: list[Run]) -> list[dict[str, Any]]:
    """Each hint the question's config gets over its seeds (``runs``), how many seeds get it, its advice tried and
    its verdict, as plain JSON."""
    kinds: dict[str, dict[str, Any]] = {}
    for run in runs:
        for hint, advice in zip(run.hints, run.advice or [()] * len(run.hints)):
            entry = kinds.setdefault(hint_kind(hint), {"hint": hint, "advice": [dict(a) for a in advice], "seeds": 0})
            entry["seeds"] += 1
    out = []
    for entry in kinds.values():
        tried = [_try(tuner, found, alternative) for alternative in entry["advice"]]
        out.append(entry | {"of": len(runs), "tried": tried, **_verdict(found, entry["advice"], tried)})
    return out


def _try(tuner: Tuner, found: Search, alternative: dict[str, Any]) -> dict[str, Any]:
    """One alternative of a hint's advice, trained: the question's config with its changes, the rates it allows."""
    changes = {k: v for k, v in alternative.items() if k != "lr"}
    direction = alternative.get("lr")
    own = found.question.lr
    lrs = tuple(lr for lr in COARSE if direction is None or (lr < own if direction == LOWER else lr > own))
    said = advice_text(alternative)
    if not lrs:
        return {"advice": said, "tested": False, "why": f"no rate of the grid (1e-06 to 1) is {direction} than {own:g}"}
    config = search_space.apply(found.question, changes)
    tuned: Tuned = tuner.tune({0: config}, {0: lrs}, complete=True)[0]
    best = tuned.best
    return {"advice": said, "tested": True, "escapes": tuned.escapes, "lr_range": list(tuned.lr_range or []) or None,
            "best_lr": tuned.best_lr, "modes_text": best.modes_text(), "fits": best.fits, "seeds": best.n}


def _verdict(found: Search, advice: list[dict[str, Any]], tried: list[dict[str, Any]]) -> dict[str, str]:
    tested = [t for t in tried if t["tested"]]
    if not tested:
        why = "it advises no setting to change" if not advice else "; ".join(t["why"] for t in tried)
        return {"verdict": "untested", "evidence": why}
    escaping = [t for t in tested if t["escapes"]]
    if escaping:
        t = escaping[0]
        lo, hi = t["lr_range"]
        at = f"lr {lo:.3g}" if lo == hi else f"any lr in {lo:.3g}-{hi:.3g}"
        return {"verdict": "borne out", "evidence": f"its advice, tried: {t['advice']} fits {t['fits']} of "
                                                    f"{t['seeds']} init seeds at {at}"}
    fix = dict(found.fix or ())
    in_fix = [a for a in advice if any(k in fix and fix[k] == v for k, v in a.items() if k != "lr")]
    failed = "; ".join(f"{t['advice']}: {t['modes_text']} at its best rate" for t in tested)
    if in_fix:
        return {"verdict": "part of the fix",
                "evidence": f"its advice alone does not escape ({failed}), but the smallest fix makes "
                            + ", ".join(advice_text({k: v for k, v in a.items() if k != "lr"}) for a in in_fix)
                            + " among its changes"}
    return {"verdict": "not borne out", "evidence": f"its advice, tried, does not escape ({failed}), and the "
                                                    "smallest fix makes none of its changes"}
