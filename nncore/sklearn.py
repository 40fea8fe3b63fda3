# SPDX-License-Identifier: MIT
"""scikit-learn's multilayer perceptrons on nncore's compiled core.

``from nncore.sklearn import MLPClassifier, MLPRegressor`` in place of
``from sklearn.neural_network import ...``: the same parameters, defaults,
methods and fitted attributes, and the same model for the same
``random_state``, trained by the compiled core.

Supported: scikit-learn 1.4 to 1.9 (``SUPPORTED``). The classes derive from
the installed scikit-learn's own, so parameter validation, label handling,
the initial weights, ``partial_fit``, ``warm_start``, scoring and the lbfgs
driver (SciPy's L-BFGS-B, called as the installed scikit-learn calls it) are
that release's code. nncore replaces three private methods:

- ``_fit_stochastic``: the sgd/adam epoch loop. Each epoch is one call into
  the core; the per-epoch shuffles, the early-stopping split, the stopping
  rules and the warnings are scikit-learn's, called in scikit-learn's order.
  The optimizer's state stays in scikit-learn's ``_optimizer`` (velocities;
  Adam's moments and step count), as views into nncore's flat buffers.
- ``_loss_grad_lbfgs``: the loss and gradient that L-BFGS-B minimises.
- ``_forward_pass_fast``: prediction.

These methods, their signatures and the optimizers' constructors are checked
when this module is imported; a scikit-learn outside the supported range, or
one whose private surface differs, is refused with an ImportError naming the
installed and the supported versions.

Needs scikit-learn (``pip install "nncore[sklearn]"``); ``import nncore``
does not.
"""
from __future__ import annotations

import copy
import inspect
import re
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

#: The scikit-learn releases nncore.sklearn supports: ``low <= version < high``.
SUPPORTED = ((1, 4), (1, 10))
_SUPPORTED_TEXT = "scikit-learn 1.4 to 1.9 ('scikit-learn>=1.4,<1.10')"

try:
    import sklearn
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("nncore.sklearn needs scikit-learn, which is not installed: "
                      "pip install 'nncore[sklearn]'") from exc


