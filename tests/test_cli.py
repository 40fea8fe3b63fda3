# SPDX-License-Identifier: MIT
"""The ``nncore`` command line, run as ``python -m nncore`` in subprocesses.

Files of every kind people have, written by the tests from scikit-learn's
bundled data sets: CSV with a byte-order mark and CRLF, semicolons, tabs, no
header, pandas' index column, Parquet, .npy, .npz; missing values and text
features (wine), a small integer regression target and several targets
(linnerud), a real-valued target (diabetes). Each run checks the exit status,
the message and a score. Errors are one line ``nncore: error: ...`` on
stderr with exit status 2 and no traceback. Most of a run's time is importing
NumPy, SciPy and pandas, so runs that need no environment of their own go
one after the other through ``nncore.cli.main`` in a single subprocess
(``run_in_one``); Ctrl-C, hidden modules and injected faults get processes of
their own.
"""
import json
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

import nncore
from cli_helpers import (
    accuracy,
    assert_one_line_error,
    command,
    hiding,
    read_csv,
    run,
    run_in_one,
)

pd = pytest.importorskip("pandas")
datasets = pytest.importorskip("sklearn.datasets")
HAS_PYARROW = __import__("importlib").util.find_spec("pyarrow") is not None

IRIS_FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                 "petal width (cm)"]
SPECIES = np.array(["setosa", "versicolor", "virginica"])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The data files, written once for the module."""
    folder = tmp_path_factory.mktemp("data")
    iris = datasets.load_iris(as_frame=True).frame
    iris["species"] = SPECIES[iris.pop("target")]
    iris.to_csv(folder / "iris.csv", index=False)
    iris.to_csv(folder / "iris_index.csv")                      # unnamed index column
    iris.to_csv(folder / "iris_semicolon.csv", sep=";", index=False)
    iris.to_csv(folder / "iris.tsv", sep="\t", index=False)
    iris.to_csv(folder / "iris_noheader.csv", header=False, index=False)
    with open(folder / "iris_excel.csv", "w", encoding="utf-8-sig", newline="") as f:
        iris.to_csv(f, index=False, lineterminator="\r\n")       # Excel's "CSV UTF-8"
    if HAS_PYARROW:
        iris.to_parquet(folder / "iris.parquet")
    X, y = datasets.load_iris(return_X_y=True)
    np.save(folder / "iris.npy", np.column_stack([X, y]))
    np.save(folder / "iris_features.npy", X)
    np.savez(folder / "iris.npz", X=X, y=SPECIES[y])
    # Quoted fields: a label with the delimiter inside.
    quoted = iris.copy()
    quoted["species"] = quoted["species"].map({"setosa": "setosa, the small",
                                               "versicolor": "versicolor",
                                               "virginica": "virginica"})
    quoted.to_csv(folder / "iris_quoted.csv", index=False)

    wine = datasets.load_wine(as_frame=True).frame
    rng = np.random.default_rng(0)
    wine.loc[rng.choice(len(wine), 10, replace=False), "alcohol"] = np.nan
    wine.loc[rng.choice(len(wine), 5, replace=False), "magnesium"] = np.nan
    wine["colour"] = np.where(wine["hue"] > 1, "light", "dark")
    wine["colour"] = wine["colour"].astype(object)
    wine.loc[3, "colour"] = None
    wine.to_csv(folder / "wine.csv", index=False, na_rep="NA")
    unseen = wine.drop(columns="target").head(5).copy()
    unseen.loc[2, "colour"] = "purple"
    unseen.to_csv(folder / "wine_unseen.csv", index=False)

    linnerud = datasets.load_linnerud(as_frame=True)
    pd.concat([linnerud.data, linnerud.target], axis=1).to_csv(
        folder / "linnerud.csv", index=False)
    diabetes = datasets.load_diabetes(as_frame=True, scaled=False).frame
    diabetes.to_csv(folder / "diabetes.csv", index=False)
    (folder / "ragged.csv").write_text("a,b,label\n1,2,0\n3,4\n5,6,1\n")
    (folder / "typo.csv").write_text("a,b,label\n" + "".join(
        f"{k},{'four' if k == 7 else k * 2},{k % 2}\n" for k in range(40)))
    (folder / "noise.npz").write_bytes(b"not an archive\n" * 10)
    (folder / "twice.csv").write_text("a,b,a,label\n1,2,3,0\n4,5,6,1\n")
    (folder / "unnamed.csv").write_text("a,,b,label\n1,2,3,0\n4,5,6,1\n")
    (folder / "ids.csv").write_text("name,x,label\n" + "".join(
        f"person{k},{k},{k % 2}\n" for k in range(300)))
    (folder / "no_target.csv").write_text("x,label\n" + "".join(
        f"{k},{'' if k in (3, 5) else k % 2}\n" for k in range(30)))
    (folder / "partial.csv").write_text("sepal length (cm),sepal width (cm)\n1,2\n")
    return folder


# Every kind of iris file, the options it needs, and the class labels.
IRIS_KINDS = {
    "csv": ["iris.csv", "--target", "species"],
    "excel": ["iris_excel.csv", "--target", "species"],
    "semicolon": ["iris_semicolon.csv", "--target", "species"],
    "tsv": ["iris.tsv", "--target", "species"],
    "index": ["iris_index.csv", "--target", "species"],
    "noheader": ["iris_noheader.csv", "--no-header", "--target", "4"],
    "quoted": ["iris_quoted.csv", "--target", "species"],
    "npy": ["iris.npy", "--target", "-1"],
    "npz": ["iris.npz"],
    "parquet": ["iris.parquet", "--target", "species"],
}


@pytest.fixture(scope="module")
def iris_runs(folder):
    """Train on every kind of iris file, then predict on the same file."""
    kinds = {k: v for k, v in IRIS_KINDS.items() if k != "parquet" or HAS_PYARROW}
    trained = run_in_one({kind: ["train", *args, "--epochs", "15", "--hidden", "8",
                              "-o", f"{kind}.model"] for kind, args in kinds.items()},
                      cwd=folder)
    predicted = run_in_one({kind: ["predict", f"{kind}.model", args[0],
                                *(["--no-header"] if "--no-header" in args else [])]
                         for kind, args in kinds.items()}, cwd=folder)
    return trained, predicted


@pytest.mark.parametrize("kind", list(IRIS_KINDS))
def test_train_and_predict_on_every_kind_of_file(folder, iris_runs, kind):
    if kind == "parquet" and not HAS_PYARROW:
        pytest.skip("pyarrow is not installed")
    trained, predicted = iris_runs
    result = trained[kind]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("task: classification of ")
    assert "4 feature columns -> 4 inputs" in result.stdout
    assert f"saved {kind}.model" in result.stdout
    net = nncore.load(folder / f"{kind}.model")
    assert net.layer_sizes == (4, 8, 3)
    result = predicted[kind]
    assert result.returncode == 0, result.stderr
    labels = datasets.load_iris().target
    names = {"npy": np.array(["0.0", "1.0", "2.0"]), "quoted": np.array(
        ["setosa, the small", "versicolor", "virginica"])}.get(kind, SPECIES)
    rows = read_csv(result.stdout)
    assert len(rows) == 151
    if names[0] == "0.0":
        predicted_labels = [float(row[0]) for row in rows[1:]]
        score = np.mean(np.array(predicted_labels) == labels)
    else:
        score = accuracy(result.stdout, names[labels])
    assert score > 0.85, (kind, score)


def test_index_column_and_header_are_understood(iris_runs):
    trained, _ = iris_runs
    assert "first column of iris_index.csv has no name" in trained["index"].stderr
    # The BOM is not part of the first name: it is found by name.
    assert "'sepal length (cm)'" not in trained["excel"].stderr
    assert trained["npz"].stdout.startswith("task: classification of 'y' (text values")


def test_predict_finds_columns_by_name_in_any_order(folder, iris_runs):
    reordered = pd.read_csv(folder / "iris.csv")[IRIS_FEATURES[::-1]]
    reordered.to_csv(folder / "reordered.csv", index=False)
    results = run_in_one({"same": ["predict", "csv.model", "iris.csv"],
                       "reordered": ["predict", "csv.model", "reordered.csv", "-o",
                                     "out.csv"],
                       "npy by position": ["predict", "npy.model", "iris_features.npy"]},
                      cwd=folder)
    for result in results.values():
        assert result.returncode == 0, result.stderr
    assert results["reordered"].stdout == ""
    assert (folder / "out.csv").read_text() == results["same"].stdout
    assert results["npy by position"].stdout == iris_runs[1]["npy"].stdout


def test_features_and_drop_choose_the_columns(folder, tmp_path):
    iris = pd.read_csv(folder / "iris.csv")
    iris.drop(columns=["sepal width (cm)", "species"]).to_csv(tmp_path / "three.csv",
                                                              index=False)
    results = run_in_one({
        "features": ["train", folder / "iris.csv", "--target", "species", "--features",
                     "petal length (cm),3", "--epochs", "3", "-o", "two.model"],
        "drop": ["train", folder / "iris.csv", "--target", "species", "--drop",
                 "sepal width (cm)", "--epochs", "3", "-o", "three.model"],
        "predict": ["predict", "three.model", "three.csv"],
        "both": ["train", folder / "iris.csv", "--target", "species", "--features",
                 "species,petal length (cm)", "-o", "never.model"]}, cwd=tmp_path)
    assert results["features"].returncode == 0, results["features"].stderr
    assert "2 feature columns -> 2 inputs" in results["features"].stdout
    assert [spec["name"] for spec in nncore.load(tmp_path / "two.model").metadata[
        "inputs"]] == ["petal length (cm)", "petal width (cm)"]
    assert "3 feature columns -> 3 inputs" in results["drop"].stdout
    assert results["predict"].returncode == 0, results["predict"].stderr
    assert len(read_csv(results["predict"].stdout)) == 151
    assert_one_line_error(results["both"], "column 'species' is both a target and a "
                          "feature")


def test_info_shows_task_columns_and_which_epoch_the_weights_are_from(folder, iris_runs):
    result = run("info", "csv.model", cwd=folder)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[4, 8, 3]" in out
    assert "activation: sigmoid; output: softmax; dtype: float32" in out
    assert "classification of 'species' into 3 classes: setosa, versicolor, virginica" \
        in out
    assert "numeric, standardised" in out and "sepal length (cm)" in out
    assert "training: 15 epochs trained; the weights are from epoch " in out
    assert "validation accuracy" in out


def test_missing_values_and_text_features(folder):
    results = run_in_one({
        "mean": ["train", "wine.csv", "--target", "target", "--epochs", "20", "-o",
                 "wine.model", "--test-fraction", "0.2"],
        "error": ["train", "wine.csv", "--target", "target", "--impute", "error",
                  "-o", "never.model"]}, cwd=folder)
    result = results["mean"]
    assert result.returncode == 0, result.stderr
    # Every column with missing values, in one note.
    notes = [line for line in result.stderr.splitlines() if "missing values" in line]
    assert len(notes) == 1
    assert "'alcohol' (10 rows)" in notes[0] and "'magnesium' (5 rows)" in notes[0]
    assert "'colour' (1 row)" in notes[0]
    assert "14 feature columns (1 one-hot encoded) -> 15 inputs" in result.stdout
    test_line = [line for line in result.stdout.splitlines() if line.startswith("test")]
    assert float(test_line[0].split("accuracy: ")[1].split("%")[0]) > 85
    assert_one_line_error(results["error"], "missing values in 3 columns", "'alcohol'",
                          "'magnesium'", "'colour'", "--impute mean")
    assert not (folder / "never.model").exists()
    unseen = run_in_one({"error": ["predict", "wine.model", "wine_unseen.csv"],
                      "zeros": ["predict", "wine.model", "wine_unseen.csv", "--unseen",
                                "zeros"]}, cwd=folder)
    assert_one_line_error(unseen["error"], "wine_unseen.csv, line 4", "'colour'",
                          "'purple'", "known: 'dark', 'light'", "--unseen zeros")
    assert unseen["zeros"].returncode == 0, unseen["zeros"].stderr
    assert len(read_csv(unseen["zeros"].stdout)) == 6


def test_test_score_is_close_to_nncore_sklearn_on_the_same_split(folder, tmp_path):
    from nncore.sklearn import MLPClassifier

    wine = datasets.load_wine()
    frame = pd.DataFrame(wine.data, columns=wine.feature_names)
    frame["target"] = wine.target
    frame.to_csv(tmp_path / "wine.csv", index=False)
    result = run("train", "wine.csv", "--target", "target", "--test-fraction", "0.3",
                 "--epochs", "30", "--seed", "3", "-o", "wine.model", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("test"))
    cli_score = float(line.split("accuracy: ")[1].split("%")[0]) / 100
    # The same split: the command line shuffles with default_rng(seed) and
    # takes the test rows first, then the validation rows.
    n = len(frame)
    order = np.random.default_rng(3).permutation(n)
    n_test, n_valid = int(np.ceil(0.3 * n)), int(np.ceil(0.2 * n))
    test, train = order[:n_test], order[n_test + n_valid:]
    X, y = wine.data, wine.target
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=2000, random_state=0)
    model.fit((X[train] - mean) / std, y[train])
    sklearn_score = model.score((X[test] - mean) / std, y[test])
    print(f"command line {cli_score:.3f}, nncore.sklearn {sklearn_score:.3f}")
    assert sklearn_score > 0.85 and cli_score > sklearn_score - 0.08, \
        (cli_score, sklearn_score)


def test_task_is_inferred_said_and_overridden(folder):
    results = run_in_one({
        "weight": ["train", "linnerud.csv", "--target", "Weight", "--epochs", "30",
                   "-o", "weight.model"],
        "forced": ["train", "linnerud.csv", "--target", "Weight", "--task",
                   "classification", "--validation-fraction", "0", "--epochs", "1",
                   "-o", "forced.model"],
        "three": ["train", "linnerud.csv", "--target", "Weight,Waist,Pulse",
                  "--epochs", "30", "--batch-size", "4", "-o", "three.model"],
        "twice": ["train", "linnerud.csv", "--target", "Weight", "--target", "Waist",
                  "-o", "twice.model"],
        "diabetes": ["train", "diabetes.csv", "--target", "target", "--epochs", "60",
                     "--optimizer", "adam", "--learning-rate", "0.01", "--batch-size",
                     "16", "--patience", "10", "--test-fraction", "0.2", "--plot",
                     "curves.png", "-o", "diabetes.model"]}, cwd=folder)
    weight = results["weight"]
    assert weight.returncode == 0, weight.stderr
    assert weight.stdout.startswith(
        "task: regression of 'Weight' (integer values, 16 distinct in 20 rows: fewer "
        "than 5 rows per value for classes; --task overrides)")
    assert nncore.load(folder / "weight.model").output == "identity"
    assert results["forced"].returncode == 0, results["forced"].stderr
    assert results["forced"].stdout.startswith("task: classification of 'Weight' (--task")
    three = results["three"]
    assert three.returncode == 0, three.stderr
    assert "regression of 'Weight', 'Waist', 'Pulse' (3 targets" in three.stdout
    assert nncore.load(folder / "three.model").layer_sizes == (3, 32, 3)
    predicted = run("predict", "three.model", "linnerud.csv", cwd=folder)
    assert predicted.returncode == 0, predicted.stderr
    rows = read_csv(predicted.stdout)
    assert rows[0] == ["Weight", "Waist", "Pulse"] and len(rows) == 21
    assert all(100 < float(row[0]) < 260 for row in rows[1:])
    twice = results["twice"]
    assert twice.returncode == 2 and "--target given twice" in twice.stderr
    diabetes = results["diabetes"]
    assert diabetes.returncode == 0, diabetes.stderr
    assert "more than 20 for classes" in diabetes.stdout
    lines = diabetes.stdout.splitlines()
    validation = next(line for line in lines if line.startswith("validation R^2: last"))
    assert ", best " in validation
    test = next(line for line in lines if line.startswith("test R^2: "))
    assert float(test.split()[2]) > 0.3, test
    assert "never used to train or to pick the epoch" in test
    if "figure: curves.png" in diabetes.stdout:
        assert (folder / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_progress_goes_to_stderr_and_results_to_stdout(folder, tmp_path):
    result = run("train", folder / "iris.csv", "--target", "species", "--epochs", "3",
                 "-o", "m.model", cwd=tmp_path, env=hiding(tmp_path, "tqdm"))
    assert result.returncode == 0, result.stderr
    epochs = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1/3", "epoch 2/3",
                                                       "epoch 3/3"]
    assert all("validation accuracy" in line for line in epochs)
    assert "epoch 1/3" not in result.stdout
    assert "validation accuracy: last" in result.stdout


def test_the_model_is_one_file_that_load_describes(folder, iris_runs):
    assert not (folder / "csv.model.meta.json").exists()
    meta = nncore.load(folder / "csv.model").metadata
    assert meta["task"] == "classification" and meta["targets"] == ["species"]
    assert meta["classes"] == list(SPECIES)
    assert [spec["name"] for spec in meta["inputs"]] == IRIS_FEATURES
    # The preprocessing, applied from Python, gives predict's labels.
    from nncore.cli import _meta

    frame = pd.read_csv(folder / "iris.csv")
    net = nncore.load(folder / "csv.model")
    labels = np.array(meta["classes"])[net.forward(_meta.apply(meta, frame)).argmax(1)]
    rows = read_csv(iris_runs[1]["csv"].stdout)[1:]
    assert labels.tolist() == [row[0] for row in rows]


def test_version_1_models_with_their_sidecar_still_predict(folder, tmp_path):
    # A model as nncore 0.x's train wrote it: the network file and a JSON
    # sidecar with the scaling and the classes.
    X, y = datasets.load_iris(return_X_y=True)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    net = nncore.Network([4, 8, 3], seed=0)
    net.fit((X - mean) / scale, y, epochs=20, seed=0)
    net.save(tmp_path / "old.model")
    sidecar = {"format": "nncore-cli-model", "version": 1, "task": "classification",
               "target": "species", "target_column": 4, "n_columns": 5,
               "features": IRIS_FEATURES, "input_mean": mean.tolist(),
               "input_scale": scale.tolist(), "data": "iris.csv",
               "validation_fraction": 0.2, "validation": {"epoch": 20, "score": 0.9},
               "classes": list(SPECIES), "metric": "accuracy"}
    (tmp_path / "old.model.meta.json").write_text(json.dumps(sidecar))
    results = run_in_one({"predict": ["predict", "old.model", folder / "iris.csv"],
                       "info": ["info", "old.model"]}, cwd=tmp_path)
    assert results["predict"].returncode == 0, results["predict"].stderr
    expected = SPECIES[net.forward((X - mean) / scale).argmax(axis=1)]
    assert [row[0] for row in read_csv(results["predict"].stdout)[1:]] == \
        expected.tolist()
    assert results["info"].returncode == 0, results["info"].stderr
    assert "classification of 'species' into 3 classes" in results["info"].stdout


V1 = Path(__file__).parent / "data" / "cli_v1"


@pytest.mark.parametrize("name, data", [("iris", "iris60.csv"),
                                        ("diabetes", "diabetes.npy"),
                                        ("wine", "wine.npz")])
def test_version_1_models_predict_what_they_predicted_before(name, data, tmp_path):
    # Models and predictions written by nncore 0.1 (see data/cli_v1/README.md):
    # the same labels, the same values up to float32 rounding.
    for path in V1.iterdir():
        shutil.copy(path, tmp_path)
    result = run("predict", f"v1_{name}.model", data, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = read_csv(result.stdout)
    expected = read_csv((V1 / f"v1_{name}.expected.csv").read_text())
    assert rows[0] == expected[0] and len(rows) == len(expected)
    if name == "diabetes":
        # float32 values, printed to 8 digits: the instruction-set variants
        # of the core may differ in the last bit.
        np.testing.assert_allclose([float(r[0]) for r in rows[1:]],
                                   [float(r[0]) for r in expected[1:]], rtol=1e-6)
    else:
        assert rows == expected


def test_training_over_a_version_1_model_removes_its_stale_sidecar(folder, tmp_path):
    for path in V1.iterdir():
        shutil.copy(path, tmp_path)
    result = run("train", folder / "iris.csv", "--target", "species", "--epochs", "2",
                 "-o", "v1_iris.model", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "v1_iris.model.meta.json").exists()
    assert nncore.load(tmp_path / "v1_iris.model").metadata["targets"] == ["species"]
    # The same model file alone, copied elsewhere, predicts the same.
    (tmp_path / "alone").mkdir()
    shutil.copy(tmp_path / "v1_iris.model", tmp_path / "alone" / "model")
    results = run_in_one({"here": ["predict", "v1_iris.model", "iris60.csv"],
                          "alone": ["predict", "alone/model", "iris60.csv"]},
                         cwd=tmp_path)
    assert results["here"].returncode == 0, results["here"].stderr
    assert results["alone"].stdout == results["here"].stdout


def test_a_network_saved_from_python_gives_raw_outputs(folder, tmp_path):
    nncore.Network([4, 4, 3], seed=0).save(tmp_path / "plain.model")
    results = run_in_one({"predict": ["predict", "plain.model",
                                   folder / "iris_features.npy"],
                       "info": ["info", "plain.model"]}, cwd=tmp_path)
    rows = read_csv(results["predict"].stdout)
    assert rows[0] == ["class"] and len(rows) == 151
    assert {row[0] for row in rows[1:]} <= {"0", "1", "2"}
    assert "loss history: none recorded" in results["info"].stdout
    assert "command-line metadata: none" in results["info"].stdout


# ---------------------------------------------------------------------------
# No subcommand, help, demo, bench
# ---------------------------------------------------------------------------

def test_no_subcommand_prints_help_and_demo_help_shows_percent(tmp_path):
    results = run_in_one({"none": [], "demo": ["demo", "--help"]}, cwd=tmp_path)
    assert results["none"].returncode == 2 and results["none"].stdout == ""
    for name in ("demo", "train", "predict", "info", "export", "bench"):
        assert name in results["none"].stderr
    text = " ".join(results["demo"].stdout.split())
    assert "80% of a data set" in text and "other 20%," in text and "%%" not in text


def test_demo_trains_on_digits_and_compares_with_the_reference(tmp_path):
    result = run("demo", "--epochs", "3", "--hidden", "16", cwd=tmp_path,
                 env=hiding(tmp_path, "pandas"))       # the demo needs no pandas
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert float(out.split("test accuracy: ")[1].split("%")[0]) > 80
    assert "samples/s" in out.split("training time: ")[1].splitlines()[0]
    reference = out.split("pure-Python reference")[1].splitlines()[0]
    assert "samples/s" in reference and "x faster" in reference
    assert "3/3" in result.stderr


@pytest.mark.skipif(__import__("importlib").util.find_spec("matplotlib") is None,
                    reason="matplotlib is not installed")
def test_demo_plots_the_moving_decision_boundary_of_the_moons(tmp_path):
    result = run("demo", "--dataset", "moons", "--epochs", "8", "--plot", "moons.png",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "figure: moons.png" in result.stdout
    figure = (tmp_path / "moons.png").read_bytes()
    assert figure.startswith(b"\x89PNG") and len(figure) > 10_000


def test_bench_prints_a_speed_table_and_skips_missing_peers(tmp_path):
    result = run("bench", "--budget", "0.005", cwd=tmp_path,
                 env=hiding(tmp_path, "torch", "sklearn"))
    assert result.returncode == 0, result.stderr
    assert "torch: not installed, skipped" in result.stderr
    assert "sklearn: not installed, skipped" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["cell", "nncore", "reference", "numpy"]
    cells = [line for line in lines if line.startswith(("fit ", "forward "))]
    assert len(cells) == 8
    assert all("x)" in line for line in cells)


# ---------------------------------------------------------------------------
# Errors: one line, exit status 2, never a traceback
# ---------------------------------------------------------------------------

ERRORS = {
    "missing data file": (["train", "missing.csv", "--target", "label", "-o", "m"],
                          ["missing.csv", "No such file"]),
    "missing data for predict": (["predict", "csv.model", "missing.npy"],
                                 ["missing.npy", "No such file"]),
    "ragged CSV row": (["train", "ragged.csv", "--target", "label", "-o", "m"],
                       ["ragged.csv"]),
    "typo in a numeric column": (["train", "typo.csv", "--target", "label", "-o", "m"],
                                 ["typo.csv, line 9", "column 'b'", "'four'",
                                  "39 of its 40 values are numbers"]),
    "unknown column": (["train", "iris.csv", "--target", "colour", "-o", "m"],
                       ["no column 'colour'", "'species'"]),
    "column index out of range": (["train", "iris.npy", "--target", "7", "-o", "m"],
                                  ["iris.npy has no column 7", "5 columns"]),
    "name for a NumPy column": (["train", "iris.npy", "--target", "y", "-o", "m"],
                                ["no column names"]),
    "not an npz archive": (["train", "noise.npz", "-o", "m"],
                           ["noise.npz", "not an .npz archive"]),
    "wrong number of features": (["predict", "npy.model", "linnerud.csv"],
                                 ["linnerud.csv has 6 columns", "expects 4 features"]),
    "missing feature column": (["predict", "csv.model", "partial.csv"],
                               ["partial.csv lacks the columns 'petal length (cm)'"]),
    "missing model": (["predict", "nothing.model", "iris.csv"],
                      ["nothing.model: no such model file"]),
    "unreadable model": (["predict", "noise.npz", "iris.csv"],
                         ["noise.npz: not an nncore model file"]),
    "unreadable model (info)": (["info", "noise.npz"], ["noise.npz: not an nncore model"]),
    "output folder missing": (["train", "iris.csv", "--target", "species",
                               "-o", "nowhere/m"], ["does not exist"]),
    "device as data": (["train", "/dev/zero", "--target", "0", "-o", "m"],
                       ["/dev/zero: not a regular file"]),
    "empty hidden": (["train", "iris.csv", "--target", "species", "--hidden", "",
                      "-o", "m"], ["--hidden", "got nothing"]),
    "negative seed": (["train", "iris.csv", "--target", "species", "--seed", "-1",
                       "-o", "m"], ["--seed", "non-negative integer"]),
    "momentum with adam": (["train", "iris.csv", "--target", "species", "--optimizer",
                            "adam", "--momentum", "0.9", "-o", "m"],
                           ["--momentum is sgd's"]),
    "text target for regression": (["train", "iris.csv", "--target", "species",
                                    "--task", "regression", "-o", "m"],
                                   ["holds text", "regression"]),
    "a name twice": (["train", "twice.csv", "--target", "label", "-o", "m"],
                     ["twice.csv, line 1", "column 'a' appears twice"]),
    "a column without a name": (["train", "unnamed.csv", "--target", "label", "-o", "m"],
                                ["unnamed.csv, line 1", "column 1 has no name"]),
    "an identifier column": (["train", "ids.csv", "--target", "label", "-o", "m"],
                             ["column 'name' has 240 distinct text values",
                              "identifier", "--drop it"]),
    "missing targets": (["train", "no_target.csv", "--target", "label", "-o", "m"],
                        ["the target 'label' is missing in 2 rows", "line 5"]),
    "patience without validation": (["train", "iris.csv", "--target", "species",
                                     "--patience", "3", "--validation-fraction", "0",
                                     "-o", "m"], ["--patience", "--validation-fraction"]),
    "several targets to classify": (["train", "linnerud.csv", "--target",
                                     "Weight,Waist", "--task", "classification",
                                     "-o", "m"], ["multi-output"]),
}


@pytest.fixture(scope="module")
def error_runs(folder, iris_runs):
    return run_in_one({name: args for name, (args, _) in ERRORS.items()}, cwd=folder)


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_are_one_line_with_exit_status_2(error_runs, case):
    result = error_runs[case]
    if case in ("empty hidden", "negative seed"):
        # argparse's own usage errors: the usage, then one error line.
        assert result.returncode == 2 and "Traceback" not in result.stderr
        last = result.stderr.splitlines()[-1]
        assert last.startswith("nncore train: error: ")
        assert all(fragment in last for fragment in ERRORS[case][1]), last
        return
    assert_one_line_error(result, *ERRORS[case][1])


def test_without_pandas_reading_data_says_what_to_install(folder, tmp_path):
    result = run("train", folder / "iris.csv", "--target", "species", "-o", "m.model",
                 cwd=tmp_path, env=hiding(tmp_path, "pandas"))
    assert_one_line_error(result, "needs pandas", "pip install 'nncore[cli]'")


def test_without_pyarrow_csv_is_read_by_pandas_own_parser(folder, tmp_path):
    if not HAS_PYARROW:
        pytest.skip("pyarrow is not installed: every run here uses pandas' parser")
    env = hiding(tmp_path, "pyarrow")
    results = run_in_one({"csv": ["train", folder / "iris_excel.csv", "--target", "species",
                               "--epochs", "5", "-o", "m.model"],
                       "parquet": ["train", folder / "iris.parquet", "--target",
                                   "species", "-o", "p.model"]}, cwd=tmp_path, env=env)
    assert results["csv"].returncode == 0, results["csv"].stderr
    assert_one_line_error(results["parquet"], "Parquet needs pyarrow")


# ---------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------

def test_ctrl_c_during_train_keeps_the_best_model(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20_000, 20))
    y = (X[:, :3].sum(axis=1) > 0).astype(float)
    np.save(tmp_path / "big.npy", np.column_stack([X, y]))
    child = subprocess.Popen(
        command("train", "big.npy", "--target", "-1", "--hidden", "64",
                "--epochs", "100000", "-o", "big.model"),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=hiding(tmp_path, "tqdm"))
    try:
        first_epoch = child.stderr.readline()
        assert first_epoch.startswith("epoch 1/100000") and "(saved)" in first_epoch
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 130, err
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("nncore: interrupted after")
    assert "big.model holds the best model so far" in last
    assert out.startswith("task: classification of '20'")
    net = nncore.load(tmp_path / "big.model")
    assert net.layer_sizes == (20, 64, 2) and len(net.history) >= 1
    info = run("info", "big.model", cwd=tmp_path)
    assert "classes: 0, 1" in info.stdout
    assert "trained; the weights are from epoch" in info.stdout
