"""Report speed before and after, and what the live page costs a sweep, side by side in one run.

    python benchmarks/bench_report.py [--before COMMIT] [--rounds R] [--big N] [--live-interval S] [--no-live]

1. `python -m sweeps run sqrt --no-report`, the user's command (the search and the analysis after it):
   the denominator of the report's share.
2. The default sqrt sweep (120 trials) with the same seed as that command runs it (``sweeps.search.driver.search``,
   without the analysis): plain, with the live page (``sweeps.report.live.LiveReport``, rewritten every
   ``--live-interval`` seconds at most, default 5) of this tree, and of COMMIT; R rounds, alternating
   (median): trials per second of each, the pages written during the sweep and when the first was, and
   the live process's CPU seconds against the sweep's (its driver and workers).
3. A copy of that sweep grown to N trials (default 1000: its trials repeated, renumbered; 0: none).
4. `python -m sweeps report sqrt` on the command's sweep (and on the grown one), with the code of
   COMMIT (default: main before the figures were drawn with seaborn) and with this tree, alternating,
   R rounds (median).
5. The warm `python -m sweeps run sqrt`, with the code of COMMIT and with this tree, alternating, R rounds,
   each into a fresh folder, ``write_report`` timed inside each process.
Every step is a fresh `python` process, as a user runs it; the load average is printed beside each median.
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

from commit_code import export

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "8d36fd5"
"""main before issue 30 part 4: figures written by hand as SVG (sweeps/report/svg.py)."""

SWEEP = """
import resource, sys, time
from sweeps.search.driver import search
from sweeps.search.pool import release_workers
from sweeps.report.live import LiveReport

def cpu():  # this process and its ended children (the workers, once released; the live process, once closed)
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))

live, out, interval = sys.argv[1] == "live", sys.argv[2], float(sys.argv[3])
t = time.perf_counter()
if live:
    with LiveReport("sqrt", out=out, interval=interval) as page:
        search("sqrt", out=out, progress=False)
    wall = time.perf_counter() - t
    release_workers()
    print(wall, page.rewrites, page.busy, getattr(page, "first", None) or -1, cpu() - page.busy)
else:
    search("sqrt", out=out, progress=False)
    wall = time.perf_counter() - t
    release_workers()
    print(wall, 0, 0.0, -1, cpu())
"""


RUN = """
import sys, time
import sweeps.pipeline as pipeline
real, spent = pipeline.write_report, []

def timed(*args, **kwargs):
    t = time.perf_counter()
    try:
        return real(*args, **kwargs)
    finally:
        spent.append(time.perf_counter() - t)

pipeline.write_report = timed  # what pipeline.finish calls when the run ends
from sweeps.cli import main
code = main(sys.argv[1:])
print(sum(spent))
sys.exit(code)
"""


def in_run(out: Path, code: Path) -> tuple[float, float]:
    """(wall seconds, seconds in write_report) of `python -m sweeps run sqrt` with the code in ``code``."""
    args = ["run", "sqrt", "--no-progress", "--out", str(out)]
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, *args], check=True, env=os.environ | {"PYTHONPATH": str(code)},
                          stdout=subprocess.PIPE, text=True, cwd=code)
    return time.perf_counter() - t, float(done.stdout.strip().splitlines()[-1])


def load() -> float:
    """The machine's load average over the last minute: what else was running."""
    return os.getloadavg()[0]


def python(code_root: Path, *args: str) -> float:
    """Wall seconds of ``python *args`` importing the code under ``code_root``."""
    t = time.perf_counter()
    # run in code_root: ``python -m`` puts the working folder ahead of PYTHONPATH, so from a checkout
    # every "before" would import the checkout's code
    subprocess.run([sys.executable, *args], check=True, env=os.environ | {"PYTHONPATH": str(code_root)},
                   stdout=subprocess.DEVNULL, cwd=code_root)
    return time.perf_counter() - t


def sweep(out: Path, live: bool, interval: float, code: Path = ROOT) -> tuple[float, int, float, float, float]:
    """(wall seconds, live rewrites, CPU seconds of the live process, seconds to the first page or -1, CPU
    seconds of the sweep without the live process) of the default sqrt sweep with the code in ``code``."""
    done = subprocess.run([sys.executable, "-c", SWEEP, "live" if live else "plain", str(out), str(interval)],
                          check=True, env=os.environ | {"PYTHONPATH": str(code)}, capture_output=True, text=True,
                          cwd=code)
    wall, rewrites, busy, first, cpu = done.stdout.split()[-5:]
    return float(wall), int(rewrites), float(busy), float(first), float(cpu)


