"""The compiled kernel against the NumPy reference: same curve, same theta, same stops.

Every test here calls the kernel with one set of argument types, so a process compiles it
once (or loads it from numba's cache) whatever the number of tests.

The parity configs keep training smooth (no loss spikes): where Adam oscillates, a run is
chaotic, and NumPy itself, started one ulp away, ends up 1e-4 away after 1000 steps. Parity
is then a property of the two implementations only where rounding does not grow. The data
have no symmetry either: a gradient that is zero by symmetry is rounding noise, and Adam's
normalisation turns noise into a full step of a sign that depends on the order of a sum.

The piecewise-linear path (full-batch 1 -> h -> 1 networks with identity, relu or leaky_relu
hidden units) has its own parity grid below, run both on that path and with it switched off,
so that the elementwise path those networks otherwise take stays tested too.
"""

import json
import os
import subprocess
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest
from numba import njit

from mlpcore import MLPConfig, fit, train
from mlpcore.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, LEAKY_SLOPE, OUTPUT_ACTIVATIONS
from mlpcore.network import Network, init_params, layout_for
from mlpcore.optim import ADAM_BETA1, ADAM_BETA2, ADAM_EPS, OPTIMIZERS
from mlpcore.scaling import Scaler
from mlpcore.train import NumpyBackend

from mlpcore import kernels  # numba is a required dependency: a missing or broken one fails here, loudly

RTOL = 1e-9
_rng = np.random.default_rng(7)
X = np.sort(_rng.uniform(-1.0, 2.0, 48))
Y = np.sin(2.0 * X) + 0.3 * X  # no symmetry: no gradient is exactly zero by cancellation
LR = {"sgd": 0.05, "momentum": 0.02, "adam": 0.002}

# (hidden activation, output activation, widths, bias, optimizer, batch size, weight decay):
# every entry of each table at least once, and every depth, batch kind and switch.
GRID = [
    ("identity", "sigmoid", (6,), True, "sgd", None, 0.0),
    ("relu", "identity", (6, 5), True, "momentum", 8, 1e-3),
    ("leaky_relu", "leaky_relu", (6, 5, 4), False, "adam", 1, 0.0),
    ("elu", "relu", (6,), True, "adam", None, 1e-3),
    ("tanh", "tanh", (6, 5), True, "sgd", 1, 0.0),
    ("sigmoid", "softplus", (6, 5, 4), True, "momentum", None, 0.0),
    ("softplus", "identity", (6, 5), False, "adam", 16, 1e-2),
    ("tanh", "identity", (8, 8, 8), True, "adam", None, 0.0),
    ("relu", "softplus", (5,), False, "sgd", 16, 1e-3),
    ("elu", "tanh", (4, 4, 4), True, "momentum", None, 0.0),
    ("leaky_relu", "identity", (7,), True, "momentum", None, 1e-3),
]


def _config(act, out, hidden, bias, opt, batch, decay, **kw):
    return MLPConfig(hidden=hidden, activation=act, output_activation=out, bias=bias, optimizer=opt, lr=LR[opt],
                     batch_size=batch, weight_decay=decay, steps=1000, **kw)


def _id(case):
    act, out, hidden, bias, opt, batch, decay = case
    return (f"{act}-{out}-d{len(hidden)}-{'bias' if bias else 'nobias'}-{opt}-"
            f"{'full' if batch is None else f'b{batch}'}{'-decay' if decay else ''}")


def test_grid_covers_every_table_entry():
    assert {c[0] for c in GRID} == set(HIDDEN_ACTIVATIONS)
    assert {c[1] for c in GRID} == set(OUTPUT_ACTIVATIONS)
    assert {c[4] for c in GRID} == set(OPTIMIZERS)
    assert {len(c[2]) for c in GRID} == {1, 2, 3}
    assert {c[3] for c in GRID} == {True, False}
    assert {c[5] for c in GRID} == {None, 1, 8, 16}  # full batch and passes; one sample at a time (<= SMALL_BATCH)
    assert 8 <= kernels.SMALL_BATCH < 16


@pytest.mark.parametrize("case", [pytest.param(c, id=_id(c)) for c in GRID])
def test_same_curve_and_theta_as_numpy(case):
    cfg = _config(*case)
    ref, got = fit(cfg.replace(backend="numpy"), X, Y), fit(cfg.replace(backend="numba"), X, Y)
    assert (ref.backend, got.backend) == ("numpy", "numba")
    assert got.steps_done == ref.steps_done == 1000 and got.stopped == ref.stopped == "steps"
    np.testing.assert_array_equal(got.curve.steps, ref.curve.steps)
    np.testing.assert_allclose(got.curve.train_loss, ref.curve.train_loss, rtol=RTOL)
    np.testing.assert_allclose(got.curve.val_loss, ref.curve.val_loss, rtol=RTOL)
    scale = np.max(np.abs(ref.model.theta))
    np.testing.assert_allclose(got.model.theta, ref.model.theta, rtol=RTOL, atol=RTOL * 1e-3 * scale)
    assert got.diagnosis.mode == ref.diagnosis.mode


