"""Search space -> MLPConfig: the one place where a trial's params become an engine config."""

from __future__ import annotations

from typing import Any, Mapping

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)

from mlpcore import MLPConfig
from studies import Study

FIXED_MOMENTUM = 0.9
"""The momentum optimizer's coefficient; the textbook value, not worth a search dimension."""


_SUGGEST = {
    FloatDistribution: lambda t, n, d: t.suggest_float(n, d.low, d.high, log=d.log, step=d.step),
    IntDistribution: lambda t, n, d: t.suggest_int(n, d.low, d.high, log=d.log, step=d.step),
    CategoricalDistribution: lambda t, n, d: t.suggest_categorical(n, d.choices),
}


def suggest(trial: optuna.Trial, space: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """Draw every parameter of ``space`` for ``trial`` (through its sampler), in the space's order."""
    return {name: _SUGGEST[type(dist)](trial, name, dist) for name, dist in space.items()}


def to_config(study: Study, params: Mapping[str, Any], *, seed: int) -> MLPConfig:
    """The MLPConfig a trial trains: the study's baseline, overridden by ``params`` and the budget.

    Parameters a space leaves out keep the baseline's value, so a study can fix any of them.
    """
    base = study.baseline
    p = dict(params)
    width = p.pop("width", None)
    depth = p.pop("depth", None)
    hidden = base.hidden
    if width is not None or depth is not None:
        hidden = (int(width if width is not None else base.hidden[0]),) * int(depth if depth is not None else len(base.hidden))
    return base.replace(hidden=hidden, momentum=FIXED_MOMENTUM, steps=study.steps, patience=study.patience,
                        seed=int(seed), **p)


def config_params(study: Study, config: MLPConfig) -> dict[str, Any]:
    """``config`` written as params of the study's space (the fields the space searches)."""
    values = {"lr": config.lr, "width": config.hidden[0], "depth": len(config.hidden), "init": config.init,
              "init_scale": config.init_scale, "activation": config.activation,
              "output_activation": config.output_activation, "x_scaling": config.x_scaling,
              "y_scaling": config.y_scaling, "optimizer": config.optimizer, "batch_size": config.batch_size,
              "bias": config.bias}
    return {k: values[k] for k in study.space}


def baseline_params(study: Study) -> dict[str, Any]:
    """The seed's failing config as params of the study's space."""
    return config_params(study, study.baseline)


def start_params(study: Study) -> list[dict[str, Any]]:
    """The params of the study's first trials: its ``starts`` configs, where the space holds them."""
    out = []
    for config in study.starts:
        params = config_params(study, config)
        if all(holds(study.space[k], v) for k, v in params.items()):
            out.append(params)
    return out


def holds(dist: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` is one the distribution can draw."""
    if isinstance(dist, CategoricalDistribution):
        return value in dist.choices
    return isinstance(value, (int, float)) and dist.low <= value <= dist.high


def space_to_json(space: Mapping[str, BaseDistribution]) -> dict[str, str]:
    return {name: distribution_to_json(d) for name, d in space.items()}
