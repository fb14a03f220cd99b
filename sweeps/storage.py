"""Where a sweep is stored, and how its writes are grouped: a journal file by default, a database on request.

The default journal file needs no server and is read by ``optuna-dashboard`` as it is. On
PostgreSQL (several machines) the same journal lives in one table (`sweeps.database.TableJournal`),
and other database URLs (sqlite, mysql) use Optuna's RDB storage. Every storage a sweep opens can
group writes: inside ``grouped_writes(storage)`` the ~120 records that finish one trial
(learning curve, diagnosis, state) become one locked, fsynced journal append (`SweepJournal`),
one insert of rows (`TableJournal`; both on Optuna's public `BaseJournalBackend`), or one
database transaction (`sweeps.database.GroupedRDBStorage`). A group is all or nothing: one that raises writes
nothing. A storage that cannot group is refused, never silently written record by record.

Why a journal table on PostgreSQL rather than Optuna's RDB schema: the RDB storage spends a
statement on every attribute and parameter, and rereads running trials table by table (~200
round trips a trial), while a journal trial is a few inserts and cheap reads of new rows
(benchmarks/README.md has the figures for several drivers).

A file is written only once it is known to be a journal: empty, or every complete line a
JSON record of Optuna's journal format. A last line without its newline (a writer killed
mid-append) is cut off before the next append, and only when it follows a journal record.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from optuna.storages import BaseStorage, JournalStorage
from optuna.storages.journal import BaseJournalBackend, JournalFileOpenLock

from sweeps.masking import mask

JOURNAL_NAME = "journal.log"
LOCK_GRACE_SECONDS = 10
"""Without flock: a journal write holds the lock for about a millisecond; a lock this old belongs to a dead writer."""
RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
POSTGRES_DRIVERS = (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2"))
"""What a bare ``postgresql://`` URL is given to: the first of these drivers that is installed."""
POSTGRES_INSTALL = "pip install 'psycopg[binary]'"
SCHEMA_ATTEMPTS = 5
CONNECT_TIMEOUT = 10
"""Seconds before an unreachable database server is reported as such."""
TAIL_BLOCK = 4096


class StorageError(ValueError):
    """A storage that cannot be opened or written: malformed URL, unreachable server, a file that is not a journal."""


# --- journals -----------------------------------------------------------------------------------


class GroupedJournal(BaseJournalBackend):
    """A journal backend whose appends can be grouped: inside ``grouped()`` this thread's appends are held,
    then written together by ``write`` (all or nothing). Subclasses implement ``read_logs`` and ``write``.

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


class FlockLock:
    """An exclusive ``flock`` on the file ``path``, which the kernel releases when its holder dies.

    Optuna's lock files (``JournalFileOpenLock``) outlive a writer killed while it holds one
    (SIGKILL during an append), and every other writer then waits out their grace period.
    Each acquire opens the file anew, so threads of one process exclude each other too.
    """

    def __init__(self, path: str):
        self.path = path
        self.local = threading.local()

    def acquire(self) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.local.fd = fd
        return True

    def release(self) -> None:
        import fcntl

        fd, self.local.fd = self.local.fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def journal_lock(path: Path) -> FlockLock | JournalFileOpenLock:
    """The lock of the journal file ``path``: ``flock`` on ``path.flock`` where there is flock, else Optuna's lock file."""
    if importlib.util.find_spec("fcntl") is not None:
        return FlockLock(f"{path}.flock")
    return JournalFileOpenLock(str(path), grace_period=LOCK_GRACE_SECONDS)


