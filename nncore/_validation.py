# SPDX-License-Identifier: MIT
"""The input policy: everything the compiled core receives is checked here.

- ``X`` is 2-D with at least one row and the network's number of features; a
  single sample must be passed as one row, ``(1, n_features)``.
- Any real numeric input (lists, bool, integer and floating dtypes, any
  memory order, read-only arrays, memmaps) is accepted and converted to the
  network's dtype with ``np.ascontiguousarray``: a copy is made only when the
  dtype or the memory layout requires it. Object, complex, string, bytes,
  structured and datetime data raise ``TypeError``.
- No NaN or infinity anywhere (``ValueError``).
- Targets depend on the output layer: integer class labels ``(n,)`` in
  ``[0, n_out)`` or rows of class probabilities ``(n, n_out)`` summing to 1
  for softmax; values in [0, 1], shape ``(n,)`` (one output) or
  ``(n, n_out)``, for sigmoid; any finite reals of the same shapes for
  identity.
- Sizes handed to BLAS must fit its 32-bit integers.
Every message names the argument, what was expected and what was given.
Nothing here mutates its inputs or any network.
"""
from __future__ import annotations

import numbers
import operator
import os
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from . import _core, _params

# SciPy's BLAS takes C ints: every matrix dimension and leading dimension
# handed to it must stay below this.
INT_MAX = 2**31 - 1

_DTYPES: dict[str, type[np.floating[Any]]] = {
    "float32": np.float32, "float64": np.float64}


def check_dtype(dtype: npt.DTypeLike) -> type[np.floating[Any]]:
    """Return np.float32 or np.float64 for any spelling of those two dtypes."""
    if dtype is None:   # np.dtype(None) would silently mean float64
        raise TypeError("dtype must be float32 or float64, got None")
    try:
        name = np.dtype(dtype).name
    except TypeError as exc:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if name not in _DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {name}")
    return _DTYPES[name]


def check_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int >= minimum; bools and non-integers raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def as_generator(seed: object, name: str = "seed") -> np.random.Generator:
    """``np.random.default_rng(seed)``, with errors that name the argument."""
    expected = (f"{name} must be None, a non-negative integer or a "
                "numpy.random.Generator")
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)) \
            and seed < 0:
        raise ValueError(f"{expected}, got {seed}; pick any integer >= 0 (the same "
                         "one gives the same network), or None for a fresh seed")
    try:
        return np.random.default_rng(cast(Any, seed))
    except TypeError as exc:
        raise TypeError(f"{expected}, got {type(seed).__name__} ({exc})") from exc
    except ValueError as exc:
        raise ValueError(f"{expected}, got {seed!r} ({exc})") from exc


def check_learning_rate(value: object, dtype: npt.DTypeLike,
                        name: str = "learning_rate") -> float:
    """A finite learning rate >= 0 that stays finite, and non-zero if it was, in dtype.

    0 is allowed: a step at learning rate 0 leaves every weight exactly as it
    was (useful to measure the training loss without changing anything).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    info = np.finfo(dtype)
    if value != 0 and not float(info.tiny) <= value <= float(info.max):
        raise ValueError(f"{name} {value} is not representable in "
                         f"{np.dtype(dtype).name} (0, or between {info.tiny} and {info.max})")
    return value


def check_real(value: object, name: str, low: float, high: float = np.inf,
               low_open: bool = False, high_open: bool = True) -> float:
    """A finite real in [low, high) (open or closed ends as asked), as float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not np.isfinite(value) or below or above:
        interval = (("(" if low_open else "[") + f"{low}, {high}"
                    + (")" if high_open else "]"))
        raise ValueError(f"{name} must be a finite number in {interval}, got {value}")
    return value


