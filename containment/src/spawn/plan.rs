//! The immutable plan of one spawn: every byte the child side needs, prepared in
//! the supervisor before `clone3`, so that the child allocates nothing.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::RawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use crate::command::{Command, EnvBase, DEFAULT_PATH};
use crate::error::{Error, Result, ValueKind};
use crate::mount::{self, FsPlan};
use crate::net::Net;
use crate::resource::Rlimit;

/// A NULL-terminated array of C strings, as `execve` wants it. The pointers point
/// into `strings`, which they live with.
pub(crate) struct CStringArray {
    /// Owns what `ptrs` points to.
    #[cfg_attr(not(test), allow(dead_code))]
    strings: Vec<CString>,
    ptrs: Vec<*const libc::c_char>,
}

impl CStringArray {
    fn new(strings: Vec<CString>) -> CStringArray {
        let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        CStringArray { strings, ptrs }
    }

    pub fn as_ptr(&self) -> *const *const libc::c_char {
        self.ptrs.as_ptr()
    }

    #[cfg(test)]
    pub fn strings(&self) -> &[CString] {
        &self.strings
    }
}

/// A v1 group's `tasks` to enter, for a group made after the clone: whether the
/// program enters it (else the init), and its path's index in `fs.paths` (for
/// errors). Its descriptor comes with the supervisor's go-ahead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LaterTasks {
    pub program: bool,
    pub path: i32,
}

/// At most how many groups made after the clone a sandbox enters (one per v1
/// hierarchy of the controllers containment uses).
pub(crate) const MAX_LATER: usize = crate::sys::FDS_MAX;

/// Which running sandbox to join: its init's pidfd and the namespaces to enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Join {
    pub pidfd: std::os::fd::RawFd,
    pub namespaces: libc::c_int,
}

/// Ids the program switches to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ids {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
}

/// Everything the child side of a spawn reads.
pub(crate) struct Plan {
    /// `CLONE_NEW*` flags for `clone3`.
    pub clone_flags: u64,
    /// The filesystem to build.
    pub fs: FsPlan,
    /// The host name inside.
    pub hostname: Vec<u8>,
    /// Full paths to try with `execve`, in order (one unless `PATH` is searched).
    pub candidates: Vec<CString>,
    pub argv: CStringArray,
    pub envp: CStringArray,
    /// The working directory inside.
    pub cwd: CString,
    /// Ids to switch to, if any.
    pub ids: Option<Ids>,
    /// The highest capability number of this kernel.
    pub last_cap: u32,
    /// The program as given, for errors.
    pub program: PathBuf,
    /// Resource limits to set: (`RLIMIT_*`, soft, hard).
    pub rlimits: Vec<(libc::c_int, u64, u64)>,
    /// Descriptors of the v1 groups' `tasks` the init joins (see
    /// `cgroup::Entry`), with their path's index in `fs.paths`; filled by the spawn
    /// once the group exists.
    pub cgroup_enter: Vec<(RawFd, i32)>,
    /// The descriptor of the file by which the program enters its group before
    /// `execve` (the memory group, which the init stays out of), with its path's
    /// index in `fs.paths`.
    pub program_cgroup: Option<(RawFd, i32)>,
    /// Whether `program_cgroup` is a v2 group's directory (the program is started
    /// in it) rather than a v1 `tasks` file (the program writes `0` to it).
    pub program_cgroup_dir: bool,
    /// Descriptors of the other v1 groups' `tasks` the program joins (the cpuset
    /// group), with their path's index in `fs.paths`.
    pub program_enter: Vec<(RawFd, i32)>,
    /// The `tasks` files of the v1 groups made after the clone (see
    /// `spawn::make_groups`), in the order their descriptors come with the
    /// supervisor's go-ahead, which the init waits for: it enters its own, the
    /// program the others.
    pub later_tasks: Vec<LaterTasks>,
    /// The netlink request that brings `lo` up, when the sandbox has its own
    /// network namespace.
    pub lo_up: Option<Vec<u8>>,
    /// Capabilities the program keeps, as a bit mask.
    pub keep_caps: u64,
    /// seccomp programs to install, in order.
    pub seccomp: Vec<seccompiler::BpfProgram>,
    /// Whether the sandbox has a user namespace, whose root the init (or a joiner)
    /// becomes once the maps are written.
    pub ns_root: bool,
    /// Whether the init starts a program (false: a sandbox started empty, to run
    /// programs in later).
    pub start_program: bool,
    /// Whether the init keeps running when the supervisor dies.
    pub persist: bool,
    /// Set to run the program in a running sandbox instead of a new one.
    pub join: Option<Join>,
    /// Where to die, for fault-injection tests (`fault-injection` feature).
    pub fault: Option<crate::fault::Fault>,
    /// Descriptors the init keeps, sorted; filled by the spawn.
    pub keep_fds: Vec<std::os::fd::RawFd>,
    /// The leases' descriptors among them, which the init holds for as long as it
    /// lives (kept open across its `execve` of the init program).
    pub lease_fds: Vec<std::os::fd::RawFd>,
    /// The user namespace, when the sandbox has one.
    pub userns: Option<crate::userns::Resolved>,
    /// Whether the init hands a netlink socket of its namespace to the supervisor
    /// (to configure a bridge interface) and waits for the go-ahead.
    pub net_handover: bool,
    /// Whether the init may have its network namespace (loopback only) made by a
    /// helper process while it builds the root, rather than by `clone3` (see
    /// `child::netns`): no bridge to configure, no sysfs to mount (sysfs shows the
    /// mounter's network namespace).
    pub net_by_helper: bool,
}

