import subprocess
import sys

import numpy as np
import pytest

import studies
from mlpcore import MLPConfig, fit
from studies import Answer, Study

SEED_MODES = {"sqrt": {"linear"}, "square": {"collapsed", "linear"}, "square_int": {"collapsed", "diverged"},
              "sine": {"underfit", "linear"}}


def test_the_seed_studies_are_discovered():
    assert set(SEED_MODES) <= set(studies.names())
    assert "base" not in studies.names()


@pytest.mark.parametrize("name", sorted(SEED_MODES))
def test_data_is_fixed_finite_and_gridded(name):
    s = studies.get(name)
    a, b = s.data(), s.data()
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert len(a.x_grid) == s.grid_points and a.x_grid[0] == a.x_train.min() and a.x_grid[-1] == a.x_train.max()
    np.testing.assert_allclose(a.y_grid, s.target(a.x_grid))
    for arr in (a.x_train, a.y_train, a.x_val, a.y_val):
        assert arr.ndim == 1 and np.all(np.isfinite(arr))


@pytest.mark.parametrize("name", sorted(SEED_MODES))
def test_baseline_fails_as_the_seed_did(name):
    s = studies.get(name)
    d = s.data()
    r = fit(s.baseline.replace(steps=s.steps, backend="numpy"), d.x_train, d.y_train, x_val=d.x_val, y_val=d.y_val)
    assert r.diagnosis.mode in SEED_MODES[name]


def test_a_study_from_a_file(tmp_path):
    path = tmp_path / "cube.py"
    path.write_text(
        "import numpy as np\nfrom mlpcore import MLPConfig\nfrom studies import Study\n"
        "STUDY = Study(name='cube', title='x^3', question='?', target=lambda x: x**3,\n"
        "              sample=lambda rng: (np.linspace(-1, 1, 50), np.linspace(-1, 1, 50) ** 3),\n"
        "              baseline=MLPConfig(), trials=4, steps=50)\n"
    )
    s = studies.get(str(path))
    assert s.name == "cube" and s.data().x_train.shape == (50,)


@pytest.mark.parametrize(
    "source, message",
    [
        ("x = 1\n", "must define STUDY = studies.Study(...), found NoneType"),
        ("import nonexistent_module_xyz\n", "failed to load: ModuleNotFoundError"),
        ("STUDY = (\n", "failed to load: SyntaxError"),
    ],
)
def test_a_broken_study_file_is_one_clear_error(tmp_path, source, message):
    path = tmp_path / "broken.py"
    path.write_text(source)
    with pytest.raises(ValueError) as err:
        studies.get(str(path))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unknown_study_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown study 'cubic'; choose from \['sine', 'sqrt'"):
        studies.get("cubic")
    with pytest.raises(ValueError, match="does not exist"):
        studies.get("missing/file.py")


def test_non_finite_data_in_a_user_study_is_named():
    s = Study(name="bad", title="", question="", target=np.log, baseline=MLPConfig(),
              sample=lambda rng: (np.linspace(-1, 1, 10), np.log(np.linspace(-1, 1, 10) + 0.5)))
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="study 'bad': sample gave non-finite values"):
        s.data()


def test_studies_import_no_optuna():
    # The search vocabulary (and Optuna) lives in sweeps; studies declare plain data.
    code = "import sys, studies; [studies.get(n) for n in studies.names()]; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def surface(n=200, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    return x, x[:, 0] ** 2 + np.sin(3 * x[:, 1])


def test_from_arrays_splits_once_and_the_split_is_seeded():
    x, y = surface()
    a = Study.from_arrays("mine", x, y)
    b = Study.from_arrays("mine", x, y)
    da, db = a.data(), b.data()
    np.testing.assert_array_equal(da.x_val, db.x_val)
    assert da.x_train.shape == (160, 2) and da.x_val.shape == (40, 2) and da.features == 2
    # Train and validation rows are disjoint and together are every row, each once.
    both = np.concatenate([da.x_train, da.x_val])
    assert len(np.unique(both, axis=0)) == 200 and np.array_equal(np.sort(both[:, 0]), np.sort(x[:, 0]))
    other = Study.from_arrays("mine", x, y, split_seed=1).data()
    assert not np.array_equal(other.x_val, da.x_val)
    assert a.target is None and da.y_grid is None and a.noise_sd is None
    assert a.baseline == MLPConfig() and "Which settings fit" in a.question


def test_from_arrays_grid_is_one_slice_per_feature_at_the_medians():
    x, y = surface()
    d = Study.from_arrays("mine", x, y, grid_points=5, target=lambda g: g[:, 0] ** 2 + np.sin(3 * g[:, 1])).data()
    assert d.x_grid.shape == (10, 2) and list(d.grid_feature) == [0] * 5 + [1] * 5
    med = np.median(d.x_train, axis=0)
    np.testing.assert_array_equal(d.x_grid[:5, 1], med[1])
    np.testing.assert_array_equal(d.x_grid[5:, 0], med[0])
    assert d.x_grid[0, 0] == d.x_train[:, 0].min() and d.x_grid[4, 0] == d.x_train[:, 0].max()
    np.testing.assert_allclose(d.y_grid, d.x_grid[:, 0] ** 2 + np.sin(3 * d.x_grid[:, 1]))


