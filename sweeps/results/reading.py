"""Reading a finished (or running) sweep back: its trials, its best trial and config, its runs, its
summary.

``best_config("sqrt")`` is the one line of reuse: the config of the best trial, ready for
``mlpcore.fit``. Every reader of a study takes it as an Optuna study (what ``sweeps.run`` returns)
or by its name or file, with ``out=`` and ``storage=`` saying where it is stored
(:func:`takes_name`).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections import Counter
from pathlib import Path

import optuna
from optuna.trial import TrialState

import studies
from mlpcore import MODES, MLPConfig, Model
from sweeps.results.handle import open_sweep
from sweeps.store.records import ENDINGS, best_of, ending, study_attr
from sweeps.store import replay


def load(study: str, *, out: str | Path = "results", storage: str | None = None) -> optuna.Study:
    """The stored sweep of ``study`` (a name, or a study file's path) as an Optuna study you may
    also write to (its journal replayed); a clear error when there is none.
    (:func:`sweeps.results.handle.open_sweep` gives it with its definition and storage.)"""
    return open_sweep(study, out=out, storage=storage, fresh=True).study


def opened(
    study: "str | optuna.Study", *, out: str | Path = "results", storage: str | None = None
) -> optuna.Study:
    """``study`` itself when it is an Optuna study, else the stored sweep it names, to read (from
    the journal's kept replay when it is current: `sweeps.store.replay`)."""
    if isinstance(study, optuna.Study):
        return study
    if not isinstance(study, str):
        raise ValueError(
            "study must be an optuna.Study, a study's name or a .py file, got "
            f"{type(study).__name__}"
        )
    return open_sweep(study, out=out, storage=storage).study


def takes_name(read):
    """Let ``read(opt, ...)``, a reader of an Optuna study, take the study's name (or file) too:
    ``read("sqrt", out="results", storage=None)`` reads the sweep stored there."""

    wants_files = "files" in inspect.signature(read).parameters

    @functools.wraps(read)
    def reader(study, *args, out: str | Path = "results", storage: str | None = None, **kwargs):
        if isinstance(study, str) and wants_files and kwargs.get("files") is None:
            # a name: its trial files are known too
            sweep = open_sweep(study, out=out, storage=storage)
            return read(sweep.study, *args, **(kwargs | {"files": sweep.files}))
        return read(opened(study, out=out, storage=storage), *args, **kwargs)

    return reader


@takes_name
def runs(opt: optuna.Study) -> list[dict]:
    """Every run (one per driver process) of the sweep: command, host, versions, start, end; oldest
    first."""
    found = [v for k, v in opt.user_attrs.items() if k.startswith("run:") and isinstance(v, dict)]
    return sorted(found, key=lambda r: r.get("started", ""))


@takes_name
def budget(opt: optuna.Study) -> int | None:
    """The trials the latest run asked the study to hold (``--trials``); the study's default before
    any run."""
    found = runs(opt)
    return (
        found[-1].get("trials_requested")
        if found
        else opt.user_attrs.get("study", {}).get("trials")
    )


@takes_name
def complete_trials(opt: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return opt.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


@takes_name
def best_trial(opt: optuna.Study) -> optuna.trial.FrozenTrial:
    """The best trial (`sweeps.store.records.best_of`): the lowest value among the completed trials,
    the lowest number on a tie."""
    best = best_of(complete_trials(opt))
    if best is None:
        raise ValueError(f"sweep {opt.study_name!r} has no completed trial yet")
    return best


def best_config(
    study: "str | optuna.Study", *, out: str | Path = "results", storage: str | None = None
) -> MLPConfig:
    """The config of the best trial of ``study``: its stored sweep by name or file, or an Optuna
    study.

    >>> cfg = sweeps.best_config("sqrt")
    >>> mlpcore.fit(cfg, x, y).model
    """
    return MLPConfig.from_dict(
        best_trial(opened(study, out=out, storage=storage)).user_attrs["config"]
    )


def best_model(study: str, *, out: str | Path = "results", storage: str | None = None) -> Model:
    """The trained model of the best trial of the stored sweep of ``study``, as the trial trained it
    (its median init seed): no refitting, it predicts what the trial predicted.

    >>> model = sweeps.best_model("sqrt")
    >>> model.predict(x)
    """
    sweep = open_sweep(study, out=out, storage=storage)
    best = best_trial(sweep.study)
    stored = sweep.files.read(best.number).get("model")
    if stored is None:
        raise ValueError(
            f"the best trial of {sweep.name!r} (trial {best.number}) has no trained "
            "model in "
            f"{str(sweep.files.folder)!r} (a sweep run before models were kept, or on "
            "another machine); "
            f"train its config: mlpcore.fit(sweeps.best_config({sweep.ref!r}), x, y)"
        )
    return Model.from_dict(stored)


def completed_and_best(sweep) -> tuple[int, float | None]:
    """How many trials of ``sweep`` (a `sweeps.results.handle.Sweep`) completed, and the best value
    (None: none); from its kept replay's header when it was opened from one, so that no trial is
    decoded (`sweeps.store.replay`)."""
    if isinstance(sweep.store, replay.ReplayedStorage):
        found = sweep.store.summary
    else:
        found = replay.summary(sweep.study.get_trials(deepcopy=False))
    return found["complete"], (found["best"] or {}).get("value")


@takes_name
def mode_counts(opt: optuna.Study) -> dict[str, int]:
    """Completed trials per failure mode, every mode present (worst first), plus failed trials (by
    their own error), then trials a driver stopped (see sweeps.store.records.ENDINGS)."""
    counts = Counter(t.user_attrs.get("mode") for t in complete_trials(opt))
    ends = Counter(ending(t) for t in opt.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
    return {m: counts.get(m, 0) for m in MODES} | {
        e: ends[e] for e in ("failed", *ENDINGS.values())
    }


def summary(
    opt: optuna.Study, out_dir: Path | None = None, baseline: str = "the study's baseline config"
) -> str:
    """The closing words of a run: best value, its config, modes, and where the outputs are.
    ``baseline``: how the baseline is named (:func:`baseline_words`, as ``diagnose`` names it)."""
    trials = complete_trials(opt)
    counts = mode_counts(opt)
    repeats = opt.user_attrs.get("settings", {}).get("repeats", 1)
    each = f" (each the median of {repeats} init seeds)" if repeats > 1 else ""
    pruned = len(opt.get_trials(deepcopy=False, states=(TrialState.PRUNED,)))
    done = (
        f"{len(trials) + pruned}/{budget(opt)} trials: {len(trials)} complete, {pruned} pruned"
        if pruned
        else f"{len(trials)}/{budget(opt)} trials complete"
    )
    stopped = "".join(f", {n} {e}" for e, n in list(counts.items())[len(MODES) + 1 :] if n)
    lines = [f"study {opt.study_name}: {done}{each}, {counts['failed']} failed{stopped}"]
    lines.append("modes: " + ", ".join(f"{m} {counts[m]}" for m in (*MODES, "failed")))
    if trials:
        best = best_trial(opt)
        base = study_attr(opt, "baseline", {})
        lines.append(
            f"best value {best.value:.4g} (trial {best.number}, mode "
            f"{best.user_attrs.get('mode')})"
            + (f"; {baseline}: {base['value']:.4g} ({base['mode']})" if "value" in base else "")
        )
        lines.append("best config: " + json.dumps(best.user_attrs["config"]))
    if out_dir is not None:
        lines.append(f"outputs: {out_dir}/ (best.json, trials.csv)")
    return "\n".join(lines)


def baseline_words(ref: str, definition: studies.Study) -> str:
    """How ``diagnose`` names the baseline of study ``ref``: the question's own config, a study
    file's, or for a study of data, your config (``run --baseline``, ``from_arrays(baseline=...)``)
    or the engine's default without one."""
    if ref in studies.names():
        return "the question's config"
    if ref.endswith(".py"):
        return "the study's baseline config"
    if definition.baseline == MLPConfig():
        return "the engine's default config (no baseline config was given)"
    return "your config (the study's baseline)"
