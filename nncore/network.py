# SPDX-License-Identifier: MIT
"""The ``Network`` class: a multilayer perceptron trained by the compiled core."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Literal, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from . import _core, _io, _params, _preprocess, _progress, _threads, _validation
from ._typing import Activation, EpochInfo, FloatArray, Optimizer, Output, PathLike, Seed
from .exceptions import DivergenceError

IndexArray = npt.NDArray[np.intp]
#: fit's learning_rate: a step size, a function of the epoch, or a schedule.
LearningRate: TypeAlias = (float | Callable[[int], float]
                           | Literal["constant", "invscaling", "adaptive"])


class History(list[float]):
    """Mean training loss of every epoch (a list of float), with the
    validation loss and score of each epoch in ``val_loss`` and ``val_score``
    (lists of the same length; NaN for epochs trained without validation).

    Examples
    --------
    >>> import numpy as np, nncore
    >>> X, y = np.array([[0., 1.], [1., 0.]] * 4), np.array([0, 1] * 4)
    >>> net = nncore.Network([2, 2], seed=0)
    >>> history = net.fit(X, y, epochs=3, validation_data=(X, y), restore_best=False)
    >>> len(history), len(history.val_loss), history.val_score
    (3, 3, [1.0, 1.0, 1.0])
    """

    def __init__(self, losses: Iterable[float] = (), val_loss: Iterable[float] = (),
                 val_score: Iterable[float] = ()) -> None:
        super().__init__(losses)
        self.val_loss: list[float] = list(val_loss)
        self.val_score: list[float] = list(val_score)


class _Schedule:
    # fit's learning rate per epoch: a constant, a callable of the epoch, or
    # scikit-learn's "invscaling" (init / (t + 1) ** power_t with t the
    # samples seen) and "adaptive" (init, divided by 5 whenever the monitored
    # loss stops improving for ``patience`` epochs; training stops once it
    # would not exceed 1e-6).
    def __init__(self, learning_rate: LearningRate, learning_rate_init: float | None,
                 power_t: float | None, dtype: np.dtype[Any]) -> None:
        self.dtype = dtype
        self.function: Callable[[int], float] | None = None
        self.kind = "constant"
        if isinstance(learning_rate, str):
            schedules = ("constant", "invscaling", "adaptive")
            if learning_rate not in schedules:
                raise ValueError("learning_rate must be a number >= 0, a function of "
                                 f"the epoch or one of {list(schedules)}, got "
                                 f"{learning_rate!r}")
            self.kind = learning_rate
            init = 0.1 if learning_rate_init is None else learning_rate_init
            self.rate = _validation.check_learning_rate(init, dtype, "learning_rate_init")
        else:
            if learning_rate_init is not None:
                raise ValueError("learning_rate_init is the starting rate of a "
                                 "learning_rate schedule ('constant', 'invscaling' or "
                                 "'adaptive'); with a number or a callable as "
                                 "learning_rate it does nothing: leave it out")
            if callable(learning_rate):
                self.function = learning_rate
                self.rate = 0.0
            else:
                self.rate = _validation.check_learning_rate(learning_rate, dtype)
        if power_t is not None and self.kind != "invscaling":
            raise ValueError("power_t is the exponent of learning_rate='invscaling' "
                             "and does nothing otherwise: leave it out")
        self.power_t = (0.5 if power_t is None
                        else _validation.check_real(power_t, "power_t", 0.0))
        self.init = self.rate

    @property
    def adaptive(self) -> bool:
        return self.kind == "adaptive"

    def at(self, epoch: int, samples_seen: int) -> float:
        """The rate of the 0-based ``epoch`` of this fit call."""
        if self.function is not None:
            return _validation.check_learning_rate(self.function(epoch), self.dtype,
                                                   f"learning_rate({epoch})")
        if self.kind == "invscaling":
            return float(self.init / float(samples_seen + 1) ** self.power_t)
        return self.rate

    def reduce(self) -> bool:
        """"adaptive": divide the rate by 5; False (stop) if it is at most 1e-6."""
        if self.rate <= 1e-6:
            return False
        self.rate /= 5.0
        return True


class _Stopping:
    # Early stopping and "adaptive"'s trigger, scikit-learn's rule: an epoch
    # counts as no improvement when the monitored loss is above the best so
    # far minus tol; after ``patience`` such epochs in a row, "adaptive"
    # lowers the rate (or stops at its floor) and early stopping stops.
    def __init__(self, patience: int, tol: float, early_stopping: bool) -> None:
        self.patience, self.tol, self.early_stopping = patience, tol, early_stopping
        self.best = np.inf
        self.wait = 0

    def stop(self, value: float, schedule: _Schedule) -> bool:
        self.wait = self.wait + 1 if value > self.best - self.tol else 0
        self.best = min(self.best, value)
        if self.wait < self.patience:
            return False
        if schedule.adaptive:
            self.wait = 0
            return not schedule.reduce()
        return self.early_stopping


class _Validation(NamedTuple):
    # fit's validation set, and whether to end on its best epoch's weights.
    X: FloatArray
    T: FloatArray
    restore_best: bool
    threads: int = 1


def _run_epochs(network: Network, epoch: Callable[[int, IndexArray, float], float],
                rows: IndexArray, epochs: int, shuffle: bool, rng: np.random.Generator,
                verbose: bool, callback: Callable[[EpochInfo], bool | None] | None,
                schedule: _Schedule, stopping: _Stopping | None,
                validation: _Validation | None) -> History:
    """fit's loop: ``epoch(number, order, learning_rate)`` trains on the rows
    ``order`` (a permutation of ``rows``) and returns the summed error; the
    mean goes to the result and the network's history with the validation
    loss and score, then to the progress display and the callback (False
    from it stops), then to early stopping and the learning-rate schedule."""
    n = rows.shape[0]
    result = History()
    progress = _progress.Progress(epochs) if verbose else None
    best_loss, best_params = np.inf, None
    try:
        for number in range(epochs):
            started = time.perf_counter()
            order = rows[rng.permutation(n)] if shuffle else rows
            rate = schedule.at(number, number * n)
            loss = epoch(number, order, rate) / n
            val_loss = val_score = float("nan")
            if validation is not None:
                val_loss, val_score = network._evaluate(validation.X, validation.T,
                                                         validation.threads)
                if validation.restore_best and val_loss < best_loss:
                    best_loss = val_loss
                    if best_params is None:
                        best_params = np.empty_like(network._params)
                    best_params[...] = network._params
            for values, value in ((result, loss), (result.val_loss, val_loss),
                                  (result.val_score, val_score),
                                  (network._history, loss), (network._val_loss, val_loss),
                                  (network._val_score, val_score)):
                values.append(value)
            monitored = loss if validation is None else val_loss
            stop = stopping is not None and stopping.stop(monitored, schedule)
            if progress is None and callback is None:
                if stop:
                    break
                continue
            seconds = time.perf_counter() - started
            info: EpochInfo = {"epoch": number + 1, "epochs": epochs, "loss": loss,
                               "seconds": seconds,
                               "samples_per_second": n / seconds if seconds > 0 else float("inf"),
                               "learning_rate": rate}
            if validation is not None:
                info["val_loss"], info["val_score"] = val_loss, val_score
            if progress is not None:
                progress.update(info)
            if (callback is not None and callback(info) is False) or stop:
                break
    finally:
        if progress is not None:
            progress.close()
    # A normal end (all epochs, early stopping, or the callback's False).
    if best_params is not None:
        network._params[...] = best_params
    return result


class _Solver(NamedTuple):
    # fit's keyword-only optimizer options, validated.
    optimizer: str
    momentum: float
    nesterov: bool
    alpha: float
    beta_1: float
    beta_2: float
    epsilon: float


def _check_solver(optimizer: object, momentum: object, nesterov: object, alpha: object,
                  beta_1: object, beta_2: object, epsilon: object) -> _Solver:
    """fit's optimizer options, validated; an option the chosen optimizer
    does not use is an error rather than silently ignored."""
    name = _validation.check_choice(optimizer, "optimizer", ("sgd", "adam"))
    unused = ((("beta_1", beta_1), ("beta_2", beta_2), ("epsilon", epsilon))
              if name == "sgd" else (("momentum", momentum), ("nesterov", nesterov)))
    for option, value in unused:
        if value is not None:
            other = "adam" if name == "sgd" else "sgd"
            raise ValueError(f"{option} is an option of optimizer={other!r}; with "
                             f"optimizer={name!r} it does nothing: leave it out, or "
                             f"use optimizer={other!r}")
    mu = 0.0 if momentum is None else _validation.check_real(
        momentum, "momentum", 0.0, 1.0, high_open=False)
    if nesterov is not None and not isinstance(nesterov, (bool, np.bool_)):
        raise TypeError(f"nesterov must be a bool, got {type(nesterov).__name__}")
    if nesterov and mu == 0:
        raise ValueError("nesterov=True needs momentum > 0 (with no momentum it does "
                         "nothing): pass momentum=0.9, say")
    return _Solver(
        name, mu, bool(nesterov), _validation.check_real(alpha, "alpha", 0.0),
        0.9 if beta_1 is None else _validation.check_real(beta_1, "beta_1", 0.0, 1.0),
        0.999 if beta_2 is None else _validation.check_real(beta_2, "beta_2", 0.0, 1.0),
        1e-8 if epsilon is None else _validation.check_real(epsilon, "epsilon", 0.0,
                                                            low_open=True))


# Rows per BLAS pass in forward, loss and gradients: large enough for gemm to
# run at full speed, small enough that the work space stays in cache.
CHUNK_ROWS = 256
# The metadata format of a model written by ``nncore train``.
_CLI_FORMAT = "nncore-cli-model"


class Network:
    """A multilayer perceptron trained by SGD or Adam on a compiled core.

    Each layer forms weighted sums of the layer below plus a bias and applies
    an activation (sigmoid, tanh, ReLU or identity in the hidden layers); the
    output layer (softmax, sigmoid or identity) is compared with the target
    through the error function that matches it; backpropagation gives the
    gradient of the mean error for every weight, and training updates every
    weight in place.

    ``fit`` trains online or in mini-batches with plain SGD, momentum,
    Nesterov's momentum or Adam, an L2 penalty, sample weights, a learning
    rate that may follow a schedule, and validation data with early
    stopping. ``predict``, ``predict_proba`` and ``score`` answer as
    scikit-learn's estimators do; ``forward``, ``loss``, ``gradients`` and
    ``train_step`` give the raw outputs, the error, its gradient and one
    step. ``nncore.sklearn`` wraps the same core in scikit-learn's
    ``MLPClassifier`` and ``MLPRegressor``.

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
        weights and, with ``threads=1``, the same training, bit for bit
        (more BLAS threads may change the last bits of mini-batch steps).
    threads : int or None, default None
        The most threads this network's calls use (its BLAS products; see
        ``nncore.set_num_threads``, the default for None). ``fit`` and
        ``forward`` take their own. With more than one, mini-batch training
        and batched inference may differ from one thread's in the last bits. Not saved
        with the network.

    Attributes
    ----------
    layer_sizes : tuple of int
    activation, output : str
    dtype : numpy.dtype
    threads : int or None
    params : ndarray, shape (n_params,)
        The flat parameter buffer; ``weights`` and ``biases`` are views of it.
    history : History
        Training loss per epoch, with the validation loss and score.
    metadata : dict, optional
        Set on networks loaded from a command-line model: with
        ``"classes"``, ``predict`` returns those labels and ``fit`` and
        ``score`` take them. A model written by ``nncore train`` (format
        ``"nncore-cli-model"``) also describes its preprocessing:
        ``predict``, ``predict_proba`` and ``score`` then take the raw table
        and apply it, as ``nncore predict`` does.

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
                 seed: Seed = None, threads: int | None = None) -> None:
        sizes = _validation.check_layer_sizes(layer_sizes)
        self._threads = None if threads is None else _threads.check_threads(threads,
                                                                            "threads")
        activation = _validation.check_choice(
            activation, "activation", _params.ACTIVATIONS,
            _params.ACTIVATION_ALIASES)
        output = _validation.check_choice(output, "output", _params.OUTPUTS)
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError("a softmax output needs at least 2 units, got "
                             f"{sizes[-1]}; use output='sigmoid' for one unit")
        self._dtype = np.dtype(_validation.check_dtype(dtype))
        _validation.check_memory(sizes, self._dtype)
        self._rng = _validation.as_generator(seed)
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
        # Validation loss and score per epoch of _history (NaN: none); may
        # be shorter than _history (a loaded network): aligned at the end.
        self._val_loss: list[float] = []
        self._val_score: list[float] = []
        self._train_work: dict[int, FloatArray] = {}
        self._model: _core.Model | None = None
        # Mini-batch path of the core: by size (-1), or forced by tests.
        self._train_path = -1
        factor = 2.0 if activation == "sigmoid" else 6.0
        for l in range(len(sizes) - 1):
            n_in, n_out = sizes[l], sizes[l + 1]
            bound = float(np.sqrt(factor / (n_in + n_out)))
            # Drawn in float64 in scikit-learn's order (coefs, then
            # intercepts), a chunk at a time, and stored in the network's dtype.
            _params.draw_uniform(self._rng, bound, self._weights[l])
            _params.draw_uniform(self._rng, bound, self._biases[l])

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
    def threads(self) -> int | None:
        """The most threads this network's calls use; None: ``nncore.get_num_threads()``.

        Settable; ``fit`` and ``forward`` take their own ``threads``.

        Examples
        --------
        >>> import nncore
        >>> net = nncore.Network([4, 3, 2], threads=1)
        >>> net.threads
        1
        >>> net.threads = None
        """
        return self._threads

    @threads.setter
    def threads(self, threads: int | None) -> None:
        self._threads = None if threads is None else _threads.check_threads(threads,
                                                                            "threads")

    def _threads_for(self, threads: int | None) -> int:
        # A call's threads: its own (checked), else the network's, else the default.
        if threads is not None:
            threads = _threads.check_threads(threads, "threads")
        return _threads.resolve(threads, self._threads)

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
        """The flat parameter buffer, as a view: writes change the network.

        Each unit's weights and bias form one row, padded with zeros to a
        multiple of 64 bytes (see ``nncore._params``); ``weights`` and
        ``biases`` are views of it. Each access gives a new view, so setting
        its ``flags.writeable`` or ``shape`` changes that view only: the
        network keeps training into its buffer.

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
        return self._params.view()

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
        return [w.view() for w in self._weights]

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
        return [b.view() for b in self._biases]

    @property
    def history(self) -> History:
        """Mean training loss of every epoch ``fit`` has run, in order (a list of float).

        Kept across calls to ``fit``, and saved and loaded with the network.
        Its ``val_loss`` and ``val_score`` give each epoch's validation loss
        and score (NaN for epochs without validation data; not saved).

        Examples
        --------
        >>> import nncore
        >>> net = nncore.Network([2, 2], seed=0)
        >>> losses = net.fit([[0., 1.], [1., 0.]], [0, 1], epochs=3, seed=0)
        >>> losses = net.fit([[0., 1.], [1., 0.]], [0, 1], epochs=2, seed=0)
        >>> len(net.history), net.history[-2:] == losses
        (5, True)
        """
        missing = [float("nan")] * len(self._history)
        return History(self._history, missing[len(self._val_loss):] + self._val_loss,
                       missing[len(self._val_score):] + self._val_score)

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

        Saved by ``save`` inside the model file (format version 2) and given
        back by ``nncore.load``, kept by pickle and ``copy``: e.g. the task,
        column names, classes, input scaling. A dict with ``"format":
        "nncore-cli-model"`` is what ``nncore train`` writes (described in
        ``nncore.cli._meta``); ``predict`` then applies its preprocessing. It
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

        The file holds the architecture, dtype, weights, biases, the
        training history, ``metadata`` and the shuffling generator's state,
        in nncore's versioned format (version 2, see ``nncore._io``), and no
        code. The write is atomic: a temporary file in the target's folder is
        flushed to disk and renamed over it, so a failed or interrupted save
        leaves an existing file intact. A symbolic link is followed and the
        file it points to is replaced (the link stays). A new file gets the
        permissions any new file gets (the umask's); an existing file keeps
        its mode. Temporaries a killed save of the same file left behind are
        removed.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write; replaced if it exists.

        Raises
        ------
        ValueError
            If ``path`` (after symbolic links) exists and is not a regular
            file: a device, FIFO or socket is never replaced; or if
            ``metadata`` is not what JSON holds.
        IsADirectoryError
            If ``path`` is a folder.
        OSError
            If the file cannot be written (no room, no permission); the
            message names ``path``, and any previous file is left as it was.

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

    # -- export: ONNX and PyTorch (nncore._onnx, nncore._torch) -------------

    def to_onnx(self, path: PathLike | None = None, *, opset: int = 17,
                preprocessing: bool = True) -> Any:
        """The network as an ``onnx.ModelProto``, written to ``path`` if given.

        One ``Gemm`` per layer and the activations as ONNX nodes, in the
        network's dtype, with a free batch dimension: input ``X`` (N,
        n_inputs), output ``Y`` (N, n_outputs), as ``forward``. A model
        written by ``nncore train`` takes its raw columns instead (one input
        per feature column; the imputation, scaling and one-hot encoding as
        graph nodes) and gives ``label`` and ``probabilities``, or
        ``prediction``; ``preprocessing=False`` exports the bare network.
        The metadata (classes, columns, preprocessing) goes into the model's
        metadata properties. See ``nncore._onnx`` and docs/deploy.md. Needs
        the ``onnx`` package (``pip install 'nncore[onnx]'``).

        Parameters
        ----------
        path : str or os.PathLike, optional
            Where to write the model (atomically, as ``save``).
        opset : int, default 17
            The ONNX opset, 13 to the newest the installed onnx knows.
        preprocessing : bool, default True
            For a command-line model: put its preprocessing in the graph.

        Returns
        -------
        onnx.ModelProto

        Raises
        ------
        ImportError
            Without the onnx package.
        TypeError, ValueError
            A bad ``opset`` or ``preprocessing``.
        OSError
            If ``path`` cannot be written (the message names it).

        Examples
        --------
        >>> import numpy as np, nncore, onnxruntime           # doctest: +SKIP
        >>> net = nncore.Network([4, 8, 3], seed=0)           # doctest: +SKIP
        >>> model = net.to_onnx("net.onnx")                   # doctest: +SKIP
        >>> session = onnxruntime.InferenceSession("net.onnx")  # doctest: +SKIP
        >>> X = np.ones((2, 4))                               # doctest: +SKIP
        >>> np.allclose(session.run(None, {"X": X})[0], net.forward(X))  # doctest: +SKIP
        True
        """
        from . import _onnx

        with self._lock:
            model = _onnx.build(self, opset, preprocessing)
        if path is not None:
            _onnx.save(model, path)
        return model

    def to_torch(self) -> Any:
        """The network as a ``torch.nn.Sequential`` with the same weights and dtype.

        ``Linear`` layers with the activations between them (``Sigmoid``,
        ``Tanh``, ``ReLU``; none for identity) and ``Softmax(dim=1)`` or
        ``Sigmoid`` at the output; its output is ``forward``'s. Needs PyTorch.
        See ``nncore._torch``.

        Returns
        -------
        torch.nn.Sequential
            New parameters (copies): training either side leaves the other as
            it was.

        Raises
        ------
        ImportError
            Without PyTorch.

        Examples
        --------
        >>> import torch, nncore                                   # doctest: +SKIP
        >>> net = nncore.Network([4, 8, 3], activation="relu", seed=0)  # doctest: +SKIP
        >>> net.to_torch()                                         # doctest: +SKIP
        Sequential(
          (0): Linear(in_features=4, out_features=8, bias=True)
          (1): ReLU()
          (2): Linear(in_features=8, out_features=3, bias=True)
          (3): Softmax(dim=1)
        )
        """
        from . import _torch

        with self._lock:
            return _torch.to_torch(self)

    @classmethod
    def from_torch(cls, module: Any, *, seed: Seed = None) -> Network:
        """A Network with the weights of a ``torch.nn.Sequential``.

        ``module`` holds ``Linear`` layers, each followed by at most one
        activation: the hidden ones all alike (``Sigmoid``, ``Tanh``, ``ReLU``
        or none), the last ``Softmax`` over dim 1, ``Sigmoid`` or none
        (``Identity`` counts as none); float32 or float64. Anything else is a
        TypeError or ValueError naming the layer's index and type.
        ``from_torch(net.to_torch())`` equals ``net`` bit for bit. ``seed``
        seeds the new network's generator (shuffling in ``fit``).

        Parameters
        ----------
        module : torch.nn.Sequential
        seed : int, numpy.random.Generator or None, default None

        Returns
        -------
        Network

        Raises
        ------
        TypeError
            ``module`` is not a Sequential, or holds a layer nncore has no
            equivalent for (named with its index).
        ValueError
            Layers that do not chain, mixed hidden activations or dtypes,
            non-finite weights (named with the layer's index).
        ImportError
            Without PyTorch.

        Examples
        --------
        >>> import torch, nncore                                   # doctest: +SKIP
        >>> module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
        ...                              torch.nn.Linear(8, 1))    # doctest: +SKIP
        >>> nncore.Network.from_torch(module)                      # doctest: +SKIP
        Network([4, 8, 1], activation='tanh', output='identity', dtype='float32')
        """
        from . import _torch

        return _torch.from_torch(cls, module, seed)

    # -- internals ----------------------------------------------------------

    def _compiled(self) -> _core.Model:
        # The core's Model over this network's buffers, made on first use
        # (and again if the tests point this module at another variant).
        model = self._model
        if type(model) is not _core.Model:
            model = self._model = _core.Model(self._params, *self._spec())
        return model

    def _spec(self) -> tuple[npt.NDArray[np.intp], int, int]:
        return (self._layout, _params.ACTIVATIONS[self._activation],
                _params.OUTPUTS[self._output])

    def _check_work(self, batch: int, copies: float = 0.0, what: str = "") -> int:
        # Entries of the core's work space for batches of up to ``batch``
        # rows, after checking that it fits in memory together with
        # ``copies`` parameter-sized buffers (named by ``what``) that are
        # about to be allocated too.
        entries = _core._workspace_size(self._layout, batch)
        extra = int(copies * self._params.shape[0])
        _validation.check_bytes((entries + extra) * self._dtype.itemsize,
                                f"the work space of a batch of {batch} samples{what}")
        return int(entries)

    def _work(self, batch: int, copies: float = 0.0, what: str = "") -> FloatArray:
        return np.empty(self._check_work(batch, copies, what), dtype=self._dtype)

    def _inputs(self, X: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        X = _validation.as_input(X, self._dtype, self._sizes[0])
        T = _validation.as_target(y, self._output, self._sizes[-1], self._dtype,
                                  X.shape[0])
        return X, T

    def _check_params(self) -> None:
        # Users may write into weights/biases/params; training starts only
        # from finite weights, so that a restored state is always finite.
        # One pass in the core, without a boolean temporary of the buffer's size.
        if not _core._all_finite(self._params):
            raise ValueError("the network's parameters contain NaN or infinity "
                             "(written through weights, biases or params)")

    def _loss_grad(self, X: FloatArray, T: FloatArray, want_grad: bool,
                   threads: int | None = None) -> tuple[float, FloatArray]:
        batch = min(CHUNK_ROWS, X.shape[0])
        work = self._work(batch, want_grad, " and the gradient" if want_grad else "")
        grad = np.empty(self._params.shape[0] if want_grad else 0, dtype=self._dtype)
        model = self._compiled()
        with _threads.limit(self._threads_for(threads),
                            X.shape[0] * model.work_per_row * (1 + 2 * want_grad)):
            total = _core._loss_grad(self._params, *self._spec(), X, T, grad,
                                     want_grad, work, batch)
        return total / X.shape[0], grad

    # -- public API -----------------------------------------------------------

    def forward(self, X: npt.ArrayLike, *, threads: int | None = None) -> FloatArray:
        """Output activations of the network for every sample.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            Converted to the network's dtype (copied only if needed).
        threads : int or None, default None
            The most threads of this call (None: the network's ``threads``).

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
        # and converted first. Calls too small for BLAS threads to matter
        # skip the thread limit (a few microseconds).
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            X = _validation.as_input(X, self._dtype, self._sizes[0])
        if X.shape[0] * model.work_per_row < _threads.LIMITED_WORK:
            if threads is not None:
                _threads.check_threads(threads, "threads")
            return self._forward_on(model, X)
        with _threads.limit(self._threads_for(threads)):
            return self._forward_on(model, X)

    def _forward_on(self, model: _core.Model, X: npt.NDArray[Any]) -> FloatArray:
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
            if not (np.isfinite(loss) and _core._all_finite(grad)):
                raise DivergenceError(
                    "the loss or the updated weights are not finite; the network "
                    "is unchanged. Scale the inputs or lower the learning rate.")
            self._params[...] = grad
        return float(loss)

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike, epochs: int = 1, batch_size: int = 1,
            learning_rate: LearningRate = 0.1, shuffle: bool = True, seed: Seed = None,
            verbose: bool = False,
            callback: Callable[[EpochInfo], bool | None] | None = None, *,
            optimizer: Optimizer = "sgd", momentum: float | None = None,
            nesterov: bool | None = None, alpha: float = 0.0,
            sample_weight: npt.ArrayLike | None = None, beta_1: float | None = None,
            beta_2: float | None = None, epsilon: float | None = None,
            validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
            validation_fraction: float | None = None, early_stopping: bool = False,
            patience: int | None = None, tol: float | None = None,
            restore_best: bool | None = None, learning_rate_init: float | None = None,
            power_t: float | None = None, threads: int | None = None) -> History:
        """Train by stochastic gradient descent or Adam, updating the weights in place.

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
        optimizer state starts at zero in each call. An option the chosen
        optimizer does not use (``beta_1`` with ``sgd``, ``momentum`` with
        ``adam``) is an error, not silently ignored.

        With validation data (``validation_data``, or ``validation_fraction``
        of the samples held out), each epoch ends by measuring the validation
        loss and score (see ``score``), reported in the returned history, in
        ``history`` and to the callback; ``early_stopping`` stops training
        when the validation loss has not improved for ``patience`` epochs,
        and ``restore_best`` ends training on the weights of the epoch with
        the lowest validation loss, as Keras' ``EarlyStopping`` does.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            The training samples, converted to the network's dtype.
        y : array-like
            Targets, as for ``loss`` (also of shape (n_samples, 1) for one
            output, or a column of class labels for softmax). Class labels
            must be integers 0..n_out-1, unless ``metadata`` holds the
            network's ``"classes"``: then labels are those classes.
        epochs : int, default 1
            Passes over the samples (fewer if ``callback`` or early stopping
            stops training).
        batch_size : int, default 1
            Clipped to n_samples.
        learning_rate : float, callable or str, default 0.1
            Step size, >= 0; or a function of the epoch (counted from 0 in
            this call) returning the step size of that epoch; or one of
            scikit-learn's schedules, starting at ``learning_rate_init``:
            ``"constant"``; ``"invscaling"``, ``learning_rate_init / (t + 1)
            ** power_t`` with t the samples trained on so far in this call,
            updated after each epoch; ``"adaptive"``, divided by 5 each time
            the monitored loss (validation loss if there is validation data,
            training loss otherwise) has not improved by ``tol`` for
            ``patience`` epochs, and training stops when it would fall to
            1e-6 or less.
        shuffle : bool, default True
            Visit the samples in a new random order every epoch.
        seed : int, numpy.random.Generator or None, default None
            Seeds the shuffling (and the split of ``validation_fraction``);
            None continues the network's own generator (seeded by the
            constructor's ``seed``).
        verbose : bool, default False
            Show progress per epoch (a tqdm bar when tqdm is installed, one
            line per epoch on stderr otherwise).
        callback : callable or None, default None
            Called after each epoch with a dict (an ``nncore.EpochInfo``):
            ``epoch`` (1-based), ``epochs``, ``loss`` (the epoch's mean
            loss), ``seconds``, ``samples_per_second``, ``learning_rate``
            and, with validation data, ``val_loss`` and ``val_score``.
            Training stops when it returns False (exactly; None goes on). It
            may call any method of the network, ``save`` included; an
            exception it raises propagates, with the network holding that
            epoch's weights.
        optimizer : {"sgd", "adam"}, default "sgd"
            ``adam`` is usually run with a much smaller ``learning_rate``
            (scikit-learn's default is 0.001).
        momentum : float in [0, 1], default 0 (sgd only)
            Velocity decay of ``sgd``.
        nesterov : bool, default False (sgd with momentum only)
            Nesterov's momentum for ``sgd``.
        alpha : float >= 0, default 0
            Strength of the L2 penalty ``alpha / 2 ||W||^2`` on the weights,
            per unit of sample weight in the batch; the reported losses
            include it.
        sample_weight : array-like of shape (n_samples,) or None
            Positive weights: each sample's error and gradient count this
            much; the reported training losses are weighted means.
        beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999 (adam only)
            Decay rates of Adam's first and second moments.
        epsilon : float > 0, default 1e-8 (adam only)
            Adam's guard against division by zero.
        validation_data : tuple (X_val, y_val) or None
            Samples to measure after each epoch, never trained on.
        validation_fraction : float in (0, 1) or None
            Hold out this fraction of the samples (rounded up, drawn at
            random) as validation data instead; 0.1 when ``early_stopping``
            is set without validation data (scikit-learn's default). The
            validation loss and score are unweighted means.
        early_stopping : bool, default False
            Stop when the validation loss has not improved by ``tol`` for
            ``patience`` epochs in a row.
        patience : int >= 1, default 10
            Epochs without improvement before early stopping or the
            ``"adaptive"`` schedule acts (scikit-learn's ``n_iter_no_change``).
        tol : float >= 0, default 1e-4
            The improvement that counts for early stopping and ``"adaptive"``.
        restore_best : bool, default True with validation data
            End training (normally, by early stopping or by the callback) on
            the weights of the epoch with the lowest validation loss.
        learning_rate_init : float, default 0.1
            Starting rate of a ``learning_rate`` schedule given by name.
        power_t : float >= 0, default 0.5
            Exponent of ``"invscaling"``.
        threads : int or None, default None
            The most threads of this call (None: the network's ``threads``).
            With ``threads=1`` the same seed gives the same weights, bit for
            bit; with more, BLAS may split a mini-batch's products so that
            the weights differ in the last bits (see docs/guide.md).

        Returns
        -------
        History (a list of float)
            Per epoch trained, the mean training error over the samples, each
            taken before its batch's update (also appended to ``history``),
            with ``val_loss`` and ``val_score`` per epoch.

        Raises
        ------
        DivergenceError
            If the error or a weight becomes non-finite (learning rate too
            high, inputs not scaled). The network keeps finite weights from a
            completed step shortly before (``sample`` says which; with the
            keyword-only options, the weights from the start of that epoch).
        KeyboardInterrupt
            On Ctrl-C, within milliseconds; the network keeps the finite
            weights of the last completed step (with the keyword-only
            options, those of the start of the epoch if the last step's were
            no longer finite) and can go on training.
        TypeError, ValueError
            For bad arguments, named in the message, before anything changes;
            class labels given as strings to a network without ``classes``
            in its ``metadata`` are a TypeError that says how to encode them.

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

        Early stopping on held-out data, with Adam:

        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 2))
        >>> y = (X[:, 0] * X[:, 1] > 0).astype(int)
        >>> net = nncore.Network([2, 16, 2], activation="relu", seed=0)
        >>> history = net.fit(X, y, epochs=500, batch_size=16, optimizer="adam",
        ...                   learning_rate=0.01, validation_fraction=0.2,
        ...                   early_stopping=True, patience=20, seed=0)
        >>> len(history) < 500, max(history.val_score) > 0.9
        (True, True)
        """
        epochs = _validation.check_int(epochs, "epochs")
        threads = self._threads_for(threads)
        schedule = _Schedule(learning_rate, learning_rate_init, power_t, self._dtype)
        for name, flag in (("shuffle", shuffle), ("verbose", verbose),
                           ("early_stopping", early_stopping)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got "
                            f"{type(callback).__name__}")
        solver = _check_solver(optimizer, momentum, nesterov, alpha, beta_1, beta_2,
                               epsilon)
        X, T = self._inputs(X, self._class_indices(y, "y"))
        n = X.shape[0]
        sw = None
        if sample_weight is not None:
            sw = _validation.as_sample_weight(sample_weight, n, self._dtype)
        rng = self._rng if seed is None else _validation.as_generator(seed)
        validation, n_held_out = self._validation_options(
            validation_data, validation_fraction, early_stopping, restore_best, n)
        if validation is not None and validation.restore_best:
            _validation.check_bytes(self._params.nbytes, "a copy of the best weights")
        watching = bool(early_stopping) or schedule.adaptive
        if not watching:
            for name, value in (("patience", patience), ("tol", tol)):
                if value is not None:
                    raise ValueError(f"{name} is an option of early_stopping=True and "
                                     "learning_rate='adaptive'; without them it does "
                                     "nothing: leave it out")
        stopping = None
        if watching:
            stopping = _Stopping(
                10 if patience is None else _validation.check_int(patience, "patience"),
                1e-4 if tol is None else _validation.check_real(tol, "tol", 0.0),
                bool(early_stopping))
        batch = _validation.check_batch(batch_size, n - n_held_out)
        use_solver = (solver.optimizer == "adam" or solver.momentum != 0
                      or solver.alpha != 0 or sw is not None)
        with self._lock:
            self._check_params()
            step = (self._solver_epoch(X, T, sw, batch, solver, threads) if use_solver
                    else self._plain_epoch(X, T, batch, threads))
            rows = np.arange(n, dtype=np.intp)
            if n_held_out and validation is not None:
                # Drawn last, once nothing can refuse the call any more.
                rows = rng.permutation(n).astype(np.intp, copy=False)
                held_out, rows = np.sort(rows[:n_held_out]), np.sort(rows[n_held_out:])
                validation = validation._replace(X=X[held_out], T=T[held_out])
            if validation is not None:
                validation = validation._replace(threads=threads)
            return _run_epochs(self, step, rows, epochs, shuffle, rng, verbose, callback,
                               schedule, stopping, validation)

    def _validation_options(self, validation_data: object, validation_fraction: object,
                            early_stopping: object, restore_best: object,
                            n: int) -> tuple[_Validation | None, int]:
        # fit's validation set (X and T empty when it is held out of the
        # training samples, drawn later) and the number of samples held out.
        if validation_data is not None and validation_fraction is not None:
            raise ValueError("pass validation_data or validation_fraction, not both")
        if restore_best is not None and not isinstance(restore_best, (bool, np.bool_)):
            raise TypeError(f"restore_best must be a bool, got {type(restore_best).__name__}")
        if validation_fraction is None and early_stopping and validation_data is None:
            validation_fraction = 0.1
        if validation_data is None and validation_fraction is None:
            if restore_best is not None:
                raise ValueError("restore_best needs validation data (validation_data "
                                 "or validation_fraction); without it, it does nothing")
            return None, 0
        keep_best = True if restore_best is None else bool(restore_best)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("validation_data must be a tuple (X_val, y_val)")
            X_val = _validation.as_input(validation_data[0], self._dtype, self._sizes[0],
                                         "validation_data[0]")
            T_val = _validation.as_target(
                self._class_indices(validation_data[1], "validation_data[1]"),
                self._output, self._sizes[-1], self._dtype, X_val.shape[0],
                "validation_data[1]")
            return _Validation(X_val, T_val, keep_best), 0
        fraction = _validation.check_real(validation_fraction, "validation_fraction",
                                          0.0, 1.0, low_open=True)
        held_out = math.ceil(fraction * n)
        if held_out >= n:
            raise ValueError(f"validation_fraction={fraction} of {n} samples leaves none "
                             "to train on")
        empty = np.empty((0, 0), dtype=self._dtype)
        return _Validation(empty, empty, keep_best), held_out

    def _plain_epoch(self, X: FloatArray, T: FloatArray, batch: int,
                     threads: int) -> Callable[[int, IndexArray, float], float]:
        # An epoch of plain SGD on the fused kernels (_core._train_epoch),
        # which stop at a non-finite value with the last finite weights.
        # Allocated here: a backup of the weights, the core's mini-batch
        # gradient (batch > 1) and, unless kept from an earlier call, the
        # work space; all checked before any is allocated.
        copies = 1 + (batch > 1)
        work = self._train_work.get(batch)
        if work is None:
            # One work space per batch size, kept for later calls.
            self._train_work = {}
            self._train_work[batch] = work = self._work(
                batch, copies, ", a backup of the weights and their gradient")
        else:
            _validation.check_bytes(copies * self._params.nbytes,
                                    "a backup of the weights and their gradient")
        backup = np.empty_like(self._params)

        def epoch(number: int, order: IndexArray, learning_rate: float) -> float:
            with _threads.limit(threads):
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
                      batch: int, solver: _Solver,
                      threads: int) -> Callable[[int, IndexArray, float], float]:
        # An epoch with momentum, Adam, alpha or sample weights: the solver
        # solver kernels nncore.sklearn uses too (_core._solver_epoch), with the error as
        # Network defines it. They do not stop on a non-finite value, so each
        # epoch starts from a copy of the weights it can go back to (the
        # optimizer state belongs to this fit call and goes with the error).
        codes = _core._solver_codes()
        adam = solver.optimizer == "adam"
        code = codes["adam"] if adam else codes["nesterov" if solver.nesterov else "sgd"]
        n_params = self._params.shape[0]
        # Allocated here and by the core, checked before any is: the
        # optimizer state (one or, for Adam, two copies of the weights), a
        # backup of the weights, the core's gradient, its gathered batch and
        # work space.
        n_rows = min(batch, X.shape[0])
        gathered = n_rows * (self._sizes[0] + self._sizes[-1] + 1) / n_params
        self._check_work(n_rows, 3 + adam + gathered,
                         ", the optimizer state, a backup of the weights and the gradient")
        s1 = _params.zeros(n_params, self._dtype)
        s2 = _params.zeros(n_params if adam else 0, self._dtype)
        t = np.zeros(1, dtype=np.intp)
        weights = np.zeros(0, dtype=self._dtype) if sw is None else sw
        no_index = np.zeros(0, dtype=np.intp)
        no_data = np.zeros(0, dtype=self._dtype)
        backup = np.empty_like(self._params)
        options = {"solver": code, "alpha": solver.alpha, "momentum": solver.momentum,
                   "beta_1": solver.beta_1, "beta_2": solver.beta_2,
                   "epsilon": solver.epsilon}

        def epoch(number: int, order: IndexArray, learning_rate: float) -> float:
            backup[...] = self._params
            try:
                with _threads.limit(threads):
                    total = _core._solver_epoch(
                        self._params, *self._spec(), codes["network"], X, no_data,
                        no_index, no_index, T, weights, order, batch,
                        dict(options, learning_rate=learning_rate), t, s1, s2)
            except BaseException:
                # Ctrl-C mid-epoch leaves the weights of the last completed
                # step; if those went non-finite earlier in the epoch, the
                # epoch's starting weights (also a completed step) instead.
                if not _core._all_finite(self._params):
                    self._params[...] = backup
                raise
            if not (np.isfinite(total) and _core._all_finite(self._params)):
                self._params[...] = backup
                raise DivergenceError(
                    f"training diverged in epoch {number}: the loss or the weights "
                    "became non-finite; the network holds the weights it had at "
                    "the start of that epoch. Lower the learning rate or scale the "
                    "inputs.", epoch=number, sample=0)
            return float(total)
        return epoch

    # -- predictions and scores, as scikit-learn and Keras users expect -------

    def _classes(self) -> npt.NDArray[Any] | None:
        # The class labels of a softmax or one-sigmoid output, from
        # ``metadata["classes"]`` (a network loaded from a command-line
        # model); None if there are none.
        metadata = getattr(self, "metadata", None)
        if not isinstance(metadata, Mapping) or metadata.get("classes") is None:
            return None
        if self._output == "softmax":
            expected = self._sizes[-1]
        elif self._output == "sigmoid" and self._sizes[-1] == 1:
            expected = 2
        else:
            return None
        classes = np.asarray(metadata["classes"])
        if classes.ndim != 1 or classes.shape[0] != expected:
            raise ValueError(f"metadata['classes'] has shape {classes.shape}, but the "
                             f"network's {self._output} output has {expected} classes")
        return classes

    def _class_indices(self, y: npt.ArrayLike, name: str) -> npt.ArrayLike:
        # Class labels as the indices 0..n-1 the core takes: through
        # metadata["classes"] when the network has them, else unchanged.
        classes = self._classes()
        if classes is None:
            return y
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            return y
        lookup = {label: index for index, label in enumerate(classes.tolist())}
        try:
            unique, inverse = np.unique(labels, return_inverse=True)
        except TypeError as exc:      # labels of types that do not compare
            raise TypeError(f"{name} holds labels that cannot be compared: {exc}") from exc
        unknown = [label for label in unique.tolist() if label not in lookup]
        if unknown:
            raise ValueError(f"{name} has labels {unknown[:5]} that are not among the "
                             f"network's classes {classes.tolist()[:20]}")
        return np.array([lookup[label] for label in unique.tolist()],
                        dtype=np.intp)[inverse.reshape(-1)]

    def _cli_metadata(self) -> dict[str, Any] | None:
        # The metadata of a model written by ``nncore train`` (format
        # ``nncore-cli-model``, see nncore.cli._meta), or None.
        metadata = self._metadata
        if isinstance(metadata, Mapping) and metadata.get("format") == _CLI_FORMAT \
                and isinstance(metadata.get("inputs"), list):
            return dict(metadata)
        return None

    def _cli_inputs(self, metadata: dict[str, Any], X: Any) -> FloatArray:
        # The network's inputs for a table, as ``nncore predict`` makes them:
        # columns found by name, missing values imputed, categories one-hot
        # encoded, numbers scaled, all from the metadata.
        specs = metadata["inputs"]
        names = [str(spec["name"]) for spec in specs]
        if not (isinstance(X, Mapping) or hasattr(X, "columns")):
            # A plain array: the feature columns in training order, when all
            # of them are numbers (a categorical column has no place in one).
            array = np.asarray(X)
            categorical = [spec["name"] for spec in specs if spec["kind"] != "numeric"]
            if categorical or array.ndim != 2 or array.shape[1] != len(specs):
                quoted = [_preprocess.quoted(name) for name in names]
                if categorical:
                    why = ("an array cannot hold its categorical column(s) " +
                           _preprocess.listed([_preprocess.quoted(c) for c in categorical],
                                              5))
                else:
                    why = f"an array must then have {len(specs)} columns, not " \
                          f"shape {array.shape}"
                raise TypeError(
                    "X: this network was trained by 'nncore train' on the columns "
                    f"{_preprocess.listed(quoted, 8)} ({why}); pass a pandas "
                    "DataFrame or a dict of column arrays holding them by name (or "
                    f"call forward with the network's own {self._sizes[0]} inputs)")
            X = {name: array[:, j] for j, name in enumerate(names)}
        elif metadata.get("positional") and hasattr(X, "columns") and \
                not all(name in X for name in names) and len(X.columns) == len(names):
            # A DataFrame of a headerless file: columns by position.
            X = {name: np.asarray(X.iloc[:, j]) for j, name in enumerate(names)}
        inputs: FloatArray = _preprocess.apply(metadata, X, path="X")
        return inputs

    def _outputs(self, X: npt.ArrayLike) -> FloatArray:
        # forward, with the input preprocessing and the target scaling of a
        # model written by ``nncore train`` when the network is one.
        metadata = self._cli_metadata()
        if metadata is None:
            return self.forward(X)
        P = self.forward(self._cli_inputs(metadata, X))
        if self._output == "identity" and metadata.get("task") == "regression":
            # The network learned (y - mean) / scale; back to y's units, in
            # float64 as ``nncore predict`` computes them.
            P = (P.astype(np.float64) * np.asarray(metadata["target_scale"], np.float64)
                 + np.asarray(metadata["target_mean"], np.float64))
        return P

    def _evaluate(self, X: FloatArray, T: FloatArray,
                  threads: int) -> tuple[float, float]:
        # (mean loss, score) on validated inputs and targets.
        return (self._loss_grad(X, T, False, threads)[0],
                self._score(self.forward(X, threads=threads), T, None))

    def _score(self, P: FloatArray, T: FloatArray, sw: FloatArray | None) -> float:
        # Accuracy of the outputs P against the targets T (subset accuracy
        # for several sigmoids), or R^2 for identity outputs.
        if self._output == "identity":
            weights = np.ones(T.shape[0]) if sw is None else sw.astype(np.float64)
            T64, P64 = T.astype(np.float64), P.astype(np.float64)
            mean = np.average(T64, axis=0, weights=weights)
            residual = (weights[:, None] * (T64 - P64) ** 2).sum(axis=0)
            total = (weights[:, None] * (T64 - mean) ** 2).sum(axis=0)
            # scikit-learn's r2_score: a constant target scores 1 if predicted
            # exactly, else 0.
            with np.errstate(divide="ignore", invalid="ignore"):
                r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1),
                              np.where(residual == 0, 1.0, 0.0))
            return float(r2.mean())
        if self._output == "softmax":
            correct = P.argmax(axis=1) == T.argmax(axis=1)
        else:
            correct = ((P > 0.5) == (T > 0.5)).all(axis=1)
        return float(np.average(correct, weights=sw))

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """Predicted labels (softmax, sigmoid outputs) or values (identity).

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features), or a table
            Converted to the network's dtype. A network loaded from a model
            written by ``nncore train`` (its ``metadata`` describes the
            preprocessing) takes the raw table instead: a pandas DataFrame or
            a dict of 1-D column arrays holding the training columns by name
            (other columns are ignored; a model trained on a file without a
            header also takes a DataFrame with its columns by position). It
            gets exactly the preprocessing ``nncore predict`` applies:
            missing values imputed, categories one-hot encoded, numbers
            scaled. A plain 2-D array is taken as the feature columns in
            training order when they are all numeric; with a categorical
            column it is a TypeError that says what to pass (``forward``
            takes the network's own, already encoded, inputs).

        Returns
        -------
        ndarray
            softmax: shape (n_samples,), the most probable class; one
            sigmoid: shape (n_samples,), 1 where the probability is above
            1/2, else 0 (a two-class problem); several sigmoids: shape
            (n_samples, n_out) of 0/1 (multi-label); identity: the outputs,
            shape (n_samples,) for one output, else (n_samples, n_out).
            Class indices become the labels in ``metadata["classes"]`` when
            the network has them. A command-line regression model gives
            values in the target's own units (float64), as ``nncore
            predict`` prints them.

        Raises
        ------
        TypeError
            A command-line model given a plain array it cannot take (see X).
        ValueError
            A table without a training column, text in a numeric column, an
            unseen category (``nncore._preprocess.UnseenCategoryError``), or
            missing values for a model trained with ``--impute error``.

        Examples
        --------
        >>> import numpy as np, nncore
        >>> net = nncore.Network([2, 2], seed=0)
        >>> net.weights[0][...] = [[4., -4.], [-4., 4.]]
        >>> net.predict([[1., 0.], [0., 1.]]).tolist()
        [0, 1]
        >>> net.metadata = {"classes": ["cat", "dog"]}
        >>> net.predict([[1., 0.], [0., 1.]]).tolist()
        ['cat', 'dog']
        """
        P = self._outputs(X)
        if self._output == "identity":
            return P[:, 0] if P.shape[1] == 1 else P
        if self._output == "sigmoid" and P.shape[1] > 1:
            return (P > 0.5).astype(np.intp)
        indices = (P.argmax(axis=1) if self._output == "softmax"
                   else (P[:, 0] > 0.5)).astype(np.intp)
        classes = self._classes()
        return indices if classes is None else classes[indices]

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Class probabilities, scikit-learn's way.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            As for ``predict``.

        Returns
        -------
        ndarray, network dtype
            softmax: shape (n_samples, n_out), as ``forward``; one sigmoid:
            shape (n_samples, 2), the probabilities of class 0 and class 1;
            several sigmoids: shape (n_samples, n_out), each label's
            probability.

        Raises
        ------
        ValueError
            For an identity output, which gives values, not probabilities.

        Examples
        --------
        >>> import numpy as np, nncore
        >>> net = nncore.Network([2, 1], output="sigmoid", seed=0)
        >>> net.predict_proba([[0., 0.]]).shape
        (1, 2)
        """
        if self._output == "identity":
            raise ValueError("predict_proba needs a softmax or sigmoid output; this "
                             "network's output is identity (regression): use predict")
        P = self._outputs(X)
        if self._output == "sigmoid" and P.shape[1] == 1:
            return np.hstack([1 - P, P])
        return P

    def score(self, X: npt.ArrayLike, y: npt.ArrayLike,
              sample_weight: npt.ArrayLike | None = None) -> float:
        """Accuracy (softmax, sigmoid outputs) or R^2 (identity) on (X, y).

        As scikit-learn's classifiers and regressors define them: the
        fraction of samples whose predicted label is right (for several
        sigmoids, whose every label is right); for identity outputs the
        coefficient of determination ``1 - sum (y - p)^2 / sum (y - mean
        y)^2``, averaged over the outputs (1 or 0 for a constant target,
        as ``sklearn.metrics.r2_score``). For a command-line regression
        model, in the target's own units.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            As for ``predict``.
        y : array-like
            As for ``fit``: class labels (or one-hot rows), 0/1 targets,
            or values.
        sample_weight : array-like of shape (n_samples,) or None
            Weights of a weighted mean.

        Returns
        -------
        float

        Examples
        --------
        >>> import numpy as np, nncore
        >>> net = nncore.Network([2, 2], seed=0)
        >>> net.weights[0][...] = [[4., -4.], [-4., 4.]]
        >>> net.biases[0][...] = 0      # [1, 1] is then a tie, given to class 0
        >>> net.score([[1., 0.], [0., 1.], [1., 1.]], [0, 1, 1])
        0.6666666666666666
        """
        P = self._outputs(X)
        T = _validation.as_target(self._class_indices(y, "y"), self._output,
                                  self._sizes[-1], self._dtype, P.shape[0])
        sw = None
        if sample_weight is not None:
            sw = _validation.as_sample_weight(sample_weight, P.shape[0], np.float64)
        return self._score(P, T, sw)
