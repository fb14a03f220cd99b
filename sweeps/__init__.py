"""sweeps: Optuna studies over the seed problems, evaluated in parallel worker processes, fully tracked.

    python -m sweeps run sqrt            # sweep, track, report
    >>> import sweeps, mlpcore
    >>> cfg = sweeps.best_config("sqrt")
    >>> model = mlpcore.fit(cfg, x, y).model
"""

from sweeps.frames import trials_frame
from sweeps.loader import best_config, load
from sweeps.runner import run
from sweeps.explain import explain

__all__ = ["run", "explain", "best_config", "load", "trials_frame"]
