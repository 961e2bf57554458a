//! `contain`: run a program in a sandbox from the command line.
//!
//! ```text
//! contain [OPTIONS] [--] PROGRAM [ARGS...]
//! ```
//!
//! Every option works with one or two dashes, and as `--opt VALUE` or
//! `--opt=VALUE`. The first argument that is not an option (or the one after `--`)
//! is the program; the rest are its arguments. The old executor's invocation
//! works as it did:
//!
//! ```text
//! contain -chroot DIR -memory-limit 128MB -cpu-core-ids 1,3 -- prog args
//! ```
//!
//! With `--timeout`, a program still running when the time is up is killed with
//! SIGKILL (exit code 137); `--json-status` then says `"timed_out":true`, and
//! `"oom_killed":true` when the kernel's OOM killer killed a process of the
//! sandbox under `--memory-limit`.
//!
//! Exit code: the program's; 128+N when it died of signal N; 125 when the command
//! line is bad or the sandbox could not be set up; 126 when the program cannot be
//! executed; 127 when it is not found. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
//! SIGUSR2 and SIGWINCH sent to `contain` are forwarded to the program.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::os::fd::AsFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use containment::{parse_rlimit_spec, BindSpec, Child, Command, Error, Outcome, Rlimit, Sandbox, TmpfsSpec, ValueKind};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// Exit code when the command line is bad or the sandbox could not be set up.
const EXIT_SETUP: u8 = 125;
/// Exit code when the program exists but cannot be executed.
const EXIT_NOT_EXECUTABLE: u8 = 126;
/// Exit code when the program does not exist in the sandbox.
const EXIT_NOT_FOUND: u8 = 127;

/// The signals `contain` forwards to the program.
const FORWARDED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// One command-line option: its name (given with one or two dashes), the name of
/// its value if it takes one, and one line of help.
struct Opt {
    name: &'static str,
    value: Option<&'static str>,
    help: &'static str,
}

/// Every option. To add one: a line here, and an arm in [`apply`].
const OPTIONS: &[Opt] = &[
    Opt { name: "chroot", value: Some("DIR"), help: "make the host directory DIR the sandbox's /" },
    Opt { name: "overlay", value: Some("TEMPLATE"), help: "make / an overlay of TEMPLATE whose changes vanish" },
    Opt { name: "bind", value: Some("SRC:DST"), help: "bind the host path SRC read-write at DST (repeatable)" },
    Opt { name: "ro-bind", value: Some("SRC:DST"), help: "bind the host path SRC read-only at DST (repeatable)" },
    Opt { name: "tmpfs", value: Some("DST[:SIZE]"), help: "mount a fresh tmpfs at DST, of at most SIZE (like 64M)" },
    Opt { name: "hostname", value: Some("NAME"), help: "the host name inside (default: sandbox)" },
    Opt { name: "env", value: Some("KEY=VALUE"), help: "set a variable of the program's environment (repeatable)" },
    Opt { name: "cwd", value: Some("DIR"), help: "the working directory inside the sandbox (default: /)" },
    Opt { name: "user", value: Some("UID[:GID]"), help: "run the program as UID and GID (GID defaults to UID)" },
    Opt {
        name: "memory-limit",
        value: Some("SIZE"),
        help: "limit memory to SIZE (like 128MB), no swap; OOM-kill beyond",
    },
    Opt { name: "cpu-core-ids", value: Some("LIST"), help: "run only on these CPUs (like 0-3,7)" },
    Opt { name: "pids-limit", value: Some("N"), help: "allow at most N processes and threads at once" },
    Opt { name: "cpu-quota", value: Some("CPUS"), help: "cap CPU time at CPUS CPUs' worth (like 0.5)" },
    Opt {
        name: "cpu-weight",
        value: Some("N"),
        help: "share of CPU time when CPUs are busy, 1 to 10000 (100: default)",
    },
    Opt { name: "timeout", value: Some("SECONDS"), help: "kill the sandbox after SECONDS of wall time (like 2.5)" },
    Opt {
        name: "rlimit",
        value: Some("NAME=VALUE"),
        help: "set a resource limit, like nofile=256 or as=512M (repeatable)",
    },
    Opt {
        name: "cgroup-parent",
        value: Some("PATH"),
        help: "create the sandbox's cgroups under PATH (default: containment)",
    },
    Opt { name: "json-status", value: Some("FILE"), help: "write how the program ended to FILE as one JSON line" },
    Opt { name: "help", value: None, help: "print this help and exit (also -h)" },
    Opt { name: "version", value: None, help: "print the version and exit" },
];

