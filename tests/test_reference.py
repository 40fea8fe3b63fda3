# SPDX-License-Identifier: MIT
"""Tests of the pure-Python reference: hand-worked steps, finite differences, stability, training."""
import copy
import math
import random
from types import SimpleNamespace

import numpy as np
import pytest

from nncore import reference

LN2, LN3, LN4 = math.log(2.0), math.log(3.0), math.log(4.0)


def assert_layers_close(layers, expected, tol=1e-12):
    """Compare a list of ``(W, b)`` with the expected values, entry by entry."""
    assert len(layers) == len(expected)
    for (W, b), (W_expected, b_expected) in zip(layers, expected):
        assert len(W) == len(W_expected)
        for row, row_expected in zip(W, W_expected):
            assert row == pytest.approx(row_expected, rel=0, abs=tol)
        assert b == pytest.approx(b_expected, rel=0, abs=tol)


def test_one_sgd_step_2_2_1_sigmoid_by_hand():
    # Biases are logs so that every sigmoid is a simple fraction: s(ln r) = r / (1 + r).
    # x = (1, 2), t = (1,), lr = 1/2
    # hidden: z = (0.5 - 0.5 + ln 3, -1 + 1 - ln 2) = (ln 3, -ln 2)    a = (3/4, 1/3)
    # output: z = 3/4 - 1 + 1/4 + ln 4 = ln 4                           a = 4/5
    # loss   = softplus(ln 4) - 1 * ln 4 = ln 5 - ln 4 = ln(5/4)
    # delta2 = a - t = -1/5
    # dW2 = delta2 * a1 = (-3/20, -1/15)                               db2 = -1/5
    # f'(a1) = a (1 - a) = (3/16, 2/9)
    # delta1 = (-1/5 * 1 * 3/16, -1/5 * -3 * 2/9) = (-3/80, 2/15)
    # dW1 = delta1 x^T = [[-3/80, -3/40], [2/15, 4/15]]                 db1 = (-3/80, 2/15)
    # W1 - lr dW1 = [[1/2 + 3/160, -1/4 + 3/80], [-1 - 1/15, 1/2 - 2/15]]
    #             = [[83/160, -17/80], [-16/15, 11/30]]
    # b1 - lr db1 = (ln 3 + 3/160, -ln 2 - 1/15)
    # W2 - lr dW2 = [[1 + 3/40, -3 + 1/30]] = [[43/40, -89/30]]
    # b2 - lr db2 = 1/4 + ln 4 + 1/10
    net = reference.ReferenceNetwork(
        [([[0.5, -0.25], [-1.0, 0.5]], [LN3, -LN2]), ([[1.0, -3.0]], [0.25 + LN4])],
        "sigmoid", "sigmoid")
    zs, activations = reference.feedforward(net, [1.0, 2.0])
    assert activations[0] == pytest.approx([3 / 4, 1 / 3], rel=0, abs=1e-12)
    assert zs[1] == pytest.approx([LN4], rel=0, abs=1e-12)
    assert activations[1] == pytest.approx([4 / 5], rel=0, abs=1e-12)

    error, dW, db = reference.sample_gradients(net, [1.0, 2.0], [1.0])
    assert error == pytest.approx(math.log(5 / 4), rel=0, abs=1e-12)
    assert_layers_close(list(zip(dW, db)),
                        [([[-3 / 80, -3 / 40], [2 / 15, 4 / 15]], [-3 / 80, 2 / 15]),
                         ([[-3 / 20, -1 / 15]], [-1 / 5])])

    batch_loss = reference.train_step(net, [[1.0, 2.0]], [[1.0]], lr=0.5)
    assert batch_loss == pytest.approx(math.log(5 / 4), rel=0, abs=1e-12)
    assert_layers_close(net.layers, [
        ([[83 / 160, -17 / 80], [-16 / 15, 11 / 30]], [LN3 + 3 / 160, -LN2 - 1 / 15]),
        ([[43 / 40, -89 / 30]], [0.25 + LN4 + 1 / 10]),
    ])


