# SPDX-License-Identifier: MIT
"""ONNX export: ``Network.to_onnx``, ``nncore export`` and skl2onnx's
conversion of ``nncore.sklearn``'s estimators, each run by ONNX Runtime and
held to nncore's own outputs.

Needs onnx and onnxruntime (and skl2onnx for its tests): CI installs them in
its step "ONNX export and PyTorch interchange"; elsewhere these tests skip.
"""
import json
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, hiding, read_csv, run_in_one
from helpers import ACTIVATIONS, DTYPES, OUTPUTS, SHAPES, assert_close

import nncore
from nncore import _onnx, _preprocess

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def session(model):
    return ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"])


def props(model):
    return {p.key: p.value for p in model.metadata_props}


# ---------------------------------------------------------------------------
# The network alone
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_onnx_runtime_equals_forward(activation, output, shape, dtype, rng):
    if output == "softmax" and shape[-1] < 2:
        pytest.skip("a softmax needs two units")
    net = nncore.Network(shape, activation=activation, output=output, dtype=dtype,
                         seed=int(rng.integers(1000)))
    model = net.to_onnx()
    onnx.checker.check_model(model, full_check=True)
    run = session(model)
    assert [i.name for i in run.get_inputs()] == ["X"]
    assert [o.name for o in run.get_outputs()] == ["Y"]
    # One session, several batch sizes: the batch dimension is free. Large
    # inputs reach the saturated ends of sigmoid, tanh and softmax.
    for n, scale in ((1, 1.0), (7, 3.0), (300, 30.0)):
        X = (rng.normal(size=(n, shape[0])) * scale).astype(dtype)
        (Y,) = run.run(None, {"X": X})
        assert Y.dtype == np.dtype(dtype) and Y.shape == (n, shape[-1])
        assert_close(Y, net.forward(X), dtype, f"{activation}/{output}, batch {n}")


def test_graph_is_one_gemm_per_layer_with_the_activation_nodes():
    net = nncore.Network([3, 4, 5, 2], activation="relu", output="softmax", seed=0)
    ops = [node.op_type for node in net.to_onnx().graph.node]
    assert ops == ["Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax"]
    identity = nncore.Network([3, 4, 1], activation="identity", output="identity")
    assert [node.op_type for node in identity.to_onnx().graph.node] == ["Gemm", "Gemm"]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_dtype_and_dynamic_batch_are_declared(dtype):
    model = nncore.Network([3, 2], dtype=dtype).to_onnx()
    expected = onnx.TensorProto.FLOAT if dtype == np.float32 else onnx.TensorProto.DOUBLE
    for value in (model.graph.input[0], model.graph.output[0]):
        tensor = value.type.tensor_type
        assert tensor.elem_type == expected
        assert tensor.shape.dim[0].dim_param == "N"
    assert all(init.data_type == expected for init in model.graph.initializer)


def test_metadata_properties_describe_the_network():
    net = nncore.Network([2, 3, 2], activation="tanh", dtype="float32", seed=0)
    net.metadata = {"classes": ["cat", "dog"], "note": "kept"}
    model = net.to_onnx()
    p = props(model)
    assert json.loads(p["nncore.layer_sizes"]) == [2, 3, 2]
    assert (p["nncore.activation"], p["nncore.output"], p["nncore.dtype"]) == \
        ("tanh", "softmax", "float32")
    assert json.loads(p["classes"]) == ["cat", "dog"]
    assert json.loads(p["nncore.metadata"]) == {"classes": ["cat", "dog"], "note": "kept"}
    assert model.producer_name == "nncore" and model.producer_version == nncore.__version__


@pytest.mark.parametrize("opset", [_onnx.MIN_OPSET, 17, None])
def test_every_supported_opset_checks_and_runs(opset):
    opset = onnx.defs.onnx_opset_version() if opset is None else opset
    net = nncore.Network([3, 4, 2], output="softmax", seed=0)
    model = net.to_onnx(opset=opset)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset
    X = np.linspace(-1, 1, 6).reshape(2, 3)
    assert_close(session(model).run(None, {"X": X})[0], net.forward(X), np.float64)