const DEFAULT_HOSTNAME: &str = "sandbox";

impl Plan {
    /// Whether the v1 groups are made after the clone: the init then waits for the
    /// go-ahead that brings their descriptors.
    pub fn groups_later(&self) -> bool {
        !self.later_tasks.is_empty()
    }

    /// Validates `cmd` and its sandbox and compiles the plan.
    ///
    /// # Errors
    /// Every kind of bad input, as [`Error::InvalidValue`] or [`Error::InvalidConfig`];
    /// [`Error::Os`] when a host path the plan needs cannot be read.
    pub fn compile(cmd: &Command) -> Result<Plan> {
        let sandbox = &cmd.sandbox;
        // The cgroup namespace is made by the init with `unshare` once it is in its
        // own groups, so that they are its namespace's root.
        let mut clone_flags = (libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC) as u64;
        let own_netns = sandbox.net != Net::Host;
        if own_netns {
            clone_flags |= libc::CLONE_NEWNET as u64;
        }
        sandbox.limits.validate()?;
        let rlimits = rlimits(&sandbox.rlimits)?;

        let hostname = match &sandbox.hostname {
            Some(h) => validate_hostname(h)?,
            None => DEFAULT_HOSTNAME.as_bytes().to_vec(),
        };

        if cmd.program.is_empty() {
            return Err(Error::invalid(ValueKind::Argument, "", "the program is empty", "a program name or path"));
        }
        let mut argv = vec![arg_cstring(cmd.arg0.as_deref().unwrap_or(&cmd.program))?];
        for a in &cmd.args {
            argv.push(arg_cstring(a)?);
        }

        let env = environment(cmd)?;
        let path_var = env.iter().find(|(k, _)| k.as_bytes() == b"PATH").map(|(_, v)| v.clone());
        let candidates = candidates(&cmd.program, path_var.as_deref())?;
        let envp = env
            .into_iter()
            .map(|(k, v)| {
                let mut kv = k.into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).expect("validated: no NUL")
            })
            .collect();

        let cwd = match &cmd.cwd {
            None => c"/".to_owned(),
            Some(dir) => {
                if dir.as_os_str().is_empty() {
                    return Err(Error::invalid(
                        ValueKind::Path,
                        "",
                        "the working directory is empty",
                        "a directory inside the sandbox",
                    ));
                }
                mount::cstring_path(dir)?
            }
        };

