"""The answer to the asker's question, on studies whose cause is known by construction.

- ``xy``: 1000 sin(x / 100) on x in [0, 600], a tanh net: it fits only with both its inputs and its targets scaled
  (unscaled inputs saturate every unit; unscaled targets leave the output weights far too small), whatever the
  learning rate. The initialiser does not matter.
- ``lr``: sin(2x) on [-2, 2], already scaled, an Adam net at a learning rate far too small for its 300 steps: the
  learning rate alone is the fix.
- ``tanh_x``: sin(x / 100) on [0, 600] (targets of order 1), unscaled inputs: scaling them is a fix of one change,
  which the study's best config (a smaller init scale and another batch size) does not make.
"""

import json
import logging
import re
import shutil
from pathlib import Path

import pytest

import mlpcore
import studies
import sweeps
from mlpcore import diagnostics
from sweeps.analysis.explain import ANALYSIS_NAME, REPEATS, _document, analyse, frames, stored_analysis
from sweeps.analysis.lab import Cache, Run, open_lab
from sweeps.analysis.numpy_lines import program
from sweeps.analysis.tuning import COARSE, SEEDS, Tuner
from sweeps.results.handle import open_sweep

XY = """
import numpy as np
from mlpcore import MLPConfig
from studies import Answer, Study

def sample(rng):
    x = rng.uniform(0.0, 600.0, 80)
    return x, 1000.0 * np.sin(x / 100.0)

QUESTION = MLPConfig(hidden=(8,), activation="tanh", init="he", x_scaling="none", y_scaling="none",
                     optimizer="adam", lr=0.02, batch_size=None, steps=600)
BEST = QUESTION.replace(x_scaling="standard", y_scaling="standard", init="glorot", batch_size=32)

STUDY = Study(name="xy", title="only the scaling matters", question="a test study",
              target=lambda x: 1000.0 * np.sin(x / 100.0), sample=sample, trials=2, steps=600, repeats=1,
              patience=None, baseline=QUESTION, starts=(BEST,), ANSWER
              space={k: True for k in ("init", "x_scaling", "y_scaling", "batch_size")})
"""

LR = """
import numpy as np
from mlpcore import MLPConfig
from studies import Answer, Study

def sample(rng):
    x = rng.uniform(-2.0, 2.0, 60)
    return x, np.sin(2 * x)

QUESTION = MLPConfig(hidden=(8,), activation="tanh", optimizer="adam", lr=1e-5, steps=300)
STUDY = Study(name="lr", title="a stale learning rate", question="a test study", target=lambda x: np.sin(2 * x),
              sample=sample, trials=1, steps=300, repeats=1, patience=None, baseline=QUESTION,
              answer=Answer("use relu units", QUESTION.replace(activation="relu")),
              space={k: True for k in ("activation", "x_scaling", "optimizer")})
"""

TANH_X = """
import numpy as np
from mlpcore import MLPConfig
from studies import Study

def sample(rng):
    x = rng.uniform(0.0, 600.0, 80)
    return x, np.sin(x / 100.0)

QUESTION = MLPConfig(hidden=(8,), activation="tanh", init="he", x_scaling="none", y_scaling="none",
                     optimizer="adam", lr=0.02, steps=600)
BEST = QUESTION.replace(init_scale=0.01, batch_size=32)
STUDY = Study(name="tanh_x", title="unscaled inputs", question="a test study", target=lambda x: np.sin(x / 100.0),
              sample=sample, trials=1, steps=600, repeats=1, patience=None, baseline=QUESTION, starts=(BEST,),
              space={k: True for k in ("init_scale", "x_scaling", "batch_size")})
"""

ANSWERS = {
    "agrees": 'Answer("scale both, and use glorot", QUESTION.replace(x_scaling="standard", y_scaling="standard", '
              'init="glorot")),',
    "agrees, with more": 'Answer("standardise the targets", QUESTION.replace(y_scaling="standard"), '
                         'source="a comment"),',
    "disagrees": 'Answer("a better initialiser", QUESTION.replace(init="glorot")),',
}


