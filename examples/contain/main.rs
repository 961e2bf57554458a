//! `contain`: run a program in a sandbox from the command line, or keep named
//! sandboxes running and run programs in them.
//!
//! ```text
//! contain [OPTIONS] [--] PROGRAM [ARGS...]
//! contain start --name NAME [OPTIONS] [-- PROGRAM [ARGS...]]
//! contain exec NAME [--cwd DIR] [--env KEY=VALUE]... [--] PROGRAM [ARGS...]
//! contain stop NAME [--grace SECONDS]
//! contain list [--json]
//! ```
//!
//! A subcommand is recognised only as the first argument; anything else is the
//! plain form, which runs PROGRAM in a new sandbox until it ends. Every option
//! works with one or two dashes, and as `--opt VALUE` or `--opt=VALUE`. The first
//! argument that is not an option (or the one after `--`) is the program; the rest
//! are its arguments. The old executor's invocation works as it did:
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
//! `contain start` starts a persistent named sandbox (with PROGRAM as its main
//! program, whose output goes to `--log FILE` or nowhere), prints its init's pid
//! and exits; `contain exec` runs a program in it; `contain stop` sends SIGTERM to
//! everything in it, waits up to `--grace` seconds (10 by default), kills what is
//! left and removes it; `contain list` shows the running ones.
//!
//! Exit code of a run and of `exec`: the program's; 128+N when it died of signal
//! N; 125 when the command line is bad or the sandbox could not be set up (or, for
//! `exec`, is not running); 126 when the program cannot be executed; 127 when it
//! is not found. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH
//! sent to `contain` are forwarded to the program. `start`, `stop` and `list` exit
//! with 0 when they did their work, 125 for a bad command line (and, for `start`,
//! when the sandbox could not be set up, or 126 or 127 for its program), and 1
//! when `stop` finds no such sandbox or `stop` or `list` fail.

mod cli;

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use cli::{
    build, build_sandbox, checked_name, last_value, parse_args, parse_env, parse_grace, parse_user, usage, Failure,
    Line, Opts, Parsed, Verb,
};
use containment::{Child, Error, Outcome, Running, RunningInfo, Stdio};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// How long `contain stop` waits for the programs to end after SIGTERM.
const DEFAULT_GRACE: Duration = Duration::from_secs(10);

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

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).peekable();
    let verb = args.peek().and_then(|a| Verb::from_word(a)).unwrap_or(Verb::Run);
    if verb != Verb::Run {
        args.next();
    }
    let mut opts = Opts::new();
    let line = match parse_args(verb, args, &mut opts) {
        Ok(Parsed::Help) => {
            say(&usage(verb));
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            say(&format!("contain {}\n", env!("CARGO_PKG_VERSION")));
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Line(line)) => Ok(line),
        Err(message) => Err(Failure::setup(format!("{message} (see {} --help)", verb.command()))),
    };
    let code = match verb {
        Verb::Run => run(line, &opts),
        Verb::Start => finish(line.and_then(|l| start(l, &opts))),
        Verb::Exec => finish(line.and_then(|l| exec(l, &opts))),
        Verb::Stop => finish(line.and_then(|l| stop(&l, &opts))),
        Verb::List => finish(line.and_then(|_| list(&opts))),
    };
    ExitCode::from(code)
}

/// Prints `text` on standard output; a closed or broken output is not an error
/// worth more than the exit code.
fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Prints `contain: message` on standard error.
fn complain(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "contain: {message}");
}

/// The exit code of a subcommand's result, after printing its failure.
fn finish(end: Result<u8, Failure>) -> u8 {
    end.unwrap_or_else(|f| {
        complain(&f.message);
        f.code
    })
}

/// The exit code that tells how the program ended.
fn exit_code(outcome: &Outcome) -> u8 {
    u8::try_from(outcome.status.shell_code()).unwrap_or(u8::MAX)
}

/// The plain form: runs the program to its end in a new sandbox; writes
/// `--json-status`.
fn run(line: Result<Line, Failure>, opts: &Opts) -> u8 {
    let end = line.and_then(|line| {
        let (program, args) = line.program.ok_or_else(|| Failure::setup("no program given"))?;
        let mut cmd = build(opts, program, &args)?;
        supervise(|| cmd.spawn())
    });
    if let Err(f) = &end {
        complain(&f.message);
    }
    // Also after a bad command line, if the option came before the mistake.
    if let Some(path) = last_value(opts, "json-status") {
        let mut line = status_json(&end);
        line.push('\n');
        if let Err(e) = std::fs::write(path, line) {
            complain(&format!("--json-status {}: {e}", Path::new(path).display()));
        }
    }
    match &end {
        Ok(outcome) => exit_code(outcome),
        Err(f) => f.code,
    }
}

