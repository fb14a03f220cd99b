"""Seed 000/001: sqrt(x) on x up to ~3000 with 10 ReLU units, unscaled, tiny lr: a straight line."""

import numpy as np

from mlpcore import MLPConfig
from studies.base import Answer, Budget, Study

NOISE_SD = 0.5


def sample(rng: np.random.Generator):
    x = np.abs(rng.standard_normal(500) * 1000)
    return x, np.sqrt(x) + NOISE_SD * rng.standard_normal(500)


QUESTION = MLPConfig(hidden=(10,), activation="relu", output_activation="identity", init="normal", init_scale=0.01,
                     bias_init=0.0, x_scaling="none", y_scaling="none", optimizer="sgd", lr=1e-6, steps=1000)

STUDY = Study(
    name="sqrt",
    title="sqrt(x) with one ReLU layer gives a straight line",
    question="A 10-unit ReLU network trained on sqrt(x) for x in [0, ~3000] only ever produces linear fits.",
    target=np.sqrt,
    sample=sample,
    noise_sd=NOISE_SD,
    steps=1000,  # the escapes settle within ~500 Adam steps; wide 3-layer trials are the sweep's slowest
    baseline=QUESTION,
    asked=Budget(300_000, words="300,000 full-batch steps, as the question's loop runs"),
    answer=Answer("zero-centre and normalise the input and output ranges",
                  QUESTION.replace(x_scaling="standard", y_scaling="standard"),
                  source="the accepted answer (threads 000 and 001)"),
)
