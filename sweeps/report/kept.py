"""Figures kept from the last report of a sweep, and the key of what they were drawn from: a report
whose frames, analysis and drawing code are those of the figures in ``figures/`` reads them back
instead of drawing them again (``report`` after ``run``, or a second ``report``: the same bytes,
without importing matplotlib and seaborn). The trials' table (``trials.csv``) is kept the same way:
written from the same frames, it would be the same bytes.

The key is a hash of the frames (by their values: `sweeps.results.fingerprint`) and the analysis (as
JSON), of the code's sources and of the versions of the libraries that draw
(`fingerprint.code_digest`); ``figures/drawn.json`` holds it beside each
figure's caption and the hash of its SVG bytes, and the hash of the table, so that a file changed
or removed since is written again.

    >>> key = drawing_key(frames, analysis)
    >>> drawn = kept_figures(fig_dir, key)          # None: draw them
    >>> kept_table(fig_dir, key, table_path)        # False: write the table
    >>> keep_figures(fig_dir, key, drawn, table)    # after writing figures/*.svg and the table
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mlpcore.atomic import replace_file
from sweeps.results import fingerprint

DRAWN_NAME = "drawn.json"
"""The file in ``figures/`` that holds the key of its figures, their captions and their hashes."""


def drawing_key(frames, analysis) -> str:
    """The hash of what a report's figures are drawn from: ``frames``, ``analysis``, the code's
    sources and the drawing libraries' versions."""
    digest = hashlib.sha256()
    fingerprint.update(digest, frames)
    # as JSON: the analysis a run holds and the one read back from its storage differ only in types
    # (a tuple stored as a list)
    digest.update(json.dumps(analysis, sort_keys=True, default=repr).encode())
    digest.update(fingerprint.code_digest().encode())
    return digest.hexdigest()


def kept_figures(fig_dir: Path, key: str) -> dict[str, tuple[bytes, str]] | None:
    """The figures of ``fig_dir`` as :func:`sweeps.report.drawing.draw_figures` returns them (name
    -> (SVG bytes, caption), in page order), when they were drawn from ``key`` and are unchanged
    since; else None."""
    # none kept, or not as this module keeps them: drawn again
    try:
        stored = json.loads((fig_dir / DRAWN_NAME).read_text(encoding="utf-8"))
        if stored.get("key") != key:
            return None
        drawn = {}
        for name, caption, sha in stored["figures"]:
            if not name.isidentifier():  # a figure's name, never a path
                return None
            data = (fig_dir / f"{name}.svg").read_bytes()
            if hashlib.sha256(data).hexdigest() != sha:
                return None
            drawn[name] = (data, caption)
        return drawn
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def kept_table(fig_dir: Path, key: str, table: Path) -> bool:
    """Whether the file ``table`` is the table the report of ``key`` wrote, unchanged since."""
    try:
        stored = json.loads((fig_dir / DRAWN_NAME).read_text(encoding="utf-8"))
        return (
            stored.get("key") == key
            and isinstance(stored.get("table"), str)
            and hashlib.sha256(table.read_bytes()).hexdigest() == stored["table"]
        )
    except (OSError, ValueError, AttributeError):
        return False


def keep_figures(fig_dir: Path, key: str, drawn: dict[str, tuple[bytes, str]], table: str) -> Path:
    """Record ``drawn`` (written into ``fig_dir`` already) and ``table`` (the text of the trials'
    table, written already) as the report of ``key``."""
    figures = [
        [name, caption, hashlib.sha256(data).hexdigest()] for name, (data, caption) in drawn.items()
    ]
    kept = {"key": key, "figures": figures, "table": hashlib.sha256(table.encode()).hexdigest()}
    return replace_file(fig_dir / DRAWN_NAME, json.dumps(kept) + "\n")
