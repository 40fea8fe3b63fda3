# SPDX-License-Identifier: MIT
"""Turn a pytest-benchmark JSON file into a markdown table of samples per second.

Usage::

    python benchmarks/report.py                      # newest file under .benchmarks/
    python benchmarks/report.py .benchmarks/<machine>/0001_<commit>_<date>.json
    python benchmarks/report.py run.json --stat min  # best round instead of the median
    python benchmarks/report.py --last 3             # the 3 newest runs combined

With several runs, each rate is the median over the runs, and each ratio is
the median over the runs of that run's own ratio (peers compared only within
a run), followed by the lowest and highest in brackets: on a shared, noisy
machine one run can move a cell by tens of percent.

One row per cell (kind, mode, shape, dtype, threads); one column per peer with
``samples / time`` (``extra_info["samples"]`` over the chosen statistic of the
round times); then nncore's speed relative to the fastest other peer in the
cell (> 1: nncore is faster) and as a fraction of the cell's bound (BLAS
products only for mini-batches and batch 1024, weight traffic for batch 1).
Standard library only.
"""
import argparse
import json
import sys
from pathlib import Path

PEERS = ["nncore", "numpy", "torch", "sklearn", "reference"]
KINDS = ["train", "forward"]
MODES = ["online", "batch32", "batch256", "batch1", "batch1024"]


def latest_runs(count):
    """The ``count`` most recently written JSON files under ./.benchmarks or the repository's."""
    roots = [Path.cwd() / ".benchmarks", Path(__file__).resolve().parent.parent / ".benchmarks"]
    files = {f.resolve() for root in roots if root.is_dir() for f in root.rglob("*.json")}
    if not files:
        sys.exit("no benchmark results found under .benchmarks/; run "
                 "`pytest benchmarks --benchmark-only --benchmark-autosave` first")
    return sorted(files, key=lambda f: f.stat().st_mtime)[-count:]


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def ratios(rates):
    """(best other peer, nncore / it, nncore / bound) of one run's cell."""
    others = {p: r for p, r in rates.items() if p not in ("nncore", "bound")}
    best = max(others, key=others.get) if others and "nncore" in rates else None
    return (best, rates["nncore"] / others[best] if best else None,
            rates["nncore"] / rates["bound"] if "nncore" in rates and "bound" in rates
            else None)


def combine(runs_cells):
    """Per cell: median rates over runs, and the per-run ratios."""
    combined = {}
    for cells in runs_cells:
        for key, rates in cells.items():
            entry = combined.setdefault(key, {"rates": {}, "ratios": []})
            for peer, rate in rates.items():
                entry["rates"].setdefault(peer, []).append(rate)
            entry["ratios"].append(ratios(rates))
    return combined


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return ""
    text = f"{median(values):.2f}"
    if len(values) > 1:
        text += f" [{min(values):.2f}-{max(values):.2f}]"
    return text


def human(rate):
    """Samples per second with a k/M suffix, three significant digits."""
    for scale, suffix in ((1e6, "M"), (1e3, "k"), (1, "")):
        if rate >= scale:
            return f"{rate / scale:.3g}{suffix}"
    return f"{rate:.3g}"


def collect(run, stat):
    """{cell key: {peer: samples per second}} and the bound kind of every cell."""
    cells, bound_kind = {}, {}
    for bench in run["benchmarks"]:
        info = bench.get("extra_info", {})
        if "samples" not in info or "peer" not in info:
            continue
        kind = Path(bench["fullname"].split("::")[0]).stem.removeprefix("bench_")
        key = (kind, info["mode"], info["shape"], info["dtype"], info["threads"])
        peer = info["peer"]
        if peer.startswith("bound-"):
            bound_kind[key] = peer.removeprefix("bound-")
            peer = "bound"
        cells.setdefault(key, {})[peer] = info["samples"] / bench["stats"][stat]
    return cells, bound_kind


def sort_key(key):
    kind, mode, shape, dtype, threads = key
    sizes = tuple(int(n) for n in shape.split("-"))
    return (KINDS.index(kind) if kind in KINDS else 9, MODES.index(mode) if mode in MODES else 9,
            sizes, dtype, threads)


def table(combined, bound_kind):
    header = (["cell"] + PEERS + ["bound", "nncore / best peer", "nncore / bound"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key in sorted(combined, key=sort_key):
        rates = {p: median(r) for p, r in combined[key]["rates"].items()}
        per_run = combined[key]["ratios"]
        kind, mode, shape, dtype, threads = key
        row = [f"{kind} {mode} {shape} {dtype} t{threads}"]
        row += [human(rates[p]) if p in rates else "" for p in PEERS]
        row.append(f"{human(rates['bound'])} ({bound_kind[key]})" if "bound" in rates else "")
        best = ratios(rates)[0]
        peer_ratio = summary(r[1] for r in per_run)
        row.append(f"{peer_ratio} ({best})" if peer_ratio else "")
        row.append(summary(r[2] for r in per_run))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path,
                        help="pytest-benchmark JSON files (default: the newest under .benchmarks/)")
    parser.add_argument("--last", type=int, default=1,
                        help="without paths: combine the N newest runs (default 1)")
    parser.add_argument("--stat", default="median", choices=["median", "min", "mean"],
                        help="round-time statistic the rates are computed from (default: median)")
    args = parser.parse_args(argv)
    paths = args.paths or latest_runs(args.last)
    runs = [json.loads(path.read_text()) for path in paths]
    runs_cells, bound_kind = [], {}
    for path, run in zip(paths, runs):
        cells, kinds = collect(run, args.stat)
        if not cells:
            sys.exit(f"{path}: no benchmarks with samples in extra_info")
        runs_cells.append(cells)
        bound_kind.update(kinds)
    run = runs[-1]
    machine = run.get("machine_info", {})
    first = next(b["extra_info"] for b in run["benchmarks"] if "blas" in b.get("extra_info", {}))
    names = ", ".join(f"`{path.name}`" for path in paths)
    print(f"Samples per second ({args.stat} of the rounds"
          f"{', median over the runs' if len(runs) > 1 else ''}) from {names}, "
          f"{', '.join(r.get('datetime', '') for r in runs)}.\n")
    print(f"Machine: {machine.get('cpu', {}).get('brand_raw', machine.get('processor', '?'))}, "
          f"Python {machine.get('python_version', '?')}, nncore core {first.get('nncore_simd')}; "
          f"BLAS: {'; '.join(first.get('blas', []))}.\n")
    print(table(combine(runs_cells), bound_kind))
    print("\nbound: `blas` = the matrix products of the step only, through scipy's BLAS "
          "(nncore's); `traffic` = per sample, one compiled forward sweep over every weight "
          "plus (training) one separate update sweep, nothing else; nncore's online "
          "training fuses the first layer's update with the next forward sweep and can "
          "exceed it. `t1`/`t2`: BLAS "
          "threads. nncore / best peer > 1: nncore is faster than every other peer. The "
          "reference is pure Python (float64) on a few hundred samples.")


if __name__ == "__main__":
    main()
