"""Sweep driver speed: overhead per trial, --jobs scaling, and the default `run sqrt`, in one run.

    python benchmarks/bench_sweeps.py [--trials N] [--rounds R]

1. Driver overhead per trial: a sweep whose workers return a stored training at once (no
   training), so a trial's wall time is the driver's sampling + storage + dispatch. Reported
   in the steady state (first told trial to last, per trial), and as the driver's CPU time
   per trial; starting the workers is reported apart (a fixed cost, not a per-trial one).
2. --jobs 2 against --jobs 1 (the same trials: same seed), without the report, on the default
   sqrt study and on sine (whose trials train longer, so fixed costs weigh less). With the CPU
   time the --jobs 2 run used (driver and workers): on 2 cores it cannot take less than half of
   that, which bounds its speed-up whatever the scheduling.
3. The default `python -m sweeps run sqrt`, as a user runs it (all cores, default budget, report).
Each figure is the median of R rounds, the --jobs 1 and 2 runs alternating (sine: one round).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sweeps.search.driver as runner
from sweeps.search.worker import train_once


CANNED: dict = {}


def canned_training(study, params, seed, rule=None):
    """A worker that answers at once with a real training of the study's baseline (as ``train_once``)."""
    return dict(CANNED[study], seed=seed)


def overhead(study: str, trials: int, jobs: int, out: Path) -> tuple[float, float, float]:
    """(seconds to the first told trial, steady-state wall seconds per trial, driver CPU seconds per trial)."""
    CANNED[study] = train_once(study, None, 0)  # the baseline
    told: list[float] = []

    def tell(*args):
        real_tell(*args)
        told.append(time.perf_counter())

    real_training, real_tell = runner.train_once, runner.tell
    runner.train_once, runner.tell = canned_training, tell
    try:
        t0, cpu0 = time.perf_counter(), time.process_time()
        runner.run(study, trials=trials, jobs=jobs, out=out, progress=False)
        cpu = time.process_time() - cpu0
    finally:
        runner.train_once, runner.tell = real_training, real_tell
    return told[0] - t0, (told[-1] - told[0]) / (len(told) - 1), cpu / trials


def cli_seconds(*args: str, cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the run's processes: the driver and its workers) of one `sweeps run`."""
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sweeps", "run", *args], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0, children_cpu() - cpu0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for descendants: the workers too
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=120, help="trials of the overhead sweep")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each figure (median)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        overheads = {1: [], 2: []}
        for r in range(args.rounds):
            for jobs in (1, 2):
                overheads[jobs].append(overhead("sqrt", args.trials, jobs, tmp / f"overhead{jobs}-{r}"))
        for jobs, measured in overheads.items():
            first, wall, cpu = (statistics.median(m[i] for m in measured) for i in range(3))
            print(f"driver overhead per trial, {args.trials} trials, --jobs {jobs} (median of {args.rounds}): "
                  f"{wall * 1e3:.1f} ms wall (steady state), {cpu * 1e3:.1f} ms driver CPU; "
                  f"first trial told after {first:.2f} s")
        for study in ("sqrt", "sine"):
            rounds = 1 if study == "sine" else args.rounds
            runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
            for r in range(rounds):
                for jobs in (1, 2):
                    runs[jobs].append(cli_seconds(study, "--jobs", str(jobs), "--no-report", "--out",
                                                  f"{study}{jobs}-{r}", cwd=tmp))
            one, two = (statistics.median(wall for wall, _ in runs[j]) for j in (1, 2))
            cpu_two = statistics.median(cpu for _, cpu in runs[2])
            bound = (f", so on these 2 cores no schedule beats {one / (cpu_two / 2):.2f}x" if os.cpu_count() == 2
                     else "")  # with more cores the driver has one of its own
            print(f"run {study} (default budget, no report, median of {rounds}): --jobs 1 {one:.1f} s, "
                  f"--jobs 2 {two:.1f} s, speed-up {one / two:.2f}x; the --jobs 2 run takes {cpu_two:.1f} s of CPU "
                  f"(driver and workers){bound}")
        default = statistics.median(cli_seconds("sqrt", "--out", f"user{r}", cwd=tmp)[0] for r in range(args.rounds))
        print(f"python -m sweeps run sqrt, as a user runs it (median of {args.rounds}): {default:.1f} s")


if __name__ == "__main__":
    main()
