# SPDX-License-Identifier: MIT
"""Saving and loading: bit-exact round trips, atomic writes, hostile files.

Every hostile or damaged file must raise ModelFileError (a ValueError) that
names the file, never execute anything, never allocate from a size field it
has not checked, and never crash. The fuzz test here mutates valid files
(bit flips, truncation, splices, random bytes) under Hypothesis; its budget
is NNCORE_FUZZ_EXAMPLES (default 300) examples. test_hostile_files.py fuzzes
the header fields and zip metadata, under a memory cap.

Also here: format 2's metadata and the limits both sides share, every NumPy
bit generator, and saving onto symlinks, FIFOs, folders, long names, with
the umask and an existing file's mode, and after a killed save.
"""
import copy
import io
import os
import pickle
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import warnings
import threading
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
    with pytest.raises(OSError, match="No space") as info:
        new.save(path)
    assert info.value.filename == str(path)         # the target, not the temporary
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
                members.pop(key, None)
            else:
                members[key] = value
        cases[name] = members

    variant("wrong format", format=np.array("something-else"))
    variant("newer version", version=np.array(3, dtype=np.int64))
    variant("version 1 with metadata", version=np.array(1, dtype=np.int64))
    variant("version 2 without metadata", metadata=None)
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
    variant("unknown output", output=np.array("softplus"))
    variant("softmax of one unit", layer_sizes=np.array([4, 5, 1]),
            weights_1=np.zeros((5, 1)), biases_1=np.zeros(1))
    variant("metadata not JSON", metadata=np.frombuffer(b"{'a': 1}", dtype=np.uint8))
    variant("metadata not an object", metadata=np.frombuffer(b"[1, 2]", dtype=np.uint8))
    variant("metadata with NaN", metadata=np.frombuffer(b'{"a": NaN}', dtype=np.uint8))
    variant("metadata not UTF-8", metadata=np.frombuffer(b'{"\xff": 1}', dtype=np.uint8))
    variant("metadata 2-D", metadata=np.zeros((2, 2), dtype=np.uint8))
    return cases


@pytest.mark.parametrize("case", sorted(broken_files()))
def test_inconsistent_files_raise_model_file_error(tmp_path, case):
    path = tmp_path / "bad.npz"
    members = broken_files()[case]
    try:
        write(path, members)
    except ValueError:
        pytest.skip("numpy cannot write this case")
    with pytest.raises(ModelFileError, match="bad.npz"):
        nncore.load(path)


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


# -- hostile headers, non-regular files (issue 11, items 2, 3, 10, 14) ---------

def npy_bytes(header, data=b"", version=(1, 0)):
    """A .npy member with the header text given verbatim (padded as numpy pads)."""
    text = header.encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    length = len(text).to_bytes(2 if version == (1, 0) else 4, "little")
    return b"\x93NUMPY" + bytes(version) + length + text + data


