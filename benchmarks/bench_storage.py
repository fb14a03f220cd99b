"""Throughput of several drivers sharing one study: PostgreSQL against the journal file, in one run.

    python benchmarks/bench_storage.py [--drivers 4] [--trials 48] [--steps 200] [--before DIR]

Starts a throwaway PostgreSQL server on loopback (as tests/sweeps/pgcluster.py does), then
runs DRIVERS `python -m sweeps run` processes at once (--jobs 1 each) on a small study,
first on one journal file, then on one PostgreSQL database, and prints trials per second,
the finished count (must equal --trials) and duplicated trials (must be 0). With --before
DIR (a checkout of older code, e.g. `git worktree add DIR COMMIT`) each row is measured with
that code too, interleaved, so the two are compared side by side on the same load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "sweeps"))
from conftest import TINY_STUDY  # noqa: E402
from pgcluster import Cluster, why_unavailable  # noqa: E402

from sweeps.store.factory import open_storage# noqa: E402


def drivers(study: Path, n: int, trials: int, cwd: Path, code: Path, *extra: str) -> float:
    cmd = [sys.executable, "-m", "sweeps", "run", str(study), "--jobs", "1", "--trials", str(trials), "--no-report", "--no-explain", *extra]
    env = {**os.environ, "PYTHONPATH": str(code)}
    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as ex:
        for r in ex.map(lambda _: subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True), range(n)):
            if r.returncode != 0:
                raise SystemExit(r.stderr)
    return time.perf_counter() - t0


def check(opt: optuna.Study) -> tuple[int, int]:
    complete = opt.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    seeds = [tuple(t.user_attrs["seeds"]) for t in complete]
    return len(complete), len(seeds) - len(set(seeds))


def warm_up(code: Path) -> None:
    """Compile (or load) the training kernel of ``code`` once, so that no timed driver does."""
    subprocess.run([sys.executable, "-c", "try:\n from mlpcore.warmup import warm_up\n"
                    "except ImportError:\n from mlpcore.train import warm_up  # code from before warmup.py\nwarm_up()"], check=True,
                   env={**os.environ, "PYTHONPATH": str(code)})


def show(rows: list, trials: int, name: str, seconds: float, finished: int, duplicated: int) -> None:
    """Print one row as soon as it is measured (a long run cut short keeps what it measured)."""
    rows.append(name)
    print(f"{name:<24} {seconds:8.1f} {trials / seconds:9.2f} {finished:>9} {duplicated:>11}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drivers", type=int, default=4)
    ap.add_argument("--trials", type=int, default=48)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--before", type=Path, help="a checkout of older code, measured beside this one")
    args = ap.parse_args()
    codes = {"": ROOT} if args.before is None else {" (before)": args.before.resolve(), "": ROOT}
    for code in codes.values():
        warm_up(code)
    reason = why_unavailable()
    print(f"{args.drivers} drivers at once, {args.trials} trials of {args.steps} steps, --jobs 1 each")
    print(f"{'storage':<24} {'seconds':>8} {'trials/s':>9} {'finished':>9} {'duplicated':>11}", flush=True)
    rows = []
    cluster = Cluster() if reason is None else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            study = tmp / "tiny.py"
            study.write_text(TINY_STUDY.replace("trials=8, steps=150,", f"trials={args.trials}, steps={args.steps},"))
            for label, code in codes.items():  # journal rows, then PostgreSQL rows, each pair side by side
                out = tmp / f"results{len(rows)}"
                seconds = drivers(study, args.drivers, args.trials, tmp, code, "--out", str(out))
                show(rows, args.trials, f"journal file{label}", seconds,
                     *check(optuna.load_study(study_name="tiny", storage=open_storage(None, out / "tiny"))))
            for label, code in codes.items():
                if cluster is None:
                    continue
                url = cluster.create_database(f"bench{len(rows)}")
                seconds = drivers(study, args.drivers, args.trials, tmp, code, "--storage", url)
                # the code before the journal table kept PostgreSQL sweeps in Optuna's own tables
                storage = (open_storage(url, tmp) if code == ROOT
                           else optuna.storages.RDBStorage(url.replace("postgresql://", "postgresql+psycopg://")))
                show(rows, args.trials, f"PostgreSQL{label}", seconds,
                     *check(optuna.load_study(study_name="tiny", storage=storage)))
    finally:
        if cluster is not None:
            cluster.stop()
    if reason is not None:
        print(f"PostgreSQL skipped: {reason}")


if __name__ == "__main__":
    main()
