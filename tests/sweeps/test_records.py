"""sweeps.store.records: which trials used up budget, read back from a real journal.

Each trial is written by the code that writes it in a sweep (``tracking.tell`` for an outcome,
``Driver.fail`` for a stop), so the test reads what a sweep stores, not what it imagines.
"""

import optuna
import pytest
from optuna.trial import TrialState

from sweeps.search.tracking import tell
from sweeps.store.factory import open_storage
from sweeps.store.liveness import Driver
from sweeps.store.records import PRUNED, Stop, counts_as_done, ending, stop_reason

LEGACY = {"its driver 0123abcd died": Stop.DRIVER_DIED,
          "over budget: other drivers took the remaining trials": Stop.OVER_BUDGET}
"""What ``stopped_by`` held before stop reasons were Stop values (written since commit 0c1b038)."""


def _outcome(stopped: str) -> dict:
    """The least of a worker's outcome that ``tell`` records: a two-checkpoint curve, its value."""
    return {"metrics": {"var_y": 1.0}, "curve": {"steps": [0, 10], "val": [1.0, 0.5]},
            "stopped": stopped, "value": 0.5}


@pytest.fixture
def stored(tmp_path) -> dict[str, optuna.trial.FrozenTrial]:
    """One trial of every kind, by name, as read back from a journal file."""
    store = open_storage(None, tmp_path)
    opt = optuna.create_study(study_name="kinds", storage=store)
    driver = Driver(opt, store)
    names = []

    def trial(name: str) -> optuna.Trial:
        names.append(name)
        return opt.ask()

    tell(opt, trial("complete"), _outcome("steps"), store)
    tell(opt, trial("pruned"), _outcome(PRUNED), store)
    tell(opt, trial("failed"), {"error": "ValueError: lr must be > 0", "traceback": ""}, store)
    for stop in Stop:
        driver.fail(trial(stop.name), stop)
    for sentence in LEGACY:
        t = trial(sentence)
        t.set_user_attr("stopped_by", sentence)
        opt.tell(t, state=TrialState.FAIL)
    trial("running")
    again = optuna.load_study(study_name="kinds", storage=open_storage(None, tmp_path))
    return dict(zip(names, again.get_trials()))


def test_a_trial_counts_as_done_when_it_ran_to_its_own_end(stored):
    done = {name for name, t in stored.items() if counts_as_done(t)}
    assert done == {"complete", "pruned", "failed"}
    assert [stored[n].state for n in ("complete", "pruned", "failed")] == [
        TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL]


@pytest.mark.parametrize("stop", list(Stop), ids=lambda s: s.name)
def test_a_trial_a_driver_stopped_is_not_done_it_is_run_again(stored, stop):
    t = stored[stop.name]
    assert t.state == TrialState.FAIL and stop_reason(t) is stop
    assert not counts_as_done(t)


@pytest.mark.parametrize("sentence", list(LEGACY))
def test_a_legacy_stop_sentence_is_read_as_its_stop_and_not_done(stored, sentence):
    t = stored[sentence]
    assert stop_reason(t) is LEGACY[sentence] and ending(t) != "failed"
    assert not counts_as_done(t)


def test_a_running_trial_is_not_done(stored):
    assert stored["running"].state == TrialState.RUNNING and not counts_as_done(stored["running"])