def test_written_file_is_the_returned_model(tmp_path):
    net = nncore.Network([3, 2], seed=0)
    path = tmp_path / "net.onnx"
    model = net.to_onnx(path)
    assert onnx.load(str(path)) == model
    path.write_bytes(b"old")
    net.to_onnx(str(path))               # replaced
    assert onnx.load(str(path)) == model


@pytest.mark.parametrize("opset, error, match", [
    (12, ValueError, "opset must be between 13 and"),
    (10**6, ValueError, "opset must be between 13 and"),
    (17.0, TypeError, "opset must be an int, got float"),
    ("17", TypeError, "opset must be an int, got str"),
    (True, TypeError, "opset must be an int, got bool"),
])
def test_bad_opset_is_refused(opset, error, match):
    with pytest.raises(error, match=match):
        nncore.Network([2, 2]).to_onnx(opset=opset)


def test_bad_preprocessing_flag_and_paths_are_refused(tmp_path):
    net = nncore.Network([2, 2])
    with pytest.raises(TypeError, match="preprocessing must be a bool, got str"):
        net.to_onnx(preprocessing="no")
    with pytest.raises(IsADirectoryError):
        net.to_onnx(tmp_path)
    missing = tmp_path / "no" / "net.onnx"
    with pytest.raises(FileNotFoundError, match="net.onnx"):
        net.to_onnx(missing)
    assert list(tmp_path.iterdir()) == []


def test_nncore_imports_and_says_what_to_install_without_onnx(tmp_path):
    code = ("import nncore, nncore.export, nncore.cli\n"
            "try:\n    nncore.Network([2, 2]).to_onnx()\n"
            "except ImportError as e:\n    print(e)\n")
    env = hiding(tmp_path, "onnx", "onnxruntime", "skl2onnx", "torch")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Network.to_onnx needs the onnx package: pip install 'nncore[onnx]'" in \
        result.stdout


# ---------------------------------------------------------------------------
# Command-line models: the preprocessing inside the graph
# ---------------------------------------------------------------------------

COLOURS = np.array(["red", "green", "blue"])


def _table(rng, n):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({
        "size (cm)": rng.normal(10, 3, n), "weight": rng.normal(-2, 0.5, n),
        "colour": COLOURS[rng.integers(0, 3, n)].astype(object),
        "count": rng.integers(0, 50, n).astype(float)})
    score = (frame["size (cm)"] - 10) / 3 + (frame["colour"] == "red") - frame["weight"]
    frame["kind"] = np.where(score > 1.5, "big", np.where(score > 0.5, "mid", "small"))
    frame["value"] = 3 * score + 0.1 * frame["count"]
    frame.loc[rng.choice(n, 8, replace=False), "size (cm)"] = np.nan
    frame.loc[rng.choice(n, 5, replace=False), "colour"] = None
    return frame


@pytest.fixture(scope="module")
def cli_models(tmp_path_factory):
    """Classifiers and regressors trained by ``nncore train`` (both dtypes),
    exported by ``nncore export``, and ``nncore predict``'s output on rows
    with missing values and an unseen category."""
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(7)
    _table(rng, 200).to_csv(folder / "train.csv", index=False, na_rep="NA")
    new = _table(rng, 40)
    new.loc[3, "colour"] = "purple"                     # never seen in training
    new.drop(columns=["kind", "value"]).to_csv(folder / "new.csv", index=False,
                                               na_rep="NA")
    cases, predicts, exports = {}, {}, {}
    for dtype in ("float64", "float32"):
        for task, target, drop in (("classification", "kind", "value"),
                                   ("regression", "value", "kind")):
            name = f"{task}-{dtype}"
            cases[name] = ["train", "train.csv", "--target", target, "--drop", drop,
                           "--dtype", dtype, "--epochs", "8", "--hidden", "6",
                           "--activation", "tanh", "--seed", "1", "-o", f"{name}.model"]
            predicts[name] = ["predict", f"{name}.model", "new.csv", "--unseen", "zeros"]
            exports[name] = ["export", f"{name}.model", "-o", f"{name}.onnx"]
    results = {}
    for batch in (cases, exports, predicts):
        for key, result in run_in_one(batch, cwd=folder).items():
            assert result.returncode == 0, (key, result.stderr)
            results[(batch[key][0], key)] = result
    return folder, results


