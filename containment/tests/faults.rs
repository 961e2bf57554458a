//! Fault injection (issue 9; the "Faults" section of security-checklist.md): the
//! supervisor, the sandbox's init or the program's process dies (or the supervisor
//! or the program stops) at each setup stage, and nothing may be left behind.
//!
//! Needs the library built with the `fault-injection` feature (Cargo.toml gives
//! this test `required-features`):
//!
//! ```text
//! cargo test -p containment --features fault-injection --test faults
//! ```
//!
//! Each case re-executes this test binary as a helper supervisor
//! ([`helper_supervisor`], with `CONTAINMENT_FAULT=<who>:<stage>`) that spawns one
//! sandbox with memory and pids limits (and, with a network, on a bridge in a
//! network namespace the helper made for itself) and writes what happened to a
//! report file. This process is the helpers' child subreaper, so whatever a helper
//! leaves running ends up as a child of this process: every case waits for all of
//! them to end. Then it checks that the sandbox's init is gone, that no mount was
//! added on the host, no interface in the host's namespace, no lock is held by the
//! helper, and where the helper's cgroups and leases went.
//!
//! What each fault does:
//! - `supervisor:<clone|sync|cgroup|network>`: the helper dies of SIGKILL and spawn
//!   never returns. The sandbox's init (if it was made) exits on its own; the
//!   helper's cgroups (v1 groups are made after `sync`, v2 groups before the clone)
//!   stay behind, empty, until the next supervisor process's first spawn collects
//!   them (checked), or [`containment::gc`] (checked); its lease files stay on disk,
//!   held by nobody.
//! - `init:<sync|mount|pivot-root|hostname|fork|exec>`: spawn returns
//!   [`Error::InitDied`] (or [`Error::Setup`]) and leaves nothing.
//! - `program:<setsid|rlimit|capabilities|no-new-privs|close-fds>`: the program's
//!   process exits with code 99 before `execve`; the init sees it never reached
//!   `execve`, so spawn returns [`Error::Setup`] (stage `fork`, ECHILD); nothing is
//!   left. `program:seccomp` is past the end of the setup (the init was told so):
//!   the exit code 99 is the program's outcome. (Where the init is a copy of the
//!   supervisor, it is a setup error as at the other stages.)
//!
//! - `stop-supervisor:<cgroup|clone|sync|network>`, `stop-program:<...>` (the
//!   program's stages above): the helper, or the program's process before its
//!   `execve`, stops (SIGSTOP). Resumed (SIGCONT), the spawn goes on and the program
//!   runs ([`a_stopped_supervisor_or_program_resumed_finishes_the_spawn`]). With the
//!   helper killed while it stays stopped, the sandbox ends by itself, stopped
//!   program included, and the next start collects what the helper made
//!   ([`a_supervisor_killed_while_it_or_the_program_is_stopped_leaves_nothing`]; the
//!   init program used to wait for the stopped program's `execve` without watching
//!   its supervisor, and stayed for good). The same for a program run in a
//!   persistent sandbox by another supervisor (`contain exec`): the joiner kills it
//!   and the sandbox stays
//!   ([`a_joined_program_stopped_then_orphaned_dies_and_the_sandbox_stays`]). Not
//!   where the init is a copy of the
//!   supervisor (`einval:clone`, and where no memfd may be executed): that init
//!   waits for the program's `execve` inside the kernel (`CLONE_VFORK`), so a
//!   program stopped there keeps it until the next start collects the sandbox's
//!   cgroups (if it has any) and kills what is in them. Not tested.
//!
//! - `einval:pivot-root`: not a death; `pivot_root` fails with `EINVAL` as on an
//!   initramfs root, and the init enters the root with `chroot` instead
//!   ([`the_chroot_fallback_where_pivot_root_fails`]).
//! - `einval:clone`: not a death; the init is started as a copy of the supervisor,
//!   as where the init program's memfd may not be executed and on architectures
//!   other than x86-64 ([`the_init_as_a_copy_where_no_memfd_may_execute`]).
//!
//! The tests hold `common::serial()`: they count this process's children.

mod cgroups;
mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus as ProcessStatus;
use std::time::{Duration, Instant};

use common::{assert_pid_gone, require_root, HostMounts, TempDir};
use containment::{Error, Ipv4Net, MemoryLimit, Net, Sandbox, Stdio};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Set in a helper's environment: the file it reports to.
const HELPER_REPORT: &str = "CTMTEST_FAULT_HELPER_REPORT";
/// Set in a helper's environment to put the sandbox on a bridge network.
const HELPER_NET: &str = "CTMTEST_FAULT_HELPER_NET";
/// Set in a helper's environment to run the program in the running sandbox of that
/// name (as `contain exec` does) instead of in a new sandbox.
const HELPER_JOIN: &str = "CTMTEST_FAULT_HELPER_JOIN";
/// The bridge in a helper's own network namespace, and the addresses on it.
const BRIDGE: &str = "ctmfault0";
const BRIDGE_ADDR: &str = "10.77.202.1/24";
const SANDBOX_ADDR: &str = "10.77.202.2/24";
/// Where the library keeps its address leases: `<netns cookie>-<bridge>/<address>`.
const NET_LEASES: &str = "/run/containment/net";
/// Where it keeps its leases of host id ranges (one file per range held).
const ID_LEASES: &str = "/run/containment/ids";
/// The code a helper's program exits with when it runs.
const PROGRAM_CODE: i32 = 7;
/// How long a helper, and what it leaves running, may take to end.
const DEADLINE: Duration = Duration::from_secs(30);

