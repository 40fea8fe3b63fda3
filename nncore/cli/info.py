# SPDX-License-Identifier: MIT
"""``nncore info``: what a model file holds."""
from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from . import _meta
from ._util import listed, plural, quoted, shown
from .train import format_score


def add_parser(commands: Any) -> None:
    info = commands.add_parser(
        "info", help="describe a model file",
        description="Print a model's architecture, activation, output, dtype, number "
        "of parameters and training history, and what train recorded: the task, "
        "classes, feature columns and their preprocessing, the epochs trained and "
        "which epoch the weights come from, the validation and test scores. Names "
        "from the file are printed with control characters escaped.")
    info.add_argument("model", metavar="MODEL")
    info.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    net, meta = _meta.load_model(args.model)
    sizes = list(net.layer_sizes)
    print(f"model: {shown(args.model)}")
    print(f"architecture: {sizes} ({plural(sizes[0], 'input')}, "
          f"{plural(len(sizes) - 2, 'hidden layer')}, {plural(sizes[-1], 'output')})")
    print(f"activation: {net.activation}; output: {net.output}; dtype: {net.dtype.name}")
    print(f"parameters: {net.n_params:,}")
    history = net.history
    if history:
        best = int(np.argmin(history))
        print(f"loss history: {plural(len(history), 'epoch')}; {history[0]:.4g} after the "
              f"first, {history[-1]:.4g} after the last, lowest {history[best]:.4g} "
              f"(epoch {best + 1})")
    else:
        print("loss history: none recorded")
    if meta is None:
        print("command-line metadata: none (a network saved from Python: predict gives "
              "class indices or raw outputs)")
        return 0
    targets = ", ".join(quoted(name) for name in meta["targets"])
    if meta["task"] == "classification":
        classes = [str(c) for c in meta["classes"]]
        print(f"task: classification of {shown(targets)} into {len(classes)} classes: "
              f"{listed(classes)}")
    else:
        scales = ", ".join(f"{m:.4g} +- {s:.4g}" for m, s in
                           zip(meta["target_mean"], meta["target_scale"]))
        print(f"task: regression of {shown(targets)} (mean +- standard deviation: "
              f"{scales})")
    specs = meta["inputs"]
    numeric = [spec["name"] for spec in specs if spec["kind"] == "numeric"]
    categorical = [f"{spec['name']} ({len(spec['categories'])})" for spec in specs
                   if spec["kind"] == "categorical"]
    by = "by position" if meta["positional"] else "by name"
    print(f"features: {plural(len(specs), 'column')} {by} -> "
          f"{plural(_meta.n_encoded(specs), 'input')}")
    if numeric:
        impute = meta.get("impute", "error")
        filled = "refused" if impute == "error" else f"imputed ({impute})"
        print(f"  numeric, standardised, missing values {filled}: {listed(numeric)}")
    if categorical:
        print(f"  categorical, one-hot (categories): {listed(categorical)}")
    training = meta.get("training") or {}
    trained, from_epoch = training.get("epochs_trained"), training.get("best_epoch")
    if isinstance(trained, int) and isinstance(from_epoch, int):
        print(f"training: {plural(trained, 'epoch')} trained; the weights are from epoch "
              f"{from_epoch}")
    metric = training.get("metric")
    validation = training.get("validation")
    if metric in ("accuracy", "R^2") and isinstance(validation, dict):
        if "best" in validation:
            last = validation.get("last")
            last_text = "not finite" if last is None else format_score(metric, last)
            print(f"validation {format_score(metric, validation['best'])} at epoch "
                  f"{validation.get('epoch')} (last epoch: {last_text}; held-out fraction "
                  f"{training.get('validation_fraction', 0):g})")
        elif "score" in validation:          # a version-1 sidecar
            print(f"validation {format_score(metric, validation['score'])} at epoch "
                  f"{validation.get('epoch')}")
    if metric in ("accuracy", "R^2") and isinstance(training.get("test"), float):
        print(f"test {format_score(metric, training['test'])} (held-out fraction "
              f"{training.get('test_fraction', 0):g})")
    return 0
