//! Tests of the `contain` command-line tool (`examples/contain.rs`), run as a
//! separate process. They need root; without it they are skipped, unless
//! `CONTAINMENT_MUST_WORK=1` says they must run.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

mod cgroups;
mod common;

use cgroups::TestParent;

/// Whether the test can run; prints why not when it cannot.
fn have_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("CONTAINMENT_MUST_WORK").is_some_and(|v| v == "1") {
        panic!("the sandbox needs root (CAP_SYS_ADMIN), and CONTAINMENT_MUST_WORK=1 says these tests must run");
    }
    println!("skipped: needs root");
    false
}

/// The `contain` example, built for the profile of this test binary:
/// `target/<profile>/examples/contain`.
///
/// `cargo test` builds examples before running integration tests, but
/// `cargo test --test cli` does not, so the first call builds it (a no-op when it is
/// up to date) so that a missing or stale binary is never tested.
fn contain_path() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("current_exe");
            let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "--quiet", "--package", "containment", "--example", "contain", "--manifest-path"]);
            cargo.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
            match profile_dir.file_name().and_then(OsStr::to_str) {
                Some("debug") => {}
                Some("release") => {
                    cargo.arg("--release");
                }
                Some(other) => {
                    cargo.args(["--profile", other]);
                }
                None => panic!("no profile directory above {}", exe.display()),
            }
            if let Some(target_dir) = profile_dir.parent() {
                cargo.arg("--target-dir").arg(target_dir);
            }
            let status = cargo.status().expect("running cargo build --example contain");
            assert!(status.success(), "cargo build --example contain failed: {status}");
            let path = profile_dir.join("examples").join("contain");
            assert!(path.exists(), "{} is missing after building it", path.display());
            path
        })
        .clone()
}

/// A `contain` command with the given arguments and standard input from `/dev/null`.
fn contain<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Command {
    let mut cmd = Command::new(contain_path());
    cmd.args(args).stdin(Stdio::null());
    cmd
}

