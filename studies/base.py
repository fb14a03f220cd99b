"""What a study declares: its data, its true target (if known), the failing config, a search space, a budget.

A study is plain declarations; `sweeps` does the searching. A user adds one by dropping a
module defining ``STUDY = Study(...)`` into this package, by passing a file path, or from
arrays in Python (:meth:`Study.from_arrays`). The search space is plain data (see
``sweeps.space``): names mapped to ``True`` (the default range), ``(low, high)``, a dict
``{"low", "high", "log", "step"}``, or a list of choices; ``None`` is the default space.

Inputs are 1-D (one feature, as every seed) or ``(n, d)``. A study with one feature gives its
data as 1-D arrays; one with d > 1 gives x as ``(n, d)`` and its grid as d slices (see :class:`Data`).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from mlpcore import MLPConfig
from mlpcore.atomic import replace_file

NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,99}")
"""A study's name names its folder under ``--out``: no separator, no dot (so no ``..``), never empty."""

Sampler = Callable[[np.random.Generator], "tuple[np.ndarray, np.ndarray]"]

START = MLPConfig()
"""The engine's default config: scaled inputs and targets, tanh, an identity output, Adam."""

VAL_FRACTION = 0.2
"""Share of the rows of a data set given as arrays that is held out for validation."""

MIN_ROWS = 10
"""Fewest rows a data set given as arrays may have: a validation set of a handful of points decides nothing."""

SNAPSHOT_VERSION = 1

MAX_DATA_VALUES = 20_000_000
"""Most numbers a data set may hold, rows x (inputs + 1): 160 MB as floats, read by the driver and by every worker."""
MAX_GRID_VALUES = 20_000_000
"""Most numbers the prediction grid may hold, (grid_points x d) rows x d inputs: every trial predicts on it."""