class SweepJournal(GroupedJournal):
    """A journal file whose writes can be grouped, which checks it is a journal before writing.

    Parameters
    ----------
    path : the journal file; created empty when missing.

    A group is written under the file lock (contiguous, in order, one fsync).

    ``read_logs`` keeps the byte offset of every record it has read: Optuna reads the journal
    before every storage call (~70 a trial), and most find nothing new, which one ``stat``
    tells without opening the file.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = journal_lock(self.path)
        self.offsets = [0]  # offsets[n]: where record n starts; offsets[-1]: the end of the last complete record
        self.local = threading.local()
        if not self.path.exists():
            open(self.path, "ab").close()
        self.check()

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])

    def not_a_journal(self, what: str) -> StorageError:
        return StorageError(f"{str(self.path)!r} is not an Optuna journal file ({what}); it is left as it is; "
                            f"give --storage a journal file, a new path ending in .log, or a database URL")

    def record(self, line: bytes, number: int | None) -> dict[str, Any]:
        """The journal record of a complete ``line`` (line ``number``, None: the last); StorageError when it is not one."""
        try:
            log = json.loads(line)
        except ValueError:
            log = None
        if not (isinstance(log, dict) and type(log.get("op_code")) is int and isinstance(log.get("worker_id"), str)):
            raise self.not_a_journal("its last complete line is not a journal record" if number is None
                                     else f"line {number + 1} is not a journal record")
        return log

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        known = len(self.offsets) - 1
        start = self.offsets[min(log_number_from, known)]
        size = os.stat(self.path).st_size
        if size == start and log_number_from <= known:
            return
        if size < self.offsets[-1]:  # a torn tail is cut after the last complete record, never before it
            raise self.not_a_journal("it is shorter than the records already read from it")
        with open(self.path, "rb") as f:
            f.seek(start)
            data = f.read(size - start)  # what a writer appends meanwhile is read next time
        number, pos = min(log_number_from, known), 0
        while (end := data.find(b"\n", pos)) >= 0:  # a last piece without its newline is torn or still being written
            log = self.record(data[pos:end + 1], number)
            if number == len(self.offsets) - 1:
                self.offsets.append(start + end + 1)
            if number >= log_number_from:
                yield log
            number, pos = number + 1, end + 1

    def write(self, logs: list[dict[str, Any]]) -> None:
        """Append ``logs`` under the lock, after checking the file (and cutting a torn tail)."""
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode("utf-8")
        self.lock.acquire()
        try:
            with open(self.path, "rb+") as f:
                self.check_tail(f, repair=True)
                f.seek(0, os.SEEK_END)
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        finally:
            self.lock.release()

    def check(self) -> None:
        """Refuse a file whose end is not a journal's (its complete lines are checked as they are read)."""
        try:
            with open(self.path, "rb") as f:
                self.check_tail(f, repair=False)
        except StorageError:
            # A lone unterminated line may be another driver's first record, being written: look again under the lock.
            self.lock.acquire()
            try:
                with open(self.path, "rb") as f:
                    self.check_tail(f, repair=False)
            finally:
                self.lock.release()

    def check_tail(self, f, *, repair: bool) -> None:
        """Check that the last complete line of ``f`` is a journal record; with ``repair``, cut a torn tail after it."""
        end = f.seek(0, os.SEEK_END)
        if end == 0:
            return
        f.seek(end - 1)
        complete = f.read(1) == b"\n"
        tail = end if complete else _line_start(f, end)
        if tail == 0:
            raise self.not_a_journal("no complete line")
        last = _line_start(f, tail - 1)
        f.seek(last)
        self.record(f.read(tail - last), None)
        if repair and not complete:
            f.truncate(tail)


def _line_start(f, end: int) -> int:
    """The offset just after the last newline before ``end`` in ``f``; 0 when there is none."""
    pos = end
    while pos > 0:
        start = max(0, pos - TAIL_BLOCK)
        f.seek(start)
        nl = f.read(pos - start).rfind(b"\n")
        if nl >= 0:
            return start + nl + 1
        pos = start
    return 0


class Grouped:
    """A storage whose writes can be grouped: ``grouped()`` (all or nothing) and ``where`` (for messages)."""

    where: str

    def grouped(self) -> contextlib.AbstractContextManager:
        raise NotImplementedError


class GroupedJournalStorage(JournalStorage, Grouped):
    """Optuna's JournalStorage on a `GroupedJournal`: ``grouped()`` makes the writes inside one append."""

    def __init__(self, journal: GroupedJournal, where: str):
        self.journal, self.where = journal, where
        super().__init__(journal)

    def grouped(self) -> contextlib.AbstractContextManager:
        return self.journal.grouped()


