# SPDX-License-Identifier: MIT
"""Ctrl-C during fit: KeyboardInterrupt within a fraction of a second, and the
network holds exactly the weights of a completed step.

A child process trains one long epoch without shuffling, gets SIGINT, and
then replays training one batch at a time (the same kernel, so bit-exact)
until the replayed weights equal the interrupted ones. With momentum,
Nesterov, Adam, alpha or sample weights, a child whose weights went
non-finite early in a long epoch is interrupted: it must be left with finite
weights from a completed step and able to train on.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CHILD = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import nncore

    batch = int(sys.argv[1])
    rng = np.random.default_rng(0)
    X = rng.random((200_000, 256))
    y = rng.integers(0, 10, len(X))
    net = nncore.Network([256, 64, 10], seed=0)
    initial = net.params.copy()
    print("ready", flush=True)
    try:
        net.fit(X, y, epochs=5, batch_size=batch, shuffle=False)
        print(json.dumps({"finished": True}), flush=True)
        sys.exit(0)
    except KeyboardInterrupt:
        stopped = time.monotonic()
    interrupted = net.params.copy()
    finite = bool(np.isfinite(interrupted).all())
    replay = nncore.Network([256, 64, 10], seed=0)
    assert np.array_equal(replay.params, initial)
    steps = 0
    while not np.array_equal(replay.params, interrupted):
        start = steps * batch % len(X)      # len(X) is a multiple of batch
        rows = slice(start, start + batch)
        replay.fit(X[rows], y[rows], epochs=1, batch_size=batch, shuffle=False)
        steps += 1
        if steps * batch >= 5 * len(X):
            steps = -1
            break
    # The network can go on training after the interrupt.
    more = net.fit(X[:100], y[:100], batch_size=batch)
    print(json.dumps({"stopped": stopped, "finite": finite, "steps": steps,
                      "resumed": bool(np.isfinite(more).all())}), flush=True)
""")


def interrupt(source, arg, delay, args=()):
    """Run ``source`` in a child Python with the arguments ``arg, *args``;
    once it prints "ready", wait ``delay`` s and send SIGINT. Returns the JSON
    of its last line, when the signal was sent, and its exit code."""
    child = subprocess.Popen([sys.executable, "-c", source, arg, *args],
                             stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=120)
    finally:
        child.kill()
    return json.loads(out.strip().splitlines()[-1]), sent, child.returncode


@pytest.mark.parametrize("batch", [1, 32])
def test_sigint_stops_fit_quickly_at_a_completed_step(batch):
    result, sent, _ = interrupt(CHILD, str(batch), delay=0.7)  # inside the first epoch
    assert "finished" not in result, "training ended before the signal"
    assert result["stopped"] - sent < 0.5
    assert result["finite"]
    assert result["steps"] > 0, "interrupted weights match no completed step"
    assert result["resumed"]


