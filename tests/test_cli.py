# SPDX-License-Identifier: MIT
"""The ``nncore`` command line, run as ``python -m nncore`` in subprocesses.

Every command and every error the issue lists: errors are one line
``nncore: error: ...`` on stderr with exit status 2 and no traceback; Ctrl-C
during ``train`` exits with 130 and leaves a model that loads. Optional
packages (matplotlib, tqdm, PyTorch, scikit-learn) may or may not be
installed; the paths without them are tested by hiding them behind a module
that raises ImportError. The error cases run as concurrent processes, since
most of each one's time is the interpreter importing NumPy and SciPy.
"""
import csv
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import nncore

TIMEOUT = 120


def command(*args):
    return [sys.executable, "-m", "nncore", *map(str, args)]


def run(*args, cwd, env=None):
    return subprocess.run(command(*args), cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)


def hiding(folder, *modules):
    """An environment in which importing each of ``modules`` raises ImportError."""
    for name in modules:
        package = folder / "hidden" / name
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(
            f"raise ImportError('{name} hidden by the test')\n")
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(
        [str(folder / "hidden")] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nncore: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def read_csv(text):
    return list(csv.reader(io.StringIO(text)))


# ---------------------------------------------------------------------------
# Data and a trained model, made once for the module
# ---------------------------------------------------------------------------

N_ROWS = 240


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Files in every format: a CSV with text labels in the middle column, a
    regression .npy with the target last, an .npz with X and y, damaged files."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    with open(folder / "animals.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["a", "b", "label", "c"])
        for x, label in zip(X, labels):
            writer.writerow([x[0], x[1], label, x[2]])
    # The same features in another order, the target left out.
    with open(folder / "reordered.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["c", "a", "b"])
        writer.writerows(X[:, [2, 0, 1]].tolist())
    values = 3 * X[:, 0] - X[:, 2] + 5
    np.save(folder / "values.npy", np.column_stack([X, values]))
    np.save(folder / "features.npy", X)
    np.save(folder / "five.npy", rng.normal(size=(10, 5)))
    np.savez(folder / "xy.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    (folder / "partial.csv").write_text("a,b\n1,2\n")
    (folder / "ragged.csv").write_text("a,b,label\n1,2,0\n3,4\n")
    (folder / "words.csv").write_text("a,b,label\n1,2,0\n3,four,1\n")
    (folder / "noise.npz").write_bytes(b"not an archive\n" * 10)
    return {"folder": folder, "X": X, "labels": labels, "values": values}


@pytest.fixture(scope="module")
def classifier(data):
    """A classifier trained by ``nncore train`` on the CSV, and its output."""
    folder = data["folder"]
    result = run("train", "animals.csv", "--target", "label", "--hidden", "8",
                 "--epochs", "4", "-o", "animals.model", cwd=folder)
    assert result.returncode == 0, result.stderr
    model = folder / "animals.model"
    # A truncated copy of it, and a copy whose sidecar is damaged.
    (folder / "truncated.model").write_bytes(model.read_bytes()[:300])
    (folder / "damaged.model").write_bytes(model.read_bytes())
    (folder / "damaged.model.meta.json").write_text("{\"format\": ")
    return model, result


# ---------------------------------------------------------------------------
# No subcommand, demo
# ---------------------------------------------------------------------------

def test_no_subcommand_prints_help_and_exits_2(tmp_path):
    result = run(cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    for name in ("demo", "train", "predict", "info", "bench"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_trains_on_digits_and_compares_with_the_reference(tmp_path):
    result = run("demo", "--epochs", "3", "--hidden", "16", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    accuracy = float(out.split("test accuracy: ")[1].split("%")[0])
    assert accuracy > 80
    assert "samples/s" in out.split("training time: ")[1].splitlines()[0]
    reference = out.split("pure-Python reference")[1].splitlines()[0]
    assert "samples/s" in reference and "x faster" in reference
    # The progress of every epoch (a tqdm bar or plain lines) on stderr.
    assert "3/3" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                    reason="matplotlib is not installed")
def test_demo_plots_the_moving_decision_boundary_of_the_moons(tmp_path):
    result = run("demo", "--dataset", "moons", "--epochs", "8", "--plot", "moons.png",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "two moons" in result.stdout
    assert "figure: moons.png" in result.stdout
    figure = (tmp_path / "moons.png").read_bytes()
    assert figure.startswith(b"\x89PNG") and len(figure) > 10_000


def test_demo_plot_without_matplotlib_is_a_one_line_error(tmp_path):
    result = run("demo", "--plot", "figure.png", cwd=tmp_path,
                 env=hiding(tmp_path, "matplotlib"))
    assert_one_line_error(result, "matplotlib", "nncore[plot]")
    assert result.stdout == ""          # refused before training
    assert not (tmp_path / "figure.png").exists()


# ---------------------------------------------------------------------------
# train, predict, info
# ---------------------------------------------------------------------------

def test_train_classifier_writes_model_and_sidecar(data, classifier):
    model, result = classifier
    epoch_lines = [line for line in result.stdout.splitlines()
                   if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epoch_lines] == \
        [f"epoch {k}/4" for k in range(1, 5)]
    assert all("loss" in line and "validation accuracy" in line and "samples/s" in line
               for line in epoch_lines)
    net = nncore.load(model)
    assert net.layer_sizes == (3, 8, 2) and net.output == "softmax"
    meta = json.loads((data["folder"] / "animals.model.meta.json").read_text())
    assert meta["task"] == "classification"
    assert meta["target"] == "label" and meta["features"] == ["a", "b", "c"]
    assert meta["classes"] == ["no", "yes"]
    assert len(meta["input_mean"]) == len(meta["input_scale"]) == 3


def test_predict_writes_class_labels(data, classifier):
    folder = data["folder"]
    result = run("predict", "animals.model", "animals.csv", cwd=folder)
    assert result.returncode == 0, result.stderr
    rows = read_csv(result.stdout)
    assert rows[0] == ["label"]
    predicted = np.array([row[0] for row in rows[1:]])
    assert len(predicted) == N_ROWS
    assert np.mean(predicted == data["labels"]) > 0.85
    # Columns found by name: reordered, without the target, into a file.
    result = run("predict", "animals.model", "reordered.csv", "-o", "out.csv", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert read_csv((folder / "out.csv").read_text())[1:] == rows[1:]


def test_info_describes_model_and_sidecar(data, classifier):
    result = run("info", "animals.model", cwd=data["folder"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[3, 8, 2]" in out
    assert "activation: sigmoid; output: softmax; dtype: float32" in out
    net = nncore.load(classifier[0])
    assert f"parameters: {net.n_params}" in out
    # The model kept is the best epoch's: its history ends there.
    epochs = len(net.history)
    assert f"training: {epochs} epoch{'s' if epochs > 1 else ''}; loss" in out
    assert "classification of 'label' into 2 classes: no, yes" in out
    assert "validation accuracy" in out


def test_predict_with_a_network_saved_from_python_gives_raw_outputs(data, tmp_path):
    nncore.Network([3, 4, 3], seed=0).save(tmp_path / "plain.model")
    result = run("predict", "plain.model", data["folder"] / "features.npy", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = read_csv(result.stdout)
    assert rows[0] == ["class"] and len(rows) == N_ROWS + 1
    assert {row[0] for row in rows[1:]} <= {"0", "1", "2"}
    info = run("info", "plain.model", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert "training: none recorded" in info.stdout
    assert "sidecar: none" in info.stdout


def test_train_and_predict_regression_on_npy(data, tmp_path):
    folder = data["folder"]
    model = tmp_path / "values.model"
    result = run("train", folder / "values.npy", "--target", "-1", "--epochs", "30",
                 "--batch-size", "8", "-o", model, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "regression of column 3" in result.stdout
    assert "validation R^2" in result.stdout
    meta = json.loads((tmp_path / "values.model.meta.json").read_text())
    assert meta["task"] == "regression" and meta["target_column"] == 3
    assert nncore.load(model).output == "identity"
    # With the target column present (dropped) or absent: the same values.
    with_target = run("predict", model, folder / "values.npy", cwd=tmp_path)
    without = run("predict", model, folder / "features.npy", cwd=tmp_path)
    assert with_target.returncode == without.returncode == 0, with_target.stderr
    assert with_target.stdout == without.stdout
    rows = read_csv(with_target.stdout)
    assert rows[0] == ["prediction"]
    predicted = np.array([float(row[0]) for row in rows[1:]])
    values = data["values"]
    r2 = 1 - np.sum((predicted - values) ** 2) / np.sum((values - values.mean()) ** 2)
    assert r2 > 0.9


def test_train_on_npz_with_forced_task_and_no_validation(data, tmp_path):
    folder = data["folder"]
    result = run("train", folder / "xy.npz", "--task", "regression",
                 "--validation-fraction", "0", "--epochs", "2", "-o", "xy.model",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "validation" not in result.stdout.split("\n", 1)[1].replace(
        "for validation", "")
    meta = json.loads((tmp_path / "xy.model.meta.json").read_text())
    assert meta["task"] == "regression" and meta["target"] == "y"
    assert meta["features"] is None


# ---------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------

def test_bench_prints_a_speed_table_and_skips_missing_peers(tmp_path):
    result = run("bench", "--budget", "0.005", cwd=tmp_path,
                 env=hiding(tmp_path, "torch", "sklearn"))
    assert result.returncode == 0, result.stderr
    assert "torch: not installed, skipped" in result.stderr
    assert "sklearn: not installed, skipped" in result.stderr
    lines = result.stdout.splitlines()
    header = lines[1].split()
    assert header == ["cell", "nncore", "reference", "numpy"]
    cells = [line for line in lines if line.startswith(("fit ", "forward "))]
    assert len(cells) == 8
    for line in cells:
        assert "x)" in line            # a rate and nncore's ratio to a peer


# ---------------------------------------------------------------------------
# Errors: one line, exit status 2, never a traceback
# ---------------------------------------------------------------------------

ERRORS = {
    "missing data file": (["train", "missing.csv", "--target", "label", "-o", "m"],
                          ["missing.csv", "No such file"]),
    "missing data for predict": (["predict", "animals.model", "missing.npy"],
                                 ["missing.npy", "No such file"]),
    "ragged CSV row": (["train", "ragged.csv", "--target", "label", "-o", "m"],
                       ["ragged.csv, line 3", "2 fields", "3 columns"]),
    "text in a feature column": (["train", "words.csv", "--target", "label", "-o", "m"],
                                 ["words.csv, line 3", "column 'b'", "'four'"]),
    "unknown column": (["train", "animals.csv", "--target", "colour", "-o", "m"],
                       ["no column 'colour'", "'label'"]),
    "column index out of range": (["train", "values.npy", "--target", "7", "-o", "m"],
                                  ["values.npy has no column 7", "4 columns"]),
    "name for a NumPy column": (["train", "values.npy", "--target", "y", "-o", "m"],
                                ["no column names"]),
    "not an npz archive": (["train", "noise.npz", "-o", "m"],
                           ["noise.npz", "not an .npz archive"]),
    "wrong number of features": (["predict", "animals.model", "five.npy"],
                                 ["five.npy has 5 columns", "expects 3 features"]),
    "missing feature column": (["predict", "animals.model", "partial.csv"],
                               ["partial.csv lacks the column 'c'"]),
    "missing model": (["predict", "nothing.model", "animals.csv"],
                      ["nothing.model: no such model file"]),
    "unreadable model (predict)": (["predict", "noise.npz", "animals.csv"],
                                   ["noise.npz: not an nncore model file"]),
    "unreadable model (info)": (["info", "noise.npz"], ["noise.npz: not an nncore model"]),
    "truncated model": (["info", "truncated.model"], ["truncated.model"]),
    "damaged sidecar": (["predict", "damaged.model", "animals.csv"],
                        ["damaged.model.meta.json: not a valid sidecar"]),
    "output folder missing": (["train", "animals.csv", "--target", "label",
                               "-o", "nowhere/m"], ["does not exist"]),
}


@pytest.fixture(scope="module")
def error_runs(data, classifier):
    """Every case of ERRORS, run concurrently: name -> CompletedProcess."""
    folder = data["folder"]
    started = {name: subprocess.Popen(command(*args), cwd=folder, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for name, (args, _) in ERRORS.items()}
    results = {}
    for name, child in started.items():
        out, err = child.communicate(timeout=TIMEOUT)
        results[name] = subprocess.CompletedProcess(child.args, child.returncode,
                                                    out, err)
    return results


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_are_one_line_with_exit_status_2(error_runs, case):
    assert_one_line_error(error_runs[case], *ERRORS[case][1])


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
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().startswith("classification of column 20")
        first_epoch = child.stdout.readline()
        assert first_epoch.startswith("epoch 1/100000") and "(saved)" in first_epoch
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=TIMEOUT)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert err.startswith("nncore: interrupted after") and len(err.splitlines()) == 1
    assert "big.model holds the best model so far" in err
    net = nncore.load(tmp_path / "big.model")
    assert net.layer_sizes == (20, 64, 2) and len(net.history) >= 1
    meta = json.loads((tmp_path / "big.model.meta.json").read_text())
    assert meta["classes"] == [0, 1]
    assert meta["validation"]["epoch"] == len(net.history)
