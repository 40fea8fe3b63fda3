# SPDX-License-Identifier: MIT
"""fit's verbose progress, per-epoch callback and the loss history."""
import sys

import numpy as np
import pytest

import nncore


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (60, 4))
    y = rng.integers(0, 3, 60)
    return X, y


def test_callback_sees_every_epoch_and_can_stop(problem):
    X, y = problem
    net = nncore.Network([4, 6, 3], seed=0)
    seen = []

    def callback(info):
        seen.append(info)
        return info["epoch"] < 3         # stop after the third epoch

    losses = net.fit(X, y, epochs=10, callback=callback)
    assert [info["epoch"] for info in seen] == [1, 2, 3]
    assert all(info["epochs"] == 10 for info in seen)
    assert [info["loss"] for info in seen] == losses
    assert all(info["seconds"] > 0 and info["samples_per_second"] > 0 for info in seen)
    # Stopped after three epochs: the same weights as three epochs straight.
    straight = nncore.Network([4, 6, 3], seed=0)
    straight.fit(X, y, epochs=3)
    np.testing.assert_array_equal(net.params, straight.params)
    assert net.history == losses == straight.history


def test_callback_returning_none_goes_on(problem):
    X, y = problem
    net = nncore.Network([4, 6, 3], seed=0)
    assert len(net.fit(X, y, epochs=4, callback=lambda info: None)) == 4


def test_callback_may_save_the_network_it_trains(problem, tmp_path):
    X, y = problem
    net = nncore.Network([4, 6, 3], seed=0)
    best = {"loss": np.inf}

    def keep_best(info):
        if info["loss"] < best["loss"]:
            best["loss"] = info["loss"]
            net.save(tmp_path / "best.npz")

    net.fit(X, y, epochs=5, callback=keep_best)
    saved = nncore.load(tmp_path / "best.npz")
    assert min(saved.history) == best["loss"]


def test_callback_exception_propagates_after_a_complete_epoch(problem):
    X, y = problem
    net = nncore.Network([4, 6, 3], seed=0)

    def fail(info):
        if info["epoch"] == 2:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        net.fit(X, y, epochs=5, callback=fail)
    straight = nncore.Network([4, 6, 3], seed=0)
    straight.fit(X, y, epochs=2)
    np.testing.assert_array_equal(net.params, straight.params)


def test_verbose_without_tqdm_prints_one_line_per_epoch(problem, capsys, monkeypatch):
    X, y = problem
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    nncore.Network([4, 6, 3], seed=0).fit(X, y, epochs=3, verbose=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3: loss ") and lines[0].endswith("samples/s")


def test_verbose_with_tqdm(problem, capsys):
    pytest.importorskip("tqdm")
    X, y = problem
    nncore.Network([4, 6, 3], seed=0).fit(X, y, epochs=2, verbose=True)
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize("name, value, exception", [
    ("verbose", 1, TypeError), ("verbose", "yes", TypeError),
    ("callback", 3, TypeError), ("callback", "print", TypeError),
])
def test_bad_options_are_refused_before_training(problem, name, value, exception):
    X, y = problem
    net = nncore.Network([4, 6, 3], seed=0)
    before = net.params.copy()
    with pytest.raises(exception, match=name):
        net.fit(X, y, **{name: value})
    np.testing.assert_array_equal(net.params, before)
    assert net.history == []


def test_history_survives_save_and_pickle(problem, tmp_path):
    import pickle
    X, y = problem
    net = nncore.Network([4, 6, 3], seed=0)
    net.fit(X, y, epochs=3)
    net.fit(X, y, epochs=2)
    assert len(net.history) == 5
    net.save(tmp_path / "h.npz")
    assert nncore.load(tmp_path / "h.npz").history == net.history
    assert pickle.loads(pickle.dumps(net)).history == net.history
