/* SPDX-License-Identifier: MIT
 *
 * The C loops of the core, written once over a type T (float and double) and
 * compiled once per instruction set: _kernels_isa.h sets the target
 * and includes this file, which ends in that instruction set's table
 * (NN_TABLE, NN_TABLE_NAME; see _kernels.h). Everything here is static, so
 * the copies do not collide. Reductions are vectorised without -ffast-math:
 * "omp simd reduction" (enabled by -fopenmp-simd, which pulls in no OpenMP
 * runtime) lets the compiler keep one partial sum per vector lane, while
 * every other IEEE rule stays in force.
 */
#include "_kernels.h"
#include "_exp.h"
#include <math.h>
#include <stddef.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(restrict)
#define restrict __restrict
#endif

#define NNCORE_DEFINE_ACTIVATIONS(T, SUFFIX)                                   \
/* z[j] := sigmoid(z[j]), in T's own arithmetic */                            \
static inline void nn_sigmoid_##SUFFIX(Py_ssize_t n, T *restrict z)           \
{                                                                             \
    _Pragma("omp simd")                                                       \
    for (Py_ssize_t j = 0; j < n; ++j)                                        \
        z[j] = nn_sigmoid_##T(z[j]);                                          \
}                                                                             \
/* z[j] := sigmoid(z[j] + b[j]) */                                            \
static inline void nn_sigmoid_bias_##SUFFIX(Py_ssize_t n,                     \
                                            const T *restrict b,              \
                                            T *restrict z)                    \
{                                                                             \
    _Pragma("omp simd")                                                       \
    for (Py_ssize_t j = 0; j < n; ++j)                                        \
        z[j] = nn_sigmoid_##T(z[j] + b[j]);                                   \
}                                                                             \
/* z := softmax(z), max-shifted so that exp sees only arguments <= 0, each   \
 * exp taken once. With t != NULL returns the cross-entropy                   \
 * -sum_j t[j] log softmax(z)[j] = sum(t) log(total) - sum_j t[j] (z[j] - max)\
 * from the logits, in double, with double exps (exact and finite for any     \
 * finite z); without t the exps are taken in T and 0 is returned. */         \
static inline double nn_softmax_##SUFFIX(Py_ssize_t n, T *restrict z,         \
                                         const T *restrict t)                 \
{                                                                             \
    T zmax = z[0];                                                            \
    for (Py_ssize_t j = 1; j < n; ++j)                                        \
        zmax = z[j] > zmax ? z[j] : zmax;                                     \
    double total = 0, tz = 0, tsum = 0;                                       \
    if (t != NULL) {                                                          \
        _Pragma("omp simd reduction(+:total,tz,tsum)")                        \
        for (Py_ssize_t j = 0; j < n; ++j) {                                  \
            double d = (double)z[j] - (double)zmax;                           \
            double e = nn_exp_nonpositive(d);                                 \
            tz += (double)t[j] * d;                                           \
            tsum += (double)t[j];                                             \
            z[j] = (T)e;                                                      \
            total += e;                                                       \
        }                                                                     \
    } else {                                                                  \
        _Pragma("omp simd reduction(+:total)")                                \
        for (Py_ssize_t j = 0; j < n; ++j) {                                  \
            T e = nn_exp_nonpositive_##T(z[j] - zmax);                        \
            z[j] = e;                                                         \
            total += e;                                                       \
        }                                                                     \
    }                                                                         \
    _Pragma("omp simd")                                                       \
    for (Py_ssize_t j = 0; j < n; ++j)                                        \
        z[j] = (T)(z[j] / total);                                             \
    return t != NULL ? tsum * log(total) - tz : 0.0;                          \
}

#define NNCORE_DEFINE_LOOPS(T, SUFFIX)                                         \
/* 1 if every x[i] is finite: x * 0 is 0 for finite x and NaN otherwise. */   \
static inline int nn_all_finite_##SUFFIX(Py_ssize_t n, const T *restrict x)   \
{                                                                             \
    T s = 0;                                                                  \
    _Pragma("omp simd reduction(+:s)")                                        \
    for (Py_ssize_t i = 0; i < n; ++i)                                        \
        s += x[i] * 0;                                                        \
    return s == 0;                                                            \
}                                                                             \
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
}                                                                             \
/* z[j] = sum_i W[j, i] x[i] + W[j, n] for the m rows of W (row stride ld,   \
 * bias last). Four rows at a time: four independent sums hide the latency    \
 * of the fused multiply-add, and each x[i] is loaded once per four rows.    \
 * Rows start ld apart; with ld a multiple of 64 bytes no load splits a     \
 * cache line. */                                                            \
