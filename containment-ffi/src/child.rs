//! `containment_child`: a running sandbox, and `containment_outcome`: how it ended.

use std::ffi::c_int;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use containment::{Child, Errno, Error, Outcome};

use crate::error::containment_error;
use crate::handle::{self, call, call_value, get, non_null, read, write_out, Fail, Handle, Kind};
use crate::status::containment_status;

/// What a sandbox used. Times are in microseconds.
///
/// Ownership and thread safety: plain data, owned by whoever declares it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct containment_usage {
    /// Wall-clock time from spawn to the end of the sandbox.
    pub wall_us: u64,
    /// CPU time in user mode of every process of the sandbox that was reaped.
    pub user_us: u64,
    /// CPU time in kernel mode, likewise.
    pub system_us: u64,
    /// Peak memory in bytes (the memory cgroup's peak when the sandbox has a memory
    /// limit, else the largest resident set of any one process), or -1 when the
    /// kernel did not say.
    pub peak_memory_bytes: i64,
}

/// How a sandbox ended. Exactly one of `exit_code` and `signal` is meaningful: a
/// program that exited has `exit_code` 0-255 and `signal` 0; one killed by a signal
/// has `exit_code` -1 and `signal` > 0.
///
/// Ownership and thread safety: plain data, owned by whoever declares it; the library
/// only fills it in.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct containment_outcome {
    /// The exit code (0-255), or -1 when the program was killed by a signal.
    pub exit_code: c_int,
    /// The signal that killed the program, or 0 when it exited.
    pub signal: c_int,
    /// Whether the kernel's OOM killer killed a process of the sandbox, from the
    /// sandbox's memory cgroup (never guessed from a SIGKILL). Always false without a
    /// memory limit.
    pub oom_killed: bool,
    /// Whether the sandbox was killed because its timeout passed.
    pub timed_out: bool,
    /// What the sandbox used.
    pub usage: containment_usage,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl From<&Outcome> for containment_outcome {
    fn from(o: &Outcome) -> containment_outcome {
        containment_outcome {
            exit_code: o.status.code().unwrap_or(-1),
            signal: o.status.signal().unwrap_or(0),
            oom_killed: o.oom_killed,
            timed_out: o.timed_out,
            usage: containment_usage {
                wall_us: micros(o.usage.wall),
                user_us: micros(o.usage.user),
                system_us: micros(o.usage.system),
                peak_memory_bytes: o.usage.peak_memory.map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)),
            },
        }
    }
}

/// Writes the outcome of a wait, stop or kill: the outcome in `*outcome` if
/// there is one, and in `*has_outcome` whether there is.
///
/// # Safety
/// Both pointers are writable.
pub(crate) unsafe fn write_outcome(o: Option<&Outcome>, outcome: *mut containment_outcome, has_outcome: *mut bool) {
    // SAFETY: forwarded to the caller.
    unsafe {
        if let Some(o) = o {
            write_out(outcome, containment_outcome::from(o));
        }
        write_out(has_outcome, o.is_some());
    }
}

/// A running sandbox, made by containment_command_spawn() or
/// containment_sandbox_spawn().
///
/// Ownership: owned by the caller and freed with containment_child_free(). Freeing
/// a child that was not waited for kills everything in its sandbox and reaps it:
/// nothing outlives the handle unless it was waited for. The descriptors returned
/// by the *_fd functions belong to the child.
///
/// Thread safety: containment_child_pid(), containment_child_pidfd(), the *_fd
/// functions, containment_child_signal() and containment_child_kill() may be called
/// from any thread at any time, also while another thread waits for the same child
/// (to kill it, say). The wait functions and containment_child_close_stdin() on one
/// child are serialized: a second waiter blocks until the first is done. Only
/// containment_child_free() needs exclusive use.
pub struct containment_child {
    pid: c_int,
    /// A duplicate of the init's pidfd, for signals that do not wait for the lock.
    pidfd: OwnedFd,
    /// The supervisor's end of the program's stdin, or -1 once closed.
    stdin_fd: AtomicI32,
    stdout_fd: c_int,
    stderr_fd: c_int,
    state: Mutex<State>,
}

struct State {
    child: Child,
    /// Whether an outcome was given to the caller.
    waited: bool,
}

