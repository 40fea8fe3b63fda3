# SPDX-License-Identifier: MIT
"""Shared fixtures: seeded RNG, dtypes, every compiled variant."""
import os

import numpy as np
import pytest
from helpers import DTYPES

import nncore
from nncore import _dispatch

# One thread for every nncore call the tests make, child processes included
# (they inherit the variable): results are bit-for-bit reproducible only
# with one BLAS thread, and with more the thread count could change with the
# machine's load from one call to the next (nncore._threads). The tests of
# the threads option itself pass their counts explicitly.
os.environ["NNCORE_NUM_THREADS"] = "1"


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=DTYPES, ids=lambda d: np.dtype(d).name)
def dtype(request):
    return request.param


# NNCORE_SIMD, which forces a variant on import, also restricts the tests to
# it (CI's debug and sanitizer runs: their checks do not depend on the
# instruction set).
_VARIANTS = ([nncore.simd] if os.environ.get("NNCORE_SIMD")
             else _dispatch.supported_variants())


@pytest.fixture(params=_VARIANTS)
def simd(request):
    """Every variant of the compiled loops this CPU runs, in use for the test."""
    with _dispatch.use(request.param):
        yield request.param
