# SPDX-License-Identifier: MIT
"""Types and integer codes shared by the kernels (header only: no code, no module).

The codes are mirrored in ``nncore/_params.py``; ``tests/test_kernels.py`` checks
that both sides agree through ``_core._codes()``.
"""

# Hidden-layer activations and solver steps: C enums of _kernels.h, which
# the C loops share.
cdef extern from "_kernels.h":
    cdef enum nn_activation:
        ACT_IDENTITY
        ACT_SIGMOID
        ACT_TANH
        ACT_RELU
    cdef enum nn_solver:
        SOLVER_GRADIENT     # grad := the batch gradient, params unchanged (lbfgs)
        SOLVER_SGD          # v := mu v - lr g; W += v
        SOLVER_NESTEROV     # v := mu v - lr g; W += mu v - lr g
        SOLVER_ADAM         # m, v moments; W += -lr_t m / (sqrt(v) + eps)

# Output layer and its error function (each a canonical pair: delta = a - t).
cdef enum Output:
    OUT_IDENTITY = 0    # identity output, half squared error
    OUT_SIGMOID = 1     # independent sigmoids, binary cross-entropy
    OUT_SOFTMAX = 2     # softmax, categorical cross-entropy
    OUT_EXP = 3         # exp (log link), half Poisson deviance (nncore.sklearn)

# The loss a solver reports (its gradient is always that of the output's
# error: delta = a - t). scikit-learn's definitions, and Network's own.
cdef enum Loss:
    LOSS_SQUARED = 0      # half the weighted mean over samples and outputs of (y - p)^2
    LOSS_POISSON = 1      # sum over outputs of the weighted mean of y log(y / p) - y + p
    LOSS_LOG = 2          # softmax: -sum_j y_j log clip(p_j)
    LOSS_BINARY_LOG = 3   # logistic: -sum_j y log clip(p) + (1 - y) log(1 - clip(p))
    LOSS_NETWORK = 4      # nncore.Network's own error, from the logits (output_row)

# What a batch pass computes after the forward pass.
cdef enum Mode:
    MODE_FORWARD = 0    # output activations only
    MODE_LOSS = 1       # plus the summed loss
    MODE_BACKWARD = 2   # plus target += alpha * gradient of the summed loss
    MODE_FORWARD_CHECKED = 3  # MODE_FORWARD, but NaN at once if the first
                              # layer's pre-activations are not all finite

# Status of a training call, turned into an exception after the nogil block.
cdef enum Status:
    STATUS_OK = 0
    STATUS_NONFINITE = 1

# Architecture of a network; every pointer refers to memory owned by Python.
# Layer l maps n_in = sizes[l] inputs to n_out = sizes[l + 1] units; its block
# of the flat parameter buffer starts at offsets[l] and is row-major
# (n_out, lds[l]): row j holds the n_in weights of unit j, then its bias (the
# weight of a constant input of 1) in column n_in, then zero padding up to
# lds[l] >= n_in + 1, which makes every row start on a 64-byte boundary. So
# each unit's parameters are one contiguous, aligned row.
ctypedef struct NetSpec:
    Py_ssize_t n_layers
    const Py_ssize_t* sizes
    const Py_ssize_t* offsets
    const Py_ssize_t* lds
    int hidden
    int output
