//! Resource limits, as root, on whichever cgroup version the host has: cgroup v1
//! (the hybrid development machine) or v2 (the qemu guest of `.ci/qemu`).
//!
//! Every test creates its own cgroup parent (`containment-test-<pid>-<n>` at the
//! top of each hierarchy it needs, readied like a delegated subtree: cpuset filled
//! on v1, controllers enabled on v2), passes it with `cgroup_parent`, and checks
//! afterwards that nothing is left in it (and that no group of this process is left
//! under the default parent); the parent itself is removed when the test ends,
//! also when it fails. Tests that measure need small C programs, built with `cc`
//! at test time.

mod cgroups;
mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio as StdStdio;
use std::time::{Duration, Instant};

use cgroups::{read, require_cgroups, subdirs, TestParent};
use common::{compile_c, pid_exists, require, text, wait_until, TempDir};
use containment::{Error, ExitStatus, MemoryLimit, Outcome, Output, Rlimit, Sandbox, Stdio, UserNamespace, ValueKind};

const MIB: u64 = 1 << 20;

fn mem(s: &str) -> MemoryLimit {
    s.parse().unwrap()
}

/// The C helper programs, one binary with a mode as first argument:
/// - `touch N`: allocates N MiB, writes every page, sleeps 100 ms, exits 0;
/// - `alloc N`: only `malloc`s N MiB and says whether that worked;
/// - `spin MS`: burns CPU for MS milliseconds of wall time;
/// - `forkbomb`: forks children that wait, until `fork` fails; prints how many it
///   made, the errno and the number of processes in `/proc`; waits for its stdin
///   to close, then kills and reaps them.
const TOOL_C: &str = r#"
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) return 100;
    long n = argc > 2 ? atol(argv[2]) : 0;
    if (!strcmp(argv[1], "touch")) {
        size_t len = (size_t)n << 20;
        if (len) {
            volatile char *p = malloc(len);
            if (!p) { printf("malloc failed errno=%d\n", errno); return 1; }
            for (size_t i = 0; i < len; i += 4096) p[i] = 1;
        }
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        printf("touched %ld MiB\n", n);
        return 0;
    }
    if (!strcmp(argv[1], "alloc")) {
        void *p = malloc((size_t)n << 20);
        if (!p) { printf("malloc failed errno=%d\n", errno); return 1; }
        printf("malloc ok\n");
        return 0;
    }
    if (!strcmp(argv[1], "spin")) {
        double end = now() + n / 1000.0;
        while (now() < end) {}
        return 0;
    }
    if (!strcmp(argv[1], "forkbomb")) {
        static pid_t kids[100000];
        int k = 0, err = 0;
        for (;;) {
            pid_t p = fork();
            if (p < 0) { err = errno; break; }
            if (p == 0) { pause(); _exit(0); }
            kids[k++] = p;
            if (k == 100000) break;
        }
        int procs = 0;
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) procs += e->d_name[0] >= '1' && e->d_name[0] <= '9';
        printf("children=%d errno=%d procs=%d\n", k, err, procs);
        fflush(stdout);
        char c;
        while (read(0, &c, 1) > 0) {}
        for (int i = 0; i < k; i++) kill(kids[i], SIGKILL);
        for (int i = 0; i < k; i++) waitpid(kids[i], NULL, 0);
        return 0;
    }
    return 100;
}
"#;

/// The C helper, built in `dir`; skips the test (returns from it) without `cc`.
macro_rules! require_tool {
    ($dir:expr) => {{
        let tool = compile_c($dir.path(), "tool", TOOL_C);
        require!(tool.is_some(), "needs a C compiler (cc) with static libc");
        tool.unwrap()
    }};
}

/// Runs `program args` in `sandbox` to its end, output piped; checks that the
/// sandbox's init is gone afterwards.
fn run(sandbox: &Sandbox, program: impl AsRef<OsStr>, args: &[&str]) -> Output {
    let mut cmd = sandbox.command(program.as_ref());
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {:?} {args:?}: {e}", program.as_ref()));
    let pid = child.pid();
    let out = child.wait_with_output().expect("wait_with_output");
    assert!(!pid_exists(pid as i32), "the sandbox's init {pid} is still there");
    out
}

/// A command running the host file `tool` (the C helper) in `sandbox`. The file is
/// bound without idmapping: it only has to be executable, and the tmpfs it lives
/// on cannot be idmapped before Linux 6.3 (the qemu guest runs 6.1).
fn tool_command(sandbox: &Sandbox, tool: &Path) -> containment::Command {
    sandbox.clone().idmap_binds(false).command_from_host(tool)
}

