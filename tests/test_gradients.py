# SPDX-License-Identifier: MIT
"""Gradients of the core against central finite differences of its own loss."""
import numpy as np
import pytest
from helpers import ACTIVATIONS, OUTPUTS, make_targets

import nncore

STEP = 1e-6


def numerical_gradient(net, X, y):
    """Central differences of net.loss over every entry of the flat buffer
    (the row padding included: its gradient must come out 0 too)."""
    grad = np.empty_like(net.params)
    for p in range(net.params.shape[0]):
        saved = net.params[p]
        net.params[p] = saved + STEP
        upper = net.loss(X, y)
        net.params[p] = saved - STEP
        lower = net.loss(X, y)
        net.params[p] = saved
        grad[p] = (upper - lower) / (2 * STEP)
    return grad


def flat(net, dW, db):
    """Pack per-layer gradients into the network's flat layout."""
    grad = np.zeros_like(net.params)
    weights, biases = nncore._params.views(
        grad, nncore._params.layout(net.layer_sizes, net.dtype)[0])
    for l in range(len(dW)):
        weights[l][...] = dW[l]
        biases[l][...] = db[l]
    return grad


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(3, 4, 2), (4, 5, 3, 3)], ids=str)
def test_gradients_match_finite_differences(simd, rng, shape, activation, output):
    net = nncore.Network(shape, activation=activation, output=output,
                         dtype="float64", seed=3)
    X = rng.uniform(-1, 1, (6, shape[0]))
    y, _ = make_targets(rng, output, 6, shape[-1])
    if activation == "relu":
        # Finite differences are meaningless across a kink: keep every hidden
        # pre-activation at least 1e-3 away from 0 (redraw the inputs).
        for _ in range(100):
            if _min_abs_hidden_preactivation(net, X) > 1e-3:
                break
            X = rng.uniform(-1, 1, X.shape)
        else:
            pytest.fail("could not draw inputs away from the relu kinks")
    analytic = flat(net, *net.gradients(X, y))
    numeric = numerical_gradient(net, X, y)
    scale = max(np.abs(numeric).max(), 1e-3)
    assert np.abs(analytic - numeric).max() <= 1e-7 * scale


def _min_abs_hidden_preactivation(net, X):
    a, smallest = X, np.inf
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        z = a @ W + b
        smallest = min(smallest, np.abs(z).min())
        a = np.maximum(z, 0)
    return smallest


def test_finite_difference_check_can_fail(rng):
    # The check above must notice a wrong gradient: perturb one entry.
    net = nncore.Network((3, 4, 2), seed=3)
    X = rng.uniform(-1, 1, (6, 3))
    y = rng.integers(0, 2, 6)
    analytic = flat(net, *net.gradients(X, y))
    analytic[5] += 1e-4
    numeric = numerical_gradient(net, X, y)
    assert np.abs(analytic - numeric).max() > 1e-7 * max(np.abs(numeric).max(), 1e-3)
