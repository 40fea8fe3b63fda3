# SPDX-License-Identifier: MIT
"""Bad input is refused with the documented exception and leaves the network as it was.

Every public entry point (the constructor, ``forward``, ``loss``,
``gradients``, ``train_step``, ``fit``) is fed each kind of bad input; the
exception type is exact and its message names the offending argument, and
the parameter buffer is compared bit for bit before and after. Accepted
inputs that need converting (lists, integer and bool data, the other float
dtype, Fortran order, strided views, read-only arrays, memmaps) give exactly
the result of the clean C-contiguous array, and the caller's arrays are never
written. Divergence is reported as ``nncore.DivergenceError``.
"""
import copy

import numpy as np
import pytest
from helpers import DTYPES, OUTPUTS, make_targets

import nncore

SIZES = (4, 5, 3)
N_SAMPLES = 6


def make_net(output="softmax", dtype=np.float64, activation="tanh", sizes=SIZES):
    return nncore.Network(list(sizes), activation=activation, output=output,
                          dtype=dtype, seed=7)


def clean_data(output, n_samples=N_SAMPLES, sizes=SIZES, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n_samples, sizes[0]))
    y, _ = make_targets(rng, output, n_samples, sizes[-1])
    return X, y


def call_forward(net, X, y):
    return net.forward(X)


def call_loss(net, X, y):
    return net.loss(X, y)


def call_gradients(net, X, y):
    return net.gradients(X, y)


def call_train_step(net, X, y):
    return net.train_step(X, y, learning_rate=0.1)


def call_fit(net, X, y):
    return net.fit(X, y, epochs=2, batch_size=4, learning_rate=0.1,
                   shuffle=True, seed=3)


X_CALLS = {"forward": call_forward, "loss": call_loss,
           "gradients": call_gradients, "train_step": call_train_step,
           "fit": call_fit}
Y_CALLS = {name: call for name, call in X_CALLS.items() if name != "forward"}


def assert_rejected(net, call, X, y, exception, match):
    """call(net, X, y) raises exception(match) and leaves every parameter bit as it was."""
    before = net.params.copy()
    with pytest.raises(exception, match=match):
        call(net, X, y)
    assert np.array_equal(net.params, before, equal_nan=True)
    assert net.params.tobytes() == before.tobytes()


def with_value(value, row=2, col=1):
    def put(a):
        a = np.array(a, dtype=np.float64)
        a[(row, col) if a.ndim == 2 else row] = value
        return a
    return put


def structured(a):
    return np.zeros(len(a), dtype=[(f"f{i}", "f8") for i in range(a.shape[1])])


# ---------------------------------------------------------------------------
# X: the same checks in every method
# ---------------------------------------------------------------------------

BAD_X = {
    "too_few_features": (lambda X: X[:, :3], ValueError,
                         r"^X has 3 features, but the network expects 4$"),
    "too_many_features": (lambda X: np.hstack([X, X[:, :1]]), ValueError,
                          r"^X has 5 features, but the network expects 4$"),
    "one_dimensional": (lambda X: X[0], ValueError,
                        r"X must be 2-D \(n_samples, n_features\), got 1-D .*reshape"),
    "three_dimensional": (lambda X: X[:, :, None], ValueError,
                          r"X must be 2-D \(n_samples, n_features\), got 3-D"),
    "zero_dimensional": (lambda X: np.float64(1.0), ValueError, r"X must be 2-D .*got 0-D"),
    "empty_rows": (lambda X: X[:0], ValueError, r"X is empty"),
    "empty_list": (lambda X: [], ValueError, r"X must be 2-D .*got 1-D"),
    "zero_features": (lambda X: X[:, :0], ValueError,
                      r"X has 0 features, but the network expects 4"),
    "nan": (with_value(np.nan), ValueError, r"X contains NaN or infinity"),
    "plus_inf": (with_value(np.inf), ValueError, r"X contains NaN or infinity"),
    "minus_inf": (with_value(-np.inf), ValueError, r"X contains NaN or infinity"),
    "nan_in_list": (lambda X: [[1.0, 2.0, float("nan"), 3.0]], ValueError,
                    r"X contains NaN or infinity"),
    "object": (lambda X: X.astype(object), TypeError,
               r"X must hold real numbers, got dtype object"),
    "complex": (lambda X: X + 0j, TypeError,
                r"X must hold real numbers, got dtype complex128"),
    "complex64": (lambda X: X.astype(np.complex64), TypeError,
                  r"X must hold real numbers, got dtype complex64"),
    "str_array": (lambda X: X.astype(str), TypeError, r"X must hold real numbers, got dtype <U"),
    "bytes_array": (lambda X: X.astype(bytes), TypeError,
                    r"X must hold real numbers, got dtype \|S"),
    "list_with_str": (lambda X: [[1.0, 2.0, 3.0, "4"]], TypeError, r"X must hold real numbers"),
    "str": (lambda X: "1 2 3 4", TypeError, r"X must be numeric array-like, got str"),
    "bytes": (lambda X: b"1234", TypeError, r"X must be numeric array-like, got bytes"),
    "structured": (structured, TypeError, r"X must hold real numbers, got dtype \["),
    "datetime": (lambda X: np.zeros(X.shape, dtype="datetime64[s]"), TypeError,
                 r"X must hold real numbers, got dtype datetime64\[s\]"),
    "timedelta": (lambda X: np.zeros(X.shape, dtype="timedelta64[s]"), TypeError,
                  r"X must hold real numbers, got dtype timedelta64\[s\]"),
    "ragged": (lambda X: [list(X[0]), list(X[1][:2])], ValueError,
               r"X could not be converted to a numeric array"),
    "none": (lambda X: None, TypeError, r"X must hold real numbers, got dtype object"),
}