SKLEARN_CHILD = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np
    from nncore.sklearn import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.random((100_000, 256))
    y = rng.integers(0, 10, len(X))
    clf = MLPClassifier(hidden_layer_sizes=(64,), solver=sys.argv[1], batch_size=1,
                        max_iter=50, random_state=0)
    print("ready", flush=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.monotonic()
        clf.fit(X, y)
        returned = time.monotonic()
    messages = [str(w.message) for w in caught]
    # scikit-learn's contract: fit returns with a usable model and a warning.
    finite = all(bool(np.isfinite(c).all()) for c in clf.coefs_ + clf.intercepts_)
    proba = clf.predict_proba(X[:5])
    clf.partial_fit(X[:100], y[:100])           # and it can go on training
    print(json.dumps({"returned": returned, "messages": messages, "finite": finite,
                      "proba": bool(np.allclose(proba.sum(axis=1), 1)),
                      "epochs": clf.n_iter_}), flush=True)
""")


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_sigint_during_a_scikit_learn_fit(solver):
    pytest.importorskip("sklearn")
    # 1 s: well before the 50 epochs end.
    result, sent, returncode = interrupt(SKLEARN_CHILD, solver, delay=1.0)
    assert "Training interrupted by user." in result["messages"]
    assert result["returned"] - sent < 0.5
    assert result["finite"] and result["proba"]
    assert returncode == 0


SOLVER_CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    import nncore

    case, batch, learning_rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    rng = np.random.default_rng(0)
    X = rng.random((60_000, 512))
    y = rng.normal(size=(len(X), 4))
    options = {"momentum": dict(momentum=0.9),
               "nesterov": dict(momentum=0.9, nesterov=True),
               "adam": dict(optimizer="adam"), "alpha": dict(alpha=1.0),
               "sample_weight": dict(sample_weight=np.full(len(X), 2.0))}[case]
    net = nncore.Network([512, 256, 4], output="identity", seed=0)
    initial = net.params.copy()
    print("ready", flush=True)
    try:
        net.fit(X, y, epochs=50, batch_size=batch, learning_rate=learning_rate,
                shuffle=False, **options)
        print(json.dumps({"finished": True}), flush=True)
        sys.exit(0)
    except KeyboardInterrupt:
        pass
    finite = bool(np.isfinite(net.params).all())
    at_start = bool(np.array_equal(net.params, initial))
    more = net.fit(X[:50], y[:50], batch_size=batch, learning_rate=1e-4,
                   **{k: v[:50] if k == "sample_weight" else v
                      for k, v in options.items()})
    print(json.dumps({"finite": finite, "at_start": at_start,
                      "resumed": bool(np.isfinite(more).all())}), flush=True)
""")


@pytest.mark.parametrize("case, batch", [
    ("momentum", 1), ("nesterov", 32), ("adam", 1), ("adam", 32), ("alpha", 32),
    ("sample_weight", 1)])
def test_sigint_after_the_solver_diverged_leaves_finite_weights(case, batch):
    # A learning rate of 1e300 makes the weights non-finite within the first
    # steps; the epoch (several seconds) is still running at the signal. The
    # network must hold finite weights from a completed step: here, those at
    # the start of the epoch, the initial ones.
    result, _, _ = interrupt(SOLVER_CHILD, f"{case}", delay=0.5, args=(str(batch), "1e300"))
    assert "finished" not in result, "training ended before the signal"
    assert result["finite"]
    assert result["at_start"]
    assert result["resumed"]


def test_sigint_during_a_converging_adam_fit_keeps_its_progress():
    result, _, _ = interrupt(SOLVER_CHILD, "adam", delay=0.5, args=("1", "1e-3"))
    assert "finished" not in result, "training ended before the signal"
    assert result["finite"] and result["resumed"]
    assert not result["at_start"]


FULL_BATCH_CHILD = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import nncore

    options = {"sgd": {}, "sgd-rows": {}, "adam": dict(optimizer="adam")}[sys.argv[1]]
    rng = np.random.default_rng(0)
    X = rng.random((30_000, 784), dtype=np.float32)
    y = rng.integers(0, 10, len(X))
    net = nncore.Network([784, 1024, 10], dtype="float32", seed=0)
    if sys.argv[1] == "sgd-rows":     # the row loops, whatever the calibration says
        net._train_path = nncore._core.PATH_ROWS
    initial = net.params.copy()
    print("ready", flush=True)
    try:
        net.fit(X, y, epochs=3, batch_size=len(X), learning_rate=0.1, **options)
        print(json.dumps({"finished": True}), flush=True)
        sys.exit(0)
    except KeyboardInterrupt:
        stopped = time.monotonic()
    print(json.dumps({"stopped": stopped, "finite": bool(np.isfinite(net.params).all()),
                      "at_start": bool(np.array_equal(net.params, initial))}), flush=True)
""")


@pytest.mark.parametrize("case", ["sgd", "sgd-rows", "adam"])
def test_sigint_within_one_full_batch_step(case):
    # One step over 30,000 x 784 rows of [784, 1024, 10] is about 70 G
    # multiply-adds (seconds on two cores): the core checks for Ctrl-C
    # between sub-batches of the step, and the interrupted step is not
    # applied, so the weights are the initial ones.
    result, sent, _ = interrupt(FULL_BATCH_CHILD, case, delay=0.3)
    assert "finished" not in result, "training ended before the signal"
    assert result["stopped"] - sent < 0.5
    assert result["finite"] and result["at_start"]
