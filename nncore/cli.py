# SPDX-License-Identifier: MIT
"""The ``nncore`` command line (also ``python -m nncore``).

Subcommands: ``demo`` (train on a shipped or generated data set and report
accuracy and speed), ``train`` (a network from a CSV or NumPy file),
``predict`` (with a trained model), ``info`` (describe a model) and ``bench``
(a quick speed table against other implementations). Exit status: 0 on
success, 2 for any error (one line ``nncore: error: ...`` on stderr, never a
traceback) and for a missing subcommand, 130 when interrupted by Ctrl-C.

Models written by ``train`` are two files: ``MODEL``, the network in nncore's
own format (``Network.save``, readable by ``nncore.load``), and the sidecar
``MODEL.meta.json``, which holds what the network alone does not know: the
task, the target and feature columns, the class labels and the scaling of
inputs (and of the target, for regression). See ``nncore train --help``.
"""
import argparse
import csv
import io
import json
import math
import os
import sys
import tempfile
import time
import zipfile

import numpy as np

from . import Network, __version__, _io, _plot, load, reference, simd
from .datasets import load_digits
from .exceptions import DivergenceError, ModelFileError

__all__ = ["main", "build_parser", "make_moons", "read_table", "read_sidecar",
           "sidecar_path", "CommandError", "Table"]

ACTIVATIONS = ["sigmoid", "tanh", "relu", "identity"]

# An integer-valued target with at most this many distinct values is taken
# for class labels (unless --task says otherwise); anything else is regressed.
MAX_INFERRED_CLASSES = 20

SIDECAR_SUFFIX = ".meta.json"
SIDECAR_FORMAT = "nncore-cli-model"
SIDECAR_VERSION = 1

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

# The demo times the pure-Python reference on this many training samples.
REFERENCE_SAMPLES = 100


class CommandError(Exception):
    """An error a command reports as one line (exit status 2)."""


# ---------------------------------------------------------------------------
# Argument types
# ---------------------------------------------------------------------------

def _hidden(text):
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 32 or 64,32, got {text!r}")
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError("hidden layer sizes must be positive")
    return sizes


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _learning_rate(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}")
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 60], got {text}")
    return value


