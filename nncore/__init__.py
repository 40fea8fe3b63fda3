# SPDX-License-Identifier: MIT
"""nncore: fast multilayer-perceptron training on the CPU.

The compiled core (feedforward, backpropagation and in-place updates, with
the GIL released) is wrapped by :class:`Network`; :mod:`nncore.reference` is
the pure-Python textbook version the core is tested against.
"""
from ._version import __version__
from .exceptions import DivergenceError
from .network import Network, _core

#: Instruction-set variant of the compiled core in use ("avx512", "avx2" or "baseline").
simd = _core.__name__.rsplit("_", 1)[-1]

__all__ = ["Network", "DivergenceError", "__version__", "simd"]
