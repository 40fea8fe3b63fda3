# SPDX-License-Identifier: MIT
"""Turn a pytest-benchmark JSON file into a markdown table of samples per second.

Usage::

    python benchmarks/report.py                      # newest file under .benchmarks/
    python benchmarks/report.py .benchmarks/<machine>/0001_<commit>_<date>.json
    python benchmarks/report.py run.json --stat min  # best round instead of the median
    python benchmarks/report.py --last 3             # the 3 newest runs combined
    python benchmarks/report.py --last 3 --main main1.json main2.json main3.json

With several runs, each rate is the median over the runs, and each ratio is
the median over the runs of that run's own ratio (peers compared only within
a run), followed by the lowest and highest in brackets: on a shared, noisy
machine one run can move a cell by tens of percent.

One row per cell (kind, mode, shape, dtype, threads); one column per peer with
``samples / time`` (``extra_info["samples"]`` over the chosen statistic of the
round times); then nncore's speed relative to the fastest other peer in the
cell (> 1: nncore is faster) and as a fraction of the cell's bound (BLAS
products only for mini-batches and batch 1024, weight traffic for batch 1).
Then the targets of issue 12's "What must hold" (and issue 15's inference
cell against ONNX Runtime), one line per target and cell: the figure (median
over the runs of each run's own figure, lowest and highest in brackets) and
its status, ``met``, ``not met`` or ``not measured`` (a peer or cell missing
from the runs: the reason is given). Online training against today's main
needs main's nncore measured too: it cannot be imported beside this one, so
``--main`` takes runs of main's checkout (made the same way, ideally
interleaved with these), and that figure says it comes from separate runs.
Then the two-networks-in-two-threads cells (``bench_threads.py``).
Standard library only.
"""
import argparse
import json
import sys
from pathlib import Path

PEERS = ["nncore", "numpy", "torch", "sklearn", "onnxruntime", "jax", "reference"]
KINDS = ["train", "forward"]
DTYPES = ["float32", "float64"]
SHAPES_784 = ["784-128-10", "784-256-128-10"]
SHAPES = ["64-32-10"] + SHAPES_784
# Peers that are not other implementations: bounds and the two-threads cell's.
NOT_PEERS = {"nncore", "bound", "one", "two", "main"}
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
    others = {p: r for p, r in rates.items() if p not in NOT_PEERS}
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
            entry.setdefault("runs", []).append(rates)
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
    for key in sorted((k for k in combined if k[0] in KINDS), key=sort_key):
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


# ---------------------------------------------------------------------------
# Targets (issue 12, "What must hold"; issue 15's inference cell)
# ---------------------------------------------------------------------------
# A figure is computed from one run's cells: {key: {peer: rate}} with key
# (kind, mode, shape, dtype, threads). It returns (value, None) or
# (None, why it could not be computed).

def _rates(cells, key, *peers):
    rates = cells.get(key)
    if rates is None:
        return None, f"cell {' '.join(map(str, key))} not in the run"
    missing = [p for p in peers if p not in rates]
    if missing:
        return None, f"no {', '.join(missing)} in the cell"
    return rates, None


def over(peer):
    """nncore / ``peer`` in the cell."""
    def figure(cells, key, main=None):
        rates, why = _rates(cells, key, "nncore", peer)
        return (rates["nncore"] / rates[peer], None) if rates else (None, why)
    return figure


def over_best_peer(cells, key, main=None):
    """nncore / the fastest other implementation in the cell (bounds and reference excluded)."""
    rates, why = _rates(cells, key, "nncore")
    if rates is None:
        return None, why
    others = {p: r for p, r in rates.items() if p not in NOT_PEERS | {"reference"}}
    if not others:
        return None, "no other peer in the cell"
    return rates["nncore"] / max(others.values()), None


def two_over_one_thread(cells, key, main=None):
    """nncore's rate with 2 threads / with 1 (the key is the 2-thread cell)."""
    two, why = _rates(cells, key, "nncore")
    if two is None:
        return None, why
    one, why = _rates(cells, key[:4] + (1,), "nncore")
    return (two["nncore"] / one["nncore"], None) if one else (None, why)


