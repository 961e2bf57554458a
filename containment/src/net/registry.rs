//! Which addresses running sandboxes hold on which bridge, across processes: one
//! lock file per address under `/run/containment/net`, held (`flock`) by the
//! supervisor of the sandbox that uses it and released when that sandbox ends or
//! its supervisor dies.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

const DIR: &str = "/run/containment/net";

/// An address held on a bridge; released when dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    path: PathBuf,
    _lock: Flock<File>,
}

impl Lease {
    /// Takes `ip` on `bridge` (of the calling thread's network namespace).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a running sandbox holds it already.
    pub fn take(bridge: &str, ip: Ipv4Addr) -> Result<Lease> {
        Lease::take_in(Path::new(DIR), bridge, ip)
    }

    fn take_in(root: &Path, bridge: &str, ip: Ipv4Addr) -> Result<Lease> {
        let netns = std::fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino()).unwrap_or(0);
        let dir = root.join(format!("{netns}-{bridge}"));
        std::fs::create_dir_all(&dir).map_err(|e| io("mkdir", &dir, e))?;
        let path = dir.join(ip.to_string());
        loop {
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| io("open", &path, e))?;
            let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(l) => l,
                Err((_, Errno::EWOULDBLOCK)) => {
                    return Err(Error::InvalidConfig(format!(
                        "address {ip} is already used by a running sandbox on bridge {bridge}"
                    )))
                }
                Err((_, e)) => return Err(Error::os_path("flock", &path, e)),
            };
            // The holder before us may have unlinked the file after we opened it:
            // only a lock on the file that is still at the path counts.
            let ours = lock.metadata().map(|m| m.ino()).ok();
            let current = std::fs::metadata(&path).map(|m| m.ino()).ok();
            if ours.is_some() && ours == current {
                return Ok(Lease { path, _lock: lock });
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Unlink while still holding the lock; the lock goes with the descriptor.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn io(op: &'static str, path: &Path, e: std::io::Error) -> Error {
    Error::os_path(op, path, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_held_once_and_released_on_drop() {
        let root = std::env::temp_dir().join(format!("ctm-lease-{}", std::process::id()));
        let ip = Ipv4Addr::new(10, 77, 0, 9);
        let a = Lease::take_in(&root, "br-test", ip).unwrap();
        // flock locks belong to the open file: a second open in this process conflicts too.
        match Lease::take_in(&root, "br-test", ip) {
            Err(Error::InvalidConfig(m)) => assert!(m.contains("10.77.0.9") && m.contains("br-test"), "{m}"),
            other => panic!("{other:?}"),
        }
        let other = Lease::take_in(&root, "br-test", Ipv4Addr::new(10, 77, 0, 10)).unwrap();
        drop(a);
        let again = Lease::take_in(&root, "br-test", ip).unwrap();
        drop((again, other));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
