//! Rootless operation: an ordinary user gets a working sandbox (its own ids mapped
//! to root inside), and a clear `NeedsPrivilege` for what only root may do.
//!
//! Run as root, each test runs itself again as uid and gid 65534 (`setpriv`, see
//! `tests/probes/mod.rs`); run as an ordinary user, it runs directly.

mod common;
mod probes;

use std::os::unix::fs::MetadataExt;

use common::{text, TempDir};
use containment::{Error, IdMap, Net, Sandbox, Stdio, UserNamespace};
use probes::{is_rootless_child, require_probes};

/// Runs `body` as an ordinary user: here when this process is not root, else in
/// the test `test` run again as uid 65534.
fn as_ordinary_user(test: &str, body: impl FnOnce()) {
    if is_rootless_child() || !common::is_root() {
        let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap_or_default();
        if max.trim() == "0" && probes::skip("user namespaces are disabled (user.max_user_namespaces = 0)") {
            return;
        }
        body();
    } else {
        probes::run_as_nobody(test, &[]);
    }
}

fn ids() -> (u32, u32) {
    (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())
}

/// Spawning `sandbox` fails with `NeedsPrivilege`; returns its feature.
fn needs_privilege(sandbox: &Sandbox) -> &'static str {
    match sandbox.command("/bin/true").stdin(Stdio::null()).output() {
        Err(Error::NeedsPrivilege { feature, how }) => {
            assert!(!how.is_empty(), "{feature}: says what to do");
            feature
        }
        other => panic!("{sandbox:?}: {other:?}"),
    }
}

#[test]
fn a_default_sandbox_works_with_the_callers_ids_as_root() {
    require_probes!();
    as_ordinary_user("a_default_sandbox_works_with_the_callers_ids_as_root", || {
        let out = Sandbox::new().command("/bin/sh").args(["-c", "id -u; id -g; echo ok"]).output().expect("spawn");
        assert_eq!(out.status, containment::ExitStatus::Exited(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "0\n0\nok\n");
        let (uid, gid) = ids();
        let p = probes::run(&Sandbox::new(), &["uid_map"]);
        p.assert_exit(0);
        assert_eq!(p.all("uid_map"), [format!("0 {uid} 1")], "{}", p.dump());
        assert_eq!(p.all("gid_map"), [format!("0 {gid} 1")], "{}", p.dump());
        let p = probes::run(&Sandbox::new(), &["read", "/proc/self/setgroups"]);
        p.expect("setgroups", &[("read", "ok:deny")]);
        // The explicit form of the same.
        let own = UserNamespace::Maps {
            uid: vec![IdMap::new(0, uid, 1).unwrap()],
            gid: vec![IdMap::new(0, gid, 1).unwrap()],
        };
        let p = probes::run(&Sandbox::new().user_namespace(own), &["uid_map"]);
        assert_eq!(p.all("uid_map"), [format!("0 {uid} 1")], "{}", p.dump());
        let p = probes::run(&Sandbox::new().user_namespace(UserNamespace::Own), &["uid_map"]);
        assert_eq!(p.all("uid_map"), [format!("0 {uid} 1")], "{}", p.dump());
    });
}

#[test]
fn cgroup_limits_without_a_delegated_parent_need_privilege() {
    as_ordinary_user("cgroup_limits_without_a_delegated_parent_need_privilege", || {
        let sbs = [
            Sandbox::new().memory("64M".parse().unwrap()),
            Sandbox::new().pids(16),
            Sandbox::new().cpus("0".parse().unwrap()),
            Sandbox::new().cpu_quota(0.5),
            Sandbox::new().cpu_weight(50),
        ];
        for sb in sbs {
            let feature = needs_privilege(&sb);
            assert!(feature.contains("cgroup"), "{feature}");
        }
    });
}

#[test]
fn a_bridge_network_needs_privilege() {
    as_ordinary_user("a_bridge_network_needs_privilege", || {
        let sb = Sandbox::new().net(Net::bridge("ctmtest-br", "10.77.0.2/24".parse().unwrap()));
        assert_eq!(needs_privilege(&sb), "a bridge network");
    });
}

#[test]
fn host_id_ranges_and_no_user_namespace_need_privilege() {
    as_ordinary_user("host_id_ranges_and_no_user_namespace_need_privilege", || {
        let (uid, gid) = ids();
        let others = UserNamespace::Maps {
            uid: vec![IdMap::new(0, uid, 1).unwrap(), IdMap::new(1, 100000, 10).unwrap()],
            gid: vec![IdMap::new(0, gid, 1).unwrap()],
        };
        for ns in [UserNamespace::Off, UserNamespace::Range { size: 10 }, others] {
            needs_privilege(&Sandbox::new().user_namespace(ns));
        }
    });
}

#[test]
fn a_bind_of_the_callers_own_directory_is_writable() {
    require_probes!();
    as_ordinary_user("a_bind_of_the_callers_own_directory_is_writable", || {
        let dir = TempDir::new("own");
        let p = probes::run(&Sandbox::new().bind(dir.path(), "/out"), &["write", "/out/f", "from inside"]);
        p.expect("rw bind", &[("write", "ok")]);
        let meta = std::fs::metadata(dir.join("f")).unwrap();
        assert_eq!((meta.uid(), meta.gid()), ids(), "owned by the caller");
        assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "from inside");
        let p = probes::run(&Sandbox::new().bind_ro(dir.path(), "/out"), &["write", "/out/g"]);
        p.expect("ro bind", &[("write", "EROFS")]);
    });
}

#[test]
fn a_chroot_into_the_callers_own_busybox_rootfs_works() {
    as_ordinary_user("a_chroot_into_the_callers_own_busybox_rootfs_works", || {
        if !std::path::Path::new(common::BUSYBOX).is_file() && probes::skip("needs the static /bin/busybox") {
            return;
        }
        let rootfs = common::fresh_rootfs();
        let data = TempDir::new("data");
        std::fs::write(data.join("in"), "data\n").unwrap();
        let sb = Sandbox::new().chroot(rootfs.path()).bind(data.path(), "/data");
        let script = "echo hi; id -u; ls /; cat /data/in; echo out > /data/out";
        let out = sb.command("/bin/sh").args(["-c", script]).output().expect("spawn");
        assert_eq!(out.status, containment::ExitStatus::Exited(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "hi\n0\nbin\ndata\ndev\netc\nproc\ntmp\ndata\n");
        assert_eq!(std::fs::read_to_string(data.join("out")).unwrap(), "out\n");
        assert!(rootfs.join("data").is_dir(), "the missing mount point was made in the rootfs");
    });
}

#[test]
fn a_long_lived_sandbox_runs_programs_for_an_ordinary_user() {
    require_probes!();
    as_ordinary_user("a_long_lived_sandbox_runs_programs_for_an_ordinary_user", || {
        let running = Sandbox::new().hostname("rootless-box").start().expect("start");
        let out = running
            .command("/bin/sh")
            .args(["-c", "echo shared > /tmp/f; id -u; hostname"])
            .stdin(Stdio::null())
            .output()
            .expect("run a program in it");
        assert_eq!(out.status, containment::ExitStatus::Exited(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "0\nrootless-box\n");
        let out = running.command("/bin/cat").arg("/tmp/f").stdin(Stdio::null()).output().expect("a second one");
        assert_eq!(text(&out.stdout), "shared\n", "{}", text(&out.stderr));
        let init = running.pid();
        running.stop(std::time::Duration::from_secs(2)).expect("stop");
        assert!(!std::path::Path::new(&format!("/proc/{init}")).exists(), "the init is gone");
    });
}
