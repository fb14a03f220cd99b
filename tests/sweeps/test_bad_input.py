"""Every kind of bad input: one line naming the problem and what is allowed, exit code 2,
no traceback, and nothing already stored is changed.

The table runs the CLI in-process (``sweeps.cli.main``) against a folder that already holds a
finished sweep, and compares that sweep's journal byte for byte before and after.
"""

import json

import pytest

from conftest import bad_input_error, main

SWEPT = "tiny.py"  # a study with a finished sweep in results/tiny/


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, swept_tiny):
    from conftest import TINY_STUDY

    root = swept_tiny.copy(tmp_path_factory.mktemp("bad_input"))  # SWEPT and its sweep, run by the CLI
    (root / "broken_syntax.py").write_text("STUDY = (\n")
    (root / "no_study.py").write_text("x = 1\n")
    (root / "nan_data.py").write_text(TINY_STUDY.replace("return x, np.sin(2 * x)", "return x, np.log(x)")
                                      .replace('name="tiny"', 'name="nan_study"'))
    (root / "unknown_keys.json").write_text(json.dumps({"lr": 0.1, "hidden_units": 3}))
    (root / "wrong_types.json").write_text(json.dumps({"lr": "fast"}))
    (root / "wrong_hidden.json").write_text(json.dumps({"hidden": "ten"}))
    (root / "list.json").write_text("[1, 2]")
    (root / "not_json.json").write_text("{lr: 0.1")
    (root / "a_file").write_text("")
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    for stem, name in (("escaped", "../../escaped"), ("absolute", "/tmp/absolute"), ("empty_name", "")):
        (root / f"{stem}.py").write_text(TINY_STUDY.replace('name="tiny"', f"name={name!r}"))
    (root / "huge_steps.py").write_text(TINY_STUDY.replace("steps=150, repeats", "steps=10**9, repeats")
                                        .replace('name="tiny"', 'name="huge"'))
    # the swept study's name, another problem (issue 31): other steps, other data, another baseline, another target
    (root / "tiny_steps.py").write_text(TINY_STUDY.replace("steps=150, repeats", "steps=300, repeats"))
    (root / "tiny_data.py").write_text(TINY_STUDY.replace("uniform(-2.0, 2.0, 60)", "uniform(-3.0, 3.0, 60)"))
    (root / "tiny_baseline.py").write_text(TINY_STUDY.replace("lr=1e-4", "lr=1e-3"))
    (root / "tiny_target.py").write_text(TINY_STUDY.replace("target=lambda x: np.sin(2 * x)", "target=np.cos"))
    (root / "my data.csv").write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(20)))
    (root / "semi.csv").write_text("x;y\n" + "".join(f"{i};{i * i}\n" for i in range(20)))
    (root / "const.csv").write_text("x,y\n" + "".join(f"{i},3\n" for i in range(20)))
    (root / "wide.csv").write_text(",".join(f"c{j}" for j in range(500)) + ",y\n"
                                   + "".join(",".join(str((i * j) % 7) for j in range(501)) + "\n" for i in range(20)))
    (root / "url.txt").write_text("redis://from-a-file\n")
    (root / "empty.txt").write_text("\n")
    return root


