//! The attack suite: one test per numbered line of
//! `docs/security-checklist.md`. A probe (`tests/probes/attack.c`) running inside
//! the sandbox makes the attempt and prints what happened; each test asserts the
//! exact outcome, in each mode where the line applies: root with the default user
//! namespace, root without one, and rootless (the test binary run again as uid
//! 65534). See `tests/probes/mod.rs`.

mod common;
mod probes;

use std::collections::BTreeSet;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use common::{text, HostMounts, TempDir};
use containment::{Errno, Error, ExitStatus, MemoryLimit, Sandbox, Seccomp, Stage, Stdio, DEFAULT_PATH, RANGE_BASE};
use probes::{in_modes, in_modes_with_env, is_rootless_child, require_probes, Mode, Probe};

/// Defines a test that runs `$body` with `$m` bound to each mode of `$modes`.
macro_rules! attack_test {
    ($(#[$doc:meta])* $name:ident, $modes:expr, |$m:ident| $body:block) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            require_probes!();
            in_modes(stringify!($name), &$modes, |$m: Mode| $body);
        }
    };
}

/// Serializes the tests that create cgroups, so that each can check that its
/// own group is gone afterwards.
fn limits_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn mem(s: &str) -> MemoryLimit {
    s.parse().expect("a memory size")
}

/// Whether the static busybox exists; otherwise skips (or fails with
/// `CONTAINMENT_MUST_WORK=1`).
fn have_busybox() -> bool {
    Path::new(common::BUSYBOX).is_file() || !probes::skip("needs the static /bin/busybox (busybox-static)")
}

/// The host's root mount as `MAJOR:MINOR` (field 3 of its mountinfo line).
fn host_root_dev() -> String {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    let line = info.lines().find(|l| l.split(' ').nth(4) == Some("/")).expect("a mount on /");
    line.split(' ').nth(2).expect("the device field").to_string()
}

/// The mount options (field 6) of the mount on `point` in the probe's
/// `RESULT mountinfo` lines (the last one, the one on top).
fn mount_options(p: &Probe, point: &str) -> Option<String> {
    p.all("mountinfo")
        .iter()
        .rev()
        .find(|l| l.split(' ').nth(4) == Some(point))
        .map(|l| l.split(' ').nth(5).expect("the options field").to_string())
}

/// A hash of a file's content.
fn digest(path: &Path) -> (u64, u64) {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    (bytes.len() as u64, h.finish())
}

/// Opens `path` without `O_CLOEXEC`: inherited by every `execve`.
fn open_inheritable(path: &str) -> OwnedFd {
    let c = CString::new(path).expect("no NUL");
    // SAFETY: a valid C string; the descriptor returned is owned by nothing else.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(fd >= 0, "open {path}: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` was just opened and is owned by nothing else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `errno` of the last failed libc call.
fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

attack_test!(
    /// Checklist line 1: The classic chroot escape fails with EPERM, and with `CAP_SYS_CHROOT`
    /// given back (and no filter) it lands in the sandbox's own root.
    line01_classic_chroot_escape_fails,
    Mode::ALL,
    |m| {
        let p = probes::run(&m.sandbox(), &["chroot_escape"]);
        p.expect(m, &[("chroot_escape", "EPERM")]);
        // Without the filter, the missing CAP_SYS_CHROOT refuses it too.
        let p = probes::run(&m.sandbox().seccomp(Seccomp::disabled()), &["chroot_escape"]);
        p.expect(m, &[("chroot_escape", "EPERM")]);
        // Allowed to chroot, the escape finds no old root to climb back to.
        let sb = m.sandbox().seccomp(Seccomp::disabled()).capability_names(["sys_chroot"]);
        let p = probes::run(&sb, &["chroot_escape"]);
        p.expect(m, &[("chroot_escape", "inside")]);
        if probes::probes_are_static() && Path::new(common::BUSYBOX).is_file() {
            let rootfs = common::busybox_rootfs();
            let p = probes::run(&m.sandbox().chroot(rootfs), &["chroot_escape"]);
            p.expect(m, &[("chroot_escape", "EPERM")]);
            let p = probes::run(&sb.clone().chroot(rootfs), &["chroot_escape"]);
            p.expect(m, &[("chroot_escape", "inside")]);
        }
    }
);

attack_test!(
    /// Checklist line 2: Nothing of the host's root is in the sandbox's mount table; `/proc/1/root`
    /// is refused, and with `CAP_SYS_PTRACE` it is the sandbox's own root.
    line02_the_old_root_is_not_reachable,
    Mode::ALL,
    |m| {
        let dev = host_root_dev();
        let want = [("mountinfo_host_root", "absent"), ("mounts_on_slash", "1"), ("proc1_root", "EACCES")];
        probes::run(&m.sandbox(), &["old_root", &dev]).expect(m, &want);
        // With CAP_SYS_PTRACE the init's root can be looked at, and it is the
        // sandbox's own; except under a root caller's id range, where the init,
        // having changed its ids, is not dumpable and stays out of reach.
        let ptrace = m.sandbox().capability_names(["sys_ptrace"]);
        let seen = if m == Mode::UserNs { "EACCES" } else { "same" };
        let with_ptrace = [("mountinfo_host_root", "absent"), ("mounts_on_slash", "1"), ("proc1_root", seen)];
        probes::run(&ptrace, &["old_root", &dev]).expect(m, &with_ptrace);
        if probes::probes_are_static() && Path::new(common::BUSYBOX).is_file() {
            let rootfs = common::busybox_rootfs();
            probes::run(&m.sandbox().chroot(rootfs), &["old_root", &dev]).expect(m, &want);
            probes::run(&ptrace.chroot(rootfs), &["old_root", &dev]).expect(m, &with_ptrace);
        }
    }
);

attack_test!(
    /// Checklist line 3: The binary of the sandbox's init (a copy of the supervisor: this test
    /// binary) cannot be opened for writing through `/proc/1/exe`, and is unchanged.
    line03_the_supervisor_binary_cannot_be_overwritten,
    Mode::ALL,
    |m| {
        let exe = std::env::current_exe().expect("the test binary");
        let before = digest(&exe);
        let p = probes::run(&m.sandbox(), &["proc1_exe"]);
        p.expect(m, &[("proc1_exe_wronly", "EACCES"), ("proc1_exe_rdwr", "EACCES")]);
        let p = probes::run(&m.sandbox().seccomp(Seccomp::disabled()), &["proc1_exe"]);
        p.expect(m, &[("proc1_exe_wronly", "EACCES"), ("proc1_exe_rdwr", "EACCES")]);
        assert_eq!(digest(&exe), before, "{m:?}: the test binary changed");
    }
);

attack_test!(
    /// Checklist line 4: Inheritable descriptors of the host (to `/` and to the cgroup tree) do not
    /// reach the program: it has exactly 0, 1 and 2, and its working directory is
    /// its root.
    line04_no_host_descriptor_leaks_in,
    Mode::ALL,
    |m| {
        let fds: Vec<OwnedFd> = ["/", "/sys/fs/cgroup"].iter().map(|p| open_inheritable(p)).collect();
        for fd in &fds {
            // SAFETY: F_GETFD on a descriptor this function owns.
            let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
            assert_eq!(flags & libc::FD_CLOEXEC, 0, "the descriptor is inheritable");
        }
        let want = [
            ("fds", "0,1,2"),
            ("fds_open_above_2", "0"),
            ("cwd", "/"),
            ("proc_cwd", "/"),
            ("cwd_is_root", "yes"),
        ];
        probes::run(&m.sandbox(), &["fds"]).expect(m, &want);
        // A working directory of `..`s stays at the root.
        let mut cmd = m.sandbox().command_from_host(probes::attack());
        cmd.arg("fds").current_dir("/../../..").stdin(Stdio::null());
        probes::run_cmd(&mut cmd).expect(m, &want);
        if probes::probes_are_static() && Path::new(common::BUSYBOX).is_file() {
            probes::run(&m.sandbox().chroot(common::busybox_rootfs()), &["fds"]).expect(m, &want);
        }
        drop(fds);
    }
);

/// A new pseudo-terminal: (master, slave), both close-on-exec.
fn open_pty() -> (OwnedFd, OwnedFd) {
    // SAFETY: plain libc calls on descriptors this function owns; ptsname_r
    // writes at most the buffer's length.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(master >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        let master = OwnedFd::from_raw_fd(master);
        assert_eq!(libc::grantpt(master.as_raw_fd()), 0, "grantpt");
        assert_eq!(libc::unlockpt(master.as_raw_fd()), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()), 0, "ptsname_r");
        let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(slave >= 0, "open the pty slave: {}", std::io::Error::last_os_error());
        (master, OwnedFd::from_raw_fd(slave))
    }
}

