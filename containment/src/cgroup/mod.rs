//! cgroups, v1 and v2: one group per sandbox, checked before the sandbox starts
//! ([`Blueprint::check`]), made by the supervisor ([`Blueprint::make`]), read and
//! removed after it ends.
//!
//! Each controller is a module with a function that applies its settings to a
//! directory; the version is an enum dispatched once per controller. On v2 the
//! group is made before the clone and the init is placed in it by `clone3(CLONE_INTO_CGROUP)`,
//! and so is the program in its own. On v1 the group is made after the clone, while
//! the init builds the root; then the init and the program each write `0` to their
//! groups' `tasks` files, through descriptors the supervisor opened and sent to
//! the init with its go-ahead (a joiner's are opened before its clone, see
//! [`Entry`]). A group with hierarchies of both versions is made before the clone.

mod blueprint;
mod cpu;
mod cpuset;
pub(crate) mod detect;
mod memory;
mod pids;

use std::collections::HashSet;
use std::io::ErrorKind;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::error::{Error, Result, ValueKind};
use crate::resource::{CpuSet, MemoryLimit};

pub(crate) use blueprint::Blueprint;
pub(crate) use memory::Stats as MemoryStats;

/// The OOM kills of a memory group seen since a start point: what a program run in
/// a running sandbox (which shares the sandbox's memory group) learns of the OOM
/// killer.
#[derive(Debug, Clone)]
pub(crate) struct OomWatch {
    dir: PathBuf,
    version: Version,
    baseline: u64,
}

impl OomWatch {
    /// Starts watching the memory group whose `cgroup.procs` is `procs`.
    pub fn start(procs: &Path) -> Option<OomWatch> {
        let dir = procs.parent()?.to_path_buf();
        let version = if dir.join("memory.events").exists() { Version::V2 } else { Version::V1 };
        let baseline = memory::stats(&dir, version).oom_kills;
        Some(OomWatch { dir, version, baseline })
    }

    /// Whether the OOM killer killed a process of the group since the start.
    pub fn fired(&self) -> bool {
        memory::stats(&self.dir, self.version).oom_kills > self.baseline
    }
}

/// The default parent group, at the top of each hierarchy.
pub const DEFAULT_PARENT: &str = "containment";

/// The smallest memory limit accepted: below it not even the sandbox's init and a
/// static program fit.
pub const MIN_MEMORY: u64 = 1 << 20;

/// cgroup v1 or v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Version {
    /// A v1 hierarchy (one per controller, or a few joint ones).
    V1,
    /// The unified v2 hierarchy.
    V2,
}

/// A controller containment uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Controller {
    Memory,
    Cpuset,
    Cpu,
    Pids,
    /// CPU time accounting, a controller of its own on v1 only (on v2 every group
    /// has `cpu.stat`).
    Cpuacct,
}

impl Controller {
    pub const ALL: [Controller; 5] =
        [Controller::Memory, Controller::Cpuset, Controller::Cpu, Controller::Pids, Controller::Cpuacct];

    /// Whether the program's processes are in this controller's group and the
    /// init is not (see [`Placement`]).
    pub fn program_only(self) -> bool {
        matches!(self, Controller::Memory | Controller::Cpuset)
    }

    pub fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Cpuset => "cpuset",
            Controller::Cpu => "cpu",
            Controller::Pids => "pids",
            Controller::Cpuacct => "cpuacct",
        }
    }
}

/// The limits of a sandbox that need a cgroup.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Limits {
    pub memory: Option<MemoryLimit>,
    pub cpus: Option<CpuSet>,
    pub cpu_quota: Option<f64>,
    pub cpu_weight: Option<u32>,
    pub pids: Option<u64>,
}

