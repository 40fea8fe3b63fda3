# SPDX-License-Identifier: MIT
"""The flat parameter buffer: names, layout, offsets and per-layer views.

All weights and biases of a network live in one contiguous 1-D array. Layer
l, mapping n_in = sizes[l] inputs to n_out = sizes[l + 1] units, owns the block
``params[offsets[l] : offsets[l] + n_out * (n_in + 1)]``, read as a row-major
(n_out, n_in + 1) matrix: row j is the n_in weights of unit j followed by its
bias, the weight of a constant input of 1. The per-sample kernels then stream
one contiguous row per unit. Users see the weights as (n_in, n_out) views,
scikit-learn's ``coefs_`` orientation, and the biases as (n_out,) views; both
write through to the buffer.
"""
import numpy as np

# Must match the enums of pyx/_defs.pxd (tests/test_kernels.py checks this).
ACTIVATIONS = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3}
OUTPUTS = {"identity": 0, "sigmoid": 1, "softmax": 2}

# scikit-learn's names, accepted as synonyms.
ACTIVATION_ALIASES = {"logistic": "sigmoid"}


def layout(sizes):
    """Offsets of every layer's block and the total number of parameters.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first.

    Returns
    -------
    offsets : ndarray of intp, shape (n_layers,)
    n_params : int
    """
    blocks = [sizes[l + 1] * (sizes[l] + 1) for l in range(len(sizes) - 1)]
    offsets = np.zeros(len(blocks), dtype=np.intp)
    offsets[1:] = np.cumsum(blocks[:-1])
    return offsets, int(sum(blocks))


def layer_block(params, sizes, offsets, l):
    """Layer l's (n_out, n_in + 1) row-major block of a flat buffer, as a view."""
    n_in, n_out = sizes[l], sizes[l + 1]
    start = int(offsets[l])
    return params[start:start + n_out * (n_in + 1)].reshape(n_out, n_in + 1)


def views(params, sizes, offsets):
    """Per-layer weight (n_in, n_out) and bias (n_out,) views into ``params``."""
    weights, biases = [], []
    for l in range(len(sizes) - 1):
        block = layer_block(params, sizes, offsets, l)
        weights.append(block[:, :-1].T)
        biases.append(block[:, -1])
    return weights, biases
