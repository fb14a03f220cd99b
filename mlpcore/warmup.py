"""Readying the compiled kernel once per process, and compiling it once per machine.

numba compiles ``kernels.py`` on a process's first fit, or loads it from its on-disk cache.
A sweep starts several worker processes at once: without coordination each would compile the
same kernel at the same time, on the same cores. ``warm_up`` makes them take turns under a
machine-wide lock file until the cache is filled, then lets every later process load it
without waiting.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zlib

import numpy as np

from mlpcore.config import MLPConfig
from mlpcore.train import fit


def warm_up() -> str:
    """Make this process's first fit fast: load the compiled kernel, or compile it. Returns the backend "auto" gets.

    Processes that start together on a fresh machine (a sweep's workers) take turns, under a
    lock file: the first compiles and fills numba's cache, the others then load it instead of
    all compiling at once, each slowed by the others on shared cores. Once the
    cache is filled for this kernel source, the lock file says so, and later processes load
    it side by side without waiting for each other.
    """
    try:
        from mlpcore import kernels
    except ImportError:
        return "numpy"
    lock = _lock_path(kernels.__file__)
    stamp = _source_stamp(kernels.__file__)
    if _read_text(lock) == stamp:
        _first_fit()
    else:
        with _machine_lock(lock) as f:
            _first_fit()
            if f is not None:
                f.truncate(0)
                f.write(stamp)
    return "numba"


def _first_fit() -> None:
    x = np.linspace(0.0, 1.0, 4)
    fit(MLPConfig(hidden=(2,), steps=2, backend="numba"), x, x)


def _lock_path(source: str) -> str:
    """The lock file of the compiled kernel from ``source`` cached where numba caches now: one per installed copy
    of mlpcore and ``NUMBA_CACHE_DIR`` (a fresh cache folder is an empty cache, whatever another folder holds)."""
    import numba

    key = f"{source}\0{numba.config.CACHE_DIR}"
    return os.path.join(tempfile.gettempdir(), f"mlpcore-kernel-{zlib.crc32(key.encode()):08x}.lock")


def _source_stamp(path: str) -> str:
    """What numba's cache of a source file is valid for: the numba version and the file's size and time."""
    import numba

    st = os.stat(path)
    return f"numba {numba.__version__} {path} {st.st_size} {st.st_mtime_ns}"


def _read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


@contextlib.contextmanager
def _machine_lock(path: str):
    """An exclusive lock on the file ``path``, shared by this machine's processes; yields the file (open for
    appending), or None where there is no lock (no fcntl, or the file cannot be opened)."""
    try:
        import fcntl
    except ImportError:
        yield None
        return
    try:
        f = open(path, "a")
    except OSError:  # e.g. another user's lock file: go on unlocked, as without fcntl
        yield None
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield f
        finally:
            f.flush()
            fcntl.flock(f, fcntl.LOCK_UN)
