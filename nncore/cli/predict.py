# SPDX-License-Identifier: MIT
"""``nncore predict``: a trained model's predictions for every row of a data
file, as CSV."""
from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _preprocess
from . import _meta, _util
from ._data import Table, read_table
from ._util import CommandError, shown, stage
from .train import add_table_options

DESCRIPTION = """\
Write the predictions of MODEL for every row of DATA as CSV: class labels for
classification, values for regression (one column per target), under a header
naming the target(s). DATA is read as for 'nncore train' and gets exactly the
preprocessing train learned (imputation, one-hot encoding, scaling), all kept
in MODEL. Feature columns are found by name (any order; the target and other
columns are ignored); in files without names, by position.

A network saved from Python (no command-line metadata) gets DATA's columns as
they are and gives class indices (softmax) or its raw outputs.

Written to standard output, names and labels have control characters escaped
(\\x1b, ...), so that a label cannot act on the terminal; -o writes them as
they are.
"""


def add_parser(commands: Any) -> None:
    predict = commands.add_parser(
        "predict", help="predict with a trained model", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("data", metavar="DATA")
    add_table_options(predict)
    predict.add_argument("--unseen", choices=["error", "zeros"], default="error",
                         help="a category training never saw: an error (default), "
                         "or encoded as no category (all zeros)")
    predict.add_argument("-o", "--output", metavar="OUT.csv",
                         help="write here instead of standard output")
    predict.set_defaults(run=run)


def _frame_for(table: Table, meta: dict[str, Any]) -> Any:
    """``table.frame`` with the feature columns under the names the model
    knows them by (by position where names cannot match)."""
    frame = table.frame
    needed = [spec["name"] for spec in meta["inputs"]]
    names = table.names
    if all(name in names for name in needed):
        return frame
    if len(names) == len(needed) and (table.positional or meta["positional"]):
        return frame.set_axis(needed, axis=1)
    if meta["positional"] and len(names) == meta["n_columns"]:
        return frame.set_axis([str(j) for j in range(len(names))], axis=1)
    if table.positional or meta["positional"]:
        also = ""
        if meta["n_columns"] is not None and meta["n_columns"] != len(needed):
            also = f" (or {meta['n_columns']} with the target(s))"
        raise CommandError(f"{shown(table.path)} has {len(names)} columns, but the model "
                           f"expects {len(needed)} features{also}")
    return frame            # apply names the missing columns


def _raw_inputs(table: Table, n_features: int) -> npt.NDArray[np.float64]:
    if len(table.names) != n_features:
        raise CommandError(f"{shown(table.path)} has {len(table.names)} columns, but the "
                           f"model expects {n_features} features")
    columns = []
    for name in table.names:
        values, bad = _preprocess.numbers(np.asarray(table.frame[name]))
        if bad.any() or not np.isfinite(values).all():
            row = int(np.flatnonzero(bad | ~np.isfinite(values))[0])
            raise CommandError(f"{shown(table.path)}, {table.where(row)}: column "
                               f"{_util.quoted(name)} is not a finite number (a network "
                               "without command-line metadata takes numbers only)")
        columns.append(values)
    return np.column_stack(columns)


def run(args: argparse.Namespace) -> int:
    if args.output is not None:
        _util.check_output(args.output, "-o", [("model file", args.model),
                                               ("data file", args.data)])
    net, meta = _meta.load_model(args.model)
    table = read_table(args.data, args.delimiter, args.header)
    n_features = net.layer_sizes[0]
    digits = ".8g" if net.dtype == np.float32 else ".17g"
    with stage(f"predicting {_util.plural(table.n_rows, 'row')} of {shown(args.data)}"):
        if meta is None:
            out = net.forward(_raw_inputs(table, n_features)).astype(np.float64)
            if net.output == "softmax":
                header = ["class"]
                rows = [[str(k)] for k in out.argmax(axis=1)]
            else:
                header = [f"output_{j}" for j in range(out.shape[1])]
                rows = [[format(v, digits) for v in row] for row in out]
        else:
            X = _meta.apply(meta, _frame_for(table, meta), unseen=args.unseen,
                            path=table.path, where=table.where)
            out = net.forward(X).astype(np.float64)
            targets = meta["targets"]
            # A target known only by its position is "prediction" (as in
            # nncore 0.1); a named one (a header's, an .npz's y) keeps its name.
            by_position = meta["positional"] and all(t.isdigit() for t in targets)
            if by_position:
                header = ["prediction"] if len(targets) == 1 else \
                    [f"prediction_{name}" for name in targets]
            else:
                header = list(targets)
            if meta["task"] == "classification":
                classes = meta["classes"]
                rows = [[str(classes[k])] for k in out.argmax(axis=1)]
            else:
                values = out * np.array(meta["target_scale"]) + np.array(meta["target_mean"])
                rows = [[format(v, digits) for v in row] for row in values]
    if args.output is None:
        header = [shown(cell) for cell in header]
        rows = [[shown(cell) for cell in row] for row in rows]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if args.output is None:
        sys.stdout.write(text.getvalue())
        sys.stdout.flush()
    else:
        # A plain write, so that the file gets the permissions of any other
        # (the umask's), as before.
        with stage(f"writing {shown(args.output)}"), \
                open(args.output, "w", encoding="utf-8", newline="") as stream:
            stream.write(text.getvalue())
    return 0
