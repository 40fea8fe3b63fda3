# SPDX-License-Identifier: MIT
"""Hostile model files, loaded in a child process under a memory cap.

The fuzzer builds model files field by field (a hand-written ZIP writer over
hand-written .npy headers) from a small valid network, and mutates what a
size check could trust: .npy shapes (negative, zero, huge), dtypes, header
text and length, zip sizes (declared compressed and uncompressed), CRCs,
compression methods, extra fields (random, zip64), flags, offsets, names,
the end record, and really compressed data (small zip bombs); then, on the
rendered bytes, bit flips, truncation and splices. Every file must load into
a working network or raise ModelFileError naming the file.

The child sets RLIMIT_AS (``MEMORY_CAP``) before importing anything, so a
memory bomb fails the test with a MemoryError instead of exhausting the
machine; under AddressSanitizer, which reserves terabytes of address space,
ASan's own ``max_allocation_size_mb`` (any one allocation) and
``hard_rss_limit_mb`` take that role. The child also loads the issue's bombs (a 1 MiB file whose member decompresses
to 1 GiB behind a negative shape, declared sizes far beyond the file) and
reports by how much each load raised the peak resident memory (the
largest rise over all fuzzed files, and each bomb's).

Budget: NNCORE_FUZZ_EXAMPLES (default 300) fuzzed files. Run this file
directly to fuzz with a larger budget and print the figures:
``python tests/test_hostile_files.py 20000``.
"""
import json
import os
import subprocess
import sys

# The address space the child may use: Python, NumPy, Hypothesis and nncore
# take about 200 MiB of it with one BLAS thread.
MEMORY_CAP = 1 << 30
DEFAULT_EXAMPLES = 300


def _asan() -> bool:
    return "libasan" in os.environ.get("LD_PRELOAD", "")


