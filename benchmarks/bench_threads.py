# SPDX-License-Identifier: MIT
"""Two networks trained at once from two Python threads, against one network in one thread.

nncore's core releases the GIL for the whole epoch, so on two free cores two
independent networks trained from two ``threading.Thread`` should together
process about twice the samples per second of one. Both peers of a cell
process the same total number of samples: ``one`` trains one network for two
epochs over the cell's data in the calling thread; ``two`` trains two
networks for one epoch each, in two threads started together. The speed-up
is the rate of ``two`` over the rate of ``one`` (report.py prints it; nothing
asserts on time). BLAS and nncore run with one thread each (``threads1``), as
a program that trains in threads should set them.
"""
import threading

import numpy as np
import pytest

import peers

pytestmark = [pytest.mark.parametrize("mode", ["online", "batch32", "batch256"]),
              pytest.mark.parametrize("threads", [1], indirect=True, ids=["threads1"])]


def _fit(net, X, y, epochs, batch_size, losses, slot):
    losses[slot] = net.fit(X, y, epochs=epochs, batch_size=batch_size,
                           learning_rate=peers.LEARNING_RATE, shuffle=False)


def test_threads_one(cell):
    net = cell.network()
    X, y = cell.data("nncore")
    losses = [None]
    cell.run("one", lambda: _fit(net, X, y, 2, cell.batch_size, losses, 0),
             setup=lambda: cell.load(net), samples=2 * X.shape[0])
    assert np.isfinite(losses[0]).all() and np.isfinite(net.params).all()


def test_threads_two(cell):
    nets = [cell.network(), cell.network()]
    X, y = cell.data("nncore")
    losses = [None, None]

    def both():
        workers = [threading.Thread(target=_fit, args=(net, X, y, 1, cell.batch_size,
                                                       losses, slot))
                   for slot, net in enumerate(nets)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def reset():
        losses[:] = [None, None]
        for net in nets:
            cell.load(net)

    cell.run("two", both, setup=reset, samples=2 * X.shape[0])
    # A thread that raised leaves its slot None (threading prints the error).
    assert all(l is not None and np.isfinite(l).all() for l in losses)
    assert all(np.isfinite(net.params).all() for net in nets)
