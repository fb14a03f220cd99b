"""Weight initialisers: name -> function(rng, fan_in, fan_out, scale) -> W of shape (fan_in, fan_out).

``scale`` is the config's ``init_scale``. For ``normal`` it is the standard deviation and
for ``uniform`` the bound, exactly as hand-written code spells them
(``np.random.randn(...) * 0.01``); for ``he`` and ``glorot`` it multiplies the scheme's own
standard scale, so 1.0 is the textbook scheme.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Initializer = Callable[[np.random.Generator, int, int, float], np.ndarray]


def normal(rng: np.random.Generator, fan_in: int, fan_out: int, scale: float) -> np.ndarray:
    """N(0, scale**2) for every weight."""
    return scale * rng.standard_normal((fan_in, fan_out))


def uniform(rng: np.random.Generator, fan_in: int, fan_out: int, scale: float) -> np.ndarray:
    """U(-scale, scale) for every weight."""
    return scale * rng.uniform(-1.0, 1.0, (fan_in, fan_out))


def he(rng: np.random.Generator, fan_in: int, fan_out: int, scale: float) -> np.ndarray:
    """He (Kaiming) normal: N(0, 2 / fan_in), times ``scale``; made for ReLU units."""
    return scale * np.sqrt(2.0 / fan_in) * rng.standard_normal((fan_in, fan_out))


def glorot(rng: np.random.Generator, fan_in: int, fan_out: int, scale: float) -> np.ndarray:
    """Glorot (Xavier) uniform: U(-r, r) with r = sqrt(6 / (fan_in + fan_out)), times ``scale``."""
    bound = scale * np.sqrt(6.0 / (fan_in + fan_out))
    return bound * rng.uniform(-1.0, 1.0, (fan_in, fan_out))


INITIALIZERS: dict[str, Initializer] = {"normal": normal, "uniform": uniform, "he": he, "glorot": glorot}
