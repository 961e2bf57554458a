//! A sandbox's group before it exists: checked against the host and named, so that
//! every error a user can cause is found before anything is made, and so that the
//! files its processes will write to are known before the group is made (on v1 the
//! spawn makes it while the init builds the root, see `spawn::start`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;

use super::{
    apply, check_parent, collect_stale_once, cpuset, detect, group_name, mkdir, own_start_time, prepare_parent, write,
    Controller, Group, Limits, Parent, Placement, Version,
};
use crate::error::{Error, Result, ValueKind};

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A group checked and named, not made yet.
#[derive(Debug, Clone)]
pub(crate) struct Blueprint {
    limits: Limits,
    parent: Parent,
    name: String,
    /// (version, mount point of the hierarchy, controllers in it), in creation order.
    by_mount: Vec<(Version, PathBuf, Vec<Controller>)>,
}

/// A v1 group's `tasks`, which a process of the sandbox writes `0` to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TasksFile {
    /// The mount point of its hierarchy.
    pub mount: PathBuf,
    /// The file, relative to `mount`.
    pub rel: PathBuf,
    /// Whether the program enters it (else the init does; see [`Placement`]).
    pub program: bool,
}

impl Blueprint {
    /// Checks `limits` against the host and names the group; makes nothing.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when a controller is not mounted or not delegated;
    /// [`Error::CgroupParent`] when the parent is missing or not writable;
    /// [`Error::InvalidValue`] for CPUs outside the parent's set.
    pub fn check(limits: &Limits, parent: &Parent, named: Option<&str>) -> Result<Blueprint> {
        let h = detect::hierarchies();
        let mut by_mount: Vec<(Version, PathBuf, Vec<Controller>)> = Vec::new();
        for c in limits.controllers() {
            if c == Controller::Cpuacct {
                // Accounting is a bonus: skipped on v2 (cpu.stat is in every group), when
                // not mounted, or when a given parent has no cpuacct directory (rusage then).
                match h.get(c) {
                    Some(loc) if parent.create || loc.mount.join(&parent.rel).is_dir() => {}
                    _ => continue,
                }
            }
            let loc = h.get(c).ok_or_else(|| Error::Unsupported {
                feature: "cgroup limits",
                reason: format!("the {} controller is not mounted on this host", c.name()),
            })?;
            match by_mount.iter_mut().find(|(_, m, _)| *m == loc.mount) {
                Some((_, _, cs)) => cs.push(c),
                None => by_mount.push((loc.version, loc.mount.clone(), vec![c])),
            }
        }

        for (version, mount, controllers) in &by_mount {
            let dir = mount.join(&parent.rel);
            check_parent(&dir, parent, *version)?;
            if dir.is_dir() {
                // Here, before the sandbox starts (removing a stale group may wait
                // for its processes to exit), the first time this process uses it.
                collect_stale_once(&dir, true);
            }
            if let (true, Some(cpus)) = (controllers.contains(&Controller::Cpuset), &limits.cpus) {
                let existing = if dir.exists() { dir.clone() } else { mount.clone() };
                if let Some(allowed) = cpuset::allowed(&existing, *version) {
                    let outside = cpus.difference(&allowed);
                    if !outside.is_empty() {
                        let list = outside.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                        return Err(Error::invalid(
                            ValueKind::CpuSet,
                            cpus.to_string(),
                            format!("CPUs {list} are not in the allowed set {allowed}"),
                            "CPUs within the parent group's set",
                        ));
                    }
                }
            }
        }

        // A named sandbox's group is not its supervisor's: `gc` leaves it alone.
        let name = match named {
            Some(n) => format!("named-{n}"),
            None => group_name(std::process::id(), own_start_time(), SEQ.fetch_add(1, Ordering::Relaxed)),
        };
        Ok(Blueprint { limits: limits.clone(), parent: parent.clone(), name, by_mount })
    }

    /// Whether every hierarchy of the group is v1: its processes then enter it by
    /// writing to files whose paths are known now ([`Blueprint::tasks_files`]), so
    /// it may be made after the sandbox's processes started. (On v2 the init is
    /// started in its group, which must exist before.)
    pub fn v1_only(&self) -> bool {
        self.by_mount.iter().all(|(v, _, _)| *v == Version::V1)
    }

