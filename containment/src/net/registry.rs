//! Which addresses running sandboxes hold on which bridge, across processes: one
//! lease per address under `/run/containment/net/<netns>-<bridge>/`.

use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::lease::{Lease, RUN_DIR};

/// Takes `ip` on `bridge` (of the calling thread's network namespace) for a
/// sandbox; the lease is held while it runs.
///
/// # Errors
/// [`Error::InvalidConfig`] when a running sandbox holds it already.
pub(crate) fn take_address(bridge: &str, ip: Ipv4Addr, netns: u64) -> Result<Lease> {
    take_in(&Path::new(RUN_DIR).join("net"), bridge, ip, netns)
}

/// An id of the calling thread's network namespace that is never reused: its
/// cookie (`SO_NETNS_COOKIE` of a socket made there, Linux 5.14+), else, on older
/// kernels, the inode number of `/proc/thread-self/ns/net` (reused once the
/// namespace is gone).
pub(crate) fn netns_id(socket: std::os::fd::RawFd) -> u64 {
    crate::sys::netns_cookie(socket)
        .unwrap_or_else(|_| std::fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino()).unwrap_or(0))
}

fn take_in(root: &Path, bridge: &str, ip: Ipv4Addr, netns: u64) -> Result<Lease> {
    let path = root.join(format!("{netns}-{bridge}")).join(ip.to_string());
    Lease::try_take(&path)?.ok_or_else(|| {
        Error::InvalidConfig(format!("address {ip} is already used by a running sandbox on bridge {bridge}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_in_use_is_named() {
        let root = std::env::temp_dir().join(format!("ctm-addr-{}", std::process::id()));
        let ip = Ipv4Addr::new(10, 77, 0, 9);
        let a = take_in(&root, "br-test", ip, 7).unwrap();
        assert!(take_in(&root, "br-test", ip, 8).is_ok(), "another namespace, another bridge");
        match take_in(&root, "br-test", ip, 7) {
            Err(Error::InvalidConfig(m)) => assert!(m.contains("10.77.0.9") && m.contains("br-test"), "{m}"),
            other => panic!("{other:?}"),
        }
        drop(a);
        drop(take_in(&root, "br-test", ip, 7).unwrap());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