/// The helper supervisor's body: runs when this binary is re-executed with
/// [`HELPER_REPORT`] set, as the test [`without_a_fault_the_helper_leaves_nothing`]
/// (which hands over to it then).
fn helper_supervisor(report: &std::ffi::OsStr) {
    let mut out = std::fs::OpenOptions::new().append(true).open(report).expect("open the report file");
    // Unbuffered: every line is in the file before the next step, which may kill us.
    let mut say = |line: String| out.write_all(format!("{line}\n").as_bytes()).expect("write the report");
    say(format!("pid {}", std::process::id()));
    let mut sb = Sandbox::new()
        .memory("64M".parse::<MemoryLimit>().expect("size"))
        .pids(32)
        .timeout(DEADLINE)
        .hostname("faulty");
    if std::env::var_os(HELPER_NET).is_some() {
        // This thread's own network namespace: it dies with the helper.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        say(format!("netns {}", netns_cookie()));
        let addr: Ipv4Net = SANDBOX_ADDR.parse().expect("address");
        sb = sb.net(Net::bridge(BRIDGE, addr).create_bridge(BRIDGE_ADDR.parse().expect("address")));
    }
    let mut cmd = match std::env::var(HELPER_JOIN) {
        Ok(name) => containment::Running::open(&name).expect("open the running sandbox").command("/bin/sh"),
        Err(_) => sb.command("/bin/sh"),
    };
    let spawned = cmd
        .args(["-c", &format!("exit {PROGRAM_CODE}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            say(format!("spawned {}", child.pid()));
            match child.wait() {
                Ok(o) => say(format!("outcome {:?} {} {}", o.status, o.oom_killed, o.timed_out)),
                Err(e) => say(format!("wait-error {}", variant(&e))),
            }
        }
        Err(e) => say(format!("error {} {e}", variant(&e))),
    }
    say("done".into());
}

/// The name of `e`'s variant (`InitDied`, `Setup`, ...).
fn variant(e: &Error) -> String {
    let debug = format!("{e:?}");
    debug.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default().to_owned()
}

/// What a helper reported.
#[derive(Debug, Default)]
struct Report {
    pid: u32,
    netns: Option<u64>,
    /// The sandbox's init, when spawn returned it.
    init: Option<u32>,
    /// The variant and message of the error spawn returned.
    error: Option<(String, String)>,
    /// `ExitStatus`, oom_killed, timed_out, as printed.
    outcome: Option<String>,
    done: bool,
}

impl Report {
    fn read(path: &Path) -> Report {
        let text = std::fs::read_to_string(path).expect("read the helper's report");
        let mut r = Report::default();
        for line in text.lines() {
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "pid" => r.pid = rest.parse().expect("pid"),
                "netns" => r.netns = Some(rest.parse().expect("netns")),
                "spawned" => r.init = Some(rest.parse().expect("init pid")),
                "error" => {
                    let (kind, message) = rest.split_once(' ').unwrap_or((rest, ""));
                    r.error = Some((kind.to_owned(), message.to_owned()));
                }
                "outcome" | "wait-error" => r.outcome = Some(line.to_owned()),
                "done" => r.done = true,
                _ => panic!("unexpected line in the helper's report: {line:?}"),
            }
        }
        r
    }
}

/// A helper process, killed and reaped if the test gives up on it.
struct HelperGuard(std::process::Child);

impl Drop for HelperGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Makes this process the child subreaper (once), so that what a dead helper leaves
/// running becomes this process's child.
fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER"));
}

/// What a case does once a `stop-*` fault has stopped its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnStop {
    /// SIGCONT to the stopped process.
    Resume,
    /// SIGKILL to the helper (the supervisor), the stopped process left as it is.
    KillSupervisor,
}

/// Whether process `pid` is stopped (state `T` in `/proc/<pid>/stat`).
fn is_stopped(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')').is_some_and(|i| stat[i + 1..].trim_start().starts_with('T'))
}

/// Runs a helper with `fault` (`who:stage`, or none) and a bridge network or not,
/// and with `on_stop`, what to do once a process of the helper (itself or one of
/// its descendants) is stopped; returns how it ended, its report and that process.
fn run_helper_with(fault: Option<&str>, net: bool, on_stop: Option<OnStop>) -> (ProcessStatus, Report, Option<u32>) {
    run_helper_in(fault, net, on_stop, None)
}

/// [`run_helper_with`], the helper running its program in the running sandbox
/// `join` when given.
fn run_helper_in(
    fault: Option<&str>,
    net: bool,
    on_stop: Option<OnStop>,
    join: Option<&str>,
) -> (ProcessStatus, Report, Option<u32>) {
    become_subreaper();
    let dir = TempDir::new("fault");
    let report = dir.join("report");
    std::fs::write(&report, "").expect("create the report file");
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("current_exe"));
    cmd.args(["--exact", "without_a_fault_the_helper_leaves_nothing", "--test-threads=1", "--nocapture"])
        .env(HELPER_REPORT, &report)
        .env_remove("CONTAINMENT_FAULT")
        .env_remove(HELPER_NET)
        .env_remove(HELPER_JOIN)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(f) = fault {
        cmd.env("CONTAINMENT_FAULT", f);
    }
    if net {
        cmd.env(HELPER_NET, "1");
    }
    if let Some(name) = join {
        cmd.env(HELPER_JOIN, name);
    }
    let mut helper = HelperGuard(cmd.spawn().expect("start the helper"));
    let deadline = Instant::now() + DEADLINE;
    let mut stopped = None;
    let status = loop {
        if let Some(status) = helper.0.try_wait().expect("wait for the helper") {
            break status;
        }
        if let (Some(action), None) = (on_stop, stopped) {
            let pid = helper.0.id();
            let stopped_now = std::iter::once(pid).chain(descendants(pid)).find(|p| is_stopped(*p));
            if let Some(p) = stopped_now {
                stopped = Some(p);
                match action {
                    OnStop::Resume => {
                        nix::sys::signal::kill(Pid::from_raw(p as i32), nix::sys::signal::Signal::SIGCONT)
                            .expect("SIGCONT")
                    }
                    OnStop::KillSupervisor => helper.0.kill().expect("kill the helper"),
                }
            }
        }
        assert!(Instant::now() < deadline, "the helper ({fault:?}) did not end within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(2));
    };
    (status, Report::read(&report), stopped)
}