def _release(version: str) -> tuple[int, int]:
    """(major, minor) of a version string such as '1.9.1' or '1.10.dev0'."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise ImportError(f"nncore.sklearn supports {_SUPPORTED_TEXT}; cannot read the "
                          f"installed scikit-learn's version {version!r}")
    return int(match.group(1)), int(match.group(2))


def check_version(version: str) -> None:
    """Raise ImportError unless scikit-learn ``version`` is supported."""
    if not SUPPORTED[0] <= _release(version) < SUPPORTED[1]:
        raise ImportError(f"nncore.sklearn supports {_SUPPORTED_TEXT}; scikit-learn "
                          f"{version} is installed")


check_version(sklearn.__version__)

from sklearn.base import is_classifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier as _SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as _SkMLPRegressor  # noqa: E402
try:  # the private modules this module relies on (see _SURFACE below)
    from sklearn.neural_network._base import LOSS_FUNCTIONS
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
except ImportError as exc:  # pragma: no cover - a release outside the range
    raise ImportError(f"nncore.sklearn supports {_SUPPORTED_TEXT}; the installed "
                      f"scikit-learn {sklearn.__version__} lacks a private module "
                      f"these releases have: {exc}") from exc
from sklearn.utils import shuffle  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6: the estimator's own method
    def validate_data(_estimator: Any, /, X: Any, **kwargs: Any) -> Any:
        return _estimator._validate_data(X, **kwargs)

from . import _core, _params, _threads  # noqa: E402
from ._validation import INT_MAX  # noqa: E402

__all__ = ["MLPClassifier", "MLPRegressor", "SUPPORTED"]

# -- the private surface of scikit-learn that this module relies on ----------
#
# Each entry: the parameter lists the supported releases have (1.4-1.6
# without sample weights, 1.7 on with them).
_SURFACE = {
    (_SkMLPClassifier, "_fit_stochastic"): (
        ["self", "X", "y", "activations", "deltas", "coef_grads", "intercept_grads",
         "layer_units", "incremental"],
        ["self", "X", "y", "sample_weight", "activations", "deltas", "coef_grads",
         "intercept_grads", "layer_units", "incremental"]),
    (_SkMLPClassifier, "_loss_grad_lbfgs"): (
        ["self", "packed_coef_inter", "X", "y", "activations", "deltas", "coef_grads",
         "intercept_grads"],
        ["self", "packed_coef_inter", "X", "y", "sample_weight", "activations",
         "deltas", "coef_grads", "intercept_grads"]),
    (_SkMLPClassifier, "_update_no_improvement_count"): (
        ["self", "early_stopping", "X_val", "y_val"],
        ["self", "early_stopping", "X", "y", "sample_weight"]),
    (_SkMLPClassifier, "_forward_pass_fast"): (["self", "X", "check_input"],),
    (_SkMLPClassifier, "_unpack"): (["self", "packed_parameters"],),
    (SGDOptimizer, "__init__"): (
        ["self", "params", "learning_rate_init", "lr_schedule", "momentum", "nesterov",
         "power_t"],),
    (AdamOptimizer, "__init__"): (
        ["self", "params", "learning_rate_init", "beta_1", "beta_2", "epsilon"],),
    (SGDOptimizer, "iteration_ends"): (["self", "time_step"],),
    (SGDOptimizer, "trigger_stopping"): (["self", "msg", "verbose"],),
}


def _check_surface() -> tuple[bool, bool]:
    """Check the private methods used or replaced here; return the flags
    (sample weights, small-validation-set check) of the installed release."""
    problems = []
    for (owner, name), variants in _SURFACE.items():
        method = getattr(owner, name, None)
        have = None if method is None else list(inspect.signature(method).parameters)
        if have not in [list(v) for v in variants]:
            problems.append(f"{owner.__name__}.{name}{'' if have is None else tuple(have)}")
    if problems:
        raise ImportError(
            f"nncore.sklearn supports {_SUPPORTED_TEXT}; the installed scikit-learn "
            f"{sklearn.__version__} has private methods these releases do not have: "
            + ", ".join(problems))
    weighted = "sample_weight" in inspect.signature(_SkMLPClassifier._fit_stochastic).parameters
    try:
        source = inspect.getsource(_SkMLPClassifier._fit_stochastic)
        small_check = "validation set is too small" in source
    except (OSError, TypeError):  # no source shipped: the releases that have it
        small_check = weighted
    return weighted, small_check


_WEIGHTED, _SMALL_VALIDATION_CHECK = _check_surface()

_CODES = _core._solver_codes()
_HIDDEN = {"identity": _params.ACTIVATIONS["identity"],
           "logistic": _params.ACTIVATIONS["sigmoid"],
           "tanh": _params.ACTIVATIONS["tanh"],
           "relu": _params.ACTIVATIONS["relu"]}
_OUTPUT = {"identity": _params.OUTPUTS["identity"],
           "logistic": _params.OUTPUTS["sigmoid"],
           "softmax": _params.OUTPUTS["softmax"],
           "exp": _CODES["out_exp"]}
_NO_INDEX = np.zeros(0, dtype=np.intp)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# What np.average raises for weights that sum to zero: scikit-learn's error.
_ZERO_WEIGHTS = "Weights sum to zero, can't be normalized"
# nncore's attributes, rebuilt on first use; never pickled or converted.
_OWN = ("_nn_params", "_nn_table", "_nn_state", "_nn_lbfgs")


def _float_dtype(dtype: Any) -> np.dtype[Any]:
    dtype = np.dtype(dtype)
    return dtype if dtype in _FLOATS else np.dtype(np.float64)


def _core_input(X: Any, dtype: np.dtype[Any], n_inputs: int) -> tuple[Any, Any, Any, Any]:
    """X as the core reads it: a C-contiguous array, or CSR arrays.

    ``n_inputs`` is the number of input rows of ``coefs_[0]``, which a user
    may have replaced since the fit: X must have exactly that many columns.

    Returns ``(dense, data, indices, indptr)``; for dense X the last three are
    empty, for sparse X ``dense`` has no rows. Copies only where the dtype or
    layout forces it. The CSR structure is checked here, because the core
    indexes with it unchecked.
    """
    if X.ndim != 2 or X.shape[1] != n_inputs:
        raise ValueError(f"X has {X.shape[1] if X.ndim == 2 else X.ndim} features, but "
                         f"coefs_[0] has {n_inputs} rows (one per input feature)")
    if sp.issparse(X):
        X = X.tocsr()
        n_rows, n_features = X.shape
        data = np.ascontiguousarray(X.data, dtype=dtype)
        indices = np.ascontiguousarray(X.indices, dtype=np.intp)
        indptr = np.ascontiguousarray(X.indptr, dtype=np.intp)
        if (indptr.shape != (n_rows + 1,) or indptr[0] != 0
                or indptr[-1] != data.shape[0] or indices.shape != data.shape
                or np.any(np.diff(indptr) < 0)
                or (indices.size and (indices.min() < 0 or indices.max() >= n_features))):
            raise ValueError("X: malformed CSR matrix (indptr or indices out of range)")
        return np.zeros((0, n_features), dtype=dtype), data, indices, indptr
    X = np.ascontiguousarray(X, dtype=dtype)
    return X, np.zeros(0, dtype=dtype), _NO_INDEX, _NO_INDEX


def _sizes(coefs: list[np.ndarray]) -> list[int]:
    sizes = [coefs[0].shape[0]] + [c.shape[1] for c in coefs]
    # The row of a layer holds its inputs and the bias: the rule of
    # nncore.Network (_validation.check_layer_sizes).
    if max(sizes) + 1 > INT_MAX:
        raise ValueError(f"layer sizes {sizes} exceed what BLAS can index "
                         f"(at most {INT_MAX - 1} units per layer)")
    return sizes


def _flat(arrays: list[np.ndarray], sizes: list[int], dtype: np.dtype[Any]
          ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """A new flat buffer of ``dtype`` holding ``arrays`` (coefficients, then
    intercepts, scikit-learn's order); returns it, its layout and its views
    in that order."""
    table, n_entries = _params.layout(sizes, dtype)
    buffer = _params.zeros(n_entries, dtype)
    weights, biases = _params.views(buffer, table)
    views = weights + biases
    for view, array in zip(views, arrays):
        view[...] = array
    return buffer, table, views


def _are_views(arrays: Any, views: list[np.ndarray]) -> bool:
    """Whether ``arrays`` are exactly ``views`` (same memory, shape, strides)."""
    if not isinstance(arrays, list) or len(arrays) != len(views):
        return False
    for have, want in zip(arrays, views):
        if (not isinstance(have, np.ndarray) or have.shape != want.shape
                or have.strides != want.strides or have.dtype != want.dtype
                or have.ctypes.data != want.ctypes.data):
            return False
    return True


def _packed_order(table: np.ndarray, n_entries: int) -> np.ndarray:
    """``perm`` with ``flat[perm]`` = scikit-learn's packed vector (every
    coefficient matrix raveled, then every intercept) for a flat buffer of
    ``table``'s layout."""
    index = np.arange(n_entries, dtype=np.intp)
    weights, biases = _params.views(index, table)
    return np.concatenate([w.ravel() for w in weights] + [b for b in biases])


