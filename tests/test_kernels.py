# SPDX-License-Identifier: MIT
"""The compiled core against the pure-Python reference, step by step.

Every compiled variant this CPU runs (fixture ``simd``), both dtypes, every
hidden activation and output layer, several shapes: forward, loss,
gradients, single training steps, and whole epochs at batch size 1 and in
mini-batches with the same sample order fed to both sides.
"""
import os

import numpy as np
import pytest
from helpers import (ACTIVATIONS, OUTPUTS, SHAPES, assert_close,
                      make_targets)

import nncore
from nncore import _params, reference


def build(shape, activation, output, dtype, seed=0):
    if output == "softmax" and shape[-1] < 2:
        pytest.skip("softmax needs two outputs")
    return nncore.Network(shape, activation=activation, output=output,
                          dtype=dtype, seed=seed)


def data(rng, net, n_samples=9):
    X = rng.uniform(-2, 2, (n_samples, net.layer_sizes[0]))
    y, T = make_targets(rng, net.output, n_samples, net.layer_sizes[-1])
    # The reference sees exactly the values the core sees.
    X = X.astype(net.dtype).astype(np.float64)
    return X, y, T


def assert_same_params(net, ref, dtype, what):
    weights, biases = reference.to_arrays(ref)
    for l in range(len(weights)):
        assert_close(net.weights[l], weights[l], dtype, f"{what}: weights[{l}]")
        assert_close(net.biases[l], biases[l], dtype, f"{what}: biases[{l}]")


def test_codes_match_the_compiled_enums():
    activations, outputs = nncore.network._core._codes()
    assert activations == _params.ACTIVATIONS
    assert outputs == _params.OUTPUTS


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_loss_gradients(simd, dtype, rng, shape, activation, output):
    net = build(shape, activation, output, dtype)
    X, y, T = data(rng, net)
    ref = reference.from_network(net)
    assert_close(net.forward(X), reference.predict(ref, X.tolist()), dtype, "forward")
    assert_close(net.loss(X, y), reference.loss(ref, X.tolist(), T.tolist()),
                 dtype, "loss")
    dW, db = net.gradients(X, y)
    ref_dW, ref_db = reference.gradients(ref, X.tolist(), T.tolist())
    for l in range(len(dW)):
        assert_close(dW[l], np.transpose(ref_dW[l]), dtype, f"dW[{l}]")
        assert_close(db[l], ref_db[l], dtype, f"db[{l}]")


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_in_many_blas_chunks(simd, dtype, rng, activation, output):
    # More rows than one BLAS pass takes, and a last pass of one row.
    net = build((3, 4, 2), activation, output, dtype)
    X, y, T = data(rng, net, n_samples=2 * nncore.network.CHUNK_ROWS + 1)
    ref = reference.from_network(net)
    assert_close(net.forward(X), reference.predict(ref, X.tolist()), dtype, "forward")
    assert_close(net.loss(X, y), reference.loss(ref, X.tolist(), T.tolist()),
                 dtype, "loss")


PATH_AUTO, PATH_BLAS, PATH_ROWS = (nncore._core.PATH_AUTO, nncore._core.PATH_BLAS,
                                   nncore._core.PATH_ROWS)


def test_path_codes_are_distinct():
    assert len({PATH_AUTO, PATH_BLAS, PATH_ROWS}) == 3


@pytest.mark.parametrize("n_rows", [1, 2, 5, 300])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_both_inference_paths_match_the_reference(simd, dtype, rng, activation,
                                                   output, n_rows):
    # Row-by-row loops and BLAS per layer, whichever the size rule picks.
    net = build((3, 8, 8, 2), activation, output, dtype)
    X, _, _ = data(rng, net, n_samples=n_rows)
    X = X.astype(dtype)
    expected = reference.predict(reference.from_network(net), X.tolist())
    model = net._compiled()
    for path in (PATH_BLAS, PATH_ROWS):
        assert_close(model.forward(X, path), expected, dtype, f"path {path}")