/// Waits (up to [`DEADLINE`]) until every child of this process has ended, reaping
/// them (with `__WALL`: a sandbox's init is cloned with no exit signal); returns
/// their pids. They are what dead helpers left running.
fn reap_orphans() -> BTreeSet<u32> {
    let mut reaped = BTreeSet::new();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let children = common::children_of_self();
        if children.is_empty() {
            return reaped;
        }
        for pid in children {
            match waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
                Ok(WaitStatus::StillAlive) => {}
                Ok(_) | Err(nix::errno::Errno::ECHILD) => {
                    reaped.insert(pid);
                }
                Err(e) => panic!("waitpid {pid}: {e}"),
            }
        }
        if Instant::now() >= deadline {
            let left: Vec<String> = common::children_of_self()
                .iter()
                .map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default())
                .collect();
            panic!("processes left running {DEADLINE:?} after their supervisor ended: {left:#?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The interfaces of the host's network namespace.
fn host_interfaces() -> BTreeSet<String> {
    std::fs::read_dir("/sys/class/net")
        .expect("read /sys/class/net")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

/// The groups that the sandboxes of process `pid` have (named `<pid>.<start>.<n>`)
/// under the default parent of every hierarchy.
/// Whether this host's limits are on cgroup v2.
fn v2_host() -> bool {
    cgroups::Layout::detect().is_some_and(|l| l.is_v2())
}

fn cgroups_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("{pid}.");
    let root = Path::new("/sys/fs/cgroup");
    let mut parents = vec![root.join("containment")];
    parents.extend(std::fs::read_dir(root).into_iter().flatten().flatten().map(|h| h.path().join("containment")));
    let mut out: Vec<PathBuf> = parents
        .iter()
        .flat_map(|p| std::fs::read_dir(p).into_iter().flatten().flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// The `flock` locks taken by process `pid` that still exist (`/proc/locks`).
fn locks_of(pid: u32) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/locks").expect("read /proc/locks");
    text.lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().filter(|w| *w != "->").collect();
            f.get(1) == Some(&"FLOCK") && f.get(4) == Some(&pid.to_string().as_str())
        })
        .map(str::to_owned)
        .collect()
}

/// The cookie of the calling thread's network namespace (`SO_NETNS_COOKIE` of a
/// socket made there): the library names a bridge's lease directory after it.
fn netns_cookie() -> u64 {
    use std::os::fd::AsRawFd;
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("a socket in this namespace");
    let mut cookie: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    const SO_NETNS_COOKIE: libc::c_int = 71;
    // SAFETY: the out-pointers are valid for the sizes given, the socket is open.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            (&mut cookie as *mut u64).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt(SO_NETNS_COOKIE): {}", std::io::Error::last_os_error());
    cookie
}

/// The address lease files of the bridge in the network namespace `netns`.
fn net_leases(netns: u64) -> (PathBuf, Vec<PathBuf>) {
    let dir = Path::new(NET_LEASES).join(format!("{netns}-{BRIDGE}"));
    let files = std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    (dir, files)
}

/// The lease files of id ranges.
fn id_lease_files() -> BTreeSet<PathBuf> {
    std::fs::read_dir(ID_LEASES).into_iter().flatten().flatten().map(|e| e.path()).collect()
}

/// Takes each lease file of `files` that nobody holds (`flock -n`, as the library
/// does) and removes it while holding it, as the library's own release does;
/// returns how many it removed. A file someone holds is left alone.
fn remove_unheld(files: &BTreeSet<PathBuf>) -> usize {
    use nix::fcntl::{Flock, FlockArg};
    let mut removed = 0;
    for path in files {
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) else { continue };
        let Ok(locked) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else { continue };
        // Only if the file locked is still the one at the path.
        let same = std::fs::metadata(path).is_ok_and(|m| locked.metadata().is_ok_and(|l| l.ino() == m.ino()));
        if same && std::fs::remove_file(path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Who dies in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Supervisor,
    Init,
    Program,
}

/// What one case left, for the summary line.
struct Case {
    fault: String,
    net: bool,
    status: ProcessStatus,
    report: Report,
    orphans: BTreeSet<u32>,
    stale_cgroups: Vec<PathBuf>,
    /// Lease files of id ranges left on disk, held by nobody (removed since).
    stale_id_leases: usize,
    /// The bridge's lease directory a killed helper left, held by nobody: the
    /// caller checks that `gc` removes it ([`Case::collect_net_leases`]).
    stale_net_leases: Option<PathBuf>,
    /// The process a `stop-*` fault stopped, if any.
    stopped: Option<u32>,
}

/// Runs the helper with `fault` and checks everything but what depends on who died:
/// the helper's leftovers all end, its init is gone, the host's mounts and
/// interfaces are as before, no lock of the helper is held, and (with a network) the
/// bridge's address leases are held by nobody.
fn run_case(fault: Option<&str>, net: bool) -> Case {
    run_case_with(fault, net, None)
}

/// [`run_case`], with what to do once the fault stopped a process (see
/// [`run_helper_with`]); [`Case::stopped`] says which.
fn run_case_with(fault: Option<&str>, net: bool, on_stop: Option<OnStop>) -> Case {
    let mounts = HostMounts::snapshot();
    let interfaces = host_interfaces();
    let id_leases = id_lease_files();
    let (status, report, stopped) = run_helper_with(fault, net, on_stop);
    let what = format!("{} (net {net})", fault.unwrap_or("no fault"));
    let orphans = reap_orphans();
    assert_ne!(report.pid, 0, "{what}: the helper did not start: {status}");
    if let Some(init) = report.init {
        assert_pid_gone(init);
    }
    for pid in &orphans {
        assert_pid_gone(*pid);
    }
    mounts.assert_unchanged();
    assert_eq!(host_interfaces(), interfaces, "{what}: the host's interfaces changed");
    assert_eq!(locks_of(report.pid), Vec::<String>::new(), "{what}: locks of the helper still held");
    let mut stale_net_leases = None;
    if net {
        let netns = report.netns.unwrap_or_else(|| panic!("{what}: no netns reported"));
        let (dir, files) = net_leases(netns);
        // Held by nobody: the helper's locks are all gone (checked above), and the
        // namespace the directory is named after died with the helper.
        if report.done {
            assert_eq!(files, Vec::<PathBuf>::new(), "{what}: address leases left in {}", dir.display());
            assert!(!dir.exists(), "{what}: {} is left", dir.display());
        } else if dir.exists() {
            stale_net_leases = Some(dir);
        }
        // After a SIGKILL the lease files stay, held by nobody, in a directory named
        // after a namespace that is gone (`gc` removes them: the caller checks).
    }
    // A killed supervisor leaves the lease file of its id range on disk, held by
    // nobody (the allocator would take it again). Remove those (and any other new
    // one nobody holds); a helper that returned must leave none.
    let stale_id_leases = remove_unheld(&id_lease_files().difference(&id_leases).cloned().collect());
    if report.done {
        assert_eq!(stale_id_leases, 0, "{what}: the helper left lease files of id ranges, held by nobody");
    }
    let stale_cgroups = cgroups_of(report.pid);
    Case { fault: what, net, status, report, orphans, stale_cgroups, stale_id_leases, stale_net_leases, stopped }
}

impl Case {
    /// `gc` removes the address leases a killed helper left (after the cgroup
    /// checks: it collects the helper's groups too).
    fn collect_net_leases(&self) {
        if let Some(dir) = &self.stale_net_leases {
            containment::gc(&[]).expect("gc");
            assert!(!dir.exists(), "{}: gc left the address leases in {}", self.fault, dir.display());
        }
    }

    fn summary(&self) -> String {
        format!(
            "{:<34} helper {:<28} init {:<8} error {:<55} outcome {:<40} orphans {} cgroups left {} \
             unheld id leases left {}",
            self.fault,
            self.status.to_string(),
            self.report.init.map_or("-".into(), |p| p.to_string()),
            self.report.error.as_ref().map_or("-".into(), |(k, m)| format!("{k}: {m}")),
            self.report.outcome.as_deref().unwrap_or("-"),
            self.orphans.len(),
            self.stale_cgroups.len(),
            self.stale_id_leases
        )
    }
}

/// The stages at which `who` can be made to die.
fn stages(who: Who) -> &'static [&'static str] {
    match who {
        Who::Supervisor => &["cgroup", "clone", "sync", "network"],
        Who::Init => &["sync", "mount", "pivot-root", "hostname", "fork", "exec"],
        Who::Program => &["setsid", "rlimit", "capabilities", "no-new-privs", "close-fds", "seccomp"],
    }
}

