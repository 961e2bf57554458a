//! Where each controller lives on this host: cgroup v1, v2, or a hybrid of both.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{Controller, Version};

/// Where one controller is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub version: Version,
    /// The mount point of its hierarchy.
    pub mount: PathBuf,
}

/// The location of every controller containment uses, `None` where the host has
/// not mounted it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Hierarchies {
    pub memory: Option<Location>,
    pub cpuset: Option<Location>,
    pub cpu: Option<Location>,
    pub pids: Option<Location>,
    pub cpuacct: Option<Location>,
}

impl Hierarchies {
    pub fn get(&self, c: Controller) -> Option<&Location> {
        match c {
            Controller::Memory => self.memory.as_ref(),
            Controller::Cpuset => self.cpuset.as_ref(),
            Controller::Cpu => self.cpu.as_ref(),
            Controller::Pids => self.pids.as_ref(),
            Controller::Cpuacct => self.cpuacct.as_ref(),
        }
    }

    fn slot(&mut self, c: Controller) -> &mut Option<Location> {
        match c {
            Controller::Memory => &mut self.memory,
            Controller::Cpuset => &mut self.cpuset,
            Controller::Cpu => &mut self.cpu,
            Controller::Pids => &mut self.pids,
            Controller::Cpuacct => &mut self.cpuacct,
        }
    }
}

/// The host's hierarchies, read once per process from `/proc/self/mountinfo`.
pub(crate) fn hierarchies() -> &'static Hierarchies {
    static H: OnceLock<Hierarchies> = OnceLock::new();
    H.get_or_init(|| {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        parse(&mountinfo, |mount| std::fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default())
    })
}

/// Parses mountinfo; `v2_controllers` reads a cgroup2 mount's `cgroup.controllers`.
/// A controller is found on v1 when a `cgroup` mount lists it in its super options,
/// on v2 when a `cgroup2` mount's root lists it; the first mount of each wins.
pub(crate) fn parse(mountinfo: &str, v2_controllers: impl Fn(&Path) -> String) -> Hierarchies {
    let mut h = Hierarchies::default();
    for line in mountinfo.lines() {
        // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS"
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let fields: Vec<&str> = left.split(' ').collect();
        let (Some(root), Some(mount)) = (fields.get(3), fields.get(4)) else { continue };
        if *root != "/" {
            continue; // a bind of a subtree, not a hierarchy's own mount
        }
        if !mount.starts_with('/') {
            continue; // not mountinfo's (found by fuzzing: an empty field)
        }
        let mount = PathBuf::from(unescape(mount));
        let mut right = right.split(' ');
        let fstype = right.next().unwrap_or("");
        let superopts = right.nth(1).unwrap_or("");
        let (version, names) = match fstype {
            "cgroup" => (Version::V1, superopts.split(',').map(str::to_string).collect::<Vec<_>>()),
            "cgroup2" => (Version::V2, v2_controllers(&mount).split_whitespace().map(str::to_string).collect()),
            _ => continue,
        };
        for c in Controller::ALL {
            if names.iter().any(|n| n == c.name()) && h.get(c).is_none() {
                *h.slot(c) = Some(Location { version, mount: mount.clone() });
            }
        }
    }
    h
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        let value = octal.map(|d| d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0')));
        if let Some(v @ 0..=255) = value {
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_host_has_everything_on_v1() {
        let h = parse(HYBRID, |_| "hugetlb\n".into());
        let v1 = |m: &str| Some(Location { version: Version::V1, mount: PathBuf::from(m) });
        assert_eq!(h.memory, v1("/sys/fs/cgroup/memory"));
        assert_eq!(h.cpuset, v1("/sys/fs/cgroup/cpuset"));
        assert_eq!(h.cpu, v1("/sys/fs/cgroup/cpu"));
        assert_eq!(h.pids, v1("/sys/fs/cgroup/pids"));
        assert_eq!(h.cpuacct, v1("/sys/fs/cgroup/cpuacct"));
    }

    #[test]
    fn pure_v2_host_has_everything_on_v2() {
        let mi = "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let h = parse(mi, |p| {
            assert_eq!(p, Path::new("/sys/fs/cgroup"));
            "cpuset cpu io memory hugetlb pids rdma misc\n".into()
        });
        for c in [Controller::Memory, Controller::Cpuset, Controller::Cpu, Controller::Pids] {
            assert_eq!(h.get(c), Some(&Location { version: Version::V2, mount: "/sys/fs/cgroup".into() }));
        }
        assert_eq!(h.cpuacct, None, "v2 has no cpuacct controller");
    }

    #[test]
    fn joint_v1_mounts_and_missing_controllers() {
        let mi = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
                  33 31 0:29 /sub /mnt/bind rw - cgroup cgroup rw,memory\n";
        let h = parse(mi, |_| String::new());
        assert_eq!(h.cpu.unwrap().mount, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(h.memory, None, "a bind of a subtree is not the hierarchy");
        assert_eq!(h.pids, None);
    }

    #[test]
    fn octal_escapes_are_undone() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/a\04"), r"/a\04");
    }
}
