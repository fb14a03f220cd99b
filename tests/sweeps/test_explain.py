"""The counterfactual analysis, on a study whose cause is known by construction.

The target is 1000 sin(x / 100) on x in [0, 600]: a tanh net fits it only with both its inputs
and its targets scaled (unscaled inputs saturate every unit: collapsed; unscaled targets leave
the output weights far too small: linear). The best config also changes the initialiser and
the batch size, which do not matter. The analysis must name exactly x and y scaling.
"""

import json
import shutil
import zlib

import numpy as np
import optuna
import pytest

import sweeps
from mlpcore import MLPConfig
from sweeps.analysis.ablation import ablation_path, pick
from sweeps.analysis.evidence import BACKWARD, Tally, check_hint, check_levers
from sweeps.analysis.explain import REPEATS, analyse, explain_name, frames, variant_key, variant_seeds
from sweeps.results.reading import load
from sweeps.store.factory import open_storage
from sweeps.search.worker import train_once

STUDY = """
import numpy as np
from mlpcore import MLPConfig
from studies import Study

def sample(rng):
    x = rng.uniform(0.0, 600.0, 80)
    return x, 1000.0 * np.sin(x / 100.0)

QUESTION = MLPConfig(hidden=(8,), activation="tanh", init="he", x_scaling="none", y_scaling="none",
                     optimizer="adam", lr=0.02, batch_size=None, steps=600)
BEST = QUESTION.replace(x_scaling="standard", y_scaling="standard", init="glorot", batch_size=32)

STUDY = Study(name="xy", title="only the scaling matters", question="a test study",
              target=lambda x: 1000.0 * np.sin(x / 100.0), sample=sample, trials=1, steps=600, repeats=1,
              patience=None, baseline=QUESTION, starts=(BEST,),
              space={k: True for k in ("init", "x_scaling", "y_scaling", "batch_size")})
"""

