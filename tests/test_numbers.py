"""The same fact, the same number: each number the README states against what the code declares
for that fact, and against what the command line and the page of a small sweep say for it."""

import dataclasses
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mlpcore.config as bounds
import studies
from mlpcore import diagnostics
from studies.base import VAL_FRACTION, Study
from sweeps import space
from sweeps.analysis import fixes, tuning
from sweeps.analysis.evidence import needed_fits
from sweeps.report import live
from sweeps.results import frames
from sweeps.search import driver, history, progress
from sweeps.search.worker import VALUE_CAP
from sweeps.store import liveness, records

ROOT = Path(__file__).resolve().parents[1]
README = " ".join((ROOT / "README.md").read_text().split())
"""The README on one line: a sentence wraps anywhere."""

WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def number(text: str) -> float:
    """A number as the README writes it: ``1,000``, ``1e-6``, ``0.2``, ``Six``."""
    return WORDS[text.lower()] if text.lower() in WORDS else float(text.replace(",", ""))


def stated(pattern: str) -> tuple:
    """The numbers of the README's one match of ``pattern`` (its groups): a fact it no longer
    states, or states twice, fails here."""
    found = re.findall(pattern, README)
    assert len(found) == 1, f"the README states {pattern!r} {len(found)} times"
    groups = found[0] if isinstance(found[0], tuple) else (found[0],)
    return tuple(number(g) for g in groups)


SQRT = studies.get("sqrt")
QUESTIONS = ("sqrt", "square", "square_int", "sine")
GRID = next(f.default for f in dataclasses.fields(Study) if f.name == "grid_points")
LR = space.PARAMS["lr"].default

