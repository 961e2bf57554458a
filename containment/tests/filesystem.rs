//! The sandbox's filesystem: the chroot, binds, tmpfs, the private `/tmp`, the
//! default root, symlinks planted in a rootfs, programs from the host, non-UTF-8
//! paths.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;

use common::{
    assert_exit, assert_pid_gone, fresh_rootfs, read_line_from, require_busybox, require_root, run_null_stdin, sh,
    text, HostMounts, TempDir, ROOTFS_ENTRIES,
};
use containment::{Error, ExitStatus, Sandbox, Stage, Stdio};

/// The sorted names in a host directory.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn busybox_chroot_is_the_root() {
    require_busybox!();
    let mounts = HostMounts::snapshot();
    let rootfs = fresh_rootfs();
    let script = "echo pid=$$; ls /; readlink /proc/self/root; [ -d /proc/1 ] && echo proc1-exists; \
                  readlink /proc/1/root; echo readlink-init=$?; echo ready; read line; exit 0";
    let mut child = Sandbox::new()
        .chroot(rootfs.path())
        .command("/bin/sh")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let init = child.pid();
    let mut lines = Vec::new();
    loop {
        let l = read_line_from(&mut child);
        if l == "ready" {
            break;
        }
        lines.push(l);
    }
    // Seen from the host, the root of the init and of the program is the rootfs.
    let want = std::fs::metadata(rootfs.path()).expect("stat rootfs");
    let program = *common::children_of(init).iter().next().expect("the program runs");
    for pid in [init, program] {
        let got = std::fs::metadata(format!("/proc/{pid}/root/")).expect("stat /proc/<pid>/root");
        assert_eq!((got.dev(), got.ino()), (want.dev(), want.ino()), "root of {pid}");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status, ExitStatus::Exited(0), "stderr: {}", text(&out.stderr));
    let mut expected: Vec<String> = vec!["pid=2".into()];
    expected.extend(ROOTFS_ENTRIES.iter().map(|s| s.to_string()));
    expected.push("/".into());
    expected.push("proc1-exists".into());
    // The program has no capabilities, so it may not look into its init.
    expected.push("readlink-init=1".into());
    assert_eq!(lines, expected);
    assert_pid_gone(init);
    // Nothing was created in the rootfs: proc, dev and tmp existed already.
    assert_eq!(entries(rootfs.path()), ROOTFS_ENTRIES);
    assert!(entries(&rootfs.join("dev")).is_empty(), "the /dev mounts stay in the sandbox");
    mounts.assert_unchanged();
}

#[test]
fn missing_mount_points_are_created_in_the_chroot() {
    require_busybox!();
    let rootfs = TempDir::new("bare-root");
    std::fs::create_dir(rootfs.join("bin")).unwrap();
    common::busybox_copy(&rootfs.join("bin/busybox"));
    symlink("busybox", rootfs.join("bin/sh")).unwrap();
    symlink("busybox", rootfs.join("bin/ls")).unwrap();
    let out = sh(&Sandbox::new().chroot(rootfs.path()), "ls /");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "bin\ndev\nproc\ntmp\n");
    assert_eq!(entries(rootfs.path()), ["bin", "dev", "proc", "tmp"]);
}

#[test]
fn read_only_bind_gives_erofs() {
    require_root!();
    let dir = TempDir::new("ro");
    std::fs::write(dir.join("data"), "original\n").unwrap();
    let sb = Sandbox::new().bind_ro(dir.path(), "/ro");
    let out = sh(&sb, "cat /ro/data; touch /ro/f; echo touch=$?; echo x >> /ro/data; echo append=$?");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "original\ntouch=1\nappend=2\n");
    assert_eq!(
        text(&out.stderr),
        "touch: cannot touch '/ro/f': Read-only file system\n\
         /bin/sh: 1: cannot create /ro/data: Read-only file system\n"
    );
    assert_eq!(entries(dir.path()), ["data"]);
    assert_eq!(std::fs::read_to_string(dir.join("data")).unwrap(), "original\n");
}

