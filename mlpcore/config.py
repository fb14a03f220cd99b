"""MLPConfig: every setting of one training run, frozen, validated, and exactly JSON round-trippable.

The field names are the contract that studies, sweeps and saved results rely on. Defaults
are a modern choice that fits the seed problems; each non-obvious one says why.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from mlpcore.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from mlpcore.init import INITIALIZERS
from mlpcore.losses import LOSSES
from mlpcore.optim import OPTIMIZERS
from mlpcore.scaling import SCALERS

MAX_DEPTH = 3
"""Hidden layers allowed: the seeds use one; three covers every "try a deeper net" attempt."""

MAX_WIDTH = 4096
"""Units in one hidden layer: 30x the widest net a seed question tried, far below what exhausts memory."""

MAX_PARAMETERS = 1_000_000
"""Weights and biases of the whole net (depth x width): three layers of 576 units. Training keeps
a few copies of each (gradients, Adam's moments) and an activation per sample and unit."""

MAX_STEPS = 10_000_000
"""Optimizer updates: hours of training for the smallest net; more is a typo."""

MAX_BATCH_SIZE = 1_000_000
"""Samples in a batch; a batch as large as the data is full batch anyway."""

MAX_JSON_DEPTH = 8
"""Nesting of a config's JSON (a config is a flat object with one list): deeper is refused before
parsing, which would otherwise recurse until Python's RecursionError."""

BACKENDS = ("auto", "numpy", "numba")
"""``numpy`` is the readable reference; ``numba`` the compiled kernel; ``auto`` picks numba when available."""


@dataclass(frozen=True)
class MLPConfig:
    """Settings of one MLP and its training.

    Every field is plain data (ints, floats, strings, bools, a tuple of ints), so a config
    is JSON as it stands: ``MLPConfig.from_dict(cfg.to_dict()) == cfg`` for every config.
    """

    hidden: tuple[int, ...] = (32,)
    """Widths of the hidden layers, 1 to 3 of them."""
    activation: str = "tanh"
    """Hidden activation. tanh is smooth and zero-centred: with scaled inputs it bends where the data is."""
    output_activation: str = "identity"
    """Regression wants an unbounded output; a squashing output caps what the net can predict."""
    bias: bool = True
    init: str = "glorot"
    """Glorot suits tanh; He suits the ReLU family."""
    init_scale: float = 1.0
    """normal: std; uniform: bound; he/glorot: multiplier of the scheme's own scale."""
    bias_init: float = 0.0
    x_scaling: str = "standard"
    """Standardised inputs put units' bends inside the data (the fix of seeds 000 and 004)."""
    y_scaling: str = "standard"
    """Standardised targets keep gradients O(1) whatever the target's units."""
    loss: str = "mse"
    optimizer: str = "adam"
    """Adam forgives a badly chosen learning rate by orders of magnitude more than SGD."""
    lr: float = 0.01
    momentum: float = 0.9
    """Used by the momentum optimizer only."""
    batch_size: int | None = None
    """None: full batch. An int b < n draws shuffled batches of b each epoch (1: single-sample SGD)."""
    steps: int = 2000
    """Optimizer updates (not epochs), so budgets compare across batch sizes."""
    weight_decay: float = 0.0
    """L2 penalty 0.5 * weight_decay * sum(W**2) on weights (not biases), part of the loss."""
    patience: int | None = None
    """Plateau stop: end after this many curve checkpoints without a 0.1% improvement. None: off."""
    seed: int = 0
    backend: str = "auto"

    def __post_init__(self) -> None:
        # Normalise the one field JSON cannot hold as it is (a list comes back from JSON).
        if isinstance(self.hidden, list):
            object.__setattr__(self, "hidden", tuple(self.hidden))
        for check in _CHECKS:
            check(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict, field for field."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MLPConfig":
        """Inverse of :meth:`to_dict`. Unknown keys are an error, never ignored."""
        if not isinstance(d, dict):
            raise ValueError(f"config must be a dict of fields, got {type(d).__name__}")
        unknown = sorted(set(d) - FIELDS)
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; allowed fields: {sorted(FIELDS)}")
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "MLPConfig":
        depth = json_depth(text)
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"config JSON is nested {depth} deep; at most {MAX_JSON_DEPTH} is allowed")
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"config is not valid JSON: {e}") from None
        return cls.from_dict(d)

    def replace(self, **changes: Any) -> "MLPConfig":
        """A copy with ``changes`` applied (and validated); unknown fields are an error."""
        unknown = sorted(set(changes) - FIELDS)
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; allowed fields: {sorted(FIELDS)}")
        return dataclasses.replace(self, **changes)


