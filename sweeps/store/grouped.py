"""Storages whose writes can be grouped: a trial's records and its final state as one journal
append, one insert of rows, or one database transaction, all or nothing (see `sweeps.store.factory`
for which storage does which).

A storage that cannot group is refused, never silently written record by record.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

from optuna.storages import BaseStorage, JournalStorage
from optuna.storages.journal import BaseJournalBackend


class StorageError(ValueError):
    """A storage that cannot be opened or written: malformed URL, unreachable server, a file that
    is not a journal."""


class GroupedJournal(BaseJournalBackend):
    """A journal backend whose appends can be grouped: inside ``grouped()`` this thread's appends
    are held, then written together by ``write`` (all or nothing). Subclasses implement
    ``read_logs`` and ``write``.

    Only writes that need no answer from the journal may be grouped (values, attributes, params,
    a trial's final state); creating a study or a trial reads its id back, so it is never grouped.
    """

    local: threading.local

    def write(self, logs: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        held = getattr(self.local, "held", None)
        if held is not None:
            held.extend(logs)
        else:
            self.write(logs)

    @contextlib.contextmanager
    def grouped(self) -> Iterator[None]:
        if getattr(self.local, "held", None) is not None:  # nested: the outer group writes
            yield
            return
        self.local.held = []
        try:
            yield
        except BaseException:
            self.local.held = None
            raise
        held, self.local.held = self.local.held, None
        if held:
            self.write(held)


class Grouped:
    """A storage whose writes can be grouped: ``grouped()`` (all or nothing) and ``where`` (for
    messages)."""

    where: str

    def grouped(self) -> contextlib.AbstractContextManager:
        raise NotImplementedError


class GroupedJournalStorage(JournalStorage, Grouped):
    """Optuna's JournalStorage on a `GroupedJournal`: ``grouped()`` makes the writes inside one
    append."""

    def __init__(self, journal: GroupedJournal, where: str):
        self.journal, self.where = journal, where
        super().__init__(journal)

    def grouped(self) -> contextlib.AbstractContextManager:
        return self.journal.grouped()


def grouped_writes(storage: BaseStorage) -> contextlib.AbstractContextManager:
    """The writes inside, as one journal append or one transaction (all or nothing); a TypeError
    for other storages."""
    if not isinstance(storage, Grouped):
        raise TypeError(
            f"{type(storage).__name__} cannot group writes; open the storage with "
            "sweeps.store.factory.open_storage"
        )
    return storage.grouped()


def describe(storage: BaseStorage) -> str:
    """Where a storage lives, for messages and records: the journal path or the URL, password
    masked."""
    where = getattr(storage, "where", None)  # Grouped storages, and a journal's kept replay
    return where if isinstance(where, str) else type(storage).__name__
