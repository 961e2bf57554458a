"""The type stubs: `mypy --strict` on a sample of typical uses, and `stubtest`
against the installed module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import skip_or_fail

HERE = Path(__file__).parent


def mypy_available() -> None:
    try:
        import mypy  # noqa: F401
    except ImportError:
        skip_or_fail("mypy is not installed (pip install mypy)")


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    # Outside the source tree, so that the installed package (with its compiled
    # module) is what gets checked, not python/containment.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd="/", env=env, timeout=600)


def test_mypy_strict_on_the_sample() -> None:
    mypy_available()
    r = run_tool("mypy", "--strict", "--no-incremental", str(HERE / "typing_sample.py"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_stubtest() -> None:
    mypy_available()
    r = run_tool("mypy.stubtest", "containment")
    assert r.returncode == 0, r.stdout + r.stderr
