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
#include <math.h>
#include <stdint.h>
#if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64)
#include <xmmintrin.h>
#define NN_HAVE_MXCSR 1
#endif

/* Subnormal numbers flushed to zero (inputs and results), for the current
 * thread, until nn_restore_fp. x86 handles subnormal operands in microcode,
 * some hundred cycles per vector instruction: Adam's and momentum's state for
 * a weight whose gradient stays 0 decays geometrically into that range, and
 * measured here (ReLU units, Adam, batch 1) 6% subnormal moments made a step
 * four times slower. What is lost is below 1e-38 (float32) or 1e-308
 * (float64), far under any weight's last bit. Elsewhere (arm64) a no-op. */
static inline unsigned int nn_flush_subnormals(void)
{
#ifdef NN_HAVE_MXCSR
    unsigned int old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u);     /* FTZ | DAZ */
    return old;
#else
    return 0;
#endif
}

static inline void nn_restore_fp(unsigned int old)
{
#ifdef NN_HAVE_MXCSR
    _mm_setcsr(old);
#else
    (void)old;
#endif
}

/* exp(x) for x <= 0, the only arguments the stable sigmoid needs, to within
 * about 2 ulp, with no branch, no library call and no float-integer
 * conversion, so that loops over it vectorise even for SSE2 (libm's exp is a
 * scalar call without -ffast-math). NaN gives NaN; x < -745.5 gives 0.
 * Method: x = k ln2 + r with |r| <= ln2/2 (Cody-Waite; k ln2_hi is exact),
 * exp(r) by its Taylor series to r^13 (truncation below 5e-18), times 2^k.
 * Integers are rounded and moved into the exponent field through the
 * 1.5 * 2^52 "shifter": the bits of shifter + k are the bits of shifter plus
 * k. 2^k is applied in two halves so subnormal results come out right. */
static inline double nn_exp_nonpositive(double x)
{
    const double log2e = 1.4426950408889634;
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    const double shifter = 6755399441055744.0;
    union bits { double d; int64_t i; } base, t1, t2, s1, s2;
    double xc = x > -745.5 ? x : -745.5;           /* NaN and -inf land here too */
    double kd = (xc * log2e + shifter) - shifter;  /* round(x / ln2) */
    double r = (xc - kd * ln2_hi) - kd * ln2_lo;
    double p = 1.0 / 6227020800.0;                 /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    double k1 = (kd * 0.5 + shifter) - shifter;    /* k = k1 + k2, both >= -539 */
    base.d = shifter;
    t1.d = k1 + shifter;
    t2.d = (kd - k1) + shifter;
    s1.i = (t1.i - base.i + 1023) << 52;
    s2.i = (t2.i - base.i + 1023) << 52;
    double result = p * s1.d * s2.d;
    return x == x ? result : x;
}

/* The same for float, in float arithmetic (sixteen lanes per AVX-512
 * vector instead of eight), to within about 2 ulp of float: k ln2_hi is exact
 * for |k| < 256, Taylor to r^7 (truncation below 6e-9), 2^k in two halves as
 * above (k >= -150, halves >= -75, both normal). x < -104 gives 0 (exp(-104)
 * is below half the smallest float subnormal). */
static inline float nn_exp_nonpositive_float(float x)
{
    const float log2e = 1.44269504f;
    const float ln2_hi = 0.693145751953125f;      /* 0x3f317200: 16 bits */
    const float ln2_lo = 1.42860676533018704e-06f;
    const float shifter = 12582912.0f;            /* 1.5 * 2^23 */
    union bits { float f; int32_t i; } base, t1, t2, s1, s2;
    float xc = x > -104.0f ? x : -104.0f;
    float kd = (xc * log2e + shifter) - shifter;
    float r = (xc - kd * ln2_hi) - kd * ln2_lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    float k1 = (kd * 0.5f + shifter) - shifter;
    base.f = shifter;
    t1.f = k1 + shifter;
    t2.f = (kd - k1) + shifter;
    s1.i = (t1.i - base.i + 127) * (1 << 23);
    s2.i = (t2.i - base.i + 127) * (1 << 23);
    float result = p * s1.f * s2.f;
    return x == x ? result : x;
}

/* The logistic sigmoid in its stable form: exp only of -|v|. */
static inline double nn_sigmoid(double v)
{
    double e = nn_exp_nonpositive(-fabs(v));
    double s = 1.0 / (1.0 + e);
    double es = e * s;               /* both sides computed: a select, no branch */
    return v >= 0 ? s : es;
}

static inline float nn_sigmoid_float(float v)
{
    float e = nn_exp_nonpositive_float(-fabsf(v));
    float s = 1.0f / (1.0f + e);
    float es = e * s;
    return v >= 0 ? s : es;
}

static inline double nn_exp_nonpositive_double(double x)
{
    return nn_exp_nonpositive(x);
}

static inline double nn_sigmoid_double(double v)
{
    return nn_sigmoid(v);
}

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
#define NN_SK_ROW_LOOP(T, BACK, STEP)                                         \
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
static inline double nn_sk_row_momentum_##SUFFIX(                             \
    Py_ssize_t n, T d, const T *restrict a, T *restrict w, T *restrict v,     \
    T *restrict back, T alpha, T dd, T r, T mu, int nesterov)                 \
{                                                                             \
    const int unit = dd == 1;                                                 \
    T sq = 0, g, vn;                                                          \
    if (back != NULL && nesterov) {                                           \
        NN_SK_ROW_LOOP(T, NN_BACK, NN_NESTEROV(T))                            \
    } else if (back != NULL) {                                                \
        NN_SK_ROW_LOOP(T, NN_BACK, NN_MOMENTUM(T))                            \
    } else if (nesterov) {                                                    \
        NN_SK_ROW_LOOP(T, NN_NO_BACK, NN_NESTEROV(T))                         \
    } else {                                                                  \
        NN_SK_ROW_LOOP(T, NN_NO_BACK, NN_MOMENTUM(T))                         \
    }                                                                         \
    g = d / dd;                                                               \
    vn = mu * v[n] - r * g;                                                   \
    v[n] = vn;                                                                \
    w[n] += nesterov ? mu * vn - r * g : vn;                                  \
    return sq;                                                                \
}                                                                             \
static inline double nn_sk_row_adam_##SUFFIX(                                 \
    Py_ssize_t n, T d, const T *restrict a, T *restrict w, T *restrict m,     \
    T *restrict v, T *restrict back, T alpha, T dd, T r, T b1, T b2, T c1,    \
    T c2, T e)                                                                \
{                                                                             \
    const int unit = dd == 1;                                                 \
    T sq = 0, g;                                                              \
    if (back != NULL) {                                                       \
        NN_SK_ROW_LOOP(T, NN_BACK, NN_ADAM(T, SQRT))                          \
    } else {                                                                  \
        NN_SK_ROW_LOOP(T, NN_NO_BACK, NN_ADAM(T, SQRT))                       \
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

#undef NNCORE_DEFINE_LOOPS
#undef NNCORE_DEFINE_SOLVERS
#undef NN_SCALE
#undef NN_SK_ROW_LOOP
#undef NN_BACK
#undef NN_NO_BACK
#undef NN_MOMENTUM
#undef NN_NESTEROV
#undef NN_ADAM
#undef NNCORE_DEFINE_ACTIVATIONS

#endif
