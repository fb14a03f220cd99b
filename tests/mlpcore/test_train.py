import numpy as np
import pytest

from mlpcore import MLPConfig, Model, fit
from mlpcore.train import CHECKPOINTS, BatchSampler, checkpoint_steps

rng = np.random.default_rng(0)
X = np.linspace(-2, 2, 64)
Y = np.sin(2 * X)
SMALL = MLPConfig(hidden=(8,), steps=300, backend="numpy")


def test_fit_learns_and_curve_has_checkpoints():
    r = fit(SMALL, X, Y)
    assert r.steps_done == 300 and r.stopped == "steps"
    assert r.curve.steps[0] == 0 and r.curve.steps[-1] == 300
    assert len(r.curve.steps) == CHECKPOINTS + 1 and np.all(np.diff(r.curve.steps) > 0)
    assert r.curve.train_loss[-1] < 0.2 * r.curve.train_loss[0]
    np.testing.assert_allclose(r.curve.train_loss[-1], np.mean((r.model.predict(X) - Y) ** 2))
    assert r.model.predict(X).shape == (64,)


def test_same_seed_same_result_other_seed_differs():
    a, b = fit(SMALL, X, Y), fit(SMALL, X, Y)
    np.testing.assert_array_equal(a.model.theta, b.model.theta)
    c = fit(SMALL.replace(seed=1), X, Y)
    assert not np.array_equal(a.model.theta, c.model.theta)


def test_checkpoints_for_short_runs():
    assert list(checkpoint_steps(3)) == [0, 1, 2, 3]
    assert len(checkpoint_steps(10**6)) == CHECKPOINTS + 1


def test_batch_sampler_covers_each_epoch_once():
    s = BatchSampler(10, 3, np.random.default_rng(0))
    idx = s.take(7)  # 3 batches per epoch (one sample dropped each epoch)
    assert idx.shape == (7, 3)
    for epoch in (idx[0:3], idx[3:6]):
        assert len(set(epoch.ravel())) == 9
    rest = s.take(2)
    assert len(set(np.concatenate([idx[6], *rest]).ravel())) == 9


def test_minibatch_and_single_sample_training_run():
    for b in (1, 16):
        r = fit(SMALL.replace(batch_size=b, optimizer="sgd", lr=0.05), X, Y)
        assert r.stopped == "steps" and r.curve.train_loss[-1] < r.curve.train_loss[0]


def test_divergence_stops_at_once_without_warnings():
    cfg = SMALL.replace(optimizer="sgd", lr=1e3, steps=100_000, x_scaling="none", y_scaling="none")
    with _no_warnings():
        r = fit(cfg, X * 100, Y * 1000)
    assert r.stopped == "diverged" and r.diagnosis.mode == "diverged"
    assert r.steps_done < 100 and np.all(np.diff(r.curve.steps) > 0)
    assert any("lower the learning rate" in h for h in r.diagnosis.hints)


def test_a_nan_loss_diverges_at_its_own_step():
    # lr 1e300 sends the relu net's weights to +-inf in one update: the next loss is inf - inf, NaN,
    # which is never above the limit. NaN must stop the training there, not at the next checkpoint.
    r = fit(SMALL.replace(optimizer="sgd", lr=1e300, activation="relu"), X, Y)
    assert r.stopped == "diverged" and r.steps_done == 1 and r.curve.steps.tolist() == [0, 1]
    assert np.isnan(r.curve.train_loss[-1])


class _no_warnings:
    def __enter__(self):
        import warnings

        self.cm = warnings.catch_warnings()
        self.cm.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self.cm.__exit__(*exc)


def test_plateau_stop():
    # A purely linear net reaches its best (the least-squares line) quickly, then stalls.
    r = fit(SMALL.replace(activation="identity", steps=20_000, patience=5, lr=0.05), X, Y)
    assert r.stopped == "plateau" and r.steps_done < 20_000
    assert fit(SMALL.replace(steps=2000), X, Y).stopped == "steps"


