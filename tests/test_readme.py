"""Every Python snippet of the README runs verbatim, in order, in a fresh folder (so the sweeps they
start are tiny ones of their own, under that folder's results/)."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def snippets() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def test_the_readme_has_the_snippets_users_copy():
    text = "\n".join(snippets())
    assert len(snippets()) >= 4
    assert 'studies.get("sqrt").data()' in text and "MLPConfig.from_json" in text and "Study.from_arrays" in text


def test_every_python_snippet_runs_verbatim(tmp_path):
    program = "\n".join(f"# --- snippet {i}\n{code}" for i, code in enumerate(snippets()))
    (tmp_path / "readme_snippets.py").write_text(program)
    r = subprocess.run([sys.executable, "readme_snippets.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    # The outputs the snippets name are distinct files, each still what it should be.
    assert (tmp_path / "sqrt_best.json").read_text().lstrip().startswith("{\n  \"hidden\"")
    assert '"format"' in (tmp_path / "sqrt_model.json").read_text()
    for name in ("best.json", "trials.csv", "report.html"):
        assert (tmp_path / "results" / "sqrt" / name).is_file() and (tmp_path / "results" / "mine" / name).is_file()
