# SPDX-License-Identifier: MIT
"""Running ``python -m nncore`` in subprocesses, for the command-line tests.

Most of a run's time is the interpreter importing NumPy, SciPy and pandas,
so runs that need no process of their own go through ``nncore.cli.main`` one
after the other in one subprocess (`run_in_one`)."""
import csv
import io
import json
import os
import subprocess
import sys

TIMEOUT = 120


def command(*args):
    return [sys.executable, "-m", "nncore", *map(str, args)]


def run(*args, cwd, env=None):
    return subprocess.run(command(*args), cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)


# Runs each case of a JSON list through nncore.cli.main in this one process,
# capturing what it prints; an exception escaping main fails the whole run.
_DRIVER = """
import contextlib, io, json, sys
from nncore.cli import main
results = []
for args in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    results.append([code, out.getvalue(), err.getvalue()])
sys.stdout.write(json.dumps(results))
"""


def run_in_one(cases, cwd, env=None):
    """Run every ``name -> args`` of ``cases`` one after the other in a single
    ``python`` process, through ``nncore.cli.main`` (the code ``python -m
    nncore`` runs): the interpreter and its imports are paid once. Returns
    name -> CompletedProcess."""
    names = list(cases)
    child = subprocess.run([sys.executable, "-c", _DRIVER], cwd=cwd, env=env,
                           input=json.dumps([[str(a) for a in cases[n]] for n in names]),
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert child.returncode == 0, child.stderr
    return {name: subprocess.CompletedProcess(cases[name], code, out, err)
            for name, (code, out, err) in zip(names, json.loads(child.stdout))}


def hiding(folder, *modules, env=None):
    """An environment in which importing each of ``modules`` raises ImportError."""
    for name in modules:
        package = folder / "hidden" / name
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(
            f"raise ImportError('{name} hidden by the test')\n")
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(folder / "hidden")] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nncore: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def read_csv(text):
    return list(csv.reader(io.StringIO(text)))


def accuracy(predicted_csv, labels):
    rows = read_csv(predicted_csv)[1:]
    return sum(row[0] == str(label) for row, label in zip(rows, labels)) / len(labels)
