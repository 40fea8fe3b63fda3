# SPDX-License-Identifier: MIT
"""nncore.sklearn on Dask: a hyperparameter search through joblib's dask
backend, and incremental training over a dask array's chunks through
dask-ml's Incremental, on a LocalCluster of two worker processes (loopback).

Needs the dask extra (``pip install "nncore[dask]"``); skipped without it.
"""
import os
import re
import threading

import numpy as np
import pytest

pytest.importorskip("sklearn")
distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
pytest.importorskip("dask_ml")
import joblib  # noqa: E402
from dask_ml.wrappers import Incremental  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from nncore.sklearn import MLPClassifier  # noqa: E402

# Seconds any one step may take before the test fails instead of hanging
# (each step takes a few seconds on a 2-core machine).
TIMEOUT = 60

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def within(seconds, fn, *args, **kwargs):
    """fn(*args, **kwargs) in a daemon thread: its result, or a test failure
    after ``seconds`` (a stuck cluster must fail the test, not hang CI)."""
    box = {}

    def run():
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{getattr(fn, '__name__', fn)} did not finish within {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["result"]


@pytest.fixture(scope="module")
def client():
    def start():
        cluster = distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
            dashboard_address=None)
        try:
            client = distributed.Client(cluster, timeout=TIMEOUT)
            client.wait_for_workers(2, timeout=TIMEOUT)
        except BaseException:
            cluster.close(timeout=TIMEOUT)
            raise
        return cluster, client

    cluster, client = within(2 * TIMEOUT, start)
    try:
        yield client
    finally:
        client.close(timeout=TIMEOUT)
        cluster.close(timeout=TIMEOUT)


def make_data(n=300, n_features=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, n_features))
    y = np.argmax(X @ rng.normal(size=(n_features, 3)), axis=1)
    return X, y


def test_grid_search_on_the_workers(client):
    X, y = make_data()
    param_grid = {"alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(8,), (16,)]}
    n_fits = 4 * 3

    def search():
        return GridSearchCV(
            MLPClassifier(max_iter=40, learning_rate_init=0.02, random_state=0),
            param_grid, cv=3)

    def fit_on_dask():
        with distributed.get_task_stream(client) as stream:
            with joblib.parallel_backend("dask"):
                grid = search().fit(X, y)
        return grid, stream.data

    # Dask's workers run BLAS on one thread (the nanny sets
    # OPENBLAS_NUM_THREADS=1); this process does too (threadpoolctl comes
    # with scikit-learn) for the search without Dask and for both refits, so
    # that the comparison can be exact whatever BLAS does with more threads.
    with threadpool_limits(1, user_api="blas"):
        serial = search().set_params(n_jobs=1).fit(X, y)
        on_dask, tasks = within(TIMEOUT, fit_on_dask)

    # The same search: the model is deterministic for a fixed random_state.
    for key in ["params", "mean_test_score", "std_test_score", "rank_test_score"] + [
            f"split{i}_test_score" for i in range(3)]:
        assert list(on_dask.cv_results_[key]) == list(serial.cv_results_[key]), key
    assert on_dask.best_params_ == serial.best_params_
    assert on_dask.best_score_ == serial.best_score_
    for mine, ref in zip(on_dask.best_estimator_.coefs_, serial.best_estimator_.coefs_):
        np.testing.assert_array_equal(mine, ref)

    # Every cross-validation fit ran on the cluster's workers: the scheduler
    # recorded joblib's batches ("batch_of_<function>_<n>_calls-<uuid>"),
    # each run by one of the two worker processes.
    workers = set(client.scheduler_info()["workers"])
    batches = [t for t in tasks if t["key"].startswith("batch_of_")]
    assert batches, [t["key"] for t in tasks]
    assert {t["worker"] for t in batches} <= workers
    calls = sum(int(re.search(r"_(\d+)_calls-", t["key"]).group(1)) for t in batches)
    assert calls == n_fits
    # and those are processes other than this one.
    pids = client.run(os.getpid)
    assert set(pids) == workers and os.getpid() not in pids.values()


def test_incremental_over_chunks(client):
    X, y = make_data(n=320)
    chunk = 80
    Xd = da.from_array(X, chunks=(chunk, X.shape[1]))
    yd = da.from_array(y, chunks=chunk)
    assert Xd.numblocks == (4, 1)
    params = dict(hidden_layer_sizes=(16,), learning_rate_init=0.02, random_state=0)
    classes = np.unique(y)

    # One pass over the chunks in order (fit), then two more (partial_fit,
    # which goes on from estimator_): each partial_fit call is a task, so the
    # estimator, with its optimizer state, travels between the workers.
    inc = Incremental(MLPClassifier(**params), scoring="accuracy", shuffle_blocks=False)
    passes = 3
    with distributed.get_task_stream(client) as stream:
        within(TIMEOUT, inc.fit, Xd, yd, classes=classes)
        for _ in range(passes - 1):
            within(TIMEOUT, inc.partial_fit, Xd, yd, classes=classes)
    workers = set(client.scheduler_info()["workers"])
    # dask-ml's graph: ("fit-<token>", -1) holds the estimator, and
    # ("fit-<token>", i) is partial_fit on the i-th chunk.
    fits = [t for t in stream.data if isinstance(t["key"], tuple)
            and t["key"][0].startswith("fit-") and t["key"][1] >= 0]
    assert len(fits) == passes * Xd.numblocks[0], [t["key"] for t in stream.data]
    assert {t["worker"] for t in fits} <= workers

    # partial_fit on the same chunks, in the same order, in this process.
    serial = MLPClassifier(**params)
    for _ in range(passes):
        for start in range(0, X.shape[0], chunk):
            serial.partial_fit(X[start:start + chunk], y[start:start + chunk],
                               classes=classes)

    fitted = inc.estimator_
    assert isinstance(fitted, MLPClassifier)
    assert fitted.t_ == serial.t_ == passes * X.shape[0]
    for mine, ref in zip(fitted.coefs_ + fitted.intercepts_,
                         serial.coefs_ + serial.intercepts_):
        np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fitted.loss_curve_, serial.loss_curve_, rtol=0, atol=1e-12)

    # predict and score through the wrapper, blockwise on the workers.
    predicted = inc.predict(Xd)
    assert isinstance(predicted, da.Array)
    predicted = within(TIMEOUT, predicted.compute)
    np.testing.assert_array_equal(predicted, serial.predict(X))
    score = within(TIMEOUT, inc.score, Xd, yd)
    assert score == pytest.approx(serial.score(X, y), abs=1e-12)
    assert score > 1 / 3
