//! Identity and hardening: user namespaces and id ranges, run-as users, kept
//! capabilities, the seccomp filter, and the read-only and masked parts of
//! `/proc`. The probe is `tests/probes/attack.c` (see `tests/probes/mod.rs`).

mod common;
mod probes;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::{require_root, TempDir};
use containment::{
    known_syscalls, Capability, Error, IdMap, Sandbox, Seccomp, Stdio, UserNamespace, ValueKind, DEFAULT_DENIED,
    DEFAULT_RANGE_SIZE, RANGE_BASE,
};
use probes::{require_probes, Mode, Probe};

/// The start of the host range in a `0 <start> <count>` map line, after checking
/// the inside start and the count.
fn range_start(line: &str, count: u32) -> u32 {
    let f: Vec<u32> = line.split(' ').map(|x| x.parse().unwrap_or_else(|_| panic!("map line {line:?}"))).collect();
    assert_eq!((f.len(), f[0], f[2]), (3, 0, count), "map line {line:?}");
    f[1]
}

/// Checks that `start` is a range the allocator hands out.
fn assert_allocated_range(start: u32) {
    assert!(start >= RANGE_BASE, "{start} is below RANGE_BASE");
    assert_eq!((start - RANGE_BASE) % DEFAULT_RANGE_SIZE, 0, "{start} is not on a range boundary");
    assert!(u64::from(start) + u64::from(DEFAULT_RANGE_SIZE) <= 1 << 32, "{start}: the range passes the largest id");
}

/// The lease of the range starting at `start`.
fn lease_path(start: u32) -> PathBuf {
    PathBuf::from(format!("/run/containment/ids/{}", (start - RANGE_BASE) / DEFAULT_RANGE_SIZE))
}

/// Spawning `sandbox` (running `/bin/true`) fails with an `InvalidValue` of `kind`
/// whose value is `value`.
fn assert_invalid(sandbox: &Sandbox, kind: ValueKind, value: &str) {
    match sandbox.command("/bin/true").stdin(Stdio::null()).output() {
        Err(Error::InvalidValue { kind: k, value: v, .. }) => assert_eq!((k, v.as_str()), (kind, value), "{sandbox:?}"),
        other => panic!("{sandbox:?}: {other:?}"),
    }
}

#[test]
fn a_root_caller_gets_an_exclusive_aligned_range_by_default() {
    require_root!();
    require_probes!();
    let p = probes::run(&Sandbox::new(), &["uid_map"]);
    p.assert_exit(0);
    let (uid, gid) = (p.all("uid_map"), p.all("gid_map"));
    assert_eq!((uid.len(), gid.len()), (1, 1), "{}", p.dump());
    let start = range_start(uid[0], DEFAULT_RANGE_SIZE);
    assert_eq!(range_start(gid[0], DEFAULT_RANGE_SIZE), start, "the gid map is the uid map");
    assert_allocated_range(start);
    // A smaller range on request.
    let p = probes::run(&Sandbox::new().user_namespace(UserNamespace::Range { size: 1000 }), &["uid_map"]);
    assert_allocated_range(range_start(p.get("uid_map"), 1000));
}

#[test]
fn concurrent_sandboxes_have_disjoint_ranges_and_release_their_leases() {
    require_root!();
    let spawn = || {
        Sandbox::new().command("/bin/sleep").arg("30").stdin(Stdio::null()).spawn().expect("spawn a sleeping sandbox")
    };
    let mut children = [spawn(), spawn()];
    let mut starts = Vec::new();
    for c in &children {
        // The maps as the host sees them, read while both sandboxes hold theirs.
        let read = |f: &str| std::fs::read_to_string(format!("/proc/{}/{f}", c.pid())).expect("read the init's map");
        let uid = read("uid_map");
        let line = uid.split_whitespace().collect::<Vec<_>>().join(" ");
        let start = range_start(&line, DEFAULT_RANGE_SIZE);
        assert_eq!(read("gid_map"), uid, "the gid map is the uid map");
        assert_allocated_range(start);
        assert!(lease_path(start).exists(), "{} is held while the sandbox runs", lease_path(start).display());
        // The init runs as the range's first id, root of its namespace.
        let status = std::fs::read_to_string(format!("/proc/{}/status", c.pid())).unwrap();
        let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        let s = start.to_string();
        assert_eq!(uids.split_whitespace().skip(1).collect::<Vec<_>>(), [s.as_str(); 4], "{status}");
        starts.push(start);
    }
    let (a, b) = (starts[0], starts[1]);
    assert!(a.abs_diff(b) >= DEFAULT_RANGE_SIZE, "ranges {a} and {b} overlap");
    for c in &mut children {
        c.kill().expect("kill");
        c.wait().expect("wait");
    }
    for s in starts {
        assert!(!lease_path(s).exists(), "{} is left after the sandbox ended", lease_path(s).display());
    }
}

