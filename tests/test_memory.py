# SPDX-License-Identifier: MIT
"""Memory checks count what is really allocated and refuse before allocating.

The sizes of the reliability review (issue 11, item 4) run in a child Python
whose address space is capped with RLIMIT_AS a little above what it already
uses: a check that undercounts then meets a MemoryError (or nothing at all)
instead of the documented ValueError, and the machine is never at risk.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nncore
from nncore import _params, _validation

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc/self/status, caps RLIMIT_AS")

# Runs ``prepare``, caps the child's address space at ``cap_gib`` above what
# it then uses, runs ``body`` (which fills ``results``) and prints the results
# and the growth of the peak RSS as JSON.
CHILD = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    import nncore

    def vm_size():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

    def attempt(call):
        try:
            call()
        except BaseException as exc:
            return [type(exc).__name__, str(exc)]
        return ["ok", ""]

    results = {}
    PREPARE
    cap = vm_size() + int(CAP_GIB * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    BODY
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    print(json.dumps({"results": results, "grown": grown}))
""")


def run_capped(body, cap_gib=2.0, prepare="pass", args=()):
    source = (CHILD.replace("PREPARE", textwrap.dedent(prepare).strip()).replace("CAP_GIB", repr(cap_gib))
              .replace("BODY", textwrap.dedent(body).strip()))
    done = subprocess.run([sys.executable, "-c", source, *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_network_bytes_count_the_row_padding():
    # [1, 300M, 1] float32: layer 0 has 300M rows of 2 entries padded to 16
    # (64 bytes), layer 1 one row of 300M + 1 entries padded to a multiple of 16.
    entries, n_bytes = _validation.network_bytes([1, 300_000_000, 1], np.float32)
    assert entries == 300_000_000 * 16 + 300_000_016
    assert n_bytes == entries * 4 + _params.ALIGNMENT + _params.DRAW_CHUNK * 8
    # And it is what the constructor allocates, for a small network.
    for sizes in ([1, 5, 1], [3, 17, 2], [100, 7]):
        for dtype in (np.float32, np.float64):
            net = nncore.Network(sizes, dtype=dtype, output="sigmoid")
            assert _validation.network_bytes(sizes, dtype)[0] == net.params.shape[0]


def test_the_review_sizes_are_refused_before_anything_is_allocated():
    result = run_capped("""
        results["1-300M-1 float32"] = attempt(lambda: nncore.Network(
            [1, 300_000_000, 1], dtype="float32", output="sigmoid"))
        results["60000-60000 float64"] = attempt(lambda: nncore.Network([60000, 60000]))
        results["60000-60000 float32"] = attempt(
            lambda: nncore.Network([60000, 60000], dtype="float32"))
    """)
    results = result["results"]
    for case, gib in [("1-300M-1 float32", "19.0"), ("60000-60000 float64", "26.8"),
                      ("60000-60000 float32", "13.4")]:
        kind, message = results[case]
        assert kind == "ValueError", (case, kind, message)
        assert f"would need {gib} GiB, more than the" in message, message
        assert "padded to 64 bytes" in message and "layer_sizes" in message
    # Refused before allocating: the child's peak memory hardly moved.
    assert result["grown"] < 64 * 2**20


def test_a_model_file_declaring_such_sizes_is_refused_with_model_file_error(tmp_path):
    # A small file whose layer_sizes declare [1, 300M, 1] float32: load checks
    # the memory before reading any weight and names the file.
    path = tmp_path / "huge.npz"
    members = nncore.Network([1, 2, 1], output="sigmoid", dtype="float32").__getstate__()
    members["layer_sizes"] = np.array([1, 300_000_000, 1], dtype=np.int64)
    np.savez(path, **members)
    result = run_capped("""
        results["load"] = attempt(lambda: nncore.load(sys.argv[1]))
    """, args=[str(path)])
    kind, message = result["results"]["load"]
    assert kind == "ModelFileError", (kind, message)
    assert str(path) in message and "would need 19.0 GiB" in message
    assert result["grown"] < 64 * 2**20


@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="AddressSanitizer's quarantine keeps freed memory mapped")
def test_fit_counts_the_optimizer_state_and_backups():
    # A 320 MB network under a cap of 1 GiB above it: plain SGD (a backup and
    # a gradient) fits; Adam (two moments, a backup and a gradient) does not,
    # and is refused before anything is allocated, with the weights untouched.
    result = run_capped("""
        X = np.zeros((8, 1))
        y = np.zeros((8, 2))
        before = net.params.copy()
        results["adam"] = attempt(lambda: net.fit(X, y, batch_size=4, optimizer="adam",
                                                  learning_rate=1e-3))
        results["unchanged"] = [str(np.array_equal(net.params, before)), ""]
        del before
        results["sgd"] = attempt(lambda: net.fit(X, y, batch_size=4))
    """, cap_gib=1.0, prepare='net = nncore.Network([1, 4_000_000, 2], output="identity")')
    results = result["results"]
    kind, message = results["adam"]
    assert kind == "ValueError", (kind, message)
    assert "the optimizer state, a backup of the weights and the gradient" in message
    assert results["unchanged"][0] == "True"
    assert results["sgd"] == ["ok", ""]


def test_check_bytes_names_what_and_how_much(monkeypatch):
    monkeypatch.setattr(_validation, "available_memory", lambda: 2**30)
    with pytest.raises(ValueError, match=r"the thing would need 2\.0 GiB, more than "
                                         r"the 1\.0 GiB of memory available"):
        _validation.check_bytes(2**31, "the thing")
    _validation.check_bytes(2**29, "the thing")


def test_available_memory_honours_the_address_space_limit():
    result = run_capped("""
        from nncore import _validation
        results["available"] = [_validation.available_memory(), ""]
    """, cap_gib=1.0)
    available = result["results"]["available"][0]
    assert 0.9 * 2**30 < available <= 2**30


def test_one_hot_targets_larger_than_memory_are_refused():
    # 100,000 labels for 2^20 classes: an 800 GB one-hot matrix.
    net = nncore.Network([1, 2**20], seed=0)
    before = net.params.copy()
    X = np.zeros((100_000, 1))
    y = np.zeros(100_000, dtype=int)
    with pytest.raises(ValueError, match=r"the one-hot targets of 100000 labels and "
                                         r"1048576 classes would need 781\.2 GiB"):
        net.fit(X, y)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="AddressSanitizer's quarantine keeps freed memory mapped")