def _add_training_options(parser, epochs_help):
    parser.add_argument("--hidden", type=_hidden, default=[32], metavar="SIZES",
                        help="hidden layer sizes, comma-separated, e.g. 64,32 "
                        "(default 32)")
    parser.add_argument("--activation", default="sigmoid", choices=ACTIVATIONS,
                        help="hidden-layer activation (default sigmoid)")
    parser.add_argument("--epochs", type=_positive_int, default=None, metavar="N",
                        help=epochs_help)
    parser.add_argument("--batch-size", type=_positive_int, default=1, metavar="B",
                        help="samples per update (default 1: online training)")
    parser.add_argument("--learning-rate", type=_learning_rate, default=0.1,
                        metavar="LR", help="step size (default 0.1)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                        help="precision of the network (default float32)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the weights, the split and the shuffling (default 0)")


# ---------------------------------------------------------------------------
# Data files
# ---------------------------------------------------------------------------

class Table:
    """The contents of a DATA file, before columns are chosen.

    CSV files give ``cells`` (a 2-D array of stripped strings), ``names``
    (the header) and ``lines`` (the file line of every row, for messages);
    ``.npy`` files and single-array ``.npz`` files give ``cells`` as a 2-D
    numeric array and no names; ``.npz`` files with members ``X`` and ``y``
    give ``X`` (2-D numeric) and ``y`` (1-D, or None when absent).
    """

    def __init__(self, path, cells=None, names=None, lines=None, X=None, y=None,
                 has_y=False):
        self.path, self.cells, self.names, self.lines = path, cells, names, lines
        self.X, self.y, self.has_y = X, y, has_y

    @property
    def n_columns(self):
        return (self.X if self.cells is None else self.cells).shape[1]

    def column_index(self, target):
        """Index of the column ``target`` names: a header name, else an integer
        index (negative counts from the end)."""
        if self.names is not None and target in self.names:
            return self.names.index(target)
        try:
            index = int(target)
        except ValueError:
            if self.names is None:
                raise CommandError(f"{self.path} has no column names: --target must "
                                   f"be a column index, got {target!r}") from None
            shown = ", ".join(repr(name) for name in self.names[:20])
            more = ", ..." if len(self.names) > 20 else ""
            raise CommandError(f"{self.path} has no column {target!r} (columns: "
                               f"{shown}{more})") from None
        if not -self.n_columns <= index < self.n_columns:
            raise CommandError(f"{self.path} has no column {index}: it has "
                               f"{self.n_columns} columns (indices 0..{self.n_columns - 1})")
        return index % self.n_columns

    def features(self, indices):
        """The columns ``indices`` as a float64 (n_samples, len(indices)) array."""
        if self.cells is None:
            return self.X[:, indices]
        if self.names is None:
            return self.cells[:, indices]
        return np.column_stack([self._numbers(j) for j in indices]) if indices else \
            np.empty((self.cells.shape[0], 0))

    def _numbers(self, j):
        column = self.cells[:, j]
        try:
            values = column.astype(np.float64)
        except ValueError:
            values = None
        if values is not None and np.isfinite(values).all():
            return values
        # Find the first cell that is not a finite number, for the message.
        texts = column.tolist()
        for k, text in enumerate(texts):
            try:
                ok = math.isfinite(float(text))
            except ValueError:
                ok = False
            if not ok:
                what = "is empty" if not text else f"has {text!r}, not a finite number"
                raise CommandError(f"{self.path}, line {self.lines[k]}: column "
                                   f"{self.names[j]!r} {what}")
        # Spellings Python reads and NumPy does not (such as 1_000).
        return np.array([float(text) for text in texts])

    def target(self, index):
        """Column ``index`` as float64 numbers, or as strings if it is not numeric."""
        if self.cells is None or self.names is None:
            return self.cells[:, index]
        column = self.cells[:, index]
        empty = np.flatnonzero(column == "")
        if empty.size:
            raise CommandError(f"{self.path}, line {self.lines[empty[0]]}: the target "
                               f"column {self.names[index]!r} is empty")
        try:
            values = column.astype(np.float64)
        except ValueError:
            return column
        return values if np.isfinite(values).all() else self._numbers(index)


def read_table(path):
    r"""Read DATA: CSV with a header row, ``.npy`` or ``.npz`` (see ``train --help``).

    Parameters
    ----------
    path : str
        The format follows the extension: ``.npy``, ``.npz``, anything else
        is read as UTF-8 CSV.

    Returns
    -------
    Table

    Raises
    ------
    CommandError
        For a file that is malformed, empty or not numeric where it must be.
    OSError
        For a missing or unreadable file.

    Examples
    --------
    >>> import os, tempfile
    >>> from nncore.cli import read_table
    >>> path = os.path.join(tempfile.mkdtemp(), "data.csv")
    >>> with open(path, "w") as stream:
    ...     _ = stream.write("a,b,label\n1,2,cat\n3,4,dog\n")
    >>> table = read_table(path)
    >>> table.names, table.features([0, 1]).tolist(), table.target(2).tolist()
    (['a', 'b', 'label'], [[1.0, 2.0], [3.0, 4.0]], ['cat', 'dog'])
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npy":
        return Table(path, cells=_numeric_matrix(_load_numpy(path), path))
    if suffix == ".npz":
        return _read_npz(path)
    return _read_csv(path)


# What a .npy file and a ZIP archive (.npz) start with.
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _load_numpy(path):
    expected = _NPY_MAGIC if path.lower().endswith(".npy") else _ZIP_MAGIC
    with open(path, "rb") as stream:
        if stream.read(len(expected)) != expected:
            kind = "a .npy file" if expected == _NPY_MAGIC else "an .npz archive"
            raise CommandError(f"{path}: not {kind} (it does not start like one)")
    try:
        return np.load(path, allow_pickle=False)
    except OSError as exc:
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise CommandError(f"{path}: not a readable NumPy file ({exc})") from exc
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CommandError(f"{path}: not a readable NumPy file ({exc})") from exc


def _numeric_matrix(array, path, what="the array"):
    if array.dtype.kind not in "biuf" or array.ndim != 2:
        raise CommandError(f"{path}: {what} must be 2-D and numeric (rows are samples), "
                           f"got shape {array.shape} of dtype {array.dtype}")
    if array.shape[0] == 0:
        raise CommandError(f"{path}: {what} has no rows")
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise CommandError(f"{path}: {what} has NaN or infinity (row {row})")
    return values


def _read_npz(path):
    archive = _load_numpy(path)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CommandError(f"{path}: not an .npz archive")
    with archive:
        try:
            names = sorted(archive.files)
            if "X" in names and set(names) <= {"X", "y"}:
                X = _numeric_matrix(archive["X"], path, "member X")
                if "y" not in names:
                    return Table(path, X=X)
                y = archive["y"]
                if y.ndim != 1 or y.shape[0] != X.shape[0]:
                    raise CommandError(f"{path}: member y must be 1-D with one value "
                                       f"per row of X ({X.shape[0]}), got shape {y.shape}")
                if y.dtype.kind in "biuf":
                    y = y.astype(np.float64)
                    if not np.isfinite(y).all():
                        raise CommandError(f"{path}: member y has NaN or infinity")
                elif y.dtype.kind == "U":
                    pass
                else:
                    raise CommandError(f"{path}: member y must hold numbers or strings, "
                                       f"got dtype {y.dtype}")
                return Table(path, X=X, y=y, has_y=True)
            if len(names) == 1:
                return Table(path, cells=_numeric_matrix(archive[names[0]], path,
                                                         f"member {names[0]}"))
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise CommandError(f"{path}: corrupted .npz archive ({exc})") from exc
    raise CommandError(f"{path}: expected members X and y, or a single 2-D array; "
                       f"found {', '.join(names) or 'no members'}")


def _read_csv(path):
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header is None:
                raise CommandError(f"{path}: empty file (expected a header row with "
                                   "column names)")
            names = [name.strip() for name in header]
            if not names or "" in names:
                raise CommandError(f"{path}, line 1: every column needs a name in the "
                                   "header row")
            seen = set()
            for name in names:
                if name in seen:
                    raise CommandError(f"{path}, line 1: column {name!r} appears twice "
                                       "in the header")
                seen.add(name)
            rows, lines = [], []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue        # blank line
                if len(row) != len(names):
                    raise CommandError(f"{path}, line {reader.line_num}: {len(row)} "
                                       f"fields, but the header has {len(names)} columns")
                rows.append([cell.strip() for cell in row])
                lines.append(reader.line_num)
    except csv.Error as exc:
        raise CommandError(f"{path}: malformed CSV ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: not a UTF-8 text file ({exc.reason} at byte "
                           f"{exc.start}); CSV, .npy and .npz files are read") from exc
    if not rows:
        raise CommandError(f"{path}: no data rows after the header")
    return Table(path, cells=np.array(rows, dtype=str), names=names,
                 lines=np.array(lines))


# ---------------------------------------------------------------------------
# Sidecar
# ---------------------------------------------------------------------------

def sidecar_path(model):
    """Path of the JSON sidecar written next to ``model`` by ``nncore train``.

    Examples
    --------
    >>> from nncore.cli import sidecar_path
    >>> sidecar_path("digits.model")
    'digits.model.meta.json'
    """
    return model + SIDECAR_SUFFIX


def _write_atomically(path, text):
    # As Network.save does: an interrupted write leaves the previous file intact.
    _io.write_atomically(path, lambda stream: stream.write(text), binary=False)


def read_sidecar(model):
    """The sidecar of ``model`` as a dict, or None if there is none.

    ``input_mean`` and ``input_scale`` are returned as float64 arrays.

    Raises
    ------
    CommandError
        If the sidecar exists but is not one ``nncore train`` wrote.

    Examples
    --------
    >>> from nncore.cli import read_sidecar
    >>> read_sidecar("no-such.model") is None
    True
    """
    path = sidecar_path(model)
    try:
        with open(path, encoding="utf-8") as stream:
            meta = json.load(stream)
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: not a valid sidecar ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise CommandError(f"{path}: not an nncore sidecar (no format {SIDECAR_FORMAT!r})")
    if meta.get("version") != SIDECAR_VERSION:
        raise CommandError(f"{path}: sidecar version {meta.get('version')!r} is not "
                           f"supported (this nncore reads {SIDECAR_VERSION})")
    try:
        _check_sidecar(meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise CommandError(f"{path}: damaged sidecar ({type(exc).__name__}: {exc})") from exc
    return meta


def _check_sidecar(meta):
    # Converts the scaling to arrays in place; raises KeyError, TypeError or
    # ValueError for anything train would not have written.
    for name in ("input_mean", "input_scale"):
        values = meta[name]
        if not isinstance(values, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise TypeError(f"{name} must be a list of numbers")
        meta[name] = np.array(values, dtype=np.float64)
        if not np.isfinite(meta[name]).all():
            raise ValueError(f"{name} must be finite")
    n_features = meta["input_mean"].shape[0]
    if n_features < 1 or meta["input_scale"].shape[0] != n_features or \
            not (meta["input_scale"] > 0).all():
        raise ValueError("input_mean and input_scale must have one entry per feature, "
                         "scales positive")
    features = meta["features"]
    if features is not None and (not isinstance(features, list) or len(features) !=
                                 n_features or not all(isinstance(f, str) for f in features)):
        raise ValueError("features must be null or one name per feature")
    target_column, n_columns = meta["target_column"], meta["n_columns"]
    for name, value in (("target_column", target_column), ("n_columns", n_columns)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise TypeError(f"{name} must be null or an integer")
    if not isinstance(meta["target"], (str, int)):
        raise TypeError("target must be a column name or index")
    if meta["task"] == "classification":
        classes = meta["classes"]
        if not isinstance(classes, list) or len(classes) < 2 or not all(
                isinstance(c, (str, int, float)) for c in classes):
            raise ValueError("classes must list at least two labels")
    elif meta["task"] == "regression":
        if not all(isinstance(meta[name], (int, float)) and math.isfinite(meta[name])
                   for name in ("target_mean", "target_scale")):
            raise ValueError("target_mean and target_scale must be finite numbers")
    else:
        raise ValueError(f"unknown task {meta['task']!r}")


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------

def _infer_task(y):
    if y.dtype.kind == "U":
        return "classification"
    if np.array_equal(y, np.round(y)) and np.unique(y).size <= MAX_INFERRED_CLASSES:
        return "classification"
    return "regression"


def _json_classes(classes):
    if classes.dtype.kind == "U":
        return [str(c) for c in classes]
    if np.array_equal(classes, np.round(classes)):
        return [int(c) for c in classes]
    return [float(c) for c in classes]


def _r2(actual, predicted):
    # As scikit-learn's r2_score: 1 for a perfect fit of a constant, 0 otherwise.
    residual = float(np.sum((actual - predicted) ** 2))
    total = float(np.sum((actual - actual.mean()) ** 2))
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return 1.0 - residual / total


def _standardise(X, mean, scale):
    return (X - mean) / scale


def _check_writable(path):
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CommandError(f"-o {path}: is a folder; give a file name")
    if not os.path.isdir(folder):
        raise CommandError(f"-o {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise CommandError(f"-o {path}: the folder {folder} is not writable")


def _plural(count, word):
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _target_text(target):
    return f"column {target}" if isinstance(target, int) else repr(target)


def _train(args):
    _check_writable(args.output)
    table = read_table(args.data)
    if table.X is not None:
        if not table.has_y:
            raise CommandError(f"{args.data}: no member y (the target) next to X")
        if args.target not in (None, "y"):
            raise CommandError(f"{args.data} holds X and y: the target is y, got "
                               f"--target {args.target!r}")
        X, y = table.X, table.y
        target, target_column, features = "y", None, None
    else:
        if args.target is None:
            raise CommandError("--target is required: the name (CSV) or index of the "
                               "column to predict")
        target_column = table.column_index(args.target)
        indices = [j for j in range(table.n_columns) if j != target_column]
        if not indices:
            raise CommandError(f"{args.data}: no feature columns besides the target")
        X = table.features(indices)
        y = table.target(target_column)
        if table.names is None:
            target, features = target_column, None
        else:
            target, features = table.names[target_column], [table.names[j] for j in indices]
    task = args.task or _infer_task(y)
    if task == "regression" and y.dtype.kind == "U":
        raise CommandError(f"the target {_target_text(target)} holds text, so it "
                           "cannot be a regression target")
    n_samples = X.shape[0]
    n_valid = math.ceil(args.validation_fraction * n_samples)
    if n_samples - n_valid < 1:
        raise CommandError(f"{args.data} has {n_samples} rows: too few to hold out "
                           f"a validation fraction of {args.validation_fraction}")
    order = np.random.default_rng(args.seed).permutation(n_samples)
    train_rows, valid_rows = order[n_valid:], order[:n_valid]
    mean = X[train_rows].mean(axis=0)
    scale = X[train_rows].std(axis=0)
    scale[scale == 0] = 1.0
    inputs = _standardise(X, mean, scale)
    meta = {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION, "task": task,
            "target": target, "target_column": target_column,
            "n_columns": table.n_columns if table.X is None else None,
            "features": features,
            "input_mean": mean.tolist(), "input_scale": scale.tolist(),
            "data": args.data, "validation_fraction": args.validation_fraction,
            "validation": None}
    if task == "classification":
        classes, labels = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise CommandError(f"the target {_target_text(target)} has a single "
                               f"value ({classes[0]}): nothing to classify")
        meta["classes"] = _json_classes(classes)
        targets, output, n_out = labels, "softmax", classes.size
        metric = "accuracy"
    else:
        y = y.astype(np.float64)
        target_mean = float(y[train_rows].mean())
        target_scale = float(y[train_rows].std()) or 1.0
        meta["target_mean"], meta["target_scale"] = target_mean, target_scale
        targets, output, n_out = (y - target_mean) / target_scale, "identity", 1
        metric = "R^2"
    meta["metric"] = metric if n_valid else None
    epochs = args.epochs or 20
    net = Network([X.shape[1], *args.hidden, n_out], activation=args.activation,
                  output=output, dtype=args.dtype, seed=args.seed)
    valid_X, valid_y = inputs[valid_rows], y[valid_rows]
    if task == "classification":
        valid_labels = labels[valid_rows]

    def score():
        # Higher is better: accuracy or R^2 on the held-out rows, or minus
        # the training loss when nothing is held out.
        if not n_valid:
            return -net.history[-1]
        out = net.forward(valid_X)
        if task == "classification":
            return float(np.mean(out.argmax(axis=1) == valid_labels))
        return _r2(valid_y, out[:, 0].astype(np.float64) * target_scale + target_mean)

    best = {"score": -math.inf, "epoch": 0}
    model, side = args.output, sidecar_path(args.output)

    def after_epoch(info):
        value = score()
        improved = value > best["score"]
        if improved:
            if n_valid:
                meta["validation"] = {"epoch": info["epoch"], "score": value}
            # The sidecar first, so that a model file always has one; each
            # write is atomic, and `best` changes only once both are done.
            _write_atomically(side, json.dumps(meta, indent=1) + "\n")
            net.save(model)
            best["score"], best["epoch"] = value, info["epoch"]
        shown = f", validation {_format_score(metric, value)}" if n_valid else ""
        print(f"epoch {info['epoch']}/{epochs}: loss {info['loss']:.4g}{shown}, "
              f"{info['samples_per_second']:,.0f} samples/s"
              f"{' (saved)' if improved else ''}", flush=True)

    print(f"{task} of {_target_text(target)} from {X.shape[1]} features: {len(train_rows)} "
          f"training rows, {n_valid} for validation; {net!r}", flush=True)
    try:
        net.fit(inputs[train_rows], targets[train_rows], epochs=epochs,
                batch_size=args.batch_size, learning_rate=args.learning_rate,
                callback=after_epoch)
    except KeyboardInterrupt:
        if best["epoch"]:
            print(f"nncore: interrupted after {_plural(len(net.history), 'epoch')}; "
                  f"{model} holds the best model so far "
                  f"({_best_text(best, metric, n_valid)})",
                  file=sys.stderr, flush=True)
        else:
            print("nncore: interrupted before the first epoch ended; no model written",
                  file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except DivergenceError as exc:
        kept = (f"; {model} holds the best model before that "
                f"({_best_text(best, metric, n_valid)})" if best["epoch"] else "")
        raise CommandError(f"{exc}{kept}") from exc
    print(f"saved {model} and {side}: {_best_text(best, metric, n_valid)}")
    return 0


def _format_score(metric, value):
    return f"accuracy {value:.2%}" if metric == "accuracy" else f"R^2 {value:.4f}"


def _best_text(best, metric, n_valid):
    if n_valid:
        return f"epoch {best['epoch']}, validation {_format_score(metric, best['score'])}"
    return f"epoch {best['epoch']}, training loss {-best['score']:.4g}"


# ---------------------------------------------------------------------------
# predict and info
# ---------------------------------------------------------------------------

def _load_model(path):
    try:
        return load(path)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a folder, not a model file") from None


def _prediction_inputs(table, meta, n_features):
    """The feature columns of DATA for a model with n_features inputs."""
    path = table.path
    if table.X is not None:
        if table.X.shape[1] != n_features:
            raise CommandError(f"{path}: X has {table.X.shape[1]} columns, but the model "
                               f"expects {n_features} features")
        return table.X
    features = meta and meta["features"]
    if features is not None and table.names is not None:
        missing = [name for name in features if name not in table.names]
        if missing:
            raise CommandError(f"{path} lacks the column{'s' if len(missing) > 1 else ''} "
                               f"{', '.join(map(repr, missing))} the model was trained on")
        return table.features([table.names.index(name) for name in features])
    # By position: every column, or every column but the training target's.
    n_columns = table.n_columns
    if n_columns == n_features:
        return table.features(list(range(n_columns)))
    target_column = meta and meta["target_column"]
    if target_column is not None and n_columns == meta["n_columns"] == n_features + 1:
        return table.features([j for j in range(n_columns) if j != target_column])
    also = (f" (or {n_features + 1} with the target in column {target_column})"
            if target_column is not None else "")
    raise CommandError(f"{path} has {n_columns} columns, but the model expects "
                       f"{n_features} features{also}")


def _predict(args):
    net = _load_model(args.model)
    meta = read_sidecar(args.model)
    n_features = net.layer_sizes[0]
    if meta is not None and len(meta["input_mean"]) != n_features:
        raise CommandError(f"{sidecar_path(args.model)} describes {len(meta['input_mean'])} "
                           f"features, but {args.model} has {n_features} inputs")
    X = _prediction_inputs(read_table(args.data), meta, n_features)
    if meta is not None:
        X = _standardise(X, meta["input_mean"], meta["input_scale"])
    out = net.forward(X).astype(np.float64)
    digits = ".8g" if net.dtype == np.float32 else ".17g"
    if meta is None:
        # A network saved from Python: raw outputs (class indices for softmax).
        if net.output == "softmax":
            header, rows = ["class"], [[str(k)] for k in out.argmax(axis=1)]
        else:
            header = [f"output_{j}" for j in range(out.shape[1])]
            rows = [[format(v, digits) for v in row] for row in out]
    else:
        header = [meta["target"] if isinstance(meta["target"], str) else "prediction"]
        if meta["task"] == "classification":
            classes = meta["classes"]
            if net.output != "softmax" or out.shape[1] != len(classes):
                raise CommandError(f"{sidecar_path(args.model)} lists {len(classes)} "
                                   f"classes, which {args.model} does not match")
            rows = [[str(classes[k])] for k in out.argmax(axis=1)]
        else:
            values = out[:, 0] * meta["target_scale"] + meta["target_mean"]
            rows = [[format(v, digits)] for v in values]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if args.output is None:
        sys.stdout.write(text.getvalue())
        sys.stdout.flush()
    else:
        with open(args.output, "w", encoding="utf-8", newline="") as stream:
            stream.write(text.getvalue())
    return 0


def _info(args):
    net = _load_model(args.model)
    meta = read_sidecar(args.model)
    sizes = list(net.layer_sizes)
    hidden = len(sizes) - 2
    print(f"model: {args.model}")
    print(f"architecture: {sizes} ({_plural(sizes[0], 'input')}, "
          f"{_plural(hidden, 'hidden layer')}, {_plural(sizes[-1], 'output')})")
    print(f"activation: {net.activation}; output: {net.output}; dtype: {net.dtype.name}")
    print(f"parameters: {net.n_params:,}")
    history = net.history
    if history:
        best = int(np.argmin(history))
        print(f"training: {_plural(len(history), 'epoch')}; loss {history[0]:.4g} after the "
              f"first, {history[-1]:.4g} after the last, best {history[best]:.4g} "
              f"(epoch {best + 1})")
    else:
        print("training: none recorded")
    if meta is None:
        print(f"sidecar: none ({sidecar_path(args.model)} not found)")
        return 0
    target = _target_text(meta["target"])
    if meta["task"] == "classification":
        classes = meta["classes"]
        shown = ", ".join(map(str, classes[:12])) + (", ..." if len(classes) > 12 else "")
        print(f"task: classification of {target} into {len(classes)} classes: {shown}")
    else:
        print(f"task: regression of {target} (mean {meta['target_mean']:.4g}, "
              f"standard deviation {meta['target_scale']:.4g})")
    features = meta["features"]
    if features is None:
        print(f"features: {len(meta['input_mean'])} columns by position, standardised")
    else:
        shown = ", ".join(features[:12]) + (", ..." if len(features) > 12 else "")
        print(f"features: {len(features)}, standardised: {shown}")
    validation = meta.get("validation")
    # Shown only if it is the score of the epoch the model file holds.
    if isinstance(validation, dict) and validation.get("epoch") == len(history) and \
            meta.get("metric") in ("accuracy", "R^2"):
        print(f"validation {_format_score(meta['metric'], validation['score'])} "
              f"(held-out fraction {meta['validation_fraction']:g})")
    return 0


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------

def make_moons(n_samples=1000, noise=0.2, seed=0):
    """Two interleaving half circles in the plane: a two-class, 2-D data set.

    Parameters
    ----------
    n_samples : int, default 1000
        Points in all; class 0 gets ``n_samples // 2`` of them.
    noise : float, default 0.2
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int, default 0
        Seeds ``numpy.random.default_rng``; the same seed gives the same set.

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 2)
        Class 0 lies around the upper half circle of radius 1 centred at
        (0, 0), class 1 around the lower one centred at (1, 0.5).
    y : ndarray of int64, shape (n_samples,)
        0 or 1, in random order.

    Examples
    --------
    >>> from nncore.cli import make_moons
    >>> X, y = make_moons(200, seed=1)
    >>> X.shape, y.shape, int(y.sum())
    ((200, 2), (200,), 100)
    """
    rng = np.random.default_rng(seed)
    n_upper = n_samples // 2
    angle = rng.uniform(0, np.pi, n_samples)
    upper = np.column_stack([np.cos(angle[:n_upper]), np.sin(angle[:n_upper])])
    lower = np.column_stack([1 - np.cos(angle[n_upper:]), 0.5 - np.sin(angle[n_upper:])])
    X = np.concatenate([upper, lower]) + rng.normal(0, noise, (n_samples, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_upper, n_samples - n_upper])
    order = rng.permutation(n_samples)
    return X[order], y[order]


def _reference_rate(net_sizes, args, X, y):
    """Samples/s of the pure-Python reference: one epoch on a small slice."""
    fresh = Network(net_sizes, activation=args.activation, output="softmax",
                    dtype=args.dtype, seed=args.seed)
    ref = reference.from_network(fresh)
    n = min(REFERENCE_SAMPLES, len(X))
    rows = X[:n].tolist()
    targets = np.eye(net_sizes[-1])[y[:n]].tolist()
    start = time.perf_counter()
    reference.train_epoch(ref, rows, targets, args.learning_rate,
                          min(args.batch_size, n), list(range(n)))
    return n, n / (time.perf_counter() - start)


def _demo(args):
    if args.plot:
        try:
            _plot.check(args.plot)
        except _plot.PlotError as exc:
            raise CommandError(str(exc)) from None
    if args.dataset == "digits":
        X, y = load_digits()
        epochs = args.epochs or 20
        described = "UCI digits: {} training and {} test images"
    else:
        X, y = make_moons(seed=args.seed)
        epochs = args.epochs or 100
        described = "two moons (generated, 2-D): {} training and {} test points"
    n_classes = int(y.max()) + 1
    split = np.random.default_rng(args.seed).permutation(len(X))
    n_train = int(0.8 * len(X))
    train, test = split[:n_train], split[n_train:]
    sizes = [X.shape[1], *args.hidden, n_classes]
    net = Network(sizes, activation=args.activation, output="softmax",
                  dtype=args.dtype, seed=args.seed)
    seconds = []
    snapshots = []
    boundary = args.plot is not None and X.shape[1] == 2
    if boundary:
        xx, yy, points = _plot.grid(X)
        snapshot_epochs = set(np.unique(np.round(np.linspace(1, epochs, 4))).astype(int))

    def after_epoch(info):
        seconds.append(info["seconds"])
        if boundary and info["epoch"] in snapshot_epochs:
            probability = net.forward(points)[:, 1].reshape(xx.shape)
            accuracy = np.mean(net.forward(X[test]).argmax(axis=1) == y[test])
            snapshots.append((info["epoch"], probability, accuracy))

    losses = net.fit(X[train], y[train], epochs=epochs, batch_size=args.batch_size,
                     learning_rate=args.learning_rate, verbose=True, callback=after_epoch)
    accuracy = np.mean(net.forward(X[test]).argmax(axis=1) == y[test])
    trained = sum(seconds)
    rate = epochs * n_train / trained
    n_reference, reference_rate = _reference_rate(sizes, args, X[train], y[train])
    print(f"nncore {__version__} ({simd} kernels): {net!r}")
    print(f"{described.format(n_train, len(test))}; {epochs} epochs, batch size "
          f"{args.batch_size}, learning rate {args.learning_rate}")
    print(f"training loss: {losses[0]:.4f} after epoch 1, {losses[-1]:.4f} after "
          f"epoch {epochs}")
    print(f"test accuracy: {accuracy:.1%}")
    print(f"training time: {trained:.3f} s ({rate:,.0f} samples/s)")
    print(f"pure-Python reference, same network and batch size, one epoch on "
          f"{n_reference} samples: {reference_rate:,.0f} samples/s; nncore is "
          f"{rate / reference_rate:,.0f}x faster")
    if args.plot:
        title = (f"{args.dataset}: {sizes} {net.activation}/softmax {args.dtype}, "
                 f"batch size {args.batch_size}, learning rate {args.learning_rate}")
        try:
            if boundary:
                _plot.training_figure(args.plot, losses, title, snapshots, X[train],
                                      y[train], xx, yy)
            else:
                _plot.training_figure(args.plot, losses, title)
        except _plot.PlotError as exc:
            raise CommandError(str(exc)) from None
        print(f"figure: {args.plot}")
    return 0


# ---------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------

class _NumpyMLP:
    """The vectorised NumPy MLP a user would write: sigmoid hidden layers,
    softmax output, cross-entropy, plain SGD, matrix products for every batch."""

    name = "numpy"

    def __init__(self, weights, biases):
        self.weights = [np.array(W, order="C") for W in weights]
        self.biases = [np.array(b) for b in biases]

    def _forward(self, A):
        acts = [A]
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            Z = A @ W + b
            if l < len(self.weights) - 1:
                A = 1 / (1 + np.exp(-Z))
            else:
                A = np.exp(Z - Z.max(axis=1, keepdims=True))
                A /= A.sum(axis=1, keepdims=True)
            acts.append(A)
        return acts

    def forward(self, X):
        return self._forward(X)[-1]

    def fit(self, X, T, batch_size, lr):
        for start in range(0, X.shape[0], batch_size):
            acts = self._forward(X[start:start + batch_size])
            D = (acts[-1] - T[start:start + batch_size]) / acts[-1].shape[0]
            for l in range(len(self.weights) - 1, -1, -1):
                A_in, W = acts[l], self.weights[l]
                if l > 0:
                    D_below = (D @ W.T) * A_in * (1 - A_in)   # old weights
                W -= lr * (A_in.T @ D)
                self.biases[l] -= lr * D.sum(axis=0)
                if l > 0:
                    D = D_below


class _Peers:
    """Builds each implementation's model from nncore's initial weights and
    runs its fit epoch and forward calls; data is converted once per cell."""

    def __init__(self, sizes, dtype, X, y, lr):
        self.sizes, self.dtype, self.X, self.y, self.lr = sizes, dtype, X, y, lr
        self.T = np.eye(sizes[-1], dtype=dtype)[y]

    def network(self):
        return Network(self.sizes, activation="sigmoid", output="softmax",
                       dtype=self.dtype, seed=0)

    def nncore(self):
        net = self.network()
        fit = lambda n, b: net.fit(self.X[:n], self.y[:n], batch_size=b,
                                   learning_rate=self.lr, shuffle=False)
        return fit, lambda rows: net.forward(self.X[rows])

    def numpy(self):
        net = self.network()
        mlp = _NumpyMLP(net.weights, net.biases)
        fit = lambda n, b: mlp.fit(self.X[:n], self.T[:n], b, self.lr)
        return fit, lambda rows: mlp.forward(self.X[rows])

    def reference(self):
        net = reference.from_network(self.network())
        rows_list = self.X.tolist()
        targets = self.T.tolist()
        fit = lambda n, b: reference.train_epoch(net, rows_list[:n], targets[:n],
                                                 self.lr, b, list(range(n)))
        return fit, lambda rows: reference.predict(net, rows_list[rows])

    def torch(self):
        import torch

        net = self.network()
        tdtype = torch.float32 if self.dtype == "float32" else torch.float64
        layers = []
        for l, W in enumerate(net.weights):
            if l:
                layers.append(torch.nn.Sigmoid())
            linear = torch.nn.Linear(W.shape[0], W.shape[1], dtype=tdtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                linear.bias.copy_(torch.from_numpy(net.biases[l].copy()))
            layers.append(linear)
        model = torch.nn.Sequential(*layers)
        parameters = list(model.parameters())
        loss_fn = torch.nn.CrossEntropyLoss()
        X, y = torch.from_numpy(self.X), torch.from_numpy(self.y.astype(np.int64))

        def fit(n, b):
            for start in range(0, n, b):
                loss_fn(model(X[start:min(start + b, n)]),
                        y[start:min(start + b, n)]).backward()
                # What optim.SGD does without momentum, written out: importing
                # torch.optim loads the compiler stack (seconds on this scale).
                with torch.no_grad():
                    for parameter in parameters:
                        parameter -= self.lr * parameter.grad
                        parameter.grad = None

        def forward(rows):
            with torch.inference_mode():
                return torch.softmax(model(X[rows]), dim=1)

        return fit, forward

    def sklearn(self):
        from sklearn.neural_network import MLPClassifier

        net = self.network()
        models = {}

        def model(b):
            # One estimator per batch size, initialised by a partial_fit and
            # then given nncore's initial weights; partial_fit is one epoch.
            if b not in models:
                m = MLPClassifier(hidden_layer_sizes=tuple(self.sizes[1:-1]),
                                  activation="logistic", solver="sgd", alpha=0.0,
                                  batch_size=b, learning_rate_init=self.lr,
                                  momentum=0.0, nesterovs_momentum=False,
                                  shuffle=False, max_iter=1)
                n_init = max(b, self.sizes[-1])
                m.partial_fit(self.X[:n_init], self.y[:n_init],
                              classes=np.arange(self.sizes[-1]))
                for coef, W in zip(m.coefs_, net.weights):
                    coef[...] = W
                for intercept, bias in zip(m.intercepts_, net.biases):
                    intercept[...] = bias
                models[b] = m
            return models[b]

        fit = lambda n, b: model(b).partial_fit(self.X[:n], self.y[:n])
        return fit, lambda rows: model(32).predict_proba(self.X[rows])


BENCH_PEERS = ["reference", "numpy", "torch", "sklearn"]
BENCH_SIZES = [[64, 32, 10], [784, 128, 10]]
BENCH_CELLS = [("fit", 1), ("fit", 32), ("forward", 1), ("forward", 1024)]
# Rows of random data per network: a multiple of every batch size above.
BENCH_ROWS = 4096


def _rate(run, first, limit, budget):
    """Samples per second of ``run(n)`` (which processes n samples): calls
    with n growing from ``first`` (x4, at most ``limit``) until a call takes a
    tenth of ``budget``, and until ``budget`` seconds were spent in all.
    One untimed call of ``first`` samples warms up first."""
    run(first)
    n, done, spent = first, 0, 0.0
    while spent < budget:
        start = time.perf_counter()
        run(n)
        took = time.perf_counter() - start
        done, spent = done + n, spent + took
        if took < budget / 10 and n < limit:
            n = min(4 * n, limit)
    return done / spent


def _limit_threads(threads, torch_too):
    """Limit BLAS (and PyTorch) to ``threads`` threads; say what was done."""
    if torch_too:
        import torch

        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return ("BLAS threads at the library's default (install threadpoolctl to "
                "set them)")
    # Applied until the process ends (the returned object would restore them).
    threadpool_limits(limits=threads)
    return _plural(threads, "thread")


def _forward_runner(forward, batch):
    def run(n):
        for start in range(0, n, batch):
            forward(slice(start, start + batch))
    return run


def _format_rate(rate):
    for factor, suffix in ((1e6, "M"), (1e3, "k")):
        if rate >= factor:
            return f"{rate / factor:.3g}{suffix}"
    return f"{rate:.3g}"


def _format_ratio(ratio):
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.2g}x" if ratio < 10 \
        else f"{ratio:.0f}x"


def _bench(args):
    peers = []
    for name in args.peers:
        if name in ("torch", "sklearn"):
            try:
                __import__(name)
            except ImportError:
                print(f"{name}: not installed, skipped", file=sys.stderr)
                continue
        peers.append(name)
    threads = _limit_threads(args.threads, "torch" in peers)
    print(f"nncore {__version__} ({simd} kernels), {args.dtype}, {threads}; "
          f"samples/s, and in brackets how many times faster nncore is; "
          f"{args.budget:g} s per measurement", flush=True)
    print(_table_row(["cell", "nncore", *peers]))
    rng = np.random.default_rng(0)
    for sizes in BENCH_SIZES:
        X = rng.random((BENCH_ROWS, sizes[0])).astype(args.dtype)
        y = rng.integers(0, sizes[-1], BENCH_ROWS)
        maker = _Peers(sizes, args.dtype, X, y, 0.1)
        runners = {"nncore": maker.nncore()}
        for name in peers:
            # The pure-Python reference is timed on the small network only:
            # one batch of the large one takes it seconds.
            if name != "reference" or sizes[0] <= 100:
                runners[name] = getattr(maker, name)()
        for kind, batch in BENCH_CELLS:
            cell = f"{kind} batch {batch} {'-'.join(map(str, sizes))}"
            rates = {}
            for name, (fit, forward) in runners.items():
                slow = name == "reference"
                if kind == "fit":
                    run = lambda n, fit=fit, batch=batch: fit(n, batch)
                    first = batch
                else:
                    # The reference has no batched path: its rate per row is
                    # the same for any batch, so a few rows at a time do.
                    step = min(batch, 16) if slow else batch
                    run, first = _forward_runner(forward, step), step
                rates[name] = _rate(run, first, BENCH_ROWS, args.budget)
            row = [cell, _format_rate(rates["nncore"])]
            for name in peers:
                row.append(f"{_format_rate(rates[name])} "
                           f"({_format_ratio(rates['nncore'] / rates[name])})"
                           if name in rates else "-")
            print(_table_row(row), flush=True)
    if "reference" in peers:
        print("reference: the pure-Python nncore.reference, on the small network only")
    return 0


def _table_row(texts):
    return "  ".join(f"{text:<{29 if j == 0 else 16}}" for j, text in
                     enumerate(texts)).rstrip()


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

TRAIN_DESCRIPTION = """\
Train a network on the columns of DATA to predict the column --target.