/// Runs every stage of `who`, without and with a bridge network, checking what
/// depends on who died; prints one line per case. Every case runs; the failures
/// are listed at the end.
fn every_stage(who: Who) {
    let name = format!("{who:?}").to_lowercase();
    every_case(who, &name, |stage, fault, net| check_stage(who, stage, fault, net));
}

/// Runs `check(stage, fault, net)` for every stage of `who`, the fault being
/// `<prefix>:<stage>`, without and with a bridge network; every case runs, and the
/// failures are listed at the end.
fn every_case(who: Who, prefix: &str, check: impl Fn(&str, &str, bool)) {
    let mut failures = Vec::new();
    for &stage in stages(who) {
        for net in [false, true] {
            let fault = format!("{prefix}:{stage}");
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(stage, &fault, net)));
            if let Err(panic) = run {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{fault} (net {net}): {message}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// One case of [`every_stage`].
fn check_stage(who: Who, stage: &str, fault: &str, net: bool) {
    {
        {
            let case = run_case(Some(fault), net);
            println!("{}", case.summary());
            let what = &case.fault;
            let r = &case.report;
            // The network stage is reached only with a network.
            let reached = stage != "network" || net;
            match (who, reached) {
                (_, false) => {
                    assert!(case.status.success(), "{what}: {}", case.status);
                    assert_eq!(
                        r.outcome.as_deref(),
                        Some(format!("outcome Exited({PROGRAM_CODE}) false false").as_str()),
                        "{what}"
                    );
                    assert_eq!(case.stale_cgroups, Vec::<PathBuf>::new(), "{what}: cgroups left");
                }
                (Who::Supervisor, true) => {
                    use std::os::unix::process::ExitStatusExt;
                    assert_eq!(case.status.signal(), Some(libc::SIGKILL), "{what}: the helper {}", case.status);
                    assert!(r.init.is_none() && r.error.is_none() && !r.done, "{what}: spawn returned: {r:?}");
                    // Where the group was made before the fault, it is left behind,
                    // empty, and the next supervisor process's first spawn removes it.
                    // v1 groups are made after the clone and the id maps (see
                    // `spawn::make_groups`); v2 groups before the clone.
                    let made = matches!(stage, "cgroup" | "network") || v2_host();
                    assert_eq!(!case.stale_cgroups.is_empty(), made, "{what}: the killed supervisor's cgroups");
                    let next = run_case(None, false);
                    assert!(next.status.success(), "{what}: the next supervisor: {}", next.status);
                    assert_eq!(next.stale_cgroups, Vec::<PathBuf>::new(), "{what}: the next supervisor's cgroups");
                    assert_eq!(
                        cgroups_of(r.pid),
                        Vec::<PathBuf>::new(),
                        "{what}: the next start did not collect the killed supervisor's cgroups"
                    );
                    assert_eq!(case.stale_net_leases.is_some(), net, "{what}: address leases left");
                }
                (Who::Init, true) => {
                    assert!(case.status.success(), "{what}: the helper {}", case.status);
                    match &r.error {
                        Some((kind, _)) if kind == "InitDied" || kind == "Setup" => {}
                        other => panic!("{what}: expected InitDied or Setup from spawn, got {other:?} ({r:?})"),
                    }
                    assert!(r.init.is_none(), "{what}");
                    assert_eq!(case.stale_cgroups, Vec::<PathBuf>::new(), "{what}: cgroups left");
                }
                (Who::Program, true) if stage == "seccomp" => {
                    // Past the end of the setup (the init was told so): what the
                    // process does from there is the program's, and so is its exit.
                    assert!(case.status.success(), "{what}: the helper {}", case.status);
                    assert_eq!(r.error, None, "{what}");
                    assert_eq!(r.outcome.as_deref(), Some("outcome Exited(99) false false"), "{what}: {r:?}");
                    assert_eq!(case.stale_cgroups, Vec::<PathBuf>::new(), "{what}: cgroups left");
                }
                (Who::Program, true) => {
                    assert!(case.status.success(), "{what}: the helper {}", case.status);
                    // The init sees that the program's process ended before execve.
                    match &r.error {
                        Some((kind, message)) if kind == "Setup" && message.contains("fork") => {}
                        other => panic!("{what}: expected a Setup error at stage fork, got {other:?} ({r:?})"),
                    }
                    assert!(r.outcome.is_none(), "{what}: {r:?}");
                    assert_eq!(case.stale_cgroups, Vec::<PathBuf>::new(), "{what}: cgroups left");
                }
            }
            case.collect_net_leases();
        }
    }
}

/// The harness itself: a helper without a fault runs its program and leaves
/// nothing, with and without a network.
#[test]
fn without_a_fault_the_helper_leaves_nothing() {
    if let Some(report) = std::env::var_os(HELPER_REPORT) {
        return helper_supervisor(&report);
    }
    require_root!();
    let _serial = common::serial();
    for net in [false, true] {
        let case = run_case(None, net);
        println!("{}", case.summary());
        assert!(case.status.success(), "{}: {}", case.fault, case.status);
        let expected = format!("outcome Exited({PROGRAM_CODE}) false false");
        assert_eq!(case.report.outcome.as_deref(), Some(expected.as_str()), "{:?}", case.report);
        assert!(case.report.init.is_some() && case.report.done, "{:?}", case.report);
        assert_eq!(case.stale_cgroups, Vec::<PathBuf>::new(), "cgroups left");
        assert!(case.orphans.is_empty(), "processes left: {:?}", case.orphans);
        assert_eq!(case.net, net);
    }
}

/// The supervisor SIGKILLed at `cgroup`, `clone`, `sync` and `network`: the sandbox
/// dies, nothing is left but empty cgroups, which the next start collects.
#[test]
fn the_supervisor_killed_at_each_stage() {
    require_root!();
    let _serial = common::serial();
    every_stage(Who::Supervisor);
}

/// The init dying at each of its stages: spawn fails with InitDied or Setup, and
/// nothing is left.
#[test]
fn the_init_dying_at_each_stage() {
    require_root!();
    let _serial = common::serial();
    every_stage(Who::Init);
}

/// The program's process dying at each of its stages before `execve`: a setup
/// error (at `seccomp`, past the setup: the outcome, exit code 99), and nothing is
/// left.
#[test]
fn the_program_dying_at_each_stage() {
    require_root!();
    let _serial = common::serial();
    every_stage(Who::Program);
}

/// The supervisor stopped (SIGSTOP) at each of its stages, and the program's
/// process at each of its stages before `execve`, then resumed (SIGCONT): the
/// spawn goes on as if nothing happened, the program runs, and nothing is left.
/// Runs `stop-supervisor:<stage>` and `stop-program:<stage>` for every stage (see
/// [`every_case`]), doing `on_stop` once the process stopped, then `check(stage,
/// net, case)`.
fn every_stop_case(on_stop: OnStop, check: impl Fn(&str, bool, &Case)) {
    for who in [Who::Supervisor, Who::Program] {
        let prefix = format!("stop-{}", format!("{who:?}").to_lowercase());
        every_case(who, &prefix, |stage, fault, net| {
            let case = run_case_with(Some(fault), net, Some(on_stop));
            println!("{} stopped {:?}", case.summary(), case.stopped);
            check(stage, net, &case);
        });
    }
}

#[test]
fn a_stopped_supervisor_or_program_resumed_finishes_the_spawn() {
    require_root!();
    let _serial = common::serial();
    every_stop_case(OnStop::Resume, |stage, net, case| {
        let what = &case.fault;
        // The network stage is reached only with a network.
        assert_eq!(case.stopped.is_some(), stage != "network" || net, "{what}: stopped {:?}", case.stopped);
        assert!(case.status.success(), "{what}: the helper {}", case.status);
        let expected = format!("outcome Exited({PROGRAM_CODE}) false false");
        assert_eq!(case.report.outcome.as_deref(), Some(expected.as_str()), "{what}: {:?}", case.report);
        assert!(case.report.done, "{what}");
        assert_eq!(case.stale_cgroups, Vec::<PathBuf>::new(), "{what}: cgroups left");
        assert!(case.orphans.is_empty(), "{what}: processes left: {:?}", case.orphans);
    });
}

/// The supervisor stopped at each of its stages, or the program's process at each
/// of its stages before `execve`, and the supervisor then killed (SIGKILL) while
/// it stays stopped: the sandbox ends by itself, stopped process included, and
/// what the supervisor made is collected by the next start, as when it is killed
/// at that stage ([`the_supervisor_killed_at_each_stage`]).
#[test]
fn a_supervisor_killed_while_it_or_the_program_is_stopped_leaves_nothing() {
    require_root!();
    let _serial = common::serial();
    // `run_case_with` checks that every process the helper left ends, and that the
    // host's mounts, interfaces and the helper's locks are as before.
    every_stop_case(OnStop::KillSupervisor, |stage, net, case| {
        let what = &case.fault;
        let r = &case.report;
        if case.stopped.is_none() {
            assert!(stage == "network" && !net, "{what}: nothing stopped");
            assert!(case.status.success() && r.done, "{what}: the helper {}", case.status);
            return;
        }
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(case.status.signal(), Some(libc::SIGKILL), "{what}: the helper {}", case.status);
        assert!(r.outcome.is_none() && !r.done, "{what}: {r:?}");
        if let Some(stopped) = case.stopped {
            assert_pid_gone(stopped);
        }
        let next = run_case(None, false);
        assert!(next.status.success(), "{what}: the next supervisor: {}", next.status);
        assert_eq!(cgroups_of(r.pid), Vec::<PathBuf>::new(), "{what}: the next start left the cgroups");
        assert_eq!(case.stale_net_leases.is_some(), net, "{what}: address leases left");
        case.collect_net_leases();
    });
}

/// `contain exec`'s case: a program run in a persistent sandbox by another
/// supervisor (a joiner), stopped at each of its stages before `execve`, and that
/// supervisor then killed: the joiner kills the stopped program and ends, and the
/// sandbox, which outlives supervisors, stays and stops cleanly.
#[test]
fn a_joined_program_stopped_then_orphaned_dies_and_the_sandbox_stays() {
    require_root!();
    let _serial = common::serial();
    become_subreaper();
    let name = format!("ctmfault-join-{}", std::process::id());
    let running = Sandbox::new().name(&name).persistent(true).start().expect("start a persistent sandbox");
    let init = running.pid();
    let mut failures = Vec::new();
    for &stage in stages(Who::Program) {
        let fault = format!("stop-program:{stage}");
        let (status, report, stopped) = run_helper_in(Some(&fault), false, Some(OnStop::KillSupervisor), Some(&name));
        use std::os::unix::process::ExitStatusExt;
        let Some(program) = stopped else {
            failures.push(format!("{fault}: nothing stopped ({status}, {report:?})"));
            continue;
        };
        if status.signal() != Some(libc::SIGKILL) {
            failures.push(format!("{fault}: the helper {status}"));
        }
        // The joiner and the program are this process's children now: reap them
        // as they end (the sandbox's init, also a child, stays).
        let ended = common::wait_until(DEADLINE, || {
            for pid in common::children_of_self() {
                if pid != init {
                    let _ = waitpid(Pid::from_raw(pid as i32), Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL));
                }
            }
            !common::pid_exists(program as i32)
        });
        if !ended {
            failures.push(format!("{fault}: the stopped program {program} is still there"));
            let _ = nix::sys::signal::kill(Pid::from_raw(program as i32), nix::sys::signal::Signal::SIGKILL);
        }
        if !common::pid_exists(init as i32) {
            failures.push(format!("{fault}: the sandbox's init {init} is gone"));
            break;
        }
        println!("{fault:<34} helper {status:<28} stopped {program} gone {ended}");
    }
    running.stop(Duration::from_secs(5)).expect("stop the sandbox");
    assert_pid_gone(init);
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// `containment::gc` removes the groups a killed supervisor left (without waiting
/// for a next start).
#[test]
fn gc_collects_the_groups_of_a_killed_supervisor() {
    require_root!();
    let _serial = common::serial();
    let case = run_case(Some("supervisor:cgroup"), false);
    println!("{}", case.summary());
    assert!(!case.stale_cgroups.is_empty(), "no cgroup of the killed supervisor");
    let removed = containment::gc(&[]).expect("gc");
    assert!(
        removed >= case.stale_cgroups.len(),
        "gc removed {removed} groups; the helper left {:?}",
        case.stale_cgroups
    );
    assert_eq!(cgroups_of(case.report.pid), Vec::<PathBuf>::new(), "gc left the killed supervisor's groups");
}

/// Without fault injection: a sandbox on a bridge network whose init fails to
/// mount (a directory bound onto a file) fails with that `Setup` error, every
/// time, never with the error of a supervisor step that failed only because the
/// init was gone (an `EPIPE` on the go-ahead once was, and raised SIGPIPE in a C
/// host).
#[test]
fn a_setup_failure_on_a_bridge_network_is_a_setup_error() {
    require_root!();
    let _serial = common::serial();
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
            let ino = std::fs::metadata("/proc/thread-self/ns/net").expect("stat the netns").ino();
            let addr: Ipv4Net = SANDBOX_ADDR.parse().expect("address");
            let net = Net::bridge(BRIDGE, addr).create_bridge(BRIDGE_ADDR.parse().expect("address"));
            let sb = Sandbox::new().net(net).bind("/usr", "/etc/passwd").timeout(DEADLINE);
            let mut failures = Vec::new();
            for i in 0..40 {
                match sb.command("/bin/true").stdin(Stdio::null()).spawn() {
                    Err(Error::Setup { stage: containment::Stage::Mount, path: Some(p), .. })
                        if p == Path::new("/etc/passwd") => {}
                    other => failures.push(format!("spawn {i}: {other:?}")),
                }
            }
            let _ = std::fs::remove_dir_all(net_leases(ino).0);
            assert!(failures.is_empty(), "{} of 40 spawns:\n{}", failures.len(), failures.join("\n"));
        });
    });
}

