# SPDX-License-Identifier: MIT
"""Build the compiled core: one extension module, nncore._core.

Cython runs once, on pyx/_core.pyx. The innermost loops are C, written once
over float and double (pyx/_kernels_impl.h) and compiled once per
instruction set (pyx/_kernels_isa.h: baseline for any CPU of the platform,
AVX2 + FMA, AVX-512 F/VL/BW/DQ), each setting its target with a pragma, so
that the whole module is built with one set of flags; a one-line C file per
instruction set, written under build/kernels, selects which. nncore._dispatch picks the loops at import from what the CPU
supports, or from NNCORE_SIMD. Never -march=native (wheels must run on any
machine of the platform), never -ffast-math (it would break the NaN checks
and the equivalence with the reference). -fopenmp-simd enables only the "omp
simd" pragmas of the C loops; it links no OpenMP runtime. -fno-trapping-math
lets the compiler evaluate both sides of a floating-point select (the
sigmoid's sign branch, the exp's range clamp), which is what lets those loops
vectorise before AVX-512's masks; the results and NaN/inf propagation are
unchanged (nncore never enables FP traps). -fno-math-errno: sqrt becomes one
instruction and its loops vectorise (nothing reads errno; results are
unchanged, unlike -ffast-math). No debug information (-g0): the wheel ships
stripped code.

NNCORE_CYTHON_DEBUG=1 turns bounds, wraparound and initialisation checks on
and C division off, for the debug run of the test suite. NNCORE_SANITIZE=1
builds with AddressSanitizer and UndefinedBehaviorSanitizer (GCC or Clang;
any error aborts), for CI: load the runtime with
LD_PRELOAD="$(gcc -print-file-name=libasan.so)" when running the tests.
"""
import os
import sys

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

if sys.platform == "win32":
    # MSVC: C11 for restrict and _Pragma; its "omp simd" is ignored (the
    # loops are still auto-vectorised where MSVC can). The AVX2 and AVX-512
    # files compile to empty tables there (no target pragma): baseline only.
    compile_flags = ["/O2", "/std:c11"]
else:
    compile_flags = ["-O3", "-g0", "-fopenmp-simd", "-fno-trapping-math",
                     "-fno-math-errno", "-fno-semantic-interposition"]

sanitize_flags = []
if SANITIZE:
    if sys.platform == "win32":
        sys.exit("NNCORE_SANITIZE needs GCC or Clang")
    sanitize_flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                      "-fno-omit-frame-pointer", "-g"]



def kernel_sources():
    """One C file per instruction set under build/kernels, each compiling
    pyx/_kernels_isa.h for it (written only when its text changes, so an
    unchanged build stays up to date)."""
    folder = os.path.join("build", "kernels")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for isa in ("baseline", "avx2", "avx512"):
        path = os.path.join(folder, f"_kernels_{isa}.c")
        text = (f"/* Written by setup.py: pyx/_kernels_isa.h for {isa}. */\n"
                f"#define NN_ISA_{isa.upper()} 1\n#include \"_kernels_isa.h\"\n")
        if not os.path.exists(path) or open(path).read() != text:
            with open(path, "w") as stream:
                stream.write(text)
        paths.append(path)
    return paths


KERNELS = kernel_sources()
ext = Extension(
    "nncore._core",
    sources=["pyx/_core.pyx"] + KERNELS,
    include_dirs=["pyx", numpy.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION")],
    depends=["pyx/_defs.pxd", "pyx/_activation.pxd", "pyx/_blas.pxd",
             "pyx/_kernels.pxd", "pyx/_kernels.h", "pyx/_kernels_impl.h",
             "pyx/_kernels_isa.h", "pyx/_exp.h"],
    extra_compile_args=compile_flags + sanitize_flags,
    extra_link_args=sanitize_flags,
)

setup(ext_modules=cythonize([ext], build_dir=os.path.join("build", "cython"),
                            include_path=["pyx"], compiler_directives=directives,
                            quiet=True))