def test_one_sgd_step_2_2_2_relu_softmax_by_hand():
    # x = (2, -1), t = (1, 0), lr = 1/10
    # hidden: z = (2 - 1 + 0, 1 - 2 + 1.5) = (1, 1/2)          relu: a = (1, 1/2), f' = (1, 1)
    # output: z = (1 - 1 + 0, 0 + 1 + ln 3 - 1) = (0, ln 3)    softmax: p = (1/4, 3/4)
    # loss = -(z_0 - m - log(exp(-ln 3) + 1)) = -(-ln 3 - ln(4/3)) = ln 4   (m = ln 3)
    # delta2 = p - t = (-3/4, 3/4)
    # dW2 = delta2 a1^T = [[-3/4, -3/8], [3/4, 3/8]]           db2 = (-3/4, 3/4)
    # delta1_0 = (-3/4 * 1 + 3/4 * 0) * 1 = -3/4
    # delta1_1 = (-3/4 * -2 + 3/4 * 2) * 1 = 3
    # dW1 = delta1 x^T = [[-3/2, 3/4], [6, -3]]                db1 = (-3/4, 3)
    # W1 - lr dW1 = [[1.15, 0.925], [-0.1, 2.3]]               b1 - lr db1 = (0.075, 1.2)
    # W2 - lr dW2 = [[1.075, -1.9625], [-0.075, 1.9625]]       b2 - lr db2 = (0.075, ln 3 - 1.075)
    net = reference.ReferenceNetwork(
        [([[1.0, 1.0], [0.5, 2.0]], [0.0, 1.5]), ([[1.0, -2.0], [0.0, 2.0]], [0.0, LN3 - 1.0])],
        "relu", "softmax")
    assert reference.predict(net, [[2.0, -1.0]]) == [pytest.approx([0.25, 0.75], abs=1e-12)]
    batch_loss = reference.train_step(net, [[2.0, -1.0]], [[1.0, 0.0]], lr=0.1)
    assert batch_loss == pytest.approx(LN4, rel=0, abs=1e-12)
    assert_layers_close(net.layers, [
        ([[1.15, 0.925], [-0.1, 2.3]], [0.075, 1.2]),
        ([[1.075, -1.9625], [-0.075, 1.9625]], [0.075, LN3 - 1.075]),
    ])


