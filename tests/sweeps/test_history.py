"""What the sampler models (sweeps.search.history): the same params as sampling in the stored study up to the
window, and a bounded copy that keeps the best trials past it, over a few thousand trivial trials."""

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from sweeps.search.driver import SweepSampler
from sweeps.search.history import KEEP_BEST, Chosen, History

SPACE = {"x": FloatDistribution(-5.0, 5.0), "c": CategoricalDistribution(["a", "b", "c"])}


def _value(params: dict) -> float:
    return (params["x"] - 1.0) ** 2 + {"a": 0.0, "b": 0.5, "c": 1.0}[params["c"]]


def test_up_to_the_window_the_params_are_those_sampled_in_the_study():
    stored = optuna.create_study(direction="minimize")
    copied = optuna.create_study(direction="minimize")
    history = History()
    for number in range(40):
        sampler = SweepSampler(SPACE, seed=1000 + number)
        stored.sampler = sampler
        t = stored.ask(SPACE)
        history.update(copied.get_trials(deepcopy=False))
        chosen = history.sample(SweepSampler(SPACE, seed=1000 + number), SPACE)
        copied.sampler = Chosen(SPACE, chosen) if chosen else SweepSampler(SPACE, seed=1000 + number)
        c = copied.ask(SPACE)
        assert c.params == t.params, number
        if number % 7 == 3:  # some trials fail: TPE reads neither copy of them
            stored.tell(t, state=TrialState.FAIL)
            copied.tell(c, state=TrialState.FAIL)
        else:
            stored.tell(t, _value(t.params))
            copied.tell(c, _value(c.params))
    assert len(history.held) == sum(t.state == TrialState.COMPLETE for t in stored.get_trials()[:-1])


def test_past_the_window_the_copy_stays_bounded_and_keeps_the_best():
    study = optuna.create_study(direction="minimize")
    sampler = optuna.samplers.RandomSampler(seed=0)
    trials = []
    for number in range(3000):
        params = {k: sampler.sample_independent(study, None, k, d) for k, d in SPACE.items()}
        state = TrialState.FAIL if number % 11 == 0 else TrialState.COMPLETE
        trials.append(create_trial(params=params, distributions=SPACE, state=state,
                                   value=_value(params) if state == TrialState.COMPLETE else None))
    study.add_trials(trials)
    stored = study.get_trials(deepcopy=False)
    history = History(window=400)
    largest = 0
    for end in range(100, 3001, 100):  # the driver reads the study before every ask; here every 100 trials
        history.update(stored[:end])
        largest = max(largest, len(history.held))
        complete = [t for t in stored[:end] if t.state == TrialState.COMPLETE]
        best = sorted(complete, key=lambda t: (t.value, t.number))[:KEEP_BEST]
        assert {t.number for t in best} <= {t.number for t in history.held}
        assert complete[-1].number == history.held[-1].number
        assert [t.number for t in history.held] == sorted(t.number for t in history.held)
    assert largest <= 400 and len(history.copied) == sum(t.state == TrialState.COMPLETE for t in stored)
    chosen = history.sample(SweepSampler(SPACE, seed=3), SPACE)
    assert set(chosen) == set(SPACE) and SPACE["x"]._contains(chosen["x"])
