//! `IdMap::from_str` on any text and `IdMap::new` on any numbers: never panic; an
//! accepted map has a count of at least one, no range past `u32::MAX`, and prints
//! in a form that parses back to it.
#![no_main]

use containment::IdMap;
use libfuzzer_sys::fuzz_target;

fn check(m: IdMap, what: &str) {
    assert!(m.count >= 1, "{what:?}");
    assert!(m.inside.checked_add(m.count).is_some() && m.outside.checked_add(m.count).is_some(), "{what:?}");
    assert_eq!(m.to_string().parse::<IdMap>().ok(), Some(m), "{what:?}");
    assert!(m.maps_inside(m.inside) && !m.maps_inside(m.inside.wrapping_add(m.count)), "{what:?}");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match text.parse::<IdMap>() {
            Ok(m) => check(m, text),
            Err(e) => drop(e.to_string()),
        }
    }
    if data.len() >= 12 {
        let n = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().expect("4 bytes"));
        if let Ok(m) = IdMap::new(n(0), n(4), n(8)) {
            check(m, "new");
        }
    }
});
