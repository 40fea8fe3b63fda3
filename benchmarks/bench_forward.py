# SPDX-License-Identifier: MIT
"""Inference: class probabilities one sample per call (batch 1) and in batches of 1024.

Each test is one peer; the cell (mode, shape, dtype, threads) comes from
conftest.py. Inputs are always 2-D, (batch, n_features), as nncore requires.
"""
import numpy as np
import pytest

import peers

pytestmark = pytest.mark.parametrize("mode", ["batch1", "batch1024"])


def test_forward_nncore(cell):
    net = cell.network()
    X, _ = cell.data("nncore")
    out = cell.run("nncore", lambda: peers.predict_in_batches(net.forward, X, cell.batch_size))
    assert out.shape[1] == cell.sizes[-1] and np.isfinite(out).all()


def test_forward_numpy(cell):
    model = peers.NumpyMLP(cell.weights, cell.biases)
    X, _ = cell.data("numpy")
    out = cell.run("numpy", lambda: peers.predict_in_batches(model.predict, X, cell.batch_size))
    assert out.shape[1] == cell.sizes[-1] and np.isfinite(out).all()


def test_forward_torch(torch_threads, cell):
    model = peers.TorchMLP(cell.weights, cell.biases, cell.dtype)
    X, _ = peers.TorchMLP.to_torch(*cell.data("torch"))
    out = cell.run("torch", lambda: peers.predict_in_batches(model.predict, X, cell.batch_size))
    assert out.shape[1] == cell.sizes[-1] and bool(torch_threads.isfinite(out).all())


def test_forward_sklearn(sklearn, cell):
    X, y = cell.data("sklearn")
    model = peers.SklearnMLP(cell.sizes, cell.weights, cell.biases, X, y,
                              min(32, X.shape[0]))
    out = cell.run("sklearn", lambda: peers.predict_in_batches(model.predict, X, cell.batch_size))
    assert out.shape[1] == cell.sizes[-1] and np.isfinite(out).all()


def test_forward_onnxruntime(onnxruntime, cell):
    """ONNX Runtime on the same network as an ONNX graph; intra-op threads = the cell's."""
    model = peers.OnnxMLP(cell.weights, cell.biases, cell.dtype, cell.threads)
    X, _ = cell.data("onnxruntime")
    out = cell.run("onnxruntime",
                   lambda: peers.predict_in_batches(model.predict, X, cell.batch_size))
    assert out.shape[1] == cell.sizes[-1] and np.isfinite(out).all()


def test_forward_jax(jax, cell):
    """JAX, jitted (compiled before timing); pinned to the cell's thread count of CPUs."""
    model = peers.JaxMLP(cell.weights, cell.biases, cell.dtype)
    X, _ = cell.data("jax")
    model.predict(X[:cell.batch_size])      # compile for the batch shape, untimed
    with peers.pinned(cell.threads):
        out = cell.run("jax", lambda: peers.predict_in_batches(model.predict, X, cell.batch_size))
    assert out.shape[1] == cell.sizes[-1] and np.isfinite(np.asarray(out)).all()


# Pure Python: only the smallest shape of the grid, and threads do not apply.
@pytest.mark.parametrize("threads", [1], indirect=True, ids=["threads1"])
@pytest.mark.parametrize("shape", ["64-32-10"], indirect=True)
def test_forward_reference(cell):
    X, y = cell.data("reference")
    model = peers.ReferenceMLP(cell.network(), X, y)
    X_list = model.X
    out = cell.run("reference", lambda: [model.predict(X_list[rows])[-1] for rows in
                                         peers.batches(len(X_list), cell.batch_size)][-1])
    assert len(out) == cell.sizes[-1] and np.isfinite(out).all()


def test_forward_bound(cell):
    """Ceiling: BLAS products only (batch 1024), weight traffic (batch 1)."""
    X, _ = cell.data("bound")
    if cell.batch_size == 1:
        bound, peer = peers.WeightTraffic(cell.sizes, cell.dtype), "bound-traffic"
    else:
        bound, peer = peers.BlasProducts(cell.sizes, cell.dtype, cell.batch_size), "bound-blas"
    out = cell.run(peer, lambda: bound.predict(X))
    assert np.isfinite(out).all()