/// Runs `contain` with `args` to its end.
fn run<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Output {
    contain(args).output().expect("running contain")
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or_else(|| panic!("contain itself was killed: {:?}", out.status))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that stderr is one line `contain: ...` mentioning every part of `names`.
fn assert_one_line_reason(out: &Output, names: &[&str]) {
    let err = stderr(out);
    assert!(err.starts_with("contain: ") && err.ends_with('\n'), "stderr: {err:?}");
    assert_eq!(err.lines().count(), 1, "stderr: {err:?}");
    for name in names {
        assert!(err.contains(name), "stderr {err:?} does not name {name:?}");
    }
}

/// A fresh directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        // Not "containment-...": the machine's leak checker looks for such names.
        let dir = std::env::temp_dir().join(format!("ctmtest-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Parses the flat JSON object `--json-status` writes: its keys in order, each with
/// its value as written (strings with their quotes and escapes).
fn parse_status(line: &str) -> Vec<(String, String)> {
    /// The text up to the next `stop` outside a string (which is consumed).
    fn token(chars: &mut std::str::Chars, stop: char) -> String {
        let mut text = String::new();
        let mut in_string = false;
        while let Some(c) = chars.next() {
            match c {
                c if c == stop && !in_string => break,
                '"' => in_string = !in_string,
                '\\' if in_string => {
                    // An escape: keep it and the character it escapes as they are.
                    text.push(c);
                    text.extend(chars.next());
                    continue;
                }
                _ => {}
            }
            text.push(c);
        }
        text
    }
    let body = line.strip_prefix('{').and_then(|l| l.strip_suffix("}\n"));
    let mut chars = body.unwrap_or_else(|| panic!("not one JSON object line: {line:?}")).chars();
    let mut fields = Vec::new();
    while !chars.as_str().is_empty() {
        let key = token(&mut chars, ':');
        let key = key.strip_prefix('"').and_then(|k| k.strip_suffix('"')).unwrap_or_else(|| panic!("key {key:?}"));
        fields.push((key.to_string(), token(&mut chars, ',')));
    }
    fields
}

/// Checks a status line field by field: `expected` gives the exact values of all
/// fields but the times and the peak memory, which must be numbers (the peak may be
/// null).
fn check_status(line: &str, expected: &[(&str, &str)]) {
    let fields = parse_status(line);
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "exit_code",
            "signal",
            "oom_killed",
            "timed_out",
            "wall_ms",
            "user_ms",
            "sys_ms",
            "peak_memory_bytes",
            "error"
        ],
        "{line}"
    );
    for (key, value) in &fields {
        match key.as_str() {
            "wall_ms" | "user_ms" | "sys_ms" => {
                let ms: f64 = value.parse().unwrap_or_else(|_| panic!("{key} is {value} in {line}"));
                assert!(ms >= 0.0 && ms.is_finite(), "{line}");
            }
            "peak_memory_bytes" => assert!(value == "null" || value.parse::<u64>().is_ok(), "{line}"),
            _ => {
                let want = expected.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
                assert_eq!(Some(value.as_str()), want, "field {key} of {line}");
            }
        }
    }
}

#[test]
fn exit_codes_pass_through() {
    if !have_root() {
        return;
    }
    for n in [0, 42, 255] {
        let out = run(["--", "/bin/sh", "-c", &format!("exit {n}")]);
        assert_eq!(code(&out), n, "stderr: {}", stderr(&out));
    }
}

#[test]
fn death_by_signal_gives_128_plus_the_signal() {
    if !have_root() {
        return;
    }
    assert_eq!(code(&run(["/bin/sh", "-c", "kill -SEGV $$"])), 139);
    assert_eq!(code(&run(["/bin/sh", "-c", "kill -9 $$"])), 137);
}

#[test]
fn missing_program_gives_127() {
    if !have_root() {
        return;
    }
    let out = run(["--", "/no/such/program", "arg"]);
    assert_eq!(code(&out), 127);
    assert_one_line_reason(&out, &["/no/such/program"]);
}

#[test]
fn non_executable_program_gives_126() {
    if !have_root() {
        return;
    }
    let dir = TempDir::new("noexec");
    let file = dir.0.join("script");
    std::fs::write(&file, "#!/bin/sh\necho should not run\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let bind = format!("{}:/data/script", file.display());
    let out = run(["--ro-bind", &bind, "/data/script"]);
    assert_eq!(code(&out), 126);
    assert_eq!(stdout(&out), "");
    assert_one_line_reason(&out, &["/data/script"]);
}

#[test]
fn bad_option_values_give_125_naming_the_value() {
    if !have_root() {
        return;
    }
    for (opt, value) in [
        ("--tmpfs", "/t:1XB"),
        ("--user", "abc"),
        ("--bind", "relative"),
        ("--memory-limit", "12XB"),
        ("-memory-limit", "0"),
        ("--cpu-core-ids", "1-"),
        ("-cpu-core-ids", "a"),
        ("--pids-limit", "-1"),
        ("--pids-limit", "0"),
        ("--cpu-quota", "abc"),
        ("--cpu-quota", "0"),
        ("--cpu-quota", "1e3"),
        ("--cpu-weight", "0"),
        ("--cpu-weight", "10001"),
        ("--timeout", "0"),
        ("--timeout", "-1"),
        ("--timeout", "nan"),
        ("--rlimit", "nofile"),
        ("--rlimit", "bogus=1"),
        ("--rlimit", "nofile=1K"),
    ] {
        let out = run([opt, value, "/bin/true"]);
        assert_eq!(code(&out), 125, "{opt} {value}: {}", stderr(&out));
        assert_one_line_reason(&out, &[opt, value]);
    }
    for args in [&["--no-such-option", "/bin/true"][..], &["--tmpfs"], &["--hostname", "x"], &["--help=x", "/bin/true"]]
    {
        let out = run(args);
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert_one_line_reason(&out, &[]);
    }
}

#[test]
fn options_take_one_or_two_dashes_and_inline_values() {
    if !have_root() {
        return;
    }
    for args in [["-hostname", "x"], ["--hostname=x", "--"], ["-hostname=x", "--"], ["--hostname", "x"]] {
        let out = run(args.iter().copied().chain(["hostname"]));
        assert_eq!((code(&out), stdout(&out)), (0, "x\n".to_string()), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn only_the_given_environment_is_visible() {
    if !have_root() {
        return;
    }
    let out = contain(["--env", "A=b", "--env=B=c=d", "/bin/sh", "-c", "echo \"$A $B ${CONTAINMENT_SECRET-unset}\""])
        .env("CONTAINMENT_SECRET", "1")
        .output()
        .unwrap();
    assert_eq!((code(&out), stdout(&out)), (0, "b c=d unset\n".to_string()), "{}", stderr(&out));
}

#[test]
fn binds_keep_non_utf8_paths_and_resolve_relative_sources() {
    if !have_root() {
        return;
    }
    let dir = TempDir::new("bytes");
    let src = OsStr::from_bytes(b"d\xff");
    std::fs::create_dir(dir.0.join(src)).unwrap();
    std::fs::write(dir.0.join(src).join("f"), "content\n").unwrap();
    let mut bind = OsString::from(src);
    bind.push(OsStr::from_bytes(b":/m\xfe"));
    let out = contain([OsStr::new("--ro-bind"), &bind, OsStr::new("/bin/cat"), OsStr::from_bytes(b"/m\xfe/f")])
        .current_dir(&dir.0)
        .output()
        .unwrap();
    assert_eq!((code(&out), stdout(&out)), (0, "content\n".to_string()), "{}", stderr(&out));
}

#[test]
fn json_status_tells_how_it_ended() {
    if !have_root() {
        return;
    }
    let dir = TempDir::new("json");
    let file = dir.0.join("status.json");
    let status = |args: &[&str]| -> (i32, String) {
        let _ = std::fs::remove_file(&file);
        let out = run([OsStr::new("--json-status"), file.as_os_str()].into_iter().chain(args.iter().map(OsStr::new)));
        (code(&out), std::fs::read_to_string(&file).expect("the status file"))
    };
    let (rc, line) = status(&["/bin/sh", "-c", "exit 3"]);
    assert_eq!(rc, 3);
    check_status(
        &line,
        &[("exit_code", "3"), ("signal", "null"), ("oom_killed", "false"), ("timed_out", "false"), ("error", "null")],
    );
    let (rc, line) = status(&["/bin/sh", "-c", "kill -KILL $$"]);
    assert_eq!(rc, 137);
    check_status(
        &line,
        &[("exit_code", "null"), ("signal", "9"), ("oom_killed", "false"), ("timed_out", "false"), ("error", "null")],
    );
    let (rc, line) = status(&["/no/such/\"program\""]);
    assert_eq!(rc, 127);
    let error = r#""program \"/no/such/\\\"program\\\"\" not found in the sandbox""#;
    check_status(
        &line,
        &[("exit_code", "127"), ("signal", "null"), ("oom_killed", "false"), ("timed_out", "false"), ("error", error)],
    );
}

#[test]
fn signals_are_forwarded_to_the_program() {
    if !have_root() {
        return;
    }
    let script = "trap \"echo got; exit 7\" TERM; echo ready; while :; do sleep 0.05; done";
    let mut child = contain(["--", "/bin/sh", "-c", script]).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(rest.contains("got"), "output after ready: {rest:?}");
    assert_eq!(status.code(), Some(7));
}

#[test]
fn help_lists_every_option() {
    if !have_root() {
        return;
    }
    let out = contain(["--help"]).output().unwrap();
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for opt in [
        "--chroot",
        "--bind",
        "--ro-bind",
        "--tmpfs",
        "--overlay",
        "--hostname",
        "--env",
        "--cwd",
        "--user",
        "--memory-limit SIZE",
        "--cpu-core-ids LIST",
        "--pids-limit N",
        "--cpu-quota",
        "--cpu-weight N",
        "--timeout SECONDS",
        "--rlimit NAME=VALUE",
        "--cgroup-parent PATH",
        "--json-status FILE",
    ] {
        assert!(text.contains(opt), "{opt} missing from {text}");
    }
}

/// Runs `contain --json-status FILE args...`; returns the exit code, the status line
/// and stderr.
fn run_with_status(args: &[&str]) -> (i32, String, String) {
    let dir = TempDir::new(&format!("status-{}", STATUS_N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    let file = dir.0.join("status.json");
    let out = run([OsStr::new("--json-status"), file.as_os_str()].into_iter().chain(args.iter().map(OsStr::new)));
    let line = std::fs::read_to_string(&file).expect("the status file");
    (code(&out), line, stderr(&out))
}

static STATUS_N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[test]
fn the_old_executors_invocation_works() {
    if !have_root() {
        return;
    }
    let layout = cgroups::require_cgroups!();
    let rootfs = common::busybox_rootfs();
    let root = rootfs.to_str().unwrap();
    let parent = TestParent::new(&layout);
    for (cpus, want) in [("0,1", "0-1"), ("1", "1")] {
        let out = run([
            "-chroot",
            root,
            "-memory-limit",
            "128MB",
            "-cpu-core-ids",
            cpus,
            "-cgroup-parent",
            parent.rel(),
            "--",
            "/bin/sh",
            "-c",
            "grep Cpus_allowed_list /proc/self/status; ls /bin/busybox",
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(stdout(&out), format!("Cpus_allowed_list:\t{want}\n/bin/busybox\n"));
        parent.assert_empty();
    }
    // And without a parent: the default one.
    let out = run(["-chroot", root, "-memory-limit", "128MB", "-cpu-core-ids", "0,1", "--", "/bin/true"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn every_limit_flag_reaches_the_sandbox() {
    if !have_root() {
        return;
    }
    let layout = cgroups::require_cgroups!();
    let parent = TestParent::new(&layout);
    let script = "ulimit -n; ulimit -c; grep Cpus_allowed_list /proc/self/status";
    let out = run([
        "--memory-limit",
        "64M",
        "--cpu-core-ids=0",
        "-pids-limit",
        "10",
        "--cpu-quota",
        "0.5",
        "-cpu-weight=50",
        "--timeout",
        "30",
        "--rlimit",
        "nofile=64",
        "-rlimit",
        "core=0",
        "--cgroup-parent",
        parent.rel(),
        "--",
        "/bin/sh",
        "-c",
        script,
    ]);
    assert_eq!((code(&out), stdout(&out)), (0, "64\n0\nCpus_allowed_list:\t0\n".to_string()), "{}", stderr(&out));
    parent.assert_empty();
}

#[test]
fn limit_values_the_host_refuses_give_125_naming_the_value() {
    if !have_root() {
        return;
    }
    let layout = cgroups::require_cgroups!();
    // Above the hard limit, which root cannot raise here (no CAP_SYS_RESOURCE).
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    let too_many = format!("nofile={}", hard.saturating_add(1));
    let parent = TestParent::new(&layout);
    let rel = parent.rel();
    let cases: [(&[&str], &[&str]); 4] = [
        (&["--cgroup-parent", rel, "--cpu-core-ids", "5"], &["\"5\"", "allowed set"]),
        (&["--cgroup-parent", rel, "--memory-limit", "512K"], &["\"512K\"", "1M"]),
        (&["--memory-limit", "64M", "--cgroup-parent", "does-not-exist-xyz"], &["does-not-exist-xyz"]),
        (&["--cgroup-parent", rel, "--memory-limit", "64M", "--rlimit", &too_many], &[&too_many, "hard limit"]),
    ];
    for (args, names) in cases {
        let out = run(args.iter().copied().chain(["/bin/true"]));
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert_one_line_reason(&out, names);
        parent.assert_empty();
    }
    for mount in layout.mounts() {
        assert!(!mount.join("does-not-exist-xyz").exists());
    }
}

#[test]
fn a_memory_hog_is_oom_killed_and_the_status_says_so() {
    if !have_root() {
        return;
    }
    let layout = cgroups::require_cgroups!();
    let parent = TestParent::new(&layout);
    // tail keeps the whole "line" it reads from /dev/zero: it grows until killed.
    let (rc, line, err) =
        run_with_status(&["-memory-limit", "32M", "-cgroup-parent", parent.rel(), "tail", "/dev/zero"]);
    assert_eq!(rc, 137, "{err}");
    check_status(
        &line,
        &[("exit_code", "null"), ("signal", "9"), ("oom_killed", "true"), ("timed_out", "false"), ("error", "null")],
    );
    let peak = parse_status(&line).into_iter().find(|(k, _)| k == "peak_memory_bytes").unwrap().1;
    assert_eq!(peak, (32u64 << 20).to_string(), "{line}");
    parent.assert_empty();
}

#[test]
fn a_timeout_kills_the_program_with_137_and_the_status_says_so() {
    if !have_root() {
        return;
    }
    contain_path(); // built before the clock starts
    let started = std::time::Instant::now();
    let (rc, line, err) = run_with_status(&["-timeout", "0.2", "sleep", "5"]);
    assert_eq!(rc, 137, "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
    check_status(
        &line,
        &[("exit_code", "null"), ("signal", "9"), ("oom_killed", "false"), ("timed_out", "true"), ("error", "null")],
    );
    let wall: f64 = parse_status(&line).into_iter().find(|(k, _)| k == "wall_ms").unwrap().1.parse().unwrap();
    assert!((200.0..2000.0).contains(&wall), "{line}");
    // In time: not timed out.
    let (rc, line, err) = run_with_status(&["-timeout", "30", "/bin/sh", "-c", "exit 4"]);
    assert_eq!(rc, 4, "{err}");
    check_status(
        &line,
        &[("exit_code", "4"), ("signal", "null"), ("oom_killed", "false"), ("timed_out", "false"), ("error", "null")],
    );
}
