#!/usr/bin/env bash
# Builds every fuzz target of containment and runs each for FUZZ_SECONDS seconds
# (default 30), one after the other. Exits non-zero if any target found a crash
# (a panic, a failed assertion, an ASan report, a leak, a timeout of one input);
# the input that did it is in fuzz/artifacts/<target>/ and the command that
# replays it is printed.
#
#   bash fuzz/run-all.sh                     # every target, 30 s each
#   FUZZ_SECONDS=300 bash fuzz/run-all.sh    # longer
#   bash fuzz/run-all.sh cpuset ipv4net      # only these targets
#
# Needs the nightly toolchain (cargo-fuzz builds with -Zsanitizer=address) and
# cargo-fuzz, which it installs from crates.io when missing. The corpus grows in
# fuzz/corpus/<target>/ (not versioned); fuzz/seeds/<target>/ holds the versioned
# starting inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "run-all.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi

echo "== building the fuzz targets"
cargo +nightly fuzz build

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

failed=()
summary=()
for t in "${targets[@]}"; do
  echo "== fuzzing $t for ${seconds} s"
  mkdir -p "fuzz/corpus/$t"
  dirs=("fuzz/corpus/$t")
  [ -d "fuzz/seeds/$t" ] && dirs+=("fuzz/seeds/$t")
  log="$(mktemp)"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: 2 GiB is a leak.
  if cargo +nightly fuzz run "$t" "${dirs[@]}" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tee "$log" |
      grep -E '^(#[0-9]+\s+(INITED|DONE)|Done [0-9]+ runs|==[0-9]+==ERROR|SUMMARY|thread .* panicked|artifact_prefix|Test unit written)'; then
    :
  fi
  if grep -qE 'Test unit written|==[0-9]+==ERROR|deadly signal|panicked' "$log"; then
    failed+=("$t")
    summary+=("$t: CRASH (see fuzz/artifacts/$t/; replay: cargo +nightly fuzz run $t fuzz/artifacts/$t/<file>)")
    tail -n 60 "$log" >&2
  elif ! grep -q '^Done [0-9]* runs' "$log"; then
    failed+=("$t")
    summary+=("$t: DID NOT RUN (a build error?)")
    tail -n 30 "$log" >&2
  else
    summary+=("$t: $(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1)")
  fi
  rm -f "$log"
done

echo
echo "== summary"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "run-all.sh: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "no crash in ${#targets[@]} targets"
