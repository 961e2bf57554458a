//! Byte sizes: memory limits and tmpfs sizes.
//!
//! [`MemoryLimit`] is a number of bytes greater than zero, written either as plain
//! bytes (`1048576`) or with a binary unit suffix (`128M`, `1G`, `64k`).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result, ValueKind};

/// What a size accepts, for error messages.
const EXPECTED: &str = "a whole number of bytes greater than zero, optionally with a unit \
                        K, M, G, T or P (powers of 1024; KB and KiB mean the same as K), \
                        like 1048576, 128M or 1G";

/// The units, largest first, with their letter and their power of 1024.
const UNITS: [(char, u32); 5] = [('P', 5), ('T', 4), ('G', 3), ('M', 2), ('K', 1)];

/// A size in bytes, greater than zero: a memory limit or the size of a tmpfs.
///
/// # Text form
///
/// [`FromStr`] accepts a whole decimal number of bytes (`1048576`), optionally
/// followed by a unit suffix `K`, `M`, `G`, `T` or `P`, each optionally followed by
/// `B` or `iB` (`128M`, `128MB`, `128MiB`, `64k`). A bare `B` suffix (`512B`) means
/// bytes.
///
/// Decisions:
///
/// - **Units are powers of 1024**, whichever spelling is used: `K` = `KB` = `KiB` =
///   1024, so `128MB` is 134217728 bytes. This is what the old `contain` executor
///   and docker do, and what people writing a memory limit almost always mean.
/// - **Suffix letters are case-insensitive**: `128m`, `128mb`, `128MIB` are all
///   accepted.
/// - **Strict number syntax**: ASCII digits `0`-`9` only (a full-width `５M` is
///   rejected), no whitespace anywhere, no sign, no fraction, no hexadecimal.
/// - **Zero is rejected** ("must be greater than zero"), and so is anything past
///   `u64::MAX` bytes.
///
/// [`Display`](fmt::Display) prints the largest unit that divides the size exactly,
/// as a single letter (`128M`, `1G`, `1536K`), or plain bytes when the size is not a
/// multiple of 1024 (`1000`). The printed form always parses back to an equal value.
///
/// ```
/// use containment::MemoryLimit;
/// let m: MemoryLimit = "128MB".parse().unwrap();
/// assert_eq!(m.bytes(), 128 * 1024 * 1024);
/// assert_eq!(m.to_string(), "128M");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemoryLimit(u64);

impl MemoryLimit {
    /// A size of `bytes` bytes; an error when `bytes` is zero.
    pub fn from_bytes(bytes: u64) -> Result<MemoryLimit> {
        if bytes == 0 {
            return Err(Error::invalid(ValueKind::Size, "0", "must be greater than zero", EXPECTED));
        }
        Ok(MemoryLimit(bytes))
    }

    /// The size in bytes (always greater than zero).
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl From<MemoryLimit> for u64 {
    fn from(m: MemoryLimit) -> u64 {
        m.0
    }
}

/// The power of 1024 that a suffix (after the digits) stands for, or why it is not
/// one. The suffix is non-empty.
fn suffix_power(suffix: &str) -> std::result::Result<u32, String> {
    let upper = suffix.to_ascii_uppercase();
    if upper == "B" {
        return Ok(0);
    }
    let mut chars = upper.chars();
    let letter = chars.next();
    let rest = chars.as_str();
    let power = UNITS.iter().find(|(l, _)| Some(*l) == letter).map(|(_, p)| *p);
    match (power, rest) {
        (Some(p), "" | "B" | "IB") => Ok(p),
        _ => Err(format!("unknown suffix {suffix:?}")),
    }
}

fn parse(s: &str) -> Result<MemoryLimit> {
    let err = |reason: String| Error::invalid(ValueKind::Size, s, reason, EXPECTED);
    if s.is_empty() {
        return Err(err("is empty".into()));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(err("whitespace is not allowed".into()));
    }
    if s.starts_with(['-', '+']) {
        return Err(err("a sign is not allowed".into()));
    }
    if let Some(c) = s.chars().find(|c| c.is_numeric() && !c.is_ascii_digit()) {
        return Err(err(format!("{c:?} is not an ASCII digit; only 0-9 are accepted")));
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, suffix) = s.split_at(split);
    if digits.is_empty() {
        return Err(err(format!("no number before {suffix:?}")));
    }
    if suffix.starts_with(['.', ',']) {
        return Err(err("a fraction is not allowed; use a smaller unit".into()));
    }
    if digits == "0" && suffix.starts_with(['x', 'X']) {
        return Err(err("hexadecimal is not allowed; write the number in decimal".into()));
    }
    let power = if suffix.is_empty() { 0 } else { suffix_power(suffix).map_err(err)? };
    let too_large = || err(format!("too large; the maximum is {} bytes", u64::MAX));
    // `digits` is non-empty ASCII digits, so the only possible failure is overflow.
    let number: u64 = digits.parse().map_err(|_| too_large())?;
    let bytes = 1024u64.checked_pow(power).and_then(|unit| number.checked_mul(unit)).ok_or_else(too_large)?;
    if bytes == 0 {
        return Err(err("must be greater than zero".into()));
    }
    Ok(MemoryLimit(bytes))
}

impl FromStr for MemoryLimit {
    type Err = Error;