def random_problem(seed, sizes, activation, output, n_samples=3):
    """A random network with its data; for relu, redrawn until no pre-activation is near a kink."""
    rng = random.Random(seed)
    while True:
        layers = [([[rng.gauss(0.0, 1.0) for _ in range(n_in)] for _ in range(n_out)],
                   [rng.gauss(0.0, 0.5) for _ in range(n_out)])
                  for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        net = reference.ReferenceNetwork(layers, activation, output)
        X = [[rng.uniform(-1.0, 1.0) for _ in range(sizes[0])] for _ in range(n_samples)]
        if output == "softmax":
            T = [[0.0] * sizes[-1] for _ in range(n_samples)]
            for t in T:
                t[rng.randrange(sizes[-1])] = 1.0
        elif output == "sigmoid":
            T = [[rng.choice([0.0, 1.0, 0.3]) for _ in range(sizes[-1])] for _ in range(n_samples)]
        else:
            T = [[rng.gauss(0.0, 1.0) for _ in range(sizes[-1])] for _ in range(n_samples)]
        if activation != "relu" or all(abs(z) > 1e-3 for x in X
                                       for zs in reference.feedforward(net, x)[0][:-1]
                                       for z in zs):
            return net, X, T


@pytest.mark.parametrize("sizes", [[3, 2], [3, 4, 2], [2, 3, 4, 3]], ids=str)
@pytest.mark.parametrize("output", reference.OUTPUTS)
@pytest.mark.parametrize("activation", reference.HIDDEN_ACTIVATIONS)
def test_gradients_match_central_differences(activation, output, sizes):
    # relu is not differentiable at z = 0. A step of h = 1e-6 moves every pre-activation by far
    # less than 1e-3 (inputs and activations are O(1)), and random_problem keeps every hidden
    # pre-activation at least 1e-3 away from 0, so loss(w - h) and loss(w + h) lie on one piece.
    net, X, T = random_problem(len(sizes) * 100 + 7, sizes, activation, output)
    dW, db = reference.gradients(net, X, T)
    h = 1e-6

    def central_difference(params, index):
        saved = params[index]
        params[index] = saved + h
        loss_plus = reference.loss(net, X, T)
        params[index] = saved - h
        loss_minus = reference.loss(net, X, T)
        params[index] = saved
        return (loss_plus - loss_minus) / (2 * h)

    for (W, b), dW_l, db_l in zip(net.layers, dW, db):
        for j in range(len(W)):
            for i in range(len(W[j])):
                assert math.isclose(central_difference(W[j], i), dW_l[j][i],
                                    rel_tol=1e-6, abs_tol=1e-8)
            assert math.isclose(central_difference(b, j), db_l[j], rel_tol=1e-6, abs_tol=1e-8)


def test_sigmoid_saturates_without_overflow():
    assert reference.sigmoid(1000.0) == 1.0
    assert reference.sigmoid(-1000.0) == 0.0
    assert reference.sigmoid(0.0) == 0.5
    for z in (-30.0, -2.5, 0.7, 30.0):
        assert reference.sigmoid(-z) == pytest.approx(1.0 - reference.sigmoid(z), abs=1e-15)
    assert reference.softplus(-1000.0) == 0.0
    assert reference.softplus(1000.0) == 1000.0


@pytest.mark.parametrize("v", [1e4, -1e4, 700.0, -700.0, 800.0, -800.0])
@pytest.mark.parametrize("output", reference.OUTPUTS)
def test_loss_is_finite_for_huge_logits(output, v):
    # No hidden layer: W = 0, so the logits are the biases (v, -v).
    net = reference.ReferenceNetwork([([[0.0], [0.0]], [v, -v])], "identity", output)
    t = [0.0, 1.0]
    value = reference.loss(net, [[1.0]], [t])
    error, dW, db = reference.sample_gradients(net, [1.0], t)
    assert math.isfinite(value) and error == value
    assert all(math.isfinite(g) for g in dW[0][0] + dW[0][1] + db[0])
    # Closed forms: the second unit is the target, with logit -v.
    expected = {
        "softmax": 2 * v if v > 0 else 0.0,                   # -log p_1, p_1 = 1/(1 + e^{2v})
        "sigmoid": abs(v) + v,                                # softplus(v) + softplus(-v) + v
        "identity": 0.5 * (v * v + (-v - 1.0) ** 2),
    }[output]
    assert value == pytest.approx(expected, rel=1e-15)


def test_loss_decreases_on_separable_data():
    # Label = first coordinate: linearly separable.
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.9, 0.2], [0.1, 0.8]]
    T = [[round(x[0])] for x in X]
    net, _, _ = random_problem(3, [2, 3, 1], "tanh", "sigmoid")
    rng = random.Random(0)
    orders = []
    for _ in range(200):
        order = list(range(len(X)))
        rng.shuffle(order)
        orders.append(order)
    initial = reference.loss(net, X, T)
    losses = reference.train(net, X, T, lr=0.5, batch_size=2, orders=orders)
    assert len(losses) == 200
    assert losses[-1] < 0.2 * initial
    assert reference.loss(net, X, T) < 0.2 * initial
    assert [round(a[0]) for a in reference.predict(net, X)] == [t[0] for t in T]


def test_train_epoch_full_batch_equals_train_step():
    net, X, T = random_problem(11, [3, 4, 2], "sigmoid", "softmax", n_samples=5)
    twin = copy.deepcopy(net)
    epoch_loss = reference.train_epoch(net, X, T, 0.3, batch_size=len(X), order=range(len(X)))
    assert epoch_loss == reference.train_step(twin, X, T, 0.3)
    assert net.layers == twin.layers


@pytest.mark.parametrize("order", [[3, 0, 4, 1, 2], [3, 0, 4]], ids=["permutation", "subset"])
@pytest.mark.parametrize("batch_size", [1, 2])
def test_train_epoch_follows_order_in_batches(batch_size, order):
    net, X, T = random_problem(12, [3, 4, 2], "tanh", "identity", n_samples=5)
    twin = copy.deepcopy(net)
    epoch_loss = reference.train_epoch(net, X, T, 0.2, batch_size, order)
    total = 0.0
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]  # the last batch is shorter when batch_size=2
        total += reference.train_step(twin, [X[k] for k in batch], [T[k] for k in batch],
                                      0.2) * len(batch)
    assert epoch_loss == total / len(order)
    assert net.layers == twin.layers

    # Another order gives other weights: the order really is followed.
    other = copy.deepcopy(twin)
    reference.train_epoch(other, X, T, 0.2, batch_size, order[::-1])
    reference.train_epoch(twin, X, T, 0.2, batch_size, order)
    assert other.layers != twin.layers


