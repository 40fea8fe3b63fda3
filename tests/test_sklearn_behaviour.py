"""nncore.sklearn against the installed scikit-learn where their behaviour
once differed (issue 13, section 3), over runs long enough to show it: warm
starts, partial_fit with set_params, zero-weight batches, float32 data,
dtypes and types of results, the optimizer's state; moving fitted models
between the two libraries; and the supported range of releases.

CI runs this file with scikit-learn 1.4.2 and 1.9.1 (.ci/run)."""
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn import neural_network as skn  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn_helpers import (HAS_WEIGHTS, RTOL, assert_same_model, make_data,  # noqa: E402
                             needs_weights)

from nncore import sklearn as nn_sklearn  # noqa: E402
from nncore.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # scikit-learn < 1.6 passes L-BFGS-B's iprint, which SciPy >= 1.15
    # deprecates: its own warning, with either library's classes.
    pytest.mark.filterwarnings("ignore:.*`iprint` options of the L-BFGS-B:DeprecationWarning"),
]

BASE = dict(hidden_layer_sizes=(9, 6), random_state=0, batch_size=10)


def both(cls, **params):
    sk_class = skn.MLPClassifier if cls is MLPClassifier else skn.MLPRegressor
    return cls(**params), sk_class(**params)


def call_both(ours, theirs, method, *args, **kwargs):
    """``method`` on both estimators; they must warn alike."""
    caught = []
    for model in (theirs, ours):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            getattr(model, method)(*args, **kwargs)
        caught.append([(w.category, str(w.message)) for w in record])
    assert caught[1] == caught[0]


def assert_same_state(ours, theirs, rtol):
    """The optimizer's state, where scikit-learn keeps it."""
    assert type(ours._optimizer).__name__ == type(theirs._optimizer).__name__
    names = ("ms", "vs") if hasattr(theirs._optimizer, "ms") else ("velocities",)
    for name in names:
        mine, ref = getattr(ours._optimizer, name), getattr(theirs._optimizer, name)
        assert len(mine) == len(ref)
        for a, b in zip(mine, ref):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)))
    assert getattr(ours._optimizer, "t", 0) == getattr(theirs._optimizer, "t", 0)
    assert ours._optimizer.learning_rate == pytest.approx(theirs._optimizer.learning_rate,
                                                          rel=1e-12)


# -- the supported range ---------------------------------------------------------

@pytest.mark.parametrize("version", ["1.3.2", "1.10.0", "1.10.dev0", "2.0.0", "0.24.2"])
def test_a_release_outside_the_range_is_named_with_the_range(version):
    with pytest.raises(ImportError,
                       match=rf"supports scikit-learn 1\.4 to 1\.9 .*{version} is installed"):
        nn_sklearn.check_version(version)


@pytest.mark.parametrize("version", ["1.4.0", "1.4.2", "1.6.1", "1.9.1", "1.9.0rc1"])
def test_the_supported_releases_are_accepted(version):
    nn_sklearn.check_version(version)


def test_a_changed_private_method_is_refused_with_the_range(monkeypatch):
    def _fit_stochastic(self, X, y, sample_weight, incremental, solver_state):
        pass
    monkeypatch.setattr(skn.MLPClassifier, "_fit_stochastic", _fit_stochastic)
    with pytest.raises(ImportError, match=r"supports scikit-learn 1\.4 to 1\.9 .*the installed "
                       r"scikit-learn \S+ has private methods these releases do not have: "
                       r"MLPClassifier\._fit_stochastic\('self', 'X', 'y', 'sample_weight', "
                       r"'incremental', 'solver_state'\)"):
        nn_sklearn._check_surface()


def test_importing_with_an_unsupported_release_says_so():
    code = ("import sklearn; sklearn.__version__ = '1.3.2'\n"
            "import nncore.sklearn")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode != 0
    assert "ImportError: nncore.sklearn supports scikit-learn 1.4 to 1.9" in run.stderr
    assert "scikit-learn 1.3.2 is installed" in run.stderr
    assert "pip install 'nncore[sklearn]'" not in run.stderr


