#!/usr/bin/env bash
# Differential test: the attack probe (containment/tests/probes/attack.c, the one
# the attack suite runs) under bubblewrap and under `contain` with its default
# profile, side by side, one line per check, and a final verdict.
#
# Each RESULT line of the probe is judged "safe" or "UNSAFE" by the table below
# (lines without a rule are shown for information). containment must never be
# weaker: a line that is safe under bubblewrap and UNSAFE (or missing) under
# containment fails the run (exit 1).
#
# Usage: bash benches/differential.sh        (as root; builds what it needs)
# Environment: CONTAIN=path to a built contain (default: cargo build --release
# --example contain), KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "differential: $*" >&2; exit 2; }

command -v cc >/dev/null || die "needs a C compiler (cc)"
command -v python3 >/dev/null || die "needs python3 (for the pty and keyring checks)"
if ! command -v bwrap >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing bubblewrap" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }
    fi
    command -v bwrap >/dev/null || die "needs bubblewrap (apt-get install bubblewrap)"
fi
if [ -z "${CONTAIN:-}" ]; then
    cargo build --release --example contain -q
    CONTAIN=$PWD/target/release/examples/contain
fi
[ -x "$CONTAIN" ] || die "$CONTAIN is not executable"

work=$(mktemp -d /tmp/ctmtest-differential-XXXXXX)
sleeper=
cleanup() {
    [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null && wait "$sleeper" 2>/dev/null
    [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
chmod 0755 "$work"
mkdir -m 0755 "$work/probe"
cc -static -O1 -o "$work/probe/attack" containment/tests/probes/attack.c 2>"$work/cc.log" ||
    { cat "$work/cc.log" >&2; die "cc -static failed"; }

# Runs a command with a pseudo-terminal's slave as stdin, then tells whether
# anything was injected into the terminal; or with a host key in a new session
# keyring of its own.
cat >"$work/helper.py" <<'EOF'
import ctypes, os, subprocess, sys, termios, tty
mode, cmd = sys.argv[1], sys.argv[3:]
if mode == "pty":
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ICANON
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    subprocess.run(cmd, stdin=slave)
    got = b""
    for fd in (master, slave):
        os.set_blocking(fd, False)
        try:
            got += os.read(fd, 4096)
        except BlockingIOError:
            pass
    print("RESULT tiocsti_reached_terminal", "YES" if got else "no", flush=True)
elif mode == "key":
    libc = ctypes.CDLL(None, use_errno=True)
    SYS_add_key, SYS_keyctl = 248, 250  # x86-64
    libc.syscall(SYS_keyctl, 1, None)  # KEYCTL_JOIN_SESSION_KEYRING, anonymous
    key = libc.syscall(SYS_add_key, b"user", os.environ["KEYDESC"].encode(), b"secret", 6, -3)
    if key < 0:
        sys.exit("add_key failed: errno %d" % ctypes.get_errno())
    try:
        subprocess.run(cmd)
    finally:
        libc.syscall(SYS_keyctl, 21, key)  # KEYCTL_INVALIDATE
EOF

# Each run gets 30 seconds (a probe could stop a weaker sandbox's init).
bwrap_run() {
    timeout -s KILL 30 bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
        --symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp --ro-bind "$work/probe" /probe \
        /probe/attack "$@"
}
contain_run() {
    timeout -s KILL 30 "$CONTAIN" --ro-bind "$work/probe:/probe" -- /probe/attack "$@"
}

hostdev=$(awk '$5 == "/" { print $3; exit }' /proc/self/mountinfo)
keydesc="ctmtest-differential-$$"
export SECRET=hunter2 KEYDESC=$keydesc

# Runs every check under $1 (bwrap_run or contain_run); prints RESULT lines.
run_all() {
    local run=$1
    cd /
    for check in chroot_escape proc1_exe ptrace_init procfs sysfs mounts devices sockets status clock_and_name \
        env cgroups; do
        "$run" "$check" 2>/dev/null || true
    done
    "$run" old_root "$hostdev" 2>/dev/null || true
    # Inheritable descriptors of the host to / and to the cgroup tree.
    (exec 7</ 8</sys/fs/cgroup && "$run" fds 2>/dev/null) || true
    python3 "$work/helper.py" pty -- bash -c "$(declare -f "$run"); work='$work'; CONTAIN='$CONTAIN'; \
        $run tiocsti" 2>/dev/null || true
    python3 "$work/helper.py" key -- bash -c "$(declare -f "$run"); work='$work'; CONTAIN='$CONTAIN'; \
        $run keys '$keydesc'" 2>/dev/null || true
    # kill(-1) inside, with a host process to survive it.
    sleep 60 &
    sleeper=$!
    "$run" kill_all 2>/dev/null || true
    if kill -0 "$sleeper" 2>/dev/null; then echo "RESULT host_process_survives yes"; else
        echo "RESULT host_process_survives NO"; fi
    kill "$sleeper" 2>/dev/null || true
    wait "$sleeper" 2>/dev/null || true
    sleeper=
}

# The judgement of each result: an extended regular expression of safe values.
declare -A SAFE=(
    [chroot_escape]='^(EPERM|inside)$'
    [mountinfo_host_root]='^absent$'
    [proc1_root]='^(E[A-Z0-9]+|same)$'
    [proc1_exe_wronly]='^E' [proc1_exe_rdwr]='^E'
    [fds]='^0,1,2$' [fds_open_above_2]='^0$' [cwd_is_root]='^yes$'
    [tiocsti]='^E' [tiocsti_reached_terminal]='^no$'
    [ptrace_attach_init]='^E' [ptrace_seize_init]='^E' [proc1_mem_read]='^E' [proc1_mem_write]='^E'
    [process_vm_readv_init]='^E'
    [host_process_survives]='^yes$'
    [core_pattern]='^E' [sysrq_trigger]='^E' [proc_sys_vm_drop_caches]='^E'
    [kcore]='^(empty|absent|E[A-Z0-9]+)$' [keys]='^(empty|absent|E[A-Z0-9]+)$'
    [timer_list]='^(empty|absent|E[A-Z0-9]+)$' [sched_debug]='^(empty|absent|E[A-Z0-9]+)$'
    [sys]='^(absent|mounted)$' [sys_uevent_helper]='^E' [sys_mkdir]='^E'
    [mount_tmpfs]='^E' [mount_bind_root]='^E' [mount_proc]='^E' [fsopen_tmpfs]='^E'
    [unshare_user]='^E' [mount_tmpfs_after_userns]='^E' [mount_proc_after_userns]='^E'
    [mknod_char]='^E' [mknod_block]='^E' [dev_block_devices]='^none$'
    [socket_packet]='^E' [socket_raw_inet]='^E' [socket_raw_inet6]='^E'
    [CapInh]='^0+$' [CapPrm]='^0+$' [CapEff]='^0+$' [CapBnd]='^0+$' [CapAmb]='^0+$' [NoNewPrivs]='^1$'
    [host_key]='^(absent|E[A-Z0-9]+)$' [request_host_key]='^(absent|E[A-Z0-9]+)$'
    [proc_keys]='^(empty|absent|E[A-Z0-9]+)$'
    [sethostname]='^E' [setdomainname]='^E' [clock_settime]='^E' [settimeofday]='^E'
    [env_secret]='^absent$'
    [cgroup_procs_write]='^(absent|E[A-Z0-9]+)$'
)

# name -> value; a name printed several times keeps its values joined by ";".
parse() {
    local -n into=$1
    local line name value
    while IFS= read -r line; do
        [[ $line == RESULT\ * ]] || continue
        line=${line#RESULT }
        name=${line%% *}
        value=${line#"$name"}
        value=${value# }
        # (associative arrays: the keys are strings, not arithmetic)
        # shellcheck disable=SC2004
        if [ -n "${into[$name]+x}" ]; then into[$name]+=";$value"; else into[$name]=$value; fi
        order+=("$name")
    done
}

order=()
declare -A B C
parse B < <(run_all bwrap_run)
parse C < <(run_all contain_run)

verdict() { # value -> safe | UNSAFE | info
    local name=$1 value=$2
    [ -n "${SAFE[$name]+x}" ] || { echo info; return; }
    [ -n "$value" ] || { echo UNSAFE; return; }
    local v ok=safe
    IFS=';' read -ra parts <<<"$value"
    for v in "${parts[@]}"; do [[ $v =~ ${SAFE[$name]} ]] || ok=UNSAFE; done
    echo "$ok"
}

declare -A seen
weaker=0 stronger=0 same=0 compared=0
printf '%-26s %-34s %-34s %s\n' CHECK bubblewrap containment comparison
for name in "${order[@]}"; do
    [ -z "${seen[$name]+x}" ] || continue
    seen[$name]=1
    b=${B[$name]-}; c=${C[$name]-}
    vb=$(verdict "$name" "$b"); vc=$(verdict "$name" "$c")
    if [ "$vb" = info ]; then
        cmp=info
    else
        compared=$((compared + 1))
        [ -n "${C[$name]+x}" ] || vc=UNSAFE
        if [ "$vc" = UNSAFE ] && [ "$vb" = safe ]; then cmp=WEAKER; weaker=$((weaker + 1))
        elif [ "$vc" = safe ] && [ "$vb" = UNSAFE ]; then cmp=stronger; stronger=$((stronger + 1))
        elif [ "$vc" = UNSAFE ]; then cmp="both UNSAFE"; same=$((same + 1))
        else cmp=same; same=$((same + 1))
        fi
    fi
    show() { local v=${1:-"(none)"}; [ "$2" = UNSAFE ] && v="$v [UNSAFE]"; printf '%s' "${v:0:34}"; }
    printf '%-26s %-34s %-34s %s\n' "$name" "$(show "$b" "$vb")" "$(show "$c" "$vc")" "$cmp"
done
echo
if [ "$weaker" -gt 0 ]; then
    echo "verdict: FAIL: containment is weaker than bubblewrap on $weaker of $compared checks" \
        "($stronger stronger, $same as strong)"
    exit 1
fi
echo "verdict: PASS: containment is never weaker than bubblewrap: $compared checks," \
    "$stronger stronger, $same as strong"