def test_inference_path_rule_is_measured_and_one_row_is_never_gemm(rng):
    # One row always goes through the row loops (a matrix-vector product);
    # above it the crossover is measured once per shape and dtype, cached, and
    # within 1..64 rows. Either choice gives the reference's numbers
    # (test_both_inference_paths_match_the_reference).
    net = nncore.Network([16, 8, 2], seed=0)
    model = net._compiled()
    assert model.work_per_row == 16 * 8 + 8 * 2
    assert 1 <= model.rows_max <= 64
    twin = nncore.Network([16, 8, 2], seed=1)._compiled()
    assert twin.rows_max == model.rows_max       # cached for the shape
    assert isinstance(model.train_by_rows(32), bool)
    assert model.train_by_rows(1) is True
    assert model.train_by_rows(32) == twin.train_by_rows(32)


def test_forward_takes_any_layout_of_the_same_values(dtype, rng):
    # The core's direct path (C-contiguous, native, aligned, network dtype)
    # and the validated, converted path give the same outputs.
    net = nncore.Network([5, 4, 3], dtype=dtype, seed=1)
    X = rng.uniform(-1, 1, (6, 5)).astype(dtype)
    expected = net.forward(X)
    other = np.dtype(dtype).newbyteorder()
    for variant in (np.asfortranarray(X), X.astype(other), X.tolist(),
                    np.repeat(X, 2, axis=1)[:, ::2], X.astype(np.float64),
                    X.astype(np.float32)):
        out = net.forward(variant)
        assert out.dtype == dtype and out.flags.c_contiguous
        if np.asarray(variant).dtype.itemsize >= np.dtype(dtype).itemsize:
            np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_blas_forward_finds_any_non_finite_input(simd, dtype, rng, bad):
    # The BLAS path finds bad inputs through the first layer's sums; a
    # weight of exactly 0 against the bad input must not hide it (0 * inf).
    net = nncore.Network([6, 5, 3], dtype=dtype, seed=2)
    net.weights[0][4, :] = 0
    model = net._compiled()
    for row, col in [(0, 0), (299, 5), (137, 4)]:
        X = rng.uniform(-1, 1, (300, 6)).astype(dtype)
        X[row, col] = bad
        assert model.forward(X, PATH_BLAS) is None
        assert model.forward(X, PATH_ROWS) is None
        with pytest.raises(ValueError, match="X contains NaN or infinity"):
            net.forward(X)


def test_blas_forward_of_finite_inputs_that_overflow(simd, dtype):
    # Finite inputs whose sums overflow are valid input: both paths agree.
    net = nncore.Network([4, 3, 2], dtype=dtype, seed=2)
    X = np.full((50, 4), np.finfo(dtype).max / 2, dtype=dtype)
    model = net._compiled()
    with np.errstate(all="ignore"):
        rows = model.forward(X, PATH_ROWS)
        blas = model.forward(X, PATH_BLAS)
    assert rows is not None and blas is not None
    np.testing.assert_array_equal(np.isnan(rows), np.isnan(blas))
    np.testing.assert_allclose(blas[~np.isnan(blas)], rows[~np.isnan(rows)])


