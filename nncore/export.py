# SPDX-License-Identifier: MIT
"""Models that leave nncore: ONNX and PyTorch.

A ``Network`` converts itself (``Network.to_onnx``, ``Network.to_torch``,
``Network.from_torch``; ``nncore export`` on the command line). The
estimators of ``nncore.sklearn`` convert with skl2onnx, alone or inside a
pipeline, once `register_skl2onnx` has told skl2onnx about them. See
docs/deploy.md. Nothing here is imported by ``import nncore``, and onnx,
skl2onnx and PyTorch are imported only when used.
"""
from __future__ import annotations

__all__ = ["register_skl2onnx"]


def register_skl2onnx() -> None:
    """Teach skl2onnx to convert ``nncore.sklearn``'s MLPClassifier and MLPRegressor.

    After this call, ``skl2onnx.to_onnx(estimator, X)`` and
    ``skl2onnx.convert_sklearn`` convert nncore's estimators, and pipelines
    that hold them, as they convert scikit-learn's: the classifier gives
    ``label`` and ``probabilities`` (skl2onnx's options, such as
    ``{"zipmap": False}``, apply); the regressor gives ``variable`` of shape
    (N, n_outputs), with ``Exp`` at the output for ``loss="poisson"``. Only
    the fitted attributes scikit-learn's own estimators have are read. Calling
    it again does nothing new.

    Raises
    ------
    ImportError
        Without skl2onnx (``pip install skl2onnx``) or scikit-learn.

    Examples
    --------
    >>> import numpy as np, skl2onnx                           # doctest: +SKIP
    >>> from sklearn.pipeline import make_pipeline             # doctest: +SKIP
    >>> from sklearn.preprocessing import StandardScaler       # doctest: +SKIP
    >>> from nncore.sklearn import MLPClassifier               # doctest: +SKIP
    >>> from nncore.export import register_skl2onnx            # doctest: +SKIP
    >>> register_skl2onnx()                                    # doctest: +SKIP
    >>> X, y = np.random.default_rng(0).random((50, 3)), np.arange(50) % 2  # doctest: +SKIP
    >>> model = make_pipeline(StandardScaler(), MLPClassifier()).fit(X, y)  # doctest: +SKIP
    >>> onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})  # doctest: +SKIP
    """
    from . import _skl2onnx

    _skl2onnx.register()
