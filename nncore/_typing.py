# SPDX-License-Identifier: MIT
"""Types used in nncore's annotations (the public one is :class:`EpochInfo`)."""
from __future__ import annotations

import os
from typing import Any, Literal, TypeAlias, TypedDict

import numpy as np
import numpy.typing as npt

# Arrays the network returns: its dtype, float32 or float64, is chosen at run
# time, so statically it is "some floating type".
FloatArray: TypeAlias = npt.NDArray[np.floating[Any]]

Seed: TypeAlias = int | np.random.Generator | None
PathLike: TypeAlias = str | os.PathLike[str]

# The accepted spellings; a name outside these is a mypy error before it is a
# ValueError at run time.
Activation: TypeAlias = Literal["sigmoid", "tanh", "relu", "identity", "logistic"]
Output: TypeAlias = Literal["softmax", "sigmoid", "identity"]
#: Optimizers of ``Network.fit``.
Optimizer: TypeAlias = Literal["sgd", "adam"]


class _EpochInfoAlways(TypedDict):
    # The keys of every epoch's report (EpochInfo adds the optional ones).
    epoch: int
    epochs: int
    loss: float
    seconds: float
    samples_per_second: float


class EpochInfo(_EpochInfoAlways, total=False):
    """What ``Network.fit`` passes to its ``callback`` after each epoch.

    Attributes
    ----------
    epoch : int
        The epoch just finished, counted from 1.
    epochs : int
        The number of epochs ``fit`` was asked for.
    loss : float
        The epoch's mean training loss, each sample's taken before its
        batch's update.
    seconds : float
        Wall time of the epoch.
    samples_per_second : float
        Training speed in that epoch (infinite if the clock did not move).
    learning_rate : float
        The learning rate of that epoch (it changes with a schedule).
    val_loss, val_score : float
        The validation loss and score after that epoch; only when ``fit``
        has validation data.

    Examples
    --------
    >>> import numpy as np, nncore
    >>> def report(info: nncore.EpochInfo) -> bool:
    ...     print(info["epoch"], "of", info["epochs"], info["loss"] > 0)
    ...     return info["epoch"] < 2     # False stops training
    >>> net = nncore.Network([2, 2], seed=0)
    >>> len(net.fit([[0., 1.], [1., 0.]], [0, 1], epochs=5, callback=report))
    1 of 5 True
    2 of 5 True
    2
    """

    learning_rate: float
    val_loss: float
    val_score: float
