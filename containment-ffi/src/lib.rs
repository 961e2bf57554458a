//! The C ABI of containment: `libcontainment.so` (SONAME `libcontainment.so.0`),
//! `libcontainment.a` and `include/containment.h`, which cbindgen generates from
//! this crate (see `tests/header.rs`; the doc comments here become the header's).
//!
//! Every exported function catches panics (no unwinding crosses into C), checks
//! every pointer for NULL and every handle against a registry of live handles (so a
//! freed or foreign handle gives `CONTAINMENT_INVALID_HANDLE` instead of undefined
//! behaviour), and reports failures as a `containment_status` plus an optional
//! owned `containment_error`.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
// The C names (`containment_sandbox`, `containment_status`, ...) are the API.
#![allow(non_camel_case_types)]

// In this order in the header: statuses and errors, then the sandbox, the command
// and the child.
mod status;

mod error;

mod sandbox;

mod command;

mod child;

mod running;

mod handle;

pub use child::{containment_child, containment_outcome, containment_usage};
pub use command::{
    containment_buffer, containment_command, containment_stdio, CONTAINMENT_STDIO_FD, CONTAINMENT_STDIO_INHERIT,
    CONTAINMENT_STDIO_NULL, CONTAINMENT_STDIO_PIPED,
};
pub use error::containment_error;
pub use running::{containment_running, containment_running_info};
pub use sandbox::{
    containment_idmap, containment_rlimit, containment_sandbox, containment_userns, CONTAINMENT_MIN_MEMORY,
    CONTAINMENT_RLIMIT_AS, CONTAINMENT_RLIMIT_CORE, CONTAINMENT_RLIMIT_CPU, CONTAINMENT_RLIMIT_DATA,
    CONTAINMENT_RLIMIT_FSIZE, CONTAINMENT_RLIMIT_MEMLOCK, CONTAINMENT_RLIMIT_NOFILE, CONTAINMENT_RLIMIT_NPROC,
    CONTAINMENT_RLIMIT_STACK, CONTAINMENT_RLIMIT_UNLIMITED, CONTAINMENT_USERNS_AUTO, CONTAINMENT_USERNS_OFF,
    CONTAINMENT_USERNS_OWN,
};
pub use status::containment_status;

use std::ffi::{c_char, CStr};

/// The library's version as a NUL-terminated string, such as "0.1.0": the version of
/// the library actually loaded, which may differ from the CONTAINMENT_VERSION the
/// program was compiled against.
///
/// The string is static: do not free it. Thread-safe.
///
/// Errors: none.
#[no_mangle]
pub extern "C" fn containment_version() -> *const c_char {
    const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the crate version contains a NUL byte"),
    };
    VERSION.as_ptr()
}

/// How many network namespaces a process keeps for reuse at most (see
/// containment_sandbox_net_reuse()).
pub const CONTAINMENT_MAX_KEPT_NAMESPACES: usize = 16;
const _: () = assert!(CONTAINMENT_MAX_KEPT_NAMESPACES == containment::MAX_KEPT_NAMESPACES);

/// Drops the network namespaces this process keeps for reuse (see
/// containment_sandbox_net_reuse()); returns how many there were. The kernel
/// destroys them, with their veths, in the background. Thread-safe.
///
/// Errors: none.
#[no_mangle]
pub extern "C" fn containment_release_kept_namespaces() -> usize {
    containment::release_kept_namespaces()
}

/// The thread-safety promises of the header, checked by the compiler: handles that
/// may be used from several threads at once are `Sync`, and every handle may move
/// between threads (`Send`).
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<containment_sandbox>();
    send_sync::<containment_child>();
    send_sync::<containment_error>();
    send::<containment_command>();
    send::<containment_running>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: containment_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(containment_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
