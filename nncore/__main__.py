# SPDX-License-Identifier: MIT
"""``python -m nncore``: train a network on the shipped digits and report.

Trains a multilayer perceptron on 80% of the UCI handwritten digits that ship
with nncore, then prints the accuracy on the held-out 20%, the training time
and the training speed in samples per second.
"""
import argparse
import sys
import time

import numpy as np

from . import Network, __version__, simd
from .datasets import load_digits


def _hidden(text):
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 32 or 64,32, got {text!r}")
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError("hidden layer sizes must be positive")
    return sizes


def main(argv=None):
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="nncore", description="Train a network on the UCI digits that ship "
        "with nncore and report accuracy and speed.")
    parser.add_argument("--hidden", type=_hidden, default=[32],
                        help="hidden layer sizes, comma-separated (default 32)")
    parser.add_argument("--activation", default="sigmoid",
                        choices=["sigmoid", "tanh", "relu", "identity"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--version", action="version", version=f"nncore {__version__}")
    args = parser.parse_args(argv)

    X, y = load_digits()
    split = np.random.default_rng(args.seed).permutation(len(X))
    n_train = int(0.8 * len(X))
    train, test = split[:n_train], split[n_train:]
    sizes = [X.shape[1], *args.hidden, 10]
    try:
        net = Network(sizes, activation=args.activation, output="softmax",
                      dtype=args.dtype, seed=args.seed)
        start = time.perf_counter()
        losses = net.fit(X[train], y[train], epochs=args.epochs,
                         batch_size=args.batch_size, learning_rate=args.learning_rate)
        seconds = time.perf_counter() - start
    except (ValueError, TypeError, FloatingPointError) as exc:
        print(f"nncore: error: {exc}", file=sys.stderr)
        return 2
    accuracy = np.mean(net.forward(X[test]).argmax(axis=1) == y[test])
    samples = args.epochs * n_train
    print(f"nncore {__version__} ({simd} kernels): {net!r}")
    print(f"UCI digits: {n_train} training and {len(test)} test images; "
          f"{args.epochs} epochs, batch size {args.batch_size}, "
          f"learning rate {args.learning_rate}")
    print(f"training loss: {losses[0]:.4f} after epoch 1, {losses[-1]:.4f} after "
          f"epoch {args.epochs}")
    print(f"test accuracy: {accuracy:.1%}")
    print(f"training time: {seconds:.3f} s ({samples / seconds:,.0f} samples/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
