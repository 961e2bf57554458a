//! `TmpfsSpec::parse_os` on arbitrary bytes: never panics; an accepted value has a
//! size exactly when the text has a `:` (the text is split at its last one, so the
//! destination may hold a `:` only when a size follows), a destination that
//! `validate_destination` accepts unchanged, and (when it is UTF-8) prints in a form
//! that parses back to it.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use containment::{validate_destination, TmpfsSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let spec = match TmpfsSpec::parse_os(OsStr::from_bytes(data)) {
        Ok(spec) => spec,
        Err(e) => return drop(e.to_string()),
    };
    assert_eq!(spec.size.is_some(), data.contains(&b':'), "{data:?}");
    if spec.dst.as_os_str().as_bytes().contains(&b':') {
        assert!(spec.size.is_some(), "{data:?}");
    }
    assert_eq!(validate_destination(&spec.dst).ok().as_ref(), Some(&spec.dst), "{data:?}");
    if spec.dst.to_str().is_some() {
        let printed = spec.to_string();
        assert_eq!(printed.parse::<TmpfsSpec>().ok().as_ref(), Some(&spec), "{data:?} printed as {printed:?}");
    }
});