def _raw_feed(run, frame):
    """The raw columns of ``frame`` as the exported model takes them."""
    feed = {}
    for value in run.get_inputs():
        column = frame[value.name]
        if value.type == "tensor(string)":
            feed[value.name] = np.where(column.isna(), "",
                                        column.astype(str)).astype(object)
        else:
            feed[value.name] = column.to_numpy(np.float64)
    return feed


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_cli_model_on_raw_csv_columns_equals_nncore_predict(cli_models, task, dtype):
    pd = pytest.importorskip("pandas")
    folder, results = cli_models
    name = f"{task}-{dtype}"
    model = onnx.load(str(folder / f"{name}.onnx"))
    onnx.checker.check_model(model, full_check=True)
    run = session(model)
    assert [(i.name, i.type) for i in run.get_inputs()] == [
        ("size (cm)", "tensor(double)"), ("weight", "tensor(double)"),
        ("colour", "tensor(string)"), ("count", "tensor(double)")]
    frame = pd.read_csv(folder / "new.csv")
    outputs = run.run(None, _raw_feed(run, frame))
    predicted = read_csv(results[("predict", name)].stdout)
    net = nncore.load(folder / f"{name}.model")
    # The network's own inputs, encoded as nncore predict --unseen zeros does.
    encoded = _preprocess.apply(net.metadata, frame, unseen="zeros")
    if task == "classification":
        assert [o.name for o in run.get_outputs()] == ["label", "probabilities"]
        label, probabilities = outputs
        assert predicted[0] == ["kind"]
        assert label.tolist() == [row[0] for row in predicted[1:]]
        assert probabilities.dtype == np.dtype(dtype)
        assert_close(probabilities, net.forward(encoded), np.dtype(dtype).type)
    else:
        assert [o.name for o in run.get_outputs()] == ["prediction"]
        (prediction,) = outputs
        assert predicted[0] == ["value"] and prediction.dtype == np.float64
        expected = np.array([float(row[0]) for row in predicted[1:]])[:, None]
        assert_close(prediction, expected, np.dtype(dtype).type)
    p = props(model)
    assert json.loads(p["columns"]) == ["size (cm)", "weight", "colour", "count"]
    assert json.loads(p["preprocessing"])["inputs"] == net.metadata["inputs"]


def test_cli_preprocessing_nodes_equal_nncore_encoding_exactly(cli_models):
    # The graph's encoded inputs (its value "encoded") against
    # _preprocess.apply: imputation, scaling and one-hot bit for bit.
    pd = pytest.importorskip("pandas")
    folder, _ = cli_models
    model = onnx.load(str(folder / "regression-float64.onnx"))
    model.graph.output.append(onnx.helper.make_tensor_value_info(
        "encoded", onnx.TensorProto.DOUBLE, ["N", None]))
    run = session(model)
    frame = pd.read_csv(folder / "new.csv")
    encoded = run.run(["encoded"], _raw_feed(run, frame))[0]
    net = nncore.load(folder / "regression-float64.model")
    expected = _preprocess.apply(net.metadata, frame, unseen="zeros")
    assert np.array_equal(encoded, expected)
    assert not expected[3, 2:5].any()         # the unseen colour: all zeros


def test_no_preprocessing_exports_the_bare_network(cli_models):
    folder, _ = cli_models
    net = nncore.load(folder / "classification-float64.model")
    model = net.to_onnx(preprocessing=False)
    run = session(model)
    X = np.random.default_rng(0).normal(size=(5, net.layer_sizes[0]))
    assert [i.name for i in run.get_inputs()] == ["X"]
    assert_close(run.run(None, {"X": X})[0], net.forward(X), np.float64)


