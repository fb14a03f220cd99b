"""evaluate(): one trial, from plain data to plain data. Its trainings run in joblib worker
processes.

It takes the study's name (or file path), the trial's params and its seeds, and returns a JSON-able
dict: objective value, failure mode(s), diagnosis, learning curve, predictions on the study's grid
and the trained model. A sweep runs it in two halves: ``train_once`` per seed in the workers,
``combine`` in the driver. It never raises for a bad fit: a diverged network is a result. Anything
else that goes wrong comes back as ``{"error": ...}``, so one broken trial fails alone.
"""

from __future__ import annotations

import functools
import gc
import time
import traceback
from typing import Any, TypedDict

import numpy as np

import mlpcore
import mlpcore.warmup
import studies
from sweeps.search import pruning
from sweeps.space import Space, capped

VALUE_CAP = 10.0
"""Objective of a diverged trial, and the most any trial scores. The objective is validation
MSE over the target's variance (1.0 = a constant predictor), so 10 is plainly worse than
doing nothing, yet finite: the sampler learns to avoid the region instead of choking on inf."""


class Curve(TypedDict):
    """A training's losses at its checkpoints (None where not finite)."""

    steps: list[int]
    train: list[float | None]
    val: list[float | None]


class _Run(TypedDict):
    value: float
    """The objective (:func:`objective`)."""
    mode: str
    metrics: dict[str, Any]
    hints: list[str]
    config: dict[str, Any]
    seed: int
    train_mse: float | None
    val_mse: float | None
    approx_error: float | None
    """MSE against the true function on the study's grid, over its variance; None where unknown."""
    curve: Curve
    grid_pred: list[float | None]
    steps_done: int
    stopped: str | None
    pruned_at: pruning.PrunedAt | None
    train_seconds: float
    backend: str
    seconds: float


class Run(_Run, total=False):
    """One training's outcome (:func:`train_once`): plain data, from a worker to the driver."""

    val_pred: list[float | None]
    """The predictions on the validation rows, for a study of more than one input."""


class _Failure(TypedDict):
    error: str
    traceback: str
    seconds: float


class Failure(_Failure, total=False):
    """A training or a trial that failed: the error in one line, where it was raised (or ""),
    and the seconds it took."""

    out_of_memory: bool
    """True when the machine had no memory for it (a MemoryError, or its worker killed for
    memory): not the trial's own failure, so the sweep stops (``sweeps.search.driver``), and a
    rerun trains it again."""


class Outcome(Run):
    """A trial's outcome (:func:`combine`): its median run, with every run's value, mode, stop and
    seed in seed order, and the seconds of them all."""

    values: list[float]
    modes: list[str]
    stops: list[str | None]
    escape_rate: float
    seeds: list[int]


@functools.lru_cache(maxsize=8)
def study_and_data(ref: str):
    study = studies.get(ref)
    return study, study.data(), Space.of(study)


@functools.lru_cache(maxsize=1)
def _single_threaded_blas() -> None:
    # Tiny matrices gain nothing from BLAS threads, and one thread everywhere makes results
    # identical whether a trial runs in the driver (--jobs 1) or in a worker.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def prepare(study_ref: str) -> None:
    """Ready a fresh worker before its first trial: imports, the study's data, the compiled
    kernel."""
    _single_threaded_blas()
    study_and_data(study_ref)
    mlpcore.warmup.warm_up(quiet=True)  # the driver said it, once
    # What is loaded now lives as long as the worker: keep it out of the garbage collector's
    # sight. Each full collection would otherwise walk all of it, and loky runs one every second
    # between tasks (without psutil); benchmarks/README.md has the cost.
    gc.freeze()


def objective(val_mse: float | None, var_y: float, mode: str) -> float:
    """Validation MSE relative to the target's variance, capped at VALUE_CAP (diverged: the cap)."""
    if mode == "diverged" or val_mse is None or not np.isfinite(val_mse) or var_y <= 0:
        return VALUE_CAP
    return float(min(val_mse / var_y, VALUE_CAP))


def evaluate(study_ref: str, params: dict[str, Any], seeds: list[int]) -> Outcome | Failure:
    """Train the trial's config once per seed; report the median run (and every run's value and
    mode)."""
    return combine([train_once(study_ref, params, seed) for seed in seeds])


