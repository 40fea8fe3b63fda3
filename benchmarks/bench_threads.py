# SPDX-License-Identifier: MIT
"""Two networks trained one after the other, and in two Python threads.

The core releases the GIL for the whole epoch, so on two free cores the
threaded pair should take about half as long (pytest-benchmark's group shows
the two side by side; nothing asserts on time). Online training, which does
not touch BLAS, so BLAS threads do not interfere; [256, 128, 10], float32.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import nncore

SAMPLES = 2000


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.random((SAMPLES, 256)).astype(np.float32)
    return X, rng.integers(0, 10, SAMPLES)


@pytest.mark.parametrize("how", ["serial", "threads"])
def test_two_networks(benchmark, problem, how):
    X, y = problem
    nets = [nncore.Network([256, 128, 10], dtype=np.float32, seed=s) for s in (1, 2)]
    pool = ThreadPoolExecutor(2)

    def fit(net):
        return net.fit(X, y, epochs=1, learning_rate=0.05, shuffle=False)

    def run():
        if how == "serial":
            return [fit(net) for net in nets]
        return list(pool.map(fit, nets))

    benchmark.group = "two networks [256, 128, 10] float32, one online epoch each"
    benchmark.extra_info.update(samples=2 * SAMPLES)
    try:
        losses = benchmark.pedantic(run, rounds=3 if benchmark.disabled else 10,
                                    iterations=1)
    finally:
        pool.shutdown()
    assert all(np.isfinite(l).all() for l in losses)