def write(folder: Path, name: str, text: str) -> str:
    path = folder / f"{name}.py"
    path.write_text(text)
    return str(path)


def document(path: str, cache: Path, jobs: int = 1) -> dict:
    """The analysis of the study file ``path``, without a sweep, its trainings kept in ``cache``."""
    definition = studies.get(path)
    cache.mkdir(parents=True, exist_ok=True)
    lab = open_lab(path, definition.fingerprint(), cache, jobs)
    try:
        return _document(definition, Tuner(lab), None)
    finally:
        lab.cache.close()


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    """The analysis of each study, and of xy with each answer (one cache for the xy studies: they share their data,
    so the answers' variants alone train)."""
    root = tmp_path_factory.mktemp("explain")
    out = {"xy": document(write(root, "xy", XY.replace("ANSWER", "")), root / "xy-cache")}
    for verdict, answer in ANSWERS.items():
        folder = root / verdict.replace(",", "").replace(" ", "_")
        folder.mkdir()
        out[verdict] = document(write(folder, "xy", XY.replace("ANSWER", f"answer={answer}")), root / "xy-cache")
    out["lr"] = document(write(root, "lr", LR), root / "lr-cache")
    out["tanh_x"] = document(write(root, "tanh_x", TANH_X), root / "tanh_x-cache")
    return out


def escapes_fresh(path: str, config: mlpcore.MLPConfig, lrs, seeds) -> bool:
    """Whether ``config`` escapes (4 of 5 fit) at one of ``lrs`` from ``seeds`` the analysis never used."""
    data = studies.get(path).data()
    for lr in lrs:
        fits = sum(mlpcore.fit(config.replace(lr=lr, seed=s), data.x_train, data.y_train, x_val=data.x_val,
                               y_val=data.y_val, stop_when_fit=True).diagnosis.mode == "fit" for s in seeds)
        if fits >= 4:
            return True
    return False


# --- the fix ---------------------------------------------------------------------------------------------


def test_it_finds_exactly_the_cause_among_every_candidate(docs):
    doc = docs["xy"]
    fix = doc["fix"]
    assert set(fix["changes"]) == {"x_scaling", "y_scaling"} and "none" not in fix["changes"].values()
    assert fix["fits"] >= 4 and fix["seeds"] == REPEATS and fix["lr_range"][0] <= fix["lr_range"][1]
    # Every set of one and of two changes was tried, and only scalings of both escape.
    searched = doc["searched"]
    assert searched["candidates"] == 3 + 2 + 2 + 3 and searched["exhaustive_up_to"] == 2
    assert searched["sets_tried"] == {"0": 1, "1": 10, "2": 37}
    for alternative in fix["alternatives"]:
        assert set(alternative["changes"]) == {"x_scaling", "y_scaling"}
    assert "No fix of fewer changes exists among these 10 candidates" in fix["sentence"]
    assert doc["question"]["fits"] == 0 and doc["question"]["seeds"] == REPEATS
    assert doc["budget"] == {"steps": 600, "batch_size": None, "words": "600 full-batch steps"}


def test_the_fix_escapes_and_each_change_is_needed_on_seeds_the_analysis_never_used(docs, tmp_path):
    path = write(tmp_path, "xy", XY.replace("ANSWER", ""))
    question = studies.get(path).baseline
    fix = docs["xy"]["fix"]
    fresh = [10_000 + k for k in range(5)]
    assert escapes_fresh(path, question.replace(**fix["changes"]), [fix["middle_lr"]], fresh)
    for setting in fix["changes"]:
        rest = {k: v for k, v in fix["changes"].items() if k != setting}
        assert not escapes_fresh(path, question.replace(**rest), COARSE, fresh[:2] + fresh[2:]), setting


def test_a_fix_of_the_learning_rate_alone_has_size_zero(docs):
    fix = docs["lr"]["fix"]
    assert fix["changes"] == {} and fix["evidence"] == [] and fix["fits"] >= 4
    assert fix["sentence"].startswith("Only the learning rate: your config escapes as it is, trained as you trained it "
                                      "(300 full-batch steps), with lr ")
    assert fix["lr_range"][0] > 1e-5  # the asker's stale rate is not among those that escape
    assert docs["lr"]["searched"]["sets_tried"] == {"0": 1}  # nothing more was needed


