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
    c.final_summary();
    drop(rootfs);
}
