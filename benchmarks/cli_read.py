# SPDX-License-Identifier: MIT
"""How the command line's table reading compares with pandas' own read_csv.

Writes a numeric CSV (default 1,000,000 rows of 25 columns, about 190 MB),
then, each in a fresh process so that peak memory (ru_maxrss) is the step's
own: pandas.read_csv with the engine the command line uses (pyarrow's where
installed), nncore's read_table (sniffing, header checks, the same read_csv),
and read_table plus the preprocessing train applies (nncore.cli._meta:
imputation and scaling, giving the float64 inputs). Prints seconds and peak
memory of each, and their ratios to pandas. A measurement, never a test:

    python benchmarks/cli_read.py [--rows N] [--columns K] [--keep FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

STEPS = {
    "pandas.read_csv": """
import importlib.util, pandas as pd
engine = "pyarrow" if importlib.util.find_spec("pyarrow") else "c"
frame = pd.read_csv(PATH, engine=engine)
rows = frame.shape[0]
""",
    "nncore read_table": """
from nncore.cli._data import read_table
rows = read_table(PATH).n_rows
""",
    "read_table + preprocessing": """
import numpy as np
from nncore.cli import _meta
from nncore.cli._data import read_table
table = read_table(PATH)
names = table.names
specs, _ = _meta.fit_inputs(table.frame, names[:-1], np.arange(table.n_rows), "mean",
                            PATH, table.where)
X = _meta.apply({"inputs": specs, "impute": "mean"}, table.frame)
rows = X.shape[0]
""",
}

RUNNER = """
import json, resource, sys, time
PATH = sys.argv[1]
start = time.perf_counter()
exec(sys.argv[2])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rows": rows,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_csv(path, rows, columns, seed=0):
    rng = np.random.default_rng(seed)
    with open(path, "w") as stream:
        stream.write(",".join(f"x{j}" for j in range(columns - 1)) + ",y\n")
        for start in range(0, rows, 100_000):
            block = rng.normal(size=(min(100_000, rows - start), columns))
            np.savetxt(stream, block, delimiter=",", fmt="%.6g")


def measure(path, code):
    # The imports are timed apart: start-up is not reading.
    result = subprocess.run([sys.executable, "-c", RUNNER, path, code],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=25)
    parser.add_argument("--keep", help="write the CSV here and keep it")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    path = args.keep or os.path.join(folder, "numeric.csv")
    if not os.path.exists(path):
        write_csv(path, args.rows, args.columns)
    size = os.path.getsize(path) / 2**20
    baseline = None
    print(f"{args.rows:,} rows x {args.columns} columns, {size:.0f} MiB")
    # Imports alone, subtracted from the peak memory of every step.
    empty = measure(path, "import pandas, nncore.cli._data\nrows = 0")
    print(f"{'imports only':28s} peak {empty['peak_mib']:7.0f} MiB")
    for name, code in STEPS.items():
        result = measure(path, code)
        peak = result["peak_mib"] - empty["peak_mib"]
        if baseline is None:
            baseline = (result["seconds"], peak)
        print(f"{name:28s} {result['seconds']:6.2f} s ({result['seconds'] / baseline[0]:.2f}x)"
              f"  peak +{peak:6.0f} MiB ({peak / baseline[1]:.2f}x)")
    if not args.keep:
        os.unlink(path)


if __name__ == "__main__":
    main()