/// Like [`run`] for a host file bound into the sandbox.
fn run_host(sandbox: &Sandbox, program: &Path, args: &[&str]) -> Output {
    let mut cmd = tool_command(sandbox, program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {} {args:?}: {e}", program.display()));
    let pid = child.pid();
    let out = child.wait_with_output().expect("wait_with_output");
    assert!(!pid_exists(pid as i32), "the sandbox's init {pid} is still there");
    out
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}, oom_killed {}, timed_out {}, usage {:?}\nstdout: {:?}\nstderr: {:?}",
        out.status,
        out.oom_killed,
        out.timed_out,
        out.usage,
        text(&out.stdout),
        text(&out.stderr)
    )
}

// 1. -------------------------------------------------------------------------

#[test]
fn a_memory_bomb_is_oom_killed_and_reported() {
    let layout = require_cgroups!();
    let dir = TempDir::new("limits");
    let tool = require_tool!(dir);
    let parent = TestParent::new(&layout);
    let out = run_host(&parent.sandbox().memory(mem("32M")), &tool, &["touch", "100"]);
    assert_eq!(out.status, ExitStatus::Signaled(libc::SIGKILL), "{}", describe(&out));
    assert!(out.oom_killed, "{}", describe(&out));
    assert!(!out.timed_out, "{}", describe(&out));
    assert_eq!(out.stdout, b"", "{}", describe(&out));
    // The memory cgroup's peak is at the limit (v1 counts to the byte; v2 may
    // overshoot by the kernel's per-CPU charge batch).
    let peak = out.usage.peak_memory.unwrap_or(0);
    assert!((32 * MIB..=33 * MIB).contains(&peak), "{}", describe(&out));

    // The same with a shell pipeline: the shell holding the string is killed.
    let out =
        run(&parent.sandbox().memory(mem("32M")), "/bin/sh", &["-c", r#"x=$(head -c 100M /dev/zero | tr "\0" a)"#]);
    assert!(out.oom_killed, "{}", describe(&out));
    assert!(!out.status.success(), "{}", describe(&out));
    parent.assert_empty();
}

#[test]
fn a_program_within_its_memory_limit_is_not_oom_killed() {
    let layout = require_cgroups!();
    let parent = TestParent::new(&layout);
    let out = run(&parent.sandbox().memory(mem("64M")), "/bin/sh", &["-c", "head -c 8M /dev/zero | wc -c"]);
    assert_eq!((out.status, out.oom_killed, text(&out.stdout)), (ExitStatus::Exited(0), false, "8388608\n".into()));
    parent.assert_empty();
}

// 2. -------------------------------------------------------------------------

#[test]
fn stress_ng_survives_its_oom_killed_workers_and_oom_killed_is_reported() {
    let layout = require_cgroups!();
    require!(Path::new("/usr/bin/stress-ng").exists(), "needs /usr/bin/stress-ng (Debian package stress-ng)");
    let parent = TestParent::new(&layout);
    let started = Instant::now();
    // Its default temporary directory is the working directory, / here: read-only.
    let args = ["--vm", "1", "--vm-bytes", "200M", "--timeout", "5s", "--temp-path", "/tmp"];
    let out = run(&parent.sandbox().memory(mem("64M")), "stress-ng", &args);
    assert_eq!(out.status, ExitStatus::Exited(0), "{}", describe(&out));
    assert!(out.oom_killed, "{}", describe(&out));
    assert!(!out.timed_out, "{}", describe(&out));
    assert!(started.elapsed() >= Duration::from_secs(5), "{}", describe(&out));
    parent.assert_empty();
}

// 3. -------------------------------------------------------------------------

#[test]
fn the_program_runs_on_exactly_the_cpus_asked_for() {
    let layout = require_cgroups!();
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    require!(online.trim().starts_with("0-"), "needs at least 2 CPUs, has {online}");
    let parent = TestParent::new(&layout);
    for cpus in ["1", "0-1", "0"] {
        let out = run(
            &parent.sandbox().cpus(cpus.parse().unwrap()),
            "/bin/sh",
            &["-c", "grep Cpus_allowed_list /proc/self/status"],
        );
        assert_eq!(out.status, ExitStatus::Exited(0), "{}", describe(&out));
        assert_eq!(text(&out.stdout), format!("Cpus_allowed_list:\t{cpus}\n"), "cpus({cpus})");
        parent.assert_empty();
    }
}

/// The host's view of which group `pid` is in for `controller` (v1) or in the
/// unified hierarchy (v2), e.g. `/containment-test-1-0/1.2.0/program`.
fn group_of(pid: u32, layout: &cgroups::Layout, controller: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let wanted = |line: &&str| match layout {
        cgroups::Layout::V1(_) => line.split(':').nth(1).is_some_and(|cs| cs.split(',').any(|c| c == controller)),
        cgroups::Layout::V2(_) => line.starts_with("0::"),
    };
    text.lines().find(wanted).and_then(|l| l.splitn(3, ':').nth(2)).unwrap_or_default().to_string()
}

#[test]
fn the_init_and_the_program_enter_their_groups_with_and_without_a_user_namespace() {
    let layout = require_cgroups!();
    for ns in [UserNamespace::Auto, UserNamespace::Off] {
        let parent = TestParent::new(&layout);
        let sandbox =
            parent.sandbox().user_namespace(ns.clone()).memory(mem("64M")).pids(64).cpus("0".parse().unwrap());
        let mut cmd = sandbox.command("/bin/sleep");
        cmd.arg("30").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn sleep");
        let init = child.pid();
        let children = format!("/proc/{init}/task/{init}/children");
        let program: u32 = text(&std::fs::read(&children).unwrap()).trim().parse().expect("the init's one child");
        let base = format!("/{}/", parent.rel());
        match &layout {
            cgroups::Layout::V1(_) => {
                let group = format!("{base}{}", parent.only_group("pids").file_name().unwrap().to_string_lossy());
                for c in ["pids", "cpuset", "memory", "cpuacct"] {
                    assert_eq!(group_of(program, &layout, c), group, "{ns:?}: the program's {c} group");
                }
                for c in ["pids", "cpuacct"] {
                    assert_eq!(group_of(init, &layout, c), group, "{ns:?}: the init's {c} group");
                }
                // The program's own (see `Placement`): not the init's.
                for c in ["memory", "cpuset"] {
                    let init_group = group_of(init, &layout, c);
                    assert!(!init_group.starts_with(&base), "{ns:?}: the init is in the {c} group {init_group}");
                }
            }
            cgroups::Layout::V2(_) => {
                let group = format!("{base}{}", parent.only_group("pids").file_name().unwrap().to_string_lossy());
                assert_eq!(group_of(init, &layout, ""), format!("{group}/init"), "{ns:?}: the init's group");
                assert_eq!(group_of(program, &layout, ""), format!("{group}/program"), "{ns:?}: the program's group");
            }
        }
        // The CPUs are the program's limit, not the init's (see `Placement`).
        let cpus_of = |pid: u32| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).unwrap_or_default().trim().to_string()
        };
        assert_eq!(cpus_of(program), "0", "{ns:?}: the program's CPUs");
        assert_eq!(cpus_of(init), cpus_of(std::process::id()), "{ns:?}: the init's CPUs are the supervisor's");
        // The descriptors the supervisor opened for entering the groups are closed
        // in the init and the program once used (O_CLOEXEC, or closed by the init).
        for pid in [init, program] {
            for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten() {
                let target = std::fs::read_link(fd.path()).unwrap_or_default();
                assert!(!target.starts_with("/sys/fs/cgroup"), "{ns:?}: process {pid} holds {}", target.display());
            }
        }
        child.kill().expect("kill");
        child.wait().expect("wait");
        parent.assert_empty();
    }
}

