/* SPDX-License-Identifier: MIT
 *
 * The kernels of one instruction set and its table (see _kernels.h). The
 * build compiles this header once per instruction set, through a one-line C
 * file that setup.py writes under build/ and that defines which:
 *   NN_ISA_BASELINE  any CPU of the platform (x86-64: SSE2); also the table
 *                    in use until nn_select, and nn_select itself;
 *   NN_ISA_AVX2      x86-64 with AVX2 and FMA, where the compiler can be told
 *                    the target in the source (GCC, Clang); elsewhere an
 *                    empty table (name NULL: not compiled);
 *   NN_ISA_AVX512    x86-64 with AVX-512 F/VL/BW/DQ, in 512-bit vectors (GCC
 *                    and Clang otherwise prefer 256-bit ones); elsewhere empty.
 */
#if defined(NN_ISA_BASELINE)

#define NN_TABLE nn_kernels_baseline
#define NN_TABLE_NAME "baseline"
#include "_kernels_impl.h"

const nn_kernels *nn_active = &nn_kernels_baseline;

int nn_select(const char *name)
{
    const nn_kernels *const tables[] = {
        &nn_kernels_baseline, &nn_kernels_avx2, &nn_kernels_avx512};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); ++i) {
        if (tables[i]->name != NULL && strcmp(tables[i]->name, name) == 0) {
            nn_active = tables[i];
            return 0;
        }
    }
    return -1;
}

#elif defined(NN_ISA_AVX2)

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

#elif defined(NN_ISA_AVX512)

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

#else
#error "define NN_ISA_BASELINE, NN_ISA_AVX2 or NN_ISA_AVX512"
#endif
