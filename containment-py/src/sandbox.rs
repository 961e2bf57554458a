//! `containment.Sandbox`: the Rust builder as a frozen Python object. Keyword
//! arguments of the constructor and chained methods set the same things; every
//! method returns a new `Sandbox`. Values are checked when given (bad ones raise
//! at once); what depends on the host is checked at spawn.

use containment::{Rlimit, ValueKind};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};

use crate::command::{self, CommandOpts, RunOpts, Target};
use crate::convert::{self, given, quote};
use crate::errors::{config, type_error, CoreResult};
use crate::net;
use crate::outcome::CompletedProcess;
use crate::process::Process;
use crate::running::PyRunning;
use crate::{seccomp, userns};

/// A description of a sandbox: plain data, reusable, safe to share between threads.
#[pyclass(frozen, module = "containment", name = "Sandbox")]
#[derive(Debug, Clone)]
pub struct PySandbox {
    pub(crate) inner: containment::Sandbox,
    /// `.name(args)` calls that rebuild it, for `repr()`.
    calls: Vec<(&'static str, String)>,
}

/// The keyword arguments that describe a sandbox (of `Sandbox()` and `run()`).
#[derive(Default)]
pub(crate) struct SandboxOpts<'py> {
    pub chroot: Option<Bound<'py, PyAny>>,
    pub overlay: Option<Bound<'py, PyAny>>,
    pub readonly_root: Option<Bound<'py, PyAny>>,
    pub private_tmp: Option<Bound<'py, PyAny>>,
    pub binds: Option<Bound<'py, PyAny>>,
    pub ro_binds: Option<Bound<'py, PyAny>>,
    pub tmpfs: Option<Bound<'py, PyAny>>,
    pub memory: Option<Bound<'py, PyAny>>,
    pub cpus: Option<Bound<'py, PyAny>>,
    pub pids: Option<Bound<'py, PyAny>>,
    pub cpu_quota: Option<Bound<'py, PyAny>>,
    pub cpu_weight: Option<Bound<'py, PyAny>>,
    pub net: Option<Bound<'py, PyAny>>,
    pub hostname: Option<Bound<'py, PyAny>>,
    pub user: Option<Bound<'py, PyAny>>,
    pub groups: Option<Bound<'py, PyAny>>,
    pub timeout: Option<Bound<'py, PyAny>>,
    pub rlimits: Option<Bound<'py, PyAny>>,
    pub capabilities: Option<Bound<'py, PyAny>>,
    pub seccomp: Option<Bound<'py, PyAny>>,
    pub sysfs: Option<Bound<'py, PyAny>>,
    pub cgroup_parent: Option<Bound<'py, PyAny>>,
    pub user_namespace: Option<Bound<'py, PyAny>>,
    pub idmap_binds: Option<Bound<'py, PyAny>>,
}

fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

fn repr(o: &Bound<'_, PyAny>) -> String {
    o.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into())
}

