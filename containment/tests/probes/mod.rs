//! The probes of the attack suite, and how the tests run them.
//!
//! The C programs in this directory (`attack.c`; `benches/differential.sh` runs
//! the same ones under bubblewrap) are built with `cc -static -O1` once per test
//! process into `/tmp/ctmtest-probes-<pid>` (mode 0755, so that uid 65534 can run
//! them too), removed when the process exits. Inside a sandbox a probe attempts
//! one thing and prints `RESULT <name> <outcome>` lines, which [`Probe`] parses.
//!
//! Every check runs in the modes where it applies ([`Mode`]): root with the
//! default user namespace, root without one, and rootless, for which the test
//! binary runs itself again as uid and gid 65534 through `setpriv`
//! ([`run_as_nobody`]), with [`ROOTLESS_ENV`] set so that the test runs only its
//! rootless part.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use containment::{Command, ExitStatus, Output, Sandbox, Stdio, UserNamespace};

use crate::common::{assert_pid_gone, is_root, must_work, pid_exists, text};

/// Set (to `1`) in the environment of a test binary run again as uid 65534.
pub const ROOTLESS_ENV: &str = "CTMTEST_ROOTLESS_CHILD";
/// The directory of the built probes, passed to a test binary run again.
pub const PROBE_DIR_ENV: &str = "CTMTEST_PROBE_DIR";
/// The ordinary user the rootless mode runs as.
pub const NOBODY: u32 = 65534;

/// Where the sources of the probes are.
pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probes")
}

/// The built probes.
pub struct Built {
    pub dir: PathBuf,
    /// Whether they are static (else they only run where the host's `/usr` is,
    /// the default root).
    pub is_static: bool,
}

/// Builds the probes once per process (or takes the directory a parent test
/// process built, in a rootless child). `None`: no working C compiler.
pub fn built() -> Option<&'static Built> {
    static BUILT: OnceLock<Option<Built>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(dir) = std::env::var_os(PROBE_DIR_ENV) {
                let dir = PathBuf::from(dir);
                let is_static = !dir.join("dynamic").exists();
                return Some(Built { dir, is_static });
            }
            remove_stale_dirs();
            let dir = PathBuf::from(format!("/tmp/ctmtest-probes-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir(&dir).expect("mkdir probe directory");
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod probe directory");
            extern "C" fn remove_dir() {
                let _ = std::fs::remove_dir_all(format!("/tmp/ctmtest-probes-{}", std::process::id()));
            }
            // SAFETY: registers a plain `extern "C" fn` without arguments that only
            // removes a directory, which is fine at process exit.
            unsafe { libc::atexit(remove_dir) };
            let mut is_static = true;
            for entry in std::fs::read_dir(source_dir()).expect("read the probe sources").flatten() {
                let src = entry.path();
                if src.extension() != Some(OsStr::new("c")) {
                    continue;
                }
                let exe = dir.join(src.file_stem().expect("a file name"));
                if !cc(&src, &exe, true) {
                    if !cc(&src, &exe, false) {
                        return None;
                    }
                    is_static = false;
                    std::fs::write(dir.join("dynamic"), "").expect("write the dynamic marker");
                }
            }
            Some(Built { dir, is_static })
        })
        .as_ref()
}

/// `cc [-static] -O1 -o exe src`; whether it worked.
fn cc(src: &Path, exe: &Path, stat: bool) -> bool {
    let mut cmd = std::process::Command::new("cc");
    if stat {
        cmd.arg("-static");
    }
    match cmd.args(["-O1", "-Wall", "-o"]).arg(exe).arg(src).output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            eprintln!("cc {}{} failed: {}", if stat { "-static " } else { "" }, src.display(), text(&out.stderr));
            false
        }
        Err(e) => {
            eprintln!("cannot run cc: {e}");
            false
        }
    }
}

