//! `CpuSet::from_str` and `CpuSet::parse_kernel_list` on any text: never panic;
//! an accepted set is non-empty, within 0..=MAX_CPU, and its canonical form parses
//! back to it.
#![no_main]

use containment::CpuSet;
use libfuzzer_sys::fuzz_target;

fn check(set: &CpuSet, what: &str) {
    assert!(!set.is_empty(), "{what:?} gave an empty set");
    assert!(set.max() <= CpuSet::MAX_CPU, "{what:?}");
    assert!(set.min() <= set.max(), "{what:?}");
    let printed = set.to_string();
    assert_eq!(printed.parse::<CpuSet>().as_ref().ok(), Some(set), "{what:?} printed as {printed:?}");
    let count: usize = set.ranges().map(|r| (r.end() - r.start() + 1) as usize).sum();
    assert_eq!(count, set.len(), "{what:?}");
    assert!(set.contains(set.min()) && set.contains(set.max()), "{what:?}");
    assert!(set.is_subset(set), "{what:?}");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match text.parse::<CpuSet>() {
            Ok(set) => check(&set, text),
            Err(e) => drop(e.to_string()),
        }
        if let Ok(Some(set)) = CpuSet::parse_kernel_list(text) {
            check(&set, text);
        }
    }
    // Sets built from ids (17 bits each, so some are above MAX_CPU).
    let ids: Vec<u32> = data.chunks_exact(3).map(|c| u32::from_le_bytes([c[0], c[1], c[2] & 1, 0])).collect();
    match CpuSet::from_cpus(ids.iter().copied()) {
        Ok(set) => {
            check(&set, "from_cpus");
            assert!(ids.iter().all(|&c| set.contains(c)));
            assert!(set.iter().all(|c| ids.contains(&c)));
        }
        Err(_) => assert!(ids.is_empty() || ids.iter().any(|&c| c > CpuSet::MAX_CPU)),
    }
});