def train_once(
    study_ref: str, params: dict[str, Any] | None, seed: int, rule: pruning.Rule | None = None
) -> Run | Failure:
    """One training of the trial's config, from init seed ``seed``: a sweep's unit of work.

    ``params`` None trains the study's baseline as declared, but for the seed. ``rule`` (plain data
    from `pruning.References`) stops the training early when it breaks it.

    A sweep hands each seed of a trial to the workers as its own task, so the repeats of a
    trial run side by side and no worker idles behind the last trial's last seeds.
    """
    t0 = time.perf_counter()
    try:
        _single_threaded_blas()
        run = _one_run(*study_and_data(study_ref), params, seed, rule)
    except MemoryError as e:  # the machine's limit, not the trial's: said as such
        return Failure(
            error=f"MemoryError: {e}" if str(e) else "MemoryError",
            traceback="",
            seconds=time.perf_counter() - t0,
            out_of_memory=True,
        )
    except Exception as e:  # reported as the trial's error; the sweep goes on
        return Failure(
            error=f"{type(e).__name__}: {e}",
            traceback=traceback.format_exc(limit=6),
            seconds=time.perf_counter() - t0,
        )
    return run | {"seconds": time.perf_counter() - t0}


def combine(runs: list[Run | Failure]) -> Outcome | Failure:
    """A trial's outcome from its runs, in seed order: the median run, with every run's value and
    mode.

    A run that failed (an error, or a worker that died or overran) fails the trial, with the
    first such run's error.
    """
    seconds = sum(r["seconds"] for r in runs)
    failed = next((r for r in runs if "error" in r), None)
    if failed is not None:
        return failed | {"seconds": seconds}
    values = [r["value"] for r in runs]
    median = runs[int(np.argsort(values, kind="stable")[(len(runs) - 1) // 2])]
    return median | {
        "value": float(np.median(values)),
        "values": values,
        "modes": [r["mode"] for r in runs],
        "stops": [r.get("stopped") for r in runs],
        "escape_rate": float(np.mean([r["mode"] == "fit" for r in runs])),
        "seeds": [r["seed"] for r in runs],
        "seconds": seconds,
    }


def _one_run(
    study, data, space: Space, params: dict[str, Any] | None, seed: int, rule: pruning.Rule | None
) -> dict[str, Any]:
    """A :class:`Run` but for its ``seconds``."""
    if params is None:
        cfg = study.baseline.replace(seed=int(seed))
    else:
        cfg = space.to_config(study.baseline, params, seed=seed)
    cfg = capped(cfg)  # SWEEPS_MAX_STEPS, for a smoke test
    var_y = float(np.var(data.y_val))
    # The driver reports the curve over diagnose's var_y (its formula here): the values the rule is
    # made of.
    reported_var_y = float(np.mean((data.y_val - data.y_val.mean(axis=0)) ** 2)) or 1.0
    stop = None if rule is None else pruning.callback(rule, reported_var_y)
    r = mlpcore.fit(
        cfg, data.x_train, data.y_train, x_val=data.x_val, y_val=data.y_val, on_checkpoint=stop
    )
    d = r.diagnosis
    grid_pred = r.model.predict(data.x_grid)
    approx = None
    if data.y_grid is not None:
        with np.errstate(all="ignore"):
            approx = float(np.mean((grid_pred - data.y_grid) ** 2) / np.var(data.y_grid))
    extra = {}
    if (
        data.features > 1
    ):  # predicted against actual: the one view of a fit in d > 1 that needs no slicing
        extra["val_pred"] = _list(r.model.predict(data.x_val))
    return extra | {
        "value": objective(d.metrics.get("mse"), var_y, d.mode),
        "mode": d.mode,
        "metrics": d.metrics,
        "hints": list(d.hints),
        "config": cfg.to_dict(),
        "seed": seed,
        "train_mse": _finite_or_none(r.curve.train_loss[-1]),
        "val_mse": d.metrics.get("mse"),
        "approx_error": approx if approx is not None and np.isfinite(approx) else None,
        "curve": {
            "steps": r.curve.steps.tolist(),
            "train": _list(r.curve.train_loss),
            "val": _list(r.curve.val_loss),
        },
        "grid_pred": _list(grid_pred),
        "steps_done": r.steps_done,
        "stopped": r.stopped,
        "pruned_at": None if stop is None else stop.pruned_at,
        "train_seconds": r.seconds,
        "backend": r.backend,
        "model": r.model.to_dict(),  # the driver keeps it for a trial that is the best when told
    }


def _finite_or_none(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _list(a: np.ndarray) -> list[float | None]:
    return [_finite_or_none(v) for v in a]
