# SPDX-License-Identifier: MIT
"""Reliability: hostile inputs through the public API, sizes refused before
allocation, learning rate 0, threads hammering one network, memory that
stays flat, and a soak of many networks trained and saved in threads.

Budgets: NNCORE_SOAK_SECONDS (default 5) for the soak, NNCORE_FUZZ_EXAMPLES
(default 300) for the Hypothesis API fuzz.
"""
import copy
import gc
import os
import pickle
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers import ACTIVATIONS, DTYPES, OUTPUTS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nncore
from nncore import DivergenceError

API_FUZZ = settings(max_examples=int(os.environ.get("NNCORE_FUZZ_EXAMPLES", "300")),
                    deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def make_data(rng, sizes, output, n):
    X = rng.uniform(-1, 1, (n, sizes[0]))
    if output == "softmax":
        y = rng.integers(0, sizes[-1], n)
    elif output == "sigmoid":
        y = (rng.random((n, sizes[-1])) > 0.5).astype(float)
    else:
        y = rng.normal(size=(n, sizes[-1]))
    return X, y


# ---------------------------------------------------------------------------
# Sizes are refused before anything is allocated
# ---------------------------------------------------------------------------

def test_parameters_larger_than_memory_are_refused():
    with pytest.raises(ValueError, match=r"parameters of layer_sizes .* GiB, more than"):
        nncore.Network([2**20, 2**20, 2**20])


def test_work_space_larger_than_memory_is_refused_and_nothing_changes():
    net = nncore.Network([2, 2**22, 2], seed=0)
    before = net.params.copy()
    X = np.zeros((30_000, 2))
    y = np.zeros(30_000, dtype=int)
    with pytest.raises(ValueError, match=r"work space of a batch of 30000 samples"):
        net.fit(X, y, batch_size=30_000)
    np.testing.assert_array_equal(net.params, before)


def test_layer_sizes_beyond_blas_integers_are_refused():
    with pytest.raises(ValueError, match="too large for BLAS"):
        nncore.Network([2**31, 2])


# ---------------------------------------------------------------------------
# Learning rate 0 changes nothing, on every path
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [1, 3, 64])
@pytest.mark.parametrize("output", OUTPUTS)
def test_learning_rate_zero_changes_nothing(dtype, output, batch_size):
    rng = np.random.default_rng(1)
    sizes = (5, 7, 3) if output != "sigmoid" else (5, 7, 1)
    net = nncore.Network(sizes, output=output, dtype=dtype, seed=1)
    X, y = make_data(rng, sizes, output, 100)
    before = net.params.copy()
    losses = net.fit(X, y, epochs=2, batch_size=batch_size, learning_rate=0)
    assert losses[0] == pytest.approx(losses[1], rel=1e-12)
    net.train_step(X[:10], y[:10], learning_rate=0.0)
    np.testing.assert_array_equal(net.params, before)


# ---------------------------------------------------------------------------
# The public API under Hypothesis: any layout, any values
# ---------------------------------------------------------------------------

EXTREMES = [0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 5e-324, -5e-324, 1e-310, 3e38, -3e38,
            1e-45, np.inf, -np.inf, np.nan]


@st.composite
def arrays_in_any_layout(draw, n_rows, n_cols):
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.bool_,
                                  np.dtype(">f8"), np.float16]))
    values = st.sampled_from(EXTREMES) | st.floats(-10, 10)
    base = draw(hnp.arrays(np.float64, (n_rows, n_cols), elements=values))
    with np.errstate(all="ignore"):
        array = base.astype(dtype)
    layout = draw(st.sampled_from(["c", "f", "strided", "readonly", "memmap", "list", "1d"]))
    if layout == "f":
        array = np.asfortranarray(array)
    elif layout == "strided":
        wide = np.repeat(array, 2, axis=1)
        array = wide[:, ::2]
    elif layout == "readonly":
        array = array.copy()
        array.flags.writeable = False
    elif layout == "memmap":
        handle, name = tempfile.mkstemp(suffix=".dat")
        os.close(handle)
        mm = np.memmap(name, dtype=array.dtype, mode="w+", shape=array.shape or (1,))
        if array.size:
            mm[...] = array
        mm.flush()
        del mm
        array = np.memmap(name, dtype=array.dtype, mode="r", shape=array.shape or (1,))
        os.unlink(name)          # the mapping stays valid; no file is left behind
    elif layout == "list":
        array = array.tolist()
    elif layout == "1d":
        array = array.reshape(-1)
    return array


CALLS = ["forward", "loss", "gradients", "train_step", "fit"]
DOCUMENTED = (ValueError, TypeError, DivergenceError)


