# SPDX-License-Identifier: MIT
"""Fixtures of the benchmark suite: the size grid, dtype, BLAS threads, data, and one `cell`.

A cell is one (mode, shape, dtype, threads) combination; every peer measured
in it lands in the same pytest-benchmark group, so each table compares like
with like. Test ids read ``test_<kind>_<peer>[<shape>-<dtype>-threads<n>-<mode>]``,
so ``-k "float32 and threads1"`` or ``-k "online and 64-32-10"`` pick cells.

With ``--benchmark-disable`` (CI) every body runs once on a few batches only,
so the whole suite stays quick while still exercising every code path.
"""
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import nncore

# bench_*.py import peers.py; with --import-mode=importlib this folder is not
# on sys.path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:
    threadpool_info = threadpool_limits = None

SHAPES = {
    "64-32-10": (64, 32, 10),
    "784-128-10": (784, 128, 10),
    "784-256-128-10": (784, 256, 128, 10),
}
DTYPES = ["float32", "float64"]
THREADS = [1, 2]

# Batch size of every mode ("online" trains per sample; "batchN" elsewhere).
BATCH_SIZES = {"online": 1, "batch32": 32, "batch256": 256, "batch1": 1, "batch1024": 1024}
# Samples per timed round: one epoch (training) or one pass (inference), about
# 0.01-1 s per round for the compiled peers on the 2-core development machine.
SAMPLES = {"online": 1000, "batch32": 8192, "batch256": 8192, "batch1": 1000, "batch1024": 8192}
# The pure-Python reference is ~1000x slower: fewer samples, smallest shape only.
REFERENCE_SAMPLES = {"online": 200, "batch32": 256, "batch256": 256, "batch1": 200,
                     "batch1024": 1024}
# With --benchmark-disable: two batches (ten samples for the per-sample modes).
QUICK_SAMPLES = {"online": 10, "batch32": 64, "batch256": 512, "batch1": 10, "batch1024": 2048}
# Rounds per benchmark: as many as fit in ROUND_BUDGET seconds (measured on the
# warm-up round), within [MIN_ROUNDS, MAX_ROUNDS]. Cheap cells get more rounds
# against noise; slow ones (2-thread cells on a busy machine can take tens of
# seconds per round) no more than needed.
ROUND_BUDGET = 0.5
MIN_ROUNDS, MAX_ROUNDS = 3, 10
DATA_SEED = 20240601
WEIGHT_SEED = 7


def pytest_collection_modifyitems(config, items):
    """Give every benchmark the group of its cell: kind, mode, shape, dtype, threads."""
    here = Path(__file__).resolve().parent
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if Path(item.path).resolve().parent != here or "mode" not in params:
            continue
        kind = Path(item.path).stem.removeprefix("bench_")
        group = (f"{kind} {params['mode']} | {params['shape']} | {params['dtype']} | "
                 f"threads{params['threads']}")
        item.add_marker(pytest.mark.benchmark(group=group))


@pytest.fixture(scope="module", params=list(SHAPES))
def shape(request):
    """Name of a network shape in the size grid, e.g. ``"784-128-10"``."""
    return request.param


@pytest.fixture(scope="module", params=DTYPES)
def dtype(request):
    return request.param


@pytest.fixture(params=THREADS, ids=lambda n: f"threads{n}")
def threads(request):
    """Threads of the test: BLAS (threadpoolctl) and nncore's own; 2-thread cells skip without threadpoolctl.

    The one place the suite sets nncore's threads. Peers with their own
    thread settings (PyTorch, ONNX Runtime, JAX) take ``threads`` from here.
    """
    n = request.param
    previous = nncore.set_num_threads(n)
    try:
        if threadpool_limits is None:
            if n != 1:
                pytest.skip("threadpoolctl is not installed: thread count cannot be set")
            yield n
            return
        # Import everything that loads a BLAS first: the limit applies only to
        # libraries already loaded.
        import scipy.linalg  # noqa: F401
        with threadpool_limits(limits=n, user_api="blas"):
            yield n
    finally:
        nncore.set_num_threads(previous)


def blas_summary():
    """BLAS libraries loaded in the process, as short strings (threadpoolctl)."""
    if threadpool_info is None:
        return ["unknown (threadpoolctl not installed; BLAS threads not limited)"]
    return [f"{lib.get('internal_api')} {lib.get('version')} {lib.get('architecture', '')} "
            f"threads={lib.get('num_threads')} ({Path(lib['filepath']).name})"
            for lib in threadpool_info() if lib.get("user_api") == "blas"]