/// Reads what is pending on `fd` without blocking.
fn pending(fd: &OwnedFd) -> Vec<u8> {
    // SAFETY: fcntl and read on a descriptor the caller owns, into a local buffer.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        let mut buf = [0u8; 256];
        let n = libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len());
        let e = last_errno();
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags);
        if n < 0 {
            assert_eq!(e, libc::EAGAIN, "read the pty: errno {e}");
            return Vec::new();
        }
        buf[..n as usize].to_vec()
    }
}

/// Puts the slave of a pty in raw mode, so that input is readable at once.
fn make_raw(slave: &OwnedFd) {
    // SAFETY: termios calls on a descriptor the caller owns, with a local struct.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut t), 0);
        t.c_lflag &= !libc::ICANON;
        t.c_cc[libc::VMIN] = 0;
        t.c_cc[libc::VTIME] = 0;
        assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), 0);
    }
}

attack_test!(
    /// Checklist line 5: `ioctl(TIOCSTI)` on the terminal the program got as stdin fails with
    /// EPERM (the filter; without it, the new session), and nothing reaches the
    /// terminal.
    line05_tiocsti_cannot_inject_input,
    Mode::ALL,
    |m| {
        let (master, slave) = open_pty();
        make_raw(&slave);
        if m != Mode::Rootless {
            // The control: root outside may inject, so the check below is real.
            // SAFETY: TIOCSTI with a pointer to one byte.
            let rc = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSTI, c"z".as_ptr()) };
            if rc == 0 {
                assert_eq!(pending(&slave), b"z", "the control injection arrives on the slave");
                assert_eq!(pending(&master), b"z", "and is echoed on the master");
            } else {
                eprintln!("TIOCSTI outside failed (errno {}): legacy_tiocsti is off", last_errno());
            }
        }
        for sb in [m.sandbox(), m.sandbox().seccomp(Seccomp::disabled())] {
            let mut cmd = sb.command_from_host(probes::attack());
            cmd.arg("tiocsti").stdin(slave.try_clone().expect("dup the slave"));
            let p = probes::run_cmd(&mut cmd);
            p.expect(
                m,
                &[("stdin_isatty", "yes"), ("tiocsti", "EPERM"), ("dev_tty", "ENXIO"), ("session_leader", "yes")],
            );
            assert_eq!(text(&pending(&slave)), "", "{m:?}: input was injected");
            assert_eq!(text(&pending(&master)), "", "{m:?}: something reached the terminal");
        }
    }
);

attack_test!(
    /// Checklist line 6: `ptrace` of the init and its `/proc/1/mem` are refused.
    line06_ptrace_and_proc_mem_of_the_init_are_refused,
    Mode::ALL,
    |m| {
        let want = [
            ("ptrace_attach_init", "EPERM"),
            ("ptrace_seize_init", "EPERM"),
            ("proc1_mem_read", "EACCES"),
            ("proc1_mem_write", "EACCES"),
            ("process_vm_readv_init", "EPERM"),
        ];
        probes::run(&m.sandbox(), &["ptrace_init"]).expect(m, &want);
        // Allowing ptrace only allows it on the program's own processes.
        let allowed = m.sandbox().seccomp(Seccomp::default_filter().allow_ptrace(true));
        probes::run(&allowed, &["ptrace_init"]).expect(m, &want);
        probes::run(&m.sandbox().seccomp(Seccomp::disabled()), &["ptrace_init"]).expect(m, &want);
    }
);

attack_test!(
    /// Checklist line 7: `kill(-1, SIGKILL)` inside reaches nothing outside.
    line07_kill_minus_one_leaves_host_processes_alive,
    Mode::ALL,
    |m| {
        let mut sleeper = KillOnDrop(std::process::Command::new("sleep").arg("30").spawn().expect("spawn sleep"));
        for sb in [m.sandbox(), m.sandbox().seccomp(Seccomp::disabled())] {
            probes::run(&sb, &["kill_all"]).expect(m, &[("kill_all", "ESRCH")]);
            assert!(sleeper.0.try_wait().expect("try_wait").is_none(), "{m:?}: the host's sleep was killed");
        }
    }
);