/// Removes the probe directories of test processes that no longer exist.
fn remove_stale_dirs() {
    let Ok(dir) = std::fs::read_dir("/tmp") else { return };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("ctmtest-probes-")) else { continue };
        if pid.parse::<i32>().is_ok_and(|p| !pid_exists(p)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The attack probe (call [`require_probes!`] first).
pub fn attack() -> PathBuf {
    built().expect("the probes are built (require_probes! first)").dir.join("attack")
}

/// Whether the probes are static (and so run in any root).
pub fn probes_are_static() -> bool {
    built().is_some_and(|b| b.is_static)
}

/// Skips the test (or fails it with `CONTAINMENT_MUST_WORK=1`) unless the probes
/// could be built.
macro_rules! require_probes {
    () => {
        if $crate::probes::built().is_none() && $crate::probes::skip("needs a C compiler (cc) to build the probes") {
            return;
        }
    };
}
pub(crate) use require_probes;

/// Prints `skipped: reason` and returns true, or panics with
/// `CONTAINMENT_MUST_WORK=1`.
pub fn skip(reason: &str) -> bool {
    if must_work() {
        panic!("cannot run this test: {reason} (CONTAINMENT_MUST_WORK=1 forbids skipping)");
    }
    eprintln!("skipped: {reason}");
    true
}

/// Who runs the sandbox, and with which user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Root with the default user namespace (an exclusive range of host ids).
    UserNs,
    /// Root without a user namespace (`UserNamespace::Off`).
    NoUserNs,
    /// Uid 65534 (its own ids mapped to root inside).
    Rootless,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 3] = [Mode::UserNs, Mode::NoUserNs, Mode::Rootless];
    /// The modes of a root caller.
    pub const ROOT: [Mode; 2] = [Mode::UserNs, Mode::NoUserNs];
    /// The modes with a user namespace.
    pub const USERNS: [Mode; 2] = [Mode::UserNs, Mode::Rootless];

    /// `Sandbox::new()` as this mode makes it.
    pub fn sandbox(self) -> Sandbox {
        match self {
            Mode::UserNs | Mode::Rootless => Sandbox::new(),
            Mode::NoUserNs => Sandbox::new().user_namespace(UserNamespace::Off),
        }
    }

    pub fn has_userns(self) -> bool {
        self != Mode::NoUserNs
    }
}

/// Whether this process is a test binary run again as uid 65534.
pub fn is_rootless_child() -> bool {
    std::env::var_os(ROOTLESS_ENV).is_some()
}

/// Runs `check` in each of `modes` that applies to this process: as root, the
/// root modes here and [`Mode::Rootless`] in this test run again as 65534
/// ([`run_as_nobody`]); in that child, only the rootless one. Skips (or fails with
/// `CONTAINMENT_MUST_WORK=1`) when the process is neither root nor such a child.
pub fn in_modes(test: &str, modes: &[Mode], check: impl Fn(Mode)) {
    in_modes_with_env(test, modes, &[], check)
}

/// Like [`in_modes`], passing `env` to the rootless child.
pub fn in_modes_with_env(test: &str, modes: &[Mode], env: &[(&str, &OsStr)], check: impl Fn(Mode)) {
    if is_rootless_child() {
        assert!(!is_root(), "the rootless child runs as root");
        assert!(modes.contains(&Mode::Rootless), "{test} has no rootless mode");
        check(Mode::Rootless);
        return;
    }
    if !can_run() {
        return;
    }
    // Every mode runs even when one fails, so that a failure says in which.
    let mut failed = Vec::new();
    for &m in modes {
        eprintln!("== {test}: mode {m:?}");
        let run = std::panic::AssertUnwindSafe(|| match m {
            Mode::Rootless => run_as_nobody(test, env),
            _ => check(m),
        });
        if std::panic::catch_unwind(run).is_err() {
            failed.push(m);
        }
    }
    assert!(failed.is_empty(), "{test} failed in modes {failed:?} (see above)");
}

/// Runs the test `test` of this test binary again as uid and gid 65534 (with
/// [`ROOTLESS_ENV`] and the probe directory in its environment, plus `env`) and
/// panics unless it passed. Its output is printed.
pub fn run_as_nobody(test: &str, env: &[(&str, &OsStr)]) {
    run_self(test, true, env)
}