CAUSE = {"x_scaling": "standard", "y_scaling": "standard"}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The study file and a results folder holding its one-trial sweep (the best config is its start)."""
    root = tmp_path_factory.mktemp("explain")
    path = root / "xy.py"
    path.write_text(STUDY)
    sweeps.run(str(path), jobs=1, out=root / "results", progress=False)
    return str(path), root


@pytest.fixture(scope="module")
def analysed(swept):
    """A copy of the sweep (taken before any analysis) and the analysis of the original, with one worker."""
    path, root = swept
    shutil.copytree(root / "results", root / "copy")
    doc = analyse(path, out=root / "results", jobs=1, repeats=REPEATS)
    return path, root, doc


def test_it_finds_exactly_the_cause(analysed):
    _, _, doc = analysed
    assert {d["setting"] for d in doc["differences"]} == {"init", "x_scaling", "y_scaling", "batch_size"}
    assert doc["fix"]["changes"] == CAUSE
    assert doc["fix"]["fits"] >= 4 and doc["fix"]["seeds"] == REPEATS
    assert doc["fix"]["alternatives"] == []  # no other pair escapes
    back = {s["setting"]: s for s in doc["swaps"] if s["direction"] == "target with question's"}
    assert {k for k, s in back.items() if s["fits"] < 4} == set(CAUSE)  # only putting back a scaling breaks the best
    assert doc["question"]["fits"] == 0 and doc["target"]["fits"] >= 4
    assert doc["target"]["trial"] == doc["target"]["lowest_value_trial"] == 0  # the sweep's one trial
    assert doc["fix"]["sentence"].startswith("Your config escapes with 2 changes: x_scaling none -> standard, "
                                             "y_scaling none -> standard (fit ")


def test_the_fix_is_sufficient_and_each_change_necessary_on_fresh_seeds(analysed):
    path, _, doc = analysed
    question = doc["question_params"]
    fix = doc["fix"]["changes"]
    fresh = [10_000 + k for k in range(REPEATS)]

    def fits(params):
        return sum(train_once(path, params, seed)["mode"] == "fit" for seed in fresh)

    assert fits(question | fix) >= 4
    for setting in fix:
        without = {k: v for k, v in fix.items() if k != setting}
        assert fits(question | without) < 4, setting


def test_the_path_goes_from_the_question_to_the_best(analysed):
    _, _, doc = analysed
    path = doc["path"]
    assert path[0]["setting"] is None and path[0]["changes"] == []
    assert [len(s["changes"]) for s in path] == list(range(5))
    assert set(path[-1]["changes"]) == {"init", "x_scaling", "y_scaling", "batch_size"}
    assert all(len(s["runs"]) == REPEATS for s in path)
    # It escapes only once both scalings are in, and stays escaped.
    escaped = [s["fits"] >= 4 for s in path]
    first = escaped.index(True)
    assert set(CAUSE) <= set(path[first]["changes"]) and all(escaped[first:])
    assert not (set(CAUSE) <= set(path[first - 1]["changes"]))


def test_the_question_is_diagnosed_from_every_seed(analysed):
    _, _, doc = analysed
    assert doc["question"]["seeds"] == REPEATS and doc["question"]["modes"] == {"collapsed": REPEATS}
    hints = {h["hint"].split(":")[0]: h for h in doc["hints"]}
    unscaled_x = next(h for h in doc["hints"] if h["settings"] == ["x_scaling"])
    assert unscaled_x["seeds"] == REPEATS and unscaled_x["verdict"] == "supported"
    assert all(h["of"] == REPEATS for h in hints.values())


def test_reruns_reproduce_it_byte_for_byte_with_one_or_two_workers_and_train_nothing(analysed):
    path, root, doc = analysed
    stored_trials = len(analysis_store(root).trials)
    again = analyse(path, out=root / "results", jobs=2)
    store = analysis_store(root)
    assert store.user_attrs["cost"]["trainings"] == 0 and len(store.trials) == stored_trials
    two = analyse(path, out=root / "copy", jobs=2)
    assert json.dumps(again) == json.dumps(doc) == json.dumps(two)


def analysis_store(root):
    return optuna.load_study(study_name=explain_name("xy"), storage=open_storage(None, root / "results" / "xy"))


def test_it_is_stored_apart_and_the_search_is_untouched(analysed):
    _, root, doc = analysed
    journal = open_storage(None, root / "results" / "xy")
    names = {s.study_name for s in optuna.get_all_study_summaries(journal)}
    assert names == {"xy", "xy:explain"}
    search, before = load("xy", out=root / "results"), load("xy", out=root / "copy")
    assert [(t.number, t.params, t.value, t.user_attrs) for t in search.trials] == \
           [(t.number, t.params, t.value, t.user_attrs) for t in before.trials]
    store = optuna.load_study(study_name="xy:explain", storage=journal)
    assert store.user_attrs["analysis"] == json.loads(json.dumps(doc))
    for t in store.trials:  # one trial per variant batch, plain JSON, keyed by the variant
        assert json.loads(json.dumps(t.user_attrs)) == t.user_attrs
        assert t.user_attrs["key"] == variant_key(t.user_attrs["params"])
    keys = [t.user_attrs["key"] for t in store.trials]
    runs = {(t.user_attrs["key"], r["repeat"]) for t in store.trials for r in t.user_attrs["runs"]}
    assert len(runs) == sum(len(t.user_attrs["runs"]) for t in store.trials)  # no training twice
    assert len(set(keys)) <= len(keys)


def test_frames_are_tidy(analysed):
    _, _, doc = analysed
    f = frames(doc)
    assert list(f.overview["changes"]) == [json.dumps(CAUSE)]
    assert set(f.fix["setting"]) == set(CAUSE)
    assert len(f.path_runs) == 5 * REPEATS and list(f.path_runs["label"].unique())[0] == "question"
    assert len(f.swaps) == 8


def test_variant_seeds_are_common_to_every_variant_and_prefix_stable():
    a = variant_seeds(0, 5)
    assert a[:3] == variant_seeds(0, 3)
    assert len(set(a)) == 5
    assert variant_seeds(1, 5) != a


class Store:
    """What a Lab (its stored runs) or aim (the search's trials) reads of an Optuna study: its trials, none by default."""

    def __init__(self, trials=()):
        self.trials = list(trials)

    def get_trials(self, deepcopy=True, states=None):
        return self.trials


def test_a_setting_that_changes_nothing_is_no_difference():
    from sweeps.analysis.explain import Lab

    q = {"optimizer": "sgd", "momentum": 0.9, "lr": 1e-6}
    lab = Lab(Store(), "sqrt", 0, q, 1, 1)
    lab.aim({"optimizer": "adam", "momentum": 0.95, "lr": 0.01})
    assert lab.diffs == ("optimizer", "lr")  # momentum acts under optimizer="momentum" only
    lab.aim({"optimizer": "momentum", "momentum": 0.95, "lr": 0.01})
    assert lab.diffs == ("optimizer", "momentum", "lr")


def runs(*modes, value=0.5, loss_drop=0.0):
    return Tally(tuple({"mode": m, "value": value, "loss_drop": loss_drop, "hints": []} for m in modes))


def test_the_target_is_the_cheapest_fitting_trial_that_escapes_on_fresh_seeds():
    from sweeps.analysis.explain import Lab, aim

    config = MLPConfig(hidden=(4,), steps=100, batch_size=None)
    x_train = np.zeros(50)

    def trial(number, value, mode, hidden):
        return optuna.trial.create_trial(
            value=value, params={"lr": (0.1, 0.2, 0.3, 0.4)[number]},
            distributions={"lr": optuna.distributions.FloatDistribution(1e-6, 1.0, log=True)},
            user_attrs={"mode": mode, "config": config.replace(hidden=hidden).to_dict()})

    trials = [trial(0, 0.001, "fit", (64, 64)), trial(1, 0.010, "fit", (2,)), trial(2, 0.005, "fit", (8,)),
              trial(3, 0.400, "linear", (1,))]
    for i, t in enumerate(trials):
        t.number = i

    class Fake(Lab):
        """Trains nothing: a target's fresh seeds fit as the table says."""

        fresh = {0.1: 5, 0.2: 1, 0.3: 5, 0.4: 5}
        trained: list

        def train(self, change_sets, seeds):
            self.trained.append(self.target["lr"])

        def tally(self, changes):
            fits = self.fresh[self.target["lr"]]
            return Tally(tuple({"mode": "fit" if i < fits else "linear", "value": 0.1} for i in range(self.repeats)))

    lab = Fake(Store(), "sqrt", 0, {"lr": 1e-6}, REPEATS, 1)
    lab.trained = []
    target = aim(lab, Store(trials), x_train)
    # Cheapest first: #3 does not fit in the search, #1 (2 units) does but not on fresh seeds, #2 (8 units) does.
    assert target["trial"] == 2 and lab.target == {"lr": 0.3} and lab.trained == [0.2, 0.3]
    assert [t["trial"] for t in target["tried"]] == [1, 2] and target["lowest_value_trial"] == 0
    assert target["multiply_adds"] == 100 * 50 * (8 + 8) and target["lowest_value_multiply_adds"] == 100 * 50 * (64 + 64 * 64 + 64)
    assert target["sentence"] == (
        "The target config is trial #2 (hidden layers 8), the cheapest fitting trial of the search to train that fits "
        "5 of 5 fresh seeds; the best trial, #0 (hidden layers 64-64), costs 264x its multiply-adds a training. "
        "Cheaper fitting trials that did not escape on fresh seeds: #1 (linear 4 of 5, fit 1 of 5).")

    Fake.fresh = {0.1: 3, 0.2: 0, 0.3: 2, 0.4: 5}  # nothing escapes: the lowest-value trial, tried last
    lab.trained = []
    target = aim(lab, Store(trials), x_train)
    assert target["trial"] == 0 and lab.target == {"lr": 0.1} and lab.trained == [0.2, 0.3, 0.1]
    assert target["sentence"].startswith("The target config is the search's best trial, #0 (hidden layers 64-64): "
                                         "from 5 fresh seeds, fit 3 of 5, linear 2 of 5. Cheaper fitting trials")


def test_a_plateau_is_decided_by_the_loss_drop_not_the_order():
    flat = {("a",): runs("linear", "linear", value=0.500, loss_drop=0.01),
            ("b",): runs("linear", "linear", value=0.501, loss_drop=0.40),
            ("c",): runs("linear", "linear", value=0.499, loss_drop=0.02)}
    assert pick(flat) == (("b",), "loss drop (plateau of 3)")
    assert pick(dict(reversed(list(flat.items())))) == (("b",), "loss drop (plateau of 3)")
    clear = flat | {("d",): runs("fit", "linear", value=0.9)}
    assert pick(clear) == (("d",), "value")


class OracleLab:
    """A lab whose runs are a fixed function of (change set, repeat); ``full`` trains every variant from all seeds."""

    def __init__(self, full):
        self.diffs, self.repeats, self.full, self.runs = ("a", "b", "c", "d", "e", "f"), 5, full, {}

    def run(self, changes, i):
        rng = np.random.default_rng([zlib.crc32(repr((changes, i)).encode())])
        good = 0.15 * (("a" in changes) + ("b" in changes) + ("c" in changes)) + 0.05 * len(changes)
        fit = rng.random() < good
        return {"mode": "fit" if fit else "linear", "value": float(rng.uniform(0.0, 0.1) if fit else rng.uniform(0.4, 0.5)),
                "loss_drop": float(rng.random()), "hints": []}

    def train(self, change_sets, seeds):
        for c in change_sets:
            have = self.runs.setdefault(c, {})
            for i in range(self.repeats if self.full else seeds):
                have.setdefault(i, self.run(c, i))

    def tally(self, changes):
        return Tally(tuple(self.runs.get(changes, {})[i] for i in sorted(self.runs.get(changes, {}))))


def test_the_staged_path_is_the_path_of_every_option_trained_from_all_seeds_for_fewer_trainings():
    staged, full = OracleLab(full=False), OracleLab(full=True)
    path = ablation_path(staged)
    current, reference = (), []  # the path as picked among every option, each trained from all seeds
    while len(current) < 6:
        options = [tuple(d for d in full.diffs if d in {*current, s}) for s in full.diffs if s not in current]
        full.train(options, 5)
        current = options[0] if len(options) == 1 else pick({c: full.tally(c) for c in options})[0]
        reference.append(current)
    assert [s.changes for s in path[1:]] == reference
    assert [s.decided_by for s in path[1:]] == [s.decided_by for s in ablation_path(OracleLab(full=True))[1:]]
    assert {s.decided_by for s in path} >= {"value"}
    for step in path:
        assert staged.tally(step.changes).n == 5  # every step shown rests on all its seeds
    trained = sum(map(len, staged.runs.values()))
    assert trained < sum(map(len, full.runs.values()))


def test_the_failure_mode_map_and_the_shares_count_only_the_exploration_trials_and_say_so(swept, tmp_path):
    from sweeps.results import frames as tidy
    from sweeps.report.drawing import _modes_by_setting

    opt = sweeps.run(swept[0], trials=4, jobs=1, out=tmp_path, progress=False, report=False)
    explore = [t.number for t in opt.trials if t.user_attrs.get("explore")]
    assert explore == [1, 2, 3]  # trial 0 is the study's start (its best config), which no random draw chose
    f = tidy.build(opt)
    for param, rows in f.levers.groupby("param"):
        assert rows["trials"].sum() == 3, param
    assert f.headline["levers_on"] == 3
    from matplotlib.figure import Figure

    caption = _modes_by_setting(f, Figure())
    assert "Computed on the 3 exploration trials, drawn at random" in caption


def test_a_hint_whose_change_a_swap_test_refutes_is_marked_refuted():
    best = runs("fit", "fit", "fit")
    hint = "1 hidden unit(s) can make at most 1 bend(s): widen the hidden layer"
    assert check_hint(hint, {"width": False}, best, {"width": 1}, {"width": 1}, 3)[0] == "refuted"
    assert check_hint(hint, {"width": "needed"}, best, {"width": 8}, {"width": 1}, 3) == ("supported", "needed")
    assert check_hint("train for more steps", {}, best, {}, {}, 3)[0] == "untested"
    dead = "80% of the relu units are dead (flat on every point, no gradient passes): lower lr, use leaky_relu"
    verdict, evidence = check_hint(dead, {"lr": "needed", "activation": False}, best, {"lr": 0.03, "activation": "relu"},
                                   {"lr": 1e-6, "activation": "relu"}, 3)
    assert verdict == "refuted" and "other way" in evidence  # the fix raises lr: "lower lr" is not borne out


def test_a_hint_the_target_needs_but_the_smallest_fix_does_not_follow_is_not_needed_from_your_config():
    from sweeps.analysis.ablation import Fix
    from sweeps.analysis.explain import Lab, question_hints

    flat = ("the output unit (leaky_relu) is flat on 100% of the points, so almost no gradient reaches the network: "
            "use output_activation='identity' for regression")
    # The target (identity output, lr 0.01, 14 units) fails with leaky_relu put back: it needs identity. From the
    # question's config, lr alone escapes and keeps leaky_relu.
    fits = {(): 0, ("lr",): 5, ("output_activation",): 0, ("output_activation", "lr"): 5, ("lr", "width"): 0, ("output_activation", "width"): 0,
            ("output_activation", "lr", "width"): 5}

    class Fake(Lab):
        def tally(self, changes):
            n = fits[changes]
            return Tally(tuple({"mode": "fit" if i < n else "linear", "value": 0.1, "hints": [flat]} for i in range(5)))

    lab = Fake(Store(), "square", 0,
               {"output_activation": "leaky_relu", "lr": 1e-6, "width": 4}, REPEATS, 1)
    lab.aim({"output_activation": "identity", "lr": 0.01, "width": 14})
    question, target = lab.tally(()), lab.tally(lab.diffs)
    hint, = question_hints(lab, question, target, Fix(("lr",), "test"))
    assert hint["verdict"] == "unneeded" and hint["evidence"] == (
        "the target config with output_activation=leaky_relu put back: linear 5 of 5; but the smallest fix keeps the "
        "question's output_activation=leaky_relu and escapes (fit 5 of 5 seeds)")
    hint, = question_hints(lab, question, target, Fix(("output_activation", "lr"), "test"))
    assert hint["verdict"] == "supported"  # the fix follows it

    from sweeps.report.analysis_html import decides_html

    swaps = [{"direction": BACKWARD, "setting": "output_activation", "to": "leaky_relu", "fits": 0, "seeds": 5,
              "modes_text": "linear 5 of 5"}]
    page = decides_html({"repeats": 5, "swaps": swaps, "levers": [], "fix": {"changes": {"lr": 0.01}}})
    assert ("<b>output_activation</b> decides it: the target config with output_activation=leaky_relu (the question's) "
            "put back fits 0 of 5 (linear 5 of 5); in the target only: your config escapes keeping "
            "output_activation=leaky_relu (the smallest fix)</li>") in page
    page = decides_html({"repeats": 5, "swaps": swaps, "levers": [], "fix": {"changes": {"output_activation": "identity"}}})
    assert "in the target only" not in page


def test_no_lever_sentence_on_the_page_contradicts_a_swap_test(analysed):
    from sweeps.report.analysis_html import decides_html

    _, _, doc = analysed
    doc = doc | {"levers": [
        {"param": "init", "claim": "init=glorot: 81% escape (n=74); he: 0% (n=11)", "verdict": "contradicted",
         "evidence": "the target config with init=he: fit 5 of 5 seeds", "shown": False,
         "sentence": "Not a lever: the raw share says init=glorot: 81% escape (n=74); he: 0% (n=11), but ..."}]}
    page = decides_html(doc)
    backed, _, corrected = page.partition("Raw shares the swap tests contradict")
    assert "init=glorot: 81% escape" not in backed and "Not a lever" in corrected
    # every "decides it" sentence names a setting whose put-back swap failed
    failed = {s["setting"] for s in doc["swaps"] if s["direction"] == "target with question's" and s["fits"] < 4}
    import re
    assert set(re.findall(r"<b>(\w+)</b> decides it", backed)) == failed == set(CAUSE)


def test_the_report_opens_with_the_smallest_fix(analysed):
    from sweeps.report.files import report as write_report

    path, root, doc = analysed
    text = write_report(path, out=root / "results").read_text()
    assert text.index("The smallest fix") < text.index("At a glance")
    assert "x_scaling none -&gt; standard" in text and 'id="fig-ablation_path"' in text
    assert "Swap tests" in text and (root / "results" / "xy" / "figures" / "ablation_path.svg").is_file()


def test_the_ablation_path_on_the_page_draws_a_dot_per_seed_in_its_modes_colour_column_by_column(analysed):
    from xml.etree import ElementTree

    from matplotlib.colors import to_hex

    from sweeps.report import drawing
    from sweeps.report.style import MODE_PALETTE

    runs = frames(analysed[2]).path_runs
    shown = runs[np.isfinite(runs["value"].astype(float)) & (runs["value"] > 0)]
    svg, _ = drawing.draw_figure(drawing.ABLATION_PATH, None, analysed[2])
    root = ElementTree.fromstring(svg)
    tips = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title") if ", seed " in t.text]
    assert sorted(tips) == sorted(f"{r.label}, seed {r.repeat}: {r.value:.3g} ({r.mode})"
                                  for r in shown.itertuples(index=False))
    from matplotlib.figure import Figure

    from sweeps.report.figures import ablation_path as path_figure

    ax = path_figure(runs, ax=Figure().add_subplot())
    dots = ax.collections[0]
    ordered = shown.sort_values(["step", "repeat"], kind="stable")
    assert [to_hex(c) for c in dots.get_facecolors()] == [MODE_PALETTE[m].lower() for m in ordered["mode"]]
    steps = sorted(runs["step"].unique())
    xs = dots.get_offsets()[:, 0]
    assert np.all(np.abs(xs - [steps.index(s) for s in ordered["step"]]) < 0.5)  # question left, target right


def test_an_analysis_stored_in_an_older_layout_is_not_read_back_and_the_next_one_rewrites_it(analysed, tmp_path):
    from sweeps.analysis.explain import stored_analysis

    path, root, doc = analysed
    shutil.copytree(root / "results", tmp_path / "results")
    journal = open_storage(None, tmp_path / "results" / "xy")
    store = optuna.load_study(study_name=explain_name("xy"), storage=journal)
    old = {k: v for k, v in doc.items() if k not in ("format", "target")}  # the layout before the target config
    store.set_user_attr("analysis", old)
    assert stored_analysis("xy", journal) is None
    assert analyse(path, out=tmp_path / "results", jobs=1) == json.loads(json.dumps(doc))  # rebuilt from stored runs
    assert stored_analysis("xy", open_storage(None, tmp_path / "results" / "xy")) == json.loads(json.dumps(doc))


def test_a_raw_share_a_swap_test_contradicts_is_not_a_lever():
    import pandas as pd

    ranking = pd.DataFrame([
        {"param": "init", "kind": "categorical", "best": "glorot", "best_rate": 0.81, "best_trials": 74,
         "worst": "he", "worst_rate": 0.0, "worst_trials": 11},
        {"param": "x_scaling", "kind": "categorical", "best": "standard", "best_rate": 0.9, "best_trials": 40,
         "worst": "none", "worst_rate": 0.04, "worst_trials": 35}])
    tallies = {("init", "glorot"): runs("fit", "fit", "fit"), ("init", "he"): runs("fit", "fit", "fit"),
               ("x_scaling", "standard"): runs("fit", "fit", "fit"),
               ("x_scaling", "none"): runs("linear", "linear", "linear")}
    checked = check_levers(ranking, tallies, runs("fit", "fit", "fit"), 3).set_index("param")
    assert checked.loc["init", "verdict"] == "contradicted" and not checked.loc["init", "shown"]
    assert checked.loc["x_scaling", "verdict"] == "backed" and checked.loc["x_scaling", "shown"]
    assert checked.loc["x_scaling", "evidence"] == ("the target config with x_scaling=standard: fit 3 of 3; "
                                                    "with x_scaling=none: linear 3 of 3")


def test_the_cli_prints_the_smallest_fix_as_json(analysed, cli):
    path, root, _ = analysed
    done = cli("explain", path, "--out", str(root / "results"), "--json", "--jobs", "1", cwd=root)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out)[:5] == ["changes", "escape_rate", "repeats", "path", "swaps"]
    assert out["changes"] == CAUSE and out["repeats"] == REPEATS
    text = cli("explain", path, "--out", str(root / "results"), "--jobs", "1", cwd=root).stdout.splitlines()
    assert text[1:3] == [out["target"]["sentence"], out["fix"]["sentence"]]


