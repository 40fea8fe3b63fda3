# SPDX-License-Identifier: MIT
"""Saving and loading networks: a versioned .npz format that holds no code.

Format ``nncore-network``, version 2: a ZIP archive of ``.npy`` members (what
``numpy.savez`` writes), read back with ``allow_pickle=False`` semantics:

==================  ===========================================================
member              content
==================  ===========================================================
``format``          0-d unicode: ``"nncore-network"``
``version``         0-d int64: 2
``layer_sizes``     int64 (L + 1,): units per layer, inputs first
``activation``      0-d unicode: hidden activation name
``output``          0-d unicode: output layer name
``dtype``           0-d unicode: ``"float32"`` or ``"float64"``
``weights_<l>``     dtype (n_in, n_out) for l = 0..L-1
``biases_<l>``      dtype (n_out,)
``rng_state``       0-d unicode: JSON of the network's generator state (any
                    bit generator NumPy ships), so that shuffling resumes
                    where it stopped
``history``         float64 (k,): mean training loss of every epoch so far
``metadata``        uint8 (n,): UTF-8 JSON object, ``Network.metadata``
                    (at most ``MAX_METADATA_BYTES``)
==================  ===========================================================

Version 1 is the same without ``metadata``; it still loads, with empty
metadata.

Loading never trusts a size field. The file must be a regular file; every
archive member's declared sizes must fit in the file's real size (a
compressed member may expand at most ``MAX_EXPANSION`` times); every ``.npy``
header is parsed by a strict reader (bounded length, a literal dict with
exactly the three keys, shape entries non-negative integers, dtype from an
allow-list) and its size must equal what the archive declares; the layer
sizes are read first and checked like constructor arguments, and every other
member's dtype and shape must be exactly what they imply, all before a byte
of its data is read. Data is read in chunks into an array of the checked
size, never further. Object arrays, pickles, other dtypes, compression
methods other than stored and deflate, and unknown members are refused.

Writing follows a symbolic link to the real file, refuses anything but a
regular file there, and goes to a temporary file in the target's folder
(created with the permissions a new file gets under the umask, or the
existing file's mode), flushed to disk, then renamed over the target, so an
interrupted or failed save leaves any previous file intact. The temporary is
locked while it is written; the temporaries of the same target that a killed
process left behind are removed by the next save.
"""
from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import re
import secrets
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, NoReturn

import numpy as np
import numpy.typing as npt

from . import _params
from .exceptions import ModelFileError

try:
    import fcntl
except ImportError:     # Windows: no locks, so no cleaning of stale temporaries
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from .network import Network

FORMAT = "nncore-network"
VERSION = 2
READABLE_VERSIONS = (1, 2)

#: Largest ``Network.metadata``, in bytes of UTF-8 JSON; save and load both
#: enforce it.
MAX_METADATA_BYTES = 16 << 20
#: Deepest nesting of lists and dicts in ``Network.metadata``.
MAX_METADATA_DEPTH = 64
#: Largest ratio of a compressed member's data to its compressed size. nncore
#: writes stored members; zlib packs the trained weights of a [64, 256, 10]
#: network 1.06:1 in float64 and 1.10:1 in float32, so only near-constant
#: data comes close, and this bounds what a small hostile file can make load
#: allocate.
MAX_EXPANSION = 64

#: Bit generators whose state a file can hold (every one NumPy ships).
BIT_GENERATORS: dict[str, type[np.random.BitGenerator]] = {
    cls.__name__: cls for cls in (np.random.PCG64, np.random.PCG64DXSM,
                                  np.random.MT19937, np.random.Philox,
                                  np.random.SFC64)}

