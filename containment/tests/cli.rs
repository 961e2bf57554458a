//! Tests of the `contain` command-line tool (`examples/contain/`), run as a
//! separate process. They need root; without it they are skipped, unless
//! `CONTAINMENT_MUST_WORK=1` says they must run.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

mod cgroups;
mod common;
mod named;

use cgroups::TestParent;
use named::{assert_nothing_left, cgroup_dirs, pid_ns, state_dir, unique_name, Cleanup};

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

/// How long one run of `contain` may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A process killed and reaped when dropped, so that no `contain` the tests
/// started outlives them.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `contain` with `args` to its end (at most [`RUN_LIMIT`]).
fn run<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Output {
    run_cmd(&mut contain(args))
}

/// Runs `cmd` to its end, collecting its output; panics when it takes longer than
/// [`RUN_LIMIT`], or when its output stays open after it exited (a process it
/// left behind holds it).
fn run_cmd(cmd: &mut Command) -> Output {
    let mut child = KillOnDrop(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("running contain"));
    let deadline = Instant::now() + RUN_LIMIT;
    let drain = |stream: Option<Box<dyn Read + Send>>| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut s) = stream {
                let _ = s.read_to_end(&mut bytes);
            }
            let _ = tx.send(bytes);
        });
        rx
    };
    let out = drain(child.0.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err = drain(child.0.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("waiting for contain") {
            break status;
        }
        assert!(Instant::now() < deadline, "contain {:?} still runs after {RUN_LIMIT:?}", cmd.get_args());
        std::thread::sleep(Duration::from_millis(5));
    };
    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(5));
    let collect = |rx: mpsc::Receiver<Vec<u8>>, which: &str| {
        rx.recv_timeout(left).unwrap_or_else(|_| panic!("the {which} of contain stayed open after it exited"))
    };
    Output { status, stdout: collect(out, "output"), stderr: collect(err, "error output") }
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
    let out = run_cmd(
        contain(["--env", "A=b", "--env=B=c=d", "/bin/sh", "-c", "echo \"$A $B ${CONTAINMENT_SECRET-unset}\""])
            .env("CONTAINMENT_SECRET", "1"),
    );
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
    let out = run_cmd(
        contain([OsStr::new("--ro-bind"), &bind, OsStr::new("/bin/cat"), OsStr::from_bytes(b"/m\xfe/f")])
            .current_dir(&dir.0),
    );
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
    let mut child = KillOnDrop(
        contain(["--", "/bin/sh", "-c", script]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    kill(Pid::from_raw(child.0.id() as i32), Signal::SIGTERM).unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.0.wait().unwrap();
    assert!(rest.contains("got"), "output after ready: {rest:?}");
    assert_eq!(status.code(), Some(7));
}

#[test]
fn help_lists_every_option() {
    if !have_root() {
        return;
    }
    let out = run(["--help"]);
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
        "--net host|none",
        "--network-address A/P",
        "--bridge BR",
        "--gateway IP",
        "--mtu N",
        "--create-bridge A/P",
        "contain start --name NAME",
        "contain exec NAME",
        "contain stop NAME [--grace SECONDS]",
        "contain list [--json]",
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

/// Runs `contain start ARGS...` and returns the init's pid it printed.
fn start_named(args: &[&str]) -> u32 {
    let out = run(["start"].iter().chain(args));
    assert_eq!(code(&out), 0, "contain start {args:?}: {}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    let pid: u32 = text.trim_end().parse().unwrap_or_else(|_| panic!("not a pid: {text:?}"));
    assert_eq!(text, format!("{pid}\n"));
    pid
}

/// The fields of the line of `contain list` about `name`, split at blanks.
fn list_row(name: &str) -> Option<Vec<String>> {
    let out = run(["list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let header: Vec<&str> = text.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["NAME", "PID", "UPTIME", "LIMITS", "MEMORY"], "{text}");
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|f| f.first().is_some_and(|n| n == name))
}

/// The object of `contain list --json` about `name`.
fn list_json_object(name: &str) -> Option<String> {
    let out = run(["list", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let body = text.strip_prefix('[').and_then(|t| t.strip_suffix("]\n")).unwrap_or_else(|| panic!("{text:?}"));
    let key = format!("{{\"name\":\"{name}\",");
    body.split("},").map(|o| o.trim_end_matches('}').to_string() + "}").find(|o| o.starts_with(&key))
}

#[test]
fn start_exec_stop_and_list_round_trip() {
    if !have_root() {
        return;
    }
    let _layout = cgroups::require_cgroups!();
    let name = unique_name("cli-trip");
    let _cleanup = Cleanup::new(&name);
    let pid = start_named(&["--name", &name, "--hostname", "cli-box", "-memory-limit", "64M", "--pids-limit=16"]);
    let ns = pid_ns(pid).expect("the init runs");
    assert!(state_dir(&name).join("state").exists());
    assert!(!cgroup_dirs(&name).is_empty());

    let row = list_row(&name).unwrap_or_else(|| panic!("{name} is not listed"));
    assert_eq!(row.len(), 6, "{row:?}");
    assert_eq!(
        (row[1].as_str(), row[3].as_str(), row[4].as_str()),
        (pid.to_string().as_str(), "memory=64M", "pids=16")
    );
    assert!(row[2].ends_with('s') && row[5].ends_with(['B', 'K', 'M']), "{row:?}");
    let object = list_json_object(&name).unwrap_or_else(|| panic!("{name} is not in the JSON list"));
    assert!(object.contains(&format!(",\"pid\":{pid},")), "{object}");
    assert!(object.contains(",\"limits\":\"memory=64M pids=16\",\"memory_bytes\":"), "{object}");

    let out = run(["exec", &name, "--", "hostname"]);
    assert_eq!((code(&out), stdout(&out), stderr(&out)), (0, "cli-box\n".into(), String::new()));
    let out = run(["exec", &name, "--env", "A=b", "-cwd=/tmp", "--", "/bin/sh", "-c", "echo $A > f; pwd"]);
    assert_eq!((code(&out), stdout(&out)), (0, "/tmp\n".into()), "{}", stderr(&out));
    let out = run(["exec", &name, "cat", "/tmp/f"]);
    assert_eq!((code(&out), stdout(&out)), (0, "b\n".into()), "{}", stderr(&out));
    let out = run(["exec", &name, "--user", "1000:1001", "--", "/bin/sh", "-c", "echo $(id -u):$(id -g)"]);
    assert_eq!((code(&out), stdout(&out)), (0, "1000:1001\n".into()), "{}", stderr(&out));

    let out = run(["stop", &name]);
    assert_eq!((code(&out), stdout(&out), stderr(&out)), (0, String::new(), String::new()));
    assert_nothing_left(&name, pid, &ns);
    assert_eq!(list_row(&name), None);
    assert_eq!(list_json_object(&name), None);
    let out = run(["stop", &name]);
    assert_eq!(code(&out), 1);
    assert_eq!(stderr(&out), format!("contain: no sandbox named {name} is running\n"));
}

#[test]
fn exec_exit_codes_are_those_of_a_run() {
    if !have_root() {
        return;
    }
    let name = unique_name("cli-codes");
    let _cleanup = Cleanup::new(&name);
    let pid = start_named(&["--name", &name]);
    let ns = pid_ns(pid).expect("the init runs");
    for (args, want) in [
        (&["/bin/true"][..], 0),
        (&["/bin/sh", "-c", "exit 42"], 42),
        (&["/bin/sh", "-c", "kill -KILL $$"], 137),
        (&["/bin/sh", "-c", "kill -SEGV $$"], 139),
    ] {
        let out = run(["exec", &name, "--"].iter().chain(args));
        assert_eq!(code(&out), want, "{args:?}: {}", stderr(&out));
    }
    let out = run(["exec", &name, "--", "/no/such/program"]);
    assert_eq!(code(&out), 127);
    assert_one_line_reason(&out, &["/no/such/program"]);
    let out = run(["exec", &name, "/etc/passwd"]);
    assert_eq!(code(&out), 126);
    assert_one_line_reason(&out, &["/etc/passwd"]);
    // The sandbox is still there after all of them.
    let out = run(["exec", &name, "/bin/true"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(["stop", "--grace", "0", &name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_nothing_left(&name, pid, &ns);
}

#[test]
fn exec_forwards_signals_to_the_program() {
    if !have_root() {
        return;
    }
    let name = unique_name("cli-signals");
    let _cleanup = Cleanup::new(&name);
    let pid = start_named(&["--name", &name]);
    let ns = pid_ns(pid).expect("the init runs");
    let script = "trap \"echo got; exit 7\" TERM; echo ready; while :; do sleep 0.05; done";
    let mut child = KillOnDrop(
        contain(["exec", &name, "--", "/bin/sh", "-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    kill(Pid::from_raw(child.0.id() as i32), Signal::SIGTERM).unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!((rest.as_str(), child.0.wait().unwrap().code()), ("got\n", Some(7)));
    assert_eq!(code(&run(["stop", &name])), 0);
    assert_nothing_left(&name, pid, &ns);
}

#[test]
fn start_with_a_program_logs_its_output_and_ends_with_it() {
    if !have_root() {
        return;
    }
    let dir = TempDir::new("log");
    let log = dir.0.join("log");
    std::fs::write(&log, "before\n").unwrap();
    let name = unique_name("cli-log");
    let _cleanup = Cleanup::new(&name);
    let script = "echo out; echo err >&2; echo $$; exec sleep 1000";
    let pid = start_named(&["--name", &name, "--log", log.to_str().unwrap(), "--", "/bin/sh", "-c", script]);
    let ns = pid_ns(pid).expect("the init runs");
    let logged = common::wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() == 4)
    });
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(logged, "the log holds {text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..3], ["before", "out", "err"], "{text}");
    // The main program is PID 2, the init's first child.
    assert_eq!(lines[3], "2");
    let out = run(["exec", &name, "--", "/bin/sh", "-c", "cat /proc/2/comm"]);
    assert_eq!((code(&out), stdout(&out)), (0, "sleep\n".into()), "{}", stderr(&out));
    // Without --log, nowhere; a program that cannot start leaves nothing.
    let other = unique_name("cli-log-missing");
    let _cleanup_other = Cleanup::new(&other);
    let out = run(["start", "--name", &other, "--", "/no/such/program"]);
    assert_eq!(code(&out), 127);
    assert_one_line_reason(&out, &["/no/such/program"]);
    // (The library leaves an empty /run/containment/<name>: `Cleanup` removes it.)
    let left: Vec<_> =
        std::fs::read_dir(state_dir(&other)).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "{left:?} left in {}", state_dir(&other).display());
    // The main program ends at SIGTERM: the stop does not wait for the grace.
    let started = Instant::now();
    let out = run(["stop", "--grace=20", &name]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_nothing_left(&name, pid, &ns);
}

#[test]
fn the_cli_runs_programs_in_a_sandbox_started_from_rust() {
    if !have_root() {
        return;
    }
    let name = unique_name("cli-rust");
    let mut running = containment::Sandbox::new().name(&name).hostname("from-rust").persistent(true).start().unwrap();
    let init = running.pid();
    let ns = pid_ns(init).expect("the init runs");
    let _cleanup = Cleanup::with_init(&name, init);
    running.detach().unwrap();
    drop(running);
    let out = run(["exec", &name, "--", "hostname"]);
    assert_eq!((code(&out), stdout(&out), stderr(&out)), (0, "from-rust\n".into(), String::new()));
    let out = run(["stop", &name]);
    assert_eq!((code(&out), stderr(&out)), (0, String::new()));
    // The init is this process's child: reap it.
    named::reap(init);
    assert_nothing_left(&name, init, &ns);
}

#[test]
fn subcommands_check_their_command_lines() {
    if !have_root() {
        return;
    }
    let name = unique_name("cli-lines");
    let _cleanup = Cleanup::new(&name);
    let cases: [(&[&str], &[&str]); 14] = [
        (&["start"], &["--name"]),
        (&["start", "--name", "a/b"], &["--name", "\"a/b\""]),
        (&["start", "--name", &name, "--env", "A=b"], &["--env"]),
        (&["start", "--name", &name, "--json-status", "/tmp/x", "--", "/bin/true"], &["--json-status"]),
        (&["exec"], &["NAME"]),
        (&["exec", &name], &["no program"]),
        (&["exec", "--", "/bin/true"], &["NAME"]),
        (&["exec", &name, "--user", "x", "--", "/bin/true"], &["--user", "\"x\""]),
        (&["exec", &name, "--", "/bin/true"], &[&name, "is running"]),
        (&["stop"], &["NAME"]),
        (&["stop", &name, "--grace", "-1"], &["--grace", "\"-1\""]),
        (&["stop", &name, "extra"], &["\"extra\""]),
        (&["list", "extra"], &["\"extra\""]),
        (&["list", "--grace", "1"], &["--grace"]),
    ];
    for (args, names) in cases {
        let out = run(args);
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert_one_line_reason(&out, names);
        assert!(!state_dir(&name).exists(), "{args:?}");
    }
    let out = run(["stop", &name]);
    assert_eq!(code(&out), 1);
    assert_one_line_reason(&out, &[&name]);
    // A subcommand is a subcommand only as the first argument.
    for args in [&["--", "list"][..], &["--hostname", "x", "stop"]] {
        let out = run(args);
        assert_eq!(code(&out), 127, "{args:?}: {}", stderr(&out));
    }
    // A second start with the same name fails and leaves the first alone.
    let pid = start_named(&["--name", &name]);
    let ns = pid_ns(pid).expect("the init runs");
    let out = run(["start", "--name", &name]);
    assert_eq!(code(&out), 125);
    assert_one_line_reason(&out, &[&name, "is running"]);
    assert_eq!(code(&run(["exec", &name, "/bin/true"])), 0);
    assert_eq!(code(&run(["stop", &name])), 0);
    assert_nothing_left(&name, pid, &ns);
}

#[test]
fn subcommands_have_their_own_help() {
    if !have_root() {
        return;
    }
    for (verb, want, not) in [
        ("start", &["--name NAME", "--log FILE", "--memory-limit SIZE", "--network-address A/P"][..], "--grace"),
        ("exec", &["--env KEY=VALUE", "--cwd DIR"], "--memory-limit"),
        ("stop", &["--grace SECONDS"], "--name"),
        ("list", &["--json"], "--grace"),
    ] {
        let out = run([verb, "--help"]);
        assert_eq!(code(&out), 0);
        let text = stdout(&out);
        assert!(text.starts_with(&format!("Usage: contain {verb}")), "{text}");
        for opt in want {
            assert!(text.contains(opt), "{opt} missing from {text}");
        }
        assert!(!text.contains(not), "{not} in {text}");
    }
}

#[test]
fn network_options_that_do_not_go_together_give_125() {
    if !have_root() {
        return;
    }
    let cases: [(&[&str], &[&str]); 9] = [
        (&["--network-address", "10.77.0.17/24"], &["--network-address", "--bridge"]),
        (&["-network-address", "10.77.0.17/24"], &["--network-address", "--bridge"]),
        (&["-bridge", "br0"], &["--bridge", "--network-address"]),
        (&["--gateway", "10.77.0.1"], &["--gateway", "--bridge"]),
        (
            &["--net", "host", "--network-address", "10.77.0.17/24", "--bridge", "br0"],
            &["--net host", "--network-address"],
        ),
        (&["--net", "bridge"], &["--net", "\"bridge\""]),
        (&["--network-address", "fd00::5/64", "--bridge", "br0"], &["--network-address", "\"fd00::5/64\"", "IPv6"]),
        (&["--network-address", "10.77.0.17", "--bridge", "br0"], &["--network-address", "\"10.77.0.17\""]),
        (&["--mtu", "67", "--network-address", "10.77.0.17/24", "--bridge", "br0"], &["--mtu", "\"67\""]),
    ];
    for (args, names) in cases {
        let out = run(args.iter().copied().chain(["/bin/true"]));
        assert_eq!(code(&out), 125, "{args:?}: {}", stderr(&out));
        assert_one_line_reason(&out, names);
    }
    for (mode, interfaces) in [("none", "lo\n"), ("host", "")] {
        let out = run(["--net", mode, "--", "/bin/sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        if mode == "none" {
            assert_eq!(stdout(&out), interfaces);
        } else {
            assert!(stdout(&out).lines().count() > 1, "the host's interfaces: {}", stdout(&out));
        }
    }
}

/// Deletes the bridge `name` when dropped, and the (empty) directory of its
/// address leases, `/run/containment/net/<netns>-<name>`, which the library keeps.

#[test]
fn a_sandbox_on_a_bridge_from_the_command_line() {
    if !have_root() {
        return;
    }
    common::require!(
        Command::new("unshare").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok(),
        "needs unshare(1) to give contain a network namespace of its own"
    );
    // contain runs in a network namespace of its own (`unshare --net`): the bridge
    // it creates there never touches the host's, and goes with the namespace.
    let in_netns = |args: &[&str]| {
        let mut cmd = Command::new("unshare");
        cmd.args(["--net", "--"]).arg(contain_path()).args(args).stdin(Stdio::null());
        run_cmd(&mut cmd)
    };
    let octet = std::process::id() % 250;
    let subnet = format!("10.77.{octet}");
    let script =
        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort; cat /proc/net/route | cut -f1-3 | tail -n +2";
    let (address, create, gateway) = (format!("{subnet}.17/24"), format!("{subnet}.1/24"), format!("{subnet}.254"));
    let out = in_netns(&[
        "-network-address",
        &address,
        "-bridge",
        "ctmtb0",
        "--create-bridge",
        &create,
        "--gateway",
        &gateway,
        "--mtu",
        "1400",
        "--",
        "/bin/sh",
        "-c",
        script,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The gateway, in the kernel's byte order (little-endian hex).
    let gw = format!("FE{octet:02X}4D0A");
    let net = format!("00{octet:02X}4D0A");
    assert_eq!(stdout(&out), format!("eth0\nlo\neth0\t00000000\t{gw}\neth0\t{net}\t00000000\n"));
    // Without --create-bridge, a missing bridge is refused.
    let out = in_netns(&["--network-address", "10.77.0.17/24", "--bridge", "ctmtb-missing", "/bin/true"]);
    assert_eq!(code(&out), 125);
    assert_one_line_reason(&out, &["ctmtb-missing"]);
}
