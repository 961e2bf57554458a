//! `containment_running`: a long-lived sandbox to run programs in.

use std::ffi::{c_char, c_int, CString};
use std::ptr;
use std::time::Duration;

use containment::{Outcome, Running, Sandbox};

use crate::child::{containment_child, containment_outcome, write_outcome};
use crate::command::{command_handle, containment_command, inner_mut, with_command_handle};
use crate::error::{c_string, containment_error};
use crate::handle::{
    self, call, call_value, get, get_mut, non_null, os_str, put, read, utf8, write_out, Fail, Handle, Kind,
};
use crate::sandbox::{containment_sandbox, set, set_handle};
use crate::status::containment_status;

/// A sandbox that stays up, to run programs in over time: made by
/// containment_sandbox_start() (no main program), containment_command_start() (the
/// command's program is its main program: when it ends, the sandbox ends) or
/// containment_running_open() (a named sandbox, perhaps started by another
/// process). Programs run with containment_running_command() or
/// containment_running_exec() share its namespaces, root, cgroups, limits and
/// security profile.
///
/// Ownership: owned by the caller, freed with containment_running_free(). Freeing
/// stops a sandbox this process started, unless it was detached; a sandbox opened
/// with containment_running_open() keeps running. After
/// containment_running_stop(), _kill() or _detach() the handle only answers
/// containment_running_pid() and _name() and must still be freed.
///
/// Thread safety: not thread-safe: use one handle from one thread at a time.
/// Children and commands made from it are independent handles.
pub struct containment_running {
    pid: c_int,
    /// Whether the sandbox is persistent, where known (for one this process
    /// started); Rust's `detach` stops a sandbox that is not.
    persistent: Option<bool>,
    name: Option<CString>,
    /// `None` once stopped, killed or detached.
    running: Option<Running>,
    /// Whether an outcome was given to the caller.
    waited: bool,
}

impl Handle for containment_running {
    const KIND: Kind = Kind::Running;
}

/// What containment_running_list() says of one running sandbox.
///
/// Ownership: the array and its strings belong to the library; free them all at
/// once with containment_running_list_free().
///
/// Thread safety: plain data.
#[repr(C)]
pub struct containment_running_info {
    /// Its name.
    pub name: *mut c_char,
    /// The host pid of its init.
    pub pid: c_int,
    /// How long it has been up, in milliseconds.
    pub uptime_ms: u64,
    /// Its limits as text ("memory=64M pids=16"), empty without any.
    pub limits: *mut c_char,
    /// Memory in use now, in bytes, or -1 when it has no memory limit.
    pub memory_current_bytes: i64,
}

impl containment_running {
    /// Makes a handle of `running`.
    pub(crate) fn new(running: Running, persistent: Option<bool>) -> *mut containment_running {
        handle::into_raw(containment_running {
            pid: running.pid() as c_int,
            persistent,
            name: running.name().map(|n| c_string(n.as_bytes())),
            running: Some(running),
            waited: false,
        })
    }

    fn live(&self) -> Result<&Running, Fail> {
        self.running.as_ref().ok_or_else(stopped)
    }

    fn take(&mut self) -> Result<Running, Fail> {
        self.running.take().ok_or_else(stopped)
    }
}

fn stopped() -> Fail {
    Fail::config("the sandbox of this handle was already stopped, killed or detached; free the handle")
}

/// A name given as text, checked.
///
/// # Safety
/// As [`os_str`].
pub(crate) unsafe fn sandbox_name(p: *const c_char) -> Result<String, Fail> {
    // SAFETY: forwarded to the caller.
    let name = unsafe { utf8(p, "name", "1 to 64 characters out of A-Z a-z 0-9 . _ -") }?;
    containment::validate_name(&name)?;
    Ok(name)
}

/// Names the sandbox: its state lives under /run/containment/<name>, where other
/// processes find it (containment_running_open(), `contain exec`). Names are
/// unique among running sandboxes.
///
/// Errors: CONTAINMENT_INVALID_VALUE for a name that is not 1 to 64 characters out
/// of A-Z a-z 0-9 . _ - (not starting with . or -); the common ones. A name in use
/// is refused at start.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_name(
    sandbox: *mut containment_sandbox,
    name: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set(sandbox, error, || {
            let name = sandbox_name(name)?;
            Ok(move |s: Sandbox| s.name(name))
        })
    }
}

/// Lets a named sandbox outlive the process that started it (`yes` true; see
/// containment_running_detach()), or not (the default: it dies with that process).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_persistent(
    sandbox: *mut containment_sandbox,
    yes: bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        set_handle(sandbox, error, |h| {
            h.persistent = yes;
            h.apply(|s| s.persistent(yes));
            Ok(())
        })
    }
}

