"""Sweep driver speed: overhead per trial, --jobs scaling, and the default `run sqrt`, in one run.

    python benchmarks/bench_sweeps.py [--trials N] [--rounds R]

1. Driver overhead per trial: a sweep whose workers return a stored training at once (no
   training), so a trial's wall time is the driver's sampling + storage + dispatch. Reported
   in the steady state (first told trial to last, per trial), and as the driver's CPU time
   per trial; starting the workers is reported apart (a fixed cost, not a per-trial one).
2. --jobs 2 against --jobs 1 (the same trials: same seed), without the report, on the default
   sqrt study and on sine (whose trials train longer, so fixed costs weigh less).
3. The default `python -m sweeps run sqrt`, as a user runs it (all cores, default budget, report).
Each CLI figure is the median of R rounds, the --jobs 1 and 2 runs alternating.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sweeps.runner as runner
from sweeps.space import baseline_params
from sweeps.worker import train_once

import studies

CANNED: dict = {}


def canned_training(study, params, seed):
    """A worker that answers at once with a real training of the study's baseline."""
    return dict(CANNED[study], seed=seed)


def overhead(study: str, trials: int, jobs: int, out: Path) -> tuple[float, float, float]:
    """(seconds to the first told trial, steady-state wall seconds per trial, driver CPU seconds per trial)."""
    CANNED[study] = train_once(study, baseline_params(studies.get(study)), 0)
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


def cli_seconds(*args: str, cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sweeps", "run", *args], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=120, help="trials of the overhead sweep")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each CLI figure (median)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for jobs in (1, 2):
            first, wall, cpu = overhead("sqrt", args.trials, jobs, tmp / f"overhead{jobs}")
            print(f"driver overhead per trial, {args.trials} trials, --jobs {jobs}: {wall * 1e3:.1f} ms wall "
                  f"(steady state), {cpu * 1e3:.1f} ms driver CPU; first trial told after {first:.2f} s")
        for study in ("sqrt", "sine"):
            rounds = 1 if study == "sine" else args.rounds
            times: dict[int, list[float]] = {1: [], 2: []}
            for r in range(rounds):
                for jobs in (1, 2):
                    times[jobs].append(cli_seconds(study, "--jobs", str(jobs), "--no-report", "--out",
                                                   f"{study}{jobs}-{r}", cwd=tmp))
            one, two = statistics.median(times[1]), statistics.median(times[2])
            print(f"run {study} (default budget, no report, median of {rounds}): --jobs 1 {one:.1f} s, "
                  f"--jobs 2 {two:.1f} s, speed-up {one / two:.2f}x")
        default = statistics.median(cli_seconds("sqrt", "--out", f"user{r}", cwd=tmp) for r in range(args.rounds))
        print(f"python -m sweeps run sqrt, as a user runs it (median of {args.rounds}): {default:.1f} s")


if __name__ == "__main__":
    main()
