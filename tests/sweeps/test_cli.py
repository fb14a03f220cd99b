"""Smoke tests: the real CLI in a temp folder with tiny budgets."""

import json

import pytest

import mlpcore
import sweeps
from conftest import bad_input_error, main, run_patched


def test_run_best_list_diagnose_on_a_seed_study(tmp_path, cli):
    r = cli("run", "sqrt", "--trials", "2", "--jobs", "2", "--no-report", cwd=tmp_path)  # the page: test_dashboard
    assert r.returncode == 0, r.stderr
    assert "study sqrt: 2/2 trials complete (each the median of 3 init seeds)" in r.stdout and "best config:" in r.stdout
    out = tmp_path / "results" / "sqrt"
    assert (out / "journal.log").is_file() and (out / "trials.csv").is_file()
    best_file = json.loads((out / "best.json").read_text())

    r = cli("best", "sqrt", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = mlpcore.MLPConfig.from_json(r.stdout)
    assert cfg.to_dict() == best_file["config"]

    r = cli("list", cwd=tmp_path)
    line = next(l for l in r.stdout.splitlines() if l.startswith("sqrt"))
    assert line.split()[1] == "2/2" and float(line.split()[2]) == pytest.approx(best_file["value"], rel=1e-3)

    r = cli("diagnose", "sqrt", cwd=tmp_path)
    assert r.returncode == 0 and "mode: linear" in r.stdout and "x_scaling='standard'" in r.stdout
    (tmp_path / "cfg.json").write_text(cfg.to_json())
    r = cli("diagnose", "sqrt", "--config", "cfg.json", cwd=tmp_path)
    assert r.returncode == 0 and "mode: " in r.stdout


BAD_INPUT = [
    (["run", "cubic"], "unknown study 'cubic'; choose from ['sine', 'sqrt'"),
    (["run", "sqrt", "--trials", "-3"], "argument --trials: must be a whole number >= 1, got '-3'"),
    (["run", "sqrt", "--trials", "0"], "must be a whole number >= 1, got '0'"),
    (["run", "sqrt", "--jobs", "two"], "argument --jobs: must be a whole number >= 1, got 'two'"),
    (["run", "sqrt", "--timeout", "nan"], "argument --timeout: must be a number of seconds > 0"),
    (["run", "sqrt", "--storage", "redis://x"], "storage URL 'redis://x' is not understood"),
    (["run", "sqrt", "--colour", "red"], "unrecognized arguments: --colour red"),
    (["fly"], "argument COMMAND: invalid choice: 'fly' (choose from 'list', 'run', 'best', 'diagnose'"),
    (["best", "sqrt"], "no sweep of 'sqrt' in"),
    (["diagnose", "sqrt", "--config", "nope.json"], "config file 'nope.json' does not exist"),
]
"""Bad input in a fresh folder (test_bad_input.py has the full table, against a stored sweep)."""


@pytest.mark.parametrize("args, message", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_and_creates_nothing(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert message in bad_input_error(args, capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["run", "cubic"], ["fly"], ["run", "sqrt", "--storage", "redis://x"]],
                         ids=" ".join)
def test_bad_input_from_the_real_command_line(tmp_path, cli, args):
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")
    assert list(tmp_path.iterdir()) == []


def test_bad_config_file_names_the_field(tmp_path, capsys):
    (tmp_path / "cfg.json").write_text(json.dumps({"lr": 0.1, "hidden_units": 3}))
    assert main(["diagnose", "sqrt", "--config", str(tmp_path / "cfg.json")]) == 2
    assert "unknown config field(s) ['hidden_units']" in capsys.readouterr().err


def test_reuse_api_after_a_cli_run(swept_tiny):
    tiny_study, out = str(swept_tiny.folder / "tiny.py"), swept_tiny.folder / "results"
    cfg = sweeps.best_config(tiny_study, out=out)
    frame = sweeps.trials_frame(sweeps.load(tiny_study, out=out))
    best = frame.loc[frame.value.idxmin()]
    assert cfg.to_dict()["lr"] == best.params_lr and cfg.steps == 150
    import studies

    d = studies.get(tiny_study).data()
    refit = mlpcore.fit(cfg, d.x_train, d.y_train, x_val=d.x_val, y_val=d.y_val)
    assert refit.diagnosis.mode == best["mode"]
    assert refit.diagnosis.metrics["mse"] == pytest.approx(best.val_mse, rel=1e-9)


# Operating errors, in a process of their own (as a user meets them), the OS's failure emulated
# in it: root may write into a read-only folder, and a disk is not filled for a test.
READ_ONLY = """
import errno, os, sys
folder = os.path.abspath(sys.argv[1])
real_open = os.open
def read_only(path, flags, *args, **kwargs):
    if flags & os.O_CREAT and os.path.abspath(os.fsdecode(path)).startswith(folder):
        raise OSError(errno.EROFS, "Read-only file system", os.fsdecode(path))
    return real_open(path, flags, *args, **kwargs)
os.open = read_only
from sweeps.cli import main
sys.exit(main(sys.argv[2:]))
"""

FULL_DISK = """
import builtins, errno, sys
appends, real_open = [], builtins.open
def full_disk(file, mode="r", *args, **kwargs):
    if any(c in mode for c in "aw+") and str(file).endswith("journal.log"):  # opened to write
        appends.append(file)
        if len(appends) > int(sys.argv[1]):
            raise OSError(errno.ENOSPC, "No space left on device", str(file))
    return real_open(file, mode, *args, **kwargs)
builtins.open = full_disk
from sweeps.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_report_into_a_read_only_folder_is_one_line_exit_77_and_the_old_report_stays(tmp_path, swept_tiny):
    swept_tiny.copy(tmp_path)  # a run that wrote its report
    page = tmp_path / "results" / "tiny" / "report.html"
    before = page.read_bytes()
    r = run_patched(READ_ONLY, str(page.parent), "report", "tiny.py", cwd=tmp_path)
    assert r.returncode == 77, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: '") and "results/tiny/" in r.stderr and "failed: Read-only file system" in r.stderr
    assert page.read_bytes() == before


def test_a_full_disk_mid_run_is_one_line_exit_74_and_a_rerun_loses_nothing(tmp_path, tiny_study):
    from optuna.trial import TrialState

    # the disk fills at the 19th journal append: about 5 of the 8 trials told (two appends a trial: created, told)
    r = run_patched(FULL_DISK, "18", "run", tiny_study, "--jobs", "1", "--no-report", cwd=tmp_path)
    assert r.returncode == 74, r.stderr
    assert r.stderr.count("\n") == 1 and "journal.log' failed: No space left on device" in r.stderr
    assert "run the same command again to resume" in r.stderr
    kept = {t.number: t.value for t in sweeps.load(tiny_study, out=tmp_path / "results").trials
            if t.state == TrialState.COMPLETE}
    assert 0 < len(kept) < 8
    assert main(["run", tiny_study, "--jobs", "1", "--no-report", "--out", str(tmp_path / "results")]) == 0
    opt = sweeps.load(tiny_study, out=tmp_path / "results")
    assert all(opt.trials[n].value == v for n, v in kept.items())
    assert len(opt.get_trials(states=(TrialState.COMPLETE,))) == 8
