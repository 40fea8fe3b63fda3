# SPDX-License-Identifier: MIT
"""Saving and loading networks: a versioned .npz format that holds no code.

Format ``nncore-network``, version 1: a ZIP archive of ``.npy`` members (what
``numpy.savez`` writes), read back with ``allow_pickle=False`` semantics:

==================  ===========================================================
member              content
==================  ===========================================================
``format``          0-d unicode: ``"nncore-network"``
``version``         0-d int64: 1
``layer_sizes``     int64 (L + 1,): units per layer, inputs first
``activation``      0-d unicode: hidden activation name
``output``          0-d unicode: output layer name
``dtype``           0-d unicode: ``"float32"`` or ``"float64"``
``weights_<l>``     dtype (n_in, n_out) for l = 0..L-1
``biases_<l>``      dtype (n_out,)
``rng_state``       0-d unicode: JSON of the network's PCG64 generator state,
                    so that shuffling resumes where it stopped
``history``         float64 (k,): mean training loss of every epoch so far
==================  ===========================================================

Loading never trusts a size field: the layer sizes are read first (a small,
bounded member) and checked like constructor arguments, and every other
member's dtype and shape must be exactly what they imply before a byte of its
data is read; the data is then read with a hard limit on its length. Object
arrays, pickles and unknown members are refused. Writing goes to a temporary
file in the destination folder, flushed to disk, then renamed over the target,
so an interrupted or failed save leaves any previous file intact.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Literal, NoReturn

import numpy as np
import numpy.typing as npt

from .exceptions import ModelFileError

if TYPE_CHECKING:
    from .network import Network

FORMAT = "nncore-network"
VERSION = 1

# Small members are at most this long (header included): the scalars, the
# layer sizes (at most MAX_LAYERS + 1 of them) and the generator's state.
_SMALL_MEMBER_BYTES = 1 << 16
MAX_LAYERS = 1000
_HISTORY_BYTES = 8 << 20      # a million epochs of losses
_SCALARS = ("format", "version", "activation", "output", "dtype", "rng_state")


def state_of(network: Network) -> dict[str, Any]:
    """The network's complete state as plain arrays (the file's members)."""
    sizes = network.layer_sizes
    state = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION, dtype=np.int64),
        "layer_sizes": np.array(sizes, dtype=np.int64),
        "activation": np.array(network.activation),
        "output": np.array(network.output),
        "dtype": np.array(network.dtype.name),
        "rng_state": np.array(json.dumps(network._rng.bit_generator.state)),
        "history": np.array(network.history, dtype=np.float64),
    }
    for l, (w, b) in enumerate(zip(network.weights, network.biases)):
        state[f"weights_{l}"] = np.ascontiguousarray(w)
        state[f"biases_{l}"] = b.copy()
    return state


def unpack(members: dict[str, Any]) -> dict[str, Any]:
    """The constructor-side state from members as ``state_of`` gives them."""
    sizes = tuple(int(n) for n in members["layer_sizes"])
    rng = np.random.default_rng()
    rng.bit_generator.state = json.loads(str(members["rng_state"]))
    return {
        "layer_sizes": sizes,
        "activation": str(members["activation"]),
        "output": str(members["output"]),
        "dtype": str(members["dtype"]),
        "weights": [members[f"weights_{l}"] for l in range(len(sizes) - 1)],
        "biases": [members[f"biases_{l}"] for l in range(len(sizes) - 1)],
        "rng": rng,
        "history": members["history"],
    }


def save(network: Network, path: str | os.PathLike[str]) -> None:
    """Write ``network`` to ``path`` atomically (see the module docstring)."""
    path = os.fspath(path)
    state = state_of(network)
    write_atomically(path, lambda stream: np.savez(stream, **state))


def write_atomically(path: str, write: Callable[[IO[Any]], object],
                     binary: bool = True) -> None:
    """Call ``write(stream)`` on a temporary file in ``path``'s folder, flush
    it to disk, then rename it over ``path``: a failure or an interruption at
    any point leaves a previous file at ``path`` intact, and no temporary
    file behind."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        stream: IO[Any] = (os.fdopen(handle, "wb") if binary
                           else os.fdopen(handle, "w", encoding="utf-8"))
        with stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
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