/// The options as given, each with its value (empty for flags), in order.
type Opts = Vec<(&'static Opt, OsString)>;

/// What the command line asks for.
enum Parsed {
    /// Run the program with these arguments.
    Run(OsString, Vec<OsString>),
    Help,
    Version,
}

/// What is being built from the options: the sandbox, and what goes on the command.
struct Builder {
    sandbox: Sandbox,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
}

/// Why `contain` did not get to run the program to its end.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn setup(message: impl Into<String>) -> Failure {
        Failure { code: EXIT_SETUP, message: message.into() }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let code = match e {
            Error::NotExecutable { .. } => EXIT_NOT_EXECUTABLE,
            Error::ProgramNotFound { .. } => EXIT_NOT_FOUND,
            _ => EXIT_SETUP,
        };
        Failure { code, message: e.to_string() }
    }
}

fn main() -> ExitCode {
    let mut opts = Opts::new();
    let end = match parse_args(std::env::args_os().skip(1), &mut opts) {
        Ok(Parsed::Help) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!("contain {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Run(program, args)) => build(&opts, program, &args).and_then(|mut cmd| supervise(&mut cmd)),
        Err(message) => Err(Failure::setup(format!("{message} (see contain --help)"))),
    };
    if let Err(f) = &end {
        eprintln!("contain: {}", f.message);
    }
    // Also after a bad command line, if the option came before the mistake.
    if let Some((_, path)) = opts.iter().rev().find(|(o, _)| o.name == "json-status") {
        let mut line = status_json(&end);
        line.push('\n');
        if let Err(e) = std::fs::write(path, line) {
            eprintln!("contain: --json-status {}: {e}", Path::new(path).display());
        }
    }
    ExitCode::from(match &end {
        Ok(outcome) => u8::try_from(outcome.status.shell_code()).unwrap_or(u8::MAX),
        Err(f) => f.code,
    })
}

/// Splits the command line into options (pushed on `opts`) and the program with its
/// arguments.
fn parse_args(args: impl IntoIterator<Item = OsString>, opts: &mut Opts) -> Result<Parsed, String> {
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            let program = args.next().ok_or("no program given after --")?;
            return Ok(Parsed::Run(program, args.collect()));
        }
        if bytes.len() < 2 || bytes[0] != b'-' {
            return Ok(Parsed::Run(arg, args.collect()));
        }
        let body = bytes.strip_prefix(b"--").unwrap_or(&bytes[1..]);
        let (name, inline) = match body.iter().position(|&b| b == b'=') {
            Some(i) => (&body[..i], Some(OsStr::from_bytes(&body[i + 1..]).to_os_string())),
            None => (body, None),
        };
        let name = if name == b"h" { b"help".as_slice() } else { name };
        let shown = String::from_utf8_lossy(name);
        let Some(opt) = OPTIONS.iter().find(|o| o.name.as_bytes() == name) else {
            return Err(format!("unknown option {:?}", arg.to_string_lossy()));
        };
        let value = match (opt.value, inline) {
            (Some(_), Some(v)) => v,
            (Some(_), None) => args.next().ok_or_else(|| format!("option --{shown} needs a value"))?,
            (None, Some(_)) => return Err(format!("option --{shown} takes no value")),
            (None, None) => OsString::new(),
        };
        match opt.name {
            "help" => return Ok(Parsed::Help),
            "version" => return Ok(Parsed::Version),
            _ => opts.push((opt, value)),
        }
    }
    Err("no program given".into())
}

