# SPDX-License-Identifier: MIT
"""Small data sets that ship with nncore (see nncore/data/README.md for sources)."""
from __future__ import annotations

import gzip
from importlib import resources

import numpy as np
import numpy.typing as npt


def load_digits() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The UCI handwritten digits: 1797 images of 8x8 pixels, 10 classes.

    Returns
    -------
    X : ndarray of float64, shape (1797, 64)
        Pixel intensities scaled from 0..16 to [0, 1].
    y : ndarray of int64, shape (1797,)
        The digit shown, 0 to 9.

    Notes
    -----
    E. Alpaydin, C. Kaynak (1998), UCI Machine Learning Repository,
    DOI 10.24432/C50P49, CC BY 4.0.

    Examples
    --------
    >>> from nncore.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, y.shape
    ((1797, 64), (1797,))
    >>> float(X.min()), float(X.max()), sorted(set(y.tolist())) == list(range(10))
    (0.0, 1.0, True)
    """
    path = resources.files("nncore") / "data" / "digits.csv.gz"
    with path.open("rb") as raw, gzip.open(raw, "rt") as text:
        data = np.loadtxt(text, delimiter=",", dtype=np.int64)
    return data[:, :-1] / 16.0, data[:, -1]
