# SPDX-License-Identifier: MIT
"""report.py's arithmetic on small synthetic pytest-benchmark files, and peers.pinned.

Plain tests (no timing): they run with the suite, in CI's
``pytest benchmarks --benchmark-disable`` step.
"""
import json
import os
import threading

import pytest

import peers
import report

TRAIN = "benchmarks/bench_train.py::test_train_x"
FORWARD = "benchmarks/bench_forward.py::test_forward_x"
THREADS = "benchmarks/bench_threads.py::test_threads_x"


def bench(fullname, peer, mode, shape, rate, dtype="float32", threads=1, samples=1000):
    """One benchmark entry whose median time gives ``rate`` samples per second."""
    time = samples / rate
    return {"fullname": fullname, "stats": {"median": time, "min": time / 2, "mean": time},
            "extra_info": {"peer": peer, "mode": mode, "shape": shape, "dtype": dtype,
                           "threads": threads, "samples": samples, "nncore_simd": "avx2",
                           "blas": ["openblas 0.3 Haswell threads=1 (libx.so)"]}}


def run_file(tmp_path, name, benchmarks):
    path = tmp_path / name
    path.write_text(json.dumps({"machine_info": {"cpu": {"brand_raw": "Test CPU"}},
                                "datetime": "2026-12-02T04:00:00", "benchmarks": benchmarks}))
    return path


def cells_of(benchmarks):
    return report.collect({"benchmarks": benchmarks}, "median")[0]


def rows_for(rows, text, cell):
    """(figure, status) of the target row ``text`` for the cell "mode shape dtype tN"."""
    found = [(figure, status) for _, t, key, figure, status in rows
             if t == text and f"{key[1]} {key[2]} {key[3]} t{key[4]}" == cell]
    assert len(found) == 1, found
    return found[0]


MINIBATCH_T1 = "mini-batch >= 0.9 of the BLAS bound, 1 thread"


def test_target_is_the_median_of_the_runs_ratios():
    # nncore / bound per run: 0.95, 0.80, 1.00 -> median 0.95 >= 0.9: met,
    # although one run is below the threshold.
    runs = [cells_of([bench(TRAIN, "nncore", "batch32", "784-128-10", nn),
                      bench(TRAIN, "bound-blas", "batch32", "784-128-10", 100.0)])
            for nn in (95.0, 80.0, 100.0)]
    rows = report.evaluate(runs)
    assert rows_for(rows, MINIBATCH_T1, "batch32 784-128-10 float32 t1") == (
        "0.95 [0.80-1.00]", "met")


def test_target_below_threshold_is_not_met():
    runs = [cells_of([bench(TRAIN, "nncore", "batch256", "784-256-128-10", 85.0,
                            dtype="float64"),
                      bench(TRAIN, "bound-blas", "batch256", "784-256-128-10", 100.0,
                            dtype="float64")])]
    rows = report.evaluate(runs)
    assert rows_for(rows, MINIBATCH_T1, "batch256 784-256-128-10 float64 t1") == (
        "0.85", "not met")


def test_missing_peer_or_cell_is_not_measured_with_the_reason():
    runs = [cells_of([bench(FORWARD, "nncore", "batch1", "784-128-10", 300.0),
                      bench(FORWARD, "numpy", "batch1", "784-128-10", 100.0)])]
    rows = report.evaluate(runs)
    assert rows_for(rows, "forward batch 1 >= 2x NumPy", "batch1 784-128-10 float32 t1") == (
        "3.00", "met")
    figure, status = rows_for(rows, "forward batch 1 >= 2x ONNX Runtime",
                              "batch1 784-128-10 float32 t1")
    assert (figure, status) == ("", "not measured (no onnxruntime in the cell)")
    _, status = rows_for(rows, "forward batch 1 >= 2x NumPy", "batch1 784-256-128-10 float32 t1")
    assert status == "not measured (cell forward batch1 784-256-128-10 float32 1 not in the run)"


def test_ahead_of_every_peer_compares_with_the_fastest_and_ignores_bound_and_reference():
    runs = [cells_of([bench(TRAIN, "nncore", "batch32", "784-128-10", 100.0),
                      bench(TRAIN, "numpy", "batch32", "784-128-10", 50.0),
                      bench(TRAIN, "jax", "batch32", "784-128-10", 125.0),
                      bench(TRAIN, "reference", "batch32", "784-128-10", 1000.0),
                      bench(TRAIN, "bound-blas", "batch32", "784-128-10", 1000.0)])]
    rows = report.evaluate(runs)
    assert rows_for(rows, "mini-batch ahead of every peer (JAX included)",
                    "batch32 784-128-10 float32 t1") == ("0.80", "not met")


