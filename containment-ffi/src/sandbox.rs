//! `containment_sandbox`: the builder.

use std::ffi::{c_char, c_int, OsStr};
use std::ptr;
use std::time::Duration;

use containment::{
    BridgeNet, CpuSet, IdMap, Ipv4Net, MemoryLimit, Net, Rlimit, Sandbox, Seccomp, UserNamespace, ValueKind,
};

use crate::error::containment_error;
use crate::handle::{
    self, call, call_value, get, get_mut, os_str, put, slice, string_array, text, utf8, Fail, Handle, Kind,
};
use crate::status::containment_status;

/// A description of a sandbox: its root, mounts, identity, limits and timeout. It is
/// plain data: the setters only record (values given as text are parsed at once);
/// everything that needs the host is checked when a command made from it is
/// spawned, before anything is created. One sandbox can start any number of
/// sandboxes. The defaults are the safe ones (new namespaces, the embedded
/// read-only default root, a private /tmp, no capabilities, no network but lo).
///
/// Ownership: made by containment_sandbox_new() or containment_sandbox_clone(),
/// owned by the caller, freed with containment_sandbox_free(). Commands made from it
/// take a copy: later changes to the sandbox do not affect them, and it may be
/// freed while they live.
///
/// Thread safety: functions taking a `const containment_sandbox *` (clone, the
/// command constructors, containment_sandbox_spawn()) may be called on one sandbox
/// from several threads at once, as long as no thread modifies or frees it at the
/// same time; the setters and free need exclusive use.
#[derive(Clone)]
pub struct containment_sandbox {
    inner: Sandbox,
    /// The network as set so far, for the net_* functions that refine it (the Rust
    /// `Sandbox` does not give its network back).
    net: Net,
    /// The seccomp policy as set so far, likewise.
    seccomp: Seccomp,
    /// Whether it is persistent, likewise (containment_running_detach() needs it).
    pub(crate) persistent: bool,
}

impl Handle for containment_sandbox {
    const KIND: Kind = Kind::Sandbox;
}

impl containment_sandbox {
    fn new(inner: Sandbox) -> containment_sandbox {
        containment_sandbox { inner, net: Net::default(), seccomp: Seccomp::default_filter(), persistent: false }
    }

    /// The description.
    pub(crate) fn inner(&self) -> &Sandbox {
        &self.inner
    }

    /// Applies one of the consuming Rust setters in place. The placeholder left
    /// while the setter runs is the safe default, should the setter ever panic.
    fn update(&mut self, f: impl FnOnce(Sandbox) -> Sandbox) {
        let old = std::mem::replace(&mut self.inner, Sandbox::new());
        self.inner = f(old);
    }
}

/// Which resource limit a containment_sandbox_rlimit() call sets: one of the
/// CONTAINMENT_RLIMIT_* constants. Any other number is refused with
/// CONTAINMENT_INVALID_VALUE.
///
/// Ownership and thread safety: a plain value.
pub type containment_rlimit = c_int;
/// RLIMIT_AS: address space in bytes.
pub const CONTAINMENT_RLIMIT_AS: containment_rlimit = 0;
/// RLIMIT_NOFILE: open descriptors.
pub const CONTAINMENT_RLIMIT_NOFILE: containment_rlimit = 1;
/// RLIMIT_NPROC: processes of the real user id (not enforced for uid 0).
pub const CONTAINMENT_RLIMIT_NPROC: containment_rlimit = 2;
/// RLIMIT_CPU: CPU seconds (SIGXCPU at the soft limit, SIGKILL at the hard one).
pub const CONTAINMENT_RLIMIT_CPU: containment_rlimit = 3;
/// RLIMIT_FSIZE: the largest file the program may write, in bytes.
pub const CONTAINMENT_RLIMIT_FSIZE: containment_rlimit = 4;
/// RLIMIT_CORE: the largest core dump, in bytes.
pub const CONTAINMENT_RLIMIT_CORE: containment_rlimit = 5;
/// RLIMIT_STACK: stack size in bytes.
pub const CONTAINMENT_RLIMIT_STACK: containment_rlimit = 6;
/// RLIMIT_DATA: data segment size in bytes.
pub const CONTAINMENT_RLIMIT_DATA: containment_rlimit = 7;
/// RLIMIT_MEMLOCK: locked memory in bytes.
pub const CONTAINMENT_RLIMIT_MEMLOCK: containment_rlimit = 8;
/// The value meaning "no limit" (RLIM_INFINITY) for containment_sandbox_rlimit().
pub const CONTAINMENT_RLIMIT_UNLIMITED: u64 = 0xFFFF_FFFF_FFFF_FFFF;
/// The smallest memory limit a sandbox accepts at spawn, in bytes (1 MiB).
pub const CONTAINMENT_MIN_MEMORY: u64 = 1048576;

