//! cgroup helpers shared by the tests that make groups (`limits.rs`, `cli.rs`):
//! where the controllers are mounted (v1 or v2), a per-test cgroup parent made and
//! removed by the test, and checks that no group is left behind.
#![allow(dead_code, unused_macros, unused_imports)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use containment::Sandbox;

/// The controllers the sandboxes of these tests use.
pub const CONTROLLERS: [&str; 4] = ["memory", "cpuset", "pids", "cpu"];

/// How this host mounts the cgroup controllers the tests use.
#[derive(Debug, Clone)]
pub enum Layout {
    /// One v1 hierarchy per controller: (controller, mount point).
    V1(Vec<(&'static str, PathBuf)>),
    /// The unified v2 hierarchy.
    V2(PathBuf),
}

impl Layout {
    /// v2 when `/sys/fs/cgroup` is a cgroup2 mount with the controllers enabled at its
    /// root; v1 when each controller has a v1 mount; `None` otherwise (the tests skip).
    pub fn detect() -> Option<Layout> {
        let root = Path::new("/sys/fs/cgroup");
        if let Ok(enabled) = std::fs::read_to_string(root.join("cgroup.subtree_control")) {
            let enabled: Vec<&str> = enabled.split_whitespace().collect();
            return CONTROLLERS.iter().all(|c| enabled.contains(c)).then(|| Layout::V2(root.to_path_buf()));
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        let find = |c: &str| {
            mountinfo.lines().find_map(|line| {
                let (left, right) = line.split_once(" - ")?;
                let mut right = right.split(' ');
                let (fstype, superopts) = (right.next()?, right.nth(1)?);
                let fields: Vec<&str> = left.split(' ').collect();
                (fstype == "cgroup" && fields.get(3) == Some(&"/") && superopts.split(',').any(|o| o == c))
                    .then(|| PathBuf::from(fields[4]))
            })
        };
        let mut mounts = Vec::new();
        for c in CONTROLLERS {
            mounts.push((c, find(c)?));
        }
        // CPU accounting, which the library uses when a parent has it.
        if let Some(m) = find("cpuacct") {
            mounts.push(("cpuacct", m));
        }
        Some(Layout::V1(mounts))
    }

    pub fn is_v2(&self) -> bool {
        matches!(self, Layout::V2(_))
    }

    /// The mount point of the hierarchy holding `controller`.
    pub fn mount(&self, controller: &str) -> &Path {
        match self {
            Layout::V1(mounts) => mounts.iter().find(|(c, _)| *c == controller).map(|(_, m)| m.as_path()).unwrap(),
            Layout::V2(root) => root,
        }
    }

    /// Every hierarchy's mount point, once each.
    pub fn mounts(&self) -> Vec<&Path> {
        let mut v: Vec<&Path> = match self {
            Layout::V1(mounts) => mounts.iter().map(|(_, m)| m.as_path()).collect(),
            Layout::V2(root) => vec![root.as_path()],
        };
        v.sort();
        v.dedup();
        v
    }
}

/// The host's layout; skips the test (or fails it under `CONTAINMENT_MUST_WORK=1`)
/// when it is not root or has neither v1 controllers nor a v2 root with them.
macro_rules! require_cgroups {
    () => {{
        $crate::common::require_root!();
        let layout = $crate::cgroups::Layout::detect();
        $crate::common::require!(
            layout.is_some(),
            "needs the memory, cpuset, pids and cpu controllers, on v1 mounts or enabled at the v2 root"
        );
        layout.unwrap()
    }};
}
pub(crate) use require_cgroups;

/// The groups this process made under the default parent that are still there.
pub fn own_groups_under_default_parent(layout: &Layout) -> Vec<PathBuf> {
    let prefix = format!("{}.", std::process::id());
    let mut out = Vec::new();
    for mount in layout.mounts() {
        let Ok(entries) = std::fs::read_dir(mount.join(containment::DEFAULT_CGROUP_PARENT)) else { continue };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name().to_string_lossy().starts_with(&prefix) {
                out.push(e.path());
            }
        }
    }
    out
}

/// A cgroup parent of one test, at the top of every hierarchy; removed on drop
/// (with whatever a failed test left in it).
pub struct TestParent {
    layout: Layout,
    name: String,
}

impl TestParent {
    pub fn new(layout: &Layout) -> TestParent {
        static N: AtomicU64 = AtomicU64::new(0);
        static STALE: std::sync::Once = std::sync::Once::new();
        STALE.call_once(|| remove_stale_parents(layout));
        let name = format!("containment-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let parent = TestParent { layout: layout.clone(), name };
        for mount in layout.mounts() {
            let dir = mount.join(&parent.name);
            std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        }
        match layout {
            Layout::V1(_) => {
                // A new v1 cpuset group has no CPUs and no memory nodes: fill them.
                let root = layout.mount("cpuset");
                for file in ["cpuset.cpus", "cpuset.mems"] {
                    let value = std::fs::read_to_string(root.join(file)).unwrap();
                    write(&root.join(&parent.name).join(file), value.trim());
                }
            }
            Layout::V2(root) => {
                write(&root.join(&parent.name).join("cgroup.subtree_control"), "+memory +pids +cpu +cpuset");
            }
        }
        parent
    }

    /// The path given to `cgroup_parent`.
    pub fn rel(&self) -> &str {
        &self.name
    }

    /// The sandbox description every test starts from.
    pub fn sandbox(&self) -> Sandbox {
        Sandbox::new().cgroup_parent(&self.name)
    }

    /// This parent in the hierarchy of `controller`.
    pub fn dir(&self, controller: &str) -> PathBuf {
        self.layout.mount(controller).join(&self.name)
    }

    /// The groups in this parent, in every hierarchy.
    pub fn groups(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for mount in self.layout.mounts() {
            let Ok(entries) = std::fs::read_dir(mount.join(&self.name)) else { continue };
            out.extend(entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()));
        }
        out.sort();
        out
    }

    /// The only group in the hierarchy of `controller` (the running sandbox's).
    pub fn only_group(&self, controller: &str) -> PathBuf {
        let dir = self.dir(controller);
        let groups: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
        let groups: Vec<PathBuf> = groups.into_iter().filter(|p| p.is_dir()).collect();
        assert_eq!(groups.len(), 1, "groups in {}: {groups:?}", dir.display());
        groups.into_iter().next().unwrap()
    }

    /// Panics unless no group is left in this parent nor, from this process, under
    /// the default parent.
    pub fn assert_empty(&self) {
        assert_eq!(self.groups(), Vec::<PathBuf>::new(), "groups left under the test parent {}", self.name);
        assert_eq!(own_groups_under_default_parent(&self.layout), Vec::<PathBuf>::new(), "groups left");
    }
}

impl Drop for TestParent {
    fn drop(&mut self) {
        for group in self.groups() {
            remove_group(&group);
        }
        for mount in self.layout.mounts() {
            remove_group(&mount.join(&self.name));
        }
    }
}

/// Removes the test parents (and the groups in them) of test processes that were
/// killed before they could.
pub fn remove_stale_parents(layout: &Layout) {
    for mount in layout.mounts() {
        for dir in subdirs(mount) {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix("containment-test-").and_then(|r| r.split('-').next()) else { continue };
            if pid.parse().is_ok_and(|pid: i32| !Path::new(&format!("/proc/{pid}")).exists()) {
                for group in subdirs(&dir) {
                    remove_group(&group);
                }
                remove_group(&dir);
            }
        }
    }
}

/// Kills what is in the group and removes it, retrying for a while.
pub fn remove_group(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while dir.exists() && Instant::now() < deadline {
        if std::fs::remove_dir(dir).is_ok() {
            return;
        }
        for pid in std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default().split_whitespace() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid.parse().unwrap_or(0)),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn write(path: &Path, value: &str) {
    std::fs::write(path, value).unwrap_or_else(|e| panic!("write {value:?} to {}: {e}", path.display()));
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())).trim().to_string()
}

/// The subdirectories of `dir` (none if it cannot be read).
pub fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()).collect()
}
