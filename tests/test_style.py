"""The house's layout rules that a reader sees in every file: sweeps/ lines of at most 100 characters.

The package is formatted with ruff (its settings in pyproject.toml: ``ruff format sweeps``); what the
formatter cannot wrap (text in strings, comments, docstrings) is wrapped by hand.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WIDTH = 100


def test_no_line_of_sweeps_is_over_100_characters():
    long = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "sweeps").rglob("*.py"))
            for n, line in enumerate(path.read_text().splitlines(), 1) if len(line) > WIDTH]
    assert not long, f"{len(long)} lines over {WIDTH} characters: {long[:10]}"
