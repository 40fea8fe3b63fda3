# SPDX-License-Identifier: MIT
"""Exceptions raised by nncore."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss; the network keeps its last finite state.

    Attributes
    ----------
    epoch : int
        Zero-based epoch in which training stopped.
    sample : int
        How many samples of that epoch the weights the network was left with
        had been trained on.
    """

    def __init__(self, message, epoch=0, sample=0):
        super().__init__(message)
        self.epoch = epoch
        self.sample = sample


class ModelFileError(ValueError):
    """A model file cannot be loaded: not an nncore file, truncated,
    corrupted, of an unsupported version, or inconsistent. The message names
    the file and what is wrong; nothing in the file is ever executed."""
