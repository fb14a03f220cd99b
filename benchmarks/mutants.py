"""Mutation testing of the core logic: does the test module of each piece catch a plausible slip?

    python benchmarks/mutants.py [--timeout SEC] [--only NAME[,NAME...]] [--list] [--no-baseline]

Each mutant of MUTANTS replaces one exact text of one file (which must occur exactly once there,
else the mutant is *invalid*, not survived) and names the tests that concern it. The runner copies
the repository to a temporary folder once (numba's cache included, so the kernel is not compiled
again), applies one mutant at a time to the copy, runs its tests there (``pytest -x -q -n 0``, with
the copy first on the path, in its own process group, killed at ``--timeout``), and puts the file
back. The real files are never written, whatever stops the runner. Each set of tests first runs
once unmutated: tests that fail on the real code would prove nothing, and their mutants are invalid.

A mutant is *killed* when its tests fail (an import it broke included) or time out, *survived*
when they pass. The table goes to stdout, its last line ``survived: K of N`` over the N valid
mutants; progress, with the test that killed each mutant, to stderr. Standard library and pytest
only.
sweeps/analysis/ and sweeps/report/ are left out on purpose: they are being rewritten (issue 30).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT_AT_TOP = {".git", "results", "build", "dist", ".venv"}
LEFT_OUT_ANYWHERE = (".pytest_cache", ".hypothesis", "*.egg-info")
"""Not copied: history, sweep outputs and caches the tests do not need (``results`` at the top
only: ``sweeps/results`` is code)."""


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    original: str
    replacement: str
    tests: tuple[str, ...]
    """pytest arguments: test files, and ``-k EXPR`` where a file holds more than concerns it."""
    description: str


CORE, SWEEPS = "tests/mlpcore/test_", "tests/sweeps/test_"
DIAG, SCALING, OPTIM = CORE + "diagnostics.py", CORE + "scaling.py", CORE + "optim.py"
GRADCHECK, TRAIN, CONFIG = CORE + "gradcheck.py", CORE + "train.py", CORE + "config.py"
RECORDS, STORAGE, MASKING = SWEEPS + "records.py", SWEEPS + "storage.py", SWEEPS + "masking.py"
PRUNING, RUNNER, RESULTS = SWEEPS + "pruning.py", SWEEPS + "runner.py", SWEEPS + "results.py"
FAST_PRUNING = (PRUNING, "-k", "own_pruner or reference or third or rung_by_rung")
"""The pruning tests that need no sweep: the rules against Optuna's pruners and by hand."""
BUDGET = (RUNNER, "-k", "within_budget or refill")
COMBINE = (RUNNER, "-k", "median")

