# SPDX-License-Identifier: MIT
"""The GIL is released while the core works: other threads run meanwhile,
networks trained in threads give the serial results, one network is safe
under concurrent calls.

The one timing check is relative and generous (the machines are shared and
have two cores): a held GIL would stop the other thread's counting almost
completely. The parallel speed-up itself is a benchmark
(benchmarks/bench_threads.py), not a test.
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import nncore
from nncore import _core, _threads


def make_data(n_samples=4000, n_features=256, n_classes=10):
    rng = np.random.default_rng(0)
    return rng.random((n_samples, n_features)), rng.integers(0, n_classes, n_samples)


def count_for(seconds):
    """Pure-Python work: how far a loop counts in ``seconds``."""
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        count += 1
    return count


def test_python_thread_progresses_during_one_long_fit_call():
    X, y = make_data()
    net = nncore.Network([256, 128, 10], seed=0)
    net.fit(X[:200], y[:200])          # warm up
    start = time.perf_counter()
    net.fit(X, y, epochs=1)
    one_epoch = time.perf_counter() - start
    epochs = max(1, int(1.0 / one_epoch))   # about a second in one call

    solo = count_for(0.3) / 0.3
    worker = threading.Thread(target=net.fit, args=(X, y), kwargs={"epochs": epochs})
    worker.start()
    counted, start = 0, time.perf_counter()
    while worker.is_alive():
        counted += count_for(0.01)
    elapsed = time.perf_counter() - start
    worker.join()
    # With the GIL held for the call, the loop would not count at all.
    assert counted / elapsed > 0.25 * solo


def train(seed, X, y, epochs):
    net = nncore.Network([256, 128, 10], seed=seed)
    losses = net.fit(X, y, epochs=epochs, batch_size=1, seed=seed)
    return net.params.copy(), losses


def test_two_networks_train_in_threads_and_match_serial_results():
    # Correctness only: how much faster two threads are is measured in
    # benchmarks/bench_threads.py (a timed assertion here would fail
    # whenever a neighbour takes the second core).
    X, y = make_data(n_samples=1000)
    serial = [train(seed, X, y, 2) for seed in (1, 2)]
    with ThreadPoolExecutor(2) as pool:
        parallel = list(pool.map(train, (1, 2), (X, X), (y, y), (2, 2)))
    for (params, losses), (params_s, losses_s) in zip(parallel, serial):
        np.testing.assert_array_equal(params, params_s)
        assert losses == losses_s


def test_concurrent_forward_calls_on_one_network_agree():
    # threads=1: the serial call may otherwise run its products on more BLAS
    # threads than the concurrent ones (which get one each), and round
    # differently (see nncore._threads).
    X, y = make_data(n_samples=600)
    net = nncore.Network([256, 64, 10], seed=0, threads=1)
    expected = net.forward(X)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: net.forward(X), range(16)))
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_concurrent_fit_calls_on_one_network_are_serialised():
    # The second call waits for the first: the result equals two calls in a row.
    X, y = make_data(n_samples=500)
    shared = nncore.Network([256, 32, 10], seed=0)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: shared.fit(X, y, shuffle=False), range(2)))
    serial = nncore.Network([256, 32, 10], seed=0)
    serial.fit(X, y, shuffle=False)
    serial.fit(X, y, shuffle=False)
    np.testing.assert_array_equal(shared.params, serial.params)


# ---------------------------------------------------------------------------
# The threads option: BLAS limited inside nncore's calls, restored after
# ---------------------------------------------------------------------------

def scipy_blas_threads():
    """The thread setting of the BLAS nncore calls (SciPy's)."""
    return [library.get_num_threads() for library in _threads._blas._libraries()]


@pytest.fixture
def idle_two_cores(monkeypatch):
    """A machine of 2 idle cores, whatever this one is doing."""
    monkeypatch.setattr(_threads, "available_cores", lambda: 2)
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(_threads._blas, "_last", 0)


def record_blas_threads_in(monkeypatch, name):
    """Replace _core.<name> by a wrapper recording the BLAS threads it runs with."""
    seen = []
    real = getattr(_core, name)

    def wrapper(*args, **kwargs):
        seen.append(scipy_blas_threads())
        return real(*args, **kwargs)
    monkeypatch.setattr(_core, name, wrapper)
    return seen


def test_set_num_threads_validates_and_returns_the_previous_setting():
    previous = nncore.set_num_threads(3)
    try:
        assert nncore.get_num_threads() == 3
        assert nncore.set_num_threads(None) == 3
        assert nncore.get_num_threads() == _threads.available_cores()
        with pytest.raises(ValueError, match="threads"):
            nncore.set_num_threads(0)
        with pytest.raises(TypeError, match="threads"):
            nncore.set_num_threads("2")
    finally:
        nncore.set_num_threads(previous)


def test_bad_threads_options_are_refused_naming_the_argument():
    with pytest.raises(ValueError, match="threads"):
        nncore.Network([2, 2], threads=0)
    net = nncore.Network([2, 2], seed=0)
    with pytest.raises(TypeError, match="threads"):
        net.fit([[0.0, 1.0]], [1], threads=1.5)
    with pytest.raises(ValueError, match="threads"):
        net.forward([[0.0, 1.0]], threads=-1)
    with pytest.raises(ValueError, match="threads"):
        net.threads = 0
    assert net.threads is None


@pytest.mark.parametrize("threads", [1, 2])
def test_blas_runs_with_the_calls_threads_and_is_restored_after(
        monkeypatch, idle_two_cores, threads):
    seen = record_blas_threads_in(monkeypatch, "_train_epoch")
    before = scipy_blas_threads()
    X, y = make_data(n_samples=256)
    net = nncore.Network([256, 64, 10], seed=0)
    net.fit(X, y, batch_size=32, threads=threads)
    assert seen == [[threads] * len(before)]
    assert scipy_blas_threads() == before


def test_the_networks_threads_apply_and_the_calls_own_win(monkeypatch, idle_two_cores):
    seen = record_blas_threads_in(monkeypatch, "_solver_epoch")
    X, y = make_data(n_samples=256)
    net = nncore.Network([256, 64, 10], seed=0, threads=1)
    net.fit(X, y, batch_size=32, optimizer="adam", learning_rate=1e-3)
    net.fit(X, y, batch_size=32, optimizer="adam", learning_rate=1e-3, threads=2)
    n = len(seen[0])
    assert seen == [[1] * n, [2] * n]


def test_a_busy_machine_gets_fewer_threads(monkeypatch, idle_two_cores):
    # Others keep 1.6 of the 2 cores busy: one BLAS thread.
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (1.6, 1.0, 1.0))
    seen = record_blas_threads_in(monkeypatch, "_train_epoch")
    X, y = make_data(n_samples=256)
    nncore.Network([256, 64, 10], seed=0).fit(X, y, batch_size=32, threads=2)
    assert seen == [[1] * len(seen[0])]


