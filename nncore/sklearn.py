# SPDX-License-Identifier: MIT
"""scikit-learn's multilayer perceptrons on nncore's compiled core.

``from nncore.sklearn import MLPClassifier, MLPRegressor`` in place of
``from sklearn.neural_network import ...``: the same parameters, defaults,
methods and fitted attributes, and the same model for the same
``random_state``, trained by the compiled core.

The classes derive from scikit-learn's own, so everything around the solver
(parameter validation, label handling, the random draws of the initial
weights, the per-epoch shuffles and the early-stopping split, the stopping
rules and the warnings) is scikit-learn's code, in scikit-learn's order. What
changes is the solver: every epoch of ``sgd`` and ``adam`` is one call into
the core, which gathers the batches, runs forward and backward passes through
BLAS, and applies scikit-learn's update (momentum, Nesterov or Adam, with the
L2 penalty ``alpha`` and sample weights) in place over one flat parameter
buffer, with the GIL released; ``lbfgs`` runs SciPy's L-BFGS-B directly on
the core's loss and gradient over that buffer. ``coefs_`` and
``intercepts_`` are views into the buffer, so no per-layer copies are made.

Needs scikit-learn (``pip install "nncore[sklearn]"``); ``import nncore``
does not.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse as sp

try:
    from sklearn.base import is_classifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
    from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
    from sklearn.neural_network._stochastic_optimizers import (
        AdamOptimizer, SGDOptimizer)
    from sklearn.utils import shuffle
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
    from sklearn.utils.optimize import _check_optimize_result
    from sklearn.utils.validation import validate_data
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "nncore.sklearn needs scikit-learn: pip install 'nncore[sklearn]'") from exc

from . import _core, _params
from ._validation import INT_MAX

__all__ = ["MLPClassifier", "MLPRegressor"]

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


class _CoreMLP:
    """The solvers and the forward pass of both estimators, on the core."""

    # -- the flat parameter buffer ---------------------------------------

    def _nn_bind(self, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        """The flat buffer holding coefs_ and intercepts_, of ``dtype``.

        coefs_ and intercepts_ are views into it; if they are not (first use,
        a new dtype, after unpickling, or the user assigned new arrays), a
        buffer is made, filled from them, and they become its views.
        """
        dtype = np.dtype(dtype)
        params = self.__dict__.get("_nn_params")
        table = self.__dict__.get("_nn_table")
        if params is not None and params.dtype == dtype and self._nn_are_views(params, table):
            return params, table
        sizes = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
        # The row of a layer holds its inputs and the bias: the rule of
        # nncore.Network (_validation.check_layer_sizes).
        if max(sizes) + 1 > INT_MAX:
            raise ValueError(f"layer sizes {sizes} exceed what BLAS can index "
                             f"(at most {INT_MAX - 1} units per layer)")
        table, n_entries = _params.layout(sizes, dtype)
        params = _params.zeros(n_entries, dtype)
        weights, biases = _params.views(params, table)
        for w, b, coef, intercept in zip(weights, biases, self.coefs_, self.intercepts_):
            w[...] = coef
            b[...] = intercept
        self.coefs_, self.intercepts_ = weights, biases
        self._nn_params, self._nn_table = params, table
        return params, table

    def _nn_are_views(self, params: np.ndarray, table: np.ndarray) -> bool:
        weights, biases = _params.views(params, table)
        mine = list(getattr(self, "coefs_", [])) + list(getattr(self, "intercepts_", []))
        if len(mine) != len(weights) + len(biases):
            return False
        for have, want in zip(mine, weights + biases):
            if (not isinstance(have, np.ndarray) or have.shape != want.shape
                    or have.strides != want.strides or have.dtype != want.dtype
                    or have.ctypes.data != want.ctypes.data):
                return False
        return True

    def __getstate__(self) -> dict[str, Any]:
        # The buffer is rebuilt from coefs_ and intercepts_ on first use.
        state = super().__getstate__()  # type: ignore[misc]
        state = dict(state)
        state.pop("_nn_params", None)
        state.pop("_nn_table", None)
        return state

    def _nn_codes(self) -> tuple[int, int, int]:
        hidden = _HIDDEN[self.activation]
        output = _OUTPUT[self.out_activation_]
        loss = self.loss
        if loss == "log_loss" and self.out_activation_ == "logistic":
            loss = "binary_log_loss"
        return hidden, output, _CODES[loss]

    @staticmethod
    def _nn_weights(sample_weight: Any, dtype: np.dtype[Any]) -> np.ndarray:
        if sample_weight is None:
            return np.zeros(0, dtype=dtype)
        return np.ascontiguousarray(sample_weight, dtype=dtype)

    def _nn_check_batch(self, batch_size: int, n_features: int) -> None:
        width = max([n_features] + [c.shape[1] for c in self.coefs_])
        if batch_size * width > INT_MAX:
            raise ValueError(f"batch_size={batch_size} times the widest layer ({width}) "
                             f"exceeds what BLAS can index ({INT_MAX})")

    # -- prediction ---------------------------------------------------------

    def _forward_pass_fast(self, X: Any, check_input: bool = True) -> np.ndarray:
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        dtype = self.coefs_[0].dtype
        if dtype not in (np.float32, np.float64):
            dtype = np.dtype(np.float64)
        params, table = self._nn_bind(dtype)
        hidden, output, _ = self._nn_codes()
        dense, data, indices, indptr = _core_input(X, params.dtype, int(table[0, 0]))
        out = np.empty((X.shape[0], table[0, -1]), dtype=params.dtype)
        _core._solver_forward(params, table, hidden, output, dense, data, indices,
                          indptr, out)
        return out

    # -- lbfgs ----------------------------------------------------------------

    def _fit_lbfgs(self, X: Any, y: Any, sample_weight: Any, activations: Any,
                   deltas: Any, coef_grads: Any, intercept_grads: Any,
                   layer_units: Any) -> None:
        # scikit-learn hands L-BFGS-B float64 parameters whatever X's dtype
        # (SciPy converts x0), so its lbfgs fits run in float64: so does this.
        dtype = np.dtype(np.float64)
        params, table = self._nn_bind(dtype)
        hidden, output, loss = self._nn_codes()
        dense, data, indices, indptr = _core_input(X, dtype, int(table[0, 0]))
        Y = np.ascontiguousarray(y, dtype=dtype)
        sw = self._nn_weights(sample_weight, dtype)
        grad = np.empty_like(params)
        alpha = float(self.alpha)

        def loss_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            value = _core._solver_loss_grad(x, table, hidden, output, loss, dense, data,
                                        indices, indptr, Y, sw, alpha, grad,
                                        _core.ROWS_PER_PASS)
            # L-BFGS-B keeps gradients between calls: hand it its own copy.
            return value, grad.copy()

        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        opt_res = scipy.optimize.minimize(
            loss_grad, params.copy(), method="L-BFGS-B", jac=True,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter,
                     "gtol": self.tol,
                     **_get_additional_lbfgs_options_dict("iprint", iprint)})
        self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        self.loss_ = opt_res.fun
        params[:] = opt_res.x

    # -- sgd and adam ---------------------------------------------------------

    def _fit_stochastic(self, X: Any, y: Any, sample_weight: Any, activations: Any,
                        deltas: Any, coef_grads: Any, intercept_grads: Any,
                        layer_units: Any, incremental: bool) -> None:
        # scikit-learn's _fit_stochastic, line for line, with its batch loop
        # replaced by one call into the core per epoch.
        dtype = self.coefs_[0].dtype
        params, table = self._nn_bind(dtype)
        hidden, output, loss_code = self._nn_codes()
        n_params = params.shape[0]
        state = self.__dict__.get("_nn_state")
        if (not incremental or not hasattr(self, "_optimizer") or state is None
                or state[0].shape != params.shape or state[0].dtype != params.dtype):
            if self.solver == "sgd":
                self._optimizer = SGDOptimizer(
                    [], self.learning_rate_init, self.learning_rate, self.momentum,
                    self.nesterovs_momentum, self.power_t)
            else:
                self._optimizer = AdamOptimizer(
                    [], self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)
            second = n_params if self.solver == "adam" else 0
            state = (_params.zeros(n_params, dtype), _params.zeros(second, dtype))
            self._nn_state = state
        s1, s2 = state

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
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset.")
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
        else:
            X_train, y_train, sample_weight_train = X, y, sample_weight
            X_val = y_val = sample_weight_val = None

        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=np.intp)

        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        self._nn_check_batch(batch_size, X_train.shape[1])

        dense, data, indices, indptr = _core_input(X_train, dtype, int(table[0, 0]))
        Y = np.ascontiguousarray(y_train, dtype=dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        sw = self._nn_weights(sample_weight_train, dtype)
        adam = self.solver == "adam"
        if adam:
            code = _CODES["adam"]
        elif self.nesterovs_momentum:
            code = _CODES["nesterov"]
        else:
            code = _CODES["sgd"]
        opt = self._optimizer
        t = np.array([opt.t if adam else 0], dtype=np.intp)

        try:
            self.n_iter_ = 0
            for it in range(self.max_iter):
                if self.shuffle:
                    sample_idx = shuffle(sample_idx, random_state=self._random_state)
                order = np.ascontiguousarray(sample_idx, dtype=np.intp)
                try:
                    accumulated_loss = _core._solver_epoch(
                        params, table, hidden, output, loss_code, dense, data, indices,
                        indptr, Y, sw, order, batch_size,
                        {"solver": code, "alpha": float(self.alpha),
                         "learning_rate": float(opt.learning_rate_init if adam
                                                else opt.learning_rate),
                         "momentum": float(self.momentum), "beta_1": float(self.beta_1),
                         "beta_2": float(self.beta_2), "epsilon": float(self.epsilon)},
                        t, s1, s2)
                finally:
                    if adam and t[0] > 0:
                        opt.t = int(t[0])
                        opt.learning_rate = (opt.learning_rate_init
                                             * np.sqrt(1 - opt.beta_2**opt.t)
                                             / (1 - opt.beta_1**opt.t))

                self.n_iter_ += 1
                self.loss_ = accumulated_loss / X_train.shape[0]

                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))

                self._update_no_improvement_count(
                    early_stopping, X_val, y_val, sample_weight_val)

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
            # Restore the best weights, into the buffer.
            for view, best in zip(self.coefs_ + self.intercepts_,
                                  self._best_coefs + self._best_intercepts):
                view[...] = best


class MLPClassifier(_CoreMLP, _SkMLPClassifier):
    """scikit-learn's ``MLPClassifier``, trained by nncore's compiled core.

    Same parameters, defaults, methods and fitted attributes as
    :class:`sklearn.neural_network.MLPClassifier`; see its documentation.
    With the same data, parameters and ``random_state`` it gives the same
    model (float64: to rounding; float32: close).

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

    Same parameters (``loss`` included: ``'squared_error'`` or
    ``'poisson'``), defaults, methods and fitted attributes as
    :class:`sklearn.neural_network.MLPRegressor`; see its documentation.

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
