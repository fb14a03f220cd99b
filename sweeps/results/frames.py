"""Tidy pandas frames from a stored study (no drawing): one row per trial, flat columns.

``build(opt)`` gathers everything the report page shows; each piece is also a function of its own.
Each takes the study as an Optuna study or by its name or file (``build("sqrt")``,
``trials_frame("sqrt", out="results")``):

- :func:`trials_frame`       one row per trial: params_*, mode, value, metrics_*
- :func:`curves_frame`       learning curves, long: one row per (trial, split, step)
- :func:`predictions_frame`  predictions on the study's grid, long, with the target and the
  question's config
- :func:`held_out_frame`     d > 1 inputs: each net's predictions on the held-out rows against their
  actual values
- :func:`slice_rows`         d > 1 inputs: the training rows nearest each slice of the grid
- :func:`levers_frame`       per setting value (categorical, or a bin of a number): trials, escape
  rate, modes
- :func:`importances_frame`  Optuna's PED-ANOVA importance of each parameter, for the objective and
  for escaping
- :func:`headline`           the numbers the page opens with

A trial *escapes* when its mode is ``fit`` (the linear fit, and every other failure, left behind).
Every frame's ``mode`` column is an ordered categorical over ``mlpcore.MODES``, worst to best
(:func:`mode_column`), so that pandas and seaborn sort, group and colour modes in that order.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from mlpcore import MODES
from mlpcore.atomic import replace_file
from sweeps.results import fingerprint, kept_trials
from sweeps.results.handle import Sweep, open_sweep
from sweeps.results.reading import best_trial, takes_name
from sweeps.space import space_from_json
from sweeps.store.records import IN_FILES, study_attr, trial_attrs
from sweeps.store.replay import no_collection
from sweeps.store.trialfiles import BASELINE, TrialFiles

if TYPE_CHECKING:
    import pandas as pd

ESCAPE_MODE = "fit"
"""The mode of a training that escaped every failure: the one a sweep is after."""

MIN_LEVER_TRIALS = 5
"""A setting value needs this many trials before its escape rate is quoted as a lever; fewer is
noise."""

OBJECTIVE_QUANTILE = 0.1
"""PED-ANOVA's "good" trials for the objective: the best tenth."""

NONE_LABELS = {"batch_size": "full"}
"""How a parameter's ``None`` reads (batch_size None trains on the full batch)."""

SLICE_SHARE = 0.1
"""The share of training rows drawn beside a slice of the grid in d > 1 inputs: those nearest to
it."""

NO_CONTRAST_SHARE = 0.6
"""A setting kept at one value (or bin) in this share of the trials leaves PED-ANOVA little to
compare..."""
NO_CONTRAST_SCORE = 0.01
"""...and when it then scores below this (about nothing), the score is "no contrast", not a
number."""


@takes_name
def trials_frame(opt: optuna.Study):
    """One row per trial: number, state, value, ``params_*``, mode, escape rate, ``metrics_*``,
    timings.

    Curves and grid predictions are left out (see :func:`curves_frame`); every column is flat.
    ``approx_error`` (the distance to the true function on the grid) only when the study knows it.
    """
    import pandas as pd

    rows = []
    for t in opt.get_trials(deepcopy=False):
        a = trial_attrs(t.user_attrs)
        row = {"number": t.number, "state": t.state.name, "value": t.value}
        row |= {f"params_{k}": v for k, v in t.params.items()}
        row |= {
            "mode": a.get("mode"),
            "escape_rate": a.get("escape_rate"),
            "train_mse": a.get("train_mse"),
            "val_mse": a.get("val_mse"),
            "approx_error": a.get("approx_error"),
            "steps_done": a.get("steps_done"),
            "stopped": a.get("stopped"),
            "seconds": a.get("seconds"),
            "backend": a.get("backend"),
            "error": a.get("error"),
        }
        row |= {f"metrics_{k}": v for k, v in (a.get("metrics") or {}).items()}
        # drawn at random (sweeps.search.driver.EXPLORE_TRIALS)
        row["explore"] = bool(a.get("explore"))
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out["mode"] = mode_column(out["mode"])
    # The distance to the true function: without one, a column of blanks says nothing
    return out if target_known(opt) else out.drop(columns="approx_error", errors="ignore")


def mode_column(values):
    """Failure modes as an ordered pandas Categorical over ``mlpcore.MODES``, worst to best
    (missing: NaN)."""
    import pandas as pd

    return pd.Categorical(values, categories=MODES, ordered=True)


@takes_name
def target_known(opt: optuna.Study) -> bool:
    """Whether the study knows its true function (the target on the grid is stored)."""
    return bool((study_attr(opt, "grid") or {}).get("y"))


@takes_name
def features(opt: optuna.Study) -> int:
    """d, the number of input features of the study."""
    return int(opt.user_attrs.get("study", {}).get("features", 1))


def explored(trials):
    """The exploration trials of a :func:`trials_frame` (unbiased: no model chose them), or all
    when it has none."""
    return trials[trials["explore"]] if len(trials) and trials["explore"].any() else trials


