import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mlpcore.scaling import SCALERS, Scaler

columns = arrays(
    np.float64,
    st.tuples(st.integers(1, 40), st.integers(1, 3)),
    elements=st.floats(-1e6, 1e6, allow_nan=False),
)


@pytest.mark.parametrize("kind", sorted(SCALERS))
@given(v=columns)
def test_inverse_undoes_transform(kind, v):
    s = Scaler.fit(kind, v)
    assert np.all(np.isfinite(s.transform(v)))
    np.testing.assert_allclose(s.inverse(s.transform(v)), v, rtol=1e-9, atol=1e-9 * (1 + np.abs(v).max()))


@given(v=columns)
def test_standard_and_minmax_land_where_promised(v):
    spread = v.std(axis=0) > 1e-6 * (1 + np.abs(v).max())
    u = Scaler.fit("standard", v).transform(v)
    np.testing.assert_allclose(u.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(u.std(axis=0)[spread], 1.0, rtol=1e-7)
    m = Scaler.fit("minmax", v).transform(v)
    np.testing.assert_allclose(m.min(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(m.max(axis=0)[spread], 1.0, rtol=1e-7)


@pytest.mark.parametrize("value", [7.0, 161319.88257881, -3.3e-7, 1e150])
@pytest.mark.parametrize("n", [1, 15, 1000])
def test_identical_values_are_a_constant_column(value, n):
    # The mean of identical values can be off by an ulp, so their std is not exactly 0.
    v = np.full((n, 1), value)
    for kind in ("standard", "minmax"):
        s = Scaler.fit(kind, v)
        assert s.scale[0] == 1.0 and np.all(np.abs(s.transform(v)) <= 1e-9 * max(1.0, abs(value)))


def test_constant_column_keeps_unit_scale_and_round_trips():
    v = np.full((5, 1), 7.0)
    s = Scaler.fit("standard", v)
    assert s.scale[0] == 1.0 and np.all(s.transform(v) == 0.0)
    assert Scaler.from_dict(s.to_dict()) .to_dict() == s.to_dict()


def test_unknown_kind():
    with pytest.raises(ValueError, match=r"unknown scaling 'robust'; choose from \['minmax', 'none', 'standard'\]"):
        Scaler.fit("robust", np.ones((2, 1)))
