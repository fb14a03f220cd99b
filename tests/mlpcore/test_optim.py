"""One optimizer step each, worked out by hand."""

import numpy as np
import pytest

from mlpcore.optim import ADAM_EPS, OPTIMIZERS


def two_steps(name, **kw):
    p = np.array([1.0, -2.0])
    opt = OPTIMIZERS[name]([p], **kw)
    opt.step([p], [np.array([0.5, -1.0])])
    first = p.copy()
    opt.step([p], [np.array([0.5, -1.0])])
    return first, p


def test_sgd():
    first, second = two_steps("sgd", lr=0.1)
    # p - lr * g = [1 - 0.05, -2 + 0.1], then once more
    np.testing.assert_allclose(first, [0.95, -1.9], rtol=1e-15)
    np.testing.assert_allclose(second, [0.90, -1.8], rtol=1e-15)


def test_momentum():
    first, second = two_steps("momentum", lr=0.1, momentum=0.9)
    # v1 = g = [0.5, -1]; p1 = p - 0.1 v1 = [0.95, -1.9]
    # v2 = 0.9 v1 + g = [0.95, -1.9]; p2 = p1 - 0.1 v2 = [0.855, -1.71]
    np.testing.assert_allclose(first, [0.95, -1.9], rtol=1e-15)
    np.testing.assert_allclose(second, [0.855, -1.71], rtol=1e-14)


def test_adam():
    first, second = two_steps("adam", lr=0.1)
    # t=1: m = 0.1 g, s = 0.001 g^2; m_hat = g, s_hat = g^2 -> step = lr * g / (|g| + eps)
    step1 = 0.1 * np.array([0.5, -1.0]) / (np.array([0.5, 1.0]) + ADAM_EPS)
    np.testing.assert_allclose(first, np.array([1.0, -2.0]) - step1, rtol=1e-15)
    # t=2 with the same g: m = 0.19 g, m_hat = 0.19 g / 0.19 = g; s_hat = g^2 likewise -> same step
    np.testing.assert_allclose(second, first - step1, rtol=1e-14)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_in_place_and_descends_a_quadratic(name):
    p = np.array([3.0, -4.0])
    view = p
    opt = OPTIMIZERS[name]([p], lr=0.05, momentum=0.5)
    for _ in range(200):
        opt.step([p], [2 * p])  # gradient of |p|^2
    assert view is p and np.linalg.norm(p) < 0.5