def as_sample_weight(sample_weight: npt.ArrayLike, n_samples: int,
                     dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """Sample weights as a contiguous (n_samples,) array of dtype, all > 0."""
    sw = _numeric_array(sample_weight, "sample_weight")
    if sw.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), one weight "
                         f"per sample, got {sw.shape}")
    sw = np.ascontiguousarray(sw, dtype=dtype)
    if not np.isfinite(sw).all() or not (sw > 0).all():
        raise ValueError("sample_weight must be finite and > 0 (to leave a sample "
                         "out, leave it out of X and y)")
    return sw


_Name = TypeVar("_Name", bound=str)


def check_choice(value: object, name: str, choices: Collection[_Name],
                 aliases: Mapping[str, _Name] | None = None) -> _Name:
    """Return the canonical name of ``value`` among ``choices``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    value = (aliases or {}).get(value, value)
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return cast(_Name, value)   # a member of choices, as just checked


def check_layer_sizes(layer_sizes: Collection[int]) -> tuple[int, ...]:
    """Return the layer sizes as a tuple of ints: inputs, hidden..., outputs."""
    if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
        raise TypeError("layer_sizes must be a sequence of integers such as "
                        f"[64, 32, 10], got {type(layer_sizes).__name__}")
    if len(layer_sizes) < 2:
        raise ValueError("layer_sizes needs at least two entries (inputs and "
                         f"outputs), got {len(layer_sizes)}")
    sizes = tuple(check_int(size, f"layer_sizes[{l}]")
                  for l, size in enumerate(layer_sizes))
    for l, size in enumerate(sizes):
        if size + 1 > INT_MAX:
            raise ValueError(f"layer_sizes[{l}] = {size} is too large for BLAS "
                             f"(at most {INT_MAX - 1})")
    return sizes


def physical_memory() -> int | None:
    """Bytes of RAM of this machine, or None where it cannot be asked."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _read_number(path: str, key: str | None = None) -> int | None:
    # An integer from a /proc or /sys file (its first word, or the value of
    # the line "key: value"); None if absent, unreadable or unlimited ("max").
    try:
        with open(path, encoding="ascii") as file:
            if key is None:
                return int(file.read().split()[0])
            for line in file:
                name, _, value = line.partition(":")
                if name == key:
                    words = value.split()
                    # /proc/meminfo and /proc/self/status count in kB.
                    scale = 1024 if words[1:] == ["kB"] else 1
                    return int(words[0]) * scale
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping or hitting a
    limit: the smallest of the machine's RAM, the memory the kernel reports
    available (MemAvailable), the room left in the process's cgroup, and the
    room left under its address-space and data rlimits. None if none of them
    can be asked."""
    limits = [physical_memory(), _read_number("/proc/meminfo", "MemAvailable")]
    for cgroup_max, cgroup_used in (
            ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
             "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        cap, used = _read_number(cgroup_max), _read_number(cgroup_used)
        # cgroup v1 says "no limit" with a huge number, not "max".
        if cap is not None and used is not None and cap < 2**60:
            limits.append(max(cap - used, 0))
    try:
        import resource
    except ImportError:     # not POSIX
        pass
    else:
        for which, key in ((resource.RLIMIT_AS, "VmSize"),
                           (getattr(resource, "RLIMIT_DATA", None), "VmData")):
            if which is None:
                continue
            soft = resource.getrlimit(which)[0]
            used = _read_number("/proc/self/status", key)
            if soft != resource.RLIM_INFINITY and used is not None:
                limits.append(max(soft - used, 0))
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def network_bytes(sizes: Sequence[int], dtype: npt.DTypeLike) -> tuple[int, int]:
    """(entries, bytes) that constructing a network of ``sizes`` allocates:
    the flat buffer with every unit's row padded to 64 bytes (``_params``),
    its alignment slack, and the chunk the initial weights are drawn in."""
    itemsize = np.dtype(dtype).itemsize
    per_line = _params.ALIGNMENT // itemsize
    entries = sum(-(-(sizes[l] + 1) // per_line) * per_line * sizes[l + 1]
                  for l in range(len(sizes) - 1))
    n_bytes = (entries * itemsize + _params.ALIGNMENT
               + _params.DRAW_CHUNK * np.dtype(np.float64).itemsize)
    return entries, n_bytes


def check_memory(sizes: Sequence[int], dtype: npt.DTypeLike, also: int = 0) -> None:
    """Refuse a network whose construction would not fit in memory.

    Counts what the constructor really allocates (``network_bytes``), plus
    ``also`` bytes that will be held at the same time (a loader's copy of the
    weights as read from a file, say), and is checked before anything is
    allocated, so an absurd size is a clear ValueError instead of a
    MemoryError, the machine swapping or the out-of-memory killer.
    """
    entries, n_bytes = network_bytes(sizes, dtype)
    check_bytes(n_bytes + also, f"the parameters of layer_sizes {list(sizes)} "
                f"({entries:,} {np.dtype(dtype).name} entries, each unit's row padded "
                f"to {_params.ALIGNMENT} bytes)" + (" and the weights as read" if also
                                                   else ""))


# Allocations below this are not checked: asking the kernel what is
# available costs about 0.3 ms, more than a small call's work, and NumPy's own
# MemoryError is clear enough for a size that small.
CHECKED_BYTES = 1 << 26


def check_bytes(n_bytes: int, what: str) -> None:
    """ValueError unless n_bytes (allocations about to be made) fit in the
    memory available to this process (``available_memory``); sizes below
    CHECKED_BYTES pass unchecked."""
    if n_bytes < CHECKED_BYTES:
        return
    physical = physical_memory() or 2**40
    limit = available_memory() or physical
    if n_bytes > limit:
        raise ValueError(f"{what} would need {n_bytes / 2**30:.1f} GiB, more than "
                         f"the {limit / 2**30:.1f} GiB of memory available (this "
                         f"machine has {physical / 2**30:.1f} GiB); use smaller "
                         "layers or batches, or free memory")


def _numeric_array(data: npt.ArrayLike, name: str) -> npt.NDArray[Any]:
    """np.asarray(data) with a real numeric dtype, or TypeError."""
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{name} must be numeric array-like, got {type(data).__name__}")
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be converted to a numeric array: {exc}") from exc
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array


def _convert(array: npt.NDArray[Any], dtype: npt.DTypeLike,
             name: str) -> npt.NDArray[np.floating[Any]]:
    """array as C-contiguous dtype, checked finite; values too large for dtype raise."""
    if array.dtype == dtype:
        converted = np.ascontiguousarray(array)
    else:
        with np.errstate(over="ignore"):
            converted = np.ascontiguousarray(array, dtype=dtype)
    # One vectorised pass in the compiled core, no temporary array.
    if not _core._all_finite(converted.reshape(-1)):
        if (converted.dtype != array.dtype and array.dtype.kind == "f"
                and np.isfinite(array).all()):
            raise ValueError(f"{name} has values too large for "
                             f"{np.dtype(dtype).name}")
        raise ValueError(f"{name} contains NaN or infinity")
    return converted


def as_input(X: npt.ArrayLike, dtype: npt.DTypeLike, n_features: int,
             name: str = "X") -> npt.NDArray[np.floating[Any]]:
    """Validate and convert network input to a C-contiguous (n, n_features) array."""
    array = _numeric_array(X, name)
    if array.ndim != 2:
        hint = (" (reshape a single sample to (1, n_features))"
                if array.ndim == 1 else "")
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got "
                         f"{array.ndim}-D with shape {array.shape}{hint}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: it needs at least one sample")
    if array.shape[1] != n_features:
        raise ValueError(f"{name} has {array.shape[1]} features, but the network "
                         f"expects {n_features}")
    return _convert(array, dtype, name)


def as_target(y: npt.ArrayLike, output: str, n_out: int, dtype: npt.DTypeLike,
              n_samples: int, name: str = "y") -> npt.NDArray[np.floating[Any]]:
    """Validate targets and return them as a C-contiguous (n_samples, n_out) array."""
    if output != "identity":
        _refuse_string_labels(y, output, n_out, name)
    array = _numeric_array(y, name)
    if array.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got {array.ndim}-D")
    if array.shape[0] != n_samples:
        raise ValueError(f"{name} has {array.shape[0]} samples, but X has {n_samples}")
    if output == "softmax" and array.ndim == 2 and array.shape[1] == 1 and n_out > 1:
        array = array[:, 0]     # a column of class labels
    if output == "softmax" and array.ndim == 1:
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinity")
        return _one_hot(array, n_out, dtype, name)
    if array.ndim == 1:
        if n_out != 1:
            raise ValueError(f"{name} is 1-D, but the network has {n_out} "
                             f"{output} outputs: pass shape ({n_samples}, {n_out})")
        array = array.reshape(-1, 1)
    if array.shape[1] != n_out:
        raise ValueError(f"{name} has {array.shape[1]} columns, but the network "
                         f"has {n_out} outputs")
    target = _convert(array, dtype, name)
    if output in ("softmax", "sigmoid"):
        if target.min() < 0 or target.max() > 1:
            raise ValueError(f"{name} for a {output} output must lie in [0, 1]")
    if output == "softmax":
        tolerance = np.sqrt(np.finfo(dtype).eps)
        if not np.allclose(target.sum(axis=1), 1, rtol=0, atol=tolerance):
            raise ValueError(f"rows of {name} must sum to 1 (one-hot or class "
                             "probabilities) for a softmax output")
    return target


def _refuse_string_labels(y: object, output: str, n_out: int, name: str) -> None:
    """TypeError saying how to encode them, if y holds strings (class names)."""
    if isinstance(y, (str, bytes)):
        return      # _numeric_array's message covers a single string
    try:
        array = np.asarray(y)
    except (ValueError, TypeError):
        return
    if array.dtype.kind in "US":
        example = array.reshape(-1)[0].item() if array.size else ""
    elif array.dtype.kind == "O":
        found = [v for v in array.reshape(-1)[:1000] if isinstance(v, (str, bytes))]
        if not found:
            return
        example = found[0]
    else:
        return
    labels = "0 or 1" if output == "sigmoid" else f"0..{n_out - 1}"
    raise TypeError(
        f"{name} holds strings (such as {example!r}), but a {output} network takes "
        f"integer class labels {labels}: encode them first (classes, {name}_encoded = "
        f"numpy.unique({name}, return_inverse=True) gives the indices and the "
        "classes to map predictions back), or use nncore.sklearn.MLPClassifier, "
        "which takes any labels")


def _one_hot(labels: npt.NDArray[Any], n_out: int, dtype: npt.DTypeLike,
             name: str) -> npt.NDArray[np.floating[Any]]:
    if labels.dtype.kind == "f":
        if not np.array_equal(labels, np.floor(labels)):
            raise ValueError(f"{name} holds class labels for a softmax output, "
                             "but has non-integer values")
    lowest, highest = labels.min(), labels.max()
    if lowest < 0 or highest >= n_out:
        bad = lowest if lowest < 0 else highest
        raise ValueError(f"{name} has label {bad:g}, but the network's "
                         f"{n_out} outputs take labels 0..{n_out - 1}")
    check_bytes(labels.shape[0] * n_out * np.dtype(dtype).itemsize,
                f"the one-hot targets of {labels.shape[0]} labels and {n_out} classes")
    target = np.zeros((labels.shape[0], n_out), dtype=dtype)
    target[np.arange(labels.shape[0]), labels.astype(np.intp)] = 1
    return target


def check_batch(batch_size: object, n_samples: int) -> int:
    """Return batch_size clipped to n_samples; it is a BLAS dimension (C int)."""
    batch_size = min(check_int(batch_size, "batch_size"), n_samples)
    if batch_size > INT_MAX:
        raise ValueError(f"batch_size {batch_size} exceeds the BLAS limit {INT_MAX}")
    return batch_size
