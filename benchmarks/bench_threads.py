# SPDX-License-Identifier: MIT
"""Two networks trained at once from two Python threads, against one network in one thread.

nncore's core releases the GIL for the whole epoch, so on two free cores two
independent networks trained from two ``threading.Thread`` should together
process about twice the samples per second of one. Both peers of a cell
process the same total number of samples: ``one`` trains one network for
2 x EPOCHS epochs over the cell's data in the calling thread; ``two`` trains
two networks for EPOCHS epochs each, in two threads started together. EPOCHS
makes each network's share at least about 10,000 samples, so that starting
and joining the threads and fit's own Python work (GIL held) are a small part
of the round, as they would be in a real training run. The speed-up
is the rate of ``two`` over the rate of ``one`` (report.py prints it; nothing
asserts on time). BLAS and nncore run with one thread each (``threads1``), as
a program that trains in threads should set them.
"""
import threading

import numpy as np
import pytest

import peers

# Epochs per network and round (one with --benchmark-disable).
EPOCHS = {"online": 10, "batch32": 2, "batch256": 2}

pytestmark = [pytest.mark.parametrize("mode", ["online", "batch32", "batch256"]),
              pytest.mark.parametrize("threads", [1], indirect=True, ids=["threads1"])]


def _fit(net, X, y, epochs, batch_size, losses, slot):
    losses[slot] = net.fit(X, y, epochs=epochs, batch_size=batch_size,
                           learning_rate=peers.LEARNING_RATE, shuffle=False)


def epochs(cell):
    return 1 if cell.quick else EPOCHS[cell.mode]


def test_threads_one(cell):
    net = cell.network()
    X, y = cell.data("nncore")
    losses = [None]
    cell.run("one", lambda: _fit(net, X, y, 2 * epochs(cell), cell.batch_size, losses, 0),
             setup=lambda: cell.load(net), samples=2 * epochs(cell) * X.shape[0])
    assert np.isfinite(losses[0]).all() and np.isfinite(net.params).all()


def test_threads_two(cell):
    nets = [cell.network(), cell.network()]
    X, y = cell.data("nncore")
    losses = [None, None]

    def both():
        workers = [threading.Thread(target=_fit, args=(net, X, y, epochs(cell),
                                                       cell.batch_size, losses, slot))
                   for slot, net in enumerate(nets)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def reset():
        losses[:] = [None, None]
        for net in nets:
            cell.load(net)

    cell.run("two", both, setup=reset, samples=2 * epochs(cell) * X.shape[0])
    # A thread that raised leaves its slot None (threading prints the error).
    assert all(l is not None and np.isfinite(l).all() for l in losses)
    assert all(np.isfinite(net.params).all() for net in nets)
