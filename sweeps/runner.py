"""The sweep driver: ask a round of trials, evaluate them in worker processes, record, tell.

Only this process touches the storage. Trials are asked in rounds of ``batch`` (8 by
default, whatever ``jobs`` is) and told in trial order before the next round is asked, and
each round's sampler is seeded from (study seed, first trial number): so the same seed gives
the same trials, params and values with one worker or many, and a resumed sweep continues
as the uninterrupted one would have.
"""

from __future__ import annotations

import bisect
import getpass
import os
import platform
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from optuna.trial import TrialState

import studies
from sweeps import space as search_space
from sweeps.liveness import Driver
from sweeps.pool import WorkerPool
from sweeps.storage import describe, grouped_writes, open_storage
from sweeps.worker import evaluate

optuna.logging.set_verbosity(optuna.logging.WARNING)

BATCH = 8
"""Trials asked per round. The sampler learns between rounds, so smaller rounds search
better and larger ones keep more workers busy; it is part of what makes a study
reproducible, so it does not follow --jobs."""

BASELINE_KEY = 0xBA5E
"""Stands in for a trial number when deriving the baseline's seeds."""

WAIT_SECONDS = 1.0
"""How often a driver whose share is done looks again at trials running in other drivers."""

MAX_TRIALS = 1_000_000
MAX_JOBS = 1024
MAX_REPEATS = 1000
"""Bounds on run's numbers: far beyond any useful sweep, near enough to catch a typo."""

STARTUP_TRIALS = 16
"""Random trials before TPE starts modelling (two rounds): enough to see every mode."""


@dataclass(frozen=True)
class Settings:
    """What fixes a study's trajectory: rerunning with other values would mix two studies."""

    seed: int
    repeats: int
    batch: int

    def to_dict(self) -> dict[str, int]:
        return {"seed": self.seed, "repeats": self.repeats, "batch": self.batch}


def trial_seeds(seed: int, number: int, repeats: int) -> list[int]:
    """The init seeds of trial ``number``: derived from (study seed, trial number), recorded on the trial."""
    return [int(s) for s in np.random.SeedSequence([seed, number]).generate_state(repeats, dtype=np.uint32)]


def round_sampler(seed: int, first_number: int) -> optuna.samplers.TPESampler:
    """The sampler of the round starting at trial ``first_number``, seeded from both."""
    round_seed = int(np.random.SeedSequence([seed, 0x5EED, first_number]).generate_state(1)[0])
    return optuna.samplers.TPESampler(seed=round_seed, n_startup_trials=STARTUP_TRIALS, multivariate=True,
                                      constant_liar=True)


def counts_as_done(t: optuna.trial.FrozenTrial) -> bool:
    """A trial that used up budget: complete, or failed by its own error (not by a dead driver)."""
    return t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL and "error" in t.user_attrs)


