# SPDX-License-Identifier: MIT
"""Compiled core of nncore: feedforward, backpropagation and in-place updates.

Kernels are ``cdef ... noexcept nogil`` functions over raw pointers, fused over
float and double; they allocate nothing and touch only the buffers they are
given. The private ``def`` entry points at the bottom take typed memoryviews
from ``nncore.network`` (which has already validated every array), check the
layout cheaply, run the work with the GIL released and raise afterwards.
``Model`` is the compiled side of one network, built once, so that inference
calls pay no argument conversion: its ``forward`` takes an ndarray only when
it is exactly what the kernels read, and hands anything else back.
The innermost loops are C (_kernels_impl.h), compiled once per instruction
set into tables of function pointers; nncore._dispatch selects one at import.
"""
from cython cimport floating
from libc.math cimport isfinite, isnan, NAN, log, sqrt, sqrtf, pow
from libc.float cimport FLT_EPSILON, DBL_EPSILON
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from cpython.exc cimport PyErr_CheckSignals
cimport numpy as cnp

from _defs cimport (NetSpec, ACT_IDENTITY, ACT_SIGMOID, ACT_TANH, ACT_RELU,
                    OUT_IDENTITY, OUT_SIGMOID, OUT_SOFTMAX, OUT_EXP,
                    LOSS_SQUARED, LOSS_POISSON, LOSS_LOG, LOSS_BINARY_LOG,
                    LOSS_NETWORK,
                    MODE_FORWARD, MODE_LOSS, MODE_BACKWARD, MODE_FORWARD_CHECKED,
                    STATUS_OK, STATUS_NONFINITE, SOLVER_GRADIENT, SOLVER_SGD,
                    SOLVER_NESTEROV, SOLVER_ADAM)
from _activation cimport activate_row, output_row
from _blas cimport gemm
from _kernels cimport (nn_kernels, nn_kernels_baseline, nn_kernels_avx2,
                       nn_kernels_avx512, nn_active, nn_select, nn_step_f,
                       nn_step_d, nn_flush_subnormals, nn_restore_fp, all_finite,
                       activate_rows,
                       dot, axpy, derivative_rows, rows_forward, rows_update,
                       backprop_update, accumulate)

# Multiply-adds of work between two checks for Ctrl-C: a few milliseconds at
# the speeds measured on the development machines, so KeyboardInterrupt
# arrives well within a second while the check itself costs nothing.
cdef Py_ssize_t WORK_PER_CHUNK = 1 << 23

# A mini-batch step of more work than this (multiply-adds: about three per
# weight and sample) is split into sub-batches whose gradients add up in a
# buffer, with a check for Ctrl-C between them; the step is applied once
# complete. So a full-batch step on a large data set answers Ctrl-C within a
# few milliseconds, at the cost of one gradient-sized buffer and gemm calls of
# at least this much work each.
cdef Py_ssize_t STEP_SPLIT_WORK = 8 * WORK_PER_CHUNK

# Mini-batch training forms a batch's gradient either sample by sample
# through the hand-written loops (rows_batch_step, solver_gradient), or by BLAS gemm
# per layer over the batch. Which is faster depends on the CPU, its BLAS
# kernels, the network and the batch size, so it is measured once per
# process for each (shape, codes, dtype, batch size) on first use
# (rows_beat_blas), on synthetic data, and cached here.
cdef dict _train_rows_cache = {}

# The BLAS threads nncore's calls currently run with (nncore._threads tells
# it): part of every measured choice's cache key, since both the timing and
# the rounding of BLAS products depend on it. So a run with threads=1 takes
# the same paths, and gives the same bits, whatever other runs in the
# process did with more threads.
cdef int blas_threads = 1


def _note_blas_threads(int threads):
    """Record the BLAS threads in effect (nncore._threads, on each change)."""
    global blas_threads
    blas_threads = threads

# Path choices of forward and _train_epoch: measured, or forced (tests and
# benchmarks/crossover.py), which use these names.
PATH_AUTO, PATH_BLAS, PATH_ROWS = -1, 0, 1

cnp.import_array()

import numpy as _np
from time import perf_counter as _perf_counter


# ---------------------------------------------------------------------------
# Workspace layout (one flat array, allocated by Python, sized by this code)
# ---------------------------------------------------------------------------
# For a batch capacity B:  [acts_0 | ... | acts_{L-1} | delta | delta' | vec | gather]
#   acts_l   B * sizes[l+1]   activations of layer l (row k = sample k)
#   delta    B * width        error terms of the layer being processed
#   delta'   B * width        error terms of the layer below
#   vec      width            bias column / column sums of delta
#   gather   B * sizes[0]     shuffled input rows copied together for BLAS;
#                             absent when the input is sparse (CSR rows are
#                             never densified: sparse_workspace_size)
# where width = max(sizes[1:]). Per-sample training uses the same layout, B = 1.

cdef Py_ssize_t max_width(const NetSpec* net) noexcept nogil:
    cdef Py_ssize_t l, width = 0
    for l in range(1, net.n_layers + 1):
        if net.sizes[l] > width:
            width = net.sizes[l]
    return width


cdef Py_ssize_t workspace_size(const NetSpec* net, Py_ssize_t batch) noexcept nogil:
    cdef Py_ssize_t l, units = 0, width = max_width(net)
    for l in range(1, net.n_layers + 1):
        units += net.sizes[l]
    return batch * (units + 2 * width + net.sizes[0]) + width


cdef Py_ssize_t sparse_workspace_size(const NetSpec* net, Py_ssize_t batch) noexcept nogil:
    # The layout above without its gather block.
    return workspace_size(net, batch) - batch * net.sizes[0]


cdef inline floating* layer_acts(const NetSpec* net, floating* work,
                                 Py_ssize_t batch, Py_ssize_t l) noexcept nogil:
    cdef Py_ssize_t m, off = 0
    for m in range(1, l + 1):
        off += net.sizes[m]
    return work + batch * off


cdef inline floating* delta_buffer(const NetSpec* net, floating* work,
                                   Py_ssize_t batch, int which) noexcept nogil:
    return (layer_acts(net, work, batch, net.n_layers)
            + which * batch * max_width(net))


# ---------------------------------------------------------------------------
# Per-sample kernels (online training: batch size 1)
# ---------------------------------------------------------------------------

cdef double sample_forward(const NetSpec* net, const floating* params,
                           const floating* x, const floating* t,
                           floating* work, bint have_z0) noexcept nogil:
    # a_l := f(W_l a_{l-1} + b_l), one dot product per unit over its contiguous
    # row; returns the error of the output against t (0 if t is NULL). With
    # have_z0 the first layer's pre-activations for x are already in place
    # (left there by sample_backward_update's fused pass).
    cdef Py_ssize_t l, n_in, n_out
    cdef const floating* a_in = x
    cdef floating* a
    cdef double err = 0
    for l in range(net.n_layers):
        n_in = net.sizes[l]
        n_out = net.sizes[l + 1]
        a = layer_acts(net, work, 1, l)
        if l > 0 or not have_z0:
            rows_forward(n_out, n_in, net.lds[l], params + net.offsets[l], a_in, a)
        if l < net.n_layers - 1:
            activate_row(net.hidden, n_out, <floating*>NULL, a)
        else:
            err = output_row(net.output, n_out, a, t)
        a_in = a
    return err


# How sample_backward treats each layer's weight rows.
cdef enum Backward:
    BACK_UPDATE = 0         # plain SGD, fused: params -= alpha * gradient
    BACK_ACCUMULATE = 1     # grad += alpha * gradient, params unchanged
    BACK_SOLVER = 2         # the solver's step (momentum, Nesterov, Adam), fused


cdef double sample_backward(const NetSpec* net, floating* params,
                            const floating* x, const floating* t,
                            const floating* weight, int how, floating alpha,
                            floating* grad, const floating* x_next,
                            floating* s1, floating* s2, const void* step,
                            floating* work) noexcept nogil:
    """After sample_forward: backpropagate one sample, from the output down.

    Each layer's weight rows are read once: their old values give the error
    terms of the layer below, and the rows are then updated in place
    (BACK_UPDATE, BACK_SOLVER) or their gradient added to grad
    (BACK_ACCUMULATE) while still in cache; no gradient is stored for an
    update. weight != NULL scales the sample's error terms (a sample
    weight). BACK_UPDATE with x_next != NULL also forms the first layer's
    pre-activations for the next sample in the same sweep (sample_forward's
    have_z0). BACK_SOLVER takes the step's parameters in ``step`` (an
    nn_step_f or nn_step_d) and the solver's state s1, s2, and returns
    ||W||^2 before the step (for the penalty); the others return 0.
    """
    cdef Py_ssize_t l, j, n_in, n_out, off
    cdef floating* delta = delta_buffer(net, work, 1, 0)
    cdef floating* back = delta_buffer(net, work, 1, 1)
    cdef floating* swap
    cdef floating* below
    cdef const floating* a_in
    cdef const floating* a_out = layer_acts(net, work, 1, net.n_layers - 1)
    cdef double sq = 0
    for j in range(net.sizes[net.n_layers]):
        delta[j] = a_out[j] - t[j]          # canonical link: dE/dz = a - t
        if weight != NULL:
            delta[j] = delta[j] * weight[0]
    for l in range(net.n_layers - 1, -1, -1):
        n_in = net.sizes[l]
        n_out = net.sizes[l + 1]
        off = net.offsets[l]
        a_in = x if l == 0 else layer_acts(net, work, 1, l - 1)
        below = back if l > 0 else <floating*>NULL
        if how == BACK_UPDATE:
            if l > 0:
                backprop_update(n_out, n_in, net.lds[l], delta, alpha, a_in,
                                params + off, back)
            else:
                # The first layer has no layer below: update only. Its step
                # sizes go to the buffer the layer below would have used.
                for j in range(n_out):
                    back[j] = alpha * delta[j]
                rows_update(n_out, n_in, net.lds[l], back, a_in, x_next,
                            params + off, layer_acts(net, work, 1, 0))
        elif how == BACK_ACCUMULATE:
            accumulate(n_out, n_in, net.lds[l], delta, alpha, a_in, params + off,
                       grad + off, below)
        elif floating is float:
            sq += nn_active.solver_sample_f(n_out, n_in, net.lds[l], delta, a_in,
                                            params + off, s1 + off,
                                            s2 + off if s2 != NULL else NULL,
                                            below, <const nn_step_f*>step)
        else:
            sq += nn_active.solver_sample_d(n_out, n_in, net.lds[l], delta, a_in,
                                            params + off, s1 + off,
                                            s2 + off if s2 != NULL else NULL,
                                            below, <const nn_step_d*>step)
        if l > 0:
            derivative_rows(net.hidden, 1, n_in, a_in, back, <floating*>NULL)
            swap = delta
            delta = back
            back = swap
    return sq


