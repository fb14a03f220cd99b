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

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

from mlpcore import __version__  # one version for the distribution (mlpcore, studies, sweeps)

if TYPE_CHECKING:
    from sweeps.analysis.explain import explain
    from sweeps.pipeline import run
    from sweeps.results.frames import trials_frame
    from sweeps.results.reading import best_config, best_model, load

_HOMES = {
    "run": "sweeps.pipeline",
    "explain": "sweeps.analysis.explain",
    "trials_frame": "sweeps.results.frames",
    "best_config": "sweeps.results.reading",
    "best_model": "sweeps.results.reading",
    "load": "sweeps.results.reading",
}
"""Where each name of the API lives: imported on first use, so that a command or a reader that
needs only part of the package (``list``, ``best_config``) does not import the search, the analysis
and the report."""


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    if not name.startswith("_"):  # a module of the package, imported on first use as well
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    modules = (m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return sorted({*__all__, *modules})


__all__ = ["__version__", "run", "explain", "best_config", "best_model", "load", "trials_frame"]
