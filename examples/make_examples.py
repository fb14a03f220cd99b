"""Writes the example data sets of this folder (run from anywhere: python examples/make_examples.py).

- surface.csv: y = x1**2 + sin(3 * x2) + noise (sd 0.05), 400 rows, two inputs.
- sqrt_data.csv: y = sqrt(x) + noise (sd 0.5) for x up to ~3000, 300 rows, one input: the data of seed 000.
- sqrt_config.json: seed 000's own config (10 ReLU units, unscaled, lr 1e-6): it fits a straight line.
"""

from pathlib import Path

import numpy as np

from mlpcore import MLPConfig

HERE = Path(__file__).resolve().parent


def main() -> None:
    rng = np.random.default_rng(15)
    x1, x2 = rng.uniform(-1.5, 1.5, 400), rng.uniform(-1.5, 1.5, 400)
    y = x1**2 + np.sin(3 * x2) + 0.05 * rng.standard_normal(400)
    rows = "".join(f"{a:.6f},{b:.6f},{c:.6f}\n" for a, b, c in zip(x1, x2, y))
    (HERE / "surface.csv").write_text("x1,x2,y\n" + rows)
    x = np.abs(rng.standard_normal(300) * 1000)
    y = np.sqrt(x) + 0.5 * rng.standard_normal(300)
    (HERE / "sqrt_data.csv").write_text("x,y\n" + "".join(f"{a:.6f},{b:.6f}\n" for a, b in zip(x, y)))
    config = MLPConfig(hidden=(10,), activation="relu", output_activation="identity", init="normal", init_scale=0.01,
                       bias_init=0.0, x_scaling="none", y_scaling="none", optimizer="sgd", lr=1e-6, steps=1000)
    (HERE / "sqrt_config.json").write_text(config.to_json() + "\n")


if __name__ == "__main__":
    main()