@pytest.mark.parametrize("scaling", ["none", "standard"])
@pytest.mark.parametrize("case", [pytest.param(c, id=_id(c)) for c in GRID])
def test_checkpoint_losses_are_numpys(case, scaling):
    # fit()'s learning curve: every activation, depth and bias, two outputs, targets scaled or
    # not, more samples than a chunk (two full chunks and a partial one)
    cfg = _config(*case, y_scaling=scaling)
    x = np.random.default_rng(3).uniform(-1.0, 2.0, (2 * kernels.CHUNK + 76, 1))
    y = np.column_stack([np.sin(2 * x[:, 0]), x[:, 0] ** 2 + 3.0])
    layout = layout_for(cfg, 1, 2)
    net = Network(cfg, layout, init_params(cfg, layout, np.random.default_rng(5)))
    y_scaler = Scaler.fit(scaling, y)
    for blow_up in (1.0, 1e200):  # 1e200: the pre-activations overflow (bounded outputs saturate instead)
        net.theta *= blow_up
        ref = NumpyBackend(cfg, net).mse(x, y, y_scaler)
        got = kernels.KernelBackend(cfg, net).mse(x, y, y_scaler)
        if np.isfinite(ref):
            assert got == pytest.approx(ref, rel=1e-12)
        else:  # fit() calls the run diverged either way
            assert not np.isfinite(got)
    assert not np.isfinite(ref) or case[1] != "identity"  # an identity output overflows with its inputs


@pytest.mark.parametrize("hidden, blas", [((128,), False), ((6, 20, 4), False), ((4, 32), False), ((6, 32, 16), True),
                                          ((24, 24, 3), True)])
def test_checkpoint_losses_of_wide_layers_are_numpys_own(hidden, blas):
    # a hidden-to-hidden layer of MATMUL_FORWARD weights or more: NumPy's forward pass, to the last bit
    cfg = MLPConfig(hidden=hidden, activation="tanh")
    x = np.random.default_rng(3).uniform(-1.0, 2.0, (300, 1))
    y = np.sin(2 * x)
    layout = layout_for(cfg, 1, 1)
    net = Network(cfg, layout, init_params(cfg, layout, np.random.default_rng(5)))
    y_scaler = Scaler.fit("standard", y)
    backend = kernels.KernelBackend(cfg, net)
    assert backend._blas_forward == blas
    got, ref = backend.mse(x, y, y_scaler), NumpyBackend(cfg, net).mse(x, y, y_scaler)
    assert got == ref if blas else got == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("activation, batch", [pytest.param("tanh", None, id="passes"),
                                               pytest.param("relu", 1050, id="recomputed"),
                                               pytest.param("relu", None, id="piecewise")])
def test_batches_larger_than_a_chunk(activation, batch):
    # 1100 samples (or batches of 1050): two full chunks of kernels.CHUNK and a partial one, gradients
    # summed across them; the piecewise path takes the batch whole
    assert 2 * kernels.CHUNK < 1050 < 1100 < 3 * kernels.CHUNK
    x = np.sort(np.random.default_rng(11).uniform(-1.0, 2.0, 1100))  # not evenly spaced: see Y
    cfg = MLPConfig(hidden=(6,), activation=activation, optimizer="adam", lr=0.002, steps=200, batch_size=batch)
    ref, got = fit(cfg.replace(backend="numpy"), x, np.sin(2 * x)), fit(cfg.replace(backend="numba"), x, np.sin(2 * x))
    np.testing.assert_allclose(got.curve.train_loss, ref.curve.train_loss, rtol=RTOL)
    np.testing.assert_allclose(got.model.theta, ref.model.theta, rtol=RTOL)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_one_sample_at_a_time_with_every_hidden_activation(activation):
    # the grid reaches the per-sample path with only some activations; each has its own vectorized loop there
    cfg = MLPConfig(hidden=(5,), activation=activation, output_activation="tanh", optimizer="sgd", lr=0.05,
                    batch_size=1, steps=300)
    ref, got = fit(cfg.replace(backend="numpy"), X, Y), fit(cfg.replace(backend="numba"), X, Y)
    np.testing.assert_allclose(got.curve.train_loss, ref.curve.train_loss, rtol=RTOL)
    np.testing.assert_allclose(got.model.theta, ref.model.theta, rtol=RTOL)


def test_auto_uses_the_kernel():
    assert fit(MLPConfig(hidden=(4,), steps=10), X, Y).backend == "numba"


def _backends(cfg, x, y):
    out = []
    for backend in (NumpyBackend, kernels.KernelBackend):
        layout = layout_for(cfg, x.shape[1], y.shape[1])
        net = Network(cfg, layout, init_params(cfg, layout, np.random.default_rng(cfg.seed)))
        out.append((net, backend(cfg, net)))
    return out


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_run_updates_theta_in_place_and_keeps_optimizer_state(activation):
    cfg = MLPConfig(hidden=(5,), activation=activation, optimizer="adam", lr=0.01)
    x, y = X[:, None], Y[:, None]
    (ref_net, ref), (net, kern) = _backends(cfg, x, y)
    theta = net.theta
    for k in (1, 7, 30):  # Adam's step count and moments carry over from call to call
        assert kern.run(x, y, None, k, np.inf) == ref.run(x, y, None, k, np.inf) == k
        assert kern.theta is theta
        np.testing.assert_allclose(theta, ref_net.theta, rtol=RTOL)
    assert kern.t == 38


