# SPDX-License-Identifier: MIT
"""What nncore's speed is measured against: other implementations of the same training.

One implementation shared by ``nncore bench`` and the repository's
``benchmarks/`` (whose ``peers.py`` adds the two bounds). Every peer starts
from nncore's initial weights (sigmoid hidden layers, softmax output,
cross-entropy, plain SGD, samples in order) and exposes ``load`` (reset the
weights, outside any timed region), ``fit_epoch`` and ``predict``:

- `NumpyMLP`: the vectorised NumPy version a user would write (per-sample loop
  for batch size 1). Uses NumPy's BLAS.
- `TorchMLP`: ``nn.Sequential`` of Linear + Sigmoid, ``CrossEntropyLoss``,
  ``optim.SGD``, an ordinary training loop.
- `SklearnMLP`: ``MLPClassifier(solver="sgd")`` with momentum and L2 off;
  ``partial_fit`` is exactly one epoch over the data in order.
- `ReferenceMLP`: ``nncore.reference`` (pure Python).

Torch and scikit-learn are imported only when their wrapper is built, so this
module imports without them.
"""
from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import numpy.typing as npt
# scipy ships no type hints (scipy-stubs has them) and may be checked either way.
from scipy.special import expit  # type: ignore[import-untyped,unused-ignore]

from . import reference
from .network import Network

LEARNING_RATE = 0.1

Array = npt.NDArray[Any]


def make_data(sizes: list[int], n_samples: int, dtype: Any,
              seed: int) -> tuple[Array, npt.NDArray[np.intp]]:
    """Inputs uniform in [0, 1), shape (n_samples, sizes[0]), and integer labels in [0, sizes[-1])."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], n_samples).astype(np.intp)
    return X, y


def initial_network(sizes: list[int], dtype: Any,
                    seed: int) -> tuple[Network, list[Array], list[Array]]:
    """A fresh ``nncore.Network`` plus copies of its initial weights (n_in, n_out) and biases."""
    net = Network(sizes, activation="sigmoid", output="softmax", dtype=dtype, seed=seed)
    return net, [W.copy() for W in net.weights], [b.copy() for b in net.biases]


def batches(n_samples: int, batch_size: int) -> list[slice]:
    """Consecutive slices of ``batch_size`` rows; the last may be shorter."""
    return [slice(start, min(start + batch_size, n_samples))
            for start in range(0, n_samples, batch_size)]


def predict_in_batches(predict: Any, X: Array, batch_size: int) -> Any:
    """Call ``predict`` on consecutive ``batch_size``-row slices of X (one sample
    per call for batch size 1, still 2-D); returns the last call's output."""
    out = None
    for rows in batches(X.shape[0], batch_size):
        out = predict(X[rows])
    return out


class NumpyMLP:
    """The vectorised NumPy MLP: ``A @ W + b``, sigmoid, softmax, backward by matrix products.

    Weights are (n_in, n_out), the orientation of ``nncore.Network.weights``;
    updates are in place (``W -= ...``), intermediates are allocated freely, as
    a user writing it would.
    """

    def __init__(self, weights: list[Array], biases: list[Array]):
        self.weights = [np.array(W, order="C") for W in weights]
        self.biases = [np.array(b) for b in biases]

    def load(self, weights: list[Array], biases: list[Array]) -> None:
        for W, W0 in zip(self.weights, weights):
            W[...] = W0
        for b, b0 in zip(self.biases, biases):
            b[...] = b0

    def _forward(self, A: Array) -> list[Array]:
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

    def predict(self, X: Array) -> Array:
        """Class probabilities, shape (n_samples, n_out) (or (n_out,) for one 1-D sample)."""
        return self._forward(X)[-1]

    def fit_epoch(self, X: Array, y: Array, batch_size: int,
                  lr: float = LEARNING_RATE) -> float:
        """One epoch of SGD over the samples in order; returns the mean loss."""
        T = np.eye(self.weights[-1].shape[1], dtype=X.dtype)[y]
        if batch_size == 1:
            return self._online_epoch(X, y, T, lr)
        total = 0.0
        for rows in batches(X.shape[0], batch_size):
            acts = self._forward(X[rows])
            P = acts[-1]
            n = P.shape[0]
            total -= float(np.log(P[np.arange(n), y[rows]]).sum())
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
        return float(total / len(X))

    def _online_epoch(self, X: Array, y: Array, T: Array, lr: float) -> float:
        total = 0.0
        for k in range(X.shape[0]):
            acts = self._forward(X[k])
            p = acts[-1]
            total -= float(np.log(p[y[k]]))
            d = p - T[k]
            for l in range(len(self.weights) - 1, -1, -1):
                a_in, W = acts[l], self.weights[l]
                if l > 0:
                    d_prev = (W @ d) * a_in * (1 - a_in)
                W -= lr * np.outer(a_in, d)
                self.biases[l] -= lr * d
                if l > 0:
                    d = d_prev
        return float(total / len(X))


