//! The cpuset controller: which CPUs the group may run on.

use std::path::Path;

use super::{read_string, write, Version};
use crate::error::Result;
use crate::resource::CpuSet;

/// Confines the group to `cpus`. On v1 a new cpuset group starts with no CPUs and
/// no memory nodes, so both are written (the nodes copied from the parent).
pub(super) fn apply(dir: &Path, version: Version, cpus: &CpuSet) -> Result<()> {
    write(dir, "cpuset.cpus", &cpus.to_string())?;
    if version == Version::V1 {
        let parent = dir.parent().unwrap_or(dir);
        let mems = read_string(parent, "cpuset.mems").unwrap_or_default();
        write(dir, "cpuset.mems", mems.trim())?;
    }
    Ok(())
}

/// Fills an empty v1 cpuset group (such as a new parent) with its parent's CPUs and
/// memory nodes, so groups below it can be given some.
pub(super) fn inherit_v1(dir: &Path) -> Result<()> {
    let parent = dir.parent().unwrap_or(dir);
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if read_string(dir, file).unwrap_or_default().trim().is_empty() {
            let value = read_string(parent, file).unwrap_or_default();
            write(dir, file, value.trim())?;
        }
    }
    Ok(())
}

/// The CPUs a group below `parent` may be given.
pub(super) fn allowed(parent: &Path, version: Version) -> Option<CpuSet> {
    let file = match version {
        Version::V1 => "cpuset.effective_cpus",
        Version::V2 => "cpuset.cpus.effective",
    };
    let text = read_string(parent, file).or_else(|| read_string(parent, "cpuset.cpus"))?;
    CpuSet::parse_kernel_list(&text).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::tests::TempDir;

    #[test]
    fn v1_copies_mems_from_the_parent() {
        let parent = TempDir::with_files(&[]);
        parent.put("cpuset.mems", "0\n");
        let child = parent.path().join("g");
        std::fs::create_dir(&child).unwrap();
        std::fs::write(child.join("cpuset.cpus"), "").unwrap();
        std::fs::write(child.join("cpuset.mems"), "").unwrap();
        apply(&child, Version::V1, &"1,3".parse().unwrap()).unwrap();
        assert_eq!(std::fs::read_to_string(child.join("cpuset.cpus")).unwrap(), "1,3");
        assert_eq!(std::fs::read_to_string(child.join("cpuset.mems")).unwrap(), "0");
    }

    #[test]
    fn allowed_reads_the_effective_set() {
        let d = TempDir::with_files(&[]);
        d.put("cpuset.cpus.effective", "0-1\n");
        assert_eq!(allowed(d.path(), Version::V2), Some("0-1".parse().unwrap()));
        d.put("cpuset.effective_cpus", "0\n");
        assert_eq!(allowed(d.path(), Version::V1), Some("0".parse().unwrap()));
    }
}
