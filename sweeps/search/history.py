"""What the sampler models, kept in memory and bounded: the cost of an ask stays flat as a study
grows.

Optuna's TPE rebuilds its estimators from every finished trial at every ask, so an ask costs in
proportion to the study (at 3,000 trials it is most of the driver's time). The driver keeps a copy
of the finished trials (COMPLETE and PRUNED, the ones TPE reads) in an in-memory Optuna study and
samples each trial's params there (``sampler.sample_relative``, Optuna's public sampler interface);
the trial in the stored study then takes them as they are (:class:`Chosen`).

Up to :data:`WINDOW` finished trials the copy is every one of them, in trial order, so TPE sees
exactly what it would see in the stored study: the same seed gives the same trials as sampling there
(a default sweep never comes near the window). Past it, the copy is rebuilt from the
:data:`KEEP_BEST` best trials and the most recent ones, :data:`WINDOW` / 2 in all, then grows again:
TPE's "good" trials (the best 25 at most, Optuna's default gamma) stay the study's best, and its
"bad" ones are the recent trials, which TPE's default weights already favour over old ones. The
study records this choice in its ``sampler`` user attr.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import optuna
from optuna.trial import FrozenTrial, TrialState

WINDOW = 1000
"""The most finished trials the sampler models at once; a study up to this size is sampled as a
whole."""
KEEP_BEST = 25
"""Trials kept by value when the copy is rebuilt: Optuna's default gamma never takes more than 25
as "good"."""
NAME = "sampled-from"
DRAFTS = "drafts"
"""The in-memory study where :meth:`History.draw` draws each trial's params, never stored."""
MODELLED = (TrialState.COMPLETE, TrialState.PRUNED)
"""The states TPE (without constant liar) reads."""


def record() -> dict:
    """How the sampler sees the study, as the study records it."""
    return {"name": "TPE", "multivariate": True, "window": WINDOW, "keep_best": KEEP_BEST}


class History:
    """The finished trials of a study, copied once each into an in-memory study, bounded by
    :data:`WINDOW`."""

    def __init__(self, window: int = WINDOW, keep_best: int = KEEP_BEST):
        self.window, self.keep_best = window, keep_best
        self.study = self._empty()
        self.held: list[FrozenTrial] = []  # the trials in self.study, in trial order
        self.copied: set[int] = set()  # numbers of every finished trial seen
        self.low = 0  # every trial numbered below it is finished and seen

    def _empty(self) -> optuna.Study:
        """A new empty in-memory study (in a new storage) to hold the copies."""
        self.storage = optuna.storages.InMemoryStorage()
        # drafts live as long as the copy: at most a window's worth of them are held
        self.drafts = optuna.create_study(
            study_name=DRAFTS, direction="minimize", storage=self.storage
        )
        return optuna.create_study(study_name=NAME, direction="minimize", storage=self.storage)

    def update(self, trials: list[FrozenTrial], hidden: Collection[int] = ()) -> None:
        """Copy the finished trials of ``trials`` (the stored study's, in number order) not copied
        yet, but for those numbered in ``hidden`` (a later update copies them): the driver's own
        trials numbered above n - batch, which trial n, about to be drawn, must not see (see
        sweeps.search.driver)."""
        new = [
            t
            for t in trials[self.low :]
            if t.state in MODELLED and t.number not in self.copied and t.number not in hidden
        ]
        for t in sorted(new, key=lambda t: t.number):
            self.study.add_trial(t)
            self.held.append(t)
            self.copied.add(t.number)
        while (
            self.low < len(trials)
            and trials[self.low].state.is_finished()
            and trials[self.low].number not in hidden
        ):
            self.low += 1
        if len(self.held) > self.window:
            self._rebuild()

    def _rebuild(self) -> None:
        complete = [t for t in self.held if t.state == TrialState.COMPLETE]
        best = {
            t.number for t in sorted(complete, key=lambda t: (t.value, t.number))[: self.keep_best]
        }
        recent = {t.number for t in self.held[-(self.window // 2 - len(best)) :]}
        self.held = [t for t in self.held if t.number in best | recent]
        self.study = self._empty()
        for t in self.held:
            self.study.add_trial(t)

    def fresh(self) -> optuna.Study:
        """The held trials as a study. A Study object remembers the trials it read until its next
        ask, which this one never has: each sampling reads them through a fresh one."""
        return optuna.Study(study_name=NAME, storage=self.storage)

    def sample(self, sampler: optuna.samplers.BaseSampler, space: dict) -> dict:
        """``sampler``'s params for the next trial, from the trials held; {} when it samples none
        (too few)."""
        return sampler.sample_relative(self.fresh(), None, space)


    def draw(
        self, sampler: optuna.samplers.BaseSampler, suggest: Callable[[optuna.Trial], dict]
    ) -> tuple[dict, optuna.Trial]:
        """A trial's params drawn by ``sampler`` through ``suggest`` (``Space.suggest``) on a draft
        trial of an in-memory study, as Optuna's ``Trial`` draws them: (what ``suggest`` returns,
        the draft, whose ``params`` and ``distributions`` the stored trial then takes whole, in one
        record). ``sampler`` must draw by the stored trial's number, not the draft's."""
        self.drafts.sampler = sampler
        draft = self.drafts.ask()
        return suggest(draft), draft


class Chosen(optuna.samplers.BaseSampler):
    """A sampler that gives a trial the params chosen beforehand by ``sampler``
    (:meth:`History.sample`), and samples any other (a conditional param, outside the joint model)
    with the same sampler from ``history``."""

    def __init__(
        self, space: dict, params: dict, sampler: optuna.samplers.BaseSampler, history: History
    ):
        self.space, self.params, self.sampler, self.history = (
            dict(space),
            dict(params),
            sampler,
            history,
        )

    def infer_relative_search_space(self, study, trial):
        return self.space

    def sample_relative(self, study, trial, search_space):
        return {k: v for k, v in self.params.items() if k in search_space}

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self.sampler.sample_independent(
            self.history.fresh(), trial, param_name, param_distribution
        )