        // Joining a running sandbox: its namespaces, root and network exist already.
        let joining = cmd.target.is_some();
        let userns = if joining { None } else { crate::userns::resolve(&sandbox.user_namespace)? };
        if userns.is_some() {
            clone_flags |= libc::CLONE_NEWUSER as u64;
        }
        let ids = match cmd.user.or(sandbox.user) {
            Some((uid, gid)) => {
                for id in [uid, gid].into_iter().chain(sandbox.groups.iter().copied()) {
                    // -1 means "leave unchanged" to setresuid: it would silently keep root.
                    if id == u32::MAX {
                        return Err(Error::invalid(
                            ValueKind::Id,
                            id.to_string(),
                            "4294967295 is not a valid id",
                            "an id from 0 to 4294967294",
                        ));
                    }
                }
                if let Some(u) = &userns {
                    let unmapped = [(uid, u.maps_uid(uid))]
                        .into_iter()
                        .chain([gid].into_iter().chain(sandbox.groups.iter().copied()).map(|g| (g, u.maps_gid(g))))
                        .find(|(_, mapped)| !mapped);
                    if let Some((id, _)) = unmapped {
                        return Err(Error::invalid(
                            ValueKind::Id,
                            id.to_string(),
                            "is not mapped in the sandbox's user namespace",
                            "an id inside the namespace's maps (0 to 65535 with the default range)",
                        ));
                    }
                }
                Some(Ids { uid, gid, groups: sandbox.groups.clone() })
            }
            None => None,
        };
        let devpts_gid = userns.as_ref().is_none_or(|u| u.maps_gid(5));
        if joining {
            // The joiner is a plain child of the supervisor; it enters the
            // sandbox's namespaces with setns.
            clone_flags = 0;
        }
        let fs = if joining {
            FsPlan { root: mount::RootOp::Tmpfs { options: vec![] }, ops: vec![], paths: vec![] }
        } else {
            mount::compile(sandbox, devpts_gid, userns.is_some())?
        };

        Ok(Plan {
            clone_flags,
            fs,
            hostname,
            candidates,
            argv: CStringArray::new(argv),
            envp: CStringArray::new(envp),
            cwd,
            ids,
            last_cap: last_cap(),
            program: PathBuf::from(&cmd.program),
            rlimits,
            cgroup_enter: Vec::new(),
            program_cgroup: None,
            program_cgroup_dir: false,
            program_enter: Vec::new(),
            later_tasks: Vec::new(),
            lo_up: (own_netns && !joining).then(lo_up_message),
            keep_caps: crate::security::capability_mask(&sandbox.capabilities)?,
            seccomp: seccomp_programs(&sandbox.seccomp)?,
            net_handover: !joining && matches!(sandbox.net, Net::Bridge(_)),
            net_by_helper: !joining && matches!(sandbox.net, Net::None | Net::NoneReused) && !sandbox.sysfs,
            ns_root: userns.is_some(),
            userns,
            keep_fds: Vec::new(),
            lease_fds: Vec::new(),
            fault: crate::fault::from_env(),
            start_program: true,
            persist: false,
            join: None,
        })
    }
}

fn validate_hostname(h: &OsStr) -> Result<Vec<u8>> {
    const EXPECTED: &str = "1 to 64 characters out of A-Z a-z 0-9 . - _, such as job-17";
    let b = h.as_bytes();
    if b.is_empty() || b.len() > 64 {
        return Err(Error::invalid(
            ValueKind::Hostname,
            b,
            format!("length {} is not within 1..=64", b.len()),
            EXPECTED,
        ));
    }
    if let Some(c) = b.iter().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))) {
        return Err(Error::invalid(
            ValueKind::Hostname,
            b,
            format!("character {:?} is not allowed", *c as char),
            EXPECTED,
        ));
    }
    Ok(b.to_vec())
}

fn arg_cstring(a: &OsStr) -> Result<CString> {
    CString::new(a.as_bytes()).map_err(|_| {
        Error::invalid(ValueKind::Argument, a.as_bytes(), "contains a NUL byte", "arguments without NUL bytes")
    })
}

