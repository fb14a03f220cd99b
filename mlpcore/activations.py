"""Activation functions: name -> (f, df), a function and its derivative side by side.

``df(z, a)`` receives both the pre-activation ``z`` and the activation ``a = f(z)`` so
that derivatives which can reuse the forward output do (sigmoid: ``a * (1 - a)``).
Every formula here is written so that it never overflows for any finite ``z`` and is
repeated operation for operation in the compiled kernel (`kernels.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

LEAKY_SLOPE = 0.01
"""Slope of leaky_relu for z < 0 (the common default, as in the seed 002 question)."""


@dataclass(frozen=True)
class Activation:
    """An activation function, its derivative, and the facts diagnostics need about it."""

    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray, np.ndarray], np.ndarray]
    peak_slope: float
    """Largest value of ``df``; a unit is *flat* where its slope is far below this."""
    output_range: tuple[float, float]
    """Open interval of values ``f`` can produce (for "cannot reach the target" hints)."""
    kinked: bool = False
    """Piecewise with a breakpoint at z = 0 (the ReLU family): ``-b/w`` is a kink in x."""
    linear: bool = False
    """f(z) = z: the slope is 1 everywhere, so the backward pass skips multiplying by it."""


def _sigmoid(z):
    # 0.5 * (1 + tanh(z / 2)) equals 1 / (1 + exp(-z)) and never overflows.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _softplus(z):
    # log(1 + exp(z)) rewritten so exp never sees a positive argument.
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation(
        f=lambda z: z,
        df=lambda z, a: np.ones_like(z),
        peak_slope=1.0,
        output_range=(-np.inf, np.inf),
        linear=True,
    ),
    "relu": Activation(
        f=lambda z: np.maximum(z, 0.0),
        df=lambda z, a: (z > 0.0).astype(z.dtype),
        peak_slope=1.0,
        output_range=(0.0, np.inf),
        kinked=True,
    ),
    "leaky_relu": Activation(
        f=lambda z: np.where(z > 0.0, z, LEAKY_SLOPE * z),
        df=lambda z, a: np.where(z > 0.0, 1.0, LEAKY_SLOPE),
        peak_slope=1.0,
        output_range=(-np.inf, np.inf),
        kinked=True,
    ),
    "elu": Activation(
        f=lambda z: np.where(z > 0.0, z, np.expm1(np.minimum(z, 0.0))),
        df=lambda z, a: np.where(z > 0.0, 1.0, a + 1.0),
        peak_slope=1.0,
        output_range=(-1.0, np.inf),
        kinked=True,
    ),
    "tanh": Activation(
        f=np.tanh,
        df=lambda z, a: 1.0 - a * a,
        peak_slope=1.0,
        output_range=(-1.0, 1.0),
    ),
    "sigmoid": Activation(
        f=_sigmoid,
        df=lambda z, a: a * (1.0 - a),
        peak_slope=0.25,
        output_range=(0.0, 1.0),
    ),
    "softplus": Activation(
        f=_softplus,
        df=lambda z, a: _sigmoid(z),
        peak_slope=1.0,
        output_range=(0.0, np.inf),
    ),
}

HIDDEN_ACTIVATIONS: tuple[str, ...] = tuple(sorted(ACTIVATIONS))
"""Every activation may be used in the hidden layers."""

OUTPUT_ACTIVATIONS: tuple[str, ...] = ("identity", "leaky_relu", "relu", "sigmoid", "softplus", "tanh")
"""Activations offered for the output layer (elu is left out: it has no use there)."""


def get(name: str) -> Activation:
    """Look an activation up by name, with an error that lists the choices."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}") from None