attack_test!(
    /// Checklist line 8: `/proc/sys` and `/proc/sysrq-trigger` are not writable (read-only
    /// mounts), and `/proc/kcore`, `/proc/keys` and `/proc/timer_list` are masked.
    line08_proc_tunables_read_only_and_kernel_details_masked,
    Mode::ALL,
    |m| {
        // Without a user namespace the program is uid 0 and meets the read-only
        // mount; with one, the host's files are not its own to begin with.
        let refused = if m.has_userns() { "EACCES" } else { "EROFS" };
        let exists = |p: &str| Path::new(p).exists();
        let sysrq = if exists("/proc/sysrq-trigger") { refused } else { "ENOENT" };
        let masked = |p: &str| if exists(p) { "empty" } else { "absent" };
        let p = probes::run(&m.sandbox(), &["procfs"]);
        p.expect(m, &[("core_pattern", refused), ("sysrq_trigger", sysrq), ("proc_sys_vm_drop_caches", refused)]);
        let info = probes::run(&m.sandbox(), &["mountinfo"]);
        info.assert_exit(0);
        let opts = mount_options(&info, "/proc/sys").unwrap_or_else(|| panic!("no /proc/sys mount:\n{}", info.dump()));
        assert!(opts.split(',').any(|o| o == "ro"), "{m:?}: /proc/sys is mounted {opts}");
        if exists("/proc/sysrq-trigger") {
            let opts = mount_options(&info, "/proc/sysrq-trigger").expect("a mount on /proc/sysrq-trigger");
            assert!(opts.split(',').any(|o| o == "ro"), "{m:?}: /proc/sysrq-trigger is mounted {opts}");
        }
        // Masked: they read as empty (or do not exist on this kernel).
        p.expect(
            m,
            &[
                ("kcore", masked("/proc/kcore")),
                ("sched_debug", masked("/proc/sched_debug")),
                ("keys", masked("/proc/keys")),
                ("timer_list", masked("/proc/timer_list")),
            ],
        );
    }
);

attack_test!(
    /// Checklist line 9: No `/sys` by default; with `sysfs(true)` it is read-only.
    line09_sys_is_absent_or_read_only,
    Mode::ALL,
    |m| {
        probes::run(&m.sandbox(), &["sysfs"]).expect(m, &[("sys", "absent")]);
        let sb = m.sandbox().sysfs(true);
        let helper = if !Path::new("/sys/kernel/uevent_helper").exists() {
            "ENOENT"
        } else if m.has_userns() {
            "EACCES"
        } else {
            "EROFS"
        };
        let p = probes::run(&sb, &["sysfs"]);
        p.expect(m, &[("sys", "mounted"), ("sys_uevent_helper", helper), ("sys_mkdir", "EROFS")]);
        let p = probes::run(&sb, &["mountinfo"]);
        p.assert_exit(0);
        let opts = mount_options(&p, "/sys").unwrap_or_else(|| panic!("no mount on /sys:\n{}", p.dump()));
        assert!(opts.split(',').any(|o| o == "ro"), "{m:?}: /sys is mounted {opts}");
    }
);

attack_test!(
    /// Checklist line 10: Mounting fails (tmpfs, a bind of `/`, a new proc, the new mount API),
    /// also after trying to make a user namespace, which itself fails.
    line10_mounting_anything_fails,
    Mode::ALL,
    |m| {
        let all_refused = [
            ("mount_tmpfs", "EPERM"),
            ("mount_bind_root", "EPERM"),
            ("mount_proc", "EPERM"),
            ("fsopen_tmpfs", "EPERM"),
            ("mount_tmpfs_after_userns", "EPERM"),
            ("mount_proc_after_userns", "EPERM"),
        ];
        let p = probes::run(&m.sandbox(), &["mounts"]);
        p.expect(m, &all_refused);
        p.expect(m, &[("unshare_user", "EPERM")]);
        // With user namespaces allowed, one can be made, and mounting still fails.
        let p = probes::run(&m.sandbox().seccomp(Seccomp::default_filter().allow_user_namespaces(true)), &["mounts"]);
        p.expect(m, &all_refused);
        p.expect(m, &[("unshare_user", "ok")]);
        // Without any filter, the missing capabilities refuse every mount.
        let p = probes::run(&m.sandbox().seccomp(Seccomp::disabled()), &["mounts"]);
        p.expect(m, &all_refused);
        p.expect(m, &[("unshare_user", "ok")]);
    }
);

/// What the sandbox's `/dev` holds, as the probe lists it (name:kind).
const DEV_LISTING: &str =
    "fd:l,full:c,null:c,ptmx:l,pts:d,random:c,shm:d,stderr:l,stdin:l,stdout:l,tty:c,urandom:c,zero:c";

attack_test!(
    /// Checklist line 11: `mknod` of character and block devices fails, and `/dev` holds exactly
    /// `null zero full random urandom tty pts shm ptmx fd stdin stdout stderr`,
    /// whatever the rootfs's own `/dev` holds.
    line11_no_device_nodes_can_be_made_and_dev_is_minimal,
    Mode::ALL,
    |m| {
        let want = [
            ("mknod_char", "EPERM"),
            ("mknod_block", "EPERM"),
            ("dev", DEV_LISTING),
            ("dev_block_devices", "none"),
        ];
        probes::run(&m.sandbox(), &["devices"]).expect(m, &want);
        probes::run(&m.sandbox().seccomp(Seccomp::disabled()), &["devices"]).expect(m, &want);
        if m != Mode::Rootless && probes::probes_are_static() && Path::new(common::BUSYBOX).is_file() {
            // A rootfs whose /dev holds a block device and the host's disk.
            let rootfs = common::fresh_rootfs();
            for (name, kind, dev) in [("loop0", libc::S_IFBLK, (7, 0)), ("mem", libc::S_IFCHR, (1, 1))] {
                let path = CString::new(rootfs.join("dev").join(name).into_os_string().into_encoded_bytes()).unwrap();
                // SAFETY: a valid C string.
                let rc = unsafe { libc::mknod(path.as_ptr(), kind | 0o666, libc::makedev(dev.0, dev.1)) };
                assert_eq!(rc, 0, "mknod: {}", std::io::Error::last_os_error());
            }
            probes::run(&m.sandbox().chroot(rootfs.path()), &["devices"]).expect(m, &want);
        }
    }
);

attack_test!(
    /// Checklist line 12: Packet and raw sockets cannot be made.
    line12_packet_and_raw_sockets_fail,
    Mode::ALL,
    |m| {
        let want = [("socket_packet", "EPERM"), ("socket_raw_inet", "EPERM"), ("socket_raw_inet6", "EPERM")];
        probes::run(&m.sandbox(), &["sockets"]).expect(m, &want);
        probes::run(&m.sandbox().seccomp(Seccomp::disabled()), &["sockets"]).expect(m, &want);
    }
);

/// Environment variable naming a fixture a root test prepared for its rootless
/// child.
const FIXTURE_ENV: &str = "CTMTEST_FIXTURE";

