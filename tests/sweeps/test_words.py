"""One name for one thing, and the same number everywhere: the README, the page and the code say the same."""

import json
import re
from pathlib import Path

import studies
from sweeps.search.driver import EXPLORE_TRIALS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_page_and_code_agree_on_the_exploration_trials(swept_tiny):
    readme = " ".join(README.read_text().split())
    first = int(re.search(r"The first (\d+) trials of a sweep are its starting points", readme)[1])
    explored = int(re.search(r"(\d+) exploration trials", readme)[1])
    assert first == EXPLORE_TRIALS
    for name in studies.names():  # a default sweep of each question
        assert explored == EXPLORE_TRIALS - len(studies.get(name).starts), name
    folder = swept_tiny.folder / "results" / "tiny"
    tiny = studies.get(str(swept_tiny.folder / "tiny.py"))
    expected = min(tiny.trials, EXPLORE_TRIALS) - len(tiny.starts)
    assert json.loads((folder / "headline.json").read_text())["levers_on"] == expected
    stated = {int(n) for n in re.findall(r"the (\d+) exploration trials", (folder / "report.html").read_text())}
    assert stated <= {expected}  # the page says the number where it quotes the levers


def test_the_questions_answers_name_their_threads_not_seeds():
    for name in studies.names():
        answer = studies.get(name).answer
        if answer is not None:
            assert "seed" not in answer.source and "thread" in answer.source, (name, answer.source)


def test_the_cli_names_the_question_not_a_seed():
    from sweeps.results.reading import baseline_words

    assert baseline_words("sqrt", studies.get("sqrt")) == "the question's config"


def test_figures_that_depend_on_init_seeds_say_which_and_how_many(swept_tiny, monkeypatch):
    import html

    import sweeps
    from sweeps.results.reading import best_trial
    from sweeps.store.records import study_attr

    monkeypatch.chdir(swept_tiny.folder)
    opt = sweeps.load("tiny.py")
    page = html.unescape((swept_tiny.folder / "results" / "tiny" / "report.html").read_text())
    question_seed = study_attr(opt, "baseline")["config"]["seed"]  # stored as JSON text (see records.as_stored)
    best_seed = best_trial(opt).user_attrs["config"]["seed"]
    assert (f"what the question's own config learns (init seed {question_seed}), and the best trial's fit "
            f"(init seed {best_seed})") in page  # the tiny study trains one init seed a trial
    assert "Every trial's value (one init seed a trial)" in page


DEAD = """
import numpy as np
from mlpcore import MLPConfig
from studies import Budget, Study

def sample(rng):
    x = np.abs(rng.standard_normal(120) * 1000)
    return x, np.sqrt(x) + 0.5 * rng.standard_normal(120)

QUESTION = MLPConfig(hidden=(10,), activation="relu", init="normal", init_scale=0.01, bias_init=0.0,
                     x_scaling="none", y_scaling="none", optimizer="sgd", lr=1e-6, steps=200)
STUDY = Study(name="dead", title="dead relu units", question="a test study", target=np.sqrt,
              sample=sample, noise_sd=0.5, trials=2, steps=200, repeats=3, patience=None,
              baseline=QUESTION, asked=Budget(400), space={"lr": True, "x_scaling": True})
"""
"""sqrt's question in small: its relu units on x > 0 die with their negative weights, a share that
depends on the init seed (from 40% to 80% on the seeds trained here)."""

DEAD_SHARE = re.compile(r"(\d+(?:-\d+)?)% of the relu units are dead")


def _dead_share(lines) -> str:
    """The dead share a text states ("60", or "50-70" over several init seeds); "" for none."""
    found = {m[1] for line in lines for m in DEAD_SHARE.finditer(line)}
    assert len(found) <= 1, found
    return found.pop() if found else ""


def _page_text(folder: Path) -> str:
    """The report's text, as a reader sees it: tags dropped, entities read."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", (folder / "report.html").read_text()))


def test_the_dead_relu_share_is_one_number_from_named_init_seeds(tmp_path, cli):
    import mlpcore
    from sweeps.analysis.tuning import SEEDS

    (tmp_path / "dead.py").write_text(DEAD)
    assert cli("run", "dead.py", "--jobs", "2", cwd=tmp_path).returncode == 0
    folder = tmp_path / "results" / "dead"
    head = json.loads((folder / "headline.json").read_text())
    seed, seeds = head["baseline_seed"], head["baseline_seeds"]
    share = _dead_share(head["baseline_hints"])
    assert len(seeds) == 3 and seed in seeds and share  # the median run's hints, its seed named
    # diagnose from that init seed says the same; from the config's own, it says which one that is
    said = cli("diagnose", "dead.py", "--seed", str(seed), cwd=tmp_path).stdout
    assert f"the study's baseline config, init seed {seed}, 200 steps" in said
    assert _dead_share(said.splitlines()) == share
    assert f"dead_fraction        {int(share) / 100:.4g}\n" in said
    said = cli("diagnose", "dead.py", cwd=tmp_path).stdout
    assert "the study's baseline config, init seed 0, 200 steps" in said
    page = _page_text(folder)
    assert (f"the median of its 3 init seeds ({', '.join(map(str, seeds))}) at 200 steps. The "
            f"diagnosis of the median one, init seed {seed} (python -m sweeps diagnose dead.py "
            f"--seed {seed} repeats it)") in page
    assert _dead_share([page]) == share

    # The analysis trains the question at the asker's budget from its own init seeds: the page and
    # explain name the seeds that got the hint, and state the share as its range over them.
    explained = cli("explain", "dead.py", "--jobs", "2", cwd=tmp_path).stdout
    assert cli("report", "dead.py", cwd=tmp_path).returncode == 0
    study = studies.get(str(tmp_path / "dead.py"))
    d = study.data()
    got = {}  # init seed -> its dead share, for the seeds whose diagnosis says it
    for s in SEEDS:
        r = mlpcore.fit(study.baseline.replace(steps=400, seed=s), d.x_train, d.y_train,
                        x_val=d.x_val, y_val=d.y_val, stop_when_fit=True)
        if _dead_share(map(str, r.diagnosis.hints)):
            got[s] = round(100 * r.diagnosis.metrics["dead_fraction"])
    assert 1 < len(got) < len(SEEDS) and len(set(got.values())) > 1  # seeds differ here
    expected = f"{min(got.values())}-{max(got.values())}"
    named = f"{len(got)} of {len(SEEDS)} init seeds: {', '.join(map(str, got))}"
    page = _page_text(folder)
    assert _dead_share([page]) == expected and named in page
    assert _dead_share(explained.splitlines()) == expected and named in explained