# Small members are at most this long, header included: the names, the
# version and the generator's state (MT19937's, the largest, is about 7,400
# characters of JSON, 30 KB as a NumPy unicode scalar).
_SMALL_MEMBER_BYTES = 1 << 16
# A .npy header of any member nncore writes is under 200 bytes.
_MAX_HEADER_BYTES = 4096
_NPY_MAGIC = b"\x93NUMPY"
# Every dtype a member may have, as .npy headers spell it.
_PLAIN_DESCRS: dict[str, np.dtype[Any]] = {"<f4": np.dtype("<f4"), "<f8": np.dtype("<f8"),
                                          "<i8": np.dtype("<i8"), "|u1": np.dtype("|u1")}
_UNICODE_DESCR = re.compile(r"<U([1-9][0-9]{0,7})")
_HEADER_TEXT = re.compile(r"[ -~\n]*")
# Data is read and checked this many bytes at a time.
_READ_CHUNK = 1 << 20
_SCALARS = ("format", "version", "activation", "output", "dtype", "rng_state")


# -- the network's state as members ---------------------------------------------

def _plain(value: Any) -> Any:
    # json.dumps' fallback: NumPy scalars and arrays as Python numbers and lists.
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def check_generator(rng: np.random.Generator, what: str = "seed") -> None:
    """TypeError unless a file can hold ``rng``'s state (its bit generator is
    one NumPy ships)."""
    bit_generator = rng.bit_generator
    if BIT_GENERATORS.get(type(bit_generator).__name__) is not type(bit_generator):
        raise TypeError(f"{what}: a generator over {type(bit_generator).__name__} cannot "
                        f"be saved or copied; use one over {', '.join(BIT_GENERATORS)} "
                        "(numpy.random.default_rng uses PCG64)")


def generator_json(rng: np.random.Generator) -> str:
    """The generator's state as JSON (arrays as lists)."""
    check_generator(rng, "the network's generator")
    return json.dumps(rng.bit_generator.state, default=_plain)


def generator_from_json(text: str) -> np.random.Generator:
    """The generator ``generator_json`` describes; ValueError if it is not one."""
    try:
        state = json.loads(text)
        name = state["bit_generator"] if isinstance(state, dict) else None
        if not isinstance(name, str) or name not in BIT_GENERATORS:
            raise ValueError(f"unknown bit generator {name!r} (known: "
                             f"{', '.join(BIT_GENERATORS)})")
        bit_generator = BIT_GENERATORS[name](0)
        bit_generator.state = state
        # NumPy's setters accept some values they then store differently
        # (wrapped integers, a longer key): only an exact round trip is valid.
        if json.loads(json.dumps(bit_generator.state, default=_plain)) != state:
            raise ValueError("values out of range")
    except (ValueError, TypeError, KeyError, IndexError, OverflowError,
            RecursionError) as exc:
        raise ValueError(f"not a valid generator state ({exc})") from None
    return np.random.Generator(bit_generator)


def _check_json_value(value: Any, where: str, depth: int) -> Any:
    # The value as plain JSON types; TypeError/ValueError naming where it is.
    if depth > MAX_METADATA_DEPTH:
        raise ValueError(f"{where} nests deeper than {MAX_METADATA_DEPTH} levels")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}, which JSON cannot hold")
        return value
    if isinstance(value, (list, tuple)):
        return [_check_json_value(v, f"{where}[{i}]", depth + 1)
                for i, v in enumerate(value)]
    if isinstance(value, dict):
        plain = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {key!r}: keys must be str")
            plain[key] = _check_json_value(v, f"{where}[{key!r}]", depth + 1)
        return plain
    raise TypeError(f"{where} is a {type(value).__name__}; metadata holds only "
                    "None, bool, int, float, str, lists and dicts with str keys")


def metadata_bytes(metadata: Any) -> bytes:
    """``metadata`` as the UTF-8 JSON a file holds, checked (TypeError or
    ValueError naming the offending entry)."""
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    plain = _check_json_value(metadata, "metadata", 0)
    try:
        data = json.dumps(plain, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8")
    except (ValueError, UnicodeError) as exc:
        # An int of more than sys.get_int_max_str_digits() digits, a lone
        # surrogate in a str.
        raise ValueError(f"metadata cannot be written as JSON: {exc}") from None
    if len(data) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata takes {len(data)} bytes as JSON, more than the "
                         f"{MAX_METADATA_BYTES} a model file holds")
    return data


