"""Where the analysis trains: complete configs, each from one init seed, in the worker pool,
remembered on disk.

A training is named by what decides its outcome, and nothing else: the study's data (its
fingerprint), the config (every field, the seed and learning rate included), the stop rules and the
engine's source. Its outcome is kept in ``out/NAME/analysis.sqlite``, so a rerun, another sweep of
the same study (any ``--seed``) or an analysis that asks for the same training again trains nothing
twice. The outcome of a training does not depend on the process it ran in, nor on what ran beside
it: the analysis is the same whatever ``jobs`` is.

Every training here stops early, by two rules: once the net is ``fit`` (the engine's
``stop_when_fit``: it "fits by step N"), and once it cannot come within :data:`FAR` times the fit
bound in the steps left, even at :data:`PACE` times the pace its validation loss has kept over the
last half of its run (:func:`hopeless`). benchmarks/bench_hopeless.py checks the second rule against
the same trainings run to their end: it must never stop one that would have fit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

import mlpcore
from mlpcore import MLPConfig, diagnostics
from sweeps.search.pool import WorkerPool
from sweeps.search.worker import VALUE_CAP, objective, study_and_data
from sweeps.search.worker import prepare as prepare_worker
from sweeps.space import capped

CACHE_NAME = "analysis.sqlite"

PACE = 10.0
"""How much faster than its recent pace a training's loss is allowed to fall before
:func:`hopeless` gives it up."""

FIRST_LOOK = 10
"""Curve checkpoints (a tenth of the run) before :func:`hopeless` looks at a training's pace."""

FAR = 100.0
"""How far above the fit bound a training must be bound to end for :func:`hopeless` to give it up:
nets sit on a plateau tens of times above it and then fit (benchmarks/bench_hopeless.py, square)."""

HOPELESS = "hopeless"
"""The stop reason of a training :func:`hopeless` ended."""

PROTOCOL = 3
"""The version of what a training here is (its stop rules, what it keeps): a change makes every
kept one stale."""


@dataclass(frozen=True)
class Run:
    """What the analysis keeps of one training."""

    mode: str
    value: float
    """Validation MSE over the target's variance, capped (``VALUE_CAP``), as a search trial's
    value."""
    steps: int
    """Steps trained: where it stopped (fit, a plateau, divergence) or the whole budget."""
    stopped: str
    hints: tuple[str, ...] = ()
    advice: tuple[tuple[dict, ...], ...] = ()

    @property
    def fits(self) -> bool:
        return self.mode == "fit"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "value": self.value,
            "steps": self.steps,
            "stopped": self.stopped,
            "hints": list(self.hints),
            "advice": [list(a) for a in self.advice],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Run":
        return cls(
            d["mode"],
            d["value"],
            d["steps"],
            d["stopped"],
            tuple(d.get("hints", ())),
            tuple(tuple(a) for a in d.get("advice", ())),
        )


def hopeless(
    bound: float,
    steps: int,
    *,
    pace_factor: float = PACE,
    first_look: int = FIRST_LOOK,
    far: float = FAR,
):
    """fit's checkpoint callback that stops a training that cannot come within ``far`` times the
    validation MSE ``bound`` (below which a net may be fit: ``mlpcore.diagnostics.fit_mse``) in the
    ``steps`` of its budget, at ``pace_factor`` times the pace its best validation loss so far kept
    over the last half of its run (in log loss a step), from its ``first_look``-th curve checkpoint
    on."""
    log_bound = math.log(bound * far) if bound > 0 else -math.inf
    at: list[int] = []

    def on_checkpoint(step: int, train_loss: np.ndarray, val_loss: np.ndarray) -> str | None:
        at.append(step)
        k = len(val_loss) - 1
        if k < first_look or not np.all(np.isfinite(val_loss)):
            return None
        best = np.minimum.accumulate(val_loss)
        half = k // 2
        if best[k] <= 0 or best[half] <= 0:
            return None
        pace = max(math.log(best[half]) - math.log(best[k]), 0.0) / max(at[k] - at[half], 1)
        reachable = math.log(best[k]) - pace_factor * pace * (steps - step)
        return HOPELESS if reachable > log_bound else None

    return on_checkpoint


