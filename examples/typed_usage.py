# SPDX-License-Identifier: MIT
"""nncore's public API with type annotations: checked by ``mypy --strict``.

tests/test_typing.py runs ``python -m mypy --strict examples/typed_usage.py``
and also runs this program. Every annotation below states what nncore's own
annotations promise; mypy fails if they disagree. Run it with
``python examples/typed_usage.py`` (a few seconds at most).
"""
from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np
import numpy.typing as npt

import nncore
from nncore import reference
from nncore.datasets import load_digits


def stop_when_good(info: nncore.EpochInfo) -> bool:
    """A fit callback: go on while the training loss is above 0.3."""
    print(f"epoch {info['epoch']}/{info['epochs']}: loss {info['loss']:.3f} "
          f"({info['samples_per_second']:,.0f} samples/s)")
    return info["loss"] > 0.3


def main() -> None:
    X: npt.NDArray[np.float64]
    y: npt.NDArray[np.int64]
    X, y = load_digits()
    train, test = slice(0, 1500), slice(1500, None)

    net = nncore.Network([X.shape[1], 32, 10], activation="sigmoid", output="softmax",
                         dtype="float32", seed=0)
    sizes: tuple[int, ...] = net.layer_sizes
    print(f"{net!r}: {net.n_params} parameters, layer sizes {sizes}, {net.dtype}")

    losses: list[float] = net.fit(X[train], y[train], epochs=30, batch_size=16,
                                  learning_rate=0.5, seed=0, callback=stop_when_good)
    history: list[float] = net.history
    assert history == losses

    probabilities: npt.NDArray[np.floating[Any]] = net.forward(X[test])
    accuracy = float(np.mean(probabilities.argmax(axis=1) == y[test]))
    test_loss: float = net.loss(X[test], y[test])
    print(f"{len(losses)} epochs; test accuracy {accuracy:.1%}, test loss {test_loss:.3f}")

    dW: list[npt.NDArray[np.floating[Any]]]
    db: list[npt.NDArray[np.floating[Any]]]
    dW, db = net.gradients(X[:8], y[:8])
    assert [g.shape for g in dW] == [w.shape for w in net.weights]
    assert [g.shape for g in db] == [b.shape for b in net.biases]
    before: float = net.train_step(X[:8], y[:8], learning_rate=0.1)
    print(f"one step on 8 samples: loss {before:.3f} -> {net.loss(X[:8], y[:8]):.3f}")

    # The pure-Python oracle agrees with the compiled core.
    oracle = reference.from_network(net)
    expected: list[list[float]] = reference.predict(oracle, X[:2].tolist())
    assert np.allclose(net.forward(X[:2]), expected, atol=1e-5)

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "digits.npz")
        net.save(path)
        copy: nncore.Network = nncore.load(path)
        assert np.array_equal(copy.forward(X[test]), net.forward(X[test]))

        with open(path, "r+b") as file:   # damage the file
            file.truncate(100)
        try:
            nncore.load(path)
        except nncore.ModelFileError as exc:
            print(f"refused a damaged file: {str(exc)[:60]}...")

    # Inputs far too large for the learning rate make the loss overflow.
    regression = nncore.Network([1, 1], output="identity", seed=0)
    try:
        regression.fit([[1e200]], [[0.0]], learning_rate=1.0)
    except nncore.DivergenceError as exc:
        epoch: int = exc.epoch
        sample: int = exc.sample
        print(f"diverged in epoch {epoch} after {sample} samples")


if __name__ == "__main__":
    main()
