"""A sweep's trials frame, kept beside its kept replay: a report of an unchanged sweep reads one
small file instead of decoding every trial and framing them again.

``out/NAME/journal.frame`` holds the frame :func:`sweeps.results.frames.trials_frame` made of the
trials of the journal's kept replay (`sweeps.store.replay`), and the best trial's number, value,
mode and config (what the headline reads of it). The first frames made while the replay is
current keep it: a run's own report, at its end (beside the replay its driver kept), or the first
report after. It is keyed by the kept replay's key and by the code that framed it
(`fingerprint.code_digest`): a journal written since, or other code, and it is not read (the frame
is made again, and kept again).

Each column is stored by its dtype, floats and integers as base64 of their little-endian bytes
(bit for bit), the others as JSON values; JSON, never pickle: a results folder may come from
someone else. A frame is kept only when the frame read back has the same columns, dtypes and values,
bit for bit, as the one made (`sweeps.results.fingerprint`: so the figures kept from it,
`sweeps.report.kept`, are found again); the file is written atomically, and only beside a sweep's
own journal.

    >>> kept = load(sweep.store)       # None: make the frame (trials_frame), then keep(...)
    >>> kept.trials, kept.best
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpcore.atomic import replace_file
from sweeps.results.fingerprint import code_digest, fingerprint
from sweeps.store import replay
from sweeps.store.journal import SweepJournal
from sweeps.store.replay import ReplayedStorage
from sweeps.store.trialfiles import packed, unpacked

logger = logging.getLogger(__name__)

NAME = "journal.frame"
FORMAT = 1
PACKED = ("float64", "int64")
"""Dtypes stored packed (`sweeps.store.trialfiles.packed`: the base64 of their bytes), read back bit
for bit."""
SCALARS = (str, bool, int, float)
"""What another column may hold (or None): JSON reads each back as the same type and value."""


@dataclass(frozen=True)
class KeptTrials:
    trials: Any
    """The trials frame (`frames.trials_frame`)."""
    best: dict[str, Any] | None
    """The best trial's number, value, mode and config (`frames.best_record`); None: none
    completed."""
    in_journal: bool
    """Whether a trial keeps its curve or predictions in the journal (a sweep stored before its
    trial files, `sweeps.store.records.IN_FILES`): then only its decoded trial has them."""


def _replay(store) -> tuple[Path, dict[str, Any]] | None:
    """The journal of ``store`` and the key of its kept replay, when ``store`` is that kept replay
    or the journal it is current for (a run's storage, whose driver kept it); else None."""
    if isinstance(store, ReplayedStorage):
        return Path(store.where), store.key
    journal = getattr(store, "journal", None)
    if isinstance(journal, SweepJournal) and (head := replay.header(journal.path)) is not None:
        return journal.path, head["key"]
    return None


def keeps(store) -> bool:
    """Whether :func:`keep` keeps a frame of ``store``'s trials: it has a current kept replay."""
    return _replay(store) is not None


def load(store) -> KeptTrials | None:
    """The frame kept beside ``store``'s journal when it is of its current kept replay
    (:func:`_replay`) and of this code; else None (none kept, another's, or damaged: the caller
    makes the frame)."""
    if (found := _replay(store)) is None:
        return None
    journal, key = found
    path = journal.with_name(NAME)
    try:
        kept = json.loads(path.read_bytes())
        if kept["key"] != _key(key):
            return None
        return KeptTrials(_decode(kept["columns"]), kept["best"], bool(kept["in_journal"]))
    except OSError:
        return None
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        logger.info("kept trials frame %s not read (%s); framing the trials", path, e)
        return None


def keep(store, trials, best: dict[str, Any] | None, in_journal: bool) -> Path | None:
    """Keep ``trials`` (the frame of ``store``'s trials), ``best`` and ``in_journal`` (see
    :class:`KeptTrials`) beside ``store``'s journal when it has a current kept replay
    (:func:`_replay`); None when it has not, the frame would not read back the same, or the file
    cannot be written (nothing is written).

    The frame is of the kept replay's trials: a journal unchanged since the replay was kept (its
    key current after the frame was made) holds no trial the frame lacks, and no other."""
    if (found := _replay(store)) is None or not len(trials):
        return None
    journal, key = found
    try:
        kept = {"key": _key(key), "best": best, "in_journal": in_journal}
        text = json.dumps(kept | {"columns": _encode(trials)})
        back = json.loads(text)
        if fingerprint(_decode(back["columns"])) != fingerprint(trials) or back["best"] != best:
            logger.info("trials frame of %s not kept: it does not read back the same", journal)
            return None
        return replace_file(journal.with_name(NAME), text + "\n")
    except (OSError, ValueError, TypeError) as e:  # a read-only folder, a value JSON cannot hold
        logger.info("trials frame of %s not kept: %s", journal, e)
        return None


def _key(replay_key: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT, "replay": replay_key, "code": code_digest()}


def _encode(frame) -> list[dict[str, Any]]:
    import pandas as pd

    columns = []
    for name in frame.columns:
        column = frame[name]
        dtype = column.dtype
        entry: dict[str, Any] = {"name": name, "dtype": str(dtype)}
        if isinstance(dtype, pd.CategoricalDtype):
            entry |= {
                "categories": column.cat.categories.tolist(),
                "ordered": bool(dtype.ordered),
                "codes": column.cat.codes.tolist(),
            }
        elif entry["dtype"] in PACKED:
            entry["packed"] = packed(column.to_numpy())
        else:
            entry["values"] = column.tolist()
            if not all(v is None or type(v) in SCALARS for v in entry["values"]):
                raise TypeError(f"column {name!r} holds a value other than {SCALARS}")
        columns.append(entry)
    return columns


def _decode(columns: list[dict[str, Any]]):
    import pandas as pd

    data = {}
    for entry in columns:
        dtype = entry["dtype"]
        if dtype == "category":
            values = pd.Categorical.from_codes(
                entry["codes"], categories=entry["categories"], ordered=entry["ordered"]
            )
        elif dtype in PACKED:
            values = unpacked(entry["packed"]).astype(dtype)  # a copy, writable
        elif dtype == "bool":
            values = np.array(entry["values"], dtype=bool)
        elif dtype == "object":
            values = np.empty(len(entry["values"]), dtype=object)
            values[:] = entry["values"]
        else:
            values = pd.array(entry["values"], dtype=dtype)
        data[entry["name"]] = values
    return pd.DataFrame(data)