def test_two_threads_against_one_and_two_networks():
    runs = [cells_of([bench(TRAIN, "nncore", "batch256", "784-128-10", 100.0, threads=1),
                      bench(TRAIN, "nncore", "batch256", "784-128-10", 150.0, threads=2),
                      bench(THREADS, "one", "online", "64-32-10", 100.0, samples=2000),
                      bench(THREADS, "two", "online", "64-32-10", 160.0, samples=2000)])]
    rows = report.evaluate(runs)
    assert rows_for(rows, "mini-batch: 2 threads never slower than 1",
                    "batch256 784-128-10 float32 t2") == ("1.50", "met")
    assert rows_for(rows, "two networks in two Python threads >= 1.7x one thread",
                    "online 64-32-10 float32 t1") == ("1.60", "not met")


def test_online_against_main_needs_main_runs():
    runs = [cells_of([bench(TRAIN, "nncore", "online", "64-32-10", 96.0)])]
    rows = report.evaluate(runs)
    _, status = rows_for(rows, "online training >= 0.95 of main (separate runs)",
                         "online 64-32-10 float32 t1")
    assert status == "not measured (main not measured (give its runs with --main))"
    main = {("train", "online", "64-32-10", "float32", 1): 100.0}
    rows = report.evaluate(runs, main)
    assert rows_for(rows, "online training >= 0.95 of main (separate runs)",
                    "online 64-32-10 float32 t1") == ("0.96", "met")


def test_main_prints_tables_and_targets_from_files(tmp_path, capsys):
    runs = [run_file(tmp_path, f"run{i}.json",
                     [bench(FORWARD, "nncore", "batch1024", "64-32-10", nn),
                      bench(FORWARD, "onnxruntime", "batch1024", "64-32-10", 100.0),
                      bench(THREADS, "one", "batch32", "64-32-10", 100.0),
                      bench(THREADS, "two", "batch32", "64-32-10", 190.0),
                      bench(TRAIN, "nncore", "online", "64-32-10", 9.0 + i)])
            for i, nn in enumerate((120.0, 100.0, 130.0))]
    main = run_file(tmp_path, "main.json", [bench(TRAIN, "nncore", "online", "64-32-10", 10.0)])
    report.main([str(p) for p in runs] + ["--main", str(main)])
    out = capsys.readouterr().out
    assert "| forward batch1024 64-32-10 float32 t1 | 120 |" in out
    assert "| batch32 64-32-10 float32 | 100 | 190 | 1.90 [1.90-1.90] |" in out
    assert ("| issue 15 | forward batch 1024 >= 1.1x ONNX Runtime on nncore's network | "
            "batch1024 64-32-10 float32 t1 | 1.20 [1.00-1.30] | met |") in out
    assert ("| issue 12 | online training >= 0.95 of main (separate runs) | "
            "online 64-32-10 float32 t1 | 1.00 [0.90-1.10] | met |") in out
    assert ("| issue 12 | online training >= 4x NumPy | online 784-128-10 float32 t1 |  | "
            "not measured (cell train online 784-128-10 float32 1 not in the run) |") in out


def test_main_rejects_a_file_without_cells(tmp_path):
    path = run_file(tmp_path, "empty.json", [])
    with pytest.raises(SystemExit, match="empty.json: no benchmarks with samples"):
        report.main([str(path)])


def masks():
    """The distinct CPU affinity masks of the process's threads."""
    return {frozenset(os.sched_getaffinity(int(tid))) for tid in os.listdir("/proc/self/task")}


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs sched_setaffinity and at least two usable CPUs")
def test_pinned_limits_every_thread_and_restores():
    before = os.sched_getaffinity(0)
    release = threading.Event()
    worker = threading.Thread(target=release.wait)   # a thread that exists before pinning
    worker.start()
    try:
        with peers.pinned(1):
            assert masks() == {frozenset({min(before)})}
        assert masks() == {frozenset(before)}
        with peers.pinned(len(before)):      # as many threads as CPUs: left alone
            assert os.sched_getaffinity(0) == before
    finally:
        release.set()
        worker.join()