// 4. -------------------------------------------------------------------------

#[test]
fn a_fork_bomb_is_stopped_at_the_pids_limit_with_eagain() {
    let layout = require_cgroups!();
    let dir = TempDir::new("limits");
    let tool = require_tool!(dir);
    let parent = TestParent::new(&layout);
    let mut cmd = tool_command(&parent.sandbox().pids(16), &tool);
    cmd.arg("forkbomb").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn the fork bomb");
    let init = child.pid();
    let line = common::read_line_from(&mut child);
    // pids(16) allows the program and 15 children; the init comes on top. /proc
    // inside lists the init, the program and its children.
    assert_eq!(line, format!("children=15 errno={} procs=17", libc::EAGAIN));
    let group = parent.only_group("pids");
    assert_eq!(read(&group.join("pids.max")), "17", "the library adds one for the init");
    assert_eq!(read(&group.join("pids.current")), "17");
    let procs = read(&group.join("cgroup.procs"));
    assert_eq!(procs.lines().count(), 17, "{procs}");
    drop(child.stdin.take());
    let outcome = child.wait().expect("wait");
    assert_eq!((outcome.status, outcome.oom_killed, outcome.timed_out), (ExitStatus::Exited(0), false, false));
    assert!(!pid_exists(init as i32), "the init {init} is still there");
    for pid in procs.lines() {
        assert!(!pid_exists(pid.parse().unwrap()), "process {pid} of the sandbox is still there");
    }
    parent.assert_empty();
}