def grow(source: Path, target: Path, n: int) -> None:
    """A copy of the stored sqrt sweep under ``target`` with ``n`` trials (its trials repeated), and its analysis."""
    import optuna

    from sweeps.analysis.explain import explain_name
    from sweeps.results.reading import opened
    from sweeps.store.grouped import grouped_writes
    from sweeps.store.factory import open_storage

    opt, source_store = opened("sqrt", out=source)
    (target / "sqrt").mkdir(parents=True)
    store = open_storage(None, target / "sqrt")
    optuna.copy_study(from_study_name=explain_name("sqrt"), from_storage=source_store, to_storage=store)
    big = optuna.create_study(study_name="sqrt", storage=store)
    with grouped_writes(store):
        for key, value in opt.user_attrs.items():
            big.set_user_attr(key, value)
    done = opt.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    big.add_trials([done[i % len(done)] for i in range(n)])  # one journal record a trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help=f"the commit to compare with (default {BEFORE})")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--live-rounds", type=int, help="rounds of step 2 (default --rounds)")
    parser.add_argument("--run-rounds", type=int, help="rounds of step 5 (default --rounds)")
    parser.add_argument("--big", type=int, default=1000, help="trials of the grown sweep (0: none)")
    parser.add_argument("--no-live", action="store_true", help="skip step 2 (the sweeps with and without the live page)")
    parser.add_argument("--live-interval", type=float, default=5.0,
                        help="seconds between live rewrites (default 5: the default 15 would leave a 15 s sweep "
                             "one rewrite at most)")
    args = parser.parse_args()
    loads: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old = export(args.before, tmp / "before", "sweeps", "studies", "mlpcore")
        command = python(ROOT, "-m", "sweeps", "run", "sqrt", "--no-report", "--no-progress", "--out", str(tmp / "cli"))
        python(old, "-c", "from mlpcore.warmup import warm_up; warm_up()")  # its kernel compiled before any timing
        kinds = {"plain": (False, ROOT), "live": (True, ROOT), "live before": (True, old)}
        sweeps: dict[str, list[tuple[float, int, float, float, float]]] = {kind: [] for kind in kinds}
        live_rounds = args.rounds if args.live_rounds is None else args.live_rounds
        for r in range(0 if args.no_live else live_rounds):  # alternating, each on a fresh folder
            for kind in (list(kinds) if r % 2 == 0 else list(kinds)[::-1]):
                live, code = kinds[kind]
                loads.setdefault("live", []).append(load())
                sweeps[kind].append(sweep(tmp / f"sweep-{r}-{kind}", live, args.live_interval, code))
        median_run = {kind: sorted(runs)[len(runs) // 2] for kind, runs in sweeps.items() if runs}
        for kind, runs in sweeps.items() if not args.no_live else ():
            print(f"{kind}: " + ", ".join(f"{w:.1f} s ({n} rewrites, live {b:.2f} / sweep {c:.1f} CPU s"
                                          + (f", the first at {f:.1f} s)" if f >= 0 else ")")
                                          for w, n, b, f, c in runs), flush=True)
        sizes = {"120": tmp / "cli"}
        if args.big:
            grow(tmp / "cli", tmp / "big", args.big)
            sizes[str(args.big)] = tmp / "big"
        times: dict[tuple[str, str], list[float]] = {}
        for r in range(args.rounds):
            for label, code in ((("before", old), ("after", ROOT)) if r % 2 == 0 else (("after", ROOT), ("before", old))):
                for size, out in sizes.items():
                    loads.setdefault("report", []).append(load())
                    times.setdefault((label, size), []).append(python(code, "-m", "sweeps", "report", "sqrt",
                                                                      "--out", str(out)))
            print("report:", {f"{k[0]} {k[1]}": [round(t, 2) for t in v] for k, v in times.items()}, flush=True)
        runs: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
        for r in range(args.rounds if args.run_rounds is None else args.run_rounds):
            for label, code in ((("before", old), ("after", ROOT)) if r % 2 == 0 else (("after", ROOT), ("before", old))):
                loads.setdefault("run", []).append(load())
                runs[label].append(in_run(tmp / f"run-{r}-{label}", code))
            print("run sqrt:", {k: [(round(w, 1), round(s, 2)) for w, s in v] for k, v in runs.items()}, flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    plain = median_run["plain"][0] if median_run else None
    if plain is not None:
        print(f"\nsqrt sweep, run() without the report: {plain:.1f} s ({120 / plain:.2f} trials/s); load average "
              f"{statistics.median(loads['live']):.1f} (median)")
    for kind, label in (("live", "this tree"), ("live before", args.before)) if plain is not None else ():
        wall, rewrites, busy, first, cpu = median_run[kind]
        shown = (f"the first page at {first:.1f} s" if first >= 0 else "no page during the sweep" if not rewrites
                 else "the first page's time not recorded")
        print(f"  with the live page ({label}), rewritten every {args.live_interval:g} s at most: {wall:.1f} s "
              f"({120 / wall:.2f} trials/s, {rewrites} rewrites, {shown}); the live process {busy:.2f} CPU s = "
              f"{busy / cpu:.1%} of the sweep's {cpu:.1f}; trials/s lost: {1 - plain / wall:.1%}")
    print(f"`python -m sweeps run sqrt --no-report`: {command:.1f} s")
    print(f"\n| report of ({args.rounds} rounds, median; load {statistics.median(loads['report']):.1f}) | before "
          f"({args.before}) | after | after / before |")
    print("|---|---:|---:|---:|")
    for size in sizes:
        print(f"| {size} trials | {med[('before', size)]:.2f} s | {med[('after', size)]:.2f} s | "
              f"{med[('after', size)] / med[('before', size)]:.2f}x |")
    before, after = (statistics.median(w for w, _ in runs[k]) for k in ("before", "after"))
    inside = {k: statistics.median(s for _, s in runs[k]) for k in runs}
    print(f"\nThe warm `run sqrt` ({len(runs['after'])} rounds, alternating, median; load "
          f"{statistics.median(loads['run']):.1f}): before {before:.1f} s ({', '.join(f'{w:.1f}' for w, _ in runs['before'])}), "
          f"after {after:.1f} s ({', '.join(f'{w:.1f}' for w, _ in runs['after'])}): {after / before:.2f}x; "
          f"write_report inside it {inside['before']:.2f} s before, {inside['after']:.2f} s after")


if __name__ == "__main__":
    main()