/// All processes of the sandbox whose init is `init` (its descendants, host pids).
fn descendants(init: u32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let mut todo = vec![init];
    while let Some(p) = todo.pop() {
        for c in common::children_of(p) {
            if out.insert(c) {
                todo.push(c);
            }
        }
    }
    out
}

/// The checklist's "the sandbox's init is SIGKILLed while setsid, double-forked
/// descendants run" (no fault injection: a SIGKILL from outside the library): they
/// all die, the outcome says SIGKILL, and the sandbox's cgroups are removed.
#[test]
fn the_init_killed_from_outside_takes_every_descendant_with_it() {
    require_root!();
    let _serial = common::serial();
    let mounts = HostMounts::snapshot();
    let sb = Sandbox::new().memory("64M".parse::<MemoryLimit>().expect("size")).pids(32).timeout(DEADLINE);
    // A daemon in a session of its own with a child, a double-forked orphan, and
    // the program itself.
    let script =
        "setsid sh -c 'sleep 1000 & exec sleep 1000' & (sleep 1000 &) & sleep 0.1; echo ready; exec sleep 1000";
    let mut child = sb
        .command("/bin/sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    assert_eq!(common::read_line_from(&mut child), "ready");
    let init = child.pid();
    let inside = descendants(init);
    assert!(inside.len() >= 4, "expected the program, a daemon with a child and an orphan: {inside:?}");
    assert!(!cgroups_of(std::process::id()).is_empty(), "the sandbox has cgroups");
    nix::sys::signal::kill(Pid::from_raw(init as i32), nix::sys::signal::Signal::SIGKILL).expect("kill the init");
    let outcome = child.wait().expect("wait");
    assert_eq!(outcome.status, containment::ExitStatus::Signaled(libc::SIGKILL));
    assert_pid_gone(init);
    for pid in &inside {
        assert_pid_gone(*pid);
    }
    drop(child);
    assert_eq!(cgroups_of(std::process::id()), Vec::<PathBuf>::new(), "cgroups left");
    mounts.assert_unchanged();
}

/// Runs the test `test` of this binary again, alone, with `marker` set (which
/// makes it act as a helper) and `CONTAINMENT_FAULT` as `fault` (or unset); waits
/// for it to succeed and returns its pid and standard output.
fn run_test_as_helper(test: &str, marker: &str, fault: Option<&str>) -> (u32, String) {
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("current_exe"));
    cmd.args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(marker, "1")
        .env_remove("CONTAINMENT_FAULT")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(f) = fault {
        cmd.env("CONTAINMENT_FAULT", f);
    }
    let helper = cmd.spawn().expect("run the helper");
    let pid = helper.id();
    let out = helper.wait_with_output().expect("the helper's output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    (pid, stdout)
}

/// Asserts that each of `lines` ends a line of a helper's `stdout` (the first
/// follows the test harness's own words on its line).
fn expect_lines(stdout: &str, lines: &[&str]) {
    for want in lines {
        assert!(stdout.lines().any(|l| l.ends_with(want)), "wanted {want:?} in: {stdout}");
    }
}

/// Set in the environment of [`fallback_helper`].
const FALLBACK_HELPER: &str = "CTMTEST_FAULT_FALLBACK_HELPER";

/// Runs with `CONTAINMENT_FAULT=einval:pivot-root`, in this binary re-executed as
/// the test [`the_chroot_fallback_where_pivot_root_fails`] with
/// [`FALLBACK_HELPER`] set: sandboxes through the `chroot` fallback; prints what it
/// saw, one `key=value` per line.
fn fallback_helper() {
    let sandbox = Sandbox::new();
    // The program's root is the sandbox's (no host /work or /root), and the classic
    // escape's first step, chroot, is refused (no CAP_SYS_CHROOT).
    let script = "test -e /work || test -e /root/.cargo && echo host-visible; mkdir -p /tmp/x; \
                  /usr/sbin/chroot /tmp/x /bin/true 2>/dev/null; echo chroot=$?; echo done";
    let out = sandbox.command("/bin/sh").args(["-c", script]).stdin(Stdio::null()).output().expect("spawn");
    println!("status={:?}", out.status);
    print!("{}", String::from_utf8_lossy(&out.stdout));
    match sandbox.capability_names(["sys_chroot"]).command("/bin/true").stdin(Stdio::null()).output() {
        Err(Error::Unsupported { feature, .. }) => println!("sys_chroot=refused:{feature}"),
        other => println!("sys_chroot=not refused: {other:?}"),
    }
}

/// `pivot_root` failing with `EINVAL` (an initramfs root; forced here by fault
/// injection): the sandbox runs in its own root through `chroot`, without a way
/// back (`chroot` refused), a program that would keep `CAP_SYS_CHROOT` (and could
/// then climb out to the old root) is refused with a clear error, and nothing is
/// left on the host.
#[test]
fn the_chroot_fallback_where_pivot_root_fails() {
    if std::env::var_os(FALLBACK_HELPER).is_some() {
        return fallback_helper();
    }
    require_root!();
    let _serial = common::serial();
    let mounts = HostMounts::snapshot();
    let (_, stdout) =
        run_test_as_helper("the_chroot_fallback_where_pivot_root_fails", FALLBACK_HELPER, Some("einval:pivot-root"));
    expect_lines(&stdout, &["status=Exited(0)", "chroot=125", "done", "sys_chroot=refused:keeping CAP_SYS_CHROOT"]);
    assert!(!stdout.contains("host-visible"), "{stdout}");
    mounts.assert_unchanged();
}

/// Set in the environment of [`copy_helper`].
const COPY_HELPER: &str = "CTMTEST_FAULT_COPY_HELPER";

/// Runs with `CONTAINMENT_FAULT=einval:clone`, in this binary re-executed as the
/// test [`the_init_as_a_copy_where_no_memfd_may_execute`] with [`COPY_HELPER`]
/// set: the init is a copy of this process, as where the init program's memfd may
/// not be executed and on other architectures. Prints what it saw, one
/// `key=value` per line.
fn copy_helper() {
    let limits = Sandbox::new().memory("32M".parse().unwrap()).pids(16);
    for (key, sandbox) in [("default", Sandbox::new()), ("limits", limits)] {
        let mut child = sandbox
            .command("/bin/sh")
            .args(["-c", "echo $$; read line; exit 3"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut line).unwrap();
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.pid())).unwrap_or_default();
        let name = status.lines().next().unwrap_or_default().trim_start_matches("Name:").trim().to_owned();
        drop(child.stdin.take());
        let outcome = child.wait().expect("wait");
        println!("{key}.pid={}", line.trim());
        println!("{key}.init_is_init_program={}", name == "init");
        println!("{key}.status={:?}", outcome.status);
    }
    match Sandbox::new().command("/no/such/program").stdin(Stdio::null()).output() {
        Err(Error::ProgramNotFound { program }) => println!("missing={}", program.display()),
        other => println!("missing=unexpected {other:?}"),
    }
    let name = common::unique_name("copy");
    let running = Sandbox::new().name(&name).start().expect("start a named sandbox");
    let out = running.command("/bin/echo").arg("joined").stdin(Stdio::null()).output().expect("a program in it");
    println!("joined={}", String::from_utf8_lossy(&out.stdout).trim());
    running.stop(Duration::from_secs(5)).expect("stop");
    println!("name={name}");
    println!("done=1");
}