DATA is one of:
  a CSV file   a header row of column names, then one row per sample;
               --target is a column name (or an integer index). Feature
               columns must be numbers; the target may be text (class labels).
  .npy         a 2-D numeric array, one row per sample; --target is a
               column index (negative counts from the end).
  .npz         members X (2-D) and y (1-D, numbers or text): the target is y
               (--target may be left out); or a single 2-D array, read like
               a .npy file (--target a column index: arrays have no names).

The task is classification when the target is text, or integer-valued with at
most 20 distinct values, and regression otherwise; --task overrides that.
Classification uses a softmax output with one unit per class; regression an
identity output on the standardised target. Inputs are standardised with the
mean and standard deviation of the training rows. A random --validation-fraction
of the rows is held out; each epoch prints the training loss, the validation
score (accuracy, or R^2 for regression) and the speed.

Writes two files: MODEL, the network (nncore.load reads it), and
MODEL.meta.json, a JSON sidecar with what `nncore predict` needs besides:
"task", "target" (name or index), "target_column", "features" (CSV names, or
null for columns by position), "classes" (the label of each output unit),
"input_mean" and "input_scale" (the standardisation), "target_mean" and
"target_scale" (regression), and the validation score.

MODEL holds the epoch with the best validation score (the lowest training loss
if nothing is held out): it is saved whenever the score improves, so Ctrl-C
stops training and keeps the best model so far (exit status 130).
"""


def build_parser():
    """The argument parser of the ``nncore`` command.

    Returns
    -------
    argparse.ArgumentParser
        Each subcommand's parser sets ``run``, the function that executes it.

    Examples
    --------
    >>> from nncore.cli import build_parser
    >>> args = build_parser().parse_args(["train", "data.csv", "--target", "y",
    ...                                   "--hidden", "64,32", "-o", "m.npz"])
    >>> args.hidden, args.epochs, args.batch_size, args.output
    ([64, 32], None, 1, 'm.npz')
    """
    parser = argparse.ArgumentParser(
        prog="nncore",
        description="nncore: fast multilayer perceptrons on the CPU. Exit status: 0 "
        "on success, 2 on errors, 130 when interrupted (Ctrl-C).",
        epilog="Run 'nncore COMMAND --help' for a command's options; start with "
        "'nncore demo'.")
    parser.add_argument("--version", action="version", version=f"nncore {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="train on a shipped or generated data set; report accuracy and speed",
        description="Train a network on 80%% of a data set (the UCI handwritten digits "
        "that ship with nncore, or two generated 2-D half moons) with a progress bar, "
        "then print the accuracy on the other 20%%, the training speed and the speed "
        "of the pure-Python reference on a slice of the same work.")
    demo.add_argument("--dataset", choices=["digits", "moons"], default="digits",
                      help="digits: 1797 8x8 images, 10 classes; moons: 1000 "
                      "generated 2-D points, 2 classes (default digits)")
    _add_training_options(demo, "epochs (default 20 for digits, 100 for moons)")
    demo.add_argument("--plot", metavar="FILE.png",
                      help="save a figure: the loss per epoch and, for moons, the "
                      "decision boundary at four epochs (needs matplotlib: "
                      "pip install 'nncore[plot]')")
    demo.set_defaults(run=_demo)

    train = commands.add_parser(
        "train", help="train a network on a CSV or NumPy file",
        description=TRAIN_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("data", metavar="DATA", help="CSV, .npy or .npz file")
    train.add_argument("--target", metavar="COLUMN",
                       help="column to predict: a CSV column name or a column index")
    _add_training_options(train, "epochs (default 20)")
    train.add_argument("--validation-fraction", type=_fraction, default=0.2, metavar="F",
                       help="fraction of the rows held out to score each epoch "
                       "(default 0.2; 0 keeps the lowest training loss)")
    train.add_argument("--task", choices=["classification", "regression"],
                       help="default: inferred from the target")
    train.add_argument("-o", "--output", required=True, metavar="MODEL",
                       help="model file to write (MODEL.meta.json is written too)")
    train.set_defaults(run=_train)

    predict = commands.add_parser(
        "predict", help="predict with a trained model",
        description="Write the predictions of MODEL for every row of DATA as CSV: "
        "class labels for classification, values for regression, under a header "
        "naming the target. DATA is read as for 'nncore train'; the feature columns "
        "are found by name in a CSV file (any order, the target column and others "
        "ignored) and by position otherwise. A model without a sidecar gets DATA "
        "as it is and gives class indices (softmax) or its raw outputs.")
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("data", metavar="DATA")
    predict.add_argument("-o", "--output", metavar="OUT.csv",
                         help="write here instead of standard output")
    predict.set_defaults(run=_predict)

    info = commands.add_parser(
        "info", help="describe a model file",
        description="Print a model's architecture, activation, output, dtype, number "
        "of parameters, training history, and what its sidecar says (task, classes).")
    info.add_argument("model", metavar="MODEL")
    info.set_defaults(run=_info)

    bench = commands.add_parser(
        "bench", help="a quick speed table against other implementations",
        description="Time nncore's fit (batch 1 and 32) and forward (batch 1 and 1024) "
        "on [64, 32, 10] and [784, 128, 10] networks with sigmoid hidden layers and a "
        "softmax output against the pure-Python reference, a vectorised NumPy MLP and, "
        "when installed, PyTorch and scikit-learn, all from the same initial weights; "
        "prints samples/s and nncore's speed-up. Takes a few seconds; benchmarks/ in "
        "the repository has the careful version.")
    bench.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                       help="(default float32)")
    bench.add_argument("--budget", type=_seconds, default=0.1, metavar="SECONDS",
                       help="time spent on each measurement (default 0.1)")
    bench.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                       help="BLAS and PyTorch threads (default 1, as in benchmarks/; "
                       "BLAS threads are set through threadpoolctl when it is "
                       "installed)")
    bench.add_argument("--peers", type=_peer_list, default=list(BENCH_PEERS),
                       metavar="NAMES", help="comma-separated subset of "
                       f"{','.join(BENCH_PEERS)} (default all; missing ones are skipped)")
    bench.set_defaults(run=_bench)
    return parser


def _peer_list(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCH_PEERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown peer {unknown[0]!r} (choose from "
                                         f"{', '.join(BENCH_PEERS)})")
    return names


def _one_line(exc):
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv=None):
    """Run the ``nncore`` command line.

    Parameters
    ----------
    argv : list of str or None, default None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 on errors (reported as one line
        ``nncore: error: ...`` on stderr) or without a subcommand (the help
        is printed), 130 when interrupted by Ctrl-C.

    Examples
    --------
    >>> from nncore.cli import main
    >>> main(["info", "no-such.model"])      # the message goes to stderr
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:       # --help, --version or a usage error, printed
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("nncore: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (``| head``): stop quietly, and
        # keep Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (CommandError, ModelFileError, OSError, ValueError, FloatingPointError,
            MemoryError) as exc:
        print(f"nncore: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
