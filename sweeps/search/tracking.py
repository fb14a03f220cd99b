"""The driver's writes: a study created (or checked) with its settings and data, each trial's
outcome told.

What the records are is `sweeps.store.records`; this module writes them.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
import optuna
from optuna.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

import studies
from sweeps import space as search_space
from sweeps.search import history
from sweeps.store.records import (
    CURVE_POINTS,
    IN_FILES,
    IN_OUTCOME,
    MADE_BY,
    MARKER,
    METRIC_NAME,
    OUTCOME,
    PRUNED,
    RECORDED,
    Settings,
    as_stored,
    is_ours,
    not_ours,
    problem_differences,
    study_attr,
)
from sweeps.store.grouped import describe, grouped_writes
from sweeps.store.trialfiles import TrialFiles


CREATION_WAIT = 10.0
"""Seconds a driver waits for the marker of a study that another driver has just created (empty, no
attrs yet)."""


def open_study(store, definition: studies.Study, settings: Settings, sampler) -> optuna.Study:
    """Create the study, or load it and check it is ours, of the same problem, settings and space.

    A study sweeps did not create (no marker, see `sweeps.store.records`) is refused before anything
    is written to it; so is one whose problem (data, target, training budget, baseline, starts)
    differs from ``definition``'s."""
    created = False
    # load first: create_study(load_if_exists=True) would append a record even to an existing
    # study
    try:
        opt = optuna.load_study(study_name=definition.name, storage=store, sampler=sampler)
    except KeyError:
        try:
            opt = optuna.create_study(
                study_name=definition.name, storage=store, direction="minimize", sampler=sampler
            )
            created = True
        except DuplicatedStudyError:  # another driver created it a moment ago
            opt = optuna.load_study(study_name=definition.name, storage=store, sampler=sampler)
    if created:
        opt.set_user_attr(
            MADE_BY, MARKER
        )  # first of all, so that no other driver takes it for foreign
    else:
        _wait_for_marker(opt, store)
    space_json = search_space.Space.of(definition).to_json()
    problem = definition.problem()
    stored = opt.user_attrs.get("settings")
    if stored is None:
        # "settings" goes last: a driver that sees it sees the rest (drivers may start together).
        data = definition.data()
        with grouped_writes(store):
            with (
                warnings.catch_warnings()
            ):  # experimental in Optuna, but the one public way to name the objective
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                opt.set_metric_names([METRIC_NAME])
            opt.set_user_attr("space", as_stored("space", space_json))
            opt.set_user_attr("problem", problem)
            opt.set_user_attr("study", definition.describe())
            # With several inputs, each grid row's varying input only (the others sit at their
            # medians): a list that grows with d, not the (points x d) x d grid
            x = (
                data.x_grid
                if data.grid_feature is None
                else data.x_grid[np.arange(len(data.x_grid)), data.grid_feature]
            )
            opt.set_user_attr(
                "grid",
                as_stored(
                    "grid",
                    {
                        "x": x.tolist(),
                        "y": None if data.y_grid is None else data.y_grid.tolist(),
                        "feature": None
                        if data.grid_feature is None
                        else data.grid_feature.tolist(),
                    },
                ),
            )
            opt.set_user_attr("var_y_val", float(np.var(data.y_val)))
            opt.set_user_attr("sampler", history.record())
            opt.set_user_attr("settings", settings.to_dict())
    else:
        for key, value in settings.to_dict().items():
            was = stored.get(key, Settings.LEGACY.get(key))
            if was != value:
                raise ValueError(
                    f"study {definition.name!r} in {describe(store)} was run with {key}={was}; "
                    f"rerun with {key}={was}, or use another --out or --storage"
                )
        if search_space.space_from_json(
            study_attr(opt, "space", {})
        ) != search_space.space_from_json(space_json):
            raise ValueError(
                f"study {definition.name!r} in {describe(store)} was run with another search "
                "space; "
                f"use another --out or --storage for the new space"
            )
        differ = problem_differences(_stored_problem(opt.user_attrs), problem)
        if differ:
            raise ValueError(
                f"study {definition.name!r} in {describe(store)} is another problem "
                f"({'; '.join(differ)}); "
                "nothing was added to it; give this one another name (--name NAME), or use "
                "another "
                f"--out or --storage"
            )
    return opt


