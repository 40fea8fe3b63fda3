# SPDX-License-Identifier: MIT
"""What a command-line model knows besides its weights, and how it turns a
table into the network's inputs.

The metadata is one JSON-serialisable dict (format ``nncore-cli-model``,
version 2), kept inside the model file as ``Network.metadata``:

==================  ===========================================================
key                 value
==================  ===========================================================
``format``          ``"nncore-cli-model"``
``version``         2
``task``            ``"classification"`` or ``"regression"``
``targets``         the target column names (several: multi-output regression)
``positional``      true when columns are named by position (``"0"``, ``"1"``,
                    ... : NumPy arrays, ``--no-header``)
``n_columns``       columns of the training table
``inputs``          per feature column, in the network's input order:
                    ``{"name", "kind": "numeric", "fill", "mean", "scale"}``
                    (missing values become ``fill``; the input is
                    ``(x - mean) / scale``) or ``{"name", "kind":
                    "categorical", "categories"}`` (one input per category,
                    1 for the row's category, all 0 for a missing value)
``impute``          ``"mean"``, ``"median"`` or ``"error"`` (missing values
                    at prediction are then an error)
``classes``         classification: the label of each output unit
``target_mean``,    regression: per target, the network predicts
``target_scale``    ``(y - mean) / scale``
``training``        what train reported: data, epochs trained, the epoch the
                    weights come from, metric, validation and test scores
==================  ===========================================================

`apply` turns a table (anything indexable by column name: a pandas
DataFrame, a dict of arrays) into the network's float64 inputs, exactly as
``nncore train`` did for its training rows; it needs NumPy only.

Models of nncore 0.x (format version 1 of the network file) kept this in a
JSON sidecar ``MODEL.meta.json``; `read_sidecar` still reads it and gives
back version-2 metadata.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._util import CommandError, listed, plural, quoted, shown

FORMAT = "nncore-cli-model"
VERSION = 2
SIDECAR_SUFFIX = ".meta.json"
SIDECAR_VERSION = 1

# A text column with more distinct values than this, and more than this
# fraction of its rows, is taken for an identifier, not a category.
MAX_CATEGORIES = 100
MAX_CATEGORY_FRACTION = 0.5
# A text column in which at least this fraction of the values are numbers is
# a numeric column with typing errors, not a categorical one.
NUMERIC_FRACTION = 0.9

Float64Array = npt.NDArray[np.float64]


class UnseenCategoryError(CommandError):
    """A categorical value at prediction that training never saw."""


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------

def _missing(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which entries of a column are missing (NaN, None, pandas' NA)."""
    if values.dtype.kind in "biu":
        return np.zeros(values.shape, dtype=bool)
    if values.dtype.kind == "f":
        nan: npt.NDArray[np.bool_] = np.isnan(values)
        return nan
    missing: npt.NDArray[np.bool_] = np.array(
        [v is None or (isinstance(v, float) and math.isnan(v))
         or type(v).__name__ in ("NAType", "NaTType") for v in values], dtype=bool)
    return missing


def _column(table: Any, name: str) -> npt.NDArray[Any]:
    values = np.asarray(table[name])
    if values.dtype.kind == "b":
        return values.astype(np.float64)
    return values


def numbers(values: npt.NDArray[Any]) -> tuple[Float64Array, npt.NDArray[np.bool_]]:
    """A column as float64 (missing entries NaN) and the mask of entries that
    are neither missing nor numbers."""
    if values.dtype.kind in "biuf":
        return values.astype(np.float64), np.zeros(values.shape, dtype=bool)
    out = np.full(values.shape, np.nan)
    bad = np.zeros(values.shape, dtype=bool)
    missing = _missing(values)
    for k, value in enumerate(values):
        if missing[k]:
            continue
        try:
            out[k] = float(value)
        except (TypeError, ValueError):
            bad[k] = True
    return out, bad


