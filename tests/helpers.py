# SPDX-License-Identifier: MIT
"""Constants and helpers shared by the tests (fixtures live in conftest.py)."""
import numpy as np

DTYPES = [np.float64, np.float32]

# Largest difference allowed between the core and the reference, relative to
# the largest magnitude compared (the bounds; measured: ~4e-16 and
# ~2e-7).
RTOL = {np.float64: 1e-12, np.float32: 1e-5}

ACTIVATIONS = ["sigmoid", "tanh", "relu", "identity"]
OUTPUTS = ["softmax", "sigmoid", "identity"]

# Inputs, hidden..., outputs.
SHAPES = [(2, 3, 2), (4, 5, 3), (3, 8, 8, 2), (5, 1, 4)]


def make_targets(rng, output, n_samples, n_out):
    """Labels for softmax, values in [0, 1] for sigmoid, reals for identity;
    returned with the dense (n_samples, n_out) target the reference takes."""
    if output == "softmax":
        labels = rng.integers(0, n_out, n_samples)
        return labels, np.eye(n_out)[labels]
    if output == "sigmoid":
        y = (rng.random((n_samples, n_out)) > 0.5).astype(float)
        return y, y
    y = rng.normal(size=(n_samples, n_out))
    return y, y


def assert_close(actual, expected, dtype, what=""):
    """max |actual - expected| <= RTOL[dtype] * max(|expected|, 1)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, what
    scale = max(np.abs(expected).max(initial=0.0), 1.0)
    err = np.abs(actual - expected).max(initial=0.0)
    assert err <= RTOL[np.dtype(dtype).type] * scale, (
        f"{what}: max difference {err:.3g} at scale {scale:.3g}")