def test_divergence_stops_at_the_same_step_without_warnings():
    cfg = MLPConfig(hidden=(8,), optimizer="sgd", lr=1e3, steps=100_000, x_scaling="none", y_scaling="none")
    x, y = X * 100, Y * 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref, got = fit(cfg.replace(backend="numpy"), x, y), fit(cfg.replace(backend="numba"), x, y)
    assert got.stopped == ref.stopped == "diverged" and got.diagnosis.mode == "diverged"
    assert got.steps_done == ref.steps_done < 100
    np.testing.assert_array_equal(got.curve.steps, ref.curve.steps)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_run_stops_before_the_update_of_the_step_that_broke_the_limit(activation):
    cfg = MLPConfig(hidden=(4,), activation=activation, optimizer="momentum", lr=0.05)
    x, y = X[:, None], Y[:, None]
    (ref_net, ref), (net, kern) = _backends(cfg, x, y)
    limit = 0.9 * ref_net.loss_and_grad(x, y)  # a limit the initial loss already breaks ...
    assert kern.run(x, y, None, 50, limit) == ref.run(x, y, None, 50, limit) == 0
    np.testing.assert_array_equal(net.theta, ref_net.theta)  # ... so nothing moved
    assert kern.run(x, y, None, 50, np.nan) == 0  # a NaN limit is never met


def test_seed_000_same_diagnosis_as_numpy():
    def sqrt_data(seed):
        rng = np.random.default_rng(seed)
        x = np.abs(rng.standard_normal(500) * 1000)
        return x, np.sqrt(x) + rng.standard_normal(500) * 0.5

    (x, y), (xv, yv) = sqrt_data(0), sqrt_data(1)
    seed = MLPConfig(hidden=(10,), activation="relu", init="normal", init_scale=0.01, x_scaling="none",
                     y_scaling="none", optimizer="sgd", lr=1e-6, steps=3000)
    ref = fit(seed.replace(backend="numpy"), x, y, x_val=xv, y_val=yv)
    got = fit(seed.replace(backend="numba"), x, y, x_val=xv, y_val=yv)
    assert got.diagnosis.mode == ref.diagnosis.mode == "linear"
    assert got.diagnosis.hints == ref.diagnosis.hints
    np.testing.assert_allclose(got.model.theta, ref.model.theta, rtol=RTOL)


# --- the piecewise-linear path --------------------------------------------------------------------------

_data_rng = np.random.default_rng(3)
X_SHUFFLED = _data_rng.permutation(X)
X_DUPLICATES = _data_rng.permutation(np.repeat(X[::4], 4))  # 12 values, 4 samples each
X_OUTSIDE = _data_rng.uniform(3.0, 6.0, 48)  # unscaled: the units' kinks start at -b/w = 0, left of the data


def _targets(x):
    return np.sin(2.0 * x) + 0.3 * x + 0.1 * np.cos(7.0 * np.arange(len(x)))  # duplicates differ in y


PIECEWISE_DATA = {"shuffled": X_SHUFFLED, "duplicates": X_DUPLICATES, "outside": X_OUTSIDE}

# (hidden activation, output activation, width, bias, optimizer, weight decay, data): each hidden
# activation with each optimizer, every output activation, bias on and off, decay, and data whose
# kinks sit among the samples, between duplicates, or (at first) left of them all.
PIECEWISE_GRID = [
    ("relu", "identity", 6, True, "sgd", 0.0, "shuffled"),
    ("relu", "sigmoid", 6, False, "momentum", 1e-3, "duplicates"),
    ("relu", "softplus", 16, True, "adam", 0.0, "outside"),
    ("leaky_relu", "identity", 16, False, "adam", 1e-3, "duplicates"),
    ("leaky_relu", "tanh", 6, True, "sgd", 0.0, "outside"),
    ("leaky_relu", "relu", 6, True, "momentum", 0.0, "shuffled"),
    ("identity", "identity", 6, True, "momentum", 1e-2, "shuffled"),
    ("identity", "leaky_relu", 6, False, "sgd", 0.0, "duplicates"),
    ("identity", "sigmoid", 6, True, "adam", 0.0, "outside"),
]


def _piecewise_id(case):
    act, out, width, bias, opt, decay, data = case
    return f"{act}-{out}-h{width}-{'bias' if bias else 'nobias'}-{opt}{'-decay' if decay else ''}-{data}"


@pytest.fixture
def backends_made(monkeypatch):
    """Every backend fit() makes, in order; ``backends_made.piecewise = False`` (``.matmul = False``) switches the
    piecewise-linear (matrix-product) path off in kernels."""

    class Made(list):
        piecewise = matmul = True

    made, make = Made(), train.make_backend

    def spy(config, net):
        backend = make(config, net)
        if backend.name == "numba":
            backend.piecewise = backend.piecewise and made.piecewise
            backend.matmul = backend.matmul and made.matmul
        made.append(backend)
        return backend

    monkeypatch.setattr(train, "make_backend", spy)
    return made


def test_piecewise_grid_covers_every_table_entry():
    assert {c[0] for c in PIECEWISE_GRID} == {"identity", "relu", "leaky_relu"}
    assert {c[1] for c in PIECEWISE_GRID} == set(OUTPUT_ACTIVATIONS)
    assert {(c[0], c[4]) for c in PIECEWISE_GRID} == {(a, o) for a in ("identity", "relu", "leaky_relu")
                                                      for o in OPTIMIZERS}
    assert {c[3] for c in PIECEWISE_GRID} == {True, False} and any(c[5] for c in PIECEWISE_GRID)