/// Which user namespace a sandbox gets, for containment_sandbox_user_namespace(): one
/// of the CONTAINMENT_USERNS_* constants. Any other number is refused with
/// CONTAINMENT_INVALID_VALUE.
///
/// Ownership and thread safety: a plain value.
pub type containment_userns = c_int;
/// The default: a root caller gets an exclusive range of 65536 host ids (root inside
/// is an unprivileged id outside); another caller's own ids are root inside.
pub const CONTAINMENT_USERNS_AUTO: containment_userns = 0;
/// No user namespace: root inside is root outside (root callers only).
pub const CONTAINMENT_USERNS_OFF: containment_userns = 1;
/// The caller's own uid and gid are root inside, and nothing else is mapped.
pub const CONTAINMENT_USERNS_OWN: containment_userns = 2;

/// One range of a user namespace's id map: `count` ids from `inside` are the host
/// ids from `outside`.
///
/// Ownership and thread safety: plain data, owned by whoever declares it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct containment_idmap {
    /// First id inside the sandbox.
    pub inside: u32,
    /// First id on the host.
    pub outside: u32,
    /// How many ids (at least 1).
    pub count: u32,
}

fn rlimit_of(resource: containment_rlimit) -> Result<Rlimit, Fail> {
    Ok(match resource {
        CONTAINMENT_RLIMIT_AS => Rlimit::AddressSpace,
        CONTAINMENT_RLIMIT_NOFILE => Rlimit::OpenFiles,
        CONTAINMENT_RLIMIT_NPROC => Rlimit::Processes,
        CONTAINMENT_RLIMIT_CPU => Rlimit::CpuSeconds,
        CONTAINMENT_RLIMIT_FSIZE => Rlimit::FileSize,
        CONTAINMENT_RLIMIT_CORE => Rlimit::CoreSize,
        CONTAINMENT_RLIMIT_STACK => Rlimit::Stack,
        CONTAINMENT_RLIMIT_DATA => Rlimit::Data,
        CONTAINMENT_RLIMIT_MEMLOCK => Rlimit::LockedMemory,
        other => {
            return Err(Fail::invalid(
                ValueKind::Argument,
                other.to_string(),
                "unknown rlimit resource",
                "one of the CONTAINMENT_RLIMIT_* constants",
            ))
        }
    })
}

/// A new sandbox description with the safe defaults.
///
/// Free it with containment_sandbox_free().
///
/// Errors: NULL only if memory runs out.
#[no_mangle]
pub extern "C" fn containment_sandbox_new() -> *mut containment_sandbox {
    call_value(ptr::null_mut(), || handle::into_raw(containment_sandbox::new(Sandbox::new())))
}

/// Frees a sandbox description. NULL, and a sandbox that was already freed, are
/// ignored. Commands and children made from it are not affected.
///
/// Errors: none.
///
/// # Safety
/// `sandbox` is NULL or a pointer this library gave out; no other thread uses it.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_free(sandbox: *mut containment_sandbox) {
    // SAFETY: forwarded to the caller.
    call_value((), || unsafe { handle::free(sandbox) })
}

/// Stores in `*out` a new, independent copy of `sandbox` (free it with
/// containment_sandbox_free()).
///
/// Errors: only the common ones (CONTAINMENT_NULL_ARGUMENT,
/// CONTAINMENT_INVALID_HANDLE).
///
/// # Safety
/// `sandbox` is NULL or a pointer this library gave out; `out` is NULL or writable;
/// `error` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_clone(
    sandbox: *const containment_sandbox,
    out: *mut *mut containment_sandbox,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe {
        call(error, || {
            let sb = get(sandbox, "sandbox")?;
            put(out, "out", || Ok(handle::into_raw(sb.clone())))
        })
    }
}

/// Runs a setter: checks the handle, lets `prepare` check the arguments and make
/// the change, then applies it.
///
/// # Safety
/// As [`call`] and [`get_mut`]; `prepare` may rely on the same guarantees.
pub(crate) unsafe fn set<F: FnOnce(Sandbox) -> Sandbox>(
    sandbox: *mut containment_sandbox,
    error: *mut *mut containment_error,
    prepare: impl FnOnce() -> Result<F, Fail>,
) -> containment_status {
    // SAFETY: forwarded to the caller.
    unsafe {
        call(error, || {
            let sb = get_mut(sandbox, "sandbox")?;
            let f = prepare()?;
            sb.update(f);
            Ok(())
        })
    }
}

