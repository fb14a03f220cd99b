"""sweeps: Optuna studies over the seed problems, evaluated in parallel worker processes, fully
tracked.

    python -m sweeps run sqrt            # sweep, explain, report
    >>> import sweeps, mlpcore
    >>> cfg = sweeps.best_config("sqrt")
    >>> model = mlpcore.fit(cfg, x, y).model

The package is in layers, each importing only those below it: ``store`` (where a sweep lives) <
``results`` (reading it back) < ``search`` (the driver, the workers) < ``analysis`` (the
counterfactual evidence) < ``report`` (figures and pages) < ``pipeline`` (a run end to end) <
``cli``.
"""

from mlpcore import __version__  # one version for the distribution (mlpcore, studies, sweeps)
from sweeps.analysis.explain import explain
from sweeps.pipeline import run
from sweeps.results.frames import trials_frame
from sweeps.results.reading import best_config, best_model, load

__all__ = ["__version__", "run", "explain", "best_config", "best_model", "load", "trials_frame"]
