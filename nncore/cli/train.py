# SPDX-License-Identifier: MIT
"""``nncore train``: a network from the columns of a data file, saved with
what ``predict`` needs (task, columns, classes, encodings, scaling) in one
model file."""
from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _plot, _preprocess
from .._typing import Output
from ..exceptions import DivergenceError
from ..network import Network
from . import _meta, _util
from ._data import Table, read_table
from ._util import CommandError, plural, quoted, say, shown, stage

# An integer-valued target is taken for class labels when it has at most
# this many distinct values and at least ROWS_PER_CLASS rows per value on
# average; anything else is regressed (linnerud's Weight: 16 values in 20
# rows). --task overrides.
MAX_INFERRED_CLASSES = 20
ROWS_PER_CLASS = 5
DEFAULT_EPOCHS = 20
DEFAULT_LEARNING_RATE = {"sgd": 0.1, "adam": 0.001}
ACTIVATIONS = ["sigmoid", "tanh", "relu", "identity"]

DESCRIPTION = """\
Train a network on the columns of DATA to predict the --target column(s).

DATA is one of:
  CSV or TSV   read by pandas: the delimiter is sniffed (or --delimiter), a
               byte-order mark, CRLF, quoted fields and NA markers (empty,
               NA, nan, NULL, ...) are understood; the first line names the
               columns (--no-header: columns are named 0, 1, ... by position).
               An unnamed first column (pandas' to_csv() index) is dropped.
  .parquet     read by pandas (needs pyarrow).
  .npy         a 2-D numeric array; columns by position (--target -1: last).
  .npz         members X (2-D) and y (1-D, numbers or text): the target is y;
               or a single 2-D array, read like a .npy file.

Features are every other column (or --features, minus --drop). Numeric
columns are standardised with the training rows' mean and standard deviation,
their missing values imputed (--impute); text columns are one-hot encoded
(a missing value: all zeros). --target a,b,c is multi-output regression.

The task is classification when the target is text, or integer-valued with at
most 20 distinct values and at least 5 rows per value; regression otherwise.
It is printed with the reason; --task overrides it. Rows are split at random:
--test-fraction held out to the end, --validation-fraction to score each
epoch; the model keeps the epoch with the best validation score (the lowest
training loss without validation).

Progress goes to stderr, results to stdout. MODEL is one file: the network
and everything predict needs (nncore.load(MODEL).metadata). It is written
whenever the validation score improves, so Ctrl-C (exit status 130) keeps
the best model so far.
"""


def add_parser(commands: Any) -> None:
    train = commands.add_parser(
        "train", help="train a network on a CSV, TSV, Parquet or NumPy file",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("data", metavar="DATA", help="CSV, TSV, .parquet, .npy or .npz file")
    train.add_argument("--target", type=_util.names, action=_util.Once, metavar="COLUMNS",
                       help="column(s) to predict: names or indices; several, "
                       "comma-separated, for multi-output regression")
    add_table_options(train)
    train.add_argument("--features", type=_util.names, metavar="COLUMNS",
                       help="the feature columns (default: all but the target)")
    train.add_argument("--drop", type=_util.names, default=[], metavar="COLUMNS",
                       help="columns not to use")
    train.add_argument("--task", choices=["classification", "regression"],
                       help="default: inferred from the target, and said why")
    train.add_argument("--impute", choices=["mean", "median", "error"], default="mean",
                       help="missing numeric values: the training rows' mean or "
                       "median, or an error (default mean)")
    add_training_options(train, f"epochs (default {DEFAULT_EPOCHS})")
    train.add_argument("--validation-fraction", type=_util.fraction, default=0.2,
                       metavar="F", help="fraction of the rows that scores each epoch "
                       "(default 0.2; 0 keeps the lowest training loss)")
    train.add_argument("--test-fraction", type=_util.fraction, default=0.0, metavar="F",
                       help="fraction of the rows held out for a final test score, "
                       "never used to train or to pick the epoch (default 0)")
    train.add_argument("--patience", type=_util.positive_int, metavar="N",
                       help="stop when the validation score has not improved for N "
                       "epochs (default: train all epochs)")
    train.add_argument("--plot", metavar="FILE.png",
                       help="save the loss and validation curves (needs matplotlib: "
                       "pip install 'nncore[plot]')")
    train.add_argument("-o", "--output", required=True, metavar="MODEL",
                       help="model file to write")
    train.set_defaults(run=run)


def add_table_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delimiter", type=_delimiter, metavar="CHAR",
                        help="CSV field separator (default: sniffed; 'tab' for tabs)")
    parser.add_argument("--no-header", dest="header", action="store_false",
                        help="the CSV file has no header row: columns are named 0, 1, "
                        "... by position")


