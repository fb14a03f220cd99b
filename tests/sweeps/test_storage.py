"""The sweep's storage: Optuna's storage contract, files that are not journals left alone, torn tails healed,
grouped writes all or nothing, driver liveness, PostgreSQL with a password that never shows, the README's commands."""

import hashlib
import importlib.util
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.storages import InMemoryStorage
from optuna.testing.pytest_storages import StorageTestCase
from optuna.trial import TrialState

from sweeps.store.liveness import HOST, Driver, DriverInfo, _process_start
from sweeps.store.records import Stop, stop_reason
from sweeps.store.database import TableJournal
from sweeps.store.grouped import StorageError, grouped_writes
from sweeps.store.journal import SweepJournal
from sweeps.store.factory import open_storage

import pgcluster
from conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(op: int = 0, **fields) -> str:
    return json.dumps({"op_code": op, "worker_id": "w-1", **fields}) + "\n"


CREATE_STUDY = record(0, study_name="s", directions=[1])


# --- Optuna's own contract, against the default storage ------------------------------------------


class TestJournalFileContract(StorageTestCase):
    """Every case of Optuna's storage test suite, on the journal file a sweep uses by default."""

    @pytest.fixture
    def storage(self, tmp_path):
        return open_storage(None, tmp_path)


class TestTableJournalContract(StorageTestCase):
    """Every case of Optuna's storage test suite, on the journal table a sweep uses on PostgreSQL."""

    @pytest.fixture
    def storage(self, tmp_path, postgres):
        return open_storage(postgres.create_database(f"contract_{secrets.token_hex(4)}"), tmp_path)


# --- a file that is not a journal is never written ------------------------------------------------


NOT_JOURNALS = {
    "no-newline": b"precious user data, no newline",
    "one-line": b"precious line\n",
    "json-not-a-record": b'{"precious": 1}\n',
    "record-then-text": (CREATE_STUDY + "precious line\n").encode(),
    "text-then-record": ("precious line\n" + CREATE_STUDY).encode(),
}


@pytest.mark.parametrize("content", list(NOT_JOURNALS.values()), ids=list(NOT_JOURNALS))
def test_a_file_that_is_not_a_journal_is_refused_and_left_byte_identical(tmp_path, content):
    path = tmp_path / "a.log"
    path.write_bytes(content)
    before = sha(path)
    with pytest.raises(StorageError, match="is not an Optuna journal file"):
        store = open_storage(str(path), tmp_path)
        optuna.create_study(study_name="x", storage=store)
    assert sha(path) == before


@pytest.mark.parametrize("content", [b"precious user data, no newline", b"precious line\n"], ids=["no-newline", "line"])
def test_run_on_a_file_that_is_not_a_journal_exits_2_with_one_line(tmp_path, tiny_study, content):
    path = tmp_path / "a.log"
    path.write_bytes(content)
    before = sha(path)
    r = run_cli("run", tiny_study, "--jobs", "1", "--storage", str(path), cwd=tmp_path)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "is not an Optuna journal file" in r.stderr
    assert sha(path) == before


def test_a_journal_replaced_by_another_file_after_opening_is_not_written(tmp_path):
    store = open_storage(None, tmp_path)
    opt = optuna.create_study(study_name="s", storage=store)
    (tmp_path / "journal.log").write_bytes(b"precious line\n")
    with pytest.raises(StorageError, match="not an Optuna journal"):
        with grouped_writes(store):
            opt.set_user_attr("k", 1)
    assert (tmp_path / "journal.log").read_bytes() == b"precious line\n"


# --- torn tails --------------------------------------------------------------------------------


def test_a_torn_tail_after_a_record_is_cut_before_the_next_append(tmp_path):
    store = open_storage(None, tmp_path)
    opt = optuna.create_study(study_name="s", storage=store)
    opt.set_user_attr("kept", 1)
    path = tmp_path / "journal.log"
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_code":2,"worker_id":"w","study_id":0,"user_attr":{"lo')  # a writer killed mid-line
    reopened = optuna.load_study(study_name="s", storage=open_storage(None, tmp_path))
    assert reopened.user_attrs == {"kept": 1}
    reopened.set_user_attr("added", 2)
    text = path.read_bytes()
    assert text.startswith(whole) and text.endswith(b"\n") and b'"lo' not in text
    assert optuna.load_study(study_name="s", storage=open_storage(None, tmp_path)).user_attrs == {"kept": 1, "added": 2}


