"""What retrainings show, in numbers and words: the tally of one config over fresh init seeds, and
how a change reads.

A :class:`Tally` is one config (a variant at one learning rate) trained from the analysis's fresh
seeds: how often it escaped (reached ``fit``), its median value and its modes. A config *escapes*
when at least :data:`ESCAPE_RATE` of its seeds fit. This module trains nothing (see
`sweeps.analysis.lab`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlpcore import MODES
from sweeps.analysis.lab import Run
from sweeps.results.frames import ESCAPE_MODE, NONE_LABELS

ESCAPE_RATE = 0.8
"""A config escapes when at least this share of its seeds reach ``fit``: 4 of 5, 3 of 3."""


def needed_fits(repeats: int) -> int:
    """Seeds that must fit, out of ``repeats``, for a config to escape."""
    return math.ceil(ESCAPE_RATE * repeats - 1e-9)


@dataclass(frozen=True)
class Tally:
    """The runs of one config, in seed order, out of ``repeats`` seeds (fewer while it is being
    trained)."""

    runs: tuple[Run, ...]
    repeats: int

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def fits(self) -> int:
        return sum(r.mode == ESCAPE_MODE for r in self.runs)

    @property
    def failures(self) -> int:
        return self.n - self.fits

    @property
    def escape_rate(self) -> float:
        return self.fits / self.n if self.n else 0.0

    @property
    def value(self) -> float:
        """The median value over the seeds trained (inf before any)."""
        return float(np.median([r.value for r in self.runs])) if self.runs else math.inf

    @property
    def escapes(self) -> bool:
        return self.fits >= needed_fits(self.repeats)

    @property
    def hopeless(self) -> bool:
        """Whether it cannot escape, whatever the seeds still to train do."""
        return self.failures > self.repeats - needed_fits(self.repeats)

    @property
    def decided(self) -> bool:
        return self.escapes or self.hopeless

    @property
    def fit_by(self) -> int | None:
        """The step by which every seed that fit had fit (None when none did)."""
        steps = [r.steps for r in self.runs if r.mode == ESCAPE_MODE]
        return max(steps) if steps else None

    @property
    def modes(self) -> dict[str, int]:
        """Seeds per mode, worst mode first; only the modes that occurred."""
        counts = Counter(r.mode for r in self.runs)
        return {m: counts[m] for m in (*MODES, "error") if counts[m]}

    @property
    def mode(self) -> str:
        """The commonest mode (the better one on a tie)."""
        counts = self.modes
        return max(reversed(list(counts)), key=counts.get) if counts else "none"

    def modes_text(self) -> str:
        """``linear 3 of 5, collapsed 2 of 5``, commonest first."""
        counts = sorted(self.modes.items(), key=lambda kv: -kv[1])
        return ", ".join(f"{m} {k} of {self.n}" for m, k in counts)

    def fit_text(self) -> str:
        return f"fits {self.fits} of {self.n} init seeds"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seeds": self.n,
            "fits": self.fits,
            "escape_rate": self.escape_rate,
            "value": self.value,
            "mode": self.mode,
            "modes": self.modes,
            "modes_text": self.modes_text(),
            "fit_by": self.fit_by,
        }


def seeds_text(n: int) -> str:
    """``5 fresh init seeds``, ``1 fresh init seed``: init seeds no search trial used."""
    return f"{n} fresh init seed{'s' * (n != 1)}"


def differs(a: Any, b: Any) -> bool:
    """Whether two values of a setting make two configs (1 and 1.0 do: their params differ)."""
    return type(a) is not type(b) or a != b


def show(value: Any, setting: str | None = None) -> str:
    """A setting's value as the page prints it: 3 significant digits for floats, ``None`` as the
    setting's label for it (batch size: full) or none."""
    if value is None:
        return NONE_LABELS.get(setting, "none")
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def change_text(setting: str, old: Any, new: Any) -> str:
    """``x_scaling none -> standard``."""
    return f"{setting} {show(old, setting)} -> {show(new, setting)}"
