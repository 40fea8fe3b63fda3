# SPDX-License-Identifier: MIT
"""Exceptions raised by nncore."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss; the network keeps its last finite state.

    Attributes
    ----------
    epoch : int
        Zero-based epoch in which training stopped.
    sample : int
        Position in that epoch's sample order of the first sample whose loss
        was not finite (or of the first sample not trained, if the loss could
        not be attributed more precisely).
    """

    def __init__(self, message, epoch=0, sample=0):
        super().__init__(message)
        self.epoch = epoch
        self.sample = sample
