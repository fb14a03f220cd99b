import os

import pytest

# Hypothesis: a fixed, small budget so CI on 2 cores stays fast and runs are repeatable.
from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# Scheduling under pytest-xdist (`-n auto`, with `--dist loadgroup` from pyproject.toml's addopts).
SHARED = {"sweep", "frames", "swept", "docs", "analysed", "reports", "workdir", "postgres"}
"""Module-scoped fixtures that build a sweep, its report or a PostgreSQL server: the tests of a module that use
one go to one worker as a group, so it is built once, not once on each worker that runs some of them."""

LONG = ("test_four_drivers_share_one_journal_file", "test_a_report_writer_killed_at_any_moment",
        "test_run_writes_the_report_and_report_all", "test_sigkill_the_driver_at_random_moments",
        "test_the_readme_runs_top_to_bottom_in_one_fresh_folder",
        "test_the_quickstart_notebook_runs_in_a_kernel", "test_four_drivers_share_one_postgresql_study",
        "test_pruning_decisions_are_the_same_whatever_the_jobs", "test_a_full_disk_mid_run",
        "test_report_into_a_read_only_folder", "test_run_best_list_diagnose_on_a_seed_study")
"""The longest tests outside a group (from `--durations`): started first, so that none of them is left to run
alone on one worker at the end while the other has nothing to do."""


KERNEL_FREE = ("test_activations", "test_atomic", "test_config", "test_diagnostics", "test_gradcheck", "test_hints",
               "test_network", "test_optim", "test_scaling", "test_masking", "test_plots", "test_space", "test_studies",
               "test_records", "test_results")
"""Modules whose tests never run the compiled kernel (checked with an empty numba cache). They are one group, the
largest, so pytest-xdist hands it out first: with a cold cache one worker runs them while the other's first sweep
compiles the kernel, instead of both waiting for that compile."""


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook turns the groups into its work units
def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in KERNEL_FREE:
            item.add_marker(pytest.mark.xdist_group("kernel-free"))
        elif SHARED & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    items.sort(key=lambda item: not item.name.startswith(LONG))  # stable: the rest keep their order
