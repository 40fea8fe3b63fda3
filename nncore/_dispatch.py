# SPDX-License-Identifier: MIT
"""Choose the compiled core built for the widest instruction set the CPU runs.

The kernels are compiled once per instruction set (see setup.py). At import
the best variant this CPU and OS support is chosen; ``NNCORE_SIMD`` set to
``baseline``, ``avx2`` or ``avx512`` forces one (a ``RuntimeError`` names the
reason if the forced variant cannot run here).
"""
from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import numpy.typing as npt

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
    """Names of the compiled variants that are built and run on this CPU, widest first."""
    features = _cpu_features()
    names = []
    for name, needs in VARIANTS:
        if not all(features.get(flag, False) for flag in needs):
            continue
        try:
            importlib.import_module(f"nncore._core_{name}")
        except ImportError:
            continue
        names.append(name)
    return names


def load(name: str | None = None) -> Core:
    """Import the compiled core ``name`` (default: NNCORE_SIMD, else the widest supported)."""
    if name is None:
        name = os.environ.get("NNCORE_SIMD", "").strip().lower() or None
    available = supported_variants()
    if name is None:
        if not available:
            raise ImportError("no compiled nncore core found; was the package built?")
        name = available[0]
    elif name not in available:
        known = [v for v, _ in VARIANTS]
        if name not in known:
            raise RuntimeError(f"NNCORE_SIMD={name!r} is not one of {known}")
        raise RuntimeError(f"NNCORE_SIMD={name!r} is not built or not supported by "
                           f"this CPU; available: {available}")
    # import_module's ModuleType passes as Core (mypy reads a module's
    # attributes as Any); the stubs are checked against Core below.
    return importlib.import_module(f"nncore._core_{name}")


# -- the typed contract of a compiled core -------------------------------------
#
# The variant is chosen at run time, so ``load`` cannot return a statically
# known module. It returns ``Core``: the part of pyx/_core.pyx's API that the
# Python layer calls, as a Protocol. Each variant's own stub
# (nncore/_core_<variant>.pyi, identical copies) describes the whole module,
# test shims included, for code that imports a variant by name. The block
# below makes mypy check that every stub module satisfies this Protocol, and
# tests/test_typing.py runs stubtest to check each stub against its compiled
# module, so the three descriptions cannot drift apart. The stubs are copies,
# not re-exports of one, because each variant's Model is a class of its own at
# run time. CoreModel declares the constructor so that ``_core.Model(...)``
# checks its arguments and ``type(model) is _core.Model`` narrows. (The alternatives:
# ``-> types.ModuleType`` makes every use of the core ``Any``; importing one
# variant's stub under TYPE_CHECKING in each caller would type the callers by
# one variant and repeat that trick in every module that uses the core.)

_Floats = npt.NDArray[np.floating[Any]]
_Layout = npt.NDArray[np.intp]


class CoreModel(Protocol):
    """A compiled network (``Model``): the lean inference path."""

    def __init__(self, params: _Floats, layout: _Layout, hidden: int,
                 output: int) -> None: ...
    def forward(self, X: object, path: int = ...) -> _Floats | None: ...


class Core(Protocol):
    """What nncore calls in a compiled core (see pyx/_core.pyx for the contracts)."""

    @property
    def __name__(self) -> str: ...
    @property
    def Model(self) -> type[CoreModel]: ...
    def _all_finite(self, values: _Floats) -> bool: ...
    def _workspace_size(self, layout: _Layout, batch: int) -> int: ...
    def _loss_grad(self, params: _Floats, layout: _Layout, hidden: int, output: int,
                   X: _Floats, T: _Floats, grad: _Floats, want_grad: bool,
                   work: _Floats, batch: int) -> float: ...
    def _train_epoch(self, params: _Floats, layout: _Layout, hidden: int, output: int,
                     X: _Floats, T: _Floats, order: _Layout, batch: int, lr: float,
                     work: _Floats, backup: _Floats,
                     path: int = ...) -> tuple[float, int, int]: ...
    def _sk_codes(self) -> dict[str, int]: ...
    def _sk_epoch(self, params: _Floats, layout: _Layout, hidden: int, output: int,
                  loss_kind: int, X: _Floats, x_data: _Floats, x_indices: _Layout,
                  x_indptr: _Layout, Y: _Floats, sw: _Floats, order: _Layout,
                  batch: int, solver: int, alpha: float, lr: float, momentum: float,
                  beta1: float, beta2: float, eps: float, adam_t: _Layout,
                  s1: _Floats, s2: _Floats) -> float: ...
    def _sk_loss_grad(self, params: _Floats, layout: _Layout, hidden: int, output: int,
                      loss_kind: int, X: _Floats, x_data: _Floats, x_indices: _Layout,
                      x_indptr: _Layout, Y: _Floats, sw: _Floats, alpha: float,
                      grad: _Floats, batch: int) -> float: ...
    def _sk_forward(self, params: _Floats, layout: _Layout, hidden: int, output: int,
                    X: _Floats, x_data: _Floats, x_indices: _Layout, x_indptr: _Layout,
                    out: _Floats) -> None: ...


if TYPE_CHECKING:
    from . import _core_avx2, _core_avx512, _core_baseline

    # An error here names the variant whose stub does not provide Core.
    _baseline: Core = _core_baseline
    _avx2: Core = _core_avx2
    _avx512: Core = _core_avx512
