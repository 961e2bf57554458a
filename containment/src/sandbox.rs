//! The builder: a plain, cloneable description of a sandbox.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cgroup::Limits;
use crate::command::Command;
use crate::net::Net;
use crate::resource::{CpuSet, MemoryLimit, Rlimit};
use crate::security::{Capability, Seccomp};
use crate::userns::UserNamespace;

/// Where the sandbox's `/` comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Root {
    /// The embedded default: a private tmpfs holding read-only views of the host's
    /// system directories and a filtered `/etc`.
    #[default]
    Default,
    /// A directory of the host becomes `/`.
    Chroot(PathBuf),
    /// An overlay: the template is the read-only lower layer, the upper layer is a
    /// private tmpfs or, when given, a host directory.
    Overlay { template: PathBuf, upper: Option<PathBuf> },
}

/// One mount the user asked for, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserMount {
    /// Bind `src` (host) onto `dst` (inside).
    Bind { src: PathBuf, dst: PathBuf, readonly: bool },
    /// A fresh tmpfs on `dst`.
    Tmpfs { dst: PathBuf, size: Option<MemoryLimit> },
}

impl UserMount {
    pub(crate) fn dst(&self) -> &Path {
        match self {
            UserMount::Bind { dst, .. } | UserMount::Tmpfs { dst, .. } => dst,
        }
    }
}

/// Where inside the sandbox [`Sandbox::command_from_host`] binds the program.
pub(crate) const HOST_PROGRAM_DIR: &str = "/run/containment";

/// A description of a sandbox: its root, mounts, identity and (in later versions)
/// limits and network.
///
/// It is plain data: the setters never fail and nothing touches the system until a
/// [`Command`] made from it is spawned. Values are validated at spawn, before anything
/// is created; one `Sandbox` can start any number of sandboxes, at once and from
/// several threads.
///
/// The defaults are the safe ones: new mount, PID, UTS, IPC, network (loopback
/// only) and cgroup namespaces, the embedded default root, a private `/tmp`, all
/// capabilities dropped, `no_new_privs`, a new session, a minimal environment, and
/// no descriptor but 0-2 inherited.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    pub(crate) root: Root,
    pub(crate) readonly_root: bool,
    pub(crate) mounts: Vec<UserMount>,
    pub(crate) private_tmp: bool,
    pub(crate) hostname: Option<OsString>,
    pub(crate) user: Option<(u32, u32)>,
    pub(crate) groups: Vec<u32>,
    pub(crate) limits: Limits,
    pub(crate) cgroup_parent: Option<PathBuf>,
    pub(crate) rlimits: BTreeMap<Rlimit, (u64, u64)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) net: Net,
    pub(crate) capabilities: Vec<String>,
    pub(crate) seccomp: Seccomp,
    pub(crate) sysfs: bool,
    pub(crate) user_namespace: UserNamespace,
    pub(crate) no_idmap: bool,
    pub(crate) name: Option<String>,
    pub(crate) persistent: bool,
}

impl Sandbox {
    /// A sandbox with the defaults described on [`Sandbox`].
    pub fn new() -> Sandbox {
        Sandbox { private_tmp: true, ..Sandbox::default() }
    }

    /// Makes the host directory `dir` the sandbox's `/` (through `pivot_root`; the
    /// old root is detached and unreachable). `/proc`, a minimal `/dev` and a
    /// private `/tmp` are mounted in it; missing mount points are created in `dir`.
    /// The root stays writable unless [`Sandbox::readonly_root`] is set.
    pub fn chroot(mut self, dir: impl AsRef<Path>) -> Sandbox {
        self.root = Root::Chroot(dir.as_ref().to_path_buf());
        self
    }

    /// Makes `template` the sandbox's `/` without letting the sandbox change it: an
    /// overlay whose lower layer is `template` and whose upper layer is a private
    /// tmpfs that vanishes with the sandbox.
    pub fn overlay(mut self, template: impl AsRef<Path>) -> Sandbox {
        self.root = Root::Overlay { template: template.as_ref().to_path_buf(), upper: None };
        self
    }

    /// Like [`Sandbox::overlay`], but the changes are kept in the host directory
    /// `dir` (in `dir/upper`, with `dir/work` as overlayfs' work directory).
    pub fn overlay_persistent(mut self, template: impl AsRef<Path>, dir: impl AsRef<Path>) -> Sandbox {
        self.root =
            Root::Overlay { template: template.as_ref().to_path_buf(), upper: Some(dir.as_ref().to_path_buf()) };
        self
    }