@pytest.mark.parametrize("piecewise", [pytest.param(True, id="piecewise"), pytest.param(False, id="elementwise")])
@pytest.mark.parametrize("case", [pytest.param(c, id=_piecewise_id(c)) for c in PIECEWISE_GRID])
def test_piecewise_path_same_curve_and_theta_as_numpy(case, piecewise, backends_made):
    act, out, width, bias, opt, decay, data = case
    cfg = MLPConfig(hidden=(width,), activation=act, output_activation=out, bias=bias, optimizer=opt, lr=LR[opt],
                    weight_decay=decay, steps=1000, x_scaling="none" if data == "outside" else "standard")
    x = PIECEWISE_DATA[data]
    x_given = x.copy()
    backends_made.piecewise = piecewise
    ref, got = fit(cfg.replace(backend="numpy"), x, _targets(x)), fit(cfg.replace(backend="numba"), x, _targets(x))
    assert backends_made[1].piecewise_steps == (1000 if piecewise else 0)
    np.testing.assert_array_equal(x, x_given)  # the kernel sorts a copy
    assert got.steps_done == ref.steps_done == 1000
    np.testing.assert_allclose(got.curve.train_loss, ref.curve.train_loss, rtol=RTOL)
    np.testing.assert_allclose(got.curve.val_loss, ref.curve.val_loss, rtol=RTOL)
    scale = np.max(np.abs(ref.model.theta))
    np.testing.assert_allclose(got.model.theta, ref.model.theta, rtol=RTOL, atol=RTOL * 1e-3 * scale)


@pytest.mark.parametrize("changes, n_in, n_out, expected", [
    pytest.param({}, 1, 1, True, id="relu"),
    pytest.param({"activation": "leaky_relu", "bias": False}, 1, 1, True, id="leaky_relu"),
    pytest.param({"activation": "identity", "output_activation": "tanh"}, 1, 1, True, id="identity"),
    pytest.param({"activation": "elu"}, 1, 1, False, id="elu"),
    pytest.param({"activation": "tanh"}, 1, 1, False, id="tanh"),
    pytest.param({"hidden": (4, 4)}, 1, 1, False, id="two-layers"),
    pytest.param({}, 2, 1, False, id="two-inputs"),
    pytest.param({}, 1, 2, False, id="two-outputs"),
])
def test_which_networks_take_the_piecewise_path(changes, n_in, n_out, expected):
    cfg = MLPConfig(hidden=(4,), activation="relu", optimizer="adam", lr=0.01).replace(**changes)
    assert kernels.uses_piecewise_path(cfg, n_in, n_out) is expected
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-1, 1, (32, n_in)), rng.uniform(-1, 1, (32, n_out))
    (_, _), (_, kern) = _backends(cfg, x, y)
    assert kern.run(x, y, None, 5, np.inf) == 5
    assert kern.piecewise_steps == (5 if expected else 0)
    assert kern.run(x, y, rng.integers(0, 32, (5, 16)), 5, np.inf) == 5  # mini-batches never do
    assert kern.piecewise_steps == (5 if expected else 0)


def _product_rounded_down(w):
    """An x in (0.1, 1) whose x * w NumPy rounds down: fl(fl(x * w) - fl(x * w)) is 0, the exact x w - fl(x w) > 0."""
    for x in np.linspace(0.1, 1.0, 1001)[1:]:
        if Fraction(float(x)) * Fraction(w) > Fraction(float(x) * w):
            return float(x)
    raise AssertionError("no such x")