def write_raw(path, members, compression=zipfile.ZIP_STORED):
    """An archive of the given members: arrays (saved by numpy) or raw bytes."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, value in members.items():
            if not isinstance(value, bytes):
                buffer = io.BytesIO()
                np.save(buffer, value)
                value = buffer.getvalue()
            archive.writestr(name + ".npy", value)


def test_negative_shape_is_refused_before_any_data_is_read(tmp_path, monkeypatch):
    # Item 2: a shape of -1 made the 64 KiB cap "read the whole member".
    net, _, _ = trained()
    members = members_of(net)
    members["history"] = npy_bytes("{'descr': '<f8', 'fortran_order': False, "
                                   "'shape': (-1,), }", b"\0" * (1 << 20))
    path = tmp_path / "negative.npz"
    write_raw(path, members)
    served = []
    read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = read(self, n)
        if self.name == "history.npy":
            served.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    with pytest.raises(ModelFileError, match=r"negative.npz: member 'history': shape"):
        nncore.load(path)
    assert sum(served) <= 128      # the header, not the megabyte behind it


@pytest.mark.parametrize("header, match", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-5, 3), }", "non-negative"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2**64, 3), }", "bad .npy header"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551616, 3), }",
     "has shape"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (True, 3), }", "non-negative"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': [4, 5], }", "tuple"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 5, 1), }", "at most 2"),
    ("{'descr': '<c16', 'fortran_order': False, 'shape': (4, 5), }", "dtype <c16"),
    ("{'descr': '>f8', 'fortran_order': False, 'shape': (4, 5), }", "dtype >f8"),
    ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (4, 5), }", "dtype"),
    ("{'descr': '<U99999999999', 'fortran_order': False, 'shape': (), }", "dtype"),
    ("{'descr': '<f8', 'fortran_order': 0, 'shape': (4, 5), }", "fortran_order"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 5), 'x': 1}", "dict of"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 5), }" + " " * 5000, "header of"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 5), }\x00", "printable"),
    ("(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
     "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
     "((((((((((((((((((((((((((((((((((((((((((((((((((((((", "bad .npy header"),
])
def test_every_npy_header_field_is_checked(tmp_path, header, match):
    net, _, _ = trained()
    members = members_of(net)
    members["weights_0"] = npy_bytes(header, b"\0" * 160)
    path = tmp_path / "header.npz"
    write_raw(path, members)
    with pytest.raises(ModelFileError, match=f"header.npz: member 'weights_0'.*{match}"):
        nncore.load(path)


@pytest.mark.parametrize("shape", ["(2**62,)", "(18446744073709551616,)", "(9" + "9" * 4000 + ",)"])
def test_huge_declared_shape_is_refused_before_reading(tmp_path, shape):
    net, _, _ = trained()
    members = members_of(net)
    members["history"] = npy_bytes("{'descr': '<f8', 'fortran_order': False, "
                                   f"'shape': {shape}, }}", b"\0" * 80)
    write_raw(tmp_path / "huge.npz", members)
    with pytest.raises(ModelFileError, match="huge.npz: member 'history'"):
        nncore.load(tmp_path / "huge.npz")


@pytest.mark.parametrize("damage", ["z'descr", "',f8'"])
def test_damaged_npy_header_is_model_file_error(tmp_path, damage):
    # Item 10: these flipped bytes raised tokenize.TokenError and SyntaxError.
    net, _, _ = trained(sizes=(40, 30, 3))
    members = members_of(net)
    buffer = io.BytesIO()
    np.save(buffer, members["weights_0"])
    data = buffer.getvalue()
    good = "{'descr" if damage.startswith("z") else "'<f8'"
    members["weights_0"] = data.replace(good.encode(), damage.encode(), 1)
    assert members["weights_0"] != data
    path = tmp_path / "flipped.npz"
    write_raw(path, members)
    with pytest.raises(ModelFileError, match="flipped.npz: member 'weights_0'"):
        nncore.load(path)


def test_member_sizes_beyond_the_file_are_refused(tmp_path):
    # Item 3: no declared size is believed beyond the file's real size; a
    # compressed member may not expand without bound (a zip bomb).
    net, _, _ = trained()
    members = members_of(net)
    members["history"] = np.zeros(1 << 20)        # 8 MiB of zeros, deflated to 8 KiB
    path = tmp_path / "bomb.npz"
    write_raw(path, members, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 100_000
    with pytest.raises(ModelFileError, match="bomb.npz: member 'history.npy' declares "
                       r"\d+ bytes from \d+ compressed"):
        nncore.load(path)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "/dev/urandom"])
def test_devices_are_refused_without_reading(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(ModelFileError, match=f"{device}: a character device, not a "
                       "regular file"):
        nncore.load(device)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    # A writer that waits for a reader: if load opened the FIFO, it would
    # see an empty stream instead of the refusal.
    writer = threading.Thread(target=lambda: open(fifo, "wb").close(), daemon=True)
    writer.start()
    try:
        with pytest.raises(ModelFileError, match="model.npz: a FIFO, not a regular file"):
            nncore.load(fifo)
    finally:
        while writer.is_alive():        # a reader releases the writer
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
            writer.join(0.01)


def test_a_folder_is_a_folder_error(tmp_path):
    with pytest.raises(IsADirectoryError, match="folder"):
        nncore.load(tmp_path)


@pytest.mark.parametrize("change, match", [
    ({"activation": np.array("swish")}, "activation 'swish'"),
    ({"output": np.array("softplus")}, "output 'softplus'"),
    ({"layer_sizes": np.array([4, 5, 1]), "weights_1": np.zeros((5, 1)),
      "biases_1": np.zeros(1)}, "a softmax output needs at least 2 units"),
])
def test_bad_architecture_names_the_file(tmp_path, change, match):
    # Item 14: these were plain ValueErrors from the constructor.
    net, _, _ = trained()
    members = {**members_of(net), **change}
    write_raw(tmp_path / "arch.npz", members)
    with pytest.raises(ModelFileError, match=f"arch.npz: {match}"):
        nncore.load(tmp_path / "arch.npz")


# -- format 2: metadata (item 7); what save writes, load reads (item 8) ---------

METADATA = {"task": "classification", "columns": ["länge", "x\u2028y", ""],
            "classes": [0, "1", None, True], "scaling": {"mean": [0.5, -1e300],
                                                         "scale": [1.0, 5e-324]},
            "nested": [[[{"deep": []}]]], "big": 2**80}


def test_metadata_is_saved_loaded_pickled_and_copied(tmp_path):
    net, X, _ = trained()
    assert net.metadata == {}
    net.metadata = METADATA
    net.save(tmp_path / "meta.npz")
    loaded = nncore.load(tmp_path / "meta.npz")
    assert loaded.metadata == METADATA
    assert_identical(net, loaded)
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert clone.metadata == METADATA
    copied = copy.deepcopy(net)
    copied.metadata["task"] = "regression"
    assert net.metadata["task"] == "classification"


def test_metadata_takes_numpy_values_as_plain_json(tmp_path):
    net, _, _ = trained()
    net.metadata = {"mean": np.array([1.5, 2.0]), "n": np.int64(3), "t": (1, 2)}
    net.save(tmp_path / "np.npz")
    assert nncore.load(tmp_path / "np.npz").metadata == {"mean": [1.5, 2.0], "n": 3,
                                                         "t": [1, 2]}


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("metadata, error, match", [
    ([1, 2], TypeError, "metadata must be a dict, got list"),
    ({1: "a"}, TypeError, r"metadata has the key 1: keys must be str"),
    ({"a": float("nan")}, ValueError, r"metadata\['a'\] is nan"),
    ({"a": [1, {2, 3}]}, TypeError, r"metadata\['a'\]\[1\] is a set"),
    ({"a": object()}, TypeError, r"metadata\['a'\] is a object"),
    ({"a": nested(70)}, ValueError, "deeper than 64 levels"),
    ({"a": 10**5000}, ValueError, "metadata cannot be written as JSON"),
    ({"a": "\ud800"}, ValueError, "metadata cannot be written as JSON"),
])
def test_metadata_that_json_cannot_hold_is_refused(tmp_path, metadata, error, match):
    net, _, _ = trained()
    with pytest.raises(error, match=match):
        net.metadata = metadata
    assert net.metadata == {}
    if isinstance(metadata, dict):
        # Changed in place after it was set: refused by save, nothing written.
        net.metadata.update(metadata)
        with pytest.raises(error, match=match):
            net.save(tmp_path / "m.npz")
        assert list(tmp_path.iterdir()) == []


def test_metadata_size_limit_is_the_same_on_both_sides(tmp_path):
    net, _, _ = trained(sizes=(2, 2, 2))
    filler = _io.MAX_METADATA_BYTES - len('{"a":""}')
    net.metadata = {"a": "x" * filler}
    net.save(tmp_path / "full.npz")
    assert nncore.load(tmp_path / "full.npz").metadata == net.metadata
    net.metadata["a"] += "x"
    with pytest.raises(ValueError, match="metadata takes 16777217 bytes as JSON"):
        net.save(tmp_path / "over.npz")


def test_version_1_files_load_with_empty_metadata(tmp_path):
    net, X, _ = trained()
    members = members_of(net)
    members["version"] = np.array(1, dtype=np.int64)
    del members["metadata"]
    write(tmp_path / "v1.npz", members)
    loaded = nncore.load(tmp_path / "v1.npz")
    assert loaded.metadata == {}
    assert_identical(net, loaded)


def test_saved_files_are_version_2(tmp_path):
    net, _, _ = trained()
    net.save(tmp_path / "v2.npz")
    with np.load(tmp_path / "v2.npz") as data:
        assert int(data["version"]) == 2
        assert bytes(data["metadata"]) == b"{}"


@pytest.mark.parametrize("name", ["MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"])
def test_every_numpy_bit_generator_saves_loads_pickles_and_copies(tmp_path, name):
    # Item 8: MT19937, Philox and SFC64 broke save, pickle and deepcopy;
    # PCG64DXSM saved and then failed to load.
    rng = np.random.Generator(getattr(np.random, name)(7))
    net = nncore.Network([3, 4, 2], seed=rng)
    X = np.random.default_rng(0).uniform(-1, 1, (12, 3))
    y = np.arange(12) % 2
    net.fit(X, y, epochs=1, batch_size=2)
    net.save(tmp_path / "g.npz")
    clones = [nncore.load(tmp_path / "g.npz"), pickle.loads(pickle.dumps(net)),
              copy.deepcopy(net)]
    net.fit(X, y, epochs=2, batch_size=2)
    for clone in clones:
        assert type(clone._rng.bit_generator).__name__ == name
        clone.fit(X, y, epochs=2, batch_size=2)
        assert clone.params.tobytes() == net.params.tobytes()


def test_a_bit_generator_numpy_does_not_ship_is_refused_at_construction():
    class Custom(np.random.PCG64):
        pass

    with pytest.raises(TypeError, match="seed: a generator over Custom cannot be saved"):
        nncore.Network([3, 2], seed=np.random.Generator(Custom(0)))


def test_more_than_1000_layers_round_trip(tmp_path):
    # Item 8: save wrote them, load refused more than 1,000 layers.
    net = nncore.Network([2] * 1102, activation="identity", seed=0)
    net.save(tmp_path / "deep.npz")
    assert_identical(net, nncore.load(tmp_path / "deep.npz"))


def test_more_than_2_20_history_entries_round_trip(tmp_path):
    # Item 8: load capped the history at 2**20 epochs, fit does not.
    net, _, _ = trained()
    net._history = np.random.default_rng(1).random((1 << 20) + 5).tolist()
    net.save(tmp_path / "long.npz")
    loaded = nncore.load(tmp_path / "long.npz")
    assert loaded.history == net.history


# -- save onto special paths (item 9) -------------------------------------------

def temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_save_follows_a_symlink_to_the_real_file(tmp_path):
    net, _, _ = trained()
    real = tmp_path / "models" / "real.npz"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    net.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert_identical(net, nncore.load(real))
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "models" / "new.npz")
    net.save(dangling)
    assert dangling.is_symlink()
    assert_identical(net, nncore.load(tmp_path / "models" / "new.npz"))
    assert temporaries(tmp_path) == temporaries(real.parent) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_save_refuses_a_fifo_and_leaves_it(tmp_path):
    net, _, _ = trained()
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="pipe.npz is a FIFO, not a regular file"):
        net.save(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert temporaries(tmp_path) == []


def test_save_onto_a_folder_names_the_folder(tmp_path):
    net, _, _ = trained()
    folder = tmp_path / "models"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder") as info:
        net.save(folder)
    assert info.value.filename == str(folder)
    assert temporaries(tmp_path) == []


def test_save_errors_name_the_target(tmp_path):
    net, _, _ = trained()
    target = tmp_path / "missing" / "net.npz"
    with pytest.raises(FileNotFoundError) as info:
        net.save(target)
    assert info.value.filename == str(target)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_new_files_get_the_umask_and_existing_files_keep_their_mode(tmp_path):
    net, _, _ = trained()
    previous = os.umask(0o022)
    try:
        net.save(tmp_path / "new.npz")
        os.umask(0o077)
        net.save(tmp_path / "private.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private.npz").stat().st_mode) == 0o600
    os.chmod(tmp_path / "new.npz", 0o640)
    net.save(tmp_path / "new.npz")
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o640


@pytest.mark.parametrize("stem", ["n" * 242, "n" * 246, "n" * 251, "\u00e9" * 125])
def test_long_target_names_save(tmp_path, stem):
    # 246 to 255 bytes (the last: 250 bytes of two-byte characters).
    net, _, _ = trained()
    path = tmp_path / (stem + ".npz")
    net.save(path)
    assert_identical(net, nncore.load(path))
    net.save(path)                  # and again over it
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_stale_temporaries_of_the_target_are_removed_live_ones_kept(tmp_path):
    net, _, _ = trained()
    stale = tmp_path / ".net.npz.k2x9_q0z.tmp"
    stale.write_bytes(b"left by a killed save")
    other = tmp_path / ".other.npz.k2x9_q0z.tmp"
    other.write_bytes(b"another target's")
    live = tmp_path / ".net.npz.abcdefgh.tmp"
    live.write_bytes(b"a save in progress")
    with open(live, "rb") as held:
        fcntl = pytest.importorskip("fcntl")
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        net.save(tmp_path / "net.npz")
        assert temporaries(tmp_path) == [live.name, other.name]
    net.save(tmp_path / "net.npz")
    assert temporaries(tmp_path) == [other.name]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL")
def test_a_save_killed_midway_leaves_a_temporary_the_next_save_removes(tmp_path):
    net, _, _ = trained()
    path = tmp_path / "net.npz"
    net.save(path)
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import sys, time
            from nncore import _io
            def write(stream):
                stream.write(b"x" * 100_000)
                stream.flush()
                print("writing", flush=True)
                time.sleep(600)
            _io.write_atomically(sys.argv[1], write)
            """), str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "writing\n"
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert len(temporaries(tmp_path)) == 1
    assert path.read_bytes() == before
    net.metadata = {"saved": "again"}
    net.save(path)
    assert temporaries(tmp_path) == []
    assert nncore.load(path).metadata == {"saved": "again"}


