"""A hash of frames by their values: the same for two frames (or dataclasses, dicts and lists of
them) that hold the same values in the same dtypes, however they were made.

Pickled bytes are not that: pickle writes an object met twice once, so a column whose equal strings
are one object (a trial's state, ``TrialState.name``) pickles apart from the same column read back
from a file (a string each). The kept figures (`sweeps.report.kept`) and the kept trials frame
(`sweeps.results.kept_trials`) are keyed by what they were made from, read either way.

Numbers are hashed by their bytes (bit for bit; a nullable one with where it is missing),
categoricals by their codes and categories, strings by their codes and distinct values, other
columns by their values as JSON (an int apart from a float and a bool, ``repr`` for what JSON
cannot hold).

``code_digest()`` is the hash of the code that makes and draws them: the sources of ``sweeps`` and
``mlpcore`` and the versions of the libraries that hold and draw frames.

    >>> fingerprint(frames)   # hex SHA-256
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

_CODE = Path(__file__).resolve().parents[2]
SOURCES = ("sweeps", "mlpcore")
"""The packages whose sources are part of :func:`code_digest` (a change anywhere in them counts)."""
LIBRARIES = ("matplotlib", "seaborn", "pandas", "numpy")
"""The libraries whose versions are part of :func:`code_digest`: they draw, or hold frames."""


@functools.cache
def code_digest() -> str:
    """The hex SHA-256 of the sources of :data:`SOURCES` and the versions of :data:`LIBRARIES`
    (read once a process: a running program's code does not change under it)."""
    digest = hashlib.sha256()
    for package in SOURCES:
        for path in sorted((_CODE / package).rglob("*.py")):
            digest.update(path.relative_to(_CODE).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    for library in LIBRARIES:
        try:
            digest.update(f"{library} {metadata.version(library)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library} -\0".encode())
    return digest.hexdigest()


def fingerprint(obj: Any) -> str:
    """The hex SHA-256 of ``obj`` by its values (see the module docstring)."""
    digest = hashlib.sha256()
    update(digest, obj)
    return digest.hexdigest()


def update(digest, obj: Any) -> None:
    """Add ``obj`` to ``digest`` (a ``hashlib`` hash) by its values."""
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        digest.update(b"\0frame")
        _index(digest, obj.index)
        for name in obj.columns:
            _text(digest, name)
            _column(digest, obj[name])
    elif isinstance(obj, pd.Series):
        digest.update(b"\0series")
        _index(digest, obj.index)
        _column(digest, obj)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        digest.update(b"\0" + type(obj).__name__.encode())
        for field in dataclasses.fields(obj):
            _text(digest, field.name)
            update(digest, getattr(obj, field.name))
    elif isinstance(obj, dict):
        digest.update(b"\0dict")
        for key, value in obj.items():
            _text(digest, key)
            update(digest, value)
    elif isinstance(obj, (set, frozenset)):
        _text(digest, sorted(obj, key=repr))
    else:
        _text(digest, obj)


def _text(digest, value: Any) -> None:
    data = json.dumps(value, default=repr).encode()
    digest.update(len(data).to_bytes(8, "little") + data)


def _index(digest, index) -> None:
    import pandas as pd

    if isinstance(index, pd.RangeIndex):
        _text(digest, ["range", index.start, index.stop, index.step])
    else:
        _column(digest, index.to_series(index=pd.RangeIndex(len(index))))


def _column(digest, column) -> None:
    import pandas as pd

    dtype = column.dtype
    _text(digest, str(dtype))
    if isinstance(dtype, pd.CategoricalDtype):
        _text(digest, [column.cat.categories.tolist(), bool(dtype.ordered)])
        digest.update(column.cat.codes.to_numpy().tobytes())
    elif isinstance(dtype, pd.StringDtype):  # strings or missing: each distinct one once
        codes, uniques = pd.factorize(column)
        _text(digest, uniques.tolist())
        digest.update(codes.tobytes())
    elif isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        digest.update(column.to_numpy().tobytes())
    elif dtype.kind in "biuf" and isinstance(getattr(dtype, "numpy_dtype", None), np.dtype):
        # a nullable number (Int64): where it is missing, and its values elsewhere
        digest.update(column.isna().to_numpy().tobytes())
        digest.update(column.to_numpy(dtype=dtype.numpy_dtype, na_value=0).tobytes())
    else:
        _text(digest, column.tolist())
