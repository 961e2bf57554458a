#!/usr/bin/env bash
# compare.sh - spawn-to-outcome of /bin/true: containment (library, `contain`, the C
# API, the Python module) against its peers (bwrap, crun, runc, unshare) and the C
# floor, all measured in one run, printed as one table of means, minimums and ratios
# against `contain` (or the library) with the same isolation, then the per-layer and
# per-limit costs of the library and the status of each target of performance.md.
#
# Usage (as root, from anywhere):   benches/compare.sh
# Environment:
#   RUNS=300 WARMUP=20   hyperfine runs / warmup per command
#   LOOPS=2000           iterations of the in-process C floor (floor sbxloop)
#   PY_LOOPS=500         iterations of each Python loop (after 30 warm-up ones) and of
#                        the C API loop (benches/c/spawn_loop.c, after PY_LOOPS/10)
#   SPACED_RUNS=100 GAP_MS=50   spawns of each command (interleaved) with an idle
#                        pause of GAP_MS before each: the spaced-spawns table
#   PY_REINSTALL=1       reinstall the Python module (pip install ./containment-py)
#                        even when target/py-venv already has one
#   FLOOR_SRC=path       floor.c (default: ../shared/bench/floor.c from the repo root)
#   KEEP=1               keep the temp dir (floor binary, rootfs, OCI bundle)
# Raw results are copied to target/compare/ (hyperfine.json, floor-*.txt, python.txt, c-api.txt,
# criterion.txt, spaced.txt).
#
# What it does:
#   1. installs missing peers from Debian (bubblewrap, hyperfine, busybox-static, jq,
#      crun, runc)
#   2. builds the C floor (../shared/bench/floor.c relative to the repo root)
#   3. builds the `contain` example and the C library (libcontainment.so) in release,
#      and examples/c/mini_contain.c against a copy of that library; makes sure the
#      Python module is installed in target/py-venv (rows skipped, with a note, when
#      something does not build or run)
#   4. builds a busybox rootfs (bin proc dev tmp etc, static busybox + applet links)
#      and an OCI bundle from a copy of it (`crun spec`, then config.json edited:
#      args /bin/true, no terminal, read-only root, memory 64M, pids 64, cpuset 0)
#   5. runs: floor sbxloop (in-process floors: without and with a net namespace, and
#      with memory+cpuset+pids cgroups, without and with a user namespace), the
#      criterion groups spawn/, layers/ and limits/ of the bench `spawn`, the Python
#      loops, hyperfine -N of the command-line tools, then the commands with
#      limits again one at a time with an idle pause before each (spaced spawns)
#   6. prints the tables and the targets; raw data: hyperfine JSON + criterion
#      estimates.json
#
# crun refuses this hybrid cgroup host ("cgroups in hybrid mode not supported"), so
# its command is `unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec crun run
# ...'` (a private mount namespace without the v2 mount); that wrapper is part of the
# measured command, and its own cost is measured as a separate row (the same wrapper
# exec-ing /bin/true) and subtracted in the targets.
#
# Every cgroup this script makes is under the project's own parent, `containment`, of
# each v1 hierarchy: the floor is built from a copy of floor.c whose folder
# `bench-micro` becomes `containment/bench-micro` (its `cg` rows are skipped when that
# folder exists already: someone else's run), and the OCI bundle's
# `linux.cgroupsPath` is `/containment/ctmbench-oci-PID`. `crun run` / `runc run`
# delete their container (and its cgroups) when it exits; the exit trap deletes them
# anyway (`crun delete -f`, `runc delete -f`), then removes the folders this run made
# and the `containment` parents when nothing uses them.
set -euo pipefail

RUNS=${RUNS:-300}
WARMUP=${WARMUP:-20}
LOOPS=${LOOPS:-2000}
PY_LOOPS=${PY_LOOPS:-500}
SPACED_RUNS=${SPACED_RUNS:-100}
GAP_MS=${GAP_MS:-50}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
floor_src=${FLOOR_SRC:-"$repo/../shared/bench/floor.c"}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'compare.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (namespaces, pivot_root, mounts)"
[[ -f $floor_src ]] || die "C floor not found at $floor_src"

# ---------------------------------------------------------------- 1. peers
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for pkg in bubblewrap hyperfine busybox-static jq crun runc; do
    pkg_installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    log "installing missing peers: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "${missing[@]}" || { apt-get update && apt-get install -y "${missing[@]}"; }
fi
for tool in bwrap hyperfine jq unshare gcc crun runc python3; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -x /bin/busybox ]] || die "/bin/busybox missing (busybox-static)"

