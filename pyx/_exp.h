/* SPDX-License-Identifier: MIT
 *
 * The sigmoid's exp, in C so that loops over it vectorise (libm's exp is a
 * scalar call without -ffast-math). Header only: the kernels (_kernels_impl.h)
 * and the Cython core's scalar output sigmoid (_activation.pxd) share it.
 */
#ifndef NNCORE_EXP_H
#define NNCORE_EXP_H

#include <math.h>
#include <stdint.h>

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

#endif
