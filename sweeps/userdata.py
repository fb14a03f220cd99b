"""Studies of your own data: a table (CSV or Parquet) read into a study, and the snapshot that keeps
such a study (or any study given as an object) beside its journal.

A worker process, a later ``report``, ``best`` or ``diagnose`` cannot import a study that is not
a module, so the runner saves it as ``out/NAME/study.npz`` (data split once, baseline, space,
budget; written atomically) and every process loads that one file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import studies
from sweeps.storage import JOURNAL_NAME
from mlpcore import MLPConfig

SNAPSHOT_NAME = "study.npz"

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
        table = getattr(pd, reader)(path)
    except ImportError:
        raise ValueError("reading Parquet needs pyarrow: pip install 'sweeps-mlpcore[parquet]' (or pip install pyarrow)") from None
    except Exception as e:  # noqa: BLE001 - a user's file: any parse error is bad input, said in one line
        raise ValueError(f"data file {str(path)!r} cannot be read: {type(e).__name__}: {str(e).splitlines()[0]}") from None
    wanted = [*x, y]
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise ValueError(f"data file {str(path)!r} has no column(s) {missing}; its columns: {[str(c) for c in table.columns]}")
    if y in x:
        raise ValueError(f"column {y!r} is both an input (--x) and the target (--y)")
    if len(set(x)) != len(x):
        raise ValueError(f"--x names a column twice: {x}")
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


def study_from_table(path: str | Path, x: list[str], y: str, *, baseline: str | Path | None = None,
                     val_fraction: float | None = None) -> studies.Study:
    """The study of a table: named after the file, columns ``x`` as inputs and ``y`` as the target.

    ``baseline`` is the path of a config JSON (as ``best`` prints): your config, the one the report
    diagnoses. ``val_fraction`` is the share of rows held out (default ``studies.base.VAL_FRACTION``).
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
    xs, ys = read_table(path, x, y)
    name = Path(path).stem
    extra = {} if val_fraction is None else {"val_fraction": val_fraction}
    return studies.Study.from_arrays(name, xs, ys, baseline=config, title=f"{y} from {', '.join(x)} ({len(ys)} rows)",
                                     **extra)


def save_snapshot(definition: studies.Study, out_dir: Path) -> str:
    """``out_dir/study.npz`` holding ``definition``, written once; refused when it holds another study."""
    path = out_dir / SNAPSHOT_NAME
    if not path.is_file() and (out_dir / JOURNAL_NAME).is_file():
        raise ValueError(f"{str(out_dir)!r} holds a sweep of another study named {definition.name!r}; "
                         f"use another --out, or give the new study another name")
    if path.is_file():
        if studies.Study.load(path).fingerprint() != definition.fingerprint():
            raise ValueError(f"{str(path)!r} holds study {definition.name!r} with other data or settings; "
                             f"use another --out, or give the new study another name")
    else:
        definition.save(path)
    return str(path.resolve())


def find(ref: str, out: str | Path = "results") -> studies.Study:
    """A study by name, file or snapshot (``studies.get``), or the snapshot a sweep of data left in ``out/ref/``."""
    return resolve(ref, out)[0]


def run_reference(ref: str, out: str | Path = "results") -> str:
    """What ``run`` runs for ``ref``: a sweep of data known by its name in ``out`` is resumed from its snapshot;
    any other reference is run as given."""
    snapshot = Path(out) / ref / SNAPSHOT_NAME
    known = ref in studies.names() or ref.endswith((".py", ".npz"))
    return str(snapshot) if not known and snapshot.is_file() else ref


def resolve(ref: str, out: str | Path = "results") -> tuple[studies.Study, str]:
    """(the study, the reference a worker process loads it by) for :func:`find`: for a study of data, the path
    of the snapshot it came from (a worker cannot import it by its name); for a file, its absolute path (workers
    outlive a chdir); else the name."""
    ref = run_reference(ref, out)
    return studies.get(ref), str(Path(ref).resolve()) if ref.endswith((".py", ".npz")) else ref


def baseline_words(ref: str, definition: studies.Study) -> str:
    """How ``diagnose`` names the baseline of study ``ref``: a seed's own config, a study file's, or for a study
    of data, your config (``run --baseline``, ``from_arrays(baseline=...)``) or the engine's default without one."""
    if ref in studies.names():
        return "the seed's baseline config"
    if ref.endswith(".py"):
        return "the study's baseline config"
    if definition.baseline == MLPConfig():
        return "the engine's default config (no baseline config was given)"
    return "your config (the study's baseline)"


def add_table_arguments(p) -> None:
    """``run``'s options for a data file: which columns, your config, the held-out share."""
    p.add_argument("--x", metavar="COL[,COL...]", help="a data file's input column(s), comma-separated")
    p.add_argument("--y", metavar="COL", help="a data file's target column")
    p.add_argument("--baseline", metavar="FILE", help="your config as JSON (as `best` prints): the one the report diagnoses")
    p.add_argument("--val-fraction", type=float, metavar="F",
                   help=f"share of a data file's rows held out for validation (default {studies.base.VAL_FRACTION})")


def study_from_args(args) -> studies.Study:
    """The study of ``run DATAFILE --x ... --y ...``."""
    if not args.x or not args.y:
        raise ValueError(f"a data file needs its columns: run {args.study} --x COL[,COL...] --y COL")
    return study_from_table(args.study, [c.strip() for c in args.x.split(",") if c.strip()], args.y.strip(),
                            baseline=args.baseline, val_fraction=args.val_fraction)
