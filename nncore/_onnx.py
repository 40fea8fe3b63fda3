# SPDX-License-Identifier: MIT
"""A Network as an ONNX graph, built with ``onnx.helper`` (``Network.to_onnx``).

The graph computes what ``Network.forward`` computes: per layer one ``Gemm``
(the weights stored ``(n_out, n_in)``, nncore's own row layout, with
``transB=1``) and the activation as its own node (``Sigmoid``, ``Tanh``,
``Relu``; none for identity), then ``Softmax`` over the units, ``Sigmoid``
or nothing at the output; all in the network's dtype, with the batch
dimension left free (``N``).

A plain network takes one input ``X`` of shape (N, n_inputs) and gives one
output ``Y`` of shape (N, n_outputs): ``forward``'s arguments and result.

A model written by ``nncore train`` (its metadata describes the
preprocessing, see ``nncore.cli._meta``) is exported with that
preprocessing in front, so that the graph takes the raw columns, one input
per feature column, named as the column and in the training order:

* a numeric column: float64, shape (N,); NaN is a missing value, replaced by
  the imputed value, then ``x / scale - mean / scale`` (``IsNaN``, ``Where``,
  ``Div``, ``Sub``), in float64 as ``nncore predict`` computes it;
* a categorical column: string, shape (N,); ``ai.onnx.ml.LabelEncoder`` maps
  each category to its position and ``Equal`` against 0..k-1 gives the
  one-hot block; a value training never saw, or a missing one (pass ``""``),
  is all zeros, as ``nncore predict --unseen zeros`` encodes it.

The encoded columns are concatenated, cast to the network's dtype, and go
through the network. A classifier gives ``label`` (shape (N,), the class
labels: int64 when every label is an integer, else strings) and
``probabilities`` (N, n_classes); a regression gives ``prediction`` (N,
n_targets), float64 in the target's units. An output whose name a feature
column already has gets ``_`` appended. A graph cannot raise, so what
``nncore predict`` refuses (an unseen category by default, missing values
for a model trained with ``--impute error``, text in a numeric column) is
the caller's to check.

Every model carries metadata properties: ``nncore.layer_sizes``,
``nncore.activation``, ``nncore.output``, ``nncore.dtype``,
``nncore.metadata`` (the network's whole metadata, JSON) and, when the
metadata has them, ``classes``, ``columns`` and ``preprocessing`` (JSON).
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _io, _preprocess
from ._version import __version__

if TYPE_CHECKING:
    from .network import Network

#: Oldest opset exported: Softmax over one axis and Unsqueeze's axes as an
#: input are opset 13's.
MIN_OPSET = 13
#: The ai.onnx.ml opset of LabelEncoder with string keys and int64 values.
ML_OPSET = 2
#: The metadata format of a model written by ``nncore train``.
CLI_FORMAT = "nncore-cli-model"
#: Largest ONNX file protobuf can write in one piece.
MAX_PROTO_BYTES = 2**31 - 1

_ACTIVATION_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "identity": None,
                   "softmax": "Softmax"}


def require_onnx(what: str = "Network.to_onnx") -> Any:
    """The onnx module, or an ImportError that says how to install it."""
    try:
        import onnx  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError as exc:
        raise ImportError(f"{what} needs the onnx package: pip install "
                          "'nncore[onnx]'") from exc
    return onnx


def check_opset(opset: object, onnx: Any) -> int:
    """``opset`` if it is an int nncore can export to with this onnx."""
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an int, got {type(opset).__name__}")
    newest = int(onnx.defs.onnx_opset_version())
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be between {MIN_OPSET} and {newest} (the newest "
                         f"this onnx {onnx.__version__} knows), got {opset}")
    return int(opset)


class _Graph:
    """Nodes, initializers and unique value names of the graph being built."""

    def __init__(self, onnx: Any, reserved: set[str]) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.used = set(reserved)

    def name(self, wanted: str) -> str:
        name = wanted
        while name in self.used:
            name += "_"
        self.used.add(name)
        return name

    def constant(self, wanted: str, value: np.ndarray[Any, Any]) -> str:
        name = self.name(wanted)
        self.initializers.append(self.onnx.numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], wanted: str, *, output: str | None = None,
             domain: str | None = None, **attributes: Any) -> str:
        out = output if output is not None else self.name(wanted)
        self.nodes.append(self.helper.make_node(op, inputs, [out],
                                                name=self.name(f"{op}_{out}"),
                                                domain=domain, **attributes))
        return out


def _network(graph: _Graph, net: Network, x: str, output: str) -> None:
    """The layers of ``net`` from the value ``x`` to the value ``output``."""
    n_layers = len(net.layer_sizes) - 1
    h = x
    for l in range(n_layers):
        last = l == n_layers - 1
        w = graph.constant(f"layer{l}.weight", np.ascontiguousarray(net.weights[l].T))
        b = graph.constant(f"layer{l}.bias", np.ascontiguousarray(net.biases[l]))
        op = _ACTIVATION_OPS[net.output if last else net.activation]
        h = graph.node("Gemm", [h, w, b], f"layer{l}.z", transB=1,
                       output=output if last and op is None else None)
        if op is not None:
            attributes: dict[str, Any] = {"axis": 1} if op == "Softmax" else {}
            h = graph.node(op, [h], f"layer{l}.{op.lower()}",
                           output=output if last else None, **attributes)


def _class_labels(classes: list[Any]) -> np.ndarray[Any, Any]:
    """The labels as an int64 array when they are all integers, else text
    (as ``nncore predict`` prints them)."""
    if all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=np.int64)
    return np.array([str(c) for c in classes], dtype=object)


def _check_column_names(specs: list[dict[str, Any]]) -> list[str]:
    names = [str(spec["name"]) for spec in specs]
    if "" in names:
        raise ValueError("a feature column without a name cannot be an ONNX input; "
                         "export with preprocessing=False")
    return names


def _preprocessing(graph: _Graph, metadata: dict[str, Any],
                   double: int) -> tuple[list[Any], str]:
    """The inputs of the raw columns and the value of their encoding (float64)."""
    helper, TensorProto = graph.helper, graph.onnx.TensorProto
    inputs, encoded = [], []
    for spec in metadata["inputs"]:
        name = str(spec["name"])
        if spec["kind"] == "numeric":
            inputs.append(helper.make_tensor_value_info(name, TensorProto.DOUBLE, ["N"]))
            fill = graph.constant(f"{name}.fill", np.array(float(spec["fill"])))
            scale = float(spec["scale"])
            # Computed as _preprocess.standardise does: x / scale - mean / scale.
            scale_c = graph.constant(f"{name}.scale", np.array(scale))
            shift = graph.constant(f"{name}.shift", np.array(float(spec["mean"]) / scale))
            missing = graph.node("IsNaN", [name], f"{name}.missing")
            filled = graph.node("Where", [missing, fill, name], f"{name}.filled")
            divided = graph.node("Div", [filled, scale_c], f"{name}.divided")
            column = graph.node("Sub", [divided, shift], f"{name}.standardised")
        else:
            categories = [str(c) for c in spec["categories"]]
            inputs.append(helper.make_tensor_value_info(name, TensorProto.STRING, ["N"]))
            index = graph.node("LabelEncoder", [name], f"{name}.index",
                               domain="ai.onnx.ml", keys_strings=categories,
                               values_int64s=list(range(len(categories))),
                               default_int64=-1)
            positions = graph.constant(f"{name}.positions",
                                       np.arange(len(categories), dtype=np.int64)[None, :])
            axis = graph.constant(f"{name}.axis", np.array([1], dtype=np.int64))
            index = graph.node("Unsqueeze", [index, axis], f"{name}.index2d")
            hot = graph.node("Equal", [index, positions], f"{name}.hot")
            encoded.append(graph.node("Cast", [hot], f"{name}.onehot", to=double))
            continue
        axis = graph.constant(f"{name}.axis", np.array([1], dtype=np.int64))
        encoded.append(graph.node("Unsqueeze", [column, axis], f"{name}.column"))
    if len(encoded) == 1:
        return inputs, encoded[0]
    return inputs, graph.node("Concat", encoded, "encoded", axis=1)


def _cli_metadata(net: Network) -> dict[str, Any] | None:
    """The metadata of a model written by ``nncore train``, checked against
    the network, or None for any other network."""
    metadata = net.metadata
    if not (isinstance(metadata, Mapping) and metadata.get("format") == CLI_FORMAT):
        return None
    from .cli import _meta

    try:
        _meta._check(dict(metadata))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"metadata: damaged command-line metadata ({exc}); export "
                         "with preprocessing=False for the bare network") from None
    n_inputs, n_outputs = _preprocess.n_encoded(metadata["inputs"]), _meta.n_outputs(metadata)
    if (n_inputs, n_outputs) != (net.layer_sizes[0], net.layer_sizes[-1]):
        raise ValueError(f"metadata: it describes {n_inputs} inputs and {n_outputs} "
                         f"outputs, but the network has {net.layer_sizes[0]} and "
                         f"{net.layer_sizes[-1]}")
    return dict(metadata)


def build(net: Network, opset: int = 17, preprocessing: bool = True) -> Any:
    """The ONNX ModelProto of ``net`` (see the module docstring)."""
    onnx = require_onnx()
    opset = check_opset(opset, onnx)
    if not isinstance(preprocessing, (bool, np.bool_)):
        raise TypeError(f"preprocessing must be a bool, got {type(preprocessing).__name__}")
    helper, TensorProto = onnx.helper, onnx.TensorProto
    elem = TensorProto.FLOAT if net.dtype == np.float32 else TensorProto.DOUBLE
    n_in, n_out = net.layer_sizes[0], net.layer_sizes[-1]
    metadata = net.metadata if isinstance(net.metadata, Mapping) else {}
    cli = _cli_metadata(net) if preprocessing else None
    opsets = [helper.make_opsetid("", opset)]
    props = {"nncore.layer_sizes": json.dumps(list(net.layer_sizes)),
             "nncore.activation": net.activation, "nncore.output": net.output,
             "nncore.dtype": net.dtype.name,
             "nncore.metadata": json.dumps(metadata, sort_keys=True)}
    if metadata.get("classes") is not None:
        props["classes"] = json.dumps(list(metadata["classes"]))
    if cli is None:
        graph = _Graph(onnx, {"X", "Y"})
        _network(graph, net, "X", "Y")
        inputs = [helper.make_tensor_value_info("X", elem, ["N", n_in])]
        outputs = [helper.make_tensor_value_info("Y", elem, ["N", n_out])]
        doc = (f"nncore Network {list(net.layer_sizes)}, activation {net.activation}, "
               f"output {net.output}, {net.dtype.name}: X (N, {n_in}) -> Y (N, {n_out}), "
               "as Network.forward")
    else:
        names = _check_column_names(cli["inputs"])
        graph = _Graph(onnx, set(names))
        opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
        inputs, encoded = _preprocessing(graph, cli, TensorProto.DOUBLE)
        if elem == TensorProto.FLOAT:
            encoded = graph.node("Cast", [encoded], "encoded_float32", to=elem)
        if cli.get("task") == "classification" and net.output == "softmax":
            classes = _class_labels(list(cli["classes"]))
            probabilities = graph.name("probabilities")
            label = graph.name("label")
            _network(graph, net, encoded, probabilities)
            best = graph.node("ArgMax", [probabilities], "best", axis=1, keepdims=0)
            table = graph.constant("classes", classes)
            graph.node("Gather", [table, best], "label", output=label)
            label_type = TensorProto.INT64 if classes.dtype == np.int64 else \
                TensorProto.STRING
            outputs = [helper.make_tensor_value_info(label, label_type, ["N"]),
                       helper.make_tensor_value_info(probabilities, elem, ["N", n_out])]
        elif cli.get("task") == "regression" and net.output == "identity":
            prediction = graph.name("prediction")
            y = graph.name("scaled_prediction")
            _network(graph, net, encoded, y)
            if elem == TensorProto.FLOAT:
                y = graph.node("Cast", [y], "scaled_prediction_float64",
                               to=TensorProto.DOUBLE)
            # As nncore predict: float64 outputs * target_scale + target_mean.
            scale = graph.constant("target_scale",
                                   np.array(cli["target_scale"], dtype=np.float64))
            mean = graph.constant("target_mean",
                                  np.array(cli["target_mean"], dtype=np.float64))
            y = graph.node("Mul", [y, scale], "unscaled")
            graph.node("Add", [y, mean], "prediction", output=prediction)
            outputs = [helper.make_tensor_value_info(prediction, TensorProto.DOUBLE,
                                                     ["N", n_out])]
        else:
            y = graph.name("Y")
            _network(graph, net, encoded, y)
            outputs = [helper.make_tensor_value_info(y, elem, ["N", n_out])]
        props["columns"] = json.dumps(names)
        props["preprocessing"] = json.dumps({"impute": cli.get("impute"),
                                             "inputs": cli["inputs"]}, sort_keys=True)
        doc = (f"nncore command-line model ({cli.get('task')}): one input per feature "
               "column (numeric: float64, NaN = missing; categorical: string, "
               "unknown or '' = no category), then the network "
               f"{list(net.layer_sizes)} ({net.dtype.name})")
    model = helper.make_model(
        helper.make_graph(graph.nodes, "nncore", inputs, outputs, graph.initializers,
                          doc_string=doc),
        opset_imports=opsets, producer_name="nncore", producer_version=__version__)
    # The oldest IR version that holds these opsets, for older runtimes.
    model.ir_version = helper.find_min_ir_version_for(opsets)
    helper.set_model_props(model, props)
    if model.ByteSize() > MAX_PROTO_BYTES:
        raise ValueError(f"the network's {net.n_params:,} parameters make an ONNX model "
                         "larger than protobuf's 2 GiB limit for one file")
    return model


def save(model: Any, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` atomically (as ``Network.save`` writes)."""
    data = model.SerializeToString()
    _io.write_atomically(os.fspath(path), lambda stream: stream.write(data))
