# SPDX-License-Identifier: MIT
"""Row-major BLAS shims over scipy.linalg.cython_blas (header only).

Fortran BLAS is column-major; a row-major matrix is the column-major view of
its transpose. So the row-major product C = op(A) @ op(B) is computed as the
column-major product C^T = op(B)^T @ op(A)^T: swap the operands and m with n,
keep the transpose flags. No data is copied. Sizes must fit a C int; the
Python layer refuses larger networks and batches before any call.
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm

cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k,
                      floating alpha, const floating* A, int lda,
                      const floating* B, int ldb, floating beta,
                      floating* C, int ldc) noexcept nogil:
    # C (m, n) := alpha op(A) op(B) + beta C, all row-major with leading dims.
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>B, &ldb, <float*>A, &lda,
              &beta, C, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>B, &ldb, <double*>A, &lda,
              &beta, C, &ldc)