CASES = [
    # unknown or malformed study
    (["run", "cubic"], "unknown study 'cubic'; choose from ['sine', 'sqrt', 'square', 'square_int']"),
    (["run", "broken_syntax.py"], "study file 'broken_syntax.py' failed to load: SyntaxError"),
    (["run", "no_study.py"], "must define STUDY = studies.Study(...), found NoneType"),
    (["run", "missing.py"], "study file 'missing.py' does not exist"),
    (["run", "nan_data.py"], "study 'nan_study': sample gave non-finite values; data must be finite numbers"),
    # bad numbers: negative, zero, NaN, huge, not a number
    (["run", SWEPT, "--trials", "-5"], "argument --trials: must be a whole number >= 1, got '-5'"),
    (["run", SWEPT, "--trials", "0"], "argument --trials: must be a whole number >= 1, got '0'"),
    (["run", SWEPT, "--trials", "nan"], "argument --trials: must be a whole number >= 1, got 'nan'"),
    (["run", SWEPT, "--trials", "1e12"], "argument --trials: must be a whole number >= 1, got '1e12'"),
    (["run", SWEPT, "--trials", "1000000000000"], "trials must be a whole number from 1 to 1000000, got 1000000000000"),
    (["run", SWEPT, "--jobs", "0"], "argument --jobs: must be a whole number >= 1, got '0'"),
    (["run", SWEPT, "--jobs", "100000"], "jobs must be a whole number from 1 to 1024, got 100000"),
    (["run", SWEPT, "--repeats", "0"], "argument --repeats: must be a whole number >= 1, got '0'"),
    (["run", SWEPT, "--repeats", "99999"], "repeats must be a whole number from 1 to 1000, got 99999"),
    (["run", SWEPT, "--seed", "-1"], "argument --seed: must be a whole number >= 0, got '-1'"),
    (["run", SWEPT, "--seed", "99999999999"], "seed must be a whole number from 0 to 4294967295"),
    (["run", SWEPT, "--timeout", "0"], "argument --timeout: must be a number of seconds > 0, got '0'"),
    (["run", SWEPT, "--timeout", "nan"], "argument --timeout: must be a number of seconds > 0, got 'nan'"),
    (["run", SWEPT, "--timeout", "inf"], "argument --timeout: must be a number of seconds > 0, got 'inf'"),
    (["run", SWEPT, "--trial-timeout", "-3"], "argument --trial-timeout: must be a number of seconds > 0, got '-3'"),
    (["run", SWEPT, "--batch", "0"], "argument --batch: must be a whole number >= 1, got '0'"),
    # a rerun that would mix two studies
    (["run", SWEPT, "--seed", "5"], "was run with seed=0; rerun with seed=0, or use another --out or --storage"),
    (["run", SWEPT, "--repeats", "3"], "was run with repeats=1; rerun with repeats=1"),
    # unknown choices
    (["launch", SWEPT], "argument COMMAND: invalid choice: 'launch' (choose from 'list', 'run'"),
    (["run", SWEPT, "--colour", "red"], "unrecognized arguments: --colour red"),
    (["diagnose", SWEPT, "--best", "--baseline"], "argument --baseline: not allowed with argument --best"),
    # config files
    (["diagnose", SWEPT, "--config", "unknown_keys.json"], "unknown config field(s) ['hidden_units']; allowed fields:"),
    (["diagnose", SWEPT, "--config", "wrong_types.json"], "lr must be a finite number > 0.0, got 'fast'"),
    (["diagnose", SWEPT, "--config", "wrong_hidden.json"], "hidden must be 1 to 3 layer widths, each an integer >= 1, got 'ten'"),
    (["diagnose", SWEPT, "--config", "list.json"], "config must be a dict of fields, got list"),
    (["diagnose", SWEPT, "--config", "not_json.json"], "config is not valid JSON"),
    (["diagnose", SWEPT, "--config", "nowhere.json"], "config file 'nowhere.json' does not exist"),
    # bounds (mlpcore.config's MAX_* constants): one line instead of a MemoryError or a RecursionError
    (["diagnose", SWEPT, "--config", '{"hidden": [10000000]}'], "hidden layers must be at most 4096 units wide"),
    (["diagnose", SWEPT, "--config", '{"hidden": [4000, 4000]}'],
     "hidden=(4000, 4000) makes 16016001 parameters; at most 1000000 are allowed"),
    (["diagnose", SWEPT, "--config", '{"steps": 100000000}'], "steps must be an integer >= 1 and <= 10000000"),
    (["diagnose", SWEPT, "--config", '{"batch_size": 10000000}'],
     "batch_size must be None or an integer >= 1 and <= 1000000"),
    (["diagnose", SWEPT, "--config", "deep.json"], "config JSON is nested 100000 deep; at most 8 is allowed"),
    (["run", "huge_steps.py"], "steps must be an integer >= 1 and <= 10000000, got 1000000000"),
    # a study's name names its folder: a plain identifier, never a path
    (["run", "escaped.py"], "study name must be a plain name (letters, digits, _ and -, at most 100), got '../../escaped'"),
    (["run", "absolute.py"], "study name must be a plain name (letters, digits, _ and -, at most 100), got '/tmp/absolute'"),
    (["run", "empty_name.py"], "study name must be a plain name (letters, digits, _ and -, at most 100), got ''"),
    # output folders: unwritable (root can write anywhere but /proc, or below a file), missing
    (["run", SWEPT, "--out", "/proc/sweeps"], "cannot create output folder '/proc/sweeps/tiny'"),
    (["run", SWEPT, "--out", "a_file"], "cannot create output folder 'a_file/tiny'"),
    (["best", SWEPT, "--out", "no_such_folder"], "no sweep of 'tiny' in 'no_such_folder/tiny'; run: python -m sweeps run"),
    (["best", "sqrt"], "no sweep of 'sqrt' in 'results/sqrt'; run: python -m sweeps run sqrt"),
    # storage URLs: malformed, unreachable
    (["run", SWEPT, "--storage", "redis://localhost"], "storage URL 'redis://localhost' is not understood; use an Optuna RDB URL"),
    (["run", SWEPT, "--storage", "postgresql:/x"], "storage URL 'postgresql:/x' is not understood"),
    (["run", SWEPT, "--storage", "postgresql://127.0.0.1:1/none"], "cannot open storage 'postgresql://127.0.0.1:1/none':"),
    (["run", SWEPT, "--storage", "sqlite:///no/such/folder/x.db"], "cannot open storage 'sqlite:///no/such/folder/x.db':"),
    (["best", SWEPT, "--storage", "journal:no/such/folder/j.log"], "folder 'no/such/folder' of journal file does not exist"),
    # a study is one problem (issue 31): the swept study's name with another problem is refused, nothing appended
    (["run", "tiny_steps.py"], "study 'tiny' in results/tiny/journal.log is another problem (training budget 150 "
                               "steps, patience 20 there, 300 steps, patience 20 here); nothing was added to it; give "
                               "this one another name (--name NAME), or use another --out or --storage"),
    (["run", "tiny_data.py"], "is another problem (other data; another target)"),
    (["run", "tiny_baseline.py"], "is another problem (another baseline)"),
    (["run", "tiny_target.py"], "is another problem (another target)"),
    (["run", SWEPT, "--name", "a b"], "study name must be a plain name (letters, digits, _ and -, at most 100), got 'a b'"),
    (["run", "my data.csv", "--x", "x", "--y", "y"], "the study would be named after the file, 'my data', which is "
                                                     "not a plain name"),
    (["run", "my data.csv", "--x", "x", "--y", "y", "--name", "../up"], "--name must be a plain name"),
    # data beyond what can be swept (issue 31): refused before anything is written
    (["run", "const.csv", "--x", "x", "--y", "y"], "study 'const': x and y gave a constant target (y = 3 in all 20 rows)"),
    (["run", "wide.csv", "--x", ",".join(f"c{j}" for j in range(500)), "--y", "y"],
     "500 input features make a prediction grid of 50,000 rows x 500 (25,000,000 numbers); at most 20,000,000 are "
     "allowed, so at most 447 features with 100 grid points"),
    # a storage URL from a file (issue 31): what it says is checked as --storage is
    (["best", SWEPT, "--storage-file", "url.txt"], "storage URL 'redis://from-a-file' is not understood"),
    (["best", SWEPT, "--storage-file", "empty.txt"], "storage file 'empty.txt' is empty; its first line must be the URL"),
    (["best", SWEPT, "--storage-file", "nowhere.txt"], "storage file 'nowhere.txt' cannot be read (No such file"),
    (["best", SWEPT, "--storage", "x.log", "--storage-file", "url.txt"], "not allowed with argument --storage"),
    # an echoed value is cut (issue 31): a huge config value is not said whole
    (["diagnose", SWEPT, "--config", '{"lr": "' + "9" * 100_000 + '"}'], "characters cut]"),
]


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input(workdir, siblings, monkeypatch, capsys, args, message):
    monkeypatch.chdir(workdir)
    journal = workdir / "results" / "tiny" / "journal.log"
    before = journal.read_bytes()
    assert message in bad_input_error(args, capsys)
    assert journal.read_bytes() == before
    assert sorted(p.name for p in workdir.parent.iterdir()) == siblings  # nothing written beside the folder


