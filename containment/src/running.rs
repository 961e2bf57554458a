//! Long-lived sandboxes: start one, run programs in it over time, stop it.
//!
//! [`Sandbox::start`] brings a sandbox up (its init, root, limits and network) with
//! no program, or [`Command::start`](crate::Command::start) with a main program;
//! [`Running::command`] runs more programs in the same namespaces, root, cgroups
//! and security profile; [`Running::stop`] ends everything. A named sandbox keeps
//! its state under `/run/containment/<name>`, so that another process can find
//! it, run programs in it and stop it; a persistent one outlives the process that
//! started it.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;

use crate::cgroup::{Group, Placement, Version};
use crate::command::{Command, Defaults};
use crate::error::{Error, Result, ValueKind};
use crate::lease::{Lease, RUN_DIR};
use crate::process::{Child, Outcome};
use crate::sandbox::Sandbox;
use crate::security::Seccomp;
use crate::spawn::{self, Start};

/// What a program needs to join a running sandbox.
#[derive(Debug)]
pub(crate) struct JoinTarget {
    /// The init's pidfd: `setns` through it enters all its namespaces at once.
    pub pidfd: OwnedFd,
    pub namespaces: libc::c_int,
    pub userns: bool,
    /// The sandbox's cgroup directories (removed when it stops).
    pub cgroups: Vec<(Version, PathBuf)>,
    /// Where a program run in it goes in them.
    pub placement: Placement,
}

/// The init of a running sandbox: our own child, or one another process started.
#[derive(Debug)]
enum Init {
    Own(Box<Child>),
    Foreign {
        pid: libc::pid_t,
    },
    /// Ours, detached: another process stops it.
    Detached {
        pid: libc::pid_t,
    },
}

/// A sandbox that is up, to run programs in. Made by [`Sandbox::start`],
/// [`Command::start`](crate::Command::start) or [`Running::open`].
///
/// Dropping it stops the sandbox at once (as [`Running::kill`]), unless it is
/// persistent and was [`detach`](Running::detach)ed, or was opened from another
/// process.
#[derive(Debug)]
pub struct Running {
    init: Init,
    target: Arc<JoinTarget>,
    sandbox: Sandbox,
    name: Option<String>,
    state_dir: Option<PathBuf>,
    /// The cgroups of a sandbox opened from its state, removed when it is stopped.
    adopted: Option<Group>,
    /// Lock files of its leases, removed once it is gone (for a sandbox opened
    /// from its state; our own `Child` removes its own).
    lease_files: Vec<PathBuf>,
    /// The process that made this handle: a `fork`ed copy never ends the sandbox.
    owner: u32,
}

/// Names of the directories of `/run/containment` that are not sandboxes.
const RESERVED: &[&str] = &["ids", "net"];

/// Checks a sandbox name: 1 to 64 characters out of `A-Z a-z 0-9 . _ -`, not
/// starting with `.` or `-`, not a reserved name.
pub fn validate_name(name: &str) -> Result<()> {
    const EXPECTED: &str = "1 to 64 characters out of A-Z a-z 0-9 . _ -, not starting with . or -, such as build-17";
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let reason = if name.is_empty() || name.len() > 64 {
        Some("the length is not within 1..=64".to_string())
    } else if let Some(c) = name.chars().find(|c| !ok_char(*c)) {
        Some(format!("character {c:?} is not allowed"))
    } else if name.starts_with('.') || name.starts_with('-') {
        Some("it starts with '.' or '-'".to_string())
    } else if RESERVED.contains(&name) {
        Some("the name is reserved".to_string())
    } else {
        None
    };
    match reason {
        Some(r) => Err(Error::invalid(ValueKind::Argument, name, r, EXPECTED)),
        None => Ok(()),
    }
}

fn state_dir(name: &str) -> PathBuf {
    Path::new(RUN_DIR).join(name)
}

/// Removes a named sandbox's emptied state directory, and `/run/containment` when
/// that was the last thing in it (a lease being taken there makes it again).
fn remove_state_dir(dir: &Path) {
    if std::fs::remove_dir(dir).is_ok() {
        let _ = std::fs::remove_dir(RUN_DIR);
    }
}

