"""warm_up: the kernel ready in this process, compiled once per machine under a lock."""

import os

import numpy as np

from mlpcore import MLPConfig, fit


def test_warm_up_readies_the_backend_auto_uses():
    from mlpcore.warmup import warm_up

    backend = warm_up()
    x = np.linspace(0.0, 1.0, 8)
    assert fit(MLPConfig(hidden=(3,), steps=5), x, x).backend == backend


def test_warm_up_takes_turns_only_until_the_kernel_cache_is_filled(monkeypatch):
    import mlpcore.warmup as warmup
    from mlpcore import kernels

    locked = []
    real_lock = warmup._machine_lock

    def spy(path):
        locked.append(path)
        return real_lock(path)

    monkeypatch.setattr(warmup, "_machine_lock", spy)
    warmup.warm_up()  # fills the stamp, whatever the lock file said before
    locked.clear()
    warmup.warm_up()
    assert locked == []  # the cache is known to be filled: no waiting for other processes
    with open(warmup._lock_path(kernels.__file__), "w") as f:
        f.write("numba 0.0 a stale stamp")
    warmup.warm_up()
    assert len(locked) == 1  # a stale stamp (another kernel source or numba): take turns again
    locked.clear()
    warmup.warm_up()
    assert locked == []


def test_a_fresh_numba_cache_folder_is_filled_taking_turns_again(monkeypatch, tmp_path):
    import numba

    import mlpcore.warmup as warmup

    locked = []
    real_lock = warmup._machine_lock
    monkeypatch.setattr(warmup, "_machine_lock", lambda path: locked.append(path) or real_lock(path))
    warmup.warm_up()
    locked.clear()
    warmup.warm_up()
    assert locked == []
    # NUMBA_CACHE_DIR names another folder (numba reads it at import): nothing is cached there yet
    from mlpcore import kernels

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    try:
        warmup.warm_up()
        assert len(locked) == 1
    finally:
        os.remove(warmup._lock_path(kernels.__file__))


def test_the_machine_lock_lets_one_holder_in_at_a_time(tmp_path):
    import threading
    import time

    from mlpcore.warmup import _machine_lock

    name = str(tmp_path / "test.lock")
    events = []

    def hold(tag):
        with _machine_lock(name):
            events.append(f"{tag} in")
            time.sleep(0.2)
            events.append(f"{tag} out")

    threads = [threading.Thread(target=hold, args=(tag,)) for tag in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert events in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
