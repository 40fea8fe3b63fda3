# SPDX-License-Identifier: MIT
"""``nncore bench``: a quick speed table of nncore against the peers of
``nncore._peers`` (the ones benchmarks/ measures carefully)."""
from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Callable
from typing import Any

from .. import __version__, _peers, simd
from ._util import plural, positive_int, say, seconds

BENCH_PEERS = ["reference", "numpy", "torch", "sklearn"]
BENCH_SIZES = [[64, 32, 10], [784, 128, 10]]
BENCH_CELLS = [("fit", 1), ("fit", 32), ("forward", 1), ("forward", 1024)]
# Rows of random data per network: a multiple of every batch size above.
BENCH_ROWS = 4096

# fit(n, batch) trains one epoch on the first n rows; forward(rows) predicts.
Runner = tuple[Callable[[int, int], object], Callable[[slice], object]]


def add_parser(commands: Any) -> None:
    bench = commands.add_parser(
        "bench", help="a quick speed table against other implementations",
        description="Time nncore's fit (batch 1 and 32) and forward (batch 1 and 1024) "
        "on [64, 32, 10] and [784, 128, 10] networks with sigmoid hidden layers and a "
        "softmax output against the pure-Python reference, a vectorised NumPy MLP and, "
        "when installed, PyTorch and scikit-learn, all from the same initial weights; "
        "prints samples/s and nncore's speed-up. Takes a few seconds; benchmarks/ in "
        "the repository has the careful version, with the same peers.")
    bench.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                       help="(default float32)")
    bench.add_argument("--budget", type=seconds, default=0.1, metavar="SECONDS",
                       help="time spent on each measurement (default 0.1)")
    bench.add_argument("--threads", type=positive_int, default=1, metavar="N",
                       help="BLAS and PyTorch threads (default 1, as in benchmarks/; "
                       "BLAS threads are set through threadpoolctl when it is "
                       "installed)")
    bench.add_argument("--peers", type=_peer_list, default=list(BENCH_PEERS),
                       metavar="NAMES", help="comma-separated subset of "
                       f"{','.join(BENCH_PEERS)} (default all; missing ones are skipped)")
    bench.set_defaults(run=run)


def _peer_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCH_PEERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown peer {unknown[0]!r} (choose from "
                                         f"{', '.join(BENCH_PEERS)})")
    return names


class _Cell:
    """One network size: each implementation's fit and forward from the same
    initial weights, on the same data."""

    def __init__(self, sizes: list[int], dtype: str):
        self.sizes, self.dtype = sizes, dtype
        self.X, self.y = _peers.make_data(sizes, BENCH_ROWS, dtype, seed=0)
        self.net, self.weights, self.biases = _peers.initial_network(sizes, dtype, seed=0)

    def nncore(self) -> Runner:
        net, X, y = self.net, self.X, self.y

        def fit(n: int, b: int) -> object:
            return net.fit(X[:n], y[:n], batch_size=b, learning_rate=_peers.LEARNING_RATE,
                           shuffle=False)
        return fit, lambda rows: net.forward(X[rows])

    def numpy(self) -> Runner:
        mlp, X, y = _peers.NumpyMLP(self.weights, self.biases), self.X, self.y
        return (lambda n, b: mlp.fit_epoch(X[:n], y[:n], b),
                lambda rows: mlp.predict(X[rows]))

    def reference(self) -> Runner:
        mlp = _peers.ReferenceMLP(self.net, self.X, self.y)
        return (lambda n, b: mlp.fit_epoch(b, n),
                lambda rows: mlp.predict(mlp.X[rows]))

    def torch(self) -> Runner:
        mlp = _peers.TorchMLP(self.weights, self.biases, self.dtype)
        X, y = mlp.to_torch(self.X, self.y)
        return (lambda n, b: mlp.fit_epoch(X[:n], y[:n], b),
                lambda rows: mlp.predict(X[rows]))

    def sklearn(self) -> Runner:
        models: dict[int, _peers.SklearnMLP] = {}

        def model(b: int) -> _peers.SklearnMLP:
            # One estimator per batch size (partial_fit's batch is fixed).
            if b not in models:
                models[b] = _peers.SklearnMLP(self.sizes, self.weights, self.biases,
                                              self.X, self.y, b)
            return models[b]
        return (lambda n, b: model(b).fit_epoch(self.X[:n], self.y[:n]),
                lambda rows: model(32).predict(self.X[rows]))