def test_save_works_where_the_file_system_has_no_locks(tmp_path, monkeypatch):
    fcntl = pytest.importorskip("fcntl")
    net, _, _ = trained()
    stale = tmp_path / ".net.npz.k2x9_q0z.tmp"
    stale.write_bytes(b"cannot tell whether a save still writes it")

    def no_locks(fd, operation):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    net.save(tmp_path / "net.npz")
    assert_identical(net, nncore.load(tmp_path / "net.npz"))
    assert temporaries(tmp_path) == [stale.name]


def test_members_may_not_share_the_file_s_bytes(tmp_path):
    # Entries overlapping in the file would let one compressed block feed many
    # members: the sizes the directory declares may not add up to more than
    # the file. Here the history member is declared to run to the end of the
    # file (each entry alone stays inside it).
    net, _, _ = trained()
    net.save(tmp_path / "overlap.npz")
    data = bytearray((tmp_path / "overlap.npz").read_bytes())
    with zipfile.ZipFile(tmp_path / "overlap.npz") as archive:
        info = archive.getinfo("history.npy")
    entry = data.find(b"PK\x01\x02")
    while data[entry + 46:entry + 46 + len(b"history.npy")] != b"history.npy":
        entry = data.find(b"PK\x01\x02", entry + 1)
        assert entry > 0
    reach = len(data) - info.header_offset
    data[entry + 20:entry + 28] = struct.pack("<II", reach, reach)
    (tmp_path / "overlap.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="overlap.npz: the members declare .* in total"):
        nncore.load(tmp_path / "overlap.npz")


def test_a_damaged_header_raises_no_warning(tmp_path):
    # ast.literal_eval warned "invalid decimal literal" (a SyntaxWarning,
    # printed, or an error under -W error) on a header such as this one, which
    # the hostile-file fuzzer produced.
    net, _, _ = trained()
    members = members_of(net)
    members["weights_0"] = npy_bytes("{'descr': '<f8', 'fortran_order': False, "
                                     "'shape': (4, 5and 1), }", b"\0" * 160)
    write_raw(tmp_path / "warn.npz", members)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ModelFileError, match="warn.npz: member 'weights_0': bad .npy"):
            nncore.load(tmp_path / "warn.npz")
    assert [str(w.message) for w in caught] == []
