"""What the running page costs a sweep: trials per second with it and without it, side by side.

    python benchmarks/bench_live.py [--study sqrt] [--trials N] [--jobs J] [--rounds R]

The study (default sqrt) is swept to N trials (default 240, twice its budget, so that the running
page, which starts :data:`sweeps.report.live.START_AFTER` seconds into a sweep, is there for most
of it) on J workers (default: all cores), each sweep a fresh process into a fresh folder, as
``python -m sweeps run`` runs its search (``sweeps.search.driver.search``, without the analysis
and the final report): ``plain`` without the running page (``run --no-report``), ``live`` inside
``sweeps.report.live.LiveReport`` (what ``run`` does unless ``--no-report``). R rounds (default
3), the order alternating each round; the training kernel is compiled first.

Per sweep: its wall seconds and trials per second, the pages the live process wrote and when the
first was, the live process's CPU seconds (its imports, its looks and its rewrites: the operating
system's count once it has ended), the sweep's own CPU seconds (driver and workers), and the load
average as it started: the machine may be shared. Then the medians, and live's trials per second
against plain's, round by round.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SWEEP = """
import resource, sys, time
from sweeps.search.driver import search
from sweeps.search.pool import release_workers
from sweeps.report.live import LiveReport

def cpu(*who):  # CPU seconds of this process, or of its ended children
    return sum(resource.getrusage(w).ru_utime + resource.getrusage(w).ru_stime for w in who)

live, study, out = sys.argv[1] == "live", sys.argv[2], sys.argv[3]
trials, jobs = int(sys.argv[4]), int(sys.argv[5]) or None
t = time.perf_counter()
if live:
    ended = cpu(resource.RUSAGE_CHILDREN)
    with LiveReport(study, out=out, total=trials) as page:
        search(study, trials=trials, jobs=jobs, out=out, progress=False)
    wall = time.perf_counter() - t
    # the live process, ended and reaped by the block's end; the workers run until released
    busy = cpu(resource.RUSAGE_CHILDREN) - ended
    release_workers()
    print(wall, page.rewrites, busy, page.first if page.first is not None else -1,
          cpu(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) - busy)
else:
    search(study, trials=trials, jobs=jobs, out=out, progress=False)
    wall = time.perf_counter() - t
    release_workers()
    print(wall, 0, 0.0, -1, cpu(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
"""


def sweep(kind: str, study: str, out: Path, trials: int, jobs: int) -> dict[str, float]:
    """One sweep of ``study`` into ``out``, ``kind`` "plain" or "live", in a fresh process."""
    load = os.getloadavg()[0]
    done = subprocess.run(
        [sys.executable, "-c", SWEEP, kind, study, str(out), str(trials), str(jobs)],
        check=True, cwd=ROOT, capture_output=True, text=True,
    )
    wall, rewrites, busy, first, cpu = (float(v) for v in done.stdout.split()[-5:])
    return {"wall": wall, "rate": trials / wall, "rewrites": rewrites, "live_cpu": busy,
            "first": first, "sweep_cpu": cpu, "load": load}


def line(kind: str, run: dict[str, float]) -> str:
    first = f", the first at {run['first']:.1f} s" if run["first"] >= 0 else ""
    return (f"{kind:<6} {run['wall']:6.1f} s  {run['rate']:5.2f} trials/s  "
            f"live {run['live_cpu']:5.2f} CPU s ({run['rewrites']:.0f} pages{first})  "
            f"sweep {run['sweep_cpu']:6.1f} CPU s  load {run['load']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="sqrt")
    parser.add_argument("--trials", type=int, default=240)
    parser.add_argument("--jobs", type=int, default=0, help="workers (default: all cores)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-c", "from mlpcore.warmup import warm_up; warm_up()"],
                   check=True, cwd=ROOT)  # the kernel compiled before any timing
    runs: dict[str, list[dict[str, float]]] = {"plain": [], "live": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for kind in ("plain", "live") if r % 2 == 0 else ("live", "plain"):
                folder = Path(tmp) / f"{r}-{kind}"
                runs[kind].append(sweep(kind, args.study, folder, args.trials, args.jobs))
                print(f"round {r + 1} " + line(kind, runs[kind][-1]), flush=True)
    plain = statistics.median(run["rate"] for run in runs["plain"])
    live = statistics.median(run["rate"] for run in runs["live"])
    ratios = [b["rate"] / a["rate"] for a, b in zip(runs["plain"], runs["live"])]
    busy = statistics.median(run["live_cpu"] for run in runs["live"])
    cpu = statistics.median(run["sweep_cpu"] for run in runs["live"])
    print(f"\nmedians of {args.rounds} rounds, {args.trials} trials of {args.study}: "
          f"plain {plain:.3f} trials/s, live {live:.3f} trials/s ({live / plain - 1:+.1%})")
    print(f"  live/plain round by round: {', '.join(f'{x:.3f}' for x in ratios)} "
          f"(median {statistics.median(ratios):.3f})")
    print(f"  the live process: {busy:.2f} CPU s, {busy / cpu:.1%} of the sweep's {cpu:.1f}")


if __name__ == "__main__":
    main()
