//! Spawning from many threads at once, and from threads that end.
//!
//! The tests here hold `common::serial()`: they count the test process's
//! descriptors and children.

mod common;

use std::io::Write;
use std::sync::{Arc, Barrier};

use common::{assert_pid_gone, read_line_from, require_root, text, HostMounts};
use containment::{ExitStatus, Sandbox, Stdio};

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("read /proc/self/fd").count()
}

#[test]
fn many_threads_spawn_at_once_and_get_their_exit_codes() {
    require_root!();
    let _serial = common::serial();
    const THREADS: usize = 16;
    const EACH: usize = 10;
    let chroot = std::path::Path::new(common::BUSYBOX).is_file().then(common::busybox_rootfs);
    let mounts = HostMounts::snapshot();
    let fds = fd_count();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                // Half the threads use a busybox chroot, half the default root.
                let sb = match chroot {
                    Some(root) if t % 2 == 1 => Sandbox::new().chroot(root),
                    _ => Sandbox::new(),
                };
                barrier.wait();
                // Start all of this thread's sandboxes, then wait for them.
                let children: Vec<_> = (0..EACH)
                    .map(|i| {
                        let index = t * EACH + i;
                        let code = index % 256;
                        let child = sb
                            .command("/bin/sh")
                            .args(["-c", &format!("exit {code}")])
                            .stdin(Stdio::null())
                            .spawn()
                            .unwrap_or_else(|e| panic!("spawn {index}: {e}"));
                        (code, child)
                    })
                    .collect();
                for (code, mut child) in children {
                    let outcome = child.wait().expect("wait");
                    assert_eq!(outcome.status, ExitStatus::Exited(code as i32));
                    assert_pid_gone(child.pid());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a spawning thread failed");
    }
    assert_eq!(fd_count(), fds, "descriptors of the supervisor leaked");
    assert!(common::children_of_self().is_empty(), "children left: {:?}", common::children_of_self());
    mounts.assert_unchanged();
}

#[test]
fn a_sandbox_outlives_the_thread_that_spawned_it() {
    require_root!();
    let _serial = common::serial();
    let mounts = HostMounts::snapshot();
    let spawner = std::thread::spawn(|| {
        Sandbox::new()
            .command("/bin/cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    });
    let mut child = spawner.join().expect("the spawning thread");
    let pid = child.pid();
    // The spawning thread has ended; the sandbox answers, several times.
    for i in 0..20 {
        writeln!(child.stdin.as_mut().expect("stdin"), "ping {i}").expect("write");
        assert_eq!(read_line_from(&mut child), format!("ping {i}"));
    }
    assert_eq!(child.try_wait().expect("try_wait"), None, "the sandbox ended with its spawning thread");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status, ExitStatus::Exited(0), "stderr: {}", text(&out.stderr));
    assert_pid_gone(pid);
    mounts.assert_unchanged();
}

#[test]
fn a_child_can_be_waited_for_from_another_thread() {
    require_root!();
    let _serial = common::serial();
    let mut child = Sandbox::new().command("/bin/sh").args(["-c", "exit 9"]).stdin(Stdio::null()).spawn().unwrap();
    let pid = child.pid();
    let outcome = std::thread::spawn(move || child.wait().expect("wait")).join().expect("waiting thread");
    assert_eq!(outcome.status, ExitStatus::Exited(9));
    assert_pid_gone(pid);
}
