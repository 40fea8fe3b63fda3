/* SPDX-License-Identifier: MIT
 *
 * The kernels for x86-64 CPUs with AVX2 and FMA, where the compiler can be
 * told the target in the source (GCC, Clang); elsewhere an empty table
 * (name NULL: not compiled). See _kernels.h.
 */
#include "_kernels.h"
#if (defined(__x86_64__) || defined(__amd64__)) && (defined(__GNUC__) || defined(__clang__))
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#define NN_TABLE nn_kernels_avx2
#define NN_TABLE_NAME "avx2"
#include "_kernels_impl.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
const nn_kernels nn_kernels_avx2 = {NULL};
#endif
