"""A throwaway PostgreSQL server on loopback for tests and benchmarks: its own cluster, port and password.

Connections over TCP need a password (scram-sha-256 in pg_hba.conf), as on a real database
host: the tests' role ``sweeper`` has a fresh random one, so a test can look for it in
every output. The superuser ``postgres`` is reached through the cluster's own Unix socket.
The server runs as the ``postgres`` system user when started by root (it refuses root), and
is found through the Debian layout (/usr/lib/postgresql/*/bin) or PATH.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REQUIRE_ENV = "SWEEPS_REQUIRE_POSTGRES"
"""Set (as .ci/run does) to make a missing PostgreSQL a failure instead of a skip."""
ROLE = "sweeper"


def find_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def why_unavailable() -> str | None:
    """None when a server can be started here, else the reason."""
    if find_bin("initdb") is None or find_bin("pg_ctl") is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found; apt-get install postgresql"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed; pip install 'psycopg[binary]'"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to drop to the postgres user"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb + pg_ctl start in a fresh folder; ``url`` of a fresh database; ``stop()`` removes it all.

    ``password`` is the role's; ``host`` is ``127.0.0.1:PORT``.
    """

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="sweeps-pg-"))
        self.port = _free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.password = "pw" + secrets.token_hex(12)
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self._run(find_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8")
        self._run(find_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on", "start")
        self.admin(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{self.password}'")

    def _run(self, *cmd: str) -> None:
        if self.as_root:
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def admin(self, sql: str) -> None:
        """Run ``sql`` as the superuser, through the cluster's Unix socket."""
        import psycopg

        with psycopg.connect(host=str(self.root), port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def url(self, name: str) -> str:
        """The URL of database ``name``, with the role's password, as a user writes it."""
        return f"postgresql://{ROLE}:{self.password}@{self.host}/{name}"

    def create_database(self, name: str) -> str:
        self.admin(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        return self.url(name)

    def env(self) -> dict[str, str]:
        """Environment for libpq's tools (createdb, psql) to reach the server as the role."""
        return {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": ROLE,
                "PGPASSWORD": self.password, "PATH": f"{Path(find_bin('initdb')).parent}:{os.environ['PATH']}"}

    def stop(self) -> None:
        try:
            self._run(find_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            time.sleep(0.1)
            shutil.rmtree(self.root, ignore_errors=True)


def serve():
    """The body of a pytest fixture: a running Cluster, stopped afterwards; a skip when none can start here
    (a failure when REQUIRE_ENV is set, as in CI, so a missing server never passes unseen)."""
    import pytest

    reason = why_unavailable()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{REQUIRE_ENV} is set but {reason}")
        pytest.skip(f"{reason} (set {REQUIRE_ENV}=1 to make this a failure, as .ci/run does)")
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
