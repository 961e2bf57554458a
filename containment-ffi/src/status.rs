//! `containment_status`: what every fallible function returns.

use std::ffi::{c_char, c_int, CStr};

/// What a fallible function returns: CONTAINMENT_OK (0) on success, otherwise the
/// kind of failure. When the function has a `containment_error **error`
/// out-parameter and it is not NULL, `*error` then holds the details.
///
/// New values may be added in later versions: treat unknown values as failures
/// (containment_status_str() names each one).
///
/// Ownership and thread safety: a plain value.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum containment_status {
    /// Success.
    CONTAINMENT_OK = 0,
    /// A required pointer argument was NULL; the message names the argument.
    CONTAINMENT_NULL_ARGUMENT = 1,
    /// A handle argument is not a live handle of the expected type: it was already
    /// freed, or it was not made by this library (detected without dereferencing it).
    CONTAINMENT_INVALID_HANDLE = 2,
    /// A value could not be parsed or is out of range (a size like "1XB", a CPU list
    /// like "3-1", a negative descriptor, an unknown constant, ...).
    CONTAINMENT_INVALID_VALUE = 3,
    /// The configuration as a whole is inconsistent (an empty argv, two mounts on one
    /// destination, ...).
    CONTAINMENT_INVALID_CONFIG = 4,
    /// The program does not exist inside the sandbox (execve gave ENOENT).
    CONTAINMENT_NOT_FOUND = 5,
    /// The program exists but cannot be executed (EACCES, ENOEXEC, ...).
    CONTAINMENT_NOT_EXECUTABLE = 6,
    /// Setting up the sandbox failed inside it; the error names the stage, the errno
    /// and the path.
    CONTAINMENT_SETUP_FAILED = 7,
    /// A system call in the calling process failed; the error gives the errno.
    CONTAINMENT_OS_ERROR = 8,
    /// The kernel or the host lacks something the sandbox needs (for instance root).
    CONTAINMENT_UNSUPPORTED = 9,
    /// What was asked for needs privileges the caller does not have (cgroup limits
    /// without a delegated parent, no user namespace, id ranges, bridge networks);
    /// the message says what would make it work.
    CONTAINMENT_NEEDS_PRIVILEGE = 10,
    /// The cgroup parent is missing or not writable.
    CONTAINMENT_CGROUP_PARENT = 11,
    /// The sandbox's init ended without saying how the program did.
    CONTAINMENT_INIT_DIED = 12,
    /// The child was already waited for (its outcome was given then).
    CONTAINMENT_ALREADY_WAITED = 13,
    /// A bug: the library panicked. The panic was caught and did not cross into C;
    /// the handle involved may be left in an unspecified (but safe to free) state.
    CONTAINMENT_PANIC = 14,
    /// An error kind added to the Rust library after this version of the C API; the
    /// message says what happened.
    CONTAINMENT_OTHER_ERROR = 15,
}

impl containment_status {
    /// Every status, in numeric order.
    pub(crate) const ALL: [containment_status; 16] = [
        containment_status::CONTAINMENT_OK,
        containment_status::CONTAINMENT_NULL_ARGUMENT,
        containment_status::CONTAINMENT_INVALID_HANDLE,
        containment_status::CONTAINMENT_INVALID_VALUE,
        containment_status::CONTAINMENT_INVALID_CONFIG,
        containment_status::CONTAINMENT_NOT_FOUND,
        containment_status::CONTAINMENT_NOT_EXECUTABLE,
        containment_status::CONTAINMENT_SETUP_FAILED,
        containment_status::CONTAINMENT_OS_ERROR,
        containment_status::CONTAINMENT_UNSUPPORTED,
        containment_status::CONTAINMENT_NEEDS_PRIVILEGE,
        containment_status::CONTAINMENT_CGROUP_PARENT,
        containment_status::CONTAINMENT_INIT_DIED,
        containment_status::CONTAINMENT_ALREADY_WAITED,
        containment_status::CONTAINMENT_PANIC,
        containment_status::CONTAINMENT_OTHER_ERROR,
    ];

