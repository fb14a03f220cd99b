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
