//! What every exported function shares: the registry of live handles, the panic
//! guard, and the reading of C strings and arrays.
//!
//! A handle is a `Box` given to C as a raw pointer and recorded, with its type, in a
//! process-wide registry. Every function looks a handle up in the registry before
//! dereferencing it, so a handle that was freed (or a pointer that never was a
//! handle of that type) gives `CONTAINMENT_INVALID_HANDLE` without reading the
//! memory it points to. A freed address may be reused by a new handle of the same
//! type; such a stale pointer then reaches the new handle, which the registry cannot
//! tell apart.

use std::any::Any;
use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::{Mutex, PoisonError};

use crate::error::containment_error;
use crate::status::containment_status;

/// The types of handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sandbox,
    Command,
    Child,
    Running,
    Error,
}

/// A type given to C as an opaque handle.
pub(crate) trait Handle: Sized + 'static {
    /// Its entry in the registry.
    const KIND: Kind;
}

/// The live handles and their types, keyed by [`key`]. The lock is held only to look
/// up, insert or remove an entry, never across a call into the core library.
static LIVE: Mutex<BTreeMap<usize, Kind>> = Mutex::new(BTreeMap::new());

/// The registry's key for a handle: its address, bit-inverted, so that the registry
/// does not hold a pointer to the handle. Leak checkers (valgrind, LeakSanitizer)
/// scan memory for pointers; with plain addresses here, a handle the caller leaked
/// would look reachable and its leak would go unreported.
fn key<T>(p: *const T) -> usize {
    !(p as usize)
}

fn live() -> std::sync::MutexGuard<'static, BTreeMap<usize, Kind>> {
    // Nothing panics while the lock is held, but a poisoned map is still consistent.
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a call failed, before it becomes a status and an error object.
#[derive(Debug)]
pub(crate) enum Fail {
    /// An error of the core library.
    Core(containment::Error),
    /// This pointer argument was NULL.
    Null(&'static str),
    /// This handle argument is not live.
    BadHandle(&'static str),
    /// The body panicked with this message.
    Panic(String),
}

impl From<containment::Error> for Fail {
    fn from(e: containment::Error) -> Fail {
        Fail::Core(e)
    }
}

impl Fail {
    pub(crate) fn status(&self) -> containment_status {
        match self {
            Fail::Core(e) => containment_status::of(e),
            Fail::Null(_) => containment_status::CONTAINMENT_NULL_ARGUMENT,
            Fail::BadHandle(_) => containment_status::CONTAINMENT_INVALID_HANDLE,
            Fail::Panic(_) => containment_status::CONTAINMENT_PANIC,
        }
    }

    /// An `InvalidValue` error of the core library's shape.
    pub(crate) fn invalid(
        kind: containment::ValueKind,
        value: impl Into<String>,
        reason: impl Into<String>,
        expected: &'static str,
    ) -> Fail {
        Fail::Core(containment::Error::InvalidValue { kind, value: value.into(), reason: reason.into(), expected })
    }

    /// An `InvalidConfig` error of the core library's shape.
    pub(crate) fn config(reason: &str) -> Fail {
        Fail::Core(containment::Error::InvalidConfig(reason.to_owned()))
    }

    /// An OS error of the core library's shape, from the current `errno`.
    pub(crate) fn last_os(op: &'static str) -> Fail {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
        Fail::Core(containment::Error::Os { op, path: None, errno: containment::Errno::from_raw(errno) })
    }

    fn from_panic(payload: Box<dyn Any + Send>) -> Fail {
        let msg = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "a panic without a message".to_owned()
        };
        Fail::Panic(msg)
    }
}

/// Runs the body of an exported function: catches panics, turns a failure into its
/// status and, when `error` is not NULL, into a new error object in `*error`
/// (`*error` is set to NULL first, so that it is NULL after a success).
///
/// # Safety
/// `error` is NULL or valid for writing one pointer.
pub(crate) unsafe fn call(
    error: *mut *mut containment_error,
    body: impl FnOnce() -> Result<(), Fail>,
) -> containment_status {
    if !error.is_null() {
        // SAFETY: the caller guarantees that a non-NULL `error` is writable.
        unsafe { error.write(ptr::null_mut()) };
    }
    let fail = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return containment_status::CONTAINMENT_OK,
        Ok(Err(fail)) => fail,
        Err(payload) => Fail::from_panic(payload),
    };
    let status = fail.status();
    if !error.is_null() {
        // Making the error object allocates and formats; should even that panic, the
        // status is still returned, without an object.
        if let Ok(obj) = catch_unwind(AssertUnwindSafe(|| into_raw(containment_error::new(&fail)))) {
            // SAFETY: as above.
            unsafe { error.write(obj) };
        }
    }
    status
}

