"""The search vocabulary, in one place: what can be searched, its default range, its title, how a
point of the space becomes an MLPConfig, and which fields the sweep itself sets.

A study declares its space as plain data (``studies.Study.space``): a mapping from a parameter
name to one of

- ``True``: the parameter's default range or choices (``PARAMS``),
- ``(low, high)``: a range, on the parameter's default scale (log or linear),
- ``{"low": ..., "high": ..., "log": ..., "step": ...}``: a range, every part said,
- ``[choice, ...]``: a list of choices.

A parameter is a field of :class:`mlpcore.MLPConfig`, or ``width`` (every hidden layer),
``depth`` (how many) or ``width_1`` .. ``width_3`` (one layer each). Adding a searchable setting
is one row of ``PARAMS``; a field without a row can still be searched with an explicit range.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Mapping

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)

from mlpcore import MLPConfig
from mlpcore.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from mlpcore.config import FIELDS, MAX_DEPTH
from mlpcore.init import INITIALIZERS
from mlpcore.optim import OPTIMIZERS
from mlpcore.scaling import SCALERS

TRIALS_CAP_VARIABLE = "SWEEPS_MAX_TRIALS"
"""An environment variable: a whole number N stops every sweep at N trials, whatever its budget or
``--trials``."""
STEPS_CAP_VARIABLE = "SWEEPS_MAX_STEPS"
"""An environment variable: a whole number N stops every training of a sweep and of its analysis at
N steps. With SWEEPS_MAX_TRIALS, budgets cut down for a quick look or a smoke test (the README's own
test runs it so); the outcomes of such a sweep say little, so keep it apart (``--out``) from one
that counts."""


def cap(variable: str) -> int | None:
    """The whole number the environment variable ``variable`` holds (None when unset or empty);
    anything else is bad input, said in one line."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{variable} must be a whole number >= 1, got {text!r}")
    return int(text)


def capped(config: MLPConfig) -> MLPConfig:
    """``config`` with at most SWEEPS_MAX_STEPS steps, when that is set."""
    steps = cap(STEPS_CAP_VARIABLE)
    return config if steps is None or config.steps <= steps else config.replace(steps=steps)


MAX_SEARCH_WIDTH = 128
"""The widest layer a default range offers: wider nets cost more than they add on the seed
problems."""


@dataclass(frozen=True)
class Param:
    """One searchable setting: its panel title, its default distribution, and whether it is
    searched by default."""

    title: str
    default: BaseDistribution
    searched: bool = False
    only_with: tuple[str, Any] | None = None
    """(field, value): the setting changes nothing unless that config field has that value."""


def _layer_width(i: int) -> Param:
    return Param(
        f"width_{i}: units of hidden layer {i}", IntDistribution(1, MAX_SEARCH_WIDTH, log=True)
    )


PARAMS: dict[str, Param] = {
    "lr": Param("lr: learning rate", FloatDistribution(1e-6, 1.0, log=True), True),
    "width": Param(
        "width: units per hidden layer", IntDistribution(1, MAX_SEARCH_WIDTH, log=True), True
    ),
    "depth": Param("depth: hidden layers", IntDistribution(1, MAX_DEPTH), True),
    "init": Param("init: weight initialiser", CategoricalDistribution(sorted(INITIALIZERS)), True),
    "init_scale": Param(
        "init_scale: multiplies the initial weights", FloatDistribution(1e-3, 10.0, log=True), True
    ),
    "activation": Param(
        "activation: hidden units", CategoricalDistribution(HIDDEN_ACTIVATIONS), True
    ),
    "output_activation": Param(
        "output_activation", CategoricalDistribution(OUTPUT_ACTIVATIONS), True
    ),
    "x_scaling": Param("x_scaling: input scaling", CategoricalDistribution(sorted(SCALERS)), True),
    "y_scaling": Param("y_scaling: target scaling", CategoricalDistribution(sorted(SCALERS)), True),
    "optimizer": Param("optimizer", CategoricalDistribution(sorted(OPTIMIZERS)), True),
    "batch_size": Param(
        "batch_size (full = whole data set)", CategoricalDistribution([None, 1, 8, 32]), True
    ),
    "bias": Param("bias: units have biases", CategoricalDistribution([True, False]), True),
    "weight_decay": Param(
        "weight_decay: L2 penalty on weights", FloatDistribution(1e-7, 1e-2, log=True), True
    ),
    "momentum": Param(
        "momentum: the momentum optimizer's coefficient",
        FloatDistribution(0.5, 0.99),
        True,
        ("optimizer", "momentum"),
    ),
    "bias_init": Param(
        "bias_init: initial biases", FloatDistribution(-1.0, 1.0), only_with=("bias", True)
    ),
    "steps": Param("steps: optimizer updates", IntDistribution(100, 10_000, log=True)),
    "patience": Param(
        "patience: plateau stop, in curve checkpoints", IntDistribution(5, 100, log=True)
    ),
    **{f"width_{i}": _layer_width(i) for i in range(1, MAX_DEPTH + 1)},
}
"""Every setting with a default range, in the default space's order (the sampler draws in this
order). ``width`` sets every hidden layer; ``width_i`` sets layer i and wins over ``width``;
``batch_size`` None is full batch. Log ranges cannot hold 0: ``weight_decay`` 1e-7 is none for all a
fit can tell."""