def add_training_options(parser: argparse.ArgumentParser, epochs_help: str) -> None:
    parser.add_argument("--hidden", type=_util.hidden_sizes, default=[32],
                        metavar="SIZES", help="hidden layer sizes, comma-separated, e.g. "
                        "64,32 (default 32; 0: no hidden layer)")
    parser.add_argument("--activation", default="sigmoid", choices=ACTIVATIONS,
                        help="hidden-layer activation (default sigmoid)")
    parser.add_argument("--epochs", type=_util.positive_int, default=None, metavar="N",
                        help=epochs_help)
    parser.add_argument("--batch-size", type=_util.positive_int, default=1, metavar="B",
                        help="samples per update (default 1: online training)")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd",
                        help="(default sgd)")
    parser.add_argument("--learning-rate", type=_util.non_negative, default=None,
                        metavar="LR", help="step size (default 0.1 for sgd, 0.001 for "
                        "adam)")
    parser.add_argument("--momentum", type=_util.unit_interval, default=0.0, metavar="M",
                        help="sgd's momentum, in [0, 1] (default 0)")
    parser.add_argument("--alpha", type=_util.non_negative, default=0.0, metavar="A",
                        help="L2 penalty on the weights (default 0)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                        help="precision of the network (default float32)")
    parser.add_argument("--seed", type=_util.seed, default=0,
                        help="seeds the weights, the split and the shuffling (default 0)")


def _delimiter(text: str) -> str:
    value = {"tab": "\t", "\\t": "\t"}.get(text.lower(), text)
    if len(value) != 1 or value in "\"\r\n":
        raise argparse.ArgumentTypeError(
            f"expected one character (or 'tab'), got {text!r}")
    return value


def fit_options(args: argparse.Namespace) -> dict[str, Any]:
    """The optimizer keywords of ``Network.fit`` the options ask for."""
    if args.momentum and args.optimizer != "sgd":
        raise CommandError(f"--momentum is sgd's; --optimizer {args.optimizer} does not "
                           "use it")
    options: dict[str, Any] = {"optimizer": args.optimizer, "alpha": args.alpha}
    if args.momentum:
        options["momentum"] = args.momentum
    rate = args.learning_rate
    options["learning_rate"] = DEFAULT_LEARNING_RATE[args.optimizer] if rate is None \
        else rate
    return options


# ---------------------------------------------------------------------------
# Columns and task
# ---------------------------------------------------------------------------

def _columns(table: Table, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    if args.target is None:
        if table.default_target is None:
            raise CommandError("--target is required: the name or index of the column "
                               "to predict")
        targets = [table.default_target]
    else:
        targets = [table.column(spec) for spec in args.target]
    if len(set(targets)) != len(targets):
        raise CommandError(f"--target names a column twice: {', '.join(args.target)}")
    dropped = {table.column(spec, "--drop") for spec in args.drop}
    if args.features is not None:
        features = [table.column(spec, "--features") for spec in args.features]
        if len(set(features)) != len(features):
            raise CommandError("--features names a column twice")
        both = [name for name in features if name in targets]
        if both:
            raise CommandError(f"column {quoted(both[0])} is both a target and a feature")
    else:
        features = [name for name in table.names if name not in targets]
    features = [name for name in features if name not in dropped]
    if not features:
        raise CommandError(f"{shown(table.path)}: no feature columns besides the target")
    return targets, features


def _target_values(table: Table, targets: list[str]) -> npt.NDArray[Any]:
    columns = []
    for name in targets:
        values = np.asarray(table.frame[name])
        missing = _preprocess.missing_mask(values)
        if missing.any():
            rows = np.flatnonzero(missing)
            raise CommandError(f"{shown(table.path)}: the target {quoted(name)} is missing "
                               f"in {plural(rows.size, 'row')} (first at "
                               f"{table.where(int(rows[0]))}); fill them in or remove "
                               "those rows")
        if values.dtype.kind == "b":
            values = values.astype(np.int64)
        if values.dtype.kind not in "iuf":
            parsed, bad = _preprocess.numbers(values)
            values = values.astype(str) if bad.any() else parsed
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise CommandError(f"{shown(table.path)}, {table.where(row)}: the target "
                               f"{quoted(name)} is not finite")
        columns.append(values)
    if len(columns) == 1:
        return columns[0]
    text = [name for name, c in zip(targets, columns) if c.dtype.kind == "U"]
    if text:
        raise CommandError(f"the target {quoted(text[0])} holds text: several targets "
                           "are multi-output regression, which needs numbers")
    return np.column_stack([c.astype(np.float64) for c in columns])


def infer_task(y: npt.NDArray[Any], targets: list[str]) -> tuple[str, str]:
    """The task for target values ``y`` and the reason, said in words.

    Examples
    --------
    >>> import numpy as np
    >>> from nncore.cli.train import infer_task
    >>> infer_task(np.array([191.0, 189, 193, 162, 189, 182, 211, 167, 176, 154,
    ...                      169, 166, 154, 247, 193, 202, 176, 157, 156, 138]),
    ...            ["Weight"])[0]
    'regression'
    >>> infer_task(np.array([0, 1, 2] * 10), ["species"])
    ('classification', 'integer values, 3 distinct in 30 rows')
    """
    if y.ndim == 2:
        return "regression", f"{len(targets)} targets (multi-output)"
    if y.dtype.kind == "U":
        return "classification", "text values"
    if not np.array_equal(y, np.round(y)):
        return "regression", "values that are not integers"
    distinct = int(np.unique(y).size)
    described = f"integer values, {distinct} distinct in {y.shape[0]} rows"
    if distinct > MAX_INFERRED_CLASSES:
        return "regression", f"{described}: more than {MAX_INFERRED_CLASSES} for classes"
    if y.shape[0] < ROWS_PER_CLASS * distinct:
        return "regression", (f"{described}: fewer than {ROWS_PER_CLASS} rows per value "
                              "for classes")
    return "classification", described


def _json_classes(classes: npt.NDArray[Any]) -> list[Any]:
    if classes.dtype.kind == "U":
        return [str(c) for c in classes]
    if np.array_equal(classes, np.round(classes)):
        return [int(c) for c in classes]
    return [float(c) for c in classes]


def r2_score(actual: npt.NDArray[np.float64], predicted: npt.NDArray[np.float64]) -> float:
    """scikit-learn's r2_score (uniform average over outputs), on values
    already standardised (so that no square overflows)."""
    if actual.ndim == 1:
        actual, predicted = actual[:, None], predicted[:, None]
    scores = []
    for j in range(actual.shape[1]):
        residual = float(np.sum((actual[:, j] - predicted[:, j]) ** 2))
        total = float(np.sum((actual[:, j] - actual[:, j].mean()) ** 2))
        scores.append((1.0 if residual == 0 else 0.0) if total == 0 else
                      1.0 - residual / total)
    return float(np.mean(scores))


def format_score(metric: str, value: float) -> str:
    return f"accuracy {value:.2%}" if metric == "accuracy" else f"R^2 {value:.4f}"


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    inputs_to_check = [("data file", args.data)]
    _util.check_output(args.output, "-o", inputs_to_check)
    if args.plot is not None:
        _util.check_output(args.plot, "--plot", inputs_to_check +
                           [("model file", args.output)])
        try:
            _plot.check(args.plot)
        except _plot.PlotError as exc:
            raise CommandError(str(exc)) from None
    options = fit_options(args)
    if args.patience is not None and args.validation_fraction == 0:
        raise CommandError("--patience stops on the validation score: it needs "
                           "--validation-fraction above 0")
    table = read_table(args.data, args.delimiter, args.header)
    targets, features = _columns(table, args)
    y = _target_values(table, targets)
    if args.task is None:
        task, reason = infer_task(y, targets)
    else:
        task, reason = args.task, "--task"
    target_text = ", ".join(quoted(name) for name in targets)
    if task == "classification" and y.ndim == 2:
        raise CommandError("several targets are multi-output regression: --task "
                           "classification takes one target")
    if task == "regression" and y.dtype.kind == "U":
        raise CommandError(f"the target {target_text} holds text, so it cannot be a "
                           "regression target")
    print(f"task: {task} of {target_text} ({reason}; --task overrides)", flush=True)

    n_rows = table.n_rows
    n_test = math.ceil(args.test_fraction * n_rows)
    n_valid = math.ceil(args.validation_fraction * n_rows)
    if n_rows - n_test - n_valid < 1:
        raise CommandError(f"{shown(args.data)} has {plural(n_rows, 'row')}: too few to "
                           f"hold out {n_valid} for validation and {n_test} for the test")
    order = np.random.default_rng(args.seed).permutation(n_rows)
    test_rows, valid_rows = order[:n_test], order[n_test:n_test + n_valid]
    train_rows = np.sort(order[n_test + n_valid:])

    specs, notes = _meta.fit_inputs(table.frame, features, train_rows, args.impute,
                                    table.path, table.where)
    for note in notes:
        say(f"note: {note}")
    meta: dict[str, Any] = {
        "format": _meta.FORMAT, "version": _meta.VERSION, "task": task,
        "targets": targets, "positional": table.positional,
        "n_columns": len(table.names), "inputs": specs, "impute": args.impute}
    with stage(f"encoding {plural(n_rows, 'row')} of {shown(args.data)}"):
        X = _meta.apply(meta, table.frame, path=table.path, where=table.where)
    if task == "classification":
        classes, labels = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise CommandError(f"the target {target_text} has a single value "
                               f"({shown(classes[0])}): nothing to classify")
        meta["classes"] = _json_classes(classes)
        T: npt.NDArray[Any] = labels
        output: Output = "softmax"
        n_out, metric = int(classes.size), "accuracy"
    else:
        Y = y.astype(np.float64).reshape(n_rows, -1)
        stats = [_preprocess.safe_stats(Y[train_rows, j]) for j in range(Y.shape[1])]
        meta["target_mean"] = [mean for mean, _ in stats]
        meta["target_scale"] = [scale for _, scale in stats]
        T = np.column_stack([_preprocess.standardise(Y[:, j], mean, scale)
                             for j, (mean, scale) in enumerate(stats)])
        if y.ndim == 1:
            T = T[:, 0]
        output = "identity"
        n_out, metric = Y.shape[1], "R^2"
    n_categorical = sum(spec["kind"] == "categorical" for spec in specs)
    print(f"data: {plural(n_rows, 'row')}, {plural(len(features), 'feature column')}"
          f"{f' ({n_categorical} one-hot encoded)' if n_categorical else ''} -> "
          f"{plural(X.shape[1], 'input')}; {train_rows.size:,} rows for training, "
          f"{n_valid:,} for validation, {n_test:,} for the test", flush=True)

    sizes = [X.shape[1], *args.hidden, n_out]
    with stage(f"building a network of {sizes} units ({args.dtype})"):
        net = Network(sizes, activation=args.activation, output=output,
                      dtype=args.dtype, seed=args.seed)
    print(f"network: {net!r}; {args.optimizer}, learning rate "
          f"{options['learning_rate']:g}, batch size {args.batch_size}", flush=True)
    trainer = _Trainer(args, net, meta, metric, X, T, train_rows, valid_rows, test_rows)
    return trainer.run(options)


class _Trainer:
    """Runs fit with a callback that scores, saves the best epoch and stops
    early; reports on stderr per epoch and on stdout at the end."""

    def __init__(self, args: argparse.Namespace, net: Network, meta: dict[str, Any],
                 metric: str, X: npt.NDArray[np.float64], T: npt.NDArray[Any],
                 train_rows: npt.NDArray[np.intp], valid_rows: npt.NDArray[np.intp],
                 test_rows: npt.NDArray[np.intp]):
        self.args, self.net, self.meta, self.metric = args, net, meta, metric
        self.X, self.T = X, T
        self.train_rows, self.valid_rows, self.test_rows = train_rows, valid_rows, test_rows
        self.epochs = args.epochs or DEFAULT_EPOCHS
        self.scores: list[float] = []
        self.best_score = -math.inf
        self.best_tie = -math.inf
        self.best_epoch = 0
        self.best_params: npt.NDArray[Any] | None = None
        self.stopped_early = False
        self.meta["training"] = {
            "data": args.data, "metric": metric,
            "validation_fraction": args.validation_fraction,
            "test_fraction": args.test_fraction}

    def score(self, rows: npt.NDArray[np.intp]) -> float:
        """Accuracy or R^2 on ``rows`` (higher is better)."""
        out = self.net.forward(self.X[rows]).astype(np.float64)
        if self.metric == "accuracy":
            return float(np.mean(out.argmax(axis=1) == self.T[rows]))
        return r2_score(self.T[rows].astype(np.float64), out if self.T.ndim == 2
                        else out[:, 0])

    def save(self, epochs_trained: int) -> None:
        training = self.meta["training"]
        training["epochs_trained"] = epochs_trained
        training["best_epoch"] = self.best_epoch
        if self.valid_rows.size:
            last = self.scores[-1]
            training["validation"] = {"best": self.best_score, "epoch": self.best_epoch,
                                      "last": last if math.isfinite(last) else None}
        with stage(f"saving {shown(self.args.output)}"):
            _meta.save_model(self.net, self.meta, self.args.output)

    def after_epoch(self, info: Any) -> bool:
        epoch = info["epoch"]
        has_valid = self.valid_rows.size > 0
        value = self.score(self.valid_rows) if has_valid else -float(info["loss"])
        self.scores.append(value)
        # Ties in the score (accuracy on a few rows saturates) go to the
        # lower validation loss.
        tie = -self.net.loss(self.X[self.valid_rows], self.T[self.valid_rows]) \
            if has_valid else 0.0
        improved = (value, tie) > (self.best_score, self.best_tie)
        if improved:
            self.best_score, self.best_epoch, self.best_tie = value, epoch, tie
            self.best_params = self.net.params.copy()
            self.save(epoch)
        extra = f"validation {format_score(self.metric, value)}" if has_valid else ""
        self.progress.update(info, extra + (" (saved)" if improved else ""))
        patience = self.args.patience
        if patience is not None and has_valid and epoch - self.best_epoch >= patience:
            self.stopped_early = True
            return False
        return True

    def best_text(self) -> str:
        if self.valid_rows.size:
            return (f"epoch {self.best_epoch}, validation "
                    f"{format_score(self.metric, self.best_score)}")
        return f"epoch {self.best_epoch}, training loss {-self.best_score:.4g}"

    def run(self, options: dict[str, Any]) -> int:
        from .._progress import Progress

        args, net, output = self.args, self.net, shown(self.args.output)
        self.progress = Progress(self.epochs)
        rows = self.train_rows
        try:
            with stage(f"training {net!r} on {plural(rows.size, 'row')}"):
                net.fit(self.X[rows], self.T[rows], epochs=self.epochs,
                        batch_size=args.batch_size, callback=self.after_epoch,
                        seed=args.seed, **options)
        except KeyboardInterrupt:
            self.progress.close()
            if not self.best_epoch:
                say("nncore: interrupted before the first epoch ended; no model written")
                return _util.EXIT_INTERRUPTED
            self._restore_best()
            try:
                self.save(len(self.scores))
            except BaseException:
                pass        # the file still holds the best epoch, from when it was saved
            say(f"nncore: interrupted after {plural(len(self.scores), 'epoch')}; {output} "
                f"holds the best model so far ({self.best_text()})")
            return _util.EXIT_INTERRUPTED
        except DivergenceError as exc:
            self.progress.close()
            kept = (f"; {output} holds the best model before that ({self.best_text()})"
                    if self.best_epoch else "; no model written")
            raise CommandError(f"{exc}{kept}") from None
        finally:
            self.progress.close()
        if not self.best_epoch:
            raise CommandError("no epoch gave a finite score; no model written (scale the "
                               "data, or lower --learning-rate)")
        trained = len(self.scores)
        self._restore_best()
        self.save(trained)
        if self.stopped_early:
            print(f"stopped early after epoch {trained}: no better validation score in "
                  f"{plural(args.patience, 'epoch')} (--patience)")
        if self.valid_rows.size:
            print(f"validation {self.metric}: last {self._score_text(self.scores[-1])} "
                  f"(epoch {trained}), best {self._score_text(self.best_score)} (epoch "
                  f"{self.best_epoch})")
        if self.test_rows.size:
            test = self.score(self.test_rows)
            self.meta["training"]["test"] = test
            self.save(trained)
            print(f"test {self.metric}: {self._score_text(test)} on "
                  f"{plural(self.test_rows.size, 'held-out row')} never used to train or "
                  "to pick the epoch")
        why = f"the best validation {self.metric}" if self.valid_rows.size else \
            "the lowest training loss"
        print(f"saved {output}: the weights of epoch {self.best_epoch} of {trained} "
              f"({why})", flush=True)
        if args.plot is not None:
            losses = net.history[-trained:]
            title = (f"{shown(', '.join(self.meta['targets']))}: {list(net.layer_sizes)} "
                     f"{net.activation}/{net.output}, {args.optimizer}")
            try:
                _plot.training_figure(
                    args.plot, losses, title,
                    validation=(self.metric, self.scores) if self.valid_rows.size else None)
            except _plot.PlotError as exc:
                raise CommandError(str(exc)) from None
            print(f"figure: {shown(args.plot)}")
        sys.stdout.flush()
        return 0

    def _score_text(self, value: float) -> str:
        return f"{value:.2%}" if self.metric == "accuracy" else f"{value:.4f}"

    def _restore_best(self) -> None:
        if self.best_params is not None:
            self.net.params[...] = self.best_params