def check_whole(name: str, value: Any, low: int, high: int) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def run(
    study: str,
    *,
    trials: int | None = None,
    jobs: int | None = None,
    seed: int = 0,
    repeats: int = 1,
    storage: str | None = None,
    out: str | Path = "results",
    timeout: float | None = None,
    trial_timeout: float | None = None,
    batch: int = BATCH,
    progress: bool = True,
    argv: list[str] | None = None,
) -> optuna.Study:
    """Run (or resume) the sweep of ``study`` until it holds ``trials`` finished trials.

    Parameters
    ----------
    study : a study name (``studies.names()``) or the path of a ``.py`` file defining STUDY.
    trials : the study's total; a rerun only runs what is missing. Default: the study's budget.
    jobs : worker processes; default all cores.
    seed : the study's seed; trial seeds and the sampler derive from it.
    repeats : init seeds per trial; the trial's value is their median.
    storage : an Optuna storage URL; default a journal file ``out/STUDY/journal.log``.
    out : the results root; a study's files go to ``out/STUDY/``.
    timeout : seconds after which no new round is started.
    trial_timeout : seconds after which a trial is stopped (its worker killed) and failed.

    Returns
    -------
    optuna.Study
    """
    definition = studies.get(study)
    trials = definition.trials if trials is None else trials
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    check_whole("trials", trials, 1, MAX_TRIALS)
    check_whole("jobs", jobs, 1, MAX_JOBS)
    check_whole("repeats", repeats, 1, MAX_REPEATS)
    check_whole("batch", batch, 1, MAX_TRIALS)
    check_whole("seed", seed, 0, 2**32 - 1)
    for name, limit in (("timeout", timeout), ("trial_timeout", trial_timeout)):
        if limit is not None and not (isinstance(limit, (int, float)) and np.isfinite(limit) and limit > 0):
            raise ValueError(f"{name} must be a number of seconds > 0, got {limit!r}")
    definition.data()  # a study whose data are broken is bad input: said now, before anything is written
    out_dir = prepare_out_dir(Path(out), definition.name)
    settings = Settings(seed, repeats, batch)
    store = open_storage(storage, out_dir)
    started = time.time()
    opt = open_study(store, definition, settings)
    record = {"command": " ".join(argv if argv is not None else sys.argv), "started": _iso(started),
              "trials_requested": trials, "jobs": jobs, "timeout": timeout, "trial_timeout": trial_timeout,
              "storage": describe(store), **environment()}
    pool = WorkerPool(jobs, trial_timeout)
    bar = Progress(opt, trials, enabled=progress)
    with Driver(opt) as driver:
        try:
            if "baseline" not in opt.user_attrs:
                task = (study, search_space.baseline_params(definition), trial_seeds(seed, BASELINE_KEY, repeats))
                opt.set_user_attr("baseline", next(pool.run(evaluate, [task]))[1])
            while not (timeout is not None and time.time() - started >= timeout):
                driver.reap()
                snapshot = opt.get_trials(deepcopy=False)
                done = sum(counts_as_done(t) for t in snapshot)
                running = sum(t.state == TrialState.RUNNING for t in snapshot)
                bar.update(done)
                if done >= trials:
                    break
                if done + running >= trials:  # the rest is running in other drivers: wait for it, or for them to die
                    time.sleep(WAIT_SECONDS)
                    continue
                asked = ask_round(opt, definition, settings, min(batch, trials - done - running), driver)
                asked = drop_over_budget(opt, asked, trials, driver)
                tasks = [(study, params, seeds) for _, params, seeds in asked]
                for trial, outcome in in_trial_order(asked, pool.run(evaluate, tasks)):
                    tell(opt, trial, outcome)
                    bar.update(bar.done + 1)
        except KeyboardInterrupt:
            for t in opt.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                if t.user_attrs.get("driver") == driver.id:
                    driver.fail(t._trial_id, "interrupted")
            raise
        finally:
            bar.close()
            record["ended"] = _iso(time.time())
            opt.set_user_attr(f"run:{driver.id}", record)
    return opt


def in_trial_order(asked, results):
    """Pair pool results (which come in completion order) with their trials, in trial order."""
    pending, nxt = {}, 0
    for index, outcome in results:
        pending[index] = outcome
        while nxt in pending:
            yield asked[nxt][0], pending.pop(nxt)
            nxt += 1


def drop_over_budget(opt: optuna.Study, asked, total: int, driver: Driver):
    """Keep the asked trials that fit in the budget; fail the others at once.

    Drivers asking at the same moment can together ask more than the budget has left. The
    storage numbers trials in one order for everyone, so each driver ranks its trials among
    the done or running ones below them and gives back those ranked ``total`` or later.
    """
    alive = sorted(t.number for t in opt.get_trials(deepcopy=False)
                   if counts_as_done(t) or t.state == TrialState.RUNNING)
    kept = []
    for item in asked:
        trial = item[0]
        if bisect.bisect_left(alive, trial.number) < total:
            kept.append(item)
        else:
            driver.fail(trial._trial_id, "over budget: other drivers took the remaining trials")
    return kept


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


