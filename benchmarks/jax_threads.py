# SPDX-License-Identifier: MIT
"""Check that `peers.pinned` really limits JAX: which threads work, on which CPUs.

Usage::

    python benchmarks/jax_threads.py [--threads 1]

Runs one jitted forward pass over 8192 samples in batches of 1024 on
[784, 256, 128, 10] (float32) a few times, free and then inside
``peers.pinned(threads)``, and prints for each: the threads of the process
that gained CPU time (clock ticks), the CPUs those threads were last seen on,
and CPU time over wall time. Pinned to one CPU, every working thread must be
on that CPU. Linux only (reads ``/proc/self/task/*/stat``); a check, not a
timing.
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402


def threads_cpu():
    """{thread id: (utime + stime in ticks, CPU last run on)}."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # from field 3 (state) on
        out[int(tid)] = (int(fields[11]) + int(fields[12]), int(fields[36]))
    return out


def watch(label, call, repeats=5):
    start, cpus = threads_cpu(), set()
    wall = time.perf_counter()
    for _ in range(repeats):
        before = threads_cpu()
        call()
        after = threads_cpu()
        cpus |= {cpu for tid, (ticks, cpu) in after.items()
                 if ticks != before.get(tid, (0, 0))[0]}
    wall = time.perf_counter() - wall
    end = threads_cpu()
    ticks = sorted((end[t][0] - start.get(t, (0, 0))[0] for t in end
                    if end[t][0] != start.get(t, (0, 0))[0]), reverse=True)
    hz = os.sysconf("SC_CLK_TCK")
    print(f"{label}: {len(ticks)} threads worked (ticks {ticks}), on CPUs {sorted(cpus)}, "
          f"CPU time / wall {sum(ticks) / hz / wall:.2f}")
    return cpus


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    sizes, dtype = (784, 256, 128, 10), "float32"
    _, weights, biases = peers.initial_network(sizes, dtype, 7)
    X, _ = peers.make_data(sizes, 8192, dtype, 1)
    model = peers.JaxMLP(weights, biases, dtype)

    def forward():
        return peers.predict_in_batches(model.predict, X, 1024)

    forward()                                   # compile
    print(f"process may run on CPUs {sorted(os.sched_getaffinity(0))}")
    watch("free", forward)
    with peers.pinned(args.threads):
        allowed = os.sched_getaffinity(0)
        cpus = watch(f"pinned({args.threads}) to CPUs {sorted(allowed)}", forward)
    watch("free again", forward)
    if not cpus <= allowed:
        sys.exit(f"pinned threads ran on CPUs {sorted(cpus - allowed)} outside {sorted(allowed)}")


if __name__ == "__main__":
    main()
