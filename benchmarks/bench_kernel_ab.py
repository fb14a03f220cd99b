"""The compiled kernel of another source tree beside this one's: us per step, side by side.

    python benchmarks/bench_kernel_ab.py OTHER_TREE [--rounds R]

OTHER_TREE is a checkout of the project at another commit, e.g. the one before a change:
    mkdir /tmp/before && git archive main | tar -x -C /tmp/before
Each round runs one process per tree, in turn, each timing the numba kernel row of every
network of `bench_kernel.py` (this tree's definitions, run on that tree's mlpcore) once after a
warm-up; the table shows the medians over the rounds and this tree's speed-up. The two kernels
cannot share a process (both are `mlpcore`), so the rounds interleave them instead: a loaded
machine slows both alike, and the rows time this process's CPU, not the wall clock (which on a
machine shared with other work counts the waits for a core). Compile time is excluded (each tree's numba cache is filled first).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.dirname(HERE)

CHILD = """
import json, sys
sys.path.insert(0, {here!r})
import bench_kernel as bk
bk.time.perf_counter = bk.time.process_time  # CPU time: on a shared machine, wall time counts the waits
out = {{}}
for make, steps in zip(bk.CASES, bk.STEPS):
    case = make(steps // {scale})
    if {only!r} not in case.title:
        continue
    out[case.title] = bk._mlpcore_row(case, "numba")(case.steps) / case.steps * 1e6
print(json.dumps(out))
"""


def _one_round(tree: str, scale: int, only: str = "") -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=tree, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # run in the tree: ``python -c`` puts the working folder ahead of PYTHONPATH, so from a checkout both
    # "trees" would import the checkout's mlpcore
    done = subprocess.run([sys.executable, "-c", CHILD.format(here=HERE, scale=scale, only=only)], env=env, check=True,
                          capture_output=True, text=True, cwd=tree)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("other", help="the other source tree (its mlpcore is imported from there)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="a tenth of the steps, for a smoke run")
    ap.add_argument("--only", default="", help="only the networks whose title contains this")
    args = ap.parse_args()
    trees = {"other": os.path.abspath(args.other), "this": TREE}
    scale = 10 if args.quick else 1
    for tree in trees.values():
        _one_round(tree, 100, args.only)  # fill or load each tree's numba cache before timing
    times: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            for title, us in _one_round(tree, scale, args.only).items():
                times[name].setdefault(title, []).append(us)
    print(f"numba kernel, us/step, median of {args.rounds} interleaved rounds; other = {trees['other']}")
    print(f"| {'network':<62} | {'other':>9} | {'this':>9} | {'speed-up':>8} |")
    print(f"|{'-' * 64}|{'-' * 11}|{'-' * 11}|{'-' * 10}|")
    for title in times["this"]:
        a, b = statistics.median(times["other"][title]), statistics.median(times["this"][title])
        print(f"| {title:<62} | {a:9.2f} | {b:9.2f} | {a / b:7.2f}x |")


if __name__ == "__main__":
    main()