@pytest.mark.parametrize("method", X_CALLS)
@pytest.mark.parametrize("case", BAD_X)
def test_bad_X_is_rejected_and_network_untouched(dtype, case, method):
    make_bad, exception, match = BAD_X[case]
    net = make_net("softmax", dtype)
    X, y = clean_data("softmax")
    assert_rejected(net, X_CALLS[method], make_bad(X), y, exception, match)


# The finiteness pre-check is a float64 sum: an overflow of large finite
# values or an inf - inf must neither warn nor change the verdict (this suite
# turns warnings into errors, so a stray RuntimeWarning would fail here).
@pytest.mark.parametrize("where", ["X", "y"])
def test_plus_and_minus_inf_together(where):
    net = make_net("identity")
    X, y = clean_data("identity")
    X, y = X.copy(), y.copy()
    target = X if where == "X" else y
    target[0, 0], target[1, 1] = np.inf, -np.inf
    for call in Y_CALLS.values():
        assert_rejected(net, call, X, y, ValueError, rf"^{where} contains NaN or infinity$")


def test_large_finite_values_are_accepted_without_warning():
    # Every row's W x is at most 4 * 1e307 * |w| < max float64, so the
    # outputs are finite; only the sum over all entries overflows.
    net = make_net("identity")
    X = np.full((N_SAMPLES, 4), 1e307)
    y = np.full((N_SAMPLES, 3), 1e307)
    assert np.isfinite(make_net("softmax").forward(X)).all()
    assert np.isfinite(net.forward(X)).all()
    gradient = net.gradients(np.ones((N_SAMPLES, 4)), y)
    assert all(np.isfinite(g).all() for g in gradient[0] + gradient[1])


@pytest.mark.parametrize("method", X_CALLS)
def test_float64_X_beyond_float32_range_into_float32_net(method):
    net = make_net("identity", np.float32)
    X, y = clean_data("identity")
    X = X.copy()
    X[0, 0] = 1e39  # finite in float64, inf once cast
    assert_rejected(net, X_CALLS[method], X, y, ValueError,
                    r"^X has values too large for float32$")


@pytest.mark.parametrize("method", Y_CALLS)
def test_float64_y_beyond_float32_range_into_float32_net(method):
    net = make_net("identity", np.float32)
    X, y = clean_data("identity")
    y = y.copy()
    y[0, 0] = -1e39
    assert_rejected(net, Y_CALLS[method], X, y, ValueError,
                    r"^y has values too large for float32$")


@pytest.mark.skipif(np.finfo(np.longdouble).max <= np.finfo(np.float64).max,
                    reason="long double is double on this platform")
def test_long_double_beyond_float64_range():
    net = make_net("identity")
    X, y = clean_data("identity")
    X = X.astype(np.longdouble)
    X[0, 0] = np.longdouble("1e400")
    assert_rejected(net, call_forward, X, y, ValueError,
                    r"^X has values too large for float64$")
    # In range, long double is accepted and rounded to float64.
    X[0, 0] = 0.5
    assert np.array_equal(net.forward(X), net.forward(X.astype(np.float64)))


