//! The parsing of the kernel's rtnetlink replies (what the supervisor reads from
//! its netlink socket while it sets up a bridge network) on arbitrary bytes: never
//! panics, and finds at most one message per 16 bytes (a netlink header).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let n = containment::fuzzing::netlink_replies(data);
    assert!(n <= data.len() / 16, "{n} messages in {} bytes", data.len());
});
