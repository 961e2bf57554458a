//! Failures to start: a typed error with the errno, stage and path, and nothing
//! left behind (no mount on the host, no child process of the test process).
//!
//! Every test here holds `common::serial()`, so the test process has no child but
//! the ones the test itself makes.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{children_of_self, require_root, HostMounts, TempDir};
use containment::{Command, Errno, Error, Sandbox, Stage, ValueKind};

/// Spawns `cmd`, expecting an error; checks that the host's mount table and the
/// test process's children are the same before and after (and that there are
/// none).
fn spawn_err(cmd: &mut Command) -> Error {
    let mounts = HostMounts::snapshot();
    let before = children_of_self();
    assert!(before.is_empty(), "the test process already has children: {before:?}");
    let err = match cmd.spawn() {
        Ok(mut child) => {
            let outcome = child.wait();
            panic!("{cmd:?} started; it should have failed (outcome {outcome:?})");
        }
        Err(e) => e,
    };
    let after = children_of_self();
    assert!(after.is_empty(), "a failed spawn left children behind: {after:?} ({err})");
    mounts.assert_unchanged();
    err
}

fn assert_invalid_value(err: &Error, want: ValueKind) {
    match err {
        Error::InvalidValue { kind, .. } => assert_eq!(*kind, want, "{err}"),
        other => panic!("expected InvalidValue of kind {want:?}, got {other:?}"),
    }
    assert_eq!(err.errno(), None);
    assert_eq!(err.stage(), None);
}

#[test]
fn missing_program_is_program_not_found() {
    require_root!();
    let _serial = common::serial();
    for prog in ["/nonexistent/ctmtest-prog", "/usr/bin/ctmtest-no-such-program", "ctmtest-no-such-program"] {
        let err = spawn_err(&mut Sandbox::new().command(prog));
        match &err {
            Error::ProgramNotFound { program } => assert_eq!(program, Path::new(prog)),
            other => panic!("{prog}: expected ProgramNotFound, got {other:?}"),
        }
        assert_eq!(err.errno(), Some(libc::ENOENT));
        assert_eq!(err.stage(), Some(Stage::Exec));
        assert_eq!(err.path(), Some(Path::new(prog)));
    }
}

