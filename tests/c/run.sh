#!/usr/bin/env bash
# Builds libcontainment (debug), then builds and runs every C test (tests/c/*.c,
# and tests/c/*.cpp as C++) and the example examples/c/mini_contain.c:
#   - natively,
#   - under valgrind (--leak-check=full; any error or definite/indirect leak fails),
#   - under AddressSanitizer + UndefinedBehaviorSanitizer (leaks included).
# Then checks the install step (scripts/install-c into a temporary prefix, a program
# built with pkg-config, and one linked in place with -L target/release).
#
# Usage: bash tests/c/run.sh            (as root, so that sandboxes can start)
# Environment:
#   CONTAINMENT_MUST_WORK=1    a test that would skip for lack of root fails instead
#   CONTAINMENT_C_NO_INSTALL=1 skip the install check (it builds in release mode)
#   CC, CXX, CARGO             the tools (default gcc, g++, cargo)
#
# valgrind 3.19 (Debian 12) implements neither clone3 nor open_tree, so no sandbox
# can start under it: the valgrind leg leaves out the parts that start sandboxes
# (whatever CONTAINMENT_MUST_WORK says) and everything else runs; the same tests
# run natively and under ASan, which handle those calls.
# Commas inside compiler flags and $ inside single-quoted inner scripts are meant.
# shellcheck disable=SC2054,SC2016
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
cc=${CC:-gcc}
cxx=${CXX:-g++}
cargo=${CARGO:-cargo}
must_work=${CONTAINMENT_MUST_WORK:-0}

missing=()
for tool in "$cc" "$cxx" valgrind pkg-config readelf nm; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "run.sh: missing tools: ${missing[*]} (Debian packages gcc g++ valgrind pkg-config binutils)" >&2
  exit 1
fi

