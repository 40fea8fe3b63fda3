# SPDX-License-Identifier: MIT
"""Network for scikit-learn and Keras users (issue 14, item 6): predict,
predict_proba and score; validation data, early stopping and the best
weights; learning-rate schedules; labels through ``metadata["classes"]``;
errors for string labels and for options that would do nothing."""
import math

import numpy as np
import pytest

import nncore


def blobs(n=120, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.normal(size=(n, 2)) + 2.5 * np.eye(n_classes, 2)[y]
    return X, y


# ---------------------------------------------------------------------------
# predict, predict_proba, score
# ---------------------------------------------------------------------------

def test_predict_softmax_gives_the_most_probable_class(dtype):
    X, y = blobs()
    net = nncore.Network([2, 5, 3], dtype=dtype, seed=0)
    net.fit(X, y, epochs=5)
    labels = net.predict(X)
    assert labels.shape == (120,) and labels.dtype == np.intp
    np.testing.assert_array_equal(labels, net.forward(X).argmax(axis=1))
    np.testing.assert_array_equal(net.predict_proba(X), net.forward(X))
    assert net.score(X, y) == np.mean(labels == y)


def test_predict_one_sigmoid_is_a_two_class_problem():
    X, y = blobs(n_classes=2)
    net = nncore.Network([2, 4, 1], output="sigmoid", seed=0)
    net.fit(X, y, epochs=5)
    p = net.forward(X)[:, 0]
    np.testing.assert_array_equal(net.predict(X), (p > 0.5).astype(int))
    proba = net.predict_proba(X)
    assert proba.shape == (120, 2)
    np.testing.assert_array_equal(proba[:, 1], p)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    # y as a column (n, 1) is the same target for one output.
    assert net.score(X, y) == net.score(X, y.reshape(-1, 1)) == np.mean(net.predict(X) == y)


def test_predict_several_sigmoids_is_multi_label():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    Y = (X[:, :2] > 0).astype(float)
    net = nncore.Network([3, 2], output="sigmoid", seed=0)
    labels = net.predict(X)
    np.testing.assert_array_equal(labels, (net.forward(X) > 0.5).astype(int))
    assert net.score(X, Y) == np.mean((labels == Y).all(axis=1))
    np.testing.assert_array_equal(net.predict_proba(X), net.forward(X))


def test_predict_identity_gives_values_and_score_is_r2():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=80)
    net = nncore.Network([3, 6, 1], activation="relu", output="identity", seed=0)
    net.fit(X, y, epochs=20, batch_size=8, learning_rate=0.01)
    values = net.predict(X)
    assert values.shape == (80,)
    np.testing.assert_array_equal(values, net.forward(X)[:, 0])
    assert net.score(X, y) == pytest.approx(sklearn_metrics.r2_score(y, values), abs=1e-12)
    w = rng.uniform(0.5, 2, 80)
    assert net.score(X, y, sample_weight=w) == pytest.approx(
        sklearn_metrics.r2_score(y, values, sample_weight=w), abs=1e-12)
    two = nncore.Network([3, 2], output="identity", seed=0)
    Y = np.column_stack([y, -y])
    assert two.predict(X).shape == (80, 2)
    assert two.score(X, Y) == pytest.approx(
        sklearn_metrics.r2_score(Y, two.predict(X)), abs=1e-12)
    # A constant target: 1 if predicted exactly, else 0 (scikit-learn's rule).
    assert net.score(X, np.full(80, 3.0)) == 0.0
    with pytest.raises(ValueError, match="predict_proba needs a softmax or sigmoid "
                                         "output; this network's output is identity"):
        net.predict_proba(X)


def test_score_with_sample_weight_is_a_weighted_accuracy():
    X, y = blobs()
    net = nncore.Network([2, 3], seed=0)
    w = np.linspace(0.1, 2, 120)
    right = net.predict(X) == y
    assert net.score(X, y, sample_weight=w) == pytest.approx(np.average(right, weights=w))
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        net.score(X, y, sample_weight=w[:5])