    /// Makes `/` read-only (the mounts on it keep their own modes).
    pub fn readonly_root(mut self, readonly: bool) -> Sandbox {
        self.readonly_root = readonly;
        self
    }

    /// Binds the host path `src` (file or directory) read-write at `dst` inside.
    pub fn bind(mut self, src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Sandbox {
        self.mounts.push(UserMount::Bind {
            src: src.as_ref().to_path_buf(),
            dst: dst.as_ref().to_path_buf(),
            readonly: false,
        });
        self
    }

    /// Binds the host path `src` read-only (and `nosuid`, `nodev`) at `dst` inside,
    /// recursively: mounts below `src` are read-only too.
    pub fn bind_ro(mut self, src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Sandbox {
        self.mounts.push(UserMount::Bind {
            src: src.as_ref().to_path_buf(),
            dst: dst.as_ref().to_path_buf(),
            readonly: true,
        });
        self
    }

    /// Mounts a fresh tmpfs of at most `size` bytes at `dst`.
    pub fn tmpfs(mut self, dst: impl AsRef<Path>, size: MemoryLimit) -> Sandbox {
        self.mounts.push(UserMount::Tmpfs { dst: dst.as_ref().to_path_buf(), size: Some(size) });
        self
    }

    /// Mounts a fresh tmpfs at `dst` with the kernel's default size (half of RAM,
    /// charged to the sandbox's memory limit when it has one).
    pub fn tmpfs_unlimited(mut self, dst: impl AsRef<Path>) -> Sandbox {
        self.mounts.push(UserMount::Tmpfs { dst: dst.as_ref().to_path_buf(), size: None });
        self
    }

    /// Whether to mount a private tmpfs on `/tmp` (the default: yes).
    pub fn private_tmp(mut self, yes: bool) -> Sandbox {
        self.private_tmp = yes;
        self
    }

    /// Sets the host name inside (1 to 64 characters out of `A-Z a-z 0-9 . - _`).
    /// The default is `sandbox`.
    pub fn hostname(mut self, name: impl Into<OsString>) -> Sandbox {
        self.hostname = Some(name.into());
        self
    }

    /// Runs the program as `uid` and `gid` (with no supplementary groups unless
    /// [`Sandbox::groups`] gives some). The default is the caller's ids.
    pub fn user(mut self, uid: u32, gid: u32) -> Sandbox {
        self.user = Some((uid, gid));
        self
    }

    /// Supplementary groups of the program (used with [`Sandbox::user`]).
    pub fn groups(mut self, groups: impl IntoIterator<Item = u32>) -> Sandbox {
        self.groups = groups.into_iter().collect();
        self
    }

    /// Limits the sandbox's memory to `limit` (at least 1M), with no swap: a
    /// sandbox that needs more has a process killed by the kernel's OOM killer, and
    /// [`Outcome::oom_killed`](crate::Outcome::oom_killed) says so. Shared memory and
    /// tmpfs files the sandbox writes count too.
    pub fn memory(mut self, limit: MemoryLimit) -> Sandbox {
        self.limits.memory = Some(limit);
        self
    }

    /// Confines the sandbox to these CPUs (a cpuset). They must lie within the
    /// CPUs the cgroup parent allows; the error at spawn names those.
    pub fn cpus(mut self, cpus: CpuSet) -> Sandbox {
        self.limits.cpus = Some(cpus);
        self
    }

    /// Allows the program at most `max` processes and threads at once (the
    /// sandbox's init is not counted); `fork` fails with `EAGAIN` beyond.
    pub fn pids(mut self, max: u64) -> Sandbox {
        self.limits.pids = Some(max);
        self
    }

    /// Caps CPU time at `cpus` CPUs' worth (0.5: half of one CPU; 2: two CPUs), by
    /// the CFS bandwidth controller.
    pub fn cpu_quota(mut self, cpus: f64) -> Sandbox {
        self.limits.cpu_quota = Some(cpus);
        self
    }

    /// The sandbox's share of CPU time when CPUs are busy, from 1 to 10000 (100 is
    /// what every other group has by default).
    pub fn cpu_weight(mut self, weight: u32) -> Sandbox {
        self.limits.cpu_weight = Some(weight);
        self
    }

    /// Where the sandbox's cgroups are created: a path relative to the root of each
    /// cgroup hierarchy (for instance a subtree systemd delegated). It must exist and
    /// be writable. The default is `containment` at the top of each hierarchy,
    /// created when missing.
    pub fn cgroup_parent(mut self, path: impl AsRef<Path>) -> Sandbox {
        self.cgroup_parent = Some(path.as_ref().to_path_buf());
        self
    }

    /// Sets a resource limit of the program (soft and hard limit alike). Only
    /// lowering works without `CAP_SYS_RESOURCE`; spawning checks that before
    /// anything is created.
    pub fn rlimit(mut self, resource: Rlimit, value: u64) -> Sandbox {
        self.rlimits.insert(resource, (value, value));
        self
    }

    /// Sets a resource limit with distinct soft and hard values.
    pub fn rlimit_soft_hard(mut self, resource: Rlimit, soft: u64, hard: u64) -> Sandbox {
        self.rlimits.insert(resource, (soft, hard));
        self
    }

    /// Kills the whole sandbox when `timeout` of wall-clock time has passed since
    /// spawn; [`Outcome::timed_out`](crate::Outcome::timed_out) then says so. It is
    /// enforced by the sandbox's init, whether or not anyone waits.
    pub fn timeout(mut self, timeout: Duration) -> Sandbox {
        self.timeout = Some(timeout);
        self
    }

    /// The sandbox's network: [`Net::none`] (the default: only `lo`),
    /// [`Net::none_reused`] (the same, its namespace kept for the next sandbox),
    /// [`Net::host`], or [`Net::bridge`] (an `eth0` with an address on a bridge).
    pub fn net(mut self, net: impl Into<Net>) -> Sandbox {
        self.net = net.into();
        self
    }

    /// Capabilities the program keeps (all others are dropped from all five
    /// sets). The default keeps none.
    pub fn capabilities(mut self, caps: impl IntoIterator<Item = Capability>) -> Sandbox {
        self.capabilities = caps.into_iter().map(|c| c.to_string()).collect();
        self
    }

    /// Like [`Sandbox::capabilities`], by name (`CAP_NET_RAW`, `net_raw`); unknown
    /// names are an error at spawn.
    pub fn capability_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Sandbox {
        self.capabilities = names.into_iter().map(Into::into).collect();
        self
    }

    /// The seccomp policy: [`Seccomp::default_filter`] (the default),
    /// [`Seccomp::disabled`], or a default filter with changes.
    pub fn seccomp(mut self, policy: Seccomp) -> Sandbox {
        self.seccomp = policy;
        self
    }

    /// Mounts `/sys`, read-only (the default: no `/sys`).
    pub fn sysfs(mut self, yes: bool) -> Sandbox {
        self.sysfs = yes;
        self
    }

    /// The sandbox's user namespace. The default, [`UserNamespace::Auto`], gives a
    /// root caller an exclusive range of host ids (root inside is an unprivileged
    /// id outside) and maps an ordinary caller's own ids to root inside.
    pub fn user_namespace(mut self, ns: UserNamespace) -> Sandbox {
        self.user_namespace = ns;
        self
    }

    /// Whether binds (and a chroot or overlay root) are idmapped mounts when the
    /// sandbox has a user namespace and the caller is root (the default: yes), so
    /// that host files keep their owners inside and what the sandbox's root writes
    /// is owned by the caller on the host. Without it, host files appear owned by
    /// `nobody` and the sandbox's root writes as its unprivileged host id.
    pub fn idmap_binds(mut self, yes: bool) -> Sandbox {
        self.no_idmap = !yes;
        self
    }

    /// A command that runs `program` in a sandbox made from this description.
    ///
    /// A `program` without `/` is looked up in the `PATH` of the command's
    /// environment, inside the sandbox.
    pub fn command(&self, program: impl Into<OsString>) -> Command {
        Command::new(self.clone(), program.into())
    }

    /// A command that runs the host file `program` inside the sandbox, whatever its
    /// root holds: the file is bound read-only at `/run/containment/<file name>`.
    /// `argv[0]` is the file name.
    pub fn command_from_host(&self, program: impl AsRef<Path>) -> Command {
        let program = program.as_ref();
        let name = program.file_name().map(OsString::from).unwrap_or_else(|| OsString::from("program"));
        let mut dst = PathBuf::from(HOST_PROGRAM_DIR);
        dst.push(&name);
        let sandbox = self.clone().bind_ro(program, &dst);
        let mut cmd = Command::new(sandbox, dst.into_os_string());
        cmd.arg0(name);
        cmd
    }
}
