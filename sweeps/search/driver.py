"""The sweep driver: ask trials, evaluate them in worker processes, record and tell them.

Only this process touches the storage. It keeps at most ``batch`` trials asked and not yet
told (16 by default, whatever ``jobs`` is) and tells them in trial order. Trial n is drawn
knowing exactly trials 0..n - batch (the ones in between are running, and not modelled: see
CONSTANT_LIAR; or told since, and hidden from its sampler: see History.update), and each
trial's sampler is seeded from (study seed, trial number): the same seed gives the same
trials, params and values with one worker or many. Unlike rounds with a
barrier, the window never leaves a worker idle while one slow trial finishes, unless the slow
one is the oldest of the window.

A trial is asked only when the workers want more trainings (``WorkerPool.wanted``: enough to
keep each busy, and one ready to hand over), not as soon as the window has room: Optuna stamps a
trial's start when it is asked, and optuna-dashboard shows complete - start as its "Duration",
which then is the trial's own time (with its wait behind the few trainings ahead of it, and for
older trials to be told), not its wait in the window.

With a pruner, trial n's trainings are handed the thresholds computed from trials numbered at
most n - batch, all told before trial n is asked: pruning decisions too are the same with one
worker or many (see `pruning.py`).

A trial's trainings (one per init seed, ``--repeats``) are separate tasks, so they run side
by side; the workers start, import and load the compiled kernel while this process opens the
study, and the baseline is evaluated among the first trials rather than before them.
"""

from __future__ import annotations

import bisect
import os
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

import studies
from mlpcore.warmup import announce as announce_compile
from mlpcore.warmup import warm_up as warm_up_kernel
from sweeps import space as search_space
from sweeps.results.handle import Sweep, save_snapshot
from sweeps.search.history import Chosen, History
from sweeps.search.interrupts import handled, held
from sweeps.search.pool import WorkerPool
from sweeps.search.progress import Progress
from sweeps.search.progress import mode_for as progress_mode
from sweeps.search.provenance import iso, run_record
from sweeps.search.pruning import DEFAULT as DEFAULT_PRUNER
from sweeps.search.pruning import References, check_pruner
from sweeps.search.tracking import open_study, tell
from sweeps.search.worker import combine, train_once
from sweeps.search.worker import prepare as prepare_worker
from sweeps.store import replay
from sweeps.store.factory import open_storage
from sweeps.store.grouped import describe, grouped_writes
from sweeps.store.liveness import Driver
from sweeps.store.records import IN_FILES, PRUNED, Settings, Stop, as_stored, counts_as_done
from sweeps.store.trialfiles import BASELINE as BASELINE_FILE
from sweeps.store.trialfiles import TrialFiles

__all__ = ["search", "trial_seeds", "trials_cap", "BATCH"]

BATCH = 16
"""At most this many trials asked and not yet told; trial n is drawn knowing trials 0..n - BATCH.
The sampler learns from every told trial, so a small window searches better, and a large one
keeps more workers busy while one slow trial is the oldest (trial times spread over two orders
of magnitude: 8 left one of 2 workers idle a third of the time on sine). It shapes the study,
so it does not follow --jobs; raise it with many cores."""

BASELINE = "baseline"
BASELINE_KEY = 0xBA5E
"""The baseline's task key, and what stands in for a trial number when deriving its seeds."""

CONSTANT_LIAR = False
"""TPE's constant liar counts the trials still running as failures. With a window of ``batch``
trials there are always ``batch - 1`` of them, and the search then keeps away from the region it
is finding good (benchmarks/README.md). Without it, the running trials differ by their own seeds."""

STARTUP_TRIALS = 16
"""Random trials before TPE starts modelling: enough to see every mode."""

WAIT_SECONDS = 1.0
"""How often a driver whose share is done looks again at trials running in other drivers."""

REAP_SECONDS = 5.0
"""How often a driver looks for trials of dead drivers to fail."""