@pytest.mark.parametrize("solver, cap_gib", [("adam", 1.5), ("sgd", 1.5), ("lbfgs", 4.0)])
def test_sparse_input_is_never_densified(solver, cap_gib):
    # 200 rows of 2,000,000 columns, 5 entries a row, fitted and predicted: a
    # batch densified in the core would be 200 rows of 16 MB each, 3.2 GB,
    # past the cap. Kept sparse, the fits need the weights and the solver's
    # state (64 MB a copy), and lbfgs SciPy's L-BFGS-B workspace besides
    # (about 3 GiB of address space, as much as scikit-learn's own fit).
    pytest.importorskip("sklearn")
    result = run_capped("""
        import warnings
        from nncore.sklearn import MLPClassifier
        est = MLPClassifier(hidden_layer_sizes=(4,), solver=sys.argv[1], max_iter=2,
                            batch_size=200, random_state=0)
        def fit_and_predict():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
            proba = est.predict_proba(X)
            assert proba.shape == (200, 3) and np.all(np.isfinite(proba))
        results["fit"] = attempt(fit_and_predict)
    """, cap_gib=cap_gib, args=[solver], prepare="""
        import scipy.sparse as sp
        rng = np.random.default_rng(0)
        rows = np.repeat(np.arange(200), 5)
        cols = rng.integers(0, 2_000_000, size=1000)
        X = sp.csr_matrix((rng.random(1000), (rows, cols)), shape=(200, 2_000_000))
        y = np.arange(200) % 3
    """)
    assert result["results"]["fit"] == ["ok", ""]
