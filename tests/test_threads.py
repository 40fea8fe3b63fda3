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

import nncore


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
    X, y = make_data(n_samples=600)
    net = nncore.Network([256, 64, 10], seed=0)
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
