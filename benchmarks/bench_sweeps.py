"""Sweep driver speed: overhead per trial, --jobs scaling, and the default `run sqrt`, in one run.

    python benchmarks/bench_sweeps.py [--trials N]

1. Driver overhead per trial: a sweep whose evaluation returns a stored outcome at once (no
   training), so the wall time per trial is sampling + storage + dispatch to the workers.
2. --jobs 2 against --jobs 1 (the same trials: same seed), without the report, on the default
   sqrt study and on sine (whose trials train longer, so fixed costs weigh less).
3. The default `python -m sweeps run sqrt`, as a user runs it (all cores, default budget, report).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sweeps.runner as runner
from sweeps.space import baseline_params
from sweeps.worker import evaluate

import studies

CANNED: dict = {}


def canned_evaluate(study, params, seeds):
    """A worker that answers at once with a real outcome of the study's baseline."""
    return dict(CANNED[study], seeds=list(seeds))


def overhead(study: str, trials: int, jobs: int, out: Path) -> float:
    CANNED[study] = evaluate(study, baseline_params(studies.get(study)), [0])
    real, runner.evaluate = runner.evaluate, canned_evaluate
    try:
        t0 = time.perf_counter()
        runner.run(study, trials=trials, jobs=jobs, out=out, progress=False)
        return (time.perf_counter() - t0) / trials
    finally:
        runner.evaluate = real


def cli_seconds(*args: str, cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sweeps", "run", *args], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=120, help="trials of the overhead sweep")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for jobs in (1, 2):
            ms = overhead("sqrt", args.trials, jobs, tmp / f"overhead{jobs}") * 1e3
            print(f"driver overhead per trial, {args.trials} trials, --jobs {jobs}: {ms:.1f} ms")
        for study in ("sqrt", "sine"):
            one = cli_seconds(study, "--jobs", "1", "--no-report", "--out", f"{study}1", cwd=tmp)
            two = cli_seconds(study, "--jobs", "2", "--no-report", "--out", f"{study}2", cwd=tmp)
            print(f"run {study} (default budget, no report): --jobs 1 {one:.1f} s, --jobs 2 {two:.1f} s, "
                  f"speed-up {one / two:.2f}x")
        default = cli_seconds("sqrt", "--out", "user", cwd=tmp)
        print(f"python -m sweeps run sqrt, as a user runs it: {default:.1f} s")


if __name__ == "__main__":
    main()