def complete(trials):
    """The completed trials of a :func:`trials_frame`, with ``escaped`` (mode is fit)."""
    if not len(trials):
        return trials.assign(number=[], value=[], mode=[], escaped=[])
    done = trials[trials["state"] == "COMPLETE"]
    return done.assign(escaped=done["mode"] == ESCAPE_MODE)


SHOWN = 2000
"""Trials a report shows one by one at most (a row of the table, a line of the explorer, a learning
curve, predictions): a page of ten thousand would be tens of megabytes, and its report would read
every trial's file. Every trial stays in ``trials.csv`` and in what the figures count."""


def best_first(trials):
    """A :func:`trials_frame`'s rows, best value first (then the lowest number), trials without a
    value last: the report table's first order."""
    return trials.sort_values(["value", "number"], kind="stable", na_position="last")


def shown_numbers(trials, most: int | None = None) -> frozenset[int] | None:
    """The numbers of the trials (a :func:`trials_frame`) a report shows one by one: None (every
    trial) up to ``most`` (default :data:`SHOWN`); past that the ``most // 2`` first in
    :func:`best_first` order and the others spread evenly over the rest in that order, so that
    every mode the sweep met is seen."""
    most = SHOWN if most is None else most
    if len(trials) <= most:
        return None
    order = best_first(trials)["number"].to_numpy(dtype=int)
    best, rest = order[: most // 2], order[most // 2 :]
    spread = np.linspace(0, len(rest) - 1, most - len(best)).round().astype(int)
    return frozenset(int(n) for n in np.concatenate([best, rest[spread]]))


def _completed(opt: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return opt.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


@takes_name
def curves_frame(opt: optuna.Study, files: TrialFiles | None = None, numbers=None, trials=None):
    """Learning curves, long: source (trial / baseline), number, mode, value, split (train / val),
    step, mse, rel.

    ``rel`` is the MSE over the variance of the validation target, the objective's scale (1.0 = a
    constant predictor); None (non-finite) losses are NaN. ``files``: the sweep's trial files
    (``Sweep.files``), where the curves are; a sweep stored before them kept its curves in the
    journal. ``numbers``: only these trials' (and the baseline's), as :func:`shown_numbers` picks.
    ``trials``: the study's :func:`trials_frame`, to read each trial's number, value and mode from
    instead of its decoded trial, for a sweep whose trials keep their curves and predictions in
    their files alone (:func:`records_in_journal` is False; see :func:`_nets`).
    """
    # a curve's labels once each, repeated at the end; its numbers as arrays: one frame at the end
    labels: dict[str, list] = {k: [] for k in ("source", "number", "mode", "value", "split")}
    arrays: dict[str, list] = {k: [] for k in ("step", "mse", "rel")}
    lengths = []
    for source, number, value, a in _nets(opt, "curve", files, numbers, trials):
        steps = np.asarray(a["curve"]["steps"])
        var_y = (a.get("metrics") or {}).get("var_y") or 1.0
        for split in ("train", "val"):
            mse = _floats(a["curve"][split])
            for key, v in zip(labels, (source, number, a.get("mode"), value, split)):
                labels[key].append(v)
            lengths.append(len(steps))
            arrays["step"].append(steps)
            arrays["mse"].append(mse)
            arrays["rel"].append(mse / var_y)
    repeated = {
        k: [np.repeat(np.array(v, dtype=object), lengths)] if lengths else []
        for k, v in labels.items()
    }
    return _long_frame(repeated | arrays)


def _floats(values) -> np.ndarray:
    """A stored list of numbers as floats, None (a non-finite value) as NaN."""
    return np.array(values, dtype=float)  # NumPy reads None as NaN


def _long_frame(columns: dict[str, list]):
    """One frame from per-run pieces of each column (``number`` as a nullable int)."""
    import pandas as pd

    out = pd.DataFrame({k: np.concatenate(v) if v else [] for k, v in columns.items()})
    out["number"] = (
        pd.array(out["number"].tolist(), dtype="Int64") if len(out) else pd.array([], dtype="Int64")
    )
    out["mode"] = mode_column(out["mode"])
    for key in ("value", "mse", "rel"):
        if key in out:
            out[key] = out[key].astype(float)
    return out


@takes_name
def predictions_frame(
    opt: optuna.Study, files: TrialFiles | None = None, numbers=None, trials=None
):
    """Predictions on the study's grid, long: source (target / baseline / trial), number, mode,
    value, x, y, feature.

    The target rows are the true function (NaN when the study does not know it); non-finite
    predictions are NaN. With d > 1 input features the grid is d slices: ``feature`` j's rows vary
    input j (``x`` is its value) with the others at their training medians; with one feature,
    ``feature`` is 0. ``files``, ``numbers``, ``trials``: as for :func:`curves_frame`.
    """
    import pandas as pd

    grid = study_attr(opt, "grid")
    if not grid:
        return pd.DataFrame(
            columns=["source", "number", "mode", "value", "x", "y", "feature"]
        ).assign(mode=lambda f: mode_column(f["mode"]))
    x = np.asarray(grid["x"], dtype=float)
    feature = np.asarray(grid.get("feature") or np.zeros(len(x), dtype=int))
    if x.ndim == 2:
        x = x[np.arange(len(x)), feature]
    target = np.full(len(x), np.nan) if grid["y"] is None else np.asarray(grid["y"], dtype=float)
    # column by column, one frame at the end: a frame a trial is most of the time at 10,000 trials
    rows = [("target", None, None, np.nan, target)]
    for source, number, value, a in _nets(opt, "grid_pred", files, numbers, trials):
        y = _floats(a["grid_pred"])
        if len(y) != len(x):
            raise ValueError(
                f"{source} {number}: {len(y)} predictions on a grid of {len(x)} points"
            )
        rows.append((source, number, a.get("mode"), value, y))
    n = len(x)

    def repeated(i: int) -> np.ndarray:
        return np.repeat(np.array([r[i] for r in rows], dtype=object), n)

    out = pd.DataFrame(
        {
            "source": repeated(0),
            "number": pd.array(repeated(1).tolist(), dtype="Int64"),
            "mode": repeated(2),
            "value": np.repeat(
                np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=float), n
            ),
            "x": np.tile(x, len(rows)),
            "y": np.concatenate([r[4] for r in rows]),
            "feature": np.tile(feature, len(rows)),
        }
    )
    return out.assign(mode=mode_column(out["mode"]))


def _nets(
    opt: optuna.Study, key: str, files: TrialFiles | None = None, numbers=None, trials=None
) -> list[tuple[str, int | None, float | None, dict]]:
    """(source, number, value, records) of the question's config and of every completed trial that
    recorded ``key`` (of those in ``numbers``, when given): its user attrs, with what its file in
    ``files`` holds.

    With ``trials`` (the study's :func:`trials_frame`, of a sweep whose trials keep none of their
    records in the journal: :func:`records_in_journal`) a trial's number, value and mode are read
    from the frame and its ``key`` from its file alone, and no trial is decoded.
    """
    base = study_attr(opt, "baseline", {})
    if files is not None:
        base = base | files.read(BASELINE)
    nets = [("baseline", None, base.get("value"), base)] if key in base else []
    if files is not None and trials is not None:
        return nets + _nets_in_files(key, files, numbers, trials)
    for t in _completed(opt):
        if numbers is not None and t.number not in numbers:
            continue
        a = trial_attrs(t.user_attrs)
        a = a if key in a or files is None else a | files.read(t.number)
        if key in a:
            nets.append(("trial", t.number, t.value, a))
    return nets


def records_in_journal(opt: optuna.Study) -> bool:
    """Whether a completed trial keeps its curve or predictions in the journal (a sweep stored
    before its trial files, `sweeps.store.records.IN_FILES`), not in its file only."""
    return any(
        key in trial_attrs(t.user_attrs)
        for t in _completed(opt)
        for key in IN_FILES
        if key != "model"
    )


def _nets_in_files(
    key: str, files: TrialFiles, numbers, trials
) -> list[tuple[str, int | None, float | None, dict]]:
    """:func:`_nets`' trials from the frame ``trials`` and the trials' files: the records a trial's
    net is drawn by (``key``, its mode, its metric ``var_y``)."""
    done = trials[trials["state"] == "COMPLETE"]
    if numbers is not None:
        done = done[done["number"].isin(list(numbers))]
    var_y = done["metrics_var_y"].tolist() if "metrics_var_y" in done else [None] * len(done)
    found = []
    for number, value, mode, v in zip(
        done["number"].tolist(), done["value"].tolist(), done["mode"].tolist(), var_y
    ):
        a = files.read(number)
        if key not in a:
            continue
        a = a | {
            "mode": mode if isinstance(mode, str) else None,
            "metrics": {"var_y": None if v is None or math.isnan(v) else v},
        }
        found.append(("trial", number, value, a))
    return found


@takes_name
def held_out_frame(
    opt: optuna.Study, y_val: np.ndarray, files: TrialFiles | None = None, numbers=None, trials=None
):
    """Predictions on the held-out (validation) rows against their actual values ``y_val`` (n_val,),
    long: source (baseline / trial), number, mode, value, row, actual, predicted (NaN where not
    finite).

    Trials record these predictions only with d > 1 input features (``val_pred``); otherwise the
    frame is empty.
    """
    import pandas as pd

    actual = np.asarray(y_val, dtype=float).ravel()
    parts = [
        pd.DataFrame(
            {
                "source": source,
                "number": number,
                "mode": a.get("mode"),
                "value": value,
                "row": np.arange(len(actual)),
                "actual": actual,
                "predicted": _floats(a["val_pred"]),
            }
        )
        for source, number, value, a in _nets(opt, "val_pred", files, numbers, trials)
        if len(a["val_pred"]) == len(actual)
    ]
    if not parts:
        parts = [
            pd.DataFrame(
                columns=["source", "number", "mode", "value", "row", "actual", "predicted"]
            )
        ]
    out = pd.concat(parts, ignore_index=True).astype({"number": "Int64"})
    return out.assign(mode=mode_column(out["mode"]))


def slice_rows(data, share: float = SLICE_SHARE):
    """For d > 1 inputs, the training rows of a :func:`data_frame` nearest each slice of the grid,
    long: feature (j, from 0), x (input j + 1), y, distance.

    Slice j runs input j + 1 with the others at their training medians; a row's distance to it is
    that of its other inputs from those medians, each over its standard deviation. The nearest
    ``share`` of the rows (at least one) are kept, so a slice's rows scatter by what the other
    inputs add.
    """
    import pandas as pd

    train = data[data["split"] == "train"]
    columns = [c for c in data.columns if c[:1] == "x" and c[1:].isdigit()]
    z = train[columns].to_numpy(dtype=float)
    sd = z.std(axis=0)
    z = (z - np.median(z, axis=0)) / np.where(sd > 0, sd, 1.0)
    keep = max(1, int(round(share * len(train))))
    parts = []
    for j, column in enumerate(columns):
        distance = np.sqrt(np.sum(np.delete(z, j, axis=1) ** 2, axis=1))
        near = np.argsort(distance, kind="stable")[:keep]
        parts.append(
            pd.DataFrame(
                {
                    "feature": j,
                    "x": train[column].to_numpy()[near],
                    "y": train["y"].to_numpy()[near],
                    "distance": distance[near],
                }
            )
        )
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["feature", "x", "y", "distance"])
    )


