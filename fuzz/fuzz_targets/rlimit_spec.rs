//! `parse_rlimit_spec` on any text: never panics; an accepted `NAME=VALUE` names
//! the limit it returns, and its value parses back from its decimal form.
#![no_main]

use containment::{parse_rlimit_spec, Rlimit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (r, value) = match parse_rlimit_spec(text) {
        Ok(parsed) => parsed,
        Err(e) => return drop(e.to_string()),
    };
    let (name, _) = text.split_once('=').expect("an accepted spec has '='");
    assert_eq!(name.parse::<Rlimit>().ok(), Some(r), "{text:?}");
    assert_eq!(r.name().parse::<Rlimit>().ok(), Some(r), "{text:?}");
    let printed = if value == u64::MAX { "unlimited".to_string() } else { value.to_string() };
    assert_eq!(r.parse_value(&printed).ok(), Some(value), "{text:?}");
    assert_eq!(parse_rlimit_spec(&format!("{r}={printed}")).ok(), Some((r, value)), "{text:?}");
});
