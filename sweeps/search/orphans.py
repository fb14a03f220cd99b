"""Worker processes that never outlive their driver, whatever killed it (SIGKILL included).

loky's workers are children of the driver (it starts them itself, with fork + exec) and only
exit after IDLE_SECONDS without a task, so a driver killed outright would leave them behind
for minutes. A worker therefore asks the kernel to kill it when its parent dies
(Linux ``prctl(PR_SET_PDEATHSIG)``), and a watchdog thread checks the parent every
POLL_SECONDS where ``prctl`` is not available or the worker was started by another thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1
"""prctl option: the signal this process gets when the thread that started it ends
(linux/prctl.h)."""

POLL_SECONDS = 1.0
"""How often the watchdog thread looks at the parent."""


def die_with_parent(parent: int) -> None:
    """Make this process end when process ``parent`` (its parent now) ends; end now if it is gone
    already."""
    _parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent:  # it died before the signal was set: nobody will send it
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="parent-watchdog", daemon=True).start()


def _parent_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` when the parent ends; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    """Poll the parent; a new parent means the old one died (orphans are adopted by another
    process)."""
    stop = threading.Event()
    while not stop.wait(POLL_SECONDS):
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