@pytest.mark.parametrize("patience", [1, 3])
def test_plateau_stop_comes_after_exactly_patience_checkpoints_without_progress(patience):
    # lr 1e-12: the loss falls, but by far less than PLATEAU_TOL: no checkpoint after step 0 is progress.
    r = fit(SMALL.replace(optimizer="sgd", lr=1e-12, steps=1000, patience=patience), X, Y)
    assert r.stopped == "plateau" and r.steps_done == checkpoint_steps(1000)[patience]
    assert len(r.curve.steps) == patience + 1 and r.curve.train_loss[-1] < r.curve.train_loss[0]


def test_validation_curve_uses_validation_data():
    xv = np.linspace(-2, 2, 17)
    r = fit(SMALL, X, Y, x_val=xv, y_val=np.sin(2 * xv) + 1.0)
    assert r.curve.val_loss[-1] > r.curve.train_loss[-1] + 0.5


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("scaling", ["none", "standard", "minmax"])
def test_the_curve_ends_at_the_mse_of_what_the_model_predicts(backend, scaling):
    """The curve is the losses of the model's own predictions, in the target's units."""
    xv = np.linspace(-2, 2, 17)
    yv = np.sin(2 * xv) + 0.1
    cfg = MLPConfig(hidden=(8, 8), steps=200, backend=backend, x_scaling=scaling, y_scaling=scaling, batch_size=16)
    r = fit(cfg, X, Y, x_val=xv, y_val=yv)
    train, val = np.mean((r.model.predict(X) - Y) ** 2), np.mean((r.model.predict(xv) - yv) ** 2)
    if backend == "numpy":  # the same operations: to the last bit
        assert (r.curve.train_loss[-1], r.curve.val_loss[-1]) == (train, val)
    else:  # the kernel's own forward pass (see test_kernels.py): to rounding
        assert r.curve.train_loss[-1] == pytest.approx(train, rel=1e-12)
        assert r.curve.val_loss[-1] == pytest.approx(val, rel=1e-12)


def test_multi_column_data():
    x = rng.uniform(-1, 1, (50, 2))
    y = np.column_stack([x[:, 0] * x[:, 1], x[:, 0] ** 2])
    r = fit(SMALL, x, y)
    assert r.model.predict(x).shape == (50, 2)


def test_save_load_predicts_identically(tmp_path):
    r = fit(SMALL, X, Y)
    path = tmp_path / "m.json"
    r.model.save(path)
    m = Model.load(path)
    np.testing.assert_array_equal(m.predict(X), r.model.predict(X))
    assert m.config == SMALL


@pytest.mark.parametrize(
    "x, y, kw, message",
    [
        ([], [], {}, "x is empty"),
        ([1.0, np.nan, 2.0], [1, 2, 3], {}, "x must be finite, got [nan] at row 1"),
        ([1.0, 2.0, 3.0], [1, np.inf, 3], {}, "y must be finite"),
        ([1.0, 2.0, 3.0], [1.0, 2.0], {}, "x and y must have the same length, got 3 and 2"),
        (np.ones((2, 2, 2)), np.ones(2), {}, "x must have shape (n,) or (n, d), got shape (2, 2, 2)"),
        ("abc", [1.0], {}, "x must be an array of numbers"),
        ([1.0, 2.0], [1.0, 2.0], {"x_val": [1.0]}, "x_val and y_val must be given together"),
        ([1.0, 2.0], [1.0, 2.0], {"x_val": np.ones((2, 3)), "y_val": [1.0, 2.0]}, "x_val must have 1 column(s)"),
    ],
)
def test_bad_data_is_a_clear_error(x, y, kw, message):
    with pytest.raises(ValueError) as err:
        fit(SMALL, x, y, **kw)
    assert message in str(err.value)


def test_config_must_be_a_config():
    with pytest.raises(ValueError, match="config must be an MLPConfig, got dict"):
        fit({"lr": 0.1}, X, Y)


