"""optuna-dashboard's "Duration" against a trial's own time, and the sweep's speed: before, after.

    python benchmarks/bench_duration.py BEFORE_TREE [--after TREE] [--trials 300] [--steps 100]
                                        [--repeats 3] [--jobs 2] [--rounds 2] [--default]

BEFORE_TREE is a checkout of the project before the change (``mkdir /tmp/before && git archive
main | tar -x -C /tmp/before``); ``--after`` another (default: this checkout). Each round runs,
for each tree in turn, ``python -m sweeps run cheap.py --no-explain --no-report`` in a process of
its own on that tree's code, on a cheap study (sqrt at ``--steps`` steps a training,
``--repeats`` init seeds a trial). Per tree (medians over the rounds):

- the run's wall seconds, its driver's CPU seconds (with its workers' if it reaped them), and
  trials per second in the steady state (from the first told trial to the last: a run starts its
  workers first, and the driver before the change asked its first window meanwhile);
- the median Duration optuna-dashboard shows (``datetime_complete - datetime_start``), and the
  median of the trial's own seconds (its trainings' wall time in the workers, summed: the
  ``seconds`` attr);
- whether both trees' trials are the same (params, values, modes, in trial order).

``--default`` also runs the default sqrt sweep (120 trials, ``--jobs 1`` and ``--jobs 2``) on each
tree once, and says whether all four hold the same trials. The rounds alternate the order of the
trees, so a load that changes slows both; ``--together`` runs both trees of a round at the same
time instead, for a machine whose load changes faster than a run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

HERE = Path(__file__).resolve().parents[1]

CHEAP = '''
import studies
from sweeps.store.records import trial_attrs
STUDY = studies.get("sqrt").replace(name="cheap", title="sqrt, {steps} steps a training",
                                    steps={steps}, repeats={repeats}, trials={trials})
'''


def start(tree: Path, folder: Path, study: str, args: list[str]) -> subprocess.Popen:
    """``python -m sweeps run STUDY ARGS`` on ``tree``'s code in ``folder``, started."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    return subprocess.Popen([sys.executable, "-m", "sweeps", "run", study, "--no-explain",
                             "--no-report", "--no-progress", *args], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish(process: subprocess.Popen, started: float) -> tuple[float, float]:
    """(wall s, the driver's CPU s) of a run :func:`start` started at ``started``."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"a run failed with exit code {process.returncode}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def sweep(tree: Path, folder: Path, study: str, args: list[str]) -> tuple[float, float]:
    """``python -m sweeps run STUDY ARGS`` on ``tree``'s code in ``folder``: (wall s, CPU s)."""
    return finish(start(tree, folder, study, args), time.perf_counter())


def trials_of(journal: Path) -> list[optuna.trial.FrozenTrial]:
    backend = optuna.storages.journal.JournalFileBackend(str(journal))
    storage = optuna.storages.JournalStorage(backend)
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    return study.get_trials(deepcopy=False)


def outcome(trials) -> list[tuple]:
    """What must not change: each trial's params, value and mode, in trial order."""
    return [(t.number, sorted(t.params.items()), t.value, t.user_attrs.get("mode")) for t in trials]


def figures(trials, wall: float, cpu: float) -> dict[str, float]:
    done = sorted((t for t in trials if t.datetime_complete is not None),
                  key=lambda t: t.datetime_complete)
    span = (done[-1].datetime_complete - done[0].datetime_complete).total_seconds()
    return {"wall s": wall, "driver cpu s": cpu, "trials/s": (len(done) - 1) / span,
            "median Duration s": statistics.median(t.duration.total_seconds() for t in done),
            "median own s": statistics.median(trial_attrs(t.user_attrs)["seconds"] for t in done)}


def shown(row: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.3g}" for k, v in row.items())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before", type=Path)
    p.add_argument("--after", type=Path, default=HERE)
    p.add_argument("--trials", type=int, default=300)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--together", action="store_true",
                   help="each round, run both trees at the same time (on a machine whose load "
                        "changes, both see the same)")
    p.add_argument("--default", action="store_true",
                   help="also the default sqrt sweep, --jobs 1 and 2, once per tree")
    a = p.parse_args()
    trees = {"before": a.before.resolve(), "after": a.after.resolve()}
    print(f"load before: {os.getloadavg()}")
    rows: dict[str, list[dict]] = {k: [] for k in trees}
    same = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for r in range(a.rounds):
            seen, runs = {}, {}
            for name in (list(trees) if r % 2 == 0 else list(reversed(trees))):
                folder = tmp / f"{name}-{r}"
                folder.mkdir()
                study = CHEAP.format(steps=a.steps, repeats=a.repeats, trials=a.trials)
                (folder / "cheap.py").write_text(study)
                runs[name] = folder, start(trees[name], folder, "cheap.py", ["--jobs", str(a.jobs)])
                runs[name] += (time.perf_counter(),)
                if not a.together:
                    runs[name] = folder, finish(*runs[name][1:])
            for name, (folder, *run) in runs.items():
                wall, cpu = finish(*run) if a.together else run[0]
                trials = trials_of(folder / "results" / "cheap" / "journal.log")
                rows[name].append(figures(trials, wall, cpu))
                seen[name] = outcome(trials)
                print(f"round {r}, {name}: {shown(rows[name][-1])}", flush=True)
            same.append(seen["before"] == seen["after"])
        print(f"\ncheap study: sqrt at {a.steps} steps, {a.repeats} init seeds a trial, "
              f"{a.trials} trials, --jobs {a.jobs}; medians of {a.rounds} rounds")
        for name in trees:
            median = {k: statistics.median(r[k] for r in rows[name]) for k in rows[name][0]}
            print(f"  {name:<7}{shown(median)}")
        print(f"  the same trials before and after: {all(same)} "
              f"({sum(same)} of {len(same)} rounds)")
        if a.default:
            seen = {}
            for name, tree in trees.items():
                for jobs in (1, 2):
                    folder = tmp / f"default-{name}-{jobs}"
                    folder.mkdir()
                    wall, cpu = sweep(tree, folder, "sqrt", ["--jobs", str(jobs)])
                    trials = trials_of(folder / "results" / "sqrt" / "journal.log")
                    seen[name, jobs] = outcome(trials)
                    print(f"default sqrt, {name}, --jobs {jobs}: {len(trials)} trials, "
                          f"{shown(figures(trials, wall, cpu))}", flush=True)
            first = next(iter(seen.values()))
            print("  the default sweep's trials the same in all four runs: "
                  f"{all(v == first for v in seen.values())}")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
