# SPDX-License-Identifier: MIT
"""Markdown tables of ``bench_sklearn.py``: nncore's MLPClassifier against scikit-learn's.

Usage::

    python benchmarks/sklearn_report.py             # newest run under .benchmarks/ with these cells
    python benchmarks/sklearn_report.py .benchmarks/<machine>/0001_<commit>_<date>.json
    python benchmarks/sklearn_report.py --stat min  # best round instead of the median

First table, one row per cell (data set, network, dtype, solver, batch size;
one BLAS thread): samples per second of each estimator (``extra_info["samples"]``
over the chosen statistic of the round times, i.e. of the time per epoch, in
brackets), the ratio nncore / scikit-learn (both from the same run) and the
issue's target for it. Second table: GridSearchCV with joblib's threading
backend, time per search at ``n_jobs=1`` and ``n_jobs=2`` and the speed-up.
Standard library only.
"""
import argparse
import json
import sys
from pathlib import Path

FILE = "bench_sklearn.py"


def ours(run):
    return [b for b in run["benchmarks"] if FILE in b["fullname"].split("::")[0]]


def newest_run():
    """The most recently written JSON under ./.benchmarks or the repository's that has our cells."""
    roots = [Path.cwd() / ".benchmarks", Path(__file__).resolve().parent.parent / ".benchmarks"]
    files = {f.resolve() for root in roots if root.is_dir() for f in root.rglob("*.json")}
    for path in sorted(files, key=lambda f: f.stat().st_mtime, reverse=True):
        try:
            if ours(json.loads(path.read_text())):
                return path
        except (ValueError, KeyError):
            continue
    sys.exit(f"no {FILE} results found under .benchmarks/; run `pytest benchmarks/{FILE} "
             "--benchmark-only --benchmark-autosave` first")


def human(rate):
    """A number with a k/M suffix, three significant digits."""
    for scale, suffix in ((1e6, "M"), (1e3, "k"), (1, "")):
        if rate >= scale:
            return f"{rate / scale:.3g}{suffix}"
    return f"{rate:.3g}"


def duration(seconds):
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def epoch_table(benchmarks, stat):
    cells = {}
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if "solver" not in info:
            continue
        key = (info["dataset"], info["shape"], info["dtype"], info["solver"], info["batch_size"])
        cells.setdefault(key, {"target": info["target"], "samples": info["samples"],
                               "epochs": info.get("epochs", 1)})
        cells[key][info["peer"]] = bench["stats"][stat]
    order = {"digits": 0, "mnist784": 1}
    lines = ["| cell | nncore samples/s (epoch) | scikit-learn samples/s (epoch) "
             "| nncore / scikit-learn | target | met |",
             "|---|---|---|---|---|---|"]
    met = total = 0
    for key in sorted(cells, key=lambda k: (order.get(k[0], 9), k[0], k[2], k[3] != "sgd", k[4])):
        dataset, shape, dtype, solver, batch = key
        cell = cells[key]
        row = [f"{dataset} {shape} {dtype} {solver} batch{batch}"]
        for peer in ("nncore", "sklearn"):
            t = cell.get(peer)
            row.append(f"{human(cell['samples'] / t)} ({duration(t / cell['epochs'])})"
                       if t else "")
        if cell.get("nncore") and cell.get("sklearn"):
            ratio = cell["sklearn"] / cell["nncore"]
            ok = ratio >= cell["target"]
            met += ok
            total += 1
            row += [f"{ratio:.2f}", f">= {cell['target']:g}", "yes" if ok else "**no**"]
        else:
            row += ["", f">= {cell['target']:g}", ""]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines), met, total


def grid_table(benchmarks, stat):
    runs = {}
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if not info.get("gridsearch"):
            continue
        runs.setdefault(info["impl"], {"info": info})[info["n_jobs"]] = bench["stats"][stat]
    if not runs:
        return ""
    info = next(iter(runs.values()))["info"]
    head = (f"GridSearchCV, joblib threading backend, {info['fits']} fits of "
            f"{info['epochs']} epochs, {info['dtype']}, one BLAS thread ({stat} of the rounds):\n")
    lines = ["| estimator | n_jobs=1 | n_jobs=2 | speed-up (n_jobs=1 / n_jobs=2) |",
             "|---|---|---|---|"]
    for peer in ("nncore", "sklearn"):
        if peer not in runs:
            continue
        t1, t2 = runs[peer].get(1), runs[peer].get(2)
        speedup = f"{t1 / t2:.2f}" if t1 and t2 else ""
        lines.append(f"| {peer} | {duration(t1) if t1 else ''} | {duration(t2) if t2 else ''} "
                     f"| {speedup} |")
    if all(runs.get(p, {}).get(n) for p in ("nncore", "sklearn") for n in (1, 2)):
        lines.append("\nnncore / scikit-learn, whole search: "
                     f"n_jobs=1 {runs['sklearn'][1] / runs['nncore'][1]:.2f}x, "
                     f"n_jobs=2 {runs['sklearn'][2] / runs['nncore'][2]:.2f}x faster.")
    return head + "\n" + "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", type=Path,
                        help=f"pytest-benchmark JSON file (default: the newest with "
                             f"{FILE} results)")
    parser.add_argument("--stat", default="median", choices=["median", "min", "mean"],
                        help="round-time statistic (default: median)")
    args = parser.parse_args(argv)
    path = args.path or newest_run()
    run = json.loads(path.read_text())
    benchmarks = ours(run)
    if not benchmarks:
        sys.exit(f"{path}: no {FILE} results")
    machine = run.get("machine_info", {})
    first = next((b["extra_info"] for b in benchmarks if "blas" in b.get("extra_info", {})), {})
    commit = run.get("commit_info", {}).get("id") or "?"
    print(f"nncore against scikit-learn: `{path.name}` (commit {commit[:7]}), "
          f"{run.get('datetime', '')}; {args.stat} of the rounds.\n")
    print(f"Machine: {machine.get('cpu', {}).get('brand_raw', machine.get('processor', '?'))}, "
          f"Python {machine.get('python_version', '?')}, nncore core {first.get('nncore_simd')}; "
          f"BLAS: {'; '.join(first.get('blas', []))}.\n")
    table, met, total = epoch_table(benchmarks, args.stat)
    if total or table.count("\n") > 1:
        print("Epochs inside fit (warm start), one BLAS thread; samples per second "
              "and, in brackets, the time per epoch.\n")
        print(table)
        print(f"\nTargets met: {met} of {total} cells.\n")
    grid = grid_table(benchmarks, args.stat)
    if grid:
        print(grid)


if __name__ == "__main__":
    main()
