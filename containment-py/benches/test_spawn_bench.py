"""Spawn-to-outcome of ``/bin/true`` through the Python entry point, with
pytest-benchmark (the Python counterpart of the criterion benches):
``containment.run`` with the default profile, with the memory, cpuset and pids
limits, and with ``net="none-reused"``, against ``subprocess.run`` of bwrap with
the isolation of the bwrap row of ``benches/compare.sh`` (performance target 4:
at least 2x faster). As root::

    target/py-venv/bin/python -m pytest containment-py/benches --benchmark-only

``containment-py/run-tests.sh`` (and so CI) runs each once, unmeasured
(``--benchmark-disable``), so that they keep working; the figures go in
``benches/RESULTS.md`` with their command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import containment

MUST_WORK = os.environ.get("CONTAINMENT_MUST_WORK") == "1"

# As benches/compare.sh's bwrap row: every namespace, /usr read-only, /proc, /dev, /tmp.
BWRAP = [
    "bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
    "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc",
    "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true",
]  # fmt: skip


def skip_or_fail(reason: str) -> None:
    """Skips with `reason`, or fails when CONTAINMENT_MUST_WORK=1."""
    if MUST_WORK:
        pytest.fail(f"CONTAINMENT_MUST_WORK=1 but: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def as_root() -> Iterator[None]:
    if os.geteuid() != 0:
        skip_or_fail("needs root: sandboxes need CAP_SYS_ADMIN")
    yield
    containment.release_kept_namespaces()


def ok(run: Callable[[], int]) -> Callable[[], None]:
    """`run`, checked to return exit code 0 every time."""

    def checked() -> None:
        assert run() == 0

    return checked


def test_containment_run_default(benchmark: BenchmarkFixture) -> None:
    benchmark(ok(lambda: containment.run(["/bin/true"]).returncode))


def test_containment_run_limits(benchmark: BenchmarkFixture) -> None:
    benchmark(ok(lambda: containment.run(["/bin/true"], memory="64M", cpus="0", pids=64).returncode))


def test_containment_run_none_reused(benchmark: BenchmarkFixture) -> None:
    benchmark(ok(lambda: containment.run(["/bin/true"], net="none-reused").returncode))


def test_subprocess_run_bwrap(benchmark: BenchmarkFixture) -> None:
    if shutil.which("bwrap") is None:
        skip_or_fail("bwrap is not installed (apt-get install bubblewrap)")
    benchmark(ok(lambda: subprocess.run(BWRAP).returncode))
