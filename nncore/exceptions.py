# SPDX-License-Identifier: MIT
"""Exceptions raised by nncore."""
from __future__ import annotations


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss; the network keeps its last finite state.

    Raised by ``Network.fit`` and ``Network.train_step``. A
    ``FloatingPointError``, so ``except FloatingPointError`` catches it too.

    Parameters
    ----------
    message : str
        What happened and what to try (a lower learning rate, scaled inputs).
    epoch : int, default 0
        Zero-based epoch in which training stopped.
    sample : int, default 0
        How many samples of that epoch the weights the network was left with
        had been trained on.

    Attributes
    ----------
    epoch : int
        Zero-based epoch in which training stopped.
    sample : int
        How many samples of that epoch the weights the network was left with
        had been trained on.

    Examples
    --------
    An input far too large for the learning rate overflows the loss at once:

    >>> import nncore
    >>> net = nncore.Network([1, 1], output="identity", seed=0)
    >>> try:
    ...     net.fit([[1e200]], [[0.0]], learning_rate=1.0)
    ... except nncore.DivergenceError as exc:
    ...     print(exc.epoch, exc.sample)
    0 0
    """

    def __init__(self, message: str, epoch: int = 0, sample: int = 0) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.sample = sample


class ModelFileError(ValueError):
    """A model file could not be loaded.

    Raised by ``nncore.load`` for a file that is not an nncore model file, is
    truncated, corrupted, of an unsupported version or inconsistent. The
    message names the file and what is wrong; nothing in the file is ever
    executed. A ``ValueError``, so ``except ValueError`` catches it too.

    Examples
    --------
    >>> import os, tempfile, nncore
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "net.npz")
    ...     with open(path, "w") as file:
    ...         _ = file.write("not a model")
    ...     try:
    ...         nncore.load(path)
    ...     except nncore.ModelFileError as exc:
    ...         print("not an nncore model file" in str(exc))
    True
    """