impl SandboxOpts<'_> {
    /// A `Sandbox` with these options.
    pub fn build(&self, py: Python<'_>) -> PyResult<PySandbox> {
        let mut sb = PySandbox { inner: containment::Sandbox::new(), calls: Vec::new() };
        self.apply(py, &mut sb)?;
        Ok(sb)
    }

    /// Applies the options to `sb`, in a fixed order: root, mounts (binds,
    /// read-only binds, tmpfs), then the rest.
    fn apply(&self, py: Python<'_>, sb: &mut PySandbox) -> PyResult<()> {
        if let (Some(_), Some(_)) = (given(&self.chroot), given(&self.overlay)) {
            return Err(config("chroot and overlay are exclusive: give one of them")).py(py);
        }
        if let Some(v) = given(&self.chroot) {
            sb.set_chroot(v)?;
        }
        if let Some(v) = given(&self.overlay) {
            let (template, upper) = if v.is_instance_of::<PyTuple>() {
                let t = v.cast::<PyTuple>()?;
                if t.len() != 2 {
                    return Err(type_error("overlay", "a path or a (template, upper) pair", v));
                }
                (t.get_item(0)?, Some(t.get_item(1)?))
            } else {
                (v.clone(), None)
            };
            sb.set_overlay(&template, upper.as_ref())?;
        }
        if let Some(v) = given(&self.readonly_root) {
            sb.set_readonly_root(convert::boolean(v, "readonly_root")?)?;
        }
        if let Some(v) = given(&self.private_tmp) {
            sb.set_private_tmp(convert::boolean(v, "private_tmp")?)?;
        }
        if let Some(v) = given(&self.binds) {
            for b in convert::binds(v, "binds")? {
                sb.add_bind(b, false);
            }
        }
        if let Some(v) = given(&self.ro_binds) {
            for b in convert::binds(v, "ro_binds")? {
                sb.add_bind(b, true);
            }
        }
        if let Some(v) = given(&self.tmpfs) {
            for t in convert::tmpfs(v, "tmpfs")? {
                sb.add_tmpfs(t);
            }
        }
        if let Some(v) = given(&self.memory) {
            sb.set_memory(v)?;
        }
        if let Some(v) = given(&self.cpus) {
            sb.set_cpus(v)?;
        }
        if let Some(v) = given(&self.pids) {
            sb.set_pids(v)?;
        }
        if let Some(v) = given(&self.cpu_quota) {
            sb.set_cpu_quota(v)?;
        }
        if let Some(v) = given(&self.cpu_weight) {
            sb.set_cpu_weight(v)?;
        }
        if let Some(v) = given(&self.net) {
            sb.set_net(v)?;
        }
        if let Some(v) = given(&self.hostname) {
            sb.set_hostname(v)?;
        }
        if let Some(v) = given(&self.user) {
            if v.is_instance_of::<PyTuple>() {
                let t = v.cast::<PyTuple>()?;
                if t.len() != 2 {
                    return Err(type_error("user", "an int uid or a (uid, gid) pair", v));
                }
                sb.set_user(&t.get_item(0)?, Some(&t.get_item(1)?))?;
            } else {
                sb.set_user(v, None)?;
            }
        }
        if let Some(v) = given(&self.groups) {
            sb.set_groups(v)?;
        }
        if let Some(v) = given(&self.timeout) {
            sb.set_timeout(v)?;
        }
        if let Some(v) = given(&self.rlimits) {
            for (r, soft, hard) in convert::rlimits(v, "rlimits")? {
                sb.add_rlimit(r, soft, hard);
            }
        }
        if let Some(v) = given(&self.capabilities) {
            sb.set_capabilities(v)?;
        }
        if let Some(v) = given(&self.seccomp) {
            sb.set_seccomp(v)?;
        }
        if let Some(v) = given(&self.sysfs) {
            sb.set_sysfs(convert::boolean(v, "sysfs")?)?;
        }
        if let Some(v) = given(&self.cgroup_parent) {
            sb.set_cgroup_parent(v)?;
        }
        if let Some(v) = given(&self.user_namespace) {
            sb.set_user_namespace(v)?;
        }
        if let Some(v) = given(&self.idmap_binds) {
            sb.set_idmap_binds(convert::boolean(v, "idmap_binds")?)?;
        }
        Ok(())
    }
}

impl PySandbox {
    fn update(&mut self, f: impl FnOnce(containment::Sandbox) -> containment::Sandbox) {
        self.inner = f(std::mem::take(&mut self.inner));
    }

    /// Forgets the recorded calls of `name`.
    fn forget(&mut self, name: &str) {
        self.calls.retain(|(n, _)| *n != name);
    }

    /// Records a call for `repr()`; a setting replaces an earlier one of its name.
    fn record(&mut self, name: &'static str, args: String, replaces: bool) {
        if replaces {
            self.forget(name);
        }
        self.calls.push((name, args));
    }

    /// Applies the setting `name` with `f`, and records it as `.name(shown)`.
    fn set(&mut self, name: &'static str, shown: String, f: impl FnOnce(containment::Sandbox) -> containment::Sandbox) {
        self.update(f);
        self.record(name, shown, true);
    }

    fn set_chroot(&mut self, dir: &Bound<'_, PyAny>) -> PyResult<()> {
        let p = convert::path(dir, "chroot")?;
        self.forget("overlay");
        self.set("chroot", repr(dir), |s| s.chroot(p));
        Ok(())
    }

