//! The default cgroup parent (`containment` at the top of each hierarchy) stays
//! while the process that made groups in it lives, so sandboxes run one after
//! another do not make it again each time, and goes when that process exits, so
//! nothing of containment stays in the hierarchies.
//!
//! A test binary of its own: a parallel test of the same process holding a group
//! would keep the parent in use. Needs root; without it the test is skipped,
//! unless `CONTAINMENT_MUST_WORK=1`.

mod common;

use std::io::Write;
use std::path::PathBuf;

use common::require_root;
use containment::{Sandbox, Stdio};

const HELPER_ENV: &str = "CTM_PARENTS_HELPER";
const TEST: &str = "the_default_parent_stays_while_its_process_lives_and_goes_at_its_exit";

/// The default parent in the `pids` hierarchy (v1) or the unified one (v2).
fn pids_parent() -> PathBuf {
    if std::path::Path::new("/sys/fs/cgroup/pids/cgroup.procs").exists() {
        PathBuf::from("/sys/fs/cgroup/pids/containment")
    } else {
        PathBuf::from("/sys/fs/cgroup/containment")
    }
}

/// The subdirectories (groups) of `dir`.
fn groups_in(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().into_owned()).collect()
}

/// The helper: two sandboxes with a pids limit, one after the other; prints
/// whether the parent was there between them, then returns (the harness exits).
fn helper() {
    let sandbox = Sandbox::new().pids(16);
    for i in 0..2 {
        let outcome = sandbox.command("/bin/true").stdin(Stdio::null()).status().expect("helper: spawn");
        assert!(outcome.status.success(), "helper: {outcome:?}");
        if i == 0 {
            println!("pid={} between={}", std::process::id(), pids_parent().is_dir());
            std::io::stdout().flush().unwrap();
        }
    }
}

#[test]
fn the_default_parent_stays_while_its_process_lives_and_goes_at_its_exit() {
    if std::env::var_os(HELPER_ENV).is_some() {
        return helper();
    }
    require_root!();
    let parent = pids_parent();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads", "1"])
        .env(HELPER_ENV, "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the helper");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "helper failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("between=true"), "the parent went between two sandboxes of one process: {stdout}");
    let others = groups_in(&parent);
    if others.is_empty() {
        assert!(!parent.exists(), "{} is left after the helper exited", parent.display());
    } else {
        // Another process's sandboxes use it now: it must stay, holding none of the helper's.
        println!("{} is in use by other processes: {others:?}", parent.display());
        let pid = stdout.split_whitespace().find_map(|w| w.strip_prefix("pid=")).expect("the helper's pid");
        let helper_prefix = format!("{pid}.");
        assert!(others.iter().all(|g| !g.starts_with(&helper_prefix)), "{others:?}");
    }
}
