//! The C entry points that take strings, called as a C program would, with
//! NUL-terminated strings cut from the input: never crash, never leak, and keep
//! their contract:
//!
//! - a status that is not CONTAINMENT_OK comes with an error whose message is a
//!   non-empty string, and CONTAINMENT_OK with no error;
//! - the setters whose header says "Errors: only the common ones" (the value is
//!   checked at spawn) succeed on any string;
//! - the parsing setters succeed exactly when the Rust parser accepts the same text,
//!   and fail with the status of the Rust parser's error otherwise (input that is
//!   not UTF-8 never parses).
//!
//! The first byte picks the entry point; the rest, split at NUL bytes, gives its
//! strings (missing ones are empty).
//!
//! Left out, because they act on the host: `containment_sandbox_spawn` (its argv
//! goes through the same conversion as `containment_command_new_argv`'s, fuzzed
//! here), `containment_cgroup_gc` (it removes cgroups), and
//! `containment_running_open` with a valid name (it would open, or clean up after,
//! a sandbox of that name).
#![no_main]

use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr;

use containment::{CpuSet, Ipv4Net, MemoryLimit};
use containment_ffi::{
    containment_command, containment_error, containment_running, containment_sandbox, containment_status,
};
use libfuzzer_sys::fuzz_target;

use containment_status::{
    CONTAINMENT_INVALID_CONFIG, CONTAINMENT_INVALID_VALUE, CONTAINMENT_OK, CONTAINMENT_UNSUPPORTED,
};

type Sb = *mut containment_sandbox;
type Err = *mut *mut containment_error;