def two_networks(cells, key, main=None):
    """Two networks in two threads / one network in one thread, in samples per second."""
    rates, why = _rates(cells, key, "one", "two")
    return (rates["two"] / rates["one"], None) if rates else (None, why)


def over_main(cells, key, main=None):
    """nncore / main's nncore (median of the --main runs; separate runs)."""
    rates, why = _rates(cells, key, "nncore")
    if rates is None:
        return None, why
    if not main:
        return None, "main not measured (give its runs with --main)"
    if key not in main:
        return None, "cell not in the --main runs"
    return rates["nncore"] / main[key], None


def _keys(kind, modes, shapes, threads):
    return [(kind, mode, shape, dtype, n) for mode in modes for shape in shapes
            for dtype in DTYPES for n in threads]


def targets():
    """[(section, text, threshold, figure, [cell keys])] in the order of the issue."""
    batch = ["batch32", "batch256"]
    two = [("threads", mode, shape, dtype, 1) for mode in ["online", "batch32", "batch256"]
           for shape in SHAPES for dtype in DTYPES]
    core = "issue 12"
    return [
        (core, "online training >= 0.95 of main (separate runs)", 0.95, over_main,
         _keys("train", ["online"], SHAPES, [1])),
        (core, "online training >= 4x NumPy", 4.0, over("numpy"),
         _keys("train", ["online"], ["784-128-10"], [1])),
        (core, "online training >= 15x PyTorch", 15.0, over("torch"),
         _keys("train", ["online"], ["784-128-10"], [1])),
        (core, "mini-batch >= 0.9 of the BLAS bound, 1 thread", 0.9, over("bound"),
         _keys("train", batch, SHAPES_784, [1])),
        (core, "mini-batch >= 0.85 of the BLAS bound, 2 threads", 0.85, over("bound"),
         _keys("train", batch, SHAPES_784, [2])),
        (core, "mini-batch ahead of every peer (JAX included)", 1.0, over_best_peer,
         _keys("train", batch, SHAPES_784, [1, 2])),
        (core, "mini-batch: 2 threads never slower than 1", 1.0, two_over_one_thread,
         _keys("train", batch, SHAPES_784, [2])),
        (core, "forward batch 1 >= 2x NumPy", 2.0, over("numpy"),
         _keys("forward", ["batch1"], SHAPES_784, [1])),
        (core, "forward batch 1 >= 2x ONNX Runtime", 2.0, over("onnxruntime"),
         _keys("forward", ["batch1"], SHAPES_784, [1])),
        (core, "forward batch 1 >= 0.7 of the weight-traffic bound", 0.7, over("bound"),
         _keys("forward", ["batch1"], SHAPES_784, [1])),
        (core, "forward batch 1024 >= 1.1x ONNX Runtime", 1.1, over("onnxruntime"),
         _keys("forward", ["batch1024"], SHAPES, [1, 2])),
        (core, "forward batch 1024 >= 1.1x JAX", 1.1, over("jax"),
         _keys("forward", ["batch1024"], SHAPES, [1, 2])),
        (core, "forward batch 1024 >= 0.9 of the BLAS bound", 0.9, over("bound"),
         _keys("forward", ["batch1024"], SHAPES, [1, 2])),
        (core, "two networks in two Python threads >= 1.7x one thread", 1.7, two_networks,
         two),
        ("issue 15", "forward batch 1 >= 2x ONNX Runtime on nncore's network", 2.0,
         over("onnxruntime"), _keys("forward", ["batch1"], SHAPES, [1, 2])),
        ("issue 15", "forward batch 1024 >= 1.1x ONNX Runtime on nncore's network", 1.1,
         over("onnxruntime"), _keys("forward", ["batch1024"], SHAPES, [1, 2])),
    ]


def evaluate(runs_cells, main=None):
    """[(section, text, key, figure text, status)] for every target and cell.

    ``status`` is ``met`` when the median over the runs of the per-run figure
    reaches the threshold, ``not met`` below it, ``not measured (why)`` when
    no run gives the figure.
    """
    rows = []
    for section, text, threshold, figure, keys in targets():
        for key in keys:
            values, why = [], None
            for cells in runs_cells:
                value, reason = figure(cells, key, main)
                if value is None:
                    why = why or reason
                else:
                    values.append(value)
            if not values:
                rows.append((section, text, key, "", f"not measured ({why})"))
                continue
            status = "met" if median(values) >= threshold else "not met"
            rows.append((section, text, key, summary(values), status))
    return rows


