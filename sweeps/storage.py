"""Where a sweep is stored: an Optuna journal file by default, any Optuna storage URL on request.

The default journal file needs no server and is read by ``optuna-dashboard`` as it is. Its
one cost is an fsync per write; `GroupedJournalFileBackend` lets the driver append the ~120
records that finish one trial (learning curve, diagnosis, state) in a single locked, fsynced
write, so tracking everything costs about as much as tracking nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

JOURNAL_NAME = "journal.log"
LOCK_GRACE_SECONDS = 10
"""A journal write holds the lock for about a millisecond; a lock this old belongs to a dead writer."""
RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
SCHEMA_ATTEMPTS = 5
CONNECT_TIMEOUT = 10
"""Seconds before an unreachable database server is reported as such."""


class GroupedJournalFileBackend(JournalFileBackend):
    """A journal file whose writes can be grouped, and which heals a torn last line.

    Inside ``grouped()`` this thread's writes are held, then appended together under one
    lock (the records stay contiguous and in order; one fsync). Only writes that need no
    answer from the journal may be grouped (values, attributes, params, the final state of
    a trial); creating a study or trial reads its id back, so it is never grouped.

    A driver killed in the middle of a write leaves a last line without its newline. Optuna
    reads past such a line only while it is last; so before appending, under the lock, a
    torn tail (never a complete record) is cut off.
    """

    def __init__(self, file_path: str):
        # An O_EXCL lock file works on any local file system. A writer killed while holding
        # it leaves it behind; after LOCK_GRACE_SECONDS the others take it over.
        super().__init__(file_path, lock_obj=JournalFileOpenLock(file_path, grace_period=LOCK_GRACE_SECONDS))
        self._local = threading.local()

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        # Optuna reads the journal before every storage call; most find nothing new. Then a
        # stat says so, without opening the file (a driver makes ~70 storage calls a trial).
        known_end = self._log_number_offset.get(log_number_from)
        if known_end is not None and os.stat(self._file_path).st_size == known_end:
            return
        yield from super().read_logs(log_number_from)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        held = getattr(self._local, "held", None)
        if held is not None:
            held.extend(logs)
            return
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode("utf-8")
        self._lock.acquire()
        try:
            with open(self._file_path, "rb+") as f:
                _cut_torn_tail(f)
                f.seek(0, os.SEEK_END)
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def grouped(self) -> Iterator[None]:
        self._local.held = []
        try:
            yield
        finally:
            held, self._local.held = self._local.held, None
            if held:
                self.append_logs(held)


def _cut_torn_tail(f) -> None:
    """Truncate ``f`` after its last newline, if anything follows it."""
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return
    f.seek(end - 1)
    if f.read(1) == b"\n":
        return
    pos = end
    while pos > 0:  # scan back for the last newline, a block at a time
        start = max(0, pos - 4096)
        f.seek(start)
        block = f.read(pos - start)
        nl = block.rfind(b"\n")
        if nl >= 0:
            f.truncate(start + nl + 1)
            return
        pos = start
    f.truncate(0)


class JournalFileStorage(JournalStorage):
    """Optuna's JournalStorage on a :class:`GroupedJournalFileBackend`, knowing its own path."""

    def __init__(self, path: Path):
        self.path = path
        self.backend = GroupedJournalFileBackend(str(path))
        super().__init__(self.backend)


class StorageError(ValueError):
    """A storage URL that cannot be opened: malformed, unreachable, or a corrupt journal."""


def open_storage(url: str | None, out_dir: Path) -> BaseStorage:
    """The storage a sweep writes: ``url``, or the journal file ``out_dir/journal.log``.

    ``url`` may be an RDB URL (sqlite:///..., postgresql://...), ``journal:PATH`` or a path
    ending in ``.log`` for a journal file elsewhere.
    """
    if url is None:
        return _journal(out_dir / JOURNAL_NAME)
    if url.startswith("journal:"):
        return _journal(Path(url[len("journal:"):]))
    if url.endswith(".log") and "://" not in url:
        return _journal(Path(url))
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if "://" not in url or scheme not in RDB_SCHEMES:
        raise StorageError(f"storage URL {url!r} is not understood; use an Optuna RDB URL "
                           f"({', '.join(s + '://...' for s in RDB_SCHEMES)}), journal:PATH, or a PATH ending in .log")
    connect_args = {"connect_timeout": CONNECT_TIMEOUT} if scheme in ("postgresql", "mysql") else {}
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return RDBStorage(url, engine_kwargs={"pool_pre_ping": True, "connect_args": connect_args})
        except Exception as e:  # SQLAlchemy and drivers raise many types; all mean "cannot open"
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            # Drivers starting together on an empty database race to create Optuna's tables;
            # the losers see "already exists" / "duplicate key" and only need to look again.
            if attempt + 1 < SCHEMA_ATTEMPTS and ("already exists" in first or "duplicate key" in first):
                time.sleep(0.2 * (attempt + 1))
                continue
            raise StorageError(f"cannot open storage {url!r}: {first}") from None


def _journal(path: Path) -> JournalStorage:
    if not path.parent.is_dir():
        raise StorageError(f"folder {str(path.parent)!r} of journal file does not exist")
    try:
        return JournalFileStorage(path)
    except PermissionError:
        raise StorageError(f"journal file {str(path)!r} cannot be written (permission denied)") from None
    except Exception as e:  # a truncated or corrupt journal fails while replaying
        raise StorageError(f"journal file {str(path)!r} cannot be read ({type(e).__name__}: {e}); "
                           f"it is left as it is") from None


@contextlib.contextmanager
def grouped_writes(storage: BaseStorage) -> Iterator[None]:
    """Group the writes inside into one append where the storage allows it; a no-op elsewhere."""
    if isinstance(storage, JournalFileStorage):
        with storage.backend.grouped():
            yield
    else:
        yield


def describe(storage: BaseStorage) -> str:
    """Where a storage lives, for messages: the journal path or the URL without password."""
    if isinstance(storage, JournalFileStorage):
        return str(storage.path)
    if isinstance(storage, RDBStorage):
        return storage.engine.url.render_as_string(hide_password=True)
    return type(storage).__name__

