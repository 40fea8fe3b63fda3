# SPDX-License-Identifier: MIT
"""``nncore demo``: train on a shipped or generated data set, report the
accuracy and the speed against the pure-Python reference."""
from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import __version__, _plot, reference, simd
from .._typing import EpochInfo
from ..datasets import load_digits
from ..network import Network
from ._util import CommandError, stage
from .train import add_training_options, fit_options

# The demo times the pure-Python reference on this many training samples.
REFERENCE_SAMPLES = 100
# The demo's split: this fraction trains, the rest is the test set.
TRAIN_FRACTION = 0.8


def add_parser(commands: Any) -> None:
    # argparse formats help strings with % (a literal percent sign is %%
    # there) but prints descriptions as they are.
    demo = commands.add_parser(
        "demo", help="train on a shipped or generated data set; report accuracy and speed",
        description=f"Train a network on {TRAIN_FRACTION:.0%} of a data set (the UCI "
        "handwritten digits that ship with nncore, or two generated 2-D half moons) "
        f"with a progress bar, then print the accuracy on the other "
        f"{1 - TRAIN_FRACTION:.0%}, the training speed and the speed of the "
        "pure-Python reference on a slice of the same work.")
    demo.add_argument("--dataset", choices=["digits", "moons"], default="digits",
                      help="digits: 1797 8x8 images, 10 classes; moons: 1000 "
                      "generated 2-D points, 2 classes (default digits)")
    add_training_options(demo, "epochs (default 20 for digits, 100 for moons)")
    demo.add_argument("--plot", metavar="FILE.png",
                      help="save a figure: the loss per epoch and, for moons, the "
                      "decision boundary at four epochs (needs matplotlib: "
                      "pip install 'nncore[plot]')")
    demo.set_defaults(run=run)


def make_moons(n_samples: int = 1000, noise: float = 0.2,
               seed: int = 0) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Two interleaving half circles in the plane: a two-class, 2-D data set.

    Parameters
    ----------
    n_samples : int, default 1000
        Points in all; class 0 gets ``n_samples // 2`` of them.
    noise : float, default 0.2
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int, default 0
        Seeds ``numpy.random.default_rng``; the same seed gives the same set.

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 2)
        Class 0 lies around the upper half circle of radius 1 centred at
        (0, 0), class 1 around the lower one centred at (1, 0.5).
    y : ndarray of int64, shape (n_samples,)
        0 or 1, in random order.

    Examples
    --------
    >>> from nncore.cli import make_moons
    >>> X, y = make_moons(200, seed=1)
    >>> X.shape, y.shape, int(y.sum())
    ((200, 2), (200,), 100)
    """
    rng = np.random.default_rng(seed)
    n_upper = n_samples // 2
    angle = rng.uniform(0, np.pi, n_samples)
    upper = np.column_stack([np.cos(angle[:n_upper]), np.sin(angle[:n_upper])])
    lower = np.column_stack([1 - np.cos(angle[n_upper:]), 0.5 - np.sin(angle[n_upper:])])
    X = np.concatenate([upper, lower]) + rng.normal(0, noise, (n_samples, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_upper, n_samples - n_upper])
    order = rng.permutation(n_samples)
    return X[order], y[order]


def _reference_rate(sizes: list[int], args: argparse.Namespace, learning_rate: float,
                    X: npt.NDArray[np.float64],
                    y: npt.NDArray[np.int64]) -> tuple[int, float]:
    """Samples/s of the pure-Python reference: one epoch on a small slice."""
    fresh = Network(sizes, activation=args.activation, output="softmax",
                    dtype=args.dtype, seed=args.seed)
    ref = reference.from_network(fresh)
    n = min(REFERENCE_SAMPLES, len(X))
    rows = X[:n].tolist()
    targets = np.eye(sizes[-1])[y[:n]].tolist()
    start = time.perf_counter()
    reference.train_epoch(ref, rows, targets, learning_rate, min(args.batch_size, n),
                          list(range(n)))
    return n, n / (time.perf_counter() - start)


def run(args: argparse.Namespace) -> int:
    if args.plot:
        try:
            _plot.check(args.plot)
        except _plot.PlotError as exc:
            raise CommandError(str(exc)) from None
    options = fit_options(args)
    learning_rate = float(options["learning_rate"])
    if args.dataset == "digits":
        X, y = load_digits()
        epochs = args.epochs or 20
        described = "UCI digits: {} training and {} test images"
    else:
        X, y = make_moons(seed=args.seed)
        epochs = args.epochs or 100
        described = "two moons (generated, 2-D): {} training and {} test points"
    n_classes = int(y.max()) + 1
    split = np.random.default_rng(args.seed).permutation(len(X))
    n_train = int(TRAIN_FRACTION * len(X))
    train, test = split[:n_train], split[n_train:]
    sizes = [X.shape[1], *args.hidden, n_classes]
    net = Network(sizes, activation=args.activation, output="softmax",
                  dtype=args.dtype, seed=args.seed)
    seconds: list[float] = []
    snapshots: list[tuple[int, Any, float]] = []
    boundary = args.plot is not None and X.shape[1] == 2
    snapshot_epochs: set[int] = set()
    if boundary:
        xx, yy, points = _plot.grid(X)
        snapshot_epochs = {int(e) for e in
                           np.unique(np.round(np.linspace(1, epochs, 4)))}

    def after_epoch(info: EpochInfo) -> None:
        seconds.append(info["seconds"])
        if boundary and info["epoch"] in snapshot_epochs:
            probability = net.forward(points)[:, 1].reshape(xx.shape)
            accuracy = float(np.mean(net.forward(X[test]).argmax(axis=1) == y[test]))
            snapshots.append((info["epoch"], probability, accuracy))

    with stage(f"training {net!r} on {n_train} rows"):
        losses = net.fit(X[train], y[train], epochs=epochs, batch_size=args.batch_size,
                         verbose=True, callback=after_epoch, **options)
    accuracy = np.mean(net.forward(X[test]).argmax(axis=1) == y[test])
    trained = sum(seconds)
    rate = epochs * n_train / trained
    n_reference, reference_rate = _reference_rate(sizes, args, learning_rate, X[train],
                                                  y[train])
    print(f"nncore {__version__} ({simd} kernels): {net!r}")
    print(f"{described.format(n_train, len(test))}; {epochs} epochs, batch size "
          f"{args.batch_size}, {args.optimizer}, learning rate {learning_rate:g}")
    print(f"training loss: {losses[0]:.4f} after epoch 1, {losses[-1]:.4f} after "
          f"epoch {epochs}")
    print(f"test accuracy: {accuracy:.1%}")
    print(f"training time: {trained:.3f} s ({rate:,.0f} samples/s)")
    print(f"pure-Python reference, same network and batch size, plain sgd, one epoch on "
          f"{n_reference} samples: {reference_rate:,.0f} samples/s; nncore is "
          f"{rate / reference_rate:,.0f}x faster")
    if args.plot:
        title = (f"{args.dataset}: {sizes} {net.activation}/softmax {args.dtype}, "
                 f"batch size {args.batch_size}, learning rate {learning_rate:g}")
        try:
            if boundary:
                _plot.training_figure(args.plot, losses, title, snapshots, X[train],
                                      y[train], xx, yy)
            else:
                _plot.training_figure(args.plot, losses, title)
        except _plot.PlotError as exc:
            raise CommandError(str(exc)) from None
        print(f"figure: {args.plot}")
    return 0
