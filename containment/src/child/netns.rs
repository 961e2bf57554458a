//! The sandbox's network namespace (loopback only), made by a helper process while
//! the init builds the rest of the sandbox.
//!
//! Making a network namespace is the largest single piece of the kernel's work in
//! a spawn (`setup_net`: each protocol's state and sysctls, the loopback device;
//! `benches/RESULTS.md`, run G).
//! Asked of `clone3`, it delays everything after it, on one CPU. Made instead by a
//! helper (a child of the init, so in the sandbox's user namespace, which then
//! owns the network namespace; sharing the init's memory and descriptor table; on
//! the program's stack, which nothing uses until the init starts the program), it
//! runs beside the supervisor writing the id maps (and making the v1 groups) and
//! the init mounting the root. The helper leaves a descriptor of the namespace in the
//! descriptor table it shares with the init and exits; the init reaps it and joins
//! the namespace (`setns`) before it starts the program, which is still the
//! namespace's PID 2 (started with `clone3`'s `set_tid`).
//!
//! Used only when the init runs in the supervisor's memory (`super::Launch`) and
//! the plan allows it (`Plan::net_by_helper`); where the helper cannot be started
//! (no `/proc`, `clone3` refused, a pids limit of 1) or fails, the init makes the
//! namespace itself (and reports the error of that, if any).

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;

use super::{At, Failure, Launch, StackArea};
use crate::error::Stage;
use crate::fault::{self, Fault};
use crate::spawn::plan::Plan;
use crate::sys;

/// What the init and its helper share: it lives in the init's frame, which
/// outlasts the helper (see [`Helper`]).
pub(super) struct Job<'a> {
    /// The netlink request that brings `lo` up.
    lo_up: &'a [u8],
    /// The host's `/proc`, opened by the init before the helper starts (the init
    /// may pivot its root away meanwhile).
    proc: RawFd,
    /// Set by the helper before it exits: a descriptor of its network namespace,
    /// or `-errno`.
    result: AtomicI32,
    /// `einval:network` makes the helper fail (fault-injection builds).
    fault: Option<Fault>,
}

impl<'a> Job<'a> {
    /// Opens the host's `/proc` for the helper.
    pub fn new(lo_up: &'a [u8], fault: Option<Fault>) -> Result<Job<'a>, Errno> {
        let proc = sys::openat(libc::AT_FDCWD, c"/proc", libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC, 0)?;
        Ok(Job { lo_up, proc, result: AtomicI32::new(-(Errno::ESRCH as i32)), fault })
    }
}

impl Drop for Job<'_> {
    fn drop(&mut self) {
        sys::close(self.proc);
    }
}

/// A running helper, joined with [`Helper::join`]; dropped unjoined (the init
/// failed), it is killed and reaped, so it never outlives the frame of its
/// [`Job`].
pub(super) struct Helper<'j, 'a> {
    job: &'j Job<'a>,
    pid: libc::pid_t,
}

/// The `lo` request and the stack for a helper, when the plan allows one and the
/// init runs in the supervisor's memory (where `clone3` left the namespace out).
pub(super) fn wanted<'a>(plan: &'a Plan, launch: Option<&Launch<'_>>) -> Option<(&'a [u8], StackArea)> {
    match (&plan.lo_up, launch) {
        (Some(request), Some(launch)) if plan.net_by_helper => Some((request, launch.program_stack)),
        _ => None,
    }
}

/// Starts the helper `wanted` asks for, with `job`; where it cannot start (no
/// job), makes the namespace here.
pub(super) fn start<'j, 'a>(
    job: Option<&'j Job<'a>>,
    wanted: Option<(&[u8], StackArea)>,
) -> Result<Option<Helper<'j, 'a>>, Failure> {
    let Some((request, stack)) = wanted else { return Ok(None) };
    if let Some(helper) = job.and_then(|job| spawn(job, stack).ok()) {
        return Ok(Some(helper));
    }
    make_here(request)?;
    Ok(None)
}

/// Joins the namespace the helper made, or makes it here where the helper failed
/// (a `/proc` that does not show it, say); returns the pid the program asks for:
/// 2, the helper's, once there was one (see `program::start_gated`), else 0 (any).
pub(super) fn finish(helper: Option<Helper<'_, '_>>) -> Result<libc::pid_t, Failure> {
    let Some(helper) = helper else { return Ok(0) };
    let request = helper.job.lo_up;
    if helper.join().is_err() {
        make_here(request)?;
    }
    Ok(2)
}

/// Starts the helper on `stack`, which nothing else may use until it is joined.
fn spawn<'j, 'a>(job: &'j Job<'a>, stack: StackArea) -> Result<Helper<'j, 'a>, Errno> {
    let mut args = sys::CloneArgs {
        flags: (libc::CLONE_VM | libc::CLONE_FILES) as u64,
        exit_signal: 0,
        stack: stack.base as u64,
        stack_size: stack.size as u64,
        ..sys::CloneArgs::default()
    };
    let arg = (job as *const Job<'_>).cast_mut().cast();
    // SAFETY: the stack is the program's, unused until the helper is joined (the
    // init starts the program after), 16-byte aligned and a multiple of 16 long;
    // `main` makes only raw system calls, allocates nothing and takes no lock; the
    // job outlives the helper (`Helper` joins or kills and reaps it).
    let pid = unsafe { sys::clone3_on_stack(&mut args, main, arg) }?;
    Ok(Helper { job, pid })
}

/// Makes the namespace in the init itself.
fn make_here(lo_up: &[u8]) -> Result<(), Failure> {
    make(lo_up).at(Stage::Network)
}

fn make(lo_up: &[u8]) -> Result<(), Errno> {
    sys::unshare(libc::CLONE_NEWNET)?;
    super::lo_up(lo_up)
}

extern "C" fn main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `start` passes a pointer to a `Job` that stays valid until this
    // process has been reaped.
    let job = unsafe { &*(arg as *const Job<'_>) };
    // Its own namespace, through the host's /proc: allowed to any process, and
    // the descriptor (in the table it shares with the init) keeps the namespace
    // alive after this process exits.
    let result = match fault::einval(job.fault, Stage::Network) {
        true => Err(Errno::EINVAL),
        false => make(job.lo_up)
            .and_then(|()| sys::openat(job.proc, c"thread-self/ns/net", libc::O_RDONLY | libc::O_CLOEXEC, 0)),
    };
    job.result.store(result.unwrap_or_else(|e| -(e as i32)), Ordering::Release);
    0
}

impl Helper<'_, '_> {
    /// Waits for the helper to end, then makes its network namespace the init's.
    fn join(self) -> Result<(), Failure> {
        let _ = sys::waitpid(self.pid, libc::__WALL);
        let result = self.job.result.load(Ordering::Acquire);
        std::mem::forget(self);
        if result < 0 {
            return Err(Errno::from_raw(-result)).at(Stage::Network);
        }
        let joined = sys::setns(result, libc::CLONE_NEWNET);
        sys::close(result);
        joined.at(Stage::Network)
    }
}

impl Drop for Helper<'_, '_> {
    fn drop(&mut self) {
        // The init failed before joining: the helper's work is of no use.
        let _ = sys::kill(self.pid, libc::SIGKILL);
        let _ = sys::waitpid(self.pid, libc::__WALL);
        let result = self.job.result.load(Ordering::Acquire);
        if result >= 0 {
            sys::close(result);
        }
    }
}