    /// A short English description.
    pub(crate) fn describe(self) -> &'static CStr {
        use containment_status::*;
        match self {
            CONTAINMENT_OK => c"success",
            CONTAINMENT_NULL_ARGUMENT => c"a required argument is NULL",
            CONTAINMENT_INVALID_HANDLE => c"not a live handle (already freed, or not made by this library)",
            CONTAINMENT_INVALID_VALUE => c"invalid value",
            CONTAINMENT_INVALID_CONFIG => c"invalid configuration",
            CONTAINMENT_NOT_FOUND => c"program not found in the sandbox",
            CONTAINMENT_NOT_EXECUTABLE => c"program cannot be executed",
            CONTAINMENT_SETUP_FAILED => c"sandbox setup failed",
            CONTAINMENT_OS_ERROR => c"system call failed",
            CONTAINMENT_UNSUPPORTED => c"unsupported on this host",
            CONTAINMENT_NEEDS_PRIVILEGE => c"needs privileges the caller does not have",
            CONTAINMENT_CGROUP_PARENT => c"cgroup parent is not usable",
            CONTAINMENT_INIT_DIED => c"the sandbox's init ended unexpectedly",
            CONTAINMENT_ALREADY_WAITED => c"the child was already waited for",
            CONTAINMENT_PANIC => c"internal error (a panic in the library)",
            CONTAINMENT_OTHER_ERROR => c"other error",
        }
    }

    /// The status for an error of the core library.
    pub(crate) fn of(e: &containment::Error) -> containment_status {
        use containment::Error as E;
        use containment_status::*;
        match e {
            E::InvalidValue { .. } => CONTAINMENT_INVALID_VALUE,
            E::InvalidConfig(_) => CONTAINMENT_INVALID_CONFIG,
            E::ProgramNotFound { .. } => CONTAINMENT_NOT_FOUND,
            E::NotExecutable { .. } => CONTAINMENT_NOT_EXECUTABLE,
            E::Setup { .. } => CONTAINMENT_SETUP_FAILED,
            E::Os { .. } => CONTAINMENT_OS_ERROR,
            E::Unsupported { .. } => CONTAINMENT_UNSUPPORTED,
            E::NeedsPrivilege { .. } => CONTAINMENT_NEEDS_PRIVILEGE,
            E::CgroupParent { .. } => CONTAINMENT_CGROUP_PARENT,
            E::InitDied(_) => CONTAINMENT_INIT_DIED,
            E::AlreadyWaited => CONTAINMENT_ALREADY_WAITED,
            _ => CONTAINMENT_OTHER_ERROR,
        }
    }
}

/// A short, static English description of `status`, such as "invalid value"; for
/// a number that is no status, "unknown status".
///
/// `status` is an int rather than a containment_status so that any number is safe
/// to pass. The string is static: do not free it. Thread-safe.
///
/// Errors: none (an unknown number gives "unknown status").
#[no_mangle]
pub extern "C" fn containment_status_str(status: c_int) -> *const c_char {
    let s = containment_status::ALL.iter().find(|s| **s as c_int == status);
    s.map_or(c"unknown status", |s| s.describe()).as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_every_status_in_order() {
        for (i, s) in containment_status::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
    }

    #[test]
    fn status_str_covers_every_value_and_rejects_others() {
        // SAFETY: containment_status_str returns static NUL-terminated strings.
        let str_of = |n| unsafe { CStr::from_ptr(containment_status_str(n)) }.to_str().unwrap();
        assert_eq!(str_of(0), "success");
        assert_eq!(str_of(3), "invalid value");
        for n in [-1, 16, 1000, c_int::MIN, c_int::MAX] {
            assert_eq!(str_of(n), "unknown status");
        }
        for s in containment_status::ALL {
            assert_ne!(str_of(s as c_int), "unknown status");
        }
    }
}
