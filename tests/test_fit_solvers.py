"""Network.fit's keyword-only options (momentum, Nesterov, Adam, alpha,
sample weights): held to scikit-learn's definitions, to the meaning of a
sample weight, and to the input policy."""
import warnings

import numpy as np
import pytest

import nncore
from nncore import DivergenceError

from helpers import DTYPES

skn = pytest.importorskip("sklearn.neural_network")

RTOL = {np.float64: 1e-9, np.float32: 2e-4}


def data(output, n=60, n_in=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, n_in))
    score = X @ rng.normal(size=(n_in, 3))
    if output == "softmax":
        return X, np.argmax(score, axis=1), 3
    if output == "sigmoid":
        return X, (score[:, 0] > 0).astype(int), 1
    return X, 0.3 * score[:, :2], 2


def scikit_learn_twin(net, output, params, X, y):
    """scikit-learn's MLP holding net's weights, ready to train (no state)."""
    # A first partial_fit on a few rows only sets the model up (its batch
    # size may exceed them: that warning is expected).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if output == "identity":
            model = skn.MLPRegressor(**params)
            model.partial_fit(X[:2], y[:2])
        else:
            model = skn.MLPClassifier(**params)
            model.partial_fit(X[:3], y[:3], classes=np.unique(y))
    model.coefs_ = [w.copy() for w in net.weights]
    model.intercepts_ = [b.copy() for b in net.biases]
    del model._optimizer           # the next partial_fit starts a fresh one
    return model


OPTIONS = {
    "momentum": dict(optimizer="sgd", momentum=0.9),
    "nesterov": dict(optimizer="sgd", momentum=0.8, nesterov=True),
    "alpha": dict(optimizer="sgd", alpha=0.3),
    "adam": dict(optimizer="adam", learning_rate=0.01),
    "adam alpha": dict(optimizer="adam", learning_rate=0.01, alpha=0.1, beta_1=0.5,
                       beta_2=0.9, epsilon=1e-6),
}


def sklearn_params(options, activation, batch_size):
    o = {"learning_rate": 0.1, **options}
    return dict(hidden_layer_sizes=(7,), activation={"sigmoid": "logistic"}.get(activation, activation),
                solver=o.get("optimizer", "sgd"), learning_rate_init=o.get("learning_rate", 0.1),
                momentum=o.get("momentum", 0.0), nesterovs_momentum=o.get("nesterov", False),
                alpha=o.get("alpha", 0.0), beta_1=o.get("beta_1", 0.9),
                beta_2=o.get("beta_2", 0.999), epsilon=o.get("epsilon", 1e-8),
                batch_size=batch_size, shuffle=False, random_state=0)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
