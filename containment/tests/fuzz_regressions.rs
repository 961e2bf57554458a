//! Inputs the fuzz targets in `fuzz/` (issue 9) stopped on, kept as tests. Each
//! input is also a seed of its target (`fuzz/seeds/<target>/regression-*`), so the
//! target replays it on every run.
//!
//! None was a crash of the library. The first two times the target's expectation,
//! taken from the documentation, was wrong about what the library does, and the
//! tests pin what it does (see the notes); the `kernel_text` ones were mistakes of
//! the library on input it never gets from the kernel or from itself, fixed.

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

/// `kernel_text`, a mountinfo line with two spaces before the mount point
/// (fuzz/seeds/kernel_text/regression-mountinfo-empty-mount-point).
///
/// The empty field was taken for a cgroup hierarchy's mount point, so the groups
/// would have been made relative to the current directory. A mount point that is
/// not absolute is now no hierarchy.
#[test]
fn a_mountinfo_line_without_an_absolute_mount_point_is_no_hierarchy() {
    let line = |mount: &str| format!("29 1 0:26 / {mount} rw,nosuid - cgroup cgroup rw,memory\n");
    assert!(containment::fuzzing::mountinfo(&line(""), "").is_empty());
    assert!(containment::fuzzing::mountinfo(&line("memory"), "").is_empty());
    let found = containment::fuzzing::mountinfo(&line("/sys/fs/cgroup/memory"), "");
    assert_eq!(found, [std::path::PathBuf::from("/sys/fs/cgroup/memory")]);
}

/// `kernel_text`, a state file whose last line ends in `\r` without a `\n`
/// (fuzz/seeds/kernel_text/regression-state-carriage-return).
///
/// Read with `lines()`, the value kept its `\r` at the end of the text, and lost it
/// once written back with a `\n` after it. Lines are now split at `\n` only: what
/// is read is what was written.
#[test]
fn a_state_file_reads_back_what_it_wrote() {
    let text = "pid=12\nlimits=m\r";
    let written = containment::fuzzing::state_file(text).expect("a state with a pid");
    assert!(written.contains("limits=m\r\n"), "{written:?}");
    assert_eq!(containment::fuzzing::state_file(&written), Some(written));
    assert_eq!(containment::fuzzing::state_file("start=1\n"), None, "no pid");
}

/// `kernel_text`, a `/proc/net/sockstat` text whose counts add up past `u64::MAX`
/// (fuzz/seeds/kernel_text/regression-sockstat-overflow; seeded by hand after
/// reading the code, then found by the target).
///
/// The sum overflowed: a panic in a debug build, a wrong count in a release one.
/// It is now no count at all, so the namespace is not kept.
#[test]
fn sockstat_counts_that_overflow_are_no_count() {
    let text = b"sockets: used 3\nTCP: inuse 18446744073709551615 orphan 0 tw 5 alloc 1 mem 0\n";
    assert_eq!(containment::fuzzing::sockstat(text), (Some(3), None));
    let text = b"TCP: inuse 2 orphan 0 tw 5 alloc 1 mem 0\nUDP: inuse 1 mem 0\n";
    assert_eq!(containment::fuzzing::sockstat(text), (None, Some(8)));
}