#[test]
fn a_shell_fork_loop_fails_with_cannot_fork_at_the_pids_limit() {
    let layout = require_cgroups!();
    let parent = TestParent::new(&layout);
    // The inner shell forks sleeps until fork fails, and dies of it ("Cannot fork");
    // then the outer one counts what is left in /proc with builtins only. At the
    // failure the group held the init, both shells and 14 sleeps: 16 processes of
    // the program plus the init; afterwards /proc lists the init, the outer shell
    // and the 14 sleeps.
    let script = r#"sh -c 'i=0; while [ $i -lt 100 ]; do sleep 10 & i=$((i+1)); done'
        n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo "procs=$n""#;
    let started = Instant::now();
    let out = run(&parent.sandbox().pids(16), "/bin/sh", &["-c", script]);
    assert_eq!(out.status, ExitStatus::Exited(0), "{}", describe(&out));
    assert_eq!(text(&out.stdout), "procs=16\n", "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("Cannot fork") || err.contains("Resource temporarily unavailable"), "{err:?}");
    // The sleeps died with the sandbox, long before their 10 s.
    assert!(started.elapsed() < Duration::from_secs(5));
    parent.assert_empty();
}

// 5. -------------------------------------------------------------------------

#[test]
fn a_timeout_kills_a_sleeping_program_and_says_so() {
    let layout = require_cgroups!();
    let parent = TestParent::new(&layout);
    // With a memory limit, so that the sandbox has a group to be removed too.
    let sandbox = parent.sandbox().memory(mem("64M")).timeout(Duration::from_millis(300));
    let started = Instant::now();
    let out = run(&sandbox, "sleep", &["10"]);
    let elapsed = started.elapsed();
    assert!(out.timed_out, "{}", describe(&out));
    assert_eq!(out.status, ExitStatus::Signaled(libc::SIGKILL), "{}", describe(&out));
    assert!(!out.oom_killed, "{}", describe(&out));
    assert!(out.usage.wall >= Duration::from_millis(300), "{}", describe(&out));
    assert!(out.usage.wall < Duration::from_secs(2), "{}", describe(&out));
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    parent.assert_empty();

    // Without any cgroup limit the timeout works the same.
    let out = run(&Sandbox::new().timeout(Duration::from_millis(300)), "sleep", &["10"]);
    assert!(out.timed_out && out.status == ExitStatus::Signaled(libc::SIGKILL), "{}", describe(&out));
    assert!(out.usage.wall >= Duration::from_millis(300) && out.usage.wall < Duration::from_secs(2));

    // A program that ends in time is not timed out.
    let out = run(&parent.sandbox().memory(mem("64M")).timeout(Duration::from_secs(10)), "true", &[]);
    assert_eq!((out.status, out.timed_out), (ExitStatus::Exited(0), false));
    parent.assert_empty();
}

// 6. -------------------------------------------------------------------------

#[test]
fn peak_memory_matches_what_the_program_touched() {
    let layout = require_cgroups!();
    let dir = TempDir::new("limits");
    let tool = require_tool!(dir);
    let parent = TestParent::new(&layout);
    let sandbox = parent.sandbox().memory(mem("256M"));
    let peak = |mib: &str| -> u64 {
        let out = run_host(&sandbox, &tool, &["touch", mib]);
        assert_eq!(out.status, ExitStatus::Exited(0), "{}", describe(&out));
        assert_eq!(text(&out.stdout), format!("touched {mib} MiB\n"));
        assert!(!out.oom_killed);
        out.usage.peak_memory.expect("a peak from the memory cgroup")
    };
    let baseline = peak("0");
    let touched = peak("100");
    let used = touched.saturating_sub(baseline);
    let want = 100 * MIB;
    assert!(
        used.abs_diff(want) <= want / 10,
        "peak {touched} - baseline {baseline} = {used} is not within 10% of {want}"
    );
    assert!(touched >= want && touched <= want + want / 10 + baseline, "peak {touched}, baseline {baseline}");
    parent.assert_empty();
}

// 7. -------------------------------------------------------------------------

#[test]
fn rlimits_apply_to_the_program() {
    let layout = require_cgroups!();
    let dir = TempDir::new("limits");
    let tool = require_tool!(dir);
    let parent = TestParent::new(&layout);

    let out = run(&parent.sandbox().rlimit(Rlimit::OpenFiles, 32), "/bin/sh", &["-c", "ulimit -n; ulimit -Hn"]);
    assert_eq!((out.status, text(&out.stdout)), (ExitStatus::Exited(0), "32\n32\n".into()), "{}", describe(&out));

    let out =
        run(&parent.sandbox().rlimit_soft_hard(Rlimit::OpenFiles, 16, 64), "/bin/sh", &["-c", "ulimit -n; ulimit -Hn"]);
    assert_eq!((out.status, text(&out.stdout)), (ExitStatus::Exited(0), "16\n64\n".into()), "{}", describe(&out));

    let sandbox = parent.sandbox().rlimit(Rlimit::AddressSpace, 64 * MIB);
    let out = run_host(&sandbox, &tool, &["alloc", "128"]);
    assert_eq!(out.status, ExitStatus::Exited(1), "{}", describe(&out));
    assert_eq!(text(&out.stdout), format!("malloc failed errno={}\n", libc::ENOMEM));
    let out = run_host(&sandbox, &tool, &["alloc", "16"]);
    assert_eq!((out.status, text(&out.stdout)), (ExitStatus::Exited(0), "malloc ok\n".into()), "{}", describe(&out));
    parent.assert_empty();
}

#[test]
fn raising_a_hard_rlimit_is_refused_before_anything_is_created() {
    let layout = require_cgroups!();
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status.lines().find_map(|l| l.strip_prefix("CapEff:")).map(str::trim).unwrap();
    // CAP_SYS_RESOURCE is capability 24.
    let has_sys_resource = u64::from_str_radix(eff, 16).unwrap() & (1 << 24) != 0;
    require!(hard != libc::RLIM_INFINITY, "needs a finite hard limit of open files");
    let parent = TestParent::new(&layout);
    let sandbox = parent.sandbox().memory(mem("64M")).rlimit(Rlimit::OpenFiles, hard + 1);
    if has_sys_resource {
        // Root with every capability (the qemu guest): raising is allowed, and done.
        let out = run(&sandbox, "/bin/sh", &["-c", "ulimit -Hn"]);
        assert_eq!(text(&out.stdout), format!("{}\n", hard + 1), "{}", describe(&out));
    } else {
        // Without CAP_SYS_RESOURCE (the development and CI machines): refused first.
        match sandbox.command("true").status() {
            Err(Error::InvalidValue { kind, value, reason, .. }) => {
                assert_eq!(kind, ValueKind::Number);
                assert_eq!(value, format!("nofile={}", hard + 1));
                assert!(reason.contains(&format!("hard limit {hard}")), "{reason}");
            }
            other => panic!("expected InvalidValue, got {other:?}"),
        }
    }
    parent.assert_empty();
    // Lowering it works.
    let out =
        run(&parent.sandbox().memory(mem("64M")).rlimit(Rlimit::OpenFiles, hard - 1), "/bin/sh", &["-c", "ulimit -Hn"]);
    assert_eq!(text(&out.stdout), format!("{}\n", hard - 1), "{}", describe(&out));
    parent.assert_empty();
}

// 8. -------------------------------------------------------------------------

#[test]
fn host_dependent_values_are_checked_before_anything_is_created() {
    let layout = require_cgroups!();
    let parent = TestParent::new(&layout);
    let effective =
        |dir: &Path| dir.join(if layout.is_v2() { "cpuset.cpus.effective" } else { "cpuset.effective_cpus" });
    let allowed = read(&effective(&parent.dir("cpuset")));
    if std::fs::read_to_string("/sys/devices/system/cpu/online").is_ok_and(|s| s.trim() == "0-1") {
        assert_eq!(allowed, "0-1");
    }
    let status = |s: &Sandbox| s.command("true").status();

    match status(&parent.sandbox().cpus("5".parse().unwrap())) {
        Err(Error::InvalidValue { kind: ValueKind::CpuSet, value, reason, .. }) => {
            assert_eq!(value, "5");
            assert!(reason.contains(&format!("allowed set {allowed}")), "{reason}");
        }
        other => panic!("expected InvalidValue about the CPUs, got {other:?}"),
    }
    parent.assert_empty();

    match status(&parent.sandbox().memory(mem("512K"))) {
        Err(Error::InvalidValue { kind: ValueKind::Size, value, .. }) => assert_eq!(value, "512K"),
        other => panic!("expected InvalidValue about the memory limit, got {other:?}"),
    }
    parent.assert_empty();

    let missing = "does-not-exist-xyz";
    let before: Vec<Vec<PathBuf>> = layout.mounts().iter().map(|m| subdirs(m)).collect();
    match status(&Sandbox::new().memory(mem("64M")).pids(8).cgroup_parent(missing)) {
        Err(Error::CgroupParent { path, errno }) => {
            assert_eq!(path, layout.mount("memory").join(missing));
            assert_eq!(errno, nix::errno::Errno::ENOENT);
        }
        other => panic!("expected CgroupParent, got {other:?}"),
    }
    for mount in layout.mounts() {
        assert!(!mount.join(missing).exists(), "{} was created", mount.join(missing).display());
    }
    let after: Vec<Vec<PathBuf>> = layout.mounts().iter().map(|m| subdirs(m)).collect();
    // Other processes may make groups at the top meanwhile; ours would be named so.
    let ours = |v: &Vec<Vec<PathBuf>>| -> Vec<PathBuf> {
        v.iter().flatten().filter(|p| p.to_string_lossy().contains(missing)).cloned().collect()
    };
    assert_eq!(ours(&before), ours(&after));
    parent.assert_empty();
}

// 9. -------------------------------------------------------------------------

/// Set in the environment of the helper supervisor of the next test: the cgroup
/// parent to use.
const HELPER_ENV: &str = "CTM_LIMITS_HELPER_PARENT";
const HELPER_TEST: &str = "a_killed_supervisor_leaves_a_group_that_gc_or_the_next_spawn_removes";

/// The helper supervisor: spawns `sleep 1000` under limits in the given parent,
/// prints `ready <init pid>` and blocks until killed.
fn helper_supervisor(parent: &str) -> ! {
    let child = Sandbox::new()
        .memory(mem("64M"))
        .pids(8)
        .cgroup_parent(parent)
        .command("sleep")
        .arg("1000")
        .stdin(Stdio::null())
        .spawn()
        .expect("helper: spawn");
    println!("ready {}", child.pid());
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(1000));
    }
}