    fn set_overlay(&mut self, template: &Bound<'_, PyAny>, upper: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let t = convert::path(template, "overlay")?;
        let (upper, shown) = match upper.filter(|u| !u.is_none()) {
            Some(u) => (Some(convert::path(u, "overlay upper")?), format!("{}, {}", repr(template), repr(u))),
            None => (None, repr(template)),
        };
        self.forget("chroot");
        self.set("overlay", shown, |s| match upper {
            Some(u) => s.overlay_persistent(t, u),
            None => s.overlay(t),
        });
        Ok(())
    }

    fn set_readonly_root(&mut self, b: bool) -> PyResult<()> {
        self.set("readonly_root", py_bool(b), |s| s.readonly_root(b));
        Ok(())
    }

    fn set_private_tmp(&mut self, b: bool) -> PyResult<()> {
        self.set("private_tmp", py_bool(b), |s| s.private_tmp(b));
        Ok(())
    }

    fn add_bind(&mut self, b: containment::BindSpec, readonly: bool) {
        let args = format!("{}, {}", quote(&convert::show(&b.src)), quote(&convert::show(&b.dst)));
        if readonly {
            self.update(|s| s.bind_ro(b.src, b.dst));
            self.record("bind_ro", args, false);
        } else {
            self.update(|s| s.bind(b.src, b.dst));
            self.record("bind", args, false);
        }
    }

    fn add_tmpfs(&mut self, t: containment::TmpfsSpec) {
        match t.size {
            Some(size) => {
                self.record("tmpfs", format!("{}, {}", quote(&convert::show(&t.dst)), quote(&size.to_string())), false);
                self.update(|s| s.tmpfs(t.dst, size));
            }
            None => {
                self.record("tmpfs", quote(&convert::show(&t.dst)), false);
                self.update(|s| s.tmpfs_unlimited(t.dst));
            }
        }
    }

    fn set_memory(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let m = convert::size(v, "memory")?;
        self.set("memory", repr(v), |s| s.memory(m));
        Ok(())
    }

    fn set_cpus(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let c = convert::cpuset(v, "cpus")?;
        self.set("cpus", quote(&c.to_string()), |s| s.cpus(c));
        Ok(())
    }

    fn set_pids(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let n = convert::uint(v, "pids", ValueKind::Number, u64::MAX, "a number of processes greater than zero")?;
        self.set("pids", repr(v), |s| s.pids(n));
        Ok(())
    }

    fn set_cpu_quota(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        if v.is_instance_of::<PyBool>() || !(v.is_instance_of::<PyFloat>() || v.is_instance_of::<PyInt>()) {
            return Err(type_error("cpu_quota", "float or int", v));
        }
        let q: f64 = v.extract()?;
        self.set("cpu_quota", repr(v), |s| s.cpu_quota(q));
        Ok(())
    }

    fn set_cpu_weight(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let w = convert::uint(v, "cpu_weight", ValueKind::Number, u64::from(u32::MAX), "a weight from 1 to 10000")?;
        self.set("cpu_weight", repr(v), |s| s.cpu_weight(w as u32));
        Ok(())
    }

    fn set_net(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let n = net::net(v)?;
        self.set("net", repr(v), |s| s.net(n));
        Ok(())
    }

    fn set_hostname(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let h = convert::hostname(v)?;
        self.set("hostname", repr(v), |s| s.hostname(h));
        Ok(())
    }

    fn set_user(&mut self, uid: &Bound<'_, PyAny>, gid: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let u = convert::id(uid, "uid")?;
        let g = match gid.filter(|g| !g.is_none()) {
            Some(g) => convert::id(g, "gid")?,
            None => u,
        };
        self.set("user", format!("{u}, {g}"), |s| s.user(u, g));
        Ok(())
    }

    fn set_groups(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let g = convert::ids(v, "groups")?;
        self.set("groups", format!("{g:?}"), |s| s.groups(g));
        Ok(())
    }

    fn set_timeout(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let d = convert::duration(v, "timeout")?;
        self.set("timeout", repr(v), |s| s.timeout(d));
        Ok(())
    }

    fn add_rlimit(&mut self, r: Rlimit, soft: u64, hard: u64) {
        self.update(|s| s.rlimit_soft_hard(r, soft, hard));
        let show = |v: u64| if v == u64::MAX { "None".to_string() } else { v.to_string() };
        let name = r.name();
        self.calls.retain(|(n, a)| !(*n == "rlimit" && a.starts_with(&format!("{},", quote(name)))));
        self.record("rlimit", format!("{}, {}, {}", quote(name), show(soft), show(hard)), false);
    }

