//! The handle of a running sandbox, and how it ended.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::cgroup::Group;
use crate::error::{Error, Result};
use crate::lease::Lease;
use crate::report::{Kind, Record, RECORD_LEN};
use crate::sys;

/// How the program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It exited with this code (0-255).
    Exited(i32),
    /// It was killed by this signal.
    Signaled(i32),
}

impl ExitStatus {
    /// Decodes a `waitpid` status.
    pub(crate) fn from_wait_status(status: i32) -> ExitStatus {
        if libc::WIFSIGNALED(status) {
            ExitStatus::Signaled(libc::WTERMSIG(status))
        } else {
            ExitStatus::Exited(libc::WEXITSTATUS(status))
        }
    }

    /// Whether the program exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }

    /// The exit code, if it exited.
    pub fn code(self) -> Option<i32> {
        match self {
            ExitStatus::Exited(c) => Some(c),
            ExitStatus::Signaled(_) => None,
        }
    }

    /// The signal that killed it, if one did.
    pub fn signal(self) -> Option<i32> {
        match self {
            ExitStatus::Signaled(s) => Some(s),
            ExitStatus::Exited(_) => None,
        }
    }

    /// The shell's convention in one number: the exit code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(c) => write!(f, "exit code {c}"),
            ExitStatus::Signaled(s) => match nix::sys::signal::Signal::try_from(*s) {
                Ok(sig) => write!(f, "killed by signal {s} ({})", sig.as_str()),
                Err(_) => write!(f, "killed by signal {s}"),
            },
        }
    }
}

/// What a sandbox used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Time from spawn to the end of the sandbox.
    pub wall: Duration,
    /// CPU time in user mode of every process of the sandbox: from its cgroup when
    /// it has limits (exact), else from `getrusage` of the processes its init
    /// reaped (processes killed as the sandbox ends may be missed then).
    pub user: Duration,
    /// CPU time in kernel mode, likewise.
    pub system: Duration,
    /// Peak memory in bytes: the memory cgroup's peak usage when the sandbox has a
    /// memory limit, else the largest resident set of any one process of the
    /// sandbox (`getrusage`); `None` where the kernel did not say.
    pub peak_memory: Option<u64>,
}

/// How a sandbox ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// How the program ended.
    pub status: ExitStatus,
    /// Whether the kernel's OOM killer killed a process of the sandbox, from the
    /// sandbox's own memory cgroup counter (never guessed from a SIGKILL). Always
    /// false when the sandbox has no memory limit.
    pub oom_killed: bool,
    /// Whether the sandbox was killed because its timeout passed.
    pub timed_out: bool,
    /// What it used.
    pub usage: Usage,
}

/// The outcome of a sandbox and what its program wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// How the program ended.
    pub status: ExitStatus,
    /// See [`Outcome::oom_killed`].
    pub oom_killed: bool,
    /// See [`Outcome::timed_out`].
    pub timed_out: bool,
    /// What it used.
    pub usage: Usage,
    /// Its standard output, if piped.
    pub stdout: Vec<u8>,
    /// Its standard error, if piped.
    pub stderr: Vec<u8>,
}

impl Output {
    /// The outcome without the output.
    pub fn outcome(&self) -> Outcome {
        Outcome { status: self.status, oom_killed: self.oom_killed, timed_out: self.timed_out, usage: self.usage }
    }
}

macro_rules! pipe_end {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(File);

        impl $name {
            pub(crate) fn new(fd: OwnedFd) -> $name {
                $name(File::from(fd))
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.0.as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_raw_fd()
            }
        }

        impl From<$name> for OwnedFd {
            fn from(p: $name) -> OwnedFd {
                p.0.into()
            }
        }
    };
}