impl Limits {
    /// The controllers these limits need.
    pub fn controllers(&self) -> Vec<Controller> {
        let mut v = Vec::new();
        if self.memory.is_some() {
            v.push(Controller::Memory);
        }
        if self.cpus.is_some() {
            v.push(Controller::Cpuset);
        }
        if self.cpu_quota.is_some() || self.cpu_weight.is_some() {
            v.push(Controller::Cpu);
        }
        if self.pids.is_some() {
            v.push(Controller::Pids);
        }
        if !v.is_empty() {
            // Exact CPU time of everything in the group, also of processes killed
            // when the sandbox ends (which no one reaps with getrusage).
            v.push(Controller::Cpuacct);
        }
        v
    }

    /// Checks the values that need no host: ranges of numbers.
    pub fn validate(&self) -> Result<()> {
        if let Some(m) = self.memory {
            if m.bytes() < MIN_MEMORY {
                return Err(Error::invalid(
                    ValueKind::Size,
                    m.to_string(),
                    "is below the smallest memory limit, 1M",
                    "a memory limit of at least 1M",
                ));
            }
        }
        if let Some(q) = self.cpu_quota {
            if !(q.is_finite() && q > 0.0 && q <= 4096.0) {
                return Err(Error::invalid(
                    ValueKind::Number,
                    q.to_string(),
                    "a CPU quota must be a number of CPUs above 0 and at most 4096",
                    "a number of CPUs above 0 and at most 4096, such as 0.5 or 2",
                ));
            }
        }
        if let Some(w) = self.cpu_weight {
            if !(1..=10_000).contains(&w) {
                return Err(Error::invalid(
                    ValueKind::Number,
                    w.to_string(),
                    "out of range",
                    "a CPU weight from 1 to 10000",
                ));
            }
        }
        if self.pids == Some(0) {
            return Err(Error::invalid(
                ValueKind::Number,
                "0",
                "must be at least 1",
                "a number of processes of at least 1",
            ));
        }
        Ok(())
    }
}

/// Where groups are created: a path relative to the root of each hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parent {
    rel: PathBuf,
    /// The default parent is created when missing; a given one must exist.
    create: bool,
}

impl Parent {
    pub fn default_parent() -> Parent {
        Parent { rel: PathBuf::from(DEFAULT_PARENT), create: true }
    }

    /// A parent chosen by the user: `path` relative to each hierarchy's root (a
    /// leading `/` is allowed); no `..`.
    pub fn given(path: &Path) -> Result<Parent> {
        // The path goes into a running sandbox's state file, as text, one per line.
        let bytes = path.as_os_str().as_bytes();
        let reason = match std::str::from_utf8(bytes) {
            Err(_) => Some("a cgroup parent must be UTF-8 text"),
            Ok(text) if text.chars().any(char::is_control) => {
                Some("a cgroup parent must not contain a newline or another control character")
            }
            Ok(_) => None,
        };
        if let Some(reason) = reason {
            return Err(Error::invalid(
                ValueKind::Path,
                bytes,
                reason,
                "a path relative to the root of the cgroup hierarchy, such as system.slice/jobs",
            ));
        }
        let mut rel = PathBuf::new();
        for c in path.components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(n) => rel.push(n),
                _ => {
                    return Err(Error::invalid(
                        ValueKind::Path,
                        path.as_os_str().as_bytes(),
                        "a cgroup parent must not contain '..'",
                        "a path relative to the root of the cgroup hierarchy, such as system.slice/jobs",
                    ))
                }
            }
        }
        Ok(Parent { rel, create: false })
    }
}

/// The group of one sandbox, in each hierarchy its limits need. Removed (after
/// killing whatever is still in it) when dropped.
#[derive(Debug)]
pub(crate) struct Group {
    /// (version, directory, controllers in it), in creation order (removed in
    /// reverse): one entry per hierarchy, plus on v2 the `init` and `program`
    /// children when the memory or the CPUs are limited.
    dirs: Vec<(Version, PathBuf, Vec<Controller>)>,
    /// Where the init and the program go.
    placement: Placement,
    /// The v2 directory the init starts in, open, for `CLONE_INTO_CGROUP`.
    v2_fd: Option<OwnedFd>,
    /// The default parents this group was made in: removed at this process's exit
    /// when they are empty (see `crate::exit_prune`).
    prune: Vec<PathBuf>,
}

