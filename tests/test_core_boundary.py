# SPDX-License-Identifier: MIT
"""Every entry into the compiled core checks the parameters' layout against
the data it will touch, whatever the Python side's state says.

The first cases are issue 11's heap overflow: a fitted estimator whose
``coefs_[0]`` was replaced by one with fewer input rows, then given a CSR
matrix with more columns, made the core write past the end of its gathered
rows (SIGSEGV, or silent heap corruption under ASan: heap-buffer-overflow in
``gather_batch``).
"""
import numpy as np
import pytest
import scipy.sparse as sp

from nncore import _core, _params

sklearn = pytest.importorskip("sklearn")
from nncore.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def _fitted(cls, n_features, rng, **options):
    X = rng.normal(size=(40, n_features))
    y = rng.integers(0, 3, 40) if cls is MLPClassifier else rng.normal(size=40)
    return cls(hidden_layer_sizes=(7,), max_iter=2, random_state=0,
               **options).fit(X, y), X, y


def _shrink_first_layer(est, n_inputs):
    """What users do: assign new coefs_ (here with fewer input rows)."""
    est.coefs_ = [np.ascontiguousarray(est.coefs_[0][:n_inputs])] + list(est.coefs_[1:])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cls, call", [
    (cls, call) for cls in (MLPClassifier, MLPRegressor)
    for call in ("predict", "predict_proba", "partial_fit", "lbfgs_fit")
    if not (cls is MLPRegressor and call == "predict_proba")])
def test_replaced_coefs_with_wider_sparse_input_is_refused(cls, call, rng):
    est, X, y = _fitted(cls, 300, rng, solver="lbfgs" if call == "lbfgs_fit" else "adam")
    _shrink_first_layer(est, 3)
    X_sparse = sp.random(40, 300, density=0.5, format="csr", random_state=1)
    before = [c.copy() for c in est.coefs_]
    with pytest.raises(ValueError, match=r"X has 300 features, but coefs_\[0\] has 3 rows"):
        if call == "predict":
            est.predict(X_sparse)
        elif call == "predict_proba":
            est.predict_proba(X_sparse)
        elif call == "partial_fit":
            est.partial_fit(X_sparse, y)
        else:
            est.set_params(warm_start=True, max_iter=3).fit(X_sparse, y)
    for b, c in zip(before, est.coefs_):
        np.testing.assert_array_equal(b, c)


def _net(sizes, dtype=np.float64):
    table, n = _params.layout(sizes, dtype)
    params = np.full(n, 0.1, dtype=dtype)
    return params, table


@pytest.mark.parametrize("indices, indptr, message", [
    ([0, 5], [0, 1, 2], "out of range for 3 input columns"),    # column past the layer
    ([0, -1], [0, 1, 2], "out of range"),                        # negative column
    ([0, 1], [0, 2, 1], "out of range"),                         # decreasing indptr
    ([0, 1], [1, 1, 2], "out of range"),                         # indptr not from 0
    ([0, 1], [0, 1, 3], "out of range"),                         # indptr past nnz
])
def test_core_checks_csr_structure_itself(indices, indptr, message):
    """The core's own check, with Python's validation bypassed."""
    core = _core
    params, table = _net([3, 4, 2])
    data = np.ones(2)
    indices = np.array(indices, dtype=np.intp)
    indptr = np.array(indptr, dtype=np.intp)
    dense = np.zeros((0, 3))
    out = np.empty((2, 2))
    with pytest.raises(ValueError, match=message):
        core._solver_forward(params, table, 1, 0, dense, data, indices, indptr, out)
    Y = np.zeros((2, 2))
    empty = np.zeros(0)
    with pytest.raises(ValueError, match=message):
        core._solver_loss_grad(params, table, 1, 0, 0, dense, data, indices, indptr, Y,
                               empty, 0.0, np.empty_like(params), 16)
    order = np.arange(2, dtype=np.intp)
    t = np.zeros(1, dtype=np.intp)
    with pytest.raises(ValueError, match=message):
        core._solver_epoch(params, table, 1, 0, 0, dense, data, indices, indptr, Y, empty,
                           order, 1, {"solver": 1, "alpha": 0.0, "learning_rate": 0.1,
                                      "momentum": 0.0, "beta_1": 0.9, "beta_2": 0.999,
                                      "epsilon": 1e-8}, t,
                           np.zeros_like(params), np.zeros_like(params))


def test_core_checks_dense_and_csr_width_against_layout():
    """A CSR call says its width through X's columns; the core compares it
    with the first layer's inputs before touching anything."""
    core = _core
    params, table = _net([3, 4, 2])
    data = np.ones(1)
    indices = np.array([2], dtype=np.intp)
    indptr = np.array([0, 1], dtype=np.intp)
    with pytest.raises(ValueError, match="X has 5 columns, expected 3"):
        core._solver_forward(params, table, 1, 0, np.zeros((0, 5)), data, indices, indptr,
                         np.empty((1, 2)))


@pytest.mark.parametrize("change, message", [
    ({"epsilon": None}, "solver options lack 'epsilon'"),
    ({"solver": 99}, "unknown solver code 99"),
])
def test_solver_options_are_checked(change, message):
    params, table = _net([3, 4, 2])
    options = {"solver": _core._solver_codes()["adam"], "alpha": 0.0,
               "learning_rate": 0.1, "momentum": 0.0, "beta_1": 0.9, "beta_2": 0.999,
               "epsilon": 1e-8}
    options.update(change)
    options = {key: value for key, value in options.items() if value is not None}
    X, Y = np.zeros((2, 3)), np.zeros((2, 2))
    before = params.copy()
    with pytest.raises(ValueError, match=message):
        _core._solver_epoch(params, table, 1, 0, 0, X, np.zeros(0), np.zeros(0, np.intp),
                            np.zeros(0, np.intp), Y, np.zeros(0), np.arange(2), 1, options,
                            np.zeros(1, np.intp), np.zeros_like(params),
                            np.zeros_like(params))
    np.testing.assert_array_equal(params, before)
