//! CPU sets: which CPUs a sandbox may run on.
//!
//! [`CpuSet`] is a non-empty set of CPU ids written in the kernel's list format
//! (`0-3,7`), as in `cpuset.cpus` or `Cpus_allowed_list`.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::error::{Error, Result, ValueKind};

/// What a CPU list accepts, for error messages.
const EXPECTED: &str = "a comma-separated list of CPU numbers (0-65535) or ranges, like 0-3,7";

/// A non-empty set of CPU ids, each from 0 to [`CpuSet::MAX_CPU`].
///
/// # Text form
///
/// [`FromStr`] accepts the kernel's list format: comma-separated items, each a CPU
/// number (`5`) or an inclusive range (`0-3`), like `0-3,7` or `1,3`. Numbers are
/// decimal ASCII digits; no whitespace, no sign, no empty item. Items may come in
/// any order and may overlap (`3,0-4` is the set 0 to 4). A reversed range (`3-1`)
/// is an error. The kernel's stride syntax (`0-7:2/4`) is not accepted.
///
/// [`Display`](fmt::Display) prints the canonical form: ascending, with runs of
/// consecutive ids collapsed into ranges, including runs of two (`3,4` prints as
/// `3-4`). The printed form always parses back to an equal value.
///
/// The set is stored as sorted, disjoint, non-adjacent ranges, so `0-65535` is as
/// cheap to parse, print and compare as `0`.
///
/// ```
/// use containment::CpuSet;
/// let s: CpuSet = "7,0-2,3".parse().unwrap();
/// assert_eq!(s.to_string(), "0-3,7");
/// assert_eq!(s.len(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CpuSet {
    /// Sorted by start; disjoint; between two ranges there is at least one id not
    /// in the set (so the representation of a set is unique). Never empty.
    ranges: Vec<(u32, u32)>,
}

impl CpuSet {
    /// The largest CPU id accepted.
    pub const MAX_CPU: u32 = 65535;

    /// The set of these CPU ids (in any order, duplicates allowed).
    ///
    /// An error when there are none, or when one is above [`CpuSet::MAX_CPU`].
    pub fn from_cpus(cpus: impl IntoIterator<Item = u32>) -> Result<CpuSet> {
        let mut ids: Vec<u32> = cpus.into_iter().collect();
        if let Some(&bad) = ids.iter().find(|&&c| c > Self::MAX_CPU) {
            return Err(Error::invalid(ValueKind::CpuSet, bad.to_string(), above_max(bad), EXPECTED));
        }
        if ids.is_empty() {
            return Err(Error::invalid(ValueKind::CpuSet, "", "the set of CPUs is empty", EXPECTED));
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(CpuSet::from_ranges(ids.into_iter().map(|c| (c, c)).collect()))
    }

    /// Parses a list read from the kernel (`cpuset.cpus`, `cpuset.cpus.effective`,
    /// `Cpus_allowed_list` in `/proc/PID/status`).
    ///
    /// Surrounding whitespace (the trailing newline) is trimmed; an empty list, which
    /// the kernel writes for an unset `cpuset.cpus`, is `Ok(None)`.
    pub fn parse_kernel_list(s: &str) -> Result<Option<CpuSet>> {
        let s = s.trim();
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse().map(Some)
        }
    }

