"""The smallest fix: the fewest changes to the question's config that make it escape, the learning
rate retuned.

The changes are searched among real candidates, not toward one config the sweep happened to find:
every other value of each categorical setting of the study's space, and a few canonical values of
each numeric one (:data:`CANONICAL`). The learning rate is no candidate: every set of changes is
tried at every rate of the grid (`sweeps.analysis.tuning`), so "only the learning rate" is a fix of
size 0.

Sets of up to :data:`EXHAUSTIVE_SIZE` changes are searched exhaustively, smallest first: the first
size with an escaping set is the fix's, and no fix of fewer changes exists among the candidates.
Each change of it is needed (the fix without it is a smaller set, which was tried and does not
escape). Past that size, sets of one change more are tried in order of promise (:func:`promise`: how
near their subsets came), a bounded number, and the page says so. Nothing here reads the sweep: the
fix is the same from any sweep of the study.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution

from mlpcore import MLPConfig
from sweeps import space as search_space
from sweeps.analysis.evidence import differs, show
from sweeps.analysis.tuning import Tuned, Tuner

EXHAUSTIVE_SIZE = 2
"""Sets of up to this many changes are all tried."""

BEYOND = 400
"""Sets of one change more than EXHAUSTIVE_SIZE tried (the most promising first) when no smaller
set escapes."""

CANONICAL: dict[str, tuple[Any, ...]] = {
    "width": (3, 10, 32),
    "depth": (1, 2, 3),
    "init_scale": (0.01, 0.1, 1.0),
    "weight_decay": (0.0,),
    "bias_init": (0.0, 0.1),
    **{f"width_{i}": (3, 10, 32) for i in (1, 2, 3)},
}
"""The values a numeric setting is tried at. A value outside the study's range is left out, but for
``weight_decay`` 0 (none: its range's low end stands for it)."""

NOT_CANDIDATES = frozenset({"lr", "steps", "patience", "momentum"})
"""Settings no fix changes: the learning rate (retuned for every set), the budget (the asker's), and
momentum (read only by the momentum optimizer, which a fix may choose with its own coefficient)."""

Changes = tuple[tuple[str, Any], ...]
"""A set of changes: (setting, value) pairs, in the candidates' order (the canonical spelling)."""


@dataclass(frozen=True)
class Candidate:
    setting: str
    value: Any

    @property
    def pair(self) -> tuple[str, Any]:
        return self.setting, self.value


def candidates(space: search_space.Space, question: Mapping[str, Any]) -> list[Candidate]:
    """Every change a fix may make to ``question`` (a point of ``space``), in the space's order."""
    out = []
    for name, dist in space.distributions.items():
        if name in NOT_CANDIDATES:
            continue
        for value in _values(name, dist):
            if differs(value, question.get(name)) and not (
                name in search_space.inert(question | {name: value})
            ):
                out.append(Candidate(name, value))
    return out


def _values(name: str, dist: BaseDistribution) -> tuple[Any, ...]:
    if isinstance(dist, CategoricalDistribution):
        return tuple(dist.choices)
    integer = isinstance(dist, IntDistribution)
    values = CANONICAL.get(name)
    if values is None:  # a numeric setting of a study's own: its ends and its middle
        mid = (
            math.sqrt(dist.low * dist.high)
            if getattr(dist, "log", False) and dist.low > 0
            else (dist.low + dist.high) / 2
        )
        values = (dist.low, mid, dist.high)
    kept = [
        v for v in values if dist.low <= v <= dist.high or (name == "weight_decay" and v == 0.0)
    ]
    return tuple(dict.fromkeys(int(round(v)) if integer else float(v) for v in kept))


def sets_of(cands: Sequence[Candidate], size: int) -> list[Changes]:
    """Every set of ``size`` candidates that changes ``size`` different settings, in the
    candidates' order."""
    return [
        tuple(c.pair for c in combo)
        for combo in itertools.combinations(cands, size)
        if len({c.setting for c in combo}) == size
    ]


def changes_text(changes: Changes, question: Mapping[str, Any]) -> str:
    """``x_scaling none -> standard, activation relu -> tanh`` (empty: ``only the learning
    rate``)."""
    if not changes:
        return "only the learning rate"
    return ", ".join(f"{k} {show(question.get(k), k)} -> {show(v, k)}" for k, v in changes)


def promise(tuned: Tuned) -> tuple[float, float]:
    """How near a set that did not escape came, best first: the most seeds fit at one rate, the
    lowest median value."""
    best = tuned.best
    return (-best.escape_rate, best.value)


@dataclass
class Search:
    """A fix search from one question config: every set tried, with its tuning, and what was
    found."""

    question: MLPConfig
    """The question's config as trained here (the budget set, its lr to be retuned)."""
    space: search_space.Space
    params: dict[str, Any]
    """The question's config as a point of the space."""
    candidates: list[Candidate]
    tuned: dict[Changes, Tuned] = field(default_factory=dict)
    fix: Changes | None = None
    """The smallest escaping set (None: none found)."""
    alternatives: list[Changes] = field(default_factory=list)
    """The other escaping sets of its size, best first."""
    exhaustive_up_to: int = 0
    """Every set of up to this many changes was tried."""
    tried_beyond: int = 0
    """Sets of one change more tried, the most promising first (0 when the fix was found within the
    exhaustive sizes)."""
    total_beyond: int = 0
    """How many such sets there are."""

    def config(self, changes: Changes) -> MLPConfig:
        return search_space.apply(self.question, dict(changes))

    def sort(self, changes) -> Changes:
        """``changes`` (pairs) as a set is spelled: in the candidates' order, others after them."""
        order = {c.pair: i for i, c in enumerate(self.candidates)}
        return tuple(sorted(changes, key=lambda p: (order.get(p, len(order)), str(p))))

    def values(self, setting: str) -> list[Any]:
        """The values a setting takes among the question's and the candidates', in the space's order
        (numbers increasing)."""
        found = [self.params[setting], *(c.value for c in self.candidates if c.setting == setting)]
        dist = self.space.distributions[setting]
        if isinstance(dist, CategoricalDistribution):
            return [v for v in dist.choices if v in found] + [
                v for v in dict.fromkeys(found) if v not in dist.choices
            ]
        return sorted(dict.fromkeys(found))

    def tune(self, tuner: Tuner, sets: Iterable[Changes]) -> dict[Changes, Tuned]:
        """The tuning of each set (trained now where not known)."""
        todo = {s: self.config(s) for s in sets if s not in self.tuned}
        if todo:
            self.tuned |= tuner.tune(todo)
        return self.tuned

    def sizes(self) -> dict[int, int]:
        """Sets tried, by their size."""
        counts: dict[int, int] = {}
        for s in self.tuned:
            counts[len(s)] = counts.get(len(s), 0) + 1
        return dict(sorted(counts.items()))


def search(
    tuner: Tuner,
    question: MLPConfig,
    space: search_space.Space,
    cands: list[Candidate],
    *,
    exhaustive_size: int = EXHAUSTIVE_SIZE,
    beyond: int = BEYOND,
) -> Search:
    """The smallest fix of ``question`` among ``cands`` (see the module docstring); its escaping
    sets refined."""
    found = Search(question, space, space.params_of(question), cands)
    found.tune(tuner, [()])
    size, escaping = 0, [()] if found.tuned[()].escapes else []
    while not escaping and size < exhaustive_size and size < len({c.setting for c in cands}):
        size += 1
        sets = sets_of(cands, size)
        found.tune(tuner, sets)
        escaping = [s for s in sets if found.tuned[s].escapes]
    found.exhaustive_up_to = size
    if not escaping and size < len({c.setting for c in cands}):
        escaping = _beyond(tuner, found, size + 1, beyond)
    if escaping:
        configs = {s: found.config(s) for s in escaping}
        found.tuned |= tuner.refine(configs, {s: found.tuned[s] for s in escaping})
        ranked = sorted(escaping, key=lambda s: _rank(found.tuned[s]) + (cands_order(s, cands),))
        found.fix, found.alternatives = ranked[0], ranked[1:]
    return found


def _beyond(tuner: Tuner, found: Search, size: int, limit: int) -> list[Changes]:
    """Sets of ``size`` changes, the most promising first (by their most promising subset of one
    change less), ``limit`` of them at most, in batches; the escaping ones of the first batch that
    has any."""
    smaller = {s: promise(t) for s, t in found.tuned.items() if len(s) == size - 1}
    order = {c.pair: i for i, c in enumerate(found.candidates)}
    sets = sets_of(found.candidates, size)
    found.total_beyond = len(sets)

    def key(s: Changes):
        subsets = [tuple(p for p in s if p != drop) for drop in s]
        return min(smaller.get(sub, (0.0, math.inf)) for sub in subsets), [order[p] for p in s]

    ranked = sorted(sets, key=key)[:limit]
    for start in range(0, len(ranked), 50):
        batch = ranked[start : start + 50]
        found.tune(tuner, batch)
        found.tried_beyond = start + len(batch)
        escaping = [s for s in batch if found.tuned[s].escapes]
        if escaping:
            return escaping
    return []


def _rank(t: Tuned) -> tuple:
    """Better first: the highest escape rate at its best rate, the widest escaping range, the
    lowest median value."""
    return (-t.best.escape_rate, -len(t.escaping), t.best.value)


def cands_order(changes: Changes, cands: Sequence[Candidate]) -> list[int]:
    order = {c.pair: i for i, c in enumerate(cands)}
    return [order.get(p, len(order)) for p in changes]


def without(changes: Changes, setting: str) -> Changes:
    return tuple(p for p in changes if p[0] != setting)


def path(found: Search) -> list[Changes]:
    """The greedy path from the question's config to the fixed one: at each step, of the fix's
    changes not yet made, the one whose set is best (most seeds fit at its best rate, then the
    lowest median value)."""
    if not found.fix:
        return [()]
    steps, current = [()], ()
    while len(current) < len(found.fix):
        options = [
            tuple(p for p in found.fix if p in current or p == add)
            for add in found.fix
            if add not in current
        ]
        current = min(
            options, key=lambda s: (promise(found.tuned[s]), cands_order(s, found.candidates))
        )
        steps.append(current)
    return steps
