"""What is large about a trial, in a file of its own beside the journal:
``out/STUDY/trials/NUMBER.json.gz``.

The journal is replayed whole every time a sweep is opened, so it holds only what the sampler and
the tables need (params, value, mode, metrics: `sweeps.store.records.RECORDED`). The learning curve,
the predictions on the grid (and on the held-out rows) and, for a trial that was the best when it
was told, the trained model, go to one gzip'd JSON file per trial, read only by what draws or reuses
them. The curve's and the predictions' numbers are packed (:data:`PACKED`): each list one base64
string of its little-endian 64-bit values, read back bit for bit without parsing a decimal text
(a report reads 2,000 files; files written before hold the lists as JSON numbers, read the same).
A non-finite value reads as None either way.

- Tied to the trial: named by its number, unique in the study, so drivers sharing a study never
  write
  the same file, and a resume finds every file of the trials it kept.
- Written atomically (`mlpcore.atomic`) and before the trial is told: a told trial has its file
  whole.
- Gone with its trial: a trial a driver fails (interrupted, given back, lost with a dead driver; it
  is run again under a new number) has its file removed, if a driver killed between the two writes
  left one.
- The same for every storage: beside a journal file, or under ``--out`` for a database URL. With
  several
  machines on one database, each machine's folder holds the files of the trials its drivers ran: the
  tables are whole everywhere, the curves of other machines' trials are drawn where their files are.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from mlpcore.atomic import replace_file
from sweeps.store.records import IN_FILES

logger = logging.getLogger(__name__)

FOLDER = "trials"
BASELINE = "baseline"
SUFFIX = ".json.gz"
PACKED = {"curve": ("steps", "train", "val"), "grid_pred": None, "val_pred": None}
"""The numeric lists a trial file packs: record -> its lists' keys (None: the record is the list).
The model is written as it is (it is read once, by ``best_model``)."""
FLOATS, INTS = "<f8", "<i8"
"""The two packings, named in the file by their NumPy type: ``{"<f8": BASE64}``, or ``"<i8"``."""


class TrialFiles:
    """The per-trial files of one study, in ``folder`` (made on the first write)."""

    def __init__(self, folder: str | Path, *, memo: bool = False):
        self.folder = Path(folder)
        self.memo: dict | None = {} if memo else None

    def remembering(self) -> "TrialFiles":
        """The same files, each read once and then remembered (told trials' files never change): for
        a reader of every trial, such as the report."""
        return TrialFiles(self.folder, memo=True)

    @classmethod
    def of(cls, out_dir: str | Path) -> "TrialFiles":
        """The files of the study whose folder is ``out_dir`` (``out/STUDY``)."""
        return cls(Path(out_dir) / FOLDER)

    def path(self, number: int | str) -> Path:
        """The file of trial ``number`` (or of ``"baseline"``, the study's baseline evaluated like
        a trial)."""
        return self.folder / f"{number if number == BASELINE else int(number)}{SUFFIX}"

    def write(self, number: int | str, data: dict[str, Any]) -> Path:
        """Write trial ``number``'s large records (those of ``records.IN_FILES`` it made),
        atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {k: _lists(k, data[k], _pack) for k in IN_FILES if data.get(k) is not None},
            separators=(",", ":"),
            default=_plain,
        )
        return replace_file(
            self.path(number), gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)
        )

    def read(self, number: int | str) -> dict[str, Any]:
        """Trial ``number``'s large records; {} when it has no file here (not told yet, or told
        elsewhere)."""
        if self.memo is not None:
            if number not in self.memo:
                self.memo[number] = self._read(number)
            return self.memo[number]
        return self._read(number)

    def _read(self, number: int | str) -> dict[str, Any]:
        try:
            stored = json.loads(gzip.decompress(self.path(number).read_bytes()))
            return {k: _lists(k, v, _unpack) for k, v in stored.items()}
        except FileNotFoundError:
            return {}
        except (
            OSError,
            ValueError,
            EOFError,
            TypeError,
            AttributeError,
        ) as e:  # a damaged file: its trial is drawn without it
            logger.warning(
                "trial file %s cannot be read (%s); its trial is shown without it",
                self.path(number),
                e,
            )
            return {}

    def remove(self, number: int) -> bool:
        """Remove trial ``number``'s file; False when there was none."""
        try:
            self.path(number).unlink()
        except FileNotFoundError:
            return False
        return True

    def numbers(self) -> list[int]:
        """The trial numbers that have a file here, in order."""
        if not self.folder.is_dir():
            return []
        found = (p.name[: -len(SUFFIX)] for p in self.folder.iterdir() if p.name.endswith(SUFFIX))
        return sorted(int(n) for n in found if n.isdigit())


def _lists(record: str, value, convert):
    """``value`` of ``record`` with ``convert`` applied to each list :data:`PACKED` names in it."""
    if record not in PACKED:
        return value
    if PACKED[record] is None:
        return convert(value)
    return {k: convert(v) if k in PACKED[record] else v for k, v in value.items()}


def packed(array: np.ndarray) -> dict[str, str]:
    """A 1-D array of integers (as 64-bit) or floats (as float64) as JSON: one base64 string of its
    little-endian bytes, named by its NumPy type, ``{"<i8": BASE64}`` or ``{"<f8": BASE64}``."""
    kind = INTS if array.dtype.kind in "iu" else FLOATS
    return {kind: base64.b64encode(np.asarray(array, dtype=kind).tobytes()).decode("ascii")}


def unpacked(value: dict[str, str]) -> np.ndarray:
    """The array :func:`packed` made ``value`` of, bit for bit (read-only); a ValueError when it is
    not one."""
    ((kind, text),) = value.items()
    if kind not in (FLOATS, INTS):
        raise ValueError(f"a list packed as {kind!r}, not one of {FLOATS!r}, {INTS!r}")
    return np.frombuffer(base64.b64decode(text, validate=True), dtype=kind)


def _pack(values) -> dict[str, str]:
    """A list of numbers (None: non-finite) as one string: integers as such, else floats."""
    values = list(values)
    ints = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)
    array = np.array(values, dtype=INTS if ints else FLOATS)  # NumPy reads None as NaN
    if not ints:
        array[~np.isfinite(array)] = np.nan
    return packed(array)


def _unpack(value) -> list:
    """The list of numbers ``value`` holds (None for a non-finite one); a list as it is."""
    if isinstance(value, list):
        return value
    array = unpacked(value)
    if array.dtype.kind == "i" or not np.isnan(array).any():
        return array.tolist()
    return [None if math.isnan(v) else v for v in array.tolist()]


def _plain(value):
    """JSON for what json does not take as is (numpy scalars)."""
    if hasattr(value, "item"):
        value = value.item()
        return None if isinstance(value, float) and not math.isfinite(value) else value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
