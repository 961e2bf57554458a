//! `containment_error`: the details of a failure.

use std::ffi::{c_char, c_int, CString};
use std::os::unix::ffi::OsStrExt;
use std::ptr;

use crate::handle::{self, call_value, read, Fail, Handle, Kind};
use crate::status::containment_status;

/// The details of a failed call: its status, a message, the errno, the setup stage
/// and the path involved.
///
/// Ownership: a function that fails stores a new error in its `containment_error
/// **error` out-parameter (when that is not NULL); the caller owns it and frees it
/// with containment_error_free(). The strings returned by the accessors belong to
/// the error and live until it is freed.
///
/// Thread safety: an error is immutable; its accessors may be called from any
/// thread, also at once, but not while another thread frees it.
pub struct containment_error {
    status: containment_status,
    message: CString,
    errno: c_int,
    stage: Option<CString>,
    path: Option<CString>,
}

impl Handle for containment_error {
    const KIND: Kind = Kind::Error;
}

/// A C string of `bytes`, with any NUL byte (impossible in practice: inputs are C
/// strings) replaced by `?`.
pub(crate) fn c_string(bytes: &[u8]) -> CString {
    let clean: Vec<u8> = bytes.iter().map(|&b| if b == 0 { b'?' } else { b }).collect();
    CString::new(clean).unwrap_or_default()
}

impl containment_error {
    pub(crate) fn new(fail: &Fail) -> containment_error {
        let status = fail.status();
        let (message, errno, stage, path) = match fail {
            Fail::Core(e) => (
                e.to_string(),
                e.errno().unwrap_or(0),
                e.stage().map(|s| c_string(s.name().as_bytes())),
                e.path().map(|p| c_string(p.as_os_str().as_bytes())),
            ),
            Fail::Null(name) => (format!("argument `{name}` is NULL"), 0, None, None),
            Fail::BadHandle(name) => (
                format!(
                    "argument `{name}` is not a live handle of its type: it was freed, or not made by this library"
                ),
                0,
                None,
                None,
            ),
            Fail::Panic(msg) => {
                (format!("internal error, please report it: the library panicked: {msg}"), 0, None, None)
            }
        };
        containment_error { status, message: c_string(message.as_bytes()), errno, stage, path }
    }

    #[cfg(test)]
    pub(crate) fn message(&self) -> &std::ffi::CStr {
        &self.message
    }
}

/// Frees an error. NULL, and an error that was already freed, are ignored.
///
/// Errors: none.
///
/// # Safety
/// `error` is NULL or a pointer this library gave out; no other thread uses it.
#[no_mangle]
pub unsafe extern "C" fn containment_error_free(error: *mut containment_error) {
    // SAFETY: forwarded to the caller.
    call_value((), || unsafe { handle::free(error) })
}

/// The status of the failed call this error describes.
///
/// Errors: CONTAINMENT_NULL_ARGUMENT when `error` is NULL, CONTAINMENT_INVALID_HANDLE
/// when it was freed.
///
/// # Safety
/// `error` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_error_status(error: *const containment_error) -> containment_status {
    call_value(containment_status::CONTAINMENT_PANIC, || {
        // SAFETY: forwarded to the caller.
        match unsafe { handle::get(error, "error") } {
            Ok(e) => e.status,
            Err(f) => f.status(),
        }
    })
}

/// A one-line English message naming the value, path or operation involved, and
/// what would be accepted, such as `invalid size "1XB": unknown suffix "XB";
/// expected ...`. Paths that are not UTF-8 are shown lossily here; see
/// containment_error_path() for the exact bytes.
///
/// The string belongs to `error`.
///
/// Errors: NULL when `error` is NULL or was freed.
///
/// # Safety
/// `error` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_error_message(error: *const containment_error) -> *const c_char {
    // SAFETY: forwarded to the caller.
    unsafe { read(error, "error", ptr::null(), |e| e.message.as_ptr()) }
}

/// The OS error number (errno) behind the error, or 0 when there is none.
///
/// Errors: 0 when `error` is NULL or was freed.
///
/// # Safety
/// `error` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_error_errno(error: *const containment_error) -> c_int {
    // SAFETY: forwarded to the caller.
    unsafe { read(error, "error", 0, |e| e.errno) }
}

/// The setup stage at which the sandbox failed, as a short stable lowercase name
/// ("mount", "pivot-root", "exec", ...), or NULL when the error is not about a stage.
/// The string belongs to `error`.
///
/// Errors: NULL when `error` is NULL or was freed.
///
/// # Safety
/// `error` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_error_stage(error: *const containment_error) -> *const c_char {
    // SAFETY: forwarded to the caller.
    unsafe { read(error, "error", ptr::null(), |e| e.stage.as_ref().map_or(ptr::null(), |s| s.as_ptr())) }
}

/// The path the error is about, byte for byte as given (not necessarily UTF-8), or
/// NULL when there is none. The string belongs to `error`.
///
/// Errors: NULL when `error` is NULL or was freed.
///
/// # Safety
/// `error` is NULL or a pointer this library gave out.
#[no_mangle]
pub unsafe extern "C" fn containment_error_path(error: *const containment_error) -> *const c_char {
    // SAFETY: forwarded to the caller.
    unsafe { read(error, "error", ptr::null(), |e| e.path.as_ref().map_or(ptr::null(), |s| s.as_ptr())) }
}
