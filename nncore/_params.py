# SPDX-License-Identifier: MIT
"""The flat parameter buffer: names, layout, offsets and per-layer views.

All weights and biases of a network live in one contiguous 1-D array. Layer
l, mapping n_in = sizes[l] inputs to n_out = sizes[l + 1] units, owns the block
``params[offsets[l] : offsets[l] + n_out * lds[l]]``, read as a row-major
(n_out, lds[l]) matrix: row j is the n_in weights of unit j, then its bias
(the weight of a constant input of 1), then zeros up to the row stride
``lds[l]``, the smallest multiple of 64 bytes that holds n_in + 1 entries.
The buffer itself starts on a 64-byte boundary, so every row does: the
per-sample kernels stream one aligned row per unit, and no vector load splits
a cache line (measured: a 784-input forward pass 1.5x faster than with rows
n_in + 1 apart). Users see the weights as (n_in, n_out) views, scikit-learn's
``coefs_`` orientation, and the biases as (n_out,) views; both write through
to the buffer. The padding stays zero: no kernel writes it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._typing import Activation, Output

ALIGNMENT = 64      # bytes: a cache line, and one AVX-512 register

# Initial weights are drawn in float64 at most this many at a time (8 MiB),
# so that no temporary of a layer's size is ever made.
DRAW_CHUNK = 1 << 20

# Must match the enums of pyx/_defs.pxd (tests/test_kernels.py checks this).
ACTIVATIONS: dict[Activation, int] = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3}
OUTPUTS: dict[Output, int] = {"identity": 0, "sigmoid": 1, "softmax": 2}

# scikit-learn's names, accepted as synonyms.
ACTIVATION_ALIASES: dict[str, Activation] = {"logistic": "sigmoid"}


def layout(sizes: Sequence[int],
           dtype: npt.DTypeLike) -> tuple[npt.NDArray[np.intp], int]:
    """The buffer layout of a network, as the compiled core takes it.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first.
    dtype : numpy dtype
        Element type; it sets how many entries 64 bytes hold.

    Returns
    -------
    layout : ndarray of intp, shape (3, n_layers + 1)
        Rows: the sizes; each layer's offset; each layer's row stride (the
        last entry of the last two rows is unused and 0).
    n_entries : int
        Length of the flat buffer, padding included.
    """
    per_line = ALIGNMENT // np.dtype(dtype).itemsize
    n_layers = len(sizes) - 1
    table = np.zeros((3, n_layers + 1), dtype=np.intp)
    table[0] = sizes
    offset = 0
    for l in range(n_layers):
        stride = -(-(sizes[l] + 1) // per_line) * per_line
        table[1, l] = offset
        table[2, l] = stride
        offset += sizes[l + 1] * stride
    return table, offset


def zeros(n_entries: int, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """A zeroed 1-D buffer whose first entry sits on a 64-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(n_entries + ALIGNMENT // itemsize, dtype=dtype)
    skip = (-raw.ctypes.data % ALIGNMENT) // itemsize
    return raw[skip:skip + n_entries]


def layer_block(params: npt.NDArray[Any], table: npt.NDArray[np.intp],
                l: int) -> npt.NDArray[Any]:
    """Layer l's (n_out, row stride) row-major block of a flat buffer, as a view."""
    n_out, start, stride = table[0, l + 1], table[1, l], table[2, l]
    return params[start:start + n_out * stride].reshape(n_out, stride)


def views(params: npt.NDArray[Any], table: npt.NDArray[np.intp]
          ) -> tuple[list[npt.NDArray[Any]], list[npt.NDArray[Any]]]:
    """Per-layer weight (n_in, n_out) and bias (n_out,) views into ``params``."""
    weights, biases = [], []
    for l in range(table.shape[1] - 1):
        n_in = table[0, l]
        block = layer_block(params, table, l)
        weights.append(block[:, :n_in].T)
        biases.append(block[:, n_in])
    return weights, biases


def draw_uniform(rng: np.random.Generator, bound: float, target: npt.NDArray[Any]) -> None:
    """Fill the 1-D or 2-D view ``target`` with ``rng.uniform(-bound, bound)``.

    The values, and what is left of the generator's stream, are exactly those
    of ``target[...] = rng.uniform(-bound, bound, target.shape)``: NumPy draws
    each double from the stream in C order, so drawing whole rows, or pieces
    of one row, in that order gives the same numbers. Only DRAW_CHUNK float64
    values exist at a time; each is rounded to target's dtype as it is stored.
    """
    grid = target.reshape(1, -1) if target.ndim == 1 else target
    n_rows, n_cols = grid.shape
    if n_cols == 0:
        return
    rows = DRAW_CHUNK // n_cols
    if rows >= 1:
        for start in range(0, n_rows, rows):
            stop = min(start + rows, n_rows)
            grid[start:stop] = rng.uniform(-bound, bound, (stop - start, n_cols))
        return
    for row in grid:
        for start in range(0, n_cols, DRAW_CHUNK):
            stop = min(start + DRAW_CHUNK, n_cols)
            row[start:stop] = rng.uniform(-bound, bound, stop - start)
