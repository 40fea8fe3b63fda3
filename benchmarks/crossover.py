# SPDX-License-Identifier: MIT
"""Where nncore should stop going row by row and use BLAS.

``Network.forward`` runs a call, and ``Network.fit`` a mini-batch, either
through nncore's hand-written per-sample loops or through BLAS gemm per
layer. One row always goes by rows; above that the core measures the
crossover itself, once per process and network shape (``Model.rows_max``,
``Model.train_by_rows`` in pyx/_core.pyx). This script measures both paths on
the same data for a range of network sizes and row counts (rows per forward
call, or batch size) and prints, per cell, the time of the row-by-row path
over the BLAS path (below 1: rows win) and the work in multiply-adds, and
then what the core's own calibration chose, to compare.

    python benchmarks/crossover.py            # inference, one BLAS thread
    python benchmarks/crossover.py --train    # mini-batch training

Not a pytest-benchmark suite: a quick table to check the calibration
against. Timings are the best of several repeats.
"""
import argparse
import contextlib
import timeit

import numpy as np

import nncore

SHAPES = [(16, 8, 2), (32, 16, 4), (64, 32, 10), (128, 64, 10), (784, 128, 10),
          (784, 256, 128, 10)]
ROWS = [1, 2, 4, 8, 32]
TRAIN_BATCHES = [2, 4, 8, 16, 32]
PATH_BLAS, PATH_ROWS = nncore._core.PATH_BLAS, nncore._core.PATH_ROWS


def forward_time(net, X, path, number):
    model = net._compiled()
    return min(timeit.repeat(lambda: model.forward(X, path), number=number,
                             repeat=7)) / number


def train_time(net, X, path, batch_size):
    # One epoch of 2048 samples in order; the time per sample.
    y = np.arange(X.shape[0]) % net.layer_sizes[-1]
    net._train_path = path
    return min(timeit.repeat(lambda: net.fit(X, y, batch_size=batch_size,
                                             learning_rate=1e-3, shuffle=False),
                             number=1, repeat=5)) / X.shape[0]


def measure(args, net, n, rng, threadpool_limits):
    shape = net.layer_sizes
    work = sum(a * b for a, b in zip(shape[:-1], shape[1:]))
    if args.train:
        X = rng.random((2048, shape[0])).astype(net.dtype)
        times = [train_time(net, X, path, n) for path in (PATH_BLAS, PATH_ROWS)]
    else:
        X = rng.random((n, shape[0])).astype(net.dtype)
        number = max(20, 2_000_000 // (n * work))
        times = [forward_time(net, X, path, number) for path in (PATH_BLAS, PATH_ROWS)]
    return f"{times[1] / times[0]:.2f} ({n * work})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--train", action="store_true",
                        help="mini-batch training instead of inference")
    args = parser.parse_args()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
        print("threadpoolctl not installed: BLAS threads not limited")
    rng = np.random.default_rng(0)
    rows = TRAIN_BATCHES if args.train else ROWS
    what = "batch size" if args.train else "rows per call"
    print(f"nncore {nncore.__version__}, core {nncore.simd}, "
          f"{'training' if args.train else 'inference'}; time(rows) / time(BLAS), "
          "work in multiply-adds")
    print(f"| shape | dtype | " + " | ".join(f"{what} {n}" for n in rows) + " |")
    print("|---|---|" + "---|" * len(rows))
    limit = (threadpool_limits(limits=args.threads, user_api="blas")
             if threadpool_limits is not None else contextlib.nullcontext())
    with limit:
        for shape in SHAPES:
            for dtype in (np.float32, np.float64):
                net = nncore.Network(shape, dtype=dtype, seed=0)
                cells = [measure(args, net, n, rng, threadpool_limits) for n in rows]
                print(f"| {'-'.join(map(str, shape))} | {np.dtype(dtype).name} | "
                      + " | ".join(cells) + " |")
        print("\nchosen by the core's calibration on this machine:")
        for shape in SHAPES:
            for dtype in (np.float32, np.float64):
                model = nncore.Network(shape, dtype=dtype, seed=0)._compiled()
                batches = [b for b in TRAIN_BATCHES if model.train_by_rows(b)]
                print(f"  {'-'.join(map(str, shape))} {np.dtype(dtype).name}: forward by "
                      f"rows up to {model.rows_max} rows; training by rows at "
                      f"batch sizes {batches or 'none'}")


if __name__ == "__main__":
    main()