FIELDS = frozenset(f.name for f in dataclasses.fields(MLPConfig))


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parameter_count(hidden: tuple[int, ...]) -> int:
    """Weights and biases of a net with one input, hidden layers ``hidden`` and one output."""
    widths = (1, *hidden, 1)
    return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


# --- validation: one small check per field, each naming the field, the value and what is allowed.


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _choice(name: str, allowed: tuple[str, ...] | list[str]):
    def check(cfg: MLPConfig) -> None:
        value = getattr(cfg, name)
        if value not in allowed:
            raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")

    return check


def _real(name: str, *, low: float = -math.inf, low_open: bool = False, high: float = math.inf):
    """A finite number in [low, high) (or (low, high) with ``low_open``)."""
    allowed = "a finite number"
    if math.isfinite(low):
        allowed += f" {'>' if low_open else '>='} {low}"
    if math.isfinite(high):
        allowed += f" and < {high}"

    def check(cfg: MLPConfig) -> None:
        value = getattr(cfg, name)
        ok = _is_real(value) and math.isfinite(value) and low <= value < high
        if not ok or (low_open and value == low):
            raise ValueError(f"{name} must be {allowed}, got {value!r}")

    return check


def _positive_int(name: str, *, optional: bool = False, high: float = math.inf):
    bound = f" and <= {high}" if math.isfinite(high) else ""
    allowed = ("None or " if optional else "") + f"an integer >= 1{bound}"

    def check(cfg: MLPConfig) -> None:
        value = getattr(cfg, name)
        if optional and value is None:
            return
        if not _is_int(value) or not 1 <= value <= high:
            raise ValueError(f"{name} must be {allowed}, got {value!r}")

    return check


def _check_hidden(cfg: MLPConfig) -> None:
    h = cfg.hidden
    if not isinstance(h, tuple) or not 1 <= len(h) <= MAX_DEPTH or not all(_is_int(w) and w >= 1 for w in h):
        raise ValueError(f"hidden must be 1 to {MAX_DEPTH} layer widths, each an integer >= 1, got {h!r}")
    if max(h) > MAX_WIDTH:
        raise ValueError(f"hidden layers must be at most {MAX_WIDTH} units wide, got {h!r}")
    if parameter_count(h) > MAX_PARAMETERS:
        raise ValueError(f"hidden={h!r} makes {parameter_count(h)} parameters; at most {MAX_PARAMETERS} are allowed")


def _check_bool(name: str):
    def check(cfg: MLPConfig) -> None:
        if not isinstance(getattr(cfg, name), bool):
            raise ValueError(f"{name} must be true or false, got {getattr(cfg, name)!r}")

    return check


def _check_seed(cfg: MLPConfig) -> None:
    if not _is_int(cfg.seed) or cfg.seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {cfg.seed!r}")


_CHECKS = (
    _check_hidden,
    _choice("activation", HIDDEN_ACTIVATIONS),
    _choice("output_activation", OUTPUT_ACTIVATIONS),
    _check_bool("bias"),
    _choice("init", tuple(INITIALIZERS)),
    _real("init_scale", low=0.0, low_open=True),
    _real("bias_init"),
    _choice("x_scaling", tuple(SCALERS)),
    _choice("y_scaling", tuple(SCALERS)),
    _choice("loss", tuple(LOSSES)),
    _choice("optimizer", tuple(OPTIMIZERS)),
    _real("lr", low=0.0, low_open=True),
    _real("momentum", low=0.0, high=1.0),
    _positive_int("batch_size", optional=True, high=MAX_BATCH_SIZE),
    _positive_int("steps", high=MAX_STEPS),
    _real("weight_decay", low=0.0),
    _positive_int("patience", optional=True),
    _check_seed,
    _choice("backend", BACKENDS),
)
