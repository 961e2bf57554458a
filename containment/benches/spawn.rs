//! Spawn-to-outcome of `/bin/true`, one bench id per isolation layer, so a
//! regression shows which layer it came from:
//!
//! - `spawn/default`: the embedded default root.
//! - `spawn/chroot-busybox`: a busybox rootfs (built from the static `/bin/busybox`)
//!   as `/`, with the default private `/tmp`.
//! - `spawn/chroot-busybox-minimal`: the same rootfs without the private `/tmp`.
//!
//! Standard descriptors are `/dev/null`. Needs root; without it the bench prints
//! why and does nothing. The rootfs lives in `/tmp/ctmbench-rootfs-<pid>` and is
//! removed at the end.
//!
//! Run: `cargo bench -p containment --bench spawn -- --noplot`

use std::fs;
use std::hint::black_box;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process;
use std::time::Duration;

use containment::{Sandbox, Stdio};
use criterion::Criterion;

const BUSYBOX: &str = "/bin/busybox";

/// The busybox rootfs; removed when dropped (also on a panic while benching).
struct Rootfs {
    dir: PathBuf,
}

impl Rootfs {
    fn build() -> Result<Rootfs, String> {
        let dir = std::env::temp_dir().join(format!("ctmbench-rootfs-{}", process::id()));
        let _ = fs::remove_dir_all(&dir);
        let rootfs = Rootfs { dir };
        rootfs.populate().map_err(|e| format!("building {}: {e}", rootfs.dir.display()))?;
        Ok(rootfs)
    }

    fn populate(&self) -> Result<(), String> {
        for d in ["bin", "proc", "dev", "tmp", "etc"] {
            fs::create_dir_all(self.dir.join(d)).map_err(|e| format!("mkdir {d}: {e}"))?;
        }
        let bin = self.dir.join("bin");
        fs::copy(BUSYBOX, bin.join("busybox")).map_err(|e| format!("copy {BUSYBOX}: {e}"))?;
        let list =
            process::Command::new(BUSYBOX).arg("--list").output().map_err(|e| format!("{BUSYBOX} --list: {e}"))?;
        if !list.status.success() {
            return Err(format!("{BUSYBOX} --list: {}", list.status));
        }
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            let applet = applet.trim();
            if applet.is_empty() || applet == "busybox" || applet.contains('/') {
                continue;
            }
            symlink("busybox", bin.join(applet)).map_err(|e| format!("symlink bin/{applet}: {e}"))?;
        }
        if !bin.join("true").exists() {
            return Err(format!("{BUSYBOX} has no `true` applet"));
        }
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Rootfs {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("spawn bench: could not remove {}: {e}", self.dir.display());
        }
    }
}

/// Runs `/bin/true` in `sandbox` once, stdio null, and checks it succeeded.
fn run_true(sandbox: &Sandbox) {
    let outcome = sandbox
        .command("/bin/true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawning /bin/true in the sandbox");
    assert!(outcome.status.success(), "/bin/true failed: {:?}", outcome.status);
    black_box(outcome);
}

fn bench_spawn(c: &mut Criterion, rootfs: &Rootfs) {
    let default = Sandbox::new();
    let chroot = Sandbox::new().chroot(rootfs.path());
    let minimal = Sandbox::new().chroot(rootfs.path()).private_tmp(false);

    let mut group = c.benchmark_group("spawn");
    // ~2 ms an iteration: 100 samples need more than criterion's default 5 s.
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("default", |b| b.iter(|| run_true(&default)));
    group.bench_function("chroot-busybox", |b| b.iter(|| run_true(&chroot)));
    group.bench_function("chroot-busybox-minimal", |b| b.iter(|| run_true(&minimal)));
    group.finish();
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        println!(
            "spawn bench skipped: containment needs root (CAP_SYS_ADMIN) and this runs as uid {}",
            nix::unistd::geteuid()
        );
        return;
    }
    if !Path::new(BUSYBOX).is_file() {
        println!("spawn bench skipped: {BUSYBOX} is missing (apt-get install busybox-static)");
        return;
    }
    let rootfs = match Rootfs::build() {
        Ok(r) => r,
        Err(e) => {
            println!("spawn bench skipped: {e}");
            return;
        }
    };
    let mut c = Criterion::default().configure_from_args();
    bench_spawn(&mut c, &rootfs);
    bench_layers(&mut c, &rootfs);
    bench_limits(&mut c);
    bench_net(&mut c);
    c.final_summary();
    drop(rootfs);
}

