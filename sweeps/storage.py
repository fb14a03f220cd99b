"""Where a sweep is stored: an Optuna journal file by default, any Optuna storage URL on request.

The default journal file needs no server and is read by ``optuna-dashboard`` as it is. Its
one cost is an fsync per write; `GroupedJournalFileBackend` lets the driver append the ~120
records that finish one trial (learning curve, diagnosis, state) in a single locked, fsynced
write, so tracking everything costs about as much as tracking nothing.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

JOURNAL_NAME = "journal.log"
RDB_SCHEMES = ("sqlite", "postgresql", "mysql")


class GroupedJournalFileBackend(JournalFileBackend):
    """A journal file whose writes can be grouped: inside ``grouped()`` they are held, then
    appended together under one lock (the records stay contiguous, in order).

    Only writes that need no answer from the journal may be grouped (values, attributes,
    params of a trial that exists); creating a study or trial reads its id back, so it is
    never grouped. Outside ``grouped()`` every write goes straight to the file, as usual.
    """

    def __init__(self, file_path: str):
        # An O_EXCL lock file works on any local file system, and in a folder that a
        # symlink-based lock could not use.
        super().__init__(file_path, lock_obj=JournalFileOpenLock(file_path))
        self._held: list[dict[str, Any]] | None = None

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        if self._held is not None:
            self._held.extend(logs)
        else:
            super().append_logs(logs)

    @contextlib.contextmanager
    def grouped(self) -> Iterator[None]:
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            if held:
                super().append_logs(held)


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
    try:
        return RDBStorage(url, engine_kwargs={"pool_pre_ping": True}, heartbeat_interval=None)
    except Exception as e:  # SQLAlchemy and drivers raise many types; all mean "cannot open"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
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

