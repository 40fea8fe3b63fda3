# SPDX-License-Identifier: MIT
"""The GIL is released while the core works: other threads run meanwhile,
networks trained in threads give the serial results, one network is safe
under concurrent calls.

The one timing check is relative and generous (the machines are shared and
have two cores): a held GIL would stop the other thread's counting almost
completely. The parallel speed-up itself is a benchmark
(benchmarks/bench_threads.py), not a test.
"""
import os
import threading
import time
import warnings
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


def test_set_num_threads_validates_and_returns_the_previous_setting(monkeypatch):
    monkeypatch.delenv("NNCORE_NUM_THREADS", raising=False)
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


def test_an_error_inside_a_limited_call_restores_blas(idle_two_cores):
    before = scipy_blas_threads()
    with pytest.raises(ZeroDivisionError):
        with _threads.limit(1):
            assert scipy_blas_threads() == [1] * len(before)
            1 / 0
    assert scipy_blas_threads() == before
    with _threads.limit(2):
        assert scipy_blas_threads() == [2] * len(before)


def test_many_threads_of_limited_calls_leave_blas_as_it_was(idle_two_cores):
    before = scipy_blas_threads()
    net = nncore.Network([64, 32, 4], seed=0)
    X = np.random.default_rng(0).random((20000, 64))

    def work(threads):
        for _ in range(3):
            net.forward(X, threads=threads)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, [1, 2] * 8))
    assert scipy_blas_threads() == before
    with _threads.limit(2):
        assert scipy_blas_threads() == [2] * len(before)


def test_an_interrupt_while_blas_is_being_limited_leaks_nothing(monkeypatch,
                                                               idle_two_cores):
    # Ctrl-C can land while enter() is changing the BLAS setting, before the
    # call's body (and so its leave) is reached: the count of running calls
    # and the library's setting must not stay behind, or every later call
    # would see an overlap and run with one thread, and code outside nncore
    # would keep nncore's setting.
    blas = _threads._blas
    before = scipy_blas_threads()
    real_set = blas._set

    def interrupted(libraries, counts):
        real_set(libraries, counts)     # the setting changed, then Ctrl-C
        raise KeyboardInterrupt
    monkeypatch.setattr(blas, "_set", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with _threads.limit(2):
            pytest.fail("the call's body runs after a failed enter")
    monkeypatch.setattr(blas, "_set", real_set)
    assert scipy_blas_threads() == before
    with _threads.limit(2):
        assert scipy_blas_threads() == [2] * len(before)
    assert scipy_blas_threads() == before


def test_without_a_load_average_threads_stay_within_the_cores(monkeypatch,
                                                              idle_two_cores):
    # Windows has no os.getloadavg: a threads option above the cores must
    # not oversubscribe them (the cliff _threads describes), nor overflow
    # BLAS's C int.
    def no_load_average():
        raise OSError("no load average here")
    monkeypatch.setattr(_threads.os, "getloadavg", no_load_average)
    before = scipy_blas_threads()
    for threads in (64, 2**40):
        with _threads.limit(threads):
            assert scipy_blas_threads() == [2] * len(before)
    assert scipy_blas_threads() == before


def test_a_networks_forward_path_follows_the_blas_threads_it_runs_with():
    # The forward crossover (Model.rows_max) is measured per BLAS thread
    # count, because the rows and BLAS paths round differently: a network
    # first used with 2 threads must take, at 1 thread, the path measured
    # for 1 thread (what any other network of its shape takes), not keep
    # its first measurement. Measurements are timings, so two thread counts
    # (stand-ins, noted directly) are looked for that measured differently.
    sizes = [20, 20, 20]
    try:
        _core._note_blas_threads(9001)
        first = nncore.Network(sizes, dtype="float32")._compiled().rows_max
        other = None
        for count in range(9002, 9402):
            _core._note_blas_threads(count)
            if nncore.Network(sizes, dtype="float32")._compiled().rows_max != first:
                other = count
                break
        if other is None:
            pytest.skip("every measurement of the crossover came out the same")
        expected = nncore.Network(sizes, dtype="float32")._compiled().rows_max
        model = nncore.Network(sizes, dtype="float32")._compiled()
        _core._note_blas_threads(9001)
        assert model.rows_max == first
        _core._note_blas_threads(other)
        assert model.rows_max == expected != first
    finally:
        _core._note_blas_threads(1)


def test_an_interrupt_while_blas_is_being_restored_is_made_good_by_the_next_call(
        monkeypatch, idle_two_cores):
    # Ctrl-C as leave() restores the library's setting: the setting nncore
    # left must not be taken for the library's own by the next call, which
    # restores the real one when it leaves.
    blas = _threads._blas
    before = scipy_blas_threads()
    real_set = blas._set

    def interrupted(libraries, counts):
        raise KeyboardInterrupt
    blas.enter(1)
    assert scipy_blas_threads() == [1] * len(before)
    monkeypatch.setattr(blas, "_set", interrupted)
    with pytest.raises(KeyboardInterrupt):
        blas.leave()
    monkeypatch.setattr(blas, "_set", real_set)
    with _threads.limit(2):
        assert scipy_blas_threads() == [2] * len(before)
    assert scipy_blas_threads() == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_process_forked_during_a_call_starts_with_no_call_running(idle_two_cores):
    # A child forked while another thread is inside an nncore call has no
    # such thread: its own calls run alone (not as an overlap, one BLAS
    # thread, and never restored), and leave its BLAS as it was before.
    blas = _threads._blas
    before = scipy_blas_threads()
    blas.enter(1)                      # the parent's running call
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)   # fork with threads
            pid = os.fork()
        if pid == 0:                   # the child: report by exit status only
            status = 1
            try:
                with _threads.limit(2):
                    ran_with = scipy_blas_threads()
                status = 0 if ran_with == [2] * len(before) and \
                    scipy_blas_threads() == before else 3
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
    finally:
        blas.leave()
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_environment_variable_sets_the_default(monkeypatch):
    previous = nncore.set_num_threads(None)
    try:
        monkeypatch.setenv("NNCORE_NUM_THREADS", "3")
        assert nncore.get_num_threads() == 3
        monkeypatch.setenv("NNCORE_NUM_THREADS", "two")
        with pytest.raises(ValueError, match="NNCORE_NUM_THREADS='two'"):
            nncore.get_num_threads()
        monkeypatch.delenv("NNCORE_NUM_THREADS")
        assert nncore.get_num_threads() == _threads.available_cores()
        nncore.set_num_threads(2)       # set_num_threads wins over the variable
        monkeypatch.setenv("NNCORE_NUM_THREADS", "3")
        assert nncore.get_num_threads() == 2
    finally:
        nncore.set_num_threads(previous)
