# SPDX-License-Identifier: MIT
"""skl2onnx converters for ``nncore.sklearn``'s estimators (see
``nncore.export.register_skl2onnx``).

skl2onnx finds a converter by the estimator's exact class, so nncore's
classes need their own entries even though they answer like scikit-learn's.
The converters read only the fitted attributes scikit-learn's own
``MLPClassifier`` and ``MLPRegressor`` have (``coefs_``, ``intercepts_``,
``activation``, ``out_activation_``, ``classes_``, ``n_outputs_``):

* the classifier goes through skl2onnx's own MLP converter and shape
  calculator (labels, probabilities, the ``zipmap`` options), given a plain
  view of those attributes; multi-label models (told by a sigmoid output
  with several units, not by private state) get their 0/1 labels from
  ``Greater`` and ``Cast`` (skl2onnx's ``Binarizer`` has no float64 kernel
  in ONNX Runtime) with shape (N, n_labels);
* the regressor is written here: one ``Gemm`` per layer and the activation
  nodes, any number of outputs (shape (N, n_outputs)), and ``Exp`` at the
  output for ``loss="poisson"``, which skl2onnx's converter does not know.
"""
from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import numpy as np

_OPS = {"identity": None, "logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu",
        "softmax": "Softmax", "exp": "Exp"}
CLASSIFIER_ALIAS = "NncoreMLPClassifier"
REGRESSOR_ALIAS = "NncoreMLPRegressor"


def _module(name: str) -> Any:
    """``skl2onnx.<name>`` (skl2onnx itself for ""), imported when used."""
    return importlib.import_module("skl2onnx" + (f".{name}" if name else ""))


def _check_activations(model: Any) -> None:
    for name in (model.activation, model.out_activation_):
        if name not in _OPS:
            raise ValueError(f"{type(model).__name__}: activation {name!r} has no ONNX "
                             f"equivalent here (known: {sorted(_OPS)})")


def _plain_classifier(model: Any) -> SimpleNamespace:
    """What skl2onnx's MLP converter reads, from public fitted attributes."""
    # Multi-label models never get here (see _convert_classifier).
    return SimpleNamespace(
        coefs_=model.coefs_, intercepts_=model.intercepts_, n_layers_=len(model.coefs_) + 1,
        activation=model.activation, out_activation_=model.out_activation_,
        classes_=np.asarray(model.classes_),
        _label_binarizer=SimpleNamespace(y_type_="multiclass"))


def _multilabel(model: Any) -> bool:
    return bool(model.out_activation_ == "logistic" and model.coefs_[-1].shape[1] > 1)


def _classifier_shape(operator: Any) -> None:
    Int64TensorType = _module("common.data_types").Int64TensorType
    _module("common.shape_calculator").calculate_linear_classifier_output_shapes(operator)
    model = operator.raw_operator
    if _multilabel(model):
        # One 0/1 column per label, as scikit-learn's predict gives.
        n = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type = Int64TensorType([n, model.coefs_[-1].shape[1]])


def _convert_classifier(scope: Any, operator: Any, container: Any) -> None:
    model = operator.raw_operator
    _check_activations(model)
    if _multilabel(model):
        # skl2onnx's ai.onnx.ml Binarizer has no float64 kernel in ONNX
        # Runtime: threshold with Greater, as LabelBinarizer does (p > 0.5).
        proto = _proto(operator)
        p = operator.outputs[1].full_name
        _layers(scope, container, model, operator.inputs[0].full_name, proto, p)
        half = scope.get_unique_variable_name("half")
        container.add_initializer(half, proto, [], [0.5])
        above = scope.get_unique_variable_name("above")
        container.add_node("Greater", [p, half], above,
                           name=scope.get_unique_operator_name("Greater"))
        container.add_node("Cast", above, operator.outputs[0].full_name,
                           to=_module("proto").onnx_proto.TensorProto.INT64,
                           name=scope.get_unique_operator_name("Cast"))
        return
    mlp = _module("operator_converters.multilayer_perceptron")
    operator.raw_operator = _plain_classifier(model)
    try:
        mlp.convert_sklearn_mlp_classifier(scope, operator, container)
    finally:
        operator.raw_operator = model


def _regressor_shape(operator: Any) -> None:
    types = _module("common.data_types")
    DoubleTensorType, FloatTensorType = types.DoubleTensorType, types.FloatTensorType
    kind = type(operator.inputs[0].type)
    kind = kind if kind in (FloatTensorType, DoubleTensorType) else FloatTensorType
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = kind([n, int(operator.raw_operator.coefs_[-1].shape[1])])


def _proto(operator: Any) -> int:
    # The input's float type (float32 for anything else), as skl2onnx's MLP converter.
    onnx_proto = _module("proto").onnx_proto
    proto = _module("common.data_types").guess_proto_type(operator.inputs[0].type)
    return int(proto) if proto == onnx_proto.TensorProto.DOUBLE else \
        int(onnx_proto.TensorProto.FLOAT)


def _layers(scope: Any, container: Any, model: Any, x: str, proto: int, output: str) -> None:
    """The network of ``model`` from the value ``x`` to ``output``: Cast, then
    per layer Gemm and the activation node."""
    onnx_proto = _module("proto").onnx_proto
    dtype = np.float64 if proto == onnx_proto.TensorProto.DOUBLE else np.float32
    h = scope.get_unique_variable_name("mlp_input")
    container.add_node("Cast", x, h, to=proto, name=scope.get_unique_operator_name("Cast"))
    n_layers = len(model.coefs_)
    for l, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        last = l == n_layers - 1
        w_name = scope.get_unique_variable_name("coefficient")
        b_name = scope.get_unique_variable_name("intercepts")
        container.add_initializer(w_name, proto, list(W.shape),
                                  np.asarray(W, dtype).ravel().tolist())
        container.add_initializer(b_name, proto, [len(b)],
                                  np.asarray(b, dtype).ravel().tolist())
        op = _OPS[model.out_activation_ if last else model.activation]
        z = output if last and op is None else scope.get_unique_variable_name("z")
        container.add_node("Gemm", [h, w_name, b_name], z,
                           name=scope.get_unique_operator_name("Gemm"))
        h = z
        if op is not None:
            out = output if last else scope.get_unique_variable_name("activation")
            attributes = {"axis": 1} if op == "Softmax" else {}
            container.add_node(op, h, out, name=scope.get_unique_operator_name(op),
                               **attributes)
            h = out


def _convert_regressor(scope: Any, operator: Any, container: Any) -> None:
    model = operator.raw_operator
    _check_activations(model)
    _layers(scope, container, model, operator.inputs[0].full_name, _proto(operator),
            operator.outputs[0].full_name)


def register() -> None:
    """Register nncore.sklearn's MLPClassifier and MLPRegressor with skl2onnx."""
    try:
        update_registered_converter = _module("").update_registered_converter
    except ImportError as exc:
        raise ImportError("converting nncore.sklearn's estimators needs skl2onnx: pip "
                          "install skl2onnx") from exc
    from .sklearn import MLPClassifier, MLPRegressor

    update_registered_converter(
        MLPClassifier, CLASSIFIER_ALIAS, _classifier_shape, _convert_classifier,
        options={"zipmap": [True, False, "columns"], "output_class_labels": [False, True],
                 "nocl": [True, False]})
    update_registered_converter(MLPRegressor, REGRESSOR_ALIAS, _regressor_shape,
                                _convert_regressor)