def test_output_names_give_way_to_feature_columns():
    net = nncore.Network([2, 3, 2], seed=0)
    net.metadata = {"format": "nncore-cli-model", "version": 2, "task": "classification",
                    "inputs": [{"name": "label", "kind": "numeric", "fill": 0.0,
                                "mean": 0.0, "scale": 1.0},
                               {"name": "probabilities", "kind": "numeric", "fill": 0.0,
                                "mean": 1.0, "scale": 2.0}],
                    "classes": [3, 7], "targets": ["y"], "positional": False,
                    "n_columns": 3, "impute": "mean"}
    model = net.to_onnx()
    onnx.checker.check_model(model, full_check=True)
    run = session(model)
    assert [i.name for i in run.get_inputs()] == ["label", "probabilities"]
    assert [o.name for o in run.get_outputs()] == ["label_", "probabilities_"]
    x = np.array([0.5, -1.0, 2.0])
    label, probabilities = run.run(None, {"label": x, "probabilities": x})
    P = net.forward(np.column_stack([x, (x - 1.0) / 2.0]))
    assert_close(probabilities, P, np.float64)
    assert label.dtype == np.int64 and label.tolist() == [[3, 7][k] for k in P.argmax(1)]


def test_damaged_or_mismatched_cli_metadata_is_refused():
    net = nncore.Network([2, 3, 2], seed=0)
    meta = {"format": "nncore-cli-model", "version": 2, "task": "classification",
            "inputs": [{"name": "a", "kind": "numeric", "fill": 0.0, "mean": 0.0,
                        "scale": 1.0}],
            "classes": ["x", "y"], "targets": ["t"], "positional": False,
            "n_columns": 2, "impute": "mean"}
    net.metadata = meta
    with pytest.raises(ValueError, match="metadata: it describes 1 inputs and 2 outputs, "
                                         "but the network has 2 and 2"):
        net.to_onnx()
    net.metadata = {**meta, "inputs": [{"name": "a", "kind": "text"}]}
    with pytest.raises(ValueError, match="metadata: damaged command-line metadata "
                                         r"\(unknown input kind 'text'\)"):
        net.to_onnx()
    assert [i.name for i in net.to_onnx(preprocessing=False).graph.input] == ["X"]
    unnamed = {"name": "", "kind": "numeric", "fill": 0.0, "mean": 0.0, "scale": 1.0}
    net.metadata = {**meta, "inputs": [meta["inputs"][0], unnamed]}
    with pytest.raises(ValueError, match="a feature column without a name cannot be an "
                                         "ONNX input"):
        net.to_onnx()


def test_export_command_errors_are_one_line(cli_models, tmp_path):
    folder, _ = cli_models
    (tmp_path / "folder.onnx").mkdir()
    (tmp_path / "garbage.model").write_bytes(b"junk")
    model = str(folder / "classification-float64.model")
    results = run_in_one({
        "missing": ["export", "nothing.model", "-o", "x.onnx"],
        "same": ["export", model, "-o", model],
        "folder": ["export", model, "-o", "folder.onnx"],
        "no-dir": ["export", model, "-o", "nowhere/x.onnx"],
        "opset": ["export", model, "-o", "x.onnx", "--opset", "5"],
        "garbage": ["export", "garbage.model", "-o", "x.onnx"],
        "bare": ["export", model, "-o", "bare.onnx", "--no-preprocessing"],
    }, cwd=tmp_path)
    assert_one_line_error(results["missing"], "nothing.model: no such model file")
    assert_one_line_error(results["same"], "is the same file as the model file")
    assert_one_line_error(results["folder"], "folder.onnx: is a folder")
    assert_one_line_error(results["no-dir"], "does not exist")
    assert_one_line_error(results["opset"], "opset must be between 13 and", "got 5")
    assert_one_line_error(results["garbage"], "garbage.model")
    assert results["bare"].returncode == 0, results["bare"].stderr
    assert "inputs: 'X' float64 (N, " in results["bare"].stdout
    assert not (tmp_path / "x.onnx").exists()