/// Starts `cmd`'s sandbox; with `program`, `cmd`'s program is its main program.
pub(crate) fn start(cmd: &mut Command, program: bool) -> Result<Running> {
    // Before the name's lock file is opened (see `spawn::fill_standard_fds`).
    spawn::fill_standard_fds()?;
    let name = cmd.sandbox.name.clone();
    let persist = cmd.sandbox.persistent;
    if persist && name.is_none() {
        return Err(Error::InvalidConfig("a persistent sandbox needs a name (Sandbox::name)".into()));
    }
    let mut leases = Vec::new();
    if let Some(n) = &name {
        validate_name(n)?;
        leases.push(take_name(n)?);
    }
    let how = Start { program, persist, name: name.clone(), leases, joinable: true };
    let (child, started) = match spawn::start(cmd, Defaults::Spawn, how) {
        Ok(s) => s,
        Err(e) => {
            if let Some(n) = &name {
                remove_state_dir(&state_dir(n)); // the lease's file went with it
            }
            return Err(e);
        }
    };
    let pidfd = dup(child.as_fd())?;
    let target = Arc::new(JoinTarget {
        pidfd,
        namespaces: started.namespaces,
        userns: started.userns,
        cgroups: started.cgroups.clone(),
        placement: started.placement.clone(),
    });
    let mut running = Running {
        init: Init::Own(Box::new(child)),
        target,
        sandbox: cmd.sandbox.clone(),
        name: name.clone(),
        state_dir: None,
        adopted: None,
        lease_files: Vec::new(),
        owner: std::process::id(),
    };
    if let Some(n) = &name {
        let dir = state_dir(n);
        crate::running_state::write(&dir, &running.state())?;
        running.state_dir = Some(dir);
    }
    Ok(running)
}

/// Takes the lease on a name: the name is in use while a sandbox's init holds it.
/// State left by a sandbox that died without stopping (its init killed, the
/// machine rebooted) is cleaned first.
fn take_name(name: &str) -> Result<Lease> {
    let dir = state_dir(name);
    match Lease::try_take(&dir.join("lock"))? {
        Some(lease) => {
            clean_stale(&dir);
            Ok(lease)
        }
        None => Err(Error::InvalidConfig(format!("a sandbox named {name} is running; stop it or choose another name"))),
    }
}

/// Removes what a dead sandbox left: its cgroups and its state (not the lock,
/// which the caller holds).
fn clean_stale(dir: &Path) {
    if let Ok(state) = crate::running_state::read(dir) {
        drop(Group::adopt(state.cgroups));
        for f in &state.leases {
            Lease::remove_if_free(f);
        }
    }
    let _ = std::fs::remove_file(dir.join("state"));
}

fn dup(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    fd.try_clone_to_owned().map_err(|e| Error::os("dup", Errno::from_raw(e.raw_os_error().unwrap_or(libc::EBADF))))
}

impl Running {
    /// A command that runs `program` in this sandbox (its namespaces, root,
    /// cgroups, limits and security profile); `spawn` it, or `output`/`status`.
    pub fn command(&self, program: impl Into<OsString>) -> Command {
        let mut cmd = Command::new(self.sandbox.clone(), program.into());
        cmd.target = Some(self.target.clone());
        cmd
    }

    /// Runs `cmd`'s program (its arguments, environment, working directory and
    /// stdio; not its sandbox description) in this sandbox.
    ///
    /// # Errors
    /// As [`Command::spawn`]; [`Error::Setup`] at stage `join` when the sandbox is
    /// gone.
    pub fn exec(&self, cmd: &mut Command) -> Result<Child> {
        cmd.sandbox = self.sandbox.clone();
        cmd.target = Some(self.target.clone());
        cmd.spawn()
    }

    /// The host pid of the sandbox's init.
    pub fn pid(&self) -> u32 {
        match &self.init {
            Init::Own(c) => c.pid(),
            Init::Foreign { pid } | Init::Detached { pid } => *pid as u32,
        }
    }

    /// The sandbox's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Waits for the main program to end (for a sandbox started without one: for
    /// the sandbox to be killed). The sandbox ends with it.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a sandbox another process started (its outcome is
    /// that process's to collect); otherwise as [`Child::wait`].
    pub fn wait(&mut self) -> Result<Outcome> {
        match &mut self.init {
            Init::Own(c) => {
                let o = c.wait();
                self.remove_state();
                o
            }
            Init::Foreign { .. } | Init::Detached { .. } => Err(Error::Unsupported {
                feature: "waiting for a sandbox started by another process",
                reason: "only the process that started it can collect its outcome; use stop()".into(),
            }),
        }
    }

    /// Stops the sandbox: sends SIGTERM to every process in it, waits up to `grace`
    /// for them to end, then kills whatever is left and removes everything (its
    /// cgroups, its state). Returns the main program's outcome when this process
    /// started the sandbox.
    ///
    /// # Errors
    /// [`Error::Os`] if signalling or waiting fails.
    pub fn stop(mut self, grace: Duration) -> Result<Option<Outcome>> {
        let pid = self.pid() as libc::pid_t;
        let deadline = Instant::now() + grace;
        let mut sent = false;
        while !self.init_exited()? {
            let inside = processes_inside(pid);
            if inside.is_empty() || Instant::now() >= deadline {
                break;
            }
            if !sent {
                for p in &inside {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*p), nix::sys::signal::SIGTERM);
                }
                sent = true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.finish()
    }