@functools.lru_cache(maxsize=8)
def fit_bound(study_ref: str) -> float:
    _, data, _ = study_and_data(study_ref)
    x = data.x_train.reshape(len(data.x_train), -1)
    xv = data.x_val.reshape(len(data.x_val), -1)
    return diagnostics.fit_mse(
        diagnostics.data_metrics(x, data.y_train[:, None], xv, data.y_val[:, None])
    )


def train(study_ref: str, config: dict[str, Any], give_up: bool = True) -> dict[str, Any]:
    """One training of ``config`` (a complete config dict) on the study's data, with the analysis's
    stop rules (``give_up`` False: it stops only once it fits): a worker's task. An error is an
    outcome too (mode ``error``), never a raise."""
    try:
        _, data, _ = study_and_data(study_ref)
        cfg = MLPConfig.from_dict(config)
        stop = hopeless(fit_bound(study_ref), cfg.steps) if give_up else None
        r = mlpcore.fit(
            cfg,
            data.x_train,
            data.y_train,
            x_val=data.x_val,
            y_val=data.y_val,
            stop_when_fit=True,
            on_checkpoint=stop,
        )
    except Exception as e:  # noqa: BLE001 - a training that cannot run fails alone, as its outcome
        return Run("error", VALUE_CAP, 0, f"{type(e).__name__}: {e}").to_dict()
    d = r.diagnosis
    value = objective(d.metrics.get("mse"), float(np.var(data.y_val)), d.mode)
    return Run(
        d.mode, value, int(r.steps_done), r.stopped, tuple(str(h) for h in d.hints), d.advice
    ).to_dict()


def train_all(
    study_ref: str, configs: list[dict[str, Any]], give_up: bool = True
) -> list[dict[str, Any]]:
    """:func:`train` for each of ``configs``, in one task: short trainings cost less than handing
    each to a worker."""
    return [train(study_ref, c, give_up) for c in configs]


TASK_STEPS = 100_000
"""Steps a worker task holds at most when it groups short trainings (:func:`train_all`)."""

TASK_SIZE = 32
"""Trainings a worker task holds at most: enough to hide the hand-over, few enough to share the
work evenly."""


def _chunks(items: list[tuple[str, MLPConfig]]) -> list[list[tuple[str, MLPConfig]]]:
    """``items`` in worker tasks of up to TASK_STEPS steps (one training at least, TASK_SIZE at
    most)."""
    out: list[list[tuple[str, MLPConfig]]] = []
    steps = 0
    for item in items:
        if not out or len(out[-1]) >= TASK_SIZE or steps + item[1].steps > TASK_STEPS:
            out.append([])
            steps = 0
        out[-1].append(item)
        steps += item[1].steps
    return out


@functools.lru_cache(maxsize=1)
def engine_digest() -> str:
    """A digest of the engine's source: a training kept by another engine is not this one's."""
    h = hashlib.sha256()
    for path in sorted(Path(mlpcore.__file__).parent.glob("*.py")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


class Cache:
    """The outcomes of trainings, by key, in one SQLite file (written only by this process, one
    transaction per batch of outcomes: a kill loses at most the batch being written, and leaves the
    file whole).

    An ``error`` outcome is not kept: it may be the machine's (out of memory, a worker killed from
    outside) rather than the config's, and a rerun must try that training again."""

    def __init__(self, path: Path):
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, outcome TEXT NOT NULL)"
        )
        self.db.commit()

    def get(self, keys: Iterable[str]) -> dict[str, Run]:
        keys = list(keys)
        found: dict[str, Run] = {}
        for start in range(0, len(keys), 500):  # SQLite's limit on the parameters of one statement
            part = keys[start : start + 500]
            rows = self.db.execute(
                f"SELECT key, outcome FROM runs WHERE key IN ({','.join('?' * len(part))})", part
            )
            found |= {k: Run.from_dict(json.loads(v)) for k, v in rows}
        return found

    def put(self, outcomes: dict[str, Run]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO runs VALUES (?, ?)",
                [
                    (k, json.dumps(r.to_dict(), separators=(",", ":")))
                    for k, r in outcomes.items()
                    if r.mode != "error"
                ],
            )

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def close(self) -> None:
        self.db.close()