def test_export_command_without_onnx_says_what_to_install(cli_models, tmp_path):
    folder, _ = cli_models
    env = hiding(tmp_path, "onnx")
    result = run_in_one({"export": ["export", folder / "regression-float64.model", "-o",
                                    "x.onnx"]}, cwd=tmp_path, env=env)["export"]
    assert_one_line_error(result, "nncore export needs the onnx package",
                          "pip install 'nncore[onnx]'")


# ---------------------------------------------------------------------------
# nncore.sklearn through skl2onnx
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def skl2onnx():
    module = pytest.importorskip("skl2onnx")
    pytest.importorskip("sklearn")
    from nncore.export import register_skl2onnx
    register_skl2onnx()
    register_skl2onnx()                 # twice is harmless
    return module


def _fit(estimator, X, y):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@pytest.mark.parametrize("labels", ["binary", "multiclass", "strings", "multilabel"])
def test_skl2onnx_converts_nncore_classifiers_in_pipelines(skl2onnx, labels, dtype, rng):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nncore.sklearn import MLPClassifier

    X = rng.normal(size=(80, 4)).astype(dtype)
    y = {"binary": np.arange(80) % 2, "multiclass": np.arange(80) % 3,
         "strings": np.array(["a", "b", "c"])[np.arange(80) % 3],
         "multilabel": (rng.random((80, 3)) > 0.5).astype(int)}[labels]
    for model in (MLPClassifier(hidden_layer_sizes=(5, 4), max_iter=20, random_state=0),
                  make_pipeline(StandardScaler(), MLPClassifier(
                      hidden_layer_sizes=(6,), activation="relu", max_iter=20,
                      random_state=0))):
        _fit(model, X, y)
        converted = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False})
        onnx.checker.check_model(converted)
        label, probabilities = session(converted).run(None, {"X": X})
        assert np.array_equal(label, model.predict(X))
        assert_close(probabilities, model.predict_proba(X), dtype)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("n_targets", [1, 2])
def test_skl2onnx_converts_nncore_regressors(skl2onnx, loss, n_targets, dtype, rng):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nncore.sklearn import MLPRegressor

    X = rng.normal(size=(80, 3)).astype(dtype)
    y = (X[:, :n_targets] ** 2).astype(dtype)
    y = y[:, 0] if n_targets == 1 else y
    model = _fit(make_pipeline(StandardScaler(), MLPRegressor(
        hidden_layer_sizes=(5,), activation="tanh", loss=loss, max_iter=20,
        random_state=0)), X, y)
    converted = skl2onnx.to_onnx(model, X[:1])
    onnx.checker.check_model(converted)
    (out,) = session(converted).run(None, {"X": X})
    assert out.shape == (80, n_targets)
    assert_close(out, model.predict(X).reshape(80, n_targets), dtype)



def test_the_docstring_example_runs(tmp_path, monkeypatch):
    # Skipped by the doctest run (which has no onnx); run here, unskipped.
    import doctest
    import re
    monkeypatch.chdir(tmp_path)
    doc = re.sub(r"\s*# doctest: \+SKIP", "", nncore.Network.to_onnx.__doc__)
    test = doctest.DocTestParser().get_doctest(doc, {}, "to_onnx", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False) == (0, 6)


def test_every_activation_and_output_of_nncore_has_an_onnx_node():
    # A new activation in nncore._params fails here until the export knows it.
    from nncore import _params
    assert set(_params.ACTIVATIONS) | set(_params.OUTPUTS) <= set(_onnx._ACTIVATION_OPS)
    assert set(ACTIVATIONS) == set(_params.ACTIVATIONS)
    assert set(OUTPUTS) == set(_params.OUTPUTS)
