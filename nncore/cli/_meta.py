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

`apply` (from ``nncore._preprocess``, re-exported here) turns a table
(anything indexable by column name: a pandas DataFrame, a dict of arrays)
into the network's float64 inputs, exactly as ``nncore train`` did for its
training rows; it needs NumPy only.

Models of nncore 0.x (format version 1 of the network file) kept this in a
JSON sidecar ``MODEL.meta.json``; `read_sidecar` still reads it and gives
back version-2 metadata.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any

# The preprocessing, re-exported: a model's metadata describes it.
from .._preprocess import PreprocessError as PreprocessError
from .._preprocess import UnseenCategoryError as UnseenCategoryError
from .._preprocess import apply as apply
from .._preprocess import fit_inputs as fit_inputs
from .._preprocess import n_encoded as n_encoded
from ._util import CommandError, shown

FORMAT = "nncore-cli-model"
VERSION = 2
SIDECAR_SUFFIX = ".meta.json"
SIDECAR_VERSION = 1

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

def save_model(net: Any, meta: dict[str, Any], path: str) -> None:
    """Write ``net`` with ``meta`` inside it to ``path``: one file, written
    atomically (a failure leaves the previous file whole). A version-1
    sidecar left next to ``path`` by nncore 0.1 is removed once the new
    file is in place: it described the model that was replaced."""
    net.metadata = meta
    net.save(path)
    side = sidecar_path(path)
    if os.path.isfile(side):
        try:
            with open(side, encoding="utf-8") as stream:
                ours = json.load(stream).get("format") == FORMAT
        except (OSError, ValueError, AttributeError):
            ours = False
        if ours:
            os.unlink(side)


def load_model(path: str) -> tuple[Any, dict[str, Any] | None]:
    """The network in ``path`` and its command-line metadata: from inside
    the file (network format version 2), else from a version-1 sidecar;
    None for a network saved from Python."""
    from .. import load

    try:
        net = load(path)
    except FileNotFoundError:
        raise CommandError(f"{shown(path)}: no such model file") from None
    except IsADirectoryError:
        raise CommandError(f"{shown(path)}: is a folder, not a model file") from None
    inside = getattr(net, "metadata", None)
    meta: dict[str, Any] | None
    if isinstance(inside, dict) and inside.get("format") == FORMAT:
        meta = check(inside, path)
    else:
        # A network saved from Python (its metadata, if any, is the user's),
        # or a version-1 model with its sidecar.
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