def test_a_cause_the_best_config_lacks_is_found(docs, tmp_path):
    """The study's best config fixes it with a smaller init scale (and another batch size); scaling the inputs is a
    fix of one change it does not make, and the search finds it."""
    doc = docs["tanh_x"]
    best = studies.get(write(tmp_path, "tanh_x", TANH_X)).starts[0]
    assert best.x_scaling == "none"
    found = [doc["fix"]["changes"], *(a["changes"] for a in doc["fix"]["alternatives"])]
    assert len(doc["fix"]["changes"]) == 1 and {"x_scaling": "standard"} in found
    assert "every single change was tried" in doc["fix"]["sentence"]  # not "every set of up to 1 changes"


def test_the_path_and_the_swaps_go_from_your_config_to_the_fixed_one(docs):
    doc = docs["xy"]
    path = doc["path"]
    assert path[0]["setting"] is None and [len(s["changes"]) for s in path] == [0, 1, 2]
    assert path[-1]["changes"] == doc["fix"]["changes"] and path[-1]["fits"] >= 4
    swaps = {(s["direction"], s["setting"]): s for s in doc["swaps"]}
    assert set(swaps) == {(d, k) for d in ("into your config", "out of the fixed config") for k in ("x_scaling",
                                                                                                  "y_scaling")}
    assert not any(s["escapes"] for s in swaps.values())  # each alone fails, and the fix without either fails


def test_the_map_moves_one_setting_of_the_fixed_config_at_a_time(docs):
    doc = docs["xy"]
    rows = {row["setting"]: {c["label"]: c for c in row["cells"]} for row in doc["map"]}
    assert set(rows) == {"init", "x_scaling", "y_scaling", "batch_size"}
    assert not rows["x_scaling"]["none"]["escapes"] and not rows["y_scaling"]["none"]["escapes"]
    assert all(c["escapes"] for c in rows["init"].values())  # the initialiser does not matter
    for setting, cells in rows.items():
        fixed = [c for c in cells.values() if c["fixed"]]
        assert len(fixed) == 1 and fixed[0]["escapes"], setting
        assert sum(c["question"] for c in cells.values()) == 1
    assert [p["lr"] for p in doc["lr_profile"]] == sorted(p["lr"] for p in doc["lr_profile"])


def test_the_config_to_copy_is_yours_fixed_rounded_and_without_what_it_does_not_read(docs):
    copy = docs["xy"]["copy"]
    assert copy["config"]["x_scaling"] != "none" and copy["config"]["y_scaling"] != "none"
    assert copy["config"]["lr"] == copy["lr"] == float(f"{copy['lr']:.3g}")
    assert copy["lr_range"][0] <= copy["lr"] <= copy["lr_range"][1]
    assert not {"momentum", "seed", "backend", "patience"} & set(copy["config"])  # Adam reads no momentum
    assert copy["config"]["steps"] == 600 and mlpcore.MLPConfig.from_dict(copy["config"]).activation == "tanh"