def _wait_for_marker(opt: optuna.Study, store) -> None:
    """Return once ``opt`` carries sweeps' marker; refuse it (left as it is) when it does not. A
    study with no attrs and no trial may be another driver's, created a moment ago: its marker is
    waited for, CREATION_WAIT at most."""
    give_up = time.monotonic() + CREATION_WAIT
    while not is_ours(attrs := opt.user_attrs):
        if attrs or opt.get_trials(deepcopy=False) or time.monotonic() > give_up:
            raise not_ours(opt.study_name, describe(store))
        time.sleep(0.1)


def _stored_problem(attrs: dict) -> dict:
    """The problem a study stored; for a sweep stored before problems were, its training budget
    from its declaration."""
    if isinstance(attrs.get("problem"), dict):
        return attrs["problem"]
    declared = attrs.get("study", {})
    return (
        {"training budget": f"{declared['steps']} steps, patience {declared.get('patience')}"}
        if "steps" in declared
        else {}
    )


def tell(
    opt: optuna.Study,
    trial: optuna.Trial,
    outcome: dict[str, Any],
    store: BaseStorage,
    files: TrialFiles | None = None,
    *,
    keep_model: bool = False,
    every_point: bool = True,
) -> None:
    """Record a trial's outcome on it and tell its value (or its failure), all in one grouped write
    to ``store`` (the storage ``opt`` was opened on).

    ``files``: where the trial's curve and predictions (and, with ``keep_model``, its trained model)
    go, written before the journal records; None keeps them as user attrs (as sweeps did before
    trial files). ``every_point``: report every point of the validation curve as an intermediate
    value (a pruner's rules read them), else :data:`CURVE_POINTS` of them.

    Grouping the final state with the records makes a trial's completion atomic in the journal:
    a driver killed mid-way leaves the trial RUNNING with nothing half-written. A trial another
    driver has failed meanwhile (it took this driver for dead) keeps its failure.
    """
    if files is not None and "error" not in outcome:
        files.write(
            trial.number,
            outcome if keep_model else {k: v for k, v in outcome.items() if k != "model"},
        )
    number = trial.number
    trial_id = store.get_trial_id_from_study_id_trial_number(
        store.get_study_id_from_name(opt.study_name), number
    )
    # what the trial was stamped with when asked is not written again
    stamped = trial.user_attrs if isinstance(trial, FrozenTrial) else {}
    try:
        with grouped_writes(store):
            if "error" in outcome:
                store.set_trial_user_attr(trial_id, "error", outcome["error"])
                store.set_trial_user_attr(trial_id, "traceback", outcome["traceback"])
                opt.tell(number, state=TrialState.FAIL)
                return
            var_y = outcome["metrics"]["var_y"] or 1.0
            points = [
                (s, v)
                for s, v in zip(outcome["curve"]["steps"], outcome["curve"]["val"])
                if v is not None
            ]
            if not every_point and len(points) > CURVE_POINTS:
                points = [
                    points[i]
                    for i in np.unique(
                        np.linspace(0, len(points) - 1, CURVE_POINTS).round().astype(int)
                    )
                ]
            for step, v in points:
                store.set_trial_intermediate_value(trial_id, int(step), float(v / var_y))
            for key in RECORDED + (() if files is not None else IN_FILES[:-1]):
                if key in outcome and not (key in stamped and stamped[key] == outcome[key]):
                    store.set_trial_user_attr(trial_id, key, outcome[key])
            store.set_trial_user_attr(
                trial_id, OUTCOME, {k: outcome[k] for k in IN_OUTCOME if k in outcome}
            )
            if outcome["stopped"] == PRUNED:  # see sweeps/pruning.py
                # Optuna's value of a pruned trial, as Study.tell gives it: its last report. Told
                # here, as the reports are held in the group and Study.tell would not see them.
                last = float(points[-1][1] / var_y) if points else math.nan
                store.set_trial_state_values(
                    trial_id, TrialState.PRUNED, None if math.isnan(last) else [last]
                )
            else:
                opt.tell(number, outcome["value"])
    except (UpdateFinishedTrialError, ValueError):
        # Optuna says "finished" either way: UpdateFinishedTrialError from a record, ValueError from
        # tell itself
        if _state(opt, trial.number) != TrialState.FAIL:
            raise
        if files is not None:
            files.remove(trial.number)
        warnings.warn(
            f"trial {trial.number} was failed by another driver while it ran; "
            "its result is dropped",
            RuntimeWarning,
            stacklevel=2,
        )


def _state(opt: optuna.Study, number: int) -> TrialState | None:
    """Trial ``number``'s state as stored now (another driver may have changed it)."""
    found = opt.get_trials(deepcopy=False)
    return found[number].state if number < len(found) else None