    /// Kills the sandbox at once and removes everything.
    ///
    /// # Errors
    /// As [`Running::stop`].
    pub fn kill(mut self) -> Result<Option<Outcome>> {
        self.finish()
    }

    /// Leaves a persistent sandbox running after this handle is gone (the handle no
    /// longer owns it: dropping it does nothing); another process stops it later
    /// ([`Running::open`], `contain stop`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the sandbox is not persistent (it would die
    /// with this process anyway).
    pub fn detach(&mut self) -> Result<()> {
        if !self.sandbox.persistent {
            return Err(Error::InvalidConfig("only a persistent sandbox can be detached".into()));
        }
        let pid = self.pid() as libc::pid_t;
        if let Init::Own(c) = std::mem::replace(&mut self.init, Init::Detached { pid }) {
            (*c).detach();
        }
        self.state_dir = None;
        Ok(())
    }

    /// Whether the sandbox outlives the process that started it once detached.
    pub fn is_persistent(&self) -> bool {
        self.sandbox.persistent
    }

    /// Opens the running sandbox named `name`, which any process may have started.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when no sandbox of that name is running (stale state
    /// is cleaned then); [`Error::Os`] when its state cannot be read.
    pub fn open(name: &str) -> Result<Running> {
        validate_name(name)?;
        let dir = state_dir(name);
        let state = crate::running_state::read(&dir).map_err(|_| not_running(name))?;
        if let Some(lease) = Lease::try_take(&dir.join("lock"))? {
            // Nobody holds the name: the sandbox died without stopping.
            clean_stale(&dir);
            drop(lease);
            remove_state_dir(&dir);
            return Err(not_running(name));
        }
        let pidfd = pidfd_of(state.pid, state.start).ok_or_else(|| not_running(name))?;
        let target = Arc::new(JoinTarget {
            pidfd,
            namespaces: state.namespaces,
            userns: state.userns,
            cgroups: state.cgroups.clone(),
            placement: state.placement.clone(),
        });
        Ok(Running {
            init: Init::Foreign { pid: state.pid },
            target,
            sandbox: state.sandbox(),
            name: Some(name.to_string()),
            state_dir: Some(dir),
            adopted: Some(Group::adopt(state.cgroups)),
            lease_files: state.leases,
            owner: std::process::id(),
        })
    }

    fn init_exited(&self) -> Result<bool> {
        let mut pfd = [libc::pollfd { fd: self.target.pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        crate::sys::poll(&mut pfd, 0).map_err(|e| Error::os("poll", e))?;
        Ok(pfd[0].revents != 0)
    }

    /// Kills the init (everything in the sandbox dies with it), collects the
    /// outcome when it is ours, and removes the sandbox's cgroups and state.
    fn finish(&mut self) -> Result<Option<Outcome>> {
        let outcome = match &mut self.init {
            Init::Own(c) => {
                c.kill()?;
                Some(c.wait()?)
            }
            Init::Foreign { .. } => {
                let pidfd = self.target.pidfd.as_raw_fd();
                let _ = crate::sys::pidfd_send_signal(pidfd, libc::SIGKILL);
                let mut pfd = [libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 }];
                crate::sys::poll(&mut pfd, 10_000).map_err(|e| Error::os("poll", e))?;
                // A sandbox this process started and detached is still its child:
                // reap it (for anyone else's, this fails with ECHILD).
                let _ = crate::sys::waitid_pidfd(pidfd, libc::WNOHANG);
                None
            }
            Init::Detached { .. } => None,
        };
        self.adopted = None;
        for f in self.lease_files.drain(..) {
            Lease::remove_if_free(&f);
        }
        self.remove_state();
        Ok(outcome)
    }

    fn remove_state(&mut self) {
        if let Some(dir) = self.state_dir.take() {
            let _ = std::fs::remove_file(dir.join("state"));
            let _ = std::fs::remove_file(dir.join("lock"));
            remove_state_dir(&dir);
        }
    }

    fn state(&self) -> crate::running_state::State {
        let (pid, start, leases) = match &self.init {
            Init::Own(c) => (c.pid() as libc::pid_t, crate::cgroup::start_time(c.pid()).unwrap_or(0), c.lease_paths()),
            Init::Foreign { pid } | Init::Detached { pid } => (*pid, 0, Vec::new()),
        };
        crate::running_state::State::new(pid, start, &self.target, &self.sandbox, leases)
    }

    /// Takes the supervisor's ends of the main program's piped standard streams
    /// (for a sandbox started by [`Command::start`](crate::Command::start) with
    /// `Stdio::piped()`).
    pub fn take_stdio(
        &mut self,
    ) -> (Option<crate::ChildStdin>, Option<crate::ChildStdout>, Option<crate::ChildStderr>) {
        match &mut self.init {
            Init::Own(c) => c.take_stdio(),
            _ => (None, None, None),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if std::process::id() != self.owner {
            // A copy made by fork: the sandbox belongs to the original process.
            if let Some(g) = self.adopted.take() {
                g.persist();
            }
            return;
        }
        match self.init {
            Init::Own(_) => {
                let _ = self.finish();
            }
            // Someone else's sandbox, or a detached one: only `stop` or `kill` end it.
            Init::Foreign { .. } | Init::Detached { .. } => {
                if let Some(g) = self.adopted.take() {
                    g.persist();
                }
            }
        }
    }
}

fn not_running(name: &str) -> Error {
    Error::InvalidConfig(format!("no sandbox named {name} is running"))
}

/// A pidfd of `pid` if it is still the process that started at `start` (clock
/// ticks since boot), so that a reused pid is never taken for the sandbox.
fn pidfd_of(pid: libc::pid_t, start: u64) -> Option<OwnedFd> {
    let fd = crate::sys::pidfd_open(pid).ok()?;
    (crate::cgroup::start_time(pid as u32) == Some(start)).then_some(fd)
}

/// Every process in the PID namespace of `init` but `init` itself (the programs
/// run with [`Running::command`] are not the init's descendants: their parents
/// are outside the namespace).
fn processes_inside(init: libc::pid_t) -> Vec<libc::pid_t> {
    use std::os::unix::fs::MetadataExt;
    let ns = |pid: &str| std::fs::metadata(format!("/proc/{pid}/ns/pid")).map(|m| (m.dev(), m.ino())).ok();
    let Some(target) = ns(&init.to_string()) else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<libc::pid_t>().ok()))
        .filter(|p| *p != init && ns(&p.to_string()) == Some(target) && !is_zombie(*p))
        .collect()
}

