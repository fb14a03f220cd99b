"""The README, true in order: every command and code block of it runs, top to bottom, in one fresh folder, as a
newcomer would run them after cloning, with the budgets cut down by the README's own environment variables
(SWEEPS_MAX_TRIALS, SWEEPS_MAX_STEPS), never by editing what it says."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<lang>bash|python)\n(?P<body>.*?)^(?P=indent)```", re.S | re.M)

NOT_RUN = {
    "pip install": "the package and its test extra are installed already, in this environment: a reinstall from the "
                   "fresh folder would point the environment at it",
    "python -m pytest": "the test suite: this test is part of it",
    "createdb": "tests/sweeps/test_storage.py runs the PostgreSQL commands verbatim, on a server of its own",
    "postgresql://": "tests/sweeps/test_storage.py runs the PostgreSQL commands verbatim, on a server of its own",
}
"""Commands that are not run here, by what they contain, and why."""

BUDGETS = {"SWEEPS_MAX_TRIALS": "6", "SWEEPS_MAX_STEPS": "300"}
"""Every sweep the README starts stops at 6 trials, and every training (the analysis's too) at 300 steps."""


def blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced bash and python block of the README, in order."""
    found = []
    for m in FENCE.finditer(README.read_text()):
        indent = len(m["indent"])
        found.append((m["lang"], "".join(line[indent:] for line in m["body"].splitlines(keepends=True))))
    return found


def snippets() -> list[str]:
    return [code for lang, code in blocks() if lang == "python"]


def commands(code: str) -> list[str]:
    """The commands of a bash block as a newcomer types them: comments dropped, a synopsis's optional ``[parts]``
    left out (its continuation lines joined), and each part of ``a && b`` on its own."""
    lines: list[str] = []
    for raw in code.splitlines():
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and lines:  # a synopsis goes on over a second line
            lines[-1] += " " + line
        else:
            lines.append(line)
    return [part.strip() for line in lines for part in re.sub(r"\s*\[[^\]]*\]", "", line).split("&&")]


def steps() -> list[tuple[str, str]]:
    """("bash", command) and ("python", block) in the README's order, with what is not run here left out."""
    out = []
    for lang, code in blocks():
        if lang == "python":
            out.append(("python", code))
        else:
            out += [("bash", c) for c in commands(code) if not any(k in c for k in NOT_RUN)]
    return out


def test_the_readme_has_the_snippets_users_copy():
    text = "\n".join(snippets())
    assert len(snippets()) >= 4
    assert 'studies.get("sqrt").data()' in text and "MLPConfig.from_json" in text and "Study.from_arrays" in text


def test_commands_are_read_as_a_newcomer_types_them():
    code = ("python -m pip install -e . && python -m sweeps run sqrt\n"
            "python -m sweeps run sqrt [--trials N] [--jobs J]   # a synopsis\n"
            "                          [--no-report]\n"
            "# a comment line\n"
            "python -m sweeps best sqrt > sqrt_best.json # the best config\n")
    assert commands(code) == ["python -m pip install -e .", "python -m sweeps run sqrt", "python -m sweeps run sqrt",
                              "python -m sweeps best sqrt > sqrt_best.json"]
    ran = [c for lang, c in steps() if lang == "bash"]
    assert "python -m sweeps run sqrt" in ran and "python -m sweeps report --all" in ran
    assert not [c for c in ran if "[" in c or "pip install" in c or "pytest" in c]


def test_the_readme_runs_top_to_bottom_in_one_fresh_folder(tmp_path):
    """Each command in a shell, each Python block in a fresh interpreter, in the README's order, in one folder
    holding what a clone holds beside the packages (examples/): a later step sees what the earlier ones left, as
    a newcomer's would."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    bin_dir = os.path.dirname(sys.executable)  # `python` and `sweeps` are this environment's
    env = os.environ | {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")} | BUDGETS
    env.pop("PYTHONPATH", None)
    for i, (lang, code) in enumerate(steps()):
        if lang == "bash":
            r = subprocess.run(["bash", "-c", f"set -o pipefail; {code}"], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=900)
        else:
            (tmp_path / f"readme_block_{i}.py").write_text(code)
            r = subprocess.run([sys.executable, f"readme_block_{i}.py"], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=900)
        assert r.returncode == 0, f"step {i} ({lang}) failed:\n{code}\n--- stderr:\n{r.stderr[-3000:]}"
    # The outputs the README names are there, each still what it should be.
    assert (tmp_path / "sqrt_best.json").read_text().lstrip().startswith("{\n  \"hidden\"")
    assert '"format"' in (tmp_path / "sqrt_model.json").read_text()
    for name in ("best.json", "trials.csv", "report.html"):
        for study in ("sqrt", "mine", "surface", "sqrt_data"):
            assert (tmp_path / "results" / study / name).is_file(), (study, name)
    assert (tmp_path / "results" / "index.html").is_file()
