import numpy as np
import pytest

from mlpcore import MLPConfig, fit
from mlpcore.diagnostics import (
    COLLAPSED_SPREAD,
    FIT_CAPTURED,
    LINEAR_DEVIATION,
    LINEAR_TARGET_SHARE,
    classify,
    kinks_in_range,
    line_fit,
    noise_floor,
)

rng = np.random.default_rng(3)


@pytest.mark.parametrize("sigma", [0.01, 0.5, 3.0])
@pytest.mark.parametrize("target", [np.sin, np.sqrt, np.square], ids=["sin", "sqrt", "square"])
def test_noise_floor_estimates_the_noise_variance(target, sigma):
    x = rng.uniform(0.0, 6.0, (4000, 1))
    y = target(x) + sigma * rng.standard_normal(x.shape)
    assert noise_floor(x, y) == pytest.approx(sigma**2, rel=0.1, abs=2e-4)


def surface(n, d, sigma, seed=0):
    """y = x1**2 + sin(3 x2) (+ sin of the other inputs) + noise of sd sigma, x uniform on [-1.5, 1.5]^d."""
    g = np.random.default_rng(seed)
    x = g.uniform(-1.5, 1.5, (n, d))
    f = x[:, 0] ** 2 + np.sin(3 * x[:, 1]) + np.sin(x[:, 2:]).sum(axis=1)
    return x, (f + sigma * g.standard_normal(n))[:, None]


@pytest.mark.parametrize("d, n, sigma, rel", [(2, 1500, 0.05, 0.25), (2, 1500, 0.3, 0.1), (2, 1500, 1.0, 0.1),
                                              (3, 2000, 0.5, 0.15)])
def test_noise_floor_in_several_features_estimates_the_noise_variance(d, n, sigma, rel):
    x, y = surface(n, d, sigma)
    assert noise_floor(x, y) == pytest.approx(sigma**2, rel=rel)


def test_noise_floor_in_several_features_is_exact_for_a_plane_and_blind_to_units():
    x, _ = surface(300, 2, 0.0)
    assert noise_floor(x, 3 * x[:, :1] - 2 * x[:, 1:] + 1) == pytest.approx(0.0, abs=1e-20)
    x, y = surface(600, 2, 0.3)
    # a feature in other units (mm, not m) has the same neighbours once standardized
    assert noise_floor(x * [1000.0, 1.0], y) == pytest.approx(noise_floor(x, y), rel=1e-9)


def test_a_fit_in_two_features_reports_the_noise_of_its_data():
    x, y = surface(500, 2, 0.3)
    cfg = MLPConfig(hidden=(8,), steps=20, backend="numpy")
    held_out = fit(cfg, x[:400], y[:400], x_val=x[400:], y_val=y[400:]).diagnosis.metrics
    # every row (training and validation) is used: the 100 validation rows alone are too sparse to be near
    assert held_out["noise_floor"] == pytest.approx(noise_floor(x, y), rel=1e-12)
    assert held_out["noise_floor"] == pytest.approx(0.09, rel=0.2)
    alone = fit(cfg, x, y).diagnosis.metrics  # no validation set: the training rows, once (not twice, at distance 0)
    assert alone["noise_floor"] == pytest.approx(noise_floor(x, y), rel=1e-12)


def test_noise_floor_of_a_smooth_curve_on_a_grid_is_tiny():
    x = np.arange(1.0, 101.0)[:, None]
    assert noise_floor(x, x**2) < 1.0  # the line through the neighbours is off by exactly 1
    assert noise_floor(x, 3 * x + 1) == pytest.approx(0.0, abs=1e-20)


def test_line_fit_is_least_squares():
    x = rng.uniform(-1, 1, (50, 1))
    y = 2 * x + 1 + 0.1 * rng.standard_normal((50, 1))
    fitted = line_fit(x, y)
    coef = np.polyfit(x[:, 0], y[:, 0], 1)
    np.testing.assert_allclose(fitted[:, 0], np.polyval(coef, x[:, 0]))


BASE = {"var_y": 1.0, "line_mse": 0.5, "noise_floor": 0.0, "nonlinear_share": 0.5}


@pytest.mark.parametrize(
    "metrics, diverged, mode",
    [
        ({"mse": 0.4}, True, "diverged"),
        ({"mse": None}, False, "diverged"),
        ({"mse": 1.0, "pred_spread": COLLAPSED_SPREAD / 2}, False, "collapsed"),
        ({"mse": 0.01, "pred_spread": 1.0, "captured": FIT_CAPTURED + 0.01, "pred_line_deviation": 1.0}, False, "fit"),
        ({"mse": 0.5, "pred_spread": 0.9, "captured": 0.0, "pred_line_deviation": LINEAR_DEVIATION / 2}, False, "linear"),
        ({"mse": 0.3, "pred_spread": 0.9, "captured": 0.4, "pred_line_deviation": 0.5}, False, "underfit"),
    ],
)
def test_classify_thresholds(metrics, diverged, mode):
    assert classify(BASE | metrics, diverged) == mode


def test_a_line_on_a_linear_target_is_a_fit():
    x = np.linspace(0, 1, 200)
    y = 3 * x + 0.01 * rng.standard_normal(200)
    r = fit(MLPConfig(hidden=(4,), activation="identity", steps=500, backend="numpy"), x, y)
    assert r.diagnosis.mode == "fit"
    assert any("straight line up to noise" in h for h in r.diagnosis.hints)


