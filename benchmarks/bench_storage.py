"""Throughput of several drivers sharing one study: PostgreSQL against the journal file, in one run.

    python benchmarks/bench_storage.py [--drivers 4] [--trials 48] [--steps 200]

Starts a throwaway PostgreSQL server on loopback (as tests/sweeps/pgcluster.py does), then
runs DRIVERS `python -m sweeps run` processes at once (--jobs 1 each) on a small study,
first on one journal file, then on one PostgreSQL database, and prints trials per second,
the finished count (must equal --trials) and duplicated trials (must be 0).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sweeps"))
from conftest import TINY_STUDY  # noqa: E402
from pgcluster import Cluster, why_unavailable  # noqa: E402


def drivers(study: Path, n: int, trials: int, cwd: Path, *extra: str) -> float:
    cmd = [sys.executable, "-m", "sweeps", "run", str(study), "--jobs", "1", "--trials", str(trials), "--no-report", *extra]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as ex:
        for r in ex.map(lambda _: subprocess.run(cmd, cwd=cwd, capture_output=True, text=True), range(n)):
            if r.returncode != 0:
                raise SystemExit(r.stderr)
    return time.perf_counter() - t0


def check(opt: optuna.Study) -> tuple[int, int]:
    complete = opt.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    seeds = [tuple(t.user_attrs["seeds"]) for t in complete]
    return len(complete), len(seeds) - len(set(seeds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drivers", type=int, default=4)
    ap.add_argument("--trials", type=int, default=48)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    reason = why_unavailable()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        study = tmp / "tiny.py"
        study.write_text(TINY_STUDY.replace("trials=8, steps=150,", f"trials={args.trials}, steps={args.steps},"))
        import sweeps

        rows = []
        seconds = drivers(study, args.drivers, args.trials, tmp)
        rows.append(("journal file", seconds, *check(sweeps.load(str(study), out=tmp / "results"))))
        if reason is None:
            cluster = Cluster()
            try:
                url = cluster.create_database("bench")
                seconds = drivers(study, args.drivers, args.trials, tmp, "--storage", url)
                rows.append(("PostgreSQL", seconds, *check(optuna.load_study(study_name="tiny", storage=url))))
            finally:
                cluster.stop()
        else:
            print(f"PostgreSQL skipped: {reason}")
    print(f"{args.drivers} drivers at once, {args.trials} trials of {args.steps} steps, --jobs 1 each")
    print(f"{'storage':<14} {'seconds':>8} {'trials/s':>9} {'finished':>9} {'duplicated':>11}")
    for name, s, finished, dup in rows:
        print(f"{name:<14} {s:8.1f} {args.trials / s:9.2f} {finished:>9} {dup:>11}")


if __name__ == "__main__":
    main()
