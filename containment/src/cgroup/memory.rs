//! The memory controller: a hard limit with swap off, and the OOM-kill counter and
//! peak usage read back.

use std::path::Path;

use super::{read_key, read_u64, write, write_optional, Version};
use crate::error::Result;

/// Limits the group to `bytes` of memory, with no swap on top: exceeding it means
/// the kernel's OOM killer, never swapping.
pub(super) fn apply(dir: &Path, version: Version, bytes: u64) -> Result<()> {
    let b = bytes.to_string();
    match version {
        Version::V1 => {
            write(dir, "memory.limit_in_bytes", &b)?;
            // Absent without swap accounting; then there is no swap to turn off.
            write_optional(dir, "memory.memsw.limit_in_bytes", &b)
        }
        Version::V2 => {
            write(dir, "memory.max", &b)?;
            write_optional(dir, "memory.swap.max", "0")
        }
    }
}

/// What the memory controller says about a group that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Stats {
    /// Processes the OOM killer killed in the group.
    pub oom_kills: u64,
    /// Peak usage in bytes, where the kernel keeps it.
    pub peak: Option<u64>,
}

/// Reads the group's own OOM-kill counter and peak usage.
pub(super) fn stats(dir: &Path, version: Version) -> Stats {
    match version {
        Version::V1 => Stats {
            oom_kills: read_key(dir, "memory.oom_control", "oom_kill").unwrap_or(0),
            peak: read_u64(dir, "memory.max_usage_in_bytes"),
        },
        Version::V2 => Stats {
            oom_kills: read_key(dir, "memory.events", "oom_kill").unwrap_or(0),
            peak: read_u64(dir, "memory.peak"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::tests::TempDir;

    #[test]
    fn v1_writes_limit_and_swap_limit() {
        let d = TempDir::with_files(&["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]);
        apply(d.path(), Version::V1, 64 << 20).unwrap();
        assert_eq!(d.read("memory.limit_in_bytes"), "67108864");
        assert_eq!(d.read("memory.memsw.limit_in_bytes"), "67108864");
    }

    #[test]
    fn v2_writes_max_and_turns_swap_off() {
        let d = TempDir::with_files(&["memory.max", "memory.swap.max"]);
        apply(d.path(), Version::V2, 1 << 20).unwrap();
        assert_eq!(d.read("memory.max"), "1048576");
        assert_eq!(d.read("memory.swap.max"), "0");
    }

    #[test]
    fn missing_swap_file_is_fine_missing_limit_file_is_not() {
        let d = TempDir::with_files(&["memory.limit_in_bytes"]);
        apply(d.path(), Version::V1, 4096).unwrap();
        let e = TempDir::with_files(&[]);
        assert!(apply(e.path(), Version::V1, 4096).is_err());
    }

    #[test]
    fn stats_read_the_oom_kill_counter() {
        let d = TempDir::with_files(&[]);
        d.put("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        d.put("memory.max_usage_in_bytes", "123456\n");
        assert_eq!(stats(d.path(), Version::V1), Stats { oom_kills: 3, peak: Some(123456) });
        d.put("memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n");
        assert_eq!(stats(d.path(), Version::V2), Stats { oom_kills: 1, peak: None });
    }
}