def test_train_runs_one_epoch_per_order():
    net, X, T = random_problem(13, [2, 3, 1], "relu", "sigmoid", n_samples=4)
    twin = copy.deepcopy(net)
    orders = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]]
    losses = reference.train(net, X, T, 0.1, 3, orders)
    assert losses == [reference.train_epoch(twin, X, T, 0.1, 3, order) for order in orders]
    assert net.layers == twin.layers


def test_gradients_are_the_mean_of_sample_gradients():
    net, X, T = random_problem(14, [3, 4, 2], "sigmoid", "sigmoid", n_samples=4)
    dW, db = reference.gradients(net, X, T)
    per_sample = [reference.sample_gradients(net, x, t) for x, t in zip(X, T)]
    assert reference.loss(net, X, T) == pytest.approx(sum(s[0] for s in per_sample) / 4)
    for l in range(2):
        assert db[l] == pytest.approx([sum(s[2][l][j] for s in per_sample) / 4
                                       for j in range(len(db[l]))], rel=1e-14)
        for j in range(len(dW[l])):
            assert dW[l][j] == pytest.approx([sum(s[1][l][j][i] for s in per_sample) / 4
                                              for i in range(len(dW[l][j]))], rel=1e-14)


def test_from_arrays_to_arrays_round_trip_and_orientation():
    weights = [np.arange(6.0).reshape(3, 2), np.array([[1.5], [-2.0]])]
    biases = [np.array([0.1, 0.2]), np.array([0.3])]
    net = reference.from_arrays(weights, biases, "tanh", "identity")
    W, b = net.layers[0]
    assert W == [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]  # W[j][i] = weights[0][i][j]
    assert b == [0.1, 0.2]
    assert all(type(w) is float for row in W for w in row)
    weights_back, biases_back = reference.to_arrays(net)
    assert weights_back == [w.tolist() for w in weights]
    assert biases_back == [b_l.tolist() for b_l in biases]
    # Nested lists are accepted too, and give the same network.
    same = reference.from_arrays([w.tolist() for w in weights], [list(b_l) for b_l in biases],
                                 "tanh", "identity")
    assert same == net
    # The forward pass uses the transposed orientation correctly: a = x @ weights + biases.
    x = np.array([1.0, -2.0, 0.5])
    expected = np.tanh(x @ weights[0] + biases[0]) @ weights[1] + biases[1]
    assert reference.predict(net, [x.tolist()])[0] == pytest.approx(expected.tolist(), abs=1e-14)


def test_constructors_copy():
    weights = [np.ones((2, 2)), np.ones((2, 1))]
    biases = [np.zeros(2), np.zeros(1)]
    net = reference.from_network(SimpleNamespace(weights=weights, biases=biases,
                                                 activation="relu", output="sigmoid"))
    net.layers[0][0][0][0] = 7.0
    net.layers[1][1][0] = 7.0
    assert (weights[0] == 1.0).all() and (biases[1] == 0.0).all()
    weights[0][1, 1] = 5.0
    assert net.layers[0][0][1][1] == 1.0

    lists = [([[1.0, 2.0]], [3.0])]
    net = reference.ReferenceNetwork(lists, "tanh", "identity")
    reference.train_step(net, [[1.0, 1.0]], [[0.0]], 0.1)
    assert lists == [([[1.0, 2.0]], [3.0])]

    weights_out, biases_out = reference.to_arrays(net)
    weights_out[0][0][0] = 99.0
    biases_out[0][0] = 99.0
    assert net.layers[0][0][0][0] != 99.0 and net.layers[0][1][0] != 99.0


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="unknown activation/output"):
        reference.ReferenceNetwork([([[1.0]], [0.0])], "softmax", "identity")
    with pytest.raises(ValueError, match="unknown activation/output"):
        reference.ReferenceNetwork([([[1.0]], [0.0])], "tanh", "relu")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        reference.activate("swish", [0.0])
