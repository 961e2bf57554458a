//! User namespaces: which host ids the sandbox's ids are.
//!
//! For a root caller the default gives each running sandbox its own range of host
//! ids (65536 by default), never shared with another running sandbox, taken from
//! an allocator that works across processes (a lease under
//! `/run/containment/ids`): root inside is an unprivileged, unique id outside. An
//! ordinary user gets its own uid and gid mapped to root inside, which is all the
//! kernel allows it.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result, ValueKind};
use crate::lease::{Lease, RUN_DIR};

/// One range of an id map: `count` ids from `inside` are `outside` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdMap {
    /// First id inside the sandbox.
    pub inside: u32,
    /// First id on the host.
    pub outside: u32,
    /// How many ids.
    pub count: u32,
}

const EXPECTED_MAP: &str = "INSIDE:OUTSIDE:COUNT with a count of at least 1, such as 0:100000:65536";

impl IdMap {
    /// A map of `count` ids from `inside` to `outside`.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when `count` is 0 or a range passes `u32::MAX`.
    pub fn new(inside: u32, outside: u32, count: u32) -> Result<IdMap> {
        let m = IdMap { inside, outside, count };
        let overflow = inside.checked_add(count).is_none() || outside.checked_add(count).is_none();
        if count == 0 || overflow {
            let reason = if count == 0 { "the count is 0" } else { "the range passes the largest id" };
            return Err(Error::invalid(ValueKind::Id, m.to_string(), reason, EXPECTED_MAP));
        }
        Ok(m)
    }

    fn inside_range(&self) -> std::ops::Range<u64> {
        u64::from(self.inside)..u64::from(self.inside) + u64::from(self.count)
    }

    fn outside_range(&self) -> std::ops::Range<u64> {
        u64::from(self.outside)..u64::from(self.outside) + u64::from(self.count)
    }

    /// Whether `id` (inside) is mapped.
    pub fn maps_inside(&self, id: u32) -> bool {
        self.inside_range().contains(&u64::from(id))
    }
}

impl fmt::Display for IdMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.inside, self.outside, self.count)
    }
}

impl FromStr for IdMap {
    type Err = Error;

    fn from_str(s: &str) -> Result<IdMap> {
        let parts: Vec<&str> = s.split(':').collect();
        let [a, b, c] = parts.as_slice() else {
            return Err(Error::invalid(ValueKind::Id, s, "not three numbers separated by ':'", EXPECTED_MAP));
        };
        let num = |t: &str| -> Result<u32> {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::invalid(ValueKind::Id, s, format!("{t:?} is not a number"), EXPECTED_MAP));
            }
            t.parse().map_err(|_| Error::invalid(ValueKind::Id, s, format!("{t} is too large"), EXPECTED_MAP))
        };
        IdMap::new(num(a)?, num(b)?, num(c)?)
    }
}

/// The user namespace of a sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UserNamespace {
    /// Root caller: [`UserNamespace::Range`] of 65536 ids. Other callers:
    /// [`UserNamespace::Own`]. The default.
    #[default]
    Auto,
    /// No user namespace: root inside is root outside (root callers only; the
    /// behaviour before user namespaces became the default).
    Off,
    /// The caller's own uid and gid are root inside, and nothing else is mapped.
    Own,
    /// An exclusive range of `size` host ids (1 to 65536) for as long as the
    /// sandbox runs, ids `0..size` inside (root callers only).
    Range {
        /// How many ids.
        size: u32,
    },
    /// Explicit maps (a caller that is not root may only map its own ids).
    Maps {
        /// The uid map.
        uid: Vec<IdMap>,
        /// The gid map.
        gid: Vec<IdMap>,
    },
}

/// The size of a range of host ids per sandbox, by default.
pub const DEFAULT_RANGE_SIZE: u32 = 65536;

/// Where the allocator's ranges start on the host: far above the ids of users and
/// of the usual subordinate ranges (`/etc/subuid` starts at 100000).
pub const RANGE_BASE: u32 = 1 << 30;

/// Ranges the allocator hands out, each [`DEFAULT_RANGE_SIZE`] ids wide.
const RANGE_SLOTS: u32 = (u32::MAX - RANGE_BASE) / DEFAULT_RANGE_SIZE;

/// A user namespace resolved for one spawn.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
    /// Write `deny` to `setgroups` first (required to map gids without privilege).
    pub deny_setgroups: bool,
    /// The range held while the sandbox runs.
    pub lease: Option<Lease>,
}

impl Resolved {
    /// The text written to `/proc/<pid>/uid_map` or `gid_map`.
    pub fn map_text(maps: &[IdMap]) -> String {
        maps.iter().map(|m| format!("{} {} {}\n", m.inside, m.outside, m.count)).collect()
    }

    /// The host uid that uid `inside` is, if it is mapped.
    pub fn uid_outside(&self, inside: u32) -> Option<u32> {
        let m = self.uid.iter().find(|m| m.maps_inside(inside))?;
        m.outside.checked_add(inside - m.inside)
    }

    /// The host id that id 0 inside is (the caller's own id when 0 is unmapped).
    pub fn root_outside(&self, maps: &[IdMap]) -> u32 {
        maps.iter().find(|m| m.inside == 0).map_or_else(|| nix::unistd::geteuid().as_raw(), |m| m.outside)
    }

    /// Whether gid `g` inside is mapped.
    pub fn maps_gid(&self, g: u32) -> bool {
        self.gid.iter().any(|m| m.maps_inside(g))
    }

    /// Whether uid `u` inside is mapped.
    pub fn maps_uid(&self, u: u32) -> bool {
        self.uid.iter().any(|m| m.maps_inside(u))
    }
}

fn needs_root(feature: &'static str, how: &str) -> Error {
    Error::NeedsPrivilege { feature, how: how.to_string() }
}

/// Decides the maps for `ns`, taking a range from the allocator when one is
/// needed. `None`: no user namespace.
///
/// # Errors
/// [`Error::NeedsPrivilege`] for what only root may do; [`Error::InvalidValue`]
/// for bad maps; [`Error::Unsupported`] when the allocator has no free range.
pub(crate) fn resolve(ns: &UserNamespace) -> Result<Option<Resolved>> {
    let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    let root = uid == 0;
    match ns {
        UserNamespace::Off if root => Ok(None),
        UserNamespace::Off => Err(needs_root("a sandbox without a user namespace", "run as root, or keep the default")),
        UserNamespace::Auto if root => resolve(&UserNamespace::Range { size: DEFAULT_RANGE_SIZE }),
        UserNamespace::Auto | UserNamespace::Own => Ok(Some(Resolved {
            uid: vec![IdMap { inside: 0, outside: uid, count: 1 }],
            gid: vec![IdMap { inside: 0, outside: gid, count: 1 }],
            deny_setgroups: !root,
            lease: None,
        })),
        UserNamespace::Range { .. } if !root => Err(needs_root("an exclusive range of host ids", "run as root")),
        UserNamespace::Range { size } => {
            if !(1..=DEFAULT_RANGE_SIZE).contains(size) {
                return Err(Error::invalid(
                    ValueKind::Id,
                    size.to_string(),
                    "a range size must be from 1 to 65536",
                    "a number of ids from 1 to 65536",
                ));
            }
            let (outside, lease) = allocate(Path::new(RUN_DIR))?;
            let map = vec![IdMap { inside: 0, outside, count: *size }];
            Ok(Some(Resolved { uid: map.clone(), gid: map, deny_setgroups: false, lease: Some(lease) }))
        }
        UserNamespace::Maps { uid: um, gid: gm } => {
            validate_maps(um)?;
            validate_maps(gm)?;
            if !root {
                let own = |maps: &[IdMap], id: u32| maps.len() == 1 && maps[0].count == 1 && maps[0].outside == id;
                if !own(um, uid) || !own(gm, gid) {
                    return Err(needs_root(
                        "mapping ids the caller does not own",
                        &format!("map only your own uid {uid} and gid {gid} (count 1), or run as root"),
                    ));
                }
            }
            Ok(Some(Resolved { uid: um.clone(), gid: gm.clone(), deny_setgroups: !root, lease: None }))
        }
    }
}

/// Checks a map: not empty, at most 340 ranges (the kernel's limit), and no two
/// ranges overlapping inside or outside.
fn validate_maps(maps: &[IdMap]) -> Result<()> {
    let text = maps.iter().map(IdMap::to_string).collect::<Vec<_>>().join(",");
    if maps.is_empty() || maps.len() > 340 {
        return Err(Error::invalid(ValueKind::Id, text, "a map needs 1 to 340 ranges", EXPECTED_MAP));
    }
    for (i, a) in maps.iter().enumerate() {
        IdMap::new(a.inside, a.outside, a.count)?;
        for b in &maps[i + 1..] {
            let overlap = |x: std::ops::Range<u64>, y: std::ops::Range<u64>| x.start < y.end && y.start < x.end;
            if overlap(a.inside_range(), b.inside_range()) || overlap(a.outside_range(), b.outside_range()) {
                return Err(Error::invalid(ValueKind::Id, text, format!("ranges {a} and {b} overlap"), EXPECTED_MAP));
            }
        }
    }
    Ok(())
}

/// Takes a free range: slot `i` is host ids `RANGE_BASE + i * 65536` onwards, held
/// by the lease `<run>/ids/<i>`. The search starts at a different slot for each
/// process and call, so concurrent supervisors rarely probe the same ones.
fn allocate(run: &Path) -> Result<(u32, Lease)> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919).wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % RANGE_SLOTS;
    for k in 0..RANGE_SLOTS {
        let slot = (start + k) % RANGE_SLOTS;
        if let Some(lease) = Lease::try_take(&run.join("ids").join(slot.to_string()))? {
            return Ok((RANGE_BASE + slot * DEFAULT_RANGE_SIZE, lease));
        }
    }
    Err(Error::Unsupported { feature: "exclusive id ranges", reason: "every range of host ids is in use".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_inside_is_found_outside_through_its_map() {
        let maps =
            vec![IdMap { inside: 0, outside: 1 << 30, count: 1000 }, IdMap { inside: 1000, outside: 0, count: 1 }];
        let r = Resolved { uid: maps.clone(), gid: maps, deny_setgroups: false, lease: None };
        assert_eq!(r.uid_outside(0), Some(1 << 30));
        assert_eq!(r.uid_outside(999), Some((1 << 30) + 999));
        assert_eq!(r.uid_outside(1000), Some(0), "the host's root, mapped");
        assert_eq!(r.uid_outside(1001), None, "unmapped");
    }

    #[test]
    fn maps_parse_and_print() {
        let m: IdMap = "0:100000:65536".parse().unwrap();
        assert_eq!(m, IdMap { inside: 0, outside: 100000, count: 65536 });
        assert_eq!(m.to_string(), "0:100000:65536");
        for bad in ["", "0:1", "0:1:0", "a:1:1", "0:1:1:1", "-1:0:1", "4294967295:0:2", "0:4294967295:2", " 0:1:1"] {
            assert!(matches!(bad.parse::<IdMap>(), Err(Error::InvalidValue { kind: ValueKind::Id, .. })), "{bad}");
        }
    }

    #[test]
    fn overlapping_and_empty_maps_are_refused() {
        let m = |s: &str| s.parse::<IdMap>().unwrap();
        validate_maps(&[m("0:1000:10"), m("10:2000:10")]).unwrap();
        for bad in [vec![], vec![m("0:1000:10"), m("5:2000:10")], vec![m("0:1000:10"), m("20:1005:10")]] {
            assert!(matches!(validate_maps(&bad), Err(Error::InvalidValue { .. })), "{bad:?}");
        }
    }

    #[test]
    fn ranges_are_exclusive_and_released() {
        let run = std::env::temp_dir().join(format!("ctm-ids-{}", std::process::id()));
        let (a, la) = allocate(&run).unwrap();
        let (b, lb) = allocate(&run).unwrap();
        assert_ne!(a, b);
        for x in [a, b] {
            assert!(x >= RANGE_BASE && (x - RANGE_BASE) % DEFAULT_RANGE_SIZE == 0);
            assert!(u64::from(x) + u64::from(DEFAULT_RANGE_SIZE) <= u64::from(u32::MAX));
        }
        drop((la, lb));
        std::fs::remove_dir_all(&run).unwrap();
    }

    #[test]
    fn map_text_is_one_line_per_range() {
        let m = [IdMap { inside: 0, outside: 5, count: 1 }, IdMap { inside: 1, outside: 100, count: 9 }];
        assert_eq!(Resolved::map_text(&m), "0 5 1\n1 100 9\n");
    }
}
