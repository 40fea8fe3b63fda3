# SPDX-License-Identifier: MIT
"""The C loops' table (_kernels.h), for the Cython core (header only).

``nn_active`` is the table of the instruction set in use; the fused inline
wrappers below pick the entry of the caller's dtype, so kernels read as if
the loops were plain functions.
"""
from cython cimport floating

cdef extern from "_kernels.h" nogil:
    ctypedef struct nn_step_f:
        int solver
        float alpha, dd, r, mu, b1, b2, c1, c2, e
    ctypedef struct nn_step_d:
        int solver
        double alpha, dd, r, mu, b1, b2, c1, c2, e

    ctypedef struct nn_kernels:
        const char* name
        int (*all_finite_f)(Py_ssize_t n, const float* x) noexcept nogil
        float (*dot_f)(Py_ssize_t n, const float* x, const float* y) noexcept nogil
        void (*axpy_f)(Py_ssize_t n, float c, const float* x, float* y) noexcept nogil
        void (*activate_f)(int kind, Py_ssize_t rows, Py_ssize_t n, const float* b,
                           float* Z) noexcept nogil
        void (*derivative_f)(int kind, Py_ssize_t rows, Py_ssize_t n,
                             const float* A, float* x, float* colsum) noexcept nogil
        double (*softmax_f)(Py_ssize_t n, float* z, const float* t) noexcept nogil
        void (*rows_forward_f)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                               const float* W, const float* x, float* z) noexcept nogil
        void (*rows_update_f)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                              const float* step, const float* x,
                              const float* x_next, float* W, float* z) noexcept nogil
        void (*backprop_update_f)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                                  const float* delta, float lr, const float* a,
                                  float* W, float* back) noexcept nogil
        void (*accumulate_f)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                             const float* delta, float alpha, const float* a,
                             const float* W, float* G, float* back) noexcept nogil
        double (*solver_sample_f)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                                  const float* delta, const float* a, float* W,
                                  float* s1, float* s2, float* back,
                                  const nn_step_f* p) noexcept nogil
        double (*solver_update_f)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                                  float* W, float* G, float* s1, float* s2,
                                  const nn_step_f* p) noexcept nogil
        int (*all_finite_d)(Py_ssize_t n, const double* x) noexcept nogil
        double (*dot_d)(Py_ssize_t n, const double* x, const double* y) noexcept nogil
        void (*axpy_d)(Py_ssize_t n, double c, const double* x, double* y) noexcept nogil
        void (*activate_d)(int kind, Py_ssize_t rows, Py_ssize_t n, const double* b,
                           double* Z) noexcept nogil
        void (*derivative_d)(int kind, Py_ssize_t rows, Py_ssize_t n,
                             const double* A, double* x, double* colsum) noexcept nogil
        double (*softmax_d)(Py_ssize_t n, double* z, const double* t) noexcept nogil
        void (*rows_forward_d)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                               const double* W, const double* x, double* z) noexcept nogil
        void (*rows_update_d)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                              const double* step, const double* x,
                              const double* x_next, double* W, double* z) noexcept nogil
        void (*backprop_update_d)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                                  const double* delta, double lr,
                                  const double* a, double* W, double* back) noexcept nogil
        void (*accumulate_d)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                             const double* delta, double alpha, const double* a,
                             const double* W, double* G, double* back) noexcept nogil
        double (*solver_sample_d)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                                  const double* delta, const double* a,
                                  double* W, double* s1, double* s2,
                                  double* back, const nn_step_d* p) noexcept nogil
        double (*solver_update_d)(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                                  double* W, double* G, double* s1, double* s2,
                                  const nn_step_d* p) noexcept nogil

    const nn_kernels nn_kernels_baseline
    const nn_kernels nn_kernels_avx2
    const nn_kernels nn_kernels_avx512
    const nn_kernels* nn_active
    int nn_select(const char* name)
    unsigned int nn_flush_subnormals()
    void nn_restore_fp(unsigned int old)


cdef inline bint all_finite(Py_ssize_t n, const floating* x) noexcept nogil:
    if floating is float:
        return nn_active.all_finite_f(n, x)
    else:
        return nn_active.all_finite_d(n, x)


cdef inline floating dot(Py_ssize_t n, const floating* x,
                         const floating* y) noexcept nogil:
    if floating is float:
        return nn_active.dot_f(n, x, y)
    else:
        return nn_active.dot_d(n, x, y)


cdef inline void axpy(Py_ssize_t n, floating c, const floating* x,
                      floating* y) noexcept nogil:
    if floating is float:
        nn_active.axpy_f(n, c, x, y)
    else:
        nn_active.axpy_d(n, c, x, y)


cdef inline void activate_row(int kind, Py_ssize_t n, const floating* b,
                              floating* z) noexcept nogil:
    # z := f(z + b) for one row of pre-activations (b = NULL: no bias).
    if floating is float:
        nn_active.activate_f(kind, 1, n, b, z)
    else:
        nn_active.activate_d(kind, 1, n, b, z)


cdef inline void activate_rows(int kind, Py_ssize_t rows, Py_ssize_t n,
                               const floating* b, floating* Z) noexcept nogil:
    # The same for each row of the rows x n matrix Z, in one call.
    if floating is float:
        nn_active.activate_f(kind, rows, n, b, Z)
    else:
        nn_active.activate_d(kind, rows, n, b, Z)


cdef inline void derivative_rows(int kind, Py_ssize_t rows, Py_ssize_t n,
                                 const floating* A, floating* x,
                                 floating* colsum) noexcept nogil:
    # x *= f'(z) through the activations A; colsum := column sums of the new x.
    if floating is float:
        nn_active.derivative_f(kind, rows, n, A, x, colsum)
    else:
        nn_active.derivative_d(kind, rows, n, A, x, colsum)


cdef inline double softmax(Py_ssize_t n, floating* z,
                           const floating* t) noexcept nogil:
    if floating is float:
        return nn_active.softmax_f(n, z, t)
    else:
        return nn_active.softmax_d(n, z, t)


cdef inline void rows_forward(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                              const floating* W, const floating* x,
                              floating* z) noexcept nogil:
    if floating is float:
        nn_active.rows_forward_f(m, n, ld, W, x, z)
    else:
        nn_active.rows_forward_d(m, n, ld, W, x, z)


cdef inline void rows_update(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                             const floating* step, const floating* x,
                             const floating* x_next, floating* W,
                             floating* z) noexcept nogil:
    # With x_next != NULL also z := W x_next + b with the updated W.
    if floating is float:
        nn_active.rows_update_f(m, n, ld, step, x, x_next, W, z)
    else:
        nn_active.rows_update_d(m, n, ld, step, x, x_next, W, z)


cdef inline void backprop_update(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                                 const floating* delta, floating lr,
                                 const floating* a, floating* W,
                                 floating* back) noexcept nogil:
    if floating is float:
        nn_active.backprop_update_f(m, n, ld, delta, lr, a, W, back)
    else:
        nn_active.backprop_update_d(m, n, ld, delta, lr, a, W, back)


cdef inline void accumulate(Py_ssize_t m, Py_ssize_t n, Py_ssize_t ld,
                            const floating* delta, floating alpha,
                            const floating* a, const floating* W, floating* G,
                            floating* back) noexcept nogil:
    if floating is float:
        nn_active.accumulate_f(m, n, ld, delta, alpha, a, W, G, back)
    else:
        nn_active.accumulate_d(m, n, ld, delta, alpha, a, W, G, back)