def _label(value: object) -> str:
    """A category as text: ``2`` for the number 2.0 (a column of categories
    written as numbers may be read as floats when a value is missing)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _safe_stats(values: Float64Array) -> tuple[float, float]:
    """Mean and standard deviation, computed on values divided by their
    largest magnitude, so that squaring never overflows (1e160 stays finite)."""
    big = float(np.max(np.abs(values))) if values.size else 0.0
    if big == 0.0:
        return 0.0, 1.0
    scaled = values / big
    mean, std = float(scaled.mean()), float(scaled.std())
    scale = std * big
    if not scale > 0 or not math.isfinite(scale):
        scale = 1.0 if not scale > 0 else scale
    return mean * big, scale


def standardise(values: Float64Array, mean: float, scale: float) -> Float64Array:
    """``(values - mean) / scale`` without overflow in the difference."""
    with np.errstate(over="ignore", invalid="ignore"):
        result: Float64Array = values / scale - mean / scale
    return result


# ---------------------------------------------------------------------------
# Fitting the preprocessing on the training rows
# ---------------------------------------------------------------------------

def column_kind(table: Any, name: str, path: str, where: Any) -> str:
    """``numeric`` or ``categorical``; a CommandError for a numeric column
    with a few text values (a typing error, reported with its row)."""
    values = _column(table, name)
    if values.dtype.kind in "biuf":
        return "numeric"
    parsed, bad = numbers(values)
    present = int((~_missing(values)).sum())
    n_bad = int(bad.sum())
    if n_bad == 0 and present:
        return "numeric"
    if present and n_bad <= (1 - NUMERIC_FRACTION) * present:
        row = int(np.flatnonzero(bad)[0])
        raise CommandError(
            f"{shown(path)}, {where(row)}: column {quoted(name)} has "
            f"{quoted(values[row])}, where {present - n_bad} of its {present} values are "
            f"numbers ({plural(n_bad, 'value')} not): correct it, or leave the cell "
            "empty to have it imputed")
    return "categorical"


def fit_inputs(table: Any, features: Sequence[str], rows: npt.NDArray[np.intp],
               impute: str, path: str, where: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Learn each feature column's preprocessing from the training ``rows``.

    Returns the ``inputs`` entries of the metadata and notes to print
    (missing values imputed). Missing values with ``impute="error"``, a
    column without any value, infinities and identifier-like text columns
    are CommandErrors; every column with missing values is named in one.
    """
    inputs: list[dict[str, Any]] = []
    with_missing: list[tuple[str, int]] = []
    for name in features:
        kind = column_kind(table, name, path, where)
        values = _column(table, name)
        if kind == "numeric":
            parsed, _ = numbers(values)
            infinite = np.flatnonzero(np.isinf(parsed))
            if infinite.size:
                raise CommandError(f"{shown(path)}, {where(int(infinite[0]))}: column "
                                   f"{quoted(name)} is infinite; give finite numbers "
                                   "(or leave the cell empty)")
            missing = np.isnan(parsed)
            train = parsed[rows]
            known = train[~np.isnan(train)]
            if known.size == 0:
                raise CommandError(f"{shown(path)}: column {quoted(name)} has no values in "
                                   "the training rows; --drop it")
            fill = float(np.median(known)) if impute == "median" else \
                _safe_stats(known)[0]
            filled = np.where(np.isnan(train), fill, train)
            mean, scale = _safe_stats(filled)
            inputs.append({"name": name, "kind": "numeric", "fill": fill, "mean": mean,
                           "scale": scale})
        else:
            missing = _missing(values)
            train = values[rows]
            present = train[~missing[rows]]
            categories = sorted({_label(v) for v in present})
            if len(categories) > MAX_CATEGORIES and \
                    len(categories) > MAX_CATEGORY_FRACTION * len(rows):
                raise CommandError(
                    f"{shown(path)}: column {quoted(name)} has {len(categories):,} "
                    f"distinct text values in {len(rows):,} training rows: it looks like "
                    "an identifier, not a category; --drop it (or correct its values if "
                    "they should be numbers)")
            if not categories:
                raise CommandError(f"{shown(path)}: column {quoted(name)} has no values in "
                                   "the training rows; --drop it")
            inputs.append({"name": name, "kind": "categorical", "categories": categories})
        if missing.any():
            with_missing.append((name, int(missing.sum())))
    notes = []
    if with_missing:
        described = ", ".join(f"{quoted(name)} ({plural(n, 'row')})"
                              for name, n in with_missing)
        if impute == "error":
            raise CommandError(f"{shown(path)}: missing values in "
                               f"{plural(len(with_missing), 'column')}: {described} "
                               "(--impute mean or median fills them in)")
        how = "the training rows' median" if impute == "median" else \
            "the training rows' mean"
        notes.append(f"missing values in {plural(len(with_missing), 'column')}: "
                     f"{described}; numbers imputed with {how}, categories left all-zero "
                     "(--impute)")
    return inputs, notes


