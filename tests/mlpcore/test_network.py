import numpy as np
import pytest

from mlpcore import MLPConfig
from mlpcore.init import INITIALIZERS
from mlpcore.network import Layout, Network, init_params, layout_for


def test_layout_views_share_memory_and_cover_theta_once():
    lay = Layout((2, 3, 4, 1), bias=True)
    assert lay.size == 2 * 3 + 3 + 3 * 4 + 4 + 4 * 1 + 1
    theta = np.arange(lay.size, dtype=float)
    seen = np.concatenate([np.concatenate([W.ravel(), b]) for W, b in lay.views(theta)])
    np.testing.assert_array_equal(seen, theta)
    lay.views(theta)[1][0][0, 0] = -1.0
    assert theta[2 * 3 + 3] == -1.0
    mask = lay.weight_mask()
    assert mask.sum() == 2 * 3 + 3 * 4 + 4 and mask[6:9].sum() == 0


def test_layout_without_bias_has_no_bias_entries():
    lay = Layout((1, 5, 1), bias=False)
    assert lay.size == 10 and all(b is None for _, b in lay.views(np.zeros(10)))


@pytest.mark.parametrize("init", sorted(INITIALIZERS))
def test_init_scales_are_as_documented(init):
    cfg = MLPConfig(hidden=(400,), init=init, init_scale=2.0, bias_init=0.25)
    lay = layout_for(cfg, 300, 1)
    W, b = lay.views(init_params(cfg, lay, np.random.default_rng(0)))[0]
    expected_std = {"normal": 2.0, "uniform": 2.0 / np.sqrt(3), "he": 2.0 * np.sqrt(2 / 300),
                    "glorot": 2.0 * np.sqrt(6 / 700) / np.sqrt(3)}[init]
    assert W.std() == pytest.approx(expected_std, rel=0.02)
    assert np.all(b == 0.25)


def test_forward_matches_hand_computation():
    cfg = MLPConfig(hidden=(2,), activation="relu", output_activation="identity")
    lay = layout_for(cfg, 1, 1)
    theta = np.array([1.0, -1.0, 0.0, 0.5, 2.0, 3.0, 0.1])  # W0, b0, W1, b1
    net = Network(cfg, lay, theta)
    x = np.array([[-1.0], [2.0]])
    # x=-1: z=[-1, 1.5] -> [0, 1.5] -> 3*1.5+0.1 ; x=2: z=[2, -1.5] -> [2, 0] -> 2*2+0.1
    np.testing.assert_allclose(net.predict(x), [[4.6], [4.1]])
