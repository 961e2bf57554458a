//! `containment_command`: what to run in a sandbox, and how to start it.

use std::ffi::{c_char, c_int, OsStr};
use std::os::fd::{FromRawFd, OwnedFd};
use std::ptr;

use containment::{Command, Stdio, ValueKind};

use crate::child::{containment_child, containment_outcome};
use crate::error::containment_error;
use crate::handle::{
    self, call, call_value, get, get_mut, non_null, os_str, put, string_array, write_out, Fail, Handle, Kind,
};
use crate::sandbox::containment_sandbox;
use crate::status::containment_status;

/// A program to run in a sandbox, with its arguments, environment, working directory
/// and standard descriptors; shaped like Rust's std::process::Command. The
/// environment starts as only PATH and HOME=/; nothing of the caller's environment
/// is passed unless asked for. A command can be spawned any number of times.
///
/// Ownership: made by containment_command_new(), containment_command_new_argv() or
/// containment_command_new_from_host(), which copy the sandbox description; owned
/// by the caller, freed with containment_command_free(). Children spawned from it
/// are independent of it.
///
/// Thread safety: not thread-safe: use one command from one thread at a time.
/// Different commands may be used (and spawned) from different threads at once.
pub struct containment_command {
    pub(crate) inner: Command,
    /// Whether its sandbox is persistent (containment_running_detach() needs it).
    pub(crate) persistent: bool,
}

impl Handle for containment_command {
    const KIND: Kind = Kind::Command;
}

/// Where a standard descriptor of the program is connected: one of the
/// CONTAINMENT_STDIO_* constants. Any other number is refused with
/// CONTAINMENT_INVALID_VALUE.
///
/// Ownership and thread safety: a plain value.
pub type containment_stdio = c_int;
/// The caller's own descriptor (the default for spawn and status).
pub const CONTAINMENT_STDIO_INHERIT: containment_stdio = 0;
/// /dev/null of the host.
pub const CONTAINMENT_STDIO_NULL: containment_stdio = 1;
/// A new pipe; the caller's end is on the child (containment_child_stdin_fd(), ...).
pub const CONTAINMENT_STDIO_PIPED: containment_stdio = 2;
/// A descriptor the caller gives; the command keeps its own duplicate, so the
/// caller may close its descriptor after the call.
pub const CONTAINMENT_STDIO_FD: containment_stdio = 3;

/// Bytes the library allocated: `len` bytes at `data`, followed by a NUL byte that
/// `len` does not count (so text can be used as a C string directly). `data` is
/// NULL when `len` is 0 only if the buffer was freed.
///
/// Ownership: the caller owns the bytes and frees them with containment_buffer_free()
/// (which sets `data` to NULL and `len` to 0, so freeing twice is harmless).
///
/// Thread safety: plain data.
#[repr(C)]
pub struct containment_buffer {
    /// The bytes, followed by a NUL byte.
    pub data: *mut u8,
    /// How many bytes, not counting the NUL.
    pub len: usize,
}

impl containment_buffer {
    /// A copy of `bytes` in memory from `malloc`.
    fn new(bytes: &[u8]) -> Result<containment_buffer, Fail> {
        // SAFETY: malloc may be called with any size; the result is checked for NULL.
        let data = unsafe { libc::malloc(bytes.len() + 1) }.cast::<u8>();
        if data.is_null() {
            return Err(Fail::last_os("malloc"));
        }
        // SAFETY: `data` has room for `bytes.len() + 1` bytes and does not overlap
        // `bytes`.
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
            data.add(bytes.len()).write(0);
        }
        Ok(containment_buffer { data, len: bytes.len() })
    }
}

/// Frees the bytes of `buffer` and sets its `data` to NULL and `len` to 0. NULL, and
/// a buffer whose `data` is NULL, are ignored.
///
/// Errors: none.
///
/// # Safety
/// `buffer` is NULL or points to a containment_buffer that this library filled in
/// (or that was zeroed, or already freed with this function).
#[no_mangle]
pub unsafe extern "C" fn containment_buffer_free(buffer: *mut containment_buffer) {
    if buffer.is_null() {
        return;
    }
    // SAFETY: the caller guarantees a valid buffer; its `data` came from malloc or
    // is NULL, which free accepts.
    unsafe {
        libc::free((*buffer).data.cast());
        (*buffer).data = ptr::null_mut();
        (*buffer).len = 0;
    }
}