/// The text of `--help`.
fn usage() -> String {
    let mut s = String::from(
        "Usage: contain [OPTIONS] [--] PROGRAM [ARGS...]\n\
         Run PROGRAM in a sandbox: new namespaces, a private root, no capabilities.\n\n\
         Options (with one or two dashes, as --opt VALUE or --opt=VALUE):\n",
    );
    for o in OPTIONS {
        let head = match o.value {
            Some(v) => format!("--{} {v}", o.name),
            None => format!("--{}", o.name),
        };
        let _ = writeln!(s, "  {head:<26} {}", o.help);
    }
    s.push_str(
        "\nExit code: the program's; 128+N if it died of signal N; 125 if the command line is bad\n\
         or the sandbox could not be set up; 126 if PROGRAM cannot be executed; 127 if it is not found.\n",
    );
    s
}

/// Builds the command from the options, the program and its arguments.
fn build(opts: &Opts, program: OsString, args: &[OsString]) -> Result<Command, Failure> {
    let mut b = Builder { sandbox: Sandbox::new(), env: Vec::new(), cwd: None };
    for (opt, value) in opts {
        apply(&mut b, opt.name, value).map_err(|e| Failure::setup(format!("--{}: {e}", opt.name)))?;
    }
    let mut cmd = b.sandbox.command(program);
    cmd.args(args).envs(b.env);
    if let Some(dir) = b.cwd {
        cmd.current_dir(dir);
    }
    Ok(cmd)
}

/// Applies one option to what is being built. (On an error the builder is left
/// half-made: the caller gives up on it.)
fn apply(b: &mut Builder, name: &str, value: &OsStr) -> Result<(), Error> {
    let sandbox = std::mem::take(&mut b.sandbox);
    b.sandbox = match name {
        "chroot" => sandbox.chroot(absolute(value)?),
        "overlay" => sandbox.overlay(absolute(value)?),
        "bind" | "ro-bind" => {
            let spec = BindSpec::parse_os(value)?;
            let src = absolute(spec.src.as_os_str())?;
            if name == "bind" {
                sandbox.bind(src, spec.dst)
            } else {
                sandbox.bind_ro(src, spec.dst)
            }
        }
        "tmpfs" => match TmpfsSpec::parse_os(value)? {
            TmpfsSpec { dst, size: Some(size) } => sandbox.tmpfs(dst, size),
            TmpfsSpec { dst, size: None } => sandbox.tmpfs_unlimited(dst),
        },
        "hostname" => sandbox.hostname(value),
        "user" => {
            let (uid, gid) = parse_user(value)?;
            sandbox.user(uid, gid)
        }
        "env" => {
            b.env.push(parse_env(value)?);
            sandbox
        }
        "cwd" => {
            b.cwd = Some(PathBuf::from(value));
            sandbox
        }
        "memory-limit" => sandbox.memory(utf8(value, ValueKind::Size)?.parse()?),
        "cpu-core-ids" => sandbox.cpus(utf8(value, ValueKind::CpuSet)?.parse()?),
        "pids-limit" => sandbox.pids(parse_count(value, 1..=u64::MAX, "a number of processes of at least 1, like 64")?),
        "cpu-quota" => sandbox.cpu_quota(parse_quota(value)?),
        "cpu-weight" => {
            let w = parse_count(value, 1..=10_000, "a CPU weight from 1 to 10000")?;
            sandbox.cpu_weight(u32::try_from(w).unwrap_or(u32::MAX))
        }
        "timeout" => sandbox.timeout(parse_timeout(value)?),
        "rlimit" => {
            let (resource, limit) = parse_rlimit(value)?;
            sandbox.rlimit(resource, limit)
        }
        "cgroup-parent" => sandbox.cgroup_parent(value),
        // Read by `main` once the program has ended.
        "json-status" => sandbox,
        _ => return Err(Error::InvalidConfig(format!("option --{name} is not implemented"))),
    };
    Ok(())
}

