# SPDX-License-Identifier: MIT
"""What nncore is measured against: peers that do the same training, and two bounds.

Every peer starts from nncore's initial weights (sigmoid hidden layers, softmax
output, cross-entropy, plain SGD, samples in order) and exposes ``load`` (reset
the weights, outside the timed region), ``fit_epoch`` and ``predict``:

- `NumpyMLP`: the vectorised NumPy version a user would write (per-sample loop
  for batch size 1). Uses NumPy's BLAS.
- `TorchMLP`: ``nn.Sequential`` of Linear + Sigmoid, ``CrossEntropyLoss``,
  ``optim.SGD``, an ordinary training loop.
- `SklearnMLP`: ``MLPClassifier(solver="sgd")`` with momentum and L2 off;
  ``partial_fit`` is exactly one epoch over the data in order.
- `ReferenceMLP`: ``nncore.reference`` (pure Python).

The bounds do only part of the work:

- `BlasProducts`: only the matrix products of each step, through scipy's BLAS,
  the library whose ``cython_blas`` nncore itself calls (NumPy may load a
  different OpenBLAS); the ceiling for the mini-batch and batch-1024 cells.
- `WeightTraffic`: per sample, one compiled sweep over every weight (forward)
  and, for training, one more sweep reading and writing every weight (update);
  the ceiling for the batch-1 cells.

Torch and scikit-learn are imported only when their wrapper is built, so this
module imports without them.
"""
import numpy as np
from scipy.linalg.blas import get_blas_funcs
from scipy.special import expit

import nncore
from nncore import reference

LEARNING_RATE = 0.1


def make_data(sizes, n_samples, dtype, seed):
    """Inputs uniform in [0, 1), shape (n_samples, sizes[0]), and integer labels in [0, sizes[-1])."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], n_samples).astype(np.intp)
    return X, y


def initial_network(sizes, dtype, seed):
    """A fresh ``nncore.Network`` plus copies of its initial weights (n_in, n_out) and biases."""
    net = nncore.Network(sizes, activation="sigmoid", output="softmax", dtype=dtype, seed=seed)
    return net, [W.copy() for W in net.weights], [b.copy() for b in net.biases]


def batches(n_samples, batch_size):
    """Consecutive slices of ``batch_size`` rows; the last may be shorter."""
    return [slice(start, min(start + batch_size, n_samples))
            for start in range(0, n_samples, batch_size)]


def predict_in_batches(predict, X, batch_size):
    """Call ``predict`` on consecutive ``batch_size``-row slices of X (one sample
    per call for batch size 1, still 2-D); returns the last call's output."""
    out = None
    for rows in batches(X.shape[0], batch_size):
        out = predict(X[rows])
    return out


# ---------------------------------------------------------------------------
# Peers
# ---------------------------------------------------------------------------

class NumpyMLP:
    """The vectorised NumPy MLP: ``A @ W + b``, sigmoid, softmax, backward by matrix products.

    Weights are (n_in, n_out), the orientation of ``nncore.Network.weights``;
    updates are in place (``W -= ...``), intermediates are allocated freely, as
    a user writing it would.
    """

    def __init__(self, weights, biases):
        self.weights = [np.array(W, order="C") for W in weights]
        self.biases = [np.array(b) for b in biases]

    def load(self, weights, biases):
        for W, W0 in zip(self.weights, weights):
            W[...] = W0
        for b, b0 in zip(self.biases, biases):
            b[...] = b0

    def _forward(self, A):
        # Activations of every layer, the input first.
        acts = [A]
        last = len(self.weights) - 1
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            Z = A @ W
            Z += b
            if l < last:
                expit(Z, out=Z)
            else:
                Z -= Z.max(axis=-1, keepdims=True)
                np.exp(Z, out=Z)
                Z /= Z.sum(axis=-1, keepdims=True)
            acts.append(Z)
            A = Z
        return acts

    def predict(self, X):
        """Class probabilities, shape (n_samples, n_out) (or (n_out,) for one 1-D sample)."""
        return self._forward(X)[-1]

    def fit_epoch(self, X, y, batch_size, lr=LEARNING_RATE):
        """One epoch of SGD over the samples in order; returns the mean loss."""
        T = np.eye(self.weights[-1].shape[1], dtype=X.dtype)[y]
        if batch_size == 1:
            return self._online_epoch(X, y, T, lr)
        total = 0.0
        for rows in batches(X.shape[0], batch_size):
            acts = self._forward(X[rows])
            P = acts[-1]
            n = P.shape[0]
            total -= np.log(P[np.arange(n), y[rows]]).sum()
            D = P - T[rows]
            step = lr / n
            for l in range(len(self.weights) - 1, -1, -1):
                A_in, W = acts[l], self.weights[l]
                if l > 0:
                    # Error of the layer below, from the weights before the update.
                    D_prev = D @ W.T
                    D_prev *= A_in * (1 - A_in)
                W -= step * (A_in.T @ D)
                self.biases[l] -= step * D.sum(axis=0)
                if l > 0:
                    D = D_prev
        return total / X.shape[0]

    def _online_epoch(self, X, y, T, lr):
        total = 0.0
        for k in range(X.shape[0]):
            acts = self._forward(X[k])
            p = acts[-1]
            total -= np.log(p[y[k]])
            d = p - T[k]
            for l in range(len(self.weights) - 1, -1, -1):
                a_in, W = acts[l], self.weights[l]
                if l > 0:
                    d_prev = (W @ d) * a_in * (1 - a_in)
                W -= lr * np.outer(a_in, d)
                self.biases[l] -= lr * d
                if l > 0:
                    d = d_prev
        return total / X.shape[0]


