# SPDX-License-Identifier: MIT
"""It learns: XOR exactly, the UCI digits well; and it is reproducible bit for bit."""
import numpy as np
import pytest

import nncore
from nncore.datasets import load_digits

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_xor_is_learned_exactly(simd, dtype, output, batch_size):
    n_out = 2 if output == "softmax" else 1
    net = nncore.Network([2, 4, n_out], activation="sigmoid", output=output,
                         dtype=dtype, seed=1)
    losses = net.fit(XOR_X, XOR_Y, epochs=4000, batch_size=batch_size,
                     learning_rate=2.0)
    assert losses[-1] < 0.05 * losses[0]
    out = net.forward(XOR_X)
    predicted = out.argmax(axis=1) if output == "softmax" else (out[:, 0] > 0.5)
    np.testing.assert_array_equal(predicted, XOR_Y)


@pytest.mark.parametrize("batch_size", [1, 32])
def test_digits_reach_high_test_accuracy(dtype, batch_size):
    X, y = load_digits()
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:1400], order[1400:]
    net = nncore.Network([64, 32, 10], dtype=dtype, seed=0)
    epochs = 20 if batch_size == 1 else 150
    net.fit(X[train], y[train], epochs=epochs, batch_size=batch_size,
            learning_rate=0.1, seed=0)
    accuracy = np.mean(net.forward(X[test]).argmax(axis=1) == y[test])
    assert accuracy >= 0.95


def test_regression_fits_a_smooth_function(dtype):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (256, 1))
    y = np.sin(3 * X[:, 0])
    net = nncore.Network([1, 16, 1], activation="tanh", output="identity",
                         dtype=dtype, seed=0)
    net.fit(X, y, epochs=300, batch_size=8, learning_rate=0.1, seed=0)
    # Mean half squared error 1e-3: an RMS error of about 0.045 on a range of 2.
    assert net.loss(X, y) < 1e-3


@pytest.mark.parametrize("batch_size", [1, 16])
def test_same_seed_same_training_bit_for_bit(dtype, batch_size):
    X, y = load_digits()
    results = []
    for _ in range(2):
        net = nncore.Network([64, 16, 10], dtype=dtype, seed=42)
        losses = net.fit(X[:500], y[:500], epochs=2, batch_size=batch_size)
        results.append((net.params.copy(), losses))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]
    other = nncore.Network([64, 16, 10], dtype=dtype, seed=43)
    assert not np.array_equal(other.params, nncore.Network([64, 16, 10], dtype=dtype,
                                                           seed=42).params)


def test_glorot_initialisation_bounds():
    net = nncore.Network([50, 30, 10], activation="sigmoid", seed=0)
    for W, b in zip(net.weights, net.biases):
        n_in, n_out = W.shape
        bound = np.sqrt(2 / (n_in + n_out))
        assert np.abs(W).max() <= bound and np.abs(b).max() <= bound
        assert np.abs(W).max() > 0.9 * bound
    tanh = nncore.Network([50, 30, 10], activation="tanh", seed=0)
    assert np.abs(tanh.weights[0]).max() > np.sqrt(2 / 80)
    assert np.abs(tanh.weights[0]).max() <= np.sqrt(6 / 80)


def test_parameter_rows_are_aligned_and_padding_stays_zero(dtype):
    net = nncore.Network([5, 7, 3], dtype=dtype, seed=0)
    table = nncore._params.layout(net.layer_sizes, net.dtype)[0]
    assert net.params.ctypes.data % 64 == 0
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 5)), rng.integers(0, 3, 20)
    net.fit(X, y, epochs=2, batch_size=1)
    net.fit(X, y, epochs=2, batch_size=8)
    net.train_step(X, y)
    for l in range(2):
        block = nncore._params.layer_block(net.params, table, l)
        assert (block.strides[0] % 64) == 0
        assert not block[:, net.layer_sizes[l] + 1:].any()
        np.testing.assert_array_equal(block[:, :net.layer_sizes[l]].T, net.weights[l])
        np.testing.assert_array_equal(block[:, net.layer_sizes[l]], net.biases[l])