impl Handle for containment_child {
    const KIND: Kind = Kind::Child;
}

impl containment_child {
    /// Makes a handle of `child`.
    pub(crate) fn new(child: Child) -> Result<*mut containment_child, Fail> {
        let pidfd = child.as_fd().try_clone_to_owned().map_err(|e| {
            Fail::Core(Error::Os {
                op: "fcntl(F_DUPFD_CLOEXEC) of the pidfd",
                path: None,
                errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
            })
        })?;
        let fd = |f: Option<c_int>| f.unwrap_or(-1);
        Ok(handle::into_raw(containment_child {
            pid: child.pid() as c_int,
            pidfd,
            stdin_fd: AtomicI32::new(fd(child.stdin.as_ref().map(|s| s.as_raw_fd()))),
            stdout_fd: fd(child.stdout.as_ref().map(|s| s.as_raw_fd())),
            stderr_fd: fd(child.stderr.as_ref().map(|s| s.as_raw_fd())),
            state: Mutex::new(State { child, waited: false }),
        }))
    }

    /// Runs a wait: refuses a second one after an outcome was given, keeps the stdin
    /// descriptor number in step with the child.
    fn wait_with(
        &self,
        f: impl FnOnce(&mut Child) -> containment::Result<Option<Outcome>>,
    ) -> Result<Option<Outcome>, Fail> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if st.waited {
            return Err(Fail::Core(Error::AlreadyWaited));
        }
        let r = f(&mut st.child);
        if st.child.stdin.is_none() {
            self.stdin_fd.store(-1, Ordering::SeqCst);
        }
        let o = r?;
        st.waited = o.is_some();
        Ok(o)
    }

    fn close_stdin(&self) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.stdin_fd.store(-1, Ordering::SeqCst);
        drop(st.child.stdin.take());
    }

    /// `pidfd_send_signal(pidfd, sig, NULL, 0)`; a sandbox that already ended is not
    /// an error.
    fn signal(&self, sig: c_int) -> Result<(), Fail> {
        // SAFETY: pidfd_send_signal with a pidfd we own, a NULL siginfo and no flags
        // touches no memory of ours.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0u32,
            )
        };
        if r == 0 {
            return Ok(());
        }
        match Errno::last() {
            Errno::ESRCH => Ok(()),
            errno => Err(Fail::Core(Error::Os { op: "pidfd_send_signal", path: None, errno })),
        }
    }
}

/// Frees a child handle: a child that was not waited for is killed (with everything
/// in its sandbox) and reaped first, so this may take a moment. Closes the child's
/// pipe descriptors. NULL, and a child that was already freed, are ignored.
///
/// Errors: none.
///
/// # Safety
/// `child` is NULL or a pointer this library gave out; no other thread uses it now
/// or later.
#[no_mangle]
pub unsafe extern "C" fn containment_child_free(child: *mut containment_child) {
    // SAFETY: forwarded to the caller.
    call_value((), || unsafe { handle::free(child) })
}

/// The host pid of the sandbox's init (PID 1 inside). It stays valid until the child
/// is waited for or freed.
///
/// Errors: -1 when `child` is NULL or was freed.
///
/// # Safety
/// `child` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_child_pid(child: *const containment_child) -> c_int {
    // SAFETY: forwarded to the caller.
    unsafe { read(child, "child", -1, |c| c.pid) }
}

/// A pidfd of the sandbox's init: readable (poll POLLIN) once the sandbox has ended,
/// for event loops. It belongs to the child (do not close it) and lives until the
/// child is freed.
///
/// Errors: -1 when `child` is NULL or was freed.
///
/// # Safety
/// `child` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_child_pidfd(child: *const containment_child) -> c_int {
    // SAFETY: forwarded to the caller.
    unsafe { read(child, "child", -1, |c| c.pidfd.as_raw_fd()) }
}

/// The caller's end of the program's standard input when it is
/// CONTAINMENT_STDIO_PIPED, or -1 when not piped or closed. It belongs to the child:
/// close it with containment_child_close_stdin(), not close(2). Waiting closes it
/// first.
///
/// Errors: -1 when `child` is NULL or was freed.
///
/// # Safety
/// `child` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_child_stdin_fd(child: *const containment_child) -> c_int {
    // SAFETY: forwarded to the caller.
    unsafe { read(child, "child", -1, |c| c.stdin_fd.load(Ordering::SeqCst)) }
}

