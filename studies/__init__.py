"""Declarative problem definitions: one module per study, each defining ``STUDY``.

    >>> import studies
    >>> studies.names()                  # ['sine', 'sqrt', 'square', 'square_int']
    >>> studies.get("sqrt").data()       # train, validation and a noise-free grid
    >>> studies.get("my_study.py")       # a study from a file of your own
    >>> studies.get("results/mine/study.npz")  # a study saved by Study.save (as a sweep of arrays does)
    >>> studies.from_table("data.csv", x=["x"], y="y")  # a study of your own data
    >>> studies.get("surface")           # a sweep of data by its name: results/surface/study.npz
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path

from studies.base import Answer, Budget, Data, Study
from studies.tables import from_table, is_table

__all__ = ["Study", "Data", "Answer", "Budget", "names", "get", "from_table", "is_table", "SNAPSHOT_NAME"]

_NOT_STUDIES = {"base", "tables"}

SNAPSHOT_NAME = "study.npz"
"""The file a sweep of a study that is not a module keeps beside it (``out/NAME/study.npz``, ``Study.save``)."""


def names() -> list[str]:
    """Names of the studies in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_STUDIES and not m.name.startswith("_"))


def get(ref: str, *, out: str | Path = "results") -> Study:
    """A study by name (a module of this package), by the path of a ``.py`` file defining ``STUDY``,
    by the path of a snapshot ``.npz`` (``Study.save``), or by the name of a sweep of data (a CSV, arrays)
    stored in ``out``: its snapshot ``out/NAME/study.npz``, the study as it was swept."""
    if not isinstance(ref, str) or not ref:
        raise ValueError(f"study must be a name or a .py path, got {ref!r}")
    if ref.endswith(".npz"):
        if not Path(ref).is_file():
            raise ValueError(f"study snapshot {ref!r} does not exist")
        return Study.load(ref)
    if ref in names():
        module = importlib.import_module(f"studies.{ref}")
        origin = ref
    elif ref.endswith(".py"):
        path = Path(ref)
        if not path.is_file():
            raise ValueError(f"study file {ref!r} does not exist")
        spec = importlib.util.spec_from_file_location(f"studies_user_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as e:  # a user's file: any error in it is a bad-input error, said in one line
            raise ValueError(f"study file {ref!r} failed to load: {type(e).__name__}: {e}") from None
        origin = str(path)
    elif (Path(out) / ref / SNAPSHOT_NAME).is_file():
        return Study.load(Path(out) / ref / SNAPSHOT_NAME)
    else:
        raise ValueError(f"unknown study {ref!r}; choose from {names()} or give the path of a .py file defining STUDY "
                         f"(or the name of a sweep of data in {str(out)!r})")
    study = getattr(module, "STUDY", None)
    if not isinstance(study, Study):
        raise ValueError(f"study {origin!r} must define STUDY = studies.Study(...), found {type(study).__name__}")
    return study
