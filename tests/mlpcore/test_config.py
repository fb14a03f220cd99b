import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlpcore import MLPConfig
from mlpcore.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from mlpcore.config import MAX_BATCH_SIZE, MAX_STEPS
from mlpcore.init import INITIALIZERS
from mlpcore.optim import OPTIMIZERS
from mlpcore.scaling import SCALERS

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
configs = st.builds(
    MLPConfig,
    hidden=st.lists(st.integers(1, 256), min_size=1, max_size=3).map(tuple),
    activation=st.sampled_from(HIDDEN_ACTIVATIONS),
    output_activation=st.sampled_from(OUTPUT_ACTIVATIONS),
    bias=st.booleans(),
    init=st.sampled_from(sorted(INITIALIZERS)),
    init_scale=st.floats(1e-6, 1e6),
    bias_init=finite,
    x_scaling=st.sampled_from(sorted(SCALERS)),
    y_scaling=st.sampled_from(sorted(SCALERS)),
    optimizer=st.sampled_from(sorted(OPTIMIZERS)),
    lr=st.floats(1e-12, 1e3),
    momentum=st.floats(0.0, 0.999),
    batch_size=st.none() | st.integers(1, 10_000),
    steps=st.integers(1, 10**7),
    weight_decay=st.floats(0.0, 10.0),
    patience=st.none() | st.integers(1, 100),
    seed=st.integers(0, 2**63),
    backend=st.sampled_from(["auto", "numpy", "numba"]),
)


@given(configs)
def test_json_round_trip_is_exact(cfg):
    back = MLPConfig.from_json(json.dumps(json.loads(cfg.to_json())))
    assert back == cfg
    assert back.to_dict() == cfg.to_dict()


def test_unknown_keys_are_rejected():
    d = MLPConfig().to_dict() | {"learning_rate": 0.1}
    with pytest.raises(ValueError, match=r"unknown config field\(s\) \['learning_rate'\]"):
        MLPConfig.from_dict(d)
    with pytest.raises(ValueError, match="unknown config field"):
        MLPConfig().replace(hiden=(3,))


@pytest.mark.parametrize(
    "field, value, allowed",
    [
        ("hidden", (), "1 to 3 layer widths"),
        ("hidden", (4, 4, 4, 4), "1 to 3 layer widths"),
        ("hidden", (0,), "each an integer >= 1"),
        ("hidden", (2.5,), "each an integer >= 1"),
        ("activation", "swish", "one of ['elu', 'identity'"),
        ("output_activation", "elu", "one of ['identity', 'leaky_relu'"),
        ("bias", 1, "true or false"),
        ("init", "xavier", "one of ['glorot', 'he', 'normal', 'uniform']"),
        ("init_scale", 0.0, "> 0.0"),
        ("init_scale", math.nan, "finite number"),
        ("bias_init", math.inf, "finite number"),
        ("x_scaling", "zscore", "one of ['minmax', 'none', 'standard']"),
        ("loss", "mae", "one of ['mse']"),
        ("optimizer", "rmsprop", "one of ['adam', 'momentum', 'sgd']"),
        ("lr", -1e-3, "> 0.0"),
        ("lr", "0.1", "finite number"),
        ("momentum", 1.0, "< 1.0"),
        ("batch_size", 0, "None or an integer >= 1"),
        ("steps", 10.5, "an integer >= 1"),
        ("weight_decay", -1.0, ">= 0.0"),
        ("patience", 0, "None or an integer >= 1"),
        ("seed", -1, "integer >= 0"),
        ("backend", "jax", "one of ['auto', 'numba', 'numpy']"),
    ],
)
def test_bad_values_name_field_value_and_choices(field, value, allowed):
    with pytest.raises(ValueError) as err:
        MLPConfig(**{field: value})
    msg = str(err.value)
    assert msg.startswith(field) and repr(value) in msg and allowed in msg
    assert "\n" not in msg


@pytest.mark.parametrize("field, most", [("steps", MAX_STEPS), ("batch_size", MAX_BATCH_SIZE)])
def test_an_integer_setting_may_reach_its_maximum_and_no_further(field, most):
    assert getattr(MLPConfig(**{field: most}), field) == most
    with pytest.raises(ValueError, match=f"{field} must be .*<= {most}, got {most + 1}"):
        MLPConfig(**{field: most + 1})


def test_hidden_from_json_list_becomes_tuple():
    cfg = MLPConfig.from_dict(MLPConfig(hidden=(3, 2)).to_dict())
    assert cfg.hidden == (3, 2) and isinstance(cfg.hidden, tuple)
    assert hash(cfg) == hash(MLPConfig(hidden=(3, 2)))
