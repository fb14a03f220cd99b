"""What a study declares: its data, its true target, the seed's failing config, a search space, a budget.

A study is plain declarations; `sweeps` does the searching. A user adds one by dropping a
module defining ``STUDY = Study(...)`` into this package, or by passing a file path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from mlpcore import MLPConfig
from mlpcore.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from mlpcore.config import MAX_DEPTH
from mlpcore.init import INITIALIZERS
from mlpcore.optim import OPTIMIZERS
from mlpcore.scaling import SCALERS

Sampler = Callable[[np.random.Generator], "tuple[np.ndarray, np.ndarray]"]

DEFAULT_SPACE: dict[str, BaseDistribution] = {
    "lr": FloatDistribution(1e-6, 1.0, log=True),
    "width": IntDistribution(1, 128, log=True),
    "depth": IntDistribution(1, MAX_DEPTH),
    "init": CategoricalDistribution(sorted(INITIALIZERS)),
    "init_scale": FloatDistribution(1e-3, 10.0, log=True),
    "activation": CategoricalDistribution(HIDDEN_ACTIVATIONS),
    "output_activation": CategoricalDistribution(OUTPUT_ACTIVATIONS),
    "x_scaling": CategoricalDistribution(sorted(SCALERS)),
    "y_scaling": CategoricalDistribution(sorted(SCALERS)),
    "optimizer": CategoricalDistribution(sorted(OPTIMIZERS)),
    "batch_size": CategoricalDistribution([None, 1, 8, 32]),
    "bias": CategoricalDistribution([True, False]),
}
"""Everything the mission names, offered exactly as the engine's tables spell it. ``width`` is
every hidden layer's width; ``batch_size`` None is full batch."""


START = MLPConfig()
"""The engine's default config: scaled inputs and targets, tanh, an identity output, Adam."""


@dataclass(frozen=True)
class Data:
    """One draw of a study's data, all 1-D float arrays. The grid is noise-free and dense."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_grid: np.ndarray
    y_grid: np.ndarray


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    question: str
    """The user's question, in a sentence: what they did and what they got."""
    target: Callable[[np.ndarray], np.ndarray]
    """The true, noise-free function."""
    sample: Sampler
    """Draws one training set (x, y) from a Generator."""
    baseline: MLPConfig
    """The seed question's own configuration: the failure to explain."""
    sample_val: Sampler | None = None
    """Draws the validation set; ``sample`` again (fresh draws) when None."""
    noise_sd: float = 0.0
    """Standard deviation of the noise ``sample`` adds: the floor no fit can beat."""
    space: Mapping[str, BaseDistribution] = field(default_factory=lambda: dict(DEFAULT_SPACE))
    trials: int = 120
    """Default number of trials of a sweep."""
    steps: int = 2000
    """Training steps of every trial (a budget, not searched)."""
    repeats: int = 3
    """Init seeds per trial; the trial's value is their median. One seed rewards a lucky draw: in a
    one-seed sqrt sweep the best config fitted from 8 of 10 fresh seeds; the best of a three-seed
    sweep, from 10 of 10. What a sweep hands back should fit whatever the seed."""
    patience: int | None = 20
    """Plateau stop in curve checkpoints (see MLPConfig.patience): dead trials end early."""
    starts: tuple[MLPConfig, ...] = (START,)
    """Configs tried first, before the sampler takes over: the search starts from the textbook
    fix and learns around it, instead of hoping random draws stumble into the escape."""
    data_seed: int = 0
    grid_points: int = 100

    def __post_init__(self) -> None:
        unknown = sorted(set(self.space) - set(DEFAULT_SPACE))
        if unknown:
            raise ValueError(f"study {self.name!r}: unknown search parameter(s) {unknown}; allowed: {sorted(DEFAULT_SPACE)}")
        for key in ("trials", "steps", "repeats", "grid_points"):
            v = getattr(self, key)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"study {self.name!r}: {key} must be an integer >= 1, got {v!r}")

    def data(self) -> Data:
        """The study's data, the same on every call (drawn from ``data_seed``)."""
        rng = np.random.default_rng(self.data_seed)
        with np.errstate(all="ignore"):  # non-finite values are reported below, as an error
            x, y = self._checked("sample", *self.sample(rng))
            xv, yv = self._checked("sample_val", *(self.sample_val or self.sample)(rng))
            xg = np.linspace(x.min(), x.max(), self.grid_points)
            yg = self._checked("target", xg, self.target(xg))[1]
        return Data(x, y, xv, yv, xg, yg)

    def _checked(self, what: str, x, y) -> tuple[np.ndarray, np.ndarray]:
        x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
        if len(x) != len(y) or len(x) < 2:
            raise ValueError(f"study {self.name!r}: {what} must give x and y of one length >= 2, got {len(x)} and {len(y)}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError(f"study {self.name!r}: {what} gave non-finite values; data must be finite numbers")
        return x, y

    def describe(self) -> dict:
        """Plain-data summary, stored with a sweep."""
        return {"name": self.name, "title": self.title, "question": self.question, "noise_sd": self.noise_sd,
                "baseline": self.baseline.to_dict(), "trials": self.trials, "steps": self.steps, "repeats": self.repeats,
                "patience": self.patience, "data_seed": self.data_seed}