MUTANTS = (
    # --- mlpcore -----------------------------------------------------------------------------
    Mutant("diag-noise-signal", "mlpcore/diagnostics.py",
           'signal = metrics["var_y"] - metrics["noise_floor"]', 'signal = metrics["var_y"]',
           (DIAG,),
           "a line target judged on all its variance, noise too"),
    Mutant("diag-noise-structure", "mlpcore/diagnostics.py",
           "structure = line_mse - noise", "structure = line_mse", (DIAG,),
           "noise counted as structure beyond a line"),
    Mutant("diag-fit-threshold", "mlpcore/diagnostics.py",
           '(metrics.get("captured") or -np.inf) >= FIT_CAPTURED',
           '(metrics.get("captured") or -np.inf) > FIT_CAPTURED', (DIAG,),
           "exactly FIT_CAPTURED of the structure is not a fit"),
    Mutant("diag-collapsed-threshold", "mlpcore/diagnostics.py",
           "spread < COLLAPSED_SPREAD", "spread <= COLLAPSED_SPREAD", (DIAG,),
           "a spread of exactly COLLAPSED_SPREAD collapses"),
    Mutant("diag-gsj-weight", "mlpcore/diagnostics.py",
           "c2 = 1.0 / (a * a + b * b + 1.0)", "c2 = 1.0 / (a * a + b * b)",
           (DIAG, "-k", "noise_floor"),
           "the GSJ noise weight forgets the middle point's noise"),
    Mutant("scaler-inverse", "mlpcore/scaling.py",
           "return u * self.scale + self.offset", "return (u + self.offset) * self.scale",
           (SCALING,),
           "the scaler's inverse adds the offset before scaling"),
    Mutant("adam-bias-correction", "mlpcore/optim.py",
           "p -= self.lr * (m / c1) / (np.sqrt(s / c2) + ADAM_EPS)",
           "p -= self.lr * m / (np.sqrt(s / c2) + ADAM_EPS)", (OPTIM,),
           "Adam's first moment without its bias correction"),
    Mutant("momentum-dampened", "mlpcore/optim.py",
           "            v += g\n", "            v += (1.0 - self.mu) * g\n", (OPTIM,),
           "heavy-ball momentum turned into a gradient average"),
    Mutant("gradcheck-restore", "mlpcore/gradcheck.py",
           "        net.theta[i] = keep\n        numeric", "        numeric", (GRADCHECK,),
           "gradcheck leaves each parameter shifted"),
    Mutant("train-patience", "mlpcore/train.py",
           "if stale >= config.patience:", "if stale > config.patience:",
           (TRAIN, "-k", "plateau"),
           "the plateau stop waits one checkpoint past patience"),
    Mutant("train-nan-loss", "mlpcore/train.py",
           "if not loss <= limit:  # also catches NaN", "if loss > limit:",
           (TRAIN, "-k", "diverge"),
           "a NaN loss no longer stops NumPy training at its step"),
    Mutant("config-open-bound", "mlpcore/config.py",
           "low <= value < high", "low <= value <= high", (CONFIG,),
           "a real setting may equal its open bound (momentum 1)"),
    Mutant("config-max-steps", "mlpcore/config.py",
           "not 1 <= value <= high", "not 1 <= value < high", (CONFIG,),
           "an integer setting at its maximum is refused"),
    # --- sweeps/store ------------------------------------------------------------------------
    Mutant("records-lost-done", "sweeps/store/records.py",
           '"error" in t.user_attrs\n',
           '("error" in t.user_attrs or stop_reason(t) is Stop.DRIVER_DIED)\n',
           (RECORDS,), "a trial lost with a dead driver counts as done"),
    Mutant("records-legacy-stop", "sweeps/store/records.py",
           "value.startswith(start)", "value == start", (RECORDS,),
           "a legacy stop sentence is not read as its stop"),
    Mutant("journal-torn-tail", "sweeps/store/journal.py",
           "if repair and not complete:", "if repair and complete:", (STORAGE, "-k", "torn"),
           "a torn journal tail is kept before the next append"),
    Mutant("masking-unencoded-at", "sweeps/store/masking.py",
           """(?P<secret>[^\\s'\\"/]*)(?P<at>@)""", """(?P<secret>[^\\s'\\"/@]*)(?P<at>@)""",
           (MASKING,),
           "a password with an unencoded @ is masked up to it"),
    # --- sweeps/search -----------------------------------------------------------------------
    Mutant("hyperband-rung", "sweeps/search/pruning.py",
           "REDUCTION_FACTOR ** (bracket + rung)", "REDUCTION_FACTOR ** (bracket + rung + 1)",
           FAST_PRUNING,
           "Hyperband's rung index off by one (rungs eta late)"),
    Mutant("hyperband-promoted", "sweeps/search/pruning.py",
           "(len(competing) + 1) // REDUCTION_FACTOR - 1", "len(competing) // REDUCTION_FACTOR - 1",
           FAST_PRUNING, "Hyperband's promotion index leaves the trial out"),
    Mutant("median-warmup", "sweeps/search/pruning.py",
           "keep = (self.grid >= self.warmup)", "keep = (self.grid > self.warmup)",
           FAST_PRUNING,
           "the median pruner skips the warm-up's last checkpoint"),
    Mutant("budget-number", "sweeps/search/driver.py",
           "if trial.number < self.total:", "if trial.number <= self.total:", BUDGET,
           "a trial numbered exactly the budget is within it"),
    Mutant("budget-rank", "sweeps/search/driver.py",
           "bisect.bisect_left(alive, trial.number) < self.total",
           "bisect.bisect_left(alive, trial.number) <= self.total", BUDGET,
           "a trial ranked exactly the budget is kept"),
    Mutant("refill-boundary", "sweeps/search/driver.py",
           "if done + running >= self.total:", "if done + running > self.total:", BUDGET,
           "refill asks one more trial when the budget is used"),
    Mutant("combine-median-run", "sweeps/search/worker.py",
           "[(len(runs) - 1) // 2]", "[len(runs) // 2]", COMBINE,
           "an even count reports the upper middle run"),
    Mutant("combine-median-value", "sweeps/search/worker.py",
           '"value": float(np.median(values)),', '"value": float(median["value"]),', COMBINE,
           "an even count scores the middle run, not the median"),
    Mutant("trial-seeds", "sweeps/search/driver.py",
           "np.random.SeedSequence([seed, number])", "np.random.SeedSequence([number])",
           (RUNNER, "-k", "trial_seeds"), "trial seeds ignore the study's seed"),
    # --- sweeps/results ----------------------------------------------------------------------
    Mutant("best-trial-tie", "sweeps/results/reading.py",
           "key=lambda t: (t.value, t.number)", "key=lambda t: (t.value, -t.number)",
           (RESULTS,), "best_trial breaks a tie by the latest trial"),
    Mutant("escape-share", "sweeps/results/frames.py",
           'float(done["escaped"].mean())', 'float(done["escaped"].sum() / len(trials))',
           (RESULTS,), "the escape share counts failed and pruned trials"),
)


@dataclass
class Outcome:
    verdict: str  # killed, killed (timeout), survived, invalid: ...
    seconds: float
    failed: str = ""
    """The first test that failed (pytest's short summary line), when one did."""


def check(mutant: Mutant, root: Path) -> str | None:
    """Why ``mutant`` cannot be applied to the files under ``root``; None when it can."""
    path = root / mutant.file
    if not path.is_file():
        return f"invalid: no file {mutant.file}"
    found = path.read_text().count(mutant.original)
    if found != 1:
        return f"invalid: the original occurs {found} times in {mutant.file}, not once"
    if mutant.original == mutant.replacement:
        return "invalid: the replacement is the original"
    return None


