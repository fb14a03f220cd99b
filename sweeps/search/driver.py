"""The sweep driver: ask trials, evaluate them in worker processes, record and tell them.

Only this process touches the storage. It keeps a window of ``batch`` trials asked (16 by
default, whatever ``jobs`` is) and tells them in trial order; right after telling trial k it
asks one more. So trial k + batch is always asked knowing exactly trials 0..k (the ones in
between are running, and not modelled: see CONSTANT_LIAR), and each trial's sampler is
seeded from (study seed, trial number): the same seed gives the same trials, params and
values with one worker or many. Unlike rounds with a barrier, the window never leaves a
worker idle while one slow trial finishes, unless the slow one is the oldest of the window.

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
from optuna.trial import TrialState

import studies
from mlpcore.warmup import warm_up as warm_up_kernel
from sweeps import space as search_space
from sweeps.results.handle import Sweep, save_snapshot
from sweeps.search.interrupts import handled, held
from sweeps.search.pool import WorkerPool
from sweeps.search.progress import Progress
from sweeps.search.provenance import iso, run_record
from sweeps.search.pruning import DEFAULT as DEFAULT_PRUNER
from sweeps.search.pruning import References, check_pruner
from sweeps.search.tracking import open_study, tell
from sweeps.search.worker import combine, train_once
from sweeps.search.worker import prepare as prepare_worker
from sweeps.store.factory import open_storage
from sweeps.store.grouped import describe, grouped_writes
from sweeps.store.liveness import Driver
from sweeps.store.records import Settings, Stop, counts_as_done

__all__ = ["search", "trial_seeds", "BATCH"]

BATCH = 16
"""Trials asked ahead. The sampler learns from every told trial, so a small window searches
better, and a large one keeps more workers busy while one slow trial is the oldest (trial
times spread over two orders of magnitude: 8 left one of 2 workers idle a third of the time
on sine). It shapes the study, so it does not follow --jobs; raise it with many cores."""

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


def trial_seeds(seed: int, number: int, repeats: int) -> list[int]:
    """The init seeds of trial ``number``: derived from (study seed, trial number), recorded on the trial."""
    return [int(s) for s in np.random.SeedSequence([seed, number]).generate_state(repeats, dtype=np.uint32)]


class SweepSampler(optuna.samplers.TPESampler):
    """Multivariate TPE over a study's fixed search space; its conditional parameters (momentum, read only by
    the momentum optimizer) each by univariate TPE over the trials that drew them.

    The space never changes within a study, so it is given, not inferred: Optuna would
    otherwise intersect the params of every past trial on each ask, a cost that grows with
    the study, since each trial gets a fresh, freshly seeded sampler. A conditional parameter stays out of
    the joint model, which learns only from trials holding all of its parameters.
    """

    def __init__(self, space: search_space.Space, seed: int):
        super().__init__(seed=seed, n_startup_trials=STARTUP_TRIALS, multivariate=True, constant_liar=CONSTANT_LIAR)
        self.fixed_space = {n: d for n, d in space.distributions.items() if n not in space.conditional}

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
    study : a study name (``studies.names()``), the path of a ``.py`` file defining STUDY or of a snapshot
        ``.npz``, or a ``studies.Study`` (saved as ``out/NAME/study.npz``, the file its workers load).
    trials : the study's total; a rerun only runs what is missing. Default: the study's budget.
    jobs : worker processes; default all cores.
    seed : the study's seed; trial seeds and the sampler derive from it.
    repeats : init seeds per trial; the trial's value is their median. Default: the study's budget.
    storage : an Optuna storage URL; default a journal file ``out/STUDY/journal.log``.
    out : the results root; a study's files go to ``out/STUDY/``.
    timeout : seconds after which no new trial is started.
    trial_timeout : seconds after which a training (one seed of a trial) is stopped, its worker killed,
        and its trial failed.
    batch : trials asked ahead of the last told one (see the module docstring).
    progress : show a status line on stderr; default: when stderr is a terminal.
    pruner : "none", "median" or "hyperband": stop hopeless trainings at a checkpoint (see `pruning.py`).
    argv : the command line recorded with the run (default ``sys.argv``).

    Returns
    -------
    Sweep, the handle of the stored sweep (its study, definition and opened storage).
    """
    ref = study.name if isinstance(study, studies.Study) else study
    definition = study if isinstance(study, studies.Study) else studies.get(study)
    if isinstance(study, str) and study.endswith((".py", ".npz")):  # workers outlive a chdir: give them the file
        study = str(Path(study).resolve())
    trials = definition.trials if trials is None else trials
    repeats = definition.repeats if repeats is None else repeats
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    check_whole("trials", trials, 1, MAX_TRIALS)
    check_whole("jobs", jobs, 1, MAX_JOBS)
    check_whole("repeats", repeats, 1, MAX_REPEATS)
    check_whole("batch", batch, 1, MAX_TRIALS)
    check_whole("seed", seed, 0, 2**32 - 1)
    check_pruner(pruner)
    for name, limit in (("timeout", timeout), ("trial_timeout", trial_timeout)):
        if limit is not None and not (isinstance(limit, (int, float)) and np.isfinite(limit) and limit > 0):
            raise ValueError(f"{name} must be a number of seconds > 0, got {limit!r}")
    definition.data()  # a study whose data are broken is bad input: said now, before anything is written
    space = search_space.Space.of(definition)  # a bad search space is bad input too
    # Its budget within the engine's bounds (mlpcore.config); a point of its space beyond them fails its trial alone.
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
        warm_up_kernel()  # compile here if need be, not in a worker's first trial, whose clock is running
    pool = WorkerPool(train_once, jobs, trial_timeout, prepare=(prepare_worker, (study,)))
    opt = open_study(store, definition, settings, trial_sampler(space, seed, 0))
    if "baseline" not in opt.user_attrs or sum(counts_as_done(t) for t in opt.get_trials(deepcopy=False)) < trials:
        pool.start()  # the workers start up (imports, the kernel) while this process gets ready to ask
    record = run_record(argv if argv is not None else sys.argv, started, describe(store), trials_requested=trials,
                        jobs=jobs, timeout=timeout, trial_timeout=trial_timeout)
    bar = Progress(opt, trials, enabled=sys.stderr.isatty() if progress is None else progress,
                   done=sum(counts_as_done(t) for t in opt.get_trials(deepcopy=False)))
    with handled(), Driver(opt, store) as driver:
        try:
            loop = AskTellLoop(opt, study, definition, space, settings, driver, pool, trials)
            if "baseline" not in opt.user_attrs:
                loop.submit_baseline()
            loop.go(deadline=None if timeout is None else started + timeout, bar=bar)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (interrupts.Terminated)
            with held():  # a second signal must not cut this short
                pool.close()
                for t in opt.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                    if t.user_attrs.get("driver") == driver.id:
                        driver.fail(t, Stop.INTERRUPTED)
            raise
        finally:
            with held():
                bar.close()
                record["ended"] = iso(time.time())
                opt.set_user_attr(f"run:{driver.id}", record)
    return Sweep(ref, definition, study, Path(out), storage, store, opt)


