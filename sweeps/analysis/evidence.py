"""What controlled retrainings show, in numbers and words: a variant's tally, and which claims it backs.

A *variant* is a config trained from several fresh seeds. Its :class:`Tally` says how often it
escaped (reached ``fit``), its median value and its modes. This module turns tallies into
verdicts: whether a variant escapes, whether a raw lever share survives a swap test, whether
a hint's advice is borne out. It trains nothing (see `sweeps.analysis.explain`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from mlpcore import MODES
from sweeps.results.frames import ESCAPE_MODE, NONE_LABELS

FORWARD, BACKWARD = "question + target's", "target with question's"
"""The two directions of a swap test: one setting of the target put into the question's config, and one of
the question's put back into the target."""

ESCAPE_RATE = 0.8
"""A variant escapes when at least this share of its seeds reach ``fit``: 4 of 5, 3 of 3."""


def needed_fits(repeats: int) -> int:
    """Seeds that must fit, out of ``repeats``, for a variant to escape."""
    return math.ceil(ESCAPE_RATE * repeats - 1e-9)


@dataclass(frozen=True)
class Tally:
    """The runs of one variant, in repeat order: each a dict with value, mode, hints, gain, loss_drop."""

    runs: tuple[Mapping[str, Any], ...]

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def fits(self) -> int:
        return sum(r["mode"] == ESCAPE_MODE for r in self.runs)

    @property
    def escape_rate(self) -> float:
        return self.fits / self.n if self.n else 0.0

    @property
    def value(self) -> float:
        return float(np.median([r["value"] for r in self.runs])) if self.runs else math.inf

    @property
    def loss_drop(self) -> float:
        drops = [r.get("loss_drop") for r in self.runs]
        return float(np.median([d if d is not None else -math.inf for d in drops])) if drops else -math.inf

    @property
    def modes(self) -> dict[str, int]:
        """Seeds per mode, worst mode first; only the modes that occurred."""
        counts = Counter(r["mode"] for r in self.runs)
        return {m: counts[m] for m in (*MODES, "error") if counts[m]}

    @property
    def mode(self) -> str:
        """The commonest mode (the better one on a tie)."""
        counts = self.modes
        return max(reversed(list(counts)), key=counts.get) if counts else "none"

    def escapes(self, repeats: int) -> bool:
        return self.n >= repeats and self.fits >= needed_fits(repeats)

    def hopeless(self, repeats: int) -> bool:
        """Whether it cannot escape whatever the seeds still to train do."""
        return self.fits + (repeats - self.n) < needed_fits(repeats)

    def modes_text(self) -> str:
        """``linear 3 of 5, collapsed 2 of 5``, commonest first."""
        counts = sorted(self.modes.items(), key=lambda kv: -kv[1])
        return ", ".join(f"{m} {k} of {self.n}" for m, k in counts)

    def fit_text(self) -> str:
        return f"fit {self.fits} of {self.n} seeds"

    def to_dict(self) -> dict[str, Any]:
        return {"seeds": self.n, "fits": self.fits, "escape_rate": self.escape_rate, "value": self.value,
                "mode": self.mode, "modes": self.modes, "modes_text": self.modes_text()}


def differs(a: Any, b: Any) -> bool:
    """Whether two values of a setting make two variants (1 and 1.0 do: their params differ)."""
    return type(a) is not type(b) or a != b


# --- the wording of settings and changes --------------------------------------------------------


def show(value: Any, setting: str | None = None) -> str:
    """A setting's value as the page prints it: 3 significant digits for floats, ``None`` as the setting's
    label for it (batch size: full) or none."""
    if value is None:
        return NONE_LABELS.get(setting, "none")
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def change_text(setting: str, old: Any, new: Any) -> str:
    """``lr 1e-06 -> 0.0304``."""
    return f"{setting} {show(old, setting)} -> {show(new, setting)}"


# --- hints against the evidence ------------------------------------------------------------------

HINT_SETTINGS: tuple[tuple[str, str], ...] = (
    (r"widen the hidden layer", "width"),
    (r"x_scaling=|scale the inputs|centre the inputs", "x_scaling"),
    (r"y_scaling=|scale the targets", "y_scaling"),
    (r"output_activation=", "output_activation"),
    (r"bias=True", "bias"),
    (r"lower (the learning rate|lr)|raise (it|lr)|is too small for these data", "lr"),  # advice, not "no single lr suits"
    (r"optimizer=", "optimizer"),
    (r"init_scale", "init_scale"),
    (r"use leaky_relu", "activation"),
)
"""Which searched setting a hint's advice changes: (pattern in the hint's words, setting). A hint
may name several; "train for more steps" names none (steps are a budget, not searched)."""


HINT_DIRECTIONS: tuple[tuple[str, str, int], ...] = (
    (r"lower (the learning rate|lr)", "lr", -1),
    (r"raise (it|lr)|lr is too small", "lr", +1),
    (r"lower init_scale", "init_scale", -1),
    (r"widen", "width", +1),
)
"""(pattern, setting, sign): the way a hint tells a number to move. A target config that moves it
the other way does not bear the hint out, even where the setting matters."""


