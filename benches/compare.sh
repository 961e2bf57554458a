#!/usr/bin/env bash
# compare.sh - spawn-to-outcome of /bin/true: containment (library and the `contain`
# example) against its peers and the C floor, all measured in one run, printed as one
# table of means, minimums and ratios against `contain`.
#
# Usage (as root, from anywhere):   benches/compare.sh
# Environment:
#   RUNS=300 WARMUP=20   hyperfine runs / warmup per command
#   LOOPS=2000           iterations of the in-process C floor (floor sbxloop)
#   FLOOR_SRC=path       floor.c (default: ../shared/bench/floor.c from the repo root)
#   KEEP=1               keep the temp dir (floor binary, rootfs) for inspection
# Raw results are copied to target/compare/ (hyperfine.json, floor-*.txt, criterion.txt).
#
# What it does:
#   1. installs missing peers from Debian (bubblewrap, hyperfine, busybox-static, jq)
#   2. builds the C floor (../shared/bench/floor.c relative to the repo root)
#   3. builds the `contain` example in release (rows skipped, with a note, if the
#      example does not exist or does not build/run yet)
#   4. builds a busybox rootfs (bin proc dev tmp etc, static busybox + applet links)
#   5. runs: floor sbxloop (in-process floors, without and with a net namespace),
#      the criterion bench `spawn` (in-process containment), then hyperfine -N of the
#      command-line tools
#   6. prints one table; raw data: hyperfine JSON + criterion estimates.json
#
# The floor's `cg` mode (which creates bench-micro cgroups) is NOT used.
set -euo pipefail

RUNS=${RUNS:-300}
WARMUP=${WARMUP:-20}
LOOPS=${LOOPS:-2000}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
floor_src=${FLOOR_SRC:-"$repo/../shared/bench/floor.c"}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'compare.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (namespaces, pivot_root, mounts)"
[[ -f $floor_src ]] || die "C floor not found at $floor_src"

# ---------------------------------------------------------------- 1. peers
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for pkg in bubblewrap hyperfine busybox-static jq; do
    pkg_installed "$pkg" || missing+=("$pkg")