/// A child process killed (and reaped) when dropped, also when a test panics.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_killed_supervisor_leaves_a_group_that_gc_or_the_next_spawn_removes() {
    if let Some(parent) = std::env::var_os(HELPER_ENV) {
        helper_supervisor(parent.to_str().unwrap());
    }
    let layout = require_cgroups!();
    for collect_with_gc in [true, false] {
        let parent = TestParent::new(&layout);
        let mut helper = KillOnDrop(
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", HELPER_TEST, "--nocapture", "--test-threads=1"])
                .env(HELPER_ENV, parent.rel())
                .stdin(StdStdio::null())
                .stdout(StdStdio::piped())
                // Not the test's stderr: a helper left behind must not hold the
                // harness's pipe open.
                .stderr(StdStdio::null())
                .spawn()
                .expect("start the helper supervisor"),
        );
        let helper = &mut helper.0;
        // libtest prints "test NAME ... " without a newline before the test runs:
        // the line may start with that. Read on another thread, to give up in time.
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = helper.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let ready = loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => match line.rsplit_once("ready ") {
                    Some((_, pid)) => break Ok(pid.trim().parse::<i32>().unwrap()),
                    None => continue,
                },
                Err(e) => break Err(e),
            }
        };
        let init = ready.unwrap_or_else(|e| {
            let _ = helper.kill();
            let _ = helper.wait();
            panic!("the helper supervisor did not say it was ready: {e}")
        });
        let groups = parent.groups();
        // One group per hierarchy in use (memory, pids, and CPU accounting on v1).
        assert!(!groups.is_empty() && (groups.len() == 1 || !layout.is_v2()), "{groups:?}");
        helper.kill().unwrap();
        helper.wait().unwrap(); // a zombie supervisor still counts as alive
        assert!(wait_until(Duration::from_secs(2), || !pid_exists(init)), "the sandbox's init {init} survived");
        assert_eq!(parent.groups(), groups, "nobody removed the group of the dead supervisor");

        if collect_with_gc {
            let removed = containment::gc(&[Path::new(parent.rel())]).unwrap();
            assert!(removed >= groups.len(), "gc removed {removed} groups");
        } else {
            let out = run(&parent.sandbox().memory(mem("64M")).pids(8), "true", &[]);
            assert_eq!(out.status, ExitStatus::Exited(0), "{}", describe(&out));
        }
        for g in &groups {
            assert!(!g.exists(), "{} is still there", g.display());
        }
        parent.assert_empty();
    }
}