    /// The CPU ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ranges.iter().flat_map(|&(lo, hi)| lo..=hi)
    }

    /// The runs of consecutive CPU ids, ascending (as [`Display`](fmt::Display)
    /// prints them).
    pub fn ranges(&self) -> impl Iterator<Item = RangeInclusive<u32>> + '_ {
        self.ranges.iter().map(|&(lo, hi)| lo..=hi)
    }

    /// Whether `cpu` is in the set.
    pub fn contains(&self, cpu: u32) -> bool {
        // The index of the first range that ends at or after `cpu`.
        let i = self.ranges.partition_point(|&(_, hi)| hi < cpu);
        self.ranges.get(i).is_some_and(|&(lo, _)| lo <= cpu)
    }

    /// The number of CPUs in the set (at least 1).
    pub fn len(&self) -> usize {
        self.ranges.iter().map(|&(lo, hi)| (hi - lo) as usize + 1).sum()
    }

    /// Always `false`: a `CpuSet` is never empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether every CPU of this set is also in `other`.
    pub fn is_subset(&self, other: &CpuSet) -> bool {
        self.ranges.iter().all(|&(lo, hi)| {
            // Ranges of `other` are non-adjacent, so a run of `self` must lie within
            // a single range of `other`.
            let i = other.ranges.partition_point(|&(_, ohi)| ohi < lo);
            other.ranges.get(i).is_some_and(|&(olo, ohi)| olo <= lo && hi <= ohi)
        })
    }

    /// The CPUs of this set that are not in `other`, ascending.
    pub fn difference(&self, other: &CpuSet) -> Vec<u32> {
        self.iter().filter(|&c| !other.contains(c)).collect()
    }

    /// The smallest CPU id in the set.
    pub fn min(&self) -> u32 {
        self.ranges.first().map_or(0, |&(lo, _)| lo)
    }

    /// The largest CPU id in the set.
    pub fn max(&self) -> u32 {
        self.ranges.last().map_or(0, |&(_, hi)| hi)
    }

    /// Builds the canonical form from non-empty, valid (`lo <= hi`) ranges.
    fn from_ranges(mut ranges: Vec<(u32, u32)>) -> CpuSet {
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                // Overlapping or adjacent: extend. `hi + 1` cannot overflow since
                // ids are at most MAX_CPU.
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        CpuSet { ranges: merged }
    }
}

fn above_max(cpu: impl fmt::Display) -> String {
    format!("CPU {cpu} is above the maximum {}", CpuSet::MAX_CPU)
}

/// Parses one CPU number of the item `item`; `Err` holds the reason.
fn parse_cpu(num: &str, item: &str) -> std::result::Result<u32, String> {
    if let Some(c) = num.chars().find(|c| !c.is_ascii_digit()) {
        return Err(if c.is_numeric() {
            format!("{c:?} is not an ASCII digit; only 0-9 are accepted")
        } else if num.is_empty() || item == num {
            format!("{item:?} is not a CPU number")
        } else {
            format!("{num:?} in {item:?} is not a CPU number")
        });
    }
    // Non-empty ASCII digits: the only possible failure is overflow.
    match num.parse::<u32>() {
        Ok(n) if n <= CpuSet::MAX_CPU => Ok(n),
        Ok(n) => Err(above_max(n)),
        Err(_) => Err(above_max(num)),
    }
}

/// Parses one item (`5` or `0-3`); `Err` holds the reason.
fn parse_item(item: &str) -> std::result::Result<(u32, u32), String> {
    let Some((a, b)) = item.split_once('-') else {
        let n = parse_cpu(item, item)?;
        return Ok((n, n));
    };
    if b.contains('-') {
        return Err(format!("{item:?} has more than one '-'; a range is two numbers like 0-3"));
    }
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Err(format!("range {item:?} has no start and no end")),
        (true, false) => return Err(format!("range {item:?} has no start (CPU numbers cannot be negative)")),
        (false, true) => return Err(format!("range {item:?} has no end")),
        (false, false) => {}
    }
    let lo = parse_cpu(a, item)?;
    let hi = parse_cpu(b, item)?;
    if lo > hi {
        return Err(format!("range {lo}-{hi} is reversed; write {hi}-{lo}"));
    }
    Ok((lo, hi))
}

fn parse(s: &str) -> Result<CpuSet> {
    let err = |reason: String| Error::invalid(ValueKind::CpuSet, s, reason, EXPECTED);
    if s.is_empty() {
        return Err(err("is empty".into()));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(err("whitespace is not allowed".into()));
    }
    let items: Vec<&str> = s.split(',').collect();
    let last = items.len().saturating_sub(1);
    let mut ranges = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if item.is_empty() {
            return Err(err(if i == 0 {
                "leading comma: the list starts with an empty item".into()
            } else if i == last {
                "trailing comma: the list ends with an empty item".into()
            } else {
                "empty item between two commas".into()
            }));
        }
        ranges.push(parse_item(item).map_err(err)?);
    }
    Ok(CpuSet::from_ranges(ranges))
}

impl FromStr for CpuSet {
    type Err = Error;

    fn from_str(s: &str) -> Result<CpuSet> {
        parse(s)
    }
}

