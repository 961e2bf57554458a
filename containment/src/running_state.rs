//! The state of a named running sandbox, in `/run/containment/<name>/state`: what
//! another process needs to find it, run programs in it and stop it. A small
//! `key=value` text, one per line, written atomically (rename).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::errno::Errno;

use crate::cgroup::{Placement, Version};
use crate::error::{Error, Result};
use crate::running::JoinTarget;
use crate::sandbox::Sandbox;
use crate::security::Seccomp;

/// What is recorded of a running sandbox.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub pid: libc::pid_t,
    /// The init's start time (clock ticks since boot), against pid reuse.
    pub start: u64,
    pub namespaces: libc::c_int,
    pub userns: bool,
    pub cgroups: Vec<(Version, PathBuf)>,
    pub placement: Placement,
    /// Seconds since the epoch when it started.
    pub created: u64,
    /// The limits, as text, for `list`.
    pub limits: String,
    /// Whether it outlives its supervisor once detached.
    pub persistent: bool,
    /// Lock files of the leases its init holds (its id range, its address), to
    /// remove once it is gone.
    pub leases: Vec<PathBuf>,
    // The program's security profile, for programs run in it later.
    capabilities: Vec<String>,
    seccomp: String,
    rlimits: Vec<(String, u64, u64)>,
    user: Option<(u32, u32, Vec<u32>)>,
}

impl State {
    pub fn new(pid: libc::pid_t, start: u64, target: &JoinTarget, sandbox: &Sandbox, leases: Vec<PathBuf>) -> State {
        let l = &sandbox.limits;
        let mut limits = Vec::new();
        if let Some(m) = l.memory {
            limits.push(format!("memory={m}"));
        }
        if let Some(c) = &l.cpus {
            limits.push(format!("cpus={c}"));
        }
        if let Some(p) = l.pids {
            limits.push(format!("pids={p}"));
        }
        if let Some(q) = l.cpu_quota {
            limits.push(format!("cpu-quota={q}"));
        }
        State {
            pid,
            start,
            namespaces: target.namespaces,
            userns: target.userns,
            cgroups: target.cgroups.clone(),
            placement: target.placement.clone(),
            created: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            limits: limits.join(" "),
            persistent: sandbox.persistent,
            leases,
            capabilities: sandbox.capabilities.clone(),
            seccomp: sandbox.seccomp_policy().to_spec(),
            rlimits: sandbox.rlimits.iter().map(|(r, (s, h))| (r.name().to_string(), *s, *h)).collect(),
            user: sandbox.user.map(|(u, g)| (u, g, sandbox.groups.clone())),
        }
    }

    /// A description with the recorded security profile, for programs run in the
    /// sandbox (its root, network and limits are there already).
    pub fn sandbox(&self) -> Sandbox {
        let mut s = Sandbox::new().capability_names(self.capabilities.clone()).persistent(self.persistent);
        s = s.seccomp(Seccomp::from_spec(&self.seccomp));
        for (name, soft, hard) in &self.rlimits {
            if let Ok(r) = name.parse() {
                s = s.rlimit_soft_hard(r, *soft, *hard);
            }
        }
        if let Some((u, g, groups)) = &self.user {
            s = s.user(*u, *g).groups(groups.clone());
        }
        s
    }

    /// Memory in use now, from the memory group.
    pub fn memory_current(&self) -> Option<u64> {
        let dir = self.placement.program.as_ref()?.parent()?;
        ["memory.usage_in_bytes", "memory.current"]
            .iter()
            .find_map(|f| std::fs::read_to_string(dir.join(f)).ok()?.trim().parse().ok())
    }

    pub(crate) fn to_text(&self) -> String {
        let mut t = format!(
            "pid={}\nstart={}\nnamespaces={}\nuserns={}\ncreated={}\nlimits={}\ncaps={}\nseccomp={}\n",
            self.pid,
            self.start,
            self.namespaces,
            u8::from(self.userns),
            self.created,
            self.limits,
            self.capabilities.join(","),
            self.seccomp
        );
        for (v, d) in &self.cgroups {
            let v = if *v == Version::V1 { "v1" } else { "v2" };
            t.push_str(&format!("cgroup={v}:{}\n", d.display()));
        }
        t.push_str(&format!("persistent={}\n", u8::from(self.persistent)));
        for p in &self.leases {
            t.push_str(&format!("lease={}\n", p.display()));
        }
        for p in &self.placement.enter {
            t.push_str(&format!("enter={}\n", p.display()));
        }
        if let Some(p) = &self.placement.start_in {
            t.push_str(&format!("start_in={}\n", p.display()));
        }
        if let Some(p) = &self.placement.program {
            t.push_str(&format!("program_cgroup={}\n", p.display()));
        }
        for p in &self.placement.program_enter {
            t.push_str(&format!("program_enter={}\n", p.display()));
        }
        for (r, s, h) in &self.rlimits {
            t.push_str(&format!("rlimit={r}:{s}:{h}\n"));
        }
        if let Some((u, g, groups)) = &self.user {
            let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
            t.push_str(&format!("user={u}:{g}:{}\n", groups.join(",")));
        }
        t
    }