def test_model_refuses_inconsistent_buffers():
    net = nncore.Network([3, 4, 2], seed=0)
    core = nncore.network._core
    spec = net._spec()
    with pytest.raises(ValueError, match="params must be"):
        core.Model(net.params.astype(np.int64), *spec)
    with pytest.raises(ValueError, match="params must be"):
        core.Model(net.params[::2], *spec)
    with pytest.raises(ValueError, match="parameter buffer has"):
        core.Model(net.params[:-1].copy(), *spec)
    with pytest.raises(ValueError, match="unknown activation"):
        core.Model(net.params, spec[0], 99, spec[2])
    with pytest.raises(ValueError, match="layer sizes must be positive"):
        bad = spec[0].copy()
        bad[0, 0] = 0
        core.Model(net.params, bad, spec[1], spec[2])
    model = core.Model(net.params, *spec)
    # Anything not ready for the core is handed back, not computed.
    for X in ([[1.0, 2.0, 3.0]], np.ones((1, 3), np.float32), np.ones((1, 4)),
              np.ones((0, 3)), np.ones(3), np.asfortranarray(np.ones((2, 3))),
              np.array([[1.0, np.nan, 0.0]])):
        assert model.forward(X) is None


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_train_step(simd, dtype, rng, activation, output):
    net = build((4, 5, 3, 3), activation, output, dtype)
    ref = reference.from_network(net)
    for step in range(3):
        X, y, T = data(rng, net, n_samples=1 + 3 * step)
        loss = net.train_step(X, y, learning_rate=0.3)
        ref_loss = reference.train_step(ref, X.tolist(), T.tolist(), 0.3)
        assert_close(loss, ref_loss, dtype, f"loss of step {step}")
        assert_same_params(net, ref, dtype, f"after step {step}")


@pytest.mark.parametrize("path", [PATH_AUTO, PATH_BLAS, PATH_ROWS],
                         ids=["auto", "blas", "rows"])
@pytest.mark.parametrize("batch_size", [1, 4, 9])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(4, 5, 3), (3, 8, 8, 2)], ids=str)
def test_fit_epochs(simd, dtype, rng, shape, activation, output, batch_size, path):
    # batch_size 4 with 9 samples ends each epoch with a batch of one.
    # Mini-batches go through BLAS or sample by sample (forced, or by size).
    net = build(shape, activation, output, dtype)
    net._train_path = path
    X, y, T = data(rng, net)
    ref = reference.from_network(net)
    losses = net.fit(X, y, epochs=3, batch_size=batch_size, learning_rate=0.05,
                     shuffle=True, seed=7)
    # fit's documented order: epoch e visits default_rng(seed)'s e-th permutation.
    orders = np.random.default_rng(7)
    ref_losses = reference.train(ref, X.tolist(), T.tolist(), 0.05, batch_size,
                                 [orders.permutation(len(X)).tolist() for _ in range(3)])
    assert_close(losses, ref_losses, dtype, "epoch losses")
    assert_same_params(net, ref, dtype, "after 3 epochs")


def test_fit_without_shuffle_is_in_order(simd, dtype, rng):
    net = build((4, 6, 3), "tanh", "softmax", dtype)
    X, y, T = data(rng, net, n_samples=11)
    ref = reference.from_network(net)
    net.fit(X, y, epochs=2, batch_size=3, shuffle=False)
    reference.train(ref, X.tolist(), T.tolist(), 0.1, 3, [list(range(11))] * 2)
    assert_same_params(net, ref, dtype, "after 2 epochs")


@pytest.mark.parametrize("m", [1, 3])
@pytest.mark.parametrize("beta", [2.0, 0.0])
def test_gemm_shim_matches_numpy(simd, dtype, rng, m, beta):
    # m = 1 goes through gemv; beta = 0 must not read C (NaN there).
    core = nncore.network._core
    for trans_a in (False, True):
        for trans_b in (False, True):
            A = rng.normal(size=(5, m) if trans_a else (m, 5)).astype(dtype)
            B = rng.normal(size=(4, 5) if trans_b else (5, 4)).astype(dtype)
            C = rng.normal(size=(m, 4)).astype(dtype) if beta else np.full((m, 4), np.nan, dtype)
            expected = 0.5 * ((A.T if trans_a else A) @ (B.T if trans_b else B))
            if beta:
                expected += beta * C
            core._py_gemm(trans_a, trans_b, 0.5, A, B, beta, C)
            assert_close(C, expected, dtype, f"gemm trans_a={trans_a} trans_b={trans_b}")