/// Where the init program cannot be executed (forced here by fault injection), the
/// init is a copy of the supervisor, as on architectures other than x86-64: the
/// same sandboxes work (the program PID 2 in its namespace, limits, a missing
/// program's clear error, a named sandbox and a program joining it), and nothing is
/// left on the host.
#[test]
fn the_init_as_a_copy_where_no_memfd_may_execute() {
    if std::env::var_os(COPY_HELPER).is_some() {
        return copy_helper();
    }
    require_root!();
    let _serial = common::serial();
    let mounts = HostMounts::snapshot();
    let (helper_pid, stdout) =
        run_test_as_helper("the_init_as_a_copy_where_no_memfd_may_execute", COPY_HELPER, Some("einval:clone"));
    expect_lines(
        &stdout,
        &[
            "default.pid=2",
            "default.init_is_init_program=false",
            "default.status=Exited(3)",
            "limits.pid=2",
            "limits.init_is_init_program=false",
            "limits.status=Exited(3)",
            "missing=/no/such/program",
            "joined=joined",
            "done=1",
        ],
    );
    mounts.assert_unchanged();
    assert_eq!(cgroups_of(helper_pid), Vec::<PathBuf>::new(), "cgroups left");
    let name = stdout.lines().find_map(|l| l.strip_prefix("name=")).expect("the named sandbox's name");
    let state = Path::new("/run/containment").join(name);
    assert!(!state.exists(), "{} left", state.display());
}

