/* SPDX-License-Identifier: MIT
 *
 * Innermost loops of the per-sample kernels, written in C so that a reduction
 * can be vectorised without -ffast-math: "omp simd reduction" (enabled by
 * -fopenmp-simd, which pulls in no OpenMP runtime) lets the compiler keep one
 * partial sum per vector lane, while every other IEEE rule stays in force.
 * The file is compiled into each SIMD variant of the extension with that
 * variant's -m flags, so the same source gives SSE2, AVX2 and AVX-512 code.
 */
#ifndef NNCORE_SIMD_H
#define NNCORE_SIMD_H

#include <stddef.h>

#define NNCORE_DEFINE_LOOPS(T, SUFFIX)                                         \
/* sum_i x[i] * y[i] */                                                       \
static inline T nn_dot_##SUFFIX(Py_ssize_t n, const T *restrict x,            \
                                const T *restrict y)                          \
{                                                                             \
    T s = 0;                                                                  \
    _Pragma("omp simd reduction(+:s)")                                        \
    for (Py_ssize_t i = 0; i < n; ++i)                                        \
        s += x[i] * y[i];                                                     \
    return s;                                                                 \
}                                                                             \
/* y[i] += c * x[i] */                                                        \
static inline void nn_axpy_##SUFFIX(Py_ssize_t n, T c, const T *restrict x,   \
                                    T *restrict y)                            \
{                                                                             \
    _Pragma("omp simd")                                                       \
    for (Py_ssize_t i = 0; i < n; ++i)                                        \
        y[i] += c * x[i];                                                     \
}                                                                             \
/* Fused backward step and update of one weight row w of unit j:             \
 * back[i] += d * w[i] (error for the layer below, from the old weight),      \
 * then w[i] -= step * a[i], while w[i] is still in a register. */            \
static inline void nn_backprop_row_##SUFFIX(Py_ssize_t n, T d, T step,        \
                                            const T *restrict a,              \
                                            T *restrict w,                    \
                                            T *restrict back)                 \
{                                                                             \
    _Pragma("omp simd")                                                       \
    for (Py_ssize_t i = 0; i < n; ++i) {                                      \
        T old = w[i];                                                         \
        back[i] += d * old;                                                   \
        w[i] = old - step * a[i];                                             \
    }                                                                         \
}

NNCORE_DEFINE_LOOPS(float, f)
NNCORE_DEFINE_LOOPS(double, d)

#undef NNCORE_DEFINE_LOOPS

#endif
