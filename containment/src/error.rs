//! The one error type of the crate, and the stages of sandbox setup it names.

use std::fmt;
use std::path::PathBuf;

pub use nix::errno::Errno;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of value an [`Error::InvalidValue`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// A size such as a memory limit or a tmpfs size ([`crate::MemoryLimit`]).
    Size,
    /// A CPU list such as `0-3,7` ([`crate::CpuSet`]).
    CpuSet,
    /// An IPv4 interface address with prefix ([`crate::Ipv4Net`]).
    Address,
    /// A mount specification such as `SRC:DST` or `DST:SIZE`.
    MountSpec,
    /// A path given to the builder.
    Path,
    /// A program argument.
    Argument,
    /// An environment variable name or value.
    Environment,
    /// A host name.
    Hostname,
    /// A user or group id.
    Id,
    /// A number given on its own (a count, a limit, a duration).
    Number,
    /// A signal number or name.
    Signal,
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueKind::Size => "size",
            ValueKind::CpuSet => "CPU list",
            ValueKind::Address => "IPv4 address",
            ValueKind::MountSpec => "mount specification",
            ValueKind::Path => "path",
            ValueKind::Argument => "argument",
            ValueKind::Environment => "environment variable",
            ValueKind::Hostname => "host name",
            ValueKind::Id => "id",
            ValueKind::Number => "number",
            ValueKind::Signal => "signal",
        })
    }
}

/// Where in the setup of a sandbox something failed.
///
/// Stages up to [`Stage::Clone`] run in the supervisor; the others run inside the
/// sandbox (in its init or in the program's process just before `execve`) and are
/// reported back over a pipe as a fixed-size record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum Stage {
    /// Preparing descriptors and pipes in the supervisor.
    Prepare = 1,
    /// `clone3` of the sandbox's init.
    Clone,
    /// Waiting for the supervisor's go-ahead inside the sandbox.
    Sync,
    /// Joining the sandbox's cgroups and making its cgroup namespace.
    Cgroup,
    /// Bringing `lo` up and handing the network namespace over to the supervisor.
    Network,
    /// Joining a running sandbox's namespaces (`setns`) to run another program.
    Join,
    /// Making every mount private (`MS_REC | MS_PRIVATE` on `/`).
    MountPrivate,
    /// Creating or opening the new root.
    Root,
    /// Creating a mount point inside the new root.
    MountPoint,
    /// A mount inside the new root (bind, tmpfs, overlay, proc, dev).
    Mount,
    /// Making a mount read-only or setting its flags.
    MountAttr,
    /// Populating `/dev`.
    Dev,
    /// `pivot_root` into the new root, or the fallback `chroot`.
    PivotRoot,
    /// Detaching the old root.
    DetachOldRoot,
    /// `sethostname`.
    Hostname,
    /// Setting up the init's signal handling and timer.
    InitSignals,
    /// Starting the program's process from the init.
    Fork,
    /// `setsid` in the program's process.
    Setsid,
    /// Connecting the program's standard descriptors.
    Stdio,
    /// Resetting signal dispositions and the mask.
    Signals,
    /// Setting a resource limit.
    Rlimit,
    /// `setgroups`, `setresgid` or `setresuid`.
    Identity,
    /// Dropping capabilities.
    Capabilities,
    /// `PR_SET_NO_NEW_PRIVS`.
    NoNewPrivs,
    /// Installing the seccomp filter.
    Seccomp,
    /// `chdir` to the working directory.
    Chdir,
    /// Closing inherited descriptors.
    CloseFds,
    /// `execve` of the program.
    Exec,
}

impl Stage {
    /// All stages, in pipeline order.
    pub const ALL: [Stage; 28] = [
        Stage::Prepare,
        Stage::Clone,
        Stage::Sync,
        Stage::Cgroup,
        Stage::Network,
        Stage::Join,
        Stage::MountPrivate,
        Stage::Root,
        Stage::MountPoint,
        Stage::Mount,
        Stage::MountAttr,
        Stage::Dev,
        Stage::PivotRoot,
        Stage::DetachOldRoot,
        Stage::Hostname,
        Stage::InitSignals,
        Stage::Fork,
        Stage::Setsid,
        Stage::Stdio,
        Stage::Signals,
        Stage::Rlimit,
        Stage::Identity,
        Stage::Capabilities,
        Stage::NoNewPrivs,
        Stage::Seccomp,
        Stage::Chdir,
        Stage::CloseFds,
        Stage::Exec,
    ];

    /// The stage with this wire number, if any.
    pub fn from_raw(raw: u32) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| *s as u32 == raw)
    }

    /// A short lowercase name, stable across versions (used by the bindings).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prepare => "prepare",
            Stage::Clone => "clone",
            Stage::Sync => "sync",
            Stage::Cgroup => "cgroup",
            Stage::Network => "network",
            Stage::Join => "join",
            Stage::MountPrivate => "mount-private",
            Stage::Root => "root",
            Stage::MountPoint => "mount-point",
            Stage::Mount => "mount",
            Stage::MountAttr => "mount-attr",
            Stage::Dev => "dev",
            Stage::PivotRoot => "pivot-root",
            Stage::DetachOldRoot => "detach-old-root",
            Stage::Hostname => "hostname",
            Stage::InitSignals => "init-signals",
            Stage::Fork => "fork",
            Stage::Setsid => "setsid",
            Stage::Stdio => "stdio",
            Stage::Signals => "signals",
            Stage::Rlimit => "rlimit",
            Stage::Identity => "identity",
            Stage::Capabilities => "capabilities",
            Stage::NoNewPrivs => "no-new-privs",
            Stage::Seccomp => "seccomp",
            Stage::Chdir => "chdir",
            Stage::CloseFds => "close-fds",
            Stage::Exec => "exec",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong in containment.
