"""The report command: written at the end of run, on request, for every study (--all), and its errors."""

import re

import pytest

from sweeps.report import files as report_page

from conftest import main


def test_run_writes_the_report_and_report_all_indexes_every_sweep(tmp_path, swept_tiny, capsys):
    assert f"report: results/tiny/{report_page.REPORT_NAME}" in swept_tiny.stdout  # `run tiny.py`, by the CLI
    out = swept_tiny.copy(tmp_path) / "results"
    page = out / "tiny" / report_page.REPORT_NAME
    assert page.is_file() and (out / "tiny" / "figures" / "history.svg").is_file()

    other = tmp_path / "other.py"
    other.write_text((tmp_path / "tiny.py").read_text().replace('name="tiny"', 'name="other"'))
    assert main(["run", str(other), "--trials", "2", "--jobs", "1", "--no-report", "--out", str(out)]) == 0
    assert not (out / "other" / report_page.REPORT_NAME).exists()

    assert main(["report", "--all", "--out", str(out)]) == 0
    index = out / report_page.INDEX_NAME
    assert f"report: {index}" in capsys.readouterr().out
    text = index.read_text()
    links = re.findall(r'<a href="([^"]+)">(\w+)</a>', text)
    assert links == [("other/report.html", "other"), ("tiny/report.html", "tiny")]
    for href, _ in links:
        assert (out / href).is_file()
    rows = re.findall(r"<tr><td><a .*?</tr>", text)
    assert "<td class=num>2</td>" in rows[0] and "<td class=num>8</td>" in rows[1]


def test_report_by_name_after_a_run_by_file(tmp_path, swept_tiny):
    out = swept_tiny.copy(tmp_path) / "results"  # run by file (tiny.py); its page and trials.csv removed
    (out / "tiny" / report_page.REPORT_NAME).unlink()
    (out / "tiny" / "trials.csv").unlink()
    assert main(["report", "tiny", "--out", str(out)]) == 0  # the stored sweep, without its study file
    text = (out / "tiny" / report_page.REPORT_NAME).read_text()
    assert "tiny: sin(2x), small and quick" in text and (out / "tiny" / "trials.csv").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["report"], "report takes a study (sine, sqrt, square, square_int or a .py file) or --all, got neither"),
        (["report", "sqrt", "--all"], "or --all, not both"),
        (["report", "cubic"], "unknown study 'cubic': no such study (sine, sqrt, square, square_int or a .py file)"),
        (["report", "sqrt"], "no sweep of 'sqrt' in"),
        (["report", "--all"], "no sweep found in"),
        (["report", "nope.py"], "study file 'nope.py' does not exist"),
    ],
)
def test_bad_report_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    assert main([*args, "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "res").exists()

