"""A trained model: config, fitted scalers and parameters; predicts in the data's own units."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpcore.atomic import replace_file
from mlpcore.config import MLPConfig
from mlpcore.network import Layout, Network
from mlpcore.scaling import Scaler

FORMAT = "mlpcore.model/1"


@dataclass(frozen=True)
class Model:
    """What :func:`mlpcore.fit` hands back. ``theta`` is the flat parameter vector (see `network.py`)."""

    config: MLPConfig
    layout: Layout
    theta: np.ndarray
    x_scaler: Scaler
    y_scaler: Scaler
    flat_output: bool = True
    """Targets were given with shape (n,), so predictions come back with shape (n,)."""

    @property
    def network(self) -> Network:
        return Network(self.config, self.layout, self.theta)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for ``x`` of shape (n,) or (n, n_in), in the target's units.

        Returns shape (n,) when the model was fit to 1-D targets, else (n, n_out).
        """
        x2 = np.asarray(x, dtype=float)
        if x2.ndim == 1 and self.layout.sizes[0] == 1:
            x2 = x2[:, None]
        if x2.ndim != 2 or x2.shape[1] != self.layout.sizes[0]:
            raise ValueError(f"x must have shape (n,) or (n, {self.layout.sizes[0]}), got {np.shape(x)}")
        with np.errstate(all="ignore"):  # a diverged model predicts NaN; its diagnosis says so
            y = self.y_scaler.inverse(self.network.predict(self.x_scaler.transform(x2)))
        return y[:, 0] if self.flat_output else y

    def preactivations(self, x: np.ndarray) -> list[np.ndarray]:
        """Each layer's pre-activations ``z`` on ``x`` (given in data units), output layer last."""
        x2 = np.asarray(x, dtype=float).reshape(len(x), -1)
        with np.errstate(all="ignore"):
            zs, _ = self.network.forward(self.x_scaler.transform(x2))
        return zs

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "config": self.config.to_dict(),
            "layout": self.layout.to_dict(),
            "theta": self.theta.tolist(),
            "x_scaler": self.x_scaler.to_dict(),
            "y_scaler": self.y_scaler.to_dict(),
            "flat_output": self.flat_output,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Model":
        if d.get("format") != FORMAT:
            raise ValueError(f"not a saved mlpcore model: format is {d.get('format')!r}, expected {FORMAT!r}")
        layout = Layout.from_dict(d["layout"])
        theta = np.asarray(d["theta"], dtype=float)
        if theta.shape != (layout.size,):
            raise ValueError(f"saved theta has {theta.size} values, layout {layout.sizes} needs {layout.size}")
        return cls(
            MLPConfig.from_dict(d["config"]),
            layout,
            theta,
            Scaler.from_dict(d["x_scaler"]),
            Scaler.from_dict(d["y_scaler"]),
            bool(d["flat_output"]),
        )

    def save(self, path: str | Path) -> None:
        """Write the model as JSON (floats written with repr, so a load gives back the same bits)."""
        replace_file(path, json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> "Model":
        return cls.from_dict(json.loads(Path(path).read_text()))