def n_encoded(inputs: Sequence[dict[str, Any]]) -> int:
    """How many network inputs the feature columns become."""
    return sum(1 if spec["kind"] == "numeric" else len(spec["categories"])
               for spec in inputs)


# ---------------------------------------------------------------------------
# Applying it
# ---------------------------------------------------------------------------

def apply(metadata: dict[str, Any], table: Any, unseen: str = "error",
          path: str = "the data", where: Any = None) -> Float64Array:
    """The network's inputs for the rows of ``table``, as train made them.

    Parameters
    ----------
    metadata : dict
        A command-line model's metadata (``Network.metadata``; see above).
    table : pandas.DataFrame or mapping of column name to 1-D array
        Must hold every feature column by name; other columns are ignored.
    unseen : {"error", "zeros"}
        What a category training never saw becomes: an error, or all zeros.
    path, where : for messages: the file, and a function from a row number
        to its place in the file.

    Returns
    -------
    ndarray of float64, shape (n_rows, n_inputs)

    Raises
    ------
    CommandError
        For a missing column, text in a numeric column, an unseen category
        (``unseen="error"``), missing values when the model was trained with
        ``--impute error``, or values too large for the model's scaling.

    Examples
    --------
    >>> import numpy as np
    >>> from nncore.cli._meta import apply
    >>> meta = {"impute": "mean", "inputs": [
    ...     {"name": "x", "kind": "numeric", "fill": 1.0, "mean": 1.0, "scale": 2.0},
    ...     {"name": "c", "kind": "categorical", "categories": ["a", "b"]}]}
    >>> apply(meta, {"x": np.array([3.0, np.nan]), "c": np.array(["b", None])}).tolist()
    [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    if where is None:
        def where(row: int) -> str:
            return f"row {row}"
    specs = metadata["inputs"]
    missing_columns = [spec["name"] for spec in specs if spec["name"] not in table]
    if missing_columns:
        raise CommandError(f"{shown(path)} lacks the column"
                           f"{'s' if len(missing_columns) > 1 else ''} "
                           f"{', '.join(quoted(n) for n in missing_columns[:12])}"
                           f"{', ...' if len(missing_columns) > 12 else ''} the model was "
                           "trained on")
    n_rows = len(np.asarray(table[specs[0]["name"]])) if specs else 0
    out = np.zeros((n_rows, n_encoded(specs)))
    with_missing = []
    j = 0
    for spec in specs:
        name = spec["name"]
        values = _column(table, name)
        if spec["kind"] == "numeric":
            parsed, bad = numbers(values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise CommandError(f"{shown(path)}, {where(row)}: column {quoted(name)} "
                                   f"has {quoted(values[row])}, not a number (the model "
                                   "was trained on numbers in it)")
            missing = np.isnan(parsed)
            if missing.any():
                with_missing.append((name, int(missing.sum())))
                parsed = np.where(missing, float(spec["fill"]), parsed)
            column = standardise(parsed, float(spec["mean"]), float(spec["scale"]))
            bad_rows = np.flatnonzero(~np.isfinite(column))
            if bad_rows.size:
                row = int(bad_rows[0])
                raise CommandError(f"{shown(path)}, {where(row)}: column {quoted(name)} "
                                   f"has {parsed[row]!r}, too large for the scaling the "
                                   "model learned (or not finite)")
            out[:, j] = column
            j += 1
        else:
            categories = spec["categories"]
            position = {c: k for k, c in enumerate(categories)}
            missing = _missing(values)
            if missing.any():
                with_missing.append((name, int(missing.sum())))
            unknown: dict[str, int] = {}
            for row, value in enumerate(values):
                if missing[row]:
                    continue
                k = position.get(_label(value))
                if k is None:
                    unknown.setdefault(_label(value), row)
                else:
                    out[row, j + k] = 1.0
            if unknown and unseen != "zeros":
                first = min(unknown.values())
                raise UnseenCategoryError(
                    f"{shown(path)}, {where(first)}: column {quoted(name)} has "
                    f"{plural(len(unknown), 'value')} training never saw: "
                    f"{listed([quoted(u) for u in unknown], 5)} (known: "
                    f"{listed([quoted(c) for c in categories], 8)}); --unseen zeros "
                    "encodes them as no category")
            j += len(categories)
    if with_missing and metadata.get("impute") == "error":
        described = ", ".join(f"{quoted(name)} ({plural(n, 'row')})"
                              for name, n in with_missing)
        raise CommandError(f"{shown(path)}: missing values in {described}; the model "
                           "was trained with --impute error")
    return out


# ---------------------------------------------------------------------------
# Checking metadata read from a file
# ---------------------------------------------------------------------------

def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def check(meta: object, where: str) -> dict[str, Any]:
    """``meta`` if it is version-2 metadata train could have written, else a
    CommandError naming ``where`` (the model file) and what is wrong."""
    try:
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"no format {FORMAT!r}")
        if meta.get("version") != VERSION:
            raise ValueError(f"version {meta.get('version')!r} is not supported (this "
                             f"nncore reads {VERSION})")
        _check(meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise CommandError(f"{shown(where)}: damaged command-line metadata "
                           f"({shown(exc)})") from None
    return meta


def _check(meta: dict[str, Any]) -> None:
    inputs = meta["inputs"]
    if not isinstance(inputs, list) or not inputs:
        raise ValueError("inputs must be a non-empty list")
    for spec in inputs:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ValueError("each input needs a name")
        if spec["kind"] == "numeric":
            if not all(_number(spec[key]) for key in ("fill", "mean", "scale")) or \
                    not spec["scale"] > 0:
                raise ValueError(f"input {spec['name']!r}: fill, mean and scale must be "
                                 "finite numbers, scale positive")
        elif spec["kind"] == "categorical":
            categories = spec["categories"]
            if not isinstance(categories, list) or not categories or \
                    not all(isinstance(c, str) for c in categories):
                raise ValueError(f"input {spec['name']!r}: categories must be strings")
        else:
            raise ValueError(f"unknown input kind {spec['kind']!r}")
    targets = meta["targets"]
    if not isinstance(targets, list) or not targets or \
            not all(isinstance(t, str) for t in targets):
        raise ValueError("targets must be a list of names")
    if not isinstance(meta["positional"], bool):
        raise TypeError("positional must be true or false")
    if meta["n_columns"] is not None and (not isinstance(meta["n_columns"], int) or
                                          isinstance(meta["n_columns"], bool)):
        raise TypeError("n_columns must be an integer")
    if meta["task"] == "classification":
        classes = meta["classes"]
        if not isinstance(classes, list) or len(classes) < 2 or len(targets) != 1 or \
                not all(isinstance(c, (str, int, float)) for c in classes):
            raise ValueError("classes must list at least two labels, for one target")
    elif meta["task"] == "regression":
        for key in ("target_mean", "target_scale"):
            values = meta[key]
            if not isinstance(values, list) or len(values) != len(targets) or \
                    not all(_number(v) for v in values):
                raise ValueError(f"{key} must hold one finite number per target")
        if not all(v > 0 for v in meta["target_scale"]):
            raise ValueError("target_scale must be positive")
    else:
        raise ValueError(f"unknown task {meta['task']!r}")
    if meta.get("impute") not in ("mean", "median", "error", None):
        raise ValueError(f"unknown impute {meta.get('impute')!r}")


def n_outputs(meta: dict[str, Any]) -> int:
    return len(meta["classes"]) if meta["task"] == "classification" else \
        len(meta["targets"])


# ---------------------------------------------------------------------------
# The sidecar of version-1 models
# ---------------------------------------------------------------------------

def sidecar_path(model: str) -> str:
    """Path of the JSON sidecar nncore 0.x wrote next to ``model``.

    Examples
    --------
    >>> from nncore.cli._meta import sidecar_path
    >>> sidecar_path("digits.model")
    'digits.model.meta.json'
    """
    return model + SIDECAR_SUFFIX


def read_sidecar(model: str) -> dict[str, Any] | None:
    """The version-1 sidecar of ``model`` as version-2 metadata, or None if
    there is none; a CommandError if it is not one nncore 0.x wrote."""
    path = sidecar_path(model)
    try:
        with open(path, encoding="utf-8") as stream:
            old = json.load(stream)
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CommandError(f"{shown(path)}: not a valid sidecar ({shown(exc)})") from None
    if not isinstance(old, dict) or old.get("format") != FORMAT:
        raise CommandError(f"{shown(path)}: not an nncore sidecar (no format {FORMAT!r})")
    if old.get("version") == VERSION:
        # Written by save_model where the network format has no metadata.
        return check(old, path)
    if old.get("version") != SIDECAR_VERSION:
        raise CommandError(f"{shown(path)}: sidecar version {old.get('version')!r} is not "
                           f"supported (this nncore reads {SIDECAR_VERSION})")
    try:
        meta = _from_sidecar(old)
        _check(meta)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CommandError(f"{shown(path)}: damaged sidecar ({type(exc).__name__}: "
                           f"{shown(exc)})") from None
    return meta


def _from_sidecar(old: dict[str, Any]) -> dict[str, Any]:
    means, scales = old["input_mean"], old["input_scale"]
    if not isinstance(means, list) or not isinstance(scales, list) or \
            len(means) != len(scales):
        raise ValueError("input_mean and input_scale must be lists of one length")
    features, target, target_column = old["features"], old["target"], old["target_column"]
    positional = features is None
    if positional:
        # Columns by position: all but the target's (none for an .npz's X and y).
        count = len(means) + (target_column is not None)
        features = [str(j) for j in range(count) if j != target_column]
    if not isinstance(features, list) or len(features) != len(means):
        raise ValueError("features must be null or one name per feature")
    meta: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "task": old["task"],
        "targets": [str(target)], "positional": positional,
        "n_columns": old["n_columns"] if target_column is not None else None,
        "inputs": [{"name": name, "kind": "numeric", "fill": mean, "mean": mean,
                    "scale": scale} for name, mean, scale in zip(features, means, scales)],
        # Version 1 refused missing values.
        "impute": "error",
        "training": {"data": old.get("data"), "metric": old.get("metric"),
                     "validation": old.get("validation")},
    }
    if old["task"] == "classification":
        meta["classes"] = old["classes"]
    else:
        meta["target_mean"] = [old["target_mean"]]
        meta["target_scale"] = [old["target_scale"]]
    if target_column is None and old["target"] == "y":
        meta["n_columns"] = None
    return meta


# ---------------------------------------------------------------------------
# Model files
# ---------------------------------------------------------------------------

def metadata_in_file() -> bool:
    """Whether this nncore keeps metadata inside the model file
    (``Network.metadata``, network format version 2)."""
    from ..network import Network

    return hasattr(Network, "metadata")


def save_model(net: Any, meta: dict[str, Any], path: str) -> None:
    """Write ``net`` with ``meta`` to ``path``: one file, atomically (a
    failure leaves the previous file whole)."""
    if metadata_in_file():
        net.metadata = meta
        net.save(path)
        return
    # Before format version 2: the sidecar, written first so that a model
    # file always has one.
    from .. import _io

    text = json.dumps(meta, indent=1) + "\n"
    _io.write_atomically(sidecar_path(path), lambda stream: stream.write(text),
                         binary=False)
    net.save(path)


def load_model(path: str) -> tuple[Any, dict[str, Any] | None]:
    """The network in ``path`` and its command-line metadata: from inside
    the file, else from a version-1 sidecar; None for a network saved from
    Python."""
    from .. import load

    try:
        net = load(path)
    except FileNotFoundError:
        raise CommandError(f"{shown(path)}: no such model file") from None
    except IsADirectoryError:
        raise CommandError(f"{shown(path)}: is a folder, not a model file") from None
    inside = getattr(net, "metadata", None)
    if inside:
        if isinstance(inside, dict) and inside.get("format") == FORMAT and \
                inside.get("version") == SIDECAR_VERSION:
            raise CommandError(f"{shown(path)}: damaged command-line metadata (version 1 "
                               "inside a model file)")
        meta: dict[str, Any] | None = check(inside, path)
    else:
        meta = read_sidecar(path)
    if meta is not None:
        n_inputs, n_out = net.layer_sizes[0], net.layer_sizes[-1]
        if n_encoded(meta["inputs"]) != n_inputs or n_outputs(meta) != n_out:
            raise CommandError(f"{shown(path)}: its metadata describes "
                               f"{n_encoded(meta['inputs'])} inputs and "
                               f"{n_outputs(meta)} outputs, but the network has "
                               f"{n_inputs} and {n_out}")
        if meta["task"] == "classification" and net.output != "softmax":
            raise CommandError(f"{shown(path)}: a classifier needs a softmax output, the "
                               f"network has {net.output}")
    return net, meta
