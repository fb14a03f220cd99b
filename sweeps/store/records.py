"""The record schema of a stored sweep: what its study and trials hold, and how a trial's end is
read back.

Study user attrs: ``made_by`` (the marker of a study sweeps created, written first: a study without
it is foreign, and no command adopts or changes it), ``problem`` (what the search trains, part by
part: ``studies.Study.problem``), ``settings`` (seed, repeats, batch, pruner: what fixes the
trajectory), ``space``, ``study`` (the declaration), ``grid`` (the true target), ``var_y_val``,
``baseline`` (the question's own config, evaluated like a trial), ``run:<driver>`` (provenance of
each run) and ``driver:<id>`` (heartbeats, see `sweeps.store.liveness`). Trial user attrs:
:data:`RECORDED` and :data:`OUTCOME` (and :data:`IN_FILES` in the trial's file), plus ``seeds``
and ``driver`` when asked (a trial is created with them and its params in one record; ``seeds`` is
not written again when it is told), ``error`` and ``traceback`` when a trial raised, and
``stopped_by`` (a :class:`Stop` value) when a driver or the budget stopped it. A trial whose
median run was pruned is told PRUNED; it counts as done, like a complete one.

This module is the one owner of those words: every writer and every reader goes through it.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial, TrialState

METRIC_NAME = "val_mse_over_var_y"
"""The objective's name, as optuna-dashboard shows it: validation MSE over the target's variance."""

PRUNED = "pruned"
"""The stop reason of a pruned training (``mlpcore.TrainResult.stopped``); its trial is told
PRUNED."""

RECORDED = ("mode", "seeds", "config", "metrics", "hints")
"""What a trial records as user attrs of their own in the journal: what the sampler and the tables
need, and what optuna-dashboard shows a trial by (its mode, config, metrics)."""

OUTCOME = "outcome"
"""The trial user attr holding :data:`IN_OUTCOME`, one dict: one journal record, not one a key."""

IN_OUTCOME = (
    "modes",
    "values",
    "escape_rate",
    "train_mse",
    "val_mse",
    "approx_error",
    "steps_done",
    "stopped",
    "seconds",
    "train_seconds",
    "backend",
    "stops",
    "pruned_at",
)
"""The rest of a trial's outcome in the journal, in its :data:`OUTCOME` attr (sweeps stored before
kept each as an attr of its own): read them with :func:`trial_attrs`."""


def trial_attrs(user_attrs: dict) -> dict:
    """A trial's user attrs, flat: :data:`OUTCOME`'s keys beside the others, whether stored in it or
    (as sweeps stored before) each as an attr of its own."""
    inner = user_attrs.get(OUTCOME)
    if not isinstance(inner, dict):
        return user_attrs
    return {**inner, **{k: v for k, v in user_attrs.items() if k != OUTCOME}}


IN_FILES = ("curve", "grid_pred", "val_pred", "model")
"""What a trial records in its own file (`sweeps.store.trialfiles`), read only by what draws or
reuses it: the learning curve, predictions on the grid, ``val_pred`` (on the held-out rows, when the
study has more than one input feature) and ``model`` (the trained weights, kept for a trial that was
the best when it was told). Sweeps stored before these files kept the first three as user attrs;
readers take them from either place."""

CURVE_POINTS = 6
"""Without a pruner, a trial reports this many points of its validation curve as Optuna intermediate
values (for optuna-dashboard's chart), evenly spread; its file has every point. A pruner's rules
need every checkpoint."""


AS_TEXT = ("space", "grid", "baseline")
"""Study user attrs stored as JSON text: optuna-dashboard cuts a JSON value at 1024 characters
(mid-JSON), and shows text whole. Read them with :func:`study_attr`."""


def study_attr(opt, key: str, default: Any = None) -> Any:
    """The study user attr ``key`` of ``opt`` (an ``optuna.Study``) as data, whether stored as text
    (:data:`AS_TEXT`) or, as sweeps stored before, as JSON data; ``default`` when it is missing."""
    value = opt.user_attrs.get(key, default)
    return json.loads(value) if key in AS_TEXT and isinstance(value, str) else value


def as_stored(key: str, value: Any) -> Any:
    """``value`` as the study user attr ``key`` is stored (text for :data:`AS_TEXT`)."""
    return json.dumps(value, separators=(",", ":")) if key in AS_TEXT else value


MADE_BY = "made_by"
"""The study user attr that marks a study sweeps created; its value is :data:`MARKER`."""
MARKER = "sweeps"


def is_ours(user_attrs: dict) -> bool:
    """Whether a study with these user attrs was created by sweeps: it carries the marker, or (a
    sweep stored before the marker existed) both the declaration and the settings sweeps writes at
    creation."""
    return user_attrs.get(MADE_BY) == MARKER or ("settings" in user_attrs and "study" in user_attrs)


def not_ours(name: str, where: str) -> ValueError:
    """The one-line refusal of a study of that name that sweeps did not create."""
    return ValueError(
        f"study {name!r} in {where} was not created by sweeps (a foreign Optuna study); it is left "
        "as "
        f"it is; use another --storage, or give yours another name (--name NAME)"
    )


def problem_differences(stored: dict, given: dict) -> list[str]:
    """The parts of a study's problem (``studies.Study.problem``) that differ, in words: "other
    data", "training budget 2000 steps, patience 20 there, 150 steps, patience 20 here"."""
    said = []
    for part, value in given.items():
        was = stored.get(part)
        if was is None or was == value:
            continue
        said.append(
            f"{part} {was} there, {value} here"
            if part == "training budget"
            else f"another {part}"
            if part in ("target", "baseline")
            else f"other {part}"
        )
    return said


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
        return {
            "seed": self.seed,
            "repeats": self.repeats,
            "batch": self.batch,
            "pruner": self.pruner,
        }


class Stop(enum.Enum):
    """Why a driver, not the trial's own training, ended a RUNNING trial: its ``stopped_by`` attr.
    Each is run again."""

    INTERRUPTED = "interrupted"
    """Its driver was stopped by Ctrl-C or SIGTERM."""
    OVER_BUDGET = "over budget"
    """Drivers asking at the same moment asked more than the budget held, or one drew a trial for
    the number another then took: given back."""
    DRIVER_DIED = "driver died"
    """Its driver died (killed, or a lost machine); another driver failed it."""
    OUT_OF_MEMORY = "out of memory"
    """A training of its driver (this trial's or another's) ran out of memory; it stopped."""


ENDINGS = {
    Stop.INTERRUPTED: "interrupted",
    Stop.OVER_BUDGET: "given back",
    Stop.DRIVER_DIED: "lost with a dead driver",
    Stop.OUT_OF_MEMORY: "stopped out of memory",
}
"""How each stop reads in summaries."""

_LEGACY_STOPS = (("over budget", Stop.OVER_BUDGET), ("its driver", Stop.DRIVER_DIED))
"""Sweeps stored before stop reasons were values wrote sentences: each is read by its start."""


def stop_reason(t: FrozenTrial) -> Stop | None:
    """Why a driver stopped trial ``t``; None when no driver did (it ran to its end, or failed by
    its own error)."""
    value = t.user_attrs.get("stopped_by")
    if not isinstance(value, str):
        return None
    try:
        return Stop(value)
    except ValueError:
        return next((stop for start, stop in _LEGACY_STOPS if value.startswith(start)), None)


def ending(t: FrozenTrial) -> str:
    """How a trial ended: its state's name in lower case (``complete``, ``running``...), ``failed``
    (by its own error) or one of :data:`ENDINGS`' values (stopped by a driver)."""
    if t.state != TrialState.FAIL:
        return t.state.name.lower()
    stop = stop_reason(t)
    return "failed" if stop is None else ENDINGS[stop]


def counts_as_done(t: FrozenTrial) -> bool:
    """A trial that used up budget: complete, pruned, or failed by its own error (not stopped by a
    driver)."""
    return t.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        t.state == TrialState.FAIL and "error" in t.user_attrs
    )


def best_of(complete: list[FrozenTrial]) -> FrozenTrial | None:
    """The best of completed trials: the lowest value, the lowest number on a tie (None: none).
    The one definition of "best" that the summary, ``best.json``, ``best_config``, the report and
    ``list`` use."""
    return min(complete, key=lambda t: (t.value, t.number)) if complete else None
