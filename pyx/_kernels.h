/* SPDX-License-Identifier: MIT
 *
 * The contract between the Cython core and its C loops.
 *
 * The loops (_kernels_impl.h) are written once, over a type T, and compiled
 * once per instruction set into a table of function pointers: nn_kernels_
 * baseline (any CPU of the platform), nn_kernels_avx2 (AVX2 + FMA) and
 * nn_kernels_avx512 (AVX-512 F/VL/BW/DQ), each a compilation of
 * _kernels_isa.h that sets its target with a pragma (so one build, one
 * extension module, and no per-file compiler flags). The Cython core calls the loops through
 * nn_active, chosen at import by nncore._dispatch (nn_select). Each entry is
 * a whole row or layer of work, so an indirect call is paid per layer, not
 * per weight. The enums are the codes shared by C, Cython (_defs.pxd) and
 * Python (nncore._core._codes()).
 */
#ifndef NNCORE_KERNELS_H
#define NNCORE_KERNELS_H

#include <Python.h>
#include <stddef.h>
#include <string.h>

/* Hidden-layer activations. */
enum nn_activation { ACT_IDENTITY = 0, ACT_SIGMOID = 1, ACT_TANH = 2, ACT_RELU = 3 };

/* Solver steps (Network.fit's options, nncore.sklearn's solvers). */
enum nn_solver {
    SOLVER_GRADIENT = 0,    /* grad := the batch gradient, params unchanged (lbfgs) */
    SOLVER_SGD = 1,         /* v := mu v - lr g; W += v */
    SOLVER_NESTEROV = 2,    /* v := mu v - lr g; W += mu v - lr g */
    SOLVER_ADAM = 3         /* m, v moments; W += -lr_t m / (sqrt(v) + eps) */
};

/* A solver's scalars for one step, in the working type (see nn_solver). */
#define NN_DECLARE_STEP(T, SUFFIX)                                             \
typedef struct {                                                              \
    int solver;                                                               \
    T alpha;      /* L2 penalty */                                            \
    T dd;         /* the divisor of the gradient: the batch's weight sum */   \
    T r;          /* the step's rate (for Adam already bias-corrected) */     \
    T mu;         /* momentum */                                              \
    T b1, b2;     /* Adam's decay rates, */                                   \
    T c1, c2;     /* and 1 - b1, 1 - b2 */                                    \
    T e;          /* Adam's epsilon */                                        \
} nn_step_##SUFFIX;
NN_DECLARE_STEP(float, f)
NN_DECLARE_STEP(double, d)
#undef NN_DECLARE_STEP

/* One table per instruction set; the entries of one dtype, then the other.
 * Sizes: m rows (units) of n inputs, row stride ld (bias at column n). */
#define NN_DECLARE_ENTRIES(T, S)                                               \
    /* 1 if every x[i] is finite */                                           \
    int (*all_finite_##S)(Py_ssize_t n, const T *x);                           \
    /* sum_i x[i] y[i] */                                                     \
    T (*dot_##S)(Py_ssize_t n, const T *x, const T *y);                        \
    /* y += c x */                                                            \
    void (*axpy_##S)(Py_ssize_t n, T c, const T *x, T *y);                     \
    /* Z[k] := f(Z[k] + b) for the rows x n matrix Z (b NULL: no bias), for  \
     * hidden activation kind: one call per layer of a batch */               \
    void (*activate_##S)(int kind, Py_ssize_t rows, Py_ssize_t n, const T *b, \
                         T *Z);                                                \
    /* x[k, i] *= f'(A[k, i]) from the activations A (rows x n); with        \
     * colsum != NULL also colsum[i] := sum_k of the new x[k, i] */           \
    void (*derivative_##S)(int kind, Py_ssize_t rows, Py_ssize_t n,           \
                           const T *A, T *x, T *colsum);                       \
    /* z := softmax(z); with t, returns the cross-entropy from the logits */  \
    double (*softmax_##S)(Py_ssize_t n, T *z, const T *t);                     \
    /* z := W x + b */                                                        \
    void (*rows_forward_##S)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,        \
                             const T *W, const T *x, T *z);                    \
    /* W[j] -= step[j] [x, 1]; with x_next, also z := W x_next + b (new W) */ \
    void (*rows_update_##S)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,         \
                            const T *step, const T *x, const T *x_next,        \
                            T *W, T *z);                                       \
    /* online SGD, one layer: back := W^T delta (old W), then                 \
     * W[j] -= lr delta[j] [a, 1] */                                          \
    void (*backprop_update_##S)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,     \
                                const T *delta, T lr, const T *a, T *W,        \
                                T *back);                                      \
    /* G[j] += alpha delta[j] [a, 1]; back != NULL: back := W^T delta */      \
    void (*accumulate_##S)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,          \
                           const T *delta, T alpha, const T *a, const T *W,    \
                           T *G, T *back);                                     \
    /* a solver's step on one layer for one sample, fused with               \
     * back := W^T delta (back NULL: first layer); returns ||W||^2 (old) */   \
    double (*solver_sample_##S)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,     \
                                const T *delta, const T *a, T *W, T *s1,       \
                                T *s2, T *back, const nn_step_##S *p);         \
    /* G := (G + alpha W) / dd (bias: G / dd), then the solver's step on W   \
     * (SOLVER_GRADIENT: none); returns ||W||^2 before the step */            \
    double (*solver_update_##S)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,     \
                                T *W, T *G, T *s1, T *s2,                      \
                                const nn_step_##S *p);

typedef struct {
    const char *name;    /* NULL: this instruction set was not compiled */
    NN_DECLARE_ENTRIES(float, f)
    NN_DECLARE_ENTRIES(double, d)
} nn_kernels;
#undef NN_DECLARE_ENTRIES

extern const nn_kernels nn_kernels_baseline;
extern const nn_kernels nn_kernels_avx2;
extern const nn_kernels nn_kernels_avx512;

/* The table in use (baseline until nn_select). */
extern const nn_kernels *nn_active;

/* Make the table called `name` the active one; 0 on success, -1 if it is
 * unknown or was not compiled. Not thread-safe: called at import, and by
 * the tests between calls. */
int nn_select(const char *name);

/* Subnormal numbers flushed to zero (inputs and results), for the current
 * thread, until nn_restore_fp. x86 handles subnormal operands in microcode,
 * some hundred cycles per vector instruction: Adam's and momentum's state for
 * a weight whose gradient stays 0 decays geometrically into that range, and
 * measured here (ReLU units, Adam, batch 1) 6% subnormal moments made a step
 * four times slower. What is lost is below 1e-38 (float32) or 1e-308
 * (float64), far under any weight's last bit. Elsewhere (arm64) a no-op. */
#if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64)
#include <xmmintrin.h>
static inline unsigned int nn_flush_subnormals(void)
{
    unsigned int old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u);     /* FTZ | DAZ */
    return old;
}
static inline void nn_restore_fp(unsigned int old) { _mm_setcsr(old); }
#else
static inline unsigned int nn_flush_subnormals(void) { return 0; }
static inline void nn_restore_fp(unsigned int old) { (void)old; }
#endif

#endif
