# SPDX-License-Identifier: MIT
"""Choose the compiled core built for the widest instruction set the CPU runs.

The kernels are compiled once per instruction set (see setup.py). At import
the best variant this CPU and OS support is chosen; ``NNCORE_SIMD`` set to
``baseline``, ``avx2`` or ``avx512`` forces one (a ``RuntimeError`` names the
reason if the forced variant cannot run here).
"""
import importlib
import os

# Widest first; each entry: variant name and the CPU features it needs, in
# NumPy's names (NumPy's runtime detection also checks the OS saves the
# registers, which reading cpuinfo flags would not).
VARIANTS = (
    ("avx512", ("AVX512F", "AVX512VL", "AVX512BW", "AVX512DQ", "AVX2", "FMA3")),
    ("avx2", ("AVX2", "FMA3")),
    ("baseline", ()),
)


def _cpu_features():
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy < 2
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            return {}
    return __cpu_features__


def supported_variants():
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


def load(name=None):
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
    return importlib.import_module(f"nncore._core_{name}")
