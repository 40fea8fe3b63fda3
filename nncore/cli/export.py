# SPDX-License-Identifier: MIT
"""``nncore export``: a model file as an ONNX model (``Network.to_onnx``)."""
from __future__ import annotations

import argparse
from typing import Any

from .. import _onnx
from . import _meta, _util
from ._util import CommandError, shown, stage

DESCRIPTION = """\
Write MODEL as an ONNX model, to run with ONNX Runtime or any other ONNX
runtime. A model trained by 'nncore train' keeps its preprocessing inside the
graph: the ONNX model takes one input per feature column, named as the
column (numbers as float64 with NaN for a missing value; categories as
strings, where an unknown or empty value is no category, as 'nncore predict
--unseen zeros'), and gives 'label' and 'probabilities' (classification) or
'prediction' (regression, in the target's units). --no-preprocessing, or a
network saved from Python, gives the bare network: input 'X' (N, inputs),
output 'Y' (N, outputs). Classes, columns and preprocessing are also in the
model's metadata properties. Needs the onnx package (pip install
'nncore[onnx]'). The inputs and outputs are printed.
"""


def add_parser(commands: Any) -> None:
    export = commands.add_parser(
        "export", help="write a model as ONNX", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("model", metavar="MODEL")
    export.add_argument("-o", "--output", required=True, metavar="OUT.onnx",
                        help="the ONNX file to write (replaced atomically)")
    export.add_argument("--opset", type=_util.positive_int, default=17,
                        help=f"ONNX opset ({_onnx.MIN_OPSET} to the newest the "
                        "installed onnx knows; default 17)")
    export.add_argument("--no-preprocessing", dest="preprocessing",
                        action="store_false",
                        help="export the bare network (its encoded inputs), without "
                        "the preprocessing of a command-line model")
    export.set_defaults(run=run)


def _describe(values: Any, onnx: Any) -> str:
    parts = []
    for value in values:
        tensor = value.type.tensor_type
        kind = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
        kind = "string" if kind == "object" else kind
        shape = ", ".join(d.dim_param or str(d.dim_value) for d in tensor.shape.dim)
        parts.append(f"{_util.quoted(value.name)} {kind} ({shape})")
    return _util.listed(parts, 12)


def run(args: argparse.Namespace) -> int:
    _util.check_output(args.output, "-o", [("model file", args.model)])
    try:
        onnx = _onnx.require_onnx("nncore export")
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    net, meta = _meta.load_model(args.model)
    if meta is not None:
        # A version-1 model's metadata comes from its sidecar.
        net.metadata = meta
    try:
        with stage(f"exporting {shown(args.model)}"):
            model = net.to_onnx(opset=args.opset, preprocessing=args.preprocessing)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"{shown(args.model)}: {shown(exc)}") from None
    with stage(f"writing {shown(args.output)}"):
        _onnx.save(model, args.output)
    graph = model.graph
    print(f"wrote {shown(args.output)} (ONNX opset {args.opset})")
    print(f"inputs: {_describe(graph.input, onnx)}")
    print(f"outputs: {_describe(graph.output, onnx)}")
    return 0