// ---------------------------------------------------------------------------
// Layers and limits (issue 9 item 1, issue 3 item 9).

/// The limits of the performance targets: 64 MiB of memory, CPU 0, 64 processes.
fn with_limits(sandbox: Sandbox) -> Sandbox {
    sandbox.memory(limit_64m()).cpus(cpu0()).pids(64)
}

fn limit_64m() -> containment::MemoryLimit {
    "64M".parse().expect("64M is a valid memory limit")
}

fn cpu0() -> containment::CpuSet {
    containment::CpuSet::from_cpus([0]).expect("CPU 0 is a valid CPU set")
}

/// Spawn-to-outcome of `/bin/true` with one isolation layer added at a time, so a
/// regression shows which layer it came from (each id includes every layer above it):
///
/// - `layers/1-namespaces`: mount, PID, UTS, IPC and cgroup namespaces only: the
///   busybox rootfs, no private `/tmp`, no user namespace, no seccomp, the host's
///   network (no network namespace). Capabilities are still dropped.
/// - `layers/2-rootfs`: the embedded default root (with its private `/tmp`) instead
///   of the busybox rootfs.
/// - `layers/3-userns`: the default user namespace (a range of host ids).
/// - `layers/4-limits`: memory 64M, cpuset 0, pids 64 (v1: memory, cpuset, pids
///   and cpuacct groups created, limited, joined and removed).
/// - `layers/5-seccomp`: the default seccomp filter.
/// - `layers/6-netns-full-default`: a network namespace (loopback only): this is the
///   full default profile with limits, `Sandbox::new()` plus the three limits.
/// - `layers/7-netns-reused`: the same with `Net::none_reused()`: the namespace is
///   kept for the next sandbox instead of being made and destroyed for each.
fn bench_layers(c: &mut Criterion, rootfs: &Rootfs) {
    use containment::{Net, Seccomp, UserNamespace};

    let namespaces = Sandbox::new()
        .chroot(rootfs.path())
        .private_tmp(false)
        .user_namespace(UserNamespace::Off)
        .seccomp(Seccomp::disabled())
        .net(Net::host());
    let rootfs_layer = Sandbox::new().user_namespace(UserNamespace::Off).seccomp(Seccomp::disabled()).net(Net::host());
    let userns = Sandbox::new().seccomp(Seccomp::disabled()).net(Net::host());
    let limits = with_limits(userns.clone());
    let seccomp = with_limits(Sandbox::new().net(Net::host()));
    let full = with_limits(Sandbox::new());
    let reused = with_limits(Sandbox::new().net(Net::none_reused()));

    let mut group = c.benchmark_group("layers");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("1-namespaces", |b| b.iter(|| run_true(&namespaces)));
    group.bench_function("2-rootfs", |b| b.iter(|| run_true(&rootfs_layer)));
    group.bench_function("3-userns", |b| b.iter(|| run_true(&userns)));
    group.bench_function("4-limits", |b| b.iter(|| run_true(&limits)));
    group.bench_function("5-seccomp", |b| b.iter(|| run_true(&seccomp)));
    // Before layers/6, not after: the kernel destroys namespaces on a worker, after
    // the sandbox; right after layers/6 that worker would still be destroying its
    // thousands, on the CPUs layers/7 is measured on.
    group.bench_function("7-netns-reused", |b| b.iter(|| run_true(&reused)));
    group.bench_function("6-netns-full-default", |b| b.iter(|| run_true(&full)));
    group.finish();
    containment::release_kept_namespaces();
}

