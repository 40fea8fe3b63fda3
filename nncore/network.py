# SPDX-License-Identifier: MIT
"""The ``Network`` class: a multilayer perceptron trained by the compiled core."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from . import _dispatch, _io, _params, _progress, _validation
from ._typing import Activation, EpochInfo, FloatArray, Optimizer, Output, PathLike, Seed

IndexArray = npt.NDArray[np.intp]
from .exceptions import DivergenceError

_core = _dispatch.load()

def _run_epochs(epoch: Callable[[int, IndexArray], float], history: list[float],
                n: int, epochs: int, shuffle: bool, rng: np.random.Generator,
                verbose: bool, callback: Callable[[EpochInfo], bool | None] | None
                ) -> list[float]:
    """fit's loop: ``epoch(number, order)`` returns the epoch's summed error;
    the mean goes to the result and ``history``, then to the progress display
    and the callback (False from it stops)."""
    sequential = np.arange(n, dtype=np.intp)
    losses: list[float] = []
    progress = _progress.Progress(epochs) if verbose else None
    try:
        for number in range(epochs):
            started = time.perf_counter()
            order = rng.permutation(n).astype(np.intp, copy=False) if shuffle else sequential
            loss = epoch(number, order) / n
            losses.append(loss)
            history.append(loss)
            if progress is None and callback is None:
                continue
            seconds = time.perf_counter() - started
            info: EpochInfo = {"epoch": number + 1, "epochs": epochs, "loss": loss,
                               "seconds": seconds,
                               "samples_per_second": n / seconds if seconds > 0 else float("inf")}
            if progress is not None:
                progress.update(info)
            if callback is not None and callback(info) is False:
                break
    finally:
        if progress is not None:
            progress.close()
    return losses


class _Solver(NamedTuple):
    # fit's keyword-only optimizer options, validated.
    optimizer: str
    momentum: float
    nesterov: bool
    alpha: float
    beta_1: float
    beta_2: float
    epsilon: float


# Rows per BLAS pass in forward, loss and gradients: large enough for gemm to
# run at full speed, small enough that the work space stays in cache.
CHUNK_ROWS = 256


class Network:
    """A multilayer perceptron with sigmoid-family hidden layers, trained by SGD.

    Each layer forms weighted sums of the layer below plus a bias and applies
    an activation; the output layer is compared with the target through the
    error function that matches it; backpropagation gives the gradient of the
    mean error for every weight, and training updates every weight in place.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, inputs first and outputs last, e.g. ``[64, 32, 10]``.
    activation : {"sigmoid", "tanh", "relu", "identity"}, default "sigmoid"
        Activation of the hidden layers (``"logistic"`` is a synonym of
        ``"sigmoid"``).
    output : {"softmax", "sigmoid", "identity"}, default "softmax"
        Output layer and its error function: softmax with categorical
        cross-entropy (classes), independent sigmoids with binary
        cross-entropy (binary or multi-label), identity with half the squared
        error (regression).
    dtype : {"float64", "float32"}, default "float64"
        Dtype of the parameters and of all computation; inputs are converted
        to it.
    seed : int, numpy.random.Generator or None, default None
        Seeds the initial weights and, unless ``fit`` is given its own seed,
        the shuffling of the samples. The same integer seed gives the same
        weights and the same training, bit for bit.

    Attributes
    ----------
    layer_sizes : tuple of int
    activation, output : str
    dtype : numpy.dtype
    params : ndarray, shape (n_params,)
        The flat parameter buffer; ``weights`` and ``biases`` are views of it.

    Notes
    -----
    Weights and biases are initialised uniformly in ``[-r, r]`` with
    ``r = sqrt(k / (n_in + n_out))`` (Glorot), ``k = 2`` for sigmoid hidden
    layers and 6 otherwise, as scikit-learn does.

    The error of one sample, from the output pre-activations z and target t:
    softmax ``-sum_j t_j log softmax(z)_j``; sigmoid
    ``sum_j -t_j log s(z_j) - (1 - t_j) log(1 - s(z_j))``; identity
    ``0.5 * sum_j (z_j - t_j)**2``. The logarithms are evaluated from z
    directly (log-sum-exp, softplus), so the error is exact and finite for any
    finite z, with no clipping. ``loss`` and the training losses are the mean
    over samples; gradients are those of that mean.

    Training methods (``train_step``, ``fit``) of one network are serialised
    by a lock: a second call from another thread waits for the first.
    ``forward``, ``loss`` and ``gradients`` hold no shared state and may run
    concurrently with each other; run concurrently with training they see
    weights that are being updated. Separate networks train fully in parallel:
    the core releases the GIL.

    Examples
    --------
    >>> import numpy as np, nncore
    >>> net = nncore.Network([2, 3, 2], seed=0)
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    >>> net.forward(X).shape
    (4, 2)
    """

    def __init__(self, layer_sizes: Collection[int], activation: Activation = "sigmoid",
                 output: Output = "softmax", dtype: npt.DTypeLike = "float64",
                 seed: Seed = None) -> None:
        sizes = _validation.check_layer_sizes(layer_sizes)
        activation = _validation.check_choice(
            activation, "activation", _params.ACTIVATIONS,
            _params.ACTIVATION_ALIASES)
        output = _validation.check_choice(output, "output", _params.OUTPUTS)
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError("a softmax output needs at least 2 units, got "
                             f"{sizes[-1]}; use output='sigmoid' for one unit")
        self._dtype = np.dtype(_validation.check_dtype(dtype))
        _validation.check_memory(sizes, self._dtype)
        self._rng = np.random.default_rng(seed)
        _io.check_generator(self._rng)
        self._metadata: dict[str, Any] = {}
        self._sizes = sizes
        self._activation = activation
        self._output = output
        self._layout, n_entries = _params.layout(sizes, self._dtype)
        self._params = _params.zeros(n_entries, self._dtype)
        self._weights, self._biases = _params.views(self._params, self._layout)
        # Reentrant: a fit callback may save the network it is training.
        self._lock = threading.RLock()
        self._history: list[float] = []
        self._train_work: dict[int, FloatArray] = {}
        self._model: _dispatch.CoreModel | None = None
        # Mini-batch path of the core: by size (-1), or forced by tests.
        self._train_path = -1
        factor = 2.0 if activation == "sigmoid" else 6.0
        for l in range(len(sizes) - 1):
            n_in, n_out = sizes[l], sizes[l + 1]
            bound = np.sqrt(factor / (n_in + n_out))
            # Drawn in float64 in scikit-learn's order (coefs, then
            # intercepts), then stored in the network's dtype.
            self._weights[l][...] = self._rng.uniform(-bound, bound, (n_in, n_out))
            self._biases[l][...] = self._rng.uniform(-bound, bound, n_out)

    # -- properties ---------------------------------------------------------

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Units per layer, inputs first (tuple of int).

        Examples
        --------
        >>> import nncore
        >>> nncore.Network([64, 32, 10]).layer_sizes
        (64, 32, 10)
        """
        return self._sizes

    @property
    def activation(self) -> Activation:
        """Hidden-layer activation name (``"logistic"`` is stored as ``"sigmoid"``).

        Examples
        --------
        >>> import nncore
        >>> nncore.Network([4, 3, 2], activation="logistic").activation
        'sigmoid'
        """
        return self._activation

    @property
    def output(self) -> Output:
        """Output layer name (``"softmax"``, ``"sigmoid"`` or ``"identity"``).

        Examples
        --------
        >>> import nncore
        >>> nncore.Network([4, 1], output="sigmoid").output
        'sigmoid'
        """
        return self._output

    @property
    def dtype(self) -> np.dtype[np.floating[Any]]:
        """Dtype of the parameters and of all computation.

        Examples
        --------
        >>> import numpy as np, nncore
        >>> net = nncore.Network([4, 3, 2], dtype=np.float32)
        >>> net.dtype, net.forward(np.zeros((1, 4))).dtype
        (dtype('float32'), dtype('float32'))
        """
        return self._dtype

    @property
    def params(self) -> FloatArray:
        """The flat parameter buffer; writes change the network.

        Each unit's weights and bias form one row, padded with zeros to a
        multiple of 64 bytes (see ``nncore._params``); ``weights`` and
        ``biases`` are views of it.

        Examples
        --------
        >>> import nncore
        >>> net = nncore.Network([2, 3, 2], seed=0)
        >>> net.params.shape[0] >= net.n_params
        True
        >>> net.params[...] = 0      # every weight and bias is now 0
        >>> float(abs(net.weights[0]).max())
        0.0
        """
        return self._params

    @property
    def weights(self) -> list[FloatArray]:
        """List of writable (n_in, n_out) views of each layer's weights.

        Examples
        --------
        >>> import nncore
        >>> net = nncore.Network([4, 3, 2], seed=0)
        >>> [w.shape for w in net.weights]
        [(4, 3), (3, 2)]
        >>> net.weights[1][0, 0] = 0.5   # writes into the network
        >>> float(net.weights[1][0, 0])
        0.5
        """
        return list(self._weights)

    @property
    def biases(self) -> list[FloatArray]:
        """List of writable (n_out,) views of each layer's biases.

        Examples
        --------
        >>> import nncore
        >>> net = nncore.Network([4, 3, 2], seed=0)
        >>> [b.shape for b in net.biases]
        [(3,), (2,)]
        """
        return list(self._biases)

    @property
    def history(self) -> list[float]:
        """Mean training loss of every epoch ``fit`` has run, in order (list of float).

        Kept across calls to ``fit``, and saved and loaded with the network.

        Examples
        --------
        >>> import nncore
        >>> net = nncore.Network([2, 2], seed=0)
        >>> losses = net.fit([[0., 1.], [1., 0.]], [0, 1], epochs=3, seed=0)
        >>> losses = net.fit([[0., 1.], [1., 0.]], [0, 1], epochs=2, seed=0)
        >>> len(net.history), net.history[-2:] == losses
        (5, True)
        """
        return list(self._history)

    @property
    def n_params(self) -> int:
        """Total number of weights and biases (the padding of ``params`` not counted).

        Examples
        --------
        >>> import nncore
        >>> nncore.Network([4, 3, 2]).n_params     # (4 + 1) * 3 + (3 + 1) * 2
        23
        """
        sizes = self._sizes
        return sum((sizes[l] + 1) * sizes[l + 1] for l in range(len(sizes) - 1))

    @property
    def metadata(self) -> dict[str, Any]:
        """What the caller wants kept with the network (dict, default empty).

        Saved by ``save`` and given back by ``nncore.load``, kept by pickle
        and ``copy``: e.g. the task, column names, classes, input scaling. It
        must be what JSON holds: str keys; None, bool, int, finite float, str,
        lists (tuples and NumPy arrays come back as lists, NumPy scalars as
        Python numbers) and dicts, at most ``nncore._io.MAX_METADATA_BYTES``
        as JSON. Checked when set and again when saved.

        Examples
        --------
        >>> import nncore
        >>> net = nncore.Network([4, 3, 2])
        >>> net.metadata = {"classes": ["no", "yes"]}
        >>> net.metadata["classes"]
        ['no', 'yes']
        """
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        _io.metadata_bytes(value)
        self._metadata = value

    # -- saving, loading, pickling --------------------------------------------

    def save(self, path: PathLike) -> None:
        """Write the network to ``path`` (an ``.npz`` file, name used as given).

        The file holds the architecture, dtype, weights, biases and the
        shuffling generator's state, in nncore's versioned format (see
        ``nncore._io``), and no code. The write is atomic: a temporary file in
        the same folder is flushed to disk and renamed over ``path``, so a
        failed or interrupted save leaves an existing file intact.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write; replaced if it exists.

        See Also
        --------
        nncore.load : Read the file back.

        Examples
        --------
        >>> import os, tempfile, nncore
        >>> net = nncore.Network([2, 3, 2], seed=0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "net.npz")
        ...     net.save(path)
        ...     same = nncore.load(path)
        >>> bool((same.params == net.params).all())
        True
        """
        with self._lock:
            _io.save(self, path)

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> Network:
        net = cls.__new__(cls)
        net.__setstate__(state)
        return net

    def __getstate__(self) -> dict[str, Any]:
        # Plain arrays and strings only: the same state as a saved file.
        with self._lock:
            return _io.state_of(self)

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "format" in state:       # the file members, as __getstate__ gives
            state = _io.unpack(state)
        fresh = Network(state["layer_sizes"], activation=state["activation"],
                        output=state["output"], dtype=state["dtype"], seed=0)
        for l in range(len(fresh._weights)):
            if state["weights"][l].shape != fresh._weights[l].shape or \
                    state["biases"][l].shape != fresh._biases[l].shape:
                raise ValueError(f"saved layer {l} does not match layer_sizes")
            fresh._weights[l][...] = state["weights"][l]
            fresh._biases[l][...] = state["biases"][l]
        fresh._rng = state["rng"]
        fresh._history = [float(v) for v in state.get("history", [])]
        fresh._metadata = state.get("metadata", {})
        self.__dict__.update(fresh.__dict__)

    def __repr__(self) -> str:
        return (f"Network({list(self._sizes)}, activation={self._activation!r}, "
                f"output={self._output!r}, dtype={self._dtype.name!r})")

    # -- internals ----------------------------------------------------------

    def _compiled(self) -> _dispatch.CoreModel:
        # The core's Model over this network's buffers, made on first use
        # (and again if the tests point this module at another variant).
        model = self._model
        if type(model) is not _core.Model:
            model = self._model = _core.Model(self._params, *self._spec())
        return model

    def _spec(self) -> tuple[npt.NDArray[np.intp], int, int]:
        return (self._layout, _params.ACTIVATIONS[self._activation],
                _params.OUTPUTS[self._output])

    def _work(self, batch: int) -> FloatArray:
        entries = _core._workspace_size(self._layout, batch)
        _validation.check_bytes(entries * self._dtype.itemsize,
                                f"the work space of a batch of {batch} samples")
        return np.empty(entries, dtype=self._dtype)

    def _inputs(self, X: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        X = _validation.as_input(X, self._dtype, self._sizes[0])
        T = _validation.as_target(y, self._output, self._sizes[-1], self._dtype,
                                  X.shape[0])
        return X, T

    def _check_params(self) -> None:
        # Users may write into weights/biases/params; training starts only
        # from finite weights, so that a restored state is always finite.
        if not np.isfinite(self._params).all():
            raise ValueError("the network's parameters contain NaN or infinity "
                             "(written through weights, biases or params)")

    def _loss_grad(self, X: FloatArray, T: FloatArray,
                   want_grad: bool) -> tuple[float, FloatArray]:
        batch = min(CHUNK_ROWS, X.shape[0])
        grad = np.empty(self._params.shape[0] if want_grad else 0, dtype=self._dtype)
        total = _core._loss_grad(self._params, *self._spec(), X, T, grad,
                                 want_grad, self._work(batch), batch)
        return total / X.shape[0], grad

    # -- public API -----------------------------------------------------------

    def forward(self, X: npt.ArrayLike) -> FloatArray:
        """Output activations of the network for every sample.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            Converted to the network's dtype (copied only if needed).

        Returns
        -------
        ndarray, shape (n_samples, n_out), network dtype
            Class probabilities for softmax, per-output probabilities for
            sigmoid, real values for identity.

        Raises
        ------
        ValueError, TypeError
            If ``X`` is not 2-D with the network's number of features, holds
            NaN or infinity, or is not real numbers.

        Examples
        --------
        >>> import numpy as np, nncore
        >>> net = nncore.Network([3, 4, 2], seed=0)
        >>> P = net.forward([[0.1, 0.2, 0.3], [1.0, 0.0, -1.0]])
        >>> P.shape, np.allclose(P.sum(axis=1), 1)
        ((2, 2), True)
        """
        model = self._compiled()
        # Arrays already in the network's dtype and layout go straight to
        # the core (which checks them cheaply); anything else is validated
        # and converted first.
        out = model.forward(X)
        if out is None:
            out = model.forward(_validation.as_input(X, self._dtype, self._sizes[0]))
            if out is None:   # as_input returns exactly what the core takes
                raise RuntimeError("validated input refused by the core")
        return out

    def loss(self, X: npt.ArrayLike, y: npt.ArrayLike) -> float:
        """Mean error of the network over the samples.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            The samples, converted to the network's dtype.
        y : array-like
            Targets: class labels (n_samples,) or probability rows
            (n_samples, n_out) for softmax; values in [0, 1], shape
            (n_samples,) or (n_samples, n_out), for sigmoid; reals of those
            shapes for identity.

        Returns
        -------
        float
            The mean over the samples of each sample's error (see the class
            notes); the network is not changed.

        Examples
        --------
        Softmax outputs that are both 1/2 cost ``log 2`` whatever the label:

        >>> import numpy as np, nncore
        >>> net = nncore.Network([2, 2], seed=0)
        >>> net.params[...] = 0
        >>> bool(np.isclose(net.loss([[1.0, 2.0], [3.0, 4.0]], [0, 1]), np.log(2)))
        True
        """
        X, T = self._inputs(X, y)
        return float(self._loss_grad(X, T, False)[0])

    def gradients(self, X: npt.ArrayLike,
                  y: npt.ArrayLike) -> tuple[list[FloatArray], list[FloatArray]]:
        """Gradient of ``loss(X, y)`` with respect to every weight and bias.

        The network is not changed.

        Parameters
        ----------
        X, y : array-like
            As for ``loss``.

        Returns
        -------
        dW : list of ndarray, shape (n_in, n_out) per layer
            Gradient for each layer's weights, in the orientation of ``weights``.
        db : list of ndarray, shape (n_out,) per layer
            Gradient for each layer's biases.

        Examples
        --------
        One step of size 0.1 along the gradient is what ``train_step`` does:

        >>> import numpy as np, nncore
        >>> net = nncore.Network([2, 3, 2], seed=0)
        >>> X, y = [[0., 1.], [1., 0.]], [0, 1]
        >>> dW, db = net.gradients(X, y)
        >>> [g.shape for g in dW], [g.shape for g in db]
        ([(2, 3), (3, 2)], [(3,), (2,)])
        >>> expected = net.weights[0] - 0.1 * dW[0]
        >>> _ = net.train_step(X, y, learning_rate=0.1)
        >>> bool(np.allclose(net.weights[0], expected))
        True
        """
        X, T = self._inputs(X, y)
        grad = self._loss_grad(X, T, True)[1]
        dW, db = _params.views(grad, self._layout)
        return [np.ascontiguousarray(w) for w in dW], [b.copy() for b in db]

    def train_step(self, X: npt.ArrayLike, y: npt.ArrayLike,
                   learning_rate: float = 0.1) -> float:
        """One gradient-descent step on the batch (X, y), in place.

        Every weight w becomes ``w - learning_rate * dE/dw`` where E is the
        mean error over the batch.

        Parameters
        ----------
        X, y : array-like
            The batch, as for ``loss``.
        learning_rate : float, default 0.1
            Step size, >= 0 (0 leaves every weight exactly as it is).

        Returns
        -------
        float
            The batch's mean error before the update.

        Raises
        ------
        DivergenceError
            If the error or any updated weight would not be finite; the
            network is then left unchanged.
        ValueError
            Also if the network's parameters are not finite to begin with.

        Examples
        --------
        >>> import numpy as np, nncore
        >>> net = nncore.Network([2, 3, 2], seed=0)
        >>> X, y = [[0., 1.], [1., 0.]], [0, 1]
        >>> before = net.loss(X, y)
        >>> bool(np.isclose(net.train_step(X, y, learning_rate=0.5), before))
        True
        >>> net.loss(X, y) < before
        True
        """
        learning_rate = _validation.check_learning_rate(learning_rate, self._dtype)
        X, T = self._inputs(X, y)
        with self._lock:
            self._check_params()
            loss, grad = self._loss_grad(X, T, True)
            # The step is applied only if it leaves every weight finite.
            with np.errstate(over="ignore", invalid="ignore"):
                grad *= -learning_rate
                grad += self._params
            if not (np.isfinite(loss) and np.isfinite(grad).all()):
                raise DivergenceError(
                    "the loss or the updated weights are not finite; the network "
                    "is unchanged. Scale the inputs or lower the learning rate.")
            self._params[...] = grad
        return float(loss)

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike, epochs: int = 1, batch_size: int = 1,
            learning_rate: float = 0.1, shuffle: bool = True, seed: Seed = None,
            verbose: bool = False,
            callback: Callable[[EpochInfo], bool | None] | None = None, *,
            optimizer: Optimizer = "sgd", momentum: float = 0.0,
            nesterov: bool = False, alpha: float = 0.0,
            sample_weight: npt.ArrayLike | None = None, beta_1: float = 0.9,
            beta_2: float = 0.999, epsilon: float = 1e-8) -> list[float]:
        """Train by stochastic gradient descent, updating the weights in place.

        Each epoch walks through all samples in batches of ``batch_size``
        (the last batch may be smaller) and after each batch moves every
        weight by ``-learning_rate`` times the gradient of the batch's mean
        error. ``batch_size=1`` is classic online training.

        The keyword-only options add momentum, Nesterov's momentum, Adam, an
        L2 penalty and sample weights, with exactly scikit-learn's
        definitions (``sklearn.neural_network``; ``nncore.sklearn`` runs on
        the same kernels): the gradient of a batch is
        ``(sum_k w_k grad_k + alpha W) / sum_k w_k`` (no penalty on biases);
        ``sgd`` keeps a velocity ``v = momentum v - learning_rate g`` and
        adds ``v`` (Nesterov: ``momentum v - learning_rate g``); ``adam``
        keeps the moments of Kingma and Ba with bias correction. The
        optimizer state starts at zero in each call.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            The training samples, converted to the network's dtype.
        y : array-like
            Targets, as for ``loss``.
        epochs : int, default 1
            Passes over the samples (fewer if ``callback`` stops training).
        batch_size : int, default 1
            Clipped to n_samples.
        learning_rate : float, default 0.1
            Step size, >= 0.
        shuffle : bool, default True
            Visit the samples in a new random order every epoch.
        seed : int, numpy.random.Generator or None, default None
            Seeds the shuffling; None continues the network's own generator
            (seeded by the constructor's ``seed``).
        verbose : bool, default False
            Show progress per epoch (a tqdm bar when tqdm is installed, one
            line per epoch on stderr otherwise).
        optimizer : {"sgd", "adam"}, default "sgd"
            ``adam`` is usually run with a much smaller ``learning_rate``
            (scikit-learn's default is 0.001).
        momentum : float in [0, 1], default 0
            Velocity decay of ``sgd``.
        nesterov : bool, default False
            Nesterov's momentum for ``sgd``.
        alpha : float >= 0, default 0
            Strength of the L2 penalty ``alpha / 2 ||W||^2`` on the weights,
            per unit of sample weight in the batch; the reported losses
            include it.
        sample_weight : array-like of shape (n_samples,) or None
            Positive weights: each sample's error and gradient count this
            much; the reported losses are weighted means.
        beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999
            Decay rates of Adam's first and second moments.
        epsilon : float > 0, default 1e-8
            Adam's guard against division by zero.
        callback : callable or None, default None
            Called after each epoch with a dict (an ``nncore.EpochInfo``):
            ``epoch`` (1-based), ``epochs``, ``loss`` (the epoch's mean
            loss), ``seconds`` and ``samples_per_second``. Training stops
            when it returns False (exactly; None goes on). It may call any
            method of the network, ``save`` included; an exception it raises
            propagates, with the network holding that epoch's weights.

        Returns
        -------
        list of float
            Per epoch trained, the mean error over the samples, each taken
            before its batch's update (also appended to ``history``).

        Raises
        ------
        DivergenceError
            If the error or a weight becomes non-finite (learning rate too
            high, inputs not scaled). The network keeps finite weights from a
            completed step shortly before (``sample`` says which; with the
            keyword-only options, the weights from the start of that epoch).
        KeyboardInterrupt
            On Ctrl-C, within milliseconds; the network keeps the weights of
            the last completed step and can go on training.

        Examples
        --------
        XOR, in mini-batches of two, with a callback that stops training once
        the loss is low enough:

        >>> import numpy as np, nncore
        >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
        >>> y = np.array([0, 1, 1, 0])
        >>> net = nncore.Network([2, 8, 2], activation="tanh", seed=0)
        >>> def good_enough(info: nncore.EpochInfo) -> bool:
        ...     return info["loss"] > 0.05
        >>> losses = net.fit(X, y, epochs=2000, batch_size=2, learning_rate=0.5,
        ...                  seed=0, callback=good_enough)
        >>> len(losses) < 2000, losses[-1] <= 0.05
        (True, True)
        >>> net.forward(X).argmax(axis=1).tolist()
        [0, 1, 1, 0]
        """
        epochs = _validation.check_int(epochs, "epochs")
        learning_rate = _validation.check_learning_rate(learning_rate, self._dtype)
        for name, flag in (("shuffle", shuffle), ("verbose", verbose)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got "
                            f"{type(callback).__name__}")
        optimizer = _validation.check_choice(optimizer, "optimizer", ("sgd", "adam"))
        momentum = _validation.check_real(momentum, "momentum", 0.0, 1.0, high_open=False)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be a bool, got {type(nesterov).__name__}")
        alpha = _validation.check_real(alpha, "alpha", 0.0)
        beta_1 = _validation.check_real(beta_1, "beta_1", 0.0, 1.0)
        beta_2 = _validation.check_real(beta_2, "beta_2", 0.0, 1.0)
        epsilon = _validation.check_real(epsilon, "epsilon", 0.0, low_open=True)
        X, T = self._inputs(X, y)
        n = X.shape[0]
        batch = _validation.check_batch(batch_size, n)
        sw = None
        if sample_weight is not None:
            sw = _validation.as_sample_weight(sample_weight, n, self._dtype)
        rng = self._rng if seed is None else np.random.default_rng(seed)
        solver = None
        if optimizer == "adam" or momentum != 0 or alpha != 0 or sw is not None:
            solver = _Solver(optimizer, momentum, bool(nesterov), alpha, beta_1,
                             beta_2, epsilon)
        with self._lock:
            self._check_params()
            step = (self._plain_epoch(X, T, batch, learning_rate)
                    if solver is None else
                    self._solver_epoch(X, T, sw, batch, learning_rate, solver))
            return _run_epochs(step, self._history, n, epochs, shuffle, rng, verbose,
                               callback)

    def _plain_epoch(self, X: FloatArray, T: FloatArray, batch: int,
                     learning_rate: float) -> Callable[[int, IndexArray], float]:
        # An epoch of plain SGD on the fused kernels (_core._train_epoch),
        # which stop at a non-finite value with the last finite weights.
        work = self._train_work.get(batch)
        if work is None:
            # One work space per batch size, kept for later calls.
            self._train_work = {batch: self._work(batch)}
            work = self._train_work[batch]
        backup = np.empty_like(self._params)

        def epoch(number: int, order: IndexArray) -> float:
            total, done, status = _core._train_epoch(
                self._params, *self._spec(), X, T, order, batch, learning_rate,
                work, backup, self._train_path)
            if status != 0:
                raise DivergenceError(
                    f"training diverged in epoch {number}: the loss or the "
                    "weights became non-finite; the network holds the "
                    f"finite weights it had after {done} samples of that "
                    "epoch. Lower the learning rate or scale the inputs.",
                    epoch=number, sample=done)
            return float(total)
        return epoch

    def _solver_epoch(self, X: FloatArray, T: FloatArray, sw: FloatArray | None,
                      batch: int, learning_rate: float,
                      solver: _Solver) -> Callable[[int, IndexArray], float]:
        # An epoch with momentum, Adam, alpha or sample weights: the solver
        # kernels of nncore.sklearn (_core._sk_epoch), with the error as
        # Network defines it. They do not stop on a non-finite value, so each
        # epoch starts from a copy of the weights it can go back to (the
        # optimizer state belongs to this fit call and goes with the error).
        codes = _core._sk_codes()
        adam = solver.optimizer == "adam"
        code = codes["adam"] if adam else codes["nesterov" if solver.nesterov else "sgd"]
        n_params = self._params.shape[0]
        _validation.check_bytes(3 * n_params * self._dtype.itemsize,
                                "the optimizer state and a backup of the weights")
        s1 = _params.zeros(n_params, self._dtype)
        s2 = _params.zeros(n_params if adam else 0, self._dtype)
        t = np.zeros(1, dtype=np.intp)
        weights = np.zeros(0, dtype=self._dtype) if sw is None else sw
        no_index = np.zeros(0, dtype=np.intp)
        no_data = np.zeros(0, dtype=self._dtype)
        backup = np.empty_like(self._params)

        def epoch(number: int, order: IndexArray) -> float:
            backup[...] = self._params
            # Ctrl-C mid-epoch: KeyboardInterrupt, with the weights of the
            # last completed step.
            total = _core._sk_epoch(
                self._params, *self._spec(), codes["network"], X, no_data, no_index,
                no_index, T, weights, order, batch, code, solver.alpha, learning_rate,
                solver.momentum, solver.beta_1, solver.beta_2, solver.epsilon, t, s1, s2)
            if not (np.isfinite(total) and _core._all_finite(self._params)):
                self._params[...] = backup
                raise DivergenceError(
                    f"training diverged in epoch {number}: the loss or the weights "
                    "became non-finite; the network holds the weights it had at "
                    "the start of that epoch. Lower the learning rate or scale the "
                    "inputs.", epoch=number, sample=0)
            return float(total)
        return epoch