    fn set_capabilities(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let names = convert::strings(v, "capabilities")?;
        for n in &names {
            containment::parse_capability(n).py(v.py())?;
        }
        let shown = format!("[{}]", names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", "));
        self.set("capabilities", shown, |s| s.capability_names(names));
        Ok(())
    }

    fn set_seccomp(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let (policy, shown) = seccomp::seccomp(v)?;
        self.set("seccomp", shown, |s| s.seccomp(policy));
        Ok(())
    }

    fn set_user_namespace(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let (ns, shown) = userns::user_namespace(v)?;
        self.set("user_namespace", shown, |s| s.user_namespace(ns));
        Ok(())
    }

    fn set_idmap_binds(&mut self, b: bool) -> PyResult<()> {
        self.set("idmap_binds", py_bool(b), |s| s.idmap_binds(b));
        Ok(())
    }

    fn set_sysfs(&mut self, on: bool) -> PyResult<()> {
        self.set("sysfs", py_bool(on), |s| s.sysfs(on));
        Ok(())
    }

    fn set_cgroup_parent(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let p = convert::path(v, "cgroup_parent")?;
        self.set("cgroup_parent", repr(v), |s| s.cgroup_parent(p));
        Ok(())
    }

    /// A copy with `f` applied.
    fn with(&self, f: impl FnOnce(&mut PySandbox) -> PyResult<()>) -> PyResult<PySandbox> {
        let mut s = self.clone();
        f(&mut s)?;
        Ok(s)
    }
}

