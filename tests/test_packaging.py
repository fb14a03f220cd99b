"""What an install gives: the `sweeps` command beside `python -m sweeps`, one version, type hints, a licence,
and a build that warns of nothing of ours."""

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import mlpcore
import studies
import sweeps
import sweeps.cli

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_sweeps_command_is_the_cli():
    (entry,) = metadata.entry_points(group="console_scripts", name="sweeps")
    assert entry.load() is sweeps.cli.main


def test_version_is_one_string_everywhere(capsys):
    assert sweeps.__version__ == mlpcore.__version__ == metadata.version("sweeps-mlpcore")
    r = subprocess.run([sys.executable, "-m", "sweeps", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"sweeps {sweeps.__version__} (optuna ")
    assert "version" in PYPROJECT["project"]["dynamic"] and "version" not in PYPROJECT["project"]


def test_packages_are_typed_and_licensed():
    for package in (mlpcore, studies, sweeps):
        assert (Path(package.__file__).parent / "py.typed").is_file()
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    # an SPDX licence string and a licence classifier together are refused by setuptools
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]


def test_building_the_package_warns_of_nothing(tmp_path):
    """A verbose build shows what `pip install` hides: any Python warning of the build backend (a deprecated
    pyproject field, an unknown classifier) would appear as a `...Warning:` line."""
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    said = r.stdout + r.stderr
    assert not re.findall(r".*\w+Warning\b.*", said)
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith(f"sweeps_mlpcore-{sweeps.__version__}-")
