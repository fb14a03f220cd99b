"""The fix in your own code: for each change a fix can make, the few lines of plain NumPy that make
it in a hand-written training loop like the askers', and the whole loop those lines fill, so that
what is shown is what runs.

The loop (:func:`program`) is of the askers' kind: one hidden layer or more, batch-first arrays
(``x_train`` of shape (n, d), ``y_train`` (n, 1)), weights ``W1, b1, W2, b2, ...``, the mean squared
error, and an update over ``params`` and ``grads``. It is made of slots (:data:`SLOTS`: the
settings, the data, the init, the activations, the optimizer's state, the batch, forward and
backward, weight decay, the update, the prediction), and each setting's lines fill one or more of
them (:func:`lines`). Every line does what mlpcore does for that setting, step for step
(`mlpcore.scaling`, `mlpcore.init`, `mlpcore.activations`, `mlpcore.optim`, `mlpcore.network`),
its constants read from there, so the loop trains the weights the engine trains from the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from mlpcore import MLPConfig
from mlpcore.activations import LEAKY_SLOPE
from mlpcore.optim import ADAM_BETA1, ADAM_BETA2, ADAM_EPS

SLOTS: dict[str, str] = {
    "settings": "your settings",
    "data": "before training, on the training data",
    "init": "where you initialise the weights",
    "activations": "the activation functions",
    "state": "before the loop",
    "batch": "in the loop, at the start of each step",
    "step": "in the loop: forward and backward",
    "decay": "in the loop, after the gradients",
    "update": "in the loop: the update",
    "predict_x": "before predicting, on new x",
    "predict": "predicting",
    "predict_y": "after predicting",
}
"""Where lines go, in the loop's order: each slot's name, and the heading a reader sees above it."""

LOOP_SLOTS = ("batch", "step", "decay", "update")
"""The slots inside ``for step in range(steps):``."""


@dataclass(frozen=True)
class Part:
    """Lines of code for one slot, unindented."""

    slot: str
    code: str


Concern = Callable[[MLPConfig], "list[Part]"]


def _num(v: float) -> str:
    """A float as Python reads it back exactly (``0.01``, ``1e-08``)."""
    return repr(float(v))


def _code(*lines: str) -> str:
    return "\n".join(lines)


# --- the data ------------------------------------------------------------------------------------


def _x_scaling(c: MLPConfig) -> list[Part]:
    if c.x_scaling == "standard":  # mlpcore.scaling: the mean and (population) std of each column
        return [
            Part(
                "data",
                _code(
                    "x_mean, x_std = x_train.mean(axis=0), x_train.std(axis=0)",
                    "x_train = (x_train - x_mean) / x_std  # mean 0, std 1",
                ),
            ),
            Part("predict_x", "x_new = (x_new - x_mean) / x_std"),
        ]
    if c.x_scaling == "minmax":  # minus the minimum, over the range
        return [
            Part(
                "data",
                _code(
                    "x_min, x_range = x_train.min(axis=0), x_train.max(axis=0) - "
                    "x_train.min(axis=0)",
                    "x_train = (x_train - x_min) / x_range  # onto [0, 1]",
                ),
            ),
            Part("predict_x", "x_new = (x_new - x_min) / x_range"),
        ]
    return [Part("data", "# x as it is: no input scaling")]


def _y_scaling(c: MLPConfig) -> list[Part]:
    if c.y_scaling == "standard":
        return [
            Part(
                "data",
                _code(
                    "y_mean, y_std = y_train.mean(axis=0), y_train.std(axis=0)",
                    "y_train = (y_train - y_mean) / y_std  # mean 0, std 1",
                ),
            ),
            Part("predict_y", "y_new = y_new * y_std + y_mean  # back to y's units"),
        ]
    if c.y_scaling == "minmax":
        return [
            Part(
                "data",
                _code(
                    "y_min, y_range = y_train.min(axis=0), y_train.max(axis=0) - "
                    "y_train.min(axis=0)",
                    "y_train = (y_train - y_min) / y_range  # onto [0, 1]",
                ),
            ),
            Part("predict_y", "y_new = y_new * y_range + y_min  # back to y's units"),
        ]
    return [Part("data", "# y as it is: no target scaling")]


# --- the weights ---------------------------------------------------------------------------------


def _draw(c: MLPConfig, fan_in: str, fan_out: str) -> str:
    """One weight matrix as mlpcore.init draws it, ``init_scale`` a factor (none when it is 1)."""
    scale = "" if c.init_scale == 1.0 else f"{_num(c.init_scale)} * "
    shape = f"({fan_in}, {fan_out})"
    return {
        "normal": f"{scale}rng.standard_normal({shape})",
        "uniform": f"{scale}rng.uniform(-1, 1, {shape})",
        "he": f"{scale}np.sqrt(2 / {fan_in}) * rng.standard_normal({shape})",
        "glorot": f"{scale}np.sqrt(6 / ({fan_in} + {fan_out})) * rng.uniform(-1, 1, {shape})",
    }[c.init]


def _weights(c: MLPConfig) -> list[Part]:
    sizes = ["n_in", *(str(w) for w in c.hidden), "1"]
    code, params = ["n_in = x_train.shape[1]"], []
    for l, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        code.append(f"W{l} = {_draw(c, fan_in, fan_out)}")
        params.append(f"W{l}")
        if c.bias:
            code.append(
                f"b{l} = np.zeros({fan_out})"
                if c.bias_init == 0
                else f"b{l} = np.full({fan_out}, {_num(c.bias_init)})"
            )
            params.append(f"b{l}")
    code.append(f"params = [{', '.join(params)}]  # updated in place, so W1 ... are updated too")
    return [Part("init", _code(*code))]


# --- forward and backward ------------------------------------------------------------------------


def _layers(c: MLPConfig) -> list[Part]:
    n = len(c.hidden) + 1  # weight layers
    plus = (lambda l: f" + b{l}") if c.bias else (lambda l: "")
    step, below = ["# forward"], "xb"
    for l in range(1, n + 1):
        step.append(f"z{l} = {below} @ W{l}{plus(l)}")
        step.append(f"h{l} = act(z{l})" if l < n else f"y_hat = out(z{l})")
        below = f"h{l}"
    step += [
        "# backward: the gradient of the mean squared error, mean((y_hat - yb) ** 2)",
        f"d{n} = 2 * (y_hat - yb) / yb.size * out_grad(z{n}, y_hat)",
    ]
    grads: list[str] = []
    for l in range(n, 0, -1):
        below = "xb" if l == 1 else f"h{l - 1}"
        step.append(
            f"dW{l}, db{l} = {below}.T @ d{l}, d{l}.sum(axis=0)"
            if c.bias
            else f"dW{l} = {below}.T @ d{l}"
        )
        grads = [f"dW{l}", *([f"db{l}"] if c.bias else []), *grads]
        if l > 1:
            step.append(f"d{l - 1} = (d{l} @ W{l}.T) * act_grad(z{l - 1}, h{l - 1})")
    step.append(f"grads = [{', '.join(grads)}]  # in the order of params")
    predict, below = [], "x_new"
    for l in range(1, n):
        predict.append(f"h = act({below} @ W{l}{plus(l)})")
        below = "h"
    predict.append(f"y_new = out({below} @ W{n}{plus(n)})")
    return [Part("step", _code(*step)), Part("predict", _code(*predict))]


# --- activations: mlpcore.activations, formula for formula ---------------------------------------

ACTIVATION_LINES: dict[str, tuple[str, str]] = {
    "identity": ("z", "np.ones_like(z)"),
    "relu": ("np.maximum(z, 0.0)", "(z > 0).astype(float)"),
    "leaky_relu": (
        f"np.where(z > 0, z, {LEAKY_SLOPE} * z)",
        f"np.where(z > 0, 1.0, {LEAKY_SLOPE})",
    ),
    "elu": ("np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))", "np.where(z > 0, 1.0, a + 1.0)"),
    "tanh": ("np.tanh(z)", "1.0 - a * a"),
    "sigmoid": (
        "0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), and never overflows",
        "a * (1.0 - a)",
    ),
    "softplus": (
        "np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))  # = log(1 + exp(z)), never overflows",
        "0.5 * (1.0 + np.tanh(0.5 * z))  # the sigmoid",
    ),
}
"""Each activation's value at ``z`` and its derivative, written with ``z`` and ``a`` (the value) as
numpy reads them; the derivative reuses ``a`` where the engine does."""


def _functions(f: str, df: str, which: str) -> str:
    value, slope = ACTIVATION_LINES[which]
    return _code(
        f"def {f}(z):",
        f"    return {value}",
        "",
        "",
        f"def {df}(z, a):  # the slope of {f} at z; a = {f}(z)",
        f"    return {slope}",
    )


def _hidden(c: MLPConfig) -> list[Part]:
    return [Part("activations", _functions("act", "act_grad", c.activation))]


def _output(c: MLPConfig) -> list[Part]:
    return [Part("activations", _functions("out", "out_grad", c.output_activation))]


# --- the optimizers: mlpcore.optim, step for step ------------------------------------------------


def _optimizer(c: MLPConfig) -> list[Part]:
    if c.optimizer == "adam":
        return [
            Part(
                "state",
                _code(
                    f"beta1, beta2, eps = {ADAM_BETA1}, {ADAM_BETA2}, {ADAM_EPS}",
                    "m = [np.zeros_like(p) for p in params]  # gradients' mean",
                    "s = [np.zeros_like(p) for p in params]  # their squares'",
                ),
            ),
            Part(
                "update",
                _code(
                    "t = step + 1  # bias correction: m and s start at 0",
                    "for p, g, m_p, s_p in zip(params, grads, m, s):",
                    "    m_p *= beta1",
                    "    m_p += (1 - beta1) * g",
                    "    s_p *= beta2",
                    "    s_p += (1 - beta2) * (g * g)",
                    "    p -= lr * (m_p / (1 - beta1 ** t)) / "
                    "(np.sqrt(s_p / (1 - beta2 ** t)) + eps)",
                ),
            ),
        ]
    if c.optimizer == "momentum":
        return [
            Part(
                "state",
                _code(
                    f"momentum = {_num(c.momentum)}",
                    "velocity = [np.zeros_like(p) for p in params]",
                ),
            ),
            Part(
                "update",
                _code(
                    "for p, g, v in zip(params, grads, velocity):",
                    "    v *= momentum",
                    "    v += g",
                    "    p -= lr * v",
                ),
            ),
        ]
    return [Part("update", _code("for p, g in zip(params, grads):", "    p -= lr * g"))]


def _batches(c: MLPConfig) -> list[Part]:
    if c.batch_size is None:
        return [Part("batch", "xb, yb = x_train, y_train  # full batch: each step, all the data")]
    return [
        Part("settings", f"batch_size = {c.batch_size}"),
        Part(
            "batch",
            _code(
                "per_pass = len(x_train) // batch_size  # the rest is dropped",
                "if step % per_pass == 0:  # a fresh random order for each pass",
                "    order = rng.permutation(len(x_train))",
                "k = step % per_pass  # the batch's place in this pass",
                "idx = order[k * batch_size:(k + 1) * batch_size]",
                "xb, yb = x_train[idx], y_train[idx]",
            ),
        ),
    ]


def _decay(c: MLPConfig) -> list[Part]:
    if not c.weight_decay:
        return [Part("decay", "# no weight decay: the weight gradients are the error's alone")]
    layers = range(1, len(c.hidden) + 2)
    return [
        Part(
            "decay",
            _code(
                f"weight_decay = {_num(c.weight_decay)}  # the loss gains "
                "0.5 * weight_decay * sum(W ** 2)",
                *(f"dW{l} += weight_decay * W{l}" for l in layers),
            ),
        )
    ]


def _lr(c: MLPConfig) -> list[Part]:
    note = (
        "# for the mean squared error; with 0.5 * (y_hat - y) ** 2 as the loss, the gradient",
        "# is half as large: use twice this lr",
    )
    return [Part("settings", _code(*note, f"lr = {_num(c.lr)}"))]


CONCERNS: dict[str, tuple[Concern, ...]] = {
    "lr": (_lr,),
    "x_scaling": (_x_scaling,),
    "y_scaling": (_y_scaling,),
    "width": (_weights,),
    **{f"width_{i}": (_weights,) for i in (1, 2, 3)},
    "depth": (_weights, _layers),
    "init": (_weights,),
    "init_scale": (_weights,),
    "bias": (_weights, _layers),
    "bias_init": (_weights,),
    "activation": (_hidden,),
    "output_activation": (_output,),
    "optimizer": (_optimizer,),
    "momentum": (_optimizer,),
    "batch_size": (_batches,),
    "weight_decay": (_decay,),
}
"""Each setting a fix can change (and the learning rate), with the parts of the loop making it."""

PROGRAM: tuple[Concern, ...] = (
    _lr,
    _x_scaling,
    _y_scaling,
    _weights,
    _hidden,
    _output,
    _optimizer,
    _batches,
    _layers,
    _decay,
)
"""Every part of the loop, each once."""


# --- what a reader sees --------------------------------------------------------------------------


def _init_words(c: MLPConfig) -> str:
    s = _num(c.init_scale)
    times = "" if c.init_scale == 1.0 else f", times {s}"
    return {
        "normal": f"Initial weights drawn from a normal distribution of standard deviation {s}",
        "uniform": f"Initial weights drawn uniformly from [-{s}, {s}]",
        "he": f"He initialisation: weights normal, standard deviation sqrt(2 / fan_in){times}",
        "glorot": f"Glorot initialisation: weights uniform in ±sqrt(6 / (fan_in + fan_out)){times}",
    }[c.init]


def _widths(c: MLPConfig) -> str:
    """``10 units``, ``1 unit``, ``10 and 5 units``."""
    widths = list(dict.fromkeys(c.hidden))
    return " and ".join(map(str, widths)) + (" unit" if widths == [1] else " units")


def _width_words(c: MLPConfig) -> str:
    where = "the hidden layer" if len(c.hidden) == 1 else "the hidden layers"
    return f"{_widths(c)} in {where}: the weights' shapes change"


def _depth_words(c: MLPConfig) -> str:
    n = len(c.hidden)
    layer = (lambda l: f"W{l}, b{l}") if c.bias else (lambda l: f"W{l}")
    if n == 1:
        return f"One hidden layer of {_widths(c)}: the output's weights are {layer(2)}"
    between = " and ".join(layer(l) for l in range(2, n + 1))
    head, more = {
        2: ("A second hidden layer", "one more step"),
        3: ("Three hidden layers", "two more steps"),
    }[n]
    return (
        f"{head} of {_widths(c)}: {between} between them, {more} forward and back; the "
        f"output's weights are now {layer(n + 1)}"
    )


def _bias_words(c: MLPConfig) -> str:
    if not c.bias:
        return "No biases: each layer is x @ W alone"
    start = "" if c.bias_init == 0 else f", starting at {_num(c.bias_init)}"
    return (
        f"A bias in every layer{start}: added forward, its gradient the column sum of the "
        "layer's error, updated like the weights"
    )


def _batch_words(c: MLPConfig) -> str:
    if c.batch_size is None:
        return "Full batch: every step on all the training data"
    each = "One sample a step" if c.batch_size == 1 else f"Mini-batches of {c.batch_size}"
    return f"{each}, in a fresh random order each pass over the data"


_SCALING = {
    "standard": "Standardise {v}",
    "minmax": "Scale {v} onto [0, 1]",
    "none": "Use {v} as it is, unscaled",
}
_OPTIMIZERS = {
    "adam": f"Adam's update (beta1 {ADAM_BETA1}, beta2 {ADAM_BETA2}, eps {ADAM_EPS:g}, "
    "bias-corrected)",
    "momentum": "Momentum's update (heavy ball, momentum {momentum})",
    "sgd": "Plain gradient descent",
}

TITLES: dict[str, Callable[[MLPConfig], str]] = {
    "x_scaling": lambda c: (
        _SCALING[c.x_scaling].format(v="x")
        + ("" if c.x_scaling == "none" else " (and new x before predicting)")
    ),
    "y_scaling": lambda c: (
        _SCALING[c.y_scaling].format(v="y")
        + ("" if c.y_scaling == "none" else " (and map the predictions back to y's units)")
    ),
    "width": _width_words,
    **{
        f"width_{i}": (
            lambda c, i=i: (
                f"{c.hidden[min(i, len(c.hidden)) - 1]} units in hidden layer "
                f"{i}: the weights' shapes change"
            )
        )
        for i in (1, 2, 3)
    },
    "depth": _depth_words,
    "init": _init_words,
    "init_scale": _init_words,
    "bias": _bias_words,
    "bias_init": lambda c: f"Initial biases {_num(c.bias_init)}",
    "activation": lambda c: f"Hidden units: {c.activation}, and its derivative",
    "output_activation": lambda c: (
        "Output unit: identity (no activation on the output)"
        if c.output_activation == "identity"
        else f"Output unit: {c.output_activation}, and its derivative"
    ),
    "optimizer": lambda c: _OPTIMIZERS[c.optimizer].format(momentum=_num(c.momentum)),
    "momentum": lambda c: f"Momentum {_num(c.momentum)} in momentum's update",
    "batch_size": _batch_words,
    "weight_decay": lambda c: (
        "No weight decay"
        if not c.weight_decay
        else f"Weight decay {_num(c.weight_decay)} on the weights, not the biases"
    ),
}


@dataclass(frozen=True)
class Lines:
    """The lines that set one setting to its value in a config, slot by slot."""

    setting: str
    title: str
    parts: tuple[Part, ...]

    @property
    def code(self) -> str:
        """The parts as a reader copies them: each under a comment naming where it goes."""
        return "\n".join(f"# {SLOTS[p.slot]}\n{p.code}" for p in self.parts)


def lines(setting: str, config: MLPConfig) -> Lines:
    """The lines that give ``setting`` (of the search space, or ``lr``) its value in ``config``."""
    if setting not in CONCERNS:
        raise ValueError(f"no NumPy lines for setting {setting!r}; known: {sorted(CONCERNS)}")
    parts = tuple(p for concern in CONCERNS[setting] for p in concern(config))
    title = f"Learning rate {config.lr:g}" if setting == "lr" else TITLES[setting](config)
    return Lines(setting, title, parts)


def in_your_code(
    changes: Mapping[str, Any], fixed: MLPConfig, lr_range: tuple[float, float] | list[float]
) -> list[dict[str, Any]]:
    """The lines of each change of a fix, then of the learning rate.

    Parameters
    ----------
    changes : the fix, settings of the search space -> values.
    fixed : the question's config with the changes made and the learning rate to use.
    lr_range : the rates where the fix escapes, (low, high).

    Returns
    -------
    A list of ``{setting, value, title, code, also}``. Changes made by the same lines (``init`` and
    ``init_scale``) are one entry, the later ones named in ``also``.
    """
    out: list[dict[str, Any]] = []
    for setting, value in changes.items():
        shown = lines(setting, fixed)
        same = next((e for e in out if e["code"] == shown.code), None)
        if same is not None:
            same["also"].append({"setting": setting, "value": value})
            continue
        out.append(
            {
                "setting": setting,
                "value": value,
                "title": shown.title,
                "code": shown.code,
                "also": [],
            }
        )
    lo, hi = lr_range
    where = (
        "the one rate of the grid where it fits"
        if lo == hi
        else f"the middle of {lo:g}-{hi:g}, where it fits"
    )
    lr = lines("lr", fixed)
    out.append(
        {
            "setting": "lr",
            "value": fixed.lr,
            "title": f"{lr.title}: {where}",
            "code": lr.code,
            "also": [],
        }
    )
    return out


def program(config: MLPConfig) -> str:
    """The whole loop that trains ``config``, in plain NumPy.

    Run it with ``x_train`` (n, d), ``y_train`` (n, 1) and ``x_new`` (m, d) defined: it leaves the
    predictions at ``x_new`` in ``y_new`` (m, 1). It draws its initial weights, then its batches,
    from ``np.random.default_rng(config.seed)`` as mlpcore does, so it trains the weights that
    ``mlpcore.fit(config, ...)`` trains.
    """
    slots: dict[str, list[str]] = {s: [] for s in SLOTS}
    for concern in PROGRAM:
        for p in concern(config):
            slots[p.slot].append(p.code)

    def block(slot: str, indent: str = "") -> list[str]:
        code = ("\n\n\n" if slot == "activations" else "\n").join(slots[slot])
        return [indent + line if line else line for line in code.split("\n")] if code else []

    return _code(
        "import numpy as np",
        "",
        "# x_train: inputs (n, d); y_train: targets (n, 1); x_new: inputs to predict at (m, d)",
        *block("settings"),
        f"steps = {config.steps:_}",
        f"rng = np.random.default_rng({config.seed})  # the initial weights, then the batches",
        "",
        *block("data"),
        "",
        *block("init"),
        "",
        "",
        *block("activations"),
        "",
        "",
        *block("state"),
        "for step in range(steps):",
        *(line for s in LOOP_SLOTS for line in block(s, "    ")),
        "",
        *block("predict_x"),
        *block("predict"),
        *block("predict_y"),
        "",
    )
