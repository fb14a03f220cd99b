"""The default storage: an Optuna journal file, written under ``flock``, checked before it is
written.

A file is written only once it is known to be a journal: empty, or every complete line a
JSON record of Optuna's journal format. A last line without its newline (a writer killed
mid-append) is cut off before the next append, and only when it follows a journal record.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from optuna.storages.journal import JournalFileOpenLock

from sweeps.store.grouped import GroupedJournal, StorageError

LOCK_GRACE_SECONDS = 10
"""Without flock: a journal write holds the lock for about a millisecond; a lock this old belongs
to a dead writer."""
TAIL_BLOCK = 4096
JOURNAL_OPS = range(11)
"""The record kinds (``op_code``) of Optuna's journal format that this Optuna replays: from 0
(create a study) to 10 (discard trials). Another is refused with a line that says so, not left to
the replay's bare AssertionError."""


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
    """The lock of the journal file ``path``: ``flock`` on ``path.flock`` where there is flock,
    else Optuna's lock file."""
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
        self.offsets = [
            0
        ]  # offsets[n]: where record n starts; offsets[-1]: the end of the last complete record
        self.local = threading.local()
        if not self.path.exists():
            open(self.path, "ab").close()
        self.check()

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])

    def not_a_journal(self, what: str) -> StorageError:
        return StorageError(
            f"{str(self.path)!r} is not an Optuna journal file ({what}); it is left as it is; "
            f"give --storage a journal file, a new path ending in .log, or a database URL"
        )

    def record(self, line: bytes, number: int | None) -> dict[str, Any]:
        """The journal record of a complete ``line`` (line ``number``, None: the last);
        StorageError when it is not one."""
        try:
            log = json.loads(line)
        except ValueError:
            log = None
        if not (
            isinstance(log, dict)
            and type(log.get("op_code")) is int
            and isinstance(log.get("worker_id"), str)
        ):
            raise self.not_a_journal(
                "its last complete line is not a journal record"
                if number is None
                else f"line {number + 1} is not a journal record"
            )
        if log["op_code"] not in JOURNAL_OPS:
            where = "its last complete line" if number is None else f"line {number + 1}"
            raise StorageError(
                f"{str(self.path)!r} holds a record this Optuna cannot read ({where}: op_code "
                f"{log['op_code']}, perhaps from a newer Optuna); it is left as it is; read it "
                "with the "
                f"Optuna that wrote it (pip install -U optuna), or give --storage another journal"
            )
        return log

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        known = len(self.offsets) - 1
        start = self.offsets[min(log_number_from, known)]
        size = os.stat(self.path).st_size
        if size == start and log_number_from <= known:
            return
        if (
            size < self.offsets[-1]
        ):  # a torn tail is cut after the last complete record, never before it
            raise self.not_a_journal("it is shorter than the records already read from it")
        with open(self.path, "rb") as f:
            f.seek(start)
            data = f.read(size - start)  # what a writer appends meanwhile is read next time
        number, pos = min(log_number_from, known), 0
        while (
            end := data.find(b"\n", pos)
        ) >= 0:  # a last piece without its newline is torn or still being written
            log = self.record(data[pos : end + 1], number)
            if number == len(self.offsets) - 1:
                self.offsets.append(start + end + 1)
            if number >= log_number_from:
                yield log
            number, pos = number + 1, end + 1

    def write(self, logs: list[dict[str, Any]]) -> None:
        """Append ``logs`` under the lock, after checking the file (and cutting a torn tail)."""
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode(
            "utf-8"
        )
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
        """Refuse a file whose end is not a journal's (its complete lines are checked as they are
        read)."""
        try:
            with open(self.path, "rb") as f:
                self.check_tail(f, repair=False)
        except StorageError:
            # A lone unterminated line may be another driver's first record, being written: look
            # again under the lock.
            self.lock.acquire()
            try:
                with open(self.path, "rb") as f:
                    self.check_tail(f, repair=False)
            finally:
                self.lock.release()

    def check_tail(self, f, *, repair: bool) -> None:
        """Check that the last complete line of ``f`` is a journal record; with ``repair``, cut a
        torn tail after it."""
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