/// Runs a change that needs the whole handle (and its shadow state), after `f`
/// checked the arguments.
///
/// # Safety
/// As [`call`] and [`get_mut`]; `f` may rely on the same guarantees.
pub(crate) unsafe fn set_handle(
    sandbox: *mut containment_sandbox,
    error: *mut *mut containment_error,
    f: impl FnOnce(&mut containment_sandbox) -> Result<(), Fail>,
) -> containment_status {
    // SAFETY: forwarded to the caller.
    unsafe { call(error, || f(get_mut(sandbox, "sandbox")?)) }
}

/// Runs a setter whose argument is the path (or other bytes) `p`, named `name`.
///
/// # Safety
/// As [`set`]; `p` is as for [`os_str`].
unsafe fn set_path(
    sandbox: *mut containment_sandbox,
    error: *mut *mut containment_error,
    (p, name): (*const c_char, &'static str),
    f: impl FnOnce(Sandbox, &OsStr) -> Sandbox,
) -> containment_status {
    // SAFETY: forwarded to the caller.
    unsafe {
        set(sandbox, error, || {
            let p = os_str(p, name)?;
            Ok(move |s: Sandbox| f(s, p))
        })
    }
}

/// Runs a setter whose arguments are two paths, `a` then `b` (each with its name).
///
/// # Safety
/// As [`set_path`].
unsafe fn set_paths(
    sandbox: *mut containment_sandbox,
    error: *mut *mut containment_error,
    (a, a_name): (*const c_char, &'static str),
    (b, b_name): (*const c_char, &'static str),
    f: impl FnOnce(Sandbox, &OsStr, &OsStr) -> Sandbox,
) -> containment_status {
    // SAFETY: forwarded to the caller.
    unsafe {
        set(sandbox, error, || {
            let a = os_str(a, a_name)?;
            let b = os_str(b, b_name)?;
            Ok(move |s: Sandbox| f(s, a, b))
        })
    }
}

/// Runs a change of the seccomp policy set so far.
///
/// # Safety
/// As [`set_handle`].
unsafe fn set_seccomp(
    sandbox: *mut containment_sandbox,
    error: *mut *mut containment_error,
    f: impl FnOnce(Seccomp) -> Seccomp,
) -> containment_status {
    // SAFETY: forwarded to the caller.
    unsafe {
        set_handle(sandbox, error, |h| {
            h.refine_seccomp(f);
            Ok(())
        })
    }
}

/// Sets a network without a bridge (`net` makes it).
///
/// # Safety
/// As [`set_handle`].
unsafe fn set_net(
    sandbox: *mut containment_sandbox,
    error: *mut *mut containment_error,
    net: fn() -> Net,
) -> containment_status {
    // SAFETY: forwarded to the caller.
    unsafe {
        set_handle(sandbox, error, |h| {
            h.set_net(net());
            Ok(())
        })
    }
}

impl containment_sandbox {
    /// Applies one of the consuming Rust setters in place (for other modules).
    pub(crate) fn apply(&mut self, f: impl FnOnce(Sandbox) -> Sandbox) {
        self.update(f);
    }

    /// Sets the network `n`, remembering it for the net_* functions that refine it.
    fn set_net(&mut self, n: Net) {
        self.net = n.clone();
        self.update(|s| s.net(n));
    }

    /// Sets the bridge network `b`, remembering it for the net_* functions that
    /// refine it.
    fn set_bridge(&mut self, b: BridgeNet) {
        self.set_net(Net::Bridge(b));
    }

    /// Changes the bridge network set so far and applies it.
    fn refine_bridge(&mut self, f: impl FnOnce(BridgeNet) -> BridgeNet) -> Result<(), Fail> {
        let Net::Bridge(b) = &self.net else {
            return Err(Fail::config("the sandbox has no bridge network: call containment_sandbox_net_bridge first"));
        };
        let b = f(b.clone());
        self.set_bridge(b);
        Ok(())
    }

    /// Keeps the sandbox's network namespace for the next sandbox (`yes`), or not.
    fn reuse_net(&mut self, yes: bool) -> Result<(), Fail> {
        match &self.net {
            Net::Bridge(_) => self.refine_bridge(|b| b.reuse(yes)),
            Net::None | Net::NoneReused => {
                self.set_net(if yes { Net::none_reused() } else { Net::none() });
                Ok(())
            }
            Net::Host => Err(Fail::config(
                "the sandbox shares the host's network: only a network namespace of its own (none or a bridge) is kept",
            )),
            _ => Err(Fail::config("this network's namespace cannot be kept: only none or a bridge network's is")),
        }
    }

    /// Changes the seccomp policy set so far and applies it.
    fn refine_seccomp(&mut self, f: impl FnOnce(Seccomp) -> Seccomp) {
        let policy = f(std::mem::take(&mut self.seccomp));
        self.seccomp = policy.clone();
        self.update(|s| s.seccomp(policy));
    }
}

/// Makes the host directory `dir` the sandbox's root (through pivot_root; the old
/// root is detached). /proc, a minimal /dev and a private /tmp are mounted in it.
/// `dir` is used byte for byte (it need not be UTF-8).
///
/// Errors: only the common ones; whether `dir` exists is checked at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_chroot(
    sandbox: *mut containment_sandbox,
    dir: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_path(sandbox, error, (dir, "dir"), |s, dir| s.chroot(dir)) }
}

/// Makes `template` the root without letting the sandbox change it: an overlay
/// whose upper layer is a private tmpfs.
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_overlay(
    sandbox: *mut containment_sandbox,
    template: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_path(sandbox, error, (template, "template"), |s, template| s.overlay(template)) }
}

