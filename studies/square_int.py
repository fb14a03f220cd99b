"""Seed 003: x**2 on the integers 1..100, one sigmoid unit, softplus output, single-sample SGD: a constant."""

import numpy as np

from mlpcore import MLPConfig
from studies.base import Answer, Budget, Study


def integers(rng: np.random.Generator):
    x = np.arange(1.0, 101.0)
    return x, x**2


QUESTION = MLPConfig(hidden=(1,), activation="sigmoid", output_activation="softplus", init="normal", init_scale=1.0,
                     bias_init=1.0, x_scaling="none", y_scaling="none", optimizer="sgd", lr=1e-4, batch_size=1,
                     steps=2000)

STUDY = Study(
    name="square_int",
    title="x² on 1..100 with one sigmoid unit predicts a constant",
    question="A 1-unit sigmoid network with a softplus output, trained one sample at a time on x² for x = 1..100, "
             "predicts rubbish (the asker saw it grow to inf or NaN with other settings).",
    target=np.square,
    sample=integers,
    baseline=QUESTION,
    asked=Budget(10_000, batch_size=1, words="10,000 'epochs' of one random sample each, as the question's loop runs"),
    # The thread's other points do not apply here: the backprop-order bug (this engine's gradients are
    # checked), and a sigmoid output's 0..1 range (the question's output is softplus). It names no width:
    # 10 is the other seed questions' width.
    answer=Answer("one hidden unit is not enough to approximate x**2: use more (tested with 10)",
                  QUESTION.replace(hidden=(10,)), source="the second answer (thread 003)"),
)