class _CoreMLP:
    """The solvers and the forward pass of both estimators, on the core."""

    # -- the flat parameter buffer ---------------------------------------

    def _nn_bind(self, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        """The flat buffer holding coefs_ and intercepts_, of ``dtype``.

        coefs_ and intercepts_ are views into it; if they are not (first use,
        a new dtype, after unpickling, or the user assigned new arrays), a
        buffer is made, filled from them, and they become its views. Where
        scikit-learn's early-stopping state aliases coefs_ (``_best_coefs is
        coefs_``, after a fit with early stopping), it keeps aliasing them.
        """
        dtype = np.dtype(dtype)
        params = self.__dict__.get("_nn_params")
        table = self.__dict__.get("_nn_table")
        if params is not None and params.dtype == dtype:
            weights, biases = _params.views(params, table)
            if _are_views(self.coefs_ + self.intercepts_, weights + biases):
                return params, table
        state = self.__dict__
        aliased = (state.get("_best_coefs") is state.get("coefs_"),
                   state.get("_best_intercepts") is state.get("intercepts_"))
        params, table, views = _flat(self.coefs_ + self.intercepts_,
                                     _sizes(self.coefs_), dtype)
        n = len(self.coefs_)
        self.coefs_, self.intercepts_ = views[:n], views[n:]
        if aliased[0]:
            self._best_coefs = self.coefs_
        if aliased[1]:
            self._best_intercepts = self.intercepts_
        self._nn_params, self._nn_table = params, table
        return params, table

    def _nn_solver_state(self, optimizer: Any, dtype: np.dtype[Any], table: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        """The optimizer's state as the core's flat buffers (velocity; Adam's
        first and second moments), with ``optimizer``'s lists made views into
        them. State scikit-learn left (a pickle, a converted model) is copied
        in; otherwise the existing buffers are reused."""
        names = ("ms", "vs") if isinstance(optimizer, AdamOptimizer) else ("velocities",)
        sizes = [int(s) for s in table[0]]
        cached = self.__dict__.get("_nn_state")
        buffers = []
        for k, name in enumerate(names):
            arrays = getattr(optimizer, name)
            if (cached is not None and cached[0] is optimizer
                    and cached[1][k].dtype == dtype and np.array_equal(cached[2], table)):
                weights, biases = _params.views(cached[1][k], table)
                if _are_views(arrays, weights + biases):
                    buffers.append(cached[1][k])
                    continue
            if len(arrays) != 2 * (len(sizes) - 1) or any(
                    np.shape(a) != np.shape(p) for a, p in
                    zip(arrays, self.coefs_ + self.intercepts_)):
                raise ValueError(f"_optimizer.{name} does not match coefs_ and "
                                 "intercepts_ in number or shape")
            buffer, _, views = _flat(list(arrays), sizes, dtype)
            setattr(optimizer, name, views)
            buffers.append(buffer)
        if len(buffers) == 1:
            buffers.append(np.zeros(0, dtype=dtype))
        self._nn_state = (optimizer, buffers, table)
        return buffers[0], buffers[1]

    def __getstate__(self) -> dict[str, Any]:
        # The buffers are rebuilt from coefs_, intercepts_ and _optimizer.
        state = dict(super().__getstate__())  # type: ignore[misc]
        for name in _OWN:
            state.pop(name, None)
        return state

    def _nn_codes(self) -> tuple[int, int, int]:
        hidden = _HIDDEN[self.activation]
        output = _OUTPUT[self.out_activation_]
        loss = getattr(self, "loss", "squared_error")
        if loss == "log_loss" and self.out_activation_ == "logistic":
            loss = "binary_log_loss"
        return hidden, output, _CODES[loss]

    def _nn_loss_type(self, y: Any, dtype: np.dtype[Any]) -> type:
        """The NumPy scalar type of scikit-learn's loss for targets like y and
        activations of ``dtype``: its own loss function and arithmetic, on one
        sample (the type depends on the release of NumPy and of
        scikit-learn)."""
        name = getattr(self, "loss", "squared_error")
        if name == "log_loss" and self.out_activation_ == "logistic":
            name = "binary_log_loss"
        target = np.ones((1, 1), dtype=np.asarray(y).dtype)
        output = np.full((1, 1), 0.5, dtype=dtype)
        with np.errstate(all="ignore"):
            value = LOSS_FUNCTIONS[name](target, output)
            value += (0.5 * self.alpha) * (0.0 + np.dot(output.ravel(), output.ravel())) / 1
        return type(value)

    def _nn_check_batch(self, batch_size: int, n_features: int) -> None:
        width = max([n_features] + [c.shape[1] for c in self.coefs_])
        if batch_size * width > INT_MAX:
            raise ValueError(f"batch_size={batch_size} times the widest layer ({width}) "
                             f"exceeds what BLAS can index ({INT_MAX})")

    def _nn_work_dtype(self, y: Any) -> np.dtype[Any]:
        # scikit-learn's arithmetic: its gradients (and so its optimizer's
        # state) take the dtype of the output layer minus the targets, which
        # is float64 for float32 X with float64 or integer regression targets.
        dtype = _float_dtype(self.coefs_[0].dtype)
        if is_classifier(self):
            return dtype
        return _float_dtype(np.result_type(dtype, np.asarray(y).dtype))

    # -- prediction ---------------------------------------------------------

    def _forward_pass_fast(self, X: Any, check_input: bool = True) -> np.ndarray:
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        # The dtype scikit-learn's X @ coefs_[0] gives (float64 for float64
        # or integer X and float32 coefficients).
        dtype = _float_dtype(np.result_type(X.dtype, self.coefs_[0].dtype))
        params, table = self._nn_bind(_float_dtype(self.coefs_[0].dtype))
        if params.dtype != dtype:
            params, table, _ = _flat(self.coefs_ + self.intercepts_, _sizes(self.coefs_),
                                     dtype)
        hidden, output, _ = self._nn_codes()
        dense, data, indices, indptr = _core_input(X, params.dtype, int(table[0, 0]))
        out = np.empty((X.shape[0], table[0, -1]), dtype=params.dtype)
        # BLAS at nncore's threads (nncore.set_num_threads) for calls large
        # enough to matter, as Network does.
        with _threads.limit(_threads.get_num_threads(),
                            X.shape[0] * int(table[0, :-1] @ table[0, 1:])):
            _core._solver_forward(params, table, hidden, output, dense, data, indices,
                                  indptr, out)
        return out

    # -- lbfgs: scikit-learn's driver, the core's loss and gradient ------------

    def _fit_lbfgs(self, X: Any, *args: Any) -> None:
        # Coefficients replaced by the user with another number of inputs:
        # the core's message, before scikit-learn packs them.
        n_inputs = self.coefs_[0].shape[0]
        if X.shape[1] != n_inputs:
            raise ValueError(f"X has {X.shape[1]} features, but coefs_[0] has {n_inputs} "
                             "rows (one per input feature)")
        try:
            super()._fit_lbfgs(X, *args)  # type: ignore[misc]
        finally:
            self.__dict__.pop("_nn_lbfgs", None)
        # scikit-learn left coefs_ as views of L-BFGS-B's result: into the
        # buffer now, so that predicting does not change the estimator.
        self._nn_bind(_float_dtype(self.coefs_[0].dtype))

    def _loss_grad_lbfgs(self, packed_coef_inter: np.ndarray, X: Any, y: Any,
                         *rest: Any) -> tuple[Any, np.ndarray]:
        sample_weight = rest[0] if _WEIGHTED else None
        # The installed SciPy decides x's dtype (1.15 on keeps float32);
        # scikit-learn computes in what its arithmetic with y promotes to.
        dtype = _float_dtype(packed_coef_inter.dtype)
        if not is_classifier(self):
            dtype = _float_dtype(np.result_type(dtype, np.asarray(y).dtype))
        coef_dtype = _float_dtype(packed_coef_inter.dtype)
        self._unpack(packed_coef_inter)
        cache = self.__dict__.get("_nn_lbfgs")
        if (cache is None or cache["X"] is not X or cache["y"] is not y
                or cache["sw"] is not sample_weight or cache["dtype"] != dtype):
            sizes = _sizes(self.coefs_)
            table, n_entries = _params.layout(sizes, dtype)
            Y = np.ascontiguousarray(y, dtype=dtype)
            sw = np.zeros(0, dtype=dtype)
            if sample_weight is not None:
                if np.sum(sample_weight) == 0:
                    raise ZeroDivisionError(_ZERO_WEIGHTS)
                sw = np.ascontiguousarray(sample_weight, dtype=dtype)
            cache = dict(X=X, y=y, sw=sample_weight, dtype=dtype, table=table,
                         order=_packed_order(table, n_entries),
                         flat=_params.zeros(n_entries, dtype),
                         grad=_params.zeros(n_entries, dtype),
                         inputs=_core_input(X, dtype, sizes[0]),
                         Y=Y.reshape(Y.shape[0], -1), weights=sw,
                         loss_type=self._nn_loss_type(y, coef_dtype))
            self._nn_lbfgs = cache
        flat, grad, order = cache["flat"], cache["grad"], cache["order"]
        flat[order] = packed_coef_inter
        hidden, output, loss = self._nn_codes()
        with _threads.limit(_threads.get_num_threads()):
            value = _core._solver_loss_grad(flat, cache["table"], hidden, output, loss,
                                            *cache["inputs"], cache["Y"],
                                            cache["weights"], float(self.alpha), grad,
                                            _core.ROWS_PER_PASS)
        # A new array each call: L-BFGS-B keeps gradients between calls.
        return cache["loss_type"](value), grad[order]

    # -- sgd and adam ---------------------------------------------------------

    def _fit_stochastic(self, X: Any, y: Any, *rest: Any) -> None:
        # scikit-learn's _fit_stochastic, line for line, with its batch loop
        # replaced by one call into the core per epoch.
        if _WEIGHTED:
            sample_weight, incremental = rest[0], rest[-1]
        else:
            sample_weight, incremental = None, rest[-1]
        coef_dtype = _float_dtype(self.coefs_[0].dtype)
        params, table = self._nn_bind(coef_dtype)
        dtype = self._nn_work_dtype(y)
        if not incremental or not hasattr(self, "_optimizer"):
            start = self.coefs_ + self.intercepts_
            if self.solver == "sgd":
                self._optimizer = SGDOptimizer(
                    start, self.learning_rate_init, self.learning_rate, self.momentum,
                    self.nesterovs_momentum, self.power_t)
            elif self.solver == "adam":
                self._optimizer = AdamOptimizer(
                    start, self.learning_rate_init, self.beta_1, self.beta_2,
                    self.epsilon)
        # scikit-learn keeps the optimizer it built, with the solver and the
        # hyperparameters of that moment, across partial_fit and set_params.
        opt = self._optimizer
        adam = isinstance(opt, AdamOptimizer)

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            should_stratify = is_classifier(self) and self.n_outputs_ == 1
            stratify = y if should_stratify else None
            if sample_weight is None:
                X_train, X_val, y_train, y_val = train_test_split(
                    X, y, random_state=self._random_state,
                    test_size=self.validation_fraction, stratify=stratify)
                sample_weight_train = sample_weight_val = None
            else:
                (X_train, X_val, y_train, y_val, sample_weight_train,
                 sample_weight_val) = train_test_split(
                    X, y, sample_weight, random_state=self._random_state,
                    test_size=self.validation_fraction, stratify=stratify)
            if _SMALL_VALIDATION_CHECK and X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset.")
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
        else:
            X_train, y_train, sample_weight_train = X, y, sample_weight
            X_val = y_val = sample_weight_val = None
        validation = (early_stopping, X_val, y_val) + (
            (sample_weight_val,) if _WEIGHTED else ())

        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)

        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        self._nn_check_batch(batch_size, X_train.shape[1])

        # Where the core computes in another dtype than the coefficients'
        # (float32 X, float64 targets), it trains a float64 copy, rounded to
        # the coefficients after every epoch.
        if dtype == params.dtype:
            work, work_table = params, table
            mixed = None
        else:
            work, work_table, mixed = _flat(self.coefs_ + self.intercepts_,
                                            _sizes(self.coefs_), dtype)
        dense, data, indices, indptr = _core_input(X_train, dtype, int(table[0, 0]))
        s1, s2 = self._nn_solver_state(opt, dtype, work_table)
        Y = np.ascontiguousarray(y_train, dtype=dtype)
        Y = Y.reshape(Y.shape[0], -1)
        sw = np.zeros(0, dtype=dtype)
        starts = np.arange(0, n_samples, batch_size)
        if sample_weight_train is not None:
            sw = np.ascontiguousarray(sample_weight_train, dtype=dtype)
        if adam:
            code = _CODES["adam"]
        elif opt.nesterov:
            code = _CODES["nesterov"]
        else:
            code = _CODES["sgd"]
        t = np.array([opt.t if adam else 0], dtype=np.intp)
        # accumulated_loss starts as 0.0 and gains loss * batch size.
        loss_type = type(0.0 + self._nn_loss_type(y, coef_dtype)(1) * 1 / 1)
        codes = self._nn_codes()

        try:
            self.n_iter_ = 0
            for it in range(self.max_iter):
                if self.shuffle:
                    sample_idx = shuffle(sample_idx, random_state=self._random_state)
                order = np.ascontiguousarray(sample_idx, dtype=np.intp)
                zero = None
                if sample_weight_train is not None:
                    # scikit-learn raises at the first batch whose weights sum
                    # to zero, after the steps before it.
                    sums = np.add.reduceat(np.asarray(sample_weight_train)[order], starts)
                    hits = np.flatnonzero(sums == 0)
                    if hits.size:
                        zero = int(hits[0])
                        order = order[:zero * batch_size]
                # The optimizer's own hyperparameters (see the start of this
                # method), its learning rate as its schedule left it; alpha
                # is read at every step, as scikit-learn does.
                options = {"solver": code, "alpha": float(self.alpha),
                           "learning_rate": float(opt.learning_rate_init if adam
                                                  else opt.learning_rate),
                           "momentum": float(0.0 if adam else opt.momentum),
                           "beta_1": float(opt.beta_1 if adam else 0.9),
                           "beta_2": float(opt.beta_2 if adam else 0.999),
                           "epsilon": float(opt.epsilon if adam else 1e-8)}
                try:
                    # Mixed dtypes: one step at a time, each rounded to the
                    # coefficients' dtype as scikit-learn's in-place update is.
                    accumulated_loss = 0.0
                    for part in (range(0, order.shape[0], batch_size) if mixed is not None
                                 else (0,)):
                        with _threads.limit(_threads.get_num_threads()):
                            accumulated_loss += _core._solver_epoch(
                                work, work_table, *codes, dense, data, indices, indptr,
                                Y, sw,
                                order[part:part + batch_size] if mixed is not None
                                else order, batch_size, options, t, s1, s2)
                        if mixed is not None:
                            for low, high in zip(self.coefs_ + self.intercepts_, mixed):
                                low[...] = high
                                high[...] = low
                finally:
                    if adam and t[0] > opt.t:
                        opt.t = int(t[0])
                        opt.learning_rate = (opt.learning_rate_init
                                             * np.sqrt(1 - opt.beta_2**opt.t)
                                             / (1 - opt.beta_1**opt.t))
                    if mixed is not None:
                        for low, high in zip(self.coefs_ + self.intercepts_, mixed):
                            low[...] = high
                if zero is not None:
                    raise ZeroDivisionError(_ZERO_WEIGHTS)

                self.n_iter_ += 1
                self.loss_ = loss_type(accumulated_loss / X_train.shape[0])

                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))

                self._update_no_improvement_count(*validation)

                opt.iteration_ends(self.t_)

                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = ("Validation score did not improve more than "
                               "tol=%f for %d consecutive epochs."
                               % (self.tol, self.n_iter_no_change))
                    else:
                        msg = ("Training loss did not improve more than tol=%f"
                               " for %d consecutive epochs."
                               % (self.tol, self.n_iter_no_change))
                    is_stopping = opt.trigger_stopping(msg, self.verbose)
                    if is_stopping:
                        break
                    else:
                        self._no_improvement_count = 0

                if incremental:
                    break

                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet."
                        % self.max_iter, ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")

        if early_stopping:
            # scikit-learn makes the best arrays the model (coefs_ is
            # _best_coefs): restore them into the buffer, and alias as it does,
            # so a later warm start that never improves ends at its last epoch.
            for view, best in zip(self.coefs_ + self.intercepts_,
                                  self._best_coefs + self._best_intercepts):
                if view is not best:
                    view[...] = best
            self._best_coefs, self._best_intercepts = self.coefs_, self.intercepts_

    # -- moving models between the two libraries --------------------------------

    @classmethod
    def _nn_sklearn_class(cls) -> type:
        return next(c for c in cls.__mro__ if c.__module__.startswith("sklearn."))

    @classmethod
    def from_sklearn(cls, estimator: Any) -> Any:
        """This class's copy of a fitted scikit-learn estimator.

        Parameters, fitted attributes and the optimizer's state are copied,
        so that predictions agree and training continues as scikit-learn's
        would.

        Parameters
        ----------
        estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
            Fitted; for ``MLPRegressor.from_sklearn`` a regressor.

        Returns
        -------
        A fitted estimator of this class; ``estimator`` is not changed.

        Raises
        ------
        TypeError
            ``estimator`` is not of the matching scikit-learn class.
        sklearn.exceptions.NotFittedError
            ``estimator`` has not been fitted.
        """
        base = cls._nn_sklearn_class()
        if not isinstance(estimator, base):
            raise TypeError(f"estimator: expected a fitted sklearn.neural_network."
                            f"{base.__name__}, got {type(estimator).__name__}")
        check_is_fitted(estimator)
        return _copy_into(cls, estimator)

    def to_sklearn(self) -> Any:
        """scikit-learn's own estimator with this one's parameters, fitted
        attributes and optimizer state (a copy): it predicts the same and
        continues training as this one would.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            The estimator has not been fitted.
        """
        check_is_fitted(self)
        return _copy_into(self._nn_sklearn_class(), self)