/// Runs `f` on the command behind `command`.
///
/// # Safety
/// As [`call`] and [`get_mut`]; `f` may rely on the same guarantees.
unsafe fn with_command(
    command: *mut containment_command,
    error: *mut *mut containment_error,
    f: impl FnOnce(&mut Command) -> Result<(), Fail>,
) -> containment_status {
    // SAFETY: forwarded to the caller.
    unsafe { call(error, || f(&mut get_mut(command, "command")?.inner)) }
}

/// Runs a change to the command behind `command`: `f` calls one of the builder
/// methods of `Command`, whose result (the command again) is not needed.
///
/// # Safety
/// As [`call`] and [`get_mut`]; `f` may rely on the same guarantees.
unsafe fn change_command(
    command: *mut containment_command,
    error: *mut *mut containment_error,
    f: impl FnOnce(&mut Command) -> Result<&mut Command, Fail>,
) -> containment_status {
    // SAFETY: forwarded to the caller.
    unsafe { with_command(command, error, |c| f(c).map(|_| ())) }
}

/// Runs `f` on the handle behind `command`.
///
/// # Safety
/// As [`call`] and [`get_mut`]; `f` may rely on the same guarantees.
pub(crate) unsafe fn with_command_handle(
    command: *mut containment_command,
    error: *mut *mut containment_error,
    f: impl FnOnce(&mut containment_command) -> Result<(), Fail>,
) -> containment_status {
    // SAFETY: forwarded to the caller.
    unsafe { call(error, || f(get_mut(command, "command")?)) }
}

/// The command behind `command`.
///
/// # Safety
/// As [`get_mut`].
pub(crate) unsafe fn inner_mut<'a>(command: *mut containment_command) -> Result<&'a mut Command, Fail> {
    // SAFETY: forwarded to the caller.
    Ok(&mut unsafe { get_mut(command, "command") }?.inner)
}

/// A new command handle.
pub(crate) fn command_handle(inner: Command, persistent: bool) -> *mut containment_command {
    handle::into_raw(containment_command { inner, persistent })
}

/// A command from `argv`: `argv[0]` is the program, the rest its arguments.
fn command_from_argv(sandbox: &containment_sandbox, argv: &[&OsStr]) -> Result<Command, Fail> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Fail::config("argv is empty: it needs at least the program"));
    };
    let mut cmd = sandbox.inner().command(program);
    cmd.args(args);
    Ok(cmd)
}

/// Stores in `*out` a new command that runs `program` in a sandbox made from (a copy
/// of) `sandbox`. A `program` without '/' is looked up in the PATH of the command's
/// environment, inside the sandbox. `argv[0]` is `program` unless
/// containment_command_arg0() sets it.
///
/// Errors: only the common ones; whether `program` exists is found at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_new(
    sandbox: *const containment_sandbox,
    program: *const c_char,
    out: *mut *mut containment_command,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe {
        call(error, || {
            let sb = get(sandbox, "sandbox")?;
            let program = os_str(program, "program")?;
            put(out, "out", || Ok(command_handle(sb.inner().command(program), sb.persistent)))
        })
    }
}

/// Stores in `*out` a new command from the NULL-terminated array `argv`: `argv[0]`
/// is the program (as in containment_command_new()), the rest its arguments.
///
/// Errors: CONTAINMENT_INVALID_CONFIG when `argv` is empty (`argv[0]` is NULL); the
/// common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_new_argv(
    sandbox: *const containment_sandbox,
    argv: *const *const c_char,
    out: *mut *mut containment_command,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe {
        call(error, || {
            let sb = get(sandbox, "sandbox")?;
            let argv = string_array(argv, "argv")?;
            put(out, "out", || Ok(command_handle(command_from_argv(sb, &argv)?, sb.persistent)))
        })
    }
}

/// Stores in `*out` a new command that runs the host file `path` inside the
/// sandbox, whatever its root holds: the file is bound read-only at
/// /run/containment/<file name>, and `argv[0]` is the file name.
///
/// Errors: only the common ones; `path` is checked at spawn.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_new_from_host(
    sandbox: *const containment_sandbox,
    path: *const c_char,
    out: *mut *mut containment_command,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe {
        call(error, || {
            let sb = get(sandbox, "sandbox")?;
            let path = os_str(path, "path")?;
            put(out, "out", || Ok(command_handle(sb.inner().command_from_host(path), sb.persistent)))
        })
    }
}

