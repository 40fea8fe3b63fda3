# SPDX-License-Identifier: MIT
"""Row-major BLAS shims over scipy.linalg.cython_blas (header only).

Fortran BLAS is column-major; a row-major matrix is the column-major view of
its transpose. So the row-major product C = op(A) @ op(B) is computed as the
column-major product C^T = op(B)^T @ op(A)^T: swap the operands and m with n,
keep the transpose flags. No data is copied. Sizes must fit a C int; the
Python layer refuses larger networks and batches before any call.
"""
from cython cimport floating
from libc.string cimport memset
from scipy.linalg.cython_blas cimport sgemm, dgemm, sgemv, dgemv

cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k,
                      floating alpha, const floating* A, int lda,
                      const floating* B, int ldb, floating beta,
                      floating* C, int ldc) noexcept nogil:
    # C (m, n) := alpha op(A) op(B) + beta C, all row-major with leading dims.
    # One row (m = 1) is a matrix-vector product, done by gemv: some BLAS
    # builds' gemm packs all of B on every call, several times slower.
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef int inc_a = lda if trans_a else 1, one = 1
    if m == 1:
        # Row-major c := alpha a op(B) + beta c, a the one row of op(A) (stride
        # lda when trans_a). Fortran sees row-major B as its transpose Bc, so
        # c = op(B)^T a is Bc^T a when trans_b ('T', Bc is k x n) and Bc a
        # otherwise ('N', Bc is n x k); tb holds that letter. beta = 0 must
        # not read C (it may hold NaN), so C is zeroed first.
        if beta == 0:
            memset(C, 0, n * sizeof(floating))
        if floating is float:
            sgemv(&tb, &k if trans_b else &n, &n if trans_b else &k, &alpha,
                  <float*>B, &ldb, <float*>A, &inc_a, &beta, C, &one)
        else:
            dgemv(&tb, &k if trans_b else &n, &n if trans_b else &k, &alpha,
                  <double*>B, &ldb, <double*>A, &inc_a, &beta, C, &one)
        return
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>B, &ldb, <float*>A, &lda,
              &beta, C, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>B, &ldb, <double*>A, &lda,
              &beta, C, &ldc)