/// Whether process `pid` has ended and waits to be reaped (state `Z`).
fn is_zombie(pid: libc::pid_t) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
}

/// What `list` says of a running sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningInfo {
    /// Its name.
    pub name: String,
    /// The host pid of its init.
    pub pid: u32,
    /// How long it has been up.
    pub uptime: Duration,
    /// Its limits, as text (`memory=64M pids=16`), empty without any.
    pub limits: String,
    /// Memory in use now, in bytes, when it has a memory limit.
    pub memory_current: Option<u64>,
}

/// The named sandboxes that are running, in name order. Stale state is cleaned
/// on the way.
///
/// # Errors
/// [`Error::Os`] when `/run/containment` cannot be read.
pub fn list() -> Result<Vec<RunningInfo>> {
    let entries = match std::fs::read_dir(RUN_DIR) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::os_path("read_dir", RUN_DIR, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))))
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if validate_name(&name).is_err() {
            continue;
        }
        let Ok(state) = crate::running_state::read(&entry.path()) else { continue };
        if let Ok(Some(lease)) = Lease::try_take(&entry.path().join("lock")) {
            clean_stale(&entry.path());
            drop(lease);
            remove_state_dir(&entry.path());
            continue;
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        out.push(RunningInfo {
            name,
            pid: state.pid as u32,
            uptime: now.saturating_sub(Duration::from_secs(state.created)),
            limits: state.limits.clone(),
            memory_current: state.memory_current(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

impl Sandbox {
    /// Starts the sandbox with no program: its init is up, its filesystem, limits
    /// and network are in place; run programs in it with [`Running::command`].
    ///
    /// # Errors
    /// As [`Command::spawn`]; [`Error::InvalidConfig`] when its name is in use.
    pub fn start(&self) -> Result<Running> {
        let mut cmd = self.command("/");
        start(&mut cmd, false)
    }

    /// Names the sandbox: its state lives under `/run/containment/<name>`, where
    /// other processes find it ([`Running::open`], `contain exec`). Names are
    /// unique among running sandboxes.
    pub fn name(mut self, name: impl Into<String>) -> Sandbox {
        self.name = Some(name.into());
        self
    }

    /// Lets a named sandbox outlive the process that started it (see
    /// [`Running::detach`]); without this, it dies with that process.
    pub fn persistent(mut self, yes: bool) -> Sandbox {
        self.persistent = yes;
        self
    }

    /// The seccomp policy (for the state of a running sandbox).
    pub(crate) fn seccomp_policy(&self) -> &Seccomp {
        &self.seccomp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        for ok in ["a", "build-17", "A.b_c", &"x".repeat(64)] {
            validate_name(ok).unwrap();
        }
        for bad in ["", ".hidden", "-x", "a/b", "a b", "ids", "net", &"x".repeat(65), "é"] {
            assert!(matches!(validate_name(bad), Err(Error::InvalidValue { .. })), "{bad}");
        }
    }
}
