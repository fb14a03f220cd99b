"""Input and output scaling: an affine map per column, fit on training data, inverted for prediction.

``transform(v) = (v - offset) / scale`` and ``inverse(u) = u * scale + offset``.

- ``none``: offset 0, scale 1 (what the seed questions do, and why they fail).
- ``standard``: zero mean, unit standard deviation.
- ``minmax``: onto [0, 1], as scikit-learn's MinMaxScaler. Note that on [0, 1] a ReLU
  unit with zero bias has its breakpoint at the edge of the data, not inside it.

A column with no spread keeps scale 1, so constant columns never divide by zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Fitter = Callable[[np.ndarray], "tuple[np.ndarray, np.ndarray]"]


def _none(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(v.shape[1]), np.ones(v.shape[1])


def _standard(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return v.mean(axis=0), v.std(axis=0)


def _minmax(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = v.min(axis=0)
    return lo, v.max(axis=0) - lo


SCALERS: dict[str, Fitter] = {"none": _none, "standard": _standard, "minmax": _minmax}


@dataclass(frozen=True)
class Scaler:
    """A fitted per-column affine map. Arrays have shape (d,)."""

    kind: str
    offset: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, kind: str, v: np.ndarray) -> "Scaler":
        """Fit scaler ``kind`` to ``v`` of shape (n, d)."""
        if kind not in SCALERS:
            raise ValueError(f"unknown scaling {kind!r}; choose from {sorted(SCALERS)}")
        v = np.asarray(v, dtype=float)
        offset, scale = SCALERS[kind](v)
        # A constant column keeps unit scale instead of blowing up. Judged on the range, not
        # on the scale: the std of identical values is rounding noise of the mean, not zero.
        spread = v.max(axis=0) - v.min(axis=0)
        constant = spread <= np.finfo(float).eps * np.maximum(np.abs(offset), 1.0)
        scale = np.where(constant, 1.0, scale)
        return cls(kind, np.asarray(offset, dtype=float), np.asarray(scale, dtype=float))

    def transform(self, v: np.ndarray) -> np.ndarray:
        """Original units -> scaled units."""
        return (v - self.offset) / self.scale

    def inverse(self, u: np.ndarray) -> np.ndarray:
        """Scaled units -> original units."""
        return u * self.scale + self.offset

    def to_dict(self) -> dict:
        return {"kind": self.kind, "offset": self.offset.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Scaler":
        return cls(d["kind"], np.asarray(d["offset"], dtype=float), np.asarray(d["scale"], dtype=float))
