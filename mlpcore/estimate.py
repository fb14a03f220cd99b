"""How long a training will take, before it starts: steps x rows a step x parameters, at the kernel's speed.

    >>> seconds = training_seconds(MLPConfig(hidden=(4096,), steps=10_000_000), rows=800)
    >>> words(seconds)      # '3.8 days'

A step's forward and backward passes cost a few multiply-adds per row and parameter; the kernel
goes through about ROW_PARAMETERS_PER_SECOND (row, parameter) pairs a second on one core, and a
step has a fixed cost besides. It is an estimate within a factor of a few (the machine, its load,
the activations): enough to tell a minute from a day before a command starts a training.
"""

from __future__ import annotations

from mlpcore.config import MLPConfig

ROW_PARAMETERS_PER_SECOND = 3e8
"""(row, parameter) pairs a training step goes through per second: the compiled kernel's speed on
one core of the development machine, for nets of 31 to 16,897 parameters on 200 to 20,000 rows
(from 1e8 to 5e8 on a loaded machine)."""
STEP_SECONDS = 2e-5
"""The fixed cost of one step (the optimizer's update, the kernel's call), whatever the net."""


def parameters(config: MLPConfig, features: int = 1) -> int:
    """Weights and biases of ``config``'s net on ``features`` inputs and one output."""
    widths = (features, *config.hidden, 1)
    return sum((a + int(config.bias)) * b for a, b in zip(widths, widths[1:]))


def training_seconds(config: MLPConfig, rows: int, features: int = 1) -> float:
    """The estimated seconds of ``mlpcore.fit(config, x, y)`` on ``rows`` rows of ``features``
    inputs, to its last step (a plateau or a divergence ends it sooner)."""
    batch = rows if config.batch_size is None else min(config.batch_size, rows)
    per_step = STEP_SECONDS + batch * parameters(config, features) / ROW_PARAMETERS_PER_SECOND
    return config.steps * per_step


def words(seconds: float) -> str:
    """A duration as a person says it: '40 s', '12 min', '3.5 h', '2.5 days'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
