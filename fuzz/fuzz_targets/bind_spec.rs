//! `BindSpec::parse_os` on arbitrary bytes: never panics; an accepted value keeps
//! the source's bytes exactly, has a destination that `validate_destination`
//! accepts unchanged, and (when its text is UTF-8) prints in a form that parses
//! back to it.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use containment::{validate_destination, BindSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let spec = match BindSpec::parse_os(OsStr::from_bytes(data)) {
        Ok(spec) => spec,
        Err(e) => return drop(e.to_string()),
    };
    let src = spec.src.as_os_str().as_bytes();
    let dst = spec.dst.as_os_str().as_bytes();
    assert!(!src.is_empty() && !src.contains(&0), "{data:?}");
    // The source is everything before the last ':', or the whole text.
    match data.iter().rposition(|&b| b == b':') {
        Some(i) => assert_eq!(src, &data[..i]),
        None => assert_eq!(src, data),
    }
    assert!(!dst.contains(&b':'), "{data:?}");
    assert_eq!(validate_destination(&spec.dst).ok().as_ref(), Some(&spec.dst), "{data:?}");
    if spec.src.to_str().is_some() && spec.dst.to_str().is_some() {
        let printed = spec.to_string();
        assert_eq!(printed.parse::<BindSpec>().ok().as_ref(), Some(&spec), "{data:?} printed as {printed:?}");
    }
});