/// Like containment_sandbox_overlay(), but the changes are kept in the host
/// directory `dir` (in dir/upper, with dir/work as overlayfs' work directory).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_overlay_persistent(
    sandbox: *mut containment_sandbox,
    template: *const c_char,
    dir: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set_paths(sandbox, error, (template, "template"), (dir, "dir"), |s, template, dir| {
            s.overlay_persistent(template, dir)
        })
    }
}

/// Makes / read-only (`readonly` true) or writable (false, the default); the
/// mounts on it keep their own modes.
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_readonly_root(
    sandbox: *mut containment_sandbox,
    readonly: bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set(sandbox, error, || Ok(move |s: Sandbox| s.readonly_root(readonly))) }
}

/// Binds the host path `src` (file or directory) read-write at `dst` inside.
///
/// Errors: only the common ones; both paths are checked at spawn (`dst` may not
/// escape the root).
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_bind(
    sandbox: *mut containment_sandbox,
    src: *const c_char,
    dst: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_paths(sandbox, error, (src, "src"), (dst, "dst"), |s, src, dst| s.bind(src, dst)) }
}

/// Binds the host path `src` read-only (and nosuid, nodev, recursively) at `dst`.
///
/// Errors: only the common ones; both paths are checked at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_bind_ro(
    sandbox: *mut containment_sandbox,
    src: *const c_char,
    dst: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_paths(sandbox, error, (src, "src"), (dst, "dst"), |s, src, dst| s.bind_ro(src, dst)) }
}

/// Mounts a fresh tmpfs of at most `size` at `dst`; `size` is a size such as
/// "64M", "128MiB" or "1048576" (units are powers of 1024, case-insensitive).
///
/// Errors: CONTAINMENT_INVALID_VALUE when `size` does not parse or is zero; the
/// common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_tmpfs(
    sandbox: *mut containment_sandbox,
    dst: *const c_char,
    size: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let dst = os_str(dst, "dst")?;
            let size: MemoryLimit = text(size, "size")?.parse()?;
            Ok(move |s: Sandbox| s.tmpfs(dst, size))
        })
    }
}

/// Mounts a fresh tmpfs of at most `bytes` bytes at `dst`.
///
/// Errors: CONTAINMENT_INVALID_VALUE when `bytes` is 0; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_tmpfs_bytes(
    sandbox: *mut containment_sandbox,
    dst: *const c_char,
    bytes: u64,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let dst = os_str(dst, "dst")?;
            let size = MemoryLimit::from_bytes(bytes)?;
            Ok(move |s: Sandbox| s.tmpfs(dst, size))
        })
    }
}

/// Mounts a fresh tmpfs at `dst` with the kernel's default size (half of RAM,
/// charged to the sandbox's memory limit when it has one).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_tmpfs_unlimited(
    sandbox: *mut containment_sandbox,
    dst: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_path(sandbox, error, (dst, "dst"), |s, dst| s.tmpfs_unlimited(dst)) }
}

/// Whether to mount a private tmpfs on /tmp (the default: true).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_private_tmp(
    sandbox: *mut containment_sandbox,
    yes: bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set(sandbox, error, || Ok(move |s: Sandbox| s.private_tmp(yes))) }
}

/// Sets the host name inside (1 to 64 characters out of A-Z a-z 0-9 . - _; the
/// default is "sandbox").
///
/// Errors: only the common ones; the name is checked at spawn
/// (CONTAINMENT_INVALID_VALUE then).
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_hostname(
    sandbox: *mut containment_sandbox,
    name: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_path(sandbox, error, (name, "name"), |s, name| s.hostname(name)) }
}

/// Runs the program as `uid` and `gid` inside (with no supplementary groups
/// unless containment_sandbox_groups() gives some). The default is the caller's
/// ids.
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_user(
    sandbox: *mut containment_sandbox,
    uid: u32,
    gid: u32,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set(sandbox, error, || Ok(move |s: Sandbox| s.user(uid, gid))) }
}