def test_hostile_files_under_a_memory_cap():
    examples = int(os.environ.get("NNCORE_FUZZ_EXAMPLES", str(DEFAULT_EXAMPLES)))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    if _asan():
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + f":max_allocation_size_mb="
                               f"{MEMORY_CAP >> 20}:hard_rss_limit_mb={2 * MEMORY_CAP >> 20}"
                               ":allocator_may_return_null=1").lstrip(":")
    # -W error: as in the test configuration, a warning is a failure.
    result = subprocess.run([sys.executable, "-W", "error", __file__, str(examples)], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["examples"] >= min(examples, 50)
    assert summary["outcomes"].get("refused", 0) > 0
    assert set(summary["bombs"]) == set(BOMBS)


# -- the child -------------------------------------------------------------------

def _peak_rss_reset() -> bool:
    # Linux: writing 5 to clear_refs resets VmHWM, the peak resident size.
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
        return True
    except OSError:
        return False


def _status_mib(field: str) -> float | None:
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mib() -> float:
    peak = _status_mib("VmHWM")
    if peak is None:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def _load_peak_mib(blob: bytes, folder: str) -> tuple[str, float]:
    """check(blob), and by how much the peak resident size rose above the
    resident size before it (0 where the peak cannot be reset)."""
    reset = _peak_rss_reset()
    before = _status_mib("VmRSS") if reset else None
    outcome = check(blob, folder)
    if before is None:
        return outcome, 0.0
    return outcome, max(0.0, _peak_rss_mib() - before)


def _npy(header_text: str, data: bytes, version: bytes = b"\x01\x00",
         length: int | None = None) -> bytes:
    text = header_text.encode("latin1")
    wide = version != b"\x01\x00"
    text += b" " * (-(len(text) + (12 if wide else 10) + 1) % 64) + b"\n"
    size = len(text) if length is None else length
    field = (size & 0xFFFFFFFF).to_bytes(4, "little") if wide else \
        (size & 0xFFFF).to_bytes(2, "little")
    return b"\x93NUMPY" + version + field + text + data


def _header_text(descr: object, fortran: object, shape: object) -> str:
    return "{'descr': %r, 'fortran_order': %r, 'shape': %r, }" % (descr, fortran, shape)


def base_members() -> list[dict]:
    """The members of a small valid model file, as mutable specs."""
    import numpy as np

    import nncore
    from nncore import _io
    net = nncore.Network([3, 4, 2], seed=1)
    net.fit(np.eye(3), [0, 1, 1], epochs=2)
    net.metadata = {"classes": ["a", "b"], "scale": [1.0, 2.0]}
    members = []
    for name, array in _io.state_of(net).items():
        array = np.asarray(array)
        members.append({
            "name": name + ".npy", "descr": array.dtype.str, "fortran": False,
            "shape": array.shape, "data": array.tobytes(), "header": None,
            "npy_version": b"\x01\x00", "header_length": None,
            "method": 0, "compress": False, "flags": 0, "version": 20,
            "crc": None, "csize": None, "usize": None, "extra": b"",
            "local_extra": b"", "offset_shift": 0, "local_name": None, "zeros": 0,
        })
    return members


def payload(member: dict) -> bytes:
    header = member["header"]
    if header is None:
        header = _header_text(member["descr"], member["fortran"], member["shape"])
    return _npy(header, member["data"], member["npy_version"], member["header_length"])


def render(members: list[dict], end: dict) -> bytes:
    """A ZIP archive of the members, every field as the spec says."""
    import struct
    import zlib
    body = bytearray()
    central = bytearray()
    for m in members:
        raw = payload(m)
        n_raw, raw_crc = len(raw) + m["zeros"], zlib.crc32(raw)
        stored = raw
        if m["compress"]:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            parts = [packer.compress(raw)]
            # m["zeros"] more zero bytes, streamed (a bomb's gigabyte is
            # never held in memory).
            zeros = bytes(min(m["zeros"], 1 << 24))
            left = m["zeros"]
            while left:
                chunk = zeros[:min(left, len(zeros))]
                parts.append(packer.compress(chunk))
                raw_crc = zlib.crc32(chunk, raw_crc)
                left -= len(chunk)
            stored = b"".join(parts) + packer.flush()
        elif m["zeros"]:
            stored = raw + bytes(m["zeros"])
            raw_crc = zlib.crc32(stored)
        crc = raw_crc if m["crc"] is None else m["crc"]
        csize = len(stored) if m["csize"] is None else m["csize"]
        usize = n_raw if m["usize"] is None else m["usize"]
        name = m["name"].encode("utf-8", "surrogatepass")
        local_name = name if m["local_name"] is None else m["local_name"]
        offset = len(body) + m["offset_shift"]
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, m["version"] & 0xFFFF,
                            m["flags"] & 0xFFFF, m["method"] & 0xFFFF, 0, 0x21,
                            crc & 0xFFFFFFFF, csize & 0xFFFFFFFF, usize & 0xFFFFFFFF,
                            len(local_name) & 0xFFFF, len(m["local_extra"]) & 0xFFFF)
        body += local_name + m["local_extra"] + stored
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, m["version"] & 0xFFFF,
                               m["flags"] & 0xFFFF, m["method"] & 0xFFFF, 0, 0x21,
                               crc & 0xFFFFFFFF, csize & 0xFFFFFFFF, usize & 0xFFFFFFFF,
                               len(name) & 0xFFFF, len(m["extra"]) & 0xFFFF, 0, 0, 0, 0,
                               offset & 0xFFFFFFFF)
        central += name + m["extra"]
    count = len(members) if end.get("count") is None else end["count"]
    size = len(central) if end.get("size") is None else end["size"]
    start = len(body) + end.get("offset_shift", 0)
    record = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count & 0xFFFF, count & 0xFFFF,
                         size & 0xFFFFFFFF, start & 0xFFFFFFFF, 0)
    return bytes(body + central + record)


