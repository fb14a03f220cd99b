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

    def spy(path, wait=True):
        locked.append(path)
        return real_lock(path, wait)

    monkeypatch.setattr(warmup, "_machine_lock", spy)
    warmup.warm_up()  # fills the stamp, whatever the lock file said before
    locked.clear()
    warmup.warm_up()
    assert locked == []  # the cache is known to be filled: no waiting for other processes
    with open(warmup._lock_path(kernels.__file__), "w") as f:
        f.write("numba 0.0 a stale stamp")
    warmup.warm_up()
    assert locked[0] == warmup._lock_path(kernels.__file__)  # a stale stamp (another kernel source or numba):
    # take turns again, the kernel's lock and then its paths' (see the next test)
    locked.clear()
    warmup.warm_up()
    assert locked == []


def test_a_fresh_numba_cache_folder_is_filled_taking_turns_again(monkeypatch, tmp_path):
    import numba

    import mlpcore.warmup as warmup

    locked = []
    real_lock = warmup._machine_lock
    monkeypatch.setattr(warmup, "_machine_lock", lambda path, wait=True: locked.append(path) or real_lock(path, wait))
    warmup.warm_up()
    locked.clear()
    warmup.warm_up()
    assert locked == []
    # NUMBA_CACHE_DIR names another folder (numba reads it at import): nothing is cached there yet
    from mlpcore import kernels

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    try:
        warmup.warm_up()
        assert locked[0] == warmup._lock_path(kernels.__file__)
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


def test_processes_warming_up_together_share_the_compile(monkeypatch, tmp_path):
    """The first compiles the layers, the second the paths meanwhile, a third waits; then the first loads the
    paths, and the second and the third load it all.

    Threads stand in for processes: each opens the lock files itself, and flock locks belong to an open file.
    """
    import threading
    import time

    import mlpcore.warmup as warmup
    from mlpcore import kernels

    lock = str(tmp_path / "kernel.lock")
    monkeypatch.setattr(warmup, "_lock_path", lambda source: lock)
    log = []  # (who, what, start, end)

    def step(what, seconds):
        def run(*args):
            start = time.monotonic()
            time.sleep(seconds)
            log.append((threading.current_thread().name, what, start, time.monotonic()))
        return run

    monkeypatch.setattr(kernels, "compile_part", lambda part: step(part, 0.6 if part == "paths" else 0.3)())
    monkeypatch.setattr(warmup, "_first_fit", step("first fit", 0.2))
    threads = [threading.Thread(target=warmup.warm_up, name=name) for name in ("first", "second", "third")]
    for t in threads:
        t.start()
        time.sleep(0.1)  # in this order
    for t in threads:
        t.join()

    def steps(who):
        return [(what, start, end) for w, what, start, end in log if w == who]

    first, second, third = steps("first"), steps("second"), steps("third")
    assert [what for what, _, _ in first] == ["layers", "paths", "first fit"]
    assert [what for what, _, _ in second] == ["paths", "first fit"]  # then loads what the first compiled
    assert [what for what, _, _ in third] == ["first fit"]
    (_, layers_start, layers_end), (_, paths_start, paths_end) = first[0], second[0]
    assert paths_start < layers_end and layers_start < paths_end  # the two parts compiled at the same time
    _, train_start, train_end = first[2]
    assert train_start >= paths_end  # the first fit after the second's paths: it loads them
    assert all(start >= train_end for _, start, _ in second[1:] + third)  # the rest only loaded what was compiled
    assert warmup._read_text(lock) == warmup._source_stamp(kernels.__file__)
    log.clear()
    warmup.warm_up()  # stamped: loads at once, no parts
    assert [what for _, what, _, _ in log] == ["first fit"]
