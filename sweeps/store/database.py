"""A sweep stored in a database: on PostgreSQL the journal as the rows of one table
(`TableJournal`), elsewhere (sqlite, mysql) Optuna's RDB schema (`GroupedRDBStorage`); both group
writes as :mod:`sweeps.store.factory` says.

Imported by `sweeps.store.factory.open_storage` only for a database URL, so a sweep in a journal
file never imports SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from typing import Any, Iterator

import sqlalchemy
import sqlalchemy.orm
from optuna.storages import RDBStorage

from sweeps.store.grouped import Grouped, GroupedJournal, StorageError


class TableJournal(GroupedJournal):
    """Optuna's journal as the rows of one PostgreSQL table, ``sweeps_journal(seq, log)``; a group
    is one insert.

    Parameters
    ----------
    url : a SQLAlchemy PostgreSQL URL, with its driver.
    where : the URL as shown, password masked.
    connect_args : passed to the driver.

    Record ``n`` is the row whose ``seq`` is ``n``. A writer takes the table's EXCLUSIVE lock
    (plain reads go on) and numbers its rows after the last committed one, so numbers have no
    gaps and commit in order: a reader sees a prefix of the journal, never a record without
    the ones before it. The table is created under a lock when missing; one of that name
    with other columns is refused, untouched.

    Optuna reads the journal before every storage call (~100 a trial), each a round trip
    here: a read within ``FRESH_SECONDS`` of the last one is answered "nothing new" without
    asking, unless this process wrote since. So its own records are seen at once, other
    drivers' at most that late, as if they had written a moment later.
    """

    TABLE = "sweeps_journal"
    COLUMNS = {"seq", "log"}
    FRESH_SECONDS = 0.05

    def __init__(self, url: str, where: str, connect_args: dict[str, Any]):
        self.url, self.where, self.connect_args = url, where, connect_args
        self.local = threading.local()
        self.engine = sqlalchemy.create_engine(url, connect_args=connect_args)
        self.reads = self.engine.execution_options(
            isolation_level="AUTOCOMMIT"
        )  # no BEGIN, no ROLLBACK: one trip
        self.fresh_until = 0.0
        metadata = sqlalchemy.MetaData()
        self.table = sqlalchemy.Table(
            self.TABLE,
            metadata,
            sqlalchemy.Column("seq", sqlalchemy.BigInteger, primary_key=True, autoincrement=False),
            sqlalchemy.Column("log", sqlalchemy.Text, nullable=False),
        )
        with self.engine.begin() as conn:
            conn.execute(
                sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY}
            )
            inspector = sqlalchemy.inspect(conn)
            columns = (
                {c["name"] for c in inspector.get_columns(self.TABLE)}
                if inspector.has_table(self.TABLE)
                else self.COLUMNS
            )
            if columns != self.COLUMNS:
                raise StorageError(
                    f"table {self.TABLE!r} in {where!r} is not a sweeps journal "
                    f"(columns {', '.join(sorted(columns))}); it is left as it is"
                )
            metadata.create_all(conn, checkfirst=True)
        self.next_seq = sqlalchemy.select(
            sqlalchemy.func.coalesce(sqlalchemy.func.max(self.table.c.seq) + 1, 0)
        )
        self.lock = sqlalchemy.text(f"LOCK TABLE {self.TABLE} IN EXCLUSIVE MODE")

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "where": self.where, "connect_args": self.connect_args}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        now = time.monotonic()
        if now < self.fresh_until:
            return
        table = self.table
        with self.reads.connect() as conn:
            rows = conn.execute(
                sqlalchemy.select(table.c.seq, table.c.log)
                .where(table.c.seq >= log_number_from)
                .order_by(table.c.seq)
            ).all()
        self.fresh_until = now + self.FRESH_SECONDS
        for expected, (seq, log) in enumerate(rows, log_number_from):
            if (
                seq != expected
            ):  # never by the writers' lock; stop at a gap rather than skip a record
                return
            yield json.loads(log)

    def write(self, logs: list[dict[str, Any]]) -> None:
        """Insert ``logs`` as the next rows, in one transaction under the table's lock."""
        self.fresh_until = 0.0  # whatever happens, the next read asks
        with self.engine.begin() as conn:
            conn.execute(self.lock)
            first = conn.execute(self.next_seq).scalar_one()
            conn.execute(
                self.table.insert(),
                [
                    {"seq": first + i, "log": json.dumps(log, separators=(",", ":"))}
                    for i, log in enumerate(logs)
                ],
            )


