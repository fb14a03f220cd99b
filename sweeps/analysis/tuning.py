"""The learning rate, retuned: a config is judged at its best learning rate on a log grid, never at
a stale one.

A *variant* (a config, its learning rate aside) is trained at every learning rate of :data:`COARSE`,
from the analysis's fresh seeds (:data:`SEEDS`, the same for every variant: a difference between two
variants is their settings', never their seeds'). It *escapes* when at some learning rate at least 4
of its 5 seeds fit.

Successive halving over seeds keeps this cheap and exact: every learning rate starts with two seeds,
and one more seed at a time goes only to those still undecided (neither escaping yet, nor hopeless:
two failures leave no way to 4 of 5). The decisions read only finished trainings, in a fixed order,
so they are the same whatever the number of workers. :func:`refine` then tries the half-decades
around a variant's escaping rates, for the range it escapes in ("fits 5 of 5 for any lr in
0.003-0.1").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Hashable, Mapping

import numpy as np

from mlpcore import MLPConfig
from sweeps.analysis.evidence import Tally
from sweeps.analysis.lab import Lab, Run

REPEATS = 5
"""Fresh init seeds per learning rate: enough to tell 4 of 5 from a lucky draw."""

SEED_KEY = 0xE4B1A1
SEEDS = tuple(
    int(s) for s in np.random.SeedSequence(SEED_KEY).generate_state(REPEATS, dtype=np.uint32)
)
"""The init seeds of every analysis training: fixed, so the analysis does not depend on the sweep
(nor its seed)."""


def grid_lr(j: int) -> float:
    """The ``j``-th learning rate of the grid: 10 ** (j / 2), each decade and the half-decade
    between two."""
    return float(10.0 ** (j / 2))


COARSE = tuple(grid_lr(2 * k) for k in range(-6, 1))
"""Learning rates every variant is tried at: the decades of the default search range, 1e-6 to 1."""

GRID_WORDS = f"{COARSE[0]:g} to {COARSE[-1]:g}"
"""The grid's range as the analysis's sentences say it: "1e-06 to 1"."""


CENTER = 1e-2
"""Where a variant's learning rates are tried from, outwards: where scaled data and Adam usually
escape."""


def half_decades(lr: float) -> tuple[float, float]:
    """The grid's rates half a decade either side of ``lr`` (3.16e-3 and 3.16e-2 beside 1e-2)."""
    j = round(2 * math.log10(lr))
    return grid_lr(j - 1), grid_lr(j + 1)


@dataclass(frozen=True)
class Tuned:
    """A variant over the learning rates it was tried at: its tally at each, in increasing order."""

    by_lr: tuple[tuple[float, Tally], ...]

    @property
    def escaping(self) -> tuple[float, ...]:
        """The learning rates at which it escapes."""
        return tuple(lr for lr, t in self.by_lr if t.escapes)

    @property
    def escapes(self) -> bool:
        return bool(self.escaping)

    @property
    def lr_range(self) -> tuple[float, float] | None:
        """The lowest and highest learning rates at which it escapes (None: none)."""
        return (self.escaping[0], self.escaping[-1]) if self.escaping else None

    @property
    def best_lr(self) -> float:
        """Its best learning rate: the most seeds fit, then the lowest median value, then the
        lowest rate."""
        return min(self.by_lr, key=lambda p: (-p[1].fits, p[1].value, p[0]))[0]

    @property
    def best(self) -> Tally:
        return dict(self.by_lr)[self.best_lr]

    @property
    def middle_lr(self) -> float | None:
        """The escaping learning rate nearest the geometric middle of its range: the one to copy
        (None: none)."""
        if not self.escaping:
            return None
        lo, hi = self.lr_range
        return min(
            self.escaping,
            key=lambda lr: (abs(math.log(lr) - (math.log(lo) + math.log(hi)) / 2), lr),
        )

    def at(self, lr: float) -> Tally | None:
        return dict(self.by_lr).get(lr)

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "escapes": self.escapes,
            "lr_range": list(self.lr_range) if self.escapes else None,
            "best_lr": self.best_lr,
            "middle_lr": self.middle_lr,
            **best.to_dict(),
            "by_lr": [{"lr": lr, **t.to_dict()} for lr, t in self.by_lr],
        }


