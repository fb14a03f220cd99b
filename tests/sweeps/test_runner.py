from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState
import pytest

import mlpcore
import studies
import sweeps
from sweeps.results.reading import runs
from sweeps.pipeline import run
from sweeps.search.driver import BATCH, trial_seeds
from sweeps.store.records import CURVE_POINTS, counts_as_done, study_attr, trial_attrs
from sweeps.store.trialfiles import TrialFiles
from sweeps.space import Space
from sweeps.search.worker import VALUE_CAP, evaluate


def frame(tmp_path, study, out):
    return sweeps.trials_frame(sweeps.load(study, out=tmp_path / out))


def test_same_seed_same_trials_whatever_the_jobs(tmp_path, tiny_study):
    run(tiny_study, trials=12, jobs=1, out=tmp_path / "one", progress=False)
    run(tiny_study, trials=12, jobs=2, out=tmp_path / "two", progress=False)
    a, b = frame(tmp_path, tiny_study, "one"), frame(tmp_path, tiny_study, "two")
    cols = [c for c in a.columns if c.startswith("params_")] + ["value", "mode", "val_mse"]
    assert len(a) == 12 and a[cols].equals(b[cols])
    run(tiny_study, trials=12, jobs=1, seed=1, out=tmp_path / "other", progress=False)
    assert not frame(tmp_path, tiny_study, "other")[cols].equals(a[cols])


def test_trials_asked_when_the_workers_take_them_are_those_asked_a_window_ahead(
        tmp_path, tiny_study, monkeypatch):
    # A trial is asked only when the workers want one, so a window's trials are asked at other
    # moments with one worker or two, and more of them told by then: each is still drawn from
    # trials 0..n - batch alone, as when the whole window was asked at once (as if the workers
    # always wanted more), past the exploration trials into TPE's.
    from sweeps.search.driver import EXPLORE_TRIALS
    from sweeps.search.pool import WorkerPool

    trials = EXPLORE_TRIALS + 12
    kw = dict(trials=trials, batch=4, seed=3, progress=False)
    run(tiny_study, jobs=1, out=tmp_path / "one", **kw)
    run(tiny_study, jobs=2, out=tmp_path / "two", **kw)
    monkeypatch.setattr(WorkerPool, "wanted", lambda self: 10**6)
    run(tiny_study, jobs=2, out=tmp_path / "ahead", **kw)
    one, two, ahead = (frame(tmp_path, tiny_study, out) for out in ("one", "two", "ahead"))
    cols = [c for c in one.columns if c.startswith("params_")] + ["value", "mode"]
    assert len(one) == trials and one[cols].equals(two[cols]) and one[cols].equals(ahead[cols])


def test_a_trial_too_early_to_model_draws_as_in_a_study_of_the_trials_held(tiny_study):
    # The driver's sampler may hold fewer trials than the stored study (it hides those told since
    # the trial's window opened). A trial with too few held to model draws at random, counting
    # those held: as in a study of them alone, not as TPE modelling the stored study would.
    from sweeps.search.driver import EXPLORE_TRIALS, NumberedSampler
    from sweeps.search.history import History

    space, n = Space.of(studies.get(tiny_study)), EXPLORE_TRIALS + 8

    def study(complete) -> optuna.Study:  # n trials drawn at random, those ``complete`` says told
        opt = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
        for i in range(n):
            trial = opt.ask()
            space.suggest(trial)
            opt.tell(trial, float(i % 7)) if complete(i) else opt.tell(trial, state=TrialState.FAIL)
        return opt

    def drawn(opt: optuna.Study, history: History | None) -> dict:  # trial n, as the driver would
        opt.sampler = NumberedSampler(space, 0, [], history)
        return space.suggest(opt.ask())

    held = History()
    held.update(study(lambda i: True).get_trials(deepcopy=False)[:5])
    alone = drawn(study(lambda i: i < 5), None)
    assert drawn(study(lambda i: True), held) == alone
    assert drawn(study(lambda i: True), None) != alone  # TPE modelling the stored study: other


def test_resume_runs_only_what_is_missing(tmp_path, tiny_study):
    run(tiny_study, trials=8, jobs=1, out=tmp_path / "split", progress=False)
    first = frame(tmp_path, tiny_study, "split")
    run(tiny_study, trials=16, jobs=2, out=tmp_path / "split", progress=False)
    again = run(tiny_study, trials=16, jobs=2, out=tmp_path / "split", progress=False)  # nothing left to do
    both = frame(tmp_path, tiny_study, "split")
    assert len(both) == 16 and (both.state == "COMPLETE").all()
    assert both.iloc[:8][["value", "params_lr"]].equals(first[["value", "params_lr"]])
    assert len(runs(again)) == 3 and runs(again)[2]["trials_requested"] == 16