/// The program's environment, sorted by name, validated.
fn environment(cmd: &Command) -> Result<Vec<(OsString, OsString)>> {
    const EXPECTED: &str = "a non-empty name without '=' or NUL, and a value without NUL";
    let mut env: std::collections::BTreeMap<OsString, OsString> = match cmd.env_base {
        EnvBase::Minimal => [("PATH", DEFAULT_PATH), ("HOME", "/")]
            .into_iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect(),
        EnvBase::Empty => Default::default(),
        EnvBase::Host => std::env::vars_os().collect(),
    };
    for (k, v) in &cmd.env {
        let kb = k.as_bytes();
        if kb.is_empty() || kb.contains(&b'=') || kb.contains(&0) {
            let reason = if kb.is_empty() {
                "the name is empty"
            } else if kb.contains(&0) {
                "the name contains a NUL byte"
            } else {
                "the name contains '='"
            };
            return Err(Error::invalid(ValueKind::Environment, kb, reason, EXPECTED));
        }
        match v {
            Some(v) if v.as_bytes().contains(&0) => {
                return Err(Error::invalid(
                    ValueKind::Environment,
                    v.as_bytes(),
                    "the value contains a NUL byte",
                    EXPECTED,
                ));
            }
            Some(v) => {
                env.insert(k.clone(), v.clone());
            }
            None => {
                env.remove(k);
            }
        }
    }
    Ok(env.into_iter().collect())
}

/// The paths `execve` tries: the program itself when it contains a `/`, else each
/// directory of `path` (the program's own `PATH`, or the default) joined with it.
fn candidates(program: &OsStr, path: Option<&OsStr>) -> Result<Vec<CString>> {
    let prog = program.as_bytes();
    if prog.contains(&0) {
        return Err(Error::invalid(
            ValueKind::Argument,
            prog,
            "the program contains a NUL byte",
            "a program name or path without NUL bytes",
        ));
    }
    if prog.contains(&b'/') {
        return Ok(vec![CString::new(prog).expect("checked: no NUL")]);
    }
    let path = path.map(OsStr::as_bytes).unwrap_or(DEFAULT_PATH.as_bytes());
    let mut out = Vec::new();
    for dir in path.split(|b| *b == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let mut full = dir.to_vec();
        if !full.ends_with(b"/") {
            full.push(b'/');
        }
        full.extend_from_slice(prog);
        out.push(CString::new(full).expect("checked: no NUL"));
    }
    Ok(out)
}

/// Checks the resource limits against the supervisor's own hard limits: raising a
/// hard limit needs `CAP_SYS_RESOURCE`, and failing inside the sandbox would be too
/// late to say so clearly.
fn rlimits(wanted: &std::collections::BTreeMap<Rlimit, (u64, u64)>) -> Result<Vec<(libc::c_int, u64, u64)>> {
    let mut out = Vec::new();
    for (r, (soft, hard)) in wanted {
        if soft > hard {
            return Err(Error::invalid(
                ValueKind::Number,
                format!("{r}={soft}:{hard}"),
                "the soft limit is above the hard limit",
                "a soft limit at most the hard limit",
            ));
        }
        let (_, current_hard) =
            nix::sys::resource::getrlimit(r.resource_nix()).map_err(|e| Error::os("getrlimit", e))?;
        if *hard > current_hard && !has_sys_resource() {
            return Err(Error::invalid(
                ValueKind::Number,
                format!("{r}={hard}"),
                format!(
                    "is above the supervisor's hard limit {}; raising it needs CAP_SYS_RESOURCE",
                    if current_hard == u64::MAX { "unlimited".to_string() } else { current_hard.to_string() }
                ),
                "a value at most the current hard limit",
            ));
        }
        out.push((r.resource(), *soft, *hard));
    }
    Ok(out)
}

/// Whether this process has `CAP_SYS_RESOURCE` in its effective set.
fn has_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let eff = status.lines().find_map(|l| l.strip_prefix("CapEff:")).map(str::trim).unwrap_or("0");
    const CAP_SYS_RESOURCE: u32 = 24;
    u64::from_str_radix(eff, 16).map(|m| m & (1 << CAP_SYS_RESOURCE) != 0).unwrap_or(false)
}

/// The compiled filter of a policy, built once per process for the default one.
fn seccomp_programs(policy: &crate::security::Seccomp) -> Result<Vec<seccompiler::BpfProgram>> {
    static DEFAULT: std::sync::OnceLock<Vec<seccompiler::BpfProgram>> = std::sync::OnceLock::new();
    if *policy == crate::security::Seccomp::default() {
        if let Some(p) = DEFAULT.get() {
            return Ok(p.clone());
        }
        let p = crate::security::compile_seccomp(policy)?;
        return Ok(DEFAULT.get_or_init(|| p).clone());
    }
    crate::security::compile_seccomp(policy)
}

