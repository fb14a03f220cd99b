"""The driver's writes: a study created (or checked) with its settings and data, each trial's outcome told.

What the records are is `sweeps.store.records`; this module writes them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import optuna
from optuna.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.trial import TrialState

import studies
from sweeps import space as search_space
from sweeps.search import history
from sweeps.store.records import (CURVE_POINTS, IN_FILES, METRIC_NAME, PRUNED, RECORDED, Settings, as_stored,
                                  study_attr)
from sweeps.store.grouped import describe, grouped_writes
from sweeps.store.trialfiles import TrialFiles


def open_study(store, definition: studies.Study, settings: Settings, sampler) -> optuna.Study:
    """Create the study, or load it and check it was made with the same settings and space."""
    try:  # load first: create_study(load_if_exists=True) would append a record even to an existing study
        opt = optuna.load_study(study_name=definition.name, storage=store, sampler=sampler)
    except KeyError:
        try:
            opt = optuna.create_study(study_name=definition.name, storage=store, direction="minimize", sampler=sampler)
        except DuplicatedStudyError:  # another driver created it a moment ago
            opt = optuna.load_study(study_name=definition.name, storage=store, sampler=sampler)
    space_json = search_space.Space.of(definition).to_json()
    stored = opt.user_attrs.get("settings")
    if stored is None:
        # "settings" goes last: a driver that sees it sees the rest (drivers may start together).
        data = definition.data()
        with grouped_writes(store):
            with warnings.catch_warnings():  # experimental in Optuna, but the one public way to name the objective
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                opt.set_metric_names([METRIC_NAME])
            opt.set_user_attr("space", as_stored("space", space_json))
            opt.set_user_attr("study", definition.describe())
            opt.set_user_attr("grid", as_stored("grid", {
                "x": data.x_grid.tolist(), "y": None if data.y_grid is None else data.y_grid.tolist(),
                "feature": None if data.grid_feature is None else data.grid_feature.tolist()}))
            opt.set_user_attr("var_y_val", float(np.var(data.y_val)))
            opt.set_user_attr("sampler", history.record())
            opt.set_user_attr("settings", settings.to_dict())
    else:
        for key, value in settings.to_dict().items():
            was = stored.get(key, Settings.LEGACY.get(key))
            if was != value:
                raise ValueError(f"study {definition.name!r} in {describe(store)} was run with {key}={was}; "
                                 f"rerun with {key}={was}, or use another --out or --storage")
        if search_space.space_from_json(study_attr(opt, "space", {})) != search_space.space_from_json(space_json):
            raise ValueError(f"study {definition.name!r} in {describe(store)} was run with another search space; "
                             f"use another --out or --storage for the new space")
    return opt


def tell(opt: optuna.Study, trial: optuna.Trial, outcome: dict[str, Any], store: BaseStorage,
         files: TrialFiles | None = None, *, keep_model: bool = False, every_point: bool = True) -> None:
    """Record a trial's outcome on it and tell its value (or its failure), all in one grouped write to ``store``
    (the storage ``opt`` was opened on).

    ``files``: where the trial's curve and predictions (and, with ``keep_model``, its trained model) go, written
    before the journal records; None keeps them as user attrs (as sweeps did before trial files).
    ``every_point``: report every point of the validation curve as an intermediate value (a pruner's rules read
    them), else :data:`CURVE_POINTS` of them.

    Grouping the final state with the records makes a trial's completion atomic in the journal:
    a driver killed mid-way leaves the trial RUNNING with nothing half-written. A trial another
    driver has failed meanwhile (it took this driver for dead) keeps its failure.
    """
    if files is not None and "error" not in outcome:
        files.write(trial.number, outcome if keep_model else {k: v for k, v in outcome.items() if k != "model"})
    try:
        with grouped_writes(store):
            if "error" in outcome:
                trial.set_user_attr("error", outcome["error"])
                trial.set_user_attr("traceback", outcome["traceback"])
                opt.tell(trial, state=TrialState.FAIL)
                return
            var_y = outcome["metrics"]["var_y"] or 1.0
            points = [(s, v) for s, v in zip(outcome["curve"]["steps"], outcome["curve"]["val"]) if v is not None]
            if not every_point and len(points) > CURVE_POINTS:
                points = [points[i] for i in np.unique(np.linspace(0, len(points) - 1, CURVE_POINTS).round().astype(int))]
            for step, v in points:
                trial.report(v / var_y, step)
            for key in RECORDED + (() if files is not None else IN_FILES[:-1]):
                if key in outcome:
                    trial.set_user_attr(key, outcome[key])
            if outcome["stopped"] == PRUNED:  # see sweeps/pruning.py; Optuna's value: the last reported one
                opt.tell(trial, state=TrialState.PRUNED)
            else:
                opt.tell(trial, outcome["value"])
    except (UpdateFinishedTrialError, ValueError):
        # Optuna says "finished" either way: UpdateFinishedTrialError from a record, ValueError from tell itself
        if _state(opt, trial.number) != TrialState.FAIL:
            raise
        if files is not None:
            files.remove(trial.number)
        warnings.warn(f"trial {trial.number} was failed by another driver while it ran; its result is dropped",
                      RuntimeWarning, stacklevel=2)


def _state(opt: optuna.Study, number: int) -> TrialState | None:
    """Trial ``number``'s state as stored now (another driver may have changed it)."""
    found = opt.get_trials(deepcopy=False)
    return found[number].state if number < len(found) else None