def test_classes_in_metadata_are_the_labels():
    X, y = blobs()
    names = np.array(["setosa", "versicolor", "virginica"])
    net = nncore.Network([2, 5, 3], seed=0)
    net.metadata = {"classes": names.tolist()}
    # fit, validation data and score take the class labels themselves.
    history = net.fit(X, names[y], epochs=5, validation_data=(X[:20], names[y[:20]]))
    assert len(history.val_score) == 5
    predicted = net.predict(X)
    np.testing.assert_array_equal(predicted, names[net.forward(X).argmax(axis=1)])
    assert net.score(X, names[y]) == np.mean(predicted == names[y])
    with pytest.raises(ValueError, match=r"y has labels \['rose'\] that are not among "
                                         r"the network's classes"):
        net.score(X[:2], ["setosa", "rose"])
    binary = nncore.Network([2, 1], output="sigmoid", seed=0)
    binary.metadata = {"classes": [-1, 1]}
    assert set(binary.predict(X).tolist()) <= {-1, 1}
    binary.metadata = {"classes": ["a", "b", "c"]}
    with pytest.raises(ValueError, match=r"metadata\['classes'\] has shape \(3,\), but "
                                         "the network's sigmoid output has 2 classes"):
        binary.predict(X)


def test_predict_applies_command_line_metadata_and_forward_does_not():
    # The metadata nncore train writes, by hand: one scaled number and one
    # one-hot category, two classes, a regression twin with a scaled target.
    inputs = [{"name": "x", "kind": "numeric", "fill": 1.0, "mean": 1.0, "scale": 2.0},
              {"name": "c", "kind": "categorical", "categories": ["a", "b"]}]
    meta = {"format": "nncore-cli-model", "version": 2, "task": "classification",
            "targets": ["t"], "positional": False, "n_columns": 3, "inputs": inputs,
            "impute": "mean", "classes": ["no", "yes"]}
    table = {"c": np.array(["b", "a", None]), "x": np.array([3.0, -1.0, np.nan]),
             "other": np.zeros(3)}
    encoded = np.array([[1.0, 0.0, 1.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    net = nncore.Network([3, 2], seed=0)
    net.metadata = meta
    expected = net.forward(encoded)
    np.testing.assert_array_equal(net.predict_proba(table), expected)
    np.testing.assert_array_equal(net.predict(table),
                                  np.array(["no", "yes"])[expected.argmax(axis=1)])
    with pytest.raises(TypeError, match="categorical column.*'c'"):
        net.predict(encoded)
    regression = nncore.Network([3, 1], output="identity", seed=0)
    regression.metadata = {**meta, "task": "regression", "classes": None,
                           "target_mean": [100.0], "target_scale": [10.0]}
    np.testing.assert_allclose(regression.predict(table),
                               regression.forward(encoded)[:, 0] * 10.0 + 100.0,
                               rtol=1e-6)


# ---------------------------------------------------------------------------
# Validation data, early stopping, the best weights
# ---------------------------------------------------------------------------

def test_validation_loss_and_score_per_epoch_in_history_and_callback():
    X, y = blobs()
    X_val, y_val = blobs(40, seed=1)
    net = nncore.Network([2, 5, 3], seed=0)
    seen = []

    def callback(info):
        # Measured on the weights the epoch ended with.
        seen.append((info["val_loss"], info["val_score"],
                     net.loss(X_val, y_val), net.score(X_val, y_val)))

    history = net.fit(X, y, epochs=4, validation_data=(X_val, y_val), callback=callback,
                      restore_best=False)
    assert [s[0] for s in seen] == history.val_loss == net.history.val_loss
    assert [s[1] for s in seen] == history.val_score == net.history.val_score
    for val_loss, val_score, loss, score in seen:
        assert val_loss == pytest.approx(loss, rel=1e-12) and val_score == score
    # Epochs without validation data are NaN in the network's history.
    net.fit(X, y, epochs=2)
    assert len(net.history) == len(net.history.val_loss) == 6
    assert np.isnan(net.history.val_loss[4:]).all()


def test_validation_fraction_holds_out_the_rows_it_draws():
    X, y = blobs(50)
    net = nncore.Network([2, 4, 3], seed=0)
    net.fit(X, y, epochs=3, shuffle=False, seed=7, validation_fraction=0.2,
            restore_best=False)
    held = math.ceil(0.2 * 50)
    order = np.random.default_rng(7).permutation(50)
    train, val = np.sort(order[held:]), np.sort(order[:held])
    twin = nncore.Network([2, 4, 3], seed=0)
    twin.fit(X[train], y[train], epochs=3, shuffle=False)
    np.testing.assert_array_equal(net.params, twin.params)
    assert net.history.val_loss[-1] == pytest.approx(twin.loss(X[val], y[val]), rel=1e-12)


def test_early_stopping_waits_patience_epochs_without_improvement():
    X, y = blobs()
    net = nncore.Network([2, 3], seed=0)
    # Learning rate 0: the validation loss never improves after epoch 1.
    history = net.fit(X, y, epochs=100, learning_rate=0.0, early_stopping=True,
                      patience=4)
    assert len(history) == 1 + 4
    # early_stopping alone holds out 10% (scikit-learn's default).
    assert not np.isnan(history.val_loss).any()


def test_restore_best_ends_on_the_epoch_with_the_lowest_validation_loss():
    X, y = blobs()
    X_val, y_val = blobs(30, seed=2)
    net = nncore.Network([2, 8, 3], seed=0)
    snapshots = []
    # A learning rate too high for a steady descent: the last epoch is
    # rarely the best.
    history = net.fit(X, y, epochs=12, learning_rate=3.0, validation_data=(X_val, y_val),
                      callback=lambda info: snapshots.append(net.params.copy()))
    best = int(np.argmin(history.val_loss))
    np.testing.assert_array_equal(net.params, snapshots[best])
    assert net.loss(X_val, y_val) == pytest.approx(min(history.val_loss), rel=1e-12)


# ---------------------------------------------------------------------------
# Learning-rate schedules
# ---------------------------------------------------------------------------

def test_learning_rate_callable_of_the_epoch():
    X, y = blobs(40)
    rates = [0.3, 0.1, 0.02]
    net = nncore.Network([2, 4, 3], seed=0)
    seen = []
    net.fit(X, y, epochs=3, shuffle=False, learning_rate=lambda epoch: rates[epoch],
            callback=lambda info: seen.append(info["learning_rate"]))
    assert seen == rates
    twin = nncore.Network([2, 4, 3], seed=0)
    for rate in rates:
        twin.fit(X, y, shuffle=False, learning_rate=rate)
    np.testing.assert_array_equal(net.params, twin.params)
    with pytest.raises(ValueError, match=r"learning_rate\(1\) must be a finite number "
                                         r">= 0, got -1\.0"):
        net.fit(X, y, epochs=3, learning_rate=lambda epoch: 0.1 if epoch == 0 else -1.0)


def test_invscaling_is_scikit_learns():
    X, y = blobs(40)
    net = nncore.Network([2, 3], seed=0)
    seen = []
    net.fit(X, y, epochs=3, learning_rate="invscaling", learning_rate_init=0.2,
            power_t=0.25, callback=lambda info: seen.append(info["learning_rate"]))
    assert seen == pytest.approx([0.2 / (k * 40 + 1) ** 0.25 for k in range(3)], rel=1e-15)


def test_adaptive_divides_by_five_after_patience_epochs_and_stops_at_its_floor():
    X, y = blobs(40)
    net = nncore.Network([2, 3], seed=0)
    seen = []
    # tol so large that no epoch after the first counts as an improvement.
    history = net.fit(X, y, epochs=100, learning_rate="adaptive", learning_rate_init=1e-4,
                      patience=2, tol=1e9,
                      callback=lambda info: seen.append(info["learning_rate"]))
    assert seen[:7] == pytest.approx([1e-4] * 3 + [2e-5] * 2 + [4e-6] * 2, rel=1e-12)
    # 1e-4 -> 2e-5 -> 4e-6 -> 8e-7, which is at the floor: the next trigger stops.
    assert len(history) == 3 + 2 + 2 + 2


# ---------------------------------------------------------------------------
# What is refused, and what nothing changes
# ---------------------------------------------------------------------------

REFUSED = [
    (dict(beta_1=0.8), ValueError, r"beta_1 is an option of optimizer='adam'; with "
                                   r"optimizer='sgd' it does nothing"),
    (dict(epsilon=1e-7), ValueError, r"epsilon is an option of optimizer='adam'"),
    (dict(optimizer="adam", momentum=0.9), ValueError,
     r"momentum is an option of optimizer='sgd'; with optimizer='adam' it does nothing"),
    (dict(optimizer="adam", nesterov=True), ValueError, r"nesterov is an option of"),
    (dict(nesterov=True), ValueError, r"nesterov=True needs momentum > 0"),
    (dict(patience=3), ValueError, r"patience is an option of early_stopping=True"),
    (dict(tol=0.1), ValueError, r"tol is an option of early_stopping=True"),
    (dict(restore_best=True), ValueError, r"restore_best needs validation data"),
    (dict(learning_rate_init=0.1), ValueError, r"learning_rate_init is the starting rate"),
    (dict(learning_rate="adaptive", power_t=0.5), ValueError,
     r"power_t is the exponent of learning_rate='invscaling'"),
    (dict(learning_rate="cosine"), ValueError, r"learning_rate must be a number >= 0, a "
                                               r"function of the epoch or one of"),
    (dict(validation_fraction=0.2, validation_data=([[0.0, 0.0]], [0])), ValueError,
     r"pass validation_data or validation_fraction, not both"),
    (dict(validation_fraction=0.99), ValueError,
     r"validation_fraction=0.99 of 12 samples leaves none to train on"),
    (dict(validation_fraction=0.0), ValueError, r"validation_fraction must be"),
    (dict(validation_data=[[0.0, 0.0]]), TypeError,
     r"validation_data must be a tuple \(X_val, y_val\)"),
    (dict(validation_data=([[0.0]], [0])), ValueError,
     r"validation_data\[0\] has 1 features, but the network expects 2"),
    (dict(validation_data=([[0.0, 0.0]], [5])), ValueError, r"validation_data\[1\] has label 5"),
    (dict(early_stopping=1), TypeError, r"early_stopping must be a bool"),
    (dict(early_stopping=True, patience=0), ValueError, r"patience must be >= 1"),
    (dict(early_stopping=True, restore_best="yes"), TypeError, r"restore_best must be a bool"),
]


@pytest.mark.parametrize("options, exception, match", REFUSED,
                         ids=[str(sorted(o)) for o, _, _ in REFUSED])
def test_options_that_would_do_nothing_or_are_wrong_are_refused(options, exception, match):
    X, y = blobs(12)
    net = nncore.Network([2, 3], seed=0)
    fresh = nncore.Network([2, 3], seed=0)
    with pytest.raises(exception, match=match):
        net.fit(X, y, epochs=2, **options)
    np.testing.assert_array_equal(net.params, fresh.params)
    assert net.history == []
    # Nothing drawn from the shuffling generator either.
    assert net.fit(X, y, epochs=2) == fresh.fit(X, y, epochs=2)


def test_string_labels_point_to_integer_encoding_or_the_estimators():
    X, y = blobs(6)
    net = nncore.Network([2, 3], seed=0)
    names = np.array(["a", "b", "c"])[y]
    for labels in (names, names.tolist(), names.astype(object)):
        with pytest.raises(TypeError, match=r"y holds strings \(such as '[abc]'\), but a softmax "
                                            r"network takes integer class labels 0\.\.2: "
                                            r"encode them first .*nncore\.sklearn\."
                                            r"MLPClassifier"):
            net.fit(X, labels)
    with pytest.raises(TypeError, match=r"y holds strings"):
        net.score(X, names)
    sigmoid = nncore.Network([2, 1], output="sigmoid", seed=0)
    with pytest.raises(TypeError, match=r"sigmoid network takes integer class labels 0 or 1"):
        sigmoid.fit(X, names)


def test_column_targets_are_accepted():
    X, y = blobs(30)
    net = nncore.Network([2, 3], seed=0)
    twin = nncore.Network([2, 3], seed=0)
    # A column of class labels for softmax, as pandas' df[["target"]] gives.
    assert net.fit(X, y.reshape(-1, 1), epochs=2) == twin.fit(X, y, epochs=2)
    assert net.score(X, y.reshape(-1, 1)) == twin.score(X, y)
    regression = nncore.Network([2, 1], output="identity", seed=0)
    values = X.sum(axis=1)
    regression.fit(X, values.reshape(-1, 1), validation_data=(X, values.reshape(-1, 1)))
    assert regression.score(X, values.reshape(-1, 1)) == regression.score(X, values)


def test_default_optimizer_options_train_as_before():
    # momentum, nesterov, beta_1, beta_2 and epsilon left out: the same steps
    # as with scikit-learn's defaults written out.
    X, y = blobs(40)
    a, b = nncore.Network([2, 4, 3], seed=0), nncore.Network([2, 4, 3], seed=0)
    a.fit(X, y, epochs=2, batch_size=4, optimizer="adam", learning_rate=0.01, seed=1)
    b.fit(X, y, epochs=2, batch_size=4, optimizer="adam", learning_rate=0.01, seed=1,
          beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    np.testing.assert_array_equal(a.params, b.params)