def data_frame(d):
    """The study's training and validation points (x, y, split), from its data
    (``studies.Study.data()``).

    With d > 1 input features, ``x`` is the first and ``x1`` .. ``xd`` are all of them."""
    import pandas as pd

    def part(x, y, split):
        columns = {} if x.ndim == 1 else {f"x{j + 1}": x[:, j] for j in range(x.shape[1])}
        return pd.DataFrame({"x": x if x.ndim == 1 else x[:, 0], "y": y, "split": split, **columns})

    return pd.concat(
        [part(d.x_train, d.y_train, "train"), part(d.x_val, d.y_val, "val")], ignore_index=True
    )


# --- the search space and its bins -------------------------------------------------------------


@takes_name
def search_space(opt: optuna.Study) -> dict[str, Any]:
    """The study's search space as Optuna distributions, in the order it was declared."""
    return space_from_json(study_attr(opt, "space", {}))


def value_label(param: str, value: Any) -> str:
    """How a categorical value reads on the page: ``None`` batch size is "full", others as Python
    prints them."""
    return NONE_LABELS.get(param, "none") if value is None else str(value)


def value_key(v: Any) -> Any:
    """A column's value as a key that tells values apart as choices are told apart: every NaN one
    key (NaN != NaN), and a bool not its int (True == 1)."""
    return "nan" if isinstance(v, float) and math.isnan(v) else (type(v), v)