    /// The v1 `tasks` files the sandbox's processes will enter, as [`Blueprint::make`]
    /// places them.
    pub fn tasks_files(&self) -> Vec<TasksFile> {
        let v1 = self.by_mount.iter().filter(|(v, _, _)| *v == Version::V1);
        v1.map(|(_, mount, controllers)| TasksFile {
            mount: mount.clone(),
            rel: self.parent.rel.join(&self.name).join("tasks"),
            program: controllers.iter().any(|c| c.program_only()),
        })
        .collect()
    }

    /// Makes the group (and the default parent where missing) and writes its
    /// limits. Nothing is left behind on error.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when a controller cannot be enabled in the parent;
    /// [`Error::Os`] when creating or writing fails.
    pub fn make(self) -> Result<Group> {
        let Blueprint { limits, parent, name, by_mount } = self;
        let limits = &limits;
        let mut group = Group { dirs: Vec::new(), placement: Placement::default(), v2_fd: None, prune: Vec::new() };
        for (version, mount, controllers) in by_mount {
            let parent_dir = mount.join(&parent.rel);
            prepare_parent(&parent_dir, &parent, version, &controllers)?;
            // Looked at in `check` if it existed; one made since holds nothing stale.
            collect_stale_once(&parent_dir, false);
            let dir = parent_dir.join(&name);
            // Another supervisor may remove the default parent when it empties it
            // between our making it and our group: make it again then.
            let mut attempts = 0;
            loop {
                match mkdir(&dir) {
                    Ok(()) => break,
                    Err(Error::Os { errno: Errno::ENOENT, .. }) if parent.create && attempts < 8 => {
                        attempts += 1;
                        prepare_parent(&parent_dir, &parent, version, &controllers)?;
                    }
                    Err(e) => return Err(e),
                }
            }
            if parent.create && !group.prune.contains(&parent_dir) {
                group.prune.push(parent_dir.clone());
            }
            group.dirs.push((version, dir.clone(), controllers.clone()));
            let memory = controllers.contains(&Controller::Memory);
            match version {
                Version::V1 => {
                    for c in &controllers {
                        apply(&dir, version, *c, limits)?;
                    }
                    let procs = dir.join("tasks");
                    match (memory, controllers.iter().any(|c| c.program_only())) {
                        (true, _) => group.placement.program = Some(procs),
                        (false, true) => group.placement.program_enter.push(procs),
                        (false, false) => group.placement.enter.push(procs),
                    }
                }
                Version::V2 if controllers.iter().any(|c| c.program_only()) => {
                    let (own, shared): (Vec<Controller>, Vec<Controller>) =
                        controllers.iter().partition(|c| c.program_only());
                    for c in &shared {
                        apply(&dir, version, *c, limits)?;
                    }
                    let enable: Vec<String> = own.iter().map(|c| format!("+{}", c.name())).collect();
                    write(&dir, "cgroup.subtree_control", &enable.join(" "))?;
                    let (init, program) = (dir.join("init"), dir.join("program"));
                    for d in [&init, &program] {
                        mkdir(d)?;
                        group.dirs.push((version, d.clone(), Vec::new()));
                    }
                    for c in &own {
                        apply(&program, version, *c, limits)?;
                    }
                    group.dirs.last_mut().expect("just pushed").2.extend(own);
                    group.placement.start_in = Some(init);
                    group.placement.program = Some(program.join("cgroup.procs"));
                }
                Version::V2 => {
                    for c in &controllers {
                        apply(&dir, version, *c, limits)?;
                    }
                    group.placement.start_in = Some(dir);
                }
            }
        }
        if let Some(dir) = &group.placement.start_in {
            let flags = nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
            let fd = nix::fcntl::open(dir, flags, nix::sys::stat::Mode::empty())
                .map_err(|e| Error::os_path("open", dir, e))?;
            group.v2_fd = Some(fd);
        }
        Ok(group)
    }
}