def against_hint(hint: str, setting: str, question: Any, target: Any) -> bool:
    """Whether the target config moves ``setting`` against the direction ``hint`` asks for."""
    for pattern, s, sign in HINT_DIRECTIONS:
        if s == setting and re.search(pattern, hint) and isinstance(question, (int, float)) \
                and isinstance(target, (int, float)) and (target - question) * sign < 0:
            return True
    return False


def hint_settings(hint: str) -> list[str]:
    """The searched settings ``hint`` tells the user to change, in the table's order."""
    return [s for pattern, s in HINT_SETTINGS if re.search(pattern, hint)]


def hint_kind(hint: str) -> str:
    """The hint with its numbers blanked: the same rule on other seeds reads the same."""
    return re.sub(r"-?\d[\d.e+-]*%?", "#", hint)


def check_hint(hint: str, needed: Mapping[str, str | bool | None], reached: Tally, target: Mapping[str, Any],
               question: Mapping[str, Any], repeats: int) -> tuple[str, str]:
    """(verdict, evidence) for one hint: ``supported``, ``refuted`` or ``untested``.

    ``needed[s]`` says whether setting ``s`` is needed: the evidence in words (the target config
    fails with it put back, or it is a change of the smallest fix), False where it is not (the
    target config escapes with the question's value), None where it was not tested. A hint is
    supported when a setting it names is needed, moved the way it says; refuted when none is.
    """
    settings = hint_settings(hint)
    if not settings:
        return "untested", "it names no searched setting"
    if not reached.escapes(repeats):
        return "untested", f"the target config itself does not escape ({reached.fit_text()})"
    against = [s for s in settings if against_hint(hint, s, question.get(s), target.get(s))]
    verdicts = {s: False if s in against else needed.get(s) for s in settings}
    if any(verdicts.values()):
        s = next(s for s, v in verdicts.items() if v)
        reason = verdicts[s] if isinstance(verdicts[s], str) else f"{s} {show(target.get(s), s)} is needed"
        return "supported", reason
    if all(v is False for v in verdicts.values()):
        names = ", ".join(f"{s}={show(question.get(s), s)}" for s in settings if s not in against)
        moved = "; ".join(f"it moves {s} the other way ({show(question.get(s), s)} -> {show(target.get(s), s)})"
                          for s in against)
        return "refuted", "; ".join(p for p in (names and f"the target config escapes with the question's {names}",
                                                moved) if p)
    return "untested", "no swap test covers " + ", ".join(s for s, v in verdicts.items() if v is None)


# --- raw lever shares against swap tests ---------------------------------------------------------


def check_levers(ranking, lever_tallies: Mapping[tuple[str, str], Tally], reached: Tally, repeats: int):
    """Keep the raw lever claims a swap test backs; flag those it contradicts.

    Parameters
    ----------
    ranking : DataFrame, one row per setting: param, kind, best, best_rate, best_trials, worst,
        worst_rate, worst_trials (the report's raw per-setting escape shares, ``lever_ranking``).
    lever_tallies : (param, value label) -> the tally of the target config with that one setting
        set to that value (the swap test of the claim).
    reached : the target config's own tally.

    Returns
    -------
    DataFrame, one row per claim: param, claim (the raw share in words), verdict (``backed``,
    ``contradicted`` or ``untested``), evidence (the swap tests in words), shown (whether the
    page may state the claim: backed claims only; contradicted ones are shown as corrected).
    """
    import pandas as pd

    rows = []
    for _, r in ranking.iterrows():
        param = r["param"]
        claim = (f"{param}={r['best']}: {r['best_rate']:.0%} escape (n={r['best_trials']}); "
                 f"{r['worst']}: {r['worst_rate']:.0%} (n={r['worst_trials']})")
        hi, lo = lever_tallies.get((param, str(r["best"]))), lever_tallies.get((param, str(r["worst"])))
        if hi is None or lo is None or not reached.escapes(repeats):
            verdict, evidence = "untested", "no swap test of this setting"
        else:
            evidence = (f"the target config with {param}={r['best']}: {hi.modes_text()}; "
                        f"with {param}={r['worst']}: {lo.modes_text()}")
            backed = hi.escapes(repeats) and not lo.escapes(repeats)
            verdict = "backed" if backed else "contradicted"
        rows.append({"param": param, "claim": claim, "verdict": verdict, "evidence": evidence,
                     "shown": verdict == "backed"})
    return pd.DataFrame(rows, columns=["param", "claim", "verdict", "evidence", "shown"])


def claim_sentence(row) -> str:
    """A checked claim as the page says it: a backed claim with its evidence; a contradicted one corrected."""
    if row["verdict"] == "backed":
        return f"{row['claim']}. Swap test: {row['evidence']}."
    if row["verdict"] == "contradicted":
        return (f"Not a lever: the raw share says {row['claim']}, but the swap test says otherwise "
                f"({row['evidence']}); the share reflects what the sampler tried alongside it.")
    return ""
