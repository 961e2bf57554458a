//! containment runs a Linux program in a constrained environment, and is made to
//! be embedded: job runners, CI test runners, judges and process supervisors link
//! it instead of shelling out to another tool.
//!
//! ```no_run
//! use containment::{Sandbox, Stdio};
//!
//! # fn main() -> containment::Result<()> {
//! let out = Sandbox::new()                  // the embedded default root, no network
//!     .hostname("job-17")
//!     .command("/bin/sh")
//!     .args(["-c", "echo hello from $(hostname)"])
//!     .stdout(Stdio::piped())
//!     .output()?;
//! assert!(out.status.success());
//! assert_eq!(out.stdout, b"hello from job-17\n");
//! # Ok(())
//! # }
//! ```
//!
//! A [`Sandbox`] is a plain description; [`Sandbox::command`] makes a [`Command`]
//! shaped like `std::process::Command`; [`Command::spawn`] gives a [`Child`] whose
//! [`Child::wait`] returns an [`Outcome`]. Each sandbox gets new mount, PID, UTS,
//! IPC, network (loopback only) and cgroup namespaces, a private root, no
//! capabilities, `no_new_privs`, a new session, a minimal environment and no
//! inherited descriptor but 0-2. Dropping a `Child` kills and reaps everything in
//! its sandbox.
//!
//! Requirements: Linux 5.12 or later (`clone3`, the new mount API, `openat2`,
//! `mount_setattr`, `close_range`), and root (`CAP_SYS_ADMIN`).
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod cgroup;
mod child;
mod command;
mod error;
mod exit_prune;
mod fault;
mod lease;
mod mount;
mod net;
mod process;
mod report;
mod resource;
mod running;
mod running_state;
mod sandbox;
mod security;
mod spawn;
mod sys;
mod userns;

pub use cgroup::{DEFAULT_PARENT as DEFAULT_CGROUP_PARENT, MIN_MEMORY};
pub use command::{Command, Stdio, DEFAULT_PATH};
pub use error::{Errno, Error, Result, Stage, ValueKind};
pub use net::{release_kept_namespaces, BridgeNet, Net, MAX_KEPT_NAMESPACES};
pub use process::{Child, ChildStderr, ChildStdin, ChildStdout, ExitStatus, Outcome, Output, Usage};
pub use resource::{
    parse_rlimit_spec, validate_destination, BindSpec, CpuSet, Ipv4Net, MemoryLimit, Rlimit, TmpfsSpec,
};
pub use running::{list, validate_name, Running, RunningInfo};
pub use sandbox::Sandbox;
pub use security::{known_syscalls, parse_capability, Capability, Seccomp, DEFAULT_DENIED};
pub use userns::{IdMap, UserNamespace, DEFAULT_RANGE_SIZE, RANGE_BASE};

/// Removes what supervisors that died without cleaning up (killed with SIGKILL, for
/// instance) left behind: their cgroups under the default parent of every hierarchy
/// and under `parents` (paths relative to each hierarchy's root), the default
/// parents themselves when that leaves them empty (given parents stay), and the
/// lease files under `/run/containment` (addresses on bridges, ranges of host ids)
/// that no running sandbox holds, and the directories that leaves empty
/// (`/run/containment` itself when no named sandbox runs). Returns how many cgroups were removed. Spawning
/// collects stale cgroups once per parent and process on its own.
///
/// # Errors
/// [`Error::InvalidValue`] for a parent path with `..`.
pub fn gc(parents: &[&std::path::Path]) -> Result<usize> {
    let removed = cgroup::gc(parents)?;
    lease::collect_free(std::path::Path::new(lease::RUN_DIR));
    Ok(removed)
}

/// Entry points for the fuzz targets in `fuzz/`, and for nothing else: not part of
/// the API, no stability promise.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses `bytes` as the kernel's rtnetlink replies, as the supervisor parses
    /// what it reads from its netlink socket, and returns how many messages it found.
    pub fn netlink_replies(bytes: &[u8]) -> usize {
        crate::net::message::parse_replies(bytes).len()
    }

    /// Parses `text` as a running sandbox's state file (`/run/containment/<name>/state`)
    /// and writes what it read back as text; `None` when it is refused.
    pub fn state_file(text: &str) -> Option<String> {
        crate::running_state::State::from_text(text).map(|s| s.to_text())
    }

    /// Parses `spec` as the seccomp policy of a state file and writes it back.
    pub fn seccomp_spec(spec: &str) -> String {
        crate::security::Seccomp::from_spec(spec).to_spec()
    }

    /// Parses `text` as `/proc/self/mountinfo`, as the supervisor does to find the
    /// cgroup hierarchies (a `cgroup2` mount's controllers are `v2_controllers`),
    /// and returns the mount points found, one per controller.
    pub fn mountinfo(text: &str, v2_controllers: &str) -> Vec<std::path::PathBuf> {
        let h = crate::cgroup::detect::parse(text, |_| v2_controllers.to_string());
        crate::cgroup::Controller::ALL.iter().filter_map(|c| Some(h.get(*c)?.mount.clone())).collect()
    }

    /// Parses `bytes` as `/proc/net/sockstat` (or `sockstat6`): the sockets in use,
    /// and the IP sockets with the TCP ones in `TIME_WAIT`, as the pool of kept
    /// network namespaces reads them.
    pub fn sockstat(bytes: &[u8]) -> (Option<u64>, Option<u64>) {
        (crate::net::reuse::sockets_used(bytes), crate::net::reuse::ip_sockets_in(bytes))
    }

    /// Parses `bytes` as the init's report record and writes it back.
    pub fn report_record(bytes: &[u8; 16]) -> Option<[u8; 16]> {
        crate::report::Record::from_bytes(bytes).map(crate::report::Record::to_bytes)
    }

    /// Parses `name` as a cgroup's name (`PID.START.SEQ` of the supervisor that made it).
    pub fn group_name(name: &str) -> Option<(u32, u64)> {
        crate::cgroup::parse_group_name(name)
    }
}