@pytest.mark.parametrize("method", ["train_step", "fit"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_training_refuses_non_finite_parameters(dtype, method, value):
    # Users may write into params, weights or biases; training does not
    # start from non-finite weights (it could not restore a finite state).
    net = make_net("softmax", dtype)
    X, y = clean_data("softmax")
    net.weights[0][1, 2] = value
    assert_rejected(net, Y_CALLS[method], X, y, ValueError,
                    r"the network's parameters contain NaN or infinity")


# ---------------------------------------------------------------------------
# y: checks depend on the output layer
# ---------------------------------------------------------------------------

def set_label(value):
    def put(y):
        y = np.array(y, dtype=np.float64 if isinstance(value, float) else np.int64)
        y[3] = value
        return y
    return put


BAD_Y = {
    # id: (output, make_bad(y), exception, match)
    "too_short": ("softmax", lambda y: y[:-1], ValueError, r"^y has 5 samples, but X has 6$"),
    "too_long": ("identity", lambda y: np.vstack([y, y[:1]]), ValueError,
                 r"^y has 7 samples, but X has 6$"),
    "empty": ("sigmoid", lambda y: y[:0], ValueError, r"y has 0 samples, but X has 6"),
    "too_few_columns": ("identity", lambda y: y[:, :2], ValueError,
                        r"^y has 2 columns, but the network has 3 outputs$"),
    "too_many_columns": ("sigmoid", lambda y: np.hstack([y, y[:, :1]]), ValueError,
                         r"y has 4 columns, but the network has 3 outputs"),
    "softmax_rows_too_few_columns": ("softmax", lambda y: np.eye(2)[y % 2], ValueError,
                                     r"y has 2 columns, but the network has 3 outputs"),
    # A column of labels (n, 1) is accepted for softmax (tests/test_network_api.py);
    # other column counts are not.
    "softmax_two_columns": ("softmax", lambda y: np.column_stack([y, y]), ValueError,
                            r"y has 2 columns, but the network has 3 outputs"),
    "one_dimensional_sigmoid": ("sigmoid", lambda y: y[:, 0], ValueError,
                                r"y is 1-D, but the network has 3 sigmoid outputs"),
    "one_dimensional_identity": ("identity", lambda y: y[:, 0], ValueError,
                                 r"y is 1-D, but the network has 3 identity outputs"),
    "three_dimensional": ("identity", lambda y: y[:, :, None], ValueError,
                          r"y must be 1-D or 2-D, got 3-D"),
    "zero_dimensional": ("identity", lambda y: np.float64(0.5), ValueError,
                         r"y must be 1-D or 2-D, got 0-D"),
    "label_negative": ("softmax", set_label(-1), ValueError,
                       r"y has label -1, but the network's 3 outputs take labels 0\.\.2"),
    "label_too_large": ("softmax", set_label(3), ValueError,
                        r"y has label 3, but the network's 3 outputs take labels 0\.\.2"),
    "float_label_too_large": ("softmax", set_label(3.0), ValueError, r"y has label 3\b"),
    "float_label_negative": ("softmax", set_label(-1.0), ValueError, r"y has label -1\b"),
    "label_not_integer": ("softmax", set_label(1.5), ValueError,
                          r"y holds class labels for a softmax output, but has non-integer"),
    "probabilities_not_summing_to_one": (
        "softmax", lambda y: np.tile([0.5, 0.3, 0.1], (len(y), 1)), ValueError,
        r"rows of y must sum to 1"),
    "probabilities_outside_0_1": (
        "softmax", lambda y: np.tile([1.5, -0.5, 0.0], (len(y), 1)), ValueError,
        r"y for a softmax output must lie in \[0, 1\]"),
    "sigmoid_above_one": ("sigmoid", with_value(1.5), ValueError,
                          r"y for a sigmoid output must lie in \[0, 1\]"),
    "sigmoid_below_zero": ("sigmoid", with_value(-0.5), ValueError,
                           r"y for a sigmoid output must lie in \[0, 1\]"),
    "object": ("identity", lambda y: y.astype(object), TypeError,
               r"y must hold real numbers, got dtype object"),
    "complex": ("identity", lambda y: y + 0j, TypeError,
                r"y must hold real numbers, got dtype complex128"),
    "str_array": ("softmax", lambda y: y.astype(str), TypeError,
                  r"y holds strings \(such as '\d'\), but a softmax network takes "
                  r"integer class labels 0\.\.2: encode them first"),
    "bytes_array": ("softmax", lambda y: y.astype(bytes), TypeError,
                    r"y holds strings \(such as b'\d'\)"),
    "str_array_identity": ("identity", lambda y: y.astype(str), TypeError,
                           r"y must hold real numbers, got dtype <U"),
    "str": ("softmax", lambda y: "012012", TypeError, r"y must be numeric array-like, got str"),
    "bytes": ("softmax", lambda y: b"012012", TypeError,
              r"y must be numeric array-like, got bytes"),
    "structured": ("identity", structured, TypeError, r"y must hold real numbers, got dtype \["),
    "datetime": ("identity", lambda y: np.zeros(y.shape, dtype="datetime64[D]"), TypeError,
                 r"y must hold real numbers, got dtype datetime64\[D\]"),
    "ragged": ("identity", lambda y: [list(row) for row in y[:-1]] + [[0.0]], ValueError,
               r"y could not be converted to a numeric array"),
    "none": ("identity", lambda y: None, TypeError, r"y must hold real numbers, got dtype object"),
}
for _output in OUTPUTS:
    for _name, _value in (("nan", np.nan), ("plus_inf", np.inf), ("minus_inf", -np.inf)):
        BAD_Y[f"{_name}_{_output}"] = (
            _output, set_label(_value) if _output == "softmax" else with_value(_value),
            ValueError, r"^y contains NaN or infinity$")


@pytest.mark.parametrize("method", Y_CALLS)
@pytest.mark.parametrize("case", BAD_Y)
def test_bad_y_is_rejected_and_network_untouched(dtype, case, method):
    output, make_bad, exception, match = BAD_Y[case]
    net = make_net(output, dtype)
    X, y = clean_data(output)
    assert_rejected(net, Y_CALLS[method], X, make_bad(y), exception, match)


# ---------------------------------------------------------------------------
# Hyperparameters of train_step and fit
# ---------------------------------------------------------------------------

BAD_LEARNING_RATES = [
    (-0.1, ValueError, r"learning_rate must be a finite number >= 0, got -0\.1"),
    (np.nan, ValueError, r"learning_rate must be a finite number >= 0, got nan"),
    (np.inf, ValueError, r"learning_rate must be a finite number >= 0, got inf"),
    (-np.inf, ValueError, r"learning_rate must be a finite number >= 0, got -inf"),
    ("0.1", TypeError, r"learning_rate must be a real number, got str"),
    (True, TypeError, r"learning_rate must be a real number, got bool"),
    (np.True_, TypeError, r"learning_rate must be a real number, got bool"),
    (None, TypeError, r"learning_rate must be a real number, got NoneType"),
    (0.1 + 0j, TypeError, r"learning_rate must be a real number, got complex"),
    (np.array([0.1]), TypeError, r"learning_rate must be a real number, got ndarray"),
]


@pytest.mark.parametrize("method", ["train_step", "fit"])
@pytest.mark.parametrize("value, exception, match", BAD_LEARNING_RATES, ids=repr)
def test_bad_learning_rate(dtype, method, value, exception, match):
    net = make_net("softmax", dtype)
    X, y = clean_data("softmax")
    if method == "train_step":
        def call(net, X, y):
            return net.train_step(X, y, learning_rate=value)
    else:
        def call(net, X, y):
            return net.fit(X, y, learning_rate=value)
        if isinstance(value, str):      # fit also takes the names of schedules
            exception, match = ValueError, (r"learning_rate must be a number >= 0, a "
                                            r"function of the epoch or one of .*got '0.1'")
    assert_rejected(net, call, X, y, exception, match)


BAD_FIT_ARGUMENTS = [
    ("epochs", 0, ValueError, r"^epochs must be >= 1, got 0$"),
    ("epochs", -1, ValueError, r"^epochs must be >= 1, got -1$"),
    ("epochs", 1.5, TypeError, r"^epochs must be an integer, got float$"),
    ("epochs", 2.0, TypeError, r"^epochs must be an integer, got float$"),
    ("epochs", True, TypeError, r"^epochs must be an integer, got bool$"),
    ("epochs", None, TypeError, r"^epochs must be an integer, got NoneType$"),
    ("epochs", "2", TypeError, r"^epochs must be an integer, got str$"),
    ("batch_size", 0, ValueError, r"^batch_size must be >= 1, got 0$"),
    ("batch_size", -3, ValueError, r"^batch_size must be >= 1, got -3$"),
    ("batch_size", None, TypeError, r"^batch_size must be an integer, got NoneType$"),
    ("batch_size", 2.0, TypeError, r"^batch_size must be an integer, got float$"),
    ("batch_size", True, TypeError, r"^batch_size must be an integer, got bool$"),
    ("shuffle", 1, TypeError, r"^shuffle must be a bool, got int$"),
    ("shuffle", 0, TypeError, r"^shuffle must be a bool, got int$"),
    ("shuffle", "yes", TypeError, r"^shuffle must be a bool, got str$"),
    ("shuffle", None, TypeError, r"^shuffle must be a bool, got NoneType$"),
    ("shuffle", 1.0, TypeError, r"^shuffle must be a bool, got float$"),
]


@pytest.mark.parametrize("name, value, exception, match", BAD_FIT_ARGUMENTS, ids=repr)
def test_bad_fit_arguments(dtype, name, value, exception, match):
    net = make_net("softmax", dtype)
    X, y = clean_data("softmax")

    def call(net, X, y):
        return net.fit(X, y, **{name: value})
    assert_rejected(net, call, X, y, exception, match)


def test_rejected_fit_does_not_advance_the_shuffling_generator(dtype):
    # A refused call must not change the network in any way that shows later:
    # the next fit shuffles exactly as on a fresh network.
    X, y = clean_data("softmax")
    refused, fresh = make_net("softmax", dtype), make_net("softmax", dtype)
    for kwargs in ({"epochs": 0}, {"batch_size": 0}, {"learning_rate": -1.0},
                   {"shuffle": 1}):
        with pytest.raises((TypeError, ValueError)):
            refused.fit(X, y, **kwargs)
    with pytest.raises(ValueError, match="X has 3 features"):
        refused.fit(X[:, :3], y)
    assert refused.fit(X, y, epochs=2) == fresh.fit(X, y, epochs=2)
    assert np.array_equal(refused.params, fresh.params)


# ---------------------------------------------------------------------------
# Constructor
# ---------------------------------------------------------------------------

BAD_LAYER_SIZES = [
    ([4, 0, 3], ValueError, r"^layer_sizes\[1\] must be >= 1, got 0$"),
    ([4, -2, 3], ValueError, r"^layer_sizes\[1\] must be >= 1, got -2$"),
    ([0, 3], ValueError, r"^layer_sizes\[0\] must be >= 1, got 0$"),
    ([4, 3, 0], ValueError, r"^layer_sizes\[2\] must be >= 1, got 0$"),
    ([4, True, 3], TypeError, r"^layer_sizes\[1\] must be an integer, got bool$"),
    ([4, 5.0, 3], TypeError, r"^layer_sizes\[1\] must be an integer, got float$"),
    ([4, np.float64(5), 3], TypeError, r"^layer_sizes\[1\] must be an integer, got float64$"),
    ([4, None, 3], TypeError, r"^layer_sizes\[1\] must be an integer, got NoneType$"),
    ([4, "5", 3], TypeError, r"^layer_sizes\[1\] must be an integer, got str$"),
    ([4], ValueError, r"layer_sizes needs at least two entries .*got 1$"),
    ([], ValueError, r"layer_sizes needs at least two entries .*got 0$"),
    ((), ValueError, r"layer_sizes needs at least two entries .*got 0$"),
    ("43", TypeError, r"^layer_sizes must be a sequence of integers .*got str$"),
    (b"43", TypeError, r"^layer_sizes must be a sequence of integers .*got bytes$"),
    (None, TypeError, r"^layer_sizes must be a sequence of integers .*got NoneType$"),
    (5, TypeError, r"^layer_sizes must be a sequence of integers .*got int$"),
    (iter([4, 3]), TypeError, r"^layer_sizes must be a sequence of integers .*got list_iterator$"),
    ([4, 2**31], ValueError, r"^layer_sizes\[1\] = 2147483648 is too large for BLAS"),
]


@pytest.mark.parametrize("layer_sizes, exception, match", BAD_LAYER_SIZES, ids=repr)
def test_bad_layer_sizes(layer_sizes, exception, match):
    with pytest.raises(exception, match=match):
        nncore.Network(layer_sizes, output="sigmoid")


@pytest.mark.parametrize("sizes", [[4, 1], [4, 6, 1]], ids=str)
def test_softmax_needs_two_outputs(sizes):
    with pytest.raises(ValueError, match=r"a softmax output needs at least 2 units, got 1; "
                       r"use output='sigmoid'"):
        nncore.Network(sizes, output="softmax")
    with pytest.raises(ValueError, match=r"softmax output needs at least 2 units"):
        nncore.Network(sizes)  # softmax is the default
    assert nncore.Network(sizes, output="sigmoid").layer_sizes == tuple(sizes)


@pytest.mark.parametrize("value, exception, match", [
    ("softmax", ValueError, r"^activation must be one of \['identity', 'relu', 'sigmoid', "
                            r"'tanh'\], got 'softmax'$"),
    ("Sigmoid", ValueError, r"^activation must be one of .*got 'Sigmoid'$"),
    ("", ValueError, r"^activation must be one of .*got ''$"),
    ("leaky_relu", ValueError, r"^activation must be one of .*got 'leaky_relu'$"),
    (1, TypeError, r"^activation must be a string, got int$"),
    (None, TypeError, r"^activation must be a string, got NoneType$"),
    (b"sigmoid", TypeError, r"^activation must be a string, got bytes$"),
    (np.tanh, TypeError, r"^activation must be a string, got ufunc$"),
], ids=repr)
def test_bad_activation(value, exception, match):
    with pytest.raises(exception, match=match):
        nncore.Network([4, 5, 3], activation=value)


@pytest.mark.parametrize("value, exception, match", [
    ("relu", ValueError, r"^output must be one of \['identity', 'sigmoid', 'softmax'\], "
                         r"got 'relu'$"),
    ("tanh", ValueError, r"^output must be one of .*got 'tanh'$"),
    ("Softmax", ValueError, r"^output must be one of .*got 'Softmax'$"),
    ("", ValueError, r"^output must be one of .*got ''$"),
    (2, TypeError, r"^output must be a string, got int$"),
    (None, TypeError, r"^output must be a string, got NoneType$"),
    (b"softmax", TypeError, r"^output must be a string, got bytes$"),
], ids=repr)
def test_bad_output(value, exception, match):
    with pytest.raises(exception, match=match):
        nncore.Network([4, 5, 3], output=value)


@pytest.mark.parametrize("value, match", [
    ("int32", r"^dtype must be float32 or float64, got int32$"),
    ("float16", r"^dtype must be float32 or float64, got float16$"),
    (np.int64, r"^dtype must be float32 or float64, got int64$"),
    (bool, r"^dtype must be float32 or float64, got bool$"),
    ("complex128", r"^dtype must be float32 or float64, got complex128$"),
    (np.longdouble, r"^dtype must be float32 or float64, got float"),
    ("datetime64[s]", r"^dtype must be float32 or float64, got datetime64"),
    (object, r"^dtype must be float32 or float64, got object$"),
    (object(), r"^dtype must be float32 or float64, got <object object"),
    ("not_a_dtype", r"^dtype must be float32 or float64, got 'not_a_dtype'$"),
], ids=repr)
def test_bad_dtype(value, match):
    if np.dtype(np.longdouble) == np.dtype(np.float64) and value is np.longdouble:
        pytest.skip("long double is double on this platform")
    with pytest.raises(TypeError, match=match):
        nncore.Network([4, 5, 3], dtype=value)


@pytest.mark.parametrize("dtype_spelling, expected", [
    ("float64", np.float64), ("float32", np.float32), (np.float32, np.float32),
    (np.dtype("float64"), np.float64), ("f4", np.float32), ("double", np.float64),
], ids=repr)
def test_dtype_spellings(dtype_spelling, expected):
    net = nncore.Network([4, 5, 3], dtype=dtype_spelling, seed=0)
    assert net.dtype == np.dtype(expected)
    assert net.params.dtype == np.dtype(expected)


def test_refused_construction_does_not_draw_from_the_seed_generator():
    generator = np.random.default_rng(0)
    state = copy.deepcopy(generator.bit_generator.state)
    for kwargs in ({"layer_sizes": [4, 0]}, {"layer_sizes": [4, 3], "activation": "x"},
                   {"layer_sizes": [4, 3], "output": "x"},
                   {"layer_sizes": [4, 3], "dtype": "int32"},
                   {"layer_sizes": [4, 1], "output": "softmax"}):
        with pytest.raises((TypeError, ValueError)):
            nncore.Network(seed=generator, **kwargs)
    assert generator.bit_generator.state == state


def test_logistic_is_an_alias_of_sigmoid(dtype):
    alias = nncore.Network([4, 5, 3], activation="logistic", dtype=dtype, seed=3)
    sigmoid = nncore.Network([4, 5, 3], activation="sigmoid", dtype=dtype, seed=3)
    assert alias.activation == "sigmoid"
    # Same Glorot bound (k = 2 for sigmoid) and the same computation.
    assert np.array_equal(alias.params, sigmoid.params)
    X, y = clean_data("softmax")
    assert np.array_equal(alias.forward(X), sigmoid.forward(X))
    assert alias.fit(X, y, epochs=2, seed=0) == sigmoid.fit(X, y, epochs=2, seed=0)
    assert np.array_equal(alias.params, sigmoid.params)


# ---------------------------------------------------------------------------
# Accepted inputs that are converted: exactly the clean result
# ---------------------------------------------------------------------------

def outcomes(output, dtype, X, y):
    """Everything each method returns (and fit/train_step leave) on fresh networks."""
    results = {"forward": make_net(output, dtype).forward(X),
               "loss": make_net(output, dtype).loss(X, y)}
    dW, db = make_net(output, dtype).gradients(X, y)
    results["gradients"] = np.concatenate([g.ravel() for g in dW + db])
    net = make_net(output, dtype)
    results["train_step"] = (net.train_step(X, y, learning_rate=0.1), net.params.copy())
    net = make_net(output, dtype)
    losses = net.fit(X, y, epochs=2, batch_size=4, learning_rate=0.1, shuffle=True, seed=5)
    results["fit"] = (losses, net.params.copy())
    net = make_net(output, dtype)
    losses = net.fit(X, y, epochs=1, batch_size=1, learning_rate=0.1, shuffle=False)
    results["fit_online"] = (losses, net.params.copy())
    return results


def assert_same_outcomes(actual, expected, dtype):
    assert actual.keys() == expected.keys()
    assert actual["forward"].dtype == np.dtype(dtype)
    for key in expected:
        a, e = actual[key], expected[key]
        if isinstance(e, tuple):
            assert a[0] == e[0], key
            assert a[1].dtype == e[1].dtype, key
            assert a[1].tobytes() == e[1].tobytes(), key
        elif isinstance(e, np.ndarray):
            assert a.dtype == e.dtype, key
            assert a.shape == e.shape, key
            assert a.tobytes() == e.tobytes(), key
        else:
            assert a == e, key


def snapshot(data):
    return copy.deepcopy(data)


def assert_unchanged(data, saved):
    if isinstance(saved, np.ndarray):
        assert data.dtype == saved.dtype
        assert data.shape == saved.shape
        assert np.array_equal(data, saved, equal_nan=data.dtype.kind == "f")
        assert data.tobytes() == saved.tobytes()
    else:
        assert data == saved


def _strided_rows(X, y):
    bigX = np.repeat(X, 2, axis=0)
    bigX[1::2] = 99.0  # rows that must not be seen
    bigy = np.repeat(y, 2, axis=0)
    return bigX[::2], bigy[::2], bigX[::2].copy(), bigy[::2].copy()


def _readonly(X, y):
    X_in, y_in = X.copy(), y.copy()
    X_in.setflags(write=False)
    y_in.setflags(write=False)
    return X_in, y_in, X, y


# id: f(X, y) -> (X given, y given, clean float64 C-contiguous X, clean y)
CONVERSIONS = {
    "lists": lambda X, y: (X.tolist(), y.tolist(), X, y),
    "tuples": lambda X, y: (tuple(map(tuple, X.tolist())), y.tolist(), X, y),
    "int_X": lambda X, y: ((X * 4).astype(np.int64), y,
                           (X * 4).astype(np.int64).astype(np.float64), y),
    "int8_X": lambda X, y: ((X * 4).astype(np.int8), y,
                            (X * 4).astype(np.int8).astype(np.float64), y),
    "uint16_X": lambda X, y: ((X * 4 + 4).astype(np.uint16), y,
                              (X * 4 + 4).astype(np.uint16).astype(np.float64), y),
    "bool_X": lambda X, y: (X > 0, y, (X > 0).astype(np.float64), y),
    "float32_X": lambda X, y: (X.astype(np.float32), y,
                               X.astype(np.float32).astype(np.float64), y),
    "fortran": lambda X, y: (np.asfortranarray(X), np.asfortranarray(y), X, y),
    "strided_rows": _strided_rows,
    "reversed_columns": lambda X, y: (X[:, ::-1], y, np.ascontiguousarray(X[:, ::-1]), y),
    "transposed_view": lambda X, y: (np.ascontiguousarray(X.T).T, y, X, y),
    "readonly": _readonly,
}


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("case", CONVERSIONS)
def test_converted_input_gives_the_clean_result(dtype, output, case):
    X, y = clean_data(output)
    X_in, y_in, X_clean, y_clean = CONVERSIONS[case](X, y)
    assert X_clean.dtype == np.float64 and X_clean.flags.c_contiguous
    saved_X, saved_y = snapshot(X_in), snapshot(y_in)
    expected = outcomes(output, dtype, X_clean, y_clean)
    actual = outcomes(output, dtype, X_in, y_in)
    assert_same_outcomes(actual, expected, dtype)
    # The caller's data is never written, whatever had to be converted.
    assert_unchanged(X_in, saved_X)
    assert_unchanged(y_in, saved_y)


# id: (output, f(y) -> equivalent target in another form)
TARGET_FORMS = {
    "softmax_int32_labels": ("softmax", lambda y: y.astype(np.int32)),
    "softmax_uint8_labels": ("softmax", lambda y: y.astype(np.uint8)),
    "softmax_float_labels": ("softmax", lambda y: y.astype(np.float64)),
    "softmax_float32_labels": ("softmax", lambda y: y.astype(np.float32)),
    "softmax_label_list": ("softmax", lambda y: y.tolist()),
    "softmax_one_hot_rows": ("softmax", lambda y: np.eye(3)[y]),
    "softmax_one_hot_int_rows": ("softmax", lambda y: np.eye(3, dtype=np.int64)[y]),
    "sigmoid_bool": ("sigmoid", lambda y: y.astype(bool)),
    "sigmoid_int": ("sigmoid", lambda y: y.astype(np.int64)),
    "sigmoid_float32": ("sigmoid", lambda y: y.astype(np.float32)),
    "sigmoid_fortran": ("sigmoid", np.asfortranarray),
    "identity_float32_on_float32_grid": ("identity", lambda y: y.astype(np.float32)),
    "identity_reversed_columns": ("identity", lambda y: y[:, ::-1]),
}


@pytest.mark.parametrize("case", TARGET_FORMS)
def test_equivalent_target_forms(dtype, case):
    output, convert = TARGET_FORMS[case]
    X, y = clean_data(output)
    y_in = convert(y)
    if case == "identity_float32_on_float32_grid":
        y = y.astype(np.float32).astype(np.float64)
    if case == "identity_reversed_columns":
        y = np.ascontiguousarray(y[:, ::-1])
    saved = snapshot(y_in)
    assert_same_outcomes(outcomes(output, dtype, X, y_in), outcomes(output, dtype, X, y),
                         dtype)
    assert_unchanged(y_in, saved)


@pytest.mark.parametrize("output", ["sigmoid", "identity"])
def test_one_output_takes_1d_or_column_targets(dtype, output):
    sizes = (4, 5, 1)
    X, y = clean_data(output, sizes=sizes)
    assert y.shape == (N_SAMPLES, 1)

    def run(target):
        net = make_net(output, dtype, sizes=sizes)
        loss = net.loss(X, target)
        losses = net.fit(X, target, epochs=2, batch_size=2, seed=0)
        return loss, losses, net.params.copy()

    column, flat = run(y), run(y[:, 0])
    assert column[:2] == flat[:2]
    assert np.array_equal(column[2], flat[2])


def test_float64_input_into_float32_network_equals_float32_input():
    X, y = clean_data("identity")
    expected = outcomes("identity", np.float32, X.astype(np.float32), y.astype(np.float32))
    saved_X, saved_y = X.copy(), y.copy()
    assert_same_outcomes(outcomes("identity", np.float32, X, y), expected, np.float32)
    assert_unchanged(X, saved_X)
    assert_unchanged(y, saved_y)


@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_memmap_input(tmp_path, dtype, mode):
    X, y = clean_data("identity")
    for name, data in (("X", X), ("y", y)):
        mm = np.memmap(tmp_path / f"{name}.dat", dtype=np.float64, mode="w+", shape=data.shape)
        mm[...] = data
        mm.flush()
        del mm
    X_mm = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode=mode, shape=X.shape)
    y_mm = np.memmap(tmp_path / "y.dat", dtype=np.float64, mode=mode, shape=y.shape)
    assert_same_outcomes(outcomes("identity", dtype, X_mm, y_mm),
                         outcomes("identity", dtype, X, y), dtype)
    assert np.array_equal(X_mm, X) and np.array_equal(y_mm, y)
    del X_mm, y_mm
    # The files themselves are untouched.
    assert np.array_equal(np.fromfile(tmp_path / "X.dat", dtype=np.float64).reshape(X.shape), X)
    assert np.array_equal(np.fromfile(tmp_path / "y.dat", dtype=np.float64).reshape(y.shape), y)


@pytest.mark.parametrize("output", OUTPUTS)
def test_batch_size_larger_than_n_samples_is_clipped(dtype, output):
    X, y = clean_data(output)
    results = []
    for batch_size in (N_SAMPLES, N_SAMPLES + 1, 1000):
        net = make_net(output, dtype)
        losses = net.fit(X, y, epochs=3, batch_size=batch_size, learning_rate=0.1,
                         shuffle=True, seed=11)
        results.append((losses, net.params.copy()))
    for losses, params in results[1:]:
        assert losses == results[0][0]
        assert params.tobytes() == results[0][1].tobytes()


def test_numpy_scalars_are_accepted_as_hyperparameters(dtype):
    X, y = clean_data("softmax")
    plain, numpy_scalars = make_net("softmax", dtype), make_net("softmax", dtype)
    expected = plain.fit(X, y, epochs=2, batch_size=3, learning_rate=0.25, shuffle=True, seed=1)
    actual = numpy_scalars.fit(X, y, epochs=np.int64(2), batch_size=np.int32(3),
                               learning_rate=np.float64(0.25), shuffle=np.True_,
                               seed=np.int64(1))
    assert actual == expected
    assert np.array_equal(numpy_scalars.params, plain.params)
    # An integer learning rate is a real number too.
    assert make_net("softmax", dtype).train_step(X, y, learning_rate=1) == \
        make_net("softmax", dtype).train_step(X, y, learning_rate=1.0)


# ---------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------

def diverging_setup(dtype, n_samples=20):
    # Identity layers, inputs ~1e3, targets 1e3, learning rate 1e6: every step
    # multiplies the weights by ~1e9, so the squared error overflows within a
    # few steps (float64: about 3 samples, float32: about 2).
    rng = np.random.default_rng(0)
    net = nncore.Network([3, 4, 1], activation="identity", output="identity",
                         dtype=dtype, seed=0)
    X = rng.uniform(500, 1500, (n_samples, 3))
    y = np.full((n_samples, 1), 1e3)
    return net, X, y


@pytest.mark.parametrize("batch_size", [1, 4, 20])
def test_fit_divergence_raises_and_keeps_finite_weights(dtype, batch_size):
    net, X, y = diverging_setup(dtype)
    assert issubclass(nncore.DivergenceError, FloatingPointError)
    with pytest.raises(nncore.DivergenceError, match="non-finite") as info:
        net.fit(X, y, epochs=10, batch_size=batch_size, learning_rate=1e6, shuffle=False)
    assert isinstance(info.value, FloatingPointError)
    epoch, sample = info.value.epoch, info.value.sample
    assert 0 <= epoch < 10 and 0 <= sample < len(X)
    assert np.isfinite(net.params).all()
    # The weights are exactly those after `epoch` epochs and `sample` samples
    # (a multiple of batch_size: the state at a completed step).
    assert sample % batch_size == 0
    replay, _, _ = diverging_setup(dtype)
    if epoch:
        replay.fit(X, y, epochs=epoch, batch_size=batch_size, learning_rate=1e6,
                   shuffle=False)
    if sample:
        replay.fit(X[:sample], y[:sample], epochs=1, batch_size=batch_size,
                   learning_rate=1e6, shuffle=False)
    assert net.params.tobytes() == replay.params.tobytes()


@pytest.mark.parametrize("case", ["last_step_overflows", "next_epoch_would_restore_inf",
                                  "full_batch_float32"])
def test_fit_never_leaves_non_finite_weights(case):
    # The loss of a step is computed before its update, so the update itself
    # can overflow the weights while every loss was finite.
    if case == "full_batch_float32":
        net, X, y = diverging_setup(np.float32)
        kwargs = {"epochs": 3, "batch_size": 20, "learning_rate": 1e6}
    else:
        # One weight, one bias, one sample: the loss of the step is finite
        # (about 1e11), the update w -= 1e300 * (z - t) * 1e6 overflows.
        net = nncore.Network([1, 1], activation="identity", output="identity", seed=0)
        X, y = np.array([[1e6]]), np.array([[0.0]])
        kwargs = {"epochs": 1 if case == "last_step_overflows" else 2,
                  "learning_rate": 1e300}
    before = net.params.copy()
    with pytest.raises(nncore.DivergenceError):
        net.fit(X, y, shuffle=False, **kwargs)
    assert np.isfinite(net.params).all()
    if case != "full_batch_float32":
        assert net.params.tobytes() == before.tobytes()


def train_until_divergence(net, X, y):
    """train_step with learning rate 1e6 until it refuses; the params before that call."""
    for step in range(50):
        before = net.params.copy()
        try:
            loss = net.train_step(X, y, learning_rate=1e6)
        except nncore.DivergenceError as exc:
            assert isinstance(exc, FloatingPointError)
            assert "not finite" in str(exc)
            return step, before
        assert np.isfinite(loss)
    pytest.fail("the setup did not diverge in 50 steps")


def test_train_step_divergence_leaves_params_unchanged(dtype):
    net, X, y = diverging_setup(dtype, n_samples=8)
    # As outside this suite, where NumPy's overflow warnings stay warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        step, before = train_until_divergence(net, X, y)
    assert step > 0  # it took finite steps first, then refused one
    assert net.params.tobytes() == before.tobytes()
    assert np.isfinite(net.params).all()


def test_train_step_divergence_emits_no_warning(dtype):
    net, X, y = diverging_setup(dtype, n_samples=8)
    step, before = train_until_divergence(net, X, y)
    assert net.params.tobytes() == before.tobytes()


@pytest.mark.parametrize("dtype_", DTYPES, ids=lambda d: np.dtype(d).name)
def test_train_step_refuses_an_overflowing_update(dtype_):
    # Loss (~1e11) and gradient are finite; params - 1e300 * gradient is not.
    net = nncore.Network([1, 1], activation="identity", output="identity",
                         dtype=dtype_, seed=0)
    X, y = np.array([[1e6]]), np.array([[0.0]])
    rate = 1e300 if dtype_ is np.float64 else 1e30
    before = net.params.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(nncore.DivergenceError, match="not finite"):
            net.train_step(X, y, learning_rate=rate)
    assert net.params.tobytes() == before.tobytes()


def test_learning_rate_must_be_representable_in_a_float32_network():
    net = nncore.Network([2, 3, 2], dtype="float32", seed=0)
    X, y = np.ones((2, 2)), np.array([0, 1])
    before = net.params.copy()
    for rate in (1e-50, 1e39):
        with pytest.raises(ValueError, match="learning_rate .* not representable in float32"):
            net.fit(X, y, learning_rate=rate)
        with pytest.raises(ValueError, match="learning_rate .* not representable in float32"):
            net.train_step(X, y, learning_rate=rate)
    assert net.params.tobytes() == before.tobytes()
    nncore.Network([2, 3, 2], dtype="float64", seed=0).fit(X, y, learning_rate=1e-50)


def test_dtype_none_is_refused():
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got None"):
        nncore.Network([2, 3, 2], dtype=None)


# ---------------------------------------------------------------------------
# Seeds, and what users do to net.params (issue 11, item 14)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed, exception, match", [
    (-1, ValueError, r"seed must be None, a non-negative integer or a "
                     r"numpy.random.Generator, got -1; pick any integer >= 0"),
    (np.int64(-5), ValueError, r"seed must be .* got -5"),
    ("abc", TypeError, r"seed must be None, a non-negative integer or a "
                       r"numpy.random.Generator, got str"),
    (1.5, TypeError, r"seed must be .* got float"),
])
def test_bad_seed_names_the_argument(seed, exception, match):
    with pytest.raises(exception, match=match):
        nncore.Network([2, 2], seed=seed)
    net = nncore.Network([2, 2], seed=0)
    with pytest.raises(exception, match=match):
        net.fit([[0., 1.]], [1], seed=seed)
    assert net.history == []


