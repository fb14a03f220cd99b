"""A sweep at scale: a cheap study (10 steps a training) of many trials, end to end, with --jobs 2.

    python benchmarks/bench_scale.py [--trials 10000] [--jobs 2] [--tree PATH] [--out DIR]

The driver runs in its own process, on the code of ``--tree`` (default: this checkout; give an older
checkout to compare), timed from inside:

- the driver's wall time per trial (between told trials) over the first and the last 1,000 trials,
  and their ratio (issue 33's target: at most 2x);
- at 1k, 3k and 10k trials, where the 1,000 trials before went, per trial: asking (the sampler and
  the trial's records), telling (writing the outcome), waiting for the workers, and the rest;
- the driver's and a worker's peak RSS, and the journal's bytes per trial;
- then, each in a fresh process: opening the finished study, ``report`` on it against ``report`` on a
  120-trial sweep of the same study (run first), and ``list``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHEAP = '''
import studies
STUDY = studies.get("sqrt").replace(name="cheap", title="sqrt, 10 steps a training", steps=10, repeats=1,
                                    trials={trials})
'''

DRIVER = r'''
import json, resource, sys, time
import sweeps.search.driver as runner
from sweeps.search.pool import WorkerPool

study, trials, jobs, out, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
spent = {"ask": [], "tell": [], "wait": []}
told = []

def timed(key, fn):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[key].append((time.perf_counter() - t0, len(told)))
    return wrapper

real_tell = runner.tell
def tell(*args, **kwargs):
    t0 = time.perf_counter()
    real_tell(*args, **kwargs)
    now = time.perf_counter()
    spent["tell"].append((now - t0, len(told)))
    told.append(now)

runner.tell = tell
runner.AskTellLoop.ask = timed("ask", runner.AskTellLoop.ask)
WorkerPool.next = timed("wait", WorkerPool.next)
t0 = time.perf_counter()
runner.search(study, trials=trials, jobs=jobs, out=out, progress=False)
wall = time.perf_counter() - t0
self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import os
workers = []  # the peak RSS (VmHWM) of this process's children still alive: the pool's workers
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        if int(stat[1]) == os.getpid():
            hwm = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")]
            workers.append(int(hwm[0].split()[1]))
    except OSError:
        pass
json.dump({"told": told, "spent": spent, "wall": wall, "driver_rss_kb": self_rss, "workers_rss_kb": workers},
          open(log, "w"))
'''


def run(cmd: list[str], tree: Path, cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0, done


def sweep(tree: Path, folder: Path, trials: int, jobs: int) -> dict:
    """Run the cheap study to ``trials`` in ``folder``; what the driver measured, and the workers' peak RSS."""
    study = folder / "cheap.py"
    study.write_text(CHEAP.format(trials=trials))
    log = folder / f"driver-{trials}.json"
    cmd = [sys.executable, "-c", DRIVER, str(study), str(trials), str(jobs), str(folder / "results"), str(log)]
    run(cmd, tree, folder)
    return json.loads(log.read_text())


def per_trial(told: list[float], start: int, end: int) -> float:
    """Wall seconds per trial between told trials ``start`` and ``end`` (indices)."""
    return (told[end - 1] - told[start]) / (end - 1 - start)


def breakdown(measured: dict, end: int) -> str:
    """Milliseconds per trial spent asking, telling, waiting for workers, and the rest, over the 1,000 trials to ``end``."""
    start = max(0, end - 1000)
    wall = measured["told"][end - 1] - measured["told"][start]
    parts = {k: sum(s for s, n in v if start <= n < end - 1) for k, v in measured["spent"].items()}
    n = end - 1 - start
    rest = wall - sum(parts.values())
    return ", ".join(f"{k} {v / n * 1e3:.1f}" for k, v in (*parts.items(), ("rest", rest))) + f" (total {wall / n * 1e3:.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1], help="the code to run")
    ap.add_argument("--out", type=Path, default=None, help="keep the sweeps here (default: a temporary folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        small, big = root / "small", root / "big"
        small.mkdir(parents=True, exist_ok=True)
        big.mkdir(parents=True, exist_ok=True)
        print(f"tree {args.tree}; load before: {os.getloadavg()[0]:.2f}")
        sweep(args.tree, small, 120, args.jobs)
        measured = sweep(args.tree, big, args.trials, args.jobs)
        told, n = measured["told"], len(measured["told"])
        first, last = per_trial(told, 0, min(1000, n)), per_trial(told, max(0, n - 1000), n)
        print(f"{n} trials in {measured['wall']:.0f} s; driver wall per trial: first 1,000 {first * 1e3:.1f} ms, "
              f"last 1,000 {last * 1e3:.1f} ms, ratio {last / first:.2f}")
        for end in (1000, 3000, 10_000):
            if end <= n:
                print(f"  ms a trial over the 1,000 trials to {end}: {breakdown(measured, end)}")
        journal = big / "results" / "cheap" / "journal.log"
        files = big / "results" / "cheap" / "trials"
        size = sum(p.stat().st_size for p in files.iterdir()) if files.is_dir() else 0
        print(f"  journal {journal.stat().st_size / n:.0f} B a trial ({journal.stat().st_size / 1e6:.1f} MB); "
              f"trial files {size / n:.0f} B a trial")
        workers = measured["workers_rss_kb"]
        print(f"  peak RSS: driver {measured['driver_rss_kb'] / 1024:.0f} MB; workers "
              f"{', '.join(f'{w / 1024:.0f}' for w in workers) or 'gone'} MB")
        opening = (f"import time; t = time.perf_counter(); from sweeps.results.handle import open_sweep; "
                   f"s = open_sweep('cheap', out='results'); print(time.perf_counter() - t, len(s.study.trials))")
        _, opened = run([sys.executable, "-c", opening], args.tree, big)
        print(f"  opening the {n}-trial study (import included): {float(opened.stdout.split()[0]):.2f} s")
        report = {}
        for name, folder in (("120", small), (str(n), big)):
            report[name], _ = run([sys.executable, "-m", "sweeps", "report", "cheap", "--out", "results"],
                                  args.tree, folder)
        print(f"  report: 120 trials {report['120']:.1f} s, {n} trials {report[str(n)]:.1f} s, "
              f"ratio {report[str(n)] / report['120']:.2f}")
        listed, _ = run([sys.executable, "-m", "sweeps", "list", "--out", "results"], args.tree, big)
        print(f"  list: {listed:.2f} s; load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