done
# ---- crun / runc: LATER ISSUE -------------------------------------------------
# Add `crun runc` to the loop above, and their rows to the hyperfine run below
# (an OCI bundle from the busybox rootfs; crun needs a private mount namespace in
# which /sys/fs/cgroup/unified is unmounted: "cgroups in hybrid mode not supported").
# -------------------------------------------------------------------------------
if ((${#missing[@]})); then
    log "installing missing peers: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "${missing[@]}" || { apt-get update && apt-get install -y "${missing[@]}"; }
fi
for tool in bwrap hyperfine jq unshare gcc; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -x /bin/busybox ]] || die "/bin/busybox missing (busybox-static)"

tmp=$(mktemp -d /tmp/ctm-compare.XXXXXX)
cleanup() {
    if [[ ${KEEP:-0} == 1 ]]; then
        log "kept $tmp"
    else
        rm -rf -- "$tmp"
    fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- 2. C floor
log "building the C floor"
gcc -O2 -o "$tmp/floor" "$floor_src" -lm
floor="$tmp/floor"

# ---------------------------------------------------------------- 3. contain
contain=""
contain_note=""
if [[ -f $repo/examples/contain.rs ]]; then
    log "building the contain example (release)"
    if (cd "$repo" && cargo build --release --example contain 2>&1 | tee "$tmp/contain-build.txt" >&2; exit "${PIPESTATUS[0]}"); then
        contain="$repo/target/release/examples/contain"
        [[ -x $contain ]] || { contain=""; contain_note="built, but $repo/target/release/examples/contain is missing"; }
    else
        contain_note="examples/contain.rs does not build: $(grep -m1 '^error' "$tmp/contain-build.txt" || echo 'see cargo output')"
    fi
else
    contain_note="examples/contain.rs does not exist yet"
fi

# the criterion bench binary too, so a build failure stops us before any measuring
log "building the criterion bench (cargo bench --no-run)"
(cd "$repo" && cargo bench -p containment --bench spawn --no-run)

# ---------------------------------------------------------------- 4. rootfs
rootfs="$tmp/rootfs"
log "building the busybox rootfs in $rootfs"
mkdir -p "$rootfs"/{bin,proc,dev,tmp,etc}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
done
[[ -e $rootfs/bin/true ]] || die "busybox has no true applet"

# the contain rows only if it actually runs /bin/true in both forms
if [[ -n $contain ]]; then
    if ! "$contain" -- /bin/true; then
        contain_note="'contain -- /bin/true' failed"
        contain=""
    elif ! "$contain" --chroot "$rootfs" -- /bin/true; then
        contain_note="'contain --chroot ROOTFS -- /bin/true' failed"
        contain=""
    fi
fi
[[ -z $contain_note ]] || log "contain rows skipped: $contain_note"

# ---------------------------------------------------------------- 5. measure
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
read -r load1 _ </proc/loadavg
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    log "WARNING: load average $load1 on $(nproc) cpus: other work is running, the numbers will be noisy"
fi
# 5a. in-process C floors
log "floor sbxloop $LOOPS ROOTFS"
"$floor" sbxloop "$LOOPS" "$rootfs" | tee "$tmp/floor-nonet.txt"
log "floor sbxloop $LOOPS ROOTFS net"
"$floor" sbxloop "$LOOPS" "$rootfs" net | tee "$tmp/floor-net.txt"

# 5b. in-process containment (criterion); estimates must be newer than this stamp
touch "$tmp/stamp"
log "cargo bench -p containment --bench spawn -- --noplot"
(cd "$repo" && cargo bench -p containment --bench spawn -- --noplot) | tee "$tmp/criterion.txt"
crit_dir="$repo/target/criterion/spawn"

# 5c. command-line tools
hf_args=(-N --warmup "$WARMUP" --runs "$RUNS" --export-json "$tmp/hyperfine.json")
if [[ -n $contain ]]; then
    hf_args+=(-n "contain" "$contain -- /bin/true")
    hf_args+=(-n "contain-chroot" "$contain --chroot $rootfs -- /bin/true")
fi
hf_args+=(-n "bwrap" "bwrap --unshare-all --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp /bin/true")
hf_args+=(-n "floor-sbx" "$floor sbx $rootfs net")
hf_args+=(-n "unshare" "unshare -mpiun --fork /bin/true")
# ---- crun / runc rows: LATER ISSUE (see above) ----
log "hyperfine ${hf_args[*]}"
hyperfine "${hf_args[@]}"

# keep the raw data past the temp dir
out="$repo/target/compare"
mkdir -p "$out"
cp "$tmp/hyperfine.json" "$tmp/floor-nonet.txt" "$tmp/floor-net.txt" "$tmp/criterion.txt" "$out/"

# ---------------------------------------------------------------- 6. table
# Each row: tool|isolation|mean_ms|min_ms|median_ms|reference-key   (keys below)
rows=()
declare -A ref_mean=()

hf_row() { # name -> "mean_ms min_ms median_ms" (empty if absent)
    jq -r --arg n "$1" '.results[] | select(.command == $n) | "\(.mean * 1000) \(.min * 1000) \(.median * 1000)"' "$tmp/hyperfine.json"
}
crit_row() { # id -> "mean_ms min_ms median_ms"; min = fastest sample's per-iteration mean
    local d="$crit_dir/$1/new"
    [[ -f $d/estimates.json && $d/estimates.json -nt $tmp/stamp ]] || { echo ""; return; }
    local mean min median
    mean=$(jq -r '.mean.point_estimate / 1e6' "$d/estimates.json")
    median=$(jq -r '.median.point_estimate / 1e6' "$d/estimates.json")
    min=$(jq -r '[range(0; .iters | length) as $i | .times[$i] / .iters[$i]] | min / 1e6' "$d/sample.json")
    echo "$mean $min $median"
}
floor_row() { # file -> "mean_ms min_ms median_ms" from RESULT|name|n|mean_us|sd_us|min_us|median_us|p99_us
    awk -F'|' '/^RESULT\|/ { printf "%s %s %s\n", $4 / 1000, $6 / 1000, $7 / 1000 }' "$1"
}
add() { # tool isolation "mean min median" refkey
    local m n d
    [[ -n $3 ]] || { rows+=("$1|$2|n/a|n/a|n/a|$4"); return; }
    read -r m n d <<<"$3"
    rows+=("$1|$2|$m|$n|$d|$4")
}

iso_default="default profile (its new namespaces incl. net, no caps, nnp, seccomp); default root: ro host dirs, proc, dev, tmp"
iso_chroot="default profile; busybox rootfs via pivot_root, proc, dev, tmp"

# command-line rows; reference = the contain command with the closest isolation
if [[ -n $contain ]]; then
    add "contain" "$iso_default" "$(hf_row contain)" cmd-default
    add "contain --chroot" "$iso_chroot" "$(hf_row contain-chroot)" cmd-chroot
    ref_mean[cmd-default]=$(hf_row contain | cut -d' ' -f1)
    ref_mean[cmd-chroot]=$(hf_row contain-chroot | cut -d' ' -f1)
else
    rows+=("contain|($contain_note)|n/a|n/a|n/a|cmd-default")
    rows+=("contain --chroot|($contain_note)|n/a|n/a|n/a|cmd-chroot")
fi
add "bwrap --unshare-all" "new mnt,pid,uts,ipc,net,user,cgroup ns; ro /usr, proc, dev, tmpfs /tmp" "$(hf_row bwrap)" cmd-default
add "floor sbx (C, command)" "mnt,pid,uts,ipc,net ns; busybox rootfs via pivot_root, proc" "$(hf_row floor-sbx)" cmd-chroot
add "unshare -mpiun --fork" "mnt,pid,ipc,uts,net ns; host root, no proc" "$(hf_row unshare)" cmd-default

# in-process rows; reference = the containment library with the closest isolation
add "containment lib: default" "$iso_default (in-process)" "$(crit_row default)" lib-default
add "containment lib: chroot-busybox" "$iso_chroot (in-process)" "$(crit_row chroot-busybox)" lib-chroot
add "containment lib: chroot-busybox-minimal" "as above, no /tmp (in-process)" "$(crit_row chroot-busybox-minimal)" lib-minimal
add "floor sbxloop (C, in-process)" "mnt,pid,uts,ipc,net ns; busybox rootfs, pivot_root, proc" "$(floor_row "$tmp/floor-net.txt")" lib-chroot
add "floor sbxloop (C, in-process)" "mnt,pid,uts,ipc ns (no net); busybox rootfs, pivot_root, proc" "$(floor_row "$tmp/floor-nonet.txt")" lib-minimal
ref_mean[lib-default]=$(crit_row default | cut -d' ' -f1)
ref_mean[lib-chroot]=$(crit_row chroot-busybox | cut -d' ' -f1)
ref_mean[lib-minimal]=$(crit_row chroot-busybox-minimal | cut -d' ' -f1)

declare -A ref_name=(
    [cmd-default]="contain"
    [cmd-chroot]="contain --chroot"
    [lib-default]="lib default"
    [lib-chroot]="lib chroot-busybox"
    [lib-minimal]="lib chroot-busybox-minimal"
)

echo
echo "## spawn-to-outcome of /bin/true ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cpus, $(uname -r))"
echo "## hyperfine -N --warmup $WARMUP --runs $RUNS; criterion (spawn bench); floor sbxloop $LOOPS"
echo "## tree: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?') + $(git -C "$repo" status --porcelain 2>/dev/null | wc -l) changed/new paths"
echo "## load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
fmt() { [[ $1 == n/a ]] && echo n/a || awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }
echo "| tool | isolation | mean ms | min ms | median ms | ratio of mean to contain (vs) |"
echo "|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
    IFS='|' read -r tool iso mean min median key <<<"$r"
    ref=${ref_mean[$key]:-}
    if [[ $mean == n/a || -z $ref ]]; then
        ratio="n/a"
    else
        ratio=$(awk -v a="$mean" -v b="$ref" 'BEGIN { printf "%.2fx", a / b }')
        ratio="$ratio (${ref_name[$key]})"
    fi
    printf '| %s | %s | %s | %s | %s | %s |\n' "$tool" "$iso" "$(fmt "$mean")" "$(fmt "$min")" "$(fmt "$median")" "$ratio"
done
echo
echo "criterion rows: min = fastest sample's per-iteration mean, median = criterion's median estimate (criterion keeps no single-run times)."
echo "raw data: $out/{hyperfine.json,floor-*.txt,criterion.txt}; criterion: $crit_dir/*/new/estimates.json"