class Lab:
    """Trains configs of one study, each once, and remembers every outcome.

    Parameters
    ----------
    study_ref : what a worker process loads the study by (:func:`sweeps.results.handle.resolve`).
    fingerprint : the study's fingerprint (``studies.Study.fingerprint``): its data and declaration.
    cache : where outcomes are kept (None: in memory only).
    jobs : worker processes.
    """

    def __init__(self, study_ref: str, fingerprint: str, cache: Cache | None, jobs: int):
        self.study_ref, self.fingerprint, self.cache, self.jobs = (
            study_ref,
            fingerprint,
            cache,
            jobs,
        )
        self.runs: dict[str, Run] = {}
        self.trained = 0
        """Trainings this lab ran (not found kept)."""
        self.seconds = 0.0
        """Wall seconds this lab spent training."""
        self.steps: dict[str, int] = {}
        """Steps this lab trained, by how the training ended ("fit", "hopeless", "diverged",
        "steps", ...)."""
        self.budgeted = 0
        """Steps the trainings this lab ran would have taken without their stop rules."""
        self._pool: WorkerPool | None = None

    def key(self, config: MLPConfig, give_up: bool = True) -> str:
        rules = (
            {"pace": PACE, "first_look": FIRST_LOOK, "far": FAR} if give_up else {"give_up": False}
        )
        text = json.dumps(
            {
                "study": self.fingerprint,
                "config": config.to_dict(),
                **rules,
                "protocol": PROTOCOL,
                "engine": engine_digest(),
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def config(self, config: MLPConfig) -> MLPConfig:
        """``config`` as the lab trains it: as the asker did, with no plateau stop of its own (the
        lab's rules stop it); at most SWEEPS_MAX_STEPS steps when that is set
        (``sweeps.space.capped``)."""
        return capped(config.replace(patience=None))

    def outcomes(self, configs: Sequence[MLPConfig], *, give_up: bool = True) -> list[Run]:
        """The outcome of each config (trained now where none is known), in their order. ``give_up``
        False trains them to their end unless they fit (for a diagnosis that speaks of the whole
        run)."""
        keys = [self.key(self.config(c), give_up) for c in configs]
        self._ensure(dict(zip(keys, configs)), give_up)
        return [self.runs[k] for k in keys]

    def _ensure(self, wanted: dict[str, MLPConfig], give_up: bool) -> None:
        missing = {k: c for k, c in wanted.items() if k not in self.runs}
        if missing and self.cache is not None:
            self.runs |= self.cache.get(missing)
            missing = {k: c for k, c in missing.items() if k not in self.runs}
        if not missing:
            return
        if self._pool is None:
            self._pool = WorkerPool(
                train_all, self.jobs, prepare=(prepare_worker, (self.study_ref,))
            )
        started = time.perf_counter()
        chunks = _chunks(list(missing.items()))
        for i, chunk in enumerate(chunks):
            self._pool.submit(
                i, (self.study_ref, [self.config(c).to_dict() for _, c in chunk], give_up)
            )
        done: dict[str, Run] = {}
        for _ in chunks:
            i, outcome = self._pool.next()
            keys = [k for k, _ in chunks[i]]
            if isinstance(
                outcome, dict
            ):  # the pool's error outcome: the task (and its worker) failed whole
                done |= {k: Run("error", VALUE_CAP, 0, outcome["error"]) for k in keys}
            else:
                done |= {k: Run.from_dict(o) for k, o in zip(keys, outcome)}
            if (
                len(done) >= 200 and self.cache is not None
            ):  # kept as they come: a kill loses little
                self.cache.put(done)
                self.runs |= done
                done = {}
        if self.cache is not None and done:
            self.cache.put(done)
        self.runs |= done
        self.trained += len(missing)
        self.seconds += time.perf_counter() - started
        self.budgeted += sum(c.steps for c in missing.values())
        for key in missing:
            run = self.runs[key]
            self.steps[run.stopped.split(":")[0]] = (
                self.steps.get(run.stopped.split(":")[0], 0) + run.steps
            )


def open_lab(study_ref: str, fingerprint: str, out_dir: Path | None, jobs: int | None) -> Lab:
    """A lab whose outcomes are kept in ``out_dir/analysis.sqlite`` (None: not kept)."""
    cache = None if out_dir is None else Cache(out_dir / CACHE_NAME)
    return Lab(study_ref, fingerprint, cache, jobs or os.cpu_count() or 1)