@pytest.fixture(scope="module")
def siblings(workdir):
    return sorted(p.name for p in workdir.parent.iterdir())


def copy_of_the_sweep(workdir, tmp_path, monkeypatch):
    """The finished sweep (study file and results) copied to ``tmp_path``, made the working folder;
    returns its journal's path."""
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copytree(workdir / "results", tmp_path / "results")
    shutil.copy(workdir / SWEPT, tmp_path / SWEPT)
    return tmp_path / "results" / "tiny" / "journal.log"


def test_corrupt_journal_is_reported_and_left_as_it_is(workdir, tmp_path, monkeypatch, capsys):
    journal = copy_of_the_sweep(workdir, tmp_path, monkeypatch)
    lines = journal.read_bytes().splitlines(keepends=True)
    corrupt = b"".join(lines[:5] + [b'{"op_code": 4, "worker_id": \n'] + lines[5:])
    journal.write_bytes(corrupt)
    for args in (["run", SWEPT], ["best", SWEPT], ["report", SWEPT]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "'results/tiny/journal.log' is not an Optuna journal file (line 6" in err and "it is left as it is" in err
        assert err.count("\n") == 1
        assert journal.read_bytes() == corrupt


def test_truncated_journal_resumes_from_what_is_whole(workdir, tmp_path, monkeypatch, capsys):
    import sweeps

    journal = copy_of_the_sweep(workdir, tmp_path, monkeypatch)
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) * 2 // 3 + 17])  # cut in the middle of a record
    kept = {t.number: t.value for t in sweeps.load(SWEPT).trials if t.value is not None}
    assert main(["run", SWEPT, "--jobs", "1", "--no-report"]) == 0
    opt = sweeps.load(SWEPT)
    assert all(opt.trials[n].value == v for n, v in kept.items())
    assert sum(t.state.name == "COMPLETE" for t in opt.trials) == 8
