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
too); this module adds the bounds and two peers that only the suite runs:

- `OnnxMLP`: ONNX Runtime on the same network exported by
  ``Network.to_onnx`` (`onnx_graph`), inference only.
- `JaxMLP`: JAX under ``jax.jit``, training (the epoch's batch loop inside
  ``jax.lax.scan``) and inference.

Torch, scikit-learn, onnx, onnxruntime and JAX are imported only when their
wrapper is built, so this module imports without them.
"""
import contextlib
import importlib
import os

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
# ONNX Runtime
# ---------------------------------------------------------------------------

ONNX_OPSET = 17


def onnx_graph(weights, biases, dtype):
    """The network as an ``onnx.ModelProto``, exported by nncore itself.

    ``weights`` are (n_in, n_out), as ``Network.weights``: they are copied
    into a Network of those sizes (sigmoid hidden layers, softmax output),
    whose ``to_onnx`` writes Gemm + Sigmoid per hidden layer and Gemm +
    Softmax, input ``X`` and output ``Y``, with a dynamic batch dimension:
    so this peer is ONNX Runtime running nncore's own exported model.
    """
    sizes = [weights[0].shape[0]] + [W.shape[1] for W in weights]
    net = nncore.Network(sizes, dtype=dtype, seed=0)
    for l, (W, b) in enumerate(zip(weights, biases)):
        net.weights[l][...] = W
        net.biases[l][...] = b
    return net.to_onnx(opset=ONNX_OPSET)


class OnnxMLP:
    """ONNX Runtime's CPU session on `onnx_graph`: ``threads`` intra-op threads, one inter-op.

    ``predict`` is ``session.run`` on a NumPy batch, as a serving user calls it.
    """

    def __init__(self, weights, biases, dtype, threads):
        ort = importlib.import_module("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        model = onnx_graph(weights, biases, dtype)
        self.session = ort.InferenceSession(model.SerializeToString(), options,
                                            providers=["CPUExecutionProvider"])

    def predict(self, X):
        return self.session.run(["Y"], {"X": X})[0]


# ---------------------------------------------------------------------------
# JAX
# ---------------------------------------------------------------------------

def import_jax():
    """``jax``, with 64-bit types enabled (before any JAX array exists).

    ``jax_enable_x64`` changes only JAX's own default types; arrays made from
    float32 NumPy data stay float32, and no other peer reads the setting.
    """
    jax = importlib.import_module("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


@contextlib.contextmanager
def pinned(threads):
    """Pin every thread of the process to ``threads`` CPUs while inside; restore on exit.

    XLA's CPU thread pools (one thread per core, made when the backend
    starts) ignore OMP/OPENBLAS/MKL thread variables, so JAX's thread count
    is limited by affinity. ``os.sched_setaffinity`` takes a thread id on
    Linux and applies to that thread only: every thread listed in
    ``/proc/self/task`` is set. Does nothing when ``threads`` is at least the
    number of CPUs the process may use, or where ``sched_setaffinity`` does
    not exist.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    if threads >= len(before):
        yield
        return
    cpus = set(sorted(before)[:threads])
    tids = _threads()
    for tid in tids:
        with contextlib.suppress(OSError):      # a thread may have ended meanwhile
            os.sched_setaffinity(tid, cpus)
    try:
        yield
    finally:
        for tid in _threads() | tids:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, before)


def _threads():
    """Ids of the process's threads (Linux)."""
    return {int(tid) for tid in os.listdir("/proc/self/task")}


class JaxMLP:
    """JAX under ``jax.jit``: the same network, loss and plain SGD as the other peers.

    Parameters are a list of (W, b) with W (n_in, n_out). The loss of a batch
    is the mean cross-entropy of softmax; its gradient comes from
    ``jax.grad`` and the step is ``p - lr * g``. One epoch is one jitted call:
    the full batches in order under ``jax.lax.scan`` (XLA fuses the
    elementwise passes), a shorter last batch by the jitted single step.
    Calls end with ``block_until_ready`` (JAX dispatches asynchronously).
    """

    def __init__(self, weights, biases, dtype, lr=LEARNING_RATE):
        jax = import_jax()
        jnp = jax.numpy
        self.jax, self.jnp = jax, jnp
        self.dtype = np.dtype(dtype)
        self.lr = lr
        self.load(weights, biases)

        def forward(params, X):
            A = X
            for W, b in params[:-1]:
                A = jax.nn.sigmoid(A @ W + b)
            W, b = params[-1]
            return A @ W + b

        def loss(params, X, y):
            logp = jax.nn.log_softmax(forward(params, X), axis=1)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        def step(params, batch):
            X, y = batch
            value, grads = jax.value_and_grad(loss)(params, X, y)
            params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
            return params, value

        def epoch(params, Xb, yb):
            # Xb (n_batches, batch, n_in), yb (n_batches, batch)
            return jax.lax.scan(step, params, (Xb, yb))

        self._step = jax.jit(step)
        self._epoch = jax.jit(epoch)
        self._predict = jax.jit(lambda params, X: jax.nn.softmax(forward(params, X), axis=1))

    def load(self, weights, biases):
        jnp = self.jnp
        self.params = [(jnp.asarray(W, dtype=self.dtype), jnp.asarray(b, dtype=self.dtype))
                       for W, b in zip(weights, biases)]

    def to_jax(self, X, y, batch_size):
        """(full batches of X, of y, the rest of X, of y) as JAX arrays, made outside timing."""
        jnp = self.jnp
        n_full = X.shape[0] // batch_size * batch_size
        shape = (n_full // batch_size, batch_size)
        return (jnp.asarray(X[:n_full].reshape(shape + X.shape[1:]), dtype=self.dtype),
                jnp.asarray(y[:n_full].reshape(shape), dtype=jnp.int32),
                jnp.asarray(X[n_full:], dtype=self.dtype), jnp.asarray(y[n_full:], dtype=jnp.int32))

    def fit_epoch(self, data):
        """One epoch over `to_jax`'s batches; returns the mean loss."""
        Xb, yb, X_rest, y_rest = data
        params, losses = self._epoch(self.params, Xb, yb)
        total = float(losses.sum()) * Xb.shape[1]
        if X_rest.shape[0]:
            params, value = self._step(params, (X_rest, y_rest))
            total += float(value) * X_rest.shape[0]
        self.params = self.jax.block_until_ready(params)
        return total / (Xb.shape[0] * Xb.shape[1] + X_rest.shape[0])

    def predict(self, X):
        return self._predict(self.params, X).block_until_ready()

    def weights_finite(self):
        return all(bool(np.isfinite(np.asarray(p)).all()) for layer in self.params for p in layer)


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
