"""Shared by the scikit-learn test files (test_sklearn*.py): the options
the installed scikit-learn has, the tolerances, the data, and the comparison
of two fitted models. Imported only after pytest.importorskip("sklearn")."""
import inspect

import numpy as np
import pytest
from sklearn import neural_network as skn

# Options that later scikit-learn releases added; on an older one the tests
# that need them are skipped (scikit-learn itself refuses them).
HAS_WEIGHTS = "sample_weight" in inspect.signature(skn.MLPClassifier.fit).parameters
HAS_POISSON = "loss" in skn.MLPRegressor().get_params()
needs_weights = pytest.mark.skipif(not HAS_WEIGHTS, reason="scikit-learn < 1.7: no sample_weight")

# float64: the bound. float32: scikit-learn and the core round
# differently (its float32 sums go through NumPy's pairwise sums, the core's
# through BLAS), and a few epochs amplify that.
RTOL = {np.float64: 1e-9, np.float32: 2e-3}


def make_data(task, dtype=np.float64, n=120, n_features=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, n_features)).astype(dtype)
    score = X @ rng.normal(size=(n_features, 3))
    if task == "binary":
        y = (score[:, 0] > 0).astype(int)
    elif task == "multiclass":
        y = np.argmax(score, axis=1)
    elif task == "multilabel":
        y = (score > 0).astype(int)
    elif task == "regression":
        y = score[:, 0] + 0.1 * np.sin(3 * score[:, 1])
    elif task == "multioutput":
        y = np.tanh(score[:, :2])
    elif task == "poisson":
        y = rng.poisson(np.exp(0.5 * score[:, 0])).astype(float)
    return X, y


def assert_same_model(ours, theirs, rtol):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert ours.n_layers_ == theirs.n_layers_
    assert ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_
    for mine, ref in zip(ours.coefs_ + ours.intercepts_,
                         theirs.coefs_ + theirs.intercepts_):
        assert mine.shape == ref.shape
        assert mine.dtype == ref.dtype
        scale = np.max(np.abs(ref))
        assert np.max(np.abs(mine - ref)) <= rtol * scale
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=rtol)
    if getattr(theirs, "loss_curve_", None) is not None:
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
    if getattr(theirs, "validation_scores_", None) is not None:
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_,
                                   rtol=rtol)