@dataclass(frozen=True)
class Data:
    """One draw of a study's data, in float arrays.

    x arrays are ``(n,)`` for one feature, ``(n, d)`` for d > 1; y arrays are ``(n,)``. The grid is
    noise-free and dense: for one feature ``grid_points`` values over the training range; for d > 1,
    d slices of ``grid_points`` rows each, feature j running over its training range while the others
    sit at their training medians (``grid_feature[i]`` is the feature row i varies). ``y_grid`` is the
    true target on the grid, None when the study does not know it.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_grid: np.ndarray
    y_grid: np.ndarray | None
    grid_feature: np.ndarray | None = None

    @property
    def features(self) -> int:
        """d, the number of input features."""
        return 1 if self.x_train.ndim == 1 else self.x_train.shape[1]


@dataclass(frozen=True)
class Budget:
    """How the question's config was trained where it was asked: its steps, and the batch size (None: full batch).

    The analysis trains the question's config, its fix and the thread's answer at this budget, so that what it
    says holds for the training the asker ran, not for a shorter one."""

    steps: int
    batch_size: int | None = None
    words: str = ""
    """The budget as the thread says it ("300,000 full-batch steps"); made from the numbers when empty."""

    def __post_init__(self) -> None:
        if not (isinstance(self.steps, int) and not isinstance(self.steps, bool) and self.steps >= 1):
            raise ValueError(f"Budget.steps must be an integer >= 1, got {self.steps!r}")
        if self.batch_size is not None and not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"Budget.batch_size must be None (full batch) or an integer >= 1, got {self.batch_size!r}")

    def describe(self) -> str:
        """The budget in words: ``words``, or ``300,000 full-batch steps`` / ``10,000 steps of 1 sample``."""
        if self.words:
            return self.words
        if self.batch_size is None:
            return f"{self.steps:,} full-batch steps"
        return f"{self.steps:,} steps of {self.batch_size} sample{'s' * (self.batch_size > 1)}"

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "batch_size": self.batch_size, "words": self.describe()}


@dataclass(frozen=True)
class Answer:
    """What the question's thread answered, as the config it amounts to: the question's config with the
    answer applied. The counterfactual analysis (``sweeps.analysis.explain``) trains it from fresh seeds and says
    whether the evidence agrees with the thread."""

    text: str
    """The answer in a few words, as the thread gave it."""
    config: MLPConfig
    """The question's config (the study's ``baseline``) with the answer's changes."""
    source: str = "the accepted answer"
    """Whose answer it is, as the page names it."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Study:
    name: str
    title: str
    question: str
    """The user's question, in a sentence: what they did and what they got."""
    baseline: MLPConfig
    """The question's own configuration: the failure to explain."""
    target: Callable[[np.ndarray], np.ndarray] | None = None
    """The true, noise-free function; None when unknown (data from a file)."""
    sample: Sampler | None = None
    """Draws one training set (x, y) from a Generator; None when the data are ``fixed``."""
    sample_val: Sampler | None = None
    """Draws the validation set; ``sample`` again (fresh draws) when None."""
    fixed: Data | None = None
    """The data themselves, split once (see :meth:`from_arrays`), instead of ``sample``."""
    noise_sd: float | None = 0.0
    """Standard deviation of the noise ``sample`` adds: the floor no fit can beat. None: unknown."""
    space: Mapping[str, Any] | None = None
    """The search space as plain data (module docstring); None: ``sweeps.space.DEFAULT_SPACE``."""
    trials: int = 120
    """Default number of trials of a sweep."""
    steps: int = 2000
    """Training steps of every search trial (a budget, unless the space searches ``steps``)."""
    repeats: int = 3
    """Init seeds per trial; the trial's value is their median. One seed rewards a lucky draw: in a
    one-seed sqrt sweep the best config fitted from 8 of 10 fresh seeds; the best of a three-seed
    sweep, from 10 of 10. What a sweep hands back should fit whatever the seed."""
    patience: int | None = 20
    """Plateau stop of every search trial, in curve checkpoints (see MLPConfig.patience): dead trials
    end early. The baseline is trained as declared."""
    starts: tuple[MLPConfig, ...] = (START,)
    """Configs tried first, before the sampler takes over: the search starts from the textbook
    fix and learns around it, instead of hoping random draws stumble into the escape."""
    data_seed: int = 0
    grid_points: int = 100
    answer: Answer | None = None
    """The answer the question got where it was asked, to test against the evidence; None: none to test."""
    asked: Budget | None = None
    """How the question's config was trained where it was asked (its steps and batch size); None: as the baseline
    declares. The analysis trains at this budget; the search keeps its own (``steps``)."""

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and NAME.fullmatch(self.name)):  # it names the sweep's folder
            raise ValueError(f"study name must be a plain name (letters, digits, _ and -, at most 100), got {self.name!r}")
        for key in ("trials", "steps", "repeats", "grid_points"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"study {self.name!r}: {key} must be an integer >= 1, got {v!r}")
        if (self.sample is None) == (self.fixed is None):
            raise ValueError(f"study {self.name!r}: give exactly one of sample (a function drawing the data) and "
                             f"fixed (the data), got {'both' if self.fixed is not None else 'neither'}")
        if not isinstance(self.baseline, MLPConfig):
            raise ValueError(f"study {self.name!r}: baseline must be an MLPConfig, got {type(self.baseline).__name__}")
        if self.answer is not None and not (isinstance(self.answer, Answer) and isinstance(self.answer.config, MLPConfig)
                                            and self.answer.text and self.answer.config != self.baseline):
            raise ValueError(f"study {self.name!r}: answer must be an Answer(text, config) whose config is the baseline "
                             f"with the answer's changes, got {self.answer!r}")
        if self.asked is not None and not isinstance(self.asked, Budget):
            raise ValueError(f"study {self.name!r}: asked must be a studies.Budget, got {type(self.asked).__name__}")
        if self.space is not None and not isinstance(self.space, Mapping):
            raise ValueError(f"study {self.name!r}: space must be a mapping of names to ranges or choices, "
                             f"got {type(self.space).__name__}")

    @classmethod
    def from_arrays(cls, name: str, x, y, *, baseline: MLPConfig | None = None, target=None,
                    val_fraction: float = VAL_FRACTION, split_seed: int = 0, **declared: Any) -> "Study":
        """A study of data you have: ``x`` (n,) or (n, d), ``y`` (n,), split once into train and validation.

        The split draws ``round(val_fraction * n)`` validation rows from ``split_seed``; it is part of
        the study (and of its snapshot, see :meth:`save`), so every process and every later command
        sees the same rows. ``baseline`` is your config (default: the engine's); ``target`` the true
        function, if you know it. Other keywords are :class:`Study` fields (space, trials, steps, ...).
        """
        x, y = _as_xy(name, "x and y", x, y)
        n = len(y)
        if n < MIN_ROWS:
            raise ValueError(f"study {name!r}: needs at least {MIN_ROWS} rows, got {n}")
        if not (isinstance(val_fraction, (int, float)) and 0 < val_fraction < 1):
            raise ValueError(f"study {name!r}: val_fraction must be a number between 0 and 1, got {val_fraction!r}")
        n_val = int(round(val_fraction * n))
        if not 2 <= n_val <= n - 2:
            raise ValueError(f"study {name!r}: val_fraction {val_fraction} leaves {n_val} of {n} rows for validation "
                             f"and {n - n_val} for training; each needs at least 2")
        val = np.zeros(n, dtype=bool)
        val[np.random.default_rng(split_seed).permutation(n)[:n_val]] = True
        x_train, y_train = x[~val], y[~val]
        grid_points = declared.pop("grid_points", 100)
        x_grid, grid_feature = _grid(x_train, grid_points)
        y_grid = None if target is None else _target_on(name, target, x_grid)
        fixed = Data(x_train, y_train, x[val], y[val], x_grid, y_grid, grid_feature)
        d = 1 if x.ndim == 1 else x.shape[1]
        defaults = {"title": f"{n} rows, {d} input feature{'s' * (d > 1)}",
                    "question": ("Why does this config not fit these data, and which settings do?" if baseline is not None
                                 else "Which settings fit these data?"),
                    "noise_sd": None}
        return cls(name=name, baseline=baseline or MLPConfig(), target=target, fixed=fixed, grid_points=grid_points,
                   **{**defaults, **declared})

    def data(self) -> Data:
        """The study's data, the same on every call (drawn from ``data_seed``, or ``fixed``)."""
        if self.fixed is not None:
            return self.fixed
        rng = np.random.default_rng(self.data_seed)
        with np.errstate(all="ignore"):  # non-finite values are reported below, as an error
            x, y = self._checked("sample", *self.sample(rng))
            xv, yv = self._checked("sample_val", *(self.sample_val or self.sample)(rng))
            if x.ndim != xv.ndim or x[0].shape != xv[0].shape:
                raise ValueError(f"study {self.name!r}: sample and sample_val give x of other shapes, "
                                 f"{x.shape} and {xv.shape}")
            xg, feature = _grid(x, self.grid_points)
            yg = None if self.target is None else _target_on(self.name, self.target, xg)
        return Data(x, y, xv, yv, xg, yg, feature)

    def _checked(self, what: str, x, y) -> tuple[np.ndarray, np.ndarray]:
        return _as_xy(self.name, what, x, y)

    def budget(self) -> Budget:
        """The budget the analysis trains the question's config at: ``asked``, else the baseline's own."""
        return self.asked or Budget(self.baseline.steps, self.baseline.batch_size)

    def describe(self) -> dict:
        """Plain-data summary, stored with a sweep."""
        return {"name": self.name, "title": self.title, "question": self.question, "noise_sd": self.noise_sd,
                "baseline": self.baseline.to_dict(), "trials": self.trials, "steps": self.steps, "repeats": self.repeats,
                "patience": self.patience, "data_seed": self.data_seed, "features": self.data().features,
                "target_known": self.target is not None or self.data().y_grid is not None}

    # --- the snapshot: a study any process can load from one file --------------------------------

    def save(self, path: str | Path) -> str:
        """Write the study, its data drawn, to an ``.npz`` at ``path`` (atomically); returns its fingerprint.

        The snapshot holds the data, the baseline, the space and the budget: what a worker, a report
        or ``best`` needs. A target function is not saved, its values on the grid are. The space must
        be plain data (module docstring).
        """
        arrays, meta = self._snapshot()
        buf = io.BytesIO()
        np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
        replace_file(path, buf.getvalue())
        return meta["fingerprint"]

    def problem(self) -> dict[str, str]:
        """What the search trains, part by part: the data (drawn by the sampler, or fixed), the true target, the
        training budget, the baseline and the starts, each a short hash or in words. Stored with a sweep when it is
        created; a run whose problem differs in any part is refused (``sweeps.search.tracking``). The words (title,
        question), the thread's answer and the asker's budget (``asked``, trained by the analysis, not the search)
        are not part of it."""
        d = self.data()
        return {"data": _digest(d.x_train, d.y_train, d.x_val, d.y_val),
                "target": "unknown" if d.y_grid is None else _digest(d.x_grid, d.y_grid),
                "training budget": f"{self.steps} steps, patience {self.patience}",
                "baseline": _digest(json.dumps(self.baseline.to_dict(), sort_keys=True)),
                "starts": _digest(json.dumps([c.to_dict() for c in self.starts], sort_keys=True))}

    def fingerprint(self) -> str:
        """A hash of everything a snapshot holds: equal for two studies that sweep alike."""
        return self._snapshot()[1]["fingerprint"]

    def _snapshot(self) -> tuple[dict[str, np.ndarray], dict]:
        d = self.data()
        # With several inputs the grid is rebuilt from x_train on load (_grid): stored, it would grow with d squared
        kept = ("x_train", "y_train", "x_val", "y_val", "y_grid", "grid_feature") + (("x_grid",) if d.features == 1 else ())
        arrays = {k: getattr(d, k) for k in kept if getattr(d, k) is not None}
        space = None if self.space is None else {k: _plain_spec(self.name, k, v) for k, v in self.space.items()}
        meta = {"version": SNAPSHOT_VERSION, "name": self.name, "title": self.title, "question": self.question,
                "baseline": self.baseline.to_dict(), "noise_sd": self.noise_sd, "space": space,
                "trials": self.trials, "steps": self.steps, "repeats": self.repeats, "patience": self.patience,
                "starts": [c.to_dict() for c in self.starts], "data_seed": self.data_seed,
                "grid_points": self.grid_points,
                "answer": None if self.answer is None else {"text": self.answer.text, "source": self.answer.source,
                                                            "config": self.answer.config.to_dict()},
                "asked": None if self.asked is None else self.asked.to_dict()}
        # The words (title, question), the answer to test and the asker's budget label a sweep or feed its analysis;
        # they do not change the sweep: a rerun resumes
        swept = {k: v for k, v in meta.items() if k not in ("title", "question", "answer", "asked")}
        h = hashlib.sha256(json.dumps(swept, sort_keys=True).encode())
        for k in sorted(arrays):
            h.update(k.encode() + np.ascontiguousarray(arrays[k]).tobytes())
        return arrays, meta | {"fingerprint": h.hexdigest()}

    @classmethod
    def load(cls, path: str | Path) -> "Study":
        """The study a snapshot (:meth:`save`) holds."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except (OSError, ValueError, KeyError) as e:
            raise ValueError(f"study snapshot {str(path)!r} cannot be read: {e}") from None
        if meta.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"study snapshot {str(path)!r} has version {meta.get('version')!r}; "
                             f"this version reads {SNAPSHOT_VERSION}")
        if "x_grid" not in arrays:  # several inputs: the grid's slices, from the training rows as they were made
            arrays["x_grid"] = _grid(arrays["x_train"], meta["grid_points"])[0]
        fixed = Data(*(arrays.get(k) for k in ("x_train", "y_train", "x_val", "y_val", "x_grid", "y_grid",
                                                "grid_feature")))
        return cls(name=meta["name"], title=meta["title"], question=meta["question"],
                   baseline=MLPConfig.from_dict(meta["baseline"]), fixed=fixed, noise_sd=meta["noise_sd"], space=meta["space"],
                   trials=meta["trials"], steps=meta["steps"], repeats=meta["repeats"], patience=meta["patience"],
                   starts=tuple(MLPConfig.from_dict(c) for c in meta["starts"]), data_seed=meta["data_seed"],
                   grid_points=meta["grid_points"], answer=_answer(meta.get("answer")),
                   asked=None if meta.get("asked") is None else Budget(**meta["asked"]))

    def replace(self, **changes: Any) -> "Study":
        """A copy with ``changes`` (Study fields) applied."""
        return replace(self, **changes)


def _answer(stored: dict | None) -> Answer | None:
    """The Answer a snapshot's meta holds (None in one written before answers were kept)."""
    if stored is None:
        return None
    return Answer(stored["text"], MLPConfig.from_dict(stored["config"]), stored["source"])


