//! `parse_capability` on any text: never panics; an accepted name gives a
//! capability whose own name parses back to it.
#![no_main]

use containment::parse_capability;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_capability(text) {
        Ok(cap) => {
            let name = cap.to_string();
            assert_eq!(parse_capability(&name).ok(), Some(cap), "{text:?} gave {name}");
            assert_eq!(parse_capability(&name.to_ascii_lowercase()).ok(), Some(cap), "{text:?}");
        }
        Err(e) => drop(e.to_string()),
    }
});
