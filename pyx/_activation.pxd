# SPDX-License-Identifier: MIT
"""Activations, their derivatives and the output error functions (header only).

Every function is exact for any finite input: no overflow, no NaN from a
saturated unit. Derivatives are written in terms of the activation a = f(z),
which is what the backward pass keeps.
"""
from cython cimport floating
from libc.math cimport exp, log, log1p, tanh, fabs

from _defs cimport (ACT_IDENTITY, ACT_SIGMOID, ACT_TANH, ACT_RELU,
                    OUT_IDENTITY, OUT_SIGMOID, OUT_SOFTMAX, OUT_EXP)


cdef extern from "_simd.h" nogil:
    # Stable two-branch form: exp only of -|z|, by a vectorisable exp (_simd.h).
    double nn_sigmoid(double z)
    void nn_sigmoid_f(Py_ssize_t n, float* z)
    void nn_sigmoid_d(Py_ssize_t n, double* z)
    void nn_sigmoid_bias_f(Py_ssize_t n, const float* b, float* z)
    void nn_sigmoid_bias_d(Py_ssize_t n, const double* b, double* z)
    double nn_softmax_f(Py_ssize_t n, float* z, const float* t)
    double nn_softmax_d(Py_ssize_t n, double* z, const double* t)


cdef inline floating sigmoid(floating z) noexcept nogil:
    return <floating>nn_sigmoid(z)


cdef inline double softplus(double z) noexcept nogil:
    # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)): never overflows.
    return (z if z > 0 else 0.0) + log1p(exp(-fabs(z)))


cdef inline floating activate(int kind, floating z) noexcept nogil:
    if kind == ACT_SIGMOID:
        return sigmoid(z)
    if kind == ACT_TANH:
        return <floating>tanh(z)
    if kind == ACT_RELU:
        return z if z > 0 else 0
    return z


cdef inline floating derivative(int kind, floating a) noexcept nogil:
    # f'(z) expressed through a = f(z).
    if kind == ACT_SIGMOID:
        return a * (1 - a)
    if kind == ACT_TANH:
        return 1 - a * a
    if kind == ACT_RELU:
        return 1 if a > 0 else 0
    return 1


cdef inline void activate_row(int kind, Py_ssize_t n, const floating* b,
                              floating* z) noexcept nogil:
    # z := f(z + b) for one row of pre-activations (b = NULL: no bias).
    cdef Py_ssize_t j
    if kind == ACT_SIGMOID:
        # The vectorised loops: the sigmoid's exp dominates small layers.
        if floating is float:
            if b == NULL:
                nn_sigmoid_f(n, z)
            else:
                nn_sigmoid_bias_f(n, b, z)
        else:
            if b == NULL:
                nn_sigmoid_d(n, z)
            else:
                nn_sigmoid_bias_d(n, b, z)
    elif b == NULL:
        for j in range(n):
            z[j] = activate(kind, z[j])
    else:
        for j in range(n):
            z[j] = activate(kind, z[j] + b[j])


cdef inline double output_row(int output, Py_ssize_t n, floating* z,
                              const floating* t) noexcept nogil:
    """z := output activation of z, in place; return the error against t.

    The error is computed from the logits z, not from clipped probabilities,
    so it is exact and finite for every finite z. With t == NULL no error is
    computed and 0 is returned.
    """
    cdef Py_ssize_t j
    cdef double err = 0
    if output == OUT_SOFTMAX:
        # Max-shifted, vectorised, one exp per unit (_simd.h).
        if floating is float:
            return nn_softmax_f(n, z, t)
        else:
            return nn_softmax_d(n, z, t)
    elif output == OUT_SIGMOID:
        if t == NULL:
            activate_row(ACT_SIGMOID, n, <floating*>NULL, z)
            return 0
        for j in range(n):
            if t != NULL:
                # -t log s(z) - (1 - t) log(1 - s(z)) = softplus(z) - t z
                err += softplus(z[j]) - <double>t[j] * z[j]
            z[j] = sigmoid(z[j])
    elif output == OUT_EXP:
        for j in range(n):
            if t != NULL:
                # Half Poisson deviance up to terms in t alone: exp(z) - t z.
                err += exp(<double>z[j]) - <double>t[j] * z[j]
            z[j] = <floating>exp(z[j])
    else:
        if t != NULL:
            for j in range(n):
                err += 0.5 * (<double>z[j] - t[j]) * (<double>z[j] - t[j])
    return err