/// The fixture directory of a rootless child.
fn fixture() -> PathBuf {
    PathBuf::from(std::env::var_os(FIXTURE_ENV).expect("the fixture of the parent test"))
}

/// Runs `setpriv --reuid 1000 --regid 1000 --clear-groups exe` on the host and
/// returns what the probe printed.
fn run_as_1000_on_host(exe: &Path) -> Probe {
    let out = std::process::Command::new("setpriv")
        .args(["--reuid", "1000", "--regid", "1000", "--clear-groups"])
        .arg(exe)
        .output()
        .expect("run setpriv");
    Probe::new(containment::Output {
        status: ExitStatus::Exited(out.status.code().unwrap_or(-1)),
        oom_killed: false,
        timed_out: false,
        usage: Default::default(),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// Checklist line 13: A setuid-root binary and a binary with file capabilities gain nothing
/// (`no_new_privs`, an empty bounding set), in a root where setuid works (a
/// chroot) and on a bind.
#[test]
fn line13_setuid_and_file_capabilities_gain_nothing() {
    const NAME: &str = "line13_setuid_and_file_capabilities_gain_nothing";
    require_probes!();
    if !probes::can_run() || !have_busybox() {
        return;
    }
    let rootfs = if is_rootless_child() {
        None
    } else {
        if std::process::Command::new("setcap").arg("-v").output().is_err()
            && probes::skip("needs setcap (libcap2-bin)")
        {
            return;
        }
        let rootfs = common::fresh_rootfs();
        let bin = |n: &str| rootfs.join("bin").join(n);
        for exe in ["suid", "fcap", "fcap-p"] {
            probes::copy_file(&probes::attack(), &bin(exe));
        }
        probes::host("chown", &[OsStr::new("0:0"), bin("suid").as_os_str()]);
        probes::host("chmod", &[OsStr::new("4755"), bin("suid").as_os_str()]);
        probes::host("setcap", &[OsStr::new("cap_net_raw,cap_sys_admin+ep"), bin("fcap").as_os_str()]);
        probes::host("setcap", &[OsStr::new("cap_net_raw,cap_sys_admin+p"), bin("fcap-p").as_os_str()]);
        // The controls: outside a sandbox each really raises privileges.
        let p = run_as_1000_on_host(&bin("suid"));
        p.expect("setuid control", &[("euid", "0"), ("ruid", "1000")]);
        let p = run_as_1000_on_host(&bin("fcap"));
        p.expect("file capability control", &[("euid", "1000"), ("CapEff", "0000000000202000")]);
        let p = run_as_1000_on_host(&bin("fcap-p"));
        p.expect("file capability control", &[("CapPrm", "0000000000202000"), ("CapEff", "0000000000000000")]);
        Some(rootfs)
    };
    let fixture_path = rootfs.as_ref().map(|r| r.path().to_path_buf());
    let env = fixture_path.as_ref().map(|p| vec![(FIXTURE_ENV, p.as_os_str())]).unwrap_or_default();
    in_modes_with_env(NAME, &Mode::ALL, &env, |m| {
        let root = fixture_path.clone().unwrap_or_else(fixture);
        let nothing = [("CapPrm", "0000000000000000"), ("CapEff", "0000000000000000"), ("NoNewPrivs", "1")];
        // A file whose capabilities are "effective" and cannot all be granted (the
        // bounding set is empty) is refused by execve: the kernel's rule for
        // programs unaware of capabilities.
        let fcap_refused = true;
        let users: &[Option<(u32, u32)>] = if m == Mode::Rootless { &[None] } else { &[None, Some((1000, 1000))] };
        for user in users {
            let uid = user.map_or("0".to_string(), |u| u.0.to_string());
            let with_user = |sb: Sandbox| match user {
                Some((u, g)) => sb.user(*u, *g),
                None => sb,
            };
            for exe in ["suid", "fcap", "fcap-p"] {
                let what = (m, exe, user);
                let chrooted = with_user(m.sandbox().chroot(&root));
                let bound = with_user(m.sandbox());
                // (A bind is nosuid, which ignores file capabilities too.)
                let cmds = [
                    (chrooted.command(format!("/bin/{exe}")), fcap_refused),
                    (bound.command_from_host(root.join("bin").join(exe)), false),
                ];
                for (mut cmd, refused) in cmds {
                    cmd.stdin(Stdio::null());
                    if exe == "fcap" && refused {
                        match cmd.output() {
                            Err(Error::NotExecutable { errno: Errno::EPERM, .. }) => continue,
                            other => panic!("{what:?}: {other:?}"),
                        }
                    }
                    let p = probes::run_cmd(&mut cmd);
                    p.expect(what, &nothing);
                    p.expect(what, &[("euid", &uid), ("ruid", &uid)]);
                }
            }
        }
    });
    drop(rootfs);
}

attack_test!(
    /// Checklist line 14: Every capability set is empty, `no_new_privs` is set and the filter is
    /// on, as root inside and as another user.
    line14_every_capability_set_is_empty,
    Mode::ALL,
    |m| {
        let want = [
            ("CapInh", "0000000000000000"),
            ("CapPrm", "0000000000000000"),
            ("CapEff", "0000000000000000"),
            ("CapBnd", "0000000000000000"),
            ("CapAmb", "0000000000000000"),
            ("NoNewPrivs", "1"),
            ("Seccomp", "2"),
        ];
        probes::run(&m.sandbox(), &["status"]).expect(m, &want);
        if m != Mode::Rootless {
            probes::run(&m.sandbox().user(1000, 1000), &["status"]).expect(m, &want);
            probes::run(&m.sandbox().user(65534, 65534), &["status"]).expect(m, &want);
        }
    }
);

/// `keyctl` through `libc::syscall`, with integer arguments.
fn keyctl(op: libc::c_long, a: libc::c_long) -> libc::c_long {
    // SAFETY: keyctl operations whose arguments are integers or NULL.
    unsafe { libc::syscall(libc::SYS_keyctl, op, a, 0, 0, 0) }
}

/// A `user` key in a new session keyring of the calling thread (the one that
/// spawns the sandbox, whose keyrings the sandbox would inherit); invalidated
/// when dropped.
struct HostKey {
    id: libc::c_long,
    desc: String,
}

impl HostKey {
    fn new(tag: &str) -> HostKey {
        const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
        const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
        assert!(keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0) > 0, "join a session keyring: errno {}", last_errno());
        let desc = common::unique_name(tag);
        let cdesc = CString::new(desc.clone()).unwrap();
        // SAFETY: add_key with valid C strings and a payload of 6 bytes.
        let id = unsafe {
            libc::syscall(
                libc::SYS_add_key,
                c"user".as_ptr(),
                cdesc.as_ptr(),
                c"secret".as_ptr(),
                6usize,
                KEY_SPEC_SESSION_KEYRING,
            )
        };
        assert!(id > 0, "add_key: errno {}", last_errno());
        HostKey { id, desc }
    }
}

impl Drop for HostKey {
    fn drop(&mut self) {
        const KEYCTL_INVALIDATE: libc::c_long = 21;
        keyctl(KEYCTL_INVALIDATE, self.id);
    }
}

attack_test!(
    /// Checklist line 15: A key the host put in its session keyring is not visible inside: the
    /// keyring system calls are refused, and `/proc/keys` is masked.
    line15_host_keys_are_not_visible,
    Mode::ALL,
    |m| {
        let key = HostKey::new("key");
        let p = probes::run(&m.sandbox(), &["keys", &key.desc]);
        let proc_keys = if Path::new("/proc/keys").exists() { "empty" } else { "absent" };
        p.expect(
            m,
            &[
                ("keyctl_session", "EPERM"),
                ("add_key", "EPERM"),
                ("host_key", "EPERM"),
                ("request_host_key", "EPERM"),
                ("proc_keys", proc_keys),
            ],
        );
    }
);

attack_test!(
    /// Checklist line 15, without the filter: the program's session keyring is a
    /// new one, so the host's keys stay out of reach even when `keyctl` is
    /// allowed (as runc does by joining a fresh session keyring).
    line15_host_keys_are_not_visible_without_the_filter,
    Mode::ALL,
    |m| {
        let key = HostKey::new("key");
        let p = probes::run(&m.sandbox().seccomp(Seccomp::disabled()), &["keys", &key.desc]);
        p.expect(m, &[("keyctl_session", "ok"), ("host_key", "absent"), ("request_host_key", "absent")]);
    }
);

/// A host process, killed and reaped when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sets its flag when dropped (stops a helper thread even when a test panics).
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Swaps `a` and `b` (a directory and a symlink) atomically until `stop`.
fn swap_until(a: PathBuf, b: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let (a, b) = (CString::new(a.into_os_string().into_encoded_bytes()).unwrap(), {
            CString::new(b.into_os_string().into_encoded_bytes()).unwrap()
        });
        let mut swaps = 0;
        while !stop.load(Ordering::Relaxed) {
            // SAFETY: valid C strings.
            let rc = unsafe {
                libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE)
            };
            assert_eq!(rc, 0, "renameat2: {}", std::io::Error::last_os_error());
            swaps += 1;
        }
        swaps
    })
}

/// The entries of a directory, sorted.
fn entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect()
}

/// Checklist line 16: A bind destination through a symlink planted in the rootfs (pointing at a
/// host path), also while the host swaps a directory and such a symlink 200 times
/// over: the mount lands inside the rootfs or setup fails; the host path is never
/// touched or mounted over.
#[test]
fn line16_bind_through_a_planted_symlink_never_reaches_the_host() {
    require_probes!();
    if !have_busybox() {
        return;
    }
    in_modes("line16_bind_through_a_planted_symlink_never_reaches_the_host", &Mode::ALL, |m| {
        let mounts = HostMounts::snapshot();
        let target = TempDir::new("target"); // the host path the symlinks aim at
        let src = TempDir::new("src");
        std::fs::write(src.join("hosts"), "marker\n").unwrap();
        let rootfs = common::fresh_rootfs();
        let hostile = format!("../../../..{}", target.path().display());
        std::fs::remove_file(rootfs.join("etc/hosts")).ok();
        symlink(format!("{hostile}/hosts"), rootfs.join("etc/hosts")).unwrap();
        // Resolved inside the root, the link points into the private /tmp, where
        // nothing exists: setup fails cleanly.
        let sb = m.sandbox().chroot(rootfs.path()).bind_ro(src.join("hosts"), "/etc/hosts");
        match sb.command("/bin/cat").arg("/etc/hosts").stdin(Stdio::null()).output() {
            Err(Error::Setup { stage: Stage::MountPoint, errno: Errno::ENOENT, path }) => {
                assert_eq!(path.as_deref(), Some(Path::new("/etc/hosts")))
            }
            other => panic!("{m:?}: {other:?}"),
        }
        // Without a private /tmp the link's target exists inside the rootfs: the
        // mount lands there.
        let inside = rootfs.join(target.path().strip_prefix("/").unwrap());
        std::fs::create_dir(&inside).unwrap();
        std::fs::write(inside.join("hosts"), "rootfs\n").unwrap();
        let out = sb.clone().private_tmp(false).command("/bin/cat").arg("/etc/hosts").stdin(Stdio::null()).output();
        let out = out.unwrap_or_else(|e| panic!("{m:?}: {e}"));
        assert_eq!((out.status, text(&out.stdout)), (ExitStatus::Exited(0), "marker\n".into()), "{m:?}");
        assert_eq!(std::fs::read_to_string(inside.join("hosts")).unwrap(), "rootfs\n");
        assert!(entries(target.path()).is_empty(), "{m:?}: the host path was touched");

        // The race: etc/d is a directory or a symlink to the host path, swapped
        // with etc/d-alt as fast as the host can.
        std::fs::create_dir(rootfs.join("etc/d")).unwrap();
        std::fs::write(rootfs.join("etc/d/hosts"), "rootfs\n").unwrap();
        symlink(&hostile, rootfs.join("etc/d-alt")).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let swapper = swap_until(rootfs.join("etc/d"), rootfs.join("etc/d-alt"), stop.clone());
        let stop_guard = StopOnDrop(stop.clone());
        let sb = m.sandbox().chroot(rootfs.path()).bind_ro(src.join("hosts"), "/etc/d/hosts");
        let (mut landed, mut failed, mut moved) = (0, 0, 0);
        for _ in 0..200 {
            match sb.command("/bin/cat").arg("/etc/d/hosts").stdin(Stdio::null()).output() {
                Ok(out) if out.status == ExitStatus::Exited(0) && out.stdout == b"marker\n" => landed += 1,
                // The bind landed, then the host swapped the directory away.
                Ok(out) if out.status == ExitStatus::Exited(1) && out.stdout.is_empty() => moved += 1,
                Err(Error::Setup { stage: Stage::MountPoint, errno: Errno::ENOENT | Errno::ENOTDIR, .. }) => {
                    failed += 1
                }
                other => panic!("{m:?}: unexpected outcome {other:?}"),
            }
            assert!(entries(target.path()).is_empty(), "{m:?}: the host path was touched");
        }
        drop(stop_guard);
        let swaps = swapper.join().expect("the swapping thread");
        eprintln!("{m:?}: {landed} landed inside, {moved} swapped away after, {failed} failed; {swaps} swaps");
        assert!(landed > 0, "{m:?}: the bind never landed");
        assert!(entries(target.path()).is_empty(), "{m:?}: the host path was touched");
        mounts.assert_unchanged();
    });
}