/// Where a sandbox's processes go in its groups.
///
/// The memory group holds the program and its descendants but not the init: the
/// init is a copy of the supervisor (`clone3` without `execve`), so it maps as
/// much memory as the supervisor, and the OOM killer, which kills the biggest
/// process of a group over its limit, would pick it and end the whole sandbox
/// instead of killing the process that ran out. The program enters the memory
/// group itself before `execve`.
///
/// The cpuset group holds the program and not the init either: the init
/// executes its own small program while the program's process prepares its
/// `execve`, and confined to the program's CPUs (one, often) the two would wait
/// for each other. The init only sleeps afterwards; what the CPU limit is for
/// runs inside.
///
/// On v2, where one group holds every controller, the sandbox's group gets two
/// children when the memory or the CPUs are limited, `init` and `program`, and
/// those limits are on `program`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Placement {
    /// `tasks` of each v1 group the init (or a joiner) enters itself.
    pub enter: Vec<PathBuf>,
    /// The v2 group the init (or a joiner) starts in.
    pub start_in: Option<PathBuf>,
    /// The file of the group the program enters before `execve` (`tasks` on v1,
    /// `cgroup.procs` on v2).
    pub program: Option<PathBuf>,
    /// `tasks` of the other v1 groups the program enters itself (not the init):
    /// the cpuset group.
    pub program_enter: Vec<PathBuf>,
}

/// The files of [`Placement`], opened by the supervisor before the clone, so that
/// the sandbox's processes enter their groups themselves (on v1 they write `0`)
/// whatever their credentials by then (a user namespace's root may not open them).
///
/// On v1 these are the groups' `tasks` files, not `cgroup.procs`: a process that
/// moves only itself (`0` to `tasks`, which moves the calling thread, here the
/// only one) is migrated without the kernel's global `cgroup_threadgroup_rwsem`,
/// whose write side waits for an RCU grace period when it was idle. Writing a pid
/// or `0` to `cgroup.procs` takes it, and took 17 ms on average (up to 31 ms) after
/// 20 ms of idleness on this project's v1 host (`benches/RESULTS.md`, run E);
/// writing `0` to `tasks` took 0.03 ms (at most 0.09 ms).
#[derive(Debug, Default)]
pub(crate) struct Entry {
    /// One per v1 group the init (or a joiner) enters, with its path.
    pub enter: Vec<(OwnedFd, PathBuf)>,
    /// The program's group, with its path: the memory group's `tasks` on v1; on v2
    /// the `program` group's directory, which the init starts the program in
    /// (`clone3` with `CLONE_INTO_CGROUP`), so that it is not moved at all.
    pub program: Option<(OwnedFd, PathBuf)>,
    /// Whether `program` is a v2 directory.
    pub program_dir: bool,
    /// The v1 `tasks` of [`Placement::program_enter`], with their paths.
    pub program_enter: Vec<(OwnedFd, PathBuf)>,
}

impl Placement {
    /// Opens the v1 files the sandbox's processes write `0` to (for writing), and
    /// the v2 directory the program is started in.
    ///
    /// # Errors
    /// [`Error::Os`] naming the file that could not be opened.
    pub fn open(&self) -> Result<Entry> {
        let open = |path: &PathBuf| -> Result<(OwnedFd, PathBuf)> {
            let flags = nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC;
            let fd = nix::fcntl::open(path, flags, nix::sys::stat::Mode::empty())
                .map_err(|e| Error::os_path("open", path, e))?;
            Ok((fd, path.clone()))
        };
        let enter = self.enter.iter().map(open).collect::<Result<Vec<_>>>()?;
        let program_enter = self.program_enter.iter().map(open).collect::<Result<Vec<_>>>()?;
        let program_dir = self.start_in.is_some();
        let program = match (&self.program, program_dir) {
            (Some(procs), true) => {
                let dir = procs.parent().unwrap_or(procs);
                let flags = nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
                let fd = nix::fcntl::open(dir, flags, nix::sys::stat::Mode::empty())
                    .map_err(|e| Error::os_path("open", dir, e))?;
                Some((fd, procs.clone()))
            }
            (Some(procs), false) => Some(open(procs)?),
            (None, _) => None,
        };
        Ok(Entry { enter, program, program_dir, program_enter })
    }
}

