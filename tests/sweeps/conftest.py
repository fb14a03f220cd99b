import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

TINY_STUDY = """
import numpy as np
from mlpcore import MLPConfig
from studies import Study

def sample(rng):
    x = rng.uniform(-2.0, 2.0, 60)
    return x, np.sin(2 * x) + 0.05 * rng.standard_normal(60)

STUDY = Study(name="tiny", title="sin(2x), small and quick", question="a test study", target=lambda x: np.sin(2 * x),
              sample=sample, noise_sd=0.05, trials=8, steps=150, repeats=1,
              baseline=MLPConfig(hidden=(4,), activation="relu", x_scaling="none", y_scaling="none", optimizer="sgd",
                                 lr=1e-4, steps=150))
"""


@pytest.fixture
def tiny_study(tmp_path) -> str:
    """Path of a user study file with a tiny budget (150 steps, 8 trials)."""
    path = tmp_path / "tiny.py"
    path.write_text(TINY_STUDY)
    return str(path)


class Swept(NamedTuple):
    folder: Path
    """Holds ``tiny.py`` and ``results/tiny/``: its whole sweep, its files and its report."""
    stdout: str
    """What the ``run`` that made it printed."""

    def copy(self, to: Path) -> Path:
        """A copy of the folder's content in ``to``, for a test that changes it; returns ``to``."""
        shutil.copytree(self.folder, to, dirs_exist_ok=True)
        return to


@pytest.fixture(scope="session")
def swept_tiny(tmp_path_factory) -> Swept:
    """The tiny study swept once for every test that reads a finished sweep: ``run tiny.py --jobs 1`` by the real
    CLI in its own process (its driver is gone when the tests look), with its report. Read it, or copy it."""
    folder = tmp_path_factory.mktemp("swept_tiny")
    (folder / "tiny.py").write_text(TINY_STUDY)
    r = run_cli("run", "tiny.py", "--jobs", "1", cwd=folder)
    assert r.returncode == 0, r.stderr
    return Swept(folder, r.stdout)


def without_analysis(args) -> list[str]:
    """``args``, a ``run`` without its counterfactual analysis unless the test asks for it with --explain: that is
    tested in test_explain.py, and would multiply every other test's trainings."""
    if args and args[0] == "run" and not {"--explain", "--no-explain"} & set(args):
        return [*args, "--no-explain"]
    return list(args)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the real CLI, as a user would (see :func:`without_analysis`)."""
    return subprocess.run([sys.executable, "-m", "sweeps", *without_analysis(args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def main(args: list[str]) -> int:
    """``sweeps.cli.main`` in this process, on ``args`` (see :func:`without_analysis`)."""
    from sweeps.cli import main as cli_main

    return cli_main(without_analysis(args))


def run_patched(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``script`` (Python source that patches the OS's behaviour, then calls the CLI or fails) with ``args``."""
    return subprocess.run([sys.executable, "-c", script, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def bad_input_error(args: list[str], capsys) -> str:
    """Run the CLI in this process on bad input: its one line of stderr, after checking exit code 2 and no traceback."""
    from sweeps.cli import main

    try:
        code = main(args)
    except SystemExit as e:  # argparse
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


@pytest.fixture
def cli():
    return run_cli