class TorchMLP:
    """PyTorch on the CPU: ``nn.Sequential`` of Linear + Sigmoid, CrossEntropyLoss, optim.SGD.

    ``X`` and ``y`` are tensors (see `to_torch`); the caller sets
    ``torch.set_num_threads``.
    """

    def __init__(self, weights: list[Array], biases: list[Array], dtype: Any,
                 lr: float = LEARNING_RATE):
        torch: Any = importlib.import_module("torch")
        self.torch = torch
        tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
        layers: list[Any] = []
        for l, W in enumerate(weights):
            if l > 0:
                layers.append(torch.nn.Sigmoid())
            layers.append(torch.nn.Linear(W.shape[0], W.shape[1], dtype=tdtype))
        self.model: Any = torch.nn.Sequential(*layers)
        self.linears = [m for m in self.model if isinstance(m, torch.nn.Linear)]
        self.loss_fn: Any = torch.nn.CrossEntropyLoss()
        self.optimizer: Any = torch.optim.SGD(self.model.parameters(), lr=lr)
        self.load(weights, biases)

    def load(self, weights: list[Array], biases: list[Array]) -> None:
        with self.torch.no_grad():
            for linear, W, b in zip(self.linears, weights, biases):
                linear.weight.copy_(self.torch.from_numpy(np.ascontiguousarray(W.T)))
                linear.bias.copy_(self.torch.from_numpy(b))

    @staticmethod
    def to_torch(X: Array, y: Array) -> tuple[Any, Any]:
        torch: Any = importlib.import_module("torch")

        return torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def fit_epoch(self, X: Any, y: Any, batch_size: int) -> float:
        total = 0.0
        for rows in batches(X.shape[0], batch_size):
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(X[rows]), y[rows])
            loss.backward()
            self.optimizer.step()
            total += float(loss.item()) * (rows.stop - rows.start)
        return float(total / len(X))

    def predict(self, X: Any) -> Any:
        with self.torch.inference_mode():
            return self.torch.softmax(self.model(X), dim=1)

    def weights_finite(self) -> bool:
        return all(bool(self.torch.isfinite(p).all()) for p in self.model.parameters())


class SklearnMLP:
    """scikit-learn's ``MLPClassifier`` as plain SGD: momentum 0, alpha 0, constant rate, no shuffle.

    ``partial_fit`` runs exactly one epoch over the data in order (``fit`` with
    ``max_iter=1`` would too, but re-initialises unless ``warm_start`` and
    raises ``ConvergenceWarning`` every call). The estimator is initialised by
    one ``partial_fit`` on the first ``batch_size`` samples, then given
    nncore's weights.
    """

    def __init__(self, sizes: list[int], weights: list[Array], biases: list[Array],
                 X: Array, y: Array, batch_size: int, lr: float = LEARNING_RATE):
        MLPClassifier: Any = importlib.import_module(
            "sklearn.neural_network").MLPClassifier

        self.classes = np.arange(sizes[-1])
        self.model: Any = MLPClassifier(
            hidden_layer_sizes=tuple(sizes[1:-1]), activation="logistic",
            solver="sgd", alpha=0.0, batch_size=batch_size, learning_rate="constant",
            learning_rate_init=lr, momentum=0.0, nesterovs_momentum=False,
            shuffle=False, max_iter=1, tol=0.0, n_iter_no_change=2**31 - 1,
            early_stopping=False)
        n_init = max(batch_size, len(self.classes))
        self.model.partial_fit(X[:n_init], y[:n_init], classes=self.classes)
        self.load(weights, biases)

    def load(self, weights: list[Array], biases: list[Array]) -> None:
        for coef, W in zip(self.model.coefs_, weights):
            coef[...] = W
        for intercept, b in zip(self.model.intercepts_, biases):
            intercept[...] = b
        self.model.loss_curve_ = []

    def fit_epoch(self, X: Array, y: Array) -> float:
        self.model.partial_fit(X, y)
        loss: float = self.model.loss_
        return loss

    def predict(self, X: Array) -> Array:
        result: Array = self.model.predict_proba(X)
        return result

    def weights_finite(self) -> bool:
        return all(bool(np.isfinite(c).all())
                   for c in self.model.coefs_ + self.model.intercepts_)


class ReferenceMLP:
    """``nncore.reference`` on lists of Python floats (float64 whatever the cell's dtype)."""

    def __init__(self, net: Network, X: Array, y: Array, lr: float = LEARNING_RATE):
        self.net = net
        self.lr = lr
        self.X: list[list[float]] = X.tolist()
        self.T: list[list[float]] = np.eye(net.layer_sizes[-1])[y].tolist()
        self.refnet = reference.from_network(net)

    def load(self) -> None:
        # from_network copies: the Network itself is never trained here.
        self.refnet = reference.from_network(self.net)

    def fit_epoch(self, batch_size: int, n_samples: int | None = None) -> float:
        """One epoch over the first ``n_samples`` samples (default all)."""
        n = len(self.X) if n_samples is None else n_samples
        loss: float = reference.train_epoch(self.refnet, self.X[:n], self.T[:n], self.lr,
                                            batch_size, list(range(n)))
        return loss

    def predict(self, X_list: list[list[float]]) -> Any:
        return reference.predict(self.refnet, X_list)
