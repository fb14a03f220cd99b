"""mlpcore: a from-scratch NumPy MLP that reproduces, and diagnoses, the classic 1-D fitting failures.

    >>> import mlpcore
    >>> result = mlpcore.fit(mlpcore.MLPConfig(), x, y)
    >>> result.diagnosis.mode          # diverged | collapsed | linear | underfit | fit
    >>> result.model.predict(x_new)
"""

from mlpcore.config import MLPConfig
from mlpcore.diagnostics import MODES, Diagnosis
from mlpcore.gradcheck import gradcheck
from mlpcore.model import Model
from mlpcore.train import Curve, TrainResult, fit
from mlpcore import warmup  # noqa: E402,F401 - its warm-up runs before a process's first fit on the kernel

__all__ = ["MLPConfig", "Model", "TrainResult", "Curve", "Diagnosis", "MODES", "fit", "gradcheck"]
__version__ = "0.1.0"