class TorchMLP:
    """PyTorch on the CPU: ``nn.Sequential`` of Linear + Sigmoid, CrossEntropyLoss, optim.SGD.

    ``X`` and ``y`` are tensors (see `to_torch`); the caller sets
    ``torch.set_num_threads``.
    """

    def __init__(self, weights, biases, dtype):
        import torch

        self.torch = torch
        tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
        layers = []
        for l, W in enumerate(weights):
            if l > 0:
                layers.append(torch.nn.Sigmoid())
            layers.append(torch.nn.Linear(W.shape[0], W.shape[1], dtype=tdtype))
        self.model = torch.nn.Sequential(*layers)
        self.linears = [m for m in self.model if isinstance(m, torch.nn.Linear)]
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE)
        self.load(weights, biases)

    def load(self, weights, biases):
        with self.torch.no_grad():
            for linear, W, b in zip(self.linears, weights, biases):
                linear.weight.copy_(self.torch.from_numpy(np.ascontiguousarray(W.T)))
                linear.bias.copy_(self.torch.from_numpy(b))

    @staticmethod
    def to_torch(X, y):
        import torch

        return torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def fit_epoch(self, X, y, batch_size):
        total = 0.0
        for rows in batches(X.shape[0], batch_size):
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(X[rows]), y[rows])
            loss.backward()
            self.optimizer.step()
            total += loss.item() * (rows.stop - rows.start)
        return total / X.shape[0]

    def predict(self, X):
        with self.torch.inference_mode():
            return self.torch.softmax(self.model(X), dim=1)

    def weights_finite(self):
        return all(bool(self.torch.isfinite(p).all()) for p in self.model.parameters())


class SklearnMLP:
    """scikit-learn's ``MLPClassifier`` as plain SGD: momentum 0, alpha 0, constant rate, no shuffle.

    ``partial_fit`` runs exactly one epoch over the data in order (``fit`` with
    ``max_iter=1`` would too, but re-initialises unless ``warm_start`` and
    raises ``ConvergenceWarning`` every call). The estimator is initialised by
    one ``partial_fit`` on the first ``batch_size`` samples, then given
    nncore's weights.
    """

    def __init__(self, sizes, weights, biases, X, y, batch_size):
        from sklearn.neural_network import MLPClassifier

        self.classes = np.arange(sizes[-1])
        self.model = MLPClassifier(
            hidden_layer_sizes=tuple(sizes[1:-1]), activation="logistic",
            solver="sgd", alpha=0.0, batch_size=batch_size, learning_rate="constant",
            learning_rate_init=LEARNING_RATE, momentum=0.0, nesterovs_momentum=False,
            shuffle=False, max_iter=1, tol=0.0, n_iter_no_change=2**31 - 1,
            early_stopping=False)
        n_init = max(batch_size, len(self.classes))
        self.model.partial_fit(X[:n_init], y[:n_init], classes=self.classes)
        self.load(weights, biases)

    def load(self, weights, biases):
        for coef, W in zip(self.model.coefs_, weights):
            coef[...] = W
        for intercept, b in zip(self.model.intercepts_, biases):
            intercept[...] = b
        self.model.loss_curve_ = []

    def fit_epoch(self, X, y):
        self.model.partial_fit(X, y)
        return self.model.loss_

    def predict(self, X):
        return self.model.predict_proba(X)

    def weights_finite(self):
        return all(np.isfinite(c).all() for c in self.model.coefs_ + self.model.intercepts_)


class ReferenceMLP:
    """``nncore.reference`` on lists of Python floats (float64 whatever the cell's dtype)."""

    def __init__(self, net, X, y):
        self.net = net
        self.X = X.tolist()
        self.T = np.eye(net.layer_sizes[-1])[y].tolist()
        self.refnet = reference.from_network(net)

    def load(self):
        # from_network copies: the Network itself is never trained here.
        self.refnet = reference.from_network(self.net)

    def fit_epoch(self, batch_size):
        order = list(range(len(self.X)))
        return reference.train_epoch(self.refnet, self.X, self.T, LEARNING_RATE,
                                     batch_size, order)

    def predict(self, X_list):
        return reference.predict(self.refnet, X_list)


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