def targets_table(rows):
    lines = ["| issue | target | cell | figure | status |", "|---|---|---|---|---|"]
    for section, text, key, figure, status in rows:
        kind, mode, shape, dtype, threads = key
        lines.append(f"| {section} | {text} | {mode} {shape} {dtype} t{threads} | "
                     f"{figure} | {status} |")
    counts = {}
    for row in rows:
        status = row[4].split(" (")[0]
        counts[status] = counts.get(status, 0) + 1
    lines.append("")
    lines.append(", ".join(f"{counts.get(s, 0)} {s}" for s in ("met", "not met", "not measured")))
    return "\n".join(lines)


def main_rates(paths, stat):
    """{cell key: median over the runs of nncore's rate} of main's runs (``--main``)."""
    rates = {}
    for path in paths:
        cells, _ = collect(json.loads(path.read_text()), stat)
        for key, cell in cells.items():
            if "nncore" in cell:
                rates.setdefault(key, []).append(cell["nncore"])
    return {key: median(values) for key, values in rates.items()}


def threads_table(combined):
    """The two-networks cells: both rates and the per-run speed-up."""
    lines = ["| cell | one network, one thread | two networks, two threads | speed-up |",
             "|---|---|---|---|"]
    for key in sorted((k for k in combined if k[0] == "threads"), key=sort_key):
        rates = {p: median(r) for p, r in combined[key]["rates"].items()}
        _, mode, shape, dtype, _ = key
        speedups = [r["two"] / r["one"] for r in combined[key]["runs"]
                    if "one" in r and "two" in r]
        lines.append(f"| {mode} {shape} {dtype} | "
                     f"{human(rates['one']) if 'one' in rates else ''} | "
                     f"{human(rates['two']) if 'two' in rates else ''} | {summary(speedups)} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path,
                        help="pytest-benchmark JSON files (default: the newest under .benchmarks/)")
    parser.add_argument("--last", type=int, default=1,
                        help="without paths: combine the N newest runs (default 1)")
    parser.add_argument("--stat", default="median", choices=["median", "min", "mean"],
                        help="round-time statistic the rates are computed from (default: median)")
    parser.add_argument("--main", nargs="+", type=Path, default=[], metavar="JSON",
                        help="runs of main's nncore, for the online target against main")
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
    first = next((b["extra_info"] for b in run["benchmarks"] if "blas" in b.get("extra_info", {})),
                 {})
    names = ", ".join(f"`{path.name}`" for path in paths)
    print(f"Samples per second ({args.stat} of the rounds"
          f"{', median over the runs' if len(runs) > 1 else ''}) from {names}, "
          f"{', '.join(r.get('datetime', '') for r in runs)}.\n")
    print(f"Machine: {machine.get('cpu', {}).get('brand_raw', machine.get('processor', '?'))}, "
          f"Python {machine.get('python_version', '?')}, nncore core {first.get('nncore_simd')}; "
          f"BLAS: {'; '.join(first.get('blas', []))}.\n")
    combined = combine(runs_cells)
    print(table(combined, bound_kind))
    print("\nbound: `blas` = the matrix products of the step only, through scipy's BLAS "
          "(nncore's); `traffic` = per sample, one compiled forward sweep over every weight "
          "plus (training) one separate update sweep, nothing else; nncore's online "
          "training fuses the first layer's update with the next forward sweep and can "
          "exceed it. `t1`/`t2`: threads of every peer (BLAS, nncore, PyTorch, ONNX "
          "Runtime's intra-op threads, JAX's CPUs). nncore / best peer > 1: nncore is faster than every other peer. The "
          "reference is pure Python (float64) on a few hundred samples.")
    if any(key[0] == "threads" for key in combined):
        print("\nTwo networks trained at once from two Python threads against one network "
              "in one thread (samples per second, same total samples):\n")
        print(threads_table(combined))
    print("\nTargets (figure: median over the runs, lowest and highest in brackets):\n")
    print(targets_table(evaluate(runs_cells, main_rates(args.main, args.stat))))


if __name__ == "__main__":
    main()