@API_FUZZ
@given(data=st.data(), call=st.sampled_from(CALLS), dtype=st.sampled_from(DTYPES),
       output=st.sampled_from(OUTPUTS), activation=st.sampled_from(ACTIVATIONS))
def test_api_works_or_raises_documented_error_and_never_half_changes(
        data, call, dtype, output, activation):
    n_in, n_out = data.draw(st.integers(1, 5)), data.draw(st.integers(2, 4))
    net = nncore.Network([n_in, 4, n_out], activation=activation, output=output,
                         dtype=dtype, seed=0)
    n = data.draw(st.integers(0, 6))
    cols = n_in if data.draw(st.booleans()) or n == 0 else data.draw(st.integers(0, 6))
    X = data.draw(arrays_in_any_layout(n, cols))
    if output == "softmax" and data.draw(st.booleans()):
        y = data.draw(hnp.arrays(np.int64, n, elements=st.integers(-1, n_out)))
    else:
        y = data.draw(arrays_in_any_layout(n, n_out))
    before = net.params.copy()
    lr = data.draw(st.sampled_from([0.0, 1e-3, 0.5, 1e30]))
    try:
        with np.errstate(all="ignore"):
            if call == "forward":
                first = net.forward(X)
                second = net.forward(X)
                assert first.dtype == net.dtype
                np.testing.assert_array_equal(first, second)   # deterministic
            elif call == "loss":
                # Deterministic; NaN when finite inputs overflow the sums
                # (documented in test_properties: finiteness needs bounded inputs).
                np.testing.assert_array_equal(net.loss(X, y), net.loss(X, y))
            elif call == "gradients":
                net.gradients(X, y)
            elif call == "train_step":
                net.train_step(X, y, learning_rate=lr)
            else:
                net.fit(X, y, epochs=2, batch_size=data.draw(st.integers(1, 4)),
                        learning_rate=lr)
    except DOCUMENTED as exc:
        event(f"{call}: {type(exc).__name__}")
        assert str(exc)
        if call in ("forward", "loss", "gradients", "train_step") or not isinstance(
                exc, DivergenceError):
            # A refused call changes nothing.
            np.testing.assert_array_equal(net.params, before)
        assert np.isfinite(net.params).all()
        return
    event(f"{call}: worked")
    if call in ("forward", "loss", "gradients") or lr == 0:
        np.testing.assert_array_equal(net.params, before)
    assert np.isfinite(net.params).all()


def test_overflowing_finite_input_found_by_the_api_fuzz():
    # float32 relu network, input 3e38: the sums overflow, the loss is NaN
    # (not an error, not a crash), every time, and nothing changes.
    net = nncore.Network([2, 4, 2], activation="relu", dtype=np.float32, seed=0)
    before = net.params.copy()
    with np.errstate(all="ignore"):
        losses = [net.loss(np.array([[0.0, 3e38]]), np.array([0])) for _ in range(2)]
    assert np.isnan(losses).all()
    np.testing.assert_array_equal(net.params, before)


# ---------------------------------------------------------------------------
# Threads hammering one network
# ---------------------------------------------------------------------------

def test_threads_hammering_one_network_never_corrupt_it(tmp_path):
    # fit and train_step are serialised by the network's lock (a second call
    # waits); forward, save and pickling run alongside. Batch sizes differ by
    # thread, so the end state depends on the order: the invariants checked
    # are no deadlock, no error, finite weights and loadable, complete files.
    # (Identical calls, whose order does not matter, are compared with the
    # serial result in the next test.)
    rng = np.random.default_rng(0)
    sizes = (32, 16, 4)
    X, y = make_data(rng, sizes, "softmax", 300)
    shared = nncore.Network(sizes, seed=0)
    threads, fits_each = 6, 3
    errors = []

    def worker(k):
        try:
            for i in range(fits_each):
                shared.fit(X, y, shuffle=False, batch_size=1 + k % 3 * 7)
                out = shared.forward(X)
                assert np.isfinite(out).all()
                shared.save(tmp_path / f"w{k}_{i}.npz")
                pickle.loads(pickle.dumps(shared))
        except BaseException as exc:   # reported below, in the main thread
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in pool), "deadlock"
    assert not errors, errors
    assert np.isfinite(shared.params).all()
    saved = [nncore.load(p) for p in sorted(tmp_path.iterdir())]
    assert len(saved) == threads * fits_each
    for net in saved:
        assert np.isfinite(net.params).all() and net.layer_sizes == sizes