def _read_only(view):
    view.flags.writeable = False


def _reshaped(view):
    view.shape = (view.shape[0] // 2, 2)


def _retyped(view):
    view.dtype = np.int64 if view.dtype == np.float64 else np.int32


@pytest.mark.parametrize("tamper", [_read_only, _reshaped, _retyped])
def test_changing_the_params_view_does_not_break_the_network(dtype, tamper):
    # Made read-only, reshaped or retyped in place, net.params used to be the
    # network's own buffer: fit then failed with "buffer source array is
    # read-only" or "No matching signature found". Each access is now a view
    # of its own, so the change stays with that view.
    X, y = [[0., 1.], [1., 0.]], [0, 1]
    net = nncore.Network([2, 3, 2], dtype=dtype, seed=0)
    fresh = nncore.Network([2, 3, 2], dtype=dtype, seed=0)
    tamper(net.params)
    for weights in net.weights + net.biases:
        weights.flags.writeable = False
    assert net.params.shape == fresh.params.shape
    assert net.params.flags.writeable and net.weights[0].flags.writeable
    np.testing.assert_array_equal(net.forward(X), fresh.forward(X))
    assert net.fit(X, y, epochs=2, seed=0) == fresh.fit(X, y, epochs=2, seed=0)
    net.train_step(X, y)
    fresh.train_step(X, y)
    np.testing.assert_array_equal(net.params, fresh.params)
    net.params[...] = 0     # writes through a view still change the network
    np.testing.assert_array_equal(net.forward(X), 0.5)   # softmax of zeros