/// The caller's end of the program's standard output when it is
/// CONTAINMENT_STDIO_PIPED, or -1. It belongs to the child and stays open until the
/// child is freed (waiting does not close it); use dup(2) to keep it longer.
///
/// Errors: -1 when `child` is NULL or was freed.
///
/// # Safety
/// `child` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_child_stdout_fd(child: *const containment_child) -> c_int {
    // SAFETY: forwarded to the caller.
    unsafe { read(child, "child", -1, |c| c.stdout_fd) }
}

/// The caller's end of the program's standard error when piped, or -1; as
/// containment_child_stdout_fd().
///
/// Errors: -1 when `child` is NULL or was freed.
///
/// # Safety
/// `child` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_child_stderr_fd(child: *const containment_child) -> c_int {
    // SAFETY: forwarded to the caller.
    unsafe { read(child, "child", -1, |c| c.stderr_fd) }
}

/// Closes the caller's end of the program's piped standard input, so that the
/// program reads end-of-file. Closing twice, or when stdin is not piped, does
/// nothing.
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_child_close_stdin(
    child: *mut containment_child,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        call(error, || {
            get(child.cast_const(), "child")?.close_stdin();
            Ok(())
        })
    }
}

/// Sends signal `sig` to the program: SIGKILL ends the whole sandbox at once; other
/// signals go through the sandbox's init, which forwards them to the program.
/// Sending to a sandbox that already ended does nothing.
///
/// Errors: CONTAINMENT_OS_ERROR (errno EINVAL) when the kernel refuses `sig`; the
/// common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_child_signal(
    child: *const containment_child,
    sig: c_int,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { call(error, || get(child, "child")?.signal(sig)) }
}

/// Kills the sandbox: SIGKILL to its init, so every process in it dies. The
/// outcome then reports `signal` SIGKILL.
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_child_kill(
    child: *const containment_child,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { call(error, || get(child, "child")?.signal(libc::SIGKILL)) }
}

/// Waits for the program to end and stores its outcome in `*outcome`. Closes the
/// program's piped standard input first.
///
/// Errors: CONTAINMENT_ALREADY_WAITED when an outcome of this child was already
/// given (by any wait function); CONTAINMENT_OS_ERROR if waiting fails;
/// CONTAINMENT_INIT_DIED if the init ended without saying how the program did; the
/// common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_child_wait(
    child: *mut containment_child,
    outcome: *mut containment_outcome,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `outcome` is checked.
    unsafe {
        call(error, || {
            let c = get(child.cast_const(), "child")?;
            non_null(outcome, "outcome")?;
            let o = c.wait_with(|ch| {
                drop(ch.stdin.take());
                ch.wait().map(Some)
            })?;
            if let Some(o) = o {
                write_out(outcome, containment_outcome::from(&o));
            }
            Ok(())
        })
    }
}

/// Waits at most `timeout_ms` milliseconds for the program to end. Sets
/// `*finished` to true and stores the outcome in `*outcome` if it ended; otherwise
/// sets `*finished` to false, leaves `*outcome` alone and the sandbox running. A
/// timeout of 0 polls (as containment_child_try_wait()).
///
/// Errors: as containment_child_wait().
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_child_wait_timeout(
    child: *mut containment_child,
    timeout_ms: u64,
    outcome: *mut containment_outcome,
    finished: *mut bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; the outputs are checked.
    unsafe {
        call(error, || {
            let c = get(child.cast_const(), "child")?;
            non_null(outcome, "outcome")?;
            non_null(finished, "finished")?;
            let o = c.wait_with(|ch| ch.wait_timeout(Duration::from_millis(timeout_ms)))?;
            write_outcome(o.as_ref(), outcome, finished);
            Ok(())
        })
    }
}

/// Stores the outcome in `*outcome` and sets `*finished` to true if the program has
/// ended, without blocking; otherwise sets `*finished` to false.
///
/// Errors: as containment_child_wait().
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_child_try_wait(
    child: *mut containment_child,
    outcome: *mut containment_outcome,
    finished: *mut bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: forwarded to the caller.
    unsafe { containment_child_wait_timeout(child, 0, outcome, finished, error) }
}