static inline void nn_rows_forward_##SUFFIX(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,       \
                                            const T *restrict W,              \
                                            const T *restrict x,              \
                                            T *restrict z)                    \
{                                                                             \
    Py_ssize_t j = 0;                                                         \
    for (; j + 4 <= m; j += 4) {                                              \
        const T *w0 = W + j * ld, *w1 = w0 + ld, *w2 = w1 + ld, *w3 = w2 + ld;\
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                     \
        _Pragma("omp simd reduction(+:s0,s1,s2,s3)")                          \
        for (Py_ssize_t i = 0; i < n; ++i) {                                  \
            T xi = x[i];                                                      \
            s0 += w0[i] * xi;                                                 \
            s1 += w1[i] * xi;                                                 \
            s2 += w2[i] * xi;                                                 \
            s3 += w3[i] * xi;                                                 \
        }                                                                     \
        z[j] = s0 + w0[n];                                                    \
        z[j + 1] = s1 + w1[n];                                                \
        z[j + 2] = s2 + w2[n];                                                \
        z[j + 3] = s3 + w3[n];                                                \
    }                                                                         \
    for (; j < m; ++j)                                                        \
        z[j] = nn_dot_##SUFFIX(n, W + j * ld, x) + W[j * ld + n];             \
}                                                                             \
/* The first layer's update for one sample fused with its forward pass for  \
 * the next: W[j] -= step[j] * [x, 1], then z[j] = W[j] . [x_next, 1] with   \
 * the new weights, in one sweep over W. Each new weight is used while still \
 * in a register, so the layer's weights cross the memory hierarchy once per  \
 * sample instead of twice. The sums are formed exactly as in                 \
 * nn_rows_forward (same blocking, same reduction), so the result is the     \
 * same bit for bit as an update followed by a separate forward pass. */     \
static inline void nn_rows_update_forward_##SUFFIX(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,\
                                                   const T *restrict step,    \
                                                   const T *restrict x,       \
                                                   const T *restrict x_next,  \
                                                   T *restrict W,             \
                                                   T *restrict z)             \
{                                                                             \
    Py_ssize_t j = 0;                                                         \
    for (; j + 4 <= m; j += 4) {                                              \
        T *w0 = W + j * ld, *w1 = w0 + ld, *w2 = w1 + ld, *w3 = w2 + ld;      \
        const T c0 = step[j], c1 = step[j + 1], c2 = step[j + 2],             \
                c3 = step[j + 3];                                             \
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                     \
        _Pragma("omp simd reduction(+:s0,s1,s2,s3)")                          \
        for (Py_ssize_t i = 0; i < n; ++i) {                                  \
            T xi = x[i], yi = x_next[i];                                      \
            T v0 = w0[i] - c0 * xi, v1 = w1[i] - c1 * xi;                     \
            T v2 = w2[i] - c2 * xi, v3 = w3[i] - c3 * xi;                     \
            w0[i] = v0;                                                       \
            w1[i] = v1;                                                       \
            w2[i] = v2;                                                       \
            w3[i] = v3;                                                       \
            s0 += v0 * yi;                                                    \
            s1 += v1 * yi;                                                    \
            s2 += v2 * yi;                                                    \
            s3 += v3 * yi;                                                    \
        }                                                                     \
        w0[n] -= c0;                                                          \
        w1[n] -= c1;                                                          \
        w2[n] -= c2;                                                          \
        w3[n] -= c3;                                                          \
        z[j] = s0 + w0[n];                                                    \
        z[j + 1] = s1 + w1[n];                                                \
        z[j + 2] = s2 + w2[n];                                                \
        z[j + 3] = s3 + w3[n];                                                \
    }                                                                         \
    for (; j < m; ++j) {                                                      \
        T *w = W + j * ld;                                                    \
        nn_axpy_##SUFFIX(n, -step[j], x, w);                                  \
        w[n] -= step[j];                                                      \
        z[j] = nn_dot_##SUFFIX(n, w, x_next) + w[n];                          \
    }                                                                         \
}                                                                             \
/* W[j, :n] -= step[j] * x and W[j, n] -= step[j] for the m rows of W: the   \
 * update of a first layer, which has no layer below to send errors to.      \
 * Four rows at a time, so each x[i] is loaded once per four rows. */         \
