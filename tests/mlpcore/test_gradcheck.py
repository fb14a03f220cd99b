import itertools

import numpy as np
import pytest

from mlpcore import MLPConfig, gradcheck
from mlpcore.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, Activation

rng = np.random.default_rng(1)
X = rng.uniform(-2, 2, (12, 1))
Y = np.sin(3 * X)

GRID = [
    pytest.param(a, o, b, d, id=f"{a}-{o}-{'bias' if b else 'nobias'}-depth{d}")
    for a, o, b, d in itertools.product(HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, [True, False], [1, 2, 3])
]


@pytest.mark.parametrize("activation, output_activation, bias, depth", GRID)
def test_backprop_matches_finite_differences(activation, output_activation, bias, depth):
    cfg = MLPConfig(hidden=(4, 3, 5)[:depth], activation=activation, output_activation=output_activation,
                    bias=bias, bias_init=0.1, weight_decay=0.01, backend="numpy")
    assert gradcheck(cfg, X, Y) < 1e-6


def test_multi_output_and_unscaled_data():
    x = rng.uniform(0, 5, (10, 2))
    y = np.column_stack([x[:, 0] ** 2, np.sin(x[:, 1])])
    cfg = MLPConfig(hidden=(5, 4), activation="softplus", x_scaling="none", y_scaling="minmax", backend="numpy")
    assert gradcheck(cfg, x, y) < 1e-6


def test_catches_a_wrong_derivative(monkeypatch):
    tanh = ACTIVATIONS["tanh"]
    # The classic slip: 1 - a instead of 1 - a**2.
    monkeypatch.setitem(ACTIVATIONS, "tanh", Activation(tanh.f, lambda z, a: 1.0 - a, 1.0, (-1.0, 1.0)))
    assert gradcheck(MLPConfig(hidden=(4,), activation="tanh", backend="numpy"), X, Y) > 1e-2


def test_catches_a_weight_decay_gradient_that_forgot_the_factor(monkeypatch):
    from mlpcore import network

    monkeypatch.setattr(network.Network, "penalty", lambda self: self.decay * float(np.sum(self.theta**2 * self.weights_mask)))
    assert gradcheck(MLPConfig(hidden=(4,), weight_decay=0.5, backend="numpy"), X, Y) > 1e-2
