"""Every hint rule, each by a case built to fire it and only it.

A context starts healthy (scaled 0..1 data, 10 tanh units with biases, an identity output, a loss
that fell steadily, an ``underfit`` mode): no rule fires. Each case changes the one thing its
rule looks at.
"""

import numpy as np
import pytest

from mlpcore import MLPConfig, fit
from mlpcore.diagnostics import HINTS, SLOW_DROP, STALLED_DROP, STILL_FALLING, UNSCALED_RANGE, Context

HEALTHY = {"nonlinear_share": 0.5, "captured": 0.5, "loss_drop": 0.5, "tail_drop": 0.0, "saturated_fraction": 0.0,
           "dead_fraction": 0.0, "kinks_in_range": None, "steps_done": 100.0}
X = np.linspace(0.0, 1.0, 20)[:, None]


def context(mode="underfit", x=X, y=None, theta=None, metrics=(), **config):
    y = X**2 if y is None else y
    cfg = MLPConfig(hidden=(10,), steps=1, backend="numpy").replace(**config)
    model = fit(cfg, x, y).model
    if theta is not None:
        theta(model)
    return Context(mode, HEALTHY | dict(metrics), cfg, x, y, model)


def fired(c):
    return [rule.__name__ for rule in HINTS if rule(c) is not None]


def saturate_output(model):
    _, b = model.layout.views(model.theta)[-1]
    b[:] = 50.0  # the output unit's pre-activation sits deep in tanh's flat tail on every point


CASES = [
    pytest.param({"mode": "diverged"}, "_hint_diverged", id="diverged"),
    pytest.param({"output_activation": "sigmoid", "y_scaling": "none", "y": 5 * X}, "_hint_output_range",
                 id="output_range"),
    pytest.param({"output_activation": "tanh", "y_scaling": "none", "y": 0.5 * X, "theta": saturate_output},
                 "_hint_flat_output", id="flat_output"),
    pytest.param({"x_scaling": "none", "x": 10 * UNSCALED_RANGE * X}, "_hint_unscaled_x", id="unscaled_x"),
    pytest.param({"y_scaling": "none", "y": 10 * UNSCALED_RANGE * X}, "_hint_unscaled_y", id="unscaled_y"),
    pytest.param({"activation": "relu", "metrics": {"kinks_in_range": 0.0}}, "_hint_no_kinks", id="no_kinks"),
    pytest.param({"bias": False}, "_hint_no_bias", id="no_bias"),
    pytest.param({"metrics": {"saturated_fraction": 0.6}}, "_hint_saturated", id="saturated"),
    pytest.param({"metrics": {"dead_fraction": 0.6}}, "_hint_dead", id="dead"),
    pytest.param({"metrics": {"loss_drop": STALLED_DROP / 10}}, "_hint_stalled", id="stalled"),
    pytest.param({"metrics": {"tail_drop": 5 * STILL_FALLING}}, "_hint_still_falling", id="still_falling"),
    pytest.param({"metrics": {"loss_drop": SLOW_DROP / 4, "tail_drop": 5 * STILL_FALLING}}, "_hint_lr_too_small",
                 id="lr_too_small"),
    pytest.param({"hidden": (2,)}, "_hint_narrow", id="narrow"),
    pytest.param({"mode": "fit", "metrics": {"captured": 0.95}}, "_hint_fit", id="fit"),
]


def test_a_healthy_context_fires_no_rule():
    assert fired(context()) == []


@pytest.mark.parametrize("case, rule", CASES)
def test_each_rule_fires_alone_on_its_own_case(case, rule):
    assert fired(context(**case)) == [rule]


def test_every_rule_has_a_case():
    assert {p.values[1] for p in CASES} == {rule.__name__ for rule in HINTS}


def test_the_rules_that_name_a_threshold_stay_quiet_just_inside_it():
    assert fired(context(metrics={"saturated_fraction": 0.49})) == []
    assert fired(context(metrics={"loss_drop": STALLED_DROP})) == []
    assert fired(context(metrics={"tail_drop": STILL_FALLING / 2})) == []
    assert fired(context(x_scaling="none", x=UNSCALED_RANGE * X)) == []  # |x| up to the bound is not "unscaled"


def test_lr_too_small_names_the_factor():
    c = context(metrics={"loss_drop": 0.05, "tail_drop": 5 * STILL_FALLING, "steps_done": 2000.0}, lr=1e-6)
    hint = next(h for rule in HINTS if (h := rule(c)) is not None)
    assert "lr is too small for these data" in hint and "about 20x" in hint and "1e-06 -> 2e-05" in hint
    assert fired(context(metrics={"loss_drop": SLOW_DROP, "tail_drop": 5 * STILL_FALLING})) == ["_hint_still_falling"]