    pub(crate) fn from_text(text: &str) -> Option<State> {
        let mut s = State {
            pid: 0,
            start: 0,
            namespaces: 0,
            userns: false,
            cgroups: Vec::new(),
            placement: Placement::default(),
            created: 0,
            limits: String::new(),
            persistent: false,
            leases: Vec::new(),
            capabilities: Vec::new(),
            seccomp: String::new(),
            rlimits: Vec::new(),
            user: None,
        };
        // Split at '\n' only: a value keeps any '\r' it has, as `to_text` wrote it.
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            let (k, v) = line.split_once('=')?;
            match k {
                "pid" => s.pid = v.parse().ok()?,
                "start" => s.start = v.parse().ok()?,
                "namespaces" => s.namespaces = v.parse().ok()?,
                "userns" => s.userns = v == "1",
                "created" => s.created = v.parse().ok()?,
                "limits" => s.limits = v.to_string(),
                "caps" => s.capabilities = v.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect(),
                "seccomp" => s.seccomp = v.to_string(),
                "cgroup" => {
                    let (ver, dir) = v.split_once(':')?;
                    let ver = if ver == "v1" { Version::V1 } else { Version::V2 };
                    s.cgroups.push((ver, PathBuf::from(dir)));
                }
                "persistent" => s.persistent = v == "1",
                "lease" => s.leases.push(PathBuf::from(v)),
                "enter" => s.placement.enter.push(PathBuf::from(v)),
                "start_in" => s.placement.start_in = Some(PathBuf::from(v)),
                "program_cgroup" => s.placement.program = Some(PathBuf::from(v)),
                "program_enter" => s.placement.program_enter.push(PathBuf::from(v)),
                "rlimit" => {
                    let mut p = v.split(':');
                    let (r, soft, hard) = (p.next()?, p.next()?.parse().ok()?, p.next()?.parse().ok()?);
                    s.rlimits.push((r.to_string(), soft, hard));
                }
                "user" => {
                    let mut p = v.split(':');
                    let (u, g) = (p.next()?.parse().ok()?, p.next()?.parse().ok()?);
                    let groups = p.next().unwrap_or("").split(',').filter_map(|x| x.parse().ok()).collect();
                    s.user = Some((u, g, groups));
                }
                _ => {}
            }
        }
        (s.pid > 0).then_some(s)
    }
}

/// Writes `dir/state` (through a temporary file and a rename).
pub(crate) fn write(dir: &Path, state: &State) -> Result<()> {
    let io = |op: &'static str, p: &Path, e: std::io::Error| {
        Error::os_path(op, p, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    };
    crate::lease::make_dirs(dir)?;
    let tmp = dir.join("state.tmp");
    std::fs::write(&tmp, state.to_text()).map_err(|e| io("write", &tmp, e))?;
    std::fs::rename(&tmp, dir.join("state")).map_err(|e| io("rename", &tmp, e))
}

/// Reads `dir/state`.
pub(crate) fn read(dir: &Path) -> Result<State> {
    let path = dir.join("state");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::os_path("read", &path, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))))?;
    State::from_text(&text).ok_or_else(|| Error::InvalidConfig(format!("{} is not a sandbox state", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_text() {
        let s = State {
            pid: 42,
            start: 777,
            namespaces: libc::CLONE_NEWNS | libc::CLONE_NEWPID,
            userns: true,
            cgroups: vec![(Version::V1, "/sys/fs/cgroup/memory/containment/named-x".into())],
            placement: Placement {
                enter: vec!["/sys/fs/cgroup/pids/containment/named-x/cgroup.procs".into()],
                start_in: None,
                program: Some("/sys/fs/cgroup/memory/containment/named-x/cgroup.procs".into()),
                program_enter: vec!["/sys/fs/cgroup/cpuset/containment/named-x/tasks".into()],
            },
            created: 1_700_000_000,
            limits: "memory=64M pids=16".into(),
            persistent: true,
            leases: vec!["/run/containment/ids/7".into()],
            capabilities: vec!["CAP_NET_RAW".into()],
            seccomp: Seccomp::default().allow_ptrace(true).deny("io_uring_setup").to_spec(),
            rlimits: vec![("nofile".into(), 64, 128)],
            user: Some((1000, 1000, vec![5, 6])),
        };
        assert_eq!(State::from_text(&s.to_text()), Some(s.clone()));
        let sb = s.sandbox();
        assert_eq!(sb.user, Some((1000, 1000)));
        assert_eq!(sb.groups, vec![5, 6]);
        assert_eq!(sb.seccomp, Seccomp::default().allow_ptrace(true).deny("io_uring_setup"));
        assert_eq!(State::from_text("garbage"), None);
        assert_eq!(State::from_text(""), None);
    }
}
