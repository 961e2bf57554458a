#!/usr/bin/env python3
"""A tiny judge: runs untrusted submissions in sandboxes under limits, in parallel,
and prints a table of outcomes.

    sudo python3 examples/python/judge.py [--memory 64M] [--timeout 2] [--jobs 4]

Each submission is a shell or Python snippet that reads a number n on standard
input and must print the sum 1 + ... + n. Some are wrong on purpose: one loops
forever, one eats memory, one crashes, one exits with an error, one tries to
escape. Needs root (namespaces) and `pip install ./containment-py`.
"""

from __future__ import annotations

import argparse
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import containment

TEST_INPUT = b"1000\n"
EXPECTED = b"500500\n"


@dataclass
class Submission:
    name: str
    argv: list[str]


def py(code: str) -> list[str]:
    return ["python3", "-c", code]


def sh(code: str) -> list[str]:
    return ["/bin/sh", "-c", code]


SUBMISSIONS = [
    Submission("alice (python)", py("n = int(input()); print(n * (n + 1) // 2)")),
    Submission("bob (shell)", sh("read n; echo $((n * (n + 1) / 2))")),
    Submission("carol (off by one)", py("n = int(input()); print(sum(range(n)))")),
    Submission("dave (infinite loop)", py("while True: pass")),
    Submission("erin (memory hog)", py("x = []\nwhile True: x.append(bytearray(1 << 20))")),
    Submission("frank (segfault)", py("import ctypes; ctypes.string_at(0)")),
    Submission("grace (exit 3)", sh("echo oops >&2; exit 3")),
    Submission("heidi (fork bomb)", sh("b() { b | b & }; b; sleep 5")),
    Submission("ivan (escape?)", sh("cat /etc/shadow; ls /root; hostname")),
]


def verdict(r: containment.CompletedProcess[bytes]) -> str:
    if r.timed_out:
        return "TIMEOUT"
    if r.oom_killed:
        return "OUT OF MEMORY"
    if r.returncode < 0:
        return f"SIGNAL {signal.Signals(-r.returncode).name}"
    if r.returncode != 0:
        return f"EXIT {r.returncode}"
    return "OK" if r.stdout == EXPECTED else "WRONG ANSWER"


def judge(sandbox: containment.Sandbox, s: Submission) -> tuple[Submission, str, containment.CompletedProcess[bytes] | None]:
    try:
        r = sandbox.run(s.argv, input=TEST_INPUT, capture_output=True)
    except containment.ContainmentError as e:  # could not even start: name why
        return s, f"ERROR {type(e).__name__}: {e}", None
    return s, verdict(r), r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memory", default="64M", help="memory limit per submission (default 64M)")
    ap.add_argument("--timeout", type=float, default=2.0, help="wall-clock seconds per submission (default 2)")
    ap.add_argument("--jobs", type=int, default=4, help="submissions judged at once (default 4)")
    args = ap.parse_args()

    # One description, reused for every run: no network, a private /tmp, limits.
    sandbox = containment.Sandbox(
        memory=args.memory,
        pids=32,
        timeout=args.timeout,
        hostname="judge",
        rlimits={"core": 0, "fsize": "16M", "nofile": 64},
    )
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda s: judge(sandbox, s), SUBMISSIONS))

    print(f"{'submission':<22} {'verdict':<18} {'code':>5} {'wall s':>7} {'cpu s':>6} {'peak MiB':>9}")
    print("-" * 72)
    for s, v, r in results:
        if r is None:
            print(f"{s.name:<22} {v}")
            continue
        u = r.usage
        peak = f"{u.peak_memory / (1 << 20):.1f}" if u.peak_memory is not None else "-"
        print(f"{s.name:<22} {v:<18} {r.returncode:>5} {u.wall:>7.2f} {u.user + u.system:>6.2f} {peak:>9}")
    return 1 if any(r is None for _, _, r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