/// `contain start`: starts a persistent named sandbox, prints its init's pid.
fn start(line: Line, opts: &Opts) -> Result<u8, Failure> {
    let name =
        last_value(opts, "name").ok_or_else(|| Failure::setup("start needs --name NAME (see contain start --help)"))?;
    let name = checked_name(name).map_err(|e| Failure::setup(format!("--name: {e}")))?;
    let b = build_sandbox(opts)?;
    let sandbox = b.sandbox.name(name).persistent(true);
    let mut running = match line.program {
        Some((program, args)) => {
            let (out, err) = program_output(opts)?;
            let mut cmd = sandbox.command(program);
            cmd.args(args).envs(b.env).stdin(Stdio::null()).stdout(out).stderr(err);
            if let Some(dir) = b.cwd {
                cmd.current_dir(dir);
            }
            cmd.start()?
        }
        None => {
            if let Some((o, _)) = opts.iter().find(|(o, _)| matches!(o.name, "env" | "cwd" | "log")) {
                return Err(Failure::setup(format!(
                    "--{} is for the main program, and none is given (contain start --name NAME -- PROGRAM)",
                    o.name
                )));
            }
            with_null_stdio(|| sandbox.start())??
        }
    };
    let pid = running.pid();
    running.detach()?;
    say(&format!("{pid}\n"));
    Ok(0)
}

/// Where the main program of `contain start` writes: `--log FILE` (appended to)
/// for both its output and its errors, or `/dev/null`.
fn program_output(opts: &Opts) -> Result<(Stdio, Stdio), Failure> {
    let Some(path) = last_value(opts, "log") else { return Ok((Stdio::null(), Stdio::null())) };
    let shown = Path::new(path).display();
    let file = File::options()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| Failure::setup(format!("--log {shown}: {e}")))?;
    let copy = file.try_clone().map_err(|e| Failure::setup(format!("--log {shown}: {e}")))?;
    Ok((file.into(), copy.into()))
}

/// Runs `f` with this process's descriptors 0, 1 and 2 on `/dev/null`, and puts
/// them back after. A sandbox started without a program keeps the descriptors 0-2
/// its init inherited for as long as it runs: they must not be the caller's
/// terminal or pipes, or a reader of `contain start`'s output would wait for the
/// sandbox to end.
fn with_null_stdio<T>(f: impl FnOnce() -> T) -> Result<T, Failure> {
    let null = File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| Failure::setup(format!("opening /dev/null: {e}")))?;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    let saved: [Option<OwnedFd>; 3] = [
        std::io::stdin().as_fd().try_clone_to_owned().ok(),
        std::io::stdout().as_fd().try_clone_to_owned().ok(),
        std::io::stderr().as_fd().try_clone_to_owned().ok(),
    ];
    let redirect = |fd: usize, to: &dyn AsFd| match fd {
        0 => nix::unistd::dup2_stdin(to),
        1 => nix::unistd::dup2_stdout(to),
        _ => nix::unistd::dup2_stderr(to),
    };
    for fd in 0..3 {
        redirect(fd, &null).map_err(|e| Failure::setup(format!("redirecting descriptor {fd}: {e}")))?;
    }
    let result = f();
    // A descriptor that was closed stays on /dev/null.
    for (fd, old) in saved.iter().enumerate() {
        if let Some(old) = old {
            let _ = redirect(fd, old);
        }
    }
    Ok(result)
}

/// The sandbox's name, the first word of `exec` and `stop`.
fn name_word(line: &Line) -> Result<&str, Failure> {
    let word = line.words.first().ok_or_else(|| Failure::setup("no sandbox NAME given"))?;
    checked_name(word).map_err(|e| Failure::setup(format!("the sandbox's name: {e}")))
}