#[test]
fn read_write_bind_is_writable_and_shared_with_the_host() {
    require_root!();
    let dir = TempDir::new("rw");
    std::fs::write(dir.join("in"), "from host\n").unwrap();
    let out = sh(&Sandbox::new().bind(dir.path(), "/rw"), "cat /rw/in; echo hello > /rw/out; mkdir /rw/sub");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "from host\n");
    assert_eq!(std::fs::read_to_string(dir.join("out")).unwrap(), "hello\n");
    assert!(dir.join("sub").is_dir());
    assert_eq!(entries(dir.path()), ["in", "out", "sub"]);
}

#[test]
fn single_file_bind() {
    require_root!();
    let dir = TempDir::new("file");
    std::fs::write(dir.join("f"), "one file\n").unwrap();
    let sb = Sandbox::new().bind_ro(dir.join("f"), "/data/f.txt");
    let out = sh(&sb, "cat /data/f.txt; ls /data");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "one file\nf.txt\n");
}

#[test]
fn tmpfs_size_is_enforced_with_enospc() {
    require_root!();
    let sb = Sandbox::new().tmpfs("/small", "1M".parse().unwrap());
    let out = sh(&sb, "dd if=/dev/zero of=/small/f bs=1M count=2 2>/tmp/err; echo dd=$?; head -n 1 /tmp/err");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "dd=1\ndd: error writing '/small/f': No space left on device\n");
    let out = sh(&sb, "grep ' /small ' /proc/self/mountinfo");
    assert_exit(&out, 0);
    let line = text(&out.stdout);
    assert!(line.contains(" - tmpfs ") && line.contains("size=1024k"), "{line}");
}

#[test]
fn tmp_is_private() {
    require_root!();
    let name = common::unique_name("private-tmp");
    let out = sh(&Sandbox::new(), &format!("echo secret > /tmp/{name} && ls -A /tmp"));
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), format!("{name}\n"), "the sandbox's /tmp starts empty");
    assert!(!Path::new("/tmp").join(&name).exists(), "a file written in the sandbox's /tmp is in the host's /tmp");
    // A second sandbox does not see the first one's /tmp either.
    let out = sh(&Sandbox::new(), &format!("test -e /tmp/{name}; echo $?"));
    assert_eq!(text(&out.stdout), "1\n");
}

#[test]
fn default_root_hides_shadow_and_gshadow() {
    require_root!();
    let out = sh(
        &Sandbox::new(),
        "test -e /etc/shadow; echo shadow=$?; test -e /etc/gshadow; echo gshadow=$?; \
         test -e /etc/passwd; echo passwd=$?; grep -c '^root:' /etc/passwd; cat /etc/shadow",
    );
    assert_eq!(out.status, ExitStatus::Exited(1));
    assert_eq!(text(&out.stdout), "shadow=1\ngshadow=1\npasswd=0\n1\n");
    assert_eq!(text(&out.stderr), "cat: /etc/shadow: No such file or directory\n");
}

#[test]
fn default_root_is_read_only() {
    require_root!();
    let out = sh(&Sandbox::new(), "touch /x; touch /usr/x; touch /etc/x; mkdir /newdir; echo done");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "done\n");
    assert_eq!(
        text(&out.stderr),
        "touch: cannot touch '/x': Read-only file system\n\
         touch: cannot touch '/usr/x': Read-only file system\n\
         touch: cannot touch '/etc/x': Read-only file system\n\
         mkdir: cannot create directory '/newdir': Read-only file system\n"
    );
}

#[test]
fn readonly_root_makes_a_chroot_read_only() {
    require_busybox!();
    let rootfs = fresh_rootfs();
    let out = sh(&Sandbox::new().chroot(rootfs.path()).readonly_root(true), "touch /x; echo $?; touch /tmp/x; echo $?");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "1\n0\n");
    assert_eq!(text(&out.stderr), "touch: /x: Read-only file system\n");
    assert!(!rootfs.join("x").exists());
}

/// A host directory that must stay empty and unmounted, and a source directory with
/// a marker file, for the symlink tests.
struct SymlinkSetup {
    rootfs: TempDir,
    target: TempDir,
    source: TempDir,
}

impl SymlinkSetup {
    fn new() -> SymlinkSetup {
        let rootfs = fresh_rootfs();
        let target = TempDir::new("target");
        let source = TempDir::new("source");
        std::fs::write(source.join("marker"), "from the bind source\n").unwrap();
        SymlinkSetup { rootfs, target, source }
    }