#[test]
fn explicit_maps_are_used_and_bad_maps_are_typed_errors() {
    require_root!();
    require_probes!();
    let m = |s: &str| s.parse::<IdMap>().expect("a map");
    let maps = UserNamespace::Maps { uid: vec![m("0:300000:1000"), m("1000:400000:1")], gid: vec![m("0:500000:1001")] };
    let p = probes::run(&Sandbox::new().user_namespace(maps.clone()), &["uid_map"]);
    p.assert_exit(0);
    assert_eq!(p.all("uid_map"), ["0 300000 1000", "1000 400000 1"], "{}", p.dump());
    assert_eq!(p.all("gid_map"), ["0 500000 1001"], "{}", p.dump());
    // The program runs as a mapped user: its files belong to the mapped host id.
    let out = TempDir::new("maps");
    std::fs::set_permissions(out.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let sb = Sandbox::new().user_namespace(maps).user(1000, 1000).idmap_binds(false).bind(out.path(), "/out");
    probes::run(&sb, &["write", "/out/f"]).expect("maps", &[("write", "ok")]);
    let meta = std::fs::metadata(out.join("f")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (400000, 501000));

    // Overlaps inside and outside, empty maps, a count of 0, ranges too large.
    let zero = IdMap { inside: 0, outside: 300000, count: 0 };
    let ok = vec![m("0:300000:10")];
    for (uid, gid) in [
        (vec![m("0:300000:10"), m("5:400000:10")], ok.clone()),
        (ok.clone(), vec![m("0:300000:10"), m("20:300005:10")]),
        (vec![], ok.clone()),
        (vec![zero], ok.clone()),
        (ok.clone(), vec![zero]),
    ] {
        let sb = Sandbox::new().user_namespace(UserNamespace::Maps { uid: uid.clone(), gid: gid.clone() });
        match sb.command("/bin/true").stdin(Stdio::null()).output() {
            Err(Error::InvalidValue { kind: ValueKind::Id, .. }) => {}
            other => panic!("{uid:?} {gid:?}: {other:?}"),
        }
    }
    assert!(matches!(IdMap::new(0, 300000, 0), Err(Error::InvalidValue { kind: ValueKind::Id, .. })));
    assert!(matches!("0:300000:0".parse::<IdMap>(), Err(Error::InvalidValue { kind: ValueKind::Id, .. })));
    assert!(matches!(IdMap::new(0, u32::MAX, 2), Err(Error::InvalidValue { kind: ValueKind::Id, .. })));
    for size in [0, DEFAULT_RANGE_SIZE + 1] {
        assert_invalid(&Sandbox::new().user_namespace(UserNamespace::Range { size }), ValueKind::Id, &size.to_string());
    }
}

#[test]
fn without_a_user_namespace_ids_are_the_hosts() {
    require_root!();
    require_probes!();
    let sb = Sandbox::new().user_namespace(UserNamespace::Off);
    let p = probes::run(&sb, &["uid_map"]);
    p.assert_exit(0);
    assert_eq!(p.all("uid_map"), ["0 0 4294967295"], "{}", p.dump());
    assert_eq!(p.all("gid_map"), ["0 0 4294967295"], "{}", p.dump());
    // Any id can be used then.
    probes::run(&sb.user(70000, 70001), &["ids"]).expect("off", &[("euid", "70000"), ("egid", "70001")]);
}

#[test]
fn the_program_runs_as_a_user_of_the_range_and_unmapped_ids_are_refused() {
    require_root!();
    require_probes!();
    let out = TempDir::new("user");
    std::fs::set_permissions(out.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let sb = Sandbox::new().user(1000, 1001).idmap_binds(false).bind(out.path(), "/out");
    probes::run(&sb, &["ids"]).expect("user", &[("euid", "1000"), ("ruid", "1000"), ("egid", "1001")]);
    probes::run(&sb, &["write", "/out/f"]).expect("user", &[("write", "ok")]);
    let meta = std::fs::metadata(out.join("f")).unwrap();
    let start = meta.uid() - 1000;
    assert_allocated_range(start);
    assert_eq!(meta.gid(), start + 1001, "the gid is from the same range");
    // The largest id of the range works; the ids past it are not mapped.
    probes::run(&Sandbox::new().user(65535, 65535), &["ids"]).expect("user", &[("euid", "65535")]);
    assert_invalid(&Sandbox::new().user(70000, 70000), ValueKind::Id, "70000");
    assert_invalid(&Sandbox::new().user(1000, 70001), ValueKind::Id, "70001");
    assert_invalid(&Sandbox::new().user(1000, 1000).groups([1002, 65536]), ValueKind::Id, "65536");
    let small = Sandbox::new().user_namespace(UserNamespace::Range { size: 100 });
    assert_invalid(&small.user(100, 0), ValueKind::Id, "100");
}

#[test]
fn kept_capabilities_are_exactly_the_ones_named() {
    require_root!();
    require_probes!();
    for m in Mode::ROOT {
        // By default nothing, and a privileged port is refused.
        probes::run(&m.sandbox(), &["bind_port", "80"]).expect(m, &[("bind_port", "EACCES")]);
        let one = "0000000000000400"; // bit 10, CAP_NET_BIND_SERVICE
        let none = "0000000000000000";
        let named = m.sandbox().capability_names(["net_bind_service"]);
        let typed = m.sandbox().capabilities([Capability::CAP_NET_BIND_SERVICE]);
        for sb in [named.clone(), typed] {
            let p = probes::run(&sb, &["ids"]);
            p.expect(
                m,
                &[("euid", "0"), ("CapEff", one), ("CapPrm", one), ("CapBnd", one), ("CapInh", one), ("CapAmb", none)],
            );
            probes::run(&sb, &["bind_port", "80"]).expect(m, &[("bind_port", "ok")]);
        }
        // As another user they are ambient, so they survive execve.
        let sb = named.user(1000, 1000);
        let p = probes::run(&sb, &["ids"]);
        p.expect(
            m,
            &[("euid", "1000"), ("CapEff", one), ("CapPrm", one), ("CapBnd", one), ("CapInh", one), ("CapAmb", one)],
        );
        probes::run(&sb, &["bind_port", "80"]).expect(m, &[("bind_port", "ok")]);
        // Unknown names are an error at spawn, naming the value.
        for bad in ["fly", "CAP_FLY", ""] {
            assert_invalid(&m.sandbox().capability_names([bad]), ValueKind::Argument, bad);
        }
    }
}

/// Runs the `syscalls` probe for `names` in `sandbox`.
fn call_each(sandbox: &Sandbox, names: &[&str]) -> Probe {
    let args: Vec<String> = names
        .iter()
        .map(|n| {
            let nr = known_syscalls().find(|(k, _)| k == n).unwrap_or_else(|| panic!("{n} is not known")).1;
            format!("{n}:{nr}")
        })
        .collect();
    let mut argv = vec!["syscalls"];
    argv.extend(args.iter().map(String::as_str));
    probes::run(sandbox, &argv)
}

#[test]
fn the_default_filter_refuses_each_listed_system_call_with_eperm() {
    require_root!();
    require_probes!();
    for m in Mode::ROOT {
        let p = call_each(&m.sandbox(), DEFAULT_DENIED);
        p.assert_exit(0);
        let got: Vec<String> = p.results.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let want: Vec<String> = DEFAULT_DENIED.iter().map(|n| format!("sys_{n} EPERM")).collect();
        assert_eq!(got, want, "{m:?}");
    }
}

#[test]
fn ptrace_is_refused_by_default_and_allowed_on_request() {
    require_root!();
    require_probes!();
    for m in Mode::ROOT {
        probes::run(&m.sandbox(), &["ptrace_child"]).expect(m, &[("ptrace_attach_child", "EPERM")]);
        let p = call_each(&m.sandbox(), &["process_vm_readv", "process_vm_writev"]);
        p.expect(m, &[("sys_process_vm_readv", "EPERM"), ("sys_process_vm_writev", "EPERM")]);
        let allowed = m.sandbox().seccomp(Seccomp::default_filter().allow_ptrace(true));
        probes::run(&allowed, &["ptrace_child"]).expect(m, &[("ptrace_attach_child", "ok")]);
        // (With no vectors there is nothing to do: it succeeds once let through.)
        let p = call_each(&allowed, &["process_vm_readv"]);
        p.expect(m, &[("sys_process_vm_readv", "ok")]);
    }
}

#[test]
fn user_namespaces_are_refused_by_default_and_allowed_on_request() {
    require_root!();
    require_probes!();
    for m in Mode::ROOT {
        let sb = m.sandbox();
        probes::run(&sb, &["unshare_user"]).expect(m, &[("unshare_user", "EPERM")]);
        probes::run(&sb, &["clone_user"]).expect(m, &[("clone_newuser", "EPERM")]);
        probes::run(&sb, &["clone3"]).expect(m, &[("clone3", "ENOSYS")]);
        let allowed = m.sandbox().seccomp(Seccomp::default_filter().allow_user_namespaces(true));
        probes::run(&allowed, &["unshare_user"]).expect(m, &[("unshare_user", "ok")]);
        probes::run(&allowed, &["clone_user"]).expect(m, &[("clone_newuser", "ok")]);
        probes::run(&allowed, &["clone3"]).expect(m, &[("clone3", "ok")]);
    }
}

#[test]
fn the_filter_can_be_disabled_or_extended() {
    require_root!();
    require_probes!();
    let io_uring_default = match std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").as_deref() {
        Ok("2\n") => "EPERM",
        _ => "EFAULT", // allowed: the NULL parameters are refused
    };
    for m in Mode::ROOT {
        probes::run(&m.sandbox(), &["status"]).expect(m, &[("Seccomp", "2"), ("Seccomp_filters", "1")]);
        let disabled = m.sandbox().seccomp(Seccomp::disabled());
        probes::run(&disabled, &["status"]).expect(m, &[("Seccomp", "0"), ("Seccomp_filters", "0")]);
        probes::run(&disabled, &["clone3"]).expect(m, &[("clone3", "ok")]);
        probes::run(&m.sandbox(), &["io_uring"]).expect(m, &[("io_uring_setup", io_uring_default)]);
        let deny = m.sandbox().seccomp(Seccomp::default_filter().deny("io_uring_setup"));
        probes::run(&deny, &["io_uring"]).expect(m, &[("io_uring_setup", "EPERM")]);
        let deny = m.sandbox().seccomp(Seccomp::default_filter().allow_user_namespaces(true).deny("io_uring_setup"));
        probes::run(&deny, &["io_uring"]).expect(m, &[("io_uring_setup", "EPERM")]);
        probes::run(&deny, &["status"]).expect(m, &[("Seccomp", "2"), ("Seccomp_filters", "1")]);
        assert_invalid(&m.sandbox().seccomp(Seccomp::default_filter().deny("frobnicate")), ValueKind::Argument, {
            "frobnicate"
        });
    }
}

#[test]
fn proc_tunables_are_read_only_and_sensitive_entries_masked() {
    require_root!();
    require_probes!();
    for m in Mode::ROOT {
        let p = probes::run(&m.sandbox(), &["mountinfo"]);
        p.assert_exit(0);
        let on = |point: &str| {
            p.all("mountinfo").into_iter().rev().find(|l| l.split(' ').nth(4) == Some(point)).map(str::to_string)
        };
        for name in ["sys", "sysrq-trigger", "irq", "bus", "fs"] {
            let point = format!("/proc/{name}");
            if !Path::new(&point).exists() {
                continue;
            }
            let line = on(&point).unwrap_or_else(|| panic!("{m:?}: no mount on {point}:\n{}", p.dump()));
            let opts = line.split(' ').nth(5).unwrap();
            assert!(opts.split(',').any(|o| o == "ro"), "{m:?}: {point} is mounted {opts}");
        }
        // Masked directories list nothing.
        for name in ["acpi", "asound", "scsi"] {
            let path = format!("/proc/{name}");
            if Path::new(&path).is_dir() {
                probes::run(&m.sandbox(), &["ls", &path]).expect((m, &path), &[("ls", "empty")]);
                probes::run(&m.sandbox(), &["write", &format!("{path}/x")]).expect((m, &path), &[("write", "EROFS")]);
            }
        }
        // Writing a tunable fails.
        // Refused by the read-only mount of /proc/sys, in every mode.
        let refused = "EROFS";
        let p = probes::run(&m.sandbox(), &["write", "/proc/sys/kernel/core_pattern", "|/bin/evil"]);
        p.expect(m, &[("write", refused)]);
        // Masked files read as empty.
        for name in ["kcore", "keys", "key-users", "timer_list", "sched_debug", "latency_stats"] {
            let path = format!("/proc/{name}");
            if Path::new(&path).exists() {
                let p = probes::run(&m.sandbox(), &["read", &path]);
                p.expect((m, &path), &[("read", "ok:")]);
            }
        }
    }
}
