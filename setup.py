# SPDX-License-Identifier: MIT
"""Build the compiled core: pyx/_core.pyx, once per instruction set.

On x86-64 the same source is compiled three times, into nncore._core_baseline
(any x86-64), nncore._core_avx2 (AVX2 + FMA) and nncore._core_avx512
(AVX-512 F/VL/BW/DQ); nncore._dispatch picks one at import from what the CPU
supports, or from NNCORE_SIMD. Elsewhere only the baseline is built. Never
-march=native (wheels must run on any machine of the platform), never
-ffast-math (it would break the NaN checks and the equivalence with the
reference). -fopenmp-simd enables only the "omp simd" pragmas of _simd.h; it
links no OpenMP runtime. -fno-trapping-math lets the compiler evaluate both
sides of a floating-point select (the sigmoid's sign branch, the exp's range
clamp), which is what lets those loops vectorise before AVX-512's masks; the
results and NaN/inf propagation are unchanged (nncore never enables FP traps).

NNCORE_VARIANTS (comma-separated) restricts the build to those variants.
NNCORE_CYTHON_DEBUG=1 turns bounds, wraparound and initialisation checks on
and C division off, for the debug run of the test suite. NNCORE_SANITIZE=1
builds with AddressSanitizer and UndefinedBehaviorSanitizer (GCC or Clang;
any error aborts), for CI: load the runtime with
LD_PRELOAD="$(gcc -print-file-name=libasan.so)" when running the tests.
"""
import os
import sys
import sysconfig

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("NNCORE_CYTHON_DEBUG", "0") not in ("", "0")
SANITIZE = os.environ.get("NNCORE_SANITIZE", "0") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": False,
    "cdivision": not DEBUG,
    "embedsignature": True,
    # Not declared free-threading compatible: Model.forward lends its cached
    # work space under a flag that the GIL protects, and the tests that show
    # concurrent use is safe (tests/test_threads.py, test_reliability.py)
    # have only run with the GIL. A free-threaded build would need that flag
    # made atomic (or the cache dropped) and those tests run on 3.13t/3.14t.
    "freethreading_compatible": False,
}

# The target, not the build machine: cibuildwheel cross-builds (macOS x86_64
# on arm64) set it through _PYTHON_HOST_PLATFORM, which sysconfig honours.
TARGET = sysconfig.get_platform().lower()

if sys.platform == "win32":
    # MSVC: C11 for restrict and _Pragma; its "omp simd" is ignored (the
    # loops are still auto-vectorised where MSVC can), baseline only.
    common_flags = ["/O2", "/std:c11"]
    variants = {"baseline": []}
else:
    # -fno-math-errno: sqrt becomes one instruction and its loops vectorise
    # (nothing reads errno; results are unchanged, unlike -ffast-math).
    common_flags = ["-O3", "-fopenmp-simd", "-fno-trapping-math", "-fno-math-errno",
                    "-fno-semantic-interposition"]
    variants = {"baseline": []}
    if TARGET.endswith(("x86_64", "amd64")):
        variants["avx2"] = ["-mavx2", "-mfma"]
        variants["avx512"] = ["-mavx512f", "-mavx512vl", "-mavx512bw",
                              "-mavx512dq", "-mavx2", "-mfma",
                              "-mprefer-vector-width=512"]

# NNCORE_VARIANTS=baseline,avx512 builds only those (CI's debug and sanitizer
# builds: their checks do not depend on the instruction set, and one variant
# each keeps CI short).
only = [v for v in os.environ.get("NNCORE_VARIANTS", "").replace(" ", "").split(",") if v]
if only:
    unknown = sorted(set(only) - set(variants))
    if unknown:
        sys.exit(f"NNCORE_VARIANTS: {unknown} not among {sorted(variants)}")
    variants = {name: flags for name, flags in variants.items() if name in only}

sanitize_flags = []
if SANITIZE:
    if sys.platform == "win32":
        sys.exit("NNCORE_SANITIZE needs GCC or Clang")
    sanitize_flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                      "-fno-omit-frame-pointer", "-g"]

ext_modules = []
for name, flags in variants.items():
    ext = Extension(
        f"nncore._core_{name}",
        sources=["pyx/_core.pyx"],
        include_dirs=["pyx", numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION")],
        depends=["pyx/_defs.pxd", "pyx/_activation.pxd", "pyx/_blas.pxd",
                 "pyx/_simd.h"],
        extra_compile_args=common_flags + flags + sanitize_flags,
        extra_link_args=sanitize_flags,
    )
    # One build_dir per variant: the generated C files must not collide.
    ext_modules += cythonize(
        [ext],
        build_dir=os.path.join("build", "cython", name),
        include_path=["pyx"],
        compiler_directives=directives,
        quiet=True,
    )

# The variants are independent compilations: build them side by side.
setup(ext_modules=ext_modules,
      options={"build_ext": {"parallel": os.cpu_count() or 1}})
