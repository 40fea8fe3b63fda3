# SPDX-License-Identifier: MIT
"""The ``Network`` class: a multilayer perceptron trained by the compiled core."""
import threading
import time

import numpy as np

from . import _dispatch, _io, _params, _progress, _validation
from .exceptions import DivergenceError

_core = _dispatch.load()

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

    def __init__(self, layer_sizes, activation="sigmoid", output="softmax",
                 dtype="float64", seed=None):
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
        self._sizes = sizes
        self._activation = activation
        self._output = output
        self._layout, n_entries = _params.layout(sizes, self._dtype)
        self._params = _params.zeros(n_entries, self._dtype)
        self._weights, self._biases = _params.views(self._params, self._layout)
        # Reentrant: a fit callback may save the network it is training.
        self._lock = threading.RLock()
        self._history = []
        self._train_work = {}
        self._model = None
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
    def layer_sizes(self):
        """Units per layer, inputs first (tuple of int)."""
        return self._sizes

    @property
    def activation(self):
        """Hidden-layer activation name."""
        return self._activation

    @property
    def output(self):
        """Output layer name (``"softmax"``, ``"sigmoid"`` or ``"identity"``)."""
        return self._output

    @property
    def dtype(self):
        """Dtype of the parameters and of all computation."""
        return self._dtype

    @property
    def params(self):
        """The flat parameter buffer; writes change the network.

        Each unit's weights and bias form one row, padded with zeros to a
        multiple of 64 bytes (see ``nncore._params``); ``weights`` and
        ``biases`` are views of it.
        """
        return self._params

    @property
    def weights(self):
        """List of writable (n_in, n_out) views of each layer's weights."""
        return list(self._weights)

    @property
    def biases(self):
        """List of writable (n_out,) views of each layer's biases."""
        return list(self._biases)

    @property
    def history(self):
        """Mean training loss of every epoch ``fit`` has run, in order (list)."""
        return list(self._history)

    @property
    def n_params(self):
        """Total number of weights and biases (the padding of ``params`` not counted)."""
        sizes = self._sizes
        return sum((sizes[l] + 1) * sizes[l + 1] for l in range(len(sizes) - 1))

    # -- saving, loading, pickling --------------------------------------------

    def save(self, path):
        """Write the network to ``path`` (an ``.npz`` file, name used as given).

        The file holds the architecture, dtype, weights, biases and the
        shuffling generator's state, in nncore's versioned format (see
        ``nncore._io``), and no code. The write is atomic: a temporary file in
        the same folder is flushed to disk and renamed over ``path``, so a
        failed or interrupted save leaves an existing file intact.

        Examples
        --------
        >>> import os, tempfile, numpy as np, nncore
        >>> net = nncore.Network([2, 3, 2], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> net.save(path)
        >>> same = nncore.load(path)
        >>> bool((same.params == net.params).all())
        True
        """
        with self._lock:
            _io.save(self, path)

    @classmethod
    def _from_state(cls, state):
        net = cls.__new__(cls)
        net.__setstate__(state)
        return net

    def __getstate__(self):
        # Plain arrays and strings only: the same state as a saved file.
        with self._lock:
            return _io.state_of(self)

    def __setstate__(self, state):
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
        self.__dict__.update(fresh.__dict__)

    def __repr__(self):
        return (f"Network({list(self._sizes)}, activation={self._activation!r}, "
                f"output={self._output!r}, dtype={self._dtype.name!r})")

    # -- internals ----------------------------------------------------------

    def _compiled(self):
        # The core's Model over this network's buffers, made on first use
        # (and again if the tests point this module at another variant).
        model = self._model
        if type(model) is not _core.Model:
            model = self._model = _core.Model(self._params, *self._spec())
        return model

    def _spec(self):
        return (self._layout, _params.ACTIVATIONS[self._activation],
                _params.OUTPUTS[self._output])

    def _work(self, batch):
        entries = _core._workspace_size(self._layout, batch)
        _validation.check_bytes(entries * self._dtype.itemsize,
                                f"the work space of a batch of {batch} samples")
        return np.empty(entries, dtype=self._dtype)

    def _inputs(self, X, y):
        X = _validation.as_input(X, self._dtype, self._sizes[0])
        T = _validation.as_target(y, self._output, self._sizes[-1], self._dtype,
                                  X.shape[0])
        return X, T

    def _check_params(self):
        # Users may write into weights/biases/params; training starts only
        # from finite weights, so that a restored state is always finite.
        if not np.isfinite(self._params).all():
            raise ValueError("the network's parameters contain NaN or infinity "
                             "(written through weights, biases or params)")

    def _loss_grad(self, X, T, want_grad):
        batch = min(CHUNK_ROWS, X.shape[0])
        grad = np.empty(self._params.shape[0] if want_grad else 0, dtype=self._dtype)
        total = _core._loss_grad(self._params, *self._spec(), X, T, grad,
                                 want_grad, self._work(batch), batch)
        return total / X.shape[0], grad

    # -- public API -----------------------------------------------------------

    def forward(self, X):
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

    def loss(self, X, y):
        """Mean error of the network over the samples.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like
            Targets: class labels (n_samples,) or probability rows
            (n_samples, n_out) for softmax; values in [0, 1], shape
            (n_samples,) or (n_samples, n_out), for sigmoid; reals of those
            shapes for identity.

        Returns
        -------
        float
        """
        X, T = self._inputs(X, y)
        return float(self._loss_grad(X, T, False)[0])

    def gradients(self, X, y):
        """Gradient of ``loss(X, y)`` with respect to every weight and bias.

        The network is not changed.

        Parameters
        ----------
        X, y : array-like
            As for ``loss``.

        Returns
        -------
        dW : list of ndarray, shape (n_in, n_out) per layer
        db : list of ndarray, shape (n_out,) per layer
        """
        X, T = self._inputs(X, y)
        grad = self._loss_grad(X, T, True)[1]
        dW, db = _params.views(grad, self._layout)
        return [np.ascontiguousarray(w) for w in dW], [b.copy() for b in db]

    def train_step(self, X, y, learning_rate=0.1):
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

    def fit(self, X, y, epochs=1, batch_size=1, learning_rate=0.1, shuffle=True,
            seed=None, verbose=False, callback=None):
        """Train by stochastic gradient descent, updating the weights in place.

        Each epoch walks through all samples in batches of ``batch_size``
        (the last batch may be smaller) and after each batch moves every
        weight by ``-learning_rate`` times the gradient of the batch's mean
        error. ``batch_size=1`` is classic online training.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like
            Targets, as for ``loss``.
        epochs : int, default 1
        batch_size : int, default 1
            Clipped to n_samples.
        learning_rate : float, default 0.1
        shuffle : bool, default True
            Visit the samples in a new random order every epoch.
        seed : int, numpy.random.Generator or None, default None
            Seeds the shuffling; None continues the network's own generator
            (seeded by the constructor's ``seed``).
        verbose : bool, default False
            Show progress per epoch (a tqdm bar when tqdm is installed, one
            line per epoch on stderr otherwise).
        callback : callable or None, default None
            Called after each epoch with a dict: ``epoch`` (1-based),
            ``epochs``, ``loss`` (the epoch's mean loss), ``seconds`` and
            ``samples_per_second``. Training stops when it returns False
            (exactly; None goes on). It may call any method of the network,
            ``save`` included; an exception it raises propagates, with the
            network holding that epoch's weights.

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
            completed step shortly before (``sample`` says which).
        KeyboardInterrupt
            On Ctrl-C, within milliseconds; the network keeps the weights of
            the last completed step and can go on training.
        """
        epochs = _validation.check_int(epochs, "epochs")
        learning_rate = _validation.check_learning_rate(learning_rate, self._dtype)
        for name, flag in (("shuffle", shuffle), ("verbose", verbose)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got "
                            f"{type(callback).__name__}")
        X, T = self._inputs(X, y)
        n = X.shape[0]
        batch = _validation.check_batch(batch_size, n)
        rng = self._rng if seed is None else np.random.default_rng(seed)
        sequential = np.arange(n, dtype=np.intp)
        losses = []
        with self._lock:
            self._check_params()
            work = self._train_work.get(batch)
            if work is None:
                # One work space per batch size, kept for later calls.
                self._train_work = {batch: self._work(batch)}
                work = self._train_work[batch]
            backup = np.empty_like(self._params)
            progress = _progress.Progress(epochs) if verbose else None
            try:
                for epoch in range(epochs):
                    started = time.perf_counter()
                    order = (rng.permutation(n).astype(np.intp, copy=False)
                             if shuffle else sequential)
                    total, done, status = _core._train_epoch(
                        self._params, *self._spec(), X, T, order, batch,
                        learning_rate, work, backup, self._train_path)
                    if status != 0:
                        raise DivergenceError(
                            f"training diverged in epoch {epoch}: the loss or the "
                            "weights became non-finite; the network holds the "
                            f"finite weights it had after {done} samples of that "
                            "epoch. Lower the learning rate or scale the inputs.",
                            epoch=epoch, sample=done)
                    seconds = time.perf_counter() - started
                    losses.append(total / n)
                    self._history.append(total / n)
                    if progress is None and callback is None:
                        continue
                    info = {"epoch": epoch + 1, "epochs": epochs, "loss": total / n,
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