def test_one_column_is_one_feature():
    x = np.linspace(0, 1, 50)
    d = Study.from_arrays("one", x[:, None], x**2, baseline=MLPConfig(lr=0.1)).data()
    assert d.x_train.ndim == 1 and d.x_grid.shape == (100,) and d.grid_feature is None and d.features == 1


@pytest.mark.parametrize("x, y, kw, message", [
    (np.arange(5.0), np.arange(5.0), {}, "needs at least 10 rows, got 5"),
    (np.arange(20.0), np.arange(19.0), {}, "one length >= 2, got 20 and 19"),
    (np.r_[np.arange(19.0), np.nan], np.arange(20.0), {}, "non-finite values"),
    (np.array(["a"] * 20), np.arange(20.0), {}, "must be numbers"),
    (np.arange(20.0), np.arange(20.0), {"val_fraction": 1.5}, "val_fraction must be a number between 0 and 1, got 1.5"),
    (np.arange(20.0), np.arange(20.0), {"val_fraction": 0.01}, "leaves 0 of 20 rows for validation"),
    (np.zeros((20, 2, 2)), np.arange(20.0), {}, "shape (n,) or (n, d)"),
])
def test_from_arrays_bad_input_is_one_clear_error(x, y, kw, message):
    with pytest.raises(ValueError) as err:
        Study.from_arrays("bad", x, y, **kw)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_snapshot_loads_the_same_study(tmp_path):
    x, y = surface()
    s = Study.from_arrays("mine", x, y, baseline=MLPConfig(lr=0.5), space={"lr": (1e-3, 1.0), "bias_init": True,
                                                                          "activation": ["tanh", "relu"]}, trials=7)
    fp = s.save(tmp_path / "study.npz")
    back = studies.get(str(tmp_path / "study.npz"))
    assert back.fingerprint() == fp == s.fingerprint()
    assert back.baseline == s.baseline and back.trials == 7 and back.target is None
    assert back.space == {"lr": {"low": 1e-3, "high": 1.0}, "bias_init": True, "activation": ["tanh", "relu"]}
    for k in ("x_train", "y_train", "x_val", "y_val", "x_grid", "grid_feature"):
        np.testing.assert_array_equal(getattr(back.data(), k), getattr(s.data(), k))
    assert Study.from_arrays("mine", x, y * 2).fingerprint() != fp
    # the words label a sweep and do not change it: a rerun under a new title resumes
    assert s.replace(title="another title", question="why?").fingerprint() == fp
    assert s.replace(steps=s.steps + 1).fingerprint() != fp


def test_a_seed_study_snapshot_keeps_its_data_and_target_values(tmp_path):
    s = studies.get("square")
    s.save(tmp_path / "sq.npz")
    back = Study.load(tmp_path / "sq.npz")
    np.testing.assert_array_equal(back.data().y_grid, s.data().y_grid)
    np.testing.assert_array_equal(back.data().x_val, s.data().x_val)


def test_a_broken_snapshot_is_one_clear_error(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot be read"):
        studies.get(str(tmp_path / "junk.npz"))
    with pytest.raises(ValueError, match="does not exist"):
        studies.get(str(tmp_path / "none.npz"))


def test_a_study_needs_exactly_one_source_of_data():
    with pytest.raises(ValueError, match="exactly one of sample .* got neither"):
        Study(name="x", title="", question="", baseline=MLPConfig())


def test_an_answer_is_the_baseline_changed_and_a_snapshot_keeps_it_without_a_new_fingerprint(tmp_path):
    x, y = surface()
    s = Study.from_arrays("mine", x, y, baseline=MLPConfig(lr=0.5))
    answered = s.replace(answer=Answer("a smaller step", s.baseline.replace(lr=0.01), source="a colleague"))
    assert answered.fingerprint() == s.fingerprint()  # the answer to test labels a sweep, as the words do
    answered.save(tmp_path / "study.npz")
    back = studies.get(str(tmp_path / "study.npz"))
    assert back.answer == answered.answer
    for bad in (Answer("nothing", s.baseline), ("lr", 0.01), Answer("", s.baseline.replace(lr=0.01))):
        with pytest.raises(ValueError, match="answer must be an Answer") as err:
            s.replace(answer=bad)
        assert "\n" not in str(err.value)


def test_every_seed_study_but_sine_tests_its_threads_answer():
    # (the sine thread has no answer: the asker's derivatives were wrong)
    answered = {n: studies.get(n).answer for n in studies.names()}
    assert {n for n, a in answered.items() if a is not None} == {"sqrt", "square", "square_int"}
    for name, a in answered.items():
        if a is not None:
            assert a.config != studies.get(name).baseline and a.text and a.source