// 10. ------------------------------------------------------------------------

#[test]
fn a_cpu_quota_caps_cpu_time() {
    let layout = require_cgroups!();
    let dir = TempDir::new("limits");
    let tool = require_tool!(dir);
    let parent = TestParent::new(&layout);
    let mut cmd = tool_command(&parent.sandbox().cpu_quota(0.2), &tool);
    cmd.args(["spin", "1000"]).stdin(Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    let group = parent.only_group("cpu");
    if layout.is_v2() {
        assert_eq!(read(&group.join("cpu.max")), "20000 100000");
    } else {
        assert_eq!(read(&group.join("cpu.cfs_quota_us")), "20000");
        assert_eq!(read(&group.join("cpu.cfs_period_us")), "100000");
    }
    let o: Outcome = child.wait().expect("wait");
    assert_eq!(o.status, ExitStatus::Exited(0), "{o:?}");
    let cpu = o.usage.user + o.usage.system;
    assert!(o.usage.wall >= Duration::from_secs(1), "{o:?}");
    // The quota holds the whole group (the init and the sandbox's setup too) to 0.2
    // CPU over the sandbox's wall time, which a slow guest stretches; one period
    // (100 ms) of slack. Unthrottled, the spin alone takes 1 s of CPU: the bound
    // stays below that.
    let bound = (o.usage.wall.mul_f64(0.2) + Duration::from_millis(100)).min(Duration::from_millis(900));
    assert!(cpu < bound, "a quota of 0.2 CPU let it use {cpu:?} in {:?} (bound {bound:?})", o.usage.wall);
    assert!(cpu > Duration::from_millis(50), "it got only {cpu:?} of CPU: was it measured?");
    parent.assert_empty();
}

/// Design §5 says CPU time comes from the cgroup (`cpu.stat` / `cpuacct`), so it
/// counts every process of the sandbox. The library takes it from the init's
/// `rusage`, which only holds the processes the init reaped: a program killed at
/// its timeout, or a background process killed when the program ends, is not
/// counted (1 s of busy loop reports 0 ms).
#[test]
fn cpu_time_counts_processes_killed_at_the_end() {
    let layout = require_cgroups!();
    let parent = TestParent::new(&layout);
    let sandbox = parent.sandbox().memory(mem("64M")).timeout(Duration::from_millis(1000));
    let out = run(&sandbox, "/bin/sh", &["-c", "while :; do :; done"]);
    assert!(out.timed_out, "{}", describe(&out));
    assert!(out.usage.user + out.usage.system >= Duration::from_millis(500), "{}", describe(&out));
    let out = run(&parent.sandbox().memory(mem("64M")), "/bin/sh", &["-c", "sh -c 'while :; do :; done' & sleep 1"]);
    assert!(out.usage.user + out.usage.system >= Duration::from_millis(500), "{}", describe(&out));
    parent.assert_empty();
}

#[test]
fn a_cpu_weight_is_accepted_and_written() {
    let layout = require_cgroups!();
    let parent = TestParent::new(&layout);
    let mut cmd = parent.sandbox().cpu_weight(200).command("/bin/sh");
    cmd.args(["-c", "read x"]).stdin(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let group = parent.only_group("cpu");
    if layout.is_v2() {
        assert_eq!(read(&group.join("cpu.weight")), "200");
    } else {
        assert_eq!(read(&group.join("cpu.shares")), "2048");
    }
    writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
    let o = child.wait().expect("wait");
    assert_eq!(o.status, ExitStatus::Exited(0), "{o:?}");
    parent.assert_empty();
}

/// In a helper process of the next tests: runs `script` (`sh -c`) in `sandbox`
/// under the cgroup parent `parent` and prints `status=...` and its output, or
/// `error=...`.
fn print_run(sandbox: &Sandbox, parent: &std::ffi::OsStr, script: &str) {
    let out = sandbox
        .clone()
        .cgroup_parent(parent.to_str().unwrap())
        .command("/bin/sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => println!("status={:?}\n{}", o.status, text(&o.stdout)),
        Err(e) => println!("error={e:?}"),
    }
}

/// Set in the environment of the helper of the next test: the cgroup parent.
const UMASK_HELPER_ENV: &str = "CTM_LIMITS_UMASK_HELPER_PARENT";

/// A supervisor whose umask lets no one else into the directories it makes (077, as
/// on hardened hosts and services with `UMask=0077`): the sandbox's processes, which
/// run as another host user in their user namespace, still enter their groups (the
/// supervisor hands them the files, it does not let them look the files up).
#[test]
fn a_supervisor_with_umask_077_still_places_its_sandbox() {
    if let Some(parent) = std::env::var_os(UMASK_HELPER_ENV) {
        // SAFETY: umask only sets this process's mask.
        unsafe { libc::umask(0o077) };
        let sandbox = Sandbox::new().memory(mem("64M")).pids(16).cpus("0".parse().unwrap());
        print_run(&sandbox, &parent, "grep Cpus_allowed_list /proc/self/status");
        return;
    }
    let layout = require_cgroups!();
    let parent = TestParent::new(&layout);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_supervisor_with_umask_077_still_places_its_sandbox", "--nocapture", "--test-threads=1"])
        .env(UMASK_HELPER_ENV, parent.rel())
        .stdin(StdStdio::null())
        .output()
        .expect("run the helper");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("status=Exited(0)\nCpus_allowed_list:\t0"), "{stdout}");
    parent.assert_empty();
}

/// Set in the environment of the helper of the next test: the cgroup parent.
const NO_STDIN_HELPER_ENV: &str = "CTM_LIMITS_NO_STDIN_HELPER_PARENT";

/// A supervisor that runs with its descriptor 0 closed (a daemon's may be): a
/// spawn's own descriptors could take the number 0 (the user namespace's id lease
/// did, and the init closed it as the program's standard input: EBADF at its
/// setup). It spawns, and the program is in its groups. Then the same for a named
/// sandbox, whose name's lock is taken before the spawn, in a fresh helper.
#[test]
fn a_supervisor_without_descriptor_0_still_places_its_program() {
    if let Some(parent) = std::env::var_os(NO_STDIN_HELPER_ENV) {
        // SAFETY: closes this helper process's descriptor 0, which nothing here uses.
        unsafe { libc::close(0) };
        let sandbox = Sandbox::new().memory(mem("64M")).pids(16).cpus("0".parse().unwrap());
        if std::env::var_os("CTM_LIMITS_NO_STDIN_NAMED").is_some() {
            let name = format!("ctm-test-nostdin-{}", std::process::id());
            match sandbox.clone().cgroup_parent(parent.to_str().unwrap()).name(&name).start() {
                Ok(running) => {
                    let out = running.command("/bin/true").stdin(Stdio::null()).output();
                    println!("named={:?}", out.map(|o| o.status));
                    println!("stopped={:?}", running.stop(Duration::from_secs(5)).map(|_| ()));
                }
                Err(e) => println!("named error={e:?}"),
            }
            return;
        }
        for _ in 0..3 {
            print_run(&sandbox, &parent, "cat /proc/self/cgroup; grep Cpus_allowed_list /proc/self/status");
        }
        return;
    }
    let layout = require_cgroups!();
    let parent = TestParent::new(&layout);
    let helper = |named: bool| {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "a_supervisor_without_descriptor_0_still_places_its_program", "--nocapture"])
            .arg("--test-threads=1")
            .env(NO_STDIN_HELPER_ENV, parent.rel())
            .stdin(StdStdio::null());
        if named {
            cmd.env("CTM_LIMITS_NO_STDIN_NAMED", "1");
        }
        cmd.output().expect("run the helper")
    };
    let named = helper(true);
    let stdout = text(&named.stdout);
    assert!(named.status.success(), "{stdout}{}", text(&named.stderr));
    assert!(stdout.contains("named=Ok(Exited(0))") && stdout.contains("stopped=Ok(())"), "{stdout}");
    parent.assert_empty();
    let out = helper(false);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_eq!(stdout.matches("status=Exited(0)").count(), 3, "{stdout}");
    assert_eq!(stdout.matches("Cpus_allowed_list:\t0\n").count(), 3, "{stdout}");
    // Inside its cgroup namespace the program sees its own groups as the root: a
    // program outside them would see the host's path to where it is.
    let controllers: &[&str] = if layout.is_v2() { &[""] } else { &["memory", "cpuset"] };
    for c in controllers {
        let lines: Vec<&str> =
            stdout.lines().filter(|l| l.split(':').nth(1).is_some_and(|cs| cs.split(',').any(|x| x == *c))).collect();
        assert_eq!(lines.len(), 3, "{c}: {stdout}");
        assert!(lines.iter().all(|l| l.ends_with(":/")), "{c}: {stdout}");
    }
    parent.assert_empty();
}