/// `contain exec`: runs a program in a running sandbox to its end.
fn exec(line: Line, opts: &Opts) -> Result<u8, Failure> {
    let name = name_word(&line)?;
    // Bad values are reported before the sandbox is looked for.
    for (opt, value) in opts {
        match opt.name {
            "user" => drop(parse_user(value).map_err(|e| Failure::setup(format!("--user: {e}")))?),
            "env" => drop(parse_env(value).map_err(|e| Failure::setup(format!("--env: {e}")))?),
            _ => {}
        }
    }
    let running = Running::open(name).map_err(|e| match e {
        Error::InvalidConfig(m) => Failure::setup(m),
        e => Failure::from(e),
    })?;
    let (program, args) = line.program.as_ref().ok_or_else(|| Failure::setup("no program given"))?;
    let mut cmd = running.command(program);
    cmd.args(args);
    for (opt, value) in opts {
        match opt.name {
            "env" => {
                let (k, v) = parse_env(value).map_err(|e| Failure::setup(format!("--env: {e}")))?;
                cmd.env(k, v);
            }
            "cwd" => {
                cmd.current_dir(value);
            }
            "user" => {
                let (uid, gid) = parse_user(value).map_err(|e| Failure::setup(format!("--user: {e}")))?;
                cmd.user(uid, gid);
            }
            _ => {}
        }
    }
    let outcome = supervise(|| cmd.spawn())?;
    Ok(exit_code(&outcome))
}

/// `contain stop`: stops a running sandbox.
fn stop(line: &Line, opts: &Opts) -> Result<u8, Failure> {
    let name = name_word(line)?;
    let grace = match last_value(opts, "grace") {
        Some(v) => parse_grace(v).map_err(|e| Failure::setup(format!("--grace: {e}")))?,
        None => DEFAULT_GRACE,
    };
    let running = Running::open(name).map_err(|e| match e {
        Error::InvalidConfig(m) => Failure::failed(m),
        e => Failure::failed(format!("opening the sandbox {name}: {e}")),
    })?;
    running.stop(grace).map_err(|e| Failure::failed(format!("stopping the sandbox {name}: {e}")))?;
    Ok(0)
}

/// `contain list`: prints the running sandboxes, as a table or JSON.
fn list(opts: &Opts) -> Result<u8, Failure> {
    let all = containment::list().map_err(|e| Failure::failed(format!("listing the sandboxes: {e}")))?;
    let json = opts.iter().any(|(o, _)| o.name == "json");
    say(&if json { list_json(&all) } else { list_table(&all) });
    Ok(0)
}

/// The sandboxes as a table with a header line, columns aligned.
fn list_table(all: &[RunningInfo]) -> String {
    let mut rows = vec![["NAME", "PID", "UPTIME", "LIMITS", "MEMORY"].map(String::from)];
    for s in all {
        rows.push([
            s.name.clone(),
            s.pid.to_string(),
            duration_text(s.uptime),
            if s.limits.is_empty() { "-".into() } else { s.limits.clone() },
            s.memory_current.map_or("-".into(), size_text),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut text = String::new();
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(text, "{cell:<w$}  ", w = widths[i]);
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// The sandboxes as one JSON array, one object each.
fn list_json(all: &[RunningInfo]) -> String {
    let items: Vec<String> = all
        .iter()
        .map(|s| {
            format!(
                "{{\"name\":{},\"pid\":{},\"uptime_s\":{},\"limits\":{},\"memory_bytes\":{}}}",
                json_string(&s.name),
                s.pid,
                s.uptime.as_secs(),
                json_string(&s.limits),
                s.memory_current.map_or("null".to_string(), |m| m.to_string())
            )
        })
        .collect();
    format!("[{}]\n", items.join(","))
}

/// `3725s` as `1h02m05s`.
fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m{seconds:02}s"),
        (0, _, _) => format!("{hours}h{minutes:02}m{seconds:02}s"),
        _ => format!("{days}d{hours:02}h{minutes:02}m"),
    }
}

/// A number of bytes with a binary unit: `512B`, `12.3M`.
fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

/// Spawns the program with `spawn` and waits for it, forwarding signals to it.
fn supervise(spawn: impl FnOnce() -> Result<Child, Error>) -> Result<Outcome, Failure> {
    let mut mask = SigSet::empty();
    for sig in FORWARDED {
        mask.add(sig);
    }
    // Blocked before the spawn, so a signal that comes early waits in the signalfd.
    mask.thread_block().map_err(|e| Failure::setup(format!("blocking signals failed: {e}")))?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Failure::setup(format!("signalfd failed: {e}")))?;
    let mut child = spawn()?;
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
                    complain(&format!("forwarding signal {signo} failed: {e}"));
                }
            }
            Ok(None) => return,
            Err(Errno::EINTR) => {}
            Err(e) => {
                complain(&format!("reading signals failed: {e}"));
                return;
            }
        }
    }
}

/// The `--json-status` line (without the newline).
fn status_json(end: &Result<Outcome, Failure>) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
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