def _kinks_on_samples(activation, lr):
    """A 1 -> 7 -> 1 network and data with z == 0 exactly on samples, where relu' = 0 and leaky_relu' = its leak
    (NumPy's z > 0): x = 1 for w = 2, b = -2 (rising), x = 0.5 for w = -1.5, b = 0.75 (falling), x = -1 for
    w = -2, b = -2; w = 0 with b > 0 (active everywhere), b = 0 and b < 0 (nowhere). And a z that is 0 only
    after NumPy's two roundings (x * 3 rounded down, b = -fl(x * 3)): a fused multiply-add finds it active."""
    xk = _product_rounded_down(3.0)
    assert Fraction(xk) * 3 + Fraction(-(xk * 3.0)) > 0 and xk * 3.0 + -(xk * 3.0) == 0.0
    x = np.array([2.0, 1.0, -1.0, xk, 0.5, 1.0, -0.3, xk, 3.0, 0.5, 1.0, -1.5])[:, None]  # unsorted, repeated
    y = np.cos(3.0 * x)
    w = [2.0, 3.0, -1.5, 0.0, 0.0, 0.0, -2.0]
    b = [-2.0, -(xk * 3.0), 0.75, 0.3, 0.0, -0.2, -2.0]
    v = [0.5, -0.7, 0.9, 0.3, -0.4, 0.2, 0.6]
    cfg = MLPConfig(hidden=(7,), activation=activation, optimizer="sgd", lr=lr, x_scaling="none", y_scaling="none")
    (ref_net, ref), (net, kern) = _backends(cfg, x, y)
    for theta in (ref_net.theta, net.theta):
        theta[:] = [*w, *b, *v, 0.1]
    return x, y, (ref_net, ref), (net, kern)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_samples_on_a_kink_have_numpys_slope(activation):
    x, y, (ref_net, ref), (net, kern) = _kinks_on_samples(activation, lr=1.0)
    assert kern.run(x, y, None, 1, np.inf) == ref.run(x, y, None, 1, np.inf) == 1  # theta -= 1.0 * gradient
    assert kern.piecewise_steps == 1
    np.testing.assert_allclose(net.theta, ref_net.theta, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_piecewise_path_from_kinks_on_samples_and_zero_weights(activation):
    x, y, (ref_net, ref), (net, kern) = _kinks_on_samples(activation, lr=0.02)
    for _ in range(10):  # ten segments of 100 steps, as fit's checkpoints
        assert kern.run(x, y, None, 100, np.inf) == ref.run(x, y, None, 100, np.inf) == 100
        np.testing.assert_allclose(net.theta, ref_net.theta, rtol=RTOL, atol=1e-15)
    assert kern.piecewise_steps == 1000


def test_divergence_on_the_piecewise_path_stops_at_the_same_step(backends_made):
    cfg = MLPConfig(hidden=(8,), activation="relu", optimizer="sgd", lr=1e3, steps=100_000, x_scaling="none",
                    y_scaling="none")
    x, y = X * 100, Y * 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref, got = fit(cfg.replace(backend="numpy"), x, y), fit(cfg.replace(backend="numba"), x, y)
    assert got.stopped == ref.stopped == "diverged"
    assert got.steps_done == ref.steps_done < 100
    assert backends_made[1].piecewise_steps == got.steps_done
    np.testing.assert_array_equal(got.curve.steps, ref.curve.steps)


@pytest.mark.parametrize("case", ["huge parameter", "overflowing residuals", "NaN parameter"])
def test_steps_the_piecewise_path_cannot_take_exactly_run_elementwise(case):
    # beyond PIECEWISE_RANGE, or with an infinite loss, an inf could appear in one order of evaluation and
    # not the other: such steps run elementwise, with NumPy's result
    cfg = MLPConfig(hidden=(5,), activation="relu", optimizer="sgd", lr=1e-3)
    x, y = X[:, None], Y[:, None] * (1e200 if case == "overflowing residuals" else 1.0)
    (ref_net, ref), (net, kern) = _backends(cfg, x, y)
    for theta in (ref_net.theta, net.theta):
        theta[-1] = {"huge parameter": 1e70, "NaN parameter": np.nan}.get(case, theta[-1])
    with np.errstate(all="ignore"):
        steps = ref.run(x, y, None, 1, np.inf)
    assert kern.run(x, y, None, 1, np.inf) == steps == (0 if case == "NaN parameter" else 1)
    assert kern.piecewise_steps == 0
    np.testing.assert_allclose(net.theta, ref_net.theta, rtol=RTOL)


def test_new_inputs_between_runs_are_sorted_again():
    cfg = MLPConfig(hidden=(5,), activation="leaky_relu", optimizer="adam", lr=0.01)
    (ref_net, ref), (net, kern) = _backends(cfg, X[:, None], Y[:, None])
    for x in (X_SHUFFLED, X_SHUFFLED[::-1].copy(), X_DUPLICATES):  # same length, new order, new values
        x2, y2 = x[:, None], _targets(x)[:, None]
        assert kern.run(x2, y2, None, 20, np.inf) == ref.run(x2, y2, None, 20, np.inf) == 20
        np.testing.assert_allclose(net.theta, ref_net.theta, rtol=RTOL)
    assert kern.piecewise_steps == 60


def test_every_table_entry_has_a_kernel_code():
    assert set(kernels.ACTIVATION_CODES) == set(ACTIVATIONS)
    assert set(kernels.OPTIMIZER_CODES) == set(OPTIMIZERS)
    assert len(set(kernels.ACTIVATION_CODES.values())) == len(ACTIVATIONS)


def test_a_name_without_kernel_code_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"^activation 'swish' has no compiled kernel; .*'relu'.*backend='numpy'$"):
        kernels.kernel_code("activation", "swish", kernels.ACTIVATION_CODES)


def _fit_in_worker(cfg, x, y):
    """Runs in a loky worker: the fit's backend, and whether the kernel came from numba's cache."""
    result = fit(cfg, x, y)
    stats = [trainer.stats for trainer in kernels.TRAIN_STEPS.values()]
    return (result.backend, result.steps_done, sum(sum(s.cache_hits.values()) for s in stats),
            sum(sum(s.cache_misses.values()) for s in stats))


def test_kernel_runs_from_the_cache_in_loky_workers():
    import joblib

    cfg = MLPConfig(hidden=(4,), steps=50, backend="numba")
    fit(cfg, X, Y)  # compiled (or loaded) here first, so the cache on disk is complete
    runs = joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(_fit_in_worker)(cfg.replace(seed=s), X, Y)
                                                    for s in range(2))
    for backend, steps, hits, misses in runs:
        assert (backend, steps) == ("numba", 50)
        assert hits >= 1 and misses == 0


# Two processes that each compile one copy of a pass first thing number it alike (numba's symbol for
# a compiled function: its qualified name and a per-process counter); a third process loads both from
# the cache and links them into one function, where LLVM keeps one body per symbol.
_COMPILE_ONE_COPY = """
import sys
import numpy as np
from numba import njit
from mlpcore import kernels
copy = kernels._units_pass.copies[int(sys.argv[1])]

@njit
def call(a, da, l, n, leaky_slope):  # (a copy has no entry from Python: kernels.NO_WRAPPERS)
    copy(a, da, l, n, leaky_slope)

call(np.zeros((2, 3)), np.zeros((1, 3)), 0, 3, 0.01)
"""
_LINK_TWO_COPIES = """
import json, sys
import numpy as np
from numba import njit
from mlpcore import kernels
first, second = (kernels._units_pass.copies[int(code)] for code in sys.argv[1:])

@njit
def both(a, da, l, n, leaky_slope):  # (l and n arguments, not literals: the signature the processes compiled)
    first(a, da, l, n, leaky_slope)
    second(a, da, l + 1, n, leaky_slope)

a, da = np.array([json.loads(sys.stdin.read())] * 3), np.zeros((2, 4))
both(a, da, 0, 4, 0.01)
print(json.dumps([a[1].tolist(), a[2].tolist(), [sum(f.stats.cache_hits.values()) for f in (first, second)]]))
"""