def _copy_into(cls: type, estimator: Any) -> Any:
    new = cls(**estimator.get_params(deep=False))
    state = {k: v for k, v in estimator.__dict__.items() if k not in _OWN}
    # One deepcopy keeps what is shared shared (coefs_ and _best_coefs).
    new.__dict__.update(copy.deepcopy(state))
    return new


class MLPClassifier(_CoreMLP, _SkMLPClassifier):
    """scikit-learn's ``MLPClassifier``, trained by nncore's compiled core.

    Same parameters, defaults, methods and fitted attributes as the installed
    :class:`sklearn.neural_network.MLPClassifier`; see its documentation.
    With the same data, parameters and ``random_state`` it gives the same
    model (float64: to rounding; float32: close). ``from_sklearn`` and
    ``to_sklearn`` convert fitted models either way.

    Examples
    --------
    >>> from nncore.sklearn import MLPClassifier
    >>> from nncore.datasets import load_digits
    >>> X, y = load_digits()
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=500,
    ...                     random_state=0).fit(X[:1000], y[:1000])
    >>> clf.score(X[1000:], y[1000:]) > 0.9
    True
    """


class MLPRegressor(_CoreMLP, _SkMLPRegressor):
    """scikit-learn's ``MLPRegressor``, trained by nncore's compiled core.

    Same parameters (from scikit-learn 1.7, ``loss``: ``'squared_error'`` or
    ``'poisson'``), defaults, methods and fitted attributes as the installed
    :class:`sklearn.neural_network.MLPRegressor`; see its documentation.
    ``from_sklearn`` and ``to_sklearn`` convert fitted models either way.

    Examples
    --------
    >>> import numpy as np
    >>> from nncore.sklearn import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (400, 2))
    >>> y = X[:, 0] * X[:, 1]
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs",
    ...                    max_iter=500, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """
