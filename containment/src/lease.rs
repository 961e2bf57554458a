//! Leases across processes: a lock file held with `flock` by the supervisor that
//! owns something (an address on a bridge, a range of host ids), released when the
//! lease is dropped or when that supervisor dies, whatever the way.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::error::{Error, Result};

/// Where containment keeps its runtime state.
pub(crate) const RUN_DIR: &str = "/run/containment";

/// A held lock file; unlinked and released when dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    path: PathBuf,
    /// The locked file. Closing it releases the lock only when no other descriptor
    /// of the same open file (an init's inherited copy) is left: the lock is never
    /// released explicitly.
    file: File,
    /// Whether dropping removes the file (not for a persistent sandbox's leases,
    /// which its init holds after the supervisor is gone).
    unlink: bool,
}

impl Lease {
    /// Takes the lease at `path` (creating its directory), or `None` when someone
    /// holds it.
    pub fn try_take(path: &Path) -> Result<Option<Lease>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("mkdir", dir, e))?;
        }
        loop {
            let file = match File::options().create(true).truncate(false).write(true).open(path) {
                Ok(f) => f,
                // Another process removed the empty directory meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir).map_err(|e| io("mkdir", dir, e))?;
                    }
                    continue;
                }
                Err(e) => return Err(io("open", path, e)),
            };
            use std::os::fd::AsRawFd;
            match crate::sys::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) {
                Ok(()) => {}
                Err(Errno::EWOULDBLOCK) => return Ok(None),
                Err(e) => return Err(Error::os_path("flock", path, e)),
            }
            // The holder before us may have unlinked the file after we opened it:
            // only a lock on the file that is still at the path counts.
            let ours = file.metadata().map(|m| m.ino()).ok();
            let current = std::fs::metadata(path).map(|m| m.ino()).ok();
            if ours.is_some() && ours == current {
                return Ok(Some(Lease { path: path.to_path_buf(), file, unlink: true }));
            }
        }
    }
}

impl Lease {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the lock file at `path` if nobody holds it (a lease a dead
    /// sandbox's init held, kept when its supervisor detached it).
    pub fn remove_if_free(path: &Path) {
        if let Ok(Some(lease)) = Lease::try_take(path) {
            drop(lease); // unlinks
        }
    }

    /// The lock's descriptor: a process that inherits it holds the lease as long as
    /// it keeps it open (a sandbox's init does).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.file.as_raw_fd()
    }

    /// Keeps the lock file when dropped: the lease is then held only by whoever
    /// inherited its descriptor.
    pub fn keep_file(&mut self) {
        self.unlink = false;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Unlink while still holding the lock; the lock goes with the descriptor.
        if self.unlink {
            let _ = std::fs::remove_file(&self.path);
            // And the directory, when it was the last one (a bridge's addresses).
            if let Some(dir) = self.path.parent() {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

fn io(op: &'static str, path: &Path, e: std::io::Error) -> Error {
    Error::os_path(op, path, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_held_once_and_released_on_drop() {
        let root = std::env::temp_dir().join(format!("ctm-lease-{}", std::process::id()));
        let p = root.join("a/b");
        let a = Lease::try_take(&p).unwrap().expect("free");
        // flock locks belong to the open file: a second open in this process conflicts too.
        assert!(Lease::try_take(&p).unwrap().is_none());
        let other = Lease::try_take(&root.join("a/c")).unwrap().expect("free");
        drop(a);
        assert!(!p.exists(), "unlinked on release");
        let again = Lease::try_take(&p).unwrap().expect("free again");
        drop((again, other));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