echo "== building libcontainment (cargo build -p containment-ffi)"
"$cargo" build -p containment-ffi
target_dir=$("$cargo" metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
lib=${target_dir:-$root/target}/debug
# The SONAME is libcontainment.so.0; build.rs makes this link, but make sure.
[ -e "$lib/libcontainment.so.0" ] || ln -sfn libcontainment.so "$lib/libcontainment.so.0"

build=$(mktemp -d /tmp/ctmtest-cbuild-XXXXXX)
trap 'rm -rf "$build"' EXIT

cflags=(-std=c11 -Wall -Wextra -Werror -g -pthread -I"$root/include")
cxxflags=(-std=c++17 -Wall -Wextra -Werror -g -pthread -I"$root/include")
ldflags=(-L"$lib" -Wl,-rpath,"$lib" -lcontainment)
asan=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
valgrind=(valgrind -q --leak-check=full --error-exitcode=99 --errors-for-leak-kinds=definite,indirect
  --trace-children=no)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=98
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

runs_passed=0 runs_failed=0 runs_skipped=0
checks_passed=0 checks_failed=0 checks_skipped=0
failures=()

# record NAME RC LOG: counts a run and the summary line "X: N passed, N failed, N skipped" in LOG.
record() {
  local name=$1 rc=$2 log=$3 line
  line=$(grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1 || true)
  if [ -n "$line" ]; then
    local p f s
    read -r p f s < <(sed -E 's/^[a-z_]+: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/' <<<"$line")
    checks_passed=$((checks_passed + p)) checks_failed=$((checks_failed + f)) checks_skipped=$((checks_skipped + s))
  fi
  if [ "$rc" -ne 0 ]; then
    runs_failed=$((runs_failed + 1))
    failures+=("$name (exit code $rc)")
    echo "-- FAILED: $name (exit code $rc)"
  elif grep -q '^skipped:' "$log" && ! grep -qE ' [1-9][0-9]* passed' <<<"$line"; then
    runs_skipped=$((runs_skipped + 1))
    echo "-- skipped: $name"
  else
    runs_passed=$((runs_passed + 1))
    echo "-- ok: $name${line:+ ($line)}"
  fi
}

# run NAME CMD...: runs a command, shows its output, records the result.
run() {
  local name=$1 log rc=0
  shift
  log=$(mktemp "$build/log-XXXXXX")
  echo "== $name"
  "$@" >"$log" 2>&1 || rc=$?
  cat "$log"
  record "$name" "$rc" "$log"
}

# expect NAME WANT_RC NEEDLE CMD...: runs a command that must exit with WANT_RC and
# print NEEDLE (on stdout or stderr).
expect() {
  local name=$1 want=$2 needle=$3 log rc=0
  shift 3
  log=$(mktemp "$build/log-XXXXXX")
  echo "== $name"
  "$@" >"$log" 2>&1 || rc=$?
  cat "$log"
  if [ "$rc" -eq "$want" ] && grep -qF -- "$needle" "$log"; then
    record "$name" 0 "$log"
  else
    echo "   wanted exit code $want and output containing: $needle"
    record "$name" "${rc/#0/1}" "$log"
  fi
}

# skip_or_fail NAME REASON
skip_or_fail() {
  if [ "$must_work" = 1 ]; then
    runs_failed=$((runs_failed + 1))
    failures+=("$1 (cannot run: $2; CONTAINMENT_MUST_WORK=1 forbids skipping)")
    echo "-- FAILED: $1: cannot run: $2 (CONTAINMENT_MUST_WORK=1 forbids skipping)"
  else
    runs_skipped=$((runs_skipped + 1))
    echo "-- skipped: $1: $2"
  fi
}

echo "== compiling the C tests and the example"
tests=()
for src in tests/c/*.c; do
  name=$(basename "$src" .c)
  "$cc" "${cflags[@]}" "$src" -o "$build/$name" "${ldflags[@]}"
  "$cc" "${cflags[@]}" "${asan[@]}" "$src" -o "$build/$name.asan" "${ldflags[@]}"
  tests+=("$name")
done
for src in tests/c/*.cpp; do
  name=$(basename "$src" .cpp)
  "$cxx" "${cxxflags[@]}" "$src" -o "$build/$name" "${ldflags[@]}"
  "$cxx" "${cxxflags[@]}" "${asan[@]}" "$src" -o "$build/$name.asan" "${ldflags[@]}"
  tests+=("$name")
done
"$cc" "${cflags[@]}" examples/c/mini_contain.c -o "$build/mini_contain" "${ldflags[@]}"
# The same example linked statically against libcontainment.a.
"$cc" "${cflags[@]}" examples/c/mini_contain.c -o "$build/mini_contain_static" "$lib/libcontainment.a" \
  -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# The bench of the C entry point (benches/compare.sh runs it in release).
"$cc" "${cflags[@]}" benches/c/spawn_loop.c -o "$build/spawn_loop" "${ldflags[@]}" -lm
# The micro-benchmark of v1 cgroup moves (benches/RESULTS.md, run E).
"$cc" "${cflags[@]}" benches/c/cgroup_attach.c -o "$build/cgroup_attach"
"$cc" "${cflags[@]}" tests/c/canary/leak.c -o "$build/canary_leak" "${ldflags[@]}"
"$cc" "${cflags[@]}" "${asan[@]}" tests/c/canary/leak.c -o "$build/canary_leak.asan" "${ldflags[@]}"
echo "compiled: ${tests[*]} mini_contain mini_contain_static spawn_loop cgroup_attach"

# Every function the library exports is declared in the header and called by a C test.
uncovered=()
while read -r sym; do
  grep -q "$sym(" include/containment.h || uncovered+=("$sym (not in the header)")
  grep -q "$sym(" tests/c/*.c tests/c/*.cpp examples/c/*.c || uncovered+=("$sym (no C test calls it)")
done < <(nm -D --defined-only "$lib/libcontainment.so" | awk '$2 == "T" && $3 ~ /^containment_/ {print $3}')
if [ "${#uncovered[@]}" -eq 0 ]; then
  runs_passed=$((runs_passed + 1))
  echo "-- ok: every exported function is in the header and called by a C test"
else
  runs_failed=$((runs_failed + 1))
  failures+=("coverage: ${uncovered[*]}")
  echo "-- FAILED: exported functions not covered: ${uncovered[*]}"
fi

# The leak checkers must see a leaked handle, or their silence on the tests means nothing.
rc=0
"${valgrind[@]}" "$build/canary_leak" >"$build/canary.log" 2>&1 || rc=$?
if [ "$rc" -eq 99 ] && grep -q "definitely lost" "$build/canary.log"; then
  runs_passed=$((runs_passed + 1))
  echo "-- ok: valgrind reports a leaked handle (canary)"
else
  runs_failed=$((runs_failed + 1))
  failures+=("valgrind canary: a leaked handle was not reported (exit code $rc)")
  cat "$build/canary.log"
fi
rc=0
"$build/canary_leak.asan" >"$build/canary.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && grep -q "LeakSanitizer" "$build/canary.log"; then
  runs_passed=$((runs_passed + 1))
  echo "-- ok: LeakSanitizer reports a leaked handle (canary)"
else
  runs_failed=$((runs_failed + 1))
  failures+=("ASan canary: a leaked handle was not reported (exit code $rc)")
  cat "$build/canary.log"
fi

for t in "${tests[@]}"; do
  run "$t (native)" "$build/$t"
  # valgrind 3.19 implements neither clone3 nor open_tree: no sandbox starts under
  # it. test_run starts one in every test, so its valgrind leg would check nothing;
  # the others run their parts that start no sandbox. Everything runs natively and
  # under ASan (with LeakSanitizer).
  if [ "$t" != test_run ]; then
    run "$t (valgrind)" env CONTAINMENT_C_VALGRIND=1 "${valgrind[@]}" "$build/$t"
  fi
  run "$t (asan)" "$build/$t.asan"
done

# The example. Bad input needs no root; spawning does.
expect "mini_contain: bad memory size" 2 'invalid size "1XB"' "$build/mini_contain" --memory 1XB -- /bin/true
expect "mini_contain: bad memory size (valgrind)" 2 'invalid size "1XB"' \
  "${valgrind[@]}" "$build/mini_contain" --memory 1XB -- /bin/true
expect "mini_contain: no program" 2 "no program given" "$build/mini_contain" --memory 64M --
if [ "$(id -u)" = 0 ]; then
  expect "mini_contain: exit code" 3 "exit_code=3 signal=0 oom_killed=0" \
    "$build/mini_contain" --memory 64M -- /bin/sh -c 'echo hello; exit 3'
  expect "mini_contain: OOM" 137 "signal=9 oom_killed=1" \
    "$build/mini_contain" --memory 32M -- /bin/sh -c 'x=$(head -c 100M /dev/zero | tr "\\0" a)'
  expect "mini_contain: timeout" 137 "timed_out=1" "$build/mini_contain" --timeout 200 -- /bin/sleep 30
  expect "mini_contain: signal" 143 "signal=15" "$build/mini_contain" -- /bin/sh -c 'kill -TERM $$'
  expect "mini_contain: not found" 127 "stage=exec path=/nonexistent" "$build/mini_contain" -- /nonexistent
  expect "mini_contain: static" 4 "exit_code=4" "$build/mini_contain_static" -- /bin/sh -c 'exit 4'
  expect "spawn_loop: 5 sandboxes, then 5 with limits" 0 "RESULT|c-api:spawn+limits|5|" \
    sh -c '"$1" 5 && "$1" 5 limits' sh "$build/spawn_loop"
  if [ -f /sys/fs/cgroup/pids/tasks ]; then
    expect "cgroup_attach: 3 moves through tasks" 0 "pids tasks: pause 0 us" "$build/cgroup_attach" tasks 3 pids 0
  fi
  if [ -x /bin/busybox ]; then
    rootfs=$build/rootfs
    mkdir -p "$rootfs/bin"
    cp /bin/busybox "$rootfs/bin/"
    ln -s busybox "$rootfs/bin/sh"
    expect "mini_contain: chroot" 0 "in-chroot" \
      "$build/mini_contain" --chroot "$rootfs" -- /bin/sh -c 'test ! -e /usr/bin && echo in-chroot'
  else
    skip_or_fail "mini_contain: chroot" "needs the static /bin/busybox (Debian package busybox-static)"
  fi
else
  skip_or_fail "mini_contain (spawning)" "needs root (CAP_SYS_ADMIN) to create namespaces"
fi

# The install step: scripts/install-c PREFIX, then pkg-config; and linking in place.
if [ "${CONTAINMENT_C_NO_INSTALL:-0}" = 1 ]; then
  echo "-- skipped: install check (CONTAINMENT_C_NO_INSTALL=1)"
  runs_skipped=$((runs_skipped + 1))
else
  prefix=$build/prefix
  run "scripts/install-c" bash scripts/install-c "$prefix"
  release=${target_dir:-$root/target}/release
  if [ -f "$prefix/lib/pkgconfig/containment.pc" ]; then
    soname=$(readelf -d "$prefix/lib/libcontainment.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
    expect "installed SONAME" 0 "libcontainment.so.0" echo "SONAME: $soname"
    run "pkg-config build" env PKG_CONFIG_PATH="$prefix/lib/pkgconfig" bash -c \
      'cc examples/c/mini_contain.c $(pkg-config --cflags --libs containment) -o "$0/mini_pc" && echo built' \
      "$build"
    run "plain -I include -L target/release -lcontainment" bash -c \
      'cc -I include examples/c/mini_contain.c -L "$1" -lcontainment -o "$0/mini_plain" && echo built' \
      "$build" "$release"
    if [ "$(id -u)" = 0 ]; then
      expect "pkg-config build runs" 5 "exit_code=5" "$build/mini_pc" -- /bin/sh -c 'exit 5'
      expect "plain build runs (LD_LIBRARY_PATH=target/release)" 7 "exit_code=7" \
        env LD_LIBRARY_PATH="$release" "$build/mini_plain" -- /bin/sh -c 'exit 7'
    else
      expect "pkg-config build runs" 2 "invalid size" "$build/mini_pc" --memory 1XB -- /bin/true
      expect "plain build runs (LD_LIBRARY_PATH=target/release)" 2 "invalid size" \
        env LD_LIBRARY_PATH="$release" "$build/mini_plain" --memory 1XB -- /bin/true
    fi
  fi
fi

echo
echo "== C test checks: $checks_passed passed, $checks_failed failed, $checks_skipped skipped"
for f in "${failures[@]+"${failures[@]}"}"; do
  echo "   failed: $f"
done
echo "c-runs: $runs_passed passed, $runs_failed failed, $runs_skipped skipped"
[ "$runs_failed" -eq 0 ]