def test_steps_are_scikit_learns(output, activation, option, batch_size, weighted):
    X, y, n_out = data(output)
    sw = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    net = nncore.Network([5, 7, n_out], activation=activation, output=output, seed=1)
    twin = scikit_learn_twin(net, output, sklearn_params(OPTIONS[option], activation,
                                                         batch_size), X, y)
    for _ in range(3):
        twin.partial_fit(X, y, sample_weight=sw)
    net.fit(X, y, epochs=3, batch_size=batch_size, shuffle=False, sample_weight=sw,
            **{"learning_rate": 0.1, **OPTIONS[option]})
    # Adam divides each gradient by its own running scale, so a gradient at
    # rounding level (a ReLU unit at its kink) takes a full step whose size
    # depends on that rounding: float64 agrees to 1e-6 of the largest
    # weight there, and to 1e-9 otherwise.
    tol = 1e-6 if OPTIONS[option]["optimizer"] == "adam" and activation == "relu" else 1e-9
    for mine, theirs in zip(net.weights + net.biases, twin.coefs_ + twin.intercepts_):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=tol * np.abs(theirs).max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_weight_of_two_is_a_sample_seen_twice(dtype):
    # Full batches, no shuffle: the weighted mean gradient of (X, w) is the
    # mean gradient of X with each sample repeated w times.
    X, y, _ = data("softmax", n=30)
    w = np.random.default_rng(5).integers(1, 4, X.shape[0])
    a = nncore.Network([5, 7, 3], seed=2, dtype=dtype)
    b = nncore.Network([5, 7, 3], seed=2, dtype=dtype)
    la = a.fit(X, y, epochs=4, batch_size=len(X), shuffle=False, sample_weight=w,
               momentum=0.5)
    lb = b.fit(np.repeat(X, w, axis=0), np.repeat(y, w), epochs=4,
               batch_size=int(w.sum()), shuffle=False, momentum=0.5)
    np.testing.assert_allclose(a.params, b.params, rtol=RTOL[dtype], atol=RTOL[dtype])
    # Reported losses are per sample of X (weighted mean x n / n).
    np.testing.assert_allclose(la, lb, rtol=10 * RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_are_the_networks_own(dtype):
    # Weighted mean of Network.loss's error per batch, plus the penalty.
    X, y, _ = data("softmax", n=16)
    net = nncore.Network([5, 7, 3], seed=4, dtype=dtype)
    before = net.loss(X, y)
    W2 = sum(float(np.sum(w.astype(float) ** 2)) for w in net.weights)
    losses = net.fit(X, y, batch_size=16, shuffle=False, learning_rate=0.0, alpha=0.2,
                     optimizer="sgd", momentum=0.3)
    assert losses[0] == pytest.approx(before + 0.5 * 0.2 * W2 / 16, rel=RTOL[dtype])


def test_learning_rate_zero_changes_nothing():
    X, y, _ = data("softmax")
    net = nncore.Network([5, 7, 3], seed=0)
    before = net.params.copy()
    for options in OPTIONS.values():
        net.fit(X, y, epochs=2, batch_size=4, **{**options, "learning_rate": 0.0})
    np.testing.assert_array_equal(net.params, before)


def test_adam_learns():
    X, y, _ = data("softmax", n=300)
    net = nncore.Network([5, 16, 3], activation="relu", seed=0)
    losses = net.fit(X, y, epochs=60, batch_size=16, optimizer="adam", learning_rate=0.01)
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean(net.forward(X).argmax(axis=1) == y) > 0.9


def test_divergence_restores_the_epochs_start():
    X, y, _ = data("identity")
    net = nncore.Network([5, 7, 2], output="identity", seed=0)
    net.fit(X, y, epochs=1, momentum=0.5, learning_rate=0.01)
    before = net.params.copy()
    with pytest.raises(DivergenceError) as info:
        net.fit(X * 1e30, y, epochs=3, momentum=0.9, learning_rate=1e30)
    assert info.value.epoch == 0 and info.value.sample == 0
    np.testing.assert_array_equal(net.params, before)


BAD = [
    (dict(optimizer="rmsprop"), ValueError, "optimizer"),
    (dict(optimizer=3), TypeError, "optimizer"),
    (dict(momentum=1.5), ValueError, "momentum"),
    (dict(momentum=-0.1), ValueError, "momentum"),
    (dict(momentum=float("nan")), ValueError, "momentum"),
    (dict(momentum="0.9"), TypeError, "momentum"),
    (dict(nesterov=1), TypeError, "nesterov"),
    (dict(alpha=-1.0), ValueError, "alpha"),
    (dict(alpha=float("inf")), ValueError, "alpha"),
    (dict(beta_1=1.0), ValueError, "beta_1"),
    (dict(beta_2=-0.5), ValueError, "beta_2"),
    (dict(epsilon=0.0), ValueError, "epsilon"),
    (dict(sample_weight=np.ones(3)), ValueError, "sample_weight"),
    (dict(sample_weight=np.ones((60, 1))), ValueError, "sample_weight"),
    (dict(sample_weight=np.r_[np.ones(59), 0.0]), ValueError, "sample_weight"),
    (dict(sample_weight=np.r_[np.ones(59), np.nan]), ValueError, "sample_weight"),
    (dict(sample_weight=np.r_[np.ones(59), -1.0]), ValueError, "sample_weight"),
    (dict(sample_weight=["a"] * 60), TypeError, "sample_weight"),
]


@pytest.mark.parametrize("options, error, name", BAD, ids=[b[2] + str(i) for i, b in enumerate(BAD)])
def test_bad_options_name_the_argument_and_change_nothing(options, error, name):
    X, y, _ = data("softmax")
    net = nncore.Network([5, 7, 3], seed=0)
    before = net.params.copy()
    history = list(net.history)
    with pytest.raises(error, match=name):
        net.fit(X, y, epochs=1, **options)
    np.testing.assert_array_equal(net.params, before)
    assert net.history == history


def test_every_simd_variant_takes_the_same_steps(simd):
    X, y, _ = data("softmax")
    net = nncore.Network([5, 7, 3], seed=0)
    reference = nncore.Network([5, 7, 3], seed=0)
    twin = scikit_learn_twin(reference, "softmax",
                             sklearn_params(OPTIONS["adam alpha"], "sigmoid", 4), X, y)
    twin.partial_fit(X, y)
    net.fit(X, y, batch_size=4, shuffle=False, **{"learning_rate": 0.1, **OPTIONS["adam alpha"]})
    for mine, theirs in zip(net.weights, twin.coefs_):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-9 * np.abs(theirs).max())