def copy_repository(to: Path) -> Path:
    """A copy of the repository, numba's cache and the files' times kept (the cache stays valid)."""
    anywhere = shutil.ignore_patterns(*LEFT_OUT_ANYWHERE)

    def left_out(folder: str, names: list[str]) -> set[str]:
        top = LEFT_OUT_AT_TOP & set(names) if Path(folder) == ROOT else set()
        return set(anywhere(folder, names)) | top

    shutil.copytree(ROOT, to, ignore=left_out, symlinks=True)
    return to


def run_tests(copy: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, float, str]:
    """Run ``tests`` in ``copy``: ("passed" | "failed" | "timeout" | "error N (...)", seconds, the
    first FAILED or ERROR line of pytest's summary)."""
    path = os.pathsep.join(p for p in (str(copy), os.environ.get("PYTHONPATH")) if p)
    # The copy first on the path, before the editable install; its .pyc files stay the real code's.
    env = dict(os.environ, PYTHONPATH=path, PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", *tests]
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as log:
        # In its own process group: a timeout ends the tests' children (workers, CLI runs) too.
        proc = subprocess.Popen(cmd, cwd=copy, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "timeout", time.monotonic() - t0, ""
        finally:
            if proc.poll() is None:  # the runner itself is stopping
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        seconds = time.monotonic() - t0
        log.seek(0)
        lines = log.read().decode(errors="replace").splitlines()
    failed = next((line for line in lines if line.startswith(("FAILED ", "ERROR "))), "")
    # pytest: 0 all passed, 1 some failed, 2 interrupted (a collection error: a broken import)
    result = {0: "passed", 1: "failed", 2: "failed", 4: "error 4 (usage: a missing test file?)",
              5: "error 5 (no test selected)"}.get(code, f"error {code}")
    return result, seconds, failed


def run_mutant(mutant: Mutant, copy: Path, timeout: float) -> Outcome:
    path = copy / mutant.file
    text, times = path.read_text(), path.stat()
    path.write_text(text.replace(mutant.original, mutant.replacement, 1))
    try:
        result, seconds, failed = run_tests(copy, mutant.tests, timeout)
    finally:
        path.write_text(text)
        # The original time back: caches keyed on it (.pyc, numba's) hold again.
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
    verdict = {"failed": "killed", "timeout": "killed (timeout)", "passed": "survived"}.get(
        result, f"invalid: pytest {result}")
    return Outcome(verdict, seconds, failed)


def table(rows: list[tuple[Mutant, Outcome]]) -> str:
    name_w = max(len("mutant"), *(len(m.name) for m, _ in rows))
    desc_w = max(len("description"), *(len(m.description) for m, _ in rows))
    verdict_w = max(len("result"), *(len(o.verdict) for _, o in rows))
    lines = [f"{'mutant':<{name_w}}  {'description':<{desc_w}}  {'result':<{verdict_w}}  seconds"]
    lines += [f"{m.name:<{name_w}}  {m.description:<{desc_w}}  {o.verdict:<{verdict_w}}  "
              f"{o.seconds:7.1f}" for m, o in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds a mutant's tests may take")
    parser.add_argument("--only", default="", help="comma-separated mutant names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip running each set of tests unmutated")
    args = parser.parse_args(argv)
    mutants = list(MUTANTS)
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - {m.name for m in mutants})
        if unknown:
            parser.error(f"unknown mutant(s) {unknown}; "
                         f"choose from {[m.name for m in mutants]}")
        mutants = [m for m in mutants if m.name in wanted]
    if args.list:
        for m in mutants:
            print(f"{m.name}: {m.file}: {m.description}  [{' '.join(m.tests)}]")
        return 0

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # leave through the finally below
    rows: list[tuple[Mutant, Outcome]] = []
    scratch = Path(tempfile.mkdtemp(prefix="mutants-"))
    try:
        copy = copy_repository(scratch / "repo")
        baseline: dict[tuple[str, ...], str] = {}
        for m in mutants:
            why = check(m, copy)
            if why is None and not args.no_baseline and m.tests not in baseline:
                result, seconds, _ = run_tests(copy, m.tests, args.timeout)
                baseline[m.tests] = result
                print(f"unmutated {' '.join(m.tests)}: {result} ({seconds:.1f} s)",
                      file=sys.stderr)
            if why is None and baseline.get(m.tests, "passed") != "passed":
                why = f"invalid: its tests {baseline[m.tests]} unmutated"
            outcome = Outcome(why, 0.0) if why else run_mutant(m, copy, args.timeout)
            print(f"{m.name}: {outcome.verdict} ({outcome.seconds:.1f} s) {outcome.failed}",
                  file=sys.stderr)
            rows.append((m, outcome))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(table(rows))
    valid = [o for _, o in rows if not o.verdict.startswith("invalid")]
    invalid = len(rows) - len(valid)
    if invalid:
        print(f"invalid: {invalid} (not counted below)")
    print(f"survived: {sum(o.verdict == 'survived' for o in valid)} of {len(valid)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
