//! The cpu controller: a bandwidth quota and a relative weight.

use std::path::Path;

use super::{write, Version};
use crate::error::Result;

/// The period quotas are expressed against, in microseconds.
const PERIOD_US: u64 = 100_000;

/// Applies a quota (a fraction of one CPU: 0.5 is half a CPU, 2.0 two CPUs) and a
/// weight (1 to 10000, 100 being the default share, as cgroup v2 counts it).
pub(super) fn apply(dir: &Path, version: Version, quota: Option<f64>, weight: Option<u32>) -> Result<()> {
    // At least 1 ms per period: the kernel's minimum quota.
    let quota_us = quota.map(|q| ((q * PERIOD_US as f64).round() as u64).max(1000));
    match version {
        Version::V1 => {
            if let Some(q) = quota_us {
                write(dir, "cpu.cfs_period_us", &PERIOD_US.to_string())?;
                write(dir, "cpu.cfs_quota_us", &q.to_string())?;
            }
            if let Some(w) = weight {
                // v1 shares: 1024 is the default, as weight 100 is on v2.
                write(dir, "cpu.shares", &(u64::from(w) * 1024 / 100).max(2).to_string())?;
            }
        }
        Version::V2 => {
            if let Some(q) = quota_us {
                write(dir, "cpu.max", &format!("{q} {PERIOD_US}"))?;
            }
            if let Some(w) = weight {
                write(dir, "cpu.weight", &w.to_string())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::tests::TempDir;

    #[test]
    fn v1_quota_and_shares() {
        let d = TempDir::with_files(&["cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.shares"]);
        apply(d.path(), Version::V1, Some(0.5), Some(200)).unwrap();
        assert_eq!(d.read("cpu.cfs_period_us"), "100000");
        assert_eq!(d.read("cpu.cfs_quota_us"), "50000");
        assert_eq!(d.read("cpu.shares"), "2048");
    }

    #[test]
    fn v2_max_and_weight() {
        let d = TempDir::with_files(&["cpu.max", "cpu.weight"]);
        apply(d.path(), Version::V2, Some(1.5), Some(50)).unwrap();
        assert_eq!(d.read("cpu.max"), "150000 100000");
        assert_eq!(d.read("cpu.weight"), "50");
    }

    #[test]
    fn tiny_quotas_are_raised_to_the_kernel_minimum() {
        let d = TempDir::with_files(&["cpu.max"]);
        apply(d.path(), Version::V2, Some(0.0001), None).unwrap();
        assert_eq!(d.read("cpu.max"), "1000 100000");
    }
}