impl Group {
    /// Where the sandbox's processes go.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// Lets `uid`/`gid` (the sandbox's root seen from the host) start the program
    /// in its v2 group from inside the user namespace: `CLONE_INTO_CGROUP` checks
    /// the caller's write access to the group's `cgroup.procs` and to that of the
    /// common parent of where the init is and where the program goes. (v1 needs
    /// nothing: the descriptors were opened by the supervisor.)
    pub fn delegate_program(&self, uid: u32, gid: u32) -> Result<()> {
        let (Some(procs), Some(_)) = (&self.placement.program, &self.placement.start_in) else { return Ok(()) };
        let mut files = vec![procs.clone()];
        if let Some(common) = procs.parent().and_then(Path::parent) {
            files.push(common.join("cgroup.procs"));
        }
        for f in files {
            std::os::unix::fs::chown(&f, Some(uid), Some(gid)).map_err(|e| io_error("chown", &f, e))?;
        }
        Ok(())
    }

    /// Checks that `parent` exists in some hierarchy of this host.
    ///
    /// # Errors
    /// [`Error::CgroupParent`] naming the first missing directory.
    pub fn check_parent_exists(parent: &Parent) -> Result<()> {
        let h = detect::hierarchies();
        let dirs: Vec<PathBuf> =
            Controller::ALL.iter().filter_map(|c| h.get(*c)).map(|l| l.mount.join(&parent.rel)).collect();
        match dirs.iter().any(|d| d.is_dir()) {
            true => Ok(()),
            false => Err(Error::CgroupParent {
                path: dirs.into_iter().next().unwrap_or_else(|| parent.rel.clone()),
                errno: Errno::ENOENT,
            }),
        }
    }

    /// The group's directories, with their versions.
    pub fn dirs(&self) -> Vec<(Version, PathBuf)> {
        self.dirs.iter().map(|(v, d, _)| (*v, d.clone())).collect()
    }

    /// A group made earlier (by another process): removed when dropped.
    pub fn adopt(dirs: Vec<(Version, PathBuf)>) -> Group {
        Group {
            dirs: dirs.into_iter().map(|(v, d)| (v, d, Vec::new())).collect(),
            placement: Placement::default(),
            v2_fd: None,
            prune: Vec::new(),
        }
    }

    /// Lets the group outlive this handle (a persistent sandbox's).
    pub fn persist(mut self) {
        self.dirs.clear();
        self.prune.clear();
    }

    /// The v2 group's directory descriptor, for `CLONE_INTO_CGROUP`.
    pub fn v2_fd(&self) -> Option<&OwnedFd> {
        self.v2_fd.as_ref()
    }

    /// CPU time (user, system) of everything that ran in the group.
    pub fn cpu_times(&self) -> Option<(Duration, Duration)> {
        self.dirs.iter().find_map(|(v, d, cs)| match v {
            Version::V1 if cs.contains(&Controller::Cpuacct) => {
                let ns = |f| read_u64(d, f).map(Duration::from_nanos);
                Some((ns("cpuacct.usage_user")?, ns("cpuacct.usage_sys")?))
            }
            Version::V2 => {
                let us = |k| read_key(d, "cpu.stat", k).map(Duration::from_micros);
                Some((us("user_usec")?, us("system_usec")?))
            }
            Version::V1 => None,
        })
    }

    /// What the memory controller recorded, if the group has one.
    pub fn memory_stats(&self) -> Option<MemoryStats> {
        self.dirs.iter().find(|(_, _, cs)| cs.contains(&Controller::Memory)).map(|(v, d, _)| memory::stats(d, *v))
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.v2_fd = None;
        // Children before their parent.
        for (version, dir, _) in self.dirs.drain(..).rev() {
            remove(&dir, version);
        }
        for parent in self.prune.drain(..) {
            crate::exit_prune::remove_at_exit(parent);
        }
    }
}

