# SPDX-License-Identifier: MIT
"""The preprocessing of a command-line model: from a table of named columns
to the network's inputs, and how it is learned from the training rows.

`fit_inputs` learns, per feature column, either ``{"name", "kind":
"numeric", "fill", "mean", "scale"}`` (missing values become ``fill``; the
input is ``(x - mean) / scale``) or ``{"name", "kind": "categorical",
"categories"}`` (one input per category: 1 for the row's, all 0 for a missing
or, on request, an unseen value). `apply` turns a table into inputs with
those entries; ``nncore train`` and ``nncore predict`` both use it, and it
needs NumPy only (a table is anything indexable by column name: a pandas
DataFrame, a dict of arrays), so that ``Network.predict`` can use it too.
The full metadata format is described in ``nncore.cli._meta``.

Every failure is a `PreprocessError` (a ValueError) naming the file (or "the
data"), the column and, where it can, the row.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

# A text column with more distinct values than this, and more than this
# fraction of its rows, is taken for an identifier, not a category.
MAX_CATEGORIES = 100
MAX_CATEGORY_FRACTION = 0.5
# A text column in which at least this fraction of the values are numbers is
# a numeric column with typing errors, not a categorical one.
NUMERIC_FRACTION = 0.9

Float64Array = npt.NDArray[np.float64]
Where = Callable[[int], str]


class PreprocessError(ValueError):
    """A table that the preprocessing cannot turn into inputs."""


class UnseenCategoryError(PreprocessError):
    """A categorical value at prediction that training never saw."""


def _row(row: int) -> str:
    return f"row {row}"


def shown(text: object) -> str:
    r"""``text`` with every character a terminal would act on escaped.

    Names of columns and classes come from files: printed raw, an escape
    sequence in one could set the window title, recolour or move the cursor.
    Control and other non-printable characters become ``\xNN``/``\uNNNN``;
    everything printable (accents, CJK, ...) stays as it is.

    Examples
    --------
    >>> from nncore._preprocess import shown
    >>> shown("caf\u00e9"), shown("\x1b]0;owned\x07red")
    ('café', '\\x1b]0;owned\\x07red')
    """
    value = str(text)
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def quoted(text: object) -> str:
    """``repr`` of a name: quoted, and escaped as `shown` does."""
    return repr(str(text))


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def listed(names: list[str], limit: int = 12) -> str:
    """The first ``limit`` names, escaped and comma-separated."""
    more = ", ..." if len(names) > limit else ""
    return ", ".join(shown(name) for name in names[:limit]) + more


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------

def missing_mask(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
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
    missing = missing_mask(values)
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


def safe_stats(values: Float64Array) -> tuple[float, float]:
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

def column_kind(table: Any, name: str, path: str, where: Where) -> str:
    """``numeric`` or ``categorical``; a PreprocessError for a numeric column
    with a few text values (a typing error, reported with its row)."""
    values = _column(table, name)
    if values.dtype.kind in "biuf":
        return "numeric"
    parsed, bad = numbers(values)
    present = int((~missing_mask(values)).sum())
    n_bad = int(bad.sum())
    if n_bad == 0 and present:
        return "numeric"
    if present and n_bad <= (1 - NUMERIC_FRACTION) * present:
        row = int(np.flatnonzero(bad)[0])
        raise PreprocessError(
            f"{shown(path)}, {where(row)}: column {quoted(name)} has "
            f"{quoted(values[row])}, where {present - n_bad} of its {present} values are "
            f"numbers ({plural(n_bad, 'value')} not): correct it, or leave the cell "
            "empty to have it imputed")
    return "categorical"


def fit_inputs(table: Any, features: Sequence[str], rows: npt.NDArray[np.intp],
               impute: str, path: str, where: Where) -> tuple[list[dict[str, Any]], list[str]]:
    """Learn each feature column's preprocessing from the training ``rows``.

    Returns the ``inputs`` entries of the metadata and notes to print
    (missing values imputed). Missing values with ``impute="error"``, a
    column without any value, infinities and identifier-like text columns
    are PreprocessErrors; every column with missing values is named in one.
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
                raise PreprocessError(f"{shown(path)}, {where(int(infinite[0]))}: column "
                                   f"{quoted(name)} is infinite; give finite numbers "
                                   "(or leave the cell empty)")
            missing = np.isnan(parsed)
            train = parsed[rows]
            known = train[~np.isnan(train)]
            if known.size == 0:
                raise PreprocessError(f"{shown(path)}: column {quoted(name)} has no values in "
                                   "the training rows; --drop it")
            fill = float(np.median(known)) if impute == "median" else \
                safe_stats(known)[0]
            filled = np.where(np.isnan(train), fill, train)
            mean, scale = safe_stats(filled)
            inputs.append({"name": name, "kind": "numeric", "fill": fill, "mean": mean,
                           "scale": scale})
        else:
            missing = missing_mask(values)
            train = values[rows]
            present = train[~missing[rows]]
            categories = sorted({_label(v) for v in present})
            if len(categories) > MAX_CATEGORIES and \
                    len(categories) > MAX_CATEGORY_FRACTION * len(rows):
                raise PreprocessError(
                    f"{shown(path)}: column {quoted(name)} has {len(categories):,} "
                    f"distinct text values in {len(rows):,} training rows: it looks like "
                    "an identifier, not a category; --drop it (or correct its values if "
                    "they should be numbers)")
            if not categories:
                raise PreprocessError(f"{shown(path)}: column {quoted(name)} has no values in "
                                   "the training rows; --drop it")
            inputs.append({"name": name, "kind": "categorical", "categories": categories})
        if missing.any():
            with_missing.append((name, int(missing.sum())))
    notes = []
    if with_missing:
        described = ", ".join(f"{quoted(name)} ({plural(n, 'row')})"
                              for name, n in with_missing)
        if impute == "error":
            raise PreprocessError(f"{shown(path)}: missing values in "
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
          path: str = "the data", where: Where = _row) -> Float64Array:
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
    PreprocessError
        For a missing column, text in a numeric column, an unseen category
        (``unseen="error"``), missing values when the model was trained with
        ``--impute error``, or values too large for the model's scaling.

    Examples
    --------
    >>> import numpy as np
    >>> from nncore._preprocess import apply
    >>> meta = {"impute": "mean", "inputs": [
    ...     {"name": "x", "kind": "numeric", "fill": 1.0, "mean": 1.0, "scale": 2.0},
    ...     {"name": "c", "kind": "categorical", "categories": ["a", "b"]}]}
    >>> apply(meta, {"x": np.array([3.0, np.nan]), "c": np.array(["b", None])}).tolist()
    [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    specs = metadata["inputs"]
    missing_columns = [spec["name"] for spec in specs if spec["name"] not in table]
    if missing_columns:
        raise PreprocessError(f"{shown(path)} lacks the column"
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
                raise PreprocessError(f"{shown(path)}, {where(row)}: column {quoted(name)} "
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
                raise PreprocessError(f"{shown(path)}, {where(row)}: column {quoted(name)} "
                                   f"has {parsed[row]!r}, too large for the scaling the "
                                   "model learned (or not finite)")
            out[:, j] = column
            j += 1
        else:
            categories = spec["categories"]
            position = {c: k for k, c in enumerate(categories)}
            missing = missing_mask(values)
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
        raise PreprocessError(f"{shown(path)}: missing values in {described}; the model "
                           "was trained with --impute error")
    return out
