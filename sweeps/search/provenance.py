"""Who ran a sweep, where, with what: recorded with every run so results can be traced."""

from __future__ import annotations

import getpass
import platform
import socket
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sweeps.store.masking import mask


def run_record(argv: list[str], started: float, where: str, **settings: Any) -> dict[str, Any]:
    """The provenance of one run, as stored in its study: command line and storage (passwords
    masked), start, the run's ``settings`` (trials, jobs, timeouts) and `environment`."""
    return {
        "command": mask(" ".join(argv)),
        "started": iso(started),
        **settings,
        "storage": mask(where),
        **environment(),
    }


def environment() -> dict[str, Any]:
    """Who ran the sweep, where, with what: package versions, git commit, host, user."""
    from importlib import metadata

    versions = {}
    for pkg in ("sweeps-mlpcore", "numpy", "numba", "optuna", "loky", "pandas", "matplotlib"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "python": platform.python_version(),
        "versions": versions,
        "git": git_commit(),
        "host": socket.gethostname(),
        "user": _user(),
        "platform": platform.platform(),
    }


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return None


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")