def strategies():
    """The fuzzer's mutations: functions (members, end, data) that change specs."""
    import struct

    from hypothesis import strategies as st

    big = st.sampled_from([-2**63, -2**31, -1, 0, 1, 2, 3, 4, 2**31 - 1, 2**31, 2**32,
                           2**32 + 1, 2**62, 2**63 - 1, 2**63, 2**64, 10**30])
    dimension = st.one_of(big, st.integers(-10, 10), st.integers(-2**70, 2**70))
    descrs = st.sampled_from(["<f8", "<f4", "<i8", "|u1", ">f8", "<f2", "<c16", "|O",
                              "|b1", "<U1", "<U14", "<U99999999", "<U0", "|V8", "<M8[s]",
                              [("a", "<f8")], 8, None, ""])
    printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=120)
    u32 = st.one_of(st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF]),
                    st.integers(0, 2**32 - 1))

    def member(members, data):
        return members[data.draw(st.integers(0, len(members) - 1), label="member")]

    def shape(members, end, data):
        member(members, data)["shape"] = tuple(data.draw(st.lists(dimension, max_size=3)))

    def descr(members, end, data):
        member(members, data)["descr"] = data.draw(descrs)

    def fortran(members, end, data):
        member(members, data)["fortran"] = data.draw(st.sampled_from([True, 0, None, "no"]))

    def header(members, end, data):
        m = member(members, data)
        if data.draw(st.booleans()):
            m["header"] = data.draw(printable)
        else:
            text = _header_text(m["descr"], m["fortran"], m["shape"])
            at = data.draw(st.integers(0, len(text)))
            m["header"] = text[:at] + data.draw(printable) + text[at + 1:]

    def header_length(members, end, data):
        member(members, data)["header_length"] = data.draw(st.integers(0, 2**32 - 1))

    def npy_version(members, end, data):
        member(members, data)["npy_version"] = data.draw(
            st.sampled_from([b"\x02\x00", b"\x03\x00", b"\x00\x00", b"\x09\x09"]))

    def npy_data(members, end, data):
        m = member(members, data)
        cut = data.draw(st.integers(-len(m["data"]), 4096))
        m["data"] = m["data"][:cut] if cut < 0 else m["data"] + bytes(cut)

    def method(members, end, data):
        m = member(members, data)
        m["method"] = data.draw(st.one_of(st.sampled_from([0, 8, 12, 14, 93, 95, 98, 99]),
                                          st.integers(0, 0xFFFF)))
        m["compress"] = data.draw(st.booleans())

    def deflate(members, end, data):
        m = member(members, data)
        m["method"], m["compress"] = 8, True

    def bomb(members, end, data):
        # Really compressed zeros behind a header (shape as drawn).
        m = member(members, data)
        m["method"], m["compress"] = 8, True
        m["data"] = bytes(data.draw(st.sampled_from([1 << 16, 1 << 20, 1 << 24])))
        if data.draw(st.booleans()):
            m["shape"] = (data.draw(dimension),)

    def sizes(members, end, data):
        m = member(members, data)
        for key in ("csize", "usize"):
            if data.draw(st.booleans()):
                m[key] = data.draw(u32)

    def crc(members, end, data):
        member(members, data)["crc"] = data.draw(u32)

    def extra(members, end, data):
        m = member(members, data)
        if data.draw(st.booleans()):
            values = data.draw(st.lists(st.integers(0, 2**64 - 1), min_size=0, max_size=3))
            field = struct.pack("<HH", 1, 8 * len(values)) + b"".join(
                struct.pack("<Q", v) for v in values)
            if data.draw(st.booleans()):
                m["csize"] = m["usize"] = 0xFFFFFFFF
        else:
            field = data.draw(st.binary(max_size=64))
        m["extra" if data.draw(st.booleans()) else "local_extra"] = field

    def flags(members, end, data):
        member(members, data)["flags"] = data.draw(
            st.one_of(st.sampled_from([1, 8, 1 << 11, 1 << 6]), st.integers(0, 0xFFFF)))

    def version(members, end, data):
        member(members, data)["version"] = data.draw(st.sampled_from([0, 45, 63, 99, 0xFFFF]))

    def offset(members, end, data):
        member(members, data)["offset_shift"] = data.draw(st.integers(-4096, 4096))

    def name(members, end, data):
        m = member(members, data)
        choice = data.draw(st.sampled_from(["other", "duplicate", "local", "strip"]))
        if choice == "other":
            m["name"] = data.draw(st.sampled_from(["../x.npy", "a/b.npy", "weights_9.npy",
                                                   "x", "\udcff.npy", ".npy", "metadata"]))
        elif choice == "duplicate":
            m["name"] = member(members, data)["name"]
        elif choice == "local":
            m["local_name"] = data.draw(st.binary(max_size=16))
        else:
            m["name"] = m["name"][:-4]

    def drop(members, end, data):
        if len(members) > 1:
            members.remove(member(members, data))

    def duplicate(members, end, data):
        members.append(dict(member(members, data)))

    def end_record(members, end, data):
        key = data.draw(st.sampled_from(["count", "size", "offset_shift"]))
        end[key] = data.draw(st.integers(-70000, 70000) if key == "offset_shift" else u32)

    return [shape, descr, fortran, header, header_length, npy_version, npy_data,
            method, deflate, bomb, sizes, crc, extra, flags, version, offset, name,
            drop, duplicate, end_record]


def byte_mutation(blob: bytes, data):
    from hypothesis import strategies as st
    kind = data.draw(st.sampled_from(["none", "none", "flip", "truncate", "splice"]))
    if kind == "flip" and blob:
        at = data.draw(st.integers(0, len(blob) - 1))
        return blob[:at] + bytes([blob[at] ^ (1 << data.draw(st.integers(0, 7)))]) + \
            blob[at + 1:]
    if kind == "truncate":
        return blob[:data.draw(st.integers(0, len(blob)))]
    if kind == "splice":
        at = data.draw(st.integers(0, len(blob)))
        return blob[:at] + data.draw(st.binary(min_size=1, max_size=64)) + blob[at:]
    return blob


