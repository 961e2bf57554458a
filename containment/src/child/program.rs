//! The program's process, from the init's `clone` to `execve`.
//!
//! Where the init is a copy of the supervisor, the program's process is started
//! with `CLONE_VM | CLONE_VFORK`: it shares the init's memory and the init sleeps
//! until it calls `execve` or exits, so no page tables are copied and a failure is
//! reported by writing it into [`Shared::failure`] before `_exit`.
//!
//! Where the init runs in the supervisor's memory ([`start_gated`]), the program's
//! process shares that memory too, on a stack of its own, and the init does not
//! wait for it: it executes the small init program, which opens the gate the
//! process waits at before it installs its seccomp filter, and learns through a
//! close-on-exec pipe whether its `execve` succeeded (a failure is written there
//! as a record). So no code of the sandbox runs while a process of the sandbox
//! still shares the supervisor's memory.

use std::cell::{Cell, UnsafeCell};
use std::os::fd::RawFd;

use nix::errno::Errno;

use super::{At, ChildFds, Failure, PATH_CWD, PATH_PROGRAM};
use crate::error::Stage;
use crate::fault::{self, Who};
use crate::spawn::plan::Plan;
use crate::sys;

/// What the init and the program's process share while the init sleeps.
pub(super) struct Shared<'a> {
    pub plan: &'a Plan,
    pub fds: &'a ChildFds,
    /// The descriptor by which the program enters its group (the memory group's
    /// `tasks` on v1, the `program` group's directory on v2), opened by the
    /// supervisor before the clone, or -1 (also where the groups are made after
    /// the clone: then they are in `later`).
    pub cgroup: RawFd,
    /// The `tasks` of the v1 groups made after the clone that the program enters
    /// (the memory and cpuset groups), with their paths' indices.
    pub later: &'a [(RawFd, i32)],
    /// Set when the program was started in its group (v2, `CLONE_INTO_CGROUP`), so
    /// it has no move to make.
    pub placed: Cell<bool>,
    pub failure: Cell<Option<Failure>>,
    /// Set just before the first `execve`: a process that ended without it never
    /// got that far (it died during its setup).
    pub reached_exec: Cell<bool>,
    /// The gate and the exec check of a program started by [`start_gated`].
    pub gate: Option<Gate>,
    /// The supervisor's dumpable flag, set back after the id change, when the
    /// process shares the supervisor's memory (see `spawn::dumpable`).
    pub dumpable: Option<libc::c_ulong>,
}

/// The program process's ends of its two pipes with the init program.
#[derive(Debug, Clone, Copy)]
pub(super) struct Gate {
    /// Read end of the gate: one byte lets the process go on to `execve`.
    pub wait: RawFd,
    /// Write end of the exec check (close-on-exec): a byte when the process
    /// reaches its `execve`, then a failure record if that fails.
    pub check: RawFd,
    /// The init's ends, which the process closes first.
    pub init_ends: [RawFd; 2],
}

/// The two pipes of a gated start, `(gate, check)`, each `[read, write]`, all
/// above 2 (so connecting the program's descriptors 0-2 cannot replace them).
pub(super) fn gate_pipes() -> Result<([RawFd; 2], [RawFd; 2]), Failure> {
    let mut fds = [-1; 4];
    for pair in [0, 2] {
        let p = sys::pipe2(libc::O_CLOEXEC).at(Stage::Fork)?;
        fds[pair] = p[0];
        fds[pair + 1] = p[1];
    }
    for fd in &mut fds {
        if *fd < 3 {
            let above = sys::dup_above(*fd, 3).at(Stage::Fork)?;
            sys::close(*fd);
            *fd = above;
        }
    }
    Ok(([fds[0], fds[1]], [fds[2], fds[3]]))
}

