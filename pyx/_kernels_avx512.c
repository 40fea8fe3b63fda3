/* SPDX-License-Identifier: MIT
 *
 * The kernels for x86-64 CPUs with AVX-512 F/VL/BW/DQ, in 512-bit vectors
 * (GCC and Clang otherwise prefer 256-bit ones); elsewhere an empty table
 * (name NULL: not compiled). See _kernels.h.
 */
#include "_kernels.h"
#if (defined(__x86_64__) || defined(__amd64__)) && (defined(__GNUC__) || defined(__clang__))
#if defined(__clang__)
/* Clang has no per-function vector-width preference: its default width. */
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")
#endif
#define NN_TABLE nn_kernels_avx512
#define NN_TABLE_NAME "avx512"
#include "_kernels_impl.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const nn_kernels nn_kernels_avx512 = {NULL};
#endif