attack_test!(
    /// Checklist line 17: Destinations with `..` are rejected with a typed error, before anything
    /// is made; a working directory of `..`s stays at the root (line 4).
    line17_destinations_with_dotdot_are_rejected,
    Mode::ALL,
    |m| {
        let mounts = HostMounts::snapshot();
        for dst in ["../../etc", "/a/../../b", "/..", "/a/..", "/tmp/../etc", "etc", "a/../b"] {
            let sbs =
                [m.sandbox().bind_ro("/usr", dst), m.sandbox().bind("/tmp", dst), m.sandbox().tmpfs(dst, mem("1M"))];
            for sb in sbs {
                match sb.command("/bin/true").stdin(Stdio::null()).output() {
                    Err(Error::InvalidValue { kind: containment::ValueKind::Path, value, .. }) => {
                        assert_eq!(value, dst, "{m:?}")
                    }
                    other => panic!("{m:?}: destination {dst:?}: {other:?}"),
                }
            }
            assert!(containment::validate_destination(Path::new(dst)).is_err(), "{dst}");
        }
        mounts.assert_unchanged();
    }
);

/// Checklist line 18: A hostile rootfs: `/proc` or `/dev` a symlink (to a host path) makes setup
/// fail cleanly with ELOOP at the mount point, leaving nothing behind; a
/// `/dev/null` pointing into `/proc/sys` does not matter, `/dev` is containment's
/// own.
#[test]
fn line18_hostile_rootfs_fails_cleanly() {
    require_probes!();
    if !have_busybox() {
        return;
    }
    in_modes("line18_hostile_rootfs_fails_cleanly", &Mode::ALL, |m| {
        let mounts = HostMounts::snapshot();
        for dir in ["proc", "dev"] {
            let rootfs = common::fresh_rootfs();
            let host_path = common::unique_tmp_path("hostile");
            std::fs::remove_dir(rootfs.join(dir)).unwrap();
            symlink(format!("../../../..{}", host_path.display()), rootfs.join(dir)).unwrap();
            let before = entries(rootfs.path());
            let err = m.sandbox().chroot(rootfs.path()).command("/bin/true").stdin(Stdio::null()).output();
            match err {
                Err(Error::Setup { stage: Stage::MountPoint, errno: Errno::ELOOP, path }) => {
                    assert_eq!(path, Some(PathBuf::from(format!("/{dir}"))), "{m:?}")
                }
                other => panic!("{m:?}: /{dir} a symlink: {other:?}"),
            }
            assert!(!host_path.exists(), "{m:?}: {} was created", host_path.display());
            assert_eq!(entries(rootfs.path()), before, "{m:?}: the rootfs changed");
            assert!(std::fs::symlink_metadata(rootfs.join(dir)).unwrap().file_type().is_symlink());
        }
        // /dev/null pointing at a kernel tunable.
        let rootfs = common::fresh_rootfs();
        symlink("../proc/sys/kernel/core_pattern", rootfs.join("dev/null")).unwrap();
        let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
        if probes::probes_are_static() {
            let p = probes::run(&m.sandbox().chroot(rootfs.path()), &["stat", "/dev/null"]);
            p.assert_exit(0);
            let stat = p.get("stat");
            assert!(stat.ends_with(":666:1:3"), "{m:?}: /dev/null is {stat}");
        }
        let mut cmd = m.sandbox().chroot(rootfs.path()).command("/bin/sh");
        cmd.args(["-c", "echo '|/bin/evil' > /dev/null"]).stdin(Stdio::null());
        let out = cmd.output().unwrap_or_else(|e| panic!("{m:?}: {e}"));
        assert_eq!(out.status, ExitStatus::Exited(0), "{m:?}: {}", text(&out.stderr));
        assert_eq!(std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(), pattern);
        assert!(std::fs::symlink_metadata(rootfs.join("dev/null")).unwrap().file_type().is_symlink());
        mounts.assert_unchanged();
    });
}

/// Checklist line 19: Root inside is not root outside with a user namespace: without idmapped
/// binds, what it writes is owned by its unprivileged host id and root's private
/// files are unreadable; with them (the default), a root-owned host directory
/// bound read-write is writable and what is written is owned by the caller.
#[test]
fn line19_root_inside_is_not_root_outside() {
    const NAME: &str = "line19_root_inside_is_not_root_outside";
    require_probes!();
    if !probes::can_run() {
        return;
    }
    // A root-owned file of mode 0600, prepared by root for every mode.
    let secret_dir = (!is_rootless_child()).then(|| {
        let d = TempDir::new("secret");
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(d.join("secret"), "root only\n").unwrap();
        std::fs::set_permissions(d.join("secret"), std::fs::Permissions::from_mode(0o600)).unwrap();
        d
    });
    let secret_path = secret_dir.as_ref().map(|d| d.join("secret"));
    let env = secret_path.as_ref().map(|p| vec![(FIXTURE_ENV, p.as_os_str())]).unwrap_or_default();
    in_modes_with_env(NAME, &Mode::USERNS, &env, |m| {
        let secret = secret_path.clone().unwrap_or_else(fixture);
        let out = TempDir::new("out");
        std::fs::set_permissions(out.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let plain = m.sandbox().idmap_binds(false);
        // Writing on a read-write bind.
        let p = probes::run(&plain.clone().bind(out.path(), "/out"), &["write", "/out/f", "x"]);
        p.expect(m, &[("write", "ok")]);
        let meta = std::fs::metadata(out.join("f")).unwrap();
        match m {
            Mode::UserNs => {
                assert!(meta.uid() >= RANGE_BASE && (meta.uid() - RANGE_BASE) % 65536 == 0, "uid {}", meta.uid());
                assert_eq!(meta.gid(), meta.uid(), "gid");
            }
            _ => assert_eq!((meta.uid(), meta.gid()), (probes::NOBODY, probes::NOBODY)),
        }
        // Reading root's 0600 file, bound read-only.
        let p = probes::run(&plain.clone().bind_ro(&secret, "/secret"), &["read", "/secret"]);
        p.expect(m, &[("read", "EACCES")]);
        let p = probes::run(&plain.bind_ro(&secret, "/secret").seccomp(Seccomp::disabled()), &["read", "/secret"]);
        p.expect(m, &[("read", "EACCES")]);
        if m == Mode::UserNs {
            // Idmapped: a root-owned 0755 directory is root's inside, and what root
            // inside writes there is the caller's (uid 0) on the host.
            let dir = TempDir::new("idmapped");
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let p = probes::run(&m.sandbox().bind(dir.path(), "/out"), &["write", "/out/f", "x"]);
            p.expect(m, &[("write", "ok")]);
            let meta = std::fs::metadata(dir.join("f")).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (0, 0));
        }
    });
    drop(secret_dir);
}