/// Sets the program's supplementary groups to the `count` ids at `groups` (used
/// with containment_sandbox_user()). `groups` may be NULL when `count` is 0.
///
/// Errors: CONTAINMENT_NULL_ARGUMENT when `groups` is NULL and `count` is not 0;
/// the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_groups(
    sandbox: *mut containment_sandbox,
    groups: *const u32,
    count: usize,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let groups = slice(groups, count, "groups")?.to_vec();
            Ok(move |s: Sandbox| s.groups(groups))
        })
    }
}

/// Limits the sandbox's memory to `limit`, a size such as "128M" (powers of
/// 1024; "128MB" and "128MiB" mean the same), with no swap. A sandbox that needs
/// more has a process killed by the OOM killer, and the outcome's `oom_killed`
/// says so.
///
/// Errors: CONTAINMENT_INVALID_VALUE when `limit` does not parse ("1XB", "-5M",
/// "", "5.5M") or is zero; the common ones. A limit below CONTAINMENT_MIN_MEMORY
/// is refused at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_memory(
    sandbox: *mut containment_sandbox,
    limit: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let limit: MemoryLimit = text(limit, "limit")?.parse()?;
            Ok(move |s: Sandbox| s.memory(limit))
        })
    }
}

/// Limits the sandbox's memory to `bytes` bytes; see containment_sandbox_memory().
///
/// Errors: CONTAINMENT_INVALID_VALUE when `bytes` is 0; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_memory_bytes(
    sandbox: *mut containment_sandbox,
    bytes: u64,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let limit = MemoryLimit::from_bytes(bytes)?;
            Ok(move |s: Sandbox| s.memory(limit))
        })
    }
}

/// Confines the sandbox to the CPUs in `cpus`, a list in the kernel's format such
/// as "1,3" or "0-3,7". They must lie within the CPUs the cgroup parent allows
/// (checked at spawn; the error names those).
///
/// Errors: CONTAINMENT_INVALID_VALUE when `cpus` does not parse ("3-1", "-",
/// "1-", "a", "65537"); the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_cpus(
    sandbox: *mut containment_sandbox,
    cpus: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let cpus: CpuSet = text(cpus, "cpus")?.parse()?;
            Ok(move |s: Sandbox| s.cpus(cpus))
        })
    }
}

/// Confines the sandbox to the `count` CPU ids at `cpus` (any order, duplicates
/// allowed); see containment_sandbox_cpus().
///
/// Errors: CONTAINMENT_INVALID_VALUE when `count` is 0 or an id is negative or
/// above 65535; CONTAINMENT_NULL_ARGUMENT when `cpus` is NULL and `count` is not
/// 0; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_cpus_array(
    sandbox: *mut containment_sandbox,
    cpus: *const c_int,
    count: usize,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let ids = slice(cpus, count, "cpus")?;
            if let Some(bad) = ids.iter().find(|&&c| c < 0) {
                return Err(Fail::invalid(
                    ValueKind::CpuSet,
                    bad.to_string(),
                    "a CPU id cannot be negative",
                    "CPU ids from 0 to 65535",
                ));
            }
            let set = CpuSet::from_cpus(ids.iter().map(|&c| c as u32))?;
            Ok(move |s: Sandbox| s.cpus(set))
        })
    }
}

/// Allows the program at most `max` processes and threads at once; fork fails
/// with EAGAIN beyond.
///
/// Errors: only the common ones; 0 is refused at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_pids(
    sandbox: *mut containment_sandbox,
    max: u64,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set(sandbox, error, || Ok(move |s: Sandbox| s.pids(max))) }
}

/// Caps CPU time at `cpus` CPUs' worth (0.5: half of one CPU; 2: two CPUs).
///
/// Errors: only the common ones; a value that is not positive and finite is
/// refused at spawn (CONTAINMENT_INVALID_VALUE).
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_cpu_quota(
    sandbox: *mut containment_sandbox,
    cpus: f64,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set(sandbox, error, || Ok(move |s: Sandbox| s.cpu_quota(cpus))) }
}

/// The sandbox's share of CPU time when CPUs are busy, from 1 to 10000 (100 is
/// what other groups have by default).
///
/// Errors: only the common ones; a weight out of range is refused at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_cpu_weight(
    sandbox: *mut containment_sandbox,
    weight: u32,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set(sandbox, error, || Ok(move |s: Sandbox| s.cpu_weight(weight))) }
}

/// Where the sandbox's cgroups are created: a path relative to the root of each
/// cgroup hierarchy (for instance a subtree systemd delegated). It must exist
/// and be writable; the default is "containment" at the top, created if missing.
///
/// Errors: only the common ones; the path is checked at spawn
/// (CONTAINMENT_CGROUP_PARENT then).
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_cgroup_parent(
    sandbox: *mut containment_sandbox,
    path: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_path(sandbox, error, (path, "path"), |s, path| s.cgroup_parent(path)) }
}