/// Starts the program's process on `stack` in the caller's memory (which the
/// init shares with the supervisor), without waiting for it: it stops at the gate
/// whose write end is returned. `shared` (with `gate` set) must stay valid and
/// unchanged until the process has called `execve` or ended: the caller never
/// returns from its frame without killing it first. With `pid` other than 0 the
/// process asks for that pid in the init's PID namespace (`clone3`'s `set_tid`),
/// and takes the next one where it may not choose.
pub(super) fn start_gated(
    shared: &Shared<'_>,
    stack: super::StackArea,
    pid: libc::pid_t,
) -> Result<libc::pid_t, Failure> {
    let arg = (shared as *const Shared<'_>).cast_mut().cast();
    let tid = [pid];
    let mut args = sys::CloneArgs {
        flags: libc::CLONE_VM as u64,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack.base as u64,
        stack_size: stack.size as u64,
        ..sys::CloneArgs::default()
    };
    if shared.placed.get() {
        // v2: start in the group rather than move there (see `start`).
        args.flags |= sys::CLONE_INTO_CGROUP;
        args.cgroup = shared.cgroup as u64;
    }
    if pid != 0 {
        args.set_tid = tid.as_ptr() as u64;
        args.set_tid_size = 1;
    }
    // SAFETY: the stack is this sandbox's own program stack, used by nothing else,
    // 16-byte aligned and a multiple of 16 long; `main` runs only raw system calls
    // and ends in `execve` or `_exit`; `shared` outlives the process's use of it
    // (the caller's contract).
    let started = unsafe { sys::clone3_on_stack(&mut args, main, arg) };
    if pid != 0 && matches!(started, Err(Errno::EPERM | Errno::EEXIST | Errno::EINVAL)) {
        // Not allowed to choose (no `CAP_CHECKPOINT_RESTORE` over the namespace):
        // the kernel's next pid will do.
        args.set_tid = 0;
        args.set_tid_size = 0;
        // SAFETY: as above.
        return unsafe { sys::clone3_on_stack(&mut args, main, arg) }.at(Stage::Fork);
    }
    started.at(Stage::Fork)
}

const STACK_SIZE: usize = 64 * 1024;

/// The program process's stack. A static, so starting the program allocates
/// nothing; each init is its own process with its own copy-on-write copy of it,
/// and only one program process per init runs on it, while the init sleeps.
#[repr(C, align(16))]
struct Stack(UnsafeCell<[u8; STACK_SIZE]>);

// SAFETY: the stack is only ever used by the one vfork-style child of an init, in
// the init's private copy of this process's memory; no two threads touch it.
unsafe impl Sync for Stack {}

static STACK: Stack = Stack(UnsafeCell::new([0; STACK_SIZE]));

/// Starts the program's process; returns its pid once it has called `execve`
/// successfully or failed (then `shared.failure` is set).
pub(super) fn start(shared: &Shared<'_>) -> Result<libc::pid_t, Failure> {
    let arg = (shared as *const Shared<'_>).cast_mut().cast();
    if shared.plan.program_cgroup_dir && shared.cgroup >= 0 {
        // v2: start in the group rather than move there, since a move takes the
        // kernel's global threadgroup lock (see `cgroup::Entry`).
        shared.placed.set(true);
        // SAFETY: as below; the stack's base is 16-byte aligned and its size a
        // multiple of 16.
        match unsafe { sys::clone3_vfork_into(main, STACK.0.get().cast(), STACK_SIZE, arg, shared.cgroup) } {
            Err(Errno::ENOSYS) => shared.placed.set(false),
            other => {
                let path = shared.plan.program_cgroup.map_or(crate::report::NO_PATH, |(_, p)| p);
                return other.at_path(Stage::Cgroup, path);
            }
        }
    }
    // SAFETY: one past the end of the static stack array, which is 16-byte aligned
    // and a multiple of 16 long, so the top is aligned as the ABI wants.
    let top = unsafe { STACK.0.get().cast::<u8>().add(STACK_SIZE) };
    // SAFETY: the stack is reserved for this child (see `Stack`); `main` runs only
    // async-signal-safe code and ends in `execve` or `_exit`; `shared` outlives the
    // call because the caller sleeps until the child has exec'd or exited.
    unsafe { sys::clone_vfork(main, top.cast(), arg) }.at(Stage::Fork)
}

extern "C" fn main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `start` passes a pointer to a `Shared` that stays valid while this
    // process runs (the init is suspended by CLONE_VFORK).
    let shared = unsafe { &*(arg as *const Shared<'_>) };
    let failure = match exec(shared, shared.plan, shared.fds, shared.cgroup) {
        Err(f) => f,
        Ok(never) => match never {},
    };
    match &shared.gate {
        Some(gate) => {
            let record = crate::report::Record::error(failure.stage as u32, failure.errno as i32, failure.path);
            let _ = sys::write(gate.check, &record.to_bytes());
        }
        None => shared.failure.set(Some(failure)),
    }
    sys::exit_now(127)
}

enum Never {}

/// Sets up the process as the program expects to find it, then `execve`.
fn exec(shared: &Shared<'_>, plan: &Plan, fds: &ChildFds, cgroup: RawFd) -> Result<Never, Failure> {
    if let Some(gate) = &shared.gate {
        for fd in gate.init_ends {
            sys::close(fd);
        }
    }
    fault::at(plan.fault, Who::Program, Stage::Setsid);
    sys::setsid().at(Stage::Setsid)?;
    // Before connecting 0-2, which could replace a group's descriptor that landed
    // there (in a host that runs with one of them closed), and before the rlimits,
    // which could refuse the descriptor opened on v2.
    enter_groups(shared, plan, cgroup)?;
    connect_stdio(fds).at(Stage::Stdio)?;
    // Handlers installed by the supervisor would be reset by execve, but ignored
    // signals (SIGPIPE in Rust and Python programs) would stay ignored.
    for sig in 1..65 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            let _ = sys::reset_signal(sig);
        }
    }
    fault::at(plan.fault, Who::Program, Stage::Rlimit);
    for (resource, soft, hard) in &plan.rlimits {
        sys::setrlimit(*resource, *soft, *hard).at(Stage::Rlimit)?;
    }
    // The cgroup namespace, rooted at the program's own groups (entered above);
    // it needs privileges dropped below.
    sys::unshare(libc::CLONE_NEWCGROUP).at(Stage::Cgroup)?;
    fault::at(plan.fault, Who::Program, Stage::Capabilities);
    drop_privileges(plan, shared.dumpable)?;
    sys::chdir(&plan.cwd).at_path(Stage::Chdir, PATH_CWD)?;
    // A session keyring of its own: the supervisor's keys stay out of reach even
    // with seccomp off.
    match sys::join_new_session_keyring() {
        Ok(()) | Err(Errno::ENOSYS) => {} // a kernel without keys has none to leak
        Err(e) => return Err(Failure { stage: Stage::Setsid, errno: e, path: crate::report::NO_PATH }),
    }
    fault::at(plan.fault, Who::Program, Stage::NoNewPrivs);
    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).at(Stage::NoNewPrivs)?;
    if let Some(gate) = &shared.gate {
        // Wait until the init has left the supervisor's memory; end of file: it
        // died instead.
        let mut go = [0u8; 1];
        if sys::read(gate.wait, &mut go) != Ok(1) {
            sys::exit_now(1);
        }
        sys::close(gate.wait);
    }
    if plan.join.is_some() {
        // Started by a joiner outside the sandbox's PID namespace: die with it.
        // (Set after the ids changed, which would clear it.)
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong).at(Stage::Join)?;
    }
    fault::at(plan.fault, Who::Program, Stage::CloseFds);
    // A gated process keeps its exec check open until `execve`, which closes it.
    let flags = if shared.gate.is_some() { libc::CLOSE_RANGE_CLOEXEC } else { 0 };
    sys::close_range(3, libc::c_uint::MAX, flags).at(Stage::CloseFds)?;
    if let Some(gate) = &shared.gate {
        // Reached the end of the setup: from here on, a failure is execve's.
        sys::write(gate.check, b"x").at(Stage::Exec)?;
    }
    fault::at(plan.fault, Who::Program, Stage::Seccomp);
    // Last, so that the filter constrains nothing of the setup above.
    for program in &plan.seccomp {
        sys::seccomp_install(program).at(Stage::Seccomp)?;
    }
    sys::sigprocmask_raw(libc::SIG_SETMASK, &sys::sigset(false)).at(Stage::Signals)?;

    shared.reached_exec.set(true);
    // Like execvp: a candidate that is missing is skipped; EACCES is remembered
    // and reported if nothing else works; any other error stops the search.
    let mut seen_eacces = false;
    let mut last = Errno::ENOENT;
    for path in &plan.candidates {
        // SAFETY: argv and envp are NULL-terminated arrays of C strings owned by
        // the plan, which outlives this call.
        let e = unsafe { sys::execve(path, plan.argv.as_ptr(), plan.envp.as_ptr()) };
        match e {
            Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP | Errno::ENAMETOOLONG => last = e,
            Errno::EACCES => seen_eacces = true,
            other => {
                last = other;
                break;
            }
        }
    }
    let errno = if seen_eacces && matches!(last, Errno::ENOENT | Errno::ENOTDIR) { Errno::EACCES } else { last };
    Err(Failure { stage: Stage::Exec, errno, path: PATH_PROGRAM })
}