/// Starts the sandbox with no program: its init is up, its filesystem, limits and
/// network are in place. Stores the handle in `*out`; run programs in it with
/// containment_running_command().
///
/// Errors: as containment_command_spawn(); CONTAINMENT_INVALID_CONFIG when its name
/// is in use, or when it is persistent without a name.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_start(
    sandbox: *const containment_sandbox,
    out: *mut *mut containment_running,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe {
        call(error, || {
            let sb = get(sandbox, "sandbox")?;
            put(out, "out", || Ok(containment_running::new(sb.inner().start()?, Some(sb.persistent))))
        })
    }
}

/// Starts a sandbox that stays up with the command's program as its main program:
/// when the program ends, the sandbox ends (containment_running_wait() gives its
/// outcome). Stores the handle in `*out`.
///
/// Errors: as containment_sandbox_start().
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_start(
    command: *mut containment_command,
    out: *mut *mut containment_running,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe {
        with_command_handle(command, error, |c| {
            put(out, "out", || Ok(containment_running::new(c.inner.start()?, Some(c.persistent))))
        })
    }
}

/// Opens the running sandbox named `name`, which any process may have started, and
/// stores a handle in `*out`. Freeing that handle leaves the sandbox running;
/// containment_running_stop() or _kill() end it.
///
/// Errors: CONTAINMENT_INVALID_VALUE for a bad name; CONTAINMENT_INVALID_CONFIG when
/// no sandbox of that name is running; CONTAINMENT_OS_ERROR when its state cannot
/// be read; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_running_open(
    name: *const c_char,
    out: *mut *mut containment_running,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe {
        call(error, || {
            let name = sandbox_name(name)?;
            put(out, "out", || Ok(containment_running::new(Running::open(&name)?, None)))
        })
    }
}

/// Frees the handle. A sandbox this process started and did not detach is killed
/// and removed first; an opened one keeps running. NULL, and a handle that was
/// already freed, are ignored.
///
/// Errors: none.
///
/// # Safety
/// `running` is NULL or a pointer this library gave out; no other thread uses it.
#[no_mangle]
pub unsafe extern "C" fn containment_running_free(running: *mut containment_running) {
    // SAFETY: forwarded to the caller.
    call_value((), || unsafe { handle::free(running) })
}

/// The host pid of the sandbox's init.
///
/// Errors: -1 when `running` is NULL or was freed.
///
/// # Safety
/// `running` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_running_pid(running: *const containment_running) -> c_int {
    // SAFETY: forwarded to the caller.
    unsafe { read(running, "running", -1, |r| r.pid) }
}

/// The sandbox's name, or NULL when it has none. The string belongs to the handle.
///
/// Errors: NULL when `running` is NULL or was freed.
///
/// # Safety
/// `running` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_running_name(running: *const containment_running) -> *const c_char {
    // SAFETY: forwarded to the caller.
    unsafe { read(running, "running", ptr::null(), |r| r.name.as_ref().map_or(ptr::null(), |n| n.as_ptr())) }
}

/// Stores in `*out` a new command that runs `program` in this sandbox (its
/// namespaces, root, cgroups, limits and security profile); spawn it with
/// containment_command_spawn(), or run it with _status() or _output().
///
/// Errors: CONTAINMENT_INVALID_CONFIG when the sandbox was stopped; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_running_command(
    running: *const containment_running,
    program: *const c_char,
    out: *mut *mut containment_command,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe {
        call(error, || {
            let r = get(running, "running")?.live()?;
            let program = os_str(program, "program")?;
            put(out, "out", || Ok(command_handle(r.command(program), false)))
        })
    }
}

/// Runs the program of `command` (its arguments, environment, working directory and
/// standard descriptors; not its sandbox description) in this sandbox, and stores
/// the child in `*out`.
///
/// Errors: as containment_command_spawn(); CONTAINMENT_SETUP_FAILED at stage "join"
/// when the sandbox is gone; CONTAINMENT_INVALID_CONFIG when it was stopped.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_running_exec(
    running: *const containment_running,
    command: *mut containment_command,
    out: *mut *mut containment_child,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe {
        call(error, || {
            let r = get(running, "running")?.live()?;
            let cmd = inner_mut(command)?;
            put(out, "out", || containment_child::new(r.exec(cmd)?))
        })
    }
}

/// Waits for the main program to end (for a sandbox started without one: for the
/// sandbox to be killed) and stores its outcome in `*outcome`. The sandbox ends
/// with it.
///
/// Errors: CONTAINMENT_ALREADY_WAITED when its outcome was already given;
/// CONTAINMENT_UNSUPPORTED for a sandbox another process started (opened);
/// CONTAINMENT_INVALID_CONFIG when it was stopped; otherwise as
/// containment_child_wait().
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_running_wait(
    running: *mut containment_running,
    outcome: *mut containment_outcome,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `outcome` is checked.
    unsafe {
        call(error, || {
            let h = get_mut(running, "running")?;
            put(outcome, "outcome", || {
                if h.waited {
                    return Err(Fail::Core(containment::Error::AlreadyWaited));
                }
                let o = h.running.as_mut().ok_or_else(stopped)?.wait()?;
                h.waited = true;
                Ok(containment_outcome::from(&o))
            })
        })
    }
}

