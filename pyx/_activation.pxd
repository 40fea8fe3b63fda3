# SPDX-License-Identifier: MIT
"""Activations, their derivatives and the output error functions (header only).

Every function is exact for any finite input: no overflow, no NaN from a
saturated unit. The hidden activations and their derivatives are C loops
(_kernels.pxd); the output layers and their errors are here.
"""
from cython cimport floating
from libc.math cimport exp, log1p, fabs

from _defs cimport (ACT_SIGMOID, OUT_IDENTITY, OUT_SIGMOID, OUT_SOFTMAX,
                    OUT_EXP)
from _kernels cimport activate_row, softmax


cdef extern from "_exp.h" nogil:
    # Stable two-branch form: exp only of -|z|, by a vectorisable exp.
    double nn_sigmoid(double z)


cdef inline floating sigmoid(floating z) noexcept nogil:
    return <floating>nn_sigmoid(z)


cdef inline double softplus(double z) noexcept nogil:
    # log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)): never overflows.
    return (z if z > 0 else 0.0) + log1p(exp(-fabs(z)))


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
        # Max-shifted, vectorised, one exp per unit (_kernels_impl.h).
        return softmax(n, z, t)
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
