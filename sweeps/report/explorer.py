"""The page's explorable trials: every trial in a table to sort and filter, a row opening the
trial's fit and learning curve, and parallel coordinates of the settings against mode and value.

    >>> section = explorer_html(frames)   # the table (as HTML), its data (as JSON) and the script

The rows are HTML, so the page lists every trial even without its script; the script
(``explorer.js`` beside this module, inlined) sorts and filters them and draws the rest from one
JSON block (:func:`explorer_data`). Curves and predictions go into it as :func:`pack`-ed strings,
two characters a number, so a 1,000-trial page stays a few megabytes.
"""

from __future__ import annotations

import functools
import html
import json
import math
from importlib import resources
from typing import Any

import numpy as np
from optuna.distributions import CategoricalDistribution, IntDistribution

from sweeps import space as space_vocabulary
from sweeps.report.style import (
    BEST_FIRST,
    CURVE_CLIP,
    DATA_COLOR,
    MODE_PALETTE,
    TARGET_COLOR,
    fmt,
    text_color,
)
from sweeps.results import frames as tidy
from sweeps.store.replay import no_collection

DATA_ID = "explore-data"
"""The id of the page's JSON block."""
TABLE_ID = "trials"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
"""The 64 characters of :func:`pack`, in code order (URL-safe base64's)."""
LEVELS = 64 * 64 - 1
"""Codes 0..LEVELS - 1 hold a number; code LEVELS is a missing one."""
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
CURVE_DECADES = (-9.0, math.log10(CURVE_CLIP))
"""The range a learning curve's log10(MSE / var(y)) is packed over: losses above CURVE_CLIP are
drawn at it, as in the learning-curves figure."""
COLUMNS = ("trial", "mode", "value", "seconds")
"""The table's first columns; the settings follow, in the space's order."""


def pack(values, lo: float, hi: float) -> str:
    """Numbers as two characters each, 12 bits over [lo, hi] (outside: clipped; NaN: missing).

    A number comes back (:func:`unpack`) within half a step, (hi - lo) / (2 * (LEVELS - 1)).
    """
    v = np.asarray(values, dtype=float)
    codes = np.clip(np.round((v - lo) / (hi - lo) * (LEVELS - 1)), 0, LEVELS - 1)
    codes = np.where(np.isfinite(v), codes, LEVELS).astype(int)
    out = np.empty(2 * len(codes), dtype=np.uint8)
    out[0::2], out[1::2] = _ALPHABET_BYTES[codes >> 6], _ALPHABET_BYTES[codes & 63]
    return out.tobytes().decode("ascii")


def unpack(text: str, lo: float, hi: float) -> np.ndarray:
    """What :func:`pack` packed (NaN where a number was missing), as the page's script reads it."""
    codes = np.array(
        [ALPHABET.index(a) * 64 + ALPHABET.index(b) for a, b in zip(text[::2], text[1::2])],
        dtype=float,
    )
    out = lo + codes / (LEVELS - 1) * (hi - lo)
    return np.where(codes == LEVELS, np.nan, out)


def _round(x: Any, digits: int = 4) -> float | None:
    """A float to ``digits`` significant digits for the JSON (None: missing or not finite)."""
    if x is None or isinstance(x, str):
        return None
    x = float(x)
    return float(f"{x:.{digits}g}") if math.isfinite(x) else None


# --- settings ----------------------------------------------------------------------------------