fn mkdir(dir: &Path) -> Result<()> {
    std::fs::create_dir(dir).map_err(|e| io_error("mkdir", dir, e))
}

fn apply(dir: &Path, version: Version, c: Controller, limits: &Limits) -> Result<()> {
    match c {
        Controller::Memory => limits.memory.map_or(Ok(()), |m| memory::apply(dir, version, m.bytes())),
        Controller::Cpuset => limits.cpus.as_ref().map_or(Ok(()), |cpus| cpuset::apply(dir, version, cpus)),
        Controller::Cpu => cpu::apply(dir, version, limits.cpu_quota, limits.cpu_weight),
        // The sandbox's init is one of the group's processes; the program gets `n`.
        Controller::Pids => limits.pids.map_or(Ok(()), |n| pids::apply(dir, version, n.saturating_add(1))),
        Controller::Cpuacct => Ok(()),
    }
}

/// Checks that the parent exists (or will be created) and is writable.
fn check_parent(dir: &Path, parent: &Parent, _version: Version) -> Result<()> {
    let target = if parent.create && !dir.exists() { dir.parent().unwrap_or(dir) } else { dir };
    match nix::unistd::access(target, nix::unistd::AccessFlags::W_OK) {
        Ok(()) => Ok(()),
        Err(errno) => Err(Error::CgroupParent { path: target.to_path_buf(), errno }),
    }
}

/// Creates the default parent when missing and readies it for groups below: on v1
/// cpuset, fill its CPUs and memory nodes; on v2, enable the controllers for its
/// children.
fn prepare_parent(dir: &Path, parent: &Parent, version: Version, controllers: &[Controller]) -> Result<()> {
    if parent.create {
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("mkdir", dir, e)),
        }
    }
    match version {
        Version::V1 if controllers.contains(&Controller::Cpuset) => cpuset::inherit_v1(dir)?,
        Version::V1 => {}
        Version::V2 => {
            let enabled = read_string(dir, "cgroup.subtree_control").unwrap_or_default();
            let missing: Vec<String> = controllers
                .iter()
                .filter(|c| !enabled.split_whitespace().any(|e| e == c.name()))
                .map(|c| format!("+{}", c.name()))
                .collect();
            if !missing.is_empty() {
                write(dir, "cgroup.subtree_control", &missing.join(" ")).map_err(|_| Error::Unsupported {
                    feature: "cgroup limits",
                    reason: format!(
                        "cannot enable {} in {}: the controllers must be enabled in the parent's parent \
                         (cgroup.subtree_control) first",
                        missing.join(" "),
                        dir.join("cgroup.subtree_control").display()
                    ),
                })?;
            }
        }
    }
    Ok(())
}