@pytest.mark.parametrize("args, words", [(["--repeats", "0"], "--repeats"), ([], "no sweep")], ids=["repeats", "no-sweep"])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, cli, args, words):
    (tmp_path / "xy.py").write_text(STUDY)
    done = cli("explain", str(tmp_path / "xy.py"), "--out", str(tmp_path / "results"), *args, cwd=tmp_path)
    assert done.returncode == 2 and words in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_run_explains_after_the_search_and_before_the_report(tmp_path, cli):
    (tmp_path / "xy.py").write_text(STUDY)
    done = cli("run", str(tmp_path / "xy.py"), "--jobs", "1", "--explain", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "explain: Your config escapes with 2 changes: x_scaling none -> standard, y_scaling none -> standard" \
        in done.stdout
    assert done.stdout.index("explain: ") < done.stdout.index("report: ")
    assert "The smallest fix" in (tmp_path / "results" / "xy" / "report.html").read_text()


def test_a_full_batch_reads_full_not_none():
    from sweeps.analysis.evidence import change_text

    assert change_text("batch_size", 1, None) == "batch_size 1 -> full"
    assert change_text("init", None, "he") == "init none -> he"


def test_a_hint_names_the_settings_its_advice_changes_not_those_its_reason_mentions():
    from sweeps.analysis.evidence import hint_settings

    y = ("targets are unscaled (|y| up to 62.9): gradients and the right output weights grow with y, so no single lr "
         "suits every layer; set y_scaling='standard'")
    assert hint_settings(y) == ["y_scaling"]
    assert hint_settings("the loss blew up by step 40: lower the learning rate (lr=0.1; try 0.01)") == ["lr"]
    assert hint_settings("lr=1e-06 is too small for these data; raise it, or use optimizer='adam'") == ["lr", "optimizer"]
    assert "lr" in hint_settings("70% of the relu units are dead: lower lr, use a positive bias_init, or use leaky_relu")


# --- the thread's answer against the evidence ----------------------------------------------------------
# The xy study's cause is both scalings. An answer of both (and an initialiser that does not matter)
# escapes; one of x scaling alone is right only in part; one of the initialiser alone is wrong.
ANSWERS = {
    "agrees": 'Answer("scale both, and use glorot", QUESTION.replace(x_scaling="standard", y_scaling="standard", '
              'init="glorot"))',
    "in part": 'Answer("standardise the inputs", QUESTION.replace(x_scaling="standard"), source="a comment")',
    "disagrees": 'Answer("a better initialiser", QUESTION.replace(init="glorot"))',
}


@pytest.fixture(scope="module")
def answered(analysed, tmp_path_factory):
    """Verdict -> (the analysis of the sweep with that answer declared, the results folder): each on a copy of the
    analysed sweep, so that only the answer's variants train."""
    path, root, _ = analysed
    out = {}
    for verdict, answer in ANSWERS.items():
        where = tmp_path_factory.mktemp("answered")
        shutil.copytree(root / "results", where / "results")
        study = where / "xy.py"
        study.write_text(STUDY.replace("from studies import Study", "from studies import Answer, Study")
                         .replace("starts=(BEST,),", f"starts=(BEST,), answer={answer},"))
        out[verdict] = analyse(str(study), out=where / "results", jobs=1), where
    return out


def test_an_answer_the_evidence_backs_agrees_and_says_which_of_its_changes_are_needed(answered):
    doc, _ = answered["agrees"]
    a = doc["answer"]
    assert a["verdict"] == "agrees" and a["fits"] >= 4 and a["seeds"] == REPEATS
    assert a["changes"] == {"init": "glorot", **CAUSE}
    assert {k for k, t in a["without"].items() if t["fits"] < 4} == set(CAUSE)  # the initialiser is not needed
    assert "The evidence agrees. It needs x_scaling and y_scaling: without x_scaling, " in a["sentence"]
    assert "It does not need init: with init=he kept, fit " in a["sentence"]
    assert a["sentence"].startswith("The accepted answer, “scale both, and use glorot”, as init he -> glorot, "
                                    "x_scaling none -> standard, y_scaling none -> standard on your config "
                                    f"({REPEATS} fresh seeds, 600 steps): it escapes, fit ")


def test_an_answer_that_is_right_only_in_part_says_what_else_the_fix_needs(answered):
    a = answered["in part"][0]["answer"]
    assert a["verdict"] == "in part" and a["fits"] < 4 and a["without"] == {}
    assert a["sentence"].startswith("A comment, “standardise the inputs”, as x_scaling none -> standard on your "
                                    "config")
    assert a["sentence"].endswith("The evidence agrees only in part: the smallest fix changes x_scaling too, "
                                  "but also needs y_scaling.")


def test_an_answer_the_evidence_contradicts_says_so_plainly(answered):
    a = answered["disagrees"][0]["answer"]
    assert a["verdict"] == "disagrees" and a["fits"] < 4
    assert a["sentence"].endswith("The evidence disagrees: the smallest fix (x_scaling and y_scaling) changes none of "
                                  "its settings. Your config escapes without init: the smallest fix keeps init=he.")


def test_the_answer_is_trained_from_the_fresh_seeds_of_every_variant_and_once(answered, analysed):
    path, _, plain = analysed
    assert plain["answer"] is None  # the study declares none
    doc, where = answered["disagrees"]
    assert {k: v for k, v in doc.items() if k != "answer"} == {k: v for k, v in plain.items() if k != "answer"}
    store = optuna.load_study(study_name=explain_name("xy"), storage=open_storage(None, where / "results" / "xy"))
    # the question's config with glorot is the swap test of init, stored already: one variant, trained once
    assert store.user_attrs["cost"]["trainings"] == 0
    question, answer = doc["question_params"], doc["answer"]
    variants = [t for t in store.trials if t.user_attrs["params"] == question | answer["changes"]]
    assert len(variants) == 1 and [r["seed"] for r in variants[0].user_attrs["runs"]] == variant_seeds(0, REPEATS)
    swap = next(s for s in doc["swaps"] if s["direction"] != BACKWARD and s["setting"] == "init")
    assert (swap["fits"], swap["modes"]) == (answer["fits"], answer["modes"])
    again = analyse(str(where / "xy.py"), out=where / "results", jobs=2)
    assert json.dumps(again) == json.dumps(doc)
    assert optuna.load_study(study_name=explain_name("xy"), storage=open_storage(None, where / "results" / "xy")) \
        .user_attrs["cost"]["trainings"] == 0


def test_the_page_and_the_frames_show_the_verdict(answered):
    from sweeps.report.files import report as write_report

    doc, where = answered["in part"]
    text = write_report(str(where / "xy.py"), out=where / "results").read_text()
    fix = text.index("The smallest fix")
    said = text.index("The answer given, tested")
    assert fix < said < text.index("At a glance")
    assert "<b>in part</b>" in text[said:] and "also needs y_scaling" in text[said:]
    row = frames(doc).answer.iloc[0]
    assert row["verdict"] == "in part" and json.loads(row["changes"]) == {"x_scaling": "standard"}
    assert frames(answered["agrees"][0]).answer["verdict"].tolist() == ["agrees"]
