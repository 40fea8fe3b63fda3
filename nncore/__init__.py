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
from ._threads import get_num_threads, set_num_threads
from .network import Network


def load(path: PathLike) -> Network:
    """Read a network written by ``Network.save``.

    Reads nncore's versioned ``.npz`` format (versions 1 and 2) without
    ever unpickling or executing anything: every header is parsed by a
    strict reader and every size is checked against the layer sizes, the
    file's real size and the memory available before data is read.

    Parameters
    ----------
    path : str or os.PathLike
        The file, name used as given; a symbolic link is followed. Anything
        but a regular file (a device, FIFO, socket) is refused without
        being read.

    Returns
    -------
    Network
        Architecture, dtype, weights, biases, training history, ``metadata``
        (empty for version 1 files) and the shuffling generator's state as
        they were saved: training goes on exactly as it would have in the
        saved network. A model written by ``nncore train`` has its
        preprocessing in ``metadata``, and its ``predict`` takes the raw
        table.

    Raises
    ------
    ModelFileError
        (a ValueError, naming the file) if it is not a regular file, not an
        nncore model, truncated or corrupted, of an unsupported version, has
        inconsistent contents, or declares sizes that would not fit in
        memory.
    FileNotFoundError
        If there is no such file.
    IsADirectoryError
        If ``path`` is a folder.

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
           "get_num_threads", "set_num_threads", "__version__", "simd"]
