"""sweeps.results on small studies made by hand: which trial is best, and what share escaped."""

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from sweeps.results import frames
from sweeps.results.reading import best_trial


def _study(*trials) -> optuna.Study:
    opt = optuna.create_study()
    for t in trials:
        opt.add_trial(t)
    return opt


def _complete(value: float, mode: str = "fit"):
    return create_trial(value=value, user_attrs={"mode": mode})


FAILED = create_trial(state=TrialState.FAIL, user_attrs={"error": "ValueError: lr must be > 0"})
PRUNED_LOW = create_trial(state=TrialState.PRUNED, value=0.01, intermediate_values={50: 0.01},
                          user_attrs={"mode": "fit"})
"""A pruned trial whose last reported value beats every complete one: stopped, not finished."""


@pytest.mark.parametrize("values, best",
                         [([0.3, 0.2, 0.2, 0.5], 1), ([0.4, 0.4], 0), ([0.5, 0.1, 0.3], 1)])
def test_the_best_trial_is_the_lowest_value_and_the_first_of_a_tie(values, best):
    opt = _study(*(_complete(v) for v in values))
    assert best_trial(opt).number == best
    assert frames.headline(opt)["best_number"] == best  # the page names the same trial


def test_the_best_trial_is_a_complete_one():
    opt = _study(_complete(0.3), PRUNED_LOW, FAILED, _complete(0.3))
    assert best_trial(opt).number == 0
    with pytest.raises(ValueError, match="has no completed trial yet"):
        best_trial(_study(PRUNED_LOW, FAILED))


def test_the_escape_share_is_over_the_completed_trials_alone():
    # 2 of the 4 complete trials reached fit; the failed and the pruned one are in neither count.
    opt = _study(_complete(0.1), _complete(0.9, "linear"), FAILED, _complete(0.2), PRUNED_LOW,
                 _complete(0.8, "collapsed"))
    h = frames.headline(opt)
    assert (h["trials"], h["failed"], h["pruned"], h["escaped"]) == (4, 1, 1, 2)
    assert h["escape_share"] == pytest.approx(0.5)
    # Nothing complete: no share, rather than 0.
    assert frames.headline(_study(FAILED))["escape_share"] is None
