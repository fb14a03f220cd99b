"""The reference network: forward and backward in NumPy, batch-first, looping over layers only.

All parameters live in one flat float64 vector ``theta``; each layer's ``W`` (fan_in, fan_out)
and ``b`` (fan_out,) are views into it, in the order W0, b0, W1, b1, ... (no ``b`` without
bias). One flat vector makes the optimizers one update over all parameters, the gradient
check a loop over one array, saving a list, and the compiled kernel (`kernels.py`) a
function of plain arrays.

The loss is ``mean((yhat - y)**2) + 0.5 * weight_decay * sum(W**2)`` over the weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mlpcore import activations
from mlpcore.config import MLPConfig
from mlpcore.init import INITIALIZERS
from mlpcore.losses import LOSSES

if TYPE_CHECKING:
    from mlpcore.scaling import Scaler


@dataclass(frozen=True)
class Layout:
    """Where each layer's parameters sit in ``theta``.

    ``sizes`` is (n_in, hidden..., n_out); layer ``l`` maps ``sizes[l]`` to ``sizes[l + 1]``.
    """

    sizes: tuple[int, ...]
    bias: bool

    @property
    def depth(self) -> int:
        """Number of weight layers (hidden layers + the output layer)."""
        return len(self.sizes) - 1

    def offsets(self) -> list[tuple[int, int, int]]:
        """Per layer: (start of W, start of b, end of the layer's block); b == end without bias."""
        out, start = [], 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            b_start = start + fan_in * fan_out
            end = b_start + (fan_out if self.bias else 0)
            out.append((start, b_start, end))
            start = end
        return out

    @property
    def size(self) -> int:
        return self.offsets()[-1][2]

    def views(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """(W, b) views into ``theta`` (or a gradient of the same layout); b is None without bias."""
        layers = []
        for (w0, b0, end), fan_in, fan_out in zip(self.offsets(), self.sizes[:-1], self.sizes[1:]):
            W = theta[w0:b0].reshape(fan_in, fan_out)
            layers.append((W, theta[b0:end] if self.bias else None))
        return layers

    def weight_mask(self) -> np.ndarray:
        """1.0 where theta holds a weight, 0.0 where it holds a bias (weight decay skips biases)."""
        mask = np.zeros(self.size)
        for w0, b0, _ in self.offsets():
            mask[w0:b0] = 1.0
        return mask

    def to_dict(self) -> dict:
        return {"sizes": list(self.sizes), "bias": self.bias}

    @classmethod
    def from_dict(cls, d: dict) -> "Layout":
        return cls(tuple(d["sizes"]), bool(d["bias"]))


def layout_for(config: MLPConfig, n_in: int, n_out: int) -> Layout:
    return Layout((n_in, *config.hidden, n_out), config.bias)


def init_params(config: MLPConfig, layout: Layout, rng: np.random.Generator) -> np.ndarray:
    """Draw a fresh ``theta``: weights by ``config.init``, biases all ``config.bias_init``."""
    theta = np.empty(layout.size)
    initializer = INITIALIZERS[config.init]
    for W, b in layout.views(theta):
        W[...] = initializer(rng, W.shape[0], W.shape[1], config.init_scale)
        if b is not None:
            b[...] = config.bias_init
    return theta


class Network:
    """Forward and backward passes of one configuration over a fixed layout.

    Holds views into a ``theta`` and a gradient buffer, so a training step allocates only
    the per-layer activations.
    """

    def __init__(self, config: MLPConfig, layout: Layout, theta: np.ndarray):
        self.config, self.layout, self.theta = config, layout, theta
        self.hidden_act = activations.get(config.activation)
        self.output_act = activations.get(config.output_activation)
        self.loss = LOSSES[config.loss]
        self.layers = layout.views(theta)
        self.grad = np.zeros_like(theta)
        self.grad_layers = layout.views(self.grad)
        self.decay = config.weight_decay
        self.weights_mask = layout.weight_mask() if self.decay else None
        self._ones = np.ones(0)

    def _column_sums(self, delta: np.ndarray, out: np.ndarray) -> None:
        # ones @ delta is a BLAS call; delta.sum(axis=0) on a C-ordered (n, k) array is ~5x slower.
        if len(self._ones) != len(delta):
            self._ones = np.ones(len(delta))
        np.dot(self._ones, delta, out=out)

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Pre-activations ``zs`` and activations ``acts`` of every layer; ``acts[0]`` is ``x``.

        x has shape (n, n_in); ``zs[l]`` and ``acts[l + 1]`` have shape (n, sizes[l + 1]).
        """
        zs, acts = [], [x]
        last = len(self.layers) - 1
        for l, (W, b) in enumerate(self.layers):
            z = np.dot(acts[-1], W)  # np.dot, not @: matmul skips BLAS for the (n, 1) @ (1, k) of 1-D inputs
            if b is not None:
                z += b
            act = self.output_act if l == last else self.hidden_act
            zs.append(z)
            acts.append(act.f(z))
        return zs, acts

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[1][-1]

    def mse(self, x: np.ndarray, y: np.ndarray, y_scaler: Scaler) -> float:
        """``mean((prediction - y)**2)`` on scaled inputs ``x``, the prediction in y's units: Model.predict's math,
        without its checks, input scaling and new Network (fit() asks at each of ~100 checkpoints)."""
        with np.errstate(all="ignore"):  # a diverged network's loss is inf or NaN, and says so
            return float(np.mean((y_scaler.inverse(self.predict(x)).reshape(y.shape) - y) ** 2))

    def penalty(self) -> float:
        """The L2 weight-decay term of the loss."""
        if not self.decay:
            return 0.0
        return 0.5 * self.decay * float(np.dot(self.theta * self.weights_mask, self.theta))

    def loss_and_grad(self, x: np.ndarray, y: np.ndarray) -> float:
        """Loss at ``theta`` on (x, y); leaves d loss / d theta in ``self.grad``.

        The returned value is the data loss alone (the penalty is in the gradient, and in
        :meth:`objective`), so curves show how well the net fits whatever the decay.
        """
        zs, acts = self.forward(x)
        r = acts[-1] - y
        value = self.loss.value(r)
        delta = self.loss.grad(r)  # d loss / d yhat, shape (n, n_out)
        last = len(self.layers) - 1
        for l in range(last, -1, -1):
            act = self.output_act if l == last else self.hidden_act
            if not act.linear:
                delta = delta * act.df(zs[l], acts[l + 1])  # d loss / d z_l
            gW, gb = self.grad_layers[l]
            np.dot(acts[l].T, delta, out=gW)
            if gb is not None:
                self._column_sums(delta, gb)
            if l:
                delta = np.dot(delta, self.layers[l][0].T)  # d loss / d acts[l]
        if self.decay:
            self.grad += self.decay * self.weights_mask * self.theta
        return value

    def objective(self, x: np.ndarray, y: np.ndarray) -> float:
        """The full training objective at ``theta``: data loss plus weight-decay penalty."""
        return self.loss.value(self.predict(x) - y) + self.penalty()
