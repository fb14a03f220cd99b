"""What a sweep stores in its Optuna study, and how: the study's settings and data, each trial's outcome.

Study user attrs: ``settings`` (seed, repeats, batch: what fixes the trajectory), ``space``,
``study`` (the declaration), ``grid`` (the true target), ``var_y_val``, ``baseline`` (the
seed's own config, evaluated like a trial), ``run:<driver>`` (provenance of each run) and
``driver:<id>`` (heartbeats, see `liveness.py`). Trial user attrs: RECORDED, plus ``seeds``
and ``driver`` when asked, ``error`` and ``traceback`` when a trial raised, ``stopped_by``
when a driver or the budget stopped it. A trial whose median run was pruned is told PRUNED
(see `pruning.py`); it counts as done, like a complete one.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.trial import TrialState

import studies
from sweeps import space as search_space
from sweeps.pruning import PRUNED
from sweeps.storage import describe, grouped_writes


METRIC_NAME = "val_mse_over_var_y"
"""The objective's name, as optuna-dashboard shows it: validation MSE over the target's variance."""


@dataclass(frozen=True)
class Settings:
    """What fixes a study's trajectory: rerunning with other values would mix two studies."""

    seed: int
    repeats: int
    batch: int
    pruner: str = "none"

    LEGACY = {"pruner": "none"}
    """What a study stored before a setting existed ran with."""

    def to_dict(self) -> dict[str, int | str]:
        return {"seed": self.seed, "repeats": self.repeats, "batch": self.batch, "pruner": self.pruner}


def counts_as_done(t: optuna.trial.FrozenTrial) -> bool:
    """A trial that used up budget: complete, pruned, or failed by its own error (not by a dead driver)."""
    return t.state in (TrialState.COMPLETE, TrialState.PRUNED) or (t.state == TrialState.FAIL and "error" in t.user_attrs)


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
            opt.set_user_attr("space", space_json)
            opt.set_user_attr("study", definition.describe())
            opt.set_user_attr("grid", {"x": data.x_grid.tolist(), "y": None if data.y_grid is None else data.y_grid.tolist(),
                                       "feature": None if data.grid_feature is None else data.grid_feature.tolist()})
            opt.set_user_attr("var_y_val", float(np.var(data.y_val)))
            opt.set_user_attr("settings", settings.to_dict())
    else:
        for key, value in settings.to_dict().items():
            was = stored.get(key, Settings.LEGACY.get(key))
            if was != value:
                raise ValueError(f"study {definition.name!r} in {describe(store)} was run with {key}={was}; "
                                 f"rerun with {key}={was}, or use another --out or --storage")
        if search_space.space_from_json(opt.user_attrs.get("space", {})) != search_space.space_from_json(space_json):
            raise ValueError(f"study {definition.name!r} in {describe(store)} was run with another search space; "
                             f"use another --out or --storage for the new space")
    return opt


RECORDED = ("mode", "modes", "values", "escape_rate", "seeds", "config", "metrics", "hints", "train_mse", "val_mse",
            "approx_error", "curve", "grid_pred", "steps_done", "stopped", "seconds", "train_seconds", "backend",
            "val_pred", "stops", "pruned_at")
"""Everything a trial records as user attrs (the learning curve also as intermediate values); ``val_pred``
(predictions on the validation rows) only when the study has more than one input feature."""


def tell(opt: optuna.Study, trial: optuna.Trial, outcome: dict[str, Any], store: BaseStorage) -> None:
    """Record a trial's outcome on it and tell its value (or its failure), all in one grouped write to ``store``
    (the storage ``opt`` was opened on).

    Grouping the final state with the records makes a trial's completion atomic in the journal:
    a driver killed mid-way leaves the trial RUNNING with nothing half-written. A trial another
    driver has failed meanwhile (it took this driver for dead) keeps its failure.
    """
    try:
        with grouped_writes(store):
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
                if key in outcome:
                    trial.set_user_attr(key, outcome[key])
            if outcome["stopped"] == PRUNED:  # see sweeps/pruning.py; Optuna's value: the last reported one
                opt.tell(trial, state=TrialState.PRUNED)
            else:
                opt.tell(trial, outcome["value"])
    except UpdateFinishedTrialError:
        print(f"warning: trial {trial.number} was failed by another driver while it ran; its result is dropped",
              file=sys.stderr)