SCHEMA_LOCK_KEY = int.from_bytes(b"sweepsJ1", "big") >> 1
"""The advisory lock under which drivers starting together look for the journal table and create
it."""


class GroupedRDBStorage(RDBStorage, Grouped):
    """Optuna's RDBStorage whose ``grouped()`` makes the writes inside one transaction.

    Inside the group this thread's sessions are bound to one connection whose transaction is
    committed at the end (each of Optuna's own commits inside only releases a savepoint, so a
    write Optuna lets fail, such as two drivers setting one study attribute, stays harmless),
    through the storage's public ``engine`` and ``scoped_session``; other threads (the
    heartbeat) keep their own sessions. Any error inside rolls the whole group back.

    A trial's learning curve (~100 intermediate values, each three statements through
    Optuna) is written at the end of the group as one insert into Optuna's
    ``trial_intermediate_values`` table, read back by Optuna as it wrote it. Whether the trial
    may still be written is checked by the group's other writes (its attributes, its state):
    one that fails rolls the values back with the rest.
    """

    def __init__(self, url: str, where: str, **kwargs):
        super().__init__(url, **kwargs)
        self.where = where
        self.local = threading.local()
        self.values_table: sqlalchemy.Table | None = None

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state.pop("local", None)
        state["values_table"] = None
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self.local = threading.local()

    def set_trial_intermediate_value(
        self, trial_id: int, step: int, intermediate_value: float
    ) -> None:
        held = getattr(self.local, "values", None)
        if held is None:
            super().set_trial_intermediate_value(trial_id, step, intermediate_value)
        else:
            held.setdefault(trial_id, {})[step] = intermediate_value

    def write_values(self, conn: sqlalchemy.Connection, held: dict[int, dict[int, float]]) -> None:
        """Write the held intermediate values of each trial, as Optuna stores them, in two
        statements a trial."""
        if self.values_table is None:
            self.values_table = sqlalchemy.Table(
                "trial_intermediate_values", sqlalchemy.MetaData(), autoload_with=conn
            )
        table = self.values_table
        for trial_id, steps in held.items():
            conn.execute(
                table.delete().where(table.c.trial_id == trial_id, table.c.step.in_(list(steps)))
            )
            conn.execute(
                table.insert(),
                [
                    {"trial_id": trial_id, "step": step, **_stored_value(v)}
                    for step, v in steps.items()
                ],
            )

    @contextlib.contextmanager
    def grouped(self) -> Iterator[None]:
        if getattr(self.local, "values", None) is not None:  # nested: the outer group writes
            yield
            return
        with self.engine.connect() as conn:
            transaction = conn.begin()
            mode = JOIN_MODES.get(self.engine.dialect.name, "create_savepoint")
            session = sqlalchemy.orm.Session(bind=conn, join_transaction_mode=mode)
            self.scoped_session.registry.set(session)
            self.local.values = {}
            try:
                yield
                held, self.local.values = self.local.values, None
                self.write_values(conn, held)
            except BaseException:
                transaction.rollback()
                raise
            else:
                transaction.commit()
            finally:
                self.local.values = None
                session.close()
                self.scoped_session.registry.clear()


def _stored_value(value: float) -> dict[str, Any]:
    """An intermediate value as Optuna's table holds it: the float, or None and the kind of
    non-finite value."""
    if math.isnan(value):
        return {"intermediate_value": None, "intermediate_value_type": "NAN"}
    if math.isinf(value):
        return {
            "intermediate_value": None,
            "intermediate_value_type": "INF_POS" if value > 0 else "INF_NEG",
        }
    return {"intermediate_value": float(value), "intermediate_value_type": "FINITE"}


JOIN_MODES = {"sqlite": "rollback_only"}
"""How a group's sessions join its transaction, where not by savepoints: pysqlite commits at the
release of an outermost savepoint (SQLAlchemy documents it), so on SQLite Optuna's commits inside a
group only flush."""