def check(blob: bytes, folder: str) -> str:
    """Load the bytes as a file: 'loaded' (a working network) or 'refused'."""
    import numpy as np

    import nncore
    path = os.path.join(folder, "fuzz.npz")
    with open(path, "wb") as file:
        file.write(blob)
    try:
        net = nncore.load(path)
    except nncore.ModelFileError as exc:
        assert "fuzz.npz" in str(exc), str(exc)
        return "refused"
    assert np.isfinite(net.params).all()
    out = net.forward(np.zeros((1, net.layer_sizes[0])))
    assert out.shape == (1, net.layer_sizes[-1]) and np.isfinite(out).all()
    assert isinstance(net.metadata, dict)
    return "loaded"


def _bomb_negative_shape() -> bytes:
    # Issue 11, item 2: a 1 MiB file whose history member decompresses to
    # 1 GiB behind a shape of -1.
    members = base_members()
    history = next(m for m in members if m["name"] == "history.npy")
    history.update(shape=(-1,), data=b"", zeros=1 << 30, method=8, compress=True)
    return render(members, {})


def _bomb_declared_sizes() -> bytes:
    # Issue 11, item 4 through load: layer sizes asking for gigabytes, each
    # header declaring its full shape, a few bytes of data behind it.
    members = base_members()
    sizes = (1, 300_000_000, 1)
    for m in members:
        if m["name"] == "layer_sizes.npy":
            import numpy as np
            m["data"] = np.array(sizes, dtype=np.int64).tobytes()
            m["shape"] = (3,)
        elif m["name"].startswith(("weights_", "biases_")):
            l = int(m["name"].split("_")[1].split(".")[0])
            full = (sizes[l], sizes[l + 1]) if m["name"][0] == "w" else (sizes[l + 1],)
            m["shape"], m["data"] = full, bytes(64)
            m["usize"] = 8 * (sizes[l] * sizes[l + 1] if m["name"][0] == "w"
                              else sizes[l + 1]) + 128
    return render(members, {})


def _bomb_deflated_weights() -> bytes:
    # A consistent file: [3000, 3000, 2] of zero weights, deflated (~70 KiB).
    import numpy as np
    members = base_members()
    sizes = (3000, 3000, 2)
    for m in members:
        if m["name"] == "layer_sizes.npy":
            m["data"], m["shape"] = np.array(sizes, dtype=np.int64).tobytes(), (3,)
        elif m["name"].startswith(("weights_", "biases_")):
            l = int(m["name"].split("_")[1].split(".")[0])
            full = (sizes[l], sizes[l + 1]) if m["name"][0] == "w" else (sizes[l + 1],)
            m["shape"], m["data"] = full, bytes(8 * int(np.prod(full)))
            m["method"], m["compress"] = 8, True
    return render(members, {})


BOMBS = {"negative shape, 1 GiB deflated": _bomb_negative_shape,
         "declared 300M units": _bomb_declared_sizes,
         "deflated zero weights 3000x3000": _bomb_deflated_weights}


def main(examples: int) -> dict:
    import tempfile

    from hypothesis import HealthCheck, event, given, settings
    from hypothesis import strategies as st

    mutations = strategies()
    outcomes: dict[str, int] = {}
    bombs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        baseline = _peak_rss_mib()
        for label, make in BOMBS.items():
            blob = make()
            outcome, increase = _load_peak_mib(blob, folder)
            bombs[label] = {"file_bytes": len(blob), "outcome": outcome,
                            "load_peak_rss_increase_mib": round(increase, 1)}
        largest = {"refused": 0.0, "loaded": 0.0}

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def fuzz(data):
            members, end = base_members_cached(), {}
            for _ in range(data.draw(st.integers(1, 3), label="mutations")):
                data.draw(st.sampled_from(mutations), label="mutation")(members, end, data)
            blob = byte_mutation(render(members, end), data)
            outcome, increase = _load_peak_mib(blob, folder)
            event(outcome)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            largest[outcome] = max(largest[outcome], increase)

        fuzz()
    return {"examples": sum(outcomes.values()), "outcomes": outcomes,
            "baseline_rss_mib": round(baseline, 1),
            "largest_load_peak_rss_increase_mib": {k: round(v, 1) for k, v in
                                                   largest.items()},
            "resident_at_end_mib": round(_status_mib("VmRSS") or 0.0, 1),
            "bombs": bombs}


_BASE: list[dict] = []


def base_members_cached() -> list[dict]:
    if not _BASE:
        _BASE.extend(base_members())
    return [dict(m) for m in _BASE]


if __name__ == "__main__":
    if not _asan():
        try:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
        except ImportError:
            pass        # Windows: no resource limits; the fuzzing still runs
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_EXAMPLES)))
