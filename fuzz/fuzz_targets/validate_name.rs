//! `validate_name` on any text: never panics, and accepts exactly the documented
//! names (1 to 64 of `A-Z a-z 0-9 . _ -`, not starting with `.` or `-`, not a
//! reserved name).
#![no_main]

use containment::validate_name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let result = validate_name(text);
    if let Err(e) = &result {
        drop(e.to_string());
    }
    let expected = (1..=64).contains(&text.len())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !text.starts_with(['.', '-'])
        && !["ids", "net"].contains(&text);
    assert_eq!(result.is_ok(), expected, "{text:?}: {result:?}");
});