/// Set in the environment of the helper of
/// [`the_run_directory_stays_while_in_use_and_goes_at_exit`].
const RUN_DIR_HELPER: &str = "CTMTEST_FAULT_RUN_DIR_HELPER";

/// `/run/containment/ids`, where every default sandbox takes its id range's lease,
/// stays between one sandbox and the next (making it again each time cost 0.14 ms
/// on this host's ext4 `/run`), and goes with the process that used it when that
/// exits, empty.
#[test]
fn the_run_directory_stays_while_in_use_and_goes_at_exit() {
    if std::env::var_os(RUN_DIR_HELPER).is_some() {
        for _ in 0..2 {
            let out = Sandbox::new().command("/bin/true").stdin(Stdio::null()).output().expect("spawn");
            assert_eq!(out.status, containment::ExitStatus::Exited(0));
            println!("kept={}", Path::new(ID_LEASES).is_dir());
        }
        return;
    }
    require_root!();
    let _serial = common::serial();
    let (_, stdout) = run_test_as_helper("the_run_directory_stays_while_in_use_and_goes_at_exit", RUN_DIR_HELPER, None);
    assert_eq!(stdout.matches("kept=true\n").count(), 2, "{stdout}");
    // Gone, unless another process holds a lease in it right now.
    let left = std::fs::read_dir(ID_LEASES).map(|d| d.count());
    assert!(!matches!(left, Ok(0)), "{ID_LEASES} was left, empty");
}

