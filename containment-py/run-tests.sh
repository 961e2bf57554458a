#!/usr/bin/env bash
# Builds and tests the Python module of containment. Run it as root from anywhere:
#   bash containment-py/run-tests.sh [extra pytest arguments]
#
# It creates (or reuses) a virtual environment in target/py-venv, installs maturin,
# pytest, pytest-benchmark and mypy into it from PyPI, installs ./containment-py the
# way a user would (`pip install`, maturin as the build backend), then runs the
# pytest suite with warnings as errors, the benchmarks of benches/ once each,
# unmeasured, `mypy --strict` on tests/typing_sample.py and the benchmarks, and
# `mypy.stubtest` against the installed module. Any failure, and a pytest run
# that collects no test (exit code 5), makes it exit non-zero.
#
# With CONTAINMENT_MUST_WORK=1 (as CI sets it) a test that would skip for lack of
# root or of a kernel feature fails instead.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/target/py-venv"
py="$venv/bin/python"

if ! "$py" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null; then
  echo "== creating $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
fi

echo "== installing maturin, pytest, pytest-benchmark, mypy"
"$py" -m pip install --quiet --disable-pip-version-check --upgrade "maturin>=1.5,<2" pytest pytest-benchmark mypy

echo "== pip install ./containment-py"
"$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./containment-py

echo "== pytest"
(cd "$root/containment-py" && "$py" -m pytest -W error -p no:cacheprovider tests "$@")

# Measured with: target/py-venv/bin/python -m pytest containment-py/benches --benchmark-only
echo "== the benchmarks, once each, unmeasured"
(cd "$root/containment-py" && "$py" -m pytest -W error -p no:cacheprovider benches --benchmark-disable)

# The type checks run outside the source tree, so that they see the installed
# package (with its compiled module), not containment-py/python.
echo "== mypy --strict tests/typing_sample.py benches/"
(cd "$venv" && "$py" -m mypy --strict --cache-dir "$venv/.mypy_cache" "$root/containment-py/tests/typing_sample.py" \
  "$root/containment-py/benches/test_spawn_bench.py")

echo "== stubtest"
(cd "$venv" && "$py" -m mypy.stubtest containment)

echo "== Python: all passed"