def metadata_from_bytes(data: bytes) -> dict[str, Any]:
    """The dict ``metadata_bytes`` wrote; ValueError if the data is not one."""
    def refuse(constant: str) -> NoReturn:
        raise ValueError(f"{constant} is not JSON")
    if len(data) > MAX_METADATA_BYTES:
        raise ValueError(f"{len(data)} bytes, more than {MAX_METADATA_BYTES}")
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=refuse)
        if not isinstance(value, dict):
            raise ValueError(f"a JSON {type(value).__name__}, not an object")
        _check_json_value(value, "metadata", 0)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValueError(f"not a JSON object ({exc})") from None
    return value


def state_of(network: Network) -> dict[str, Any]:
    """The network's complete state as plain arrays (the file's members)."""
    sizes = network.layer_sizes
    metadata = metadata_bytes(getattr(network, "_metadata", {}))
    state = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION, dtype=np.int64),
        "layer_sizes": np.array(sizes, dtype=np.int64),
        "activation": np.array(network.activation),
        "output": np.array(network.output),
        "dtype": np.array(network.dtype.name),
        "rng_state": np.array(generator_json(network._rng)),
        "history": np.array(network.history, dtype=np.float64),
        "metadata": np.frombuffer(metadata, dtype=np.uint8),
    }
    for l, (w, b) in enumerate(zip(network.weights, network.biases)):
        state[f"weights_{l}"] = np.ascontiguousarray(w)
        state[f"biases_{l}"] = b.copy()
    return state


def unpack(members: dict[str, Any]) -> dict[str, Any]:
    """The constructor-side state from members as ``state_of`` gives them."""
    sizes = tuple(int(n) for n in members["layer_sizes"])
    metadata = members.get("metadata")
    return {
        "layer_sizes": sizes,
        "activation": str(members["activation"]),
        "output": str(members["output"]),
        "dtype": str(members["dtype"]),
        "weights": [members[f"weights_{l}"] for l in range(len(sizes) - 1)],
        "biases": [members[f"biases_{l}"] for l in range(len(sizes) - 1)],
        "rng": generator_from_json(str(members["rng_state"])),
        "history": members["history"],
        "metadata": {} if metadata is None else metadata_from_bytes(
            np.ascontiguousarray(metadata, dtype=np.uint8).tobytes()),
    }


# -- writing --------------------------------------------------------------------

def save(network: Network, path: str | os.PathLike[str]) -> None:
    """Write ``network`` to ``path`` atomically (see the module docstring)."""
    path = os.fspath(path)
    state = state_of(network)
    write_atomically(path, lambda stream: np.savez(stream, **state))


# A file name is at most 255 bytes on the usual file systems; a temporary is
# "." + stem + "." + 8 characters + ".tmp".
_NAME_MAX = 255
_TOKEN_CHARS = 8
_TEMPORARY_EXTRA = 1 + 1 + _TOKEN_CHARS + 4
_TOKEN = re.compile(r"[a-z0-9_]{%d}" % _TOKEN_CHARS)
_FILE_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, kind in _FILE_KINDS:
        if test(mode):
            return kind
    return "not a regular file"


def _temporary_stem(name: str) -> str:
    # The target's name, shortened and made unique by a hash when the
    # temporary's name would pass the limit.
    if len(os.fsencode(name)) + _TEMPORARY_EXTRA <= _NAME_MAX:
        return name
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:16]
    keep = name[:100]
    while len(os.fsencode(keep)) > 100:
        keep = keep[:-1]
    return f"{keep}~{digest}"