def test_the_fix_in_your_own_code_trains_in_plain_numpy_as_the_engine_says(docs, tmp_path):
    """Each change of the fix, then the learning rate to copy, has its lines; the loop they fill
    (plain NumPy) ends, from each of the analysis's seeds, in the mode the engine gives the fixed
    config, and fits as often."""
    doc, path = docs["xy"], write(tmp_path, "xy", XY.replace("ANSWER", ""))
    shown = doc["fix"]["in_your_code"]
    assert [e["setting"] for e in shown] == [*doc["fix"]["changes"], "lr"]
    assert shown[-1]["value"] == doc["copy"]["lr"]
    assert "x_mean" in shown[0]["code"] and "y_std" in shown[1]["code"]
    assert [e["setting"] for e in docs["lr"]["fix"]["in_your_code"]] == ["lr"]  # the lr alone
    data = studies.get(path).data()
    fixed = mlpcore.MLPConfig.from_dict(doc["copy"]["config"])
    x_val, y_val = data.x_val[:, None], data.y_val[:, None]
    metrics = diagnostics.data_metrics(data.x_train[:, None], data.y_train[:, None], x_val, y_val)
    ours, engine = [], []
    for seed in SEEDS:
        config = fixed.replace(seed=seed)
        scope = {"x_train": data.x_train[:, None], "y_train": data.y_train[:, None], "x_new": x_val}
        exec(program(config), scope)
        pred = diagnostics.prediction_metrics(scope["y_new"], x_val, y_val, metrics)
        ours.append(diagnostics.classify(metrics | pred, diverged=False))
        engine.append(mlpcore.fit(config, data.x_train, data.y_train, x_val=data.x_val,
                                  y_val=data.y_val).diagnosis.mode)
    assert ours == engine and ours.count("fit") >= 4


# --- hints and answers ----------------------------------------------------------------------------------


def test_no_hint_is_borne_out_unless_its_own_advice_was_trained_and_escaped(docs):
    seen = set()
    for doc in docs.values():
        for h in doc["hints"]:
            seen.add(h["verdict"])
            tested = [t for t in h["tried"] if t["tested"]]
            if h["verdict"] == "borne out":
                assert any(t["escapes"] for t in tested), h
            if h["verdict"] in ("not borne out", "part of the fix"):
                assert tested and not any(t["escapes"] for t in tested), h
            if h["verdict"] == "untested":
                assert not tested, h
    assert {"borne out", "not borne out"} <= seen


def test_advice_of_a_rate_off_the_grid_is_not_tried():
    from types import SimpleNamespace

    from sweeps.analysis.advice import _try, _verdict

    found = SimpleNamespace(question=SimpleNamespace(lr=1e-6), fix=None)
    tried = _try(None, found, {"lr": "lower"})  # below 1e-6 the grid has no rate: nothing to train
    assert not tried["tested"] and tried["why"] == "no rate of the grid (1e-06 to 1) is lower than 1e-06"
    assert _verdict(found, [{"lr": "lower"}], [tried])["verdict"] == "untested"


@pytest.mark.parametrize("verdict", ["agrees", "agrees, with more", "disagrees"])
def test_each_verdict_says_what_was_trained(docs, verdict):
    a = docs[verdict]["answer"]
    assert a["verdict"] == verdict
    assert "the learning rate retuned, trained as you trained it (600 full-batch steps), 5 fresh init seeds:" in a["sentence"]
    if verdict == "agrees":
        assert a["changes"] == {"x_scaling": "standard", "y_scaling": "standard", "init": "glorot"} or \
            set(a["changes"]) == {"init", "x_scaling", "y_scaling"}
        assert "The evidence agrees. It needs x_scaling and y_scaling: " in a["sentence"]
        assert "It does not need init: without init, it fits " in a["sentence"]
    elif verdict == "agrees, with more":
        assert a["more"] == {"x_scaling": a["more"]["x_scaling"]} and a["more"]["x_scaling"] != "none"
        assert "alone it does not escape" in a["sentence"] and "but it does with x_scaling none -> " in a["sentence"]
    else:
        assert a["more"] is None and a["sentence"].endswith("The evidence disagrees.")
    # the rest of the analysis is the study's, whatever answer it declares
    assert {k: v for k, v in docs[verdict].items() if k not in ("answer", "trainings")} == \
        {k: v for k, v in docs["xy"].items() if k not in ("answer", "trainings")}


def test_an_answer_whose_changes_the_config_does_not_need_is_not_needed(docs):
    a = docs["lr"]["answer"]
    assert a["verdict"] == "not needed"
    assert "not needed. Your config escapes without its changes, with the learning rate alone retuned" in a["sentence"]


# --- stored, reproduced, shown ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The xy study swept (2 trials), copied before any analysis, then analysed with one worker."""
    root = tmp_path_factory.mktemp("swept")
    path = write(root, "xy", XY.replace("ANSWER", ""))
    sweeps.run(path, jobs=1, out=root / "results", progress=False)
    shutil.copytree(root / "results", root / "copy")
    doc = analyse(path, out=root / "results", jobs=1)
    return path, root, doc