def choice_labels(values, param: str, choices) -> list[str]:
    """Labels of categorical values as a frame column holds them: pandas turns [None, 1, 8] into
    [NaN, 1.0, 8.0], so each value is matched back to the choice it came from."""

    def choice(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        is_bool = isinstance(v, (bool, np.bool_))  # True == 1, so a bool matches only a bool
        return next(
            (c for c in choices if c is not None and isinstance(c, bool) == is_bool and c == v), v
        )

    labels: dict = {}  # one match a distinct value: a column holds a few, many times
    out = []
    for v in values.tolist() if hasattr(values, "tolist") else values:  # plain Python values
        key = value_key(v)
        if key not in labels:
            labels[key] = value_label(param, choice(v))
        out.append(labels[key])
    return out


def bin_edges(dist) -> np.ndarray | None:
    """Bin edges of a numeric distribution (None for a categorical one), chosen to read well:
    decades on a log float, powers of two on a log int, each value of a small int range."""
    if isinstance(dist, FloatDistribution):
        if dist.log:
            return 10.0 ** np.arange(
                math.floor(math.log10(dist.low)), math.ceil(math.log10(dist.high)) + 1
            )
        return np.linspace(dist.low, dist.high, 6)
    if isinstance(dist, IntDistribution):
        # powers of two; the top bin takes in the high end (64-128, not 64-127 and 128)
        if dist.log:
            inner = 2.0 ** np.arange(
                math.ceil(math.log2(dist.low)), math.ceil(math.log2(dist.high))
            )
            return np.unique(np.r_[[dist.low], inner, [dist.high + 1]])
        if dist.high - dist.low <= 8:
            return np.arange(dist.low, dist.high + 2, dtype=float)
        return np.unique(np.round(np.linspace(dist.low, dist.high + 1, 6)))
    return None


def bin_labels(edges: np.ndarray, integer: bool) -> list[str]:
    """Readable labels of the bins [edges[i], edges[i+1])."""
    if integer:
        return [
            f"{a:.0f}" if b - a == 1 else f"{a:.0f}–{b - 1:.0f}"
            for a, b in zip(edges[:-1], edges[1:])
        ]
    return [f"{_short(a)}–{_short(b)}" for a, b in zip(edges[:-1], edges[1:])]


def _short(x: float) -> str:
    """1e-06 -> "1e-6", 0.001 -> "0.001", 10.0 -> "10": the shortest spelling a reader knows."""
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4):
        mantissa, exponent = f"{x:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return str(int(x)) if float(x).is_integer() else f"{x:.3g}"