/// An [`Error::InvalidValue`] about `value`.
fn invalid(kind: ValueKind, value: &OsStr, reason: impl Into<String>, expected: &'static str) -> Error {
    Error::InvalidValue { kind, value: value.to_string_lossy().into_owned(), reason: reason.into(), expected }
}

/// `path` made absolute against the current directory (bytes kept exact).
fn absolute(path: &OsStr) -> Result<PathBuf, Error> {
    std::path::absolute(Path::new(path)).map_err(|e| {
        invalid(ValueKind::Path, path, format!("it cannot be made absolute: {e}"), "an existing host path")
    })
}

/// `value` as UTF-8 text, or an error about a value of `kind`.
fn utf8(value: &OsStr, kind: ValueKind) -> Result<&str, Error> {
    value.to_str().ok_or_else(|| invalid(kind, value, "it is not valid UTF-8", "ASCII text"))
}

/// Parses a whole decimal number (digits only: no sign, no spaces) within `range`.
fn parse_count(value: &OsStr, range: RangeInclusive<u64>, expected: &'static str) -> Result<u64, Error> {
    let text = utf8(value, ValueKind::Number)?;
    if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid(ValueKind::Number, value, "it is not a whole decimal number", expected));
    }
    match text.parse() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(invalid(ValueKind::Number, value, "it is out of range", expected)),
    }
}

/// Parses a decimal number such as `0.5` or `2` (no `inf`, `nan` or exponent); the
/// library checks its range.
fn parse_decimal(value: &OsStr, expected: &'static str) -> Result<f64, Error> {
    let text = utf8(value, ValueKind::Number)?;
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if whole.len() + frac.len() == 0 || !digits(whole) || !digits(frac) {
        return Err(invalid(ValueKind::Number, value, "it is not a decimal number", expected));
    }
    text.parse().map_err(|_| invalid(ValueKind::Number, value, "it is not a decimal number", expected))
}

/// Parses a CPU quota, a number of CPUs greater than zero such as `0.5` (the
/// library checks the upper bound).
fn parse_quota(value: &OsStr) -> Result<f64, Error> {
    const EXPECTED: &str = "a fraction of CPUs greater than 0, such as 0.5 or 2";
    match parse_decimal(value, EXPECTED)? {
        q if q > 0.0 => Ok(q),
        _ => Err(invalid(ValueKind::Number, value, "a CPU quota must be greater than zero", EXPECTED)),
    }
}

/// Parses a timeout in seconds, greater than zero (`0.2`, `30`).
fn parse_timeout(value: &OsStr) -> Result<std::time::Duration, Error> {
    const EXPECTED: &str = "a number of seconds greater than 0, such as 0.5 or 30";
    let secs = parse_decimal(value, EXPECTED)?;
    if secs <= 0.0 {
        return Err(invalid(ValueKind::Number, value, "a timeout must be greater than zero", EXPECTED));
    }
    std::time::Duration::try_from_secs_f64(secs)
        .map_err(|_| invalid(ValueKind::Number, value, "it is too large", EXPECTED))
}

/// Parses `NAME=VALUE` for `--rlimit`; an error names the whole specification.
fn parse_rlimit(value: &OsStr) -> Result<(Rlimit, u64), Error> {
    let text = utf8(value, ValueKind::Argument)?;
    parse_rlimit_spec(text).map_err(|e| match e {
        Error::InvalidValue { kind, value: part, reason, expected } if part != text => {
            Error::InvalidValue { kind, value: text.to_string(), reason: format!("{reason} ({part:?})"), expected }
        }
        e => e,
    })
}