def grouped_writes(storage: BaseStorage) -> contextlib.AbstractContextManager:
    """The writes inside, as one journal append or one transaction (all or nothing); a TypeError for other storages."""
    if not isinstance(storage, Grouped):
        raise TypeError(f"{type(storage).__name__} cannot group writes; open the storage with sweeps.storage.open_storage")
    return storage.grouped()


def describe(storage: BaseStorage) -> str:
    """Where a storage lives, for messages and records: the journal path or the URL, password masked."""
    return storage.where if isinstance(storage, Grouped) else type(storage).__name__


# --- opening -----------------------------------------------------------------------------------


def open_storage(url: str | None, out_dir: Path) -> Grouped:
    """The storage a sweep writes: ``url``, or the journal file ``out_dir/journal.log``.

    ``url`` may be a database URL (postgresql://... holds a journal table; sqlite:///...,
    mysql://... Optuna's RDB schema), ``journal:PATH`` or a path ending in ``.log`` for a
    journal file elsewhere. A bare ``postgresql://`` is given to the installed driver (psycopg,
    else psycopg2). Every error is a StorageError, password masked.
    """
    if url is None:
        return _journal(out_dir / JOURNAL_NAME)
    if url.startswith("journal:"):
        return _journal(Path(url[len("journal:"):]))
    if url.endswith(".log") and "://" not in url:
        return _journal(Path(url))
    shown = mask(url)
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if "://" not in url or scheme not in RDB_SCHEMES:
        raise StorageError(f"storage URL {shown!r} is not understood; use an Optuna RDB URL "
                           f"({', '.join(s + '://...' for s in RDB_SCHEMES)}), journal:PATH, or a PATH ending in .log")
    if url.startswith("postgresql://"):
        url = _postgres_driver(shown) + url[len("postgresql"):]
    connect_args = {"connect_timeout": CONNECT_TIMEOUT} if scheme in ("postgresql", "mysql") else {}
    from sweeps.database import GroupedRDBStorage, TableJournal  # SQLAlchemy, only for a database

    if scheme == "postgresql":
        try:
            return GroupedJournalStorage(TableJournal(url, shown, connect_args), shown)
        except StorageError:
            raise
        except Exception as e:  # SQLAlchemy and drivers raise many types; all mean "cannot open"
            raise StorageError(f"cannot open storage {shown!r}: {mask(_first_line(e))}") from None
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return GroupedRDBStorage(url, shown, engine_kwargs={"pool_pre_ping": True, "connect_args": connect_args})
        except Exception as e:  # SQLAlchemy and drivers raise many types; all mean "cannot open"
            first = _first_line(e)
            # Drivers starting together on an empty database race to create Optuna's tables;
            # the losers see "already exists" / "duplicate key" and only need to look again.
            if attempt + 1 < SCHEMA_ATTEMPTS and ("already exists" in first or "duplicate key" in first):
                time.sleep(0.2 * (attempt + 1))
                continue
            raise StorageError(f"cannot open storage {shown!r}: {mask(first)}") from None


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _postgres_driver(shown: str) -> str:
    """The SQLAlchemy dialect+driver for a bare postgresql:// URL: the first installed of POSTGRES_DRIVERS."""
    for module, dialect in POSTGRES_DRIVERS:
        if importlib.util.find_spec(module) is not None:
            return dialect
    raise StorageError(f"cannot open storage {shown!r}: no PostgreSQL driver is installed; {POSTGRES_INSTALL}")


def _journal(path: Path) -> GroupedJournalStorage:
    if not path.parent.is_dir():
        raise StorageError(f"folder {str(path.parent)!r} of journal file does not exist")
    if path.exists() and not path.is_file():
        raise StorageError(f"journal file {str(path)!r} is not a file")
    try:
        return GroupedJournalStorage(SweepJournal(path), str(path))
    except StorageError:
        raise
    except PermissionError:
        raise StorageError(f"journal file {str(path)!r} cannot be written (permission denied)") from None
    except Exception as e:  # a journal whose records do not replay
        raise StorageError(f"journal file {str(path)!r} cannot be read ({type(e).__name__}: {e}); "
                           f"it is left as it is") from None