def test_copies_of_a_pass_compiled_by_two_processes_keep_their_own_activations(tmp_path):
    # (a sweep's workers, or pytest's, filling one numba cache at once: numba issue #10486)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    codes = [kernels.ACTIVATION_CODES[name] for name in ("identity", "softplus")]
    for code in codes:
        subprocess.run([sys.executable, "-c", _COMPILE_ONE_COPY, str(code)], env=env, check=True)
    z = [-1.5, -0.25, 0.3, 2.0]
    out = subprocess.run([sys.executable, "-c", _LINK_TWO_COPIES, *map(str, codes)], env=env, input=json.dumps(z),
                         capture_output=True, text=True, check=True).stdout
    identity, softplus, hits = json.loads(out)
    assert hits == [1, 1]  # both loaded from the cache the two processes filled, not compiled again
    np.testing.assert_array_equal(identity, z)
    np.testing.assert_allclose(softplus, ACTIVATIONS["softplus"].f(np.array(z)), rtol=1e-14)


def test_every_copy_of_a_pass_has_a_name_of_its_own():
    passes = [f for f in vars(kernels).values() if hasattr(f, "copies")]
    assert len(passes) >= 4  # _activate, _segments, _push, _pull, _units_pass
    for f in passes:
        names = {copy.py_func.__qualname__ for copy in f.copies.values()}
        assert len(names) == len(f.copies)


def _ulps(got, want):
    """|got - want| in units of the last place of want; 0 where both are the same NaN, inf or zero."""
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    with np.errstate(invalid="ignore"):
        err = np.abs(got - want) / np.spacing(np.maximum(np.abs(want), np.finfo(float).tiny))
    return np.where(same, 0.0, err)


SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300, 709.7, -708.3, 20.0, -20.0])


@pytest.mark.parametrize("name, reference, args", [
    pytest.param("exp", np.exp,
                 np.concatenate([_rng.uniform(-700, 700, 20_000), _rng.uniform(-1, 1, 20_000), SPECIALS]), id="exp"),
    pytest.param("expm1", np.expm1, np.concatenate([_rng.uniform(-50, 50, 20_000),
                                                    np.geomspace(1e-300, 1, 20_000) * _rng.choice([-1, 1], 20_000),
                                                    SPECIALS]), id="expm1"),
    pytest.param("tanh", np.tanh, np.concatenate([_rng.uniform(-25, 25, 20_000),
                                                  np.geomspace(1e-300, 1, 20_000) * _rng.choice([-1, 1], 20_000),
                                                  SPECIALS]), id="tanh"),
    pytest.param("log1p_unit", np.log1p, np.concatenate([_rng.uniform(0, 1, 20_000), np.geomspace(1e-300, 1, 20_000),
                                                         [0.0, 1.0, np.nan]]), id="log1p_unit"),
])
def test_elementary_functions_agree_with_numpy_to_3_ulp(name, reference, args):
    got = np.array([getattr(kernels, name)(v) for v in args.tolist()])
    with np.errstate(all="ignore"):
        want = reference(args)
    normal = ~(np.abs(want) < np.finfo(float).tiny) | (want == 0)  # subnormal results round differently
    assert _ulps(got, want)[normal].max() <= 3
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0]))


def test_tanh_is_the_expm1_formula_bit_for_bit():
    """tanh's own expm1 (of -2|z| in [-40, 0], faster) is kernels.expm1 there bit for bit: no result moved."""
    args = np.concatenate([_rng.uniform(-25, 25, 20_000), _rng.standard_normal(20_000) * 1e-8,
                           np.geomspace(1e-300, 30, 20_000) * _rng.choice([-1, 1], 20_000), SPECIALS,
                           [19.0, 20.0, 21.0, 40.0, -1e300, 5e-324]])
    got = np.array([kernels.tanh(v) for v in args.tolist()])
    t = np.array([kernels.expm1(-2.0 * abs(v)) for v in args.tolist()])
    want = np.where(np.isnan(args), args, np.copysign(-t / (2.0 + t), args))
    assert (got.view(np.int64) == want.view(np.int64)).all()  # the same bits, signed zeros and NaN included


@pytest.mark.parametrize("fast, general", [("expm1_nonpositive", "expm1"), ("exp_nonpositive", "exp")])
def test_the_nonpositive_forms_are_the_general_ones_bit_for_bit(fast, general):
    """elu's expm1 and softplus's exp take only y <= 0, in a form that vectorizes: no result moved."""
    args = -np.abs(np.concatenate([_rng.uniform(-50, 50, 20_000), _rng.standard_normal(20_000) * 1e-8,
                                   np.geomspace(1e-300, 1000, 20_000), _rng.uniform(700, 760, 2_000), SPECIALS,
                                   [38.0, 40.0, 41.0, 1e300, 5e-324]]))
    args = np.concatenate([args, [np.nan, 0.0, -0.0]])
    got = np.array([getattr(kernels, fast)(v) for v in args.tolist()])
    want = np.array([getattr(kernels, general)(v) for v in args.tolist()])
    assert (got.view(np.int64) == want.view(np.int64)).all()  # the same bits, signed zeros and NaN included


