"""The code of an earlier commit, unpacked into a folder: the "before" side of a benchmark run side by side."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export(commit: str, folder: Path, *paths: str) -> Path:
    """``git archive COMMIT [PATHS]`` of this checkout unpacked into ``folder`` (made here); returns ``folder``."""
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, *paths], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder
