//! Helpers shared by the integration tests.
//!
//! Every test that starts a sandbox begins with [`require_root!`]: without root it
//! prints `skipped: <reason>` and returns, unless `CONTAINMENT_MUST_WORK=1` is set
//! (as on CI), which turns the skip into a failure.
//!
//! Temporary files live under `/tmp/ctmtest-*` (never a name containing
//! "containment", which the machine's leak checker looks for). The busybox rootfs
//! that [`busybox_rootfs`] builds once per test binary is removed when the test
//! process exits normally (`atexit`); one left behind by a process that was killed
//! is removed by the next test binary that builds its own (its owner pid is in its
//! name and no longer exists). Everything else is a [`TempDir`], removed on drop.
#![allow(dead_code, unused_macros, unused_imports)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use containment::{Child, Command, Output, Sandbox, Stdio};

/// Skips the test (prints `skipped: <reason>` and returns) when `$cond` is false;
/// with `CONTAINMENT_MUST_WORK=1` it panics instead, so CI never passes by skipping.
macro_rules! require {
    ($cond:expr, $($reason:tt)+) => {
        if !$cond {
            let reason = format!($($reason)+);
            if $crate::common::must_work() {
                panic!("cannot run this test: {reason} (CONTAINMENT_MUST_WORK=1 forbids skipping)");
            }
            eprintln!("skipped: {reason}");
            return;
        }
    };
}
pub(crate) use require;

/// Skips the test unless it runs as root (sandboxes need `CAP_SYS_ADMIN`).
macro_rules! require_root {
    () => {
        $crate::common::require!(
            $crate::common::is_root(),
            "needs root (CAP_SYS_ADMIN) to create namespaces and mounts; run the tests as root"
        );
    };
}
pub(crate) use require_root;

/// Skips the test unless root and the static busybox (package busybox-static) exist.
macro_rules! require_busybox {
    () => {
        $crate::common::require_root!();
        $crate::common::require!(
            std::path::Path::new($crate::common::BUSYBOX).is_file(),
            "needs the static {} (Debian package busybox-static)",
            $crate::common::BUSYBOX
        );
    };
}
pub(crate) use require_busybox;

/// The static busybox the chroot tests use.
pub const BUSYBOX: &str = "/bin/busybox";

pub fn must_work() -> bool {
    std::env::var_os("CONTAINMENT_MUST_WORK").is_some_and(|v| v == "1")
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A unique name for this process: `ctmtest-<tag>-<pid>-<run>-<counter>`, where
/// `<run>` comes from the clock when the process first asked: a test binary in a
/// fresh qemu guest gets the same pid every time, and a guest killed mid-test
/// leaves its directories in the /tmp it shares with the host.
pub fn unique_name(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static RUN: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let run = RUN.get_or_init(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        now.as_nanos() as u32
    });
    format!("ctmtest-{tag}-{}-{run:08x}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A unique path under `/tmp` (nothing is created).
pub fn unique_tmp_path(tag: &str) -> PathBuf {
    Path::new("/tmp").join(unique_name(tag))
}

/// A directory removed (recursively) when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `/tmp/ctmtest-<tag>-<pid>-<run>-<n>`.
    pub fn new(tag: &str) -> TempDir {
        TempDir::at(unique_tmp_path(tag))
    }

    /// Creates the directory `path` (which must not exist yet) and owns it.
    pub fn at(path: PathBuf) -> TempDir {
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Applets of `busybox`, as `busybox --list` prints them.
fn busybox_applets() -> Vec<String> {
    let out = std::process::Command::new(BUSYBOX).arg("--list").output().expect("run busybox --list");
    assert!(out.status.success(), "busybox --list: {:?}", out.status);
    String::from_utf8(out.stdout).expect("applet names are ASCII").lines().map(str::to_owned).collect()
}

/// The entries at the top of every busybox rootfs, sorted.
pub const ROOTFS_ENTRIES: [&str; 5] = ["bin", "dev", "etc", "proc", "tmp"];

/// Fills `root` (an existing, empty directory) with a busybox system: `bin/busybox`
/// (see [`busybox_copy`]) with a relative symlink `bin/<applet> -> busybox` for
/// every applet, `proc`, `dev`, `tmp`, and `etc` with `passwd` and `group` for root
/// and nobody.
pub fn populate_busybox_rootfs(root: &Path) {
    for d in ROOTFS_ENTRIES {
        std::fs::create_dir(root.join(d)).unwrap_or_else(|e| panic!("mkdir {}/{d}: {e}", root.display()));
    }
    busybox_copy(&root.join("bin/busybox"));
    fill_rootfs(root);
}

fn fill_rootfs(root: &Path) {
    for applet in busybox_applets() {
        if applet == "busybox" {
            continue;
        }
        symlink("busybox", root.join("bin").join(&applet)).unwrap_or_else(|e| panic!("symlink {applet}: {e}"));
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
        .expect("write etc/passwd");
    std::fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").expect("write etc/group");
}

/// Makes `dst` a copy of the static busybox that can be executed at once.
///
/// It is a hard link to the one copy in the shared rootfs, never a new copy: a
/// file this (multithreaded) process writes can be held open for writing for a
/// moment by any process forked meanwhile (a sandbox's init before it closes the
/// descriptors it inherited, a `std::process::Command` child before its `execve`),
/// and executing it then fails with `ETXTBSY`. The shared copy is made once and
/// executed until that no longer happens.
pub fn busybox_copy(dst: &Path) {
    let src = busybox_rootfs().join("bin/busybox");
    std::fs::hard_link(&src, dst).unwrap_or_else(|e| panic!("link {} to {}: {e}", src.display(), dst.display()));
}

/// Runs `exe true` until it does not fail with `ETXTBSY` (see [`busybox_copy`]).
fn settle_executable(exe: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::process::Command::new(exe).arg("true").status() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("run {}: {e}", exe.display()),
            Ok(status) => {
                assert!(status.success(), "{} true: {status}", exe.display());
                return;
            }
        }
    }
}

/// A busybox rootfs shared by the tests of one test binary, built once in
/// `/tmp/ctmtest-rootfs-<pid>`. Tests must not change it, nor bind onto
/// destinations it lacks (that would create mount points in it): those use
/// [`fresh_rootfs`].
pub fn busybox_rootfs() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        remove_stale_rootfs();
        let root = PathBuf::from(format!("/tmp/ctmtest-rootfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir(&root).expect("mkdir rootfs");
        extern "C" fn remove_rootfs() {
            let _ = std::fs::remove_dir_all(format!("/tmp/ctmtest-rootfs-{}", std::process::id()));
        }
        // SAFETY: registers a plain `extern "C" fn` with no arguments; it only
        // removes a directory, which is fine at process exit.
        unsafe { libc::atexit(remove_rootfs) };
        for d in ROOTFS_ENTRIES {
            std::fs::create_dir(root.join(d)).unwrap_or_else(|e| panic!("mkdir {}/{d}: {e}", root.display()));
        }
        let exe = root.join("bin/busybox");
        std::fs::copy(BUSYBOX, &exe).expect("copy busybox");
        settle_executable(&exe);
        fill_rootfs(&root);
        root
    })
}

/// Removes the rootfs directories of test processes that no longer exist.
fn remove_stale_rootfs() {
    let Ok(dir) = std::fs::read_dir("/tmp") else { return };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("ctmtest-rootfs-")) else { continue };
        let Ok(pid) = pid.parse::<i32>() else { continue };
        if !pid_exists(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A private busybox rootfs, removed on drop, for tests that change it or check
/// exactly what it holds.
pub fn fresh_rootfs() -> TempDir {
    let dir = TempDir::new("root");
    populate_busybox_rootfs(dir.path());
    dir
}

/// Number of lines of `/proc/self/mountinfo`.
pub fn mount_count() -> usize {
    host_mounts_snapshot().len()
}

/// The lines of the host's (this process's) `/proc/self/mountinfo`, sorted.
pub fn host_mounts_snapshot() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// Remembers the host's mount table; [`HostMounts::assert_unchanged`] checks that
/// no mount was added or removed since.
pub struct HostMounts(Vec<String>);

impl HostMounts {
    pub fn snapshot() -> HostMounts {
        HostMounts(host_mounts_snapshot())
    }

    pub fn assert_unchanged(&self) {
        let now = host_mounts_snapshot();
        if now != self.0 {
            let added: Vec<_> = now.iter().filter(|l| !self.0.contains(l)).collect();
            let removed: Vec<_> = self.0.iter().filter(|l| !now.contains(l)).collect();
            panic!("the host's mount table changed: added {added:#?}, removed {removed:#?}");
        }
    }
}

/// The mount points (field 5 of mountinfo, unescaped octal kept) of the host.
pub fn host_mount_points() -> Vec<String> {
    host_mounts_snapshot().iter().filter_map(|l| l.split(' ').nth(4).map(str::to_owned)).collect()
}

/// Whether a process (or zombie) with this pid exists.
pub fn pid_exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The state letter of `pid` (`R`, `S`, `Z`, ...) from `/proc/<pid>/stat`, or
/// `None` when there is no such process.
pub fn pid_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Whether `pid` is gone or dead (a zombie: it ran its last instruction, and who
/// reaps it is up to its parent, which for an orphan is the host's init).
pub fn pid_dead(pid: i32) -> bool {
    matches!(pid_state(pid), None | Some('Z') | Some('X'))
}

/// Panics if `pid` still exists.
pub fn assert_pid_gone(pid: u32) {
    if pid_exists(pid as i32) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        panic!("process {pid} still exists after the sandbox ended: {stat}");
    }
}

/// Polls `cond` every millisecond or so until it holds or `timeout` passes; returns
/// whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Host pids of the children of every thread of this process
/// (`/proc/self/task/*/children`).
pub fn children_of_self() -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for task in std::fs::read_dir("/proc/self/task").expect("read /proc/self/task").flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("children")) else { continue };
        out.extend(text.split_whitespace().map(|p| p.parse::<u32>().expect("pid")));
    }
    out
}