def test_reruns_are_byte_identical_with_one_or_two_workers_and_train_nothing_twice(swept, caplog):
    path, root, doc = swept
    two = analyse(path, out=root / "copy", jobs=2)
    assert json.dumps(two) == json.dumps(doc)
    with caplog.at_level(logging.INFO, logger="sweeps.analysis.explain"):
        again = analyse(path, out=root / "results", jobs=2)
    assert json.dumps(again) == json.dumps(doc)
    assert re.search(r"trainings, 0 of them run now", caplog.text)
    written = json.loads((root / "results" / "xy" / ANALYSIS_NAME).read_text())
    assert written == json.loads(json.dumps(doc)) == stored_analysis(open_sweep(path, out=root / "results"))


def test_the_analysis_does_not_depend_on_the_sweep_or_its_seed(swept, docs, tmp_path):
    path, _, doc = swept
    other = tmp_path / "xy.py"
    shutil.copy(path, other)
    sweeps.run(str(other), jobs=1, seed=7, out=tmp_path / "results", progress=False)
    seven = analyse(str(other), out=tmp_path / "results", jobs=2)
    assert {k: v for k, v in seven.items() if k != "best_trial"} == {k: v for k, v in doc.items() if k != "best_trial"}
    assert {k: v for k, v in doc.items() if k != "best_trial"} == {k: v for k, v in docs["xy"].items()
                                                                   if k != "best_trial"}  # and with no sweep at all


def test_the_best_trial_is_set_beside_the_fixed_config(swept):
    best = swept[2]["best_trial"]
    assert best["trial"] in (0, 1) and best["seeds"] == REPEATS and isinstance(best["tied"], bool)
    assert best["sentence"].startswith(f"The sweep's best trial, #{best['trial']} (1 layer of 8 units, lr ")


def test_a_stored_analysis_of_another_layout_or_study_is_not_read_back(swept, tmp_path):
    path, root, doc = swept
    shutil.copytree(root / "results", tmp_path / "results")
    target = tmp_path / "results" / "xy" / ANALYSIS_NAME
    sweep = open_sweep(path, out=tmp_path / "results")
    for changed in ({"format": 3}, {"study": "other"}):
        target.write_text(json.dumps(doc | changed))
        assert stored_analysis(sweep) is None


def test_frames_are_tidy(swept):
    f = frames(swept[2])
    assert len(f.overview) == 1 and f.overview["exhaustive_up_to"].iloc[0] == 2
    assert set(f.fix["setting"]) == {"x_scaling", "y_scaling"}
    assert set(f.map["setting"]) == {"init", "x_scaling", "y_scaling", "batch_size"} and f.map["fixed"].sum() == 4
    assert f.path_runs.groupby("step").size().min() >= 2 and list(f.path["step"]) == [0, 1, 2]


def test_the_cli_prints_the_answer_and_its_json_leads_with_what_was_found(swept, cli):
    path, root, _ = swept
    done = cli("explain", path, "--out", str(root / "results"), "--json", "--jobs", "1", cwd=root)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out)[:8] == ["changes", "lr_range", "escape_rate", "repeats", "budget", "searched", "path", "swaps"]
    assert out["budget"]["steps"] == 600 and out["budget"]["batch_size"] is None
    assert out["searched"] == {"candidates": 10, "exhaustive_up_to": 2} and len(out["lr_range"]) == 2
    text = cli("explain", path, "--out", str(root / "results"), "--jobs", "1", cwd=root).stdout.splitlines()
    assert text[0] == f"xy: {out['question']['sentence']}" and text[1] == out["fix"]["sentence"]
    code = text[text.index("In your own NumPy loop, the lines that make each change (each under a "
                           "comment saying where it goes):"):]
    titles = [f"## {e['title']}" for e in out["fix"]["in_your_code"]]
    assert [line for line in code if line.startswith("## ")] == titles