pipe_end!(
    /// The supervisor's end of the program's standard input, when piped.
    ChildStdin
);
pipe_end!(
    /// The supervisor's end of the program's standard output, when piped.
    ChildStdout
);
pipe_end!(
    /// The supervisor's end of the program's standard error, when piped.
    ChildStderr
);

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// A running sandbox. Made by [`Command::spawn`](crate::Command::spawn).
///
/// Dropping a `Child` that was not waited for kills its sandbox (everything in it)
/// and reaps it: nothing outlives the handle unless it was waited for.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    report: OwnedFd,
    started: Instant,
    outcome: Option<Outcome>,
    reaped: bool,
    /// The process that spawned the sandbox: only it kills the sandbox when the
    /// handle is dropped (a `fork`ed copy of the handle must not).
    owner: u32,
    /// Removed once the outcome is read, or when the handle is dropped.
    group: Option<Group>,
    /// For a program run in a running sandbox: its memory group's OOM kills.
    pub(crate) oom_watch: Option<crate::cgroup::OomWatch>,
    /// A kept network namespace the sandbox runs in, given back for the next
    /// sandbox once it ended (see `BridgeNet::reuse`); dropped with the handle else.
    /// (Declared before `leases`, so dropped before them: its address goes first.)
    pub(crate) kept_net: Option<crate::net::Kept>,
    /// The sandbox's address on a bridge (in a namespace of its own), removed once
    /// it ended, before its lease is released.
    pub(crate) net_address: Option<crate::net::Assigned>,
    /// What the sandbox holds while it runs (its address on a bridge, its range
    /// of host ids); released once it ended.
    pub(crate) leases: Vec<Lease>,
    /// The program's standard input, if piped.
    pub stdin: Option<ChildStdin>,
    /// The program's standard output, if piped.
    pub stdout: Option<ChildStdout>,
    /// The program's standard error, if piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    pub(crate) fn new(
        pid: libc::pid_t,
        pidfd: OwnedFd,
        report: OwnedFd,
        started: Instant,
        group: Option<Group>,
    ) -> Child {
        Child {
            pid,
            pidfd,
            report,
            started,
            outcome: None,
            reaped: false,
            owner: std::process::id(),
            group,
            kept_net: None,
            net_address: None,
            leases: Vec::new(),
            oom_watch: None,
            stdin: None,
            stdout: None,
            stderr: None,
        }
    }

    /// Gives the child its group, made after the clone (removed when the child is
    /// dropped, after the sandbox is killed and reaped).
    pub(crate) fn set_group(&mut self, group: Group) -> &Group {
        self.group.insert(group)
    }

    /// The host pid of the sandbox's init (PID 1 inside), which holds the sandbox:
    /// signals sent to it are forwarded to the program.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Sends `sig` to the program. `SIGKILL` ends the whole sandbox at once; other
    /// signals go through the init, which forwards them to the program. Sending to a
    /// sandbox that already ended does nothing.
    ///
    /// # Errors
    /// [`Error::Os`] if the kernel refuses (for instance an invalid signal number).
    pub fn signal(&self, sig: i32) -> Result<()> {
        if self.reaped {
            return Ok(());
        }
        match sys::pidfd_send_signal(self.pidfd.as_raw_fd(), sig) {
            Ok(()) | Err(Errno::ESRCH) => Ok(()),
            Err(e) => Err(Error::os("pidfd_send_signal", e)),
        }
    }

    /// Kills the sandbox (`SIGKILL` to its init: every process in it dies).
    ///
    /// # Errors
    /// As [`Child::signal`].
    pub fn kill(&self) -> Result<()> {
        self.signal(libc::SIGKILL)
    }

    /// Waits for the program to end; returns its outcome. Closes the program's
    /// standard input first, if piped. Waiting again returns the same outcome.
    ///
    /// # Errors
    /// [`Error::Os`] if waiting fails; [`Error::InitDied`] if the init ended without
    /// telling how the program did.
    pub fn wait(&mut self) -> Result<Outcome> {
        if let Some(o) = self.outcome {
            return Ok(o);
        }
        drop(self.stdin.take());
        let exited = self.reap()?;
        self.finish(exited)
    }

    /// The directories of the sandbox's cgroups.
    pub(crate) fn cgroup_dirs(&self) -> Vec<(crate::cgroup::Version, std::path::PathBuf)> {
        self.group.as_ref().map(Group::dirs).unwrap_or_default()
    }

    /// The lock files of the leases the sandbox holds.
    pub(crate) fn lease_paths(&self) -> Vec<std::path::PathBuf> {
        self.leases.iter().map(|l| l.path().to_path_buf()).collect()
    }

    /// Takes the supervisor's ends of the program's piped stdio.
    pub(crate) fn take_stdio(&mut self) -> (Option<ChildStdin>, Option<ChildStdout>, Option<ChildStderr>) {
        (self.stdin.take(), self.stdout.take(), self.stderr.take())
    }

    /// Where the sandbox's processes go in its cgroups.
    pub(crate) fn cgroup_placement(&self) -> crate::cgroup::Placement {
        self.group.as_ref().map(|g| g.placement().clone()).unwrap_or_default()
    }

    /// Leaves the sandbox running when this handle goes: its cgroups and leases
    /// stay (a persistent sandbox, which another process stops).
    pub(crate) fn detach(mut self) {
        if let Some(g) = self.group.take() {
            g.persist();
        }
        self.keep_addresses();
        for l in &mut self.leases {
            l.keep_file();
        }
        self.reaped = true; // so that dropping does not kill it
    }

    /// Leaves the sandbox's address on a bridge in place when this handle goes.
    fn keep_addresses(&mut self) {
        if let Some(a) = &mut self.net_address {
            a.keep();
        }
        if let Some(k) = &mut self.kept_net {
            k.keep_address();
        }
    }

    /// The init's pidfd.
    pub(crate) fn pidfd_raw(&self) -> RawFd {
        self.pidfd.as_raw_fd()
    }

    /// The report pipe's read end.
    pub(crate) fn report_fd(&self) -> BorrowedFd<'_> {
        self.report.as_fd()
    }

    /// Waits for the init to end and reaps it.
    pub(crate) fn reap(&mut self) -> Result<sys::Exited> {
        let exited = sys::waitid_pidfd(self.pidfd.as_raw_fd(), 0)
            .map_err(|e| Error::os("waitid", e))?
            .ok_or(Error::os("waitid", Errno::ECHILD))?;
        self.reaped = true;
        Ok(exited)
    }

    /// Returns the outcome if the sandbox has ended, without blocking.
    ///
    /// # Errors
    /// As [`Child::wait`].
    pub fn try_wait(&mut self) -> Result<Option<Outcome>> {
        self.wait_timeout(Duration::ZERO)
    }

    /// Waits at most `timeout` for the sandbox to end; `None` if it is still
    /// running then (it is left running).
    ///
    /// # Errors
    /// As [`Child::wait`].
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<Outcome>> {
        if let Some(o) = self.outcome {
            return Ok(Some(o));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            // Round up so a sub-millisecond remainder does not spin.
            let ms = if Duration::from_millis(ms as u64) < left { ms + 1 } else { ms };
            let mut pfd = [libc::pollfd { fd: self.pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
            sys::poll(&mut pfd, ms).map_err(|e| Error::os("poll", e))?;
            if pfd[0].revents != 0 {
                return self.wait().map(Some);
            }
            if left.is_zero() {
                return Ok(None);
            }
        }
    }

    /// Waits for the program to end while collecting its piped standard output and
    /// error.
    ///
    /// # Errors
    /// As [`Child::wait`], and [`Error::Os`] if reading a pipe fails.
    pub fn wait_with_output(mut self) -> Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = read_both(self.stdout.take(), self.stderr.take())?;
        let o = self.wait()?;
        Ok(Output {
            status: o.status,
            oom_killed: o.oom_killed,
            timed_out: o.timed_out,
            usage: o.usage,
            stdout,
            stderr,
        })
    }

    fn finish(&mut self, exited: sys::Exited) -> Result<Outcome> {
        let wall = self.started.elapsed();
        let mut timed_out = false;
        let status = match read_record(self.report.as_fd()) {
            Some(Record { kind: Kind::Exited, value, .. }) => ExitStatus::from_wait_status(value),
            Some(Record { kind: Kind::TimedOut, .. }) => {
                timed_out = true;
                ExitStatus::Signaled(libc::SIGKILL)
            }
            _ if exited.code == libc::CLD_KILLED || exited.code == libc::CLD_DUMPED => {
                // The init was killed (by `kill()`, or from outside): so was everything in it.
                ExitStatus::Signaled(exited.status)
            }
            _ => return Err(Error::InitDied(format!("it exited with code {} without a report", exited.status))),
        };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        let maxrss = exited.rusage.ru_maxrss;
        // Read the group's counters before it is removed.
        let memory = self.group.as_ref().and_then(Group::memory_stats);
        let cpu = self.group.as_ref().and_then(Group::cpu_times);
        self.group = None;
        // Its address goes before its lease: no one else may hold it meanwhile.
        if let Some(k) = self.kept_net.take() {
            k.give_back();
        }
        self.net_address = None;
        self.leases.clear();
        let (user, system) = cpu.unwrap_or((tv(exited.rusage.ru_utime), tv(exited.rusage.ru_stime)));
        let usage = Usage {
            wall,
            user,
            system,
            peak_memory: memory.and_then(|m| m.peak).or((maxrss > 0).then(|| maxrss as u64 * 1024)),
        };
        let oom_killed = memory.is_some_and(|m| m.oom_kills > 0) || self.oom_watch.as_ref().is_some_and(|w| w.fired());
        let outcome = Outcome { status, oom_killed, timed_out, usage };
        self.outcome = Some(outcome);
        Ok(outcome)
    }
}