@pytest.mark.parametrize("case", [pytest.param(GRID[i], id=_id(GRID[i])) for i in (1, 7)])
def test_the_checkpoint_callback_stops_both_backends_at_the_same_point(case):
    cfg = _config(*case)
    calls = {}

    def stop_at_30(backend):
        def stop(step, train_loss, val_loss):
            calls.setdefault(backend, []).append(step)
            return "pruned" if len(train_loss) == 30 else None
        return stop

    ref, got = (fit(cfg.replace(backend=b), X, Y, on_checkpoint=stop_at_30(b)) for b in ("numpy", "numba"))
    assert got.stopped == ref.stopped == "pruned"
    assert got.steps_done == ref.steps_done == train.checkpoint_steps(1000)[29]
    assert calls["numba"] == calls["numpy"] == list(ref.curve.steps)
    np.testing.assert_allclose(got.curve.train_loss, ref.curve.train_loss, rtol=RTOL)
    np.testing.assert_allclose(got.curve.val_loss, ref.curve.val_loss, rtol=RTOL)
    scale = np.max(np.abs(ref.model.theta))
    np.testing.assert_allclose(got.model.theta, ref.model.theta, rtol=RTOL, atol=RTOL * 1e-3 * scale)


# --- formulas written twice, NumPy's and the kernel's, compared entry by entry --------------------------

Z = np.concatenate([_rng.uniform(-30.0, 30.0, 2000), _rng.uniform(-1e-3, 1e-3, 200), SPECIALS, -SPECIALS])


@njit
def _act_and_slope(code, z, leaky_slope):  # the kernel's function has no entry from Python (kernels.NO_WRAPPERS)
    return kernels._act_and_slope(code, z, leaky_slope)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_the_kernels_activation_and_slope_are_activations_py_entry_by_entry(name):
    code = kernels.ACTIVATION_CODES[name]
    got = np.array([_act_and_slope(code, z, LEAKY_SLOPE) for z in Z.tolist()])
    act = ACTIVATIONS[name]
    with np.errstate(all="ignore"):
        a = act.f(Z)
        da = act.df(Z, a)
    for kernel, numpy in ((got[:, 0], a), (got[:, 1], da)):  # the kernel's exp and tanh are within 3 ulp
        np.testing.assert_allclose(kernel, numpy, rtol=1e-14, atol=1e-15)
        np.testing.assert_array_equal(np.signbit(kernel[numpy == 0]), np.signbit(numpy[numpy == 0]))


@njit
def _update(code, theta, grad, state, t, hp):  # kernels._update has no entry from Python (kernels.NO_WRAPPERS)
    kernels._update(code, theta, grad, state, t, hp)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_kernels_optimizer_step_is_optim_pys_bit_for_bit(name):
    rng = np.random.default_rng(11)
    theta = rng.standard_normal(37)
    mine = theta.copy()
    opt = OPTIMIZERS[name]([theta], lr=0.01, momentum=0.8)
    state = np.zeros((2, len(theta)))
    hp = kernels.Hyper(0.01, 0.8, 0.0, LEAKY_SLOPE, ADAM_BETA1, ADAM_BETA2, ADAM_EPS)
    for t in range(1, 6):
        grad = rng.standard_normal(len(theta)) * 10.0 ** rng.integers(-6, 3)
        opt.step([theta], [grad])
        _update(kernels.OPTIMIZER_CODES[name], mine, grad, state, t, hp)
        np.testing.assert_array_equal(mine, theta)


# --- wide networks: the matrix-product path ----------------------------------------------------------------
# Networks with a hidden-to-hidden layer of kernels.WIDE_LAYER weights or more train on np.dot (BLAS).
# (hidden activation, output activation, widths, bias, optimizer, batch size, weight decay): every
# activation, at the threshold and just above it, depth 2 and 3, the wide layer first or second,
# bias on and off, full batch and passes over mini-batches.
MATMUL_GRID = [
    ("tanh", "identity", (64, 64), True, "adam", None, 0.0),
    ("relu", "softplus", (64, 65), False, "sgd", None, 0.0),
    ("leaky_relu", "identity", (65, 64), True, "momentum", 16, 1e-3),
    ("elu", "tanh", (64, 64, 3), True, "adam", None, 1e-3),
    ("sigmoid", "sigmoid", (3, 64, 64), False, "adam", None, 0.0),
    ("softplus", "relu", (2, 65, 64), True, "momentum", None, 0.0),
    ("identity", "leaky_relu", (64, 64), False, "sgd", 16, 0.0),
]


def test_which_networks_take_the_matmul_path():
    side = int(np.sqrt(kernels.WIDE_LAYER))
    assert side * side == kernels.WIDE_LAYER == 64 * 64  # MATMUL_GRID sits at and just above the threshold
    assert kernels.uses_matmul_path((1, 64, 64, 1)) and kernels.uses_matmul_path((1, 3, 64, 64, 1))
    assert kernels.uses_matmul_path((1, 2, 2048, 1))  # the weights count, not the widths
    assert not kernels.uses_matmul_path((1, 64, 63, 1))  # just below
    assert not kernels.uses_matmul_path((1, 63, 64, 3, 1))
    assert not kernels.uses_matmul_path((4096, 1, 4096))  # input and output layers are not hidden-to-hidden
    assert not kernels.uses_matmul_path((1, 64, 1))
    assert {c[0] for c in MATMUL_GRID} == set(HIDDEN_ACTIVATIONS) and {c[3] for c in MATMUL_GRID} == {True, False}
    assert all(kernels.uses_matmul_path((1, *c[2], 1)) for c in MATMUL_GRID)