/// Sets a resource limit of the program, soft and hard alike: `resource` is a
/// CONTAINMENT_RLIMIT_* constant, `value` a number (bytes for sizes) or
/// CONTAINMENT_RLIMIT_UNLIMITED. Only lowering works without CAP_SYS_RESOURCE;
/// spawning checks that first.
///
/// Errors: CONTAINMENT_INVALID_VALUE for an unknown `resource`; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_rlimit(
    sandbox: *mut containment_sandbox,
    resource: containment_rlimit,
    value: u64,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let r = rlimit_of(resource)?;
            Ok(move |s: Sandbox| s.rlimit(r, value))
        })
    }
}

/// Sets a resource limit with distinct soft and hard values; see
/// containment_sandbox_rlimit().
///
/// Errors: CONTAINMENT_INVALID_VALUE for an unknown `resource`; the common ones;
/// a soft limit above the hard one is refused at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_rlimit_soft_hard(
    sandbox: *mut containment_sandbox,
    resource: containment_rlimit,
    soft: u64,
    hard: u64,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let r = rlimit_of(resource)?;
            Ok(move |s: Sandbox| s.rlimit_soft_hard(r, soft, hard))
        })
    }
}

/// Sets a resource limit from text `NAME=VALUE`, as `contain --rlimit` takes it:
/// "nofile=256", "as=512M", "cpu=unlimited" (names: as, nofile, nproc, cpu,
/// fsize, core, stack, data, memlock).
///
/// Errors: CONTAINMENT_INVALID_VALUE when `spec` does not parse; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_rlimit_spec(
    sandbox: *mut containment_sandbox,
    spec: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let (r, value) = containment::parse_rlimit_spec(&text(spec, "spec")?)?;
            Ok(move |s: Sandbox| s.rlimit(r, value))
        })
    }
}

/// Kills the whole sandbox `milliseconds` after spawn; the outcome's `timed_out`
/// then says so. Enforced by the sandbox's init, whether or not anyone waits.
///
/// Errors: only the common ones; 0 is refused at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_timeout_ms(
    sandbox: *mut containment_sandbox,
    milliseconds: u64,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set(sandbox, error, || Ok(move |s: Sandbox| s.timeout(Duration::from_millis(milliseconds)))) }
}

/// Gives the sandbox only `lo` in its own network namespace (the default).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_net_none(
    sandbox: *mut containment_sandbox,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_net(sandbox, error, Net::none) }
}

/// Shares the host's network with the sandbox (an explicit opt-in).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_net_host(
    sandbox: *mut containment_sandbox,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_net(sandbox, error, Net::host) }
}

/// Gives the sandbox an eth0 with `address` (an IPv4 address with prefix, such as
/// "10.77.0.17/24") on a veth whose host end joins the existing bridge `bridge`.
/// The default route goes through the bridge's own address when it lies in the
/// subnet, or through containment_sandbox_net_gateway(). Refine it with the other
/// containment_sandbox_net_* functions.
///
/// Errors: CONTAINMENT_INVALID_VALUE when `address` does not parse ("/33",
/// "10.0.0/24") or `bridge` is not UTF-8; the common ones. Whether the bridge
/// exists and the address fits it is checked at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_net_bridge(
    sandbox: *mut containment_sandbox,
    bridge: *const c_char,
    address: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set_handle(sandbox, error, |h| {
            let bridge = utf8(bridge, "bridge", "ASCII text")?;
            let address: Ipv4Net = text(address, "address")?.parse()?;
            h.set_bridge(Net::bridge(bridge, address));
            Ok(())
        })
    }
}

/// Sets the gateway of the default route of the bridge network (an IPv4 address in
/// the sandbox's subnet, such as "10.77.0.1").
///
/// Errors: CONTAINMENT_INVALID_CONFIG when no bridge network is set;
/// CONTAINMENT_INVALID_VALUE when `gateway` is not an IPv4 address; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_net_gateway(
    sandbox: *mut containment_sandbox,
    gateway: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set_handle(sandbox, error, |h| {
            let text = text(gateway, "gateway")?;
            let ip: std::net::Ipv4Addr = text.parse().map_err(|_| {
                Fail::invalid(ValueKind::Address, text.clone(), "not an IPv4 address", "an address like 10.77.0.1")
            })?;
            h.refine_bridge(|b| b.gateway(ip))
        })
    }
}

/// Sets the MTU of both ends of the bridge network's veth (default: the bridge's).
///
/// Errors: CONTAINMENT_INVALID_CONFIG when no bridge network is set; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_net_mtu(
    sandbox: *mut containment_sandbox,
    mtu: u32,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_handle(sandbox, error, |h| h.refine_bridge(|b| b.mtu(mtu))) }
}