def test_reading_skips_a_torn_tail_and_keeps_the_records_before_it(tmp_path):
    path = tmp_path / "j.log"
    path.write_text(CREATE_STUDY + '{"op_code":2,"wor')
    journal = SweepJournal(path)
    assert [log["op_code"] for log in journal.read_logs(0)] == [0]
    assert list(journal.read_logs(1)) == []


# --- grouped writes ----------------------------------------------------------------------------


HOLD_THE_LOCK = """
import os, signal, sys, time
from pathlib import Path
from sweeps.store.journal import SweepJournal
journal = SweepJournal(Path(sys.argv[1]))
journal.lock.acquire()
print("held", flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)  # killed mid-append: the lock is never released by the writer
time.sleep(60)
"""


@pytest.mark.skipif(importlib.util.find_spec("fcntl") is None,
                    reason="no fcntl: journal_lock falls back to Optuna's lock file, whose grace this test would wait out")
def test_the_journal_lock_excludes_other_writers_and_dies_with_its_holder(tmp_path):
    import fcntl

    path = tmp_path / "journal.log"
    SweepJournal(path)
    for fate in ("hold", "die"):
        child = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(path), fate], stdout=subprocess.PIPE,
                                 text=True, env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)})
        assert child.stdout.readline() == "held\n"
        if fate == "die":
            child.wait()
        with open(f"{path}.flock", "a") as f:
            if fate == "hold":  # a live holder keeps every other writer out
                with pytest.raises(BlockingIOError):
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                child.kill()
                child.wait()
            else:  # a dead one's lock is free at once: no grace period to wait out
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    SweepJournal(path).append_logs([{"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [1]}])
    assert len(list(SweepJournal(path).read_logs(0))) == 1


def test_grouped_journal_writes_are_one_append_and_nothing_when_the_group_raises(tmp_path):
    store = open_storage(None, tmp_path)
    opt = optuna.create_study(study_name="s", storage=store)
    path = tmp_path / "journal.log"
    size = path.stat().st_size
    with grouped_writes(store):
        for i in range(5):
            opt.set_user_attr(f"k{i}", i)
        assert path.stat().st_size == size  # held until the group ends
    assert len(path.read_text().splitlines()) == 1 + 5
    size = path.stat().st_size
    with pytest.raises(RuntimeError):
        with grouped_writes(store):
            opt.set_user_attr("lost", 1)
            raise RuntimeError("killed mid-way")
    assert path.stat().st_size == size
    assert "lost" not in optuna.load_study(study_name="s", storage=open_storage(None, tmp_path)).user_attrs


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An RDB storage (sqlite) and the journal table (PostgreSQL)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
    return request.getfixturevalue("postgres").create_database(f"grouped_{secrets.token_hex(4)}")


def test_grouped_database_writes_are_one_transaction_and_nothing_when_the_group_raises(tmp_path, database_url):
    url = database_url
    store = open_storage(url, tmp_path)
    opt = optuna.create_study(study_name="s", storage=store)
    trial = opt.ask()
    other = open_storage(url, tmp_path)  # another driver's view

    def seen():
        time.sleep(TableJournal.FRESH_SECONDS)  # another driver's records show this late on the journal table
        return other.get_trial(trial_id)

    trial_id = other.get_trial_id_from_study_id_trial_number(other.get_study_id_from_name("s"), trial.number)
    curve = {1: 0.5, 2: float("inf"), 3: float("-inf"), 4: float("nan"), 5: -1e-300}
    with grouped_writes(store):
        trial.set_user_attr("a", 1)
        for step, value in curve.items():
            trial.report(value, step)
        assert seen().user_attrs == {} and seen().intermediate_values == {}
    assert seen().user_attrs == {"a": 1}
    assert json.dumps(seen().intermediate_values) == json.dumps(curve)  # nan == nan, as text
    with pytest.raises(RuntimeError):
        with grouped_writes(store):
            trial.set_user_attr("lost", 1)
            raise RuntimeError("killed mid-way")
    assert "lost" not in seen().user_attrs
    with grouped_writes(store):  # as a sweep tells a trial: its curve, then its state
        trial.report(0.25, 6)
        opt.tell(trial, 1.0)
    assert seen().state == TrialState.COMPLETE and seen().intermediate_values[6] == 0.25


def test_the_journal_table_is_one_insert_a_group_and_shows_its_own_writes_at_once(tmp_path, postgres):
    url = postgres.create_database(f"table_{secrets.token_hex(4)}")
    store, other = open_storage(url, tmp_path), open_storage(url, tmp_path)
    opt = optuna.create_study(study_name="s", storage=store)
    rows = sqlalchemy.create_engine(store.journal.url)

    def count() -> int:
        with rows.connect() as conn:
            return conn.execute(sqlalchemy.text("SELECT count(*) FROM sweeps_journal")).scalar_one()

    before = count()
    with grouped_writes(store):
        for i in range(5):
            opt.set_user_attr(f"k{i}", i)
        assert count() == before
    assert count() == before + 5
    with rows.connect() as conn:  # numbered from 0 without a gap: record n is row n
        assert conn.execute(sqlalchemy.text("SELECT seq FROM sweeps_journal ORDER BY seq")).scalars().all() == list(
            range(before + 5))
    assert opt.user_attrs == {f"k{i}": i for i in range(5)}  # its own writes, at once
    time.sleep(TableJournal.FRESH_SECONDS)  # `other` read the empty table when it opened
    other_view = optuna.load_study(study_name="s", storage=other)
    opt.set_user_attr("late", 1)
    time.sleep(TableJournal.FRESH_SECONDS)
    assert other_view.user_attrs["late"] == 1  # another driver's, within FRESH_SECONDS
    rows.dispose()


def test_a_table_of_the_journal_name_that_is_not_a_journal_is_refused_and_left_alone(tmp_path, postgres):
    url = postgres.create_database(f"theirs_{secrets.token_hex(4)}")
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("CREATE TABLE sweeps_journal (id int, note text)"))
        conn.execute(sqlalchemy.text("INSERT INTO sweeps_journal VALUES (1, 'precious')"))
    with pytest.raises(StorageError, match="'sweeps_journal' in .* is not a sweeps journal .*left as it is"):
        open_storage(url, tmp_path)
    with engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("SELECT id, note FROM sweeps_journal")).all() == [(1, "precious")]
    engine.dispose()


def test_a_storage_that_cannot_group_is_refused():
    with pytest.raises(TypeError, match="cannot group writes"):
        grouped_writes(InMemoryStorage())


# --- driver liveness ---------------------------------------------------------------------------


def test_driver_is_dead_when_it_ended_its_process_is_gone_or_its_heartbeat_is_old():
    now = time.time()
    me = DriverInfo("me", HOST, os.getpid(), _process_start(os.getpid()), now)
    assert not me.is_dead(now)
    assert DriverInfo("me", HOST, os.getpid(), _process_start(os.getpid()), now, ended=True).is_dead(now)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    start = _process_start(gone.pid)
    gone.wait()
    assert DriverInfo("gone", HOST, gone.pid, start, now).is_dead(now)
    assert DriverInfo("reused", HOST, os.getpid(), "not-its-start-time", now).is_dead(now)  # pid reused
    assert not DriverInfo("far", "another-host", 1, "1", now - 30).is_dead(now)
    assert DriverInfo("far", "another-host", 1, "1", now - 61).is_dead(now)



def test_a_trial_its_killed_driver_never_stamped_is_reaped_at_once_unless_another_driver_lives(tmp_path):
    """SIGKILL between ask and stamp leaves a RUNNING trial with no driver: a sweep resumed alone fails it now."""
    store = open_storage(None, tmp_path)
    opt = optuna.create_study(storage=store, study_name="s")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    start = _process_start(gone.pid)
    gone.wait()
    opt.set_user_attr("driver:dead", DriverInfo("dead", HOST, gone.pid, start, time.time()).to_dict())
    orphan = opt.ask()  # the dead driver's: asked, never stamped
    with Driver(opt, store) as me:
        assert [t.number for t in me.stale(opt.get_trials())] == [orphan.number]
        other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            opt.set_user_attr("driver:other", DriverInfo("other", HOST, other.pid, _process_start(other.pid),
                                                         time.time()).to_dict())
            assert me.stale(opt.get_trials()) == []  # the other may be stamping it now: wait out GRACE_SECONDS
        finally:
            other.kill()
            other.wait()
        assert [t.number for t in me.stale(opt.get_trials())] == [orphan.number]
        assert me.reap() == 1
    assert stop_reason(opt.trials[orphan.number]) is Stop.DRIVER_DIED

# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    yield from pgcluster.serve()


def test_list_on_an_unreachable_storage_exits_2_with_one_line(tmp_path):
    r = run_cli("list", "--storage", "postgresql://sweeper:UNREACHABLEPW@127.0.0.1:1/sweeps", cwd=tmp_path)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "cannot open storage" in r.stderr
    assert "UNREACHABLEPW" not in r.stdout + r.stderr and r.stdout == ""


def test_the_password_of_a_postgresql_url_is_never_printed_stored_or_rendered(tmp_path, tiny_study, postgres):
    url = postgres.create_database("secret")
    out = tmp_path / "out"
    unreachable = url.replace(postgres.host, "127.0.0.1:1")
    runs = [
        (0, ["run", tiny_study, "--trials", "2", "--jobs", "1", "--no-report", "--storage", url, "--out", str(out)]),
        (0, ["report", "--all", "--storage", url, "--out", str(out)]),
        (0, ["list", "--storage", url, "--out", str(out)]),
        (0, ["best", tiny_study, "--storage", url, "--out", str(out)]),
        (2, ["best", "nosuch", "--storage", url, "--out", str(out)]),
        (2, ["report", "nosuch", "--storage", url, "--out", str(out)]),
        (2, ["run", tiny_study, "--trials", "2", "--storage", unreachable, "--out", str(out)]),
        (2, ["list", "--storage", unreachable]),
    ]
    printed = []
    for code, args in runs:
        r = run_cli(*args, cwd=tmp_path)
        assert r.returncode == code, (args, r.stderr)
        printed.append(r.stdout + r.stderr)
    assert all("sweeper:***@" in text for text in printed[4:])  # the errors name the storage, masked
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {"report.html", "index.html", "trials.csv", "best.json"} <= {p.name for p in files}
    opt = optuna.load_study(study_name="tiny", storage=open_storage(url, tmp_path))
    # Everything stored: every study and trial attribute, user and system, and every other row.
    stored = subprocess.run([pgcluster.find_bin("pg_dump"), "--data-only", "secret"], env=postgres.env(),
                            capture_output=True, text=True, check=True).stdout
    assert "run:" in stored and len(opt.trials) == 2
    runs_stored = [v for k, v in opt.user_attrs.items() if k.startswith("run:")]
    assert runs_stored and all("sweeper:***@" in r["command"] and "sweeper:***@" in r["storage"] for r in runs_stored)
    password = postgres.password.encode()
    assert [p for p in files if password in p.read_bytes()] == []
    assert postgres.password not in stored
    assert [t for t in printed if postgres.password in t] == []


def readme_block(heading: str) -> str:
    """The bash block under the README's bullet that starts with ``heading``."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(heading):]
    return re.search(r"```bash\n(.*?)```", after, re.S).group(1)


def test_the_readme_postgresql_commands_work_verbatim(tmp_path, postgres):
    block = readme_block("several machines: PostgreSQL")
    # No password on any command line (issue 31): the URL, in SWEEPS_STORAGE, leaves it to libpq (PGPASSWORD here)
    placeholder = "postgresql://USER@DBHOST/sweeps"
    assert block.count(placeholder) == 1 and "--trials 2000" in block and "PASSWORD" not in block.replace(
        "PGPASSWORD", "")
    # The driver it installs is the one a bare postgresql:// URL resolves to.
    package = re.search(r"pip install \"?([A-Za-z0-9_]+)", block).group(1)
    assert sqlalchemy.engine.make_url("postgresql://h/db").get_dialect().driver == package
    # Only the server's address and the budget differ from what the README says (2000 trials and the analysis
    # after them are for a real sweep; test_explain.py covers the analysis).
    url = postgres.url("sweeps").replace(f":{postgres.password}@", "@")
    script = block.replace(placeholder, url).replace("--trials 2000", "--trials 2 --no-explain")
    assert postgres.password not in script
    env = {**postgres.env(), "PATH": f"{Path(sys.executable).parent}:{postgres.env()['PATH']}"}
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "results" / "sqrt" / "report.html").is_file()
    opt = optuna.load_study(study_name="sqrt", storage=open_storage(postgres.url("sweeps"), tmp_path))
    assert len(opt.get_trials(states=(TrialState.COMPLETE,))) == 2