def open_study(store, definition: studies.Study, settings: Settings) -> optuna.Study:
    """Create the study, or load it and check it was made with the same settings and space."""
    sampler = round_sampler(settings.seed, 0)
    try:  # load first: create_study(load_if_exists=True) would append a record even to an existing study
        opt = optuna.load_study(study_name=definition.name, storage=store, sampler=sampler)
    except KeyError:
        try:
            opt = optuna.create_study(study_name=definition.name, storage=store, direction="minimize", sampler=sampler)
        except DuplicatedStudyError:  # another driver created it a moment ago
            opt = optuna.load_study(study_name=definition.name, storage=store, sampler=sampler)
    space_json = search_space.space_to_json(definition.space)
    stored = opt.user_attrs.get("settings")
    if stored is None:
        # "settings" goes last: a driver that sees it sees the rest (drivers may start together).
        data = definition.data()
        with grouped_writes(store):
            opt.set_user_attr("space", space_json)
            opt.set_user_attr("study", definition.describe())
            opt.set_user_attr("grid", {"x": data.x_grid.tolist(), "y": data.y_grid.tolist()})
            opt.set_user_attr("var_y_val", float(np.var(data.y_val)))
            opt.set_user_attr("settings", settings.to_dict())
    else:
        for key, value in settings.to_dict().items():
            if stored.get(key) != value:
                raise ValueError(f"study {definition.name!r} in {describe(store)} was run with {key}={stored.get(key)}; "
                                 f"rerun with {key}={stored.get(key)}, or use another --out or --storage")
        if opt.user_attrs.get("space") != space_json:
            raise ValueError(f"study {definition.name!r} in {describe(store)} was run with another search space; "
                             f"use another --out or --storage for the new space")
    return opt


def ask_round(opt: optuna.Study, definition: studies.Study, settings: Settings, k: int, driver: Driver):
    """Ask ``k`` trials with this round's sampler, stamped with this driver: [(trial, params, seeds)]."""
    first = len(opt.get_trials(deepcopy=False))
    opt.sampler = round_sampler(settings.seed, first)
    asked = []
    for _ in range(k):
        trial = opt.ask()
        seeds = trial_seeds(settings.seed, trial.number, settings.repeats)
        with grouped_writes(opt._storage):
            params = search_space.suggest(trial, definition.space)
            trial.set_user_attr("seeds", seeds)
            trial.set_user_attr("driver", driver.id)
        asked.append((trial, params, seeds))
    return asked


RECORDED = ("mode", "modes", "values", "escape_rate", "seeds", "config", "metrics", "hints", "train_mse", "val_mse",
            "approx_error", "curve", "grid_pred", "steps_done", "stopped", "seconds", "train_seconds", "backend")
"""Everything a trial records as user attrs (the learning curve also as intermediate values)."""


def tell(opt: optuna.Study, trial: optuna.Trial, outcome: dict[str, Any]) -> None:
    """Record a trial's outcome on it and tell its value (or its failure), all in one grouped write.

    Grouping the final state with the records makes a trial's completion atomic in the journal:
    a driver killed mid-way leaves the trial RUNNING with nothing half-written. A trial another
    driver has failed meanwhile (it took this driver for dead) keeps its failure.
    """
    try:
        with grouped_writes(opt._storage):
            if "error" in outcome:
                trial.set_user_attr("error", outcome["error"])
                trial.set_user_attr("traceback", outcome["traceback"])
                opt.tell(trial, state=TrialState.FAIL)
                return
            var_y = outcome["metrics"]["var_y"] or 1.0
            for step, v in zip(outcome["curve"]["steps"], outcome["curve"]["val"]):
                if v is not None:
                    trial.report(v / var_y, step)
            for key in RECORDED:
                trial.set_user_attr(key, outcome[key])
            opt.tell(trial, outcome["value"])
    except UpdateFinishedTrialError:
        print(f"warning: trial {trial.number} was failed by another driver while it ran; its result is dropped",
              file=sys.stderr)


class Progress:
    """One status line on stderr: trials done of total, best value, how many escaped."""

    def __init__(self, opt: optuna.Study, total: int, *, enabled: bool):
        self.opt, self.total, self.enabled = opt, total, enabled
        self.done, self.t0 = 0, time.time()

    def update(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        trials = self.opt.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        best = min((t.value for t in trials), default=None)
        escaped = sum(t.user_attrs.get("mode") == "fit" for t in trials)
        width = 30
        filled = int(width * min(done, self.total) / self.total)
        line = (f"\r{self.opt.study_name} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} trials"
                f"  best {best:.4g}" if best is not None else f"\r{self.opt.study_name} {done}/{self.total} trials")
        sys.stderr.write(f"{line}  escaped {escaped}  {time.time() - self.t0:.0f}s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def environment() -> dict[str, Any]:
    """Who ran the sweep, where, with what: package versions, git commit, host, user."""
    from importlib import metadata

    versions = {}
    for pkg in ("sweeps-mlpcore", "numpy", "numba", "optuna", "joblib", "pandas", "seaborn"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"python": platform.python_version(), "versions": versions, "git": git_commit(),
            "host": socket.gethostname(), "user": _user(), "platform": platform.platform()}


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return None


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")
