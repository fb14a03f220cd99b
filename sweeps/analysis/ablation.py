"""From the question's config to the target one: the greedy ablation path and the smallest fix.

Both work on *change sets*: tuples of settings (in the order of the differences) whose value
is taken from the target config (``sweeps.analysis.explain.aim``), the others keeping the question's. A ``lab`` trains them:
``lab.train(change_sets, seeds)`` makes sure each has at least ``seeds`` runs, and
``lab.tally(changes)`` returns its :class:`~sweeps.analysis.evidence.Tally`. Every decision here
depends only on those tallies, so the same runs give the same path and fix, whatever the
number of workers was.

The path follows Fawcett & Hoos (2016), "Analysing differences between algorithm
configurations through ablation": at each step, the one remaining change that most improves
the median value. The smallest fix searches every set of up to ``EXHAUSTIVE_SIZE`` changes,
smallest first, and only beyond that prunes the shortest escaping prefix of the path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Protocol, Sequence

from sweeps.analysis.evidence import Tally, needed_fits

Changes = tuple[str, ...]

EXHAUSTIVE_SIZE = 3
"""Change sets up to this size are searched exhaustively (at most 298 of them for 12 differences)."""

PLATEAU = 0.05
"""Path candidates with the same escape rate and mode, and median values within this relative
distance of the best, are on a plateau: the loss drop (how far training got) decides, not the
value's noise, and never the order of the list."""


class Lab(Protocol):
    repeats: int
    diffs: Changes

    def train(self, change_sets: Sequence[Changes], seeds: int) -> None: ...

    def tally(self, changes: Changes) -> Tally: ...


@dataclass(frozen=True)
class Step:
    """One step of the path: the change it adds (None for the question's config) and what decided it."""

    changes: Changes
    added: str | None
    decided_by: str
    """``value``, ``loss drop (plateau of k)``, or ``start`` / ``last`` where there was no choice."""


@dataclass(frozen=True)
class Fix:
    """The smallest fix: a change set, how it was found, and the other sets of its size that escape too."""

    changes: Changes | None
    """None when even the target config does not escape."""
    method: str
    alternatives: tuple[Changes, ...] = field(default=())


def ordered(lab: Lab, changes) -> Changes:
    """A change set in the order of the differences (the canonical spelling)."""
    return tuple(s for s in lab.diffs if s in set(changes))


def rank_key(t: Tally) -> tuple[float, float]:
    """Better first: a higher escape rate, then a lower median value."""
    return (-t.escape_rate, t.value)


def pick(candidates: dict[Changes, Tally]) -> tuple[Changes, str]:
    """The best candidate step, and what decided it (see PLATEAU)."""
    best = min(candidates, key=lambda c: rank_key(candidates[c]))
    b = candidates[best]
    tied = [c for c, t in candidates.items()
            if t.escape_rate == b.escape_rate and t.mode == b.mode and abs(t.value - b.value) <= PLATEAU * abs(b.value)]
    if len(tied) == 1:
        return best, "value"
    chosen = max(tied, key=lambda c: (candidates[c].loss_drop, -candidates[c].value))
    return chosen, f"loss drop (plateau of {len(tied)})"


def ablation_path(lab: Lab) -> list[Step]:
    """The greedy path from the question's config (no change) to the target config (every change)."""
    current: Changes = ()
    lab.train([current], lab.repeats)
    steps = [Step(current, None, "start")]
    while len(current) < len(lab.diffs):
        options = [ordered(lab, (*current, s)) for s in lab.diffs if s not in current]
        if len(options) == 1:
            lab.train(options, lab.repeats)
            chosen, why = options[0], "last"
        else:
            chosen, why = pick({c: lab.tally(c) for c in contenders(lab, options)})
        added = next(s for s in chosen if s not in current)
        steps.append(Step(chosen, added, why))
        current = chosen
    return steps


def contenders(lab: Lab, options: Sequence[Changes]) -> list[Changes]:
    """The options that could still be the path's next step, each trained from all seeds.

    Trained in stages, one more seed a stage from the screen's first: an option whose fits, even if
    every seed still to train fitted, stay below the fits some option already has cannot reach the
    best escape rate, so it is dropped untrained. The step :func:`pick` chooses among the rest is the
    one it would choose with every option trained from all seeds.
    """
    r = lab.repeats
    alive = list(options)
    seeds = min(r, r - needed_fits(r) + 1) if len(alive) > 1 else r
    while True:
        lab.train(alive, seeds)
        floor = max(lab.tally(c).fits for c in alive)
        alive = [c for c in alive if lab.tally(c).fits + (r - lab.tally(c).n) >= floor]
        if seeds >= r:
            return alive
        seeds += 1


def screen(lab: Lab, change_sets: Sequence[Changes]) -> list[Changes]:
    """The change sets that escape, trained in two stages: first just enough seeds to rule a set out
    (all of them failing leaves it no way to reach the escape rate), then the rest for the others."""
    r = lab.repeats
    first = r - needed_fits(r) + 1
    lab.train(change_sets, first)
    alive = [c for c in change_sets if not lab.tally(c).hopeless(r)]
    lab.train(alive, r)
    return [c for c in alive if lab.tally(c).escapes(r)]


def prune(lab: Lab, changes: Changes) -> Changes:
    """Drop each change in turn whose removal still escapes, until every one left is needed."""
    kept = changes
    dropped = True
    while dropped:
        dropped = False
        for s in kept:
            rest = tuple(c for c in kept if c != s)
            if screen(lab, [rest]):
                kept, dropped = rest, True
                break
    return kept


def smallest_fix(lab: Lab, path: list[Step]) -> Fix:
    """The smallest change set that escapes, each change necessary and together sufficient.

    Sets of up to EXHAUSTIVE_SIZE changes are searched exhaustively, smallest first; among the
    escaping sets of the smallest size, the best by escape rate, median value and loss drop is
    the fix (the others are its alternatives). Beyond that, the shortest escaping prefix of the
    path is pruned. Every change is then checked: the fix without it is trained from all seeds.
    """
    r = lab.repeats
    everything = tuple(lab.diffs)
    lab.train([(), everything], r)
    if lab.tally(()).escapes(r):
        return Fix((), "the question's config already escapes")
    if not lab.tally(everything).escapes(r):
        return Fix(None, "the target config itself does not escape")
    for size in range(1, min(EXHAUSTIVE_SIZE, len(everything)) + 1):
        found = screen(lab, [c for c in combinations(everything, size)])
        if found:
            found.sort(key=lambda c: (*rank_key(lab.tally(c)), -lab.tally(c).loss_drop))
            fix = Fix(found[0], f"every set of up to {size} changes tried", tuple(found[1:]))
            break
    else:
        prefix = next(s.changes for s in path if lab.tally(s.changes).escapes(r))
        fix = Fix(prune(lab, prefix), "the shortest escaping prefix of the path, pruned")
    lab.train([tuple(c for c in fix.changes if c != s) for s in fix.changes], r)
    lab.train([(s,) for s in fix.changes], r)
    return fix