/// Frees a command (and the descriptors it duplicated for CONTAINMENT_STDIO_FD).
/// NULL, and a command that was already freed, are ignored. Children spawned from
/// it are not affected.
///
/// Errors: none.
///
/// # Safety
/// `command` is NULL or a pointer this library gave out; no other thread uses it.
#[no_mangle]
pub unsafe extern "C" fn containment_command_free(command: *mut containment_command) {
    // SAFETY: forwarded to the caller.
    call_value((), || unsafe { handle::free(command) })
}

/// Adds the argument `arg` (any bytes but NUL).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_arg(
    command: *mut containment_command,
    arg: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.arg(os_str(arg, "arg")?))) }
}

/// Adds the arguments of the NULL-terminated array `args` (nothing when `args[0]`
/// is NULL).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_args(
    command: *mut containment_command,
    args: *const *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.args(string_array(args, "args")?))) }
}

/// Sets `argv[0]` (by default the program as given).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_arg0(
    command: *mut containment_command,
    arg0: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.arg0(os_str(arg0, "arg0")?))) }
}

/// Sets the environment variable `key` to `value` in the program's environment.
///
/// Errors: only the common ones; a `key` that is empty or holds '=' is refused at
/// spawn (CONTAINMENT_INVALID_VALUE).
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_env(
    command: *mut containment_command,
    key: *const c_char,
    value: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.env(os_str(key, "key")?, os_str(value, "value")?))) }
}

/// Removes the environment variable `key` (also one of the defaults, PATH or HOME).
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_env_remove(
    command: *mut containment_command,
    key: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.env_remove(os_str(key, "key")?))) }
}

/// Starts the environment from nothing (not even PATH and HOME) and forgets the
/// variables set so far.
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_env_clear(
    command: *mut containment_command,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.env_clear())) }
}

/// Starts the environment from the caller's whole environment (relaxing the
/// default explicitly); variables set with containment_command_env() still apply.
///
/// Errors: only the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_inherit_env(
    command: *mut containment_command,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.inherit_env())) }
}

/// Sets the program's working directory inside the sandbox (default "/").
///
/// Errors: only the common ones; a directory that does not exist inside makes the
/// spawn fail (CONTAINMENT_SETUP_FAILED, stage "chdir").
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_current_dir(
    command: *mut containment_command,
    dir: *const c_char,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.current_dir(os_str(dir, "dir")?))) }
}

/// The Rust `Stdio` for a choice and descriptor.
fn stdio_of(how: containment_stdio, fd: c_int) -> Result<Stdio, Fail> {
    match how {
        CONTAINMENT_STDIO_INHERIT => Ok(Stdio::inherit()),
        CONTAINMENT_STDIO_NULL => Ok(Stdio::null()),
        CONTAINMENT_STDIO_PIPED => Ok(Stdio::piped()),
        CONTAINMENT_STDIO_FD => {
            if fd < 0 {
                return Err(Fail::invalid(
                    ValueKind::Number,
                    fd.to_string(),
                    "a descriptor cannot be negative",
                    "an open file descriptor",
                ));
            }
            // SAFETY: fcntl(F_DUPFD_CLOEXEC) is defined for any integer; an fd that is
            // not open gives EBADF. (Above 2, like every descriptor a spawn keeps:
            // 0-2 are the program's standard streams.)
            let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
            if dup < 0 {
                return Err(Fail::last_os("fcntl(F_DUPFD_CLOEXEC)"));
            }
            // SAFETY: `dup` is a new descriptor that nothing else owns.
            Ok(Stdio::Fd(unsafe { OwnedFd::from_raw_fd(dup) }))
        }
        other => Err(Fail::invalid(
            ValueKind::Argument,
            other.to_string(),
            "unknown standard descriptor choice",
            "one of the CONTAINMENT_STDIO_* constants",
        )),
    }
}

/// Connects the program's standard input: `how` is a CONTAINMENT_STDIO_* constant;
/// `fd` is used only with CONTAINMENT_STDIO_FD (pass -1 otherwise) and is
/// duplicated, so the caller keeps its own descriptor. The default is inherit (null
/// for containment_command_output()).
///
/// Errors: CONTAINMENT_INVALID_VALUE for an unknown `how` or a negative `fd` with
/// CONTAINMENT_STDIO_FD; CONTAINMENT_OS_ERROR (errno EBADF) when `fd` is not open;
/// the common ones.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_stdin(
    command: *mut containment_command,
    how: containment_stdio,
    fd: c_int,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.stdin(stdio_of(how, fd)?))) }
}

