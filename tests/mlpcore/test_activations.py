import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlpcore.activations import ACTIVATIONS, get

NAMES = sorted(ACTIVATIONS)


@pytest.mark.parametrize("name", NAMES)
@given(z=st.floats(-30, 30).filter(lambda z: abs(z) > 1e-4))
def test_derivative_matches_finite_difference(name, z):
    act, h = ACTIVATIONS[name], 1e-6
    zz = np.array([z - h, z, z + h])
    a = act.f(zz)
    numeric = (a[2] - a[0]) / (2 * h)
    assert act.df(zz, a)[1] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_never_overflows_and_respects_range_and_peak(name):
    act = ACTIVATIONS[name]
    z = np.concatenate([np.linspace(-800, 800, 4001), [-1e308, 1e308]])
    with np.errstate(over="raise", invalid="raise"):
        a = act.f(z)
        d = act.df(z, a)
    lo, hi = act.output_range
    assert np.all((a >= lo) & (a <= hi))
    assert np.all(np.isfinite(d)) and d.max() <= act.peak_slope + 1e-12
    assert d.max() == pytest.approx(act.peak_slope, rel=1e-3)


def test_unknown_name_lists_choices():
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'; choose from \['elu'"):
        get("gelu")