/// Runs the body of an exported function that returns a plain value, giving
/// `fallback` if it panics.
pub(crate) fn call_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Runs the body of an accessor that returns a plain value: `f` of the handle
/// behind `p`, or `fallback` when `p` is NULL or not a live handle (or when the
/// body panics).
///
/// # Safety
/// As [`get`].
pub(crate) unsafe fn read<T: Handle, R: Copy>(
    p: *const T,
    name: &'static str,
    fallback: R,
    f: impl FnOnce(&T) -> R,
) -> R {
    // SAFETY: forwarded to the caller.
    call_value(fallback, || unsafe { get(p, name) }.map_or(fallback, f))
}

/// Gives `value` to C as a handle.
pub(crate) fn into_raw<T: Handle>(value: T) -> *mut T {
    let p = Box::into_raw(Box::new(value));
    live().insert(key(p), T::KIND);
    p
}

fn is_live<T: Handle>(p: *const T) -> bool {
    live().get(&key(p)) == Some(&T::KIND)
}

/// The handle behind `p`, shared.
///
/// # Safety
/// If `p` is a live handle of type `T`, no other thread frees it or holds it
/// exclusively while the returned reference is used.
pub(crate) unsafe fn get<'a, T: Handle>(p: *const T, name: &'static str) -> Result<&'a T, Fail> {
    if p.is_null() {
        return Err(Fail::Null(name));
    }
    if !is_live(p) {
        return Err(Fail::BadHandle(name));
    }
    // SAFETY: the registry says `p` came from `into_raw::<T>` and was not freed, so it
    // points to a valid `T`; the caller rules out concurrent frees and writes.
    Ok(unsafe { &*p })
}

/// The handle behind `p`, exclusively.
///
/// # Safety
/// If `p` is a live handle of type `T`, no other thread uses it while the returned
/// reference is used.
pub(crate) unsafe fn get_mut<'a, T: Handle>(p: *mut T, name: &'static str) -> Result<&'a mut T, Fail> {
    if p.is_null() {
        return Err(Fail::Null(name));
    }
    if !is_live(p) {
        return Err(Fail::BadHandle(name));
    }
    // SAFETY: as in `get`; the caller rules out any concurrent use.
    Ok(unsafe { &mut *p })
}

/// Frees the handle `p`: NULL, an already freed handle and a pointer that is no
/// handle of type `T` are ignored.
///
/// # Safety
/// If `p` is a live handle of type `T`, no other thread uses it now or later.
pub(crate) unsafe fn free<T: Handle>(p: *mut T) {
    if p.is_null() {
        return;
    }
    {
        let mut live = live();
        if live.get(&key(p)) != Some(&T::KIND) {
            return;
        }
        live.remove(&key(p));
    }
    // SAFETY: `p` came from `into_raw::<T>` (a `Box<T>`) and was live until just now;
    // it is out of the registry, so this is the only free.
    drop(unsafe { Box::from_raw(p) });
}

/// Writes `value` through the out-parameter `out`.
///
/// # Safety
/// `out` is NULL or valid for writing a `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    debug_assert!(!out.is_null());
    // SAFETY: the caller guarantees `out` is writable; callers check NULL first.
    unsafe { out.write(value) };
}

/// Fills in the out-parameter `out`, named `name`: fails if it is NULL, else
/// stores the value `make` gives (nothing when `make` fails). `make` runs only
/// after the check.
///
/// # Safety
/// `out` is NULL or valid for writing a `T`.
pub(crate) unsafe fn put<T>(
    out: *mut T,
    name: &'static str,
    make: impl FnOnce() -> Result<T, Fail>,
) -> Result<(), Fail> {
    non_null(out, name)?;
    let value = make()?;
    // SAFETY: `out` is not NULL, and the caller guarantees that it is writable.
    unsafe { write_out(out, value) };
    Ok(())
}

/// Fails with `Null(name)` if `p` is NULL.
pub(crate) fn non_null<T>(p: *const T, name: &'static str) -> Result<(), Fail> {
    if p.is_null() {
        Err(Fail::Null(name))
    } else {
        Ok(())
    }
}