#[test]
fn non_executable_file_and_directory_are_not_executable_with_eacces() {
    require_root!();
    let _serial = common::serial();
    let dir = TempDir::new("noexec");
    std::fs::write(dir.join("script"), "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(dir.join("script"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let sb = Sandbox::new().bind_ro(dir.path(), "/d");
    for prog in ["/etc/passwd", "/d/script", "/usr", "/d"] {
        let err = spawn_err(&mut sb.command(prog));
        match &err {
            Error::NotExecutable { program, errno } => {
                assert_eq!(program, Path::new(prog));
                assert_eq!(*errno, Errno::EACCES, "{prog}");
            }
            other => panic!("{prog}: expected NotExecutable, got {other:?}"),
        }
        assert_eq!(err.errno(), Some(libc::EACCES));
        assert_eq!(err.stage(), Some(Stage::Exec));
    }
}

#[test]
fn executable_file_of_unknown_format_is_not_executable_with_enoexec() {
    require_root!();
    let _serial = common::serial();
    let dir = TempDir::new("enoexec");
    std::fs::write(dir.join("junk"), b"\x7fELF not really").unwrap();
    std::fs::set_permissions(dir.join("junk"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = spawn_err(&mut Sandbox::new().bind_ro(dir.path(), "/d").command("/d/junk"));
    assert!(matches!(err, Error::NotExecutable { errno: Errno::ENOEXEC, .. }), "{err:?}");
    assert_eq!(err.errno(), Some(libc::ENOEXEC));
}

#[test]
fn bad_hostname() {
    require_root!();
    let _serial = common::serial();
    for name in ["bad host", "", "a/b", &"a".repeat(65)] {
        let err = spawn_err(&mut Sandbox::new().hostname(name).command("/bin/true"));
        assert_invalid_value(&err, ValueKind::Hostname);
    }
}

#[test]
fn bad_program_and_arguments() {
    require_root!();
    let _serial = common::serial();
    let err = spawn_err(&mut Sandbox::new().command(""));
    assert_invalid_value(&err, ValueKind::Argument);
    let err = spawn_err(Sandbox::new().command("/bin/echo").arg("a\0b"));
    assert_invalid_value(&err, ValueKind::Argument);
    let err = spawn_err(&mut Sandbox::new().command("/bin/ec\0ho"));
    assert_invalid_value(&err, ValueKind::Argument);
}

#[test]
fn bad_environment() {
    require_root!();
    let _serial = common::serial();
    let err = spawn_err(Sandbox::new().command("/bin/true").env("A=B", "x"));
    assert_invalid_value(&err, ValueKind::Environment);
    let err = spawn_err(Sandbox::new().command("/bin/true").env("", "x"));
    assert_invalid_value(&err, ValueKind::Environment);
    let err = spawn_err(Sandbox::new().command("/bin/true").env("A", "x\0y"));
    assert_invalid_value(&err, ValueKind::Environment);
}

#[test]
fn relative_bind_source() {
    require_root!();
    let _serial = common::serial();
    let err = spawn_err(&mut Sandbox::new().bind("usr", "/x").command("/bin/true"));
    assert_invalid_value(&err, ValueKind::Path);
}

#[test]
fn missing_bind_source_names_the_path() {
    require_root!();
    let _serial = common::serial();
    let missing = common::unique_tmp_path("missing-src");
    let err = spawn_err(&mut Sandbox::new().bind_ro(&missing, "/x").command("/bin/true"));
    match &err {
        Error::Os { errno: Errno::ENOENT, path: Some(p), .. } => assert_eq!(p, &missing),
        other => panic!("expected Os(ENOENT) naming the source, got {other:?}"),
    }
    assert_eq!(err.path(), Some(missing.as_path()));
    assert!(err.to_string().contains(missing.to_str().unwrap()), "{err}");
}

#[test]
fn duplicate_destinations() {
    require_root!();
    let _serial = common::serial();
    let err = spawn_err(&mut Sandbox::new().bind("/usr", "/x").bind_ro("/etc", "//x/").command("/bin/true"));
    match &err {
        Error::InvalidConfig(msg) => assert!(msg.contains("/x"), "{msg}"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    let err = spawn_err(&mut Sandbox::new().bind("/usr", "/x").tmpfs("/x", "1M".parse().unwrap()).command("/bin/true"));
    assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
}

#[test]
fn bad_destinations() {
    require_root!();
    let _serial = common::serial();
    for dst in ["/a/../../etc", "../etc", "/..", "relative", "/", ""] {
        let err = spawn_err(&mut Sandbox::new().bind("/usr", dst).command("/bin/true"));
        assert_invalid_value(&err, ValueKind::Path);
        let err = spawn_err(&mut Sandbox::new().tmpfs(dst, "1M".parse().unwrap()).command("/bin/true"));
        assert_invalid_value(&err, ValueKind::Path);
    }
}

#[test]
fn missing_or_bad_chroot_dir() {
    require_root!();
    let _serial = common::serial();
    let missing = common::unique_tmp_path("missing-root");
    let err = spawn_err(&mut Sandbox::new().chroot(&missing).command("/bin/true"));
    match &err {
        Error::Os { errno: Errno::ENOENT, path: Some(p), .. } => assert_eq!(p, &missing),
        other => panic!("expected Os(ENOENT) naming the directory, got {other:?}"),
    }
    let err = spawn_err(&mut Sandbox::new().chroot("/etc/passwd").command("/bin/true"));
    assert!(matches!(&err, Error::Os { errno: Errno::ENOTDIR, path: Some(p), .. } if p == Path::new("/etc/passwd")));
    let err = spawn_err(&mut Sandbox::new().chroot("relative/root").command("/bin/true"));
    assert_invalid_value(&err, ValueKind::Path);
}

#[test]
fn missing_working_directory_is_a_chdir_setup_error() {
    require_root!();
    let _serial = common::serial();
    let err = spawn_err(Sandbox::new().command("/bin/true").current_dir("/nonexistent-cwd"));
    match &err {
        Error::Setup { stage: Stage::Chdir, errno: Errno::ENOENT, path } => {
            assert_eq!(path.as_deref(), Some(Path::new("/nonexistent-cwd")))
        }
        other => panic!("expected Setup at stage chdir, got {other:?}"),
    }
    assert_eq!(err.stage(), Some(Stage::Chdir));
    assert_eq!(err.errno(), Some(libc::ENOENT));
    // A file as working directory.
    let err = spawn_err(Sandbox::new().command("/bin/true").current_dir("/etc/passwd"));
    assert!(matches!(err, Error::Setup { stage: Stage::Chdir, errno: Errno::ENOTDIR, .. }), "{err:?}");
    // A directory the program's user may not enter.
    let dir = TempDir::new("private-cwd");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let sb = Sandbox::new().user(65534, 65534).bind(dir.path(), "/private");
    let err = spawn_err(sb.command("/bin/true").current_dir("/private"));
    assert!(matches!(err, Error::Setup { stage: Stage::Chdir, errno: Errno::EACCES, .. }), "{err:?}");
}

#[test]
fn the_sandbox_can_be_reused_after_an_error() {
    require_root!();
    let _serial = common::serial();
    let sb = Sandbox::new();
    let _ = spawn_err(&mut sb.command("/nonexistent"));
    let mut child = sb.command("/bin/true").spawn().expect("spawn after a failed one");
    assert!(child.wait().expect("wait").status.success());
    assert!(children_of_self().is_empty());
}
