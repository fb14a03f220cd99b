"""Each seed study's title says what its question's config does, trained as the asker trained it."""

import pytest

import mlpcore
import studies
from sweeps.analysis.tuning import SEEDS

SEED_STUDIES = ("sqrt", "square", "square_int", "sine")

SAYS = {
    "linear": ("straight line", "linear"),
    "collapsed": ("flat", "constant"),
    "diverged": ("NaN", "diverges", "inf"),
    "underfit": ("does not converge", "does not fit"),
    "fit": (),
}
"""The words a title may use for each failure mode; no title may claim a mode its config does not end in."""


@pytest.mark.parametrize("name", SEED_STUDIES)
def test_the_title_names_what_the_question_config_does_at_the_askers_budget(name):
    study = studies.get(name)
    budget = study.budget()
    config = study.baseline.replace(steps=budget.steps, batch_size=budget.batch_size, patience=None)
    data = study.data()
    modes = [mlpcore.fit(config.replace(seed=s), data.x_train, data.y_train, x_val=data.x_val, y_val=data.y_val,
                         stop_when_fit=True).diagnosis.mode for s in SEEDS[:2]]
    assert "fit" not in modes, f"{name}: the question's own config fits ({modes}): no question to answer"
    title = study.title
    claimed = {mode for mode, words in SAYS.items() if any(w in title for w in words)}
    assert claimed, f"{name}: the title {title!r} names no failure mode"
    assert claimed <= set(modes), f"{name}: the title {title!r} claims {claimed}; the config ends {modes}"
