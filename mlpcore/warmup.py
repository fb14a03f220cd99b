"""Readying the compiled kernel once per process, and compiling it once per machine.

numba compiles ``kernels.py`` on a process's first fit, or loads it from its on-disk cache.
A sweep starts several worker processes at once: without coordination each would compile the
same kernel at the same time, on the same cores. ``warm_up`` makes them share the compile under
machine-wide lock files until the cache is filled, then lets every later process load it
without waiting.

A process that is about to compile says so first, in one line on the ``mlpcore.warmup`` logger (WARNING, so
that Python shows it without any logging set up): ``COMPILING``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import zlib

import numpy as np

from mlpcore.config import MLPConfig
from mlpcore.train import before_first_kernel_run, fit

logger = logging.getLogger(__name__)

COMPILING = "compiling the training kernel once, about 15 s; cached for later runs"
"""What a process says before it compiles the kernel (only the first, on a fresh cache)."""

_ready = False  # this process has warmed up (or is warming up): fit() does it once, before its first kernel run
_said = False  # this process said COMPILING: once is enough


def compiled() -> bool:
    """Whether the kernel's on-disk cache is known to be filled for this source and numba (no compile ahead)."""
    try:
        from mlpcore import kernels
    except ImportError:
        return True  # no kernel, nothing to compile: fits run on NumPy
    return _read_text(_lock_path(kernels.__file__)) == _source_stamp(kernels.__file__)


def announce() -> bool:
    """Say ``COMPILING`` when the kernel is not compiled yet (a sweep's driver, before its workers compile it);
    returns whether it said so."""
    if compiled():
        return False
    _say()
    return True


def _say() -> None:
    global _said
    if not _said:
        logger.warning(COMPILING)
        _said = True


def _warm_up_once() -> None:
    """A process's first fit on the kernel warms up first, unless it is warming up or has (``warm_up``)."""
    if not _ready:
        warm_up()


def warm_up(*, quiet: bool = False) -> str:
    """Make this process's first fit fast: load the compiled kernel, or compile it. Returns the backend "auto" gets.

    Processes that start together on a fresh machine (a sweep's workers) share the compile. The
    first takes the kernel's lock file and compiles the kernel's "layers" part; the second, finding
    it taken, compiles the "paths" part meanwhile under a lock file of its own (each part holds a
    training loop: ``kernels.TRAINERS``). The first then waits for the paths and loads them; the
    second waits for the layers and loads them. Further processes wait to load it all. Once the
    cache is filled for this kernel source, the kernel's lock file says so, and later processes
    load it side by side without waiting for each other.

    quiet : do not say ``COMPILING`` (the sweep's driver said it for its workers).
    """
    global _ready
    _ready = True
    try:
        from mlpcore import kernels
    except ImportError:
        return "numpy"
    lock = _lock_path(kernels.__file__)
    stamp = _source_stamp(kernels.__file__)
    if _read_text(lock) == stamp:
        _first_fit()
        return "numba"
    with _machine_lock(lock, wait=False) as f:
        if f is not False:  # this process compiles the kernel (or there is no lock to take turns under)
            _compile(kernels, lock, f, stamp, quiet)
            return "numba"
    with _machine_lock(_paths_lock(lock), wait=False) as g:  # another compiles it: help, unless a third does
        if g:
            kernels.compile_part("paths")
    with _machine_lock(lock) as f:  # then load what it compiled (or compile it, if it died)
        _compile(kernels, lock, f, stamp)
    return "numba"


def _compile(kernels, lock: str, f, stamp: str, quiet: bool = True) -> None:
    """Compile (or load) the kernel in its parts, holding its lock file ``f`` (None: no lock), and stamp it;
    or only load it, when another process stamped it meanwhile. Unless ``quiet``, say ``COMPILING`` first."""
    if _read_text(lock) == stamp:
        _first_fit()
        return
    if not quiet:
        _say()
    kernels.compile_part("layers")
    with _machine_lock(_paths_lock(lock)):  # waits while another process compiles the paths
        kernels.compile_part("paths")
    _first_fit()
    if f:
        f.truncate(0)
        f.write(stamp)


def _first_fit() -> None:
    x = np.linspace(0.0, 1.0, 4)
    fit(MLPConfig(hidden=(2,), steps=2, backend="numba"), x, x)


def _lock_path(source: str) -> str:
    """The lock file of the compiled kernel from ``source`` cached where numba caches now: one per installed copy
    of mlpcore and ``NUMBA_CACHE_DIR`` (a fresh cache folder is an empty cache, whatever another folder holds)."""
    import numba

    key = f"{source}\0{numba.config.CACHE_DIR}"
    return os.path.join(tempfile.gettempdir(), f"mlpcore-kernel-{zlib.crc32(key.encode()):08x}.lock")


def _paths_lock(lock: str) -> str:
    """The lock file of the kernel's "paths" part, beside the kernel's own ``lock``."""
    return lock.removesuffix(".lock") + ".paths.lock"


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
def _machine_lock(path: str, wait: bool = True):
    """An exclusive lock on the file ``path``, shared by this machine's processes; yields the file (open for
    appending) while this process holds it, None where there is no lock (no fcntl, or the file cannot be
    opened), and False at once, without the lock, when ``wait`` is false and another process holds it."""
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
        try:
            fcntl.flock(f, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield f
        finally:
            f.flush()
            fcntl.flock(f, fcntl.LOCK_UN)


before_first_kernel_run(_warm_up_once)
