"""Why a worker process died: what it said on stderr, or the kernel's count of memory kills.

A worker's stderr is a file of its own (:func:`keep_stderr`, its first act), not the terminal it
shares with the driver, where only the command line speaks, in one line. What a dying worker
says (Python's fatal-error dump, the last words of LLVM or a C library, a traceback) is read back
by the driver once the worker is gone (:func:`last_words`), and decides how its tasks end: out of
memory (:func:`out_of_memory`), which stops a sweep with exit code 71, or a crash, which fails
the trial that caused it. A worker the kernel's out-of-memory killer ended (SIGKILL) says
nothing; the kernel's count of such kills (:func:`oom_kills`) tells.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

MEMORY_WORDS = (
    "MemoryError",
    "out of memory",
    "Cannot allocate memory",
    "Memory allocation",
    "failed to map segment",
    "can't start new thread",
    "std::bad_alloc",
)
"""How Python, LLVM (numba's compiler), OpenBLAS, the loader and C++ say memory ran out."""

LAST_BYTES = 16_384
"""What is read of a dead worker's stderr at most: its end, where it said why it died."""

FOLDER_PREFIX = "sweeps-workers-"
"""The start of a stderr folder's name in the temporary directory; the driver's pid follows."""

_folder: Path | None = None
"""The folder of this process's workers' stderr files, made when a pool first needs it."""
_owner: int | None = None


def stderr_folder() -> Path:
    """The folder of this process's workers' stderr files, one a worker, named by its pid; it is
    removed when this process exits, and by the next one when it was killed."""
    global _folder, _owner
    if _folder is None or _owner != os.getpid():
        _remove_orphans(Path(tempfile.gettempdir()))
        _owner = os.getpid()
        _folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{_owner}-"))
        atexit.register(_remove, _folder, _owner)
    return _folder


def _remove(folder: Path, owner: int) -> None:
    if os.getpid() == owner:  # not at the exit of a forked child
        shutil.rmtree(folder, ignore_errors=True)


def _remove_orphans(temp: Path) -> None:
    """The stderr folders of drivers that are gone (killed: their exit handler did not run)."""
    named = re.compile(rf"{re.escape(FOLDER_PREFIX)}(\d+)-")
    with contextlib.suppress(OSError):
        for folder in temp.iterdir():
            owner = named.match(folder.name)
            if owner and not _exists(int(owner[1])):
                shutil.rmtree(folder, ignore_errors=True)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's
        return True
    return True


def keep_stderr(folder: str | os.PathLike) -> None:
    """In a worker: its stderr (file descriptor 2, under ``sys.stderr``) into ``folder/PID``; left
    as it is where that cannot be written."""
    path = os.path.join(folder, str(os.getpid()))
    try:
        os.makedirs(folder, exist_ok=True)  # removed from under its driver (a cleaner of /tmp)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        return
    os.dup2(fd, 2)
    os.close(fd)


def last_words(folder: str | os.PathLike) -> str:
    """What the workers that have ended said on stderr (the end of each one's file); their files
    are removed."""
    said = []
    with contextlib.suppress(OSError):
        for path in Path(folder).iterdir():
            if not path.name.isdigit() or running_child(int(path.name)):
                continue
            with contextlib.suppress(OSError), open(path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - LAST_BYTES))
                said.append(f.read().decode(errors="replace"))
            path.unlink(missing_ok=True)
    return "\n".join(said)


def out_of_memory(words: str) -> str | None:
    """The line of ``words`` that says memory ran out, or None."""
    lines = (line.strip() for line in words.splitlines())
    return next((line for line in lines if any(w in line for w in MEMORY_WORDS)), None)


def last_line(words: str) -> str | None:
    """The line that says most of a crash: Python's fatal error, else the last line (None: none)."""
    lines = [line.strip() for line in words.splitlines() if line.strip()]
    fatal = (line for line in lines if line.startswith("Fatal Python error"))
    return next(fatal, lines[-1] if lines else None)


def oom_kills() -> int | None:
    """How many processes the kernel has killed for lack of memory since it started (``oom_kill``
    in Linux's /proc/vmstat, kills for a cgroup's limit included); None where it does not say."""
    try:
        with open("/proc/vmstat", "rb") as f:
            for line in f:
                if line.startswith(b"oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def running_child(pid: int) -> bool:
    """Whether ``pid`` is a child of this process that still runs (a killed child is a zombie
    until it is reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] not in (b"Z", b"X") and int(fields[1]) == os.getpid()