/// Connects the program's standard output; as containment_command_stdin() (the
/// default is inherit, piped for containment_command_output()).
///
/// Errors: as containment_command_stdin().
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_stdout(
    command: *mut containment_command,
    how: containment_stdio,
    fd: c_int,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.stdout(stdio_of(how, fd)?))) }
}

/// Connects the program's standard error; as containment_command_stdout().
///
/// Errors: as containment_command_stdin().
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_stderr(
    command: *mut containment_command,
    how: containment_stdio,
    fd: c_int,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees.
    unsafe { change_command(command, error, |c| Ok(c.stderr(stdio_of(how, fd)?))) }
}

/// Starts the sandbox and the program in it, and stores the running child in `*out`
/// once execve succeeded (free it with containment_child_free()).
///
/// Errors: CONTAINMENT_INVALID_VALUE and CONTAINMENT_INVALID_CONFIG for bad input
/// (nothing is created then); CONTAINMENT_NOT_FOUND and CONTAINMENT_NOT_EXECUTABLE
/// when execve fails; CONTAINMENT_SETUP_FAILED with the stage, errno and path when
/// building the sandbox fails; CONTAINMENT_NEEDS_PRIVILEGE when an option needs
/// root; CONTAINMENT_UNSUPPORTED when the kernel or host lacks what is needed;
/// CONTAINMENT_CGROUP_PARENT; CONTAINMENT_OS_ERROR for failures in the calling
/// process; the common ones. Nothing is left behind on failure.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_spawn(
    command: *mut containment_command,
    out: *mut *mut containment_child,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe { with_command(command, error, |c| put(out, "out", || containment_child::new(c.spawn()?))) }
}

/// Runs the program to its end and stores its outcome in `*outcome`. Standard
/// descriptors default to inherit.
///
/// Errors: as containment_command_spawn(), and CONTAINMENT_OS_ERROR or
/// CONTAINMENT_INIT_DIED if waiting fails.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_status(
    command: *mut containment_command,
    outcome: *mut containment_outcome,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `outcome` is checked.
    unsafe { with_command(command, error, |c| put(outcome, "outcome", || Ok(containment_outcome::from(&c.status()?)))) }
}

/// Runs the program to its end while collecting its standard output and error
/// (piped unless set otherwise; standard input defaults to null). Stores the
/// outcome in `*outcome` and what the program wrote in `*stdout_buf` and
/// `*stderr_buf` (empty when not piped); free both with containment_buffer_free().
///
/// Errors: as containment_command_status(); nothing is written on failure.
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_command_output(
    command: *mut containment_command,
    outcome: *mut containment_outcome,
    stdout_buf: *mut containment_buffer,
    stderr_buf: *mut containment_buffer,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; the outputs are checked.
    unsafe {
        with_command(command, error, |c| {
            non_null(outcome, "outcome")?;
            non_null(stdout_buf, "stdout_buf")?;
            non_null(stderr_buf, "stderr_buf")?;
            let o = c.output()?;
            let mut out = containment_buffer::new(&o.stdout)?;
            let err = match containment_buffer::new(&o.stderr) {
                Ok(b) => b,
                Err(e) => {
                    containment_buffer_free(&mut out);
                    return Err(e);
                }
            };
            write_out(outcome, containment_outcome::from(&o.outcome()));
            write_out(stdout_buf, out);
            write_out(stderr_buf, err);
            Ok(())
        })
    }
}

/// Spawns the NULL-terminated `argv` in a sandbox made from `sandbox`, with the
/// standard descriptors inherited: a shortcut for containment_command_new_argv()
/// and containment_command_spawn(). Stores the child in `*out`.
///
/// Errors: as containment_command_new_argv() and containment_command_spawn().
///
/// # Safety
/// Arguments follow the pointer rules at the top of this header.
#[no_mangle]
pub unsafe extern "C" fn containment_sandbox_spawn(
    sandbox: *const containment_sandbox,
    argv: *const *const c_char,
    out: *mut *mut containment_child,
    error: *mut *mut containment_error,
) -> containment_status {
    // SAFETY: the pointers are as the caller guarantees; `out` is checked for NULL.
    unsafe {
        call(error, || {
            let sb = get(sandbox, "sandbox")?;
            let argv = string_array(argv, "argv")?;
            put(out, "out", || containment_child::new(command_from_argv(sb, &argv)?.spawn()?))
        })
    }
}