FACTS = {
    "the quickstart's sweep": (
        r"sweeps the `sqrt` study \((\S+) trials at the search's (\S+) steps",
        lambda: (SQRT.trials, SQRT.steps)),
    "sqrt's asked steps": (
        r"trained at the asker's own (\S+) steps", lambda: (SQRT.asked.steps,)),
    "the asker's budgets": (
        r"sqrt (\S+) full-batch steps, square (\S+), square_int (\S+) one-sample epochs, "
        r"sine (\S+) one-sample steps",
        lambda: tuple(studies.get(n).asked.steps for n in QUESTIONS)),
    "sqrt's search steps": (
        r"its own shorter budget \((\S+) steps for sqrt\)", lambda: (SQRT.steps,)),
    "the analysis's lr grid": (
        r"each decade of the search's range \((\S+) to ([^)\s]+)\), nearest (\S+) first",
        lambda: (tuning.COARSE[0], tuning.COARSE[-1], tuning.CENTER)),
    "the search's lr range": (
        r"each decade of the search's range \((\S+) to ([^)\s]+)\)", lambda: (LR.low, LR.high)),
    "the analysis's init seeds": (
        r"from (\d+) fixed fresh init seeds", lambda: (tuning.REPEATS,)),
    "what escapes": (
        r"\*escapes\* when (\d+) of (\d+) fit",
        lambda: (needed_fits(tuning.REPEATS), tuning.REPEATS)),
    "the canonical values": (
        r"widths (\d+)/(\d+)/(\d+), depth (\d+)-(\d+), init scale (\S+)/(\S+)/(\S+), "
        r"no weight decay",
        lambda: (*fixes.CANONICAL["width"], min(fixes.CANONICAL["depth"]),
                 max(fixes.CANONICAL["depth"]), *fixes.CANONICAL["init_scale"])),
    "the sets tried": (
        r"Every set of up to (\d+) changes is tried", lambda: (fixes.EXHAUSTIVE_SIZE,)),
    "the sets beyond": (
        r"the (\d+) most promising sets of (\d+)",
        lambda: (fixes.BEYOND, fixes.EXHAUSTIVE_SIZE + 1)),
    "the random trials": (
        r"The first (\d+) trials of a sweep are its starting points",
        lambda: (driver.EXPLORE_TRIALS,)),
    "the window": (
        r"drawn knowing exactly trials 0 to n - (\d+) \(`--batch`, (\d+)",
        lambda: (driver.BATCH, driver.BATCH)),
    "the params a trial records": (
        r"Optuna's own record of the (\d+) params", lambda: (len(space.DEFAULT_SPACE),)),
    "the intermediate values": (
        r"(\w+) points of the curve are also Optuna intermediate values",
        lambda: (records.CURVE_POINTS,)),
    "the sampler's window": (
        r"all of them up to (\S+) \(.*?\), past that the (\d+) best",
        lambda: (history.WINDOW, history.KEEP_BEST)),
    "a dead driver": (
        r"after (\d+) s of missed heartbeats", lambda: (liveness.GRACE_SECONDS,)),
    "progress in a log": (
        r"one plain line every (\d+) s in a log", lambda: (progress.LOG_EVERY,)),
    "the live page": (
        r"rewrites it every (\d+) s \(less often when a rewrite is slow, so it takes at most "
        r"(\d+)% of a core\)",
        lambda: (live.INTERVAL, 100 * live.BUDGET)),
    "the trials a page shows": (
        r"past (\S+) trials the page shows (\S+) of them one by one, the (\S+) best and (\S+) spread",
        lambda: (frames.SHOWN, frames.SHOWN, frames.SHOWN // 2, frames.SHOWN - frames.SHOWN // 2)),
    "a diverged trial's value": (
        r"a diverged trial scores (\d+)", lambda: (VALUE_CAP,)),
    "the grid": (
        r"predictions on a (\d+)-point grid", lambda: (GRID,)),
    "the validation share": (
        r"`--val-fraction` \(default (\S+)\)", lambda: (VAL_FRACTION,)),
    "a config's bounds": (
        r"at most (\S+) units a layer, (\S+) parameters, (\S+) steps, batches of (\S+), "
        r"JSON nested (\d+) deep",
        lambda: (bounds.MAX_WIDTH, bounds.MAX_PARAMETERS, bounds.MAX_STEPS,
                 bounds.MAX_BATCH_SIZE, bounds.MAX_JSON_DEPTH)),
    "collapsed": (
        r"spread < (\d+)% of the target's", lambda: (100 * diagnostics.COLLAPSED_SPREAD,)),
    "underfit": (
        r"captures under (\d+)% of the structure", lambda: (100 * diagnostics.FIT_CAPTURED,)),
    "fit": (
        r"it captures at least (\d+)% of the target's structure",
        lambda: (100 * diagnostics.FIT_CAPTURED,)),
}
"""Each fact the README states a number of: the pattern that finds it, what the code declares."""


@pytest.mark.parametrize("fact", FACTS)
def test_the_readme_states_what_the_code_declares(fact):
    pattern, declared = FACTS[fact]
    assert stated(pattern) == pytest.approx(declared())


def test_the_readme_states_each_questions_budget_and_repeats_as_declared():
    from sweeps.cli import repeats_words

    bullets = re.findall(r"\*\*(\w+)\*\* \((\S+) (one-sample )?(?:steps|epochs)", README)
    assert sorted(name for name, *_ in bullets) == sorted(studies.names()) == sorted(QUESTIONS)
    for name, steps, one_sample in bullets:
        asked = studies.get(name).asked
        assert (number(steps), asked.batch_size) == (asked.steps, 1 if one_sample else None), name
    # run --help says the same words, made from the declarations
    said = re.search(r"`--repeats` init seeds \((\d+ for [\w, ]+?, \d+ for sine), whose", README)
    assert said[1] == repeats_words()


def test_the_readme_lists_the_default_space():
    listed = re.search(r"the default space searches (.+?)\. ", README)[1]
    assert set(re.findall(r"`(\w+)`", listed)) == set(space.DEFAULT_SPACE)


def test_the_readme_states_no_count_of_tests():
    # the suite grows with every branch: benchmarks/README.md says how many, and when it counted
    assert not re.search(r"\d tests\b", README)


SMALL = """
import studies
STUDY = studies.get("sqrt").replace(name="sqrt_small", trials=3,
                                    space={"x_scaling": True, "lr": True})
"""
"""The sqrt question with a search space of two settings: its analysis trains few candidates."""


def test_the_command_line_and_the_page_state_the_readmes_numbers(tmp_path):
    (tmp_path / "sqrt_small.py").write_text(SMALL)
    env = dict(os.environ, SWEEPS_MAX_STEPS="200")

    def cli(*args: str) -> str:
        r = subprocess.run([sys.executable, "-m", "sweeps", *args], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        return r.stdout

    said = cli("run", "sqrt_small.py", "--jobs", "2")
    page = (tmp_path / "results" / "sqrt_small" / "report.html").read_text()
    page = html.unescape(re.sub(r"<[^>]+>", "", page))
    (repeats,) = stated(r"`--repeats` init seeds \((\d+) for sqrt")
    (seeds,) = stated(r"from (\d+) fixed fresh init seeds")
    needed, of = stated(r"\*escapes\* when (\d+) of (\d+) fit")
    low, high = stated(r"each decade of the search's range \((\S+) to ([^)\s]+)\)")
    budget = re.search(r"sqrt (\S+ full-batch steps), square", README)[1]
    assert f"each the median of {repeats:g} init seeds" in page
    assert f"every lr from {low:g} to {high:g}" in page
    assert f"from {seeds:g} fresh init seeds, {budget}" in page
    assert f"a set escapes when {needed:g} of its {of:g} init seeds fit" in page
    assert f"trained as you trained it ({budget}" in said and f"{seeds:g} fresh init seeds" in said
    (window,) = stated(r"drawn knowing exactly trials 0 to n - (\d+)")
    assert f"(default {window:g})" in " ".join(cli("run", "--help").split())
    assert f"(default {seeds:g})" in " ".join(cli("explain", "--help").split())
