"""Pruning: time saved against best value and escapes lost, --pruner none|median|hyperband.

    python benchmarks/bench_pruning.py [--studies sqrt sine] [--seeds 0 1 2] [--trials 40] [--jobs 2]

Each (study, seed) runs the real CLI once per pruner in a fresh folder, the pruners in turn
(rotated from one seed to the next) so that a loaded machine weighs on all of them alike. Per
run: the wall time, the CPU time of the whole run (the driver and its workers, from the operating
system's accounting of finished child processes), the training time (the trials' own seconds, summed),
the share of training steps taken, the best value, and the escapes (complete trials whose mode is fit) and pruned
trials. The table gives each pruner's figures against "none" of the same study and seed, then
per study the median over seeds. Extra arguments after ``--`` go to every run (e.g. ``--repeats 1``).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRUNERS = ("none", "median", "hyperband")


def one_run(study: str, seed: int, pruner: str, trials: int, jobs: int, extra: list[str], out: Path) -> dict:
    """Run the sweep in ``out`` and read its figures back from the stored study."""
    import optuna
    from optuna.trial import TrialState

    from sweeps.results.reading import load
    from sweeps.store.records import trial_attrs

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "sweeps", "run", study, "--trials", str(trials), "--seed", str(seed), "--jobs",
           str(jobs), "--pruner", pruner, "--out", str(out), "--no-report", "--no-explain", "--no-progress", *extra]
    t0, cpu0 = time.perf_counter(), _children_cpu()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    opt = load(study, out=str(out))
    finished = opt.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    steps = sum(trial_attrs(t.user_attrs)["steps_done"] for t in finished)
    budget = sum(t.user_attrs["config"]["steps"] for t in finished)
    return {"wall": wall, "cpu": cpu, "train": sum(trial_attrs(t.user_attrs)["seconds"] for t in finished), "steps": steps / budget,
            "best": min(t.value for t in complete), "escaped": sum(t.user_attrs["mode"] == "fit" for t in complete),
            "pruned": len(finished) - len(complete), "n": len(finished)}


def _children_cpu() -> float:
    """CPU seconds of every finished child process, and of theirs (the workers a driver reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", nargs="+", default=["sqrt", "sine"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("extra", nargs="*", help="arguments for every run, after --")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, seed in enumerate(args.seeds):
            for study in args.studies:
                order = PRUNERS[i % 3:] + PRUNERS[: i % 3]
                got = {}
                for pruner in order:
                    got[pruner] = one_run(study, seed, pruner, args.trials, args.jobs, args.extra,
                                          Path(tmp) / f"{study}-{seed}-{pruner}")
                for pruner in PRUNERS:
                    r, base = got[pruner], got["none"]
                    rows.append({"study": study, "seed": seed, "pruner": pruner, **r,
                                 "train_ratio": r["train"] / base["train"], "cpu_ratio": r["cpu"] / base["cpu"],
                                 "wall_ratio": r["wall"] / base["wall"],
                                 "escape_lost": base["escaped"] - r["escaped"]})
                    print(_row(rows[-1]), flush=True)
    print("\nmedian over seeds")
    for study in args.studies:
        for pruner in PRUNERS:
            sel = [r for r in rows if r["study"] == study and r["pruner"] == pruner]
            med = {k: float(np.median([r[k] for r in sel])) for k in sel[0] if isinstance(sel[0][k], (int, float))}
            print(_row({**med, "study": study, "seed": "med", "pruner": pruner}), flush=True)
    print("\nagainst the spread of the unpruned runs' best values")
    for study in args.studies:
        unpruned = [r["best"] for r in rows if r["study"] == study and r["pruner"] == "none"]
        for pruner in PRUNERS[1:]:
            sel = [r for r in rows if r["study"] == study and r["pruner"] == pruner]
            inside = sum(min(unpruned) <= r["best"] <= max(unpruned) or r["best"] < min(unpruned) for r in sel)
            cpu = float(np.median([r["cpu_ratio"] for r in sel]))
            print(f"| {study} | {pruner} | CPU {cpu:.2f}x (median) | best value within or below the unpruned spread "
                  f"[{min(unpruned):.4g}, {max(unpruned):.4g}] in {inside} of {len(sel)} seeds | escapes lost "
                  f"{sum(r['escape_lost'] for r in sel):+d} in all |", flush=True)


def _row(r: dict) -> str:
    return (f"| {r['study']} | {r['seed']} | {r['pruner']} | {r['n']:.0f} | {r['pruned']:.0f} | {r['steps']:.2f} | "
            f"{r['cpu']:.1f} ({r['cpu_ratio']:.2f}x) | {r['train']:.1f} ({r['train_ratio']:.2f}x) | {r['wall']:.1f} ({r['wall_ratio']:.2f}x) | {r['best']:.4g} | "
            f"{r['escaped']:.0f} ({r['escape_lost']:+.0f} lost) |")


if __name__ == "__main__":
    main()