/// Ends the sandbox with `f` (Rust's `stop` or `kill`) and gives its outcome, if
/// there is one.
///
/// # Safety
/// As [`call`] and [`get_mut`]; `outcome` and `has_outcome` are NULL or writable.
unsafe fn end(
    running: *mut containment_running,
    outcome: *mut containment_outcome,
    has_outcome: *mut bool,
    error: *mut *mut containment_error,
    f: impl FnOnce(Running) -> containment::Result<Option<Outcome>>,
) -> containment_status {
    // SAFETY: forwarded to the caller; the outputs are checked.
    unsafe {
        call(error, || {
            let h = get_mut(running, "running")?;
            non_null(outcome, "outcome")?;
            non_null(has_outcome, "has_outcome")?;
            let o = f(h.take()?)?;
            write_outcome(o.as_ref(), outcome, has_outcome);
            Ok(())
        })
    }
}

/// Stops the sandbox: SIGTERM to every process in it, up to `grace_ms`
/// milliseconds for them to end, then SIGKILL to what is left, and everything is
/// removed (cgroups, state). When this process started the sandbox, sets
/// `*has_outcome` to true and stores the main program's outcome in `*outcome`;
/// otherwise sets `*has_outcome` to false.
///
/// Errors: CONTAINMENT_INVALID_CONFIG when it was already stopped;
/// CONTAINMENT_OS_ERROR if signalling or waiting fails; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_running_stop(
    running: *mut containment_running,
    grace_ms: u64,
    outcome: *mut containment_outcome,
    has_outcome: *mut bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { end(running, outcome, has_outcome, error, |r| r.stop(Duration::from_millis(grace_ms))) }
}

/// Kills the sandbox at once and removes everything; the outcome as with
/// containment_running_stop().
///
/// Errors: as containment_running_stop().
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_running_kill(
    running: *mut containment_running,
    outcome: *mut containment_outcome,
    has_outcome: *mut bool,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { end(running, outcome, has_outcome, error, |r| r.kill()) }
}

/// Leaves a persistent sandbox running after this handle is freed; another process
/// stops it later (containment_running_open(), `contain stop`).
///
/// Errors: CONTAINMENT_INVALID_CONFIG when the sandbox is not persistent (the
/// handle still holds it then) or was already stopped; the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_running_detach(
    running: *mut containment_running,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe {
        call(error, || {
            let h = get_mut(running, "running")?;
            h.live()?;
            // Rust's `detach` consumes the sandbox even when it refuses, which stops
            // it: refuse here first when the sandbox is known not to be persistent.
            if h.persistent == Some(false) {
                return Err(Fail::config("only a persistent sandbox can be detached (containment_sandbox_persistent)"));
            }
            h.take()?.detach()?;
            Ok(())
        })
    }
}

/// Stores in `*out` an array of the named sandboxes that are running, in name
/// order, and its length in `*count` (`*out` is NULL when there are none). Free it
/// with containment_running_list_free().
///
/// Errors: CONTAINMENT_OS_ERROR when /run/containment cannot be read; the common
/// ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_running_list(
    out: *mut *mut containment_running_info,
    count: *mut usize,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; the outputs are checked.
    unsafe {
        call(error, || {
            non_null(out, "out")?;
            non_null(count, "count")?;
            let infos: Vec<containment_running_info> = containment::list()?
                .into_iter()
                .map(|i| containment_running_info {
                    name: c_string(i.name.as_bytes()).into_raw(),
                    pid: i.pid as c_int,
                    uptime_ms: u64::try_from(i.uptime.as_millis()).unwrap_or(u64::MAX),
                    limits: c_string(i.limits.as_bytes()).into_raw(),
                    memory_current_bytes: i.memory_current.map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)),
                })
                .collect();
            let n = infos.len();
            let p = if n == 0 { ptr::null_mut() } else { Box::into_raw(infos.into_boxed_slice()).cast() };
            write_out(out, p);
            write_out(count, n);
            Ok(())
        })
    }
}

/// Frees an array from containment_running_list() with its `count`. NULL is
/// ignored.
///
/// Errors: none.
///
/// # Safety
/// `list` is NULL or an array containment_running_list() gave out, with the count
/// it gave, not freed before.
#[no_mangle]
pub unsafe extern "C" fn containment_running_list_free(list: *mut containment_running_info, count: usize) {
    if list.is_null() || count == 0 {
        return;
    }
    // SAFETY: `list` and `count` came from containment_running_list, which made them
    // from a boxed slice whose strings came from CString::into_raw.
    unsafe {
        let infos = Box::from_raw(ptr::slice_from_raw_parts_mut(list, count));
        for i in infos.iter() {
            drop(CString::from_raw(i.name));
            drop(CString::from_raw(i.limits));
        }
    }
}
