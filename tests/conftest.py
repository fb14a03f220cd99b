import os

# Hypothesis: a fixed, small budget so CI on 2 cores stays fast and runs are repeatable.
from hypothesis import settings

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