def _present(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def settings_of(row, space: dict[str, Any]) -> dict[str, Any]:
    """A :func:`~sweeps.results.frames.trials_frame` row's (a dict or a Series) searched settings
    that its config reads: name -> value as sampled (``None`` for the choice None, such as full
    batch).

    A parameter the trial did not draw (momentum under Adam) is left out; so is one its settings
    make inert. A categorical column holds NaN for the choice None (pandas makes it so).
    """
    out = {}
    for p, dist in space.items():
        v = row.get(f"params_{p}")
        if isinstance(dist, CategoricalDistribution):
            if not _present(v) and None not in dist.choices:
                continue
            i = _choice_index(p, tidy.value_key(v), tuple(dist.choices))
            out[p] = dist.choices[i] if i is not None else v
        elif _present(v):
            out[p] = int(v) if isinstance(dist, IntDistribution) else float(v)
    inert = space_vocabulary.inert(out)
    return {p: v for p, v in out.items() if p not in inert}


@functools.lru_cache(maxsize=4096)
def _choice_index(param: str, key: Any, choices: tuple) -> int | None:
    """The index of the choice a column's value came from (``key``: the value's
    :func:`~sweeps.results.frames.value_key`; None: none); :func:`settings_of` asks it once a
    distinct value, not once a trial."""
    v = math.nan if key == "nan" else key[1]
    labels = _labels(param, choices)
    label = tidy.choice_labels([v], param, choices)[0]
    return labels.index(label) if label in labels else None


def setting_text(param: str, value: Any, dist) -> str:
    """How a setting reads in a table cell."""
    if isinstance(dist, CategoricalDistribution):
        return tidy.value_label(param, value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3g}"
    return str(int(value)) if isinstance(value, (int, float)) else str(value)


def _axis(param: str, dist) -> dict[str, Any]:
    """A parameter's axis: its levels (categorical, evenly spaced), or its range and ticks (log
    where searched on a log scale)."""
    title = space_vocabulary.title(param)
    if isinstance(dist, CategoricalDistribution):
        return {
            "name": param,
            "title": title,
            "levels": [tidy.value_label(param, c) for c in dist.choices],
        }
    return _numeric_axis(
        param,
        title,
        float(dist.low),
        float(dist.high),
        bool(getattr(dist, "log", False)),
        isinstance(dist, IntDistribution),
    )


def _numeric_axis(
    name: str, title: str, lo: float, hi: float, log: bool, integer: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "log": log,
        "lo": lo,
        "hi": hi,
        "ticks": _ticks(lo, hi, log, integer),
    }


def _ticks(lo: float, hi: float, log: bool, integer: bool) -> list[list]:
    """[value, label] ticks: decades (or powers of two, for integers) on a log axis, about five
    round numbers on a linear one."""
    if log:
        base = 2 if integer else 10
        top = math.floor(math.log(hi, base) + 1e-9)
        values = [float(base) ** k for k in range(math.ceil(math.log(lo, base) - 1e-9), top + 1)]
    elif integer and hi - lo <= 8:
        values = [float(v) for v in range(int(lo), int(hi) + 1)]
    else:
        step = 10 ** math.floor(math.log10((hi - lo) / 4 or 1))
        step *= next(m for m in (1, 2, 5, 10) if (hi - lo) / (step * m) <= 5)
        values = list(np.arange(math.ceil(lo / step) * step, hi + step / 2, step))
    return [[float(v), f"{v:g}"] for v in values]


def _value_axis(values: np.ndarray) -> dict[str, Any]:
    """The value's axis: log over the trials' whole decades when every value is positive."""
    title = "value: validation MSE / var(y)"
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if lo > 0:
        lo, hi = 10.0 ** math.floor(math.log10(lo)), 10.0 ** math.ceil(math.log10(hi))
        return _numeric_axis("value", title, lo, hi if hi > lo else lo * 10, True)
    return _numeric_axis("value", title, lo, hi if hi > lo else lo + 1, False)


# --- the page's data ---------------------------------------------------------------------------


def explorer_data(frames: tidy.Frames, rows: list | None = None) -> dict[str, Any]:
    """What the page's script draws from, as plain data (:data:`DATA_ID`'s JSON).

    ``axes``: one per setting, then mode and value (see :func:`_axis`); ``trials``: one list per
    trial shown (``total``: the sweep's trials, when it shows fewer), in the table's order:
    [number, state, mode, value, seconds, settings], a setting as its level's index
    (categorical), its value (numeric) or None (not read); ``fit``: the grid, the
    target, the data points and each trial's predictions, :func:`pack`-ed over ``fit["packed"]``;
    ``curves``: each trial's learning curve, log10(MSE / var(y)) packed over
    :data:`CURVE_DECADES`. ``rows``: :func:`shown_rows`, when the caller holds them.
    """
    space = _searched(frames)
    rows = shown_rows(frames) if rows is None else rows
    values = np.array([r["value"] for r, _ in rows], dtype=float)
    trials = []
    for r, settings in rows:
        codes = [_code(p, settings[p], d) if p in settings else None for p, d in space.items()]
        mode = r["mode"] if isinstance(r["mode"], str) else None
        trials.append(
            [int(r["number"]), r["state"], mode, _round(r["value"]), _round(r["seconds"], 3), codes]
        )
    axes = [
        *(_axis(p, d) for p, d in space.items()),
        {"name": "mode", "title": "mode", "levels": list(BEST_FIRST)},
        _value_axis(values),
    ]
    return {
        "columns": [*COLUMNS, *space],
        "axes": axes,
        "palette": MODE_PALETTE,
        "colors": {"target": TARGET_COLOR, "data": DATA_COLOR},
        "alphabet": ALPHABET,
        "trials": trials,
        **({} if frames.shown is None else {"total": len(frames.trials)}),
        "fit": _fit_data(frames),
        "curves": _curve_data(frames),
    }


def _searched(frames: tidy.Frames) -> dict[str, Any]:
    """The space's parameters some trial holds, in the space's order."""
    return {p: d for p, d in frames.space.items() if f"params_{p}" in frames.trials}


def _code(param: str, value: Any, dist) -> float | int | None:
    """A setting as the page's data holds it: its level's index (categorical), else its value."""
    if not isinstance(dist, CategoricalDistribution):
        return _round(value)
    labels = _labels(param, tuple(dist.choices))
    label = tidy.value_label(param, value)
    return labels.index(label) if label in labels else None


@functools.lru_cache(maxsize=256)
def _labels(param: str, choices: tuple) -> list[str]:
    """How each choice of ``param`` reads, in order (asked once a parameter, not once a cell)."""
    return [tidy.value_label(param, c) for c in choices]


def _shown(frames: tidy.Frames):
    """The trials the section shows (:func:`~sweeps.results.frames.shown_numbers`), in the table's
    first order."""
    trials = tidy.best_first(frames.trials)
    return trials if frames.shown is None else trials[trials["number"].isin(frames.shown)]


def shown_rows(frames: tidy.Frames) -> list[tuple[dict, dict]]:
    """The trials the section shows, in the table's first order: each row as a dict (a Series a row
    costs ~100x more) with the settings its config reads (:func:`settings_of`)."""
    space = _searched(frames)
    shown = _shown(frames)
    read = [c for c in (*ROW_COLUMNS, *(f"params_{p}" for p in space)) if c in shown]
    return [(r, settings_of(r, space)) for r in shown[read].to_dict("records")]


ROW_COLUMNS = ("number", "state", "mode", "value", "seconds", "error")
"""The columns of a trials frame a shown row is read for, beside its settings' ``params_*``."""


def shown_note(frames: tidy.Frames) -> str:
    """What the section leaves out of a large sweep, in a sentence ("" when it shows every
    trial)."""
    if frames.shown is None:
        return ""
    total, shown = len(frames.trials), len(frames.shown)
    return (
        f'<p class="note"><strong>{total:,} trials: this section shows {shown:,} of them</strong>, '
        f"the {shown // 2:,} best and {shown - shown // 2:,} spread evenly over the rest in order "
        "of value. Every trial is counted in the figures above and listed in "
        "<code>trials.csv</code> beside this page; the learning curves and fits are picked among "
        "the ones shown here.</p>"
    )


def _fit_data(frames: tidy.Frames) -> dict[str, Any]:
    """The grid (x, and the input each row varies), the target, the data points, and every net's
    predictions, packed over three times the range the data and the target span (the view)."""
    p = frames.predictions
    grid = p[p["source"] == "target"]
    target = grid["y"].to_numpy(dtype=float)
    points = _points(frames)
    seen = np.concatenate([target, np.asarray(points["y"], dtype=float)])
    seen = seen[np.isfinite(seen)]
    if not len(seen):  # nothing known but the predictions: view those of the trials
        seen = p["y"].to_numpy(dtype=float)
        seen = seen[np.isfinite(seen)] if np.isfinite(seen).any() else np.array([0.0, 1.0])
    lo, hi = float(seen.min()), float(seen.max())
    pad = 0.08 * (hi - lo) if hi > lo else 1.0
    view = [lo - pad, hi + pad]
    span = view[1] - view[0]
    packed = [view[0] - span, view[1] + span]
    nets = p[p["source"] != "target"]
    order, groups = _runs(nets, ["source", "number"])
    text = pack(nets["y"].to_numpy(dtype=float)[order], *packed)  # packed at once, sliced by net
    by_net = {_run_key(source, number): _chars(text, rows) for (source, number), rows in groups}
    return {
        "features": int(frames.headline.get("features", 1)),
        "x": [_round(v) for v in grid["x"]],
        "feature": [int(v) for v in grid["feature"]],
        "target": pack(target, *packed) if np.isfinite(target).any() else None,
        "points": points,
        "view": [_round(v) for v in view],
        "packed": packed,
        "nets": by_net,
    }


def _runs(frame, keys: list[str]) -> tuple[np.ndarray, list[tuple[tuple, slice]]]:
    """``frame``'s rows grouped by ``keys`` as ``groupby(keys, sort=False, dropna=False)`` groups
    them, without pandas's cost a group: ``order``, the row positions group after group, and each
    group's key values with its slice of ``order``."""
    if not len(frame):
        return np.arange(0), []
    ids = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    order = np.argsort(ids, kind="stable")
    bounds = np.searchsorted(ids[order], np.arange(ids.max() + 2))
    firsts = order[bounds[:-1]]
    values = [frame[k].to_numpy(dtype=object)[firsts] for k in keys]
    return order, [
        (tuple(v[g] for v in values), slice(a, b))
        for g, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))
    ]