def setting_column(trials, param: str, dist):
    """A trial's setting of ``param`` as an ordered categorical: the value's label, or its bin."""
    import pandas as pd

    values = trials[f"params_{param}"]
    edges = bin_edges(dist)
    if edges is None:
        order = [value_label(param, c) for c in dist.choices]
        return pd.Categorical(
            choice_labels(values, param, dist.choices), categories=order, ordered=True
        )
    labels = bin_labels(edges, isinstance(dist, IntDistribution))
    return pd.cut(values.astype(float), edges, right=False, labels=labels, include_lowest=True)


def settings_frame(trials, space: dict[str, Any]):
    """One row per completed trial: number, mode, value, escaped, and one ordered categorical column
    per parameter holding its value's label (categorical) or its bin (numeric), as heatmaps and
    levers group them."""
    done = complete(trials)
    out = done[["number", "mode", "value", "escaped"]].reset_index(drop=True)
    for param, dist in space.items():
        if f"params_{param}" in done:
            out[param] = setting_column(done.reset_index(drop=True), param, dist)
    return out


@takes_name
def levers_frame(opt: optuna.Study, trials=None, settings=None):
    """Per parameter and value (categorical) or bin (numeric): trials, escaped, escape rate, best
    and median value, and the number of trials in each mode (one column per mode), in the space's
    order. ``trials``: these (a :func:`trials_frame`), default every trial; ``settings``: their
    :func:`settings_frame`, when the caller holds it."""
    import pandas as pd

    space = search_space(opt)
    if settings is None:
        settings = settings_frame(trials_frame(opt) if trials is None else trials, space)
    escaped = settings["escaped"].to_numpy(dtype=bool)
    values = settings["value"].to_numpy(dtype=float)
    modes = settings["mode"].to_numpy(dtype=object)
    rows = []
    for param, dist in space.items():
        if param not in settings:
            continue
        kind = "categorical" if isinstance(dist, CategoricalDistribution) else "numeric"
        # each value's trials (code -1: a trial without the setting, in no group), found by sorting
        # the codes once: a groupby over a few dozen values costs more than the counting
        codes = settings[param].cat.codes.to_numpy()
        order = np.argsort(codes, kind="stable")
        labels = settings[param].cat.categories
        starts = np.searchsorted(codes[order], np.arange(len(labels) + 1))
        for label, start, end in zip(labels, starts[:-1], starts[1:]):
            group = order[start:end]
            rows.append(
                {
                    "param": param,
                    "kind": kind,
                    "value": str(label),
                    "trials": len(group),
                    "escaped": int(escaped[group].sum()),
                    "escape_rate": escaped[group].mean() if len(group) else np.nan,
                    "best_value": _skipping_nan(np.min, values[group]),
                    "median_value": _skipping_nan(np.median, values[group]),
                    **{m: int((modes[group] == m).sum()) for m in MODES},
                }
            )
    columns = [
        "param",
        "kind",
        "value",
        "trials",
        "escaped",
        "escape_rate",
        "best_value",
        "median_value",
        *MODES,
    ]
    return pd.DataFrame(rows, columns=columns)


def _skipping_nan(reduce, values: np.ndarray) -> float:
    """``reduce`` of the ``values`` not NaN, or NaN when all are (as pandas' min and median do)."""
    kept = values[~np.isnan(values)]
    return float(reduce(kept)) if len(kept) else np.nan


def lever_ranking(levers, min_trials: int = MIN_LEVER_TRIALS):
    """One row per parameter: its best and worst value (among those with ``min_trials``), the spread
    of their escape rates, and ``weight``, that spread with small counts discounted, by which the
    rows are ranked. Parameters with fewer than two such values are left out."""
    import pandas as pd

    rows = []
    for param, group in levers[levers["trials"] >= min_trials].groupby("param", sort=False):
        if len(group) < 2:
            continue
        # Ranked by the rate with one escape and one miss added (Laplace), so that 0 of 5 counts for
        # less than 0 of 50; the raw rates are what is shown.
        smoothed = (group["escaped"] + 1) / (group["trials"] + 2)
        ranked = group.assign(smoothed=smoothed).sort_values(
            ["smoothed", "trials"], ascending=[False, False], kind="stable"
        )
        best, worst = ranked.iloc[0], ranked.iloc[-1]
        rows.append(
            {
                "param": param,
                "kind": best["kind"],
                "best": best["value"],
                "best_rate": best["escape_rate"],
                "best_trials": best["trials"],
                "worst": worst["value"],
                "worst_rate": worst["escape_rate"],
                "worst_trials": worst["trials"],
                "spread": best["escape_rate"] - worst["escape_rate"],
                "weight": best["smoothed"] - worst["smoothed"],
            }
        )
    columns = [
        "param",
        "kind",
        "best",
        "best_rate",
        "best_trials",
        "worst",
        "worst_rate",
        "worst_trials",
        "spread",
        "weight",
    ]
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values("weight", ascending=False, kind="stable").reset_index(drop=True)


