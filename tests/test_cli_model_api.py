# SPDX-License-Identifier: MIT
"""A model written by ``nncore train``, used from Python: ``nncore.load`` gives
back a Network whose ``predict``, ``predict_proba`` and ``score`` take the raw
table and give what ``nncore predict`` prints (issue 11, item 7)."""
import numpy as np
import pytest

import nncore
from cli_helpers import read_csv, run_in_one

pd = pytest.importorskip("pandas")
datasets = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Iris with a text column and a few missing values (classification) and
    diabetes (regression), each trained and predicted by the command line."""
    folder = tmp_path_factory.mktemp("cli_models")
    iris = datasets.load_iris(as_frame=True).frame
    iris["target"] = np.array(["setosa", "versicolor", "virginica"])[iris["target"]]
    # A categorical feature (petal size band) and missing values to impute.
    iris["band"] = np.where(iris["petal length (cm)"] > 4.5, "long",
                            np.where(iris["petal length (cm)"] > 2.5, "mid", "short"))
    iris.loc[[3, 70, 120], "sepal width (cm)"] = np.nan
    iris.to_csv(folder / "iris.csv", index=False)
    diabetes = datasets.load_diabetes(as_frame=True, scaled=False).frame
    diabetes.to_csv(folder / "diabetes.csv", index=False)
    common = ["--epochs", "15", "--seed", "0", "--hidden", "8"]
    results = run_in_one({
        "train iris": ["train", "iris.csv", "--target", "target", "-o", "iris.model",
                       *common],
        "train diabetes": ["train", "diabetes.csv", "--target", "target",
                           "-o", "diabetes.model", *common],
        "predict iris": ["predict", "iris.model", "iris.csv"],
        "predict diabetes": ["predict", "diabetes.model", "diabetes.csv"],
    }, cwd=folder)
    for name, result in results.items():
        assert result.returncode == 0, (name, result.stderr)
    printed = {name: read_csv(results[f"predict {name}"].stdout)
               for name in ("iris", "diabetes")}
    return folder, {"iris": iris, "diabetes": diabetes}, printed


def test_a_classifier_predicts_from_the_raw_table_as_the_command_line(models):
    folder, frames, printed = models
    net = nncore.load(folder / "iris.model")
    frame = frames["iris"]
    assert printed["iris"][0] == ["target"]
    expected = [row[0] for row in printed["iris"][1:]]
    assert net.predict(frame).tolist() == expected
    # A dict of column arrays, in another order and without the target, too.
    columns = {name: frame[name].to_numpy() for name in reversed(frame.columns)
               if name != "target"}
    assert net.predict(columns).tolist() == expected
    proba = net.predict_proba(frame)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert np.asarray(net.metadata["classes"])[proba.argmax(axis=1)].tolist() == expected
    assert net.score(frame, frame["target"]) == \
        np.mean(np.array(expected) == frame["target"].to_numpy())


def test_a_regressor_predicts_in_the_targets_units(models):
    folder, frames, printed = models
    net = nncore.load(folder / "diabetes.model")
    frame = frames["diabetes"]
    assert printed["diabetes"][0] == ["target"]
    expected = np.array([float(row[0]) for row in printed["diabetes"][1:]])
    predicted = net.predict(frame)
    assert predicted.shape == (442,)
    np.testing.assert_allclose(predicted, expected, rtol=1e-6)
    # In the target's units: near its mean, not near 0 as the scaled outputs.
    assert abs(predicted.mean() - frame["target"].mean()) < frame["target"].std()
    # All columns numeric: a plain array of the features in order is taken.
    features = frame.drop(columns="target").to_numpy()
    np.testing.assert_allclose(net.predict(features), expected, rtol=1e-6)
    y = frame["target"].to_numpy()
    r2 = 1 - ((y - expected) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert net.score(frame, y) == pytest.approx(r2, rel=1e-6)


def test_a_plain_array_for_a_model_with_a_text_column_says_what_to_pass(models):
    folder, frames, _ = models
    net = nncore.load(folder / "iris.model")
    numbers = frames["iris"].drop(columns=["target", "band"]).to_numpy()
    with pytest.raises(TypeError, match="categorical column.*'band'.*pass a pandas "
                                        "DataFrame or a dict of column arrays"):
        net.predict(numbers)


def test_a_table_without_a_training_column_is_named(models):
    folder, frames, _ = models
    net = nncore.load(folder / "iris.model")
    with pytest.raises(ValueError, match="lacks the column 'band'"):
        net.predict(frames["iris"].drop(columns="band"))
    with pytest.raises(ValueError, match="column 'band' has 1 value training never saw"):
        net.predict(frames["iris"].assign(band="huge"))


def test_a_plain_array_of_the_wrong_width_says_what_to_pass(models):
    folder, frames, _ = models
    net = nncore.load(folder / "diabetes.model")
    with pytest.raises(TypeError, match=r"must then have 10 columns.*pass a pandas"):
        net.predict(frames["diabetes"].to_numpy())      # with the target: 11