///
/// Every variant names the value, path or operation involved; [`Error::errno`] gives
/// the OS error number where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value could not be parsed or is out of range.
    #[error("invalid {kind} {value:?}: {reason}; expected {expected}")]
    InvalidValue {
        /// What the value was meant to be.
        kind: ValueKind,
        /// The value as given (lossily converted to UTF-8 for display).
        value: String,
        /// What is wrong with it.
        reason: String,
        /// What would be accepted.
        expected: &'static str,
    },

    /// The configuration as a whole is inconsistent (for instance two mounts on one
    /// destination, or an empty argv).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    /// The program does not exist inside the sandbox (`execve` gave `ENOENT`).
    #[error("program {program:?} not found in the sandbox")]
    ProgramNotFound {
        /// The program as given to the command.
        program: PathBuf,
    },

    /// The program exists but cannot be executed (`EACCES`, `ENOEXEC`, ...).
    #[error("program {program:?} cannot be executed: {errno}")]
    NotExecutable {
        /// The program as given to the command.
        program: PathBuf,
        /// The error `execve` returned.
        errno: Errno,
    },

    /// Setting up the sandbox failed inside it, at `stage`.
    #[error("sandbox setup failed at stage {stage}{}: {errno}", path.as_ref().map(|p| format!(" ({})", p.display())).unwrap_or_default())]
    Setup {
        /// Which step failed.
        stage: Stage,
        /// The error of the failing system call.
        errno: Errno,
        /// The path involved, if any.
        path: Option<PathBuf>,
    },

    /// A system call in the supervisor failed.
    #[error("{op}{} failed: {errno}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Os {
        /// The operation, e.g. `"pipe2"` or `"open"`.
        op: &'static str,
        /// The path involved, if any.
        path: Option<PathBuf>,
        /// The error.
        errno: Errno,
    },

    /// The kernel or the host lacks something this sandbox needs.
    #[error("unsupported: {feature}: {reason}")]
    Unsupported {
        /// What was asked for.
        feature: &'static str,
        /// Why it cannot be done here and what would make it work.
        reason: String,
    },

    /// What was asked for needs privileges the caller does not have.
    #[error("needs privileges: {feature}; {how}")]
    NeedsPrivilege {
        /// What was asked for.
        feature: &'static str,
        /// What would make it work.
        how: String,
    },

    /// The cgroup parent is missing or not writable.
    #[error("cgroup parent {} is not usable: {errno}; create it and make it writable, or choose another with cgroup_parent", path.display())]
    CgroupParent {
        /// The parent directory.
        path: PathBuf,
        /// Why it is not usable.
        errno: Errno,
    },

    /// The sandbox's init ended before reporting whether the program started.
    #[error("the sandbox's init ended unexpectedly ({0})")]
    InitDied(String),

    /// The child was already waited for; its outcome was returned then.
    #[error("the sandbox was already waited for")]
    AlreadyWaited,
}

impl Error {
    /// The OS error number behind this error, if there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::NotExecutable { errno, .. }
            | Error::Setup { errno, .. }
            | Error::Os { errno, .. }
            | Error::CgroupParent { errno, .. } => Some(*errno as i32),
            Error::ProgramNotFound { .. } => Some(Errno::ENOENT as i32),
            _ => None,
        }
    }

    /// The setup stage at which this error happened, if it is a setup error.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Error::Setup { stage, .. } => Some(*stage),
            Error::ProgramNotFound { .. } | Error::NotExecutable { .. } => Some(Stage::Exec),
            _ => None,
        }
    }

    /// The path this error is about, if any.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Error::Setup { path, .. } | Error::Os { path, .. } => path.as_deref(),
            Error::CgroupParent { path, .. } => Some(path),
            Error::ProgramNotFound { program } | Error::NotExecutable { program, .. } => Some(program),
            _ => None,
        }
    }

    /// A parse or range error for `value` of `kind`.
    pub(crate) fn invalid(
        kind: ValueKind,
        value: impl AsRef<[u8]>,
        reason: impl Into<String>,
        expected: &'static str,
    ) -> Error {
        Error::InvalidValue {
            kind,
            value: String::from_utf8_lossy(value.as_ref()).into_owned(),
            reason: reason.into(),
            expected,
        }
    }

    /// A failed system call in the supervisor.
    pub(crate) fn os(op: &'static str, errno: Errno) -> Error {
        Error::Os { op, path: None, errno }
    }

    /// A failed system call on `path` in the supervisor.
    pub(crate) fn os_path(op: &'static str, path: impl Into<PathBuf>, errno: Errno) -> Error {
        Error::Os { op, path: Some(path.into()), errno }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_wire_numbers_round_trip() {
        for s in Stage::ALL {
            assert_eq!(Stage::from_raw(s as u32), Some(s));
        }
        assert_eq!(Stage::from_raw(0), None);
        assert_eq!(Stage::from_raw(9999), None);
    }

    #[test]
    fn messages_name_the_value_and_what_is_accepted() {
        let e = Error::invalid(ValueKind::Size, "1XB", "unknown suffix \"XB\"", "a size like 128M");
        assert_eq!(e.to_string(), "invalid size \"1XB\": unknown suffix \"XB\"; expected a size like 128M");
        let e = Error::Setup { stage: Stage::Mount, errno: Errno::ENOENT, path: Some("/x".into()) };
        assert_eq!(e.to_string(), "sandbox setup failed at stage mount (/x): ENOENT: No such file or directory");
        assert_eq!(e.errno(), Some(libc::ENOENT));
    }
}
