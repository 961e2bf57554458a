//! The supervisor stays as dumpable as it was: its sandboxes' processes, which run
//! in its memory until they execute other programs, change their ids there, and
//! the kernel resets the memory's dumpable flag on each such change (see
//! `spawn::dumpable`). One test per binary: the flag belongs to the whole process.

mod common;

use std::sync::Arc;

use common::require_root;
use containment::{ExitStatus, Sandbox, Stdio};

fn dumpable() -> i32 {
    // SAFETY: PR_GET_DUMPABLE takes no pointer.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }
}

fn set_dumpable(on: bool) {
    // SAFETY: PR_SET_DUMPABLE takes an integer.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) }, 0);
}

fn run(sandbox: &Sandbox) {
    let out = sandbox.command("/bin/true").stdout(Stdio::null()).output().expect("spawn");
    assert_eq!(out.status, ExitStatus::Exited(0));
}

#[test]
fn the_supervisor_keeps_its_dumpable_flag() {
    require_root!();
    set_dumpable(true);
    // The init becomes the user namespace's root; the program then takes other ids.
    let sandboxes = Arc::new([Sandbox::new(), Sandbox::new().user(1000, 1000)]);
    for sandbox in sandboxes.iter() {
        run(sandbox);
        assert_eq!(dumpable(), 1, "a spawn made the supervisor undumpable");
    }
    // Many at once, from several threads: the last one done leaves it as it was.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let sandboxes = Arc::clone(&sandboxes);
            std::thread::spawn(move || {
                for _ in 0..25 {
                    run(&sandboxes[t % 2]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a spawning thread");
    }
    assert_eq!(dumpable(), 1, "concurrent spawns left the supervisor undumpable");
    // A supervisor that made itself undumpable stays so.
    set_dumpable(false);
    for sandbox in sandboxes.iter() {
        run(sandbox);
        assert_eq!(dumpable(), 0, "a spawn made the supervisor dumpable");
    }
    set_dumpable(true);
}
