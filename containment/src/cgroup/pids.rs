//! The pids controller: how many processes the group may hold.

use std::path::Path;

use super::{write, Version};
use crate::error::Result;

/// Allows at most `max` processes (and threads) in the group. The same file on
/// both versions.
pub(super) fn apply(dir: &Path, _version: Version, max: u64) -> Result<()> {
    write(dir, "pids.max", &max.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::tests::TempDir;

    #[test]
    fn writes_pids_max() {
        let d = TempDir::with_files(&["pids.max"]);
        apply(d.path(), Version::V2, 17).unwrap();
        assert_eq!(d.read("pids.max"), "17");
    }
}