/// The groups this process made under the default parent of the `pids`
/// hierarchy (v1) or the unified one.
fn our_groups() -> BTreeSet<PathBuf> {
    let prefix = format!("{}.", std::process::id());
    let mut out = BTreeSet::new();
    for base in ["/sys/fs/cgroup/pids/containment", "/sys/fs/cgroup/containment"] {
        let Ok(dir) = std::fs::read_dir(base) else { continue };
        for e in dir.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                out.insert(e.path());
            }
        }
    }
    out
}

attack_test!(
    /// Checklist line 20: `/proc/self/cgroup` shows the sandbox's own group as `/` in every
    /// hierarchy, and no `cgroup.procs` of a parent can be written (there is no
    /// `/sys` by default; a read-only `/sys` has no cgroup tree in it).
    line20_cgroups_show_their_own_root_and_parents_are_out_of_reach,
    Mode::ALL,
    |m| {
        let _lock = limits_lock();
        let limited = |sb: Sandbox| if m == Mode::Rootless { sb } else { sb.pids(64) };
        for sb in [limited(m.sandbox()), limited(m.sandbox().sysfs(true))] {
            let p = probes::run(&sb, &["cgroups"]);
            p.expect(m, &[("cgroup_procs_write", "absent")]);
            let lines = p.all("cgroup");
            assert!(!lines.is_empty(), "{}", p.dump());
            for l in lines {
                assert_eq!(l.splitn(3, ':').nth(2), Some("/"), "{m:?}: {l}");
            }
        }
        if m != Mode::Rootless {
            assert!(our_groups().is_empty(), "{m:?}: groups left: {:?}", our_groups());
        }
    }
);

/// Host pids of processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else { continue };
        if cmdline.split(|b| *b == 0).any(|a| a == marker.as_bytes()) {
            out.push(pid);
        }
    }
    out
}

/// Reads `RESULT` lines from the child's stdout until `last` was read.
fn read_results_until(child: &mut containment::Child, last: &str) -> Vec<(String, String)> {
    let mut results = Vec::new();
    loop {
        let line = common::read_line_from(child);
        if let Some((k, v)) = line.strip_prefix("RESULT ").and_then(|l| l.split_once(' ')) {
            results.push((k.to_string(), v.to_string()));
            if k == last {
                return results;
            }
        }
    }
}

attack_test!(
    /// Checklist line 21: A fork bomb under `pids(16)`: fork fails with EAGAIN at the limit, the
    /// host stays responsive, and the end of the sandbox takes every process of
    /// the bomb and its group down.
    line21_fork_bomb_is_stopped_and_torn_down,
    Mode::ROOT,
    |m| {
        let _lock = limits_lock();
        let marker = common::unique_name("bomb");
        let mut cmd = m.sandbox().pids(16).command_from_host(probes::attack());
        cmd.args(["forkbomb", "hold", &marker]).stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{m:?}: {e}"));
        let results = read_results_until(&mut child, "fork");
        assert_eq!(results, [("forked".to_string(), "15".to_string()), ("fork".into(), "EAGAIN".into())], "{m:?}");
        // Responsive: the host still starts a process at once.
        let t = Instant::now();
        let st = std::process::Command::new("true").status().expect("run true on the host");
        assert!(st.success() && t.elapsed() < Duration::from_secs(5), "{m:?}: the host is slow: {:?}", t.elapsed());
        assert_eq!(processes_with(&marker).len(), 16, "{m:?}: the program and its 15 children");
        assert_eq!(our_groups().len(), 1, "{m:?}: one group while it runs");
        drop(child.stdin.take());
        let out = child.wait().expect("wait");
        assert_eq!(out.status, ExitStatus::Exited(0), "{m:?}");
        let gone = common::wait_until(Duration::from_secs(5), || processes_with(&marker).is_empty());
        assert!(gone, "{m:?}: processes of the bomb survived: {:?}", processes_with(&marker));
        assert!(our_groups().is_empty(), "{m:?}: groups left: {:?}", our_groups());
    }
);

attack_test!(
    /// Checklist line 22: A memory bomb under `memory(32M)` is killed and reported as OOM-killed;
    /// also when only a child of the program is killed and the program goes on.
    line22_memory_bomb_is_oom_killed_and_reported,
    Mode::ROOT,
    |m| {
        let _lock = limits_lock();
        let sb = m.sandbox().memory(mem("32M"));
        let p = probes::run(&sb, &["membomb"]);
        assert_eq!(p.output.status, ExitStatus::Signaled(libc::SIGKILL), "{m:?}: {}", p.dump());
        assert!(p.output.oom_killed, "{m:?}: oom_killed");
        assert!(p.results.is_empty(), "{m:?}: the bomb was not stopped: {}", p.dump());
        let sb = sb.bind_ro(probes::attack(), "/probe/attack");
        let mut cmd = sb.command("/bin/sh");
        cmd.args(["-c", "(/probe/attack membomb); echo survived"]).stdin(Stdio::null());
        let p = probes::run_cmd(&mut cmd);
        assert_eq!(p.output.status, ExitStatus::Exited(0), "{m:?}: {}", p.dump());
        assert_eq!(text(&p.output.stdout), "survived\n", "{m:?}");
        assert!(p.output.oom_killed, "{m:?}: oom_killed when only a child was killed");
        assert!(our_groups().is_empty(), "{m:?}: groups left: {:?}", our_groups());
    }
);

attack_test!(
    /// Checklist line 23: Filling a tmpfs of 1M stops at 1M with ENOSPC.
    line23_a_full_tmpfs_gives_enospc,
    Mode::ALL,
    |m| {
        let sb = m.sandbox().tmpfs("/scratch", mem("1M"));
        let p = probes::run(&sb, &["fill", "/scratch/f"]);
        p.expect(m, &[("fill", "ENOSPC"), ("filled", "1048576")]);
    }
);

/// This machine's host name.
fn host_name() -> Vec<u8> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length.
    assert_eq!(unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) }, 0);
    buf[..buf.iter().position(|b| *b == 0).expect("NUL")].to_vec()
}