static inline void nn_rows_update_##SUFFIX(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,        \
                                           const T *restrict step,            \
                                           const T *restrict x,               \
                                           T *restrict W)                     \
{                                                                             \
    Py_ssize_t j = 0;                                                         \
    for (; j + 4 <= m; j += 4) {                                              \
        T *w0 = W + j * ld, *w1 = w0 + ld, *w2 = w1 + ld, *w3 = w2 + ld;      \
        const T c0 = step[j], c1 = step[j + 1], c2 = step[j + 2],             \
                c3 = step[j + 3];                                             \
        _Pragma("omp simd")                                                   \
        for (Py_ssize_t i = 0; i < n; ++i) {                                  \
            T xi = x[i];                                                      \
            w0[i] -= c0 * xi;                                                 \
            w1[i] -= c1 * xi;                                                 \
            w2[i] -= c2 * xi;                                                 \
            w3[i] -= c3 * xi;                                                 \
        }                                                                     \
        w0[n] -= c0;                                                          \
        w1[n] -= c1;                                                          \
        w2[n] -= c2;                                                          \
        w3[n] -= c3;                                                          \
    }                                                                         \
    for (; j < m; ++j) {                                                      \
        T *w = W + j * ld;                                                    \
        nn_axpy_##SUFFIX(n, -step[j], x, w);                                  \
        w[n] -= step[j];                                                      \
    }                                                                         \
}

/* One unit's row in scikit-learn's solvers (nncore.sklearn, Network.fit's
 * options) for a single sample, in one sweep: with w the row's n weights
 * and its bias w[n], a the layer's input and d the unit's (weighted) error,
 *   sq        += w[i]^2                 (the L2 term of the loss, old w)
 *   back[i]   += d * w[i]               (error for the layer below, old w;
 *                                        back == NULL: first layer)
 *   g          = (d * a[i] + alpha w[i]) / dd,  bias: d / dd
 * then the solver's step on w with its state, while w[i] is in a register.
 * Returns sq. */
/* dd (the sample's weight) is almost always 1, and x / 1 is x exactly: then
 * the loops skip the division (float64 division is the slowest instruction
 * in them); unit is loop-invariant, so the compiler splits each loop in two. */
#define NN_SCALE(x) (unit ? (x) : (x) / dd)
/* The sweep over a row's n weights, once per variant so that each loop has
 * no branch: BACK is the statement for the error of the layer below (or
 * nothing, for a first layer), STEP the solver's update given wi, gi. */
#define NN_SOLVER_ROW_LOOP(T, BACK, STEP)                                         \
    _Pragma("omp simd reduction(+:sq)")                                       \
    for (Py_ssize_t i = 0; i < n; ++i) {                                      \
        T wi = w[i], gi = NN_SCALE(d * a[i] + alpha * wi);                    \
        sq += wi * wi;                                                        \
        BACK;                                                                 \
        STEP;                                                                 \
    }
#define NN_BACK back[i] += d * wi
#define NN_NO_BACK (void)0
#define NN_MOMENTUM(T)                                                        \
    T vi = mu * v[i] - r * gi;                                                \
    v[i] = vi;                                                                \
    w[i] = wi + vi
#define NN_NESTEROV(T)                                                        \
    T vi = mu * v[i] - r * gi;                                                \
    v[i] = vi;                                                                \
    w[i] = wi + (mu * vi - r * gi)
#define NN_ADAM(T, SQRT)                                                      \
    T mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * (gi * gi);              \
    m[i] = mi;                                                                \
    v[i] = vi;                                                                \
    w[i] = wi + (-r * mi) / (SQRT(vi) + e)