def test_a_rerun_with_nothing_left_starts_no_worker(tmp_path, tiny_study, monkeypatch):
    from sweeps.search.pool import WorkerPool

    run(tiny_study, trials=4, jobs=1, out=tmp_path, progress=False)
    started = []
    monkeypatch.setattr(WorkerPool, "start", lambda self: started.append(self))
    again = run(tiny_study, trials=4, jobs=2, out=tmp_path, progress=False)
    assert started == [] and len(again.trials) == 4
    run(tiny_study, trials=5, jobs=1, out=tmp_path, progress=False)  # one missing: the workers start
    assert len(started) == 1


def test_everything_is_tracked(tmp_path, tiny_study):
    opt = run(tiny_study, trials=8, jobs=2, repeats=3, out=tmp_path, progress=False)
    attrs = opt.user_attrs
    assert attrs["settings"] == {"seed": 0, "repeats": 3, "batch": BATCH, "pruner": "none"}
    assert {"versions", "host", "command", "started", "ended", "git"} <= set(runs(opt)[0])
    assert len(study_attr(opt, "grid")["x"]) == 100 and study_attr(opt, "baseline")["mode"] in mlpcore_modes()
    data = studies.get(tiny_study).data()
    files = TrialFiles.of(tmp_path / "tiny")
    for t in opt.trials:
        a = trial_attrs(t.user_attrs) | files.read(t.number)  # the journal's records, and what is large from the trial's file
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert a["seeds"] == trial_seeds(0, t.number, 3) and len(a["values"]) == 3
        assert t.value == pytest.approx(np.median(a["values"]))
        assert a["escape_rate"] == np.mean([m == "fit" for m in a["modes"]])
        assert a["config"]["seed"] in a["seeds"] and a["config"]["steps"] == 150
        assert len(a["grid_pred"]) == 100 and "gain" in a["metrics"]
        # The recorded diagnosis is the median run's: refitting its config gives the same mode and hints.
        refit = mlpcore.fit(mlpcore.MLPConfig.from_dict(a["config"]), data.x_train, data.y_train, x_val=data.x_val,
                            y_val=data.y_val)
        assert (refit.diagnosis.mode, list(refit.diagnosis.hints)) == (a["mode"], a["hints"])
        curve = a["curve"]
        assert len(t.intermediate_values) == min(CURVE_POINTS, sum(v is not None for v in curve["val"]))
        assert max(t.intermediate_values) == curve["steps"][-1] == a["steps_done"]
        assert a["backend"] in ("numpy", "numba") and a["seconds"] > 0


def test_repeats_default_to_the_study_budget(tmp_path, tiny_study):
    study = tmp_path / "twice.py"
    study.write_text(Path(tiny_study).read_text().replace("repeats=1", "repeats=2"))
    opt = run(str(study), trials=2, jobs=1, out=tmp_path, progress=False)
    assert opt.user_attrs["settings"]["repeats"] == 2
    assert [len(trial_attrs(t.user_attrs)["values"]) for t in opt.trials] == [2, 2]
    assert studies.get("sqrt").repeats == 3  # the seed studies: a best config must fit whatever the seed


def mlpcore_modes():
    from mlpcore import MODES

    return MODES


def test_the_search_starts_from_the_textbook_config(tmp_path, tiny_study):
    import studies

    opt = run(tiny_study, trials=3, jobs=1, out=tmp_path, progress=False)
    first = opt.trials[0]
    assert first.user_attrs["start"] is True and first.params == Space.of(studies.get(tiny_study)).start_params(studies.get(tiny_study).starts)[0]
    assert first.params["x_scaling"] == "standard" and first.params["optimizer"] == "adam"
    assert "start" not in opt.trials[1].user_attrs


def test_rerun_with_other_settings_is_refused_and_changes_nothing(tmp_path, tiny_study):
    run(tiny_study, trials=8, jobs=1, out=tmp_path, progress=False)
    journal = (tmp_path / "tiny" / "journal.log").read_bytes()
    with pytest.raises(ValueError, match="was run with seed=0; rerun with seed=0"):
        run(tiny_study, trials=8, seed=3, out=tmp_path, progress=False)
    assert (tmp_path / "tiny" / "journal.log").read_bytes() == journal