cdef inline void sample_backward_update(const NetSpec* net, floating* params,
                                        const floating* x, const floating* t,
                                        floating lr, const floating* x_next,
                                        floating* work) noexcept nogil:
    # Online SGD's fused step: params -= lr * this sample's gradient.
    sample_backward(net, params, x, t, <floating*>NULL, BACK_UPDATE, lr,
                    <floating*>NULL, x_next, <floating*>NULL, <floating*>NULL,
                    NULL, work)


cdef inline void sample_backward_accumulate(const NetSpec* net, const floating* params,
                                            const floating* x, const floating* t,
                                            floating alpha, floating* grad,
                                            floating* work) noexcept nogil:
    # grad += alpha * this sample's gradient, params unchanged: the
    # hand-written mini-batch step, where BLAS's cost per call would dominate
    # (rows_beat_blas).
    sample_backward(net, <floating*>params, x, t, <floating*>NULL, BACK_ACCUMULATE,
                    alpha, grad, <floating*>NULL, <floating*>NULL, <floating*>NULL,
                    NULL, work)


cdef double rows_batch_step(const NetSpec* net, floating* params,
                            Py_ssize_t n_params, const floating* X,
                            Py_ssize_t ldx, const floating* T,
                            Py_ssize_t ldt, const Py_ssize_t* rows,
                            Py_ssize_t batch, floating alpha, floating* grad,
                            floating* work) noexcept nogil:
    # One SGD step on a mini-batch, sample by sample with the hand-written
    # loops: gradients from the unchanged weights gathered in grad, then
    # applied (alpha = -learning rate / batch). Returns the batch's summed
    # error (non-finite: params unchanged).
    cdef Py_ssize_t k
    cdef double e, err = 0
    memset(grad, 0, n_params * sizeof(floating))
    for k in range(batch):
        e = sample_forward(net, params, X + rows[k] * ldx, T + rows[k] * ldt,
                           work, False)
        err += e
        if not isfinite(e):
            return err
        sample_backward_accumulate(net, params, X + rows[k] * ldx,
                                   T + rows[k] * ldt, alpha, grad, work)
    axpy(n_params, <floating>1, grad, params)
    return err


# ---------------------------------------------------------------------------
# Batch kernel (mini-batches, inference, loss and gradients) through BLAS
# ---------------------------------------------------------------------------

ctypedef struct CsrRows:
    # A batch of rows of a CSR matrix, read where they are: sample k's entries
    # are values[p] in columns indices[p], p in [bounds[2k], bounds[2k + 1]).
    const void* values          # float or double: the dtype of the call
    const Py_ssize_t* indices
    const Py_ssize_t* bounds


cdef void csr_times_wt(const CsrRows* csr, Py_ssize_t batch, Py_ssize_t n_out,
                       const floating* W, Py_ssize_t ldw,
                       floating* Z) noexcept nogil:
    # Z (batch, n_out) += X W^T for the batch's CSR rows X: one column of W
    # (stride ldw) per stored entry, so the cost is the entries times n_out
    # whatever the number of input columns, and nothing is densified.
    cdef const floating* values = <const floating*>csr.values
    cdef Py_ssize_t k, p, j, i
    cdef floating v
    cdef floating* z
    for k in range(batch):
        z = Z + k * n_out
        for p in range(csr.bounds[2 * k], csr.bounds[2 * k + 1]):
            v = values[p]
            i = csr.indices[p]
            for j in range(n_out):
                z[j] += v * W[j * ldw + i]


cdef void csr_scatter(const CsrRows* csr, Py_ssize_t batch, Py_ssize_t n_out,
                      floating alpha, const floating* delta, floating* G,
                      Py_ssize_t ldg) noexcept nogil:
    # G (n_out, ldg) += alpha delta^T X for the batch's CSR rows X: only the
    # columns of G named by the batch's entries are touched.
    cdef const floating* values = <const floating*>csr.values
    cdef Py_ssize_t k, p, j, i
    cdef floating v
    cdef const floating* d
    for k in range(batch):
        d = delta + k * n_out
        for p in range(csr.bounds[2 * k], csr.bounds[2 * k + 1]):
            v = alpha * values[p]
            i = csr.indices[p]
            for j in range(n_out):
                G[j * ldg + i] += v * d[j]


cdef double batch_pass(const NetSpec* net, floating* params,
                       const floating* X, Py_ssize_t ldx, const floating* T,
                       const floating* sw, const Py_ssize_t* rows,
                       Py_ssize_t batch, int mode,
                       floating alpha, floating* target, floating* out,
                       floating* work, const CsrRows* csr) noexcept nogil:
    """Forward a batch and, for MODE_BACKWARD, add alpha * gradient to target.

    Sample k of the batch is row rows[k] of X (and of T and sw), or row k
    when rows is NULL. With csr != NULL the inputs are its sparse rows
    instead (rows must be NULL, X is not read, and work may lack the gather
    block: sparse_workspace_size); the first layer's products then stay
    sparse. With sw != NULL each sample's error terms are weighted
    by sw, and so is the returned error. The gradient is that of the summed
    error; target may be params itself (in-place update: alpha = -lr /
    batch), or a gradient buffer of the same layout. Each layer's error for the layer below is computed from its
    weights before they change. With out != NULL the output activations are
    written there (batch, n_out). Returns the summed error (0 in MODE_FORWARD).
    """
    cdef Py_ssize_t L = net.n_layers
    cdef Py_ssize_t width = max_width(net)
    cdef Py_ssize_t l, i, j, k, n_in, n_out, lda
    cdef bint consecutive = True
    cdef const floating* a_in
    cdef const floating* a_0        # the batch's input rows, and their stride
    cdef Py_ssize_t ld_0
    cdef const floating* trow
    cdef floating* vec = delta_buffer(net, work, batch, 2)
    cdef floating* gather = vec + width
    cdef floating* delta = delta_buffer(net, work, batch, 0)
    cdef floating* back = delta_buffer(net, work, batch, 1)
    cdef floating* swap
    cdef floating* z
    cdef floating* W
    cdef floating v
    cdef double err = 0
    cdef bint check_z0 = mode == MODE_FORWARD_CHECKED
    if check_z0:
        mode = MODE_FORWARD

    # Input rows: used in place when they are consecutive in X (no shuffle),
    # otherwise copied once into a contiguous block for BLAS.
    if csr != NULL:
        a_0 = NULL
        ld_0 = 0
    elif rows != NULL:
        for k in range(1, batch):
            if rows[k] != rows[0] + k:
                consecutive = False
                break
        if consecutive:
            a_0 = X + rows[0] * ldx
            ld_0 = ldx
        else:
            for k in range(batch):
                memcpy(gather + k * net.sizes[0], X + rows[k] * ldx,
                       net.sizes[0] * sizeof(floating))
            a_0 = gather
            ld_0 = net.sizes[0]
    else:
        a_0 = X
        ld_0 = ldx
    a_in = a_0
    lda = ld_0

    # Forward: Z = b + A W^T, the bias rows being gemm's C (beta = 1), then
    # the activation. So BLAS does not zero C first (OpenBLAS does that a
    # column at a time, a tenth of a small network's step) and no pass adds
    # the bias afterwards.
    for l in range(L):
        n_in = net.sizes[l]
        n_out = net.sizes[l + 1]
        W = params + net.offsets[l]
        z = out if (l == L - 1 and out != NULL) else layer_acts(net, work, batch, l)
        for j in range(n_out):
            vec[j] = W[j * net.lds[l] + n_in]
        for k in range(batch):
            memcpy(z + k * n_out, vec, n_out * sizeof(floating))
        if l == 0 and csr != NULL:
            csr_times_wt(csr, batch, n_out, W, net.lds[0], z)
        else:
            gemm(False, True, <int>batch, <int>n_out, <int>n_in, <floating>1,
                 a_in, <int>lda, W, <int>net.lds[l], <floating>1, z, <int>n_out)
        if check_z0 and l == 0 and not all_finite(batch * n_out, z):
            # A NaN or infinity in the inputs reaches every pre-activation
            # of its row (inf * 0 is NaN): checking Z, already in cache,
            # stands in for a pass over the much wider inputs. The caller
            # tells a bad input from a finite one that overflowed.
            return NAN
        if l < L - 1:
            activate_rows(net.hidden, batch, n_out, <floating*>NULL, z)
        else:
            for k in range(batch):
                trow = NULL
                if mode != MODE_FORWARD:
                    trow = T + (rows[k] if rows != NULL else k) * n_out
                if sw != NULL and trow != NULL:
                    err += sw[rows[k] if rows != NULL else k] * output_row(
                        net.output, n_out, z + k * n_out, trow)
                else:
                    err += output_row(net.output, n_out, z + k * n_out, trow)
        a_in = z
        lda = n_out
    if mode != MODE_BACKWARD:
        return err

    # Output error terms and their column sums (the bias gradient) in one pass.
    n_out = net.sizes[L]
    memset(vec, 0, n_out * sizeof(floating))
    for k in range(batch):
        trow = T + (rows[k] if rows != NULL else k) * n_out
        for j in range(n_out):
            v = a_in[k * n_out + j] - trow[j]
            if sw != NULL:
                v = v * sw[rows[k] if rows != NULL else k]
            delta[k * n_out + j] = v
            vec[j] += v

    for l in range(L - 1, -1, -1):
        n_in = net.sizes[l]
        n_out = net.sizes[l + 1]
        W = params + net.offsets[l]
        if l > 0:
            a_in = layer_acts(net, work, batch, l - 1)
            lda = n_in
        else:
            a_in = a_0
            lda = ld_0
        for j in range(n_out):
            target[net.offsets[l] + j * net.lds[l] + n_in] += alpha * vec[j]
        if l > 0:
            # Error for the layer below from the old weights, then the
            # derivative and the next bias gradient in one pass.
            # (C zeroed here in one call rather than by BLAS, as above.)
            memset(back, 0, batch * n_in * sizeof(floating))
            gemm(False, False, <int>batch, <int>n_in, <int>n_out, <floating>1,
                 delta, <int>n_out, W, <int>net.lds[l], <floating>1, back,
                 <int>n_in)
            derivative_rows(net.hidden, batch, n_in, a_in, back, vec)
        # Weights: target += alpha delta^T A, written straight into target.
        if l == 0 and csr != NULL:
            csr_scatter(csr, batch, n_out, alpha, delta, target + net.offsets[0],
                        net.lds[0])
        else:
            gemm(True, False, <int>n_out, <int>n_in, <int>batch, alpha,
                 delta, <int>n_out, a_in, <int>lda, <floating>1,
                 target + net.offsets[l], <int>net.lds[l])
        swap = delta
        delta = back
        back = swap
    return err


# ---------------------------------------------------------------------------
# Measured crossover of mini-batch training: row loops or BLAS
# ---------------------------------------------------------------------------

