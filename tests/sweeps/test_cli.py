"""Smoke tests: the real CLI in a temp folder with tiny budgets."""

import json

import pytest

import mlpcore
import sweeps
from sweeps.cli import main


def test_run_best_list_diagnose_on_a_seed_study(tmp_path, cli):
    r = cli("run", "sqrt", "--trials", "6", "--jobs", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "study sqrt: 6/6 trials complete (each the median of 3 init seeds)" in r.stdout and "best config:" in r.stdout
    out = tmp_path / "results" / "sqrt"
    assert (out / "journal.log").is_file() and (out / "trials.csv").is_file()
    best_file = json.loads((out / "best.json").read_text())

    r = cli("best", "sqrt", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = mlpcore.MLPConfig.from_json(r.stdout)
    assert cfg.to_dict() == best_file["config"]

    r = cli("list", cwd=tmp_path)
    line = next(l for l in r.stdout.splitlines() if l.startswith("sqrt"))
    assert line.split()[1] == "6/6" and float(line.split()[2]) == pytest.approx(best_file["value"], rel=1e-3)

    r = cli("diagnose", "sqrt", cwd=tmp_path)
    assert r.returncode == 0 and "mode: linear" in r.stdout and "x_scaling='standard'" in r.stdout
    (tmp_path / "cfg.json").write_text(cfg.to_json())
    r = cli("diagnose", "sqrt", "--config", "cfg.json", cwd=tmp_path)
    assert r.returncode == 0 and "mode: " in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
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
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, cli, args, message):
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert message in r.stderr
    assert not (tmp_path / "results").exists() or args[0] == "run" and "storage" not in args[2:]


def test_bad_config_file_names_the_field(tmp_path, capsys):
    (tmp_path / "cfg.json").write_text(json.dumps({"lr": 0.1, "hidden_units": 3}))
    assert main(["diagnose", "sqrt", "--config", str(tmp_path / "cfg.json")]) == 2
    assert "unknown config field(s) ['hidden_units']" in capsys.readouterr().err


def test_reuse_api_after_a_cli_run(tmp_path, cli, tiny_study):
    r = cli("run", tiny_study, "--jobs", "1", "--out", str(tmp_path / "res"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = sweeps.best_config(tiny_study, out=tmp_path / "res")
    frame = sweeps.trials_frame(sweeps.load(tiny_study, out=tmp_path / "res"))
    best = frame.loc[frame.value.idxmin()]
    assert cfg.to_dict()["lr"] == best.params_lr and cfg.steps == 150
    import studies

    d = studies.get(tiny_study).data()
    refit = mlpcore.fit(cfg, d.x_train, d.y_train, x_val=d.x_val, y_val=d.y_val)
    assert refit.diagnosis.mode == best["mode"]
    assert refit.diagnosis.metrics["mse"] == pytest.approx(best.val_mse, rel=1e-9)
