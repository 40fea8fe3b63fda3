# SPDX-License-Identifier: MIT
"""What fit's per-epoch options cost: plain, with a callback, and verbose.

Ten short epochs of online training on a [64, 32, 10] float32 network (the
cheapest epochs in the suite, where a per-epoch cost would show most), in one
pytest-benchmark group, so the three rates compare directly. The options run
once per epoch, outside the core's loop; they should cost nothing measurable.
Not part of report.py's table (no peers).
"""
import io

import numpy as np
import pytest

import nncore

EPOCHS, SAMPLES = 10, 500


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.random((SAMPLES, 64)).astype(np.float32)
    y = rng.integers(0, 10, SAMPLES)
    return X, y


@pytest.mark.parametrize("option", ["plain", "callback", "verbose"])
def test_fit_options(benchmark, problem, option, monkeypatch):
    X, y = problem
    net = nncore.Network([64, 32, 10], dtype=np.float32, seed=0)
    initial = net.params.copy()
    kwargs = {}
    if option == "callback":
        kwargs["callback"] = lambda info: info["loss"] > 0
    elif option == "verbose":
        # The plain-line fallback into a buffer: the cost of formatting, not
        # of a terminal.
        monkeypatch.setattr("sys.stderr", io.StringIO())
        kwargs["verbose"] = True
    benchmark.group = "fit options, [64, 32, 10] float32 online, 10 epochs"
    benchmark.extra_info.update(samples=EPOCHS * SAMPLES)

    def setup():
        net.params[...] = initial

    losses = benchmark.pedantic(
        lambda: net.fit(X, y, epochs=EPOCHS, learning_rate=0.1, shuffle=False, **kwargs),
        setup=setup, rounds=5 if benchmark.disabled else 30, iterations=1)
    assert len(losses) == EPOCHS and np.isfinite(losses).all()