#define NNCORE_DEFINE_SOLVERS(T, SUFFIX, SQRT)                                \
static inline double nn_solver_row_momentum_##SUFFIX(                             \
    Py_ssize_t n, T d, const T *restrict a, T *restrict w, T *restrict v,     \
    T *restrict back, T alpha, T dd, T r, T mu, int nesterov)                 \
{                                                                             \
    const int unit = dd == 1;                                                 \
    T sq = 0, g, vn;                                                          \
    if (back != NULL && nesterov) {                                           \
        NN_SOLVER_ROW_LOOP(T, NN_BACK, NN_NESTEROV(T))                            \
    } else if (back != NULL) {                                                \
        NN_SOLVER_ROW_LOOP(T, NN_BACK, NN_MOMENTUM(T))                            \
    } else if (nesterov) {                                                    \
        NN_SOLVER_ROW_LOOP(T, NN_NO_BACK, NN_NESTEROV(T))                         \
    } else {                                                                  \
        NN_SOLVER_ROW_LOOP(T, NN_NO_BACK, NN_MOMENTUM(T))                         \
    }                                                                         \
    g = d / dd;                                                               \
    vn = mu * v[n] - r * g;                                                   \
    v[n] = vn;                                                                \
    w[n] += nesterov ? mu * vn - r * g : vn;                                  \
    return sq;                                                                \
}                                                                             \
static inline double nn_solver_row_adam_##SUFFIX(                                 \
    Py_ssize_t n, T d, const T *restrict a, T *restrict w, T *restrict m,     \
    T *restrict v, T *restrict back, T alpha, T dd, T r, T b1, T b2, T c1,    \
    T c2, T e)                                                                \
{                                                                             \
    const int unit = dd == 1;                                                 \
    T sq = 0, g;                                                              \
    if (back != NULL) {                                                       \
        NN_SOLVER_ROW_LOOP(T, NN_BACK, NN_ADAM(T, SQRT))                          \
    } else {                                                                  \
        NN_SOLVER_ROW_LOOP(T, NN_NO_BACK, NN_ADAM(T, SQRT))                       \
    }                                                                         \
    g = d / dd;                                                               \
    m[n] = b1 * m[n] + c1 * g;                                                \
    v[n] = b2 * v[n] + c2 * (g * g);                                          \
    w[n] += (-r * m[n]) / (SQRT(v[n]) + e);                                   \
    return sq;                                                                \
}

NNCORE_DEFINE_ACTIVATIONS(float, f)
NNCORE_DEFINE_ACTIVATIONS(double, d)
NNCORE_DEFINE_LOOPS(float, f)
NNCORE_DEFINE_LOOPS(double, d)
NNCORE_DEFINE_SOLVERS(float, f, sqrtf)
NNCORE_DEFINE_SOLVERS(double, d, sqrt)

/* The entries of the table (see _kernels.h for each one's contract): whole
 * rows and layers, built from the loops above. */
#define NNCORE_DEFINE_LAYERS(T, S)                                             \
static T nn_dot_entry_##S(Py_ssize_t n, const T *x, const T *y)               \
{                                                                             \
    return nn_dot_##S(n, x, y);                                               \
}                                                                             \
static int nn_all_finite_entry_##S(Py_ssize_t n, const T *x)                  \
{                                                                             \
    return nn_all_finite_##S(n, x);                                           \
}                                                                             \
static void nn_axpy_entry_##S(Py_ssize_t n, T c, const T *x, T *y)            \
{                                                                             \
    nn_axpy_##S(n, c, x, y);                                                  \
}                                                                             \
static double nn_softmax_entry_##S(Py_ssize_t n, T *z, const T *t)            \
{                                                                             \
    return nn_softmax_##S(n, z, t);                                           \
}                                                                             \
static void nn_rows_forward_entry_##S(Py_ssize_t m, Py_ssize_t n,             \
                                      Py_ssize_t ld, const T *W, const T *x,  \
                                      T *z)                                   \
{                                                                             \
    nn_rows_forward_##S(m, n, ld, W, x, z);                                   \
}                                                                             \
static void nn_rows_update_entry_##S(Py_ssize_t m, Py_ssize_t n,              \
                                     Py_ssize_t ld, const T *step,            \
                                     const T *x, const T *x_next, T *W, T *z) \
{                                                                             \
    if (x_next == NULL)                                                       \
        nn_rows_update_##S(m, n, ld, step, x, W);                             \
    else                                                                      \
        nn_rows_update_forward_##S(m, n, ld, step, x, x_next, W, z);          \
}                                                                             \
/* The activation with its branch outside the loop, so each loop            \
 * vectorises; relu keeps NaN out as "z > 0 ? z : 0" does; tanh is libm's,   \
 * in double. */                                                             \