/// The cost of each cgroup limit on the full default profile: `limits/none` is
/// `Sandbox::new()`, the others add a memory limit (64M), a cpuset (CPU 0), a pids
/// limit (64), or all three. `benches/compare.sh` prints each as a ratio to
/// `limits/none`.
fn bench_limits(c: &mut Criterion) {
    let none = Sandbox::new();
    let memory = Sandbox::new().memory(limit_64m());
    let cpuset = Sandbox::new().cpus(cpu0());
    let pids = Sandbox::new().pids(64);
    let all = with_limits(Sandbox::new());

    let mut group = c.benchmark_group("limits");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("none", |b| b.iter(|| run_true(&none)));
    group.bench_function("memory", |b| b.iter(|| run_true(&memory)));
    group.bench_function("cpuset", |b| b.iter(|| run_true(&cpuset)));
    group.bench_function("pids", |b| b.iter(|| run_true(&pids)));
    group.bench_function("memory-cpuset-pids", |b| b.iter(|| run_true(&all)));
    group.finish();
}

// ---------------------------------------------------------------------------
// Network (issue 6): what a veth on a bridge adds (performance target 3).

/// The bridge of the `net` group, in a network namespace of the bench's own.
const BENCH_BRIDGE: &str = "ctmbench0";

fn ipv4(s: &str) -> containment::Ipv4Net {
    s.parse().expect("a valid IPv4 address")
}

/// Spawn-to-outcome of `/bin/true` in the default root with `Net::none()` (a
/// network namespace with only `lo`, the default) and with `Net::bridge` (plus a
/// veth on a bridge, its address and a default route), side by side:
///
/// - `net/none`, `net/bridge`, and `net/bridge-reused` (`BridgeNet::reuse`: the
///   namespace with its veth is kept between sandboxes, only the address is set).
/// - `net/none-reused` (`Net::none_reused()`: the namespace with only `lo` is kept
///   between sandboxes).
///
/// Both run while the bench's thread is in a network namespace it unshared (and
/// leaves again afterwards); the first spawn makes the bridge there (`ctmbench0`,
/// 10.77.0.1/24, through `create_bridge`), so nothing touches the host's network.
/// That namespace, with the bridge and the veths the kernel has not destroyed yet,
/// goes once the thread is back in its own.
fn bench_net(c: &mut Criterion) {
    use containment::Net;
    use nix::sched::{setns, unshare, CloneFlags};

    // Network namespaces are per thread: only this one moves.
    let home = match fs::File::open("/proc/thread-self/ns/net") {
        Ok(f) => f,
        Err(e) => return println!("net bench skipped: open /proc/thread-self/ns/net: {e}"),
    };
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
        return println!("net bench skipped: unshare(CLONE_NEWNET): {e}");
    }
    let at = |addr: &str| Net::bridge(BENCH_BRIDGE, ipv4(addr));
    run_true(&Sandbox::new().net(at("10.77.0.2/24").create_bridge(ipv4("10.77.0.1/24"))));
    let none = Sandbox::new().net(Net::none());
    let bridge = Sandbox::new().net(at("10.77.0.2/24"));
    let reused = Sandbox::new().net(at("10.77.0.3/24").reuse(true));
    let none_reused = Sandbox::new().net(Net::none_reused());
    let mut group = c.benchmark_group("net");
    group.measurement_time(Duration::from_secs(10));
    // The kept ones first: the kernel destroys the others' namespaces (and veths) on
    // a worker after the sandbox, on the CPUs the next bench is measured on.
    group.bench_function("none-reused", |b| b.iter(|| run_true(&none_reused)));
    group.bench_function("bridge-reused", |b| b.iter(|| run_true(&reused)));
    group.bench_function("none", |b| b.iter(|| run_true(&none)));
    group.bench_function("bridge", |b| b.iter(|| run_true(&bridge)));
    group.finish();
    containment::release_kept_namespaces();
    setns(&home, CloneFlags::CLONE_NEWNET).expect("back to the bench's own network namespace");
}
