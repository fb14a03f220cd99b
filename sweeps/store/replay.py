"""A journal's replay, kept beside it: a sweep that is only read opens from one file instead of a
replay of every record.

Optuna rebuilds a journal study by replaying it record by record at every opening (about 13 records
a trial; a 10,000-trial sweep takes seconds). What a reader needs, the study and its trials, is kept
in ``out/NAME/journal.replay`` once the journal has been replayed: JSON lines, a header (what the
kept replay was taken from, and the few figures ``list`` prints), the study, then one line a trial.
:func:`load` gives it back behind Optuna's public storage interface (:class:`ReplayedStorage`, a
read-only ``BaseStorage``), so ``optuna.load_study`` and every reader of trials work unchanged.

A kept replay is used only while the journal is the one it was taken from: the same file
(device, inode), not written since (size, modification and change times: the kernel sets the
change time on every write, and no program can set it back) and the same last bytes (SHA-256 of
up to its last MiB). A copied folder is another file: its first reader replays it.
Any append (a trial, a driver's heartbeat) makes it stale, and the reader replays the journal as
before. It is taken from a storage that has just replayed the journal to its end (:func:`keep`),
keyed by exactly the bytes that replay read (`SweepJournal.offsets`): a writer appending meanwhile
makes the key stale, never a kept replay of other records than its key's. None is kept while a
driver of the sweep runs (its journal grows). It is written atomically, and only beside the default
journal of a sweep's own folder.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import hashlib
import json
import logging
import os
from collections.abc import Container, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, distribution_to_json, json_to_distribution
from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from mlpcore.atomic import replace_file
from sweeps.store.journal import SweepJournal
from sweeps.store.liveness import any_running
from sweeps.store.records import best_of

logger = logging.getLogger(__name__)

NAME = "journal.replay"
FORMAT = 1
TAIL = 1 << 20
"""Bytes at the journal's end whose SHA-256 the key holds, beside the file's identity and times."""


def path_of(journal: Path) -> Path:
    return Path(journal).with_name(NAME)


def _key(journal: Path, end: int) -> dict[str, Any] | None:
    """What a kept replay of ``journal``'s first ``end`` bytes is keyed by; None when the file holds
    more than those (a writer appended, or a torn tail)."""
    st = os.stat(journal)
    if st.st_size != end:
        return None
    with open(journal, "rb") as f:
        f.seek(max(0, end - TAIL))
        tail = f.read(end - max(0, end - TAIL))
    return {
        "format": FORMAT,
        "optuna": optuna.__version__,
        "file": [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns],
        "tail_sha256": hashlib.sha256(tail).hexdigest(),
    }


def summary(trials: Sequence[FrozenTrial]) -> dict[str, Any]:
    """What ``list`` prints of a sweep, known without decoding a trial: its completed trials and the
    best of them (`records.best_of`)."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = best_of(complete)
    return {
        "complete": len(complete),
        "best": None if best is None else {"number": best.number, "value": best.value},
    }


def keep(storage: BaseStorage, study_name: str) -> Path | None:
    """Write the kept replay of ``storage``'s journal (a sweep's own ``journal.log``) as it
    replays now; None when the journal changed meanwhile, a driver of the study still runs, or the
    file cannot be written (nothing is written)."""
    journal = getattr(storage, "journal", None)
    if not isinstance(journal, SweepJournal):
        return None
    try:
        with no_collection():
            return _write(storage, journal, study_name)
    except (OSError, ValueError, TypeError) as e:  # a read-only folder, a full disk: readers replay
        logger.info("replay of %s not kept: %s", journal.path, e)
        return None


def _write(storage: BaseStorage, journal: SweepJournal, study_name: str) -> Path | None:
    study_id = storage.get_study_id_from_name(study_name)  # replays the journal to its end
    end = journal.offsets[-1]  # the end of the last record replayed
    trials = storage.get_all_trials(study_id, deepcopy=False)
    user_attrs = storage.get_study_user_attrs(study_id)
    system_attrs = storage.get_study_system_attrs(study_id)
    directions = storage.get_study_directions(study_id)
    ids = [storage.get_trial_id_from_study_id_trial_number(study_id, t.number) for t in trials]
    if any_running(user_attrs):  # its journal grows: the replay would be stale in seconds
        return None
    key = _key(journal.path, end) if journal.offsets[-1] == end else None
    if key is None:  # records were appended while it was read: the state read is no one key's
        return None
    dists: dict[str, int] = {}  # a distribution's JSON -> its place in the table
    lines = [
        {"key": key, "summary": summary(trials)},
        {
            "name": study_name,
            "directions": [d.name for d in directions],
            "user_attrs": user_attrs,
            "system_attrs": system_attrs,
        },
    ]
    for t, trial_id in zip(trials, ids):
        lines.append(
            {
                "id": trial_id,
                "number": t.number,
                "state": t.state.name,
                "values": t.values,
                "start": _time(t.datetime_start),
                "complete": _time(t.datetime_complete),
                "params": t.params,
                "dists": {
                    k: dists.setdefault(distribution_to_json(d), len(dists))
                    for k, d in t.distributions.items()
                },
                "user_attrs": t.user_attrs,
                "system_attrs": t.system_attrs,
                "intermediate": [[s, v] for s, v in t.intermediate_values.items()],
            }
        )
    lines.insert(2, {"distributions": list(dists)})
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    return replace_file(path_of(journal.path), text)


