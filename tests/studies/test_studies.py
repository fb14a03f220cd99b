import numpy as np
import pytest

import studies
from mlpcore import MLPConfig, fit
from studies import DEFAULT_SPACE, Study

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


def test_unknown_search_parameter():
    with pytest.raises(ValueError, match=r"unknown search parameter\(s\) \['dropout'\]"):
        Study(name="x", title="", question="", target=np.sin, sample=None, baseline=MLPConfig(),
              space={"dropout": DEFAULT_SPACE["lr"]})