@pytest.fixture(scope="module")
def data(shape, dtype):
    """Inputs, labels and initial weights of a shape and dtype, built once per module."""
    sizes = SHAPES[shape]
    X, y = peers.make_data(sizes, max(SAMPLES.values()), dtype, DATA_SEED)
    _, weights, biases = peers.initial_network(sizes, dtype, WEIGHT_SEED)
    return X, y, weights, biases


@dataclass
class Cell:
    """One benchmark cell and the run of one peer in it."""

    benchmark: object
    shape: str
    dtype: np.dtype
    threads: int
    mode: str
    quick: bool
    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    weights: list = field(repr=False)
    biases: list = field(repr=False)

    @property
    def sizes(self):
        return SHAPES[self.shape]

    @property
    def batch_size(self):
        return BATCH_SIZES[self.mode]

    def n_samples(self, peer):
        n = (REFERENCE_SAMPLES if peer == "reference" else SAMPLES)[self.mode]
        return min(n, QUICK_SAMPLES[self.mode]) if self.quick else n

    def data(self, peer):
        """The first ``n_samples(peer)`` inputs and labels (views)."""
        n = self.n_samples(peer)
        return self.X[:n], self.y[:n]

    def network(self):
        """A fresh nncore Network holding the cell's initial weights."""
        net = nncore.Network(self.sizes, activation="sigmoid", output="softmax",
                             dtype=self.dtype, seed=WEIGHT_SEED)
        self.load(net)
        return net

    def load(self, net):
        """Reset an nncore Network to the cell's initial weights."""
        for W, W0 in zip(net.weights, self.weights):
            W[...] = W0
        for b, b0 in zip(net.biases, self.biases):
            b[...] = b0

    def run(self, peer, target, setup=None, samples=None):
        """Time ``target`` with pytest-benchmark; returns its last result.

        ``samples``: the samples one call of ``target`` processes, when not
        ``n_samples(peer)``.

        ``setup`` runs before every round, untimed (training resets the weights
        there so every round starts from the same point). One untimed warm-up
        round (setup + target) comes first and sets the number of rounds; it is
        done here rather than by ``warmup_rounds=1`` because pedantic needs the
        round count up front.
        """
        info = self.benchmark.extra_info
        info.update(peer=peer, mode=self.mode, shape=self.shape, dtype=self.dtype.name,
                    threads=self.threads, batch_size=self.batch_size,
                    samples=self.n_samples(peer) if samples is None else samples,
                    nncore_simd=nncore.simd,
                    blas=blas_summary())
        if peer == "reference":
            info["compute_dtype"] = "float64 (Python float)"
        if self.quick:
            # --benchmark-disable: pedantic runs setup and target once.
            return self.benchmark.pedantic(target, setup=setup)
        if setup is not None:
            setup()
        start = time.perf_counter()
        target()
        elapsed = time.perf_counter() - start
        rounds = int(np.clip(ROUND_BUDGET / max(elapsed, 1e-9), MIN_ROUNDS, MAX_ROUNDS))
        return self.benchmark.pedantic(target, setup=setup, rounds=rounds, warmup_rounds=0)


# `benchmark` last, in `cell` and in the tests' arguments: a fixture that skips
# after pytest-benchmark's fixture exists makes it warn ("fixture was not used"),
# an error under filterwarnings = error.
@pytest.fixture
def cell(request, shape, dtype, threads, mode, data, benchmark):
    X, y, weights, biases = data
    quick = bool(request.config.getoption("benchmark_disable"))
    return Cell(benchmark, shape, np.dtype(dtype), threads, mode, quick,
                X, y, weights, biases)


@pytest.fixture
def torch_threads(threads):
    """``torch`` with ``set_num_threads`` matching the cell (restored afterwards); skips without torch.

    Request it before ``cell``.
    """
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    yield torch
    torch.set_num_threads(before)


@pytest.fixture
def onnxruntime():
    """onnxruntime (and onnx, which builds its graph), or a skip; request it before ``cell``."""
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


@pytest.fixture
def jax():
    """JAX, with 64-bit types enabled (see peers.import_jax), or a skip; request it before ``cell``."""
    pytest.importorskip("jax")
    return peers.import_jax()


@pytest.fixture
def sklearn():
    """scikit-learn, or a skip; request it before ``cell``."""
    return pytest.importorskip("sklearn")