#[pymethods]
impl PySandbox {
    #[new]
    #[pyo3(signature = (
        *, chroot=None, overlay=None, readonly_root=None, private_tmp=None, binds=None, ro_binds=None,
        tmpfs=None, memory=None, cpus=None, pids=None, cpu_quota=None, cpu_weight=None, net=None,
        hostname=None, user=None, groups=None, timeout=None, rlimits=None, capabilities=None,
        seccomp=None, sysfs=None, cgroup_parent=None, user_namespace=None, idmap_binds=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new<'py>(
        py: Python<'py>,
        chroot: Option<Bound<'py, PyAny>>,
        overlay: Option<Bound<'py, PyAny>>,
        readonly_root: Option<Bound<'py, PyAny>>,
        private_tmp: Option<Bound<'py, PyAny>>,
        binds: Option<Bound<'py, PyAny>>,
        ro_binds: Option<Bound<'py, PyAny>>,
        tmpfs: Option<Bound<'py, PyAny>>,
        memory: Option<Bound<'py, PyAny>>,
        cpus: Option<Bound<'py, PyAny>>,
        pids: Option<Bound<'py, PyAny>>,
        cpu_quota: Option<Bound<'py, PyAny>>,
        cpu_weight: Option<Bound<'py, PyAny>>,
        net: Option<Bound<'py, PyAny>>,
        hostname: Option<Bound<'py, PyAny>>,
        user: Option<Bound<'py, PyAny>>,
        groups: Option<Bound<'py, PyAny>>,
        timeout: Option<Bound<'py, PyAny>>,
        rlimits: Option<Bound<'py, PyAny>>,
        capabilities: Option<Bound<'py, PyAny>>,
        seccomp: Option<Bound<'py, PyAny>>,
        sysfs: Option<Bound<'py, PyAny>>,
        cgroup_parent: Option<Bound<'py, PyAny>>,
        user_namespace: Option<Bound<'py, PyAny>>,
        idmap_binds: Option<Bound<'py, PyAny>>,
    ) -> PyResult<PySandbox> {
        let opts = SandboxOpts {
            chroot,
            overlay,
            readonly_root,
            private_tmp,
            binds,
            ro_binds,
            tmpfs,
            memory,
            cpus,
            pids,
            cpu_quota,
            cpu_weight,
            net,
            hostname,
            user,
            groups,
            timeout,
            rlimits,
            capabilities,
            seccomp,
            sysfs,
            cgroup_parent,
            user_namespace,
            idmap_binds,
        };
        opts.build(py)
    }

    /// Makes the host directory `dir` the sandbox's `/` (through `pivot_root`).
    fn chroot(&self, dir: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_chroot(dir))
    }

    /// Makes `template` the sandbox's `/` as the lower layer of an overlay; the
    /// changes go to a private tmpfs, or to the host directory `upper`.
    #[pyo3(signature = (template, upper=None))]
    fn overlay(&self, template: &Bound<'_, PyAny>, upper: Option<&Bound<'_, PyAny>>) -> PyResult<PySandbox> {
        self.with(|s| s.set_overlay(template, upper))
    }

    /// Makes `/` read-only (mounts on it keep their own modes).
    #[pyo3(signature = (readonly=true))]
    fn readonly_root(&self, readonly: bool) -> PyResult<PySandbox> {
        self.with(|s| s.set_readonly_root(readonly))
    }

    /// Whether `/tmp` is a private tmpfs (the default: yes).
    #[pyo3(signature = (enabled=true))]
    fn private_tmp(&self, enabled: bool) -> PyResult<PySandbox> {
        self.with(|s| s.set_private_tmp(enabled))
    }

    /// Binds the host path `src` read-write at `dst` inside (default: the same path).
    #[pyo3(signature = (src, dst=None))]
    fn bind(&self, src: &Bound<'_, PyAny>, dst: Option<&Bound<'_, PyAny>>) -> PyResult<PySandbox> {
        self.with(|s| {
            let b = convert::bind_spec(src, dst, "bind")?;
            s.add_bind(b, false);
            Ok(())
        })
    }

    /// Binds the host path `src` read-only (and nosuid, nodev) at `dst` inside.
    #[pyo3(signature = (src, dst=None))]
    fn bind_ro(&self, src: &Bound<'_, PyAny>, dst: Option<&Bound<'_, PyAny>>) -> PyResult<PySandbox> {
        self.with(|s| {
            let b = convert::bind_spec(src, dst, "bind_ro")?;
            s.add_bind(b, true);
            Ok(())
        })
    }

    /// Mounts a fresh tmpfs at `dst`, of at most `size` (default: the kernel's).
    #[pyo3(signature = (dst, size=None))]
    fn tmpfs(&self, dst: &Bound<'_, PyAny>, size: Option<&Bound<'_, PyAny>>) -> PyResult<PySandbox> {
        self.with(|s| {
            let t = convert::tmpfs_spec(dst, size, "tmpfs")?;
            s.add_tmpfs(t);
            Ok(())
        })
    }

    /// Limits memory (`"128M"` or bytes), without swap: beyond it, the OOM killer.
    fn memory(&self, limit: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_memory(limit))
    }

    /// Confines the sandbox to these CPUs (`"1,3"`, `[1, 3]` or `1`).
    fn cpus(&self, cpus: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_cpus(cpus))
    }

    /// Allows at most `max` processes and threads at once.
    fn pids(&self, max: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_pids(max))
    }

    /// Caps CPU time at `cpus` CPUs' worth (0.5: half of one CPU).
    fn cpu_quota(&self, cpus: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_cpu_quota(cpus))
    }

    /// The share of CPU time when CPUs are busy, from 1 to 10000 (default 100).
    fn cpu_weight(&self, weight: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_cpu_weight(weight))
    }

    /// The network: `None`/`"none"` (only `lo`), `"none-reused"` (only `lo`, the
    /// namespace kept for the next sandbox), `"host"`, or a `Bridge`.
    fn net(&self, net: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_net(net))
    }

    /// The host name inside (default `sandbox`).
    fn hostname(&self, name: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_hostname(name))
    }

    /// Runs the program as `uid` and `gid` (default: `gid = uid`).
    #[pyo3(signature = (uid, gid=None))]
    fn user(&self, uid: &Bound<'_, PyAny>, gid: Option<&Bound<'_, PyAny>>) -> PyResult<PySandbox> {
        self.with(|s| s.set_user(uid, gid))
    }

    /// Supplementary groups of the program.
    fn groups(&self, groups: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_groups(groups))
    }

    /// Kills the whole sandbox after `seconds` of wall-clock time (`timed_out`).
    fn timeout(&self, seconds: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_timeout(seconds))
    }

    /// Sets a resource limit (`"nofile"`, `"as"`, ...): `soft`, and `hard`
    /// (default: `soft`); `None` or `"unlimited"` for no limit.
    #[pyo3(signature = (resource, soft, hard=None))]
    fn rlimit(
        &self,
        resource: &Bound<'_, PyAny>,
        soft: &Bound<'_, PyAny>,
        hard: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySandbox> {
        self.with(|s| {
            let r = convert::rlimit_name(resource, "resource")?;
            let (soft_v, _) = convert::rlimit_pair(r, soft, "soft")?;
            let hard_v = match hard {
                Some(h) => convert::rlimit_pair(r, h, "hard")?.0,
                None => soft_v,
            };
            s.add_rlimit(r, soft_v, hard_v);
            Ok(())
        })
    }

    /// Capabilities the program keeps (by name, like `"CAP_NET_BIND_SERVICE"`).
    fn capabilities(&self, names: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_capabilities(names))
    }

    /// The seccomp filter: `True` (the default filter, the default), `False` (no
    /// filter), or a `Seccomp` (the default filter with changes).
    #[pyo3(signature = (policy=None), text_signature = "($self, policy=True)")]
    fn seccomp(&self, py: Python<'_>, policy: Option<&Bound<'_, PyAny>>) -> PyResult<PySandbox> {
        let on = pyo3::types::PyBool::new(py, true).to_owned().into_any();
        self.with(|s| s.set_seccomp(policy.unwrap_or(&on)))
    }

    /// The user namespace: `"auto"` (the default: an exclusive range of 65536
    /// host ids for a root caller, the caller's own ids otherwise), `"off"` (root
    /// inside is root outside), `"own"` (the caller's ids are root inside),
    /// `"range"` or `("range", size)` (an exclusive range of `size` host ids), or
    /// `IdMaps(uid=[...], gid=[...])`.
    fn user_namespace(&self, ns: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_user_namespace(ns))
    }

    /// Whether binds (and a chroot or overlay root) are idmapped mounts in a user
    /// namespace (default: yes): host files keep their owners inside, and what
    /// the sandbox's root writes is owned by the caller on the host.
    #[pyo3(signature = (enabled=true))]
    fn idmap_binds(&self, enabled: bool) -> PyResult<PySandbox> {
        self.with(|s| s.set_idmap_binds(enabled))
    }

    /// Whether a read-only `/sys` is mounted (default: no).
    #[pyo3(signature = (enabled=true))]
    fn sysfs(&self, enabled: bool) -> PyResult<PySandbox> {
        self.with(|s| s.set_sysfs(enabled))
    }

    /// Where the sandbox's cgroups are made (relative to each hierarchy's root).
    fn cgroup_parent(&self, path: &Bound<'_, PyAny>) -> PyResult<PySandbox> {
        self.with(|s| s.set_cgroup_parent(path))
    }

    /// Runs `args` in a sandbox made from this description and waits for it; see
    /// `containment.run`.
    #[pyo3(signature = (
        args, *, stdin=None, stdout=None, stderr=None, input=None, capture_output=false, check=false,
        text=false, encoding=None, errors=None, env=None, inherit_env=false, env_remove=None, cwd=None,
        executable=None, host_program=false, timeout=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        args: Bound<'py, PyAny>,
        stdin: Option<Bound<'py, PyAny>>,
        stdout: Option<Bound<'py, PyAny>>,
        stderr: Option<Bound<'py, PyAny>>,
        input: Option<Bound<'py, PyAny>>,
        capture_output: bool,
        check: bool,
        text: bool,
        encoding: Option<Bound<'py, PyAny>>,
        errors: Option<Bound<'py, PyAny>>,
        env: Option<Bound<'py, PyAny>>,
        inherit_env: bool,
        env_remove: Option<Bound<'py, PyAny>>,
        cwd: Option<Bound<'py, PyAny>>,
        executable: Option<Bound<'py, PyAny>>,
        host_program: bool,
        timeout: Option<Bound<'py, PyAny>>,
    ) -> PyResult<CompletedProcess> {
        let sb = match given(&timeout) {
            Some(t) => self.with(|s| s.set_timeout(t))?,
            None => self.clone(),
        };
        let cmd = CommandOpts {
            args,
            env,
            cwd,
            executable,
            stdin,
            stdout,
            stderr,
            text,
            encoding,
            errors,
            inherit_env,
            env_remove,
            host_program,
        };
        command::run(py, &Target::New(&sb.inner), cmd, RunOpts { input, capture_output, check }, None)
    }

    /// Starts `args` in a sandbox made from this description; returns a `Process`.
    /// Standard descriptors default to the caller's own.
    #[pyo3(signature = (
        args, *, stdin=None, stdout=None, stderr=None, text=false, encoding=None, errors=None, env=None,
        inherit_env=false, env_remove=None, cwd=None, executable=None, host_program=false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn spawn<'py>(
        &self,
        py: Python<'py>,
        args: Bound<'py, PyAny>,
        stdin: Option<Bound<'py, PyAny>>,
        stdout: Option<Bound<'py, PyAny>>,
        stderr: Option<Bound<'py, PyAny>>,
        text: bool,
        encoding: Option<Bound<'py, PyAny>>,
        errors: Option<Bound<'py, PyAny>>,
        env: Option<Bound<'py, PyAny>>,
        inherit_env: bool,
        env_remove: Option<Bound<'py, PyAny>>,
        cwd: Option<Bound<'py, PyAny>>,
        executable: Option<Bound<'py, PyAny>>,
        host_program: bool,
    ) -> PyResult<Process> {
        let cmd = CommandOpts {
            args,
            env,
            cwd,
            executable,
            stdin,
            stdout,
            stderr,
            text,
            encoding,
            errors,
            inherit_env,
            env_remove,
            host_program,
        };
        command::spawn(py, &Target::New(&self.inner), cmd)
    }

    /// Starts a sandbox made from this description that stays up, and returns a
    /// `Running`: without `args`, with no program (run programs in it with
    /// `Running.spawn`/`run`); with `args`, with that main program (the sandbox
    /// ends when it does; its pipes are the `Running`'s `stdin`/`stdout`/`stderr`).
    /// `name` makes it findable by other processes (`Running.open`, `list()`);
    /// `persistent=True` (with a name) lets it outlive this process once detached.
    #[pyo3(signature = (
        args=None, *, name=None, persistent=false, stdin=None, stdout=None, stderr=None, text=false,
        encoding=None, errors=None, env=None, inherit_env=false, env_remove=None, cwd=None, executable=None,
        host_program=false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn start<'py>(
        &self,
        py: Python<'py>,
        args: Option<Bound<'py, PyAny>>,
        name: Option<Bound<'py, PyAny>>,
        persistent: bool,
        stdin: Option<Bound<'py, PyAny>>,
        stdout: Option<Bound<'py, PyAny>>,
        stderr: Option<Bound<'py, PyAny>>,
        text: bool,
        encoding: Option<Bound<'py, PyAny>>,
        errors: Option<Bound<'py, PyAny>>,
        env: Option<Bound<'py, PyAny>>,
        inherit_env: bool,
        env_remove: Option<Bound<'py, PyAny>>,
        cwd: Option<Bound<'py, PyAny>>,
        executable: Option<Bound<'py, PyAny>>,
        host_program: bool,
    ) -> PyResult<PyRunning> {
        let mut sb = self.inner.clone().persistent(persistent);
        if let Some(n) = given(&name) {
            let n = convert::string(n, "name")?;
            containment::validate_name(&n).py(py)?;
            sb = sb.name(n);
        }
        let Some(args) = args.filter(|a| !a.is_none()) else {
            let program_only = [&stdin, &stdout, &stderr, &encoding, &errors, &env, &env_remove, &cwd, &executable]
                .into_iter()
                .any(|o| given(o).is_some());
            if program_only || text || inherit_env || host_program {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "start(): the program's arguments (stdin, stdout, env, cwd, ...) need args, the main program",
                ));
            }
            let running = py.detach(move || sb.start()).py(py)?;
            return PyRunning::started(py, running, py.None(), [None, None, None], None);
        };
        let cmd = CommandOpts {
            args,
            env,
            cwd,
            executable,
            stdin,
            stdout,
            stderr,
            text,
            encoding,
            errors,
            inherit_env,
            env_remove,
            host_program,
        };
        command::start(py, &sb, cmd)
    }

    fn __repr__(&self) -> String {
        let mut s = "Sandbox()".to_string();
        for (name, args) in &self.calls {
            s += &format!(".{name}({args})");
        }
        s
    }
}
