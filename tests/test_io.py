# SPDX-License-Identifier: MIT
"""Saving and loading: bit-exact round trips, atomic writes, hostile files.

Every hostile or damaged file must raise ModelFileError (a ValueError) that
names the file, never execute anything, never allocate from a size field it
has not checked, and never crash. The fuzz test mutates valid files (bit
flips, truncation, splices, random bytes) under Hypothesis; its budget is
NNCORE_FUZZ_EXAMPLES (default 300) examples.
"""
import copy
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
from helpers import ACTIVATIONS, DTYPES, OUTPUTS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import nncore
from nncore import ModelFileError, _io

FUZZ = settings(max_examples=int(os.environ.get("NNCORE_FUZZ_EXAMPLES", "300")),
                deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def trained(dtype=np.float64, activation="sigmoid", output="softmax", sizes=(4, 5, 3)):
    net = nncore.Network(sizes, activation=activation, output=output, dtype=dtype, seed=3)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (20, sizes[0]))
    if output == "softmax":
        y = rng.integers(0, sizes[-1], 20)
    elif output == "sigmoid":
        y = (rng.random((20, sizes[-1])) > 0.5).astype(float)
    else:
        y = rng.normal(size=(20, sizes[-1]))
    net.fit(X, y, epochs=2, batch_size=3)
    return net, X, y


def assert_identical(a, b):
    assert a.layer_sizes == b.layer_sizes and a.activation == b.activation
    assert a.output == b.output and a.dtype == b.dtype
    # Bit for bit, padding included.
    assert a.params.tobytes() == b.params.tobytes()
    assert a._rng.bit_generator.state == b._rng.bit_generator.state


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_round_trip_is_bit_exact(tmp_path, dtype, activation, output):
    net, X, _ = trained(dtype, activation, output)
    path = tmp_path / "net.npz"
    net.save(path)
    loaded = nncore.load(path)
    assert_identical(net, loaded)
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))


def test_training_resumes_exactly_where_it_stopped(tmp_path, dtype):
    net, X, y = trained(dtype)
    straight = copy.deepcopy(net)
    straight.fit(X, y, epochs=2, batch_size=1)
    net.save(tmp_path / "net.npz")
    resumed = nncore.load(tmp_path / "net.npz")
    resumed.fit(X, y, epochs=2, batch_size=1)
    assert_identical(straight, resumed)


def test_pickle_and_deepcopy_use_the_same_state(dtype):
    net, X, y = trained(dtype)
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net), copy.copy(net)):
        assert_identical(net, clone)
        clone.fit(X, y, epochs=1)       # independent buffers
    assert net.params.tobytes() == copy.deepcopy(net).params.tobytes()
    assert not np.shares_memory(copy.deepcopy(net).params, net.params)


