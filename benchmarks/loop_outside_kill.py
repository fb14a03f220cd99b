"""The outside-kill scenario in a loop: a worker SIGKILLed from outside mid-sweep must cost a rerun, never the sweep.

    python benchmarks/loop_outside_kill.py [--runs 30] [--busy 0] [--trials 12] [--steps 6000]

Each run starts ``python -m sweeps run tiny.py --jobs 2`` in a fresh folder, waits until its
workers are up, sleeps a random 0-3 s, SIGKILLs one of them at random (never loky's resource
tracker), and checks that the driver exits 0 with every trial complete. ``--busy N`` first
starts N processes that spin on a core each, as a loaded machine would (tests/sweeps/
test_reliability.py -k outside_kill failed 3 runs in 5 that way before the fix). Prints the
runs, the failures (each with the driver's last stderr line) and the kill moments.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sweeps"))
from conftest import TINY_STUDY  # noqa: E402

BUSY = "while True: pass"


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def workers(pid: int) -> list[int]:
    return [p for p in children(pid) if b"loky" in cmdline(p) and b"resource_tracker" not in cmdline(p)]


def one_run(folder: Path, trials: int, steps: int, rng: random.Random) -> tuple[bool, str]:
    """One sweep with one worker killed at a random moment: (passed, what happened)."""
    study = folder / "tiny.py"
    study.write_text(TINY_STUDY.replace("trials=8, steps=150,", f"trials={trials}, steps={steps},"))
    proc = subprocess.Popen([sys.executable, "-m", "sweeps", "run", str(study), "--jobs", "2", "--no-report"],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while len(workers(proc.pid)) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    delay = rng.uniform(0.0, 3.0)
    time.sleep(delay)
    alive = workers(proc.pid)
    if not alive:
        proc.kill()
        return False, f"no worker to kill after {delay:.2f} s (driver exit {proc.poll()})"
    subprocess.run(["kill", "-KILL", str(rng.choice(alive))])
    _, err = proc.communicate(timeout=600)
    import sweeps

    opt = sweeps.load(str(study), out=folder / "results")
    complete = sum(t.state.name == "COMPLETE" for t in opt.trials)
    lines = err.strip().splitlines()
    ok = proc.returncode == 0 and complete == trials
    return ok, f"kill at +{delay:.2f} s: exit {proc.returncode}, {complete}/{trials} complete" + (
        "" if ok else f", stderr: {lines[-1] if lines else ''}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--busy", type=int, default=0, help="processes spinning on a core each during the runs")
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    spinners = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(args.busy)]
    failures = []
    t0 = time.perf_counter()
    try:
        for i in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                ok, what = one_run(Path(tmp), args.trials, args.steps, rng)
            print(f"run {i + 1:>3}: {'ok  ' if ok else 'FAIL'} {what}", flush=True)
            if not ok:
                failures.append(what)
    finally:
        for p in spinners:
            p.send_signal(signal.SIGKILL)
            p.wait()
    print(f"\n{args.runs} runs with {args.busy} busy processes: {len(failures)} failed "
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