/// Set in the environment of the helper of
/// [`where_the_network_helper_fails_the_init_makes_the_namespace`].
const NET_HELPER_FAILS: &str = "CTMTEST_FAULT_NET_HELPER_FAILS";

/// The helper that makes the sandbox's network namespace beside the root's setup
/// (`child::netns`) failing (forced by `einval:network`): the init makes the
/// namespace itself, and the sandbox is as it would be (its own namespace with
/// `lo` up, the program PID 2).
#[test]
fn where_the_network_helper_fails_the_init_makes_the_namespace() {
    if std::env::var_os(NET_HELPER_FAILS).is_some() {
        let script = "echo pid=$$; echo net=$(readlink /proc/self/ns/net); ip -o link show lo";
        let out = Sandbox::new().command("/bin/sh").args(["-c", script]).stdin(Stdio::null()).output().expect("spawn");
        println!("status={:?}", out.status);
        print!("{}", String::from_utf8_lossy(&out.stdout));
        let host = std::fs::read_link("/proc/self/ns/net").expect("this process's network namespace");
        println!("host={}", host.display());
        return;
    }
    require_root!();
    let _serial = common::serial();
    let (_, stdout) = run_test_as_helper(
        "where_the_network_helper_fails_the_init_makes_the_namespace",
        NET_HELPER_FAILS,
        Some("einval:network"),
    );
    expect_lines(&stdout, &["status=Exited(0)", "pid=2"]);
    let value = |key: &str| stdout.lines().find_map(|l| l.split_once(&format!("{key}=")).map(|(_, v)| v.to_owned()));
    let (inside, host) = (value("net").expect("the sandbox's namespace"), value("host").expect("the host's"));
    assert!(inside.starts_with("net:[") && inside != host, "{stdout}");
    assert!(stdout.lines().any(|l| l.contains(": lo: <LOOPBACK,UP,LOWER_UP>")), "lo is not up: {stdout}");
}

/// Set in the environment of the helper of the next test.
const GROUPS_FAIL: &str = "CTMTEST_FAULT_GROUPS_FAIL";

/// The supervisor's step after it made the v1 groups, after the clone, failing
/// (forced by `einval:cgroup`): spawn returns that error, the init (started
/// already, building the root meanwhile) is killed and reaped, and the groups are
/// removed; the next spawn works.
#[test]
fn where_a_step_after_the_groups_are_made_fails_nothing_is_left() {
    if std::env::var_os(GROUPS_FAIL).is_some() {
        let sandbox = Sandbox::new().memory("64M".parse::<MemoryLimit>().expect("size")).pids(32);
        match sandbox.command("/bin/true").stdin(Stdio::null()).status() {
            Err(e) => println!("error={e:?}"),
            Ok(o) => println!("status={:?}", o.status),
        }
        // The init was this thread's child: reaped if none is left.
        match waitpid(None, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
            Err(nix::errno::Errno::ECHILD) => println!("children=none"),
            other => println!("children={other:?}"),
        }
        return;
    }
    require_root!();
    let _serial = common::serial();
    let test = "where_a_step_after_the_groups_are_made_fails_nothing_is_left";
    if v2_host() {
        // v2 groups are made before the clone; the step is not reached.
        let (_, stdout) = run_test_as_helper(test, GROUPS_FAIL, Some("einval:cgroup"));
        expect_lines(&stdout, &["status=Exited(0)", "children=none"]);
        return;
    }
    let (pid, stdout) = run_test_as_helper(test, GROUPS_FAIL, Some("einval:cgroup"));
    assert!(stdout.contains("error=Os") && stdout.contains("EINVAL"), "{stdout}");
    expect_lines(&stdout, &["children=none"]);
    assert_eq!(cgroups_of(pid), Vec::<PathBuf>::new(), "the failed sandbox's groups are left");
    let (_, stdout) = run_test_as_helper(test, GROUPS_FAIL, None);
    expect_lines(&stdout, &["status=Exited(0)", "children=none"]);
}