/// Enters the program's own groups, which the init stays out of: the cpuset and
/// memory groups (and on v2 the `program` group, unless it was started there).
/// Entering them needs the privileges that are dropped later.
fn enter_groups(shared: &Shared<'_>, plan: &Plan, cgroup: RawFd) -> Result<(), Failure> {
    for &(fd, path) in plan.program_enter.iter().chain(shared.later) {
        sys::write(fd, b"0").at_path(Stage::Cgroup, path)?;
    }
    if cgroup >= 0 && !shared.placed.get() {
        let path = plan.program_cgroup.as_ref().map_or(crate::report::NO_PATH, |(_, p)| *p);
        if plan.program_cgroup_dir {
            let procs = sys::openat(cgroup, c"cgroup.procs", libc::O_WRONLY | libc::O_CLOEXEC, 0)
                .at_path(Stage::Cgroup, path)?;
            let written = sys::write(procs, b"0");
            sys::close(procs);
            written.at_path(Stage::Cgroup, path)?;
        } else {
            sys::write(cgroup, b"0").at_path(Stage::Cgroup, path)?;
        }
    }
    Ok(())
}

/// Connects descriptors 0-2 to their sources. A source that is itself one of 0-2
/// (and not its own target) is first moved above 2, so no dup2 overwrites a
/// source still needed.
fn connect_stdio(fds: &ChildFds) -> Result<(), Errno> {
    let mut src = fds.stdio;
    for (target, s) in src.iter_mut().enumerate() {
        if *s >= 0 && *s < 3 && *s != target as i32 {
            *s = sys::dup_above(*s, 3)?;
        }
    }
    for (target, s) in src.into_iter().enumerate() {
        let target = target as i32;
        if s == target {
            sys::clear_cloexec(s)?;
        } else if s >= 0 {
            sys::dup2(s, target)?;
        }
    }
    Ok(())
}

