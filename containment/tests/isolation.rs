//! What the program can see of the host and do to it: host name, environment,
//! descriptors, the old root, capabilities, identity, session, `/proc/sys`.

mod common;

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};

use common::{assert_exit, compile_c, require, require_root, run_null_stdin, sh, text, HostMounts, TempDir};
use containment::{ExitStatus, Sandbox, DEFAULT_PATH};

/// `gethostname(2)` of the test process (nix's wrapper needs a feature the crate
/// does not enable).
fn host_name() -> Vec<u8> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the name is NUL-terminated
    // within it (the kernel's limit is 64 bytes).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(rc, 0, "gethostname: {}", std::io::Error::last_os_error());
    buf[..buf.iter().position(|b| *b == 0).expect("NUL")].to_vec()
}

#[test]
fn hostname_is_the_one_set_and_the_hosts_is_unchanged() {
    require_root!();
    let before = host_name();
    let out = sh(&Sandbox::new().hostname("ctmtest-host"), "hostname; cat /proc/sys/kernel/hostname");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "ctmtest-host\nctmtest-host\n");
    let out = sh(&Sandbox::new(), "hostname");
    assert_eq!(text(&out.stdout), "sandbox\n", "the default host name");
    // Without capabilities, changing it fails; either way the host's is untouched.
    let out = sh(&Sandbox::new(), "hostname evil; echo rc=$?; hostname");
    assert_eq!(text(&out.stdout), "rc=1\nsandbox\n");
    assert_eq!(text(&out.stderr), "hostname: you must be root to change the host name\n");
    assert_eq!(host_name(), before);
}

#[test]
fn no_host_environment_variable_is_visible() {
    require_root!();
    let _serial = common::serial();
    std::env::set_var("CONTAINMENT_TEST_SECRET", "hunter2");
    let out = run_null_stdin(&mut Sandbox::new().command("/usr/bin/env"));
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), format!("HOME=/\nPATH={DEFAULT_PATH}\n"));
    // Set explicitly, a variable is passed; cleared, nothing is.
    let out = run_null_stdin(Sandbox::new().command("/usr/bin/env").env("A", "b").env_remove("HOME"));
    assert_eq!(text(&out.stdout), format!("A=b\nPATH={DEFAULT_PATH}\n"));
    let out = run_null_stdin(Sandbox::new().command("/usr/bin/env").env_clear());
    assert_eq!(text(&out.stdout), "");
    // Relaxing the default explicitly passes the host's environment.
    let out = run_null_stdin(Sandbox::new().command("/usr/bin/env").inherit_env());
    assert!(text(&out.stdout).lines().any(|l| l == "CONTAINMENT_TEST_SECRET=hunter2"), "inherit_env");
    std::env::remove_var("CONTAINMENT_TEST_SECRET");
}

/// The descriptors `/bin/ls -1 /proc/self/fd` lists, as numbers.
fn fd_set(stdout: &[u8]) -> BTreeSet<i32> {
    text(stdout).lines().map(|l| l.parse().unwrap_or_else(|_| panic!("not a descriptor: {l:?}"))).collect()
}

/// Opens `path` without `O_CLOEXEC`, so that it is inherited by `execve`.
fn open_inheritable(path: &str) -> OwnedFd {
    let c = CString::new(path).unwrap();
    // SAFETY: a valid C string; the descriptor returned is owned by nothing else.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(fd >= 0, "open {path}: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` was just opened and is not owned elsewhere.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

#[test]
fn no_host_descriptor_is_visible() {
    require_root!();
    let _serial = common::serial();
    let leaked: Vec<(OwnedFd, i32)> = ["/", "/sys/fs/cgroup", "/proc"]
        .iter()
        .filter(|p| std::path::Path::new(p).is_dir())
        .map(|p| {
            let fd = open_inheritable(p);
            let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
            (fd, raw)
        })
        .collect();
    // Outside a sandbox the same command sees them: they are really inheritable.
    let outside = std::process::Command::new("/bin/ls").args(["-1", "/proc/self/fd"]).output().expect("ls outside");
    let outside = fd_set(&outside.stdout);
    for (_, raw) in &leaked {
        assert!(outside.contains(raw), "fd {raw} is not inherited outside: {outside:?}");
    }
    assert!(outside.is_superset(&BTreeSet::from([0, 1, 2, 3])));
    // Inside: 0-2 and the directory ls itself opened.
    let out = run_null_stdin(Sandbox::new().command("/bin/ls").args(["-1", "/proc/self/fd"]));
    assert_exit(&out, 0);
    assert_eq!(fd_set(&out.stdout), BTreeSet::from([0, 1, 2, 3]), "outside: {outside:?}");
    let out = sh(&Sandbox::new(), "readlink /proc/self/cwd /proc/$$/cwd; cd /proc/self/fd && echo *");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "/\n/\n0 1 2 3\n", "the working directory is inside the root");
    drop(leaked);
}

