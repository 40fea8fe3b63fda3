# SPDX-License-Identifier: MIT
"""nncore: fast multilayer-perceptron training on the CPU.

The compiled core (feedforward, backpropagation and in-place updates, with
the GIL released) is wrapped by :class:`Network`; :mod:`nncore.reference` is
the pure-Python textbook version the core is tested against.
"""
from __future__ import annotations

from ._typing import EpochInfo, PathLike
from ._version import __version__
from .exceptions import DivergenceError, ModelFileError
from . import _dispatch
from .network import Network


def load(path: PathLike) -> Network:
    """Read a network written by ``Network.save``.

    Reads nncore's versioned ``.npz`` format without ever unpickling or
    executing anything; every size is checked before data is read.

    Parameters
    ----------
    path : str or os.PathLike
        The file, name used as given.

    Returns
    -------
    Network
        Architecture, dtype, weights, biases, training history and the
        shuffling generator's state as they were saved: training goes on
        exactly as it would have in the saved network.

    Raises
    ------
    ModelFileError
        (a ValueError) if the file is not an nncore model, is truncated or
        corrupted, has an unsupported version or inconsistent contents.
    FileNotFoundError
        If there is no such file.

    Examples
    --------
    >>> import os, tempfile, nncore
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "net.npz")
    ...     nncore.Network([4, 3, 2], seed=1).save(path)
    ...     nncore.load(path)
    Network([4, 3, 2], activation='sigmoid', output='softmax', dtype='float64')
    """
    from . import _io
    return Network._from_state(_io.load(path))

#: Instruction-set variant of the compiled core's loops in use ("avx512",
#: "avx2" or "baseline"), chosen at import (NNCORE_SIMD forces one).
simd = _dispatch.select()

__all__ = ["Network", "DivergenceError", "ModelFileError", "EpochInfo", "load",
           "__version__", "simd"]
