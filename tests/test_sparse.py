# SPDX-License-Identifier: MIT
"""Sparse input stays sparse in the core and gives the dense input's results.

The first layer's product and its gradient are formed from the CSR entries
in place (issue 11, item 15): these tests hold that path to the dense one, for
every solver, both dtypes, single-sample and mini-batches, with empty rows and
duplicate entries (which add up, as in SciPy).
"""
import warnings

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")
pytest.importorskip("sklearn")
from nncore.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

TOLERANCE = {np.float64: 1e-10, np.float32: 2e-4}


def sparse_data(dtype, n_rows=40, n_cols=30, seed=0):
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n_rows, n_cols)) * (rng.random((n_rows, n_cols)) < 0.15)
    dense[3] = 0                      # an empty row
    X = sp.csr_matrix(dense.astype(dtype))
    return dense.astype(dtype), X, rng


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver, batch_size", [("sgd", 1), ("sgd", 7), ("adam", 1),
                                                ("adam", 16), ("lbfgs", None)])
def test_fit_and_predict_on_sparse_equal_dense(dtype, solver, batch_size):
    dense, X, rng = sparse_data(dtype)
    y = rng.integers(0, 3, size=dense.shape[0])
    params = dict(hidden_layer_sizes=(5, 4), solver=solver, max_iter=3, random_state=1,
                  learning_rate_init=0.05, alpha=1e-3)
    if batch_size is not None:
        params["batch_size"] = batch_size
    fitted = []
    for data in (dense, X):
        est = MLPClassifier(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(data, y)
        fitted.append(est)
    tol = TOLERANCE[dtype]
    for a, b in zip(fitted[0].coefs_ + fitted[0].intercepts_,
                    fitted[1].coefs_ + fitted[1].intercepts_):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
    # Prediction of either input by the same model: one row (gemv after the
    # sparse first layer) and many.
    for rows in (slice(0, 1), slice(None)):
        np.testing.assert_allclose(fitted[0].predict_proba(X[rows]),
                                   fitted[0].predict_proba(dense[rows]),
                                   rtol=tol, atol=tol)


def test_duplicate_entries_add_up():
    dense, X, rng = sparse_data(np.float64)
    y = rng.normal(size=dense.shape[0])
    est = MLPRegressor(hidden_layer_sizes=(6,), max_iter=2, random_state=0,
                       batch_size=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(dense, y)
    # Row 2 written as its entries each split into two halves.
    row = X.getrow(2)
    data = np.r_[row.data * 0.25, row.data * 0.75]
    indices = np.r_[row.indices, row.indices]
    duplicated = sp.csr_matrix((data, indices, [0, data.size]), shape=(1, X.shape[1]))
    assert not duplicated.has_canonical_format
    np.testing.assert_allclose(est.predict(duplicated), est.predict(dense[2:3]),
                               rtol=1e-12)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_large_steps_formed_in_sub_batches_read_the_right_rows(solver):
    # A step's gradient is formed in sub-batches when the batch times the
    # parameters is large (_core's STEP_SPLIT_WORK; here 1.2M parameters
    # split batches of 41 into 18 + 18 + 5): each sub-batch reads its own
    # rows' CSR ranges. Empty rows included, and an all-zero matrix.
    rng = np.random.default_rng(2)
    dense = rng.normal(size=(60, 20000)) * (rng.random((60, 20000)) < 0.002)
    dense[[5, 17, 18]] = 0
    y = rng.normal(size=60)
    for data in (dense, np.zeros_like(dense)):
        fitted = []
        for X in (data, sp.csr_matrix(data)):
            est = MLPRegressor(hidden_layer_sizes=(60,), solver=solver, batch_size=41,
                               max_iter=2, random_state=0, learning_rate_init=0.01)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
            fitted.append(est)
        for a, b in zip(fitted[0].coefs_ + fitted[0].intercepts_,
                        fitted[1].coefs_ + fitted[1].intercepts_):
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fitted[1].loss_curve_, fitted[0].loss_curve_,
                                   rtol=1e-10)