def test_the_page_answers_the_question_first(swept):
    from sweeps.report.files import report

    path, root, doc = swept
    text = report(path, out=root / "results").read_text()
    first = text.index("Your question: the smallest fix")
    assert first < text.index("At a glance") < text.index("Which settings escape") < text.index("What the sampler tried")
    assert "Trained as you trained it (600 full-batch steps, lr 0.02)" in text
    assert "What was searched: 10 candidate changes, every set of up to 2 tried" in text
    assert 'class="map"' in text and "Your config, fixed" in text
    assert text.index("In your own NumPy loop") < text.index("What was searched")
    assert "<b>Standardise x (and new x before predicting)</b>" in text
    assert "<pre><code># before training" in text
    assert text.index("Your config, fixed") < text.index("The sweep&#x27;s best trial")
    assert 'id="fig-ablation_path"' in text


@pytest.mark.parametrize("args, words", [(["--repeats", "0"], "--repeats"), ([], "no sweep")], ids=["repeats", "no-sweep"])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, cli, args, words):
    path = write(tmp_path, "xy", XY.replace("ANSWER", ""))
    done = cli("explain", path, "--out", str(tmp_path / "results"), *args, cwd=tmp_path)
    assert done.returncode == 2 and words in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_run_explains_after_the_search_and_before_the_report(tmp_path, cli):
    write(tmp_path, "xy", XY.replace("ANSWER", ""))
    done = cli("run", "xy.py", "--jobs", "1", "--explain", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "explain: Your config escapes with 2 changes and the learning rate retuned" in done.stdout
    assert done.stdout.index("explain: ") < done.stdout.index("report: ")
    assert "Your question: the smallest fix" in (tmp_path / "results" / "xy" / "report.html").read_text()


def test_the_seeds_are_fixed_and_not_the_sweeps():
    assert len(SEEDS) == REPEATS and len(set(SEEDS)) == REPEATS
    assert COARSE == (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0)


def test_a_warm_run_replays_its_journal_once_and_builds_its_frames_once(swept, tmp_path, monkeypatch):
    """A run of a stored sweep, with its analysis and its report: one handle of the sweep serves the search, the
    analysis and the report (issue 30), so its journal is opened and replayed once, and its frames built once."""
    from sweeps.results import frames as tidy
    from sweeps.store import journal

    path, root, _ = swept
    shutil.copytree(root / "results", tmp_path / "results")
    opened, replays, built = [], [], []
    real_init, real_read, real_build = journal.SweepJournal.__init__, journal.SweepJournal.read_logs, tidy.build

    def init(self, file, *args, **kwargs):
        opened.append(Path(file).resolve())
        real_init(self, file, *args, **kwargs)

    def read_logs(self, log_number_from):
        if log_number_from == 0:
            replays.append(log_number_from)
        return real_read(self, log_number_from)

    monkeypatch.setattr(journal.SweepJournal, "__init__", init)
    monkeypatch.setattr(journal.SweepJournal, "read_logs", read_logs)
    monkeypatch.setattr(tidy, "build", lambda *a, **k: built.append(1) or real_build(*a, **k))
    sweeps.run(path, jobs=1, out=tmp_path / "results", progress=False, report=True, explain=True)
    assert (tmp_path / "results" / "xy" / "report.html").is_file()
    assert opened == [(tmp_path / "results" / "xy" / "journal.log").resolve()]
    assert len(replays) == 1
    assert len(built) == 1


def test_an_error_is_not_kept_so_a_rerun_trains_it_again(tmp_path):
    """An error may be the machine's (out of memory, a worker killed from outside), not the config's: the
    analysis's store of trainings keeps what trained and forgets what failed."""
    cache = Cache(tmp_path / "analysis.sqlite")
    cache.put({"trained": Run("fit", 0.001, 40, "fit"), "failed": Run("error", 1.0, 0, "MemoryError: ")})
    cache.close()
    again = Cache(tmp_path / "analysis.sqlite")
    assert again.get(["trained", "failed"]) == {"trained": Run("fit", 0.001, 40, "fit")}
    again.close()