/// The `lo`-up request, built once per process.
fn lo_up_message() -> Vec<u8> {
    static MSG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    MSG.get_or_init(crate::net::message::lo_up).clone()
}

/// The highest capability number the running kernel knows.
fn last_cap() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(63)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sandbox;

    fn strs(a: &CStringArray) -> Vec<String> {
        a.strings().iter().map(|s| s.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn program_without_slash_is_searched_in_the_commands_path() {
        let mut cmd = Sandbox::new().command("ls");
        cmd.env("PATH", "/a:/b/");
        let plan = Plan::compile(&cmd).unwrap();
        let c: Vec<_> = plan.candidates.iter().map(|c| c.to_str().unwrap().to_string()).collect();
        assert_eq!(c, ["/a/ls", "/b/ls"]);
        let plan = Plan::compile(&Sandbox::new().command("./x")).unwrap();
        assert_eq!(plan.candidates, [c"./x".to_owned()]);
    }

    #[test]
    fn environment_is_minimal_by_default_and_never_the_hosts() {
        std::env::set_var("CONTAINMENT_PLAN_TEST_SECRET", "1");
        let mut cmd = Sandbox::new().command("/bin/true");
        cmd.env("A", "b");
        let plan = Plan::compile(&cmd).unwrap();
        assert_eq!(strs(&plan.envp), ["A=b", "HOME=/", &format!("PATH={DEFAULT_PATH}")]);
        cmd.env_clear().env("X", "1");
        assert_eq!(strs(&Plan::compile(&cmd).unwrap().envp), ["X=1"]);
        cmd.inherit_env();
        assert!(strs(&Plan::compile(&cmd).unwrap().envp).contains(&"CONTAINMENT_PLAN_TEST_SECRET=1".to_string()));
    }

    #[test]
    fn bad_arguments_and_environment_are_typed_errors() {
        let cases: Vec<(Command, ValueKind)> = vec![
            (Sandbox::new().command(""), ValueKind::Argument),
            (
                {
                    let mut c = Sandbox::new().command("/bin/true");
                    c.arg("a\0b");
                    c
                },
                ValueKind::Argument,
            ),
            (
                {
                    let mut c = Sandbox::new().command("/bin/true");
                    c.env("A=B", "x");
                    c
                },
                ValueKind::Environment,
            ),
            (
                {
                    let mut c = Sandbox::new().command("/bin/true");
                    c.env("", "x");
                    c
                },
                ValueKind::Environment,
            ),
            (
                {
                    let mut c = Sandbox::new().command("/bin/true");
                    c.env("A", "x\0");
                    c
                },
                ValueKind::Environment,
            ),
            (Sandbox::new().hostname("bad host").command("/bin/true"), ValueKind::Hostname),
            (Sandbox::new().hostname("").command("/bin/true"), ValueKind::Hostname),
            (Sandbox::new().hostname("a".repeat(65)).command("/bin/true"), ValueKind::Hostname),
            (Sandbox::new().user(u32::MAX, 0).command("/bin/true"), ValueKind::Id),
            (Sandbox::new().user(0, u32::MAX).command("/bin/true"), ValueKind::Id),
            (Sandbox::new().user(1, 1).groups([u32::MAX]).command("/bin/true"), ValueKind::Id),
        ];
        for (cmd, kind) in cases {
            match Plan::compile(&cmd) {
                Err(Error::InvalidValue { kind: k, .. }) => assert_eq!(k, kind, "{cmd:?}"),
                Err(e) => panic!("{cmd:?}: {e}"),
                Ok(_) => panic!("{cmd:?} was accepted"),
            }
        }
    }

    #[test]
    fn argv0_defaults_to_the_program() {
        let mut cmd = Sandbox::new().command("/bin/echo");
        cmd.args(["a", "b"]);
        assert_eq!(strs(&Plan::compile(&cmd).unwrap().argv), ["/bin/echo", "a", "b"]);
        cmd.arg0("echo");
        assert_eq!(strs(&Plan::compile(&cmd).unwrap().argv), ["echo", "a", "b"]);
    }
}