def test_a_trial_that_raises_fails_alone(tmp_path, tiny_study):
    out = evaluate(tiny_study, {"lr": 0.1, "activation": "swish"}, [1])
    assert out["error"].startswith("ValueError: activation must be one of")

    # A space that offers an invalid batch size: those trials raise in the worker, the rest run.
    source = open(tiny_study).read().replace(
        "trials=8,", "trials=8, space={'lr': True, 'batch_size': [None, 0]},")
    path = tmp_path / "tiny_broken.py"
    path.write_text(source)
    opt = run(str(path), trials=8, jobs=2, out=tmp_path, progress=False)
    failed = [t for t in opt.trials if t.state == optuna.trial.TrialState.FAIL]
    complete = [t for t in opt.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert failed and complete and len(failed) + len(complete) == 8
    assert all(t.params["batch_size"] == 0 and "batch_size must be None or an integer >= 1 and <= 1000000, got 0" in t.user_attrs["error"]
               for t in failed)
    assert all(t.params["batch_size"] is None for t in complete)
    assert sum(counts_as_done(t) for t in opt.trials) == 8


def test_diverged_value_is_the_cap(tiny_study):
    out = evaluate(tiny_study, {"lr": 1.0, "optimizer": "sgd", "x_scaling": "none", "y_scaling": "none",
                                "init": "normal", "init_scale": 10.0, "width": 64, "depth": 3}, [0])
    assert out["mode"] == "diverged" and out["value"] == VALUE_CAP


def test_a_trial_is_the_median_of_its_trainings_and_fails_with_any_of_them():
    from sweeps.search.worker import combine

    runs = [{"value": v, "mode": m, "seed": s, "seconds": 1.0, "curve": s}
            for v, m, s in [(0.5, "linear", 11), (0.1, "fit", 12), (0.3, "fit", 13)]]
    out = combine(runs)
    assert out["value"] == 0.3 and out["curve"] == 13  # the median run's records
    assert out["values"] == [0.5, 0.1, 0.3] and out["seeds"] == [11, 12, 13]
    assert out["escape_rate"] == pytest.approx(2 / 3) and out["seconds"] == 3.0
    broken = combine(runs[:1] + [{"error": "worker died", "traceback": "", "seconds": 2.0}] + runs[2:])
    assert broken["error"] == "worker died" and broken["seconds"] == 4.0


def _runs(values, modes=None):
    """A trial's runs in seed order, as train_once returns them; each one's curve is its index."""
    modes = modes or ["fit"] * len(values)
    return [{"value": v, "mode": m, "seed": 100 + i, "seconds": 1.0, "curve": i} for i, (v, m) in
            enumerate(zip(values, modes))]


@pytest.mark.parametrize("values, modes, run, value", [
    ([0.4, 0.2], ["linear", "fit"], 1, 0.3),  # the better of two, and their mean
    # the 2nd of 0.1 0.3 0.5 0.9, and the mean of 0.3 and 0.5
    ([0.9, 0.1, 0.5, 0.3], ["linear", "fit", "underfit", "collapsed"], 3, 0.4),
    ([0.2, 0.2], ["linear", "fit"], 0, 0.2),  # a tie: the earlier seed
    ([0.3, 0.1, 0.3, 0.5], ["linear", "fit", "underfit", "collapsed"], 0, 0.3),
], ids=["2", "4", "2-tie", "4-tie"])
def test_an_even_count_of_runs_gives_the_lower_middle_run_and_the_median(values, modes, run, value):
    # The value is the median (the mean of the middle two); the records (mode, curve, metrics) are
    # one real run's, the better of the middle two (the objective is minimised), ties by seed order.
    from sweeps.search.worker import combine

    out = combine(_runs(values, modes))
    assert out["curve"] == run and out["mode"] == modes[run] and out["seed"] == 100 + run
    assert out["value"] == pytest.approx(value, abs=1e-12)
    assert out["values"] == values and out["modes"] == modes


class _Pool:
    """Stands in for the worker pool: keeps the trainings handed to it, runs none; it wants
    ``wants`` of them (default: any number)."""

    def __init__(self, wants: int = 10**6):
        self.tasks, self.wants = [], wants

    def submit(self, key, args):
        self.tasks.append(key)

    def wanted(self):
        return self.wants - len(self.tasks)

    def __len__(self):
        return len(self.tasks)


def _loop(tmp_path, tiny_study, total: int, kinds: str):
    """An AskTellLoop with a budget of ``total`` over a real journal study holding trials of
    ``kinds``, in order: d done (complete), r running (another driver's), g given back (failed,
    over budget)."""
    from sweeps.search.driver import AskTellLoop, trial_sampler
    from sweeps.search.tracking import open_study
    from sweeps.store.factory import open_storage
    from sweeps.store.liveness import Driver
    from sweeps.store.records import Settings, Stop

    definition, settings = studies.get(tiny_study), Settings(0, 1, batch=4)
    space, store = Space.of(definition), open_storage(None, tmp_path)
    opt = open_study(store, definition, settings, trial_sampler(space, 0, 0))
    driver = Driver(opt, store)
    for kind in kinds:
        if kind == "d":
            opt.add_trial(optuna.trial.create_trial(value=1.0))
        elif kind == "g":
            driver.fail(opt.ask(), Stop.OVER_BUDGET)
        else:
            opt.ask()
    return AskTellLoop(opt, tiny_study, definition, space, settings, driver, _Pool(), total)


@pytest.mark.parametrize("kinds, within", [
    ("ddd", True),  # trial 3, a budget of 4: the last within it
    ("dddd", False),  # trial 4, every trial below it done: over
    ("ddrd", False),  # ... or running in another driver: over
    ("dgdd", True),  # one given back below it: it ranks 3, within
    ("dgddd", False),  # trial 5, one given back below: it ranks 4, over
    ("dggdd", True),  # trial 5, two given back below: it ranks 3, within
])
def test_within_budget_ranks_a_trial_among_the_done_or_running_below_it(tmp_path, tiny_study, kinds,
                                                                          within):
    loop = _loop(tmp_path, tiny_study, 4, kinds)
    trial = loop.opt.ask()
    assert trial.number == len(kinds) and loop.within_budget(trial) is within


@pytest.mark.parametrize("kinds, asked",
                         [("ddd", 1), ("dddd", 0), ("ddr", 1), ("dddr", 0), ("ddg", 2), ("", 4)])
def test_refill_asks_what_the_budget_has_left_and_no_more(tmp_path, tiny_study, kinds, asked):
    loop = _loop(tmp_path, tiny_study, 4, kinds)
    loop.refill()
    trials = loop.opt.get_trials()
    assert len(trials) == len(kinds) + asked and len(loop.pool.tasks) == asked == len(loop.asked)
    assert [t.state for t in trials[len(kinds):]] == [optuna.trial.TrialState.RUNNING] * asked


def test_a_trial_drawn_for_a_number_another_driver_took_is_given_back_and_drawn_again(tmp_path, tiny_study):
    # A trial is drawn for the number storage will give it, then created whole; a driver asking meanwhile
    # takes that number: the trial drawn for it (now numbered one more) is given back, the next ask draws anew.
    loop = _loop(tmp_path, tiny_study, 8, "dd")
    before = loop.opt.get_trials(deepcopy=False)[:]  # what this driver read, before another driver asked
    loop.opt.ask()  # the other driver's trial 2
    assert loop.ask(before) is None
    given_back = loop.opt.get_trials()[3]
    assert given_back.state == optuna.trial.TrialState.FAIL and given_back.user_attrs["stopped_by"] == "over budget"
    trial, params, seeds = loop.ask()
    assert trial.number == 4 and trial.state == optuna.trial.TrialState.RUNNING
    assert seeds == trial.user_attrs["seeds"] == trial_seeds(0, 4, 1) and trial.user_attrs["driver"] == loop.driver.id
    assert {k: trial.params[k] for k in params} == params


def test_refill_asks_a_trial_only_when_the_workers_want_one(tmp_path, tiny_study):
    # Optuna stamps a trial's start when it is asked: one asked before the workers want it would
    # count its wait in the window as its own time (optuna-dashboard's Duration).
    loop = _loop(tmp_path, tiny_study, 8, "")
    loop.pool = _Pool(wants=2)
    loop.refill()
    assert [t.number for t, *_ in loop.asked] == [0, 1] and len(loop.opt.get_trials()) == 2
    loop.refill()  # nothing more wanted
    assert len(loop.opt.get_trials()) == 2
    loop.pool.tasks.pop(0)  # a training ended
    loop.refill()
    assert [t.number for t, *_ in loop.asked] == [0, 1, 2] and len(loop.opt.get_trials()) == 3


def test_trial_seeds_are_fixed_by_the_trial_and_shared_by_no_other_training():
    seeds = {(s, n): trial_seeds(s, n, 3) for s in (0, 1, 7) for n in range(20)}
    assert trial_seeds(1, 5, 3) == seeds[1, 5]  # derived again (a resume, another driver): the same
    every = [x for trial in seeds.values() for x in trial]
    # No two trainings share an init seed: not two repeats, two trials, nor two studies' seeds.
    assert len(set(every)) == len(every)
