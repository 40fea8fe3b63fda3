# SPDX-License-Identifier: MIT
"""Where inference should stop going row by row and use BLAS.

``Network.forward`` runs a call either through nncore's hand-written
matrix-vector loops, one row at a time, or through BLAS gemm per layer; the
core chooses by the call's total work (``PER_ROW_MAX_WORK`` in
pyx/_core.pyx). This script measures both paths on the same data for a range
of network sizes and row counts and prints, per cell, the time of the
row-by-row path over the BLAS path (below 1: rows win) and the work of the
call in multiply-adds, which is the quantity the threshold is set on.

    python benchmarks/crossover.py            # one BLAS thread, both dtypes

Not a pytest-benchmark suite: a quick table for choosing a constant, rerun
when the kernels or the BLAS change. Timings are the best of several repeats.
"""
import argparse
import timeit

import numpy as np

import nncore

SHAPES = [(16, 8, 2), (32, 16, 4), (64, 32, 10), (128, 64, 10), (784, 128, 10),
          (784, 256, 128, 10)]
ROWS = [1, 2, 4, 8, 32]
PATH_BLAS, PATH_ROWS = 0, 1


def best_time(model, X, path, number):
    return min(timeit.repeat(lambda: model.forward(X, path), number=number,
                             repeat=7)) / number


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    args = parser.parse_args()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
        print("threadpoolctl not installed: BLAS threads not limited")
    rng = np.random.default_rng(0)
    print(f"nncore {nncore.__version__}, core {nncore.simd}; "
          "time(rows) / time(BLAS), call work in multiply-adds")
    print("| shape | dtype | " + " | ".join(f"{n} rows" for n in ROWS) + " |")
    print("|---|---|" + "---|" * len(ROWS))
    for shape in SHAPES:
        for dtype in (np.float32, np.float64):
            net = nncore.Network(shape, dtype=dtype, seed=0)
            model = net._compiled()
            cells = []
            for n in ROWS:
                X = rng.random((n, shape[0])).astype(dtype)
                number = max(20, 2_000_000 // (n * model.work_per_row))
                if threadpool_limits is not None:
                    with threadpool_limits(limits=args.threads, user_api="blas"):
                        blas = best_time(model, X, PATH_BLAS, number)
                        rows = best_time(model, X, PATH_ROWS, number)
                else:
                    blas = best_time(model, X, PATH_BLAS, number)
                    rows = best_time(model, X, PATH_ROWS, number)
                cells.append(f"{rows / blas:.2f} ({n * model.work_per_row})")
            print(f"| {'-'.join(map(str, shape))} | {np.dtype(dtype).name} | "
                  + " | ".join(cells) + " |")
    print(f"\nthreshold in use: rows when the call's work <= "
          f"{model.per_row_max_work} multiply-adds")


if __name__ == "__main__":
    main()