class Tuner:
    """Trains variants over the learning-rate grid with successive halving; every tally it has seen
    stays known."""

    def __init__(self, lab: Lab, repeats: int = REPEATS):
        self.lab, self.repeats = lab, repeats
        self._known: dict[
            tuple[MLPConfig, float, int], Run
        ] = {}  # (variant, lr, seed) -> its run, once looked up
        self.seeds = (
            SEEDS[:repeats]
            if repeats <= len(SEEDS)
            else tuple(
                int(s)
                for s in np.random.SeedSequence(SEED_KEY).generate_state(repeats, dtype=np.uint32)
            )
        )

    def tune(
        self,
        variants: Mapping[Hashable, MLPConfig],
        lrs: Mapping[Hashable, tuple[float, ...]] | None = None,
        *,
        center: float = CENTER,
        until_escape: bool = True,
        complete: bool = False,
    ) -> dict[Hashable, Tuned]:
        """Each variant (a config; its lr is set here) over its learning rates (default
        :data:`COARSE`).

        ``until_escape``: the rates are tried one after another, nearest ``center`` first, and a
        variant that escapes at one is tried at no other (enough to know that it escapes; one that
        does not is tried at them all). Otherwise every rate is tried. ``complete``: a rate where it
        escapes gets all its seeds (for its escape rate). Every decision reads finished trainings
        only, so the outcome does not depend on how many workers trained them.
        """
        order = {
            k: sorted(
                lrs[k] if lrs is not None else COARSE,
                key=lambda lr: (abs(math.log(lr) - math.log(center)), lr),
            )
            for k in variants
        }
        opened = {k: 1 if until_escape else len(order[k]) for k in variants}
        seeds = {(k, lr): 2 for k in variants for lr in order[k][: opened[k]]}
        while True:
            known = self._tallies(variants, seeds)
            grew = False
            for k in variants:
                mine = [(lr, known[k, lr]) for lr in order[k][: opened[k]]]
                escaped = any(t.escapes for _, t in mine)
                for lr, t in mine:
                    if t.n < self.repeats and (
                        (t.escapes and complete)
                        or (not t.decided and not (until_escape and escaped))
                    ):
                        seeds[k, lr] += 1
                        grew = True
                if (
                    until_escape
                    and not escaped
                    and all(t.hopeless for _, t in mine)
                    and opened[k] < len(order[k])
                ):
                    seeds[k, order[k][opened[k]]] = 2
                    opened[k] += 1
                    grew = True
            if not grew:
                break
        return {
            k: Tuned(tuple(sorted((lr, known[k, lr]) for lr in order[k][: opened[k]])))
            for k in variants
        }

    def _tallies(
        self, variants: Mapping[Hashable, MLPConfig], seeds: dict
    ) -> dict[tuple[Hashable, float], Tally]:
        """The tally of each (variant, lr) over its first ``seeds[variant, lr]`` seeds, trained now
        where not known."""
        wanted = [(variants[k], lr, s) for k, lr in seeds for s in self.seeds[: seeds[k, lr]]]
        new = list(dict.fromkeys(w for w in wanted if w not in self._known))
        if new:
            self._known |= zip(
                new, self.lab.outcomes([config.replace(lr=lr, seed=s) for config, lr, s in new])
            )
        return {
            (k, lr): Tally(
                tuple(self._known[variants[k], lr, s] for s in self.seeds[:n]), self.repeats
            )
            for (k, lr), n in seeds.items()
        }

    def complete(
        self, variants: Mapping[Hashable, MLPConfig], tuned: Mapping[Hashable, Tuned]
    ) -> dict[Hashable, Tuned]:
        """Each variant again at the rates tried before, every one decided and those where it
        escapes with all their seeds: its escape rate at each."""
        return self.tune(
            variants,
            {k: tuple(lr for lr, _ in tuned[k].by_lr) for k in variants},
            until_escape=False,
            complete=True,
        )

    def refine(
        self, variants: Mapping[Hashable, MLPConfig], tuned: Mapping[Hashable, Tuned]
    ) -> dict[Hashable, Tuned]:
        """Each variant again, every rate tried before decided and those where it escapes with all
        their seeds, and the grid's rates half a decade beside each rate where it escapes, outwards
        until none is added: the whole stretch of the grid it escapes in (refining it again adds
        nothing)."""
        lrs = {k: {lr for lr, _ in tuned[k].by_lr} for k in variants}
        while True:
            done = self.tune(
                variants,
                {k: tuple(sorted(v)) for k, v in lrs.items()},
                until_escape=False,
                complete=True,
            )
            grown = False
            for k in variants:
                near = {
                    x
                    for lr in done[k].escaping
                    for x in half_decades(lr)
                    if COARSE[0] <= x <= COARSE[-1]
                }
                if not near <= lrs[k]:
                    lrs[k] |= near
                    grown = True
            if not grown:
                return done
