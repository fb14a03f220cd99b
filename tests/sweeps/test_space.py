"""The search vocabulary: plain-data declarations, point -> config, config -> point, titles, storage form."""

import json

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution, distribution_to_json

from mlpcore import MLPConfig
from mlpcore.config import FIELDS
from sweeps import space
from sweeps.space import DEFAULT_SPACE, PARAMS, Space


def test_the_default_space_holds_the_textbook_settings_and_the_added_ones():
    assert list(DEFAULT_SPACE)[:12] == ["lr", "width", "depth", "init", "init_scale", "activation", "output_activation",
                                        "x_scaling", "y_scaling", "optimizer", "batch_size", "bias"]
    assert {"weight_decay", "momentum"} <= set(DEFAULT_SPACE)
    s = Space()
    assert s.distributions["weight_decay"] == FloatDistribution(1e-7, 1e-2, log=True)
    assert s.distributions["momentum"] == FloatDistribution(0.5, 0.99)


def test_every_row_of_params_is_a_config_field_or_builds_hidden():
    assert set(PARAMS) <= FIELDS | set(space.LAYER_PARAMS)
    for name, p in PARAMS.items():
        assert space.title(name) == p.title and p.title.startswith(name)
    assert space.title("loss") == "loss"  # a field without a row is titled by its name


@pytest.mark.parametrize("spec, dist", [
    pytest.param(True, FloatDistribution(-1.0, 1.0), id="default"),
    pytest.param((0.0, 0.5), FloatDistribution(0.0, 0.5), id="range"),
    pytest.param({"low": 0.0, "high": 1.0, "step": 0.25}, FloatDistribution(0.0, 1.0, step=0.25), id="dict"),
    pytest.param([0.0, 1.0], CategoricalDistribution([0.0, 1.0]), id="choices"),
])
def test_plain_declarations(spec, dist):
    assert space.distribution("bias_init", spec) == dist


def test_a_range_keeps_the_parameters_scale_and_kind():
    assert space.distribution("lr", (1e-4, 1e-1)) == FloatDistribution(1e-4, 1e-1, log=True)
    assert space.distribution("steps", (200, 800)) == IntDistribution(200, 800, log=True)
    assert space.distribution("width_2", {"low": 4, "high": 16, "log": False}) == IntDistribution(4, 16)
    # A field with no row of its own: integers give an integer range.
    assert space.distribution("patience", (5, 9)) == IntDistribution(5, 9, log=True)


@pytest.mark.parametrize("name, spec, message", [
    ("dropout", True, "unknown search parameter 'dropout'; allowed: ["),
    ("seed", (0, 9), "unknown search parameter 'seed'"),
    ("hidden", [(4,), (8,)], "unknown search parameter 'hidden'"),
    ("loss", True, "has no default range"),
    ("lr", "fast", "must be True (its default range), (low, high)"),
    ("lr", [], "the list of choices is empty"),
    ("lr", (1.0, 0.1), "bad range"),
])
def test_bad_declarations_are_one_clear_error(name, spec, message):
    with pytest.raises(ValueError) as err:
        Space({name: spec})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_point_becomes_the_baseline_with_the_overrides_then_the_params():
    base = MLPConfig(hidden=(10,), lr=1e-6, momentum=0.5, patience=None, steps=1000, weight_decay=0.0)
    s = Space({"lr": True, "weight_decay": True, "steps": True}, overrides={"steps": 500, "patience": 20})
    cfg = s.to_config(base, {"lr": 0.01, "weight_decay": 1e-4, "steps": 300}, seed=7)
    assert (cfg.lr, cfg.weight_decay, cfg.steps, cfg.patience, cfg.seed) == (0.01, 1e-4, 300, 20, 7)
    assert cfg.momentum == 0.5 and cfg.hidden == (10,)  # not searched: the baseline's
    assert s.overrides == {"patience": 20}  # a searched setting is not overridden


@pytest.mark.parametrize("params, hidden", [
    ({}, (10, 6)),
    ({"width": 4}, (4, 4)),
    ({"depth": 3}, (10, 6, 6)),
    ({"width": 4, "width_2": 9, "depth": 3}, (4, 9, 4)),
    ({"width_1": 2, "depth": 1}, (2,)),
])
def test_per_layer_widths(params, hidden):
    assert space.hidden_of((10, 6), params) == hidden


def test_params_of_inverts_to_config():
    s = Space({"width_1": True, "width_2": True, "depth": True, "momentum": True, "activation": True})
    base = MLPConfig(optimizer="momentum")
    point = {"width_1": 5, "width_2": 7, "depth": 2, "momentum": 0.7, "activation": "relu"}
    assert s.params_of(s.to_config(base, point, seed=0)) == point
    adam = {k: v for k, v in point.items() if k != "momentum"}  # a setting the config does not read is no point
    assert s.params_of(s.to_config(base.replace(optimizer="adam"), point, seed=0)) == adam


@pytest.mark.parametrize("optimizer, baseline, drawn", [
    ("momentum", "adam", True), ("adam", "momentum", False), ("sgd", "momentum", False), (None, "momentum", True),
    (None, "adam", False)])
def test_a_setting_is_drawn_only_where_the_config_reads_it(optimizer, baseline, drawn):
    declared = {"lr": True, "momentum": True} | ({"optimizer": [optimizer]} if optimizer else {})
    s = Space(declared, baseline=MLPConfig(optimizer=baseline))
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    params = s.suggest(trial)
    assert ("momentum" in params) is drawn and ("momentum" in trial.params) is drawn
    assert s.conditional == ("momentum",)


def test_starts_are_moved_into_the_range_but_need_their_choices():
    s = Space({"weight_decay": True, "lr": (1e-3, 1e-1)})
    assert s.start_params([MLPConfig(weight_decay=0.0, lr=0.5)]) == [{"weight_decay": 1e-7, "lr": 0.1}]
    assert Space({"activation": ["relu"]}).start_params([MLPConfig(activation="tanh")]) == []


def test_inert_settings():
    assert space.inert({"optimizer": "adam", "bias": True}) == {"momentum"}
    assert space.inert({"optimizer": "momentum", "bias": False}) == {"bias_init"}


def test_the_stored_space_is_plain_json_and_reads_back_old_strings():
    s = Space()
    stored = s.to_json()
    assert stored["lr"] == {"name": "FloatDistribution", "attributes": {"step": None, "low": 1e-6, "high": 1.0, "log": True}}
    assert json.loads(json.dumps(stored)) == stored
    assert space.space_from_json(stored) == s.distributions
    old = {k: distribution_to_json(d) for k, d in s.distributions.items()}  # what sweeps stored before
    assert space.space_from_json(old) == s.distributions