# What reading a damaged archive can raise, besides our own checks: the
# zipfile module's errors, zlib's (a compressed member), struct's (a short
# record), decoding errors (a ValueError), and OSError from seeking to an
# offset a corrupted directory points to.
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, KeyError,
           NotImplementedError, RuntimeError, struct.error, zlib.error, OSError)
# OSErrors about the path itself are not damage: they propagate as they are.
_PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a file written by ``save``; returns the state for ``Network``.

    Raises ModelFileError (a ValueError) naming the file and what is wrong;
    FileNotFoundError and other errors about the path itself propagate.
    """
    try:
        archive = zipfile.ZipFile(path)
    except _PATH_ERRORS:
        raise
    except _DAMAGE as exc:
        raise ModelFileError(f"{path}: not an nncore model file (not a readable "
                             f".npz archive: {exc})") from exc
    with archive:
        try:
            return _read_state(archive, path)
        except ModelFileError:
            raise
        except _DAMAGE as exc:
            raise ModelFileError(f"{path}: corrupted model file "
                                 f"({type(exc).__name__}: {exc})") from exc


def _read_state(archive: zipfile.ZipFile, path: str | os.PathLike[str]) -> dict[str, Any]:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        name = info.filename
        if not name.endswith(".npy") or name[:-4] in members:
            raise ModelFileError(f"{path}: unexpected archive member {name!r}")
        members[name[:-4]] = info

    def fail(message: str) -> NoReturn:
        raise ModelFileError(f"{path}: {message}")

    def scalar(name: str, kind: str) -> Any:
        value = _read_member(archive, members, name, None, None, _SMALL_MEMBER_BYTES, fail)
        if value.shape != () or value.dtype.kind != kind:
            fail(f"member {name!r} must be a scalar of kind {kind!r}, got "
                 f"{value.dtype} with shape {value.shape}")
        return value[()]

    for name in _SCALARS + ("layer_sizes",):
        if name not in members:
            fail(f"member {name!r} is missing (not an nncore model file, or truncated)")
    if scalar("format", "U") != FORMAT:
        fail(f"not an nncore model file (format {scalar('format', 'U')!r})")
    version = int(scalar("version", "i"))
    if version != VERSION:
        fail(f"file format version {version} is not supported (this nncore reads "
             f"version {VERSION}; a newer nncore may read it)")
    stored = _read_member(archive, members, "layer_sizes", np.dtype(np.int64), None,
                          _SMALL_MEMBER_BYTES, fail)
    if stored.ndim != 1 or not 2 <= stored.shape[0] <= MAX_LAYERS + 1:
        fail(f"layer_sizes must be 1-D with 2 to {MAX_LAYERS + 1} entries, got "
             f"shape {stored.shape}")
    if (stored < 1).any():
        fail(f"layer_sizes must be positive, got {stored.tolist()}")
    sizes = tuple(int(n) for n in stored)
    dtype_name = str(scalar("dtype", "U"))
    if dtype_name not in ("float32", "float64"):
        fail(f"dtype must be float32 or float64, got {dtype_name!r}")
    dtype = np.dtype(dtype_name)
    # Refuse impossible or insane sizes before reading any weight.
    from . import _validation
    try:
        _validation.check_layer_sizes(sizes)
        _validation.check_memory(sizes, dtype)
    except (TypeError, ValueError) as exc:
        fail(f"layer_sizes {list(sizes)}: {exc}")
    n_layers = len(sizes) - 1
    expected = set(_SCALARS) | {"layer_sizes", "history"}
    expected |= {f"weights_{l}" for l in range(n_layers)}
    expected |= {f"biases_{l}" for l in range(n_layers)}
    if set(members) != expected:
        missing = sorted(expected - set(members))
        extra = sorted(set(members) - expected)
        fail(f"members do not match layer_sizes {list(sizes)}: missing {missing}, "
             f"unexpected {extra}")
    weights, biases = [], []
    for l in range(n_layers):
        shape = (sizes[l], sizes[l + 1])
        weights.append(_read_member(archive, members, f"weights_{l}", dtype, shape,
                                    None, fail))
        biases.append(_read_member(archive, members, f"biases_{l}", dtype, shape[1:],
                                   None, fail))
    for name, values in [(f"weights_{l}", w) for l, w in enumerate(weights)] + \
            [(f"biases_{l}", b) for l, b in enumerate(biases)]:
        if not np.isfinite(values).all():
            fail(f"member {name!r} contains NaN or infinity")
    try:
        rng_state = json.loads(str(scalar("rng_state", "U")))
        rng = np.random.default_rng()
        if not isinstance(rng_state, dict) or rng_state.get("bit_generator") != "PCG64":
            raise ValueError("not a PCG64 state")
        rng.bit_generator.state = rng_state
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        fail(f"member 'rng_state' is not a valid generator state ({exc})")
    history = _read_member(archive, members, "history", np.dtype(np.float64), None,
                           _HISTORY_BYTES, fail)
    if history.ndim != 1 or np.isnan(history).any():
        fail("member 'history' must be a 1-D float64 array of losses")
    return {
        "layer_sizes": sizes,
        "history": history,
        "activation": str(scalar("activation", "U")),
        "output": str(scalar("output", "U")),
        "dtype": dtype,
        "weights": weights,
        "biases": biases,
        "rng": rng,
    }


def _read_member(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str,
                 dtype: np.dtype[Any] | None, shape: tuple[int, ...] | None,
                 limit: int | None, fail: Callable[[str], NoReturn]) -> npt.NDArray[Any]:
    """Read one .npy member, checking its header before reading its data.

    With dtype/shape given they must match exactly; ``limit`` caps the bytes
    of members whose shape is not known in advance.
    """
    info = members[name]
    with archive.open(info) as stream:
        try:
            major, minor = np.lib.format.read_magic(stream)
            if (major, minor) == (1, 0):
                header = np.lib.format.read_array_header_1_0(stream, max_header_size=10000)
            elif (major, minor) in ((2, 0), (3, 0)):
                header = np.lib.format.read_array_header_2_0(stream, max_header_size=10000)
            else:
                fail(f"member {name!r}: unsupported .npy version {major}.{minor}")
        except ValueError as exc:
            fail(f"member {name!r}: bad .npy header ({exc})")
        found_shape, fortran, found_dtype = header
        if found_dtype.hasobject or found_dtype.kind not in "iufU" or found_dtype.fields:
            fail(f"member {name!r} has dtype {found_dtype}, which nncore never writes")
        if dtype is not None and found_dtype != dtype:
            fail(f"member {name!r} has dtype {found_dtype}, expected {dtype}")
        if shape is not None and tuple(found_shape) != tuple(shape):
            fail(f"member {name!r} has shape {tuple(found_shape)}, expected {tuple(shape)}")
        count = 1
        for n in found_shape:
            count *= n
        n_bytes = count * found_dtype.itemsize
        if limit is not None and n_bytes > limit:
            fail(f"member {name!r} declares {n_bytes} bytes, more than the "
                 f"{limit} such a member can hold")
        data = stream.read(n_bytes + 1)
        if len(data) != n_bytes:
            fail(f"member {name!r} holds {len(data)} bytes of data, its header "
                 f"declares {n_bytes} (truncated or corrupted)")
    values: npt.NDArray[Any] = np.frombuffer(data, dtype=found_dtype, count=count)
    order: Literal["C", "F"] = "F" if fortran else "C"
    # Annotated: NumPy's stubs type this as Any when mypy targets Python 3.10.
    array: npt.NDArray[Any] = values.reshape(found_shape, order=order).copy(order="C")
    return array
