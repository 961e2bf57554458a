//! Exit transparency: the program's exit code or fatal signal comes back exactly.

mod common;

use common::{require_root, run_null_stdin, sh, HostMounts};
use containment::{ExitStatus, Sandbox};

#[test]
fn exit_codes_come_back_exactly() {
    require_root!();
    for code in [0, 1, 42, 255] {
        let out = sh(&Sandbox::new(), &format!("exit {code}"));
        assert_eq!(out.status, ExitStatus::Exited(code), "stderr: {}", common::text(&out.stderr));
        assert_eq!(out.status.code(), Some(code));
        assert_eq!(out.status.signal(), None);
        assert_eq!(out.status.success(), code == 0);
    }
}

#[test]
fn exit_code_of_a_program_run_directly() {
    require_root!();
    let mounts = HostMounts::snapshot();
    let out = run_null_stdin(&mut Sandbox::new().command("/bin/false"));
    assert_eq!(out.status, ExitStatus::Exited(1));
    let out = run_null_stdin(&mut Sandbox::new().command("true"));
    assert_eq!(out.status, ExitStatus::Exited(0));
    mounts.assert_unchanged();
}

#[test]
fn death_by_sigkill_is_reported_as_signal_9() {
    require_root!();
    let out = sh(&Sandbox::new(), "kill -KILL $$");
    assert_eq!(out.status, ExitStatus::Signaled(libc::SIGKILL));
    assert_eq!(out.status.code(), None);
    assert_eq!(out.status.signal(), Some(9));
    assert_eq!(out.status.shell_code(), 137);
}

#[test]
fn death_by_sigsegv_is_reported_as_signal_11() {
    require_root!();
    let out = sh(&Sandbox::new(), "kill -SEGV $$");
    assert_eq!(out.status, ExitStatus::Signaled(libc::SIGSEGV));
    assert_eq!(out.status.shell_code(), 139);
}

#[test]
fn death_by_sigterm_and_sigabrt_are_reported() {
    require_root!();
    let out = sh(&Sandbox::new(), "kill -TERM $$");
    assert_eq!(out.status, ExitStatus::Signaled(libc::SIGTERM));
    let out = sh(&Sandbox::new(), "kill -ABRT $$");
    assert_eq!(out.status, ExitStatus::Signaled(libc::SIGABRT));
}

#[test]
fn exit_codes_in_a_busybox_chroot() {
    common::require_busybox!();
    let sb = Sandbox::new().chroot(common::busybox_rootfs());
    for code in [0, 42, 255] {
        let out = sh(&sb, &format!("exit {code}"));
        assert_eq!(out.status, ExitStatus::Exited(code), "stderr: {}", common::text(&out.stderr));
    }
    assert_eq!(sh(&sb, "kill -KILL $$").status, ExitStatus::Signaled(9));
    assert_eq!(sh(&sb, "kill -SEGV $$").status, ExitStatus::Signaled(11));
}
