# SPDX-License-Identifier: MIT
"""What nncore is measured against: peers that do the same training, and two bounds.

The bounds do only part of the work:

- `BlasProducts`: only the matrix products of each step, through scipy's BLAS,
  the library whose ``cython_blas`` nncore itself calls (NumPy may load a
  different OpenBLAS); the ceiling for the mini-batch and batch-1024 cells.
- `WeightTraffic`: per sample, one compiled sweep over every weight (forward)
  and, for training, one more sweep reading and writing every weight (update);
  the ceiling for the batch-1 cells.

The peers are ``nncore._peers`` (the implementation ``nncore bench`` runs
too); this module adds the bounds. Torch and scikit-learn are imported only
when their wrapper is built, so this module imports without them.
"""
import numpy as np
from scipy.linalg.blas import get_blas_funcs

import nncore

# The peers themselves live in the package (nncore._peers), shared with
# ``nncore bench``; they are re-exported here under their old names.
from nncore._peers import (  # noqa: E402,F401
    LEARNING_RATE,
    NumpyMLP,
    ReferenceMLP,
    SklearnMLP,
    TorchMLP,
    batches,
    initial_network,
    make_data,
    predict_in_batches,
)


# ---------------------------------------------------------------------------
# Bounds
# ---------------------------------------------------------------------------
# Row-major (C-order) arrays are handed to scipy's Fortran BLAS as their
# transposes, which are Fortran-contiguous: no copy is made and the outputs
# are written in place (c=..., overwrite_c=1).

class BlasProducts:
    """Only the matrix products of a forward pass or a training step, through scipy's BLAS.

    Per batch and layer (A (B, n_in) the layer's input, W (n_out, n_in), D (B, n_out)):
    forward ``Z = A W^T``; in training also ``dW = D^T A`` and, above the first
    layer, ``D_prev = D W``. Nothing else: no bias, activation, loss or update,
    all outputs preallocated. W and dW are row-major (n_out, n_in) and every
    product has the orientation of nncore's own gemm calls, so OpenBLAS runs the
    same kernels. Any mini-batch trainer must do at least these products, so
    this is the ceiling of the mini-batch and batch-1024 cells (on the smallest
    network each call's ~2 us of Python overhead is a noticeable share of it).
    """

    def __init__(self, sizes, dtype, batch_size, seed=0):
        rng = np.random.default_rng(seed)
        self.gemm = get_blas_funcs("gemm", dtype=np.dtype(dtype))
        self.batch_size = batch_size
        self.weights = [rng.random((n_out, n_in)).astype(dtype)
                        for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        self.grads = [np.empty_like(W) for W in self.weights]
        # acts[l] is layer l's output (B, sizes[l + 1]); deltas[l] its error terms.
        self.acts = [np.empty((batch_size, n), dtype=dtype) for n in sizes[1:]]
        self.deltas = [rng.random((batch_size, n)).astype(dtype) for n in sizes[1:]]

    def _calls(self, X, train):
        # The gemm argument tuples of one batch: (alpha, a, b, beta, c, trans_a,
        # trans_b, overwrite_c), positional, so a call costs ~1 us of Python.
        # Row-major M is passed as M.T, a Fortran-ordered view: no copies.
        B = X.shape[0]
        calls, A = [], X
        for W, Z in zip(self.weights, self.acts):
            calls.append((1.0, W.T, A.T, 0.0, Z[:B].T, 1, 0, 1))          # Z = A W^T
            A = Z[:B]
        if train:
            for l in range(len(self.weights) - 1, -1, -1):
                A_in = X if l == 0 else self.acts[l - 1][:B]
                D = self.deltas[l][:B]
                calls.append((1.0, A_in.T, D.T, 0.0, self.grads[l].T, 0, 1, 1))  # dW = D^T A
                if l > 0:
                    calls.append((1.0, self.weights[l].T, D.T, 0.0,
                                  self.deltas[l - 1][:B].T, 0, 0, 1))       # D_prev = D W
        return calls

    def _products(self, X, train):
        gemm = self.gemm
        for args in self._calls(X, train):
            gemm(*args)

    def train_epoch(self, X):
        for rows in batches(X.shape[0], self.batch_size):
            self._products(X[rows], train=True)

    def predict(self, X):
        for rows in batches(X.shape[0], self.batch_size):
            self._products(X[rows], train=False)
        return self.acts[-1]

    def finite(self):
        return all(np.isfinite(a).all() for a in self.acts + self.grads)


class WeightTraffic:
    """Per sample, one forward sweep and (training) one update sweep over every weight.

    A compiled loop in nncore's core (``_bench_weight_traffic``) over a
    network's own aligned buffer, with nncore's fastest row loops: per sample
    and layer, one pass forming ``W a`` and, in training, a separate pass
    ``W -= step a^T``, and nothing else (no activation, loss or backward
    work). It is the issue's "weight traffic" ceiling for the batch-1 cells.
    nncore's online training can beat it on the 784-input shapes: it fuses
    the first layer's update for one sample with its forward sweep for the
    next, so the largest layer crosses the caches once per sample, not twice.
    """

    STEP = 1e-12        # tiny, so the weights stay finite over any run

    def __init__(self, sizes, dtype, seed=0):
        net = nncore.Network(sizes, dtype=dtype, seed=seed)
        self.core = nncore.network._core
        self.layout = net._layout
        self.params = net.params            # aligned, padded as nncore's
        self.initial = net.params.copy()
        self.work = np.zeros(3 * max(sizes[1:]), dtype=dtype)

    def load(self):
        self.params[...] = self.initial

    def train_epoch(self, X):
        self.core._bench_weight_traffic(self.params, self.layout, X, self.work,
                                        self.STEP, True)

    def predict(self, X):
        self.core._bench_weight_traffic(self.params, self.layout, X, self.work,
                                        self.STEP, False)
        return self.work

    def finite(self):
        return bool(np.isfinite(self.params).all())