const ESCAPE_C: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* The classic chroot escape. Prints each step's result; exits 3 when a step
   fails, after execl when it gets through. */
int main(void) {
    if (chdir("/tmp") != 0) { printf("chdir /tmp: errno %d\n", errno); return 3; }
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    printf("open /: %s\n", fd >= 0 ? "ok" : "failed");
    if (mkdir("x", 0755) != 0) { printf("mkdir: errno %d\n", errno); return 3; }
    printf("mkdir: ok\n");
    if (chroot("x") != 0) { printf("chroot x: errno %d\n", errno); fflush(stdout); return 3; }
    printf("chroot x: ok\n");
    if (fd >= 0 && fchdir(fd) != 0) printf("fchdir: errno %d\n", errno);
    for (int i = 0; i < 100; i++) chdir("..");
    if (chroot(".") != 0) { printf("chroot .: errno %d\n", errno); return 3; }
    fflush(stdout);
    execl("/bin/ls", "ls", "/", (char *)0);
    printf("execl: errno %d\n", errno);
    return 4;
}
"#;

#[test]
fn classic_chroot_escape_fails_with_eperm() {
    require_root!();
    let dir = TempDir::new("escape");
    let exe = compile_c(dir.path(), "escape", ESCAPE_C);
    require!(exe.is_some(), "needs a C compiler (cc) that can link statically");
    let exe = exe.unwrap();
    let expected = "open /: ok\nmkdir: ok\nchroot x: errno 1\n";
    let mounts = HostMounts::snapshot();
    let out = run_null_stdin(&mut Sandbox::new().command_from_host(&exe));
    assert_eq!(out.status, ExitStatus::Exited(3), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), expected);
    // The same in a busybox chroot.
    if std::path::Path::new(common::BUSYBOX).is_file() {
        let rootfs = common::fresh_rootfs();
        let out = run_null_stdin(&mut Sandbox::new().chroot(rootfs.path()).command_from_host(&exe));
        assert_eq!(out.status, ExitStatus::Exited(3), "stderr: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), expected);
    }
    mounts.assert_unchanged();
}

/// One line of `/proc/<pid>/mountinfo`.
#[derive(Debug, Clone)]
struct Mount {
    /// `major:minor` of the filesystem.
    dev: String,
    /// The directory of the filesystem mounted there.
    root: String,
    mount_point: String,
    fstype: String,
}

fn mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let dash = f.iter().position(|x| *x == "-").expect("separator");
            Mount { dev: f[2].into(), root: f[3].into(), mount_point: f[4].into(), fstype: f[dash + 1].into() }
        })
        .collect()
}

/// Runs `cat /proc/self/mountinfo` in `sb`; checks that exactly one mount is on
/// `/` and that the host's root directory is mounted nowhere; returns the root
/// mount.
fn sandbox_root_mount(sb: &Sandbox) -> Mount {
    let host = mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").unwrap());
    let host_root = host.iter().find(|m| m.mount_point == "/").expect("the host's root mount");
    let out = sh(sb, "cat /proc/self/mountinfo");
    assert_exit(&out, 0);
    let all = text(&out.stdout);
    let inside = mountinfo(&all);
    for m in &inside {
        assert!(
            !(m.dev == host_root.dev && m.root == host_root.root),
            "the host's root is mounted at {} in the sandbox {sb:?}:\n{all}",
            m.mount_point
        );
    }
    let roots: Vec<_> = inside.iter().filter(|m| m.mount_point == "/").collect();
    assert_eq!(roots.len(), 1, "one mount on / in the sandbox {sb:?}:\n{all}");
    roots[0].clone()
}

#[test]
fn the_old_root_is_not_in_the_mount_table() {
    require_root!();
    // The default root: a tmpfs.
    let root = sandbox_root_mount(&Sandbox::new());
    assert_eq!(root.fstype, "tmpfs", "the default root is a tmpfs: {root:?}");
    if !std::path::Path::new(common::BUSYBOX).is_file() {
        return;
    }
    // A chroot: / is the rootfs directory (the root field of its bind mount).
    let rootfs = common::busybox_rootfs();
    let root = sandbox_root_mount(&Sandbox::new().chroot(rootfs));
    assert_eq!(root.root, rootfs.to_str().unwrap(), "{root:?}");
    // An overlay of a template: / is the overlay.
    let root = sandbox_root_mount(&Sandbox::new().overlay(rootfs));
    assert_eq!(root.fstype, "overlay", "{root:?}");
}