@pytest.mark.parametrize("n", [1, 7, 16, 33, 784])
def test_dot_matches_numpy(simd, dtype, rng, n):
    x = rng.normal(size=n).astype(dtype)
    y = rng.normal(size=n).astype(dtype)
    expected = float(np.dot(x.astype(np.float64), y.astype(np.float64)))
    scale = np.abs(x.astype(np.float64) * y).sum()
    assert abs(nncore.network._core._py_dot(x, y) - expected) <= 4 * n * np.finfo(dtype).eps * scale


def test_every_supported_variant_is_tested():
    # On x86-64 with GCC or Clang all three tables are compiled; the tests
    # (fixture simd) run each one this CPU supports.
    import platform
    compiled = nncore._core._variants()
    variants = nncore._dispatch.supported_variants()
    assert "baseline" in variants and compiled[0] == "baseline"
    if platform.machine() in ("x86_64", "AMD64") and platform.system() != "Windows":
        assert compiled == ["baseline", "avx2", "avx512"]
        from nncore._dispatch import _cpu_features
        if _cpu_features().get("AVX512_SKX"):
            assert variants == ["avx512", "avx2", "baseline"]


def test_nncore_simd_forces_a_variant_and_refuses_what_cannot_run():
    import subprocess
    import sys
    for name in nncore._dispatch.supported_variants():
        out = subprocess.run([sys.executable, "-c", "import nncore; print(nncore.simd)"],
                             env={**os.environ, "NNCORE_SIMD": name},
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip() == name
    bad = subprocess.run([sys.executable, "-c", "import nncore"],
                         env={**os.environ, "NNCORE_SIMD": "sse9"},
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "NNCORE_SIMD='sse9' is not one of" in bad.stderr

@pytest.mark.parametrize("optimizer, path", [("sgd", PATH_BLAS), ("sgd", PATH_ROWS),
                                             ("momentum", PATH_AUTO), ("adam", PATH_AUTO)])
def test_a_large_step_formed_in_sub_batches_is_the_whole_batch_step(dtype, rng, optimizer,
                                                                     path):
    # 300 samples of [784, 256, 10]: more work than the core does between
    # checks for Ctrl-C, so the step's gradient is formed in sub-batches and
    # applied once. It is the step over the whole batch, from the mean
    # gradient of the batch (sub-batching changes only the order of sums).
    X = rng.random((300, 784)).astype(dtype)
    y = rng.integers(0, 10, 300)
    net = nncore.Network([784, 256, 10], dtype=dtype, seed=0)
    split_rows = (8 << 23) // (3 * net.params.size)
    assert split_rows < 300 // 2       # at least two sub-batches
    grads, _ = net.gradients(X, y)
    lr = 1e-3 if optimizer == "adam" else 0.05
    options = {"sgd": {}, "momentum": {"momentum": 0.9},     # the solver engine:
               "adam": {"optimizer": "adam"}}[optimizer]    # its first step too
    if optimizer != "adam":
        # Momentum's velocity starts at 0: its first step is plain SGD's.
        expected = [w - lr * g for w, g in zip(net.weights, grads)]
    else:
        # Adam's first step (scikit-learn's form): m = (1 - b1) g,
        # v = (1 - b2) g^2, w -= lr sqrt(1 - b2) / (1 - b1) m / (sqrt(v) + eps).
        b1, b2, eps = 0.9, 0.999, 1e-8
        rate = lr * np.sqrt(1 - b2) / (1 - b1)
        expected = [w - rate * ((1 - b1) * g) / (np.sqrt((1 - b2) * g * g) + eps)
                    for w, g in zip(net.weights, (g.astype(np.float64) for g in grads))]
    net._train_path = path       # plain SGD's sub-batches: by BLAS or by the rows
    net.fit(X, y, epochs=1, batch_size=300, learning_rate=lr, shuffle=False, **options)
    for got, want in zip(net.weights, expected):
        assert_close(got, want, dtype, f"weights after one large {optimizer} step")
