"""What the sampler models (sweeps.search.history): the same params as sampling in the stored study up to the
window, and a bounded copy that keeps the best trials past it, over a few thousand trivial trials."""

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from sweeps.search.history import KEEP_BEST, Chosen, History

SPACE = {"x": FloatDistribution(-5.0, 5.0), "c": CategoricalDistribution(["a", "b", "c"])}


def _value(params: dict) -> float:
    return (params["x"] - 1.0) ** 2 + {"a": 0.0, "b": 0.5, "c": 1.0}[params["c"]]


class Joint(optuna.samplers.TPESampler):
    """Multivariate TPE over SPACE, given (as the driver's SweepSampler); ``m`` outside it, by univariate TPE."""

    def __init__(self, seed: int):
        super().__init__(seed=seed, n_startup_trials=16, multivariate=True, constant_liar=False)

    def infer_relative_search_space(self, study, trial):
        return SPACE


def _suggest(trial) -> dict:
    """SPACE's params, and ``m`` (conditional: only where ``c`` is "b")."""
    params = {"x": trial.suggest_float("x", -5.0, 5.0), "c": trial.suggest_categorical("c", ["a", "b", "c"])}
    if params["c"] == "b":
        params["m"] = trial.suggest_float("m", 0.0, 1.0)
    return params


def test_up_to_the_window_the_params_are_those_sampled_in_the_study():
    stored = optuna.create_study(direction="minimize")
    copied = optuna.create_study(direction="minimize")
    history = History()
    for number in range(40):
        stored.sampler = Joint(seed=1000 + number)
        t = stored.ask()
        expected = _suggest(t)
        history.update(copied.get_trials(deepcopy=False))
        sampler = Joint(seed=1000 + number)
        chosen = history.sample(sampler, SPACE)
        copied.sampler = Chosen(SPACE, chosen, sampler, history) if chosen else Joint(seed=1000 + number)
        c = copied.ask()
        assert _suggest(c) == expected, number
        if number % 7 == 3:  # some trials fail: TPE reads neither copy of them
            stored.tell(t, state=TrialState.FAIL)
            copied.tell(c, state=TrialState.FAIL)
        else:
            stored.tell(t, _value(t.params))
            copied.tell(c, _value(c.params))
    assert len(history.held) == sum(t.state == TrialState.COMPLETE for t in stored.get_trials()[:-1])
    assert any("m" in t.params for t in stored.trials[16:])  # the conditional param was sampled by TPE too


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
    chosen = history.sample(Joint(seed=3), SPACE)
    assert set(chosen) == set(SPACE) and SPACE["x"]._contains(chosen["x"])
