"""Spawn-to-outcome of containment.run(["/bin/true"]) from a Python process that has
touched MIB MiB of memory first: how the cost of a spawn depends on the size of
the supervisor.

    python benches/supervisor_size.py MIB RUNS [PACKAGE_DIR]

PACKAGE_DIR, if given, is put first on sys.path, so that another build of the
module (a directory holding a `containment` package) can be compared with the
installed one in the same conditions. Prints mean, median and minimum in ms.
"""

import sys
import time

mib, runs = int(sys.argv[1]), int(sys.argv[2])
if len(sys.argv) > 3:
    sys.path.insert(0, sys.argv[3])
import containment  # noqa: E402

big = bytearray(mib * 1024 * 1024)
for i in range(0, len(big), 4096):
    big[i] = 1
for _ in range(20):
    containment.run(["/bin/true"])
times = []
for _ in range(runs):
    t = time.perf_counter()
    containment.run(["/bin/true"])
    times.append(time.perf_counter() - t)
times.sort()
print(
    f"{containment.__file__}: {mib} MiB touched: mean {sum(times) / runs * 1e3:.2f} ms, "
    f"median {times[runs // 2] * 1e3:.2f}, min {times[0] * 1e3:.2f} ({runs} runs)"
)