@pytest.mark.parametrize("case", [pytest.param(c, id=_id(c)) for c in MATMUL_GRID])
def test_matmul_path_same_curve_and_theta_as_numpy(case, backends_made):
    cfg = _config(*case).replace(steps=400)
    ref, got = fit(cfg.replace(backend="numpy"), X, Y), fit(cfg.replace(backend="numba"), X, Y)
    assert backends_made[1].matmul
    assert got.steps_done == ref.steps_done == 400
    np.testing.assert_allclose(got.curve.train_loss, ref.curve.train_loss, rtol=RTOL)
    np.testing.assert_allclose(got.curve.val_loss, ref.curve.val_loss, rtol=RTOL)
    scale = np.max(np.abs(ref.model.theta))
    np.testing.assert_allclose(got.model.theta, ref.model.theta, rtol=RTOL, atol=RTOL * 1e-3 * scale)
    backends_made.matmul = False  # the passes: the same to rounding, but not bit for bit, so the path above was taken
    passes = fit(cfg.replace(backend="numba"), X, Y)
    assert not backends_made[2].matmul
    np.testing.assert_allclose(passes.model.theta, got.model.theta, rtol=RTOL, atol=RTOL * 1e-3 * scale)
    assert not np.array_equal(passes.model.theta, got.model.theta)


@pytest.mark.parametrize("hidden, activation, bias", [((64, 64), "tanh", True), ((3, 128, 128), "elu", False),
                                                     ((128, 65), "softplus", True)])
@pytest.mark.parametrize("scaling", ["none", "standard"])
def test_checkpoint_losses_of_the_matmul_path_are_numpys(hidden, activation, bias, scaling):
    # networks that train on matrix products take their checkpoint losses from the same path's forward pass
    # (mse_of_blocks): NumPy's to rounding, over several chunks, two inputs and two outputs, targets scaled or not
    cfg = MLPConfig(hidden=hidden, activation=activation, output_activation="sigmoid", bias=bias, y_scaling=scaling)
    x = np.random.default_rng(3).uniform(-1.0, 2.0, (2 * kernels.CHUNK + 76, 2))
    y = np.column_stack([np.sin(2 * x[:, 0]), x[:, 0] * x[:, 1] + 3.0])
    layout = layout_for(cfg, 2, 2)
    net = Network(cfg, layout, init_params(cfg, layout, np.random.default_rng(5)))
    y_scaler = Scaler.fit(scaling, y)
    backend = kernels.KernelBackend(cfg, net)
    assert backend.matmul
    for blow_up in (1.0, 1e200):  # 1e200: pre-activations overflow; the bounded output saturates
        net.theta *= blow_up
        got, ref = backend.mse(x, y, y_scaler), NumpyBackend(cfg, net).mse(x, y, y_scaler)
        assert got == pytest.approx(ref, rel=1e-12) if np.isfinite(ref) else not np.isfinite(got)


@pytest.mark.parametrize("batch", [None, 1050])
def test_matmul_path_over_chunks_with_several_inputs_and_outputs(batch):
    # 1100 samples (or batches of 1050): two full chunks and a partial one, whose blocks are laid out
    # for its own length; two inputs and two outputs
    rng = np.random.default_rng(13)
    x = rng.uniform(-1.0, 2.0, (1100, 2))
    y = np.column_stack([np.sin(2 * x[:, 0]) + x[:, 1], x[:, 0] * x[:, 1]])
    cfg = MLPConfig(hidden=(64, 64), activation="tanh", optimizer="adam", lr=0.002)
    (ref_net, ref), (net, kern) = _backends(cfg, x, y)
    assert kern.matmul
    batches = None if batch is None else rng.integers(0, 1100, (20, batch))
    assert kern.run(x, y, batches, 20, np.inf) == ref.run(x, y, batches, 20, np.inf) == 20
    np.testing.assert_allclose(net.theta, ref_net.theta, rtol=RTOL, atol=RTOL * 1e-3 * np.max(np.abs(ref_net.theta)))


def test_matmul_path_is_the_same_bit_for_bit_whatever_blas_threads():
    # a sweep's workers run BLAS on one thread; a process that does not (the driver, a user's script)
    # must still get the same numbers
    from threadpoolctl import threadpool_limits

    cfg = MLPConfig(hidden=(64, 64), activation="tanh", optimizer="adam", lr=0.002)
    x = np.random.default_rng(17).uniform(-1.0, 2.0, (500, 1))
    thetas = []
    for threads in (1, 2, 1):
        with threadpool_limits(threads):
            (_, _), (net, kern) = _backends(cfg, x, np.sin(2 * x))
            kern.run(x, np.sin(2 * x), None, 30, np.inf)
            thetas.append(net.theta.copy())
    np.testing.assert_array_equal(thetas[0], thetas[1])
    np.testing.assert_array_equal(thetas[0], thetas[2])


def test_the_kernel_parts_are_compiled_for_the_argument_types_fit_uses():
    """warmup.py compiles the kernel in parts: each part must be what fits compile (or load), else a training loop
    would compile its own copy of a callee and the part would be wasted work."""
    from numba.core import event

    x = np.linspace(0.0, 1.0, 20)
    for hidden, n in [((2,), 8), ((3, 3), 20), ((64, 64), 20)]:  # the paths, the layers' passes, matrix products
        fit(MLPConfig(hidden=hidden, activation="tanh", steps=2, backend="numba"), x[:n], x[:n])
    with event.install_recorder("numba:compile") as compiles:
        for part in kernels.PARTS:
            kernels.compile_part(part)
    assert [e.data["dispatcher"].py_func.__name__ for _, e in compiles.buffer if e.is_start] == []
    for part, functions in kernels.part_signatures().items():  # one overload each: the fits' is the part's
        assert [(f.__name__, len(f.signatures)) for f, _ in functions] == [(f.__name__, 1) for f, _ in functions]