// The signatures of include/containment.h (containment-ffi/src). The handles are
// opaque: only pointers to them cross, as in C.
#[allow(improper_ctypes)]
extern "C" {
    fn containment_status_str(status: c_int) -> *const c_char;
    fn containment_error_free(error: *mut containment_error);
    fn containment_error_status(error: *const containment_error) -> containment_status;
    fn containment_error_message(error: *const containment_error) -> *const c_char;
    fn containment_error_path(error: *const containment_error) -> *const c_char;
    fn containment_error_stage(error: *const containment_error) -> *const c_char;
    fn containment_sandbox_new() -> Sb;
    fn containment_sandbox_free(sandbox: Sb);
    fn containment_sandbox_chroot(sandbox: Sb, dir: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_overlay(sandbox: Sb, template: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_overlay_persistent(
        sandbox: Sb,
        template: *const c_char,
        dir: *const c_char,
        error: Err,
    ) -> containment_status;
    fn containment_sandbox_bind(sandbox: Sb, src: *const c_char, dst: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_bind_ro(
        sandbox: Sb,
        src: *const c_char,
        dst: *const c_char,
        error: Err,
    ) -> containment_status;
    fn containment_sandbox_tmpfs(
        sandbox: Sb,
        dst: *const c_char,
        size: *const c_char,
        error: Err,
    ) -> containment_status;
    fn containment_sandbox_tmpfs_bytes(sandbox: Sb, dst: *const c_char, bytes: u64, error: Err) -> containment_status;
    fn containment_sandbox_tmpfs_unlimited(sandbox: Sb, dst: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_hostname(sandbox: Sb, name: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_memory(sandbox: Sb, limit: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_cpus(sandbox: Sb, cpus: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_cgroup_parent(sandbox: Sb, path: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_rlimit_spec(sandbox: Sb, spec: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_net_bridge(
        sandbox: Sb,
        bridge: *const c_char,
        address: *const c_char,
        error: Err,
    ) -> containment_status;
    fn containment_sandbox_net_gateway(sandbox: Sb, gateway: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_net_create_bridge(sandbox: Sb, address: *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_capabilities(sandbox: Sb, names: *const *const c_char, error: Err) -> containment_status;
    fn containment_sandbox_seccomp_deny(sandbox: Sb, syscall: *const c_char, error: Err) -> containment_status;
    fn containment_command_new(
        sandbox: *const containment_sandbox,
        program: *const c_char,
        out: *mut *mut containment_command,
        error: Err,
    ) -> containment_status;
    fn containment_command_new_argv(
        sandbox: *const containment_sandbox,
        argv: *const *const c_char,
        out: *mut *mut containment_command,
        error: Err,
    ) -> containment_status;
    fn containment_command_new_from_host(
        sandbox: *const containment_sandbox,
        path: *const c_char,
        out: *mut *mut containment_command,
        error: Err,
    ) -> containment_status;
    fn containment_command_free(command: *mut containment_command);
    fn containment_command_args(
        command: *mut containment_command,
        args: *const *const c_char,
        error: Err,
    ) -> containment_status;
    fn containment_sandbox_name(sandbox: Sb, name: *const c_char, error: Err) -> containment_status;
    fn containment_running_open(
        name: *const c_char,
        out: *mut *mut containment_running,
        error: Err,
    ) -> containment_status;
    fn containment_running_free(running: *mut containment_running);
    fn containment_command_arg(command: *mut containment_command, arg: *const c_char, error: Err)
        -> containment_status;
    fn containment_command_arg0(
        command: *mut containment_command,
        arg0: *const c_char,
        error: Err,
    ) -> containment_status;
    fn containment_command_env(
        command: *mut containment_command,
        key: *const c_char,
        value: *const c_char,
        error: Err,
    ) -> containment_status;
    fn containment_command_env_remove(
        command: *mut containment_command,
        key: *const c_char,
        error: Err,
    ) -> containment_status;
    fn containment_command_current_dir(
        command: *mut containment_command,
        dir: *const c_char,
        error: Err,
    ) -> containment_status;
}

/// A C string's bytes as text, or `None` when they are not UTF-8.
fn utf8(s: &CStr) -> Option<&str> {
    s.to_str().ok()
}

/// What a setter may return.
#[derive(Clone, Copy)]
enum Expect {
    /// CONTAINMENT_OK: the value is only checked at spawn.
    Ok,
    /// Exactly this status.
    Is(containment_status),
}

/// The status of the Rust error (as the C API maps it), for a value parsed by
/// the Rust parser `parse` from the C string `s`. The C API parses the text
/// lossily converted from the bytes; text that is not UTF-8 must never parse.
fn parsed<T>(s: &CStr, parse: impl Fn(&str) -> Result<T, containment::Error>) -> Expect {
    let result = parse(&s.to_string_lossy());
    if utf8(s).is_none() {
        assert!(result.is_err(), "{s:?} is not UTF-8 but parses");
    }
    Expect::Is(match result {
        Ok(_) => CONTAINMENT_OK,
        Err(containment::Error::InvalidValue { .. }) => CONTAINMENT_INVALID_VALUE,
        Err(containment::Error::Unsupported { .. }) => CONTAINMENT_UNSUPPORTED,
        Err(e) => panic!("{s:?}: a parser gave {e:?}"),
    })
}

/// For the refinements of a bridge network: the parse's status, or
/// CONTAINMENT_INVALID_CONFIG when the value parses but there is no bridge network.
fn refinement(value: Expect, bridge: bool) -> Expect {
    match value {
        Expect::Is(CONTAINMENT_OK) if !bridge => Expect::Is(CONTAINMENT_INVALID_CONFIG),
        other => other,
    }
}

/// Runs one call with an error out-parameter and checks its status against `expect`.
fn call(what: &str, expect: Expect, f: impl FnOnce(Err) -> containment_status) {
    let mut error: *mut containment_error = ptr::null_mut();
    let status = f(&mut error);
    if status == CONTAINMENT_OK {
        assert!(error.is_null(), "{what}: CONTAINMENT_OK with an error");
    } else {
        assert!(!error.is_null(), "{what}: {status:?} without an error");
        // SAFETY: `error` is a live error this library gave out; its strings belong to it.
        unsafe {
            assert_eq!(containment_error_status(error), status, "{what}");
            let message = containment_error_message(error);
            assert!(!message.is_null(), "{what}: no message");
            assert!(!CStr::from_ptr(message).to_bytes().is_empty(), "{what}: empty message");
            for s in [containment_error_path(error), containment_error_stage(error)] {
                if !s.is_null() {
                    let _ = CStr::from_ptr(s).to_bytes().len();
                }
            }
            containment_error_free(error);
        }
    }
    match expect {
        Expect::Ok => assert_eq!(status, CONTAINMENT_OK, "{what}"),
        Expect::Is(expected) => assert_eq!(status, expected, "{what}"),
    }
}

/// CONTAINMENT_OK when `ok`, else CONTAINMENT_INVALID_VALUE.
fn valid(ok: bool) -> Expect {
    Expect::Is(if ok { CONTAINMENT_OK } else { CONTAINMENT_INVALID_VALUE })
}

fuzz_target!(|data: &[u8]| {
    let Some((&op, rest)) = data.split_first() else { return };
    let strings: Vec<CString> = rest.split(|&b| b == 0).map(|s| CString::new(s).expect("split at NUL bytes")).collect();
    let empty = CString::default();
    let s = |i: usize| strings.get(i).unwrap_or(&empty);
    let (a, b, c) = (s(0), s(1), s(2));
    let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_ptr());
    let memory = |s: &CStr| parsed(s, |t| t.parse::<MemoryLimit>());

    // SAFETY: every pointer is NULL-free and NUL-terminated and outlives the calls;
    // the handles are made here, used on this thread only and freed once.
    unsafe {
        let sb = containment_sandbox_new();
        assert!(!sb.is_null());
        match op % 20 {
            0 => call("memory", memory(a), |e| containment_sandbox_memory(sb, pa, e)),
            1 => call("cpus", parsed(a, |t| t.parse::<CpuSet>()), |e| containment_sandbox_cpus(sb, pa, e)),
            2 => call("hostname", Expect::Ok, |e| containment_sandbox_hostname(sb, pa, e)),
            3 => call("bind", Expect::Ok, |e| containment_sandbox_bind(sb, pa, pb, e)),
            4 => call("bind_ro", Expect::Ok, |e| containment_sandbox_bind_ro(sb, pa, pb, e)),
            5 => call("tmpfs", memory(b), |e| containment_sandbox_tmpfs(sb, pa, pb, e)),
            6 => {
                call("tmpfs_unlimited", Expect::Ok, |e| containment_sandbox_tmpfs_unlimited(sb, pa, e));
                let bytes = u64::from(op / 20) * 4096;
                call("tmpfs_bytes", valid(bytes > 0), |e| containment_sandbox_tmpfs_bytes(sb, pa, bytes, e));
            }
            7 => call("rlimit_spec", parsed(a, containment::parse_rlimit_spec), |e| {
                containment_sandbox_rlimit_spec(sb, pa, e)
            }),
            8 => call("chroot", Expect::Ok, |e| containment_sandbox_chroot(sb, pa, e)),
            9 => {
                call("overlay", Expect::Ok, |e| containment_sandbox_overlay(sb, pa, e));
                call("overlay_persistent", Expect::Ok, |e| containment_sandbox_overlay_persistent(sb, pa, pb, e));
            }
            10 => call("cgroup_parent", Expect::Ok, |e| containment_sandbox_cgroup_parent(sb, pa, e)),
            11 => {
                // The bridge's name must be UTF-8; then the address must parse.
                let expect = match utf8(a) {
                    Some(_) => parsed(b, |t| t.parse::<Ipv4Net>()),
                    None => valid(false),
                };
                call("net_bridge", expect, |e| containment_sandbox_net_bridge(sb, pa, pb, e));
                // Refinements parse their value first, then need a bridge network.
                let bridge = matches!(expect, Expect::Is(CONTAINMENT_OK));
                let gateway = valid(utf8(c).is_some_and(|t| t.parse::<std::net::Ipv4Addr>().is_ok()));
                call("net_gateway", refinement(gateway, bridge), |e| containment_sandbox_net_gateway(sb, pc, e));
                let address = parsed(c, |t| t.parse::<Ipv4Net>());
                call("net_create_bridge", refinement(address, bridge), |e| {
                    containment_sandbox_net_create_bridge(sb, pc, e)
                });
            }
            12 => {
                let names: Vec<*const c_char> =
                    strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(ptr::null())).collect();
                let ok = strings
                    .iter()
                    .all(|s| matches!(parsed(s, containment::parse_capability), Expect::Is(CONTAINMENT_OK)));
                call("capabilities", valid(ok), |e| containment_sandbox_capabilities(sb, names.as_ptr(), e));
            }
            13 => {
                let known = utf8(a).is_some_and(|t| containment::known_syscalls().any(|(n, _)| n == t));
                call("seccomp_deny", valid(known), |e| containment_sandbox_seccomp_deny(sb, pa, e))
            }
            14..=16 => {
                let mut cmd: *mut containment_command = ptr::null_mut();
                let argv: Vec<*const c_char> =
                    strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(ptr::null())).collect();
                match op % 20 {
                    14 => call("command_new", Expect::Ok, |e| containment_command_new(sb, pa, &mut cmd, e)),
                    15 => call("command_new_from_host", Expect::Ok, |e| {
                        containment_command_new_from_host(sb, pa, &mut cmd, e)
                    }),
                    // `strings` is never empty, so argv[0] is there.
                    _ => call("command_new_argv", Expect::Ok, |e| {
                        containment_command_new_argv(sb, argv.as_ptr(), &mut cmd, e)
                    }),
                }
                assert!(!cmd.is_null());
                call("command_arg", Expect::Ok, |e| containment_command_arg(cmd, pb, e));
                call("command_args", Expect::Ok, |e| containment_command_args(cmd, argv.as_ptr(), e));
                call("command_arg0", Expect::Ok, |e| containment_command_arg0(cmd, pc, e));
                call("command_env", Expect::Ok, |e| containment_command_env(cmd, pb, pc, e));
                call("command_env_remove", Expect::Ok, |e| containment_command_env_remove(cmd, pc, e));
                call("command_current_dir", Expect::Ok, |e| containment_command_current_dir(cmd, pb, e));
                containment_command_free(cmd);
            }
            17 => {
                let name = parsed(a, containment::validate_name);
                call("sandbox_name", name, |e| containment_sandbox_name(sb, pa, e));
                // A valid name would look for (and could clean up after) a sandbox of
                // that name on this host: only refused names are opened.
                if !matches!(name, Expect::Is(CONTAINMENT_OK)) {
                    let mut running: *mut containment_running = ptr::null_mut();
                    call("running_open", name, |e| containment_running_open(pa, &mut running, e));
                    assert!(running.is_null());
                    containment_running_free(running);
                }
            }
            _ => {
                // Any number is a safe argument.
                let n = c_int::from_le_bytes([op, *rest.first().unwrap_or(&0), *rest.get(1).unwrap_or(&0), 0]);
                let name = containment_status_str(n);
                assert!(!name.is_null());
                assert!(!CStr::from_ptr(name).to_bytes().is_empty());
                // Several setters on one handle, in order.
                call("memory", memory(a), |e| containment_sandbox_memory(sb, pa, e));
                call("hostname", Expect::Ok, |e| containment_sandbox_hostname(sb, pb, e));
                call("bind", Expect::Ok, |e| containment_sandbox_bind(sb, pb, pc, e));
            }
        }
        containment_sandbox_free(sb);
    }
});
