"""Seed 003: x**2 on the integers 1..100, one sigmoid unit, softplus output, single-sample SGD: NaN or nothing."""

import numpy as np

from mlpcore import MLPConfig
from studies.base import Study


def integers(rng: np.random.Generator):
    x = np.arange(1.0, 101.0)
    return x, x**2


STUDY = Study(
    name="square_int",
    title="x² on 1..100 with one sigmoid unit goes to NaN",
    question="A 1-unit sigmoid network with a softplus output, trained one sample at a time on x² for x = 1..100, "
             "grows to inf/NaN or predicts rubbish.",
    target=np.square,
    sample=integers,
    baseline=MLPConfig(hidden=(1,), activation="sigmoid", output_activation="softplus", init="normal",
                       init_scale=1.0, bias_init=1.0, x_scaling="none", y_scaling="none", optimizer="sgd", lr=1e-4,
                       batch_size=1, steps=2000),
)