LAYER_PARAMS = ("width", "depth", *(f"width_{i}" for i in range(1, MAX_DEPTH + 1)))
"""Parameters that build ``hidden`` rather than naming a config field."""

NOT_SEARCHABLE = frozenset({"hidden", "seed", "backend"})
"""Config fields no space may name: ``hidden`` through LAYER_PARAMS, the seed and backend by the
sweep."""

DEFAULT_SPACE: dict[str, bool] = {name: True for name, p in PARAMS.items() if p.searched}
"""The space of a study that declares none, as plain data."""

SET_BY_SWEEP = ("seed",)
"""Fields the sweep sets on every training, the baseline's included: the init seed of each
repeat."""


def title(name: str) -> str:
    """The title a figure gives parameter ``name``: the config key a user copies, and what it
    means."""
    return PARAMS[name].title if name in PARAMS else name


def inert(config: Mapping[str, Any]) -> set[str]:
    """The fields of ``config`` (a config dict) that change nothing in it, such as momentum under
    Adam."""
    return {
        n for n, p in PARAMS.items() if p.only_with and config.get(p.only_with[0]) != p.only_with[1]
    }


def distribution(name: str, spec: Any) -> BaseDistribution:
    """Parameter ``name``'s declaration (see the module docstring) as an Optuna distribution."""
    if name not in PARAMS and (name not in FIELDS or name in NOT_SEARCHABLE):
        allowed = sorted(set(PARAMS) | (FIELDS - NOT_SEARCHABLE))
        raise ValueError(f"unknown search parameter {name!r}; allowed: {allowed}")
    if isinstance(spec, BaseDistribution):  # from Python code that builds its own
        return spec
    default = PARAMS[name].default if name in PARAMS else None
    if spec is True:
        if default is None:
            raise ValueError(
                f"search parameter {name!r} has no default range; give (low, high) or a list of "
                "choices"
            )
        return default
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"search parameter {name!r}: the list of choices is empty")
        return CategoricalDistribution(spec)
    if isinstance(spec, tuple) and len(spec) == 2:
        spec = {"low": spec[0], "high": spec[1]}
    if isinstance(spec, dict) and {"low", "high"} <= set(spec) <= {"low", "high", "log", "step"}:
        return _range(name, spec, default)
    raise ValueError(
        f"search parameter {name!r} must be True (its default range), (low, high), "
        f"{{'low', 'high', 'log', 'step'}} or a list of choices, got {spec!r}"
    )


def _range(name: str, spec: dict, default: BaseDistribution | None) -> BaseDistribution:
    """A numeric range; integer when both ends are (or the default is), log when asked or by
    default."""
    low, high = spec["low"], spec["high"]
    integer = isinstance(default, IntDistribution) or (
        default is None and all(isinstance(v, int) for v in (low, high))
    )
    log = spec.get("log", getattr(default, "log", False))
    try:
        if integer:
            return IntDistribution(
                int(low), int(high), log=bool(log), step=int(spec.get("step") or 1)
            )
        return FloatDistribution(float(low), float(high), log=bool(log), step=spec.get("step"))
    except (TypeError, ValueError) as e:
        raise ValueError(f"search parameter {name!r}: bad range {spec!r}: {e}") from None