cdef bint rows_beat_blas(const NetSpec* net, floating* params, const floating* X,
                         Py_ssize_t ldx, const floating* T, Py_ssize_t ldt,
                         const Py_ssize_t* rows, Py_ssize_t batch, floating* grad,
                         floating* work) except -1:
    """Whether a batch's gradient is formed faster sample by sample through
    the row loops than by BLAS, measured once per process for each shape,
    codes, dtype, batch size and BLAS threads (cached in _train_rows_cache) on the
    caller's own buffers: the parameters (read), the first batch of the
    caller's rows of X and T (rows == NULL: the first rows), grad (written:
    scratch of the parameters' size, which the row path needs anyway) and
    work (sized for the batch). The row loops' cost is linear in the
    samples, so they are timed on a few and scaled."""
    cdef Py_ssize_t sample = min(batch, 16), blas_rows
    cdef double by_rows, by_blas
    cdef bytes shape = (<char*>net.sizes)[:(net.n_layers + 1) * sizeof(Py_ssize_t)]
    cdef int hidden = net.hidden, output = net.output
    cdef bint is_double = floating is double
    key = (shape, hidden, output, is_double, batch, blas_threads)
    cdef Py_ssize_t n_params = 0, l
    cached = _train_rows_cache.get(key)
    if cached is not None:
        return cached
    for l in range(net.n_layers):
        n_params += net.sizes[l + 1] * net.lds[l]
    # Zeros, not whatever the scratch held: subnormals or NaNs would time
    # another path through the arithmetic.
    memset(grad, 0, n_params * sizeof(floating))
    # BLAS once on the whole batch and the rows on one sample; only when the
    # two are within a factor of 2 (noise could then decide) is each measured
    # again, the rows on up to 16 samples. So a clear case costs about one
    # step, whatever the network.
    # BLAS on at most a split step's rows (STEP_SPLIT_WORK), scaled like the
    # rows: no measurement holds off Ctrl-C for longer than a sub-batch.
    blas_rows = min(batch, max(1, STEP_SPLIT_WORK // (3 * n_params)))
    by_blas = time_gradient(net, params, X, ldx, T, ldt, rows, blas_rows, False, 1,
                            grad, work) * batch / blas_rows
    by_rows = time_gradient(net, params, X, ldx, T, ldt, rows, 1, True, 1,
                            grad, work) * batch
    if 0.5 * by_rows < by_blas < 2 * by_rows:
        by_rows = min(by_rows, time_gradient(net, params, X, ldx, T, ldt, rows,
                                             sample, True, 3, grad, work)
                      * batch / sample)
        by_blas = min(by_blas, time_gradient(net, params, X, ldx, T, ldt, rows,
                                             blas_rows, False, 2, grad, work)
                      * batch / blas_rows)
    _train_rows_cache[key] = by_rows < by_blas
    return by_rows < by_blas


cdef bint train_by_rows(const NetSpec* net, floating[::1] params,
                        const floating[:, ::1] X, const floating[:, ::1] T,
                        floating[::1] grad, floating[::1] work) except -1:
    # rows_beat_blas on arrays (Model.train_by_rows: tests and benchmarks).
    return rows_beat_blas(net, &params[0], &X[0, 0], X.shape[1], &T[0, 0],
                          T.shape[1], <Py_ssize_t*>NULL, X.shape[0], &grad[0],
                          &work[0])


cdef double time_gradient(const NetSpec* net, floating* params,
                          const floating* X, Py_ssize_t ldx, const floating* T,
                          Py_ssize_t ldt, const Py_ssize_t* rows, Py_ssize_t count,
                          bint by_rows, int repeats, floating* grad,
                          floating* work) except -1:
    # Best of repeats: the gradient of count rows into grad.
    cdef double best = 1e300, start
    cdef int repeat
    cdef Py_ssize_t k, r
    for repeat in range(repeats):
        start = _perf_counter()
        with nogil:
            if by_rows:
                for k in range(count):
                    r = rows[k] if rows != NULL else k
                    sample_forward(net, params, X + r * ldx, T + r * ldt, work, False)
                    sample_backward_accumulate(net, params, X + r * ldx, T + r * ldt,
                                               <floating>1, grad, work)
            else:
                batch_pass(net, params, X, ldx, T, <floating*>NULL, rows, count,
                           MODE_BACKWARD, <floating>1, grad, <floating*>NULL, work,
                           <CsrRows*>NULL)
        best = min(best, _perf_counter() - start)
    return best


# ---------------------------------------------------------------------------
# Private entry points (called only from nncore.network, after validation)
# ---------------------------------------------------------------------------

cdef NetSpec make_spec(const Py_ssize_t[:, ::1] layout, int hidden, int output,
                       Py_ssize_t n_params) except *:
    # layout rows: sizes (n_layers + 1 entries), offsets and lds (n_layers
    # entries each, padded with a 0). The cheap checks that the disabled
    # bounds checks would have made.
    cdef NetSpec net
    cdef Py_ssize_t l, expected = 0
    if layout.shape[0] != 3 or layout.shape[1] < 2:
        raise ValueError("inconsistent network layout")
    for l in range(layout.shape[1]):
        if layout[0, l] < 1:
            raise ValueError("layer sizes must be positive")
    for l in range(layout.shape[1] - 1):
        if layout[1, l] != expected:
            raise ValueError("parameter offsets do not match the layer sizes")
        if layout[2, l] < layout[0, l] + 1:
            raise ValueError("row stride shorter than a row")
        expected += layout[0, l + 1] * layout[2, l]
    if expected != n_params:
        raise ValueError(f"parameter buffer has {n_params} entries, "
                         f"the layout needs {expected}")
    if hidden not in (ACT_IDENTITY, ACT_SIGMOID, ACT_TANH, ACT_RELU):
        raise ValueError(f"unknown activation code {hidden}")
    if output not in (OUT_IDENTITY, OUT_SIGMOID, OUT_SOFTMAX, OUT_EXP):
        raise ValueError(f"unknown output code {output}")
    net.n_layers = layout.shape[1] - 1
    net.sizes = &layout[0, 0]
    net.offsets = &layout[1, 0]
    net.lds = &layout[2, 0]
    net.hidden = hidden
    net.output = output
    return net


cdef check_work(const NetSpec* net, Py_ssize_t batch, Py_ssize_t n_work):
    if batch < 1:
        raise ValueError("batch must be positive")
    if n_work < workspace_size(net, batch):
        raise ValueError(f"workspace has {n_work} entries, "
                         f"needs {workspace_size(net, batch)}")


cdef check_cols(Py_ssize_t n_cols, Py_ssize_t expected, str name):
    if n_cols != expected:
        raise ValueError(f"{name} has {n_cols} columns, expected {expected}")


def _codes():
    """The integer codes of _defs.pxd, for nncore._params to check against."""
    return {
        "identity": ACT_IDENTITY, "sigmoid": ACT_SIGMOID, "tanh": ACT_TANH,
        "relu": ACT_RELU,
    }, {
        "identity": OUT_IDENTITY, "sigmoid": OUT_SIGMOID, "softmax": OUT_SOFTMAX,
    }


def _variants():
    """Instruction sets whose C loops were compiled in, baseline first."""
    cdef const nn_kernels* tables[3]
    tables[0] = &nn_kernels_baseline
    tables[1] = &nn_kernels_avx2
    tables[2] = &nn_kernels_avx512
    return [t.name.decode() for t in tables if t.name != NULL]


def _select(str name):
    """Call the C loops compiled for ``name`` from now on (nncore._dispatch
    checks first that the CPU runs them). Not for use while other threads
    are inside the core."""
    if nn_select(name.encode()) != 0:
        raise ValueError(f"no C loops compiled for {name!r}; compiled: {_variants()}")


def _selected():
    """The instruction set whose C loops are in use."""
    return nn_active.name.decode()


def _all_finite(const floating[::1] values):
    """True if no entry of ``values`` is NaN or infinite (one vectorised pass)."""
    cdef bint finite = True
    if values.shape[0] > 0:
        with nogil:
            finite = all_finite(values.shape[0], &values[0])
    return finite


def _workspace_size(const Py_ssize_t[:, ::1] layout, Py_ssize_t batch):
    """Entries of work space needed for batches of up to ``batch`` samples."""
    cdef NetSpec net
    if layout.shape[0] != 3 or layout.shape[1] < 2:
        raise ValueError("inconsistent network layout")
    net.n_layers = layout.shape[1] - 1
    net.sizes = &layout[0, 0]
    return workspace_size(&net, batch)


def _loss_grad(floating[::1] params, const Py_ssize_t[:, ::1] layout,
               int hidden, int output,
               const floating[:, ::1] X, const floating[:, ::1] T,
               floating[::1] grad, bint want_grad,
               floating[::1] work, Py_ssize_t batch):
    """Return the summed error over X; with want_grad, grad := its mean gradient.

    Rows are processed ``batch`` at a time; gradients accumulate into grad.
    """
    cdef NetSpec net = make_spec(layout, hidden, output, params.shape[0])
    cdef Py_ssize_t n = X.shape[0], start = 0, todo
    cdef floating alpha
    cdef double err = 0
    check_work(&net, batch, work.shape[0])
    check_cols(X.shape[1], net.sizes[0], "X")
    check_cols(T.shape[1], net.sizes[net.n_layers], "T")
    if T.shape[0] != n or n < 1:
        raise ValueError("X and T must have the same, positive number of rows")
    if want_grad and grad.shape[0] != params.shape[0]:
        raise ValueError("grad must have the layout of params")
    alpha = <floating>(1.0 / n)
    if want_grad:
        memset(&grad[0], 0, grad.shape[0] * sizeof(floating))
    while start < n:
        todo = min(batch, n - start)
        with nogil:
            err += batch_pass(&net, &params[0], &X[start, 0], X.shape[1],
                              &T[start, 0], <floating*>NULL, <Py_ssize_t*>NULL, todo,
                              MODE_BACKWARD if want_grad else MODE_LOSS,
                              alpha, &grad[0] if want_grad else <floating*>NULL,
                              <floating*>NULL, &work[0], <CsrRows*>NULL)
        start += todo
        PyErr_CheckSignals()
    return err


cdef tuple split_steps(const NetSpec* net, floating* params, Py_ssize_t n_params,
                       const floating[:, ::1] X, const floating[:, ::1] T,
                       const Py_ssize_t[::1] order, Py_ssize_t batch,
                       Py_ssize_t split, double lr, bint by_rows, floating* grad,
                       floating* backup, floating* work):
    # _train_epoch's large steps, each formed in sub-batches of up to split
    # samples (STEP_SPLIT_WORK) into grad, by the row loops or by BLAS,
    # Ctrl-C checked between them, then applied. An interrupted step leaves params at the last completed one; a
    # non-finite error or weight restores the step's start (backup).
    cdef Py_ssize_t n = order.shape[0], pos = 0, todo, off, sub, k
    cdef double err, e, step_total, total = 0
    cdef int status = STATUS_OK
    while pos < n:
        todo = min(batch, n - pos)
        step_total = 0
        off = 0
        memset(grad, 0, n_params * sizeof(floating))
        while off < todo:
            sub = min(split, todo - off)
            with nogil:
                if by_rows:
                    err = 0
                    for k in range(pos + off, pos + off + sub):
                        e = sample_forward(net, params, &X[order[k], 0], &T[order[k], 0],
                                           work, False)
                        err += e
                        if not isfinite(e):
                            break
                        sample_backward_accumulate(net, params, &X[order[k], 0],
                                                   &T[order[k], 0],
                                                   <floating>(-lr / todo), grad, work)
                else:
                    err = batch_pass(net, params, &X[0, 0], X.shape[1], &T[0, 0],
                                     <floating*>NULL, &order[pos + off], sub,
                                     MODE_BACKWARD, <floating>(-lr / todo), grad,
                                     <floating*>NULL, work, <CsrRows*>NULL)
            if not isfinite(err):
                return total, pos, STATUS_NONFINITE
            step_total += err
            off += sub
            PyErr_CheckSignals()
        with nogil:
            memcpy(backup, params, n_params * sizeof(floating))
            axpy(n_params, <floating>1, grad, params)
            if not all_finite(n_params, params):
                memcpy(params, backup, n_params * sizeof(floating))
                status = STATUS_NONFINITE
        if status != STATUS_OK:
            return total, pos, status
        total += step_total
        pos += todo
    return total, pos, status


def _train_epoch(floating[::1] params, const Py_ssize_t[:, ::1] layout,
                 int hidden, int output,
                 const floating[:, ::1] X, const floating[:, ::1] T,
                 const Py_ssize_t[::1] order, Py_ssize_t batch, double lr,
                 floating[::1] work, floating[::1] backup, int path=PATH_AUTO):
    """SGD over the samples in ``order``, ``batch`` at a time, in place.

    Returns ``(error_sum, n_done, status)``: the summed error of the samples
    done (each computed before its batch's update), how many were done, and
    STATUS_NONFINITE if a non-finite error or weight stopped training.
    Training runs in chunks of about WORK_PER_CHUNK multiply-adds; before each
    chunk params (finite on entry, as the caller checks) is copied to backup;
    a non-finite error, or a non-finite weight at the end of the chunk,
    restores that copy and n_done is then the chunk's start. So params always
    holds the result of a completed, finite step. Ctrl-C between chunks
    raises KeyboardInterrupt with params at the last completed step.
    Mini-batches go sample by sample through the hand-written loops or
    through BLAS, whichever was measured faster here (rows_beat_blas);
    ``path`` forces one (PATH_BLAS, PATH_ROWS).
    """
    cdef NetSpec net = make_spec(layout, hidden, output, params.shape[0])
    cdef Py_ssize_t n = order.shape[0], n_rows = X.shape[0]
    cdef Py_ssize_t n_params = params.shape[0]
    cdef Py_ssize_t k, pos = 0, start, todo, step, steps_per_chunk
    cdef int status = STATUS_OK
    cdef bint have_z0
    cdef const floating* x_next
    cdef double err, total = 0, chunk_total
    cdef floating rate = <floating>lr
    cdef Py_ssize_t split
    cdef bint by_rows
    cdef floating* grad = NULL
    check_work(&net, batch, work.shape[0])
    check_cols(X.shape[1], net.sizes[0], "X")
    check_cols(T.shape[1], net.sizes[net.n_layers], "T")
    if T.shape[0] != n_rows:
        raise ValueError("X and T must have the same number of rows")
    if backup.shape[0] != n_params:
        raise ValueError("backup must have the layout of params")
    for k in range(n):
        if order[k] < 0 or order[k] >= n_rows:
            raise ValueError(f"order[{k}] = {order[k]} is not a row of X")
    # A step costs about three multiply-adds per weight and sample: forward,
    # error for the layer below, update.
    steps_per_chunk = max(1, WORK_PER_CHUNK // (3 * n_params * batch))
    by_rows = path == PATH_ROWS
    if batch > 1 and n > 1 and path == PATH_AUTO:
        # backup is scratch until the first chunk copies params into it.
        by_rows = rows_beat_blas(&net, &params[0], &X[0, 0], X.shape[1], &T[0, 0],
                                 T.shape[1], &order[0], min(batch, n), &backup[0],
                                 &work[0])
    split = max(1, STEP_SPLIT_WORK // (3 * n_params))
    if batch > 1 and (by_rows or min(batch, n) > split):
        grad = <floating*>malloc(n_params * sizeof(floating))
        # Without room for the rows' gradient, BLAS (which needs none) trains
        # (and then in whole steps).
        if grad == NULL and path == PATH_ROWS:
            raise MemoryError("no memory for the mini-batch gradient")
    try:
        if min(batch, n) > split and grad != NULL:
            total, pos, status = split_steps(&net, &params[0], n_params, X, T, order,
                                             batch, split, lr, by_rows, grad,
                                             &backup[0], &work[0])
            return total, pos, status
        while pos < n and status == STATUS_OK:
            with nogil:
                memcpy(&backup[0], &params[0], n_params * sizeof(floating))
                start = pos
                chunk_total = 0
                have_z0 = False
                for step in range(steps_per_chunk):
                    if pos >= n:
                        break
                    todo = min(batch, n - pos)
                    if todo == 1:
                        # Online training pipelines the first layer: its update
                        # for this sample and its forward pass for the next one
                        # share one sweep over its weights (within the chunk).
                        x_next = NULL
                        if batch == 1 and pos + 1 < n and step + 1 < steps_per_chunk:
                            x_next = &X[order[pos + 1], 0]
                        err = sample_forward(&net, &params[0], &X[order[pos], 0],
                                             &T[order[pos], 0], &work[0], have_z0)
                        if isfinite(err):
                            sample_backward_update(&net, &params[0], &X[order[pos], 0],
                                                   &T[order[pos], 0], rate, x_next,
                                                   &work[0])
                        have_z0 = x_next != NULL
                    elif grad != NULL:
                        err = rows_batch_step(&net, &params[0], n_params, &X[0, 0],
                                              X.shape[1], &T[0, 0], T.shape[1],
                                              &order[pos], todo,
                                              <floating>(-lr / todo), grad,
                                              &work[0])
                    else:
                        err = batch_pass(&net, &params[0], &X[0, 0], X.shape[1],
                                         &T[0, 0], <floating*>NULL, &order[pos], todo, MODE_BACKWARD,
                                         <floating>(-lr / todo), &params[0],
                                         <floating*>NULL, &work[0], <CsrRows*>NULL)
                    if not isfinite(err):
                        status = STATUS_NONFINITE
                        break
                    chunk_total += err
                    pos += todo
                # An update can overflow the weights while the error before it
                # was finite: check the weights once per chunk.
                if status == STATUS_OK and not all_finite(n_params, &params[0]):
                    status = STATUS_NONFINITE
                if status != STATUS_OK:
                    memcpy(&params[0], &backup[0], n_params * sizeof(floating))
                    pos = start
                else:
                    total += chunk_total
            if status == STATUS_OK:
                PyErr_CheckSignals()
    finally:
        free(grad)
    return total, pos, status


def _bench_weight_traffic(floating[::1] params, const Py_ssize_t[:, ::1] layout,
                          const floating[:, ::1] X, floating[::1] work, double step,
                          bint update):
    """The batch-1 ceiling for the benchmarks: per sample and layer, one
    forward sweep (rows_forward) and, with ``update``, one separate update
    sweep (rows_update) over the layer's weights, and nothing else (no
    activation, error or backpropagation). params moves by ``step``; work
    needs 3 * max(sizes[1:]) entries. Online training can beat this bound: it
    fuses its first layer's update with the next sample's forward sweep."""
    cdef NetSpec net = make_spec(layout, ACT_IDENTITY, OUT_IDENTITY, params.shape[0])
    cdef Py_ssize_t k, l, j, width = max_width(&net)
    cdef const floating* a_in
    cdef floating* z
    check_cols(X.shape[1], net.sizes[0], "X")
    if work.shape[0] < 3 * width:
        raise ValueError(f"work needs {3 * width} entries")
    with nogil:
        for j in range(width):
            work[j] = <floating>step
        for k in range(X.shape[0]):
            a_in = &X[k, 0]
            for l in range(net.n_layers):
                z = &work[width * (1 + l % 2)]
                rows_forward(net.sizes[l + 1], net.sizes[l], net.lds[l],
                             &params[net.offsets[l]], a_in, z)
                if update:
                    rows_update(net.sizes[l + 1], net.sizes[l], net.lds[l],
                                &work[0], a_in, <floating*>NULL,
                                &params[net.offsets[l]], <floating*>NULL)
                a_in = z


# ---------------------------------------------------------------------------
# The compiled model: the lean inference path
# ---------------------------------------------------------------------------

# Rows per BLAS pass in forward. Measured on [784, 128, 10] float32 (one
# thread): OpenBLAS's gemm alone runs ~590k rows/s in passes of 256 rows and
# ~630k in passes of 1024 (it packs the weights once per call).
cdef Py_ssize_t FORWARD_ROWS = 1024
# The same for nncore.sklearn's L-BFGS, which reads it from here.
ROWS_PER_PASS = FORWARD_ROWS

# Inference path for a call: row by row through the hand-written
# matrix-vector loops, or BLAS gemm per layer over FORWARD_ROWS rows. One row
# is a matrix-vector product and always goes by rows (gemm with one row packs
# the whole weight matrix on every call: 29 us against 7.6 us for the loops'
# equivalent, sgemv, on a 784 x 128 layer of an AVX2-only EPYC). Above one
# row the crossover depends on the CPU and its BLAS kernels, so it is
# measured once per process for each network shape and dtype, on first use
# (Model.calibrate_rows), among 2, 4, ..., CALIBRATE_MAX_ROWS rows; calls of
# more rows go through gemm, which reads each weight once per call where the
# loops read it once per row.
cdef Py_ssize_t CALIBRATE_MAX_ROWS = 64

# Calibrated crossovers of this process, by network shape and dtype.
cdef dict _rows_max_cache = {}


cdef int forward_rows(const NetSpec* net, Py_ssize_t n_params,
                      floating* params, const floating* X, Py_ssize_t n,
                      floating* out, bint per_row, floating* work) except -1:
    # out := network output for the n rows of X (C-contiguous), in chunks of
    # about WORK_PER_CHUNK multiply-adds with the GIL released, Ctrl-C
    # checked between chunks. Non-finite inputs are found row by row on the
    # per-row path, and through the first layer's sums on the BLAS path;
    # returns 1 (out incomplete) at the first non-finite value, 0 when done.
    # work holds workspace_size(net, forward_batch(n, per_row)) entries.
    cdef Py_ssize_t L = net.n_layers, n_in = net.sizes[0]
    cdef Py_ssize_t n_out = net.sizes[L]
    cdef Py_ssize_t batch = forward_batch(n, per_row)
    cdef Py_ssize_t per_chunk = max(batch, WORK_PER_CHUNK // n_params)
    cdef Py_ssize_t start = 0, stop, k, todo
    cdef bint finite = True
    while start < n and finite:
        stop = min(n, start + per_chunk)
        with nogil:
            k = start
            while k < stop:
                todo = 1 if per_row else min(batch, stop - k)
                if per_row:
                    if not all_finite(n_in, X + k * n_in):
                        finite = False
                        break
                    sample_forward(net, params, X + k * n_in, <floating*>NULL,
                                   work, False)
                    memcpy(out + k * n_out, layer_acts(net, work, 1, L - 1),
                           n_out * sizeof(floating))
                elif isnan(batch_pass(net, params, X + k * n_in, n_in,
                                      <floating*>NULL, <floating*>NULL,
                                      <Py_ssize_t*>NULL, todo,
                                      MODE_FORWARD_CHECKED, 0, <floating*>NULL,
                                      out + k * n_out, work, <CsrRows*>NULL)):
                    # Non-finite first-layer sums: bad inputs, or finite
                    # inputs large enough to overflow them.
                    if not all_finite(todo * n_in, X + k * n_in):
                        finite = False
                        break
                    batch_pass(net, params, X + k * n_in, n_in,
                               <floating*>NULL, <floating*>NULL,
                               <Py_ssize_t*>NULL, todo, MODE_FORWARD, 0, <floating*>NULL,
                               out + k * n_out, work, <CsrRows*>NULL)
                k += todo
        start = stop
        PyErr_CheckSignals()
    return 0 if finite else 1


cdef inline Py_ssize_t forward_batch(Py_ssize_t n, bint per_row) noexcept nogil:
    return 1 if per_row else min(n, FORWARD_ROWS)


cdef class Model:
    """The compiled side of a network: its parameter buffer, layout and codes.

    Built once per network (the layout is checked here, once) and holding
    references to the buffers, so that calls pay no argument conversion.
    ``forward`` is the inference path; it is safe to call from many threads
    at once.
    """
    cdef readonly cnp.ndarray params
    cdef object table
    cdef NetSpec net
    cdef int typenum
    cdef Py_ssize_t n_params, row_work
    # Most rows a forward call takes by rows (-1: not measured yet), as
    # measured with rows_limit_threads BLAS threads (the cache's key).
    cdef Py_ssize_t rows_limit
    cdef int rows_limit_threads
    # One work space kept between forward calls (fresh pages from the OS
    # cost about a tenth of a batch-1024 call), lent to one call at a time;
    # a call that finds it lent out allocates its own. Taken and returned
    # with the GIL held, so the flag needs no other lock.
    cdef void* work
    cdef size_t work_bytes
    cdef bint work_lent

    def __dealloc__(self):
        free(self.work)

    cdef void* borrow_work(self, size_t n_bytes) except NULL:
        cdef void* fresh
        if self.work_lent:
            fresh = malloc(n_bytes)
        else:
            if self.work_bytes < n_bytes:
                free(self.work)
                self.work_bytes = 0
                self.work = malloc(n_bytes)
                if self.work != NULL:
                    self.work_bytes = n_bytes
            fresh = self.work
            self.work_lent = fresh != NULL
        if fresh == NULL:
            raise MemoryError("no memory for the forward pass's work space")
        return fresh

    cdef void give_back_work(self, void* work):
        if work == self.work:
            self.work_lent = False
        else:
            free(work)

    def __cinit__(self, cnp.ndarray params not None, layout not None,
                  int hidden, int output):
        cdef Py_ssize_t l
        if (cnp.PyArray_NDIM(params) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(params)
                or not cnp.PyArray_ISBEHAVED(params)
                or cnp.PyArray_TYPE(params) not in (cnp.NPY_FLOAT, cnp.NPY_DOUBLE)):
            raise ValueError("params must be a writeable, aligned, native, "
                             "contiguous 1-D float32 or float64 array")
        # A private copy of the layout: the spec points into it.
        self.table = cnp.PyArray_FROMANY(layout, cnp.NPY_INTP, 2, 2,
                                         cnp.NPY_ARRAY_C_CONTIGUOUS
                                         | cnp.NPY_ARRAY_ENSURECOPY
                                         | cnp.NPY_ARRAY_ALIGNED)
        self.net = make_spec(self.table, hidden, output, params.shape[0])
        self.params = params
        self.typenum = cnp.PyArray_TYPE(params)
        self.n_params = params.shape[0]
        self.row_work = 0
        for l in range(self.net.n_layers):
            self.row_work += self.net.sizes[l] * self.net.sizes[l + 1]
        self.rows_limit = -1

    @property
    def rows_max(self):
        """Most rows a ``forward`` call takes through the row loops (BLAS above),
        measured on first use (see calibrate_rows)."""
        return self.forward_rows_max()

    cdef Py_ssize_t forward_rows_max(self) except -1:
        # rows_max for the BLAS threads now in effect: a model used with
        # other threads before takes this count's measurement, not its own.
        if self.rows_limit < 0 or self.rows_limit_threads != blas_threads:
            self.rows_limit = self.calibrate_rows()
            self.rows_limit_threads = blas_threads
        return self.rows_limit

    cdef Py_ssize_t calibrate_rows(self) except -1:
        # The largest k in 1, 2, 4, ..., CALIBRATE_MAX_ROWS for which the row
        # loops beat gemm on k rows (best of 3, synthetic inputs in [0, 1)),
        # cached for the process by shape and dtype. The row loops' cost is
        # linear in the rows, so it is measured once, on 8 rows.
        cdef Py_ssize_t k, rows_max = 1
        cdef double per_row
        key = (tuple([self.net.sizes[l] for l in range(self.net.n_layers + 1)]),
               self.typenum, self.net.hidden, self.net.output, blas_threads)
        cached = _rows_max_cache.get(key)
        if cached is not None:
            return cached
        X = _np.random.default_rng(0).random((CALIBRATE_MAX_ROWS, self.net.sizes[0]))
        X = _np.ascontiguousarray(X, dtype=self.params.dtype)
        per_row = self.best_time(X[:8], True) / 8
        k = 2
        while k <= CALIBRATE_MAX_ROWS:
            if self.best_time(X[:k], False) < k * per_row:
                break
            rows_max = k
            k *= 2
        _rows_max_cache[key] = rows_max
        return rows_max

    cdef double best_time(self, cnp.ndarray X, bint per_row) except -1:
        cdef double best = 1e300, start
        cdef int repeat
        for repeat in range(3):
            start = _perf_counter()
            self.run(X, per_row)
            best = min(best, _perf_counter() - start)
        return best

    def train_by_rows(self, Py_ssize_t batch):
        """Whether mini-batches of ``batch`` samples train sample by sample
        through the row loops (True) or by BLAS (measured on first use)."""
        if batch < 1:
            raise ValueError("batch must be positive")
        if batch == 1:
            return True
        rng = _np.random.default_rng(0)
        X = _np.ascontiguousarray(rng.random((batch, self.net.sizes[0])),
                                  dtype=self.params.dtype)
        T = _np.zeros((batch, self.net.sizes[self.net.n_layers]), dtype=self.params.dtype)
        T[:, 0] = 1
        grad = _np.empty_like(self.params)
        work = _np.empty(workspace_size(&self.net, batch), dtype=self.params.dtype)
        if self.typenum == cnp.NPY_DOUBLE:
            return train_by_rows[double](&self.net, self.params, X, T, grad, work)
        return train_by_rows[float](&self.net, self.params, X, T, grad, work)

    @property
    def work_per_row(self):
        """Multiply-adds of one sample's forward pass."""
        return self.row_work

    def forward(self, X, int path=PATH_AUTO):
        """Network output for X, or None if X is not ready for the core.

        X is used in place when it is an ndarray of the model's dtype,
        2-D with at least one row and the right number of columns,
        C-contiguous, aligned, in native byte order, with only finite values
        (checked as the rows are used); otherwise None is returned
        and no result (the caller then validates and converts X, or says
        what is wrong with it). ``path``: PATH_AUTO chooses by the rows
        (rows_max), PATH_BLAS and PATH_ROWS force one (tests, benchmarks).
        """
        cdef cnp.ndarray A
        cdef Py_ssize_t n, n_cols
        cdef bint per_row
        if not cnp.PyArray_Check(X):
            return None
        A = <cnp.ndarray>X
        if (cnp.PyArray_TYPE(A) != self.typenum or cnp.PyArray_NDIM(A) != 2
                or not cnp.PyArray_IS_C_CONTIGUOUS(A)
                or not cnp.PyArray_ISBEHAVED_RO(A)):
            return None
        n = cnp.PyArray_DIM(A, 0)
        n_cols = cnp.PyArray_DIM(A, 1)
        if n < 1 or n_cols != self.net.sizes[0]:
            return None
        if path == PATH_AUTO:
            per_row = n == 1
            if 1 < n <= CALIBRATE_MAX_ROWS:
                per_row = n <= self.forward_rows_max()
        else:
            per_row = path == PATH_ROWS
        return self.run(A, per_row)

    cdef object run(self, cnp.ndarray A, bint per_row):
        # forward's work on an input it has accepted.
        cdef cnp.ndarray out
        cdef Py_ssize_t n = cnp.PyArray_DIM(A, 0)
        cdef cnp.npy_intp dims[2]
        cdef int status
        cdef size_t item
        cdef void* work
        dims[0] = n
        dims[1] = self.net.sizes[self.net.n_layers]
        out = cnp.PyArray_EMPTY(2, dims, self.typenum, 0)
        item = 8 if self.typenum == cnp.NPY_DOUBLE else 4
        work = self.borrow_work(workspace_size(&self.net, forward_batch(n, per_row)) * item)
        try:
            if self.typenum == cnp.NPY_DOUBLE:
                status = forward_rows(&self.net, self.n_params,
                                      <double*>cnp.PyArray_DATA(self.params),
                                      <double*>cnp.PyArray_DATA(A), n,
                                      <double*>cnp.PyArray_DATA(out), per_row,
                                      <double*>work)
            else:
                status = forward_rows(&self.net, self.n_params,
                                      <float*>cnp.PyArray_DATA(self.params),
                                      <float*>cnp.PyArray_DATA(A), n,
                                      <float*>cnp.PyArray_DATA(out), per_row,
                                      <float*>work)
        finally:
            self.give_back_work(work)
        # A non-finite value in X: no result; the caller's validation says why.
        return out if status == 0 else None


# ---------------------------------------------------------------------------
# The solvers (Network's optimizers with their options, and nncore.sklearn):
# sample weights, the L2 penalty, momentum, Nesterov and Adam, and the loss
# values scikit-learn reports
# ---------------------------------------------------------------------------
# The mathematics is scikit-learn's (sklearn/neural_network/_multilayer_
# perceptron.py, _base.py, _stochastic_optimizers.py), step for step, so that
# the same sample order gives the same coefficients: the batch gradient is
# (sum_k sw_k grad_k + alpha W) / sum_k sw_k for weights and
# sum_k sw_k grad_k / sum_k sw_k for biases; the loss is scikit-learn's
# weighted mean (from clipped probabilities for the log losses) plus
# alpha / 2 ||W||^2 / sum_k sw_k.

def _solver_codes():
    """The codes of the solvers' losses and steps (_defs.pxd), for nncore.network
    and nncore.sklearn."""
    return {
        "out_exp": OUT_EXP,
        "squared_error": LOSS_SQUARED, "poisson": LOSS_POISSON,
        "log_loss": LOSS_LOG, "binary_log_loss": LOSS_BINARY_LOG, "network": LOSS_NETWORK,
        "gradient": SOLVER_GRADIENT, "sgd": SOLVER_SGD, "nesterov": SOLVER_NESTEROV,
        "adam": SOLVER_ADAM,
    }


cdef double batch_loss(int kind, Py_ssize_t batch, Py_ssize_t n_out,
                    const floating* P, const floating* Y,
                    const floating* sw) noexcept nogil:
    # The batch's weighted loss sum, to be divided by the weight sum.
    cdef Py_ssize_t k, j
    cdef double s, p, y, total = 0
    cdef double eps = FLT_EPSILON if floating is float else DBL_EPSILON
    for k in range(batch):
        s = 0
        for j in range(n_out):
            p = P[k * n_out + j]
            y = Y[k * n_out + j]
            if kind == LOSS_SQUARED:
                s += (y - p) * (y - p)
            elif kind == LOSS_POISSON:
                if y != 0:
                    s += y * log(y / p)
                s += p - y
            else:
                # np.clip: NaN stays NaN.
                if p < eps:
                    p = eps
                elif p > 1 - eps:
                    p = 1 - eps
                if y != 0:
                    s -= y * log(p)
                if kind == LOSS_BINARY_LOG and y != 1:
                    s -= (1 - y) * log(1 - p)
        if sw != NULL:
            s *= sw[k]
        total += s
    if kind == LOSS_SQUARED:
        total *= 0.5 / n_out
    return total


cdef inline floating root(floating x) noexcept nogil:
    # In the dtype, as NumPy's float32 sqrt.
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


ctypedef struct SolverStep:
    # A solver's step in double; the C loops take it in the dtype (step_f/_d).
    int solver
    double alpha        # L2 penalty
    double sw_sum       # the batch's weight sum: the gradient's divisor
    double lr           # the step's rate (for Adam already bias-corrected)
    double momentum
    double beta1, beta2, eps


cdef inline nn_step_f step_f(const SolverStep* p) noexcept nogil:
    cdef nn_step_f q
    q.solver = p.solver
    q.alpha = <float>p.alpha
    q.dd = <float>p.sw_sum
    q.r = <float>p.lr
    q.mu = <float>p.momentum
    q.b1 = <float>p.beta1
    q.b2 = <float>p.beta2
    q.c1 = <float>(1 - p.beta1)
    q.c2 = <float>(1 - p.beta2)
    q.e = <float>p.eps
    return q


cdef inline nn_step_d step_d(const SolverStep* p) noexcept nogil:
    cdef nn_step_d q
    q.solver = p.solver
    q.alpha = p.alpha
    q.dd = p.sw_sum
    q.r = p.lr
    q.mu = p.momentum
    q.b1 = p.beta1
    q.b2 = p.beta2
    q.c1 = 1 - p.beta1
    q.c2 = 1 - p.beta2
    q.e = p.eps
    return q


cdef double solver_update(const NetSpec* net, floating* params, floating* grad,
                      floating* s1, floating* s2,
                      const SolverStep* p) noexcept nogil:
    """grad, the gradient of the weighted error sum, becomes scikit-learn's
    batch gradient, and the solver's step is applied to params in place (s1,
    s2: velocity, or Adam's first and second moments). Returns ||W||^2
    before the step."""
    cdef Py_ssize_t l, off
    cdef double sq = 0
    cdef nn_step_f qf
    cdef nn_step_d qd
    if floating is float:
        qf = step_f(p)
    else:
        qd = step_d(p)
    for l in range(net.n_layers):
        off = net.offsets[l]
        if floating is float:
            sq += nn_active.solver_update_f(
                net.sizes[l + 1], net.sizes[l], net.lds[l], params + off,
                grad + off, s1 + off if s1 != NULL else NULL,
                s2 + off if s2 != NULL else NULL, &qf)
        else:
            sq += nn_active.solver_update_d(
                net.sizes[l + 1], net.sizes[l], net.lds[l], params + off,
                grad + off, s1 + off if s1 != NULL else NULL,
                s2 + off if s2 != NULL else NULL, &qd)
    return sq


cdef double solver_sample_step(const NetSpec* net, floating* params, int loss_kind,
                               const floating* x, const floating* y, const floating* sw,
                               floating* s1, floating* s2, SolverStep step,
                               floating* work) noexcept nogil:
    """One step of the solver on one sample, fused (sample_backward): the same
    arithmetic as solver_gradient + solver_update with batch 1; returns the
    batch loss (scikit-learn's, penalty included)."""
    cdef Py_ssize_t n_out = net.sizes[net.n_layers]
    cdef floating wk = sw[0] if sw != NULL else <floating>1
    cdef double loss, sq, sw_sum = wk
    cdef nn_step_f qf
    cdef nn_step_d qd
    cdef const void* q
    step.sw_sum = wk
    if floating is float:
        qf = step_f(&step)
        q = &qf
    else:
        qd = step_d(&step)
        q = &qd
    loss = sample_forward(net, params, x, y, work, False)
    if loss_kind == LOSS_NETWORK:
        loss *= wk
    else:
        loss = batch_loss(loss_kind, 1, n_out, layer_acts(net, work, 1, net.n_layers - 1),
                          y, sw)
    sq = sample_backward(net, params, x, y, sw, BACK_SOLVER, 0, <floating*>NULL,
                         <floating*>NULL, s1, s2, q, work)
    return loss / sw_sum + 0.5 * step.alpha * sq / sw_sum


cdef void gather_batch(Py_ssize_t n_features, Py_ssize_t n_out, const floating* X,
                    const Py_ssize_t* x_indptr, const floating* Y,
                    const floating* sw, const Py_ssize_t* rows, Py_ssize_t first,
                    Py_ssize_t batch, floating* xb, Py_ssize_t* bounds,
                    floating* yb, floating* swb) noexcept nogil:
    # Rows rows[0..batch) (rows == NULL: first, first + 1, ...) of Y and sw
    # copied into contiguous blocks, and of X: dense rows copied into xb for
    # BLAS, or, for a CSR matrix (x_indptr != NULL), each row's range of
    # entries into bounds (CsrRows), the entries themselves left in place.
    cdef Py_ssize_t k, r
    for k in range(batch):
        r = rows[k] if rows != NULL else first + k
        if x_indptr != NULL:
            bounds[2 * k] = x_indptr[r]
            bounds[2 * k + 1] = x_indptr[r + 1]
        else:
            memcpy(xb + k * n_features, X + r * n_features,
                   n_features * sizeof(floating))
        if Y != NULL:
            memcpy(yb + k * n_out, Y + r * n_out, n_out * sizeof(floating))
        if sw != NULL:
            swb[k] = sw[r]


cdef double solver_gradient(const NetSpec* net, floating* params, Py_ssize_t n_params,
                     int loss_kind, const floating* xb, const CsrRows* csr,
                     const floating* yb, const floating* swb, Py_ssize_t batch,
                     bint by_rows, double* sw_sum, floating* grad,
                     floating* work) noexcept nogil:
    # grad += gradient of the batch's weighted error sum (params unchanged);
    # returns the weighted loss sum, and the weight sum in sw_sum. The inputs
    # are xb's dense rows, or csr's sparse ones (csr != NULL). Dense single
    # samples, and dense batches where the caller measured the row loops
    # faster (by_rows: rows_beat_blas), go sample by sample; the rest, and
    # every sparse batch (which keeps its first layer sparse), through BLAS.
    cdef Py_ssize_t k
    cdef Py_ssize_t n_in = net.sizes[0], n_out = net.sizes[net.n_layers]
    cdef double s = batch, loss = 0, e
    if swb != NULL:
        s = 0
        for k in range(batch):
            s += swb[k]
    sw_sum[0] = s
    if csr == NULL and (batch == 1 or by_rows):
        for k in range(batch):
            e = sample_forward(net, params, xb + k * n_in, yb + k * n_out, work, False)
            if loss_kind == LOSS_NETWORK:
                loss += e * swb[k] if swb != NULL else e
            else:
                loss += batch_loss(loss_kind, 1, n_out,
                                layer_acts(net, work, 1, net.n_layers - 1),
                                yb + k * n_out, swb + k if swb != NULL else NULL)
            sample_backward_accumulate(net, params, xb + k * n_in, yb + k * n_out,
                                       swb[k] if swb != NULL else <floating>1,
                                       grad, work)
        return loss
    e = batch_pass(net, params, xb, n_in, yb, swb, <Py_ssize_t*>NULL, batch,
                   MODE_BACKWARD, <floating>1, grad, <floating*>NULL, work, csr)
    if loss_kind == LOSS_NETWORK:
        return e
    return batch_loss(loss_kind, batch, n_out,
                   layer_acts(net, work, batch, net.n_layers - 1), yb, swb)


cdef class _SolverBuffers:
    # One malloc for a call's gradient, gathered batch and work space.
    cdef void* block
    cdef Py_ssize_t* bounds     # CsrRows.bounds of a sparse batch
    cdef void* grad
    cdef void* xb               # a dense batch's rows (none for sparse input)
    cdef void* yb
    cdef void* swb
    cdef void* work

    def __dealloc__(self):
        free(self.block)


cdef _SolverBuffers solver_buffers(const NetSpec* net, Py_ssize_t n_params,
                           Py_ssize_t batch, size_t itemsize, bint sparse):
    # Sized for the input's kind: a sparse batch is read in place (2 indices
    # a row), never densified into batch x n_features entries. Checked
    # against the memory available before it is allocated.
    cdef _SolverBuffers b = _SolverBuffers.__new__(_SolverBuffers)
    cdef Py_ssize_t n_grad = n_params
    cdef Py_ssize_t n_x = 0 if sparse else batch * net.sizes[0]
    cdef Py_ssize_t n_y = batch * net.sizes[net.n_layers]
    cdef Py_ssize_t n_work = (sparse_workspace_size(net, batch) if sparse
                              else workspace_size(net, batch))
    cdef Py_ssize_t n = n_grad + n_x + n_y + batch + n_work
    cdef size_t n_bounds = 2 * batch * sizeof(Py_ssize_t) if sparse else 0
    from nncore._validation import check_bytes
    check_bytes(n_bounds + n * itemsize,
                f"the solver's buffers for batches of {batch} rows "
                f"({'sparse' if sparse else 'dense'} input of {net.sizes[0]} columns)")
    b.block = malloc(n_bounds + n * itemsize)
    if b.block == NULL:
        raise MemoryError(f"no memory for {n} work entries")
    b.bounds = <Py_ssize_t*>b.block
    b.grad = <char*>b.block + n_bounds
    b.xb = <char*>b.grad + n_grad * itemsize
    b.yb = <char*>b.xb + n_x * itemsize
    b.swb = <char*>b.yb + n_y * itemsize
    b.work = <char*>b.swb + batch * itemsize
    return b


cdef bint csr_in_bounds(Py_ssize_t n_rows, Py_ssize_t n_cols, Py_ssize_t nnz,
                        const Py_ssize_t* indices,
                        const Py_ssize_t* indptr) noexcept nogil:
    # indptr runs from 0 to nnz without decreasing; every index is a column.
    cdef Py_ssize_t r, p
    if indptr[0] != 0 or indptr[n_rows] != nnz:
        return False
    for r in range(n_rows):
        if indptr[r + 1] < indptr[r]:
            return False
    for p in range(nnz):
        if indices[p] < 0 or indices[p] >= n_cols:
            return False
    return True


cdef check_solver_input(const NetSpec* net, Py_ssize_t n_rows, const floating[:, ::1] X,
              const floating[::1] x_data, const Py_ssize_t[::1] x_indices,
              const Py_ssize_t[::1] x_indptr, const floating[:, ::1] Y,
              Py_ssize_t n_sw):
    # The checks the disabled bounds checks would have made. X carries the
    # number of columns in CSR mode too (as an array of no rows), and every
    # CSR index is checked against the network's inputs here, whatever the
    # caller checked: gather_batch writes row entries at those indices.
    check_cols(X.shape[1], net.sizes[0], "X")
    if x_indptr.shape[0] > 0:
        if x_indptr.shape[0] != n_rows + 1 or x_indices.shape[0] != x_data.shape[0]:
            raise ValueError("inconsistent CSR arrays")
        if not csr_in_bounds(n_rows, net.sizes[0], x_indices.shape[0],
                             &x_indices[0] if x_indices.shape[0] > 0 else NULL,
                             &x_indptr[0]):
            raise ValueError("X: malformed CSR matrix (indptr or indices out of "
                             f"range for {net.sizes[0]} input columns)")
    elif X.shape[0] != n_rows:
        raise ValueError("X and Y must have the same number of rows")
    check_cols(Y.shape[1], net.sizes[net.n_layers], "Y")
    if Y.shape[0] != n_rows:
        raise ValueError("X and Y must have the same number of rows")
    if n_sw > 0 and n_sw != n_rows:
        raise ValueError("sample_weight must have one entry per row")


cdef _SolverBuffers read_input(const NetSpec* net, Py_ssize_t n_params,
                               Py_ssize_t batch, const floating[:, ::1] X,
                               const floating[::1] x_data,
                               const Py_ssize_t[::1] x_indices,
                               const Py_ssize_t[::1] x_indptr, const floating** xp,
                               const Py_ssize_t** pp, CsrRows* csr):
    # After check_solver_input: the buffers for batches of up to ``batch``
    # rows (solver_buffers, sized for dense or sparse input), and where
    # gather_batch reads X: the dense rows (xp), or the CSR matrix's indptr
    # (pp) with csr reading its entries into the buffers' bounds. Pointers
    # of empty arrays stay NULL.
    cdef bint sparse = x_indptr.shape[0] > 0
    cdef _SolverBuffers b = solver_buffers(net, n_params, batch, sizeof(floating),
                                           sparse)
    csr.values = NULL
    csr.indices = NULL
    csr.bounds = b.bounds
    if sparse:
        pp[0] = &x_indptr[0]
        if x_data.shape[0] > 0:
            csr.values = &x_data[0]
            csr.indices = &x_indices[0]
    elif X.shape[0] > 0:
        xp[0] = &X[0, 0]
    return b


cdef SolverStep solver_options(dict options) except *:
    # A solver's step from its options (nncore.network, nncore.sklearn):
    # "solver" (a code of _solver_codes), "alpha", "learning_rate",
    # "momentum", "beta_1", "beta_2", "epsilon"; the batch's weight sum is
    # set per step.
    cdef SolverStep p
    try:
        p.solver = options["solver"]
        p.alpha = options["alpha"]
        p.lr = options["learning_rate"]
        p.momentum = options["momentum"]
        p.beta1 = options["beta_1"]
        p.beta2 = options["beta_2"]
        p.eps = options["epsilon"]
    except KeyError as missing:
        raise ValueError(f"solver options lack {missing}") from None
    p.sw_sum = 1
    if p.solver not in (SOLVER_SGD, SOLVER_NESTEROV, SOLVER_ADAM):
        raise ValueError(f"unknown solver code {p.solver}")
    return p


def _solver_epoch(floating[::1] params, const Py_ssize_t[:, ::1] layout, int hidden,
                  int output, int loss_kind, const floating[:, ::1] X,
                  const floating[::1] x_data, const Py_ssize_t[::1] x_indices,
                  const Py_ssize_t[::1] x_indptr, const floating[:, ::1] Y,
                  const floating[::1] sw, const Py_ssize_t[::1] order,
                  Py_ssize_t batch, dict options, Py_ssize_t[::1] adam_t,
                  floating[::1] s1, floating[::1] s2):
    """One epoch of a solver (sgd with momentum or Nesterov, or adam), in place.

    The solver and its parameters are ``options`` (see solver_options).
    Samples ``order`` (rows of X, or of the CSR matrix x_data, x_indices,
    x_indptr when x_indptr is not empty), ``batch`` at a time; Y holds the
    targets, sw the sample weights (empty: all 1). s1 and s2 are the solver's
    state in the layout of params (velocity; Adam's moments), adam_t[0] Adam's
    step count, updated as the steps are done. Returns the sum over batches of
    batch loss times batch size (scikit-learn's accumulated_loss). Ctrl-C
    between chunks of work raises KeyboardInterrupt with params, s1, s2 and
    adam_t at the last completed step.
    """
    cdef NetSpec net = make_spec(layout, hidden, output, params.shape[0])
    cdef Py_ssize_t n = order.shape[0], n_params = params.shape[0]
    cdef Py_ssize_t n_rows = (x_indptr.shape[0] - 1 if x_indptr.shape[0] > 0
                              else X.shape[0])
    cdef Py_ssize_t k, pos = 0, todo, step, steps_per_chunk, t = adam_t[0]
    cdef unsigned int fp_state
    cdef Py_ssize_t n_features = net.sizes[0], n_out = net.sizes[net.n_layers]
    cdef double total = 0, loss, sq, sw_sum
    cdef Py_ssize_t split, off, sub
    cdef double sub_sum
    cdef bint by_rows, sparse
    cdef SolverStep step_params = solver_options(options)
    cdef int solver = step_params.solver
    cdef double alpha = step_params.alpha, lr = step_params.lr
    cdef double beta1 = step_params.beta1, beta2 = step_params.beta2
    cdef CsrRows csr, sub_csr
    cdef const floating* xp = NULL
    cdef const Py_ssize_t* pp = NULL
    cdef const floating* swp = NULL
    cdef floating* s1p = NULL
    cdef floating* s2p = NULL
    cdef _SolverBuffers b
    check_solver_input(&net, n_rows, X, x_data, x_indices, x_indptr, Y, sw.shape[0])
    if batch < 1:
        raise ValueError("batch must be positive")
    if s1.shape[0] != n_params or (solver == SOLVER_ADAM and s2.shape[0] != n_params):
        raise ValueError("solver state must have the layout of params")
    for k in range(n):
        if order[k] < 0 or order[k] >= n_rows:
            raise ValueError(f"order[{k}] = {order[k]} is not a row of X")
    if n == 0:
        return 0.0
    sparse = x_indptr.shape[0] > 0
    b = read_input(&net, n_params, min(batch, n), X, x_data, x_indices, x_indptr,
                   &xp, &pp, &csr)
    if sw.shape[0] > 0:
        swp = &sw[0]
    s1p = &s1[0]
    if solver == SOLVER_ADAM:
        s2p = &s2[0]
    by_rows = False
    if min(batch, n) > 1 and not sparse:
        # Measured on the epoch's first batch, gathered as the steps gather it.
        gather_batch(n_features, n_out, xp, pp, &Y[0, 0], swp, &order[0], 0,
                  min(batch, n), <floating*>b.xb, b.bounds, <floating*>b.yb,
                  <floating*>b.swb)
        by_rows = rows_beat_blas(&net, &params[0], <floating*>b.xb, n_features,
                                 <floating*>b.yb, n_out, <Py_ssize_t*>NULL,
                                 min(batch, n), <floating*>b.grad, <floating*>b.work)
    steps_per_chunk = max(1, WORK_PER_CHUNK // (3 * n_params * batch))
    split = max(1, STEP_SPLIT_WORK // (3 * n_params))
    while pos < n and min(batch, n) > split:
        # Large steps: the batch's gradient in sub-batches (STEP_SPLIT_WORK),
        # Ctrl-C checked between them, then the step; an interrupted step
        # leaves params, the solver's state and adam_t at the last one.
        todo = min(batch, n - pos)
        with nogil:
            gather_batch(n_features, n_out, xp, pp, &Y[0, 0], swp, &order[pos], 0,
                      todo, <floating*>b.xb, b.bounds, <floating*>b.yb,
                      <floating*>b.swb)
            memset(b.grad, 0, n_params * sizeof(floating))
        loss = 0
        sw_sum = 0
        off = 0
        while off < todo:
            sub = min(split, todo - off)
            sub_csr = csr
            sub_csr.bounds = b.bounds + 2 * off
            with nogil:
                fp_state = nn_flush_subnormals()
                loss += solver_gradient(&net, &params[0], n_params, loss_kind,
                                 <floating*>b.xb + off * n_features,
                                 &sub_csr if sparse else <CsrRows*>NULL,
                                 <floating*>b.yb + off * n_out,
                                 <floating*>b.swb + off if swp != NULL else <floating*>NULL,
                                 sub, by_rows, &sub_sum, <floating*>b.grad,
                                 <floating*>b.work)
                nn_restore_fp(fp_state)
            sw_sum += sub_sum
            off += sub
            PyErr_CheckSignals()
        with nogil:
            fp_state = nn_flush_subnormals()
            step_params.lr = lr
            if solver == SOLVER_ADAM:
                step_params.lr = (lr * sqrt(1 - pow(beta2, <double>(t + 1)))
                                  / (1 - pow(beta1, <double>(t + 1))))
            step_params.sw_sum = sw_sum
            sq = solver_update(&net, &params[0], <floating*>b.grad, s1p, s2p, &step_params)
            nn_restore_fp(fp_state)
        if solver == SOLVER_ADAM:
            t += 1
            adam_t[0] = t
        total += (loss / sw_sum + 0.5 * alpha * sq / sw_sum) * todo
        pos += todo
    while pos < n:
        with nogil:
            # Subnormals flushed while the solver runs (see _kernels.h).
            fp_state = nn_flush_subnormals()
            for step in range(steps_per_chunk):
                if pos >= n:
                    break
                todo = min(batch, n - pos)
                gather_batch(n_features, n_out, xp, pp, &Y[0, 0], swp, &order[pos], 0,
                          todo, <floating*>b.xb, b.bounds, <floating*>b.yb,
                          <floating*>b.swb)
                step_params.lr = lr
                if solver == SOLVER_ADAM:
                    t += 1
                    step_params.lr = lr * sqrt(1 - pow(beta2, <double>t)) / (1 - pow(beta1, <double>t))
                if todo == 1 and not sparse:
                    total += solver_sample_step(
                        &net, &params[0], loss_kind, <floating*>b.xb,
                        <floating*>b.yb, <floating*>b.swb if swp != NULL else <floating*>NULL,
                        s1p, s2p, step_params, <floating*>b.work)
                else:
                    memset(b.grad, 0, n_params * sizeof(floating))
                    loss = solver_gradient(&net, &params[0], n_params, loss_kind,
                                    <floating*>b.xb, &csr if sparse else <CsrRows*>NULL,
                                    <floating*>b.yb,
                                    <floating*>b.swb if swp != NULL else <floating*>NULL,
                                    todo, by_rows, &sw_sum, <floating*>b.grad,
                                    <floating*>b.work)
                    step_params.sw_sum = sw_sum
                    sq = solver_update(&net, &params[0], <floating*>b.grad, s1p, s2p,
                                   &step_params)
                    total += (loss / sw_sum + 0.5 * alpha * sq / sw_sum) * todo
                pos += todo
            nn_restore_fp(fp_state)
        adam_t[0] = t
        PyErr_CheckSignals()
    return total


def _solver_loss_grad(const floating[::1] params, const Py_ssize_t[:, ::1] layout,
                  int hidden, int output, int loss_kind,
                  const floating[:, ::1] X, const floating[::1] x_data,
                  const Py_ssize_t[::1] x_indices, const Py_ssize_t[::1] x_indptr,
                  const floating[:, ::1] Y, const floating[::1] sw, double alpha,
                  floating[::1] grad, Py_ssize_t batch):
    """scikit-learn's full-batch loss (returned) and gradient (into grad, in
    the layout of params) over all rows, ``batch`` rows at a time: what
    L-BFGS-B minimises."""
    cdef NetSpec net = make_spec(layout, hidden, output, params.shape[0])
    cdef Py_ssize_t n_params = params.shape[0]
    cdef Py_ssize_t n_rows = (x_indptr.shape[0] - 1 if x_indptr.shape[0] > 0
                              else X.shape[0])
    cdef Py_ssize_t pos = 0, todo
    cdef Py_ssize_t n_features = net.sizes[0], n_out = net.sizes[net.n_layers]
    cdef double loss = 0, sw_sum = 0, s, sq
    cdef const floating* xp = NULL
    cdef const Py_ssize_t* pp = NULL
    cdef const floating* swp = NULL
    cdef floating* acc = &grad[0]
    cdef bint by_rows, sparse
    cdef SolverStep gradient_only
    cdef CsrRows csr
    cdef _SolverBuffers b
    check_solver_input(&net, n_rows, X, x_data, x_indices, x_indptr, Y, sw.shape[0])
    if grad.shape[0] != n_params:
        raise ValueError("grad must have the layout of params")
    if n_rows < 1 or batch < 1:
        raise ValueError("need at least one row and a positive batch")
    batch = min(batch, n_rows)
    sparse = x_indptr.shape[0] > 0
    b = read_input(&net, 0, batch, X, x_data, x_indices, x_indptr, &xp, &pp, &csr)
    if sw.shape[0] > 0:
        swp = &sw[0]
    by_rows = False
    if batch > 1 and not sparse:
        # Measured on the first batch, with grad (the output) as scratch.
        gather_batch(n_features, n_out, xp, pp, &Y[0, 0], swp, <Py_ssize_t*>NULL, 0,
                  batch, <floating*>b.xb, b.bounds, <floating*>b.yb, <floating*>b.swb)
        by_rows = rows_beat_blas(&net, <floating*>&params[0], <floating*>b.xb,
                                 n_features, <floating*>b.yb, n_out,
                                 <Py_ssize_t*>NULL, batch, acc, <floating*>b.work)
    memset(acc, 0, n_params * sizeof(floating))
    while pos < n_rows:
        with nogil:
            todo = min(batch, n_rows - pos)
            gather_batch(n_features, n_out, xp, pp, &Y[0, 0], swp, <Py_ssize_t*>NULL,
                      pos, todo, <floating*>b.xb, b.bounds, <floating*>b.yb,
                      <floating*>b.swb)
            loss += solver_gradient(&net, <floating*>&params[0], n_params, loss_kind,
                             <floating*>b.xb, &csr if sparse else <CsrRows*>NULL,
                             <floating*>b.yb,
                             <floating*>b.swb if swp != NULL else <floating*>NULL,
                             todo, by_rows, &s, acc, <floating*>b.work)
            sw_sum += s
            pos += todo
        PyErr_CheckSignals()
    with nogil:
        # SOLVER_GRADIENT reads params and does not write them.
        gradient_only.solver = SOLVER_GRADIENT
        gradient_only.alpha = alpha
        gradient_only.sw_sum = sw_sum
        gradient_only.lr = gradient_only.momentum = 0
        gradient_only.beta1 = gradient_only.beta2 = gradient_only.eps = 0
        sq = solver_update(&net, <floating*>&params[0], acc, <floating*>NULL,
                       <floating*>NULL, &gradient_only)
    return loss / sw_sum + 0.5 * alpha * sq / sw_sum


def _solver_forward(const floating[::1] params, const Py_ssize_t[:, ::1] layout,
                int hidden, int output, const floating[:, ::1] X,
                const floating[::1] x_data, const Py_ssize_t[::1] x_indices,
                const Py_ssize_t[::1] x_indptr, floating[:, ::1] out):
    """out := the network's output for every row of X (dense, or CSR when
    x_indptr is not empty), FORWARD_ROWS rows per BLAS pass."""
    cdef NetSpec net = make_spec(layout, hidden, output, params.shape[0])
    cdef Py_ssize_t n_rows = out.shape[0], pos = 0, todo, batch
    cdef Py_ssize_t n_features = net.sizes[0], n_out = net.sizes[net.n_layers]
    cdef const floating* xp = NULL
    cdef const Py_ssize_t* pp = NULL
    cdef bint sparse
    cdef CsrRows csr
    cdef _SolverBuffers b
    check_solver_input(&net, n_rows, X, x_data, x_indices, x_indptr, out, 0)
    if n_rows == 0:
        return
    batch = min(FORWARD_ROWS, n_rows)
    sparse = x_indptr.shape[0] > 0
    b = read_input(&net, 0, batch, X, x_data, x_indices, x_indptr, &xp, &pp, &csr)
    while pos < n_rows:
        with nogil:
            todo = min(batch, n_rows - pos)
            if sparse:
                # Sparse rows stay sparse: the first layer's product is formed
                # from their entries in place, one row or many.
                gather_batch(n_features, n_out, xp, pp, <floating*>NULL, <floating*>NULL,
                          <Py_ssize_t*>NULL, pos, todo, <floating*>NULL, b.bounds,
                          <floating*>NULL, <floating*>NULL)
                batch_pass(&net, <floating*>&params[0], <floating*>NULL, n_features,
                           <floating*>NULL, <floating*>NULL, <Py_ssize_t*>NULL,
                           todo, MODE_FORWARD, 0, <floating*>NULL, &out[pos, 0],
                           <floating*>b.work, &csr)
            elif todo == 1:
                # One row: a matrix-vector product, never gemm with m = 1.
                sample_forward(&net, <floating*>&params[0], xp + pos * n_features,
                               <floating*>NULL, <floating*>b.work, False)
                memcpy(&out[pos, 0], layer_acts(&net, <floating*>b.work, 1,
                                                net.n_layers - 1),
                       n_out * sizeof(floating))
            else:
                batch_pass(&net, <floating*>&params[0], xp + pos * n_features,
                           n_features, <floating*>NULL, <floating*>NULL,
                           <Py_ssize_t*>NULL, todo, MODE_FORWARD, 0,
                           <floating*>NULL, &out[pos, 0], <floating*>b.work,
                           <CsrRows*>NULL)
            pos += todo
        PyErr_CheckSignals()


# ---------------------------------------------------------------------------
# Test shims: thin def wrappers over single kernels, for tests/test_kernels.py
# ---------------------------------------------------------------------------

def _py_sigmoid(floating[::1] z):
    """z := sigmoid(z) elementwise, in place, by the vectorised row kernel
    that the hidden layers use (float arithmetic for float32)."""
    if z.shape[0] > 0:
        activate_row(ACT_SIGMOID, z.shape[0], <floating*>NULL, &z[0])


def _py_softmax(floating[::1] z, const floating[::1] t=None):
    """z := softmax(z) in place by the output kernel; returns the
    cross-entropy against t (0 without t)."""
    if z.shape[0] < 1 or (t is not None and t.shape[0] != z.shape[0]):
        raise ValueError("z must be non-empty and t, if given, as long as z")
    return output_row(OUT_SOFTMAX, z.shape[0], &z[0],
                      &t[0] if t is not None else <floating*>NULL)


def _py_gemm(bint trans_a, bint trans_b, double alpha,
             const floating[:, ::1] A, const floating[:, ::1] B, double beta,
             floating[:, ::1] C):
    """C := alpha op(A) op(B) + beta C through the row-major BLAS shim."""
    cdef Py_ssize_t m = C.shape[0], n = C.shape[1]
    cdef Py_ssize_t k = A.shape[0] if trans_a else A.shape[1]
    if (A.shape[1] if trans_a else A.shape[0]) != m:
        raise ValueError("A does not match C")
    if (B.shape[1] if trans_b else B.shape[0]) != k or \
            (B.shape[0] if trans_b else B.shape[1]) != n:
        raise ValueError("B does not match A and C")
    with nogil:
        gemm(trans_a, trans_b, <int>m, <int>n, <int>k, <floating>alpha,
             &A[0, 0], <int>A.shape[1], &B[0, 0], <int>B.shape[1],
             <floating>beta, &C[0, 0], <int>n)


def _py_dot(const floating[::1] x, const floating[::1] y):
    """sum(x * y) through the vectorised C loop."""
    if x.shape[0] != y.shape[0] or x.shape[0] < 1:
        raise ValueError("x and y must have the same, positive length")
    return dot(x.shape[0], &x[0], &y[0])
