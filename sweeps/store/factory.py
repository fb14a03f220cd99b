"""Where a sweep is stored, and how its writes are grouped: a journal file by default, a database on
request.

The default journal file needs no server and is read by ``optuna-dashboard`` as it is. On PostgreSQL
(several machines) the same journal lives in one table (`sweeps.store.database.TableJournal`), and
other database URLs (sqlite, mysql) use Optuna's RDB storage. Every storage a sweep opens can group
writes: inside ``grouped_writes(storage)`` the ~120 records that finish one trial (learning curve,
diagnosis, state) become one locked, fsynced journal append (`SweepJournal`), one insert of rows
(`TableJournal`; both on Optuna's public `BaseJournalBackend`), or one database transaction
(`sweeps.store.database.GroupedRDBStorage`). A group is all or nothing: one that raises writes
nothing. A storage that cannot group is refused, never silently written record by record.

Why a journal table on PostgreSQL rather than Optuna's RDB schema: the RDB storage spends a
statement on every attribute and parameter, and rereads running trials table by table (~200
round trips a trial), while a journal trial is a few inserts and cheap reads of new rows
(benchmarks/README.md has the figures for several drivers).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from sweeps.store.grouped import Grouped, GroupedJournalStorage, StorageError
from sweeps.store.journal import SweepJournal
from sweeps.store.masking import mask, remember

JOURNAL_NAME = "journal.log"
RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
POSTGRES_DRIVERS = (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2"))
"""What a bare ``postgresql://`` URL is given to: the first of these drivers that is installed."""
POSTGRES_INSTALL = "pip install 'psycopg[binary]'"
SCHEMA_ATTEMPTS = 5
CONNECT_TIMEOUT = 10
"""Seconds before an unreachable database server is reported as such."""


def open_storage(url: str | None, out_dir: Path) -> Grouped:
    """The storage a sweep writes: ``url``, or the journal file ``out_dir/journal.log``.

    ``url`` may be a database URL (postgresql://... holds a journal table; sqlite:///...,
    mysql://... Optuna's RDB schema), ``journal:PATH`` or a path ending in ``.log`` for a
    journal file elsewhere. A bare ``postgresql://`` is given to the installed driver (psycopg,
    else psycopg2). Every error is a StorageError, password masked.
    """
    remember(url)  # its password is masked in any text from now on, whatever form an error gives it
    if url is None:
        return _journal(out_dir / JOURNAL_NAME)
    if url.startswith("journal:"):
        return _journal(Path(url[len("journal:") :]))
    if url.endswith(".log") and "://" not in url:
        return _journal(Path(url))
    shown = mask(url)
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if "://" not in url or scheme not in RDB_SCHEMES:
        raise StorageError(
            f"storage URL {shown!r} is not understood; use an Optuna RDB URL "
            f"({', '.join(s + '://...' for s in RDB_SCHEMES)}), journal:PATH, or a PATH ending in "
            ".log"
        )
    if url.startswith("postgresql://"):
        url = _postgres_driver(shown) + url[len("postgresql") :]
    connect_args = {"connect_timeout": CONNECT_TIMEOUT} if scheme in ("postgresql", "mysql") else {}
    # Imported here, not at the top, to save start-up time: a journal file never needs SQLAlchemy, a
    # slow import.
    from sweeps.store.database import GroupedRDBStorage, TableJournal

    if scheme == "postgresql":
        try:
            return GroupedJournalStorage(TableJournal(url, shown, connect_args), shown)
        except StorageError:
            raise
        except Exception as e:  # SQLAlchemy and drivers raise many types; all mean "cannot open"
            raise StorageError(f"cannot open storage {shown!r}: {mask(_first_line(e))}") from None
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return GroupedRDBStorage(
                url, shown, engine_kwargs={"pool_pre_ping": True, "connect_args": connect_args}
            )
        except Exception as e:  # SQLAlchemy and drivers raise many types; all mean "cannot open"
            first = _first_line(e)
            # Drivers starting together on an empty database race to create Optuna's tables;
            # the losers see "already exists" / "duplicate key" and only need to look again.
            if attempt + 1 < SCHEMA_ATTEMPTS and (
                "already exists" in first or "duplicate key" in first
            ):
                time.sleep(0.2 * (attempt + 1))
                continue
            raise StorageError(f"cannot open storage {shown!r}: {mask(first)}") from None


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _postgres_driver(shown: str) -> str:
    """The SQLAlchemy dialect+driver for a bare postgresql:// URL: the first installed of
    POSTGRES_DRIVERS."""
    for module, dialect in POSTGRES_DRIVERS:
        if importlib.util.find_spec(module) is not None:
            return dialect
    raise StorageError(
        f"cannot open storage {shown!r}: no PostgreSQL driver is installed; {POSTGRES_INSTALL}"
    )


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
        raise StorageError(
            f"journal file {str(path)!r} cannot be written (permission denied)"
        ) from None
    except Exception as e:  # a journal whose records do not replay
        raise StorageError(
            f"journal file {str(path)!r} cannot be read ({type(e).__name__}: {e}); "
            f"it is left as it is"
        ) from None
