//! `MemoryLimit::from_str` on any text: never panics; what it accepts is greater
//! than zero, made of ASCII, and prints in a form that parses back to it.
#![no_main]

use containment::MemoryLimit;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match text.parse::<MemoryLimit>() {
            Ok(m) => {
                assert!(m.bytes() > 0, "{text:?} gave zero");
                assert!(text.is_ascii(), "{text:?} is not ASCII but was accepted");
                let printed = m.to_string();
                assert_eq!(printed.parse::<MemoryLimit>().ok(), Some(m), "{text:?} printed as {printed:?}");
            }
            Err(e) => drop(e.to_string()),
        }
    }
    // Any number of bytes: zero is refused, the rest round-trips through text.
    if let Some(head) = data.get(..8) {
        let n = u64::from_le_bytes(head.try_into().expect("8 bytes"));
        match MemoryLimit::from_bytes(n) {
            Ok(m) => assert_eq!(m.to_string().parse::<MemoryLimit>().ok(), Some(m), "{n}"),
            Err(_) => assert_eq!(n, 0),
        }
    }
});