tmp=$(mktemp -d /tmp/ctm-compare.XXXXXX)
crun_id="ctmbench-crun-$$"
runc_id="ctmbench-runc-$$"
oci_cgroup="containment/ctmbench-oci-$$"
cg_made=0
parents_made=()
cleanup() {
    # OCI containers: `run` deletes them when they exit; this is for an interrupted run
    if crun state "$crun_id" >/dev/null 2>&1; then
        unshare -m sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; crun delete -f $crun_id" || true
    fi
    if runc state "$runc_id" >/dev/null 2>&1; then
        runc delete -f "$runc_id" || true
    fi
    local d
    for d in /sys/fs/cgroup/*/"$oci_cgroup"; do
        if [[ -d $d ]]; then rmdir "$d" 2>/dev/null || true; fi
    done
    # the floor's cgroups (cg mode), when this run created them
    if [[ $cg_made == 1 ]]; then
        for c in memory cpuset pids; do
            rmdir "/sys/fs/cgroup/$c/containment/bench-micro/s" 2>/dev/null || true
            rmdir "/sys/fs/cgroup/$c/containment/bench-micro" 2>/dev/null || true
        done
    fi
    # the project's parents, when empty, as the library itself does when its last
    # group goes (crun and runc make one in every hierarchy, v2 included, and leave
    # it); a parent in use stays
    for d in "${parents_made[@]}" /sys/fs/cgroup/*/containment; do
        if [[ -d $d ]]; then rmdir "$d" 2>/dev/null || true; fi
    done
    if [[ ${KEEP:-0} == 1 ]]; then
        log "kept $tmp"
    else
        rm -rf -- "$tmp"
    fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- 2. C floor
log "building the C floor"
# its cgroups go under the project's parent (see the header)
sed 's#bench-micro#containment/bench-micro#g' "$floor_src" >"$tmp/floor.c"
gcc -O2 -o "$tmp/floor" "$tmp/floor.c" -lm
floor="$tmp/floor"

# ---------------------------------------------------------------- 3. contain, C, Python
contain=""
contain_note=""
if [[ -f $repo/examples/contain/main.rs ]]; then
    log "building the contain example (release)"
    if (cd "$repo" && cargo build --release --example contain 2>&1 | tee "$tmp/contain-build.txt" >&2; exit "${PIPESTATUS[0]}"); then
        contain="$repo/target/release/examples/contain"
        [[ -x $contain ]] || { contain=""; contain_note="built, but $repo/target/release/examples/contain is missing"; }
    else
        contain_note="examples/contain/main.rs does not build: $(grep -m1 '^error' "$tmp/contain-build.txt" || echo 'see cargo output')"
    fi
else
    contain_note="examples/contain/main.rs does not exist yet"
fi
if [[ -n $contain ]]; then
    # a copy, so that another build during the run cannot replace the binary measured
    cp "$contain" "$tmp/contain"
    contain="$tmp/contain"
fi

# the C library, and mini_contain linked against a copy of it
mini=""
mini_note=""
cloop=""
cloop_note="containment-ffi does not build"
log "building the C library (cargo build --release -p containment-ffi) and mini_contain"
if (cd "$repo" && cargo build --release -p containment-ffi 2>&1 | tee "$tmp/ffi-build.txt" >&2; exit "${PIPESTATUS[0]}"); then
    mkdir -p "$tmp/lib"
    cp "$repo/target/release/libcontainment.so" "$tmp/lib/libcontainment.so"
    ln -s libcontainment.so "$tmp/lib/libcontainment.so.0"
    if gcc -O2 -I"$repo/include" -o "$tmp/mini_contain" "$repo/examples/c/mini_contain.c" \
        -L"$tmp/lib" -lcontainment -Wl,-rpath,"$tmp/lib" 2>"$tmp/mini-build.txt"; then
        mini="$tmp/mini_contain"
    else
        mini_note="examples/c/mini_contain.c does not build: $(head -1 "$tmp/mini-build.txt")"
    fi
    # the C entry point in-process: benches/c/spawn_loop.c
    if gcc -O2 -I"$repo/include" -o "$tmp/spawn_loop" "$repo/benches/c/spawn_loop.c" \
        -L"$tmp/lib" -lcontainment -Wl,-rpath,"$tmp/lib" -lm 2>"$tmp/loop-build.txt"; then
        cloop="$tmp/spawn_loop"
    else
        cloop_note="benches/c/spawn_loop.c does not build: $(head -1 "$tmp/loop-build.txt")"
    fi
else
    mini_note="containment-ffi does not build"
fi

# the Python module in target/py-venv (the venv containment-py/run-tests.sh makes)
py="$repo/target/py-venv/bin/python"
py_note=""
if [[ ! -x $py ]]; then
    log "creating $repo/target/py-venv"
    python3 -m venv "$repo/target/py-venv" || py_note="python3 -m venv failed"
fi
if [[ -z $py_note ]] && { [[ ${PY_REINSTALL:-0} == 1 ]] || ! "$py" -c 'import containment' 2>/dev/null; }; then
    log "pip install ./containment-py (release build through maturin)"
    (cd "$repo" && "$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./containment-py) >&2 ||
        py_note="pip install ./containment-py failed"
fi
if [[ -z $py_note ]] && ! "$py" -c 'import containment' 2>/dev/null; then
    py_note="the containment module does not import in $py"
fi
py_module=""
[[ -n $py_note ]] || py_module=$("$py" -c 'import containment._containment as m; print(m.__file__)')

# the criterion bench binary too, so a build failure stops us before any measuring
log "building the criterion bench (cargo bench --no-run)"
(cd "$repo" && cargo bench -p containment --bench spawn --no-run)

# ---------------------------------------------------------------- 4. rootfs, OCI bundle
rootfs="$tmp/rootfs"
log "building the busybox rootfs in $rootfs"
mkdir -p "$rootfs"/{bin,proc,dev,tmp,etc}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
done
[[ -e $rootfs/bin/true ]] || die "busybox has no true applet"

# the bundle has its own copy: crun and runc create their mount points (sys, dev/pts…) in it
bundle="$tmp/oci"
log "building the OCI bundle in $bundle"
mkdir -p "$bundle"
cp -a "$rootfs" "$bundle/rootfs"
(cd "$bundle" && crun spec)
python3 - "$bundle/config.json" "$oci_cgroup" <<'EOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    c = json.load(f)
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["root"]["readonly"] = True
res = c["linux"].setdefault("resources", {})
res["memory"] = {"limit": 64 * 1024 * 1024}
res["pids"] = {"limit": 64}
res["cpu"] = {"cpus": "0", "mems": "0"}
c["linux"]["cgroupsPath"] = "/" + sys.argv[2]
with open(path, "w") as f:
    json.dump(c, f, indent=2)
EOF
crun_wrap="umount /sys/fs/cgroup/unified && exec"
crun_cmd="unshare -m sh -c '$crun_wrap crun run --bundle $bundle $crun_id'"
runc_cmd="runc run --bundle $bundle $runc_id"
crun_ok=1
runc_ok=1
bash -c "$crun_cmd" || { crun_ok=0; log "crun row skipped: '$crun_cmd' failed"; }
bash -c "$runc_cmd" || { runc_ok=0; log "runc row skipped: '$runc_cmd' failed"; }

# the contain rows only if it actually runs /bin/true in every form measured
limits_args="--memory-limit 64M --cpu-core-ids 0 --pids-limit 64"
memcpu_args="--memory-limit 64M --cpu-core-ids 0"
if [[ -n $contain ]]; then
    for form in "" "--chroot $rootfs" "$limits_args" "--chroot $rootfs $limits_args" "--chroot $rootfs $memcpu_args"; do
        # shellcheck disable=SC2086 # the forms are lists of words
        if ! "$contain" $form -- /bin/true; then
            contain_note="'contain $form -- /bin/true' failed"
            contain=""
            break
        fi
    done
fi
[[ -z $contain_note ]] || log "contain rows skipped: $contain_note"
if [[ -n $mini ]]; then
    if ! "$mini" -- /bin/true 2>/dev/null || ! "$mini" --chroot "$rootfs" --memory 64M --cpus 0 -- /bin/true 2>/dev/null; then
        mini_note="'mini_contain -- /bin/true' failed"
        mini=""
    fi
fi
[[ -z $mini_note ]] || log "mini_contain rows skipped: $mini_note"

bwrap_args=(--unshare-all --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib
    --symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp /bin/true)

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
: >"$tmp/floor-net-cg.txt"
: >"$tmp/floor-net-user-cg.txt"
if [[ -e /sys/fs/cgroup/pids/containment/bench-micro || -e /sys/fs/cgroup/memory/containment/bench-micro ||
    -e /sys/fs/cgroup/cpuset/containment/bench-micro ]]; then
    log "floor cg rows skipped: /sys/fs/cgroup/*/containment/bench-micro exists (another run of the floor?)"
else
    cg_made=1
    # the project's cgroup parent in each v1 hierarchy the floor uses, made here,
    # just before, since the crun and runc runs above may have removed it; a cpuset
    # parent gets its CPUs and memory nodes from the root, as the library does
    for c in memory cpuset pids; do
        d="/sys/fs/cgroup/$c/containment"
        [[ -d /sys/fs/cgroup/$c && ! -d $d ]] || continue
        mkdir "$d" && parents_made+=("$d")
        if [[ $c == cpuset ]]; then
            cat /sys/fs/cgroup/cpuset/cpuset.cpus >"$d/cpuset.cpus"
            cat /sys/fs/cgroup/cpuset/cpuset.mems >"$d/cpuset.mems"
        fi
    done
    log "floor sbxloop $LOOPS ROOTFS net cg"
    "$floor" sbxloop "$LOOPS" "$rootfs" net cg | tee "$tmp/floor-net-cg.txt"
    log "floor sbxloop $LOOPS ROOTFS net user cg"
    "$floor" sbxloop "$LOOPS" "$rootfs" net user cg | tee "$tmp/floor-net-user-cg.txt"
fi

# 5b. in-process containment (criterion); estimates must be newer than this stamp
touch "$tmp/stamp"
crit_filter='^(spawn|layers|limits)/'
log "cargo bench -p containment --bench spawn -- --noplot '$crit_filter'"
(cd "$repo" && cargo bench -p containment --bench spawn -- --noplot "$crit_filter") | tee "$tmp/criterion.txt"
crit_dir="$repo/target/criterion"

# 5c. the C API in-process (benches/c/spawn_loop.c)
: >"$tmp/c-api.txt"
if [[ -n $cloop ]]; then
    log "C API loops ($PY_LOOPS each)"
    { "$cloop" "$PY_LOOPS" && "$cloop" "$PY_LOOPS" limits; } | tee "$tmp/c-api.txt" ||
        { cloop_note="spawn_loop failed"; : >"$tmp/c-api.txt"; }
fi

# 5d. Python: containment.run against subprocess.run(bwrap) with the same isolation
: >"$tmp/python.txt"
if [[ -n $py_module ]]; then
    log "python loops ($PY_LOOPS each)"
    "$py" - "$PY_LOOPS" "${bwrap_args[@]}" <<'EOF' | tee "$tmp/python.txt"
import statistics, subprocess, sys, time
import containment

n = int(sys.argv[1])
bwrap = ["bwrap", *sys.argv[2:]]

def bench(name, fn):
    for _ in range(30):
        fn()
    v = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        v.append((time.perf_counter() - t0) * 1e6)
    s = sorted(v)
    print("RESULT|%s|%d|%.1f|%.1f|%.1f|%.1f|%.1f" % (name, n, statistics.fmean(v), statistics.stdev(v), s[0],
          statistics.median(v), s[min(n - 1, int(n * 0.99))]), flush=True)

def run_default():
    assert containment.run(["/bin/true"]).returncode == 0

def run_limits():
    assert containment.run(["/bin/true"], memory="64M", cpus="0", pids=64).returncode == 0

def run_reused():
    assert containment.run(["/bin/true"], net="none-reused").returncode == 0

def run_bwrap():
    assert subprocess.run(bwrap).returncode == 0

bench("py:containment.run", run_default)
bench("py:containment.run+limits", run_limits)
bench("py:containment.run(net=none-reused)", run_reused)
bench("py:subprocess.run(bwrap)", run_bwrap)
containment.release_kept_namespaces()
EOF
else
    log "python rows skipped: $py_note"
fi

# 5e. command-line tools
hf_args=(-N --warmup "$WARMUP" --runs "$RUNS" --export-json "$tmp/hyperfine.json")
if [[ -n $contain ]]; then
    hf_args+=(-n "contain" "$contain -- /bin/true")
    hf_args+=(-n "contain-chroot" "$contain --chroot $rootfs -- /bin/true")
    hf_args+=(-n "contain-limits" "$contain $limits_args -- /bin/true")
    hf_args+=(-n "contain-chroot-limits" "$contain --chroot $rootfs $limits_args -- /bin/true")
    hf_args+=(-n "contain-chroot-memcpu" "$contain --chroot $rootfs $memcpu_args -- /bin/true")
fi
if [[ -n $mini ]]; then
    hf_args+=(-n "mini" "$mini -- /bin/true")
    hf_args+=(-n "mini-chroot-memcpu" "$mini --chroot $rootfs --memory 64M --cpus 0 -- /bin/true")
fi
((crun_ok)) && hf_args+=(-n "crun" "$crun_cmd")
hf_args+=(-n "crun-wrapper" "unshare -m sh -c '$crun_wrap /bin/true'")
hf_args+=(-n "unshare-m" "unshare -m /bin/true")
((runc_ok)) && hf_args+=(-n "runc" "$runc_cmd")
hf_args+=(-n "bwrap" "bwrap ${bwrap_args[*]}")
hf_args+=(-n "floor-sbx" "$floor sbx $rootfs net")
hf_args+=(-n "unshare" "unshare -mpiun --fork /bin/true")
log "hyperfine ${hf_args[*]}"
hyperfine "${hf_args[@]}"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# 5f. spaced spawns: the same commands one at a time with an idle pause before each
# (as a judge or a job runner starts them), where a v1 cgroup migration that takes
# the kernel's global threadgroup lock waits for an RCU grace period
: >"$tmp/spaced.txt"
spaced=()
if [[ -n $contain ]]; then
    spaced+=("contain-limits" "$contain $limits_args -- /bin/true")
    spaced+=("contain-chroot-limits" "$contain --chroot $rootfs $limits_args -- /bin/true")
    spaced+=("contain" "$contain -- /bin/true")
fi
((crun_ok)) && spaced+=("crun" "$crun_cmd")
((runc_ok)) && spaced+=("runc" "$runc_cmd")
spaced+=("bwrap" "bwrap ${bwrap_args[*]}")
log "spaced spawns: $SPACED_RUNS of each, $GAP_MS ms apart"
"${py:-python3}" - "$SPACED_RUNS" "$GAP_MS" "${spaced[@]}" <<'EOF' | tee "$tmp/spaced.txt"
import shlex, statistics, subprocess, sys, time

n, gap = int(sys.argv[1]), float(sys.argv[2]) / 1e3
pairs = list(zip(sys.argv[3::2], sys.argv[4::2]))
times = {name: [] for name, _ in pairs}
for _ in range(3):  # warm-up
    for _, cmd in pairs:
        subprocess.run(shlex.split(cmd), check=True)
for _ in range(n):  # interleaved, so that drift hits every command alike
    for name, cmd in pairs:
        time.sleep(gap)
        t0 = time.perf_counter()
        subprocess.run(shlex.split(cmd), check=True)
        times[name].append((time.perf_counter() - t0) * 1e6)
try:
    import containment

    def run_limits():
        assert containment.run(["/bin/true"], memory="64M", cpus="0", pids=64).returncode == 0

    run_limits()
    v = []
    for _ in range(n):
        time.sleep(gap)
        t0 = time.perf_counter()
        run_limits()
        v.append((time.perf_counter() - t0) * 1e6)
    times["py:containment.run+limits"] = v
except ImportError:
    pass
for name, v in times.items():
    s = sorted(v)
    print("RESULT|%s|%d|%.1f|%.1f|%.1f|%.1f|%.1f" % (name, n, statistics.fmean(v), statistics.stdev(v), s[0],
          statistics.median(v), s[min(n - 1, int(n * 0.99))]), flush=True)
EOF

# keep the raw data past the temp dir
out="$repo/target/compare"
mkdir -p "$out"
cp "$tmp"/hyperfine.json "$tmp"/floor-*.txt "$tmp/python.txt" "$tmp/c-api.txt" "$tmp/criterion.txt" "$tmp/spaced.txt" "$bundle/config.json" "$out/"

# ---------------------------------------------------------------- 6. tables
# Each row: tool|isolation|mean_ms|min_ms|median_ms|reference-key   (keys below)
rows=()
declare -A ref_mean=()

hf_row() { # name -> "mean_ms min_ms median_ms" (empty if absent)
    jq -r --arg n "$1" '.results[] | select(.command == $n) | "\(.mean * 1000) \(.min * 1000) \(.median * 1000)"' "$tmp/hyperfine.json"
}
crit_row() { # group/id -> "mean_ms min_ms median_ms"; min = fastest sample's per-iteration mean
    local d="$crit_dir/$1/new"
    [[ -f $d/estimates.json && $d/estimates.json -nt $tmp/stamp ]] || { echo ""; return; }
    local mean min median
    mean=$(jq -r '.mean.point_estimate / 1e6' "$d/estimates.json")
    median=$(jq -r '.median.point_estimate / 1e6' "$d/estimates.json")
    min=$(jq -r '[range(0; .iters | length) as $i | .times[$i] / .iters[$i]] | min / 1e6' "$d/sample.json")
    echo "$mean $min $median"
}
result_row() { # file [name] -> "mean_ms min_ms median_ms" from RESULT|name|n|mean_us|sd_us|min_us|median_us|p99_us
    awk -F'|' -v n="${2:-}" '/^RESULT\|/ && (n == "" || $2 == n) { printf "%s %s %s\n", $4 / 1000, $6 / 1000, $7 / 1000 }' "$1"
}
mean_of() { cut -d' ' -f1 <<<"$1"; }
add() { # tool isolation "mean min median" refkey
    local m n d
    [[ -n $3 ]] || { rows+=("$1|$2|n/a|n/a|n/a|$4"); return; }
    read -r m n d <<<"$3"
    rows+=("$1|$2|$m|$n|$d|$4")
}

iso_default="default profile (new mnt,pid,uts,ipc,net(lo),user,cgroup ns; no caps, nnp, seccomp); default root: ro host dirs, proc, dev, tmp"
iso_chroot="default profile; busybox rootfs via pivot_root, proc, dev, tmp"
iso_lim="memory 64M, cpuset 0, pids 64"
iso_oci="OCI default of crun spec: mnt,pid,ipc,uts,net ns (no user, no cgroup ns, no seccomp), 3 caps, nnp; busybox rootfs ro, proc, tmpfs dev, devpts, shm, mqueue, ro sys + cgroup; $iso_lim"

# command-line rows; reference = the contain command with the closest isolation
if [[ -n $contain ]]; then
    add "contain" "$iso_default" "$(hf_row contain)" cmd-default
    add "contain --chroot" "$iso_chroot" "$(hf_row contain-chroot)" cmd-chroot
    add "contain + limits" "$iso_default; $iso_lim" "$(hf_row contain-limits)" cmd-limits
    add "contain --chroot + limits" "$iso_chroot; $iso_lim" "$(hf_row contain-chroot-limits)" cmd-chroot-limits
    add "contain --chroot + memory, cpuset" "$iso_chroot; memory 64M, cpuset 0" "$(hf_row contain-chroot-memcpu)" cmd-chroot-memcpu
    ref_mean[cmd-default]=$(mean_of "$(hf_row contain)")
    for k in chroot limits chroot-limits chroot-memcpu; do
        ref_mean[cmd-$k]=$(mean_of "$(hf_row "contain-$k")")
    done
else
    rows+=("contain|($contain_note)|n/a|n/a|n/a|cmd-default")
fi
if [[ -n $mini ]]; then
    add "mini_contain (C API)" "$iso_default" "$(hf_row mini)" cmd-default
    add "mini_contain (C API) --chroot + memory, cpuset" "$iso_chroot; memory 64M, cpuset 0" "$(hf_row mini-chroot-memcpu)" cmd-chroot-memcpu
else
    rows+=("mini_contain (C API)|($mini_note)|n/a|n/a|n/a|cmd-default")
fi
if ((crun_ok)); then
    add "crun run (in unshare -m + umount)" "$iso_oci" "$(hf_row crun)" cmd-chroot-limits
else
    rows+=("crun run|(failed, see log)|n/a|n/a|n/a|cmd-chroot-limits")
fi
add "crun's wrapper alone: unshare -m sh -c 'umount …; exec /bin/true'" "mnt ns" "$(hf_row crun-wrapper)" cmd-chroot-limits
add "unshare -m /bin/true" "mnt ns" "$(hf_row unshare-m)" cmd-chroot-limits
if ((runc_ok)); then
    add "runc run" "$iso_oci" "$(hf_row runc)" cmd-chroot-limits
else
    rows+=("runc run|(failed, see log)|n/a|n/a|n/a|cmd-chroot-limits")
fi
add "bwrap --unshare-all" "new mnt,pid,uts,ipc,net,user,cgroup ns; ro /usr, proc, dev, tmpfs /tmp; no limits" "$(hf_row bwrap)" cmd-default
add "floor sbx (C, command)" "mnt,pid,uts,ipc,net ns; busybox rootfs via pivot_root, proc" "$(hf_row floor-sbx)" cmd-chroot
add "unshare -mpiun --fork" "mnt,pid,ipc,uts,net ns; host root, no proc" "$(hf_row unshare)" cmd-default

# in-process rows; reference = the containment library with the closest isolation
add "containment lib: spawn/default" "$iso_default (in-process)" "$(crit_row spawn/default)" lib-default
add "containment lib: spawn/chroot-busybox" "$iso_chroot (in-process)" "$(crit_row spawn/chroot-busybox)" lib-chroot
add "containment lib: spawn/chroot-busybox-minimal" "as above, no /tmp (in-process)" "$(crit_row spawn/chroot-busybox-minimal)" lib-minimal
add "containment lib: layers/6-netns-full-default" "$iso_default; $iso_lim (in-process)" "$(crit_row layers/6-netns-full-default)" lib-full
add "floor sbxloop (C, in-process)" "mnt,pid,uts,ipc,net ns; busybox rootfs, pivot_root, proc" "$(result_row "$tmp/floor-net.txt")" lib-chroot
add "floor sbxloop (C, in-process)" "mnt,pid,uts,ipc ns (no net); busybox rootfs, pivot_root, proc" "$(result_row "$tmp/floor-nonet.txt")" lib-minimal
add "floor sbxloop (C, in-process)" "mnt,pid,uts,ipc,net ns; busybox rootfs, pivot_root, proc; $iso_lim" "$(result_row "$tmp/floor-net-cg.txt")" lib-full
add "floor sbxloop (C, in-process)" "mnt,pid,uts,ipc,net,user ns; busybox rootfs, pivot_root, proc; $iso_lim" "$(result_row "$tmp/floor-net-user-cg.txt")" lib-full
if [[ -s $tmp/c-api.txt ]]; then
    add "C API containment_command_status (in-process)" "$iso_default (in-process)" "$(result_row "$tmp/c-api.txt" c-api:spawn)" lib-default
    add "C API, memory 64M, cpuset 0, pids 64" "$iso_default; $iso_lim (in-process)" "$(result_row "$tmp/c-api.txt" c-api:spawn+limits)" lib-full
else
    rows+=("C API in-process|($cloop_note)|n/a|n/a|n/a|lib-default")
fi
if [[ -s $tmp/python.txt ]]; then
    add "python containment.run([\"/bin/true\"])" "$iso_default (in-process)" "$(result_row "$tmp/python.txt" py:containment.run)" lib-default
    add "python containment.run(…, memory=\"64M\", cpus=\"0\", pids=64)" "$iso_default; $iso_lim (in-process)" "$(result_row "$tmp/python.txt" py:containment.run+limits)" lib-full
    add "python containment.run(…, net=\"none-reused\")" "$iso_default, the network namespace kept between sandboxes (in-process)" "$(result_row "$tmp/python.txt" "py:containment.run(net=none-reused)")" py-run
    add "python subprocess.run([\"bwrap\", …])" "as the bwrap row" "$(result_row "$tmp/python.txt" "py:subprocess.run(bwrap)")" py-run
    ref_mean[py-run]=$(mean_of "$(result_row "$tmp/python.txt" py:containment.run)")
else
    rows+=("python|($py_note)|n/a|n/a|n/a|lib-default")
fi
ref_mean[lib-default]=$(mean_of "$(crit_row spawn/default)")
ref_mean[lib-chroot]=$(mean_of "$(crit_row spawn/chroot-busybox)")
ref_mean[lib-minimal]=$(mean_of "$(crit_row spawn/chroot-busybox-minimal)")
ref_mean[lib-full]=$(mean_of "$(crit_row layers/6-netns-full-default)")

declare -A ref_name=(
    [cmd-default]="contain"
    [cmd-chroot]="contain --chroot"
    [cmd-limits]="contain + limits"
    [cmd-chroot-limits]="contain --chroot + limits"
    [cmd-chroot-memcpu]="contain --chroot + memory, cpuset"
    [lib-default]="lib spawn/default"
    [lib-chroot]="lib spawn/chroot-busybox"
    [lib-minimal]="lib spawn/chroot-busybox-minimal"
    [lib-full]="lib layers/6-netns-full-default"
    [py-run]="python containment.run"
)

fmt() { if [[ $1 == n/a || -z $1 ]]; then echo n/a; else awk -v x="$1" 'BEGIN { printf "%.2f", x }'; fi; }
ratio() { # a b -> a/b as 0.00x, or n/a
    [[ -n $1 && -n $2 && $1 != n/a && $2 != n/a ]] || { echo n/a; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'
}

echo
echo "## spawn-to-outcome of /bin/true ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cpus, $(uname -r))"
echo "## hyperfine -N --warmup $WARMUP --runs $RUNS; criterion (spawn bench: spawn/, layers/, limits/); floor sbxloop $LOOPS; python loops $PY_LOOPS"
echo "## tree: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?') + $(git -C "$repo" status --porcelain 2>/dev/null | wc -l) changed/new paths"
echo "## python module: ${py_module:-none}"
echo "## load average before: $load_before, after the hyperfine run: $load_after"
echo
echo "| tool | isolation | mean ms | min ms | median ms | ratio of mean to contain/lib (vs) |"
echo "|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
    IFS='|' read -r tool iso mean min median key <<<"$r"
    ref=${ref_mean[$key]:-}
    rt=$(ratio "$mean" "$ref")
    [[ $rt == n/a ]] || rt="$rt (${ref_name[$key]})"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$tool" "$iso" "$(fmt "$mean")" "$(fmt "$min")" "$(fmt "$median")" "$rt"
done
echo
echo "criterion rows: min = fastest sample's per-iteration mean, median = criterion's median estimate (criterion keeps no single-run times)."

# the library layer by layer, each id adding one layer to the one above
echo
echo "### containment library, one layer added at a time (criterion, in-process)"
echo
echo "| id | adds | mean ms | median ms | min ms | median added to the layer above, ms | median ratio to layers/1 |"
echo "|---|---|---|---|---|---|---|"
declare -A layer_adds=(
    [1-namespaces]="mnt,pid,uts,ipc,cgroup ns; busybox rootfs, no /tmp; no user ns, no seccomp, host net; caps dropped"
    [2-rootfs]="the embedded default root (ro host dirs, proc, dev, private /tmp) instead of busybox"
    [3-userns]="the default user namespace (a range of host ids)"
    [4-limits]="$iso_lim (v1 groups: memory, cpuset, pids, cpuacct)"
    [5-seccomp]="the default seccomp filter"
    [6-netns-full-default]="a network namespace (lo): the full default profile + limits"
    [7-netns-reused]="the same with Net::none_reused(): the namespace kept for the next sandbox"
)
median_of() { cut -d' ' -f3 <<<"$1"; }
min_of() { cut -d' ' -f2 <<<"$1"; }
prev=""
base=$(median_of "$(crit_row layers/1-namespaces)")
for id in 1-namespaces 2-rootfs 3-userns 4-limits 5-seccomp 6-netns-full-default 7-netns-reused; do
    row=$(crit_row "layers/$id")
    if [[ -z $row ]]; then
        printf '| layers/%s | %s | n/a | n/a | n/a | n/a | n/a |\n' "$id" "${layer_adds[$id]}"
        prev=""
        continue
    fi
    med=$(median_of "$row")
    d="n/a"
    [[ -z $prev ]] || d=$(awk -v a="$med" -v b="$prev" 'BEGIN { printf "%+.2f", a - b }')
    [[ $id != 1-namespaces ]] || d="-"
    printf '| layers/%s | %s | %s | %s | %s | %s | %s |\n' "$id" "${layer_adds[$id]}" "$(fmt "$(mean_of "$row")")" "$(fmt "$med")" "$(fmt "$(min_of "$row")")" "$d" "$(ratio "$med" "$base")"
    prev=$med
done

echo
echo "### cost of each cgroup limit on the default profile (criterion, in-process)"
echo
echo "| id | mean ms | median ms | min ms | mean added to limits/none, ms | ratio of means | ratio of medians |"
echo "|---|---|---|---|---|---|---|"
none_row=$(crit_row limits/none)
none=$(mean_of "$none_row")
none_med=$(median_of "$none_row")
for id in none memory cpuset pids memory-cpuset-pids; do
    row=$(crit_row "limits/$id")
    if [[ -z $row ]]; then
        printf '| limits/%s | n/a | n/a | n/a | n/a | n/a | n/a |\n' "$id"
        continue
    fi
    m=$(mean_of "$row")
    med=$(median_of "$row")
    d="n/a"
    [[ -z $none ]] || d=$(awk -v a="$m" -v b="$none" 'BEGIN { printf "%+.2f", a - b }')
    printf '| limits/%s | %s | %s | %s | %s | %s | %s |\n' "$id" "$(fmt "$m")" "$(fmt "$med")" "$(fmt "$(min_of "$row")")" "$d" "$(ratio "$m" "$none")" "$(ratio "$med" "$none_med")"
done

echo
echo "#### spaced spawns: each command $SPACED_RUNS times, interleaved, $GAP_MS ms idle before each (limits: memory 64M, cpuset 0, pids 64)"
echo
if [[ -s $tmp/spaced.txt ]]; then
    ref=$(mean_of "$(result_row "$tmp/spaced.txt" contain-limits)")
    echo "| command | mean ms | min ms | median ms | p99 ms | ratio of mean to contain + limits |"
    echo "|---|---|---|---|---|---|"
    awk -F'|' -v ref="$ref" '/^RESULT\|/ {
        r = (ref > 0) ? sprintf("%.2fx", $4 / 1000 / ref) : "n/a"
        printf "| %s | %.2f | %.2f | %.2f | %.2f | %s |\n", $2, $4 / 1000, $6 / 1000, $7 / 1000, $8 / 1000, r }' "$tmp/spaced.txt"
else
    echo "(not measured)"
fi

# ---------------------------------------------------------------- 7. targets
# Each figure as "mean (median)"; a ratio as "of means (of medians)".
mm() { # "mean min median" -> "M ms (median D)"
    [[ -n $1 ]] || { echo "n/a"; return; }
    echo "$(fmt "$(mean_of "$1")") ms (median $(fmt "$(median_of "$1")"))"
}
rr() { # row-a row-b -> "x (x)"
    echo "$(ratio "$(mean_of "$1")" "$(mean_of "$2")") ($(ratio "$(median_of "$1")" "$(median_of "$2")"))"
}
minus() { # row-a row-b -> row a-b (mean and median; min left empty)
    [[ -n $1 && -n $2 ]] || { echo ""; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%s - %s\n", x[1] - y[1], x[3] - y[3] }'
}
echo
echo "### targets of performance.md in this run (mean, median in brackets)"
echo
r_full=$(crit_row layers/6-netns-full-default)
r_fcg=$(result_row "$tmp/floor-net-cg.txt")
r_fucg=$(result_row "$tmp/floor-net-user-cg.txt")
echo "1. lib full default + limits (layers/6-netns-full-default): $(mm "$r_full") (target < 1.5 ms mean);" \
    "$(rr "$r_full" "$r_fcg") the C floor in-process with net + cgroups, $(mm "$r_fcg");" \
    "$(rr "$r_full" "$r_fucg") the floor with net + user ns + cgroups, $(mm "$r_fucg") (target <= 1.2x)"
r_kept=$(crit_row layers/7-netns-reused)
echo "1'. the same with Net::none_reused() (layers/7-netns-reused): $(mm "$r_kept");" \
    "$(rr "$r_kept" "$r_fcg") the floor with net + cgroups; $(rr "$r_kept" "$r_full") layers/6"
r_cl=$(hf_row contain-limits)
r_ccl=$(hf_row contain-chroot-limits)
r_bw=$(hf_row bwrap)
r_cr=$(hf_row crun)
r_crw=$(hf_row crun-wrapper)
r_rc=$(hf_row runc)
r_crn=$(minus "$r_cr" "$r_crw")
echo "2. contain + limits $(mm "$r_cl") / bwrap --unshare-all $(mm "$r_bw") = $(rr "$r_cl" "$r_bw") (target < 1x);" \
    "contain --chroot + limits $(mm "$r_ccl") / crun $(mm "$r_cr") = $(rr "$r_ccl" "$r_cr")," \
    "/ crun less its wrapper, $(mm "$r_crn") = $(rr "$r_ccl" "$r_crn") (target < 0.35x);" \
    "/ runc $(mm "$r_rc") = $(rr "$r_ccl" "$r_rc") (target < 0.15x);" \
    "contain + limits (default root) / crun = $(rr "$r_cl" "$r_cr"), / runc = $(rr "$r_cl" "$r_rc")"
s_cl=$(result_row "$tmp/spaced.txt" contain-limits)
s_ccl=$(result_row "$tmp/spaced.txt" contain-chroot-limits)
s_bw=$(result_row "$tmp/spaced.txt" bwrap)
s_cr=$(result_row "$tmp/spaced.txt" crun)
s_rc=$(result_row "$tmp/spaced.txt" runc)
echo "2'. spaced ($GAP_MS ms apart): contain + limits $(mm "$s_cl") / bwrap $(mm "$s_bw") = $(rr "$s_cl" "$s_bw");" \
    "contain --chroot + limits $(mm "$s_ccl") / crun $(mm "$s_cr") = $(rr "$s_ccl" "$s_cr"), / runc $(mm "$s_rc") = $(rr "$s_ccl" "$s_rc")"
r_py=$(result_row "$tmp/python.txt" py:containment.run)
r_pyb=$(result_row "$tmp/python.txt" "py:subprocess.run(bwrap)")
r_def=$(crit_row spawn/default)
echo "4. python containment.run $(mm "$r_py") = $(rr "$r_py" "$r_def") the Rust spawn/default, $(mm "$r_def") (target <= 1.2x);" \
    "subprocess.run(bwrap) $(mm "$r_pyb") = $(rr "$r_pyb" "$r_py") containment.run (target >= 2x)"
r_pyk=$(result_row "$tmp/python.txt" "py:containment.run(net=none-reused)")
echo "4'. with net=\"none-reused\": containment.run $(mm "$r_pyk"); subprocess.run(bwrap) = $(rr "$r_pyb" "$r_pyk") it"
echo
echo "raw data: $out/{hyperfine.json,floor-*.txt,python.txt,c-api.txt,criterion.txt,spaced.txt,config.json}; criterion: $crit_dir/{spawn,layers,limits}/*/new/estimates.json"