def lever_sentence(row) -> str:
    """A ranking row in words: ``x_scaling=standard: 91% escape (n=40); none: 4% (n=35)``
    (a numeric parameter names its bins: ``lr in 0.001-0.01: ...``)."""
    sep = "=" if row["kind"] == "categorical" else " in "
    return (
        f"{row['param']}{sep}{row['best']}: {row['best_rate']:.0%} escape "
        f"(n={row['best_trials']}); "
        f"{row['worst']}: {row['worst_rate']:.0%} (n={row['worst_trials']})"
    )


# --- importance and headline -------------------------------------------------------------------


IMPORTANCES_NAME = "importances.json"
"""Where a sweep's folder keeps its last importances and the key of the trials they are of: a report
of the same trials reads them back instead of importing ``optuna.importance``, which imports
scikit-learn and SciPy when they are installed."""


@takes_name
def importances_frame(opt: optuna.Study, settings=None, keep: Path | None = None, trials=None):
    """PED-ANOVA importance of each parameter (normalised to sum 1 per target), long: param, target,
    importance, top_value, top_share, contrast.

    ``objective``: what sets the best tenth of trials apart; ``escape``: what sets the escaped
    trials (mode fit) apart from the rest. PED-ANOVA needs no extra dependency and draws nothing at
    random, so the same study gives the same importances. A target without contrast (fewer than two
    good trials, or every trial escaped / none did) has NaN importances.

    PED-ANOVA compares the good trials with all the trials the sampler drew, so a setting the
    sampler kept at one value (``top_value``, the label or bin of :func:`settings_frame`) in
    ``top_share`` of the trials (at least :data:`NO_CONTRAST_SHARE`) and that scores about nothing
    (below :data:`NO_CONTRAST_SCORE`) has ``contrast`` False: its score says the sample cannot tell,
    not that the setting does not matter.

    ``keep``: the folder where they are kept (:data:`IMPORTANCES_NAME`) and read back; ``trials``:
    the study's :func:`trials_frame`, when the caller holds it.
    """
    import pandas as pd

    columns = ["param", "target", "importance", "top_value", "top_share", "contrast"]
    space = search_space(opt)
    trials = trials_frame(opt) if trials is None else trials
    settings = settings_frame(trials, space) if settings is None else settings
    key = _importances_key(trials, settings)
    if keep is not None and (rows := _kept_importances(keep / IMPORTANCES_NAME, key)) is not None:
        return pd.DataFrame(rows, columns=columns)
    rows = _importance_rows(opt, _completed(opt), space, settings)
    text = json.dumps({"key": key, "rows": rows})
    if keep is not None:
        try:  # a cache: a folder that cannot take it costs the next report the computation
            replace_file(keep / IMPORTANCES_NAME, text + "\n")
        except OSError:
            pass
    # the rows as read back, so that a frame computed and one read back are the same to the bit
    # (a NaN's sign included): the figures kept from it (sweeps.report.kept) are then found again
    return pd.DataFrame(json.loads(text)["rows"], columns=columns)


def _importances_key(trials, settings) -> str:
    """The hash of what :func:`importances_frame` reads: the completed trials' numbers, values,
    modes and params (of their :func:`trials_frame` ``trials``) and the settings frame, by their
    values (`sweeps.results.fingerprint`: a frame made from the trials and one read back from a file
    give the same key), Optuna's version and this module's source."""
    digest = hashlib.sha256()
    digest.update(optuna.__version__.encode() + b"\0" + Path(__file__).read_bytes())
    done = complete(trials)
    read = ["number", "value", "mode", *sorted(c for c in done if c.startswith("params_"))]
    fingerprint.update(digest, done[read].reset_index(drop=True))
    fingerprint.update(digest, settings)
    return digest.hexdigest()