/// Parses `UID[:GID]`.
fn parse_user(value: &OsStr) -> Result<(u32, u32), Error> {
    const EXPECTED: &str = "UID or UID:GID, decimal numbers below 4294967295, like 1000:1000";
    let text = value.to_str().ok_or_else(|| invalid(ValueKind::Id, value, "it is not valid UTF-8", EXPECTED))?;
    let id = |part: &str, what: &str| {
        let ok = !part.is_empty() && part.bytes().all(|c| c.is_ascii_digit());
        match part.parse::<u32>() {
            Ok(n) if ok && n != u32::MAX => Ok(n),
            _ => Err(invalid(
                ValueKind::Id,
                value,
                format!("the {what} {part:?} is not a decimal number below 4294967295"),
                EXPECTED,
            )),
        }
    };
    match text.split_once(':') {
        Some((u, g)) => Ok((id(u, "user id")?, id(g, "group id")?)),
        None => id(text, "user id").map(|u| (u, u)),
    }
}

/// Parses `KEY=VALUE`, split at the first `=`.
fn parse_env(value: &OsStr) -> Result<(OsString, OsString), Error> {
    const EXPECTED: &str = "KEY=VALUE with a non-empty KEY, like LANG=C.UTF-8";
    let bytes = value.as_bytes();
    match bytes.iter().position(|&c| c == b'=') {
        Some(0) => Err(invalid(ValueKind::Environment, value, "the name before '=' is empty", EXPECTED)),
        Some(i) => Ok((OsString::from_vec(bytes[..i].to_vec()), OsString::from_vec(bytes[i + 1..].to_vec()))),
        None => Err(invalid(ValueKind::Environment, value, "there is no '='", EXPECTED)),
    }
}

/// Spawns the command and waits for it, forwarding signals to the program.
fn supervise(cmd: &mut Command) -> Result<Outcome, Failure> {
    let mut mask = SigSet::empty();
    for sig in FORWARDED {
        mask.add(sig);
    }
    // Blocked before the spawn, so a signal that comes early waits in the signalfd.
    mask.thread_block().map_err(|e| Failure::setup(format!("blocking signals failed: {e}")))?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Failure::setup(format!("signalfd failed: {e}")))?;
    let mut child = cmd.spawn()?;
    loop {
        let mut fds = [PollFd::new(sfd.as_fd(), PollFlags::POLLIN), PollFd::new(child.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Failure::setup(format!("poll failed: {e}"))),
        }
        let [signalled, ended] = fds.map(|fd| fd.any().unwrap_or(false));
        if signalled {
            forward_signals(&sfd, &child);
        }
        if ended {
            return Ok(child.wait()?);
        }
    }
}

/// Forwards every pending signal of `sfd` to the program.
fn forward_signals(sfd: &SignalFd, child: &Child) {
    loop {
        match sfd.read_signal() {
            Ok(Some(info)) => {
                let signo = info.ssi_signo as i32;
                if let Err(e) = child.signal(signo) {
                    eprintln!("contain: forwarding signal {signo} failed: {e}");
                }
            }
            Ok(None) => return,
            Err(Errno::EINTR) => {}
            Err(e) => {
                eprintln!("contain: reading signals failed: {e}");
                return;
            }
        }
    }
}

/// The `--json-status` line (without the newline).
fn status_json(end: &Result<Outcome, Failure>) -> String {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let num = |n: Option<i64>| n.map_or("null".to_string(), |n| n.to_string());
    let (code, signal, oom, timed_out, wall, user, sys, peak, error) = match end {
        Ok(o) => (
            num(o.status.code().map(i64::from)),
            num(o.status.signal().map(i64::from)),
            o.oom_killed,
            o.timed_out,
            ms(o.usage.wall),
            ms(o.usage.user),
            ms(o.usage.system),
            o.usage.peak_memory.map_or("null".to_string(), |b| b.to_string()),
            "null".to_string(),
        ),
        Err(f) => (f.code.to_string(), num(None), false, false, 0.0, 0.0, 0.0, num(None), json_string(&f.message)),
    };
    format!(
        "{{\"exit_code\":{code},\"signal\":{signal},\"oom_killed\":{oom},\"timed_out\":{timed_out},\
         \"wall_ms\":{wall:.3},\"user_ms\":{user:.3},\"sys_ms\":{sys:.3},\"peak_memory_bytes\":{peak},\
         \"error\":{error}}}"
    )
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