def _rate(run: Callable[[int], object], first: int, limit: int, budget: float) -> float:
    """Samples per second of ``run(n)`` (which processes n samples): calls
    with n growing from ``first`` (x4, at most ``limit``) until a call takes a
    tenth of ``budget``, and until ``budget`` seconds were spent in all.
    One untimed call of ``first`` samples warms up first."""
    run(first)
    n, done, spent = first, 0, 0.0
    while spent < budget:
        start = time.perf_counter()
        run(n)
        took = time.perf_counter() - start
        done, spent = done + n, spent + took
        if took < budget / 10 and n < limit:
            n = min(4 * n, limit)
    return done / spent


def _limit_threads(threads: int, torch_too: bool) -> str:
    """Limit BLAS (and PyTorch) to ``threads`` threads; say what was done."""
    if torch_too:
        importlib.import_module("torch").set_num_threads(threads)
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return ("BLAS threads at the library's default (install threadpoolctl to "
                "set them)")
    # Applied until the process ends (the returned object would restore them).
    threadpoolctl.threadpool_limits(limits=threads)
    return plural(threads, "thread")


def _forward_runner(forward: Callable[[slice], object], batch: int) -> Callable[[int], None]:
    def run(n: int) -> None:
        for start in range(0, n, batch):
            forward(slice(start, start + batch))
    return run


def format_rate(rate: float) -> str:
    for factor, suffix in ((1e6, "M"), (1e3, "k")):
        if rate >= factor:
            return f"{rate / factor:.3g}{suffix}"
    return f"{rate:.3g}"


def format_ratio(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.2g}x" if ratio < 10 \
        else f"{ratio:.0f}x"


def _table_row(texts: list[str]) -> str:
    return "  ".join(f"{text:<{29 if j == 0 else 16}}" for j, text in
                     enumerate(texts)).rstrip()


def run(args: argparse.Namespace) -> int:
    peers = []
    for name in args.peers:
        if name in ("torch", "sklearn"):
            try:
                importlib.import_module(name)
            except ImportError:
                say(f"{name}: not installed, skipped")
                continue
        peers.append(name)
    threads = _limit_threads(args.threads, "torch" in peers)
    print(f"nncore {__version__} ({simd} kernels), {args.dtype}, {threads}; "
          f"samples/s, and in brackets how many times faster nncore is; "
          f"{args.budget:g} s per measurement", flush=True)
    print(_table_row(["cell", "nncore", *peers]))
    for sizes in BENCH_SIZES:
        cell = _Cell(sizes, args.dtype)
        runners: dict[str, Runner] = {"nncore": cell.nncore()}
        for name in peers:
            # The pure-Python reference is timed on the small network only:
            # one batch of the large one takes it seconds.
            if name != "reference" or sizes[0] <= 100:
                runners[name] = getattr(cell, name)()
        for kind, batch in BENCH_CELLS:
            label = f"{kind} batch {batch} {'-'.join(map(str, sizes))}"
            rates = {}
            for name, (fit, forward) in runners.items():
                if kind == "fit":
                    def step(n: int, fit: Callable[[int, int], object] = fit,
                             batch: int = batch) -> None:
                        fit(n, batch)
                    first = batch
                    rates[name] = _rate(step, first, BENCH_ROWS, args.budget)
                else:
                    # The reference has no batched path: its rate per row is
                    # the same for any batch, so a few rows at a time do.
                    rows = min(batch, 16) if name == "reference" else batch
                    rates[name] = _rate(_forward_runner(forward, rows), rows,
                                        BENCH_ROWS, args.budget)
            row = [label, format_rate(rates["nncore"])]
            for name in peers:
                row.append(f"{format_rate(rates[name])} "
                           f"({format_ratio(rates['nncore'] / rates[name])})"
                           if name in rates else "-")
            print(_table_row(row), flush=True)
    if "reference" in peers:
        print("reference: the pure-Python nncore.reference, on the small network only")
    return 0