def test_kinks_in_range_counts_breakpoints_inside_the_data():
    cfg = MLPConfig(hidden=(3,), activation="relu", x_scaling="none", steps=1, backend="numpy")
    r = fit(cfg, np.linspace(0, 10, 20), np.linspace(0, 10, 20))
    W, b = r.model.layout.views(r.model.theta)[0]
    W[0] = [1.0, -2.0, 1.0]
    b[:] = [-5.0, 4.0, 20.0]  # breakpoints at x = 5, 2 and -20
    assert kinks_in_range(r.model, np.array([[0.0], [10.0]])) == 2
    assert kinks_in_range(r.model, np.array([[3.0], [10.0]])) == 1


def test_kinks_in_range_with_two_features_counts_units_whose_state_changes_inside_the_data():
    x = np.array([[u, v] for u in np.linspace(-1, 1, 11) for v in np.linspace(-1, 1, 11)])
    cfg = MLPConfig(hidden=(4,), activation="relu", x_scaling="none", steps=1, backend="numpy")
    r = fit(cfg, x, x[:, 0] ** 2)
    W, b = r.model.layout.views(r.model.theta)[0]
    W[:] = [[1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, -1.0]]
    b[:] = [0.0, -5.0, 1.0, 1.97]  # x1 = 0 cuts the data; x1 + x2 = 5 misses it; w = 0 never changes;
    # x1 - x2 = -1.97 cuts off only the corner (-1, 1): within KINK_MARGIN of the span [-2, 2] along (1, -1)
    assert kinks_in_range(r.model, x) == 1
    z = x @ W + b
    changes = (z > 0).any(axis=0) & (z < 0).any(axis=0)
    assert list(changes) == [True, False, False, True]  # the margin is what sets the corner's unit apart
    b[3] = 1.0
    assert kinks_in_range(r.model, x) == 2


def test_the_line_reference_in_two_features_is_the_least_squares_plane():
    x = rng.uniform(-1, 1, (50, 2))
    plane = 3 * x[:, 0] - 2 * x[:, 1] + 0.5
    np.testing.assert_allclose(line_fit(x, plane), plane, atol=1e-12)
    y = plane + x[:, 0] ** 2
    fitted = line_fit(x, y)
    design = np.column_stack([np.ones(50), x])
    np.testing.assert_allclose(design.T @ (y - fitted), 0.0, atol=1e-10)  # residuals orthogonal to the plane's basis


def test_metrics_are_plain_json_floats():
    import json

    r = fit(MLPConfig(hidden=(4,), steps=50, backend="numpy"), np.linspace(0, 1, 30), np.linspace(0, 1, 30) ** 2)
    d = r.diagnosis.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert {"mse", "line_mse", "gain", "pred_line_deviation", "dead_fraction", "saturated_fraction",
            "kinks_in_range"} <= set(d["metrics"])
    assert d["metrics"]["gain"] == pytest.approx(1 - d["metrics"]["mse"] / d["metrics"]["line_mse"])


def test_a_fit_below_the_noise_estimate_captures_all_not_over_100_percent():
    from mlpcore.diagnostics import Context, _hint_fit

    def hint(captured):
        return _hint_fit(Context("fit", {"nonlinear_share": 0.5, "captured": captured}, None, None, None, None))

    assert hint(0.93) == "captures 93% of the target's structure beyond a straight line"
    assert hint(1.12) == ("captures all of the target's structure beyond a straight line (its error is below the "
                          "noise floor estimated from the data)")


def test_a_line_fit_to_a_target_that_is_a_line_up_to_heavy_noise_is_a_fit():
    # Noise a third of the target's variance: the noise floor alone makes it a line (its structure
    # beyond the line is noise) and the line's error acceptable (the noise is not signal it missed).
    g = np.random.default_rng(0)
    x = g.uniform(0.0, 1.0, 600)
    y = 3 * x + 0.6 * g.standard_normal(600)
    cfg = MLPConfig(hidden=(2,), activation="identity", steps=300, lr=0.05, backend="numpy")
    r = fit(cfg, x, y)
    m = r.diagnosis.metrics
    assert m["noise_floor"] == pytest.approx(0.36, rel=0.15)
    assert m["nonlinear_share"] < LINEAR_TARGET_SHARE < m["line_mse"] / m["var_y"]
    assert (m["var_y"] - m["mse"]) / m["var_y"] < FIT_CAPTURED  # without the noise: far from a fit
    assert r.diagnosis.mode == "fit"
    assert any("straight line up to noise" in h for h in r.diagnosis.hints)


@pytest.mark.parametrize("mse, mode", [(0.525, "fit"), (0.575, "underfit")])
def test_a_target_that_is_a_line_is_judged_on_its_signal_above_the_noise(mse, mode):
    # var_y 1 of which 0.5 noise: an error of 0.525 explains 95% of the signal, one of 0.575 85%.
    line_target = {"var_y": 1.0, "line_mse": 0.5, "noise_floor": 0.5, "nonlinear_share": 0.0,
                   "pred_spread": 0.7, "captured": None, "pred_line_deviation": None}
    assert classify(line_target | {"mse": mse}, False) == mode


@pytest.mark.parametrize("metrics, mode", [
    ({"pred_spread": COLLAPSED_SPREAD}, "underfit"),  # "under 10%" of the target's spread collapses
    ({"captured": FIT_CAPTURED}, "fit"),  # "at least 90%" of the structure is a fit
    ({"pred_line_deviation": LINEAR_DEVIATION}, "underfit"),  # "less than" 5% is a line
])
def test_classify_at_each_threshold_itself(metrics, mode):
    between = {"mse": 0.3, "pred_spread": 0.9, "captured": 0.4, "pred_line_deviation": 0.5}
    assert classify(BASE | between | metrics, False) == mode
