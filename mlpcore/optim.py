"""Optimizers: name -> class, each updating a list of parameter arrays in place.

- ``sgd``:      p -= lr * g
- ``momentum``: v = momentum * v + g;  p -= lr * v            (PyTorch's heavy-ball form)
- ``adam``:     m = b1 m + (1 - b1) g;  s = b2 s + (1 - b2) g**2;
                p -= lr * (m / (1 - b1**t)) / (sqrt(s / (1 - b2**t)) + eps)

Adam uses the published constants below; ``momentum`` in the config applies to the
momentum optimizer only. Weight decay is not here: it is part of the loss (`network.py`),
so the gradient check sees it and Adam treats it as the L2 penalty it is.
"""

from __future__ import annotations

import numpy as np

ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8


class SGD:
    """Plain gradient descent."""

    def __init__(self, params: list[np.ndarray], lr: float, momentum: float = 0.0):
        self.lr = lr

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        for p, g in zip(params, grads):
            p -= self.lr * g


class Momentum:
    """Heavy-ball momentum: a velocity that accumulates gradients."""

    def __init__(self, params: list[np.ndarray], lr: float, momentum: float = 0.9):
        self.lr, self.mu = lr, momentum
        self.velocity = [np.zeros_like(p) for p in params]

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        for p, g, v in zip(params, grads, self.velocity):
            v *= self.mu
            v += g
            p -= self.lr * v


class Adam:
    """Adam with bias correction (Kingma & Ba, 2015)."""

    def __init__(self, params: list[np.ndarray], lr: float, momentum: float = 0.0):
        self.lr, self.t = lr, 0
        self.m = [np.zeros_like(p) for p in params]
        self.s = [np.zeros_like(p) for p in params]

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        self.t += 1
        c1 = 1.0 - ADAM_BETA1**self.t
        c2 = 1.0 - ADAM_BETA2**self.t
        for p, g, m, s in zip(params, grads, self.m, self.s):
            m *= ADAM_BETA1
            m += (1.0 - ADAM_BETA1) * g
            s *= ADAM_BETA2
            s += (1.0 - ADAM_BETA2) * (g * g)
            p -= self.lr * (m / c1) / (np.sqrt(s / c2) + ADAM_EPS)


OPTIMIZERS: dict[str, type] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