    fn from_str(s: &str) -> Result<MemoryLimit> {
        parse(s)
    }
}

impl fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (letter, power) in UNITS {
            // 1024^5 fits in u64; the fallback is never taken.
            let unit = 1024u64.checked_pow(power).unwrap_or(u64::MAX);
            if self.0 % unit == 0 {
                return write!(f, "{}{letter}", self.0 / unit);
            }
        }
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const K: u64 = 1024;
    const M: u64 = K * 1024;
    const G: u64 = M * 1024;
    const T: u64 = G * 1024;
    const P: u64 = T * 1024;

    #[test]
    fn good_inputs() {
        let table: &[(&str, u64)] = &[
            ("1", 1),
            ("1000", 1000),
            ("1048576", M),
            ("512B", 512),
            ("512b", 512),
            ("64k", 64 * K),
            ("64K", 64 * K),
            ("64KB", 64 * K),
            ("64KiB", 64 * K),
            ("128M", 128 * M),
            ("128MB", 128 * M),
            ("128MiB", 128 * M),
            ("128m", 128 * M),
            ("128mb", 128 * M),
            ("128MIB", 128 * M),
            ("128mib", 128 * M),
            ("1G", G),
            ("1gB", G),
            ("2T", 2 * T),
            ("3P", 3 * P),
            ("16383P", 16383 * P),
            ("0128M", 128 * M),
            ("18446744073709551615", u64::MAX),
            ("16777215T", 16_777_215 * T),
        ];
        for (text, bytes) in table {
            let m: MemoryLimit = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(m.bytes(), *bytes, "{text}");
        }
    }

    #[test]
    fn bad_inputs() {
        let table: &[(&str, &str)] = &[
            ("1XB", "unknown suffix \"XB\""),
            ("-5M", "sign"),
            ("+5M", "sign"),
            ("", "empty"),
            ("5.5.5M", "fraction"),
            ("5.5M", "fraction"),
            ("0x10M", "hexadecimal"),
            ("５M", "'５' is not an ASCII digit"),
            ("5５M", "'５' is not an ASCII digit"),
            ("18446744073709551616", "too large; the maximum is 18446744073709551615 bytes"),
            ("16777216T", "too large"),
            ("99999999999999999999999999P", "too large"),
            ("0", "greater than zero"),
            ("0M", "greater than zero"),
            (" 5M", "whitespace"),
            ("5M ", "whitespace"),
            ("5 M", "whitespace"),
            ("5M\n", "whitespace"),
            ("M", "no number"),
            ("5MM", "unknown suffix \"MM\""),
            ("5Mi", "unknown suffix \"Mi\""),
            ("5iB", "unknown suffix \"iB\""),
            ("5BB", "unknown suffix \"BB\""),
            ("5é", "unknown suffix \"é\""),
            ("5MiBs", "unknown suffix \"MiBs\""),
        ];
        for (text, fact) in table {
            let err = text.parse::<MemoryLimit>().expect_err(text);
            match &err {
                Error::InvalidValue { kind, value, reason, expected } => {
                    assert_eq!(*kind, ValueKind::Size, "{text}");
                    assert_eq!(value, text);
                    assert!(reason.contains(fact), "{text}: reason {reason:?} lacks {fact:?}");
                    assert!(expected.contains("128M"));
                }
                other => panic!("{text}: unexpected error {other:?}"),
            }
            // The message shows the value quoted and escaped (`{:?}`).
            assert!(err.to_string().contains(&format!("{text:?}")), "{text}: {err}");
        }
    }

    #[test]
    fn from_bytes_rejects_zero() {
        let err = MemoryLimit::from_bytes(0).unwrap_err();
        assert!(matches!(
            &err,
            Error::InvalidValue { kind: ValueKind::Size, reason, .. } if reason.contains("greater than zero")
        ));
        assert_eq!(MemoryLimit::from_bytes(7).unwrap().bytes(), 7);
        assert_eq!(u64::from(MemoryLimit::from_bytes(7).unwrap()), 7);
    }

    #[test]
    fn display_uses_largest_exact_unit() {
        let table: &[(u64, &str)] = &[
            (1, "1"),
            (1000, "1000"),
            (1023, "1023"),
            (1024, "1K"),
            (1536 * K, "1536K"),
            (128 * M, "128M"),
            (G, "1G"),
            (1025 * M, "1025M"),
            (T, "1T"),
            (P, "1P"),
            (2048 * P, "2048P"),
            (u64::MAX, "18446744073709551615"),
            (u64::MAX - 1023, "18014398509481983K"),
        ];
        for (bytes, text) in table {
            assert_eq!(MemoryLimit::from_bytes(*bytes).unwrap().to_string(), *text);
        }
    }

    proptest! {
        #[test]
        fn display_round_trips(bytes in 1..=u64::MAX) {
            let m = MemoryLimit::from_bytes(bytes).unwrap();
            prop_assert_eq!(m.to_string().parse::<MemoryLimit>().unwrap(), m);
        }

        #[test]
        fn display_round_trips_with_units(n in 1u64..100_000, power in 0u32..=5) {
            let bytes = n.saturating_mul(1024u64.pow(power));
            let m = MemoryLimit::from_bytes(bytes).unwrap();
            prop_assert_eq!(m.to_string().parse::<MemoryLimit>().unwrap(), m);
        }

        #[test]
        fn parsing_arbitrary_strings_never_panics(s in any::<String>()) {
            let _ = s.parse::<MemoryLimit>();
        }

        #[test]
        fn parsing_size_like_strings_never_panics(s in "[0-9kKmMgGtTpPiIbBx.+ -]{0,24}") {
            if let Ok(m) = s.parse::<MemoryLimit>() {
                prop_assert!(m.bytes() > 0);
            }
        }
    }
}