    /// The target's path relative to the host's `/`, e.g. `tmp/ctmtest-target-1-2`.
    fn target_rel(&self) -> &Path {
        self.target.path().strip_prefix("/").unwrap()
    }

    fn assert_host_untouched(&self) {
        assert_eq!(entries(self.target.path()), Vec::<String>::new(), "the host target was written");
        let target = self.target.path().to_str().unwrap();
        assert!(
            !common::host_mount_points().iter().any(|m| m == target),
            "something is mounted on the host target {target}"
        );
    }
}

#[test]
fn bind_through_a_planted_symlink_lands_inside_the_rootfs() {
    require_busybox!();
    for absolute in [false, true] {
        let mounts = HostMounts::snapshot();
        let s = SymlinkSetup::new();
        let link = if absolute {
            Path::new("/").join(s.target_rel())
        } else {
            Path::new("../../../../../../../..").join(s.target_rel())
        };
        symlink(&link, s.rootfs.join("etc/evil")).unwrap();
        // The same path exists inside the rootfs (with the private /tmp off, so
        // that the rootfs's own tmp is seen): that is where the mount must land.
        let inside = s.rootfs.path().join(s.target_rel());
        std::fs::create_dir_all(&inside).unwrap();
        let sb = Sandbox::new().chroot(s.rootfs.path()).private_tmp(false).bind_ro(s.source.path(), "/etc/evil");
        let script = format!("cat /etc/evil/marker; ls /{}", s.target_rel().display());
        let out = sh(&sb, &script);
        assert_exit(&out, 0);
        assert_eq!(text(&out.stdout), "from the bind source\nmarker\n", "absolute link: {absolute}");
        s.assert_host_untouched();
        assert!(entries(&inside).is_empty(), "the mount stays in the sandbox's mount namespace");
        assert_eq!(std::fs::read_link(s.rootfs.join("etc/evil")).unwrap(), link, "the symlink is left alone");
        mounts.assert_unchanged();
    }
}

#[test]
fn bind_through_a_planted_symlink_to_a_missing_target_fails_setup() {
    require_busybox!();
    for absolute in [false, true] {
        let mounts = HostMounts::snapshot();
        let s = SymlinkSetup::new();
        let link = if absolute {
            Path::new("/").join(s.target_rel())
        } else {
            Path::new("../../../../../../../..").join(s.target_rel())
        };
        symlink(&link, s.rootfs.join("etc/evil")).unwrap();
        // The target exists on the host, not inside the rootfs (whose /tmp is a
        // fresh tmpfs): the destination resolves inside the root, to nothing.
        let err = Sandbox::new()
            .chroot(s.rootfs.path())
            .bind_ro(s.source.path(), "/etc/evil")
            .command("/bin/true")
            .spawn()
            .expect_err("the bind must not follow the symlink out of the rootfs");
        match &err {
            Error::Setup { stage: Stage::MountPoint, errno, path } => {
                assert_eq!(*errno as i32, libc::ENOENT, "{err}");
                assert_eq!(path.as_deref(), Some(Path::new("/etc/evil")), "{err}");
            }
            other => panic!("expected Error::Setup at stage mount-point, got {other:?}"),
        }
        s.assert_host_untouched();
        mounts.assert_unchanged();
    }
}

#[test]
fn command_from_host_runs_a_host_binary_in_a_chroot() {
    require_busybox!();
    let mounts = HostMounts::snapshot();
    // A rootfs without busybox: the program only exists on the host.
    let rootfs = TempDir::new("empty-root");
    let bin = TempDir::new("host-bin");
    // Named busybox, so that it dispatches on its first argument.
    let prog = bin.join("busybox");
    common::busybox_copy(&prog);
    let sb = Sandbox::new().chroot(rootfs.path());
    let mut cmd = sb.command_from_host(&prog);
    let script = "echo hi from $0; p=/run/containment/busybox; $p ls /run/containment; $p readlink /proc/self/exe; \
                  $p cat /proc/$$/cmdline | $p tr '\\0' '\\n' | $p head -n 2";
    cmd.args(["sh", "-c", script]);
    let out = run_null_stdin(&mut cmd);
    assert_exit(&out, 0);
    // argv[0] of the program is the file name.
    assert_eq!(text(&out.stdout), "hi from sh\nbusybox\n/run/containment/busybox\nbusybox\nsh\n");
    mounts.assert_unchanged();
}