/// Sets the MAC address of the sandbox's eth0 to the 6 bytes at `mac` (default:
/// random).
///
/// Errors: CONTAINMENT_INVALID_CONFIG when no bridge network is set; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header; `mac` holds 6
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_net_mac(
    sandbox: *mut containment_sandbox,
    mac: *const u8,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set_handle(sandbox, error, |h| {
            let bytes: [u8; 6] = slice(mac, 6, "mac")?.try_into().unwrap_or_default();
            h.refine_bridge(|b| b.mac(bytes))
        })
    }
}

/// Keeps the sandbox's network namespace for the next sandbox of this process with
/// the same network (`yes` true), or not (the default). With a bridge network, the
/// namespace keeps its veth on the bridge, for the next sandbox on the same bridge
/// with the same MTU, which then only gets its address set, where making and
/// destroying a veth costs milliseconds; between sandboxes it holds no address.
/// With only lo (containment_sandbox_net_none(), the default), the next such
/// sandbox saves making and destroying a namespace (about 1 ms of CPU). At most
/// CONTAINMENT_MAX_KEPT_NAMESPACES are kept, until the process exits or calls
/// containment_release_kept_namespaces(). Only a process running as root keeps
/// namespaces; a kept namespace belongs to the host: sandboxes whose program keeps a
/// capability, runs as the host's root (without a user namespace, or with one that
/// maps its uid to 0), mounts sysfs, that are named or that have a fixed MAC get a
/// new one anyway. What the kernel remembers of a sandbox's traffic (counters, TCP
/// metrics, the neighbour cache) stays for the next one.
///
/// Errors: CONTAINMENT_INVALID_CONFIG when the sandbox shares the host's network;
/// the common ones. A later containment_sandbox_net_none(), _host() or _bridge()
/// resets it.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_net_reuse(
    sandbox: *mut containment_sandbox,
    yes: bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_handle(sandbox, error, |h| h.reuse_net(yes)) }
}

/// Creates the bridge, up and with `address` (such as "10.77.0.1/24"), when it does
/// not exist at spawn. It stays after the sandbox ends, for others to use.
///
/// Errors: CONTAINMENT_INVALID_CONFIG when no bridge network is set;
/// CONTAINMENT_INVALID_VALUE when `address` does not parse; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_net_create_bridge(
    sandbox: *mut containment_sandbox,
    address: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set_handle(sandbox, error, |h| {
            let address: Ipv4Net = text(address, "address")?.parse()?;
            h.refine_bridge(|b| b.create_bridge(address))
        })
    }
}

/// Sets the capabilities the program keeps, from the NULL-terminated array `names`
/// ("CAP_NET_RAW" or "net_raw", any case); all others are dropped from all five
/// sets. An empty array keeps none (the default).
///
/// Errors: CONTAINMENT_INVALID_VALUE for an unknown name; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_capabilities(
    sandbox: *mut containment_sandbox,
    names: *const *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let mut caps = Vec::new();
            for name in string_array(names, "names")? {
                caps.push(containment::parse_capability(&String::from_utf8_lossy(name.as_encoded_bytes()))?);
            }
            Ok(move |s: Sandbox| s.capabilities(caps))
        })
    }
}

/// Turns the seccomp filter on (`enabled` true: the default filter, forgetting
/// earlier seccomp changes) or off (false: an explicit opt-out).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_seccomp(
    sandbox: *mut containment_sandbox,
    enabled: bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_seccomp(sandbox, error, |_| if enabled { Seccomp::default_filter() } else { Seccomp::disabled() }) }
}

/// Lets the program use ptrace (and process_vm_readv/writev) on its own processes,
/// for debuggers run inside (`yes` true), or not (the default).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_seccomp_allow_ptrace(
    sandbox: *mut containment_sandbox,
    yes: bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_seccomp(sandbox, error, |p| p.allow_ptrace(yes)) }
}

/// Lets the program create user namespaces (`yes` true), or not (the default).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_seccomp_allow_user_namespaces(
    sandbox: *mut containment_sandbox,
    yes: bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set_seccomp(sandbox, error, |p| p.allow_user_namespaces(yes)) }
}

/// Also denies the system call `syscall` (by name, such as "mount") with EPERM.
///
/// Errors: CONTAINMENT_INVALID_VALUE for a name the library does not know; the
/// common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_seccomp_deny(
    sandbox: *mut containment_sandbox,
    syscall: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set_handle(sandbox, error, |h| {
            let name = text(syscall, "syscall")?;
            if !containment::known_syscalls().any(|(n, _)| n == name) {
                return Err(Fail::invalid(
                    ValueKind::Argument,
                    name,
                    "unknown system call",
                    "a system call name such as mount or ptrace",
                ));
            }
            h.refine_seccomp(|p| p.deny(name));
            Ok(())
        })
    }
}