def test_identical_fit_calls_from_threads_equal_the_serial_result():
    rng = np.random.default_rng(0)
    sizes = (16, 8, 3)
    X, y = make_data(rng, sizes, "softmax", 200)
    shared = nncore.Network(sizes, seed=0)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: shared.fit(X, y, shuffle=False, batch_size=4), range(16)))
        list(pool.map(lambda _: shared.train_step(X[:20], y[:20], 0.05), range(16)))
    serial = nncore.Network(sizes, seed=0)
    for _ in range(16):
        serial.fit(X, y, shuffle=False, batch_size=4)
    for _ in range(16):
        serial.train_step(X[:20], y[:20], 0.05)
    np.testing.assert_array_equal(shared.params, serial.params)


# ---------------------------------------------------------------------------
# Memory stays flat
# ---------------------------------------------------------------------------

def resident_bytes():
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="AddressSanitizer's quarantine keeps freed memory resident")
def test_train_predict_save_load_loop_does_not_leak(tmp_path):
    rng = np.random.default_rng(0)
    X, y = make_data(rng, (20, 10, 3), "softmax", 200)
    path = tmp_path / "leak.npz"

    def cycle():
        net = nncore.Network([20, 10, 3], dtype=np.float32, seed=0)
        net.fit(X, y, epochs=2, batch_size=8)
        net.forward(X)
        net.gradients(X, y)
        net.save(path)
        copy.deepcopy(nncore.load(path)).forward(X[:1])

    for _ in range(100):                 # warm up allocator and caches
        cycle()
    gc.collect()
    start = resident_bytes()
    for _ in range(1000):
        cycle()
    gc.collect()
    grown = resident_bytes() - start
    # 1000 cycles allocate ~1 GB in total; a leak of even one work space or
    # one parameter buffer per cycle would show as megabytes.
    assert grown < 2 * 2**20, f"resident memory grew by {grown / 2**20:.1f} MiB"


# ---------------------------------------------------------------------------
# Soak: many networks, trained and saved in threads, equal to serial runs
# ---------------------------------------------------------------------------

def soak_job(seed, folder):
    rng = np.random.default_rng(seed)
    n_layers = int(rng.integers(2, 5))
    output = OUTPUTS[seed % 3]
    sizes = [int(n) for n in rng.integers(1, 40, n_layers)]
    if output == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    dtype = DTYPES[seed % 2]
    # threads=1: the concurrent runs get one BLAS thread each (overlapping
    # calls), the serial ones would otherwise get the machine's cores, whose
    # products and measured paths may round differently (nncore._threads).
    net = nncore.Network(sizes, activation=ACTIVATIONS[seed % 4], output=output,
                         dtype=dtype, seed=seed, threads=1)
    X, y = make_data(rng, sizes, output, int(rng.integers(1, 300)))
    try:
        net.fit(X, y, epochs=int(rng.integers(1, 4)), batch_size=int(rng.integers(1, 40)),
                learning_rate=0.05)
        outcome = "trained"
    except DivergenceError as exc:
        # Some random deep relu/identity networks diverge at this rate: that
        # is deterministic too, and must leave finite weights.
        outcome = f"diverged in epoch {exc.epoch} after {exc.sample} samples"
        assert np.isfinite(net.params).all()
    with np.errstate(all="ignore"):
        out = net.forward(X)
    if folder is not None:
        path = os.path.join(folder, f"soak{seed}.npz")
        net.save(path)
        loaded = nncore.load(path)
        assert loaded.params.tobytes() == net.params.tobytes()
        os.unlink(path)
    return outcome, net.params.tobytes(), out.tobytes()


def test_soak_threads_equal_serial(tmp_path):
    seconds = float(os.environ.get("NNCORE_SOAK_SECONDS", "5"))
    deadline = time.monotonic() + seconds
    results, errors, counter, lock = {}, [], iter(range(10**9)), threading.Lock()

    def worker():
        try:
            while time.monotonic() < deadline:
                with lock:
                    seed = next(counter)
                results[seed] = soak_job(seed, str(tmp_path))
        except BaseException as exc:     # reported in the main thread
            errors.append((seed, exc))

    pool = [threading.Thread(target=worker) for _ in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=seconds + 300)
    assert not any(t.is_alive() for t in pool)
    assert not errors, errors
    assert len(results) >= 4
    assert list(tmp_path.iterdir()) == []
    for seed, result in sorted(results.items()):
        assert soak_job(seed, None) == result, f"network {seed} differs from its serial run"
    diverged = sum(result[0] != "trained" for result in results.values())
    print(f"\nsoak: {len(results)} networks ({diverged} of them diverged, "
          f"deterministically) in {seconds:.0f} s on 4 threads, all equal to "
          "their serial runs")
