# SPDX-License-Identifier: MIT
"""The command line against what an adversarial review found (issue 11, items
11 to 14), each as a subprocess run that failed before the fix:

- an output that is the same file as an input is refused, the input intact;
- huge finite values (a target near 1e300, a feature near 1e160) train and
  predict with finite scaling and scores, and "saved" follows a real save;
- class and feature names from files are printed with escapes escaped;
- running out of memory says what was too big and what to do.
"""
import json
import os

import numpy as np
import pytest

import nncore
from cli_helpers import assert_one_line_error, hiding, read_csv, run, run_in_one

ESCAPE = "\x1b"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reliability")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    lines = ["a,b,c,label"] + [f"{a},{b},{c},{label}" for (a, b, c), label in zip(X, y)]
    (folder / "data.csv").write_text("\n".join(lines) + "\n")
    np.save(folder / "data.npy", np.column_stack([X, y]))
    # A target near 1e300 and a feature near 1e160: finite, but their
    # squares are not.
    big_y = 1e300 * (1 + 0.5 * X[:, 0] + 0.2 * X[:, 1])
    big_lines = ["a,b,c,value"] + [f"{1e160 * a},{b},{c},{v}"
                                   for (a, b, c), v in zip(X.tolist(), big_y.tolist())]
    (folder / "huge.csv").write_text("\n".join(big_lines) + "\n")
    # Names that are terminal escape sequences: a window title, a colour.
    title, red = "\x1b]0;owned\x07", "\x1b[31mred"
    esc_lines = [f"{red},b,label"] + [
        f"{a},{b},{title if label else 'plain'}" for (a, b, _), label in zip(X, y)]
    (folder / "escapes.csv").write_text("\n".join(esc_lines) + "\n")
    return folder


def test_an_output_that_is_an_input_is_refused(folder, tmp_path):
    # In a folder of its own: before the fix, these runs destroyed their input.
    before = (folder / "data.csv").read_bytes()
    folder = tmp_path
    data = folder / "data.csv"
    data.write_bytes(before)
    trained = run("train", "data.csv", "--target", "label", "--epochs", "2",
                  "-o", "model.nncore", cwd=folder)
    assert trained.returncode == 0, trained.stderr
    os.link(data, folder / "hardlink.csv")
    model_before = (folder / "model.nncore").read_bytes()
    results = run_in_one({
        "train -o data": ["train", "data.csv", "--target", "label", "-o", "data.csv"],
        "train -o link": ["train", "data.csv", "--target", "label", "-o", "hardlink.csv"],
        "train --plot data": ["train", "data.csv", "--target", "label", "-o", "m2",
                              "--plot", "./data.csv"],
        "predict -o data": ["predict", "model.nncore", "data.csv", "-o", "data.csv"],
        "predict -o model": ["predict", "model.nncore", "data.csv", "-o", "model.nncore"],
    }, cwd=folder)
    for name in ("train -o data", "train -o link"):
        assert_one_line_error(results[name], "is the same file as the data file",
                              "choose another name")
    assert_one_line_error(results["train --plot data"], "--plot ./data.csv is the same "
                          "file as the data file")
    assert_one_line_error(results["predict -o data"], "-o data.csv is the same file as "
                          "the data file data.csv")
    assert_one_line_error(results["predict -o model"], "same file as the model file")
    assert data.read_bytes() == before
    assert (folder / "model.nncore").read_bytes() == model_before
    assert not (folder / "m2").exists()


def test_huge_finite_values_train_and_predict_finite(folder):
    result = run("train", "huge.csv", "--target", "value", "--epochs", "20",
                 "--batch-size", "4", "-o", "huge.model", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "regression of 'value'" in result.stdout
    validation = next(line for line in result.stdout.splitlines()
                      if line.startswith("validation R^2: last"))
    best = float(validation.split("best ")[1].split()[0])
    assert np.isfinite(best) and best > 0.5, validation
    assert result.stdout.splitlines()[-1].startswith("saved huge.model: the weights of "
                                                     "epoch")
    net = nncore.load(folder / "huge.model")
    assert np.isfinite(net.params).all()
    predicted = run("predict", "huge.model", "huge.csv", cwd=folder)
    assert predicted.returncode == 0, predicted.stderr
    values = np.array([float(row[0]) for row in read_csv(predicted.stdout)[1:]])
    assert np.isfinite(values).all() and 1e299 < np.median(np.abs(values)) < 1e301


def test_saved_is_printed_only_after_a_successful_save(folder, tmp_path):
    # Every save fails (a full disk, say): train must not claim it saved.
    (tmp_path / "sitecustomize.py").write_text(
        "import nncore.network\n"
        "def save(self, path):\n"
        "    raise OSError(28, 'No space left on device', str(path))\n"
        "nncore.network.Network.save = save\n")
    env = hiding(tmp_path, "tqdm", env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    result = run("train", folder / "data.csv", "--target", "label", "--epochs", "2",
                 "-o", "full.model", cwd=tmp_path, env=env)
    assert_one_line_error(result, "full.model: No space left on device")
    assert "saved" not in result.stdout


def test_names_from_files_are_printed_escaped(folder):
    trained = run("train", "escapes.csv", "--target", "label", "--epochs", "2",
                  "-o", "escapes.model", cwd=folder)
    assert trained.returncode == 0, trained.stderr
    results = run_in_one({"info": ["info", "escapes.model"],
                       "predict": ["predict", "escapes.model", "escapes.csv"],
                       "file": ["predict", "escapes.model", "escapes.csv", "-o",
                                "labels.csv"],
                       "missing": ["predict", "escapes.model", "data.csv"]}, cwd=folder)
    for name, result in results.items():
        assert ESCAPE not in result.stdout + result.stderr, name
    assert ESCAPE not in trained.stdout + trained.stderr
    info = results["info"].stdout
    assert "\\x1b]0;owned\\x07" in info and "\\x1b[31mred" in info
    assert "\\x1b]0;owned\\x07" in results["predict"].stdout
    # Written to a file, the labels are the data as it was.
    assert "\x1b]0;owned\x07" in (folder / "labels.csv").read_text()
    assert_one_line_error(results["missing"], "'\\x1b[31mred'")


def test_running_out_of_memory_says_what_was_too_big(folder, tmp_path):
    # A bare MemoryError (what CPython raises when an allocation fails) in
    # the middle of training, injected at start-up.
    (tmp_path / "sitecustomize.py").write_text(
        "import nncore.network\n"
        "def fit(self, *args, **kwargs):\n"
        "    raise MemoryError()\n"
        "nncore.network.Network.fit = fit\n")
    env = hiding(tmp_path, "tqdm", env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    result = run("train", folder / "data.csv", "--target", "label", "-o", "m.model",
                 cwd=tmp_path, env=env)
    assert_one_line_error(result, "out of memory while training Network([3, 32, 2]",
                          "on 96 rows", "smaller file", "--hidden", "--batch-size")


def test_metadata_is_finite_json(folder):
    # The model's metadata holds no Infinity or NaN, which strict JSON
    # readers refuse (and which predict then refused).
    meta = nncore.load(folder / "huge.model").metadata
    assert meta["task"] == "regression"
    json.dumps(meta, allow_nan=False)
