//! `validate_destination` on arbitrary bytes: never panics; what it returns is
//! absolute, normalized (no empty, `.` or `..` component, no trailing slash),
//! within the length limits, and accepted again unchanged.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use containment::validate_destination;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let out = match validate_destination(Path::new(OsStr::from_bytes(data))) {
        Ok(out) => out,
        Err(e) => return drop(e.to_string()),
    };
    let bytes = out.as_os_str().as_bytes();
    assert!(bytes.len() > 1 && bytes.len() <= 4095, "{data:?} gave {bytes:?}");
    assert_eq!(bytes[0], b'/', "{data:?}");
    assert!(!bytes.contains(&0), "{data:?}");
    for component in bytes[1..].split(|&b| b == b'/') {
        assert!(!component.is_empty() && component != b"." && component != b"..", "{data:?} gave {bytes:?}");
        assert!(component.len() <= 255, "{data:?}");
    }
    assert_eq!(validate_destination(&out).ok().as_ref(), Some(&out), "{data:?} is not idempotent");
});