# -- warm starts and early stopping ------------------------------------------------

@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_warm_start_with_early_stopping_that_never_improves(cls):
    X, y = make_data("multiclass" if cls is MLPClassifier else "regression", n=200)
    params = dict(BASE, solver="adam", warm_start=True, early_stopping=True,
                  validation_fraction=0.2, max_iter=30, n_iter_no_change=3)
    ours, theirs = both(cls, **params)
    call_both(ours, theirs, "fit", X, y)
    assert_same_model(ours, theirs, RTOL[np.float64])
    # A learning rate that makes every later epoch worse: scikit-learn keeps
    # the last epoch's weights (coefs_ is its best weights' arrays).
    best = theirs.best_validation_score_
    for model in (ours, theirs):
        model.set_params(learning_rate_init=0.5, max_iter=6)
    for _ in range(3):
        call_both(ours, theirs, "fit", X, y)
        assert theirs.best_validation_score_ == best
        assert_same_model(ours, theirs, RTOL[np.float64])


def test_a_diverging_warm_start_raises_as_scikit_learn_does():
    X, y = make_data("regression", n=200)
    params = dict(BASE, solver="sgd", warm_start=True, early_stopping=True, max_iter=5,
                  momentum=0.0)
    ours, theirs = both(MLPRegressor, **params)
    call_both(ours, theirs, "fit", X, y)
    errors = []
    for model in (theirs, ours):
        model.set_params(learning_rate_init=1e6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with pytest.raises(ValueError) as info:
                model.fit(X * 1e3, y * 1e3)
        errors.append(str(info.value))
    # 1.9: "Solver produced non-finite parameter weights"; 1.4: its scoring
    # of the NaN predictions, "Input contains NaN."
    assert errors[1] == errors[0]


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_many_warm_starts(cls, solver):
    X, y = make_data("multiclass" if cls is MLPClassifier else "regression", n=150)
    ours, theirs = both(cls, **dict(BASE, solver=solver, warm_start=True, max_iter=15))
    for _ in range(5):
        call_both(ours, theirs, "fit", X, y)
    # L-BFGS-B's line searches amplify the last bits in which the core's
    # gradient sums differ from NumPy's: measured 4.4e-8 after 75 iterations.
    assert_same_model(ours, theirs, 1e-6 if solver == "lbfgs" else RTOL[np.float64])
    if solver != "lbfgs":
        assert_same_state(ours, theirs, RTOL[np.float64])


# -- partial_fit and set_params --------------------------------------------------------

@pytest.mark.parametrize("changes", [
    dict(momentum=0.3, nesterovs_momentum=False, learning_rate_init=0.05),
    dict(beta_1=0.5, beta_2=0.9, epsilon=1e-4, learning_rate_init=0.05),
    dict(solver="adam"),
    dict(solver="sgd"),
    dict(alpha=0.1),
], ids=["sgd options", "adam options", "to adam", "to sgd", "alpha"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_set_params_between_partial_fits(solver, changes):
    # scikit-learn's optimizer keeps the solver and the hyperparameters it was
    # built with; alpha, read at every step, changes at once.
    X, y = make_data("multiclass", n=150)
    ours, theirs = both(MLPClassifier, **dict(BASE, solver=solver))
    for step in range(8):
        if step == 3:
            ours.set_params(**changes)
            theirs.set_params(**changes)
        part = slice(50 * (step % 3), 50 * (step % 3) + 50)
        call_both(ours, theirs, "partial_fit", X[part], y[part], classes=np.arange(3))
    assert_same_model(ours, theirs, RTOL[np.float64])
    assert_same_state(ours, theirs, RTOL[np.float64])


# -- sample weights that sum to zero --------------------------------------------------

@needs_weights
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_batch_of_zero_weights_raises_after_the_steps_before_it(solver):
    X, y = make_data("regression", n=60)
    sw = np.ones(60)
    sw[30:40] = 0
    params = dict(BASE, solver=solver, shuffle=False, max_iter=3)
    ours, theirs = both(MLPRegressor, **params)
    for model in (ours, theirs):
        with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
            model.fit(X, y, sample_weight=sw)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert ours.loss_curve_ == theirs.loss_curve_ == []


@needs_weights
@pytest.mark.parametrize("params", [dict(solver="adam", early_stopping=True),
                                    dict(solver="sgd"), dict(solver="lbfgs")],
                         ids=["early stopping", "sgd", "lbfgs"])
@pytest.mark.parametrize("n_nonzero", [0, 3])
def test_weights_that_are_mostly_zero_fail_as_in_scikit_learn(params, n_nonzero):
    # All zero: scikit-learn's validation refuses them; a few non-zero: every
    # batch without one raises ZeroDivisionError, as scikit-learn's does.
    X, y = make_data("regression", n=60)
    sw = np.zeros(60)
    sw[:n_nonzero] = 1
    ours, theirs = both(MLPRegressor, **dict(BASE, max_iter=3, **params))
    try:
        theirs.fit(X, y, sample_weight=sw)
    except (ValueError, ZeroDivisionError) as exc:
        expected = exc
    else:
        expected = None
    if expected is None:
        ours.fit(X, y, sample_weight=sw)
        assert_same_model(ours, theirs, RTOL[np.float64])
    else:
        with pytest.raises(type(expected)) as info:
            ours.fit(X, y, sample_weight=sw)
        assert str(info.value) == str(expected)


# -- dtypes -------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_float32_lbfgs_follows_the_installed_scipy(cls):
    X, y = make_data("multiclass" if cls is MLPClassifier else "regression",
                     np.float32)
    if cls is MLPRegressor:
        y = y.astype(np.float32)
    ours, theirs = both(cls, **dict(BASE, solver="lbfgs", max_iter=20))
    call_both(ours, theirs, "fit", X, y)
    assert_same_model(ours, theirs, RTOL[np.float32])


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_predictions_have_scikit_learns_dtype(cls, solver):
    X, y = make_data("multiclass" if cls is MLPClassifier else "regression")
    ours, theirs = both(cls, **dict(BASE, solver=solver, max_iter=5))
    ours.fit(X.astype(np.float32), y)
    theirs.fit(X.astype(np.float32), y)
    for data in (X, X.astype(np.float32), np.round(X * 10).astype(np.int64),
                 np.round(X * 10).astype(np.int8)):
        method = "predict_proba" if cls is MLPClassifier else "predict"
        mine, ref = getattr(ours, method)(data), getattr(theirs, method)(data)
        assert mine.dtype == ref.dtype
        np.testing.assert_allclose(mine, ref, rtol=RTOL[np.float32],
                                   atol=RTOL[np.float32] * np.max(np.abs(ref)))


@pytest.mark.parametrize("target", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_float32_regression_keeps_the_targets_dtype(solver, target):
    # float32 X with float64 (or integer) targets: scikit-learn's gradients
    # and optimizer state are float64, its coefficients float32.
    X, y = make_data("regression", np.float32, n=150)
    y = (y * 3).astype(target)
    ours, theirs = both(MLPRegressor, **dict(BASE, solver=solver, max_iter=20))
    call_both(ours, theirs, "fit", X, y)
    assert ours.coefs_[0].dtype == np.float32
    assert_same_model(ours, theirs, RTOL[np.float32])
    assert_same_state(ours, theirs, 1e-2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_losses_have_scikit_learns_types(solver, dtype):
    X, y = make_data("multiclass", dtype)
    ours, theirs = both(MLPClassifier, **dict(BASE, solver=solver, max_iter=3))
    call_both(ours, theirs, "fit", X, y)
    assert type(ours.loss_) is type(theirs.loss_)
    if solver != "lbfgs":
        assert [type(v) for v in ours.loss_curve_] == [type(v) for v in theirs.loss_curve_]


# -- the optimizer's state and pickles -------------------------------------------------

@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_pickles_continue_on_either_side(solver):
    X, y = make_data("multiclass", n=150)
    ours, theirs = both(MLPClassifier, **dict(BASE, solver=solver, max_iter=5))
    call_both(ours, theirs, "fit", X, y)
    assert_same_state(ours, theirs, RTOL[np.float64])
    # nncore's pickle, continued by scikit-learn (through to_sklearn), and
    # scikit-learn's pickle continued by nncore.
    theirs_again = pickle.loads(pickle.dumps(ours)).to_sklearn()
    ours_again = MLPClassifier.from_sklearn(pickle.loads(pickle.dumps(theirs)))
    for model in (ours, theirs, ours_again, theirs_again):
        for _ in range(3):
            model.partial_fit(X, y)
    for model in (ours_again, theirs_again):
        assert_same_model(model, theirs, RTOL[np.float64])
        assert_same_state(model, theirs, RTOL[np.float64])
    assert_same_model(ours, theirs, RTOL[np.float64])


# -- moving models between the libraries ----------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_to_and_from_scikit_learn(cls, solver, dtype):
    X, y = make_data("multiclass" if cls is MLPClassifier else "regression", dtype,
                     n=150)
    params = dict(BASE, solver=solver, max_iter=8, warm_start=True)
    ours, theirs = both(cls, **params)
    call_both(ours, theirs, "fit", X, y)
    to_sk = ours.to_sklearn()
    from_sk = cls.from_sklearn(theirs)
    assert type(to_sk) is type(theirs) and type(from_sk) is cls
    assert to_sk.get_params() == ours.get_params()
    method = "predict_proba" if cls is MLPClassifier else "predict"
    for a, b in ((to_sk, ours), (from_sk, theirs)):
        np.testing.assert_allclose(getattr(a, method)(X), getattr(b, method)(X),
                                   rtol=1e-12 if dtype == np.float64 else 1e-6)
    # Continued training: each copy as the library it came from.
    for model in (ours, theirs, to_sk, from_sk):
        model.fit(X, y)
    assert_same_model(from_sk, theirs, RTOL[dtype])
    assert_same_model(to_sk, ours, RTOL[dtype])
    assert_same_model(ours, theirs, RTOL[dtype])


def test_conversion_copies_and_checks_its_argument():
    X, y = make_data("multiclass")
    theirs = skn.MLPClassifier(**dict(BASE, max_iter=3)).fit(X, y)
    ours = MLPClassifier.from_sklearn(theirs)
    before = theirs.coefs_[0].copy()
    ours.coefs_[0][...] = 0
    np.testing.assert_array_equal(theirs.coefs_[0], before)
    with pytest.raises(TypeError, match=r"estimator: expected a fitted "
                       r"sklearn\.neural_network\.MLPRegressor, got MLPClassifier"):
        MLPRegressor.from_sklearn(theirs)
    with pytest.raises(NotFittedError):
        MLPClassifier.from_sklearn(skn.MLPClassifier())
    with pytest.raises(NotFittedError):
        MLPRegressor().to_sklearn()


def test_weights_flag_matches_the_release():
    assert nn_sklearn._WEIGHTED == HAS_WEIGHTS


def outcome(model, X, y):
    """The error (type and message) or the warnings of ``model.fit(X, y)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X, y)
        except (ValueError, AttributeError) as exc:
            return type(exc), str(exc)
    return [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_a_tiny_validation_set_is_handled_as_by_the_release(cls):
    # scikit-learn 1.7 on refuses a validation set of one sample. 1.4 splits
    # off one sample; its regressor's R^2 of one sample is NaN, so no epoch
    # is ever best and its fit ends in an AttributeError (_best_coefs).
    X, y = make_data("binary" if cls is MLPClassifier else "regression", n=30)
    params = dict(BASE, solver="adam", early_stopping=True, validation_fraction=0.03,
                  max_iter=4)
    ours, theirs = both(cls, **params)
    expected = outcome(theirs, X, y)
    assert outcome(ours, X, y) == expected
    if isinstance(expected, list):
        assert_same_model(ours, theirs, RTOL[np.float64])