#[test]
fn command_from_host_in_the_default_root() {
    require_busybox!();
    let out = run_null_stdin(Sandbox::new().command_from_host(common::BUSYBOX).args(["echo", "static"]));
    assert_exit(&out, 0);
    assert_eq!(out.stdout, b"static\n");
}

#[test]
fn non_utf8_paths_are_kept_byte_exact() {
    require_root!();
    let mounts = HostMounts::snapshot();
    let mut name = common::unique_name("bytes").into_bytes();
    name.push(0xff);
    let dir = TempDir::at(Path::new("/tmp").join(OsStr::from_bytes(&name)));
    std::fs::write(dir.join(OsStr::from_bytes(b"file-\xfd")), "x").unwrap();
    let dst = OsStr::from_bytes(b"/in-\xfe");
    let sb = Sandbox::new().bind(dir.path(), dst);
    let mut cmd = sb.command("/bin/ls");
    cmd.args([OsStr::new("-1"), OsStr::new("/"), dst]);
    let out = run_null_stdin(&mut cmd);
    assert_exit(&out, 0);
    let stdout = out.stdout;
    assert!(stdout.windows(5).any(|w| w == b"in-\xfe\n"), "ls / shows the destination: {stdout:?}");
    assert!(stdout.ends_with(b"/in-\xfe:\nfile-\xfd\n"), "ls shows the file byte-exact: {stdout:?}");
    // The program writes a file with a non-UTF-8 name through the bind.
    let mut cmd = sb.command("/bin/touch");
    cmd.arg(OsStr::from_bytes(b"/in-\xfe/new-\xfc"));
    assert_exit(&run_null_stdin(&mut cmd), 0);
    assert!(dir.join(OsStr::from_bytes(b"new-\xfc")).is_file());
    mounts.assert_unchanged();
}

#[test]
fn cwd_inside_the_sandbox() {
    require_root!();
    let dir = TempDir::new("cwd");
    let mut cmd = Sandbox::new().bind(dir.path(), "/work").command("/bin/sh");
    cmd.args(["-c", "pwd; echo x > here"]).current_dir("/work");
    let out = run_null_stdin(&mut cmd);
    assert_exit(&out, 0);
    assert_eq!(out.stdout, b"/work\n");
    assert!(dir.join("here").is_file());
}

#[test]
fn overlay_changes_do_not_touch_the_template() {
    require_busybox!();
    let template = fresh_rootfs();
    let sb = Sandbox::new().overlay(template.path());
    let out = sh(&sb, "echo new > /new; rm /etc/passwd; rm -f /bin/ls; /bin/busybox ls /; cat /new");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "bin\ndev\netc\nnew\nproc\ntmp\nnew\n");
    assert_eq!(entries(template.path()), ROOTFS_ENTRIES, "the template is unchanged");
    assert!(template.join("etc/passwd").is_file());
    assert!(template.join("bin/ls").symlink_metadata().is_ok());
    // Each sandbox starts from the template again.
    let out = sh(&sb, "test -e /new; echo $?; test -e /etc/passwd; echo $?");
    assert_eq!(text(&out.stdout), "1\n0\n");
}

#[test]
fn overlay_persistent_keeps_the_changes_in_the_given_directory() {
    require_busybox!();
    let template = fresh_rootfs();
    let state = TempDir::new("overlay-state");
    let sb = Sandbox::new().overlay_persistent(template.path(), state.path());
    let out = sh(&sb, "echo kept > /kept");
    assert_exit(&out, 0);
    assert_eq!(std::fs::read_to_string(state.join("upper/kept")).unwrap(), "kept\n");
    assert!(!template.join("kept").exists(), "the template is unchanged");
    let out = sh(&sb, "cat /kept");
    assert_eq!(text(&out.stdout), "kept\n", "a second sandbox sees the kept change");
}