/// Runs the test `test` of this test binary again, as uid and gid 65534 when
/// `nobody` (then with [`ROOTLESS_ENV`] set) or as the same user, with the probe
/// directory and `env` in its environment; panics unless it ran and passed.
pub fn run_self(test: &str, nobody: bool, env: &[(&str, &OsStr)]) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = if nobody {
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].into_iter().find(|p| Path::new(p).exists());
        let Some(setpriv) = setpriv else {
            skip("needs setpriv (util-linux) to run the rootless mode");
            return;
        };
        let mut c = std::process::Command::new(setpriv);
        c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"]).arg(&exe).env(ROOTLESS_ENV, "1");
        c
    } else {
        std::process::Command::new(&exe)
    };
    cmd.args(["--exact", test, "--nocapture", "--test-threads", "1"]).current_dir("/");
    if let Some(b) = built() {
        cmd.env(PROBE_DIR_ENV, &b.dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let who = if nobody { "as uid 65534" } else { "again" };
    let out = cmd.output().unwrap_or_else(|e| panic!("run the test binary {who}: {e}"));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    eprintln!("---- {test} run {who}:\n{stdout}{stderr}---- end of {test} run {who}");
    assert!(out.status.success(), "{test} run {who} failed ({})", out.status);
    assert!(stdout.contains("1 passed"), "{test} run {who} did not run the test: {stdout}");
}

/// Whether this process can run a test of the suite: root, or a test binary run
/// again as uid 65534. Otherwise prints why it skips (or panics with
/// `CONTAINMENT_MUST_WORK=1`) and returns false.
pub fn can_run() -> bool {
    if is_rootless_child() || is_root() {
        return true;
    }
    !skip("needs root (the rootless mode runs as uid 65534 from a root test); run the tests as root")
}

/// What a probe printed, and how it ended.
pub struct Probe {
    pub output: Output,
    pub results: Vec<(String, String)>,
}

impl Probe {
    pub fn new(output: Output) -> Probe {
        let results = text(&output.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("RESULT "))
            .map(|l| match l.split_once(' ') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect();
        Probe { output, results }
    }

    /// Everything it printed, for messages.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        let _ = write!(s, "status {:?}\nstdout:\n{}stderr:\n{}", self.output.status, text(&self.output.stdout), {
            text(&self.output.stderr)
        });
        s
    }

    /// The outcome of `name` (the first, if printed several times).
    pub fn get(&self, name: &str) -> &str {
        match self.results.iter().find(|(k, _)| k == name) {
            Some((_, v)) => v,
            None => panic!("no RESULT {name}:\n{}", self.dump()),
        }
    }

    /// Every outcome printed for `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.results.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// Asserts that the probe exited with 0 and printed each `(name, outcome)`.
    pub fn expect(&self, what: impl std::fmt::Debug, pairs: &[(&str, &str)]) {
        self.assert_exit(0);
        for (name, want) in pairs {
            assert_eq!(self.get(name), *want, "{what:?}: RESULT {name}\n{}", self.dump());
        }
    }

    pub fn assert_exit(&self, code: i32) {
        assert_eq!(self.output.status, ExitStatus::Exited(code), "{}", self.dump());
    }
}

/// Runs the attack probe with `args` in `sandbox` (stdin null, stdout and stderr
/// piped) and checks that the sandbox's init is gone afterwards.
pub fn run(sandbox: &Sandbox, args: &[&str]) -> Probe {
    let mut cmd = sandbox.command_from_host(attack());
    cmd.args(args);
    run_cmd(&mut cmd)
}

/// Runs `cmd` (stdin null unless set, stdout and stderr piped) to its end.
pub fn run_cmd(cmd: &mut Command) -> Probe {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    let pid = child.pid();
    let output = child.wait_with_output().expect("wait_with_output");
    assert_pid_gone(pid);
    Probe::new(output)
}

/// Runs the attack probe with `args` in `sandbox` with stdin null.
pub fn run_null(sandbox: &Sandbox, args: &[&str]) -> Probe {
    let mut cmd = sandbox.command_from_host(attack());
    cmd.args(args).stdin(Stdio::null());
    run_cmd(&mut cmd)
}

/// `cp src dst` by a child process: a file this (multithreaded) process wrote
/// itself could be held open for writing by a process forked meanwhile, and
/// executing it would then fail with `ETXTBSY`.
pub fn copy_file(src: &Path, dst: &Path) {
    let st = std::process::Command::new("cp").arg(src).arg(dst).status().expect("run cp");
    assert!(st.success(), "cp {} {}: {st}", src.display(), dst.display());
}

/// Runs a host command and panics unless it succeeds; returns its stdout.
pub fn host(program: &str, args: &[&OsStr]) -> String {
    let out = std::process::Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}: {}", out.status, text(&out.stderr));
    text(&out.stdout)
}

/// `OsString` from a path, for environments passed to children.
pub fn os(p: &Path) -> OsString {
    p.as_os_str().to_os_string()
}