def _as_xy(name: str, what: str, x, y) -> tuple[np.ndarray, np.ndarray]:
    """x as (n,) for one feature or (n, d), y as (n,); both finite floats of one length >= 2."""
    try:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"study {name!r}: {what} must be numbers") from None
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim not in (1, 2) or x.ndim == 2 and x.shape[1] == 0:
        raise ValueError(f"study {name!r}: {what} must give x of shape (n,) or (n, d), got {x.shape}")
    y = y.ravel() if y.ndim == 2 and 1 in y.shape else y
    if y.ndim != 1 or len(x) != len(y) or len(y) < 2:
        raise ValueError(f"study {name!r}: {what} must give x and y of one length >= 2, got {len(x)} and {y.size}")
    if x.size + y.size > MAX_DATA_VALUES:
        raise ValueError(f"study {name!r}: {what} hold {len(y):,} rows of {x.size // len(y) + 1} numbers, "
                         f"{x.size + y.size:,} in all; at most {MAX_DATA_VALUES:,} are allowed: sample the rows first")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"study {name!r}: {what} gave non-finite values; data must be finite numbers")
    if what != "target" and np.ptp(y) == 0:
        raise ValueError(f"study {name!r}: {what} gave a constant target (y = {y[0]:g} in all {len(y)} rows); every "
                         f"value is measured against the target's variance, so there is nothing to sweep")
    return x, y