attack_test!(
    /// Checklist line 24: Setting the host name or the clock inside fails with EPERM and changes
    /// nothing outside (the system calls, `hostname evil` and `date -s`).
    line24_hostname_and_clock_changes_stay_inside_or_fail,
    Mode::ALL,
    |m| {
        let name = host_name();
        let (wall, mono) = (SystemTime::now(), Instant::now());
        let p = probes::run(&m.sandbox(), &["clock_and_name"]);
        p.expect(
            m,
            &[
                ("sethostname", "EPERM"),
                ("setdomainname", "EPERM"),
                ("clock_settime", "EPERM"),
                ("settimeofday", "EPERM"),
                ("hostname", "sandbox"),
            ],
        );
        let script =
            "hostname evil; echo hostname=$?; date -s '2001-01-01 00:00:00' >/dev/null; echo date=$?; hostname";
        let out = m.sandbox().command("/bin/sh").args(["-c", script]).stdin(Stdio::null()).output().unwrap();
        assert_eq!(text(&out.stdout), "hostname=1\ndate=1\nsandbox\n", "{m:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("date: cannot set date: Operation not permitted"), "{}", text(&out.stderr));
        assert_eq!(host_name(), name, "the host's name changed");
        let drift = SystemTime::now().duration_since(wall).map(|d| d.as_secs_f64()).unwrap_or(-1.0)
            - mono.elapsed().as_secs_f64();
        assert!(drift.abs() < 2.0, "{m:?}: the host's clock moved by {drift} s");
    }
);

/// Checklist line 25: The host's environment (a `SECRET=` variable) is not visible inside. The
/// test runs itself again with `SECRET` set, as root and as uid 65534.
#[test]
fn line25_host_environment_is_not_visible() {
    const NAME: &str = "line25_host_environment_is_not_visible";
    const CHILD: &str = "CTMTEST_SECRET_CHILD";
    require_probes!();
    let env = [("SECRET", OsStr::new("hunter2")), (CHILD, OsStr::new("1"))];
    if std::env::var_os(CHILD).is_none() {
        if probes::can_run() {
            probes::run_self(NAME, false, &env);
        }
        return;
    }
    assert_eq!(std::env::var("SECRET").as_deref(), Ok("hunter2"), "this run has the secret");
    in_modes_with_env(NAME, &Mode::ALL, &env, |m| {
        let p = probes::run(&m.sandbox(), &["env"]);
        p.expect(m, &[("env_secret", "absent"), ("env_count", "2")]);
        assert_eq!(
            text(&p.output.stdout).lines().filter(|l| l.starts_with("ENV ")).collect::<Vec<_>>(),
            ["ENV HOME=/".to_string(), format!("ENV PATH={DEFAULT_PATH}")],
            "{m:?}"
        );
    });
}

attack_test!(
    /// Checklist line 26: Exit codes and deaths by signal come back exactly; a missing program and
    /// a file that is not executable give distinct errors.
    line26_exit_status_is_transparent,
    Mode::ALL,
    |m| {
        for code in [0, 1, 42, 255] {
            let p = probes::run(&m.sandbox(), &["exit", &code.to_string()]);
            assert_eq!(p.output.status, ExitStatus::Exited(code), "{m:?}");
        }
        for sig in [libc::SIGKILL, libc::SIGSEGV, libc::SIGTERM, libc::SIGABRT] {
            let p = probes::run(&m.sandbox(), &["raise", &sig.to_string()]);
            assert_eq!(p.output.status, ExitStatus::Signaled(sig), "{m:?}");
        }
        match m.sandbox().command("/nonexistent/program").stdin(Stdio::null()).output() {
            Err(Error::ProgramNotFound { program }) => assert_eq!(program, Path::new("/nonexistent/program")),
            other => panic!("{m:?}: {other:?}"),
        }
        let dir = TempDir::new("noexec");
        std::fs::write(dir.join("data"), "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(dir.join("data"), std::fs::Permissions::from_mode(0o644)).unwrap();
        match m.sandbox().command_from_host(dir.join("data")).stdin(Stdio::null()).output() {
            Err(Error::NotExecutable { errno: Errno::EACCES, program }) => {
                assert_eq!(program, Path::new("/run/containment/data"))
            }
            other => panic!("{m:?}: {other:?}"),
        }
    }
);

/// A root for the calling thread that is not a mount point: `dir` with the host's
/// top-level directories bound into it (and its symlinks copied), entered with a
/// plain `chroot`, in a mount namespace of this thread's own.
fn chroot_thread_into_a_plain_directory(dir: &Path) {
    use nix::mount::{mount, MsFlags};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).expect("unshare(CLONE_NEWNS)");
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
        .expect("make / private");
    for e in std::fs::read_dir("/").expect("read /").flatten() {
        let (from, to) = (e.path(), dir.join(e.file_name()));
        let kind = e.file_type().expect("file type");
        if kind.is_symlink() {
            symlink(std::fs::read_link(&from).expect("readlink"), &to).expect("copy a symlink");
        } else if kind.is_dir() {
            std::fs::create_dir(&to).expect("mkdir");
            mount(Some(&from), &to, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
                .unwrap_or_else(|e| panic!("bind {} to {}: {e}", from.display(), to.display()));
        }
    }
    nix::unistd::chroot(dir).expect("chroot");
    std::env::set_current_dir("/").expect("chdir /");
}

/// A supervisor in a plain `chroot` (its root not a mount point) cannot make the
/// sandbox's mount tree private, and mounts made there could propagate to the
/// host's: spawning is refused with an error that says why and what to do, and
/// nothing is mounted on the host.
#[test]
fn a_supervisor_whose_root_is_not_a_mount_point_gets_a_clear_error() {
    require_probes!();
    if is_rootless_child() {
        return;
    }
    let mounts = HostMounts::snapshot();
    // (No user namespace: the kernel refuses to make one from a chroot.)
    let sandbox = Sandbox::new().user_namespace(containment::UserNamespace::Off);
    assert_eq!(
        sandbox.command("/bin/true").stdin(Stdio::null()).status().expect("spawn").status,
        ExitStatus::Exited(0)
    );
    let dir = TempDir::new("plain-root");
    std::thread::scope(|s| {
        s.spawn(|| {
            chroot_thread_into_a_plain_directory(dir.path());
            match sandbox.command("/bin/true").stdin(Stdio::null()).output() {
                Err(Error::Unsupported { feature, reason }) => {
                    assert!(feature.contains("root is not a mount point"), "{feature}");
                    assert!(reason.contains("bind-mount the chroot directory onto itself"), "{reason}");
                }
                other => panic!("a spawn from a plain chroot: {other:?}"),
            }
        })
        .join()
        .expect("the chrooted thread");
    });
    mounts.assert_unchanged();
}