MAX_TRIALS = 1_000_000
MAX_JOBS = 1024
MAX_REPEATS = 1000
"""Bounds on run's numbers: far beyond any useful sweep, near enough to catch a typo."""


def trials_cap() -> int:
    """The most trials a sweep runs: ``SWEEPS_MAX_TRIALS`` (``sweeps.space.TRIALS_CAP_VARIABLE``),
    else MAX_TRIALS."""
    return search_space.cap(search_space.TRIALS_CAP_VARIABLE) or MAX_TRIALS


def trial_seeds(seed: int, number: int, repeats: int) -> list[int]:
    """The init seeds of trial ``number``: derived from (study seed, trial number), recorded on the
    trial."""
    return [
        int(s)
        for s in np.random.SeedSequence([seed, number]).generate_state(repeats, dtype=np.uint32)
    ]


class SweepSampler(optuna.samplers.TPESampler):
    """Multivariate TPE over a study's fixed search space; its conditional parameters (momentum,
    read only by the momentum optimizer) each by univariate TPE over the trials that drew them.

    The space never changes within a study, so it is given, not inferred: Optuna would otherwise
    intersect the params of every past trial on each ask, a cost that grows with the study, since
    each trial gets a fresh, freshly seeded sampler. A conditional parameter stays out of the joint
    model, which learns only from trials holding all of its parameters.
    """

    def __init__(self, space: search_space.Space, seed: int):
        super().__init__(
            seed=seed,
            n_startup_trials=STARTUP_TRIALS,
            multivariate=True,
            constant_liar=CONSTANT_LIAR,
        )
        self.fixed_space = {
            n: d for n, d in space.distributions.items() if n not in space.conditional
        }

    def infer_relative_search_space(self, study, trial):
        return self.fixed_space


EXPLORE_TRIALS = 32
"""The first trials are drawn uniformly at random (Optuna's RandomSampler), not by TPE: what
no model chose, so escape shares and the failure-mode map computed on them are unbiased.
They are marked with the user attr ``explore``."""


def trial_sampler(space: search_space.Space, seed: int, number: int) -> optuna.samplers.BaseSampler:
    """The sampler that draws trial ``number``, seeded from (study seed, trial number)."""
    trial_seed = int(np.random.SeedSequence([seed, 0x5EED, number]).generate_state(1)[0])
    if number < EXPLORE_TRIALS:
        return optuna.samplers.RandomSampler(seed=trial_seed)
    return SweepSampler(space, trial_seed)