/// Empties the bounding and ambient sets of every capability not kept, switches
/// ids, then sets the effective, permitted and inheritable sets to the kept ones
/// (raised as ambient too when the program runs as a uid other than 0, so they
/// survive `execve`). The bounding set is changed first because that needs
/// `CAP_SETPCAP`, which switching to a non-root uid takes away.
fn drop_privileges(plan: &Plan, dumpable: Option<libc::c_ulong>) -> Result<(), Failure> {
    let keep = plan.keep_caps;
    let fail = |errno| Failure { stage: Stage::Capabilities, errno, path: crate::report::NO_PATH };
    for cap in 0..=plan.last_cap.min(63) {
        if keep & (1 << cap) != 0 {
            continue;
        }
        match sys::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong) {
            Ok(_) | Err(Errno::EINVAL) => {}
            Err(e) => return Err(fail(e)),
        }
    }
    match sys::clear_ambient_caps() {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(e) => return Err(fail(e)),
    }
    let non_root = plan.ids.as_ref().is_some_and(|ids| ids.uid != 0);
    if keep != 0 && non_root {
        sys::prctl(libc::PR_SET_KEEPCAPS, 1).map_err(fail)?;
    }
    if let Some(ids) = &plan.ids {
        sys::setgroups(&ids.groups).at(Stage::Identity)?;
        sys::setresgid(ids.gid).at(Stage::Identity)?;
        sys::setresuid(ids.uid).at(Stage::Identity)?;
        super::keep_dumpable(dumpable);
    }
    sys::capset(keep, keep, keep).map_err(fail)?;
    if keep != 0 && non_root {
        for cap in 0..64u32 {
            if keep & (1 << cap) != 0 {
                sys::raise_ambient_cap(cap).map_err(fail)?;
            }
        }
    }
    Ok(())
}