def _target(path: str) -> tuple[str, os.stat_result | None]:
    """The real file behind ``path`` (symbolic links followed) and its status,
    None if it does not exist yet; refuses anything but a regular file."""
    target = os.path.realpath(path)
    try:
        status = os.stat(target)
    except FileNotFoundError:
        return target, None
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder; give a file name to "
                                "write", path)
    if not stat.S_ISREG(status.st_mode):
        raise ValueError(f"{path} is {_kind(status.st_mode)}, not a regular file: "
                         "nncore writes only regular files")
    return target, status


def _lock(fd: int) -> str:
    """An exclusive lock without waiting: "locked", "held" (by another open
    file) or "unsupported" (no fcntl, or a file system without locks)."""
    if fcntl is None:
        return "unsupported"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return "held"
    except OSError:
        return "unsupported"
    return "locked"


def _same_file(path: str, fd: int) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _remove_stale_temporaries(folder: str, stem: str) -> None:
    """Delete temporaries of this target that no live save holds locked."""
    if fcntl is None:
        return
    prefix = f".{stem}."
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")
                and _TOKEN.fullmatch(name[len(prefix):-4])):
            continue
        temporary = os.path.join(folder, name)
        try:
            fd = os.open(temporary, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            # Only what is provably abandoned: a lock taken, the name
            # still pointing at the file locked.
            if (stat.S_ISREG(os.fstat(fd).st_mode) and _lock(fd) == "locked"
                    and _same_file(temporary, fd)):
                os.unlink(temporary)
        except OSError:
            pass
        finally:
            os.close(fd)


def _create_temporary(folder: str, stem: str,
                      existing: os.stat_result | None) -> tuple[int, str]:
    """A new, locked temporary file in folder: (descriptor, path)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_"
    # A new file gets 0o666 less the umask, as open() would give it; an
    # existing file's mode (and, where allowed, owner) is kept.
    mode = 0o666 if existing is None else 0o600
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        token = "".join(secrets.choice(alphabet) for _ in range(_TOKEN_CHARS))
        temporary = os.path.join(folder, f".{stem}.{token}.tmp")
        try:
            fd = os.open(temporary, flags, mode)
        except FileExistsError:
            continue
        # Another save's cleaning may have locked (and then removed) this
        # name between open and lock: then try another name.
        if _lock(fd) != "held" and _same_file(temporary, fd):
            break
        os.close(fd)
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary name", temporary)
    if existing is not None and os.name == "posix":
        try:
            if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
                os.fchown(fd, existing.st_uid, existing.st_gid)
        except OSError:
            pass
        try:
            os.fchmod(fd, stat.S_IMODE(existing.st_mode))
        except OSError:
            pass
    return fd, temporary


def write_atomically(path: str, write: Callable[[IO[Any]], object],
                     binary: bool = True) -> None:
    """Call ``write(stream)`` on a temporary file in the folder of ``path``'s
    real file, flush it to disk, then rename it over that file: a failure or
    an interruption at any point leaves a previous file intact, and no
    temporary file behind (one a killed process leaves is removed by the next
    write to the same target).

    Symbolic links are followed; a folder raises IsADirectoryError, any other
    non-regular file (device, FIFO, socket) ValueError. A new file gets the
    permissions the umask allows, an existing one keeps its mode. OSErrors
    name ``path``, not the temporary.
    """
    path = os.fspath(path)
    temporary = None
    try:
        target, existing = _target(path)
        folder, name = os.path.split(target)
        stem = _temporary_stem(name)
        _remove_stale_temporaries(folder, stem)
        handle, temporary = _create_temporary(folder, stem, existing)
        stream: IO[Any] = (os.fdopen(handle, "wb") if binary
                           else os.fdopen(handle, "w", encoding="utf-8"))
        with stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
            if os.name == "posix":
                # Renamed while the lock is held: no cleaning can take it.
                os.replace(temporary, target)
        if os.name != "posix":
            os.replace(temporary, target)
    except BaseException as exc:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        if isinstance(exc, OSError) and exc.errno is not None and \
                exc.filename != path:
            raise type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno),
                            path) from exc
        raise
    _sync_folder(folder)


def _sync_folder(folder: str) -> None:
    # Make the rename itself durable (POSIX; not possible on Windows).
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- reading --------------------------------------------------------------------

# What reading a damaged archive can raise, besides our own checks: the
# zipfile module's errors, zlib's (a compressed member), struct's (a short
# record), decoding errors (a ValueError), and OSError from seeking to an
# offset a corrupted directory points to.
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, KeyError,
           IndexError, TypeError, OverflowError, NotImplementedError, RuntimeError,
           struct.error, zlib.error, OSError)


def _open_regular(path: str | os.PathLike[str]) -> tuple[IO[bytes], int]:
    """``path`` opened for reading, and its size; ModelFileError unless it is a
    regular file (a device or FIFO is never read, a FIFO never waited on)."""
    status = os.stat(path)
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a model file",
                                os.fspath(path))
    if not stat.S_ISREG(status.st_mode):
        raise ModelFileError(f"{os.fspath(path)}: {_kind(status.st_mode)}, not a "
                             "regular file: a model file is a regular file")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0)
                 | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        # Checked again on what was opened: the path may have changed.
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise ModelFileError(f"{os.fspath(path)}: {_kind(status.st_mode)}, not "
                                 "a regular file: a model file is a regular file")
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), status.st_size
    except BaseException:
        os.close(fd)
        raise


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a file written by ``save``; returns the state for ``Network``.

    Raises ModelFileError (a ValueError) naming the file and what is wrong;
    FileNotFoundError and other errors about the path itself propagate.
    """
    stream, size = _open_regular(path)
    with stream:
        try:
            archive = zipfile.ZipFile(stream)
        except _DAMAGE as exc:
            raise ModelFileError(f"{path}: not an nncore model file (not a readable "
                                 f".npz archive: {exc})") from exc
        with archive:
            try:
                return _read_state(archive, size, path)
            except ModelFileError:
                raise
            except _DAMAGE as exc:
                raise ModelFileError(f"{path}: corrupted model file "
                                     f"({type(exc).__name__}: {exc})") from exc


def _check_declared_sizes(infos: list[zipfile.ZipInfo], size: int,
                          fail: Callable[[str], NoReturn]) -> None:
    # Every member's data must lie in the file, and what it decompresses to
    # is bounded by it: no size field is believed beyond the file's real size.
    # Members may not share data either (entries overlapping in the file
    # would multiply one compressed block into many members).
    total = sum(info.compress_size for info in infos)
    if total > size:
        fail(f"the members declare {total} compressed bytes in total, more than "
             f"the {size}-byte file holds (overlapping or corrupted entries)")
    for info in infos:
        name = info.filename
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            fail(f"member {name!r} uses compression method {info.compress_type}; "
                 "only stored and deflate members are read")
        if info.flag_bits & 0x1:
            fail(f"member {name!r} is encrypted")
        if info.header_offset < 0 or info.header_offset + info.compress_size > size:
            fail(f"member {name!r} declares {info.compress_size} bytes at offset "
                 f"{info.header_offset}, beyond the end of the {size}-byte file")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                fail(f"member {name!r} is stored with {info.compress_size} bytes "
                     f"but declares {info.file_size}")
        elif info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
            fail(f"member {name!r} declares {info.file_size} bytes from "
                 f"{info.compress_size} compressed, more than {MAX_EXPANSION} times")


def _read_state(archive: zipfile.ZipFile, size: int,
                path: str | os.PathLike[str]) -> dict[str, Any]:
    def fail(message: str) -> NoReturn:
        raise ModelFileError(f"{path}: {message}")

    infos = archive.infolist()
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if not name.endswith(".npy") or name[:-4] in members:
            fail(f"unexpected archive member {name!r}")
        members[name[:-4]] = info
    _check_declared_sizes(infos, size, fail)

    def read(name: str, descr: str | None, shape: tuple[int, ...] | None,
             limit: int | None = None) -> npt.NDArray[Any]:
        if name not in members:
            fail(f"member {name!r} is missing (not an nncore model file, or truncated)")
        return _read_member(archive, members[name], name, descr, shape, limit, fail)

    def text(name: str) -> str:
        value = read(name, "U", (), _SMALL_MEMBER_BYTES)
        try:
            return str(value[()])
        except (ValueError, UnicodeError) as exc:
            fail(f"member {name!r} is not valid text ({exc})")

    for name in _SCALARS + ("layer_sizes",):
        if name not in members:
            fail(f"member {name!r} is missing (not an nncore model file, or truncated)")
    found = text("format")
    if found != FORMAT:
        fail(f"not an nncore model file (format {found!r})")
    version = int(read("version", "<i8", (), _SMALL_MEMBER_BYTES)[()])
    if version not in READABLE_VERSIONS:
        fail(f"file format version {version} is not supported (this nncore reads "
             f"versions {', '.join(map(str, READABLE_VERSIONS))}; a newer nncore "
             "may read it)")
    # Two members per layer: the number of layers is bounded by the archive.
    stored = read("layer_sizes", "<i8", None, 8 * (len(members) // 2 + 1))
    if stored.ndim != 1 or stored.shape[0] < 2:
        fail(f"layer_sizes must be 1-D with at least 2 entries, got shape {stored.shape}")
    if (stored < 1).any():
        fail(f"layer_sizes must be positive, got {stored.tolist()}")
    sizes = tuple(int(n) for n in stored)
    dtype_name = text("dtype")
    if dtype_name not in ("float32", "float64"):
        fail(f"dtype must be float32 or float64, got {dtype_name!r}")
    dtype = np.dtype(dtype_name)
    activation = text("activation")
    activation = _params.ACTIVATION_ALIASES.get(activation, activation)
    if activation not in _params.ACTIVATIONS:
        fail(f"activation {activation!r} is not one of {sorted(_params.ACTIVATIONS)}")
    output = text("output")
    if output not in _params.OUTPUTS:
        fail(f"output {output!r} is not one of {sorted(_params.OUTPUTS)}")
    if output == "softmax" and sizes[-1] < 2:
        fail(f"a softmax output needs at least 2 units, the file has {sizes[-1]}")
    # Refuse impossible or insane sizes before reading any weight.
    from . import _validation
    try:
        _validation.check_layer_sizes(sizes)
        _validation.check_memory(sizes, dtype)
    except (TypeError, ValueError) as exc:
        fail(f"layer_sizes {list(sizes)}: {exc}")
    n_layers = len(sizes) - 1
    expected = set(_SCALARS) | {"layer_sizes", "history"}
    if version >= 2:
        expected.add("metadata")
    expected |= {f"weights_{l}" for l in range(n_layers)}
    expected |= {f"biases_{l}" for l in range(n_layers)}
    if set(members) != expected:
        missing = sorted(expected - set(members))
        extra = sorted(set(members) - expected)
        fail(f"members do not match layer_sizes {list(sizes)}: missing {missing[:5]}, "
             f"unexpected {extra[:5]}")
    try:
        rng = generator_from_json(text("rng_state"))
    except ValueError as exc:
        fail(f"member 'rng_state': {exc}")
    history = read("history", "<f8", None)
    if history.ndim != 1 or np.isnan(history).any():
        fail("member 'history' must be a 1-D float64 array of losses")
    metadata: dict[str, Any] = {}
    if version >= 2:
        data = read("metadata", "|u1", None, MAX_METADATA_BYTES)
        if data.ndim != 1:
            fail(f"member 'metadata' must be 1-D, got shape {data.shape}")
        try:
            metadata = metadata_from_bytes(data.tobytes())
        except ValueError as exc:
            fail(f"member 'metadata': {exc}")
    weights: list[npt.NDArray[Any]] = []
    biases: list[npt.NDArray[Any]] = []
    descr = dtype.str
    for l in range(n_layers):
        shape = (sizes[l], sizes[l + 1])
        for name, values in ((f"weights_{l}", read(f"weights_{l}", descr, shape)),
                             (f"biases_{l}", read(f"biases_{l}", descr, shape[1:]))):
            if not np.isfinite(values).all():
                fail(f"member {name!r} contains NaN or infinity")
            (weights if name[0] == "w" else biases).append(values)
    return {
        "layer_sizes": sizes,
        "history": history,
        "activation": activation,
        "output": output,
        "dtype": dtype,
        "weights": weights,
        "biases": biases,
        "rng": rng,
        "metadata": metadata,
    }


# The tokens of a .npy header: quoted strings without escapes, integers,
# True/False/None, and brackets, commas and colons.
_HEADER_TOKEN = re.compile(r"""\s*(?:('[^'\\]*'|"[^"\\]*")|(-?[0-9]+)|(True|False|None)"""
                           r"""|([{}()\[\],:]))""")
_CLOSING = {"{": "}", "(": ")", "[": "]"}
# Deepest nesting a header may have (a structured dtype needs 3).
_HEADER_DEPTH = 8


def _parse_header(text: str) -> Any:
    """The Python literal of a .npy header: dicts, tuples, lists, strings,
    integers, True/False/None; ValueError for anything else.

    Not ``ast.literal_eval``: the compiler warns (SyntaxWarning) on some
    damaged headers, which the warnings filter can turn into errors or print,
    and it accepts far more than a header needs."""
    tokens: list[tuple[str, Any]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _HEADER_TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"unexpected character at {position}")
        string, number, name, mark = match.groups()
        if string is not None:
            tokens.append(("value", string[1:-1]))
        elif number is not None:
            tokens.append(("value", int(number)))   # ValueError past 4,300 digits
        elif name is not None:
            tokens.append(("value", {"True": True, "False": False, "None": None}[name]))
        else:
            tokens.append(("mark", mark))
        position = match.end()
    tokens.append(("end", None))
    index = 0

    def expect_value(depth: int) -> Any:
        nonlocal index
        kind, token = tokens[index]
        index += 1
        if kind == "value":
            return token
        if kind != "mark" or token not in _CLOSING or depth >= _HEADER_DEPTH:
            raise ValueError("not a literal")
        closing = _CLOSING[token]
        items: list[Any] = []
        commas = 0
        while tokens[index] != ("mark", closing):
            if token == "{":
                key = expect_value(depth + 1)
                if tokens[index] != ("mark", ":") or not isinstance(key, (str, int)):
                    raise ValueError("not a dict")
                index += 1
                items.append((key, expect_value(depth + 1)))
            else:
                items.append(expect_value(depth + 1))
            if tokens[index] == ("mark", ","):
                index += 1
                commas += 1
            elif tokens[index] != ("mark", closing):
                raise ValueError("missing comma")
        index += 1
        if token == "{":
            return dict(items)
        if token == "[":
            return items
        # (x) is x; (x,) and (x, y) are tuples, as in Python.
        return items[0] if len(items) == 1 and commas == 0 else tuple(items)

    value = expect_value(0)
    if tokens[index][0] != "end":
        raise ValueError("text after the literal")
    return value


def _read_header(stream: IO[bytes], name: str,
                 fail: Callable[[str], NoReturn]) -> tuple[int, np.dtype[Any],
                                                           bool, tuple[int, ...]]:
    """A .npy header, read and checked field by field without trusting any:
    (header length, dtype, fortran_order, shape)."""
    magic = stream.read(len(_NPY_MAGIC) + 2)
    if len(magic) != len(_NPY_MAGIC) + 2 or not magic.startswith(_NPY_MAGIC):
        fail(f"member {name!r} is not a .npy array")
    version = (magic[-2], magic[-1])
    if version not in ((1, 0), (2, 0), (3, 0)):
        fail(f"member {name!r}: unsupported .npy version {version[0]}.{version[1]}")
    length_format = "<H" if version == (1, 0) else "<I"
    field = stream.read(struct.calcsize(length_format))
    if len(field) != struct.calcsize(length_format):
        fail(f"member {name!r}: truncated .npy header")
    (length,) = struct.unpack(length_format, field)
    if length > _MAX_HEADER_BYTES:
        fail(f"member {name!r}: .npy header of {length} bytes, more than the "
             f"{_MAX_HEADER_BYTES} nncore reads")
    raw = stream.read(length)
    if len(raw) != length:
        fail(f"member {name!r}: truncated .npy header")
    text = raw.decode("latin1")
    if not _HEADER_TEXT.fullmatch(text):
        fail(f"member {name!r}: .npy header with characters outside printable ASCII")
    try:
        header = _parse_header(text)
    except ValueError as exc:
        fail(f"member {name!r}: bad .npy header ({exc})")
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        fail(f"member {name!r}: .npy header is not a dict of descr, fortran_order "
             "and shape")
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if not isinstance(fortran, bool):
        fail(f"member {name!r}: fortran_order must be True or False")
    if not isinstance(shape, tuple) or len(shape) > 2 or not all(
            type(n) is int and n >= 0 for n in shape):
        fail(f"member {name!r}: shape must be a tuple of at most 2 non-negative "
             f"integers, got {str(shape)[:80]}")
    dtype: np.dtype[Any]
    if isinstance(descr, str) and descr in _PLAIN_DESCRS:
        dtype = _PLAIN_DESCRS[descr]
    elif isinstance(descr, str) and _UNICODE_DESCR.fullmatch(descr):
        dtype = np.dtype(descr)
    else:
        shown = "object (a pickle)" if descr == "|O" else str(descr)[:80]
        fail(f"member {name!r} has dtype {shown}, which nncore never writes "
             "(allowed: float32, float64, int64, uint8 and text)")
    return len(magic) + len(field) + length, dtype, fortran, shape


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
                 descr: str | None, shape: tuple[int, ...] | None, limit: int | None,
                 fail: Callable[[str], NoReturn]) -> npt.NDArray[Any]:
    """Read one .npy member, checking its header before reading its data.

    ``descr`` (a .npy dtype string, or "U" for any text) and ``shape`` must
    match when given; ``limit`` caps the bytes of its data.
    """
    with archive.open(info) as stream:
        header_bytes, found_dtype, fortran, found_shape = _read_header(stream, name, fail)
        if descr is not None and (found_dtype.kind != "U" if descr == "U"
                                  else found_dtype.str != descr):
            fail(f"member {name!r} has dtype {found_dtype}, expected "
                 f"{'text' if descr == 'U' else np.dtype(descr)}")
        if shape is not None and found_shape != shape:
            fail(f"member {name!r} has shape {found_shape}, expected {shape}")
        count = math.prod(found_shape)
        n_bytes = count * found_dtype.itemsize
        if limit is not None and n_bytes > limit:
            fail(f"member {name!r} declares {n_bytes} bytes, more than the "
                 f"{limit} such a member can hold")
        # The archive's size for the member, already checked against the
        # file's real size, must be exactly header + data.
        if header_bytes + n_bytes != info.file_size:
            fail(f"member {name!r}: its .npy header declares {n_bytes} bytes of "
                 f"data, the archive {info.file_size - header_bytes}")
        values = np.empty(count, dtype=found_dtype)
        raw = values.view(np.uint8).reshape(-1)
        done = 0
        while done < n_bytes:
            chunk = stream.read(min(_READ_CHUNK, n_bytes - done))
            if not chunk:
                break
            raw[done:done + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            done += len(chunk)
        if done != n_bytes or stream.read(1):
            fail(f"member {name!r} holds {'more' if done == n_bytes else done} bytes "
                 f"of data, its header declares {n_bytes} (truncated or corrupted)")
    if fortran and len(found_shape) > 1:
        return np.ascontiguousarray(values.reshape(found_shape, order="F"))
    return values.reshape(found_shape)