#[test]
fn dotdot_from_the_root_stays_in_the_root() {
    require_root!();
    // A file in the host's /tmp; the sandbox's /tmp is a private tmpfs, so no
    // path inside may reach it (writing to it through `/..` creates a file in the
    // sandbox's own /tmp at most).
    let marker = common::unique_tmp_path("marker");
    std::fs::write(&marker, "host file\n").unwrap();
    struct Remove<'a>(&'a std::path::Path);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _remove = Remove(&marker);
    let m = marker.display();
    let script = format!(
        "cat /..{m} /../..{m} /proc/self/root/..{m} 2>/dev/null; echo cat=$?; \
         echo x >> /..{m}; \
         [ \"$(ls -a /..)\" = \"$(ls -a /)\" ] && echo same-listing; exit 0"
    );
    let mut sandboxes = vec![(Sandbox::new(), None)];
    if std::path::Path::new(common::BUSYBOX).is_file() {
        sandboxes.push((Sandbox::new().chroot(common::busybox_rootfs()), None));
        // The template of an overlay must come out unchanged.
        let template = common::fresh_rootfs();
        sandboxes.push((Sandbox::new().overlay(template.path()), Some(template)));
    }
    for (sb, template) in sandboxes {
        let out = sh(&sb, &script);
        assert_exit(&out, 0);
        assert_eq!(text(&out.stdout), "cat=1\nsame-listing\n", "{sb:?}\nstderr: {}", text(&out.stderr));
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "host file\n", "{sb:?} wrote the host file");
        if let Some(t) = template {
            let tmp: Vec<_> = std::fs::read_dir(t.join("tmp")).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert!(tmp.is_empty(), "the sandbox wrote into its overlay template: {tmp:?}");
        }
    }
}

#[test]
fn capabilities_are_empty_and_no_new_privs_is_set() {
    require_root!();
    for sb in [Sandbox::new(), Sandbox::new().user(65534, 65534)] {
        let out = run_null_stdin(sb.command("/bin/grep").args(["-E", "^(Cap|NoNewPrivs)", "/proc/self/status"]));
        assert_exit(&out, 0);
        assert_eq!(
            text(&out.stdout),
            "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n\
             CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n",
            "{sb:?}"
        );
    }
}

#[test]
fn user_switches_the_ids() {
    require_root!();
    let out = sh(&Sandbox::new().user(65534, 65534), "id -u; id -g; id -G; touch /tmp/f; stat -c '%u:%g' /tmp/f");
    assert_exit(&out, 0);
    assert_eq!(text(&out.stdout), "65534\n65534\n65534\n65534:65534\n");
    let out = sh(&Sandbox::new().user(1000, 1001).groups([1002, 1003]), "id -u; id -g; id -G");
    assert_eq!(text(&out.stdout), "1000\n1001\n1001 1002 1003\n");
}

/// (pid, pgrp, session) from a `/proc/<pid>/stat` line.
fn stat_ids(stat: &str) -> (i64, i64, i64) {
    let pid = stat.split(' ').next().unwrap().parse().unwrap();
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // after the comm: state ppid pgrp session ...
    (pid, f[2].parse().unwrap(), f[3].parse().unwrap())
}

#[test]
fn the_program_is_a_session_leader() {
    require_root!();
    let out = run_null_stdin(Sandbox::new().command("/bin/cat").arg("/proc/self/stat"));
    assert_exit(&out, 0);
    assert_eq!(stat_ids(&text(&out.stdout)), (2, 2, 2), "{}", text(&out.stdout));
    let out = run_null_stdin(Sandbox::new().user(65534, 65534).command("/bin/cat").arg("/proc/self/stat"));
    assert_eq!(stat_ids(&text(&out.stdout)), (2, 2, 2), "{}", text(&out.stdout));
}

#[test]
fn host_sysctls_are_not_writable_and_kernel_details_are_masked() {
    require_root!();
    // Opening for appending writes nothing; a sandbox must not even get that far,
    // since a write to kernel.core_pattern runs a host program as host root.
    let script = r#"
        for f in /proc/sys/kernel/core_pattern /proc/sys/vm/panic_on_oom /proc/sys/kernel/modprobe /proc/sysrq-trigger; do
            if [ ! -e "$f" ]; then echo "$f absent"
            elif (exec 3>>"$f") 2>/dev/null; then echo "$f writable"
            else echo "$f read-only"
            fi
        done
        for f in /proc/keys /proc/timer_list; do
            [ -e "$f" ] && echo "$f $(cat $f 2>/dev/null | wc -c) bytes"
        done
        exit 0
    "#;
    let out = sh(&Sandbox::new(), script);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..2],
        ["/proc/sys/kernel/core_pattern read-only", "/proc/sys/vm/panic_on_oom read-only"],
        "{stdout}"
    );
    for l in &lines[2..4] {
        assert!(l.ends_with(" read-only") || l.ends_with(" absent"), "{stdout}");
    }
    for l in &lines[4..] {
        assert!(l.ends_with(" 0 bytes"), "not masked: {stdout}");
    }
}