impl AsFd for Child {
    /// The sandbox init's pidfd: readable when the sandbox has ended.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if std::process::id() != self.owner {
            // A copy made by fork: the sandbox is the original process's. Leave its
            // cgroup and leases alone too.
            if let Some(g) = self.group.take() {
                g.persist();
            }
            for l in &mut self.leases {
                l.keep_file();
            }
            self.keep_addresses();
            return;
        }
        if !self.reaped {
            let _ = sys::pidfd_send_signal(self.pidfd.as_raw_fd(), libc::SIGKILL);
            let _ = sys::waitid_pidfd(self.pidfd.as_raw_fd(), 0);
        }
    }
}

/// Reads one record from the report pipe; `None` at end of file.
pub(crate) fn read_record(fd: BorrowedFd<'_>) -> Option<Record> {
    let mut buf = [0u8; RECORD_LEN];
    let mut got = 0;
    while got < RECORD_LEN {
        match sys::read(fd.as_raw_fd(), &mut buf[got..]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => got += n,
        }
    }
    Record::from_bytes(&buf)
}

/// Reads two pipes to their ends at once, so that neither fills up while the other
/// is read.
fn read_both(out: Option<ChildStdout>, err: Option<ChildStderr>) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut bufs = (Vec::new(), Vec::new());
    let mut files = [out.map(|o| o.0), err.map(|e| e.0)];
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let mut pfds = Vec::with_capacity(2);
        for f in files.iter().flatten() {
            pfds.push(libc::pollfd { fd: f.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        if pfds.is_empty() {
            return Ok(bufs);
        }
        sys::poll(&mut pfds, -1).map_err(|e| Error::os("poll", e))?;
        for (i, slot) in files.iter_mut().enumerate() {
            let Some(f) = slot else { continue };
            let ready = pfds.iter().any(|p| p.fd == f.as_raw_fd() && p.revents != 0);
            if !ready {
                continue;
            }
            match f.read(&mut chunk) {
                Ok(0) => *slot = None,
                Ok(n) => {
                    let b = if i == 0 { &mut bufs.0 } else { &mut bufs.1 };
                    b.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                    return Err(Error::os("read", errno));
                }
            }
        }
    }
}
