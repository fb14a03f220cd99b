"""A user's first `run sqrt` on a fresh machine (empty numba cache) against the same command warm, side by side.

    python benchmarks/bench_cold.py [--full] [--rounds R] [--jobs J] [--before COMMIT]

Each round runs `python -m sweeps run sqrt --no-report --no-progress --out TMP` twice: cold, with
a fresh ``NUMBA_CACHE_DIR`` and a fresh ``TMPDIR`` (so neither a cache nor the warm-up's lock file
from an earlier run is seen: a fresh machine), then warm, with the cache the cold run filled.
``--full`` adds the same pair for the full `run sqrt` (the report too). ``--before COMMIT`` runs every
pair with that commit's code too (``git archive``), before and after alternating, each on its own cache. Pointing
``NUMBA_CACHE_DIR`` at a temp dir for both runs also keeps numba from using ``__pycache__/`` beside
``mlpcore/kernels.py``, where it writes in an editable install.

Where the cold seconds go: every process of a run (the driver and each loky worker) loads a
``sitecustomize`` from this script that records, without changing what runs, numba's compile
events (``numba.core.event``, "numba:compile": which function, which signature, how long) and the
time each process spends in ``mlpcore.warmup.warm_up`` and waiting for its lock. The same hook
runs warm and cold, so its cost is in both sides of the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from commit_code import export

ROOT = Path(__file__).resolve().parents[1]

HOOK = r'''
import json, os, sys, threading, time
from importlib.abc import MetaPathFinder
from importlib.machinery import PathFinder

_LOG = os.environ.get("BENCH_COLD_LOG")


def _write(record):
    record["pid"] = os.getpid()
    with open(_LOG, "a") as f:
        f.write(json.dumps(record) + "\n")


def _compile_listener():
    """A listener of numba:compile events: nested ones are the callees compiled for a caller."""
    from numba.core import event

    class Compiles(event.Listener):
        def __init__(self):
            self.local = threading.local()

        def on_start(self, event):
            self.local.__dict__.setdefault("stack", []).append(time.perf_counter())

        def on_end(self, event):
            t0 = self.local.stack.pop()
            d = event.data
            _write({"kind": "compile", "name": d["dispatcher"].py_func.__qualname__, "args": str(d["args"]),
                    "depth": len(self.local.stack), "seconds": time.perf_counter() - t0, "end": time.time()})

    event.register("numba:compile", Compiles())


def _timed(fn, kind):
    def wrapper(*a, **k):
        t0 = time.perf_counter()
        result = fn(*a, **k)
        _write({"kind": kind, "seconds": time.perf_counter() - t0, "end": time.time(), "result": result,
                "args": [str(x) for x in a]})
        return result
    return wrapper


def _patch(name, module):
    if name == "mlpcore.kernels":
        _compile_listener()
        if hasattr(module, "compile_part"):  # the kernel compiled in parts (warmup.py)
            module.compile_part = _timed(module.compile_part, "part")
    elif name == "mlpcore.warmup":
        module.warm_up = _timed(module.warm_up, "warm_up")
        real_lock = module._machine_lock

        def lock(path, wait=True):
            t0 = time.perf_counter()
            cm = real_lock(path) if wait else real_lock(path, wait)  # (an older warmup.py: no ``wait``)
            class Timed:
                def __enter__(self):
                    f = cm.__enter__()
                    _write({"kind": "lock_wait", "seconds": time.perf_counter() - t0, "end": time.time()})
                    return f
                def __exit__(self, *exc):
                    return cm.__exit__(*exc)
            return Timed()
        module._machine_lock = lock


class _Finder(MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in ("mlpcore.kernels", "mlpcore.warmup"):
            return None
        spec = PathFinder.find_spec(name, path)
        if spec is None:
            return None
        real = spec.loader.exec_module

        def exec_module(module):
            real(module)
            _patch(name, module)
        spec.loader.exec_module = exec_module
        return spec


if _LOG:
    sys.meta_path.insert(0, _Finder())
'''


def command(full: bool, out: Path, jobs: int | None) -> list[str]:
    cmd = [sys.executable, "-m", "sweeps", "run", "sqrt", "--no-progress", "--out", str(out)]
    cmd += [] if full else ["--no-report"]
    return cmd + ([] if jobs is None else ["--jobs", str(jobs)])


def one_run(tmp: Path, hook: Path, cache: Path, label: str, full: bool, jobs: int | None, code: Path = ROOT) -> dict:
    """Wall seconds of one `run sqrt` with the code in folder ``code``, and the hook's records by process."""
    out, log, tmpdir = tmp / f"out-{label}", tmp / f"log-{label}.jsonl", tmp / f"tmpdir-{label}"
    tmpdir.mkdir(exist_ok=True)
    env = os.environ | {"PYTHONPATH": f"{hook}{os.pathsep}{code}", "NUMBA_CACHE_DIR": str(cache),
                        "BENCH_COLD_LOG": str(log), "TMPDIR": str(tmpdir)}
    load = os.getloadavg()[0]
    started = time.time()
    t = time.perf_counter()
    proc = subprocess.Popen(command(full, out, jobs), env=env, cwd=code, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate()
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(f"{label}: exit {proc.returncode}\n{err}")
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    backends = {r["result"] for r in records if r["kind"] == "warm_up"}
    if backends != {"numba"}:
        sys.exit(f"{label}: the warm-ups gave backends {sorted(backends)}, not the kernel: nothing to measure")
    return {"label": label, "wall": wall, "load": load, "driver": proc.pid, "records": records, "started": started}


def explain(run: dict) -> list[str]:
    """Per process: warm-up, lock wait, compile seconds, and what was compiled."""
    by_pid: dict[int, list[dict]] = defaultdict(list)
    for r in run["records"]:
        by_pid[r["pid"]].append(r)
    lines = []
    for pid, recs in sorted(by_pid.items(), key=lambda kv: kv[0] != run["driver"]):
        role = "driver" if pid == run["driver"] else f"worker {pid}"
        total = lambda kind: sum(r["seconds"] for r in recs if r["kind"] == kind)  # noqa: E731
        compiles = [r for r in recs if r["kind"] == "compile"]
        top = [r for r in compiles if r["depth"] == 0]
        entries = ", ".join(f"{r['name']} {r['seconds']:.1f} s" for r in top) or "none"
        parts = ", ".join(f"{r['args'][0]} {r['seconds']:.1f} s" for r in recs if r["kind"] == "part") or "none"
        span = "".join(f" +{r['end'] - r['seconds'] - run['started']:.1f}..{r['end'] - run['started']:.1f} s"
                       for r in recs if r["kind"] == "warm_up")  # from the command's start
        lines.append(f"  {role}: warm_up{span} {total('warm_up'):.1f} s (lock wait {total('lock_wait'):.1f} s), "
                     f"compiling {sum(r['seconds'] for r in top):.1f} s: {len(compiles)} function compiles, "
                     f"entry points {entries}; parts (compiled or loaded) {parts}")
        if compiles:
            per_function = Counter(r["name"].split(".<locals>")[0] for r in compiles)
            repeated = {name: n for name, n in per_function.items() if n > 1}
            lines.append("    compiled more than once (signatures, or one per activation code): "
                         + ", ".join(f"{name} x{n}" for name, n in sorted(repeated.items(), key=lambda kv: -kv[1])))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the full `run sqrt` (with the report)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=None, help="--jobs of the runs (default: the run's own)")
    parser.add_argument("--before", metavar="COMMIT", help="also run each pair with this commit's code")
    args = parser.parse_args()
    kinds = [False, True] if args.full else [False]
    results: dict[tuple[str, bool, str], list[dict]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hook = tmp / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(HOOK)
        codes = {"this tree": ROOT}
        if args.before:
            codes[args.before] = export(args.before, tmp / "before")
        for r in range(args.rounds):
            for full in kinds:
                for i, (name, code) in enumerate(codes.items() if r % 2 == 0 else reversed(codes.items())):
                    cache = tmp / f"cache-{r}-{int(full)}-{i}"
                    cache.mkdir()
                    for state in ("cold", "warm"):
                        run = one_run(tmp, hook, cache, f"{r}-{int(full)}-{i}-{state}", full, args.jobs, code)
                        results[(name, full, state)].append(run)
                        print(f"round {r + 1}, {name}, {'run sqrt' if full else 'run sqrt --no-report'}, {state}: "
                              f"{run['wall']:.1f} s (load {run['load']:.1f} at start)", flush=True)
                        print("\n".join(explain(run)), flush=True)
    print(f"\n{os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.1f}")
    print("| code | command | cold | warm | cold / warm |")
    print("|---|---|---:|---:|---:|")
    for name in codes:
        for full in kinds:
            cold = statistics.median(r["wall"] for r in results[(name, full, "cold")])
            warm = statistics.median(r["wall"] for r in results[(name, full, "warm")])
            cmd = " ".join(command(full, Path("TMP"), args.jobs)[1:]).replace(" --no-progress", "")
            print(f"| {name} | `python {cmd}` | {cold:.1f} s | {warm:.1f} s | {cold / warm:.2f}x |")


if __name__ == "__main__":
    main()
