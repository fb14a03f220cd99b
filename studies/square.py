"""Seed 002: x**2 on [0, 1] with leaky-ReLU hidden and output layers, lr 1e-6: a straight line."""

import numpy as np

from mlpcore import MLPConfig
from studies.base import Answer, Budget, Study


def grid(rng: np.random.Generator):
    x = np.linspace(0.0, 1.0, 201)
    return x, x**2


def between(rng: np.random.Generator):
    x = rng.uniform(0.0, 1.0, 200)
    return x, x**2


QUESTION = MLPConfig(hidden=(64,), activation="leaky_relu", output_activation="leaky_relu", init="he",
                     x_scaling="none", y_scaling="none", optimizer="sgd", lr=1e-6, weight_decay=1e-8, steps=2000)

STUDY = Study(
    name="square",
    title="x² with a leaky-ReLU output layer gives a straight line",
    question="A 64-unit leaky-ReLU network with a leaky-ReLU output, He init and lr 1e-6 cannot learn x² on [0, 1].",
    target=np.square,
    sample=grid,
    sample_val=between,
    baseline=QUESTION,
    asked=Budget(50_000, words="50,000 full-batch iterations, as the question's loop runs"),
    # the asker's edit: with the answer's change and without weight decay, "the neural network appears to work"
    answer=Answer("use no activation in the final layer (the answer), and no weight decay (the asker's edit)",
                  QUESTION.replace(output_activation="identity", weight_decay=0.0),
                  source="the accepted answer and the asker's edit (thread 002)"),
)