def _digest(*parts) -> str:
    """A short hash of arrays or text."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            h.update(part.encode())
        else:  # in float32: a last-bit difference between two machines' libm (np.sin) is the same problem
            part = np.ascontiguousarray(part, dtype=np.float32)
            h.update(str(part.shape).encode() + part.tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


def _grid(x: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The dense grid over x's range (see :class:`Data`): (points,) for one feature, else d slices."""
    if x.ndim == 1:
        return np.linspace(x.min(), x.max(), points), None
    d = x.shape[1]
    if points * d * d > MAX_GRID_VALUES:
        raise ValueError(f"{d} input features make a prediction grid of {points * d:,} rows x {d} "
                         f"({points * d * d:,} numbers); at most {MAX_GRID_VALUES:,} are allowed, so at most "
                         f"{int((MAX_GRID_VALUES / points) ** 0.5)} features with {points} grid points: select features first")
    grid = np.tile(np.median(x, axis=0), (d * points, 1))
    for j in range(d):
        grid[j * points:(j + 1) * points, j] = np.linspace(x[:, j].min(), x[:, j].max(), points)
    return grid, np.repeat(np.arange(d), points)


def _target_on(name: str, target, x_grid: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return _as_xy(name, "target", x_grid, target(x_grid))[1]


def _plain_spec(name: str, key: str, spec: Any) -> Any:
    """A space entry as JSON keeps it: a (low, high) tuple as a dict (JSON would make it a list of choices)."""
    if isinstance(spec, tuple) and len(spec) == 2:
        spec = {"low": spec[0], "high": spec[1]}
    try:
        json.dumps(spec)
    except TypeError:
        raise ValueError(f"study {name!r}: search parameter {key!r} must be plain data (True, (low, high), a dict "
                         f"or a list) to be saved, got {type(spec).__name__}") from None
    return spec