/// Mounts /sys read-only in the sandbox (`yes` true), or not (false, the default).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_sysfs(
    sandbox: *mut containment_sandbox,
    yes: bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set(sandbox, error, || Ok(move |s: Sandbox| s.sysfs(yes))) }
}

/// Chooses the sandbox's user namespace: `mode` is a CONTAINMENT_USERNS_* constant
/// (the default is CONTAINMENT_USERNS_AUTO). See also
/// containment_sandbox_user_namespace_range() and
/// containment_sandbox_user_namespace_maps().
///
/// Errors: CONTAINMENT_INVALID_VALUE for an unknown `mode`; the common ones. A mode
/// the caller may not use (OFF without root) is refused at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_user_namespace(
    sandbox: *mut containment_sandbox,
    mode: containment_userns,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let ns = match mode {
                CONTAINMENT_USERNS_AUTO => UserNamespace::Auto,
                CONTAINMENT_USERNS_OFF => UserNamespace::Off,
                CONTAINMENT_USERNS_OWN => UserNamespace::Own,
                other => {
                    return Err(Fail::invalid(
                        ValueKind::Argument,
                        other.to_string(),
                        "unknown user namespace mode",
                        "one of the CONTAINMENT_USERNS_* constants",
                    ))
                }
            };
            Ok(move |s: Sandbox| s.user_namespace(ns))
        })
    }
}

/// Gives the sandbox an exclusive range of `size` host ids (1 to 65536) for as long
/// as it runs, ids 0 to size-1 inside (root callers only).
///
/// Errors: only the common ones; a size out of range is refused at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_user_namespace_range(
    sandbox: *mut containment_sandbox,
    size: u32,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set(sandbox, error, || Ok(move |s: Sandbox| s.user_namespace(UserNamespace::Range { size }))) }
}

/// Gives the sandbox explicit id maps: the `uid_count` ranges at `uid` and the
/// `gid_count` ranges at `gid` (a caller that is not root may map only its own
/// ids).
///
/// Errors: CONTAINMENT_INVALID_VALUE when a range has a count of 0 or passes the
/// largest id; the common ones (an array may be NULL only when its count is 0).
/// Overlapping ranges and ids the caller does not own are refused at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_user_namespace_maps(
    sandbox: *mut containment_sandbox,
    uid: *const containment_idmap,
    uid_count: usize,
    gid: *const containment_idmap,
    gid_count: usize,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let convert = |maps: &[containment_idmap]| -> Result<Vec<IdMap>, Fail> {
                maps.iter().map(|m| IdMap::new(m.inside, m.outside, m.count).map_err(Fail::from)).collect()
            };
            let uid = convert(slice(uid, uid_count, "uid")?)?;
            let gid = convert(slice(gid, gid_count, "gid")?)?;
            Ok(move |s: Sandbox| s.user_namespace(UserNamespace::Maps { uid, gid }))
        })
    }
}

/// Whether binds (and a chroot or overlay root) are idmapped mounts when the
/// sandbox has a user namespace and the caller is root (the default: true), so that
/// host files keep their owners inside.
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_idmap_binds(
    sandbox: *mut containment_sandbox,
    yes: bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { set(sandbox, error, || Ok(move |s: Sandbox| s.idmap_binds(yes))) }
}

/// Removes the cgroups that supervisors killed by SIGKILL left behind, under the
/// default parent and under each parent in the NULL-terminated array `parents`
/// (paths relative to the cgroup roots, as for containment_sandbox_cgroup_parent();
/// `parents[0]` may be NULL). Stores how many groups were removed in `*removed`.
/// Groups of running sandboxes are left alone.
///
/// Errors: CONTAINMENT_INVALID_VALUE for a parent path that is not relative or
/// escapes the root; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_cgroup_gc(
    parents: *const *const c_char,
    removed: *mut usize,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `removed` is checked.
    unsafe {
        call(error, || {
            let parents = string_array(parents, "parents")?;
            put(removed, "removed", || {
                let paths: Vec<&std::path::Path> = parents.iter().map(std::path::Path::new).collect();
                Ok(containment::gc(&paths)?)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlimit_constants_map_to_distinct_resources() {
        let all: Vec<Rlimit> = (0..9).map(|r| rlimit_of(r).unwrap()).collect();
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a != b));
        }
        assert!(rlimit_of(9).is_err());
        assert!(rlimit_of(-1).is_err());
        assert_eq!(CONTAINMENT_RLIMIT_UNLIMITED, u64::MAX);
        assert_eq!(CONTAINMENT_MIN_MEMORY, containment::MIN_MEMORY);
    }
}
