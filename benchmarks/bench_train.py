# SPDX-License-Identifier: MIT
"""One epoch of plain SGD (learning rate 0.1, samples in order): online and mini-batches of 32, 256.

Each test is one peer; the cell (mode, shape, dtype, threads) comes from
conftest.py. Every round starts from the same initial weights (reset in the
untimed setup) and ends with a finiteness check, never a timing assert.
"""
import numpy as np
import pytest

import peers

pytestmark = pytest.mark.parametrize("mode", ["online", "batch32", "batch256"])


def test_train_nncore(cell):
    net = cell.network()
    X, y = cell.data("nncore")

    def epoch():
        return net.fit(X, y, epochs=1, batch_size=cell.batch_size,
                       learning_rate=peers.LEARNING_RATE, shuffle=False)

    losses = cell.run("nncore", epoch, setup=lambda: cell.load(net))
    assert np.isfinite(losses[0]) and np.isfinite(net.params).all()


def test_train_numpy(cell):
    model = peers.NumpyMLP(cell.weights, cell.biases)
    X, y = cell.data("numpy")
    loss = cell.run("numpy", lambda: model.fit_epoch(X, y, cell.batch_size),
                    setup=lambda: model.load(cell.weights, cell.biases))
    assert np.isfinite(loss) and all(np.isfinite(W).all() for W in model.weights)


def test_train_torch(torch_threads, cell):
    model = peers.TorchMLP(cell.weights, cell.biases, cell.dtype)
    X, y = peers.TorchMLP.to_torch(*cell.data("torch"))
    loss = cell.run("torch", lambda: model.fit_epoch(X, y, cell.batch_size),
                    setup=lambda: model.load(cell.weights, cell.biases))
    assert np.isfinite(loss) and model.weights_finite()


def test_train_sklearn(sklearn, cell):
    X, y = cell.data("sklearn")
    model = peers.SklearnMLP(cell.sizes, cell.weights, cell.biases, X, y, cell.batch_size)
    loss = cell.run("sklearn", lambda: model.fit_epoch(X, y),
                    setup=lambda: model.load(cell.weights, cell.biases))
    assert np.isfinite(loss) and model.weights_finite()


def test_train_jax(jax, cell):
    """JAX: one jitted epoch (lax.scan over the batches), compiled before timing; pinned to
    the cell's thread count of CPUs."""
    model = peers.JaxMLP(cell.weights, cell.biases, cell.dtype)
    data = model.to_jax(*cell.data("jax"), cell.batch_size)
    model.fit_epoch(data)                   # compile, untimed
    with peers.pinned(cell.threads):
        loss = cell.run("jax", lambda: model.fit_epoch(data),
                        setup=lambda: model.load(cell.weights, cell.biases))
    assert np.isfinite(loss) and model.weights_finite()


# Pure Python: only the smallest shape of the grid, and threads do not apply.
@pytest.mark.parametrize("threads", [1], indirect=True, ids=["threads1"])
@pytest.mark.parametrize("shape", ["64-32-10"], indirect=True)
def test_train_reference(cell):
    X, y = cell.data("reference")
    model = peers.ReferenceMLP(cell.network(), X, y)
    loss = cell.run("reference", lambda: model.fit_epoch(cell.batch_size),
                    setup=model.load)
    assert np.isfinite(loss)


def test_train_bound(cell):
    """Ceiling: BLAS products only (mini-batch), weight traffic (online)."""
    X, _ = cell.data("bound")
    if cell.batch_size == 1:
        bound, peer = peers.WeightTraffic(cell.sizes, cell.dtype), "bound-traffic"
    else:
        bound, peer = peers.BlasProducts(cell.sizes, cell.dtype, cell.batch_size), "bound-blas"
    cell.run(peer, lambda: bound.train_epoch(X), setup=getattr(bound, "load", None))
    assert bound.finite()
