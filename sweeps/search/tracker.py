"""loky's resource tracker, started by this process with its stderr closed, again so if killed.

loky registers the semaphores of its executors with a resource tracker, a process of its own
that unlinks them should every process using them die. Killed (SIGKILL), the tracker is started
again by loky at the next message this process sends it: when an executor is made or ends, at
the latest at exit, as each semaphore is released. The new tracker never heard of those
semaphores, so it prints a ``KeyError`` traceback for each, on the stderr it shares with this
process, and loky warns that the tracker died. Yet nothing is lost: each semaphore is unlinked by
its own finalizer before the tracker is told.

So :func:`ensure_quiet`, called before those moments (by `sweeps.search.pool`), starts the
tracker itself whenever it is not running, with /dev/null as its stderr, through loky's
``resource_tracker.ensure_running``; loky then finds a tracker running and starts none.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import warnings
from typing import Iterator

from loky.backend import resource_tracker

from sweeps.search.deaths import running_child

COMMAND = f"from {resource_tracker.__name__} import main".encode()
"""What the tracker's command line holds (``python -c "from loky.backend.resource_tracker import
main; ..."``), and that of joblib's copy of loky does not."""

RELAUNCH_WARNING = "resource_tracker: process died unexpectedly"
"""The start of loky's warning when it finds its tracker dead: noise, as the tracebacks are."""

_tracker: int | None = None
"""The pid of the tracker :func:`ensure_quiet` last found running, a child of ``_owner``."""
_owner: int | None = None
"""The process that called :func:`ensure_quiet` first (a forked child has no tracker to keep)."""


def ensure_quiet() -> None:
    """Make sure loky's resource tracker runs; where it does not (never started, or killed), start
    it now, with its stderr at /dev/null and loky's warning that the last one died unsaid."""
    global _tracker, _owner
    if _owner is None:
        _owner = os.getpid()
        # atexit runs the last first: this before multiprocessing's exit handler, which releases
        # the semaphores left
        atexit.register(ensure_quiet)
    if os.getpid() != _owner or (_tracker is not None and running_child(_tracker)):
        return
    with warnings.catch_warnings(), _stderr_closed():
        warnings.filterwarnings("ignore", message=RELAUNCH_WARNING)
        resource_tracker.ensure_running()
    _tracker = next((pid for pid in _children() if COMMAND in _cmdline(pid)), None)


@contextlib.contextmanager
def _stderr_closed() -> Iterator[None]:
    """File descriptor 2 at /dev/null while the block runs, so that a process started in it
    inherits that (left as it is where there is none)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _children() -> list[int]:
    """This process's children, from /proc (Linux)."""
    pids, entries = [], []
    with contextlib.suppress(OSError):
        entries = os.listdir("/proc")
    for entry in entries:
        if entry.isdigit() and running_child(int(entry)):
            pids.append(int(entry))
    return pids


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
