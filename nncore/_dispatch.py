# SPDX-License-Identifier: MIT
"""Choose the C loops built for the widest instruction set the CPU runs.

The compiled core (``nncore._core``) is one module; its innermost loops are
compiled once per instruction set into tables of function pointers (see
setup.py and pyx/_kernels.h). At import the best table this CPU and OS
support is selected; ``NNCORE_SIMD`` set to ``baseline``, ``avx2`` or
``avx512`` forces one (a ``RuntimeError`` names the reason if the forced
variant cannot run here). ``use`` switches for the tests, which run every
variant the CPU has.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from . import _core

# Widest first; each entry: variant name and the CPU features it needs, in
# NumPy's names (NumPy's runtime detection also checks the OS saves the
# registers, which reading cpuinfo flags would not).
VARIANTS = (
    ("avx512", ("AVX512F", "AVX512VL", "AVX512BW", "AVX512DQ", "AVX2", "FMA3")),
    ("avx2", ("AVX2", "FMA3")),
    ("baseline", ()),
)


def _cpu_features() -> dict[str, bool]:
    # NumPy ships no stubs for these private modules (and the second import
    # binds the name again: a no-redef error to mypy).
    try:
        from numpy._core._multiarray_umath import (  # type: ignore[import-not-found]
            __cpu_features__)
    except ImportError:  # NumPy < 2
        try:
            from numpy.core._multiarray_umath import (  # type: ignore
                __cpu_features__)
        except ImportError:
            return {}
    return cast("dict[str, bool]", __cpu_features__)


def supported_variants() -> list[str]:
    """Variants that were compiled in and that this CPU runs, widest first."""
    features = _cpu_features()
    compiled = set(_core._variants())
    return [name for name, needs in VARIANTS
            if name in compiled and all(features.get(flag, False) for flag in needs)]


def select(name: str | None = None) -> str:
    """Make variant ``name`` (default: NNCORE_SIMD, else the widest supported) the one in use."""
    if name is None:
        name = os.environ.get("NNCORE_SIMD", "").strip().lower() or None
    available = supported_variants()
    if name is None:
        name = available[0]
    elif name not in available:
        known = [v for v, _ in VARIANTS]
        if name not in known:
            raise RuntimeError(f"NNCORE_SIMD={name!r} is not one of {known}")
        raise RuntimeError(f"NNCORE_SIMD={name!r} is not built or not supported by "
                           f"this CPU; available: {available}")
    _core._select(name)
    return name


def selected() -> str:
    """The variant in use."""
    return _core._selected()


@contextmanager
def use(name: str) -> Iterator[None]:
    """Run the block on variant ``name``, then go back (tests: no other thread may be in the core)."""
    before = selected()
    select(name)
    try:
        yield
    finally:
        _core._select(before)
