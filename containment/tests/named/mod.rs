//! Helpers for the tests of named, long-lived sandboxes (`running.rs`, `cli.rs`):
//! unique names, a guard that stops a sandbox whatever happens to the test, and
//! checks that a stopped sandbox left nothing behind (its cgroups, its state under
//! `/run/containment`, its processes).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use containment::Running;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

/// A sandbox name unique to this test process and call: `ctmtest-<tag>-<pid>-<n>`.
pub fn unique_name(tag: &str) -> String {
    crate::common::unique_name(tag)
}

/// Where the library keeps a named sandbox's state.
pub fn state_dir(name: &str) -> PathBuf {
    Path::new("/run/containment").join(name)
}

/// The cgroup directories of the sandbox `name` that exist now: `named-<name>`
/// under the default parent of every hierarchy (v1) or of the unified one (v2).
pub fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    let group = format!("named-{name}");
    let root = Path::new("/sys/fs/cgroup");
    let mut candidates = vec![root.join(containment::DEFAULT_CGROUP_PARENT).join(&group)];
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            candidates.push(e.path().join(containment::DEFAULT_CGROUP_PARENT).join(&group));
        }
    }
    candidates.into_iter().filter(|d| d.is_dir()).collect()
}

/// The PID namespace of `pid`, as `pid:[inode]`.
pub fn pid_ns(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
}

/// Host pids of every process (zombies too) in the PID namespace `ns`.
pub fn processes_in(ns: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| pid_ns(*pid).as_deref() == Some(ns))
        .collect()
}

/// The parent of `pid`, from `/proc/<pid>/stat`.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()
}

/// Reaps `pid` if it is a child of this process (the init of a sandbox this
/// process started and detached has no one else to reap it), killing it first.
pub fn reap(pid: u32) {
    if parent_of(pid) != Some(std::process::id()) {
        return;
    }
    let pid = Pid::from_raw(pid as i32);
    let _ = kill(pid, Signal::SIGKILL);
    // The init's exit signal is 0: only __WALL waits for it.
    let _ = waitpid(pid, Some(WaitPidFlag::__WALL));
}

/// Stops the sandbox `name` when dropped (at the end of the test, or when an
/// assertion failed), and reaps its init when it is this process's child.
pub struct Cleanup {
    name: String,
    init: Option<u32>,
}

impl Cleanup {
    pub fn new(name: &str) -> Cleanup {
        Cleanup { name: name.to_string(), init: None }
    }

    /// Also reap `init` (a sandbox started in this process and detached).
    pub fn with_init(name: &str, init: u32) -> Cleanup {
        Cleanup { name: name.to_string(), init: Some(init) }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Ok(running) = Running::open(&self.name) {
            let _ = running.kill();
        }
        if let Some(pid) = self.init {
            reap(pid);
        }
        // A start that failed leaves the name's directory, empty.
        let _ = std::fs::remove_dir(state_dir(&self.name));
    }
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn eventually(timeout: Duration, cond: impl FnMut() -> bool) -> bool {
    crate::common::wait_until(timeout, cond)
}

/// Asserts that the sandbox `name`, whose init was `init` in the PID namespace
/// `ns`, left nothing: no cgroup directory, no state, no process.
pub fn assert_nothing_left(name: &str, init: u32, ns: &Path) {
    assert_eq!(cgroup_dirs(name), Vec::<PathBuf>::new(), "cgroups of {name} left");
    assert!(!state_dir(name).exists(), "{} left", state_dir(name).display());
    // A process killed with its sandbox may still be a zombie for a moment, until
    // its parent (outside the sandbox) reaps it.
    let gone =
        eventually(Duration::from_secs(5), || !crate::common::pid_exists(init as i32) && processes_in(ns).is_empty());
    assert!(
        gone,
        "processes of {name} left: init {init} exists: {}, in its namespace: {:?}",
        crate::common::pid_exists(init as i32),
        processes_in(ns)
    );
}
