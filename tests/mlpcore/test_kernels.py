"""The compiled kernel against the NumPy reference: same curve, same theta, same stops.

Every test here calls the kernel with one set of argument types, so a process compiles it
once (or loads it from numba's cache) whatever the number of tests.

The parity configs keep training smooth (no loss spikes): where Adam oscillates, a run is
chaotic, and NumPy itself, started one ulp away, ends up 1e-4 away after 1000 steps. Parity
is then a property of the two implementations only where rounding does not grow. The data
have no symmetry either: a gradient that is zero by symmetry is rounding noise, and Adam's
normalisation turns noise into a full step of a sign that depends on the order of a sum.
"""

import warnings

import numpy as np
import pytest

from mlpcore import MLPConfig, fit
from mlpcore.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from mlpcore.network import Network, init_params, layout_for
from mlpcore.optim import OPTIMIZERS
from mlpcore.train import NumpyBackend

kernels = pytest.importorskip("mlpcore.kernels", reason="numba is not installed")

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


@pytest.mark.parametrize("activation", [pytest.param("tanh", id="passes"), pytest.param("relu", id="recomputed")])
def test_batches_larger_than_a_chunk(activation):
    # 1100 samples: two full chunks of kernels.CHUNK and a partial one, gradients summed across them
    assert 2 * kernels.CHUNK < 1100 < 3 * kernels.CHUNK
    x = np.sort(np.random.default_rng(11).uniform(-1.0, 2.0, 1100))  # not evenly spaced: see Y
    cfg = MLPConfig(hidden=(6,), activation=activation, optimizer="adam", lr=0.002, steps=200)
    ref, got = fit(cfg.replace(backend="numpy"), x, np.sin(2 * x)), fit(cfg.replace(backend="numba"), x, np.sin(2 * x))
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


def test_run_updates_theta_in_place_and_keeps_optimizer_state():
    cfg = MLPConfig(hidden=(5,), optimizer="adam", lr=0.01)
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


def test_run_stops_before_the_update_of_the_step_that_broke_the_limit():
    cfg = MLPConfig(hidden=(4,), optimizer="momentum", lr=0.05)
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
    stats = kernels.train_steps.stats
    return result.backend, result.steps_done, sum(stats.cache_hits.values()), sum(stats.cache_misses.values())


def test_kernel_runs_from_the_cache_in_loky_workers():
    joblib = pytest.importorskip("joblib")
    cfg = MLPConfig(hidden=(4,), steps=50, backend="numba")
    fit(cfg, X, Y)  # compiled (or loaded) here first, so the cache on disk is complete
    runs = joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(_fit_in_worker)(cfg.replace(seed=s), X, Y)
                                                    for s in range(2))
    for backend, steps, hits, misses in runs:
        assert (backend, steps) == ("numba", 50)
        assert hits >= 1 and misses == 0


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