def _chars(text: str, rows: slice) -> str:
    """The :func:`pack`-ed values of ``rows`` in ``text`` (two characters a value)."""
    return text[2 * rows.start : 2 * rows.stop]


def _run_key(source: str, number) -> str:
    """A run's key in the page's data: the trial's number, or "baseline" (the question's config)."""
    return "baseline" if source == "baseline" else str(int(number))


def _points(frames: tidy.Frames) -> dict[str, list]:
    """The data points a fit is drawn against: every point with one input; with several, the
    training rows nearest each slice of the grid (:func:`~sweeps.results.frames.slice_rows`)."""
    if frames.data is None:
        return {"x": [], "y": [], "feature": []}
    if frames.headline.get("features", 1) > 1:
        rows = tidy.slice_rows(frames.data)
        return {
            "x": [_round(v) for v in rows["x"]],
            "y": [_round(v) for v in rows["y"]],
            "feature": [int(v) for v in rows["feature"]],
        }
    return {
        "x": [_round(v) for v in frames.data["x"]],
        "y": [_round(v) for v in frames.data["y"]],
        "feature": [0] * len(frames.data),
    }


def _curve_data(frames: tidy.Frames) -> dict[str, Any]:
    """Each run's learning curve (train and validation), and the reference values, by name."""
    c = frames.curves
    runs: dict[str, dict[str, Any]] = {}
    # one grouping by run and split (each run's splits in the order they come, as by run, then by
    # split): a grouping within each run costs more than its curves
    order, groups = _runs(c, ["source", "number", "split"])
    rel, step = c["rel"].to_numpy(dtype=float)[order], c["step"].to_numpy()[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        decades = np.where(rel > 0, np.log10(np.where(rel > 0, rel, 1.0)), np.nan)
    text = pack(decades, *CURVE_DECADES)  # packed at once, sliced by run
    for (source, number, split), rows in groups:
        run = runs.setdefault(_run_key(source, number), {})
        run[split] = _chars(text, rows)
        run["steps"] = _steps(step[rows])
    h = frames.headline
    noise = "estimated noise floor" if h.get("noise_estimated") else "noise floor"
    refs = [
        ["constant predictor", 1.0],
        ["best straight line", _round(h.get("line_value"))],
        [noise, _round(h.get("noise_value"))],
    ]
    return {"packed": list(CURVE_DECADES), "refs": [r for r in refs if r[1]], "runs": runs}


def _steps(steps: np.ndarray) -> dict[str, Any]:
    """A curve's steps: {"start", "stride", "count"} when evenly spaced, else {"list"}."""
    steps = steps.astype(int)
    gaps = np.diff(steps)
    if len(steps) > 1 and (gaps == gaps[0]).all():
        return {"start": int(steps[0]), "stride": int(gaps[0]), "count": len(steps)}
    return {"list": steps.tolist()}


def steps_of(packed: dict[str, Any]) -> list[int]:
    """The steps :func:`_steps` encoded (the page's script does the same)."""
    if "list" in packed:
        return packed["list"]
    return [packed["start"] + i * packed["stride"] for i in range(packed["count"])]


# --- the section -------------------------------------------------------------------------------


def table_html(frames: tidy.Frames, rows: list | None = None) -> str:
    """Every trial as a table row, best value first: number, mode (or its state when it has none),
    value, seconds, and the settings its config reads (a dot where it reads none). ``rows``:
    :func:`shown_rows`, when the caller holds them."""
    space = _searched(frames)
    head = "".join(
        f'<th title="sort by {html.escape(c)}">{html.escape(c)}</th>' for c in [*COLUMNS, *space]
    )
    lines = []
    for r, settings in shown_rows(frames) if rows is None else rows:
        n = int(r["number"])
        if isinstance(r["mode"], str):
            mode = f'<span class="mode m-{r["mode"]}">{r["mode"]}</span>'
        else:
            error = r.get("error")
            why = f' title="{html.escape(error[:300])}"' if isinstance(error, str) else ""
            mode = f'<span class="state"{why}>{html.escape(str(r["state"]).lower())}</span>'
        cells = "".join(
            f"<td>{html.escape(setting_text(p, settings[p], d))}</td>"
            if p in settings
            else '<td class="na">·</td>'
            for p, d in space.items()
        )
        lines.append(
            f'<tr id="trial-{n}"><td>{n}</td><td>{mode}</td><td>{fmt(_number(r["value"]))}'
            f"</td><td>{fmt(_number(r['seconds']))}</td>{cells}</tr>"
        )
    return (
        '<div class="table-box" id="trials-box">'
        f'<table class="compact explore" id="{TABLE_ID}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table></div>"
    )


def _number(x: Any) -> float | None:
    """A frame's number, None where missing or not finite."""
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def _json_block(data: dict[str, Any]) -> str:
    """``data`` as a JSON script block (``<`` escaped, so no text in it can close the block)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return f'<script type="application/json" id="{DATA_ID}">{text}</script>'


def script() -> str:
    """The page's explorer script (``explorer.js``), as text."""
    return resources.files(__package__).joinpath("explorer.js").read_text(encoding="utf-8")


def style() -> str:
    """The explorer's CSS: the table's box, the mode badges by class, the viewer and the axes."""
    badges = "".join(
        f".m-{m}{{background:{c};color:{text_color(c)}}}" for m, c in MODE_PALETTE.items()
    )
    return STYLE + badges


STYLE = """
.table-box{max-height:72vh;overflow:auto;border:1px solid #ddd;border-radius:6px;margin:8px 0}
table.explore{margin:0;white-space:nowrap}table.explore thead th{position:sticky;top:0;z-index:2;
cursor:pointer;user-select:none}
table.explore th.asc::after{content:" \\25B2"}table.explore th.desc::after{content:" \\25BC"}
table.explore td:first-child,table.explore th:first-child{position:sticky;left:0;background:#fff;
z-index:1}table.explore th:first-child{z-index:3;background:#f3f3f3}
table.explore td:nth-child(1),table.explore td:nth-child(3),table.explore td:nth-child(4){
text-align:right;font-variant-numeric:tabular-nums}table.explore tbody tr{cursor:pointer}
table.explore tbody tr:hover td,table.explore tr.hot td{background:#eef4fb}
table.explore tr.open td{background:#e2ecf7}table.explore td.na{color:#bbb;text-align:center}
table.explore .state{color:#777;font-style:italic}table.explore tr.detail td{background:#fbfbfb;
cursor:default;position:static;text-align:left}
.viewer{position:sticky;left:0;display:flex;flex-wrap:wrap;gap:12px;padding:6px 0;
white-space:normal}.viewer svg{background:#fff;border:1px solid #eee}
.viewer .about{flex-basis:100%;font-size:.92em;color:#333}
.explore-tools{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:8px 0}
.explore-tools input[type=search]{flex:1 1 320px;font-size:.92em;padding:3px 6px}
.explore-tools label{font-size:.85em;cursor:pointer}#pcp{position:relative}
#pcp svg{width:100%;height:auto;border:1px solid #eee;background:#fff;touch-action:none}
#pcp path.out{stroke:#d0d0d0;stroke-opacity:.12}
#pcp .tip{position:absolute;pointer-events:none;background:#222;color:#fff;font-size:.8em;
padding:2px 6px;border-radius:4px;white-space:nowrap;display:none}
"""


def explorer_html(frames: tidy.Frames) -> str:
    """The section: parallel coordinates, the filter, the table, its data and its script (its CSS
    is :func:`style`, in the page's head)."""
    with no_collection():  # a dict a row, a list a cell: many objects, no cycles among them
        rows = shown_rows(frames)
        table, data = table_html(frames, rows), _json_block(explorer_data(frames, rows))
    chips = "".join(
        f'<label><input type="checkbox" data-mode="{m}" checked> '
        f'<span class="mode m-{m}">{m}</span></label>'
        for m in BEST_FIRST
    )
    return (
        shown_note(frames) + "<h3>Settings against mode and value</h3>"
        '<p class="note">One line a trial, coloured by its mode, through each setting it read '
        "(a setting it did not read sits at n/a), its mode and its value (lower is better; "
        "log scales where the search drew on a log scale). Hover a line to name it; drag along "
        "an axis to keep only the trials within (a click on the axis clears it); click a line "
        "to open that trial below.</p>"
        '<div id="pcp"><noscript><p class="note">(Drawn by the page\'s script.)</p></noscript>'
        "</div><h3>The trials</h3>"
        '<div class="explore-tools">'
        '<input type="search" id="trial-filter" aria-label="filter the trials" '
        'placeholder="filter: e.g. mode=fit lr&lt;0.01 activation=tanh, or any text">'
        f'{chips}<button type="button" id="trial-clear">clear filters</button>'
        '<span class="note" id="trial-count"></span></div>'
        '<p class="note">Click a column to sort by it (again: the other way); click a row to '
        "see the trial's predictions on the grid against the data and the true function, and "
        "its learning curve. A dot: a setting this trial's config does not read.</p>"
        + table
        + data
        + f"<script>{script()}</script>"
    )