impl fmt::Display for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(s: &str) -> CpuSet {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn good_inputs() {
        let table: &[(&str, &[u32], &str)] = &[
            ("0", &[0], "0"),
            ("5", &[5], "5"),
            ("1,3", &[1, 3], "1,3"),
            ("0-3,7", &[0, 1, 2, 3, 7], "0-3,7"),
            ("7,0-3", &[0, 1, 2, 3, 7], "0-3,7"),
            ("3,4", &[3, 4], "3-4"),
            ("4,3,3", &[3, 4], "3-4"),
            ("0-2,3-5", &[0, 1, 2, 3, 4, 5], "0-5"),
            ("0-4,2-3", &[0, 1, 2, 3, 4], "0-4"),
            ("2-2", &[2], "2"),
            ("007", &[7], "7"),
            ("65535", &[65535], "65535"),
            ("65534-65535", &[65534, 65535], "65534-65535"),
        ];
        for (text, ids, canon) in table {
            let s = set(text);
            assert_eq!(s.iter().collect::<Vec<_>>(), *ids, "{text}");
            assert_eq!(s.len(), ids.len(), "{text}");
            assert_eq!(s.to_string(), *canon, "{text}");
            assert_eq!(s, CpuSet::from_cpus(ids.iter().copied()).unwrap(), "{text}");
        }
    }

    #[test]
    fn bad_inputs() {
        let table: &[(&str, &str)] = &[
            ("-", "no start and no end"),
            ("1-", "no end"),
            ("-3", "no start"),
            ("3-1", "range 3-1 is reversed"),
            ("a", "\"a\" is not a CPU number"),
            ("1-a", "\"a\" in \"1-a\" is not a CPU number"),
            ("+3", "not a CPU number"),
            ("65537", "CPU 65537 is above the maximum 65535"),
            ("65536", "CPU 65536 is above the maximum 65535"),
            ("0-65536", "CPU 65536 is above the maximum 65535"),
            ("", "empty"),
            (",", "leading comma"),
            (",1", "leading comma"),
            ("1,,2", "empty item between two commas"),
            ("1,", "trailing comma"),
            (" 1", "whitespace"),
            ("1 ,2", "whitespace"),
            ("1-2-3", "more than one '-'"),
            ("０", "'０' is not an ASCII digit"),
            ("99999999999999999999", "CPU 99999999999999999999 is above the maximum 65535"),
            ("0-7:2/4", "not a CPU number"),
        ];
        for (text, fact) in table {
            let err = text.parse::<CpuSet>().expect_err(text);
            match &err {
                Error::InvalidValue { kind, value, reason, expected } => {
                    assert_eq!(*kind, ValueKind::CpuSet, "{text}");
                    assert_eq!(value, text);
                    assert!(reason.contains(fact), "{text}: reason {reason:?} lacks {fact:?}");
                    assert!(expected.contains("0-3,7"));
                }
                other => panic!("{text}: unexpected error {other:?}"),
            }
            // The message shows the value quoted and escaped (`{:?}`).
            assert!(err.to_string().contains(&format!("{text:?}")), "{text}: {err}");
        }
    }