def test_predict_rejects_wrong_width():
    r = fit(SMALL, X, Y)
    with pytest.raises(ValueError, match=r"x must have shape \(n,\) or \(n, 1\)"):
        r.model.predict(np.ones((3, 2)))


class _StopAt:
    """A checkpoint callback that records its calls and stops at the n-th, answering ``answer``."""

    def __init__(self, n, answer):
        self.n, self.answer, self.calls = n, answer, []

    def __call__(self, step, train_loss, val_loss):
        self.calls.append((step, train_loss.copy(), val_loss.copy()))
        return self.answer if len(self.calls) == self.n else None


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("answer, stopped", [("pruned", "pruned"), (True, "callback"), (1, "callback")])
def test_the_checkpoint_callback_stops_training_where_it_says(backend, answer, stopped):
    cfg = SMALL.replace(backend=backend)
    stop = _StopAt(5, answer)
    r = fit(cfg, X, Y, x_val=X[::2], y_val=Y[::2], on_checkpoint=stop)
    full = checkpoint_steps(cfg.steps)
    assert r.stopped == stopped and r.steps_done == full[4]
    assert [c[0] for c in stop.calls] == list(full[:5])  # step 0 included, one call a checkpoint
    np.testing.assert_array_equal(r.curve.steps, full[:5])
    for step, (k, tr, va) in enumerate(stop.calls):  # the curve so far, its last point at the step given
        np.testing.assert_array_equal(tr, r.curve.train_loss[: step + 1])
        np.testing.assert_array_equal(va, r.curve.val_loss[: step + 1])
    np.testing.assert_allclose(r.curve.train_loss[-1], np.mean((r.model.predict(X) - Y) ** 2))
    assert r.diagnosis.mode != "diverged"


def test_a_callback_that_never_stops_changes_nothing():
    stop = _StopAt(0, "pruned")
    a, b = fit(SMALL, X, Y), fit(SMALL, X, Y, on_checkpoint=stop)
    assert b.stopped == "steps" and len(stop.calls) == len(a.curve.steps)
    np.testing.assert_array_equal(a.model.theta, b.model.theta)


def test_the_callback_can_stop_at_step_0_and_sees_read_only_losses():
    def stop(step, train_loss, val_loss):
        with pytest.raises(ValueError, match="read-only"):
            train_loss[0] = 0.0
        return "pruned"

    r = fit(SMALL, X, Y, on_checkpoint=stop)
    assert r.stopped == "pruned" and r.steps_done == 0 and list(r.curve.steps) == [0]


def test_the_callback_is_not_called_after_divergence():
    steps = []
    cfg = SMALL.replace(optimizer="sgd", lr=1e3, steps=100_000, x_scaling="none", y_scaling="none")
    r = fit(cfg, X * 100, Y * 1000, on_checkpoint=lambda step, tr, va: steps.append(step))
    assert r.stopped == "diverged" and steps and steps[-1] < r.steps_done
    assert steps == list(r.curve.steps[: len(steps)])


@pytest.mark.parametrize("reason", ["steps", "diverged", "plateau"])
def test_a_callback_reason_that_is_one_of_fits_own_is_an_error(reason):
    with pytest.raises(ValueError, match=f"stop reason '{reason}' is one of fit's own"):
        fit(SMALL, X, Y, on_checkpoint=lambda step, tr, va: reason)


def test_auto_says_so_when_it_falls_back_to_numpy_and_numba_fails_loudly(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mlpcore.kernels", None)  # as if numba (and so the kernel) did not import
    with pytest.warns(RuntimeWarning, match="backend 'auto' runs on NumPy"):
        assert fit(SMALL.replace(backend="auto", steps=3), X, Y).backend == "numpy"
    with pytest.raises(ValueError, match="backend 'numba' needs a working numba"):
        fit(SMALL.replace(backend="numba", steps=3), X, Y)
