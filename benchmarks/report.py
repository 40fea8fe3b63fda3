# SPDX-License-Identifier: MIT
"""Turn a pytest-benchmark JSON file into a markdown table of samples per second.

Usage::

    python benchmarks/report.py                      # newest file under .benchmarks/
    python benchmarks/report.py .benchmarks/<machine>/0001_<commit>_<date>.json
    python benchmarks/report.py run.json --stat min  # best round instead of the median

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


def latest_run():
    """The most recently written JSON under ./.benchmarks or the repository's .benchmarks."""
    roots = [Path.cwd() / ".benchmarks", Path(__file__).resolve().parent.parent / ".benchmarks"]
    files = [f for root in roots if root.is_dir() for f in root.rglob("*.json")]
    if not files:
        sys.exit("no benchmark results found under .benchmarks/; run "
                 "`pytest benchmarks --benchmark-only --benchmark-autosave` first")
    return max(files, key=lambda f: f.stat().st_mtime)


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


def table(cells, bound_kind):
    header = (["cell"] + PEERS + ["bound", "nncore / best peer", "nncore / bound"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key in sorted(cells, key=sort_key):
        rates = cells[key]
        kind, mode, shape, dtype, threads = key
        row = [f"{kind} {mode} {shape} {dtype} t{threads}"]
        row += [human(rates[p]) if p in rates else "" for p in PEERS]
        row.append(f"{human(rates['bound'])} ({bound_kind[key]})" if "bound" in rates else "")
        others = {p: r for p, r in rates.items() if p not in ("nncore", "bound")}
        if "nncore" in rates and others:
            best = max(others, key=others.get)
            row.append(f"{rates['nncore'] / others[best]:.2f} ({best})")
        else:
            row.append("")
        row.append(f"{rates['nncore'] / rates['bound']:.2f}"
                   if "nncore" in rates and "bound" in rates else "")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", type=Path,
                        help="pytest-benchmark JSON file (default: the newest under .benchmarks/)")
    parser.add_argument("--stat", default="median", choices=["median", "min", "mean"],
                        help="round-time statistic the rates are computed from (default: median)")
    args = parser.parse_args(argv)
    path = args.path or latest_run()
    run = json.loads(path.read_text())
    cells, bound_kind = collect(run, args.stat)
    if not cells:
        sys.exit(f"{path}: no benchmarks with samples in extra_info")
    machine = run.get("machine_info", {})
    first = next(b["extra_info"] for b in run["benchmarks"] if "blas" in b.get("extra_info", {}))
    print(f"Samples per second ({args.stat} of the rounds) from `{path}`, "
          f"{run.get('datetime', '')}.\n")
    print(f"Machine: {machine.get('cpu', {}).get('brand_raw', machine.get('processor', '?'))}, "
          f"Python {machine.get('python_version', '?')}, nncore core {first.get('nncore_simd')}; "
          f"BLAS: {'; '.join(first.get('blas', []))}.\n")
    print(table(cells, bound_kind))
    print("\nbound: `blas` = the matrix products of the step only, through scipy's BLAS "
          "(nncore's); `traffic` = per sample, one compiled forward sweep over every weight "
          "plus (training) one separate update sweep, nothing else; nncore's online "
          "training fuses the first layer's update with the next forward sweep and can "
          "exceed it. `t1`/`t2`: BLAS "
          "threads. nncore / best peer > 1: nncore is faster than every other peer. The "
          "reference is pure Python (float64) on a few hundred samples.")


if __name__ == "__main__":
    main()
