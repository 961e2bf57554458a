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
            make_dirs(dir)?;
        }
        loop {
            let file = match File::options().create(true).truncate(false).write(true).open(path) {
                Ok(f) => f,
                // Another process removed the empty directory meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if let Some(dir) = path.parent() {
                        make_dirs(dir)?;
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
            // And the directory, when it was the last one (a bridge's addresses),
            // and the ones above it that this empties, up to `RUN_DIR`; but
            // `RUN_DIR` and its `ids` and `net`, which every spawn uses, only when
            // the process exits (see `make_dirs`).
            for (i, dir) in self.path.ancestors().skip(1).enumerate() {
                if i > 0 && !dir.starts_with(RUN_DIR) {
                    break;
                }
                if used_by_every_spawn(dir) {
                    // Removed at exit (`make_dirs` registered it).
                    break;
                }
                if std::fs::remove_dir(dir).is_err() {
                    break;
                }
            }
        }
    }
}

/// `RUN_DIR`, `RUN_DIR/ids` (a lease per sandbox with a range of host ids: by
/// default, every one) and `RUN_DIR/net`.
fn used_by_every_spawn(dir: &Path) -> bool {
    let run = Path::new(RUN_DIR);
    dir == run || [run.join("ids"), run.join("net")].iter().any(|d| d == dir)
}

/// Removes the leases under `root` that nobody holds: the address leases
/// (`net/<netns>-<bridge>/<address>`, with their directory when it empties) and the
/// id-range leases (`ids/<n>`) of supervisors killed before they could release
/// them, then the directories that leaves empty, `root` included. A held lease is
/// left alone; returns how many were removed.
pub(crate) fn collect_free(root: &Path) -> usize {
    let files = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect()
    };
    let bridges: Vec<PathBuf> = files(&root.join("net")).into_iter().filter(|d| d.is_dir()).collect();
    let mut removed = 0;
    for path in bridges.iter().flat_map(|d| files(d)).chain(files(&root.join("ids"))).filter(|p| p.is_file()) {
        Lease::remove_if_free(&path);
        if !path.exists() {
            removed += 1;
        }
    }
    // Directories left empty, deepest first, up to `root` itself (a lease being
    // taken there makes its directories again; a named sandbox's keeps `root`).
    for dir in bridges.into_iter().chain([root.join("net"), root.join("ids"), root.to_path_buf()]) {
        let _ = std::fs::remove_dir(dir);
    }
    removed
}

/// `create_dir_all`, again when a directory on the way went meanwhile: a lease
/// released in another thread or process removes the directories it empties, up to
/// `RUN_DIR`, and may do so between two of the `mkdir`s.
///
/// `RUN_DIR` and its `ids` and `net` on the way are removed when this process
/// exits, if empty then (see [`used_by_every_spawn`]), whoever made them.
pub(crate) fn make_dirs(dir: &Path) -> Result<()> {
    for shared in dir.ancestors().filter(|d| used_by_every_spawn(d)) {
        crate::exit_prune::remove_at_exit(shared.to_path_buf());
    }
    let mut attempts = 0;
    loop {
        match std::fs::create_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 100 => attempts += 1,
            Err(e) => return Err(io("mkdir", dir, e)),
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

    #[test]
    fn free_leases_are_collected_and_held_ones_stay() {
        let root = std::env::temp_dir().join(format!("ctm-lease-gc-{}", std::process::id()));
        let held = Lease::try_take(&root.join("net/7-br0/10.0.0.2")).unwrap().expect("free");
        let mut left = Lease::try_take(&root.join("net/8-br0/10.0.0.3")).unwrap().expect("free");
        left.keep_file(); // a killed supervisor's: the file stays, held by nobody
        drop(left);
        let mut id = Lease::try_take(&root.join("ids/3")).unwrap().expect("free");
        id.keep_file();
        drop(id);
        std::fs::create_dir_all(root.join("net/9-br0")).unwrap();
        assert_eq!(collect_free(&root), 2);
        assert!(!root.join("net/9-br0").exists(), "an empty directory goes");
        assert!(held.path().exists(), "a held lease stays");
        assert!(!root.join("net/8-br0").exists(), "an emptied directory goes");
        assert!(!root.join("ids/3").exists());
        assert!(!root.join("ids").exists(), "the emptied ids directory goes");
        assert!(root.join("net").exists(), "net holds a held lease: it stays");
        drop(held);
        assert_eq!(collect_free(&root), 0);
        assert!(!root.exists(), "with nothing held, nothing is left, not even the root");
    }
}