class NumberedSampler(optuna.samplers.BaseSampler):
    """Draws each trial with the sampler of its own number (:func:`trial_sampler`): ``number``
    when pinned (the number storage will give the trial, the driver drawing it on a draft before
    it is stored: see `AskTellLoop.ask`), else the trial's. Drivers that ask at the same moment get
    distinct numbers, so they draw distinct points; one driver alone draws as before. Trial
    ``k < len(starts)`` takes start ``k``."""

    def __init__(
        self,
        space: search_space.Space,
        seed: int,
        starts: list[dict] = (),
        history: History | None = None,
    ):
        self.space, self.seed, self.starts, self.history = space, seed, list(starts), history
        self.number: int | None = None  # pinned: the number every trial is drawn for
        self._number: int | None = None
        self._sampler: optuna.samplers.BaseSampler | None = None

    def number_of(self, trial: FrozenTrial) -> int:
        return trial.number if self.number is None else self.number

    def of(self, trial: FrozenTrial) -> optuna.samplers.BaseSampler:
        number = self.number_of(trial)
        if self._number != number:
            sampler = trial_sampler(self.space, self.seed, number)
            if self.history is not None and isinstance(
                sampler, SweepSampler
            ):  # TPE on the trials held in memory
                # {} when too few trials are held to model: TPE then draws each param at random,
                # counting the trials held, not the stored study's (more: see History.update)
                chosen = self.history.sample(sampler, sampler.fixed_space)
                sampler = Chosen(sampler.fixed_space, chosen, sampler, self.history)
            self._number, self._sampler = number, sampler
        return self._sampler

    def infer_relative_search_space(self, study, trial):
        return (
            {}
            if self.number_of(trial) < len(self.starts)
            else self.of(trial).infer_relative_search_space(study, trial)
        )

    def sample_relative(self, study, trial, search_space):
        if self.number_of(trial) < len(self.starts) or not search_space:
            return {}
        return self.of(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        number = self.number_of(trial)
        start = self.starts[number] if number < len(self.starts) else {}
        if param_name in start:
            return start[param_name]
        return self.of(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study, trial):
        self.of(trial).before_trial(study, trial)

    def after_trial(self, study, trial, state, values):
        # not self.of(trial): a trial told is not the one drawn last, and its draw is not needed to
        # tell it (Optuna's TPE and random samplers do nothing after a trial but pass it on)
        trial_sampler(self.space, self.seed, trial.number).after_trial(study, trial, state, values)


def check_whole(name: str, value, low: int, high: int) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def search(
    study: "str | studies.Study",
    *,
    trials: int | None = None,
    jobs: int | None = None,
    seed: int = 0,
    repeats: int | None = None,
    storage: str | None = None,
    out: str | Path = "results",
    timeout: float | None = None,
    trial_timeout: float | None = None,
    batch: int = BATCH,
    pruner: str = DEFAULT_PRUNER,
    progress: bool | None = None,
    argv: list[str] | None = None,
) -> Sweep:
    """Run (or resume) the sweep of ``study`` until it holds ``trials`` finished trials.

    Parameters
    ----------
    study : a study name (``studies.names()``), the path of a ``.py`` file defining STUDY or of a
            snapshot
        ``.npz``, or a ``studies.Study`` (saved as ``out/NAME/study.npz``, the file its workers
        load).
    trials : the study's total; a rerun only runs what is missing. Default: the study's budget.
    jobs : worker processes; default all cores.
    seed : the study's seed; trial seeds and the sampler derive from it.
    repeats : init seeds per trial; the trial's value is their median. Default: the study's budget.
    storage : an Optuna storage URL; default a journal file ``out/STUDY/journal.log``.
    out : the results root; a study's files go to ``out/STUDY/``.
    timeout : seconds after which no new trial is started.
    trial_timeout : seconds after which a training (one seed of a trial) is stopped, its worker
                    killed,
        and its trial failed.
    batch : trials asked and not yet told, at most; trial n is drawn from trials 0..n - batch
        (see the module docstring).
    progress : True: a status line on stderr; False: nothing; default: as fits where it runs, a
               status line in a
        terminal, a bar in a notebook, a line every 30 s in a log (``sweeps.search.progress``).
    pruner : "none", "median" or "hyperband": stop hopeless trainings at a checkpoint (see
             `pruning.py`).
    argv : the command line recorded with the run (default ``sys.argv``).

    Returns
    -------
    Sweep, the handle of the stored sweep (its study, definition and opened storage).
    """
    ref = study.name if isinstance(study, studies.Study) else study
    definition = study if isinstance(study, studies.Study) else studies.get(study)
    if isinstance(study, str) and study.endswith(
        (".py", ".npz")
    ):  # workers outlive a chdir: give them the file
        study = str(Path(study).resolve())
    trials = definition.trials if trials is None else trials
    repeats = definition.repeats if repeats is None else repeats
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    check_whole("trials", trials, 1, MAX_TRIALS)
    trials = min(trials, trials_cap())
    check_whole("jobs", jobs, 1, MAX_JOBS)
    check_whole("repeats", repeats, 1, MAX_REPEATS)
    check_whole("batch", batch, 1, MAX_TRIALS)
    check_whole("seed", seed, 0, 2**32 - 1)
    check_pruner(pruner)
    for name, limit in (("timeout", timeout), ("trial_timeout", trial_timeout)):
        if limit is not None and not (
            isinstance(limit, (int, float)) and np.isfinite(limit) and limit > 0
        ):
            raise ValueError(f"{name} must be a number of seconds > 0, got {limit!r}")
    # a study whose data are broken is bad input: said now, before anything is written
    definition.data()
    space = search_space.Space.of(definition)  # a bad search space is bad input too
    # Its budget within the engine's bounds (mlpcore.config); a point of its space beyond them fails
    # its trial alone.
    space.to_config(definition.baseline, space.params_of(definition.baseline), seed=0)
    out_dir = Path(out) / definition.name
    created = [p for p in (out_dir, *out_dir.parents) if not p.exists()]  # deepest first
    prepare_out_dir(Path(out), definition.name)
    if isinstance(study, studies.Study):
        study = save_snapshot(definition, out_dir)
    settings = Settings(seed, repeats, batch, pruner)
    try:
        store = open_storage(storage, out_dir)
    except ValueError:  # bad input leaves nothing behind, not even the folders it made
        for folder in created:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    started = time.time()
    if trial_timeout is not None:
        # compile here if need be, not in a worker's first trial, whose clock is running
        warm_up_kernel()
    pool = WorkerPool(train_once, jobs, trial_timeout, prepare=(prepare_worker, (study,)))
    opt = open_study(
        store,
        definition,
        settings,
        NumberedSampler(space, seed, space.start_params(definition.starts)),
    )
    if (
        "baseline" not in opt.user_attrs
        or sum(counts_as_done(t) for t in opt.get_trials(deepcopy=False)) < trials
    ):
        # the workers compile the kernel on a fresh install: one line, before they start
        announce_compile()
        # the workers start up (imports, the kernel) while this process gets ready to ask
        pool.start()
    record = run_record(
        argv if argv is not None else sys.argv,
        started,
        describe(store),
        trials_requested=trials,
        jobs=jobs,
        timeout=timeout,
        trial_timeout=trial_timeout,
    )
    bar = Progress(
        opt,
        trials,
        mode=progress_mode(progress),
        done=sum(counts_as_done(t) for t in opt.get_trials(deepcopy=False)),
    )
    with handled(), Driver(opt, store, TrialFiles.of(out_dir)) as driver:
        try:
            loop = AskTellLoop(opt, study, definition, space, settings, driver, pool, trials)
            if "baseline" not in opt.user_attrs:
                loop.submit_baseline()
            loop.go(deadline=None if timeout is None else started + timeout, bar=bar)
        except (KeyboardInterrupt, MemoryError) as e:  # Ctrl-C or SIGTERM (interrupts.Terminated)
            stop = Stop.INTERRUPTED if isinstance(e, KeyboardInterrupt) else Stop.OUT_OF_MEMORY
            with held():  # a second signal must not cut this short
                pool.close()
                for t in opt.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                    if t.user_attrs.get("driver") == driver.id:
                        driver.fail(t, stop)
            raise
        finally:
            with held():
                bar.close()
                record["ended"] = iso(time.time())
                opt.set_user_attr(f"run:{driver.id}", record)
    if storage is None:  # this driver's last write is done: the next reader opens without a replay
        replay.keep(store, opt.study_name)
    return Sweep(ref, definition, study, Path(out), storage, store, opt)


class AskTellLoop:
    """One driver's loop over the window of asked trials (see the module docstring)."""

    def __init__(
        self,
        opt,
        study_ref: str,
        definition,
        space: search_space.Space,
        settings: Settings,
        driver: Driver,
        pool: WorkerPool,
        total: int,
    ):
        self.opt, self.study_ref, self.definition, self.space, self.settings = (
            opt,
            study_ref,
            definition,
            space,
            settings,
        )
        self.driver, self.pool, self.total = driver, pool, total
        self.asked: deque = deque()  # (trial, params, seeds), oldest first
        self.mine: list[int] = []  # the numbers of the trials this loop asked, in order
        self.history = History()  # what the sampler models (see history.py)
        self.sampler = NumberedSampler(
            space, settings.seed, space.start_params(definition.starts), self.history
        )
        opt.sampler = self.sampler
        self.settled, self.settled_done = (
            0,
            0,
        )  # trials numbered below settled are finished; how many count
        self.runs: dict[
            int | str, list
        ] = {}  # trial number (or BASELINE) -> its runs so far, by seed
        self.results: dict[
            int, dict
        ] = {}  # trial number -> outcome waiting for its turn to be told
        self.last_reap = 0.0
        self.starts = space.start_params(definition.starts)
        self.references = References(
            opt.study_name, settings.pruner, definition.steps, settings.batch
        )
        done = opt.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        self.best = min(
            (t.value for t in done), default=float("inf")
        )  # a trial told below it keeps its model

    def go(self, *, deadline: float | None, bar: Progress) -> None:
        while True:
            now = time.time()
            if now - self.last_reap >= REAP_SECONDS:
                with held():
                    self.driver.reap()
                self.last_reap = now
            if deadline is None or now < deadline:
                self.refill()
            if self.asked and self.asked[0][0].number in self.results:
                trial = self.asked.popleft()[0]
                outcome = self.results.pop(trial.number)
                keep = (
                    "error" not in outcome
                    and outcome["stopped"] != PRUNED
                    and outcome["value"] < self.best
                )
                with held():
                    tell(
                        self.opt,
                        trial,
                        outcome,
                        self.driver.store,
                        self.driver.files,
                        keep_model=keep,
                        every_point=self.settings.pruner != "none",
                    )
                if keep:
                    self.best = outcome["value"]
                bar.update(bar.done + 1)
                # refill after every single tell: that is what makes the history
                # reproducible
                continue
            if len(self.pool):
                self.collect()
                continue
            done, running = self.counts()
            bar.update(done)
            if done >= self.total or (deadline is not None and now >= deadline):
                return
            if running:
                time.sleep(
                    WAIT_SECONDS
                )  # the rest runs in other drivers: wait for it, or for them to die

    def submit(self, key: int | str, params: dict | None, seeds: list[int], rule=None) -> None:
        """Hand trial ``key``'s trainings to the workers, one task per seed, with its pruning
        rule."""
        self.runs[key] = [None] * len(seeds)
        for i, seed in enumerate(seeds):
            self.pool.submit((key, i), (self.study_ref, params, seed, rule))

    def collect(self) -> None:
        """Wait for the next training to end; a trial whose trainings have all ended has its
        outcome."""
        (key, i), run = self.pool.next()
        if run.get("out_of_memory"):  # the machine's limit, not the trial's: the sweep stops here
            which = "the baseline" if key == BASELINE else f"trial {key}"
            raise MemoryError(f"{which}: {run['error']}")
        runs = self.runs[key]
        runs[i] = run
        if any(r is None for r in runs):
            return
        del self.runs[key]
        if key == BASELINE:
            outcome = combine(runs)
            self.driver.files.write(BASELINE_FILE, outcome)
            self.opt.set_user_attr(
                "baseline",
                as_stored("baseline", {k: v for k, v in outcome.items() if k not in IN_FILES}),
            )
        else:
            self.results[key] = combine(runs)

    def submit_baseline(self) -> None:
        """Evaluate the study's baseline, as declared but for its init seeds, among the first
        trials; it is stored as the study's attribute."""
        seeds = trial_seeds(self.settings.seed, BASELINE_KEY, self.settings.repeats)
        self.submit(BASELINE, None, seeds)

    def counts(self, snapshot: list | None = None) -> tuple[int, int]:
        """(done, running) trials of the study, over every driver; ``snapshot``: the study's
        trials, just read."""
        snapshot = self.opt.get_trials(deepcopy=False) if snapshot is None else snapshot
        # A finished trial never changes again: those below the first unfinished one are counted
        # once.
        while self.settled < len(snapshot) and snapshot[self.settled].state.is_finished():
            self.settled_done += counts_as_done(snapshot[self.settled])
            self.settled += 1
        rest = snapshot[self.settled :]
        return self.settled_done + sum(counts_as_done(t) for t in rest), sum(
            t.state == TrialState.RUNNING for t in rest
        )

    def refill(self) -> None:
        """Ask trials while the workers want more trainings and fewer than ``batch`` are out, until
        the budget (over all drivers) is used."""
        while len(self.asked) < self.settings.batch and self.pool.wanted() > 0:
            snapshot = self.opt.get_trials(deepcopy=False)
            done, running = self.counts(snapshot)
            if done + running >= self.total:
                return
            with (
                held()
            ):  # a trial asked is stamped with this driver before any signal ends the sweep
                asked = self.ask(snapshot)
                if asked is None:
                    continue
                trial, params, seeds = asked
                if not self.within_budget(trial):
                    self.driver.fail(trial, Stop.OVER_BUDGET)
                    return
            self.asked.append((trial, params, seeds))
            self.submit(trial.number, params, seeds, self.references.rule(trial.number, snapshot))

    def ask(self, snapshot: list | None = None):
        """Ask a trial, drawn by the sampler of the number storage gives it, stamped with its seeds
        and this driver; None when another driver took that number meanwhile (the trial is given
        back, and the next ask draws for the next number). TPE samples from the trials the driver
        holds in memory (``snapshot``: the study's trials, just read, or read now; see history.py):
        all those finished, but for this driver's own numbered above n - batch.

        The params are drawn on a draft (`History.draw`) for the number the trial will get, then the
        trial is created whole, params, seeds and stamps, in one storage record: a killed driver
        leaves no trial half-stamped, and the journal one record a trial, not one a param."""
        snapshot = self.opt.get_trials(deepcopy=False) if snapshot is None else snapshot
        # Storage numbers trials in order, so the trial asked next is number len(snapshot), unless
        # another driver asks meanwhile: then its number is higher, and it sees fewer of our trials.
        number = len(snapshot)
        cut = number - self.settings.batch
        self.history.update(snapshot, hidden=self.mine[bisect.bisect_right(self.mine, cut) :])
        self.sampler.number = number
        try:
            params, draft = self.history.draw(self.sampler, self.space.suggest)
        finally:
            self.sampler.number = None
        seeds = trial_seeds(self.settings.seed, number, self.settings.repeats)
        stamps = {"seeds": seeds, "driver": self.driver.id}
        if number < len(self.starts):
            stamps["start"] = True
        if len(self.starts) <= number < EXPLORE_TRIALS:
            stamps["explore"] = True
        store = self.driver.store
        trial_id = store.create_new_trial(
            self.driver.study_id,
            template_trial=optuna.trial.create_trial(
                state=TrialState.RUNNING,
                params=draft.params,
                distributions=draft.distributions,
                user_attrs=stamps,
            ),
        )
        trial = store.get_trial(trial_id)
        self.mine.append(trial.number)
        if trial.number != number:  # drawn for a number another driver took: given back
            self.driver.fail(trial, Stop.OVER_BUDGET)
            return None
        return trial, params, seeds

    def within_budget(self, trial) -> bool:
        """Whether ``trial`` ranks below the budget among the done or running trials.

        Drivers asking at the same moment can together ask more than the budget has left. The
        storage numbers trials in one order for everyone, so each driver ranks its trials among
        the done or running ones below them and gives back those ranked ``total`` or later.
        """
        if trial.number < self.total:  # its rank is at most its number: no need to look
            return True
        alive = sorted(
            t.number
            for t in self.opt.get_trials(deepcopy=False)
            if counts_as_done(t) or t.state == TrialState.RUNNING
        )
        return bisect.bisect_left(alive, trial.number) < self.total


def prepare_out_dir(out: Path, name: str) -> Path:
    """``out/name``, created; a clear error when it cannot be."""
    out_dir = out / name
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot create output folder {str(out_dir)!r}: {e.strerror}") from None
    if not os.access(out_dir, os.W_OK):
        raise ValueError(f"output folder {str(out_dir)!r} is not writable")
    return out_dir
