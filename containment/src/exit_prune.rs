//! Directories this process made in places shared with other processes (the
//! default cgroup parents, `/run/containment` and its `ids` and `net`), removed
//! when it exits if they are empty then, so that nothing of containment stays on
//! the host after its users are gone. Not at once when the last thing in them
//! goes: a supervisor that runs sandboxes one after another would make them again
//! for every one (the cgroup parents about 0.5 ms with limits on a v1 host,
//! `benches/RESULTS.md` run D; `/run/containment/ids` 0.14 ms on this machine's
//! ext4 `/run`, run G). A process killed before it exits leaves them empty; the
//! next user takes them as they are, and `containment::gc` removes them.

use std::path::PathBuf;
use std::sync::{Mutex, Once};

static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes `dir` at exit if it is empty then (after any directory registered below
/// it).
pub(crate) fn remove_at_exit(dir: PathBuf) {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        let _ = crate::sys::at_exit(remove_all);
    });
    let mut dirs = DIRS.lock().unwrap_or_else(|e| e.into_inner());
    if !dirs.contains(&dir) {
        dirs.push(dir);
    }
}

/// At exit: removes the registered directories that are empty, deepest first (the
/// others are in use by other processes: `rmdir` fails, which is fine). Skipped if
/// another thread holds the list at that moment.
extern "C" fn remove_all() {
    let mut dirs = match DIRS.try_lock() {
        Ok(dirs) => dirs,
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for dir in dirs.iter() {
        let _ = std::fs::remove_dir(dir);
    }
}
