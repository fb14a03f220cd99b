"""Gradient check: backprop (`network.py`) against five-point central differences of the objective."""

from __future__ import annotations

import numpy as np

from mlpcore.config import MLPConfig
from mlpcore.network import Network, init_params, layout_for
from mlpcore.scaling import Scaler
from mlpcore.train import check_pair

STEP = 1e-4
"""Step of the five-point central difference: truncation error ~STEP**4 (1e-16), round-off
~1e-16 * loss / STEP (1e-12 of the loss): both far below what a wrong backward pass makes."""

FLOOR = 1e-3
"""Relative errors are taken against max(|analytic| + |numeric|, FLOOR * max|analytic|).

Round-off in the loss makes every numeric entry uncertain by about 1e-10 of the loss, so an
entry a thousand times smaller than the largest cannot be checked relatively: it is checked
against the largest entry instead (an error there still shows, at 1e-9 of the gradient's scale)."""


def gradcheck(config: MLPConfig, x, y, *, theta: np.ndarray | None = None) -> float:
    """Max relative error of the backprop gradient against central differences.

    The network is built and its data scaled exactly as :func:`mlpcore.fit` would at step 0
    (or at ``theta``, when given). The objective includes the weight-decay penalty, so a
    wrong decay gradient shows up here too.

    Returns
    -------
    float
        max_i |g_i - n_i| / max(|g_i| + |n_i|, FLOOR * max_j |g_j|); below 1e-6 means the
        backward pass is right.
    """
    x2, y2, _ = check_pair("x", x, "y", y)
    xt = Scaler.fit(config.x_scaling, x2).transform(x2)
    yt = Scaler.fit(config.y_scaling, y2).transform(y2)
    layout = layout_for(config, x2.shape[1], y2.shape[1])
    if theta is None:
        theta = init_params(config, layout, np.random.default_rng(config.seed))
    net = Network(config, layout, np.array(theta, dtype=float))
    net.loss_and_grad(xt, yt)
    analytic = net.grad.copy()
    numeric = np.empty_like(analytic)
    for i in range(layout.size):
        keep = net.theta[i]
        f = []
        for k in (2, 1, -1, -2):
            net.theta[i] = keep + k * STEP
            f.append(net.objective(xt, yt))
        net.theta[i] = keep
        numeric[i] = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * STEP)
    floor = max(FLOOR * float(np.max(np.abs(analytic))), np.finfo(float).tiny)
    return float(np.max(np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), floor)))
