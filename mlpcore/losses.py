"""Losses: name -> (value, gradient) of the residual ``r = prediction - target``, shape (n, d).

The loss is the mean over every element, so its scale does not depend on the batch size.
(The seed 004 question uses ``0.5 * r**2``; its gradient is half of ours, so its learning
rate is worth half of the same number here.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Loss:
    value: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    """d value / d prediction, same shape as the residual."""


LOSSES: dict[str, Loss] = {
    "mse": Loss(value=lambda r: float(np.vdot(r, r)) / r.size, grad=lambda r: (2.0 / r.size) * r),
}