/// Kills whatever is still in the group and removes it, retrying while the kernel
/// still counts exiting processes in it.
fn remove(dir: &Path, version: Version) {
    // Usually empty by now (a group's known children are removed before it).
    match std::fs::remove_dir(dir) {
        Ok(()) => return,
        Err(e) if e.kind() == ErrorKind::NotFound => return,
        Err(_) => {}
    }
    // Child groups first (a v2 sandbox group holds `init` and `program`).
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove(&e.path(), version);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut pause = Duration::from_micros(100);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == ErrorKind::NotFound => return,
            Err(_) if Instant::now() < deadline => {}
            Err(_) => return,
        }
        kill_all(dir, version);
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Kills every process in the group: `cgroup.kill` on v2, else each pid listed.
fn kill_all(dir: &Path, version: Version) {
    if version == Version::V2 && write(dir, "cgroup.kill", "1").is_ok() {
        return;
    }
    for pid in read_string(dir, "cgroup.procs").unwrap_or_default().split_whitespace() {
        if let Ok(pid) = pid.parse::<i32>() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// `<pid>.<start time>.<sequence>`: the supervisor's pid and start time (so a
/// reused pid is told apart) and a counter.
fn group_name(pid: u32, start: u64, seq: u64) -> String {
    format!("{pid}.{start}.{seq}")
}

/// The supervisor that made a group, from its name.
pub(crate) fn parse_group_name(name: &str) -> Option<(u32, u64)> {
    let mut parts = name.split('.');
    let pid = parts.next()?.parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u64>().ok()?;
    parts.next().is_none().then_some((pid, start))
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`), in clock ticks.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// This process's start time, read once per process (a `fork`ed copy reads its
/// own: the cache is keyed by pid).
fn own_start_time() -> u64 {
    static START: Mutex<(u32, u64)> = Mutex::new((0, 0));
    let pid = std::process::id();
    let mut cached = START.lock().unwrap_or_else(|e| e.into_inner());
    if cached.0 != pid {
        *cached = (pid, start_time(pid).unwrap_or(0));
    }
    cached.1
}

/// Removes the groups under `parent_dir` whose supervisor is gone (killed before it
/// could remove them); returns how many.
fn collect_stale(parent_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent_dir) else { return 0 };
    let version = if parent_dir.join("cgroup.controllers").exists() { Version::V2 } else { Version::V1 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((pid, start)) = name.to_str().and_then(parse_group_name) else { continue };
        if start_time(pid) == Some(start) {
            continue; // its supervisor is alive
        }
        remove(&entry.path(), version);
        if !entry.path().exists() {
            removed += 1;
        }
    }
    removed
}

/// Collects stale groups under `parent_dir` the first time this process uses it,
/// if `look` (else only notes the first use).
fn collect_stale_once(parent_dir: &Path, look: bool) {
    static DONE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let first = DONE.lock().map(|mut d| d.get_or_insert_with(HashSet::new).insert(parent_dir.to_path_buf()));
    if first.unwrap_or(false) && look {
        collect_stale(parent_dir);
    }
}

/// Removes the cgroups left by supervisors that died without cleaning up (killed
/// with SIGKILL, for instance), under the default parent of every hierarchy and
/// under `parents` (paths relative to each hierarchy's root), then the default
/// parents themselves when they are left empty (the given ones stay). Returns how
/// many groups were removed. Spawning does this once per parent and process on its
/// own. (The public [`crate::gc`] also collects free leases.)
///
/// # Errors
/// [`Error::InvalidValue`] for a parent path with `..`.
pub(crate) fn gc(parents: &[&Path]) -> Result<usize> {
    let mut rels = vec![PathBuf::from(DEFAULT_PARENT)];
    for p in parents {
        rels.push(Parent::given(p)?.rel);
    }
    let h = detect::hierarchies();
    let mut mounts: Vec<&PathBuf> = Controller::ALL.iter().filter_map(|c| h.get(*c)).map(|l| &l.mount).collect();
    mounts.dedup();
    let removed = mounts.iter().flat_map(|m| rels.iter().map(move |r| m.join(r))).map(|d| collect_stale(&d)).sum();
    // The default parents, when that left them empty (a parent in use stays).
    for m in mounts {
        let _ = std::fs::remove_dir(m.join(DEFAULT_PARENT));
    }
    Ok(removed)
}

/// Writes `value` to `dir/file`.
/// The file must exist: cgroup files are never created.
fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    write_existing(&path, value).map_err(|e| io_error("write", &path, e))
}

/// Like [`write`], but a missing file is not an error.
fn write_optional(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    match write_existing(&path, value) {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        r => r.map_err(|e| io_error("write", &path, e)),
    }
}

fn write_existing(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new().write(true).truncate(true).open(path)?.write_all(value.as_bytes())
}

fn read_string(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

fn read_u64(dir: &Path, file: &str) -> Option<u64> {
    read_string(dir, file)?.trim().parse().ok()
}

/// The value of `key` in a flat-keyed file (`key value` per line).
fn read_key(dir: &Path, file: &str, key: &str) -> Option<u64> {
    read_string(dir, file)?.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

fn io_error(op: &'static str, path: &Path, e: std::io::Error) -> Error {
    Error::os_path(op, path, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A temporary directory standing in for a cgroup directory.
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub fn with_files(files: &[&str]) -> TempDir {
            static N: AtomicU64 = AtomicU64::new(0);
            let p = std::env::temp_dir().join(format!(
                "ctm-cgtest-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            for f in files {
                std::fs::write(p.join(f), "").unwrap();
            }
            TempDir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
        pub fn read(&self, f: &str) -> String {
            std::fs::read_to_string(self.0.join(f)).unwrap()
        }
        pub fn put(&self, f: &str, content: &str) {
            std::fs::write(self.0.join(f), content).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn group_names_round_trip_and_strangers_are_ignored() {
        assert_eq!(parse_group_name(&group_name(42, 1234, 7)), Some((42, 1234)));
        for other in ["containment", "42", "42.1", "42.1.x", "a.b.c", "1.2.3.4", "process_api"] {
            assert_eq!(parse_group_name(other), None, "{other}");
        }
    }

    #[test]
    fn own_start_time_is_read() {
        assert!(own_start_time() > 0);
        assert_eq!(start_time(std::process::id()), Some(own_start_time()));
    }

    #[test]
    fn limits_are_validated() {
        let ok = Limits { memory: Some(MemoryLimit::from_bytes(MIN_MEMORY).unwrap()), ..Limits::default() };
        assert!(ok.validate().is_ok());
        let bad = [
            Limits { memory: Some(MemoryLimit::from_bytes(4096).unwrap()), ..Limits::default() },
            Limits { cpu_quota: Some(0.0), ..Limits::default() },
            Limits { cpu_quota: Some(f64::NAN), ..Limits::default() },
            Limits { cpu_quota: Some(-1.0), ..Limits::default() },
            Limits { cpu_weight: Some(0), ..Limits::default() },
            Limits { cpu_weight: Some(10_001), ..Limits::default() },
            Limits { pids: Some(0), ..Limits::default() },
        ];
        for l in bad {
            assert!(matches!(l.validate(), Err(Error::InvalidValue { .. })), "{l:?}");
        }
    }

    #[test]
    fn given_parents_are_relative_and_without_dotdot() {
        assert_eq!(Parent::given(Path::new("/a/b")).unwrap().rel, PathBuf::from("a/b"));
        assert!(Parent::given(Path::new("a/../../b")).is_err());
    }

    #[test]
    fn a_parent_with_a_newline_is_refused_by_name() {
        // It would add lines to a running sandbox's state file.
        for path in ["jobs\npid=1", "jobs\r", "a/\tb", "a/\u{85}b"] {
            match Parent::given(Path::new(path)) {
                Err(Error::InvalidValue { kind: ValueKind::Path, value, reason, .. }) => {
                    assert_eq!(value, path);
                    assert!(reason.contains("newline"), "{reason}");
                }
                other => panic!("{path:?}: {other:?}"),
            }
        }
        // Not text: it would not read back from the state file as it was.
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"jobs\xff"));
        match Parent::given(path) {
            Err(Error::InvalidValue { reason, .. }) => assert!(reason.contains("UTF-8"), "{reason}"),
            other => panic!("{path:?}: {other:?}"),
        }
        assert_eq!(Parent::given(Path::new("system.slice/jobs é")).unwrap().rel, PathBuf::from("system.slice/jobs é"));
    }

    #[test]
    fn stale_groups_of_dead_supervisors_are_collected_and_live_ones_kept() {
        let d = TempDir::with_files(&[]);
        let live = d.path().join(group_name(std::process::id(), own_start_time(), 1));
        let dead = d.path().join(group_name(std::process::id(), own_start_time() + 1, 1));
        let stranger = d.path().join("not-ours");
        for p in [&live, &dead, &stranger] {
            std::fs::create_dir(p).unwrap();
        }
        assert_eq!(collect_stale(d.path()), 1);
        assert!(live.exists() && stranger.exists() && !dead.exists());
    }
}
