//! The parsers of what the supervisor reads back from the kernel and from its own
//! files, on arbitrary input (the first byte picks the parser): a running
//! sandbox's state file and its seccomp policy, `/proc/self/mountinfo` (the cgroup
//! hierarchies), `/proc/net/sockstat` (the pool of kept network namespaces), the
//! init's report record, and a cgroup's name. None panics; what is read and
//! written back reads back the same; a record reads back to its own bytes.
#![no_main]

use containment::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&op, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    match op % 6 {
        0 => {
            if let Some(written) = fuzzing::state_file(&text) {
                assert_eq!(fuzzing::state_file(&written).as_ref(), Some(&written), "{text:?}");
            }
        }
        1 => {
            let written = fuzzing::seccomp_spec(&text);
            assert_eq!(fuzzing::seccomp_spec(&written), written, "{text:?}");
        }
        2 => {
            // The controllers of a cgroup2 mount come after the first NUL, if any.
            let (mountinfo, v2) = text.split_once('\0').unwrap_or((&text, ""));
            // Groups are made below these: never a relative path.
            for mount in fuzzing::mountinfo(mountinfo, v2) {
                assert!(mount.is_absolute(), "{mount:?} from {text:?}");
            }
        }
        3 => {
            let (used, ip) = fuzzing::sockstat(rest);
            if used.is_some() {
                assert!(text.contains("sockets: used "), "{text:?}");
            }
            if ip.is_some() {
                assert!(text.contains("TCP"), "{text:?}");
            }
        }
        4 => {
            let mut record = [0u8; 16];
            let n = rest.len().min(16);
            record[..n].copy_from_slice(&rest[..n]);
            if let Some(back) = fuzzing::report_record(&record) {
                assert_eq!(back, record);
            }
        }
        _ => {
            // A name has three parts, and the supervisor's pid and start time read
            // the same from the name it would give its own group.
            if let Some((pid, start)) = fuzzing::group_name(&text) {
                assert_eq!(text.split('.').count(), 3, "{text:?}");
                assert_eq!(fuzzing::group_name(&format!("{pid}.{start}.0")), Some((pid, start)));
            }
        }
    }
});
