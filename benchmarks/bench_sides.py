"""One command with two codes side by side: whole processes, rounds alternating, as /usr/bin/time.

    python benchmarks/bench_sides.py --side before=/venv-before/bin/python \\
        --side after=/venv-after/bin/python --rounds 6 -- -m sweeps report sqrt --out /tmp/res-{side}

Each side is a Python interpreter (a venv with its code installed, e.g. ``pip install -e`` of a
worktree at another commit); the command is its arguments, ``{side}`` and ``{round}`` in them
replaced (so each side can have its own results folder, and each round a fresh one). The sides run
in turn, the order alternating each round (A B, B A, ...), each from ``--cwd`` (default a temporary
folder, so that ``python -m`` finds no code in the current folder). ``--warmup N`` runs each side N
times first, uncounted (a warm run: the kernel compiled, the files in the page cache).

Per run: the wall seconds (a monotonic clock around the process), its user and system CPU seconds
and those of the processes it waited for (``os.wait4``, as ``/usr/bin/time`` reads them), and the
load average as it started. Then each side's medians, and each round's ratio of the first side to
the second and their median. A run that exits non-zero stops the benchmark with its stderr.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(python: str, args: list[str], cwd: str, env: dict[str, str]) -> dict[str, float]:
    """One run of ``python *args``: wall, user and system seconds (itself and its waited-for
    children), load average at its start."""
    load = os.getloadavg()[0]
    start = time.monotonic()
    process = subprocess.Popen(
        [python, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    stderr = process.stderr.read()  # until it closes: the process is ending
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        sys.exit(f"{python} {' '.join(args)} exited {process.returncode}:\n{stderr.decode()}")
    return {"wall": wall, "user": usage.ru_utime, "sys": usage.ru_stime, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--side", action="append", required=True, metavar="NAME=PYTHON", help="twice: A, then B"
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=0, help="uncounted runs of each side first")
    parser.add_argument("--cwd", help="the folder the commands run in (default: a temporary one)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- and the python arguments")
    args = parser.parse_args()
    sides = dict(side.split("=", 1) for side in args.side)
    if len(sides) != 2:
        parser.error("give --side twice, with two names")
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    env = os.environ | {"PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        cwd = args.cwd or tmp
        for name, python in sides.items():
            for w in range(args.warmup):
                run = [a.format(side=name, round=f"w{w}") for a in command]
                timed(python, run, cwd, env)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
        for r in range(args.rounds):
            for name in list(sides) if r % 2 == 0 else list(sides)[::-1]:
                run = [a.format(side=name, round=r) for a in command]
                runs[name].append(timed(sides[name], run, cwd, env))
                t = runs[name][-1]
                print(
                    f"round {r + 1} {name:<8} {t['wall']:7.2f} s wall  {t['user']:7.2f} user "
                    f"{t['sys']:6.2f} sys  load {t['load']:.2f}",
                    flush=True,
                )
    a, b = sides
    print(f"\nmedians of {args.rounds} rounds ({' '.join(command)}):")
    for name in sides:
        wall = statistics.median(t["wall"] for t in runs[name])
        cpu = statistics.median(t["user"] + t["sys"] for t in runs[name])
        print(f"  {name:<8} {wall:7.2f} s wall  {cpu:7.2f} s CPU (user + sys)")
    walls = [x["wall"] / y["wall"] for x, y in zip(runs[a], runs[b])]
    cpus = [(x["user"] + x["sys"]) / (y["user"] + y["sys"]) for x, y in zip(runs[a], runs[b])]
    print(
        f"  {a}/{b} round by round: wall {', '.join(f'{w:.2f}' for w in walls)} "
        f"(median {statistics.median(walls):.2f}); CPU median {statistics.median(cpus):.2f}"
    )
    loads = [t["load"] for name in sides for t in runs[name]]
    print(f"  load average at the runs' starts: {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