    #[test]
    fn from_cpus_rejects_empty_and_out_of_range() {
        let e = CpuSet::from_cpus([]).unwrap_err();
        assert!(matches!(&e, Error::InvalidValue { kind: ValueKind::CpuSet, reason, .. } if reason.contains("empty")));
        let e = CpuSet::from_cpus([1, 70000]).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidValue { kind: ValueKind::CpuSet, reason, .. } if reason.contains("CPU 70000 is above the maximum 65535"))
        );
        let e = CpuSet::from_cpus([u32::MAX]).unwrap_err();
        assert!(matches!(e, Error::InvalidValue { kind: ValueKind::CpuSet, .. }));
    }

    #[test]
    fn kernel_lists() {
        assert_eq!(CpuSet::parse_kernel_list("").unwrap(), None);
        assert_eq!(CpuSet::parse_kernel_list("\n").unwrap(), None);
        assert_eq!(CpuSet::parse_kernel_list("  \n").unwrap(), None);
        assert_eq!(CpuSet::parse_kernel_list("0-3\n").unwrap(), Some(set("0-3")));
        assert_eq!(CpuSet::parse_kernel_list(" 0-1,4\n").unwrap(), Some(set("0-1,4")));
        let e = CpuSet::parse_kernel_list("0-x\n").unwrap_err();
        assert!(matches!(e, Error::InvalidValue { kind: ValueKind::CpuSet, .. }));
        assert!(CpuSet::parse_kernel_list("0, 1\n").is_err());
    }

    #[test]
    fn queries() {
        let s = set("0-3,7,10-12");
        assert!(s.contains(0) && s.contains(3) && s.contains(7) && s.contains(12));
        assert!(!s.contains(4) && !s.contains(9) && !s.contains(13) && !s.contains(u32::MAX));
        assert_eq!(s.len(), 8);
        assert!(!s.is_empty());
        assert_eq!(s.min(), 0);
        assert_eq!(s.max(), 12);
        assert_eq!(s.ranges().collect::<Vec<_>>(), vec![0..=3, 7..=7, 10..=12]);

        let host = set("0-15");
        assert!(s.is_subset(&host));
        assert!(s.is_subset(&s));
        assert!(!host.is_subset(&s));
        assert!(!set("3-4").is_subset(&set("0-3,5")));
        assert!(set("3-4").is_subset(&set("0-4,6")));
        assert_eq!(s.difference(&set("0-2,11")), vec![3, 7, 10, 12]);
        assert_eq!(s.difference(&host), Vec::<u32>::new());
    }

    #[test]
    fn full_range_is_cheap() {
        let all = set("0-65535");
        assert_eq!(all.len(), 65536);
        assert_eq!(all.to_string(), "0-65535");
        assert_eq!(all.max(), CpuSet::MAX_CPU);
        assert_eq!(all, CpuSet::from_cpus(0..=CpuSet::MAX_CPU).unwrap());
        assert!(all.is_subset(&all));
        assert_eq!(all.iter().count(), 65536);
        let evens = CpuSet::from_cpus((0..=CpuSet::MAX_CPU).step_by(2)).unwrap();
        assert_eq!(evens.len(), 32768);
        assert_eq!(evens.to_string().parse::<CpuSet>().unwrap(), evens);
        assert!(evens.is_subset(&all));
        assert!(!all.is_subset(&evens));
        assert_eq!(all.difference(&evens).len(), 32768);
    }

    fn arb_set() -> impl Strategy<Value = CpuSet> {
        prop_oneof![prop::collection::vec(0..=CpuSet::MAX_CPU, 1..40), prop::collection::vec(0u32..64, 1..40),]
            .prop_map(|ids| CpuSet::from_cpus(ids).unwrap())
    }

    proptest! {
        #[test]
        fn display_round_trips(s in arb_set()) {
            let text = s.to_string();
            prop_assert_eq!(text.parse::<CpuSet>().unwrap(), s.clone());
            prop_assert_eq!(CpuSet::parse_kernel_list(&format!("{text}\n")).unwrap(), Some(s));
        }

        #[test]
        fn from_cpus_matches_sorted_ids(ids in prop::collection::vec(0u32..200, 1..60)) {
            let s = CpuSet::from_cpus(ids.clone()).unwrap();
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(s.iter().collect::<Vec<_>>(), sorted.clone());
            prop_assert_eq!(s.len(), sorted.len());
            prop_assert_eq!(s.max(), *sorted.last().unwrap());
            for c in 0..210 {
                prop_assert_eq!(s.contains(c), sorted.contains(&c));
            }
        }

        #[test]
        fn subset_and_difference_agree(a in arb_set(), b in arb_set()) {
            let diff = a.difference(&b);
            prop_assert_eq!(a.is_subset(&b), diff.is_empty());
            let expected: Vec<u32> = a.iter().filter(|c| !b.contains(*c)).collect();
            prop_assert_eq!(diff, expected);
        }

        #[test]
        fn parsing_arbitrary_strings_never_panics(s in any::<String>()) {
            let _ = s.parse::<CpuSet>();
            let _ = CpuSet::parse_kernel_list(&s);
        }

        #[test]
        fn parsing_list_like_strings_never_panics(s in "[0-9,-]{0,30}") {
            if let Ok(set) = s.parse::<CpuSet>() {
                prop_assert_eq!(set.to_string().parse::<CpuSet>().unwrap(), set);
            }
        }
    }
}
