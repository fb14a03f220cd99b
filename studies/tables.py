"""Studies of your own data: a table (CSV or Parquet) of inputs and a target, read into a study.

    >>> import studies
    >>> mine = studies.from_table("examples/surface.csv", x=["x1", "x2"], y="y")
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mlpcore import MLPConfig
from studies.base import NAME, VAL_FRACTION, Study

READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet"}
"""Table files by suffix, and the pandas function that reads each."""


def is_table(ref) -> bool:
    """Whether ``ref`` names a data file (by its suffix) rather than a study."""
    return isinstance(ref, str) and Path(ref).suffix.lower() in READERS


def is_snapshot(ref) -> bool:
    return isinstance(ref, str) and ref.endswith(".npz")


def read_table(path: str | Path, x: list[str], y: str):
    """Columns ``x`` (n, d) and ``y`` (n,) of the table at ``path``, as floats; a one-line error for any flaw."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} does not exist")
    reader = READERS[path.suffix.lower()]
    try:
        table = getattr(pd, reader)(path, **({"sep": _separator(path)} if reader == "read_csv" else {}))
    except ImportError:
        raise ValueError("reading Parquet needs pyarrow: pip install 'sweeps-mlpcore[parquet]' (or pip install pyarrow)") from None
    except Exception as e:  # noqa: BLE001 - a user's file: any parse error is bad input, said in one line
        raise ValueError(f"data file {str(path)!r} cannot be read: {type(e).__name__}: {str(e).splitlines()[0]}") from None
    wanted = [*x, y]
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise ValueError(f"data file {str(path)!r} has no column(s) {missing}; its columns: {[str(c) for c in table.columns]}")
    if y in x:
        raise ValueError(f"column {y!r} is both an input (x) and the target (y)")
    if len(set(x)) != len(x):
        raise ValueError(f"the inputs (x) name a column twice: {x}")
    for col in wanted:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() & table[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"column {col!r} of {str(path)!r} is not numeric: row {row + 1} holds {table[col].iloc[row]!r}")
        if values.isna().any() or not np.all(np.isfinite(values.to_numpy(dtype=float))):
            row = int(np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))[0])
            raise ValueError(f"column {col!r} of {str(path)!r} has a missing or non-finite value at row {row + 1}; "
                             f"drop or fill such rows first")
    return table[x].to_numpy(dtype=float), table[y].to_numpy(dtype=float)


SEPARATORS = (",", ";", "\t", "|")
"""What separates a CSV's columns: a comma, else (sniffed from its first line) a semicolon, a tab or a bar."""


def _separator(path: Path) -> str:
    """The separator of the CSV at ``path``: the one of SEPARATORS its header line holds most of (a comma on a tie)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline()
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])  # first among equals: the comma
    return best if counts[best] > 0 else ","


def from_table(path: str | Path, x: list[str], y: str, *, baseline: str | Path | None = None,
               val_fraction: float | None = None, name: str | None = None) -> Study:
    """The study of a table: named ``name``, else after the file, columns ``x`` as inputs and ``y`` as the target.

    ``baseline`` is the path of a config JSON (as ``best`` prints): your config, the one the report
    diagnoses. ``val_fraction`` is the share of rows held out (default ``VAL_FRACTION``).
    """
    config = None
    if baseline is not None:
        bpath = Path(baseline)
        if not bpath.is_file():
            raise ValueError(f"config file {str(bpath)!r} does not exist")
        config = MLPConfig.from_json(bpath.read_text())
    if val_fraction is not None and not (isinstance(val_fraction, float) and math.isfinite(val_fraction)
                                         and 0 < val_fraction < 1):
        raise ValueError(f"--val-fraction must be a number between 0 and 1, got {val_fraction!r}")
    if name is None and not NAME.fullmatch(Path(path).stem):
        raise ValueError(f"the study would be named after the file, {Path(path).stem!r}, which is not a plain name "
                         f"(letters, digits, _ and -, at most 100); name it with --name NAME")
    if name is not None and not (isinstance(name, str) and NAME.fullmatch(name)):
        raise ValueError(f"--name must be a plain name (letters, digits, _ and -, at most 100), got {name!r}")
    xs, ys = read_table(path, x, y)
    name = Path(path).stem if name is None else name
    extra = {} if val_fraction is None else {"val_fraction": val_fraction}
    return Study.from_arrays(name, xs, ys, baseline=config, title=f"{y} from {', '.join(x)} ({len(ys)} rows)",
                                     **extra)
