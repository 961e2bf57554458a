"""A/B of a new network namespace per sandbox against a kept one (net="none" and
net="none-reused"), with and without limits, through the Python module.

Criterion measures one bench after the other; the kernel destroys a sandbox's
namespace on a worker after the sandbox, so a bench that follows one with new
namespaces pays for their destruction. Here the variants alternate in blocks (the
order reversed every other block), so each pays its share, and the CPU time of the
whole machine per spawn (from /proc/stat, the kernel's workers included) is shown
next to the wall time.

Run as root, from the repo root, with the module built (containment-py/run-tests.sh
builds it into target/py-venv):

    target/py-venv/bin/python benches/reuse_ab.py [BLOCKS [PER_BLOCK]]

Prints one line per variant: spawns, mean, median and minimum wall time of
containment.run(["/bin/true"], ...), and the machine's busy CPU time per spawn (other
work on the machine counts too: read it against the load average printed).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Callable, Literal

import containment


def run(net: Literal["none", "none-reused"], limits: bool) -> int:
    """containment.run(["/bin/true"]) with `net`, and memory 64M, CPU 0, 64 pids
    with `limits`; its return code."""
    if limits:
        return containment.run(["/bin/true"], net=net, memory="64M", cpus="0", pids=64).returncode
    return containment.run(["/bin/true"], net=net).returncode


VARIANTS: dict[str, Callable[[], int]] = {
    "none": lambda: run("none", False),
    "none-reused": lambda: run("none-reused", False),
    "none + limits": lambda: run("none", True),
    "none-reused + limits": lambda: run("none-reused", True),
}


def busy_ticks() -> int:
    """Clock ticks the machine's CPUs spent busy (all but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("reuse_ab.py: run as root (only root keeps network namespaces)")
    blocks = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    wall: dict[str, list[float]] = {k: [] for k in VARIANTS}
    busy: dict[str, int] = {k: 0 for k in VARIANTS}
    for variant in VARIANTS.values():
        for _ in range(20):
            variant()
    print("load average before:", " ".join(open("/proc/loadavg").read().split()[:3]))
    for b in range(blocks):
        order = list(VARIANTS) if b % 2 == 0 else list(reversed(VARIANTS))
        for name in order:
            variant = VARIANTS[name]
            b0 = busy_ticks()
            for _ in range(per):
                t0 = time.perf_counter()
                code = variant()
                wall[name].append((time.perf_counter() - t0) * 1e3)
                assert code == 0, f"{name}: /bin/true returned {code}"
            busy[name] += busy_ticks() - b0
    print("load average after: ", " ".join(open("/proc/loadavg").read().split()[:3]))
    tick_ms = 1e3 / os.sysconf("SC_CLK_TCK")
    print("| variant | spawns | mean ms | median ms | min ms | machine CPU ms per spawn |")
    print("|---|---|---|---|---|---|")
    for name, v in wall.items():
        cpu = busy[name] * tick_ms / len(v)
        print(f"| {name} | {len(v)} | {statistics.fmean(v):.2f} | {statistics.median(v):.2f} | {min(v):.2f} | {cpu:.2f} |")
    containment.release_kept_namespaces()


if __name__ == "__main__":
    main()