def test_overlapping_calls_run_blas_with_one_thread(idle_two_cores):
    blas = _threads._blas
    before = scipy_blas_threads()
    blas.enter(2)
    try:
        assert scipy_blas_threads() == [2] * len(before)
        blas.enter(2)                  # a second call, from another thread
        try:
            assert scipy_blas_threads() == [1] * len(before)
        finally:
            blas.leave()
    finally:
        blas.leave()
    assert scipy_blas_threads() == before


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_threads_1_is_bit_reproducible_whatever_ran_before(idle_two_cores, optimizer):
    # Mini-batches through BLAS: threads=1 gives the same bits before and
    # after a run with 2 threads (whose measured paths are kept apart).
    X, y = make_data(n_samples=512)
    options = dict(batch_size=64, epochs=2, seed=3, optimizer=optimizer,
                   learning_rate=1e-3 if optimizer == "adam" else 0.1)
    results = []
    for threads in (1, 2, 1):
        net = nncore.Network([256, 96, 10], dtype="float32", seed=0)
        net.fit(X, y, threads=threads, **options)
        results.append(net.params.copy())
    np.testing.assert_array_equal(results[0], results[2])
    # With 2 threads, the same up to the rounding of the products.
    np.testing.assert_allclose(results[1], results[0], rtol=1e-3, atol=1e-5)