def test_save_replaces_atomically_and_cleans_up_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    old, _, _ = trained(sizes=(3, 2, 2))
    old.save(path)
    before = path.read_bytes()
    new, _, _ = trained(sizes=(6, 7, 3))

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        new.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]
    monkeypatch.undo()
    new.save(path)
    assert nncore.load(path).layer_sizes == (6, 7, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


def members_of(net):
    return dict(_io.state_of(net))


def write(path, members, compress=False):
    with open(path, "wb") as stream:
        (np.savez_compressed if compress else np.savez)(stream, **members)


def broken_files():
    net, _, _ = trained()
    good = members_of(net)
    cases = {}

    def variant(name, **changes):
        members = dict(good)
        for key, value in changes.items():
            if value is None:
                members.pop(key)
            else:
                members[key] = value
        cases[name] = members

    variant("wrong format", format=np.array("something-else"))
    variant("newer version", version=np.array(2, dtype=np.int64))
    variant("missing weights", weights_1=None)
    variant("extra member", extra=np.zeros(3))
    variant("weights of the wrong shape", weights_0=np.zeros((5, 4)))
    variant("weights of the wrong dtype", weights_0=good["weights_0"].astype(np.float32))
    variant("NaN weights", biases_1=np.array([0.0, np.nan, 0.0]))
    variant("object array", biases_0=np.array([None] * 5, dtype=object))
    variant("zero layer size", layer_sizes=np.array([4, 0, 3]))
    variant("absurd layer sizes", layer_sizes=np.array([2**40, 2**40, 3]))
    variant("2-D layer sizes", layer_sizes=np.array([[4, 5, 3]]))
    variant("bad dtype name", dtype=np.array("int8"))
    variant("bad generator state", rng_state=np.array('{"bit_generator": "MT19937"}'))
    variant("generator state not JSON", rng_state=np.array("__import__('os')"))
    variant("unknown activation", activation=np.array("swish"))
    return cases


@pytest.mark.parametrize("case", sorted(broken_files()))
def test_inconsistent_files_raise_model_file_error(tmp_path, case):
    path = tmp_path / "bad.npz"
    members = broken_files()[case]
    try:
        write(path, members)
    except ValueError:
        pytest.skip("numpy cannot write this case")
    with pytest.raises(ValueError, match="bad.npz|swish") as info:
        nncore.load(path)
    if case != "unknown activation":
        assert isinstance(info.value, ModelFileError)


def test_a_pickle_inside_is_never_loaded(tmp_path):
    # An object array is stored as a pickle in the .npy member; loading must
    # refuse it by its header, before any unpickling.
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    net, _, _ = trained()
    members = members_of(net)
    members["weights_0"] = np.array([Boom()], dtype=object)
    write(tmp_path / "evil.npz", members)
    with pytest.raises(ModelFileError, match="dtype object"):
        nncore.load(tmp_path / "evil.npz")
    assert not (tmp_path / "pwned").exists()


def test_header_declaring_a_huge_array_is_refused_before_reading(tmp_path):
    # A .npy header that claims 10^12 weights with a few bytes of data.
    net, _, _ = trained()
    members = members_of(net)
    members["layer_sizes"] = np.array([10**6, 10**6, 3])
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in members.items():
            if name.startswith(("weights", "biases")):
                continue
            buffer = io.BytesIO()
            np.save(buffer, value)
            archive.writestr(name + ".npy", buffer.getvalue())
        for l, shape in enumerate([(10**6, 10**6), (10**6, 3)]):
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": "<f8", "fortran_order": False, "shape": shape})
            archive.writestr(f"weights_{l}.npy", header.getvalue() + b"\0" * 64)
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": "<f8", "fortran_order": False, "shape": shape[1:]})
            archive.writestr(f"biases_{l}.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(ModelFileError, match="huge.npz"):
        nncore.load(path)


def test_truncated_files_at_every_length_raise(tmp_path):
    net, _, _ = trained(sizes=(3, 2, 2))
    good = tmp_path / "good.npz"
    net.save(good)
    data = good.read_bytes()
    cut = tmp_path / "cut.npz"
    for length in range(0, len(data), 7):
        cut.write_bytes(data[:length])
        with pytest.raises(ModelFileError, match="cut.npz"):
            nncore.load(cut)


def test_unsupported_zip_version_found_by_the_fuzzer(tmp_path):
    # zipfile raises NotImplementedError while reading the directory.
    net, _, _ = trained()
    net.save(tmp_path / "v.npz")
    data = bytearray((tmp_path / "v.npz").read_bytes())
    entry = data.find(b"PK\x01\x02")
    data[entry + 6] = 99            # "version needed to extract" 9.9
    (tmp_path / "v.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="zip file version"):
        nncore.load(tmp_path / "v.npz")


def test_compressed_files_load(tmp_path):
    net, _, _ = trained()
    write(tmp_path / "c.npz", members_of(net), compress=True)
    assert_identical(net, nncore.load(tmp_path / "c.npz"))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        nncore.load(tmp_path / "nothing.npz")


def saved_bytes():
    net, _, _ = trained(sizes=(3, 4, 2))
    buffer = io.BytesIO()
    np.savez(buffer, **members_of(net))
    return buffer.getvalue()


GOOD = saved_bytes()

mutations = st.one_of(
    st.binary(max_size=4096).map(lambda b: ("random", b)),
    st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 7)).map(
        lambda p: ("flip", GOOD[:p[0]] + bytes([GOOD[p[0]] ^ (1 << p[1])]) + GOOD[p[0] + 1:])),
    st.integers(0, len(GOOD)).map(lambda n: ("truncate", GOOD[:n])),
    st.tuples(st.integers(0, len(GOOD)), st.binary(min_size=1, max_size=64)).map(
        lambda p: ("splice", GOOD[:p[0]] + p[1] + GOOD[p[0]:])),
)


@FUZZ
@given(mutation=mutations)
def test_fuzz_load(tmp_path, mutation):
    kind, data = mutation
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    try:
        net = nncore.load(path)
    except ModelFileError as exc:
        event(f"{kind}: ModelFileError")
        assert "fuzz.npz" in str(exc)
        return
    event(f"{kind}: loaded")
    # Whatever loads is a complete, finite, working network.
    assert np.isfinite(net.params).all()
    out = net.forward(np.zeros((1, net.layer_sizes[0])))
    assert out.shape == (1, net.layer_sizes[-1]) and np.isfinite(out).all()
