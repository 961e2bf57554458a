//! Inputs the fuzz targets in `fuzz/` (issue 9) stopped on, kept as tests. Each
//! input is also a seed of its target (`fuzz/seeds/<target>/regression-*`), so the
//! target replays it on every run.
//!
//! Neither was a crash of the library: both times the target's expectation, taken
//! from the documentation, was wrong about what the library does, and the tests pin
//! what it does (see the notes).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use containment::{Error, Ipv4Net, TmpfsSpec};

/// `tmpfs_spec`, input `b"/:p\xf5:63p"` (fuzz/seeds/tmpfs_spec/regression-colon-in-destination).
///
/// The text is split at its last `:`, so a destination may contain `:` when a size
/// follows: `/:p\xf5` with 63 PiB. (The doc of `TmpfsSpec` says "DST cannot contain
/// `:` in this form"; that holds only without a size: `/a:b` is a bad size `b`.)
#[test]
fn a_tmpfs_destination_may_hold_a_colon_when_a_size_follows() {
    let spec = TmpfsSpec::parse_os(OsStr::from_bytes(b"/:p\xf5:63p")).expect("parses");
    assert_eq!(spec.dst.as_os_str().as_bytes(), b"/:p\xf5");
    assert_eq!(spec.size.map(|s| s.bytes()), Some(63 << 50));

    // Such a value prints in a form that parses back to it.
    let spec: TmpfsSpec = "/a:b:64M".parse().expect("parses");
    assert_eq!((spec.dst.to_str(), spec.size.map(|s| s.bytes())), (Some("/a:b"), Some(64 << 20)));
    assert_eq!(spec.to_string().parse::<TmpfsSpec>().ok(), Some(spec));

    // Without a size, the text after the colon is taken for one.
    match "/a:b".parse::<TmpfsSpec>() {
        Err(Error::InvalidValue { reason, .. }) => assert!(reason.contains("\"b\""), "{reason}"),
        other => panic!("expected a bad size, got {other:?}"),
    }
}

/// `ffi_strings`, input `b"o\x01\x000::\x00 \x00e"` (containment_sandbox_net_bridge
/// with the address `0::`; fuzz/seeds/ffi_strings/regression-ipv6-bridge-address).
///
/// An IPv6 address is `Unsupported`, not an invalid value, as `Ipv4Net` documents
/// (so the C function returns CONTAINMENT_UNSUPPORTED, while include/containment.h
/// names only CONTAINMENT_INVALID_VALUE for an address that does not parse).
#[test]
fn an_ipv6_address_is_unsupported_not_invalid() {
    for text in ["0::", "0::/64", "::1/128", "fe80::1/64"] {
        match text.parse::<Ipv4Net>() {
            Err(Error::Unsupported { feature, .. }) => assert_eq!(feature, "IPv6 addresses", "{text}"),
            other => panic!("{text}: expected Unsupported, got {other:?}"),
        }
    }
    // A colon that is no IPv6 address is an invalid value.
    assert!(matches!("10.0.0.1:80/24".parse::<Ipv4Net>(), Err(Error::InvalidValue { .. })));
}