/// The bytes of the C string `p`, as an `OsStr` (non-UTF-8 passes through unchanged).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that lives and does not change during 'a.
pub(crate) unsafe fn os_str<'a>(p: *const c_char, name: &'static str) -> Result<&'a OsStr, Fail> {
    non_null(p, name)?;
    // SAFETY: the caller guarantees a NUL-terminated string that outlives 'a.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    Ok(OsStr::from_bytes(bytes))
}

/// The C string `p` as text that must be UTF-8 (names and addresses); other bytes
/// are an invalid argument, `expected` says what would be accepted.
///
/// # Safety
/// As [`os_str`].
pub(crate) unsafe fn utf8(p: *const c_char, name: &'static str, expected: &'static str) -> Result<String, Fail> {
    // SAFETY: forwarded to the caller.
    let bytes = unsafe { os_str(p, name) }?.as_bytes();
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        Fail::invalid(containment::ValueKind::Argument, String::from_utf8_lossy(bytes), "not valid UTF-8", expected)
    })
}

/// The C string `p` as text, for parsing; invalid UTF-8 becomes U+FFFD, which no
/// parser accepts, so the error message shows the value.
///
/// # Safety
/// As [`os_str`].
pub(crate) unsafe fn text(p: *const c_char, name: &'static str) -> Result<String, Fail> {
    // SAFETY: forwarded to the caller.
    let s = unsafe { os_str(p, name) }?;
    Ok(String::from_utf8_lossy(s.as_bytes()).into_owned())
}

/// The strings of the NULL-terminated array `argv`.
///
/// # Safety
/// `argv` is NULL or an array of NUL-terminated strings ending with a NULL element,
/// all living and unchanged during 'a.
pub(crate) unsafe fn string_array<'a>(argv: *const *const c_char, name: &'static str) -> Result<Vec<&'a OsStr>, Fail> {
    non_null(argv, name)?;
    let mut out = Vec::new();
    for i in 0.. {
        // SAFETY: the array is NULL-terminated and we have not passed its NULL yet.
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            break;
        }
        // SAFETY: each element before the NULL is a NUL-terminated string.
        out.push(unsafe { os_str(p, name) }?);
    }
    Ok(out)
}

/// The `count` elements at `p`, which may be NULL only when `count` is 0.
///
/// # Safety
/// `p` is NULL or valid for reading `count` elements during 'a.
pub(crate) unsafe fn slice<'a, T>(p: *const T, count: usize, name: &'static str) -> Result<&'a [T], Fail> {
    if count == 0 {
        return Ok(&[]);
    }
    non_null(p, name)?;
    // SAFETY: the caller guarantees `count` readable elements at the non-NULL `p`.
    Ok(unsafe { std::slice::from_raw_parts(p, count) })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing(#[allow(dead_code)] u32);
    impl Handle for Thing {
        const KIND: Kind = Kind::Sandbox;
    }
    struct Other;
    impl Handle for Other {
        const KIND: Kind = Kind::Command;
    }

    #[test]
    fn panics_become_a_status_and_an_error_object() {
        let mut err: *mut containment_error = ptr::null_mut();
        // SAFETY: `err` is a valid out-parameter.
        let st = unsafe { call(&mut err, || panic!("boom")) };
        assert_eq!(st, containment_status::CONTAINMENT_PANIC);
        assert!(!err.is_null());
        // SAFETY: a live error handle.
        let e = unsafe { get(err, "error") }.unwrap();
        assert!(e.message().to_str().unwrap().contains("boom"), "{:?}", e.message());
        // SAFETY: a live error handle, freed once.
        unsafe { free(err) };
        // SAFETY: a NULL out-parameter is allowed.
        let st = unsafe { call(ptr::null_mut(), || panic!("{}", String::from("owned"))) };
        assert_eq!(st, containment_status::CONTAINMENT_PANIC);
    }

    #[test]
    fn handles_are_checked_by_type_and_liveness() {
        let p = into_raw(Thing(7));
        // SAFETY: these pointers are only compared, or dereferenced while live.
        unsafe {
            assert!(get(p, "p").is_ok());
            assert!(matches!(get(p.cast::<Other>(), "p"), Err(Fail::BadHandle("p"))));
            free(p);
            assert!(matches!(get(p, "p"), Err(Fail::BadHandle("p"))));
            free(p); // ignored
            assert!(matches!(get(ptr::null::<Thing>(), "p"), Err(Fail::Null("p"))));
        }
    }
}