class Space:
    """A study's search space: its distributions, and the way between a point of it and an
    MLPConfig.

    Parameters
    ----------
    declared : the study's plain-data space (``studies.Study.space``); None is ``DEFAULT_SPACE``.
    overrides : config fields every search trial takes whatever the baseline says (the study's
                budget:
        ``steps``, ``patience``); a searched parameter wins over its override.
    """

    def __init__(
        self,
        declared: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        baseline: MLPConfig | None = None,
    ):
        declared = DEFAULT_SPACE if declared is None else declared
        self.distributions: dict[str, BaseDistribution] = {
            n: distribution(n, s) for n, s in declared.items()
        }
        self.overrides = {k: v for k, v in (overrides or {}).items() if k not in self.distributions}
        self.baseline = baseline
        """The config whose unsearched fields decide whether a conditional parameter is read (None:
        it is)."""

    @classmethod
    def of(cls, study) -> "Space":
        """The space a sweep of ``study`` (a ``studies.Study``) searches."""
        return cls(study.space, {"steps": study.steps, "patience": study.patience}, study.baseline)

    def __iter__(self):
        return iter(self.distributions)

    @property
    def conditional(self) -> tuple[str, ...]:
        """The parameters drawn only where the config reads them (momentum only for the momentum
        optimizer)."""
        return tuple(n for n in self.distributions if n in PARAMS and PARAMS[n].only_with)

    def reads(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether a config with the settings ``params`` (the rest the baseline's) reads parameter
        ``name``."""
        condition = PARAMS[name].only_with if name in PARAMS else None
        if condition is None:
            return True
        field, value = condition
        if field in params:
            return params[field] == value
        return self.baseline is None or getattr(self.baseline, field) == value

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Draw each parameter for ``trial`` (through its sampler), in the space's order, leaving
        out those the config would not read: a setting the training ignores is not sampled, so it
        can rank in no importance."""
        drawn: dict[str, Any] = {}
        order = sorted(
            self.distributions, key=lambda n: n in self.conditional
        )  # the settings they depend on first
        for name in order:
            if self.reads(name, drawn):
                drawn[name] = _SUGGEST[type(self.distributions[name])](
                    trial, name, self.distributions[name]
                )
        return drawn

    def to_config(self, baseline: MLPConfig, params: Mapping[str, Any], *, seed: int) -> MLPConfig:
        """The MLPConfig a search trial trains: ``baseline``, then the overrides, then ``params``.

        Settings the space leaves out keep the baseline's value, so a study can fix any of them.
        """
        fields = {k: v for k, v in params.items() if k not in LAYER_PARAMS}
        return baseline.replace(
            hidden=hidden_of(baseline.hidden, params),
            **{**self.overrides, **fields},
            seed=int(seed),
        )

    def params_of(self, config: MLPConfig) -> dict[str, Any]:
        """``config`` written as a point of this space (the settings it searches)."""
        layers = {"width": config.hidden[0], "depth": len(config.hidden)}
        layers |= {
            f"width_{i + 1}": config.hidden[min(i, len(config.hidden) - 1)]
            for i in range(MAX_DEPTH)
        }
        params = {
            k: layers[k] if k in LAYER_PARAMS else getattr(config, k) for k in self.distributions
        }
        return {k: v for k, v in params.items() if self.reads(k, config.to_dict())}

    def start_params(self, starts) -> list[dict[str, Any]]:
        """The points of the first trials: each config of ``starts`` whose choices the space holds,
        its numbers moved to the nearest end of their range where they fall outside it."""
        out = []
        for config in starts:
            params = self.params_of(config)
            if all(_holds_choice(self.distributions[k], v) for k, v in params.items()):
                out.append({k: _nearest(self.distributions[k], v) for k, v in params.items()})
        return out

    def to_json(self) -> dict[str, dict]:
        """The distributions as plain JSON values (Optuna's own encoding), stored with the sweep."""
        return space_to_json(self.distributions)


def apply(config: MLPConfig, params: Mapping[str, Any]) -> MLPConfig:
    """``config`` with the settings of ``params`` (parameters of a space, or config fields;
    ``hidden`` too)."""
    fields = {k: v for k, v in params.items() if k not in LAYER_PARAMS}
    if "hidden" not in fields:
        fields["hidden"] = hidden_of(config.hidden, params)
    return config.replace(**fields)


def hidden_of(base: tuple[int, ...], params: Mapping[str, Any]) -> tuple[int, ...]:
    """The hidden widths of a point: ``depth`` layers (default: the baseline's), each ``width_i``,
    else ``width``, else the baseline's width there (its last one past its depth)."""
    depth = int(params.get("depth", len(base)))
    return tuple(
        int(params.get(f"width_{i + 1}", params.get("width", base[min(i, len(base) - 1)])))
        for i in range(depth)
    )


_SUGGEST = {
    FloatDistribution: lambda t, n, d: t.suggest_float(n, d.low, d.high, log=d.log, step=d.step),
    IntDistribution: lambda t, n, d: t.suggest_int(n, d.low, d.high, log=d.log, step=d.step),
    CategoricalDistribution: lambda t, n, d: t.suggest_categorical(n, d.choices),
}


def _holds_choice(dist: BaseDistribution, value: Any) -> bool:
    return (
        value in dist.choices
        if isinstance(dist, CategoricalDistribution)
        else isinstance(value, (int, float))
    )


def _nearest(dist: BaseDistribution, value: Any) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return value
    return type(dist.low)(min(max(value, dist.low), dist.high))


def space_to_json(space: Mapping[str, BaseDistribution]) -> dict[str, dict]:
    """Distributions as plain JSON values: ``{"name": "FloatDistribution", "attributes": {...}}``
    each."""
    return {name: json.loads(distribution_to_json(d)) for name, d in space.items()}


def space_from_json(stored: Mapping[str, Any]) -> dict[str, BaseDistribution]:
    """Inverse of :func:`space_to_json`; also reads the strings of JSON that earlier sweeps
    stored."""
    return {
        name: json_to_distribution(d if isinstance(d, str) else json.dumps(d))
        for name, d in stored.items()
    }