class AskTellLoop:
    """One driver's loop over the window of asked trials (see the module docstring)."""

    def __init__(self, opt, study_ref: str, definition, space: search_space.Space, settings: Settings, driver: Driver,
                 pool: WorkerPool, total: int):
        self.opt, self.study_ref, self.definition, self.space, self.settings = opt, study_ref, definition, space, settings
        self.driver, self.pool, self.total = driver, pool, total
        self.asked: deque = deque()  # (trial, params, seeds), oldest first
        self.runs: dict[int | str, list] = {}  # trial number (or BASELINE) -> its runs so far, by seed
        self.results: dict[int, dict] = {}  # trial number -> outcome waiting for its turn to be told
        self.last_reap = 0.0
        self.starts = space.start_params(definition.starts)
        self.references = References(opt.study_name, settings.pruner, definition.steps, settings.batch)

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
                with held():
                    tell(self.opt, trial, self.results.pop(trial.number), self.driver.store)
                bar.update(bar.done + 1)
                continue  # refill after every single tell: that is what makes the history reproducible
            if len(self.pool):
                self.collect()
                continue
            done, running = self.counts()
            bar.update(done)
            if done >= self.total or (deadline is not None and now >= deadline):
                return
            if running:
                time.sleep(WAIT_SECONDS)  # the rest runs in other drivers: wait for it, or for them to die

    def submit(self, key: int | str, params: dict | None, seeds: list[int], rule=None) -> None:
        """Hand trial ``key``'s trainings to the workers, one task per seed, with its pruning rule."""
        self.runs[key] = [None] * len(seeds)
        for i, seed in enumerate(seeds):
            self.pool.submit((key, i), (self.study_ref, params, seed, rule))

    def collect(self) -> None:
        """Wait for the next training to end; a trial whose trainings have all ended has its outcome."""
        (key, i), run = self.pool.next()
        runs = self.runs[key]
        runs[i] = run
        if any(r is None for r in runs):
            return
        del self.runs[key]
        if key == BASELINE:
            self.opt.set_user_attr("baseline", combine(runs))
        else:
            self.results[key] = combine(runs)

    def submit_baseline(self) -> None:
        """Evaluate the study's baseline, as declared but for its init seeds, among the first trials; it is
        stored as the study's attribute."""
        seeds = trial_seeds(self.settings.seed, BASELINE_KEY, self.settings.repeats)
        self.submit(BASELINE, None, seeds)

    def counts(self) -> tuple[int, int]:
        """(done, running) trials of the study, over every driver."""
        snapshot = self.opt.get_trials(deepcopy=False)
        return sum(counts_as_done(t) for t in snapshot), sum(t.state == TrialState.RUNNING for t in snapshot)

    def refill(self) -> None:
        """Ask trials until ``batch`` are out, or the budget (over all drivers) is used."""
        while len(self.asked) < self.settings.batch:
            snapshot = self.opt.get_trials(deepcopy=False)
            done = sum(counts_as_done(t) for t in snapshot)
            running = sum(t.state == TrialState.RUNNING for t in snapshot)
            if done + running >= self.total:
                return
            # The number the trial will get (exact with one driver; with several, only the seed differs).
            with held():  # a trial asked is stamped with this driver before any signal ends the sweep
                trial, params, seeds = self.ask(number=len(snapshot))
                if not self.within_budget(trial):
                    self.driver.fail(trial, Stop.OVER_BUDGET)
                    return
            self.asked.append((trial, params, seeds))
            self.submit(trial.number, params, seeds, self.references.rule(trial.number, snapshot))

    def ask(self, number: int):
        """Ask trial ``number`` with its own seeded sampler, stamped with its seeds and this driver."""
        self.opt.sampler = trial_sampler(self.space, self.settings.seed, number)
        if number < len(self.starts):
            self.opt.enqueue_trial(self.starts[number], user_attrs={"start": True})
        trial = self.opt.ask()
        seeds = trial_seeds(self.settings.seed, trial.number, self.settings.repeats)
        with grouped_writes(self.driver.store):
            params = self.space.suggest(trial)
            trial.set_user_attr("seeds", seeds)
            trial.set_user_attr("driver", self.driver.id)
            if len(self.starts) <= trial.number < EXPLORE_TRIALS:
                trial.set_user_attr("explore", True)
        return trial, params, seeds

    def within_budget(self, trial) -> bool:
        """Whether ``trial`` ranks below the budget among the done or running trials.

        Drivers asking at the same moment can together ask more than the budget has left. The
        storage numbers trials in one order for everyone, so each driver ranks its trials among
        the done or running ones below them and gives back those ranked ``total`` or later.
        """
        if trial.number < self.total:  # its rank is at most its number: no need to look
            return True
        alive = sorted(t.number for t in self.opt.get_trials(deepcopy=False)
                       if counts_as_done(t) or t.state == TrialState.RUNNING)
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