def _kept_importances(path: Path, key: str) -> list[dict] | None:
    """The rows kept at ``path`` when they are of ``key``; else None (none kept, or other)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        return kept["rows"] if kept["key"] == key and isinstance(kept["rows"], list) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _importance_rows(opt: optuna.Study, trials, space, settings) -> list[dict]:
    """:func:`importances_frame`'s rows, computed."""
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

    params = [p for p in space if any(p in t.params for t in trials)]
    escaped = sum(t.user_attrs.get("mode") == ESCAPE_MODE for t in trials)
    targets = {
        "objective": (None, OBJECTIVE_QUANTILE, math.ceil(OBJECTIVE_QUANTILE * len(trials)) >= 2),
        "escape": (
            lambda t: float(t.user_attrs.get("mode") != ESCAPE_MODE),
            escaped / max(len(trials), 1),
            0 < escaped < len(trials),
        ),
    }
    tops = {p: _top_value(settings[p]) if p in settings else (None, np.nan) for p in params}
    rows = []
    for name, (target, quantile, contrast) in targets.items():
        scores = dict.fromkeys(params, np.nan)
        if contrast and params:
            with warnings.catch_warnings():  # PED-ANOVA warns about its own caveats on every call
                warnings.simplefilter("ignore")
                found = get_param_importances(
                    opt,
                    evaluator=PedAnovaImportanceEvaluator(target_quantile=quantile),
                    params=params,
                    target=target,
                    normalize=True,
                )
            scores |= found
        for p, v in scores.items():
            top, share = tops[p]
            flat = bool(share >= NO_CONTRAST_SHARE and (np.isnan(v) or v < NO_CONTRAST_SCORE))
            rows.append(
                {
                    "param": p,
                    "target": name,
                    "importance": float(v),
                    "top_value": top,
                    "top_share": share,
                    "contrast": not flat,
                }
            )
    return rows


def _top_value(column) -> tuple[str | None, float]:
    """The most frequent label of a settings column and its share of the trials."""
    counts = column.value_counts(sort=True)
    if not counts.sum():
        return None, np.nan
    return str(counts.index[0]), float(counts.iloc[0] / counts.sum())


def no_contrast_text(row) -> str:
    """An importance row without contrast, in words: ``no contrast: the sampler chose standard in
    68% of trials``."""
    return f"no contrast: the sampler chose {row['top_value']} in {row['top_share']:.0%} of trials"


def best_record(opt: optuna.Study) -> dict[str, Any] | None:
    """What the headline reads of the best trial (`reading.best_trial`): its number, value, mode
    and config; None when no trial completed."""
    if not _completed(opt):
        return None
    best = best_trial(opt)
    return {
        "number": best.number,
        "value": best.value,
        "mode": best.user_attrs.get("mode"),
        "config": best.user_attrs.get("config"),
    }


@takes_name
def headline(opt: optuna.Study, trials=None, levers=None, best=None) -> dict[str, Any]:
    """The numbers the page opens with, as plain data.

    trials / failed / escaped / escape_share; best_value, best_number, best_mode, best_config;
    line_value (the best straight line's MSE over var_y) and noise_value (noise_sd**2 / var_y; when
    the study does not know its noise, the noise floor the diagnosis estimated from the data, and
    ``noise_estimated`` is True); features (d) and target_known; the question's config's value, mode
    and hints, with its init seeds (``baseline_seeds``) and the one its hints and config are of
    (``baseline_seed``, the median run's); and ``levers``: the settings whose values split escape
    rates most, as sentences. ``trials``, ``levers``, ``best``: the study's :func:`trials_frame`,
    :func:`levers_frame` and :func:`best_record`, when the caller holds them.
    """
    trials = trials_frame(opt) if trials is None else trials
    done = complete(trials)
    levers = levers_frame(opt, explored(trials)) if levers is None else levers
    about = opt.user_attrs.get("study", {})
    base = study_attr(opt, "baseline", {})
    var_y = opt.user_attrs.get("var_y_val")
    noise_sd = about.get("noise_sd")
    noise_value = (
        _metric_ratio(base, done, "noise_floor")
        if noise_sd is None
        else noise_sd**2 / var_y
        if noise_sd and var_y
        else None
    )
    out = {
        "study": opt.study_name,
        "title": about.get("title", ""),
        "question": about.get("question", ""),
        "trials": len(done),
        "failed": int((trials["state"] == "FAIL").sum()) if len(trials) else 0,
        "pruned": int((trials["state"] == "PRUNED").sum()) if len(trials) else 0,
        "repeats": opt.user_attrs.get("settings", {}).get("repeats", 1),
        "escaped": int(done["escaped"].sum()),
        "escape_share": float(done["escaped"].mean()) if len(done) else None,
        "modes": {m: int((done["mode"] == m).sum()) for m in MODES},
        "line_value": _metric_ratio(base, done, "line_mse"),
        "noise_value": noise_value,
        "noise_estimated": noise_sd is None,
        "features": features(opt),
        "target_known": target_known(opt),
        "baseline_value": base.get("value"),
        "baseline_mode": base.get("mode"),
        "baseline_hints": base.get("hints", []),
        # the hints and the config are of one init seed, the median run's, of those named here
        "baseline_seed": base.get("seed"),
        "baseline_seeds": base.get("seeds", []),
        "baseline_config": base.get("config"),
        "best_value": None,
        "best_number": None,
        "best_mode": None,
        "best_config": None,
        "levers": [],
        "levers_on": int(trials["explore"].sum()) if len(trials) else 0,
    }
    best = best_record(opt) if best is None and len(done) else best
    if best is not None:
        out |= {
            "best_value": float(best["value"]),
            "best_number": best["number"],
            "best_mode": best["mode"],
            "best_config": best["config"],
        }
    ranking = lever_ranking(levers)
    out["levers"] = [
        {"param": r["param"], "sentence": lever_sentence(r), "spread": float(r["spread"])}
        for _, r in ranking.iterrows()
        if r["spread"] > 0
    ]
    return out