static void nn_activate_row_##S(int kind, Py_ssize_t n, const T *restrict b,  \
                                T *restrict z)                                \
{                                                                             \
    if (kind == ACT_SIGMOID) {                                                \
        if (b == NULL)                                                        \
            nn_sigmoid_##S(n, z);                                             \
        else                                                                  \
            nn_sigmoid_bias_##S(n, b, z);                                     \
    } else if (kind == ACT_TANH) {                                            \
        for (Py_ssize_t j = 0; j < n; ++j)                                    \
            z[j] = (T)tanh((double)(b == NULL ? z[j] : z[j] + b[j]));         \
    } else if (kind == ACT_RELU) {                                            \
        if (b == NULL) {                                                      \
            _Pragma("omp simd")                                               \
            for (Py_ssize_t j = 0; j < n; ++j)                                \
                z[j] = z[j] > 0 ? z[j] : 0;                                   \
        } else {                                                              \
            _Pragma("omp simd")                                               \
            for (Py_ssize_t j = 0; j < n; ++j) {                              \
                T v = z[j] + b[j];                                            \
                z[j] = v > 0 ? v : 0;                                         \
            }                                                                 \
        }                                                                     \
    } else if (b != NULL) {                                                   \
        _Pragma("omp simd")                                                   \
        for (Py_ssize_t j = 0; j < n; ++j)                                    \
            z[j] = z[j] + b[j];                                               \
    }                                                                         \
}                                                                             \
static void nn_activate_##S(int kind, Py_ssize_t rows, Py_ssize_t n,          \
                            const T *b, T *Z)                                 \
{                                                                             \
    for (Py_ssize_t k = 0; k < rows; ++k)                                     \
        nn_activate_row_##S(kind, n, b, Z + k * n);                           \
}                                                                             \
/* f'(z) through a = f(z): a (1 - a), 1 - a^2, [a > 0], 1. */                \
static void nn_derivative_##S(int kind, Py_ssize_t rows, Py_ssize_t n,        \
                              const T *restrict A, T *restrict x,             \
                              T *restrict colsum)                             \
{                                                                             \
    if (colsum != NULL)                                                       \
        memset(colsum, 0, n * sizeof(T));                                     \
    for (Py_ssize_t k = 0; k < rows; ++k) {                                   \
        const T *a = A + k * n;                                               \
        T *v = x + k * n;                                                     \
        if (kind == ACT_SIGMOID) {                                            \
            _Pragma("omp simd")                                               \
            for (Py_ssize_t i = 0; i < n; ++i)                                \
                v[i] = v[i] * (a[i] * (1 - a[i]));                            \
        } else if (kind == ACT_TANH) {                                        \
            _Pragma("omp simd")                                               \
            for (Py_ssize_t i = 0; i < n; ++i)                                \
                v[i] = v[i] * (1 - a[i] * a[i]);                              \
        } else if (kind == ACT_RELU) {                                        \
            _Pragma("omp simd")                                               \
            for (Py_ssize_t i = 0; i < n; ++i)                                \
                v[i] = v[i] * (a[i] > 0 ? (T)1 : (T)0);                       \
        }                                                                     \
        if (colsum != NULL) {                                                 \
            _Pragma("omp simd")                                               \
            for (Py_ssize_t i = 0; i < n; ++i)                                \
                colsum[i] += v[i];                                            \
        }                                                                     \
    }                                                                         \
}                                                                             \
static void nn_backprop_update_##S(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld, \
                                   const T *delta, T lr, const T *a, T *W,    \
                                   T *back)                                   \
{                                                                             \
    /* Each row is read once: its old values feed the error of the layer     \
     * below and it is updated while still in cache. */                      \
    memset(back, 0, n * sizeof(T));                                           \
    for (Py_ssize_t j = 0; j < m; ++j) {                                      \
        T *row = W + j * ld;                                                  \
        T step = lr * delta[j];                                               \
        nn_backprop_row_##S(n, delta[j], step, a, row, back);                 \
        row[n] -= step;                                                       \
    }                                                                         \
}                                                                             \
static void nn_accumulate_##S(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,      \
                              const T *delta, T alpha, const T *a,            \
                              const T *W, T *G, T *back)                      \
{                                                                             \
    if (back != NULL)                                                         \
        memset(back, 0, n * sizeof(T));                                       \
    for (Py_ssize_t j = 0; j < m; ++j) {                                      \
        T *g = G + j * ld;                                                    \
        T step = alpha * delta[j];                                            \
        nn_axpy_##S(n, step, a, g);                                           \
        g[n] += step;                                                         \
        if (back != NULL)                                                     \
            nn_axpy_##S(n, delta[j], W + j * ld, back);                       \
    }                                                                         \
}                                                                             \
static double nn_solver_sample_##S(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld, \
                                   const T *delta, const T *a, T *W, T *s1,   \
                                   T *s2, T *back, const nn_step_##S *p)      \
{                                                                             \
    double sq = 0;                                                            \
    if (back != NULL)                                                         \
        memset(back, 0, n * sizeof(T));                                       \
    for (Py_ssize_t j = 0; j < m; ++j) {                                      \
        Py_ssize_t row = j * ld;                                              \
        if (p->solver == SOLVER_ADAM)                                         \
            sq += nn_solver_row_adam_##S(n, delta[j], a, W + row, s1 + row,       \
                                     s2 + row, back, p->alpha, p->dd, p->r,   \
                                     p->b1, p->b2, p->c1, p->c2, p->e);       \
        else                                                                  \
            sq += nn_solver_row_momentum_##S(n, delta[j], a, W + row, s1 + row,   \
                                         back, p->alpha, p->dd, p->r, p->mu,  \
                                         p->solver == SOLVER_NESTEROV);       \
    }                                                                         \
    return sq;                                                                \
}                                                                             \
static double nn_solver_update_##S(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld, \
                                   T *W, T *G, T *s1, T *s2,                  \
                                   const nn_step_##S *p)                      \
{                                                                             \
    /* Every loop below the gradient's runs over the weights and the bias    \
     * (n + 1). */                                                            \
    const T a = p->alpha, d = p->dd, r = p->r, mu = p->mu, e = p->e;          \
    const T b1 = p->b1, b2 = p->b2, c1 = p->c1, c2 = p->c2;                   \
    double sq = 0;                                                            \
    for (Py_ssize_t j = 0; j < m; ++j) {                                      \
        T *restrict w = W + j * ld, *restrict g = G + j * ld;                 \
        sq += nn_dot_##S(n, w, w);                                            \
        for (Py_ssize_t i = 0; i < n; ++i)                                    \
            g[i] = (g[i] + a * w[i]) / d;                                     \
        g[n] = g[n] / d;                                                      \
        if (p->solver == SOLVER_SGD) {                                        \
            T *restrict v = s1 + j * ld;                                      \
            for (Py_ssize_t i = 0; i < n + 1; ++i) {                          \
                T vn = mu * v[i] - r * g[i];                                  \
                v[i] = vn;                                                    \
                w[i] += vn;                                                   \
            }                                                                 \
        } else if (p->solver == SOLVER_NESTEROV) {                            \
            T *restrict v = s1 + j * ld;                                      \
            for (Py_ssize_t i = 0; i < n + 1; ++i) {                          \
                T vn = mu * v[i] - r * g[i];                                  \
                v[i] = vn;                                                    \
                w[i] += mu * vn - r * g[i];                                   \
            }                                                                 \
        } else if (p->solver == SOLVER_ADAM) {                                \
            T *restrict mm = s1 + j * ld, *restrict v = s2 + j * ld;          \
            for (Py_ssize_t i = 0; i < n + 1; ++i) {                          \
                mm[i] = b1 * mm[i] + c1 * g[i];                               \
                v[i] = b2 * v[i] + c2 * (g[i] * g[i]);                        \
                w[i] += (-r * mm[i]) / (NN_SQRT_##S(v[i]) + e);               \
            }                                                                 \
        }                                                                     \
    }                                                                         \
    return sq;                                                                \
}

#define NN_SQRT_f sqrtf
#define NN_SQRT_d sqrt
NNCORE_DEFINE_LAYERS(float, f)
NNCORE_DEFINE_LAYERS(double, d)
#undef NN_SQRT_f
#undef NN_SQRT_d

#define NN_TABLE_ENTRIES(S)                                                    \
    nn_all_finite_entry_##S, nn_dot_entry_##S, nn_axpy_entry_##S,            \
    nn_activate_##S, nn_derivative_##S, nn_softmax_entry_##S,                 \
    nn_rows_forward_entry_##S, nn_rows_update_entry_##S,                      \
    nn_backprop_update_##S, nn_accumulate_##S, nn_solver_sample_##S,          \
    nn_solver_update_##S

const nn_kernels NN_TABLE = {
    NN_TABLE_NAME,
    NN_TABLE_ENTRIES(f),
    NN_TABLE_ENTRIES(d)
};
#undef NN_TABLE_ENTRIES

#undef NNCORE_DEFINE_LOOPS
#undef NNCORE_DEFINE_SOLVERS
#undef NN_SCALE
#undef NN_SOLVER_ROW_LOOP
#undef NN_BACK
#undef NN_NO_BACK
#undef NN_MOMENTUM
#undef NN_NESTEROV
#undef NN_ADAM
#undef NNCORE_DEFINE_ACTIVATIONS
#undef NNCORE_DEFINE_LAYERS
