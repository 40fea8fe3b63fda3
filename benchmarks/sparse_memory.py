# SPDX-License-Identifier: MIT
"""Peak memory of a fit and a prediction on wide sparse input: nncore against scikit-learn.

Usage::

    python benchmarks/sparse_memory.py nncore          # or: sklearn
    python benchmarks/sparse_memory.py sklearn --rows 1000 --entries 10 --hidden 10

Builds a CSR matrix of ``--rows`` rows and 2,000,000 columns with
``--entries`` stored entries a row (float64), fits ``MLPClassifier``
(``--solver``, default adam, two epochs) on three classes and predicts,
then prints the peak resident memory of the process (``ru_maxrss``) before
and after. Run each library in its own process: the peak is per process.
The reliability review's case (1,000 rows, 10 entries, ``hidden=10``)
peaked at 3.87 GiB when nncore densified its batches.
"""
import argparse
import resource
import warnings

import numpy as np
import scipy.sparse as sp


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", choices=["nncore", "sklearn"])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=2_000_000)
    parser.add_argument("--entries", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=10)
    parser.add_argument("--solver", default="adam", choices=["adam", "sgd", "lbfgs"])
    args = parser.parse_args()
    if args.library == "nncore":
        from nncore.sklearn import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    rng = np.random.default_rng(0)
    rows = np.repeat(np.arange(args.rows), args.entries)
    cols = rng.integers(0, args.columns, size=rows.size)
    X = sp.csr_matrix((rng.random(rows.size), (rows, cols)),
                      shape=(args.rows, args.columns))
    y = np.arange(args.rows) % 3
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    est = MLPClassifier(hidden_layer_sizes=(args.hidden,), solver=args.solver,
                        max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # two epochs do not converge
        est.fit(X, y)
    est.predict_proba(X)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{args.library} {args.solver}: peak RSS {peak / 2**20:.2f} GiB "
          f"(before the fit {before / 2**20:.2f} GiB)")


if __name__ == "__main__":
    main()
