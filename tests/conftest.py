# SPDX-License-Identifier: MIT
"""Shared fixtures: seeded RNG, dtypes, every compiled variant."""
import numpy as np
import pytest
from helpers import DTYPES

from nncore import _dispatch


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=DTYPES, ids=lambda d: np.dtype(d).name)
def dtype(request):
    return request.param


@pytest.fixture(params=_dispatch.supported_variants())
def simd(request, monkeypatch):
    """Every compiled variant this CPU runs: the Network module is pointed at it."""
    from nncore import network
    monkeypatch.setattr(network, "_core", _dispatch.load(request.param))
    return request.param
