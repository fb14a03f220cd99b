"""examples/quickstart.ipynb runs top to bottom in a Jupyter kernel (nbclient), in a fresh folder, as a user
would run it; and the APIs it relies on take a study by its name."""

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def _outputs(cell) -> list[str]:
    """The MIME types and stream names of a cell's outputs."""
    found = []
    for out in cell.get("outputs", []):
        found += list(out.get("data", {})) if "data" in out else [out.get("name", out["output_type"])]
    return found


def _text(cell) -> str:
    return "".join(out.get("text", "") + out.get("data", {}).get("text/plain", "") for out in cell.get("outputs", []))


def test_the_notebook_is_stored_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_the_quickstart_notebook_runs_in_a_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on a cell's error
    code = [c for c in nb.cells if c.cell_type == "code"]
    by_source = {c.source.splitlines()[0]: c for c in code}
    # the figures of the report, and one drawn with seaborn, are shown as they are returned
    assert "image/png" in _outputs(by_source["ax = sweeps.report.history(f.trials)"])
    assert "image/png" in _outputs(next(c for c in code if c.source.startswith("ax = sns.scatterplot")))
    assert "CategoricalDtype(categories=['diverged', 'collapsed', 'linear', 'underfit', 'fit'], ordered=True" in \
        _text(by_source['trials["mode"].dtype'])
    # the sweep, the config and the model are where the notebook says, in the notebook's folder
    assert (tmp_path / "results" / "sqrt" / "journal.log").is_file()
    assert (tmp_path / "sqrt_best.json").is_file() and (tmp_path / "sqrt_model.json").is_file()
    assert _text(by_source['cfg = sweeps.best_config("sqrt")']).strip().endswith(("'fit'", "'underfit'", "'linear'",
                                                                                  "'collapsed'", "'diverged'"))
    # the best trial's own model, loaded by name, predicts what the trial stored (the cell asserts
    # it, then shows the first predictions)
    assert _text(by_source['trained = sweeps.best_model("sqrt")']).startswith("array([")