def _metric_ratio(base: dict, done, metric: str) -> float | None:
    """A metric of the data (the same for every trial: line_mse, noise_floor) over var_y: the
    baseline's, else the trials' median."""
    m = base.get("metrics") or {}
    if m.get(metric) is not None and m.get("var_y"):
        return m[metric] / m["var_y"]
    if f"metrics_{metric}" in done and len(done):
        return float((done[f"metrics_{metric}"] / done["metrics_var_y"]).median())
    return None


@dataclass(frozen=True)
class Frames:
    """Everything the report page shows, as frames (see the module docstring) and the headline
    dict."""

    trials: pd.DataFrame
    """:func:`trials_frame`, every trial."""
    settings: pd.DataFrame
    """:func:`settings_frame`, the completed trials' settings as labels and bins."""
    curves: pd.DataFrame
    """:func:`curves_frame`."""
    predictions: pd.DataFrame
    """:func:`predictions_frame`."""
    levers: pd.DataFrame
    """:func:`levers_frame` of the exploration trials (unbiased shares, for the raw levers)."""
    tried: pd.DataFrame
    """:func:`levers_frame` of every trial: what the sampler tried, as it chose."""
    importances: pd.DataFrame
    """:func:`importances_frame`."""
    space: dict[str, Any]
    """Parameter name -> Optuna distribution, in declared order (:func:`search_space`)."""
    headline: dict[str, Any]
    """:func:`headline`."""
    data: pd.DataFrame | None = None
    """:func:`data_frame` when the study's definition is known, else None."""
    held_out: pd.DataFrame | None = None
    """:func:`held_out_frame` when the study's definition is known, else None."""
    shown: frozenset[int] | None = None
    """The trials the page shows one by one, with their curves and predictions
    (:func:`shown_numbers`); None: every trial."""


def build(
    opt: "optuna.Study | str | Sweep",
    definition=None,
    files: TrialFiles | None = None,
    *,
    out="results",
    storage: str | None = None,
) -> Frames:
    """All the frames of a study: an Optuna study, or a stored sweep (a ``Sweep``, or its name or
    file, in ``out`` or ``storage``); ``definition`` (a ``studies.Study``, known from a sweep) adds
    its data points; ``files`` (the sweep's trial files, ``Sweep.files``, known from a sweep) its
    curves and predictions. A sweep opened from its kept replay reads its trials frame from
    beside it when one was kept, and keeps it otherwise (`sweeps.results.kept_trials`)."""
    store = None
    if not isinstance(opt, optuna.Study):
        sweep = open_sweep(opt, out=out, storage=storage) if isinstance(opt, str) else opt
        if not isinstance(sweep, Sweep):
            raise ValueError(
                "study must be an optuna.Study, a Sweep, a study's name or a .py file, got "
                f"{type(opt).__name__}"
            )
        opt, definition = sweep.study, sweep.definition if definition is None else definition
        files, store = sweep.files if files is None else files, sweep.store
    with no_collection():  # every trial read: many objects, no cycles among them
        return _build(opt, definition, files, store)


def _build(opt: optuna.Study, definition, files: TrialFiles | None, store=None) -> Frames:
    kept = kept_trials.load(store)
    if kept is None:
        trials, best = trials_frame(opt), best_record(opt)
        if kept_trials.keeps(store):  # (a live page's storage, a database: never)
            kept_trials.keep(store, trials, best, records_in_journal(opt))
        framed = None  # the trials are decoded: the nets are read from them
    else:
        trials, best = kept.trials, kept.best
        framed = None if kept.in_journal else trials
    if not len(complete(trials)):
        raise ValueError(
            f"sweep {opt.study_name!r} has no completed trial yet; run: python -m "
            f"sweeps run {opt.study_name}"
        )
    space = search_space(opt)
    settings = settings_frame(trials, space)
    sample = explored(trials)
    levers = levers_frame(opt, sample, settings[settings["number"].isin(sample["number"])])
    data = None if definition is None else definition.data()
    files = None if files is None else files.remembering()
    shown = shown_numbers(trials)
    return Frames(
        trials=trials,
        settings=settings,
        curves=curves_frame(opt, files, shown, framed),
        predictions=predictions_frame(opt, files, shown, framed),
        levers=levers,
        tried=levers_frame(opt, trials, settings),
        importances=importances_frame(
            opt, settings, None if files is None else files.folder.parent, trials
        ),
        space=space,
        headline=headline(opt, trials, levers, best),
        data=None if data is None else data_frame(data),
        held_out=None if data is None else held_out_frame(opt, data.y_val, files, shown, framed),
        shown=shown,
    )


def config_json(config: dict | None) -> str:
    """A config as JSON, one setting a line (lists kept on their line), as MLPConfig.from_json
    reads it."""
    if not config:
        return json.dumps(config)
    return (
        "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in config.items()) + "\n}"
    )