/// Host pids of the children of `pid` (all its threads).
pub fn children_of(pid: u32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return out };
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("children")) else { continue };
        out.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
    }
    out
}

/// Serializes the tests of one binary that check process-wide state (the test
/// process's children, its descriptors). Poisoning is ignored: a failed test must
/// not fail the others.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spawns `cmd` with stdout and stderr piped (stdin null unless set), collects
/// both, waits, and checks that the sandbox's init is gone afterwards.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    let pid = child.pid();
    let out = child.wait_with_output().expect("wait_with_output");
    assert_pid_gone(pid);
    out
}

/// Like [`run`], with stdin null.
pub fn run_null_stdin(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null());
    run(cmd)
}

/// Runs `sh -c script` in `sandbox` (stdin null) and returns its output; checks
/// that the host's mount table did not change and the init is gone.
pub fn sh(sandbox: &Sandbox, script: &str) -> Output {
    let mounts = HostMounts::snapshot();
    let out = run_null_stdin(sandbox.command("/bin/sh").args(["-c", script]));
    mounts.assert_unchanged();
    out
}

/// The output as text, for messages and comparisons.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Panics with both streams unless the program exited with `code`.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status,
        containment::ExitStatus::Exited(code),
        "stdout: {:?}\nstderr: {:?}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Reads `child`'s piped stdout until `line` (without its newline) has been read
/// as a whole line; panics at end of file. Reads byte by byte so nothing after the
/// line is consumed.
pub fn read_line_from(child: &mut Child) -> String {
    let out = child.stdout.as_mut().expect("stdout is piped");
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        let n = out.read(&mut b).expect("read the program's stdout");
        assert!(n == 1, "end of file before a whole line; got {:?}", text(&line));
        if b[0] == b'\n' {
            return text(&line);
        }
        line.push(b[0]);
    }
}

/// Compiles the C `source` with `cc` into a static executable in `dir` and returns
/// its path, or `None` when there is no working `cc` (the caller skips).
pub fn compile_c(dir: &Path, name: &str, source: &str) -> Option<PathBuf> {
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&src, source).expect("write C source");
    let out = std::process::Command::new("cc").args(["-static", "-O1", "-o"]).arg(&exe).arg(&src).output().ok()?;
    if !out.status.success() {
        eprintln!("cc failed: {}", text(&out.stderr));
        return None;
    }
    Some(exe)
}

/// The bytes of an `OsStr`-like path, for byte-exact comparisons.
pub fn bytes(p: &(impl AsRef<OsStr> + ?Sized)) -> Vec<u8> {
    p.as_ref().as_bytes().to_vec()
}