def _time(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _when(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)


def header(journal: Path) -> dict[str, Any] | None:
    """The header of ``journal``'s kept replay (``key``, ``summary``) when it is current; None when
    there is none, it is stale or it cannot be read."""
    try:
        with open(path_of(journal), "rb") as f:
            return _current(journal, f.readline())
    except OSError:
        return None


def _current(journal: Path, line: bytes) -> dict[str, Any] | None:
    """The header ``line`` as data, when it is the key of ``journal`` as it is now."""
    try:
        head = json.loads(line)
        key = head["key"]
        if key.get("format") != FORMAT or key.get("optuna") != optuna.__version__:
            return None
        return head if _key(journal, key["file"][2]) == key and "summary" in head else None
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def load(journal: Path) -> ReplayedStorage | None:
    """The sweep of ``journal`` from its kept replay, read-only; None when there is no current one
    (the caller replays the journal). The file is read whole at once (an atomic replacement
    meanwhile cannot mix two), its trials decoded when first asked for."""
    try:
        data = path_of(journal).read_bytes()
    except OSError:
        return None
    first = data.find(b"\n") + 1
    head = _current(journal, data[:first])
    if head is None:
        return None
    try:
        second = data.index(b"\n", first) + 1
        third = data.index(b"\n", second) + 1
        study = json.loads(data[first:second])
        dists = [json_to_distribution(d) for d in json.loads(data[second:third])["distributions"]]
        return ReplayedStorage(journal, head, study, dists, data[third:])
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        logger.info("kept replay of %s not read (%s); replaying the journal", journal, e)
        return None


@contextlib.contextmanager
def no_collection() -> Iterator[None]:
    """Python's cyclic garbage collector paused inside (and resumed after, if it ran before):
    reading a large sweep makes millions of dicts and lists, none of them cyclic, and the collector
    would pass over all of them again and again (a third of the reading time at 10,000 trials)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _trial(r: dict[str, Any], dists: list[BaseDistribution]) -> FrozenTrial:
    return FrozenTrial(
        number=r["number"],
        state=TrialState[r["state"]],
        value=None,
        values=r["values"],
        datetime_start=_when(r["start"]),
        datetime_complete=_when(r["complete"]),
        params=r["params"],
        distributions={k: dists[i] for k, i in r["dists"].items()},
        user_attrs=r["user_attrs"],
        system_attrs=r["system_attrs"],
        intermediate_values={int(s): v for s, v in r["intermediate"]},
        trial_id=r["id"],
    )


class ReplayedStorage(BaseStorage):
    """One study as its kept replay holds it, read-only: every write is refused (a TypeError), never
    lost. ``summary`` is the header's (`summary`), known before any trial is decoded; ``key``, what
    the kept replay was taken from (a file kept beside it from the same trials may hold it too:
    `sweeps.results.kept_trials`)."""

    STUDY_ID = 0

    def __init__(
        self,
        journal: Path,
        head: dict[str, Any],
        study: dict[str, Any],
        distributions: list[BaseDistribution],
        trial_lines: bytes,
    ):
        self.where = str(journal)
        self.summary, self.key = head["summary"], head["key"]
        self.name = study["name"]
        self.directions = [StudyDirection[d] for d in study["directions"]]
        self.user_attrs, self.system_attrs = study["user_attrs"], study["system_attrs"]
        self._distributions, self._lines = distributions, trial_lines
        self._trials: list[FrozenTrial] | None = None
        self._ids: dict[int, int] = {}  # trial number -> trial id
        self._by_id: dict[int, FrozenTrial] = {}

    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, decoded on first use."""
        return self._decode()

    def _decode(self) -> list[FrozenTrial]:
        if self._trials is None:
            try:
                with no_collection():
                    records = [json.loads(line) for line in self._lines.splitlines()]
                    self._by_id = {r["id"]: _trial(r, self._distributions) for r in records}
            except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
                raise ValueError(
                    f"the kept replay {str(path_of(Path(self.where)))!r} is damaged ({e}); "
                    "remove it, and the journal is replayed"
                ) from None
            self._ids = {t.number: i for i, t in self._by_id.items()}
            self._trials, self._lines = list(self._by_id.values()), b""
        return self._trials

    def _refuse(self, *args, **kwargs):
        raise TypeError(
            f"the sweep in {self.where!r} was opened read-only (from its kept replay); open it "
            "with open_sweep(..., fresh=True) to write"
        )

    create_new_study = delete_study = set_study_user_attr = set_study_system_attr = _refuse
    create_new_trial = set_trial_param = set_trial_state_values = _refuse
    set_trial_intermediate_value = set_trial_user_attr = set_trial_system_attr = _refuse

    def _check(self, study_id: int) -> None:
        if study_id != self.STUDY_ID:
            raise KeyError(f"no study with id {study_id}")

    def get_study_id_from_name(self, study_name: str) -> int:
        if study_name != self.name:
            raise KeyError(f"no study named {study_name!r}")
        return self.STUDY_ID

    def get_study_name_from_id(self, study_id: int) -> str:
        self._check(study_id)
        return self.name

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        self._check(study_id)
        return list(self.directions)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        self._check(study_id)
        return self.user_attrs

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        self._check(study_id)
        return self.system_attrs

    def get_all_studies(self):
        raise TypeError(
            f"the kept replay of {self.where!r} holds one study, {self.name!r}; open it by that "
            "name"
        )

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        self._check(study_id)
        self._decode()
        return self._ids[trial_number]

    def get_trial(self, trial_id: int) -> FrozenTrial:
        self._decode()
        return self._by_id[trial_id]

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        self._check(study_id)
        trials = self.trials if states is None else [t for t in self.trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else list(trials)
