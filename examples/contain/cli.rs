//! The command line of `contain`: its forms and options, and the sandbox and
//! command they describe. Nothing here starts a process, so the fuzz target
//! `contain_cli` (`fuzz/fuzz_targets/contain_cli.rs`) runs it on arbitrary
//! command lines.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use containment::{
    parse_rlimit_spec, validate_name, BindSpec, Command, Error, Ipv4Net, Net, Rlimit, Sandbox, TmpfsSpec, ValueKind,
};

/// Exit code when the command line is bad or the sandbox could not be set up.
pub(crate) const EXIT_SETUP: u8 = 125;
/// Exit code when the program exists but cannot be executed.
pub(crate) const EXIT_NOT_EXECUTABLE: u8 = 126;
/// Exit code when the program does not exist in the sandbox.
pub(crate) const EXIT_NOT_FOUND: u8 = 127;
/// Exit code of `stop` and `list` when they fail (no such sandbox, for `stop`).
pub(crate) const EXIT_FAILED: u8 = 1;

/// The forms of the command line: the plain run, and the subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Run,
    Start,
    Exec,
    Stop,
    List,
}

/// Whether a form takes a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TakesProgram {
    Required,
    Optional,
    No,
}

impl Verb {
    pub(crate) const SUBCOMMANDS: [Verb; 4] = [Verb::Start, Verb::Exec, Verb::Stop, Verb::List];

    /// The subcommand named by `word`, if any.
    pub(crate) fn from_word(word: &OsStr) -> Option<Verb> {
        Verb::SUBCOMMANDS.into_iter().find(|v| v.word().as_bytes() == word.as_bytes())
    }

    /// The subcommand's word (empty for the plain form).
    pub(crate) fn word(self) -> &'static str {
        match self {
            Verb::Run => "",
            Verb::Start => "start",
            Verb::Exec => "exec",
            Verb::Stop => "stop",
            Verb::List => "list",
        }
    }

    /// The command as the user types it: `contain` or `contain start`.
    pub(crate) fn command(self) -> String {
        match self {
            Verb::Run => "contain".into(),
            v => format!("contain {}", v.word()),
        }
    }

    /// This form's bit in [`Opt::verbs`].
    pub(crate) fn bit(self) -> u8 {
        match self {
            Verb::Run => RUN,
            Verb::Start => START,
            Verb::Exec => EXEC,
            Verb::Stop => STOP,
            Verb::List => LIST,
        }
    }

    pub(crate) fn synopsis(self) -> &'static str {
        match self {
            Verb::Run => "contain [OPTIONS] [--] PROGRAM [ARGS...]",
            Verb::Start => "contain start --name NAME [OPTIONS] [-- PROGRAM [ARGS...]]",
            Verb::Exec => "contain exec NAME [OPTIONS] [--] PROGRAM [ARGS...]",
            Verb::Stop => "contain stop NAME [--grace SECONDS]",
            Verb::List => "contain list [--json]",
        }
    }

    pub(crate) fn about(self) -> &'static str {
        match self {
            Verb::Run => "Run PROGRAM in a sandbox: new namespaces, a private root, no capabilities.",
            Verb::Start => {
                "Start a persistent sandbox named NAME, with PROGRAM as its main program or with none,\n\
                 print the pid of its init and exit. PROGRAM's output goes to --log FILE or nowhere."
            }
            Verb::Exec => {
                "Run PROGRAM in the running sandbox NAME (its root, namespaces, limits and user),\n\
                 with this terminal's standard input and output."
            }
            Verb::Stop => {
                "Stop the sandbox NAME: SIGTERM to everything in it, SIGKILL to what is left after\n\
                 the grace period, then remove its state and cgroups."
            }
            Verb::List => "List the running named sandboxes: NAME PID UPTIME LIMITS MEMORY.",
        }
    }

    /// How many words (the sandbox's name) come before the program.
    pub(crate) fn leading_words(self) -> usize {
        match self {
            Verb::Exec | Verb::Stop => 1,
            Verb::Run | Verb::Start | Verb::List => 0,
        }
    }

    pub(crate) fn takes_program(self) -> TakesProgram {
        match self {
            Verb::Run | Verb::Exec => TakesProgram::Required,
            Verb::Start => TakesProgram::Optional,
            Verb::Stop | Verb::List => TakesProgram::No,
        }
    }
}

/// Bits of [`Opt::verbs`]: the forms an option is for.
pub(crate) const RUN: u8 = 1;
pub(crate) const START: u8 = 2;
pub(crate) const EXEC: u8 = 4;
pub(crate) const STOP: u8 = 8;
pub(crate) const LIST: u8 = 16;
/// Options that describe a new sandbox.
pub(crate) const NEW: u8 = RUN | START;
pub(crate) const EVERY: u8 = RUN | START | EXEC | STOP | LIST;

/// One command-line option: its name (given with one or two dashes), the name of
/// its value if it takes one, one line of help, and the forms it is for.
pub(crate) struct Opt {
    pub(crate) name: &'static str,
    pub(crate) value: Option<&'static str>,
    pub(crate) help: &'static str,
    pub(crate) verbs: u8,
}

/// Every option. To add one: a line here, and an arm in [`apply`] (for the
/// options of a new sandbox) or where its form reads it.
#[rustfmt::skip]
pub(crate) const OPTIONS: &[Opt] = &[
    Opt { name: "name", value: Some("NAME"), help: "the sandbox's name (A-Z a-z 0-9 . _ -, up to 64)", verbs: START },
    Opt { name: "log", value: Some("FILE"), help: "append the program's output and errors to FILE", verbs: START },
    Opt { name: "chroot", value: Some("DIR"), help: "make the host directory DIR the sandbox's /", verbs: NEW },
    Opt { name: "overlay", value: Some("TEMPLATE"), help: "make / an overlay of TEMPLATE whose changes vanish", verbs: NEW },
    Opt { name: "bind", value: Some("SRC:DST"), help: "bind the host path SRC read-write at DST (repeatable)", verbs: NEW },
    Opt { name: "ro-bind", value: Some("SRC:DST"), help: "bind the host path SRC read-only at DST (repeatable)", verbs: NEW },
    Opt { name: "tmpfs", value: Some("DST[:SIZE]"), help: "mount a fresh tmpfs at DST, of at most SIZE (like 64M)", verbs: NEW },
    Opt { name: "hostname", value: Some("NAME"), help: "the host name inside (default: sandbox)", verbs: NEW },
    Opt { name: "env", value: Some("KEY=VALUE"), help: "set a variable of the program's environment (repeatable)", verbs: NEW | EXEC },
    Opt { name: "cwd", value: Some("DIR"), help: "the working directory inside the sandbox (default: /)", verbs: NEW | EXEC },
    Opt { name: "user", value: Some("UID[:GID]"), help: "run the programs as UID and GID (GID defaults to UID)", verbs: NEW | EXEC },
    Opt { name: "memory-limit", value: Some("SIZE"), help: "limit memory to SIZE (like 128MB), no swap; OOM-kill beyond", verbs: NEW },
    Opt { name: "cpu-core-ids", value: Some("LIST"), help: "run only on these CPUs (like 0-3,7)", verbs: NEW },
    Opt { name: "pids-limit", value: Some("N"), help: "allow at most N processes and threads at once", verbs: NEW },
    Opt { name: "cpu-quota", value: Some("CPUS"), help: "cap CPU time at CPUS CPUs' worth (like 0.5)", verbs: NEW },
    Opt { name: "cpu-weight", value: Some("N"), help: "share of CPU time when CPUs are busy, 1 to 10000 (100: default)", verbs: NEW },
    Opt { name: "timeout", value: Some("SECONDS"), help: "kill the sandbox after SECONDS of wall time (like 2.5)", verbs: NEW },
    Opt { name: "rlimit", value: Some("NAME=VALUE"), help: "set a resource limit, like nofile=256 or as=512M (repeatable)", verbs: NEW },
    Opt { name: "cgroup-parent", value: Some("PATH"), help: "create the sandbox's cgroups under PATH (default: containment)", verbs: NEW },
    Opt { name: "net", value: Some("host|none"), help: "the host's network, or only lo (the default)", verbs: NEW },
    Opt { name: "network-address", value: Some("A/P"), help: "an eth0 with address A/P (like 10.77.0.17/24); needs --bridge", verbs: NEW },
    Opt { name: "bridge", value: Some("BR"), help: "the host bridge eth0 is attached to; needs --network-address", verbs: NEW },
    Opt { name: "gateway", value: Some("IP"), help: "the default route's gateway (default: the bridge's address)", verbs: NEW },
    Opt { name: "mtu", value: Some("N"), help: "the MTU of eth0, 68 to 65535 (default: the bridge's)", verbs: NEW },
    Opt { name: "create-bridge", value: Some("A/P"), help: "create the bridge with address A/P when it is missing", verbs: NEW },
    Opt { name: "json-status", value: Some("FILE"), help: "write how the program ended to FILE as one JSON line", verbs: RUN },
    Opt { name: "grace", value: Some("SECONDS"), help: "how long programs have to end after SIGTERM (default: 10)", verbs: STOP },
    Opt { name: "json", value: None, help: "print a JSON array instead of a table", verbs: LIST },
    Opt { name: "help", value: None, help: "print this help and exit (also -h)", verbs: EVERY },
    Opt { name: "version", value: None, help: "print the version and exit", verbs: EVERY },
];

/// The options as given, each with its value (empty for flags), in order.
pub(crate) type Opts = Vec<(&'static Opt, OsString)>;

/// The words of a command line that are not options.
pub(crate) struct Line {
    /// The words before the program: the sandbox's name for `exec` and `stop`.
    pub(crate) words: Vec<OsString>,
    /// The program and its arguments.
    pub(crate) program: Option<(OsString, Vec<OsString>)>,
}

/// What the command line asks for.
pub(crate) enum Parsed {
    Line(Line),
    Help,
    Version,
}

/// The network options, checked together once all are read.
#[derive(Default)]
pub(crate) struct NetOpts {
    /// `--net`: host or none.
    pub(crate) mode: Option<(&'static str, Net)>,
    pub(crate) address: Option<Ipv4Net>,
    pub(crate) bridge: Option<String>,
    pub(crate) gateway: Option<Ipv4Addr>,
    pub(crate) mtu: Option<u32>,
    pub(crate) create: Option<Ipv4Net>,
}

/// What is being built from the options: the sandbox, and what goes on the command.
#[derive(Default)]
pub(crate) struct Builder {
    pub(crate) sandbox: Sandbox,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) net: NetOpts,
}

/// Why `contain` did not get to do what it was asked.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn setup(message: impl Into<String>) -> Failure {
        Failure { code: EXIT_SETUP, message: message.into() }
    }

    pub(crate) fn failed(message: impl Into<String>) -> Failure {
        Failure { code: EXIT_FAILED, message: message.into() }
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

/// Splits the command line of `verb` into options (pushed on `opts`), the words
/// before the program, and the program with its arguments.
pub(crate) fn parse_args(
    verb: Verb,
    args: impl IntoIterator<Item = OsString>,
    opts: &mut Opts,
) -> Result<Parsed, String> {
    let mut args = args.into_iter();
    let mut words = Vec::new();
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        let dashes = bytes == b"--";
        if dashes || bytes.len() < 2 || bytes[0] != b'-' {
            if !dashes && words.len() < verb.leading_words() {
                words.push(arg);
                continue;
            }
            let program = if dashes { args.next() } else { Some(arg) };
            return line(verb, words, program.map(|p| (p, args.collect())), dashes);
        }
        let (opt, value) = parse_option(verb, &arg, &mut args)?;
        match opt.name {
            "help" => return Ok(Parsed::Help),
            "version" => return Ok(Parsed::Version),
            _ => opts.push((opt, value)),
        }
    }
    line(verb, words, None, false)
}

/// Parses the option `arg` (with its value, inline or the next argument).
pub(crate) fn parse_option(
    verb: Verb,
    arg: &OsStr,
    args: &mut impl Iterator<Item = OsString>,
) -> Result<(&'static Opt, OsString), String> {
    let bytes = arg.as_bytes();
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
    if opt.verbs & verb.bit() == 0 {
        return Err(not_for(opt, verb));
    }
    let value = match (opt.value, inline) {
        (Some(_), Some(v)) => v,
        (Some(_), None) => args.next().ok_or_else(|| format!("option --{shown} needs a value"))?,
        (None, Some(_)) => return Err(format!("option --{shown} takes no value")),
        (None, None) => OsString::new(),
    };
    Ok((opt, value))
}

/// Why `opt` is refused on the command line of `verb`.
pub(crate) fn not_for(opt: &Opt, verb: Verb) -> String {
    let forms: Vec<String> = [Verb::Run, Verb::Start, Verb::Exec, Verb::Stop, Verb::List]
        .into_iter()
        .filter(|v| opt.verbs & v.bit() != 0)
        .map(|v| if v == Verb::Run { "a run (contain PROGRAM)".to_string() } else { v.command() })
        .collect();
    format!("option --{} is not for {}; it is for {}", opt.name, verb.command(), forms.join(", "))
}

/// Checks the words and the program of `verb`'s command line.
pub(crate) fn line(
    verb: Verb,
    words: Vec<OsString>,
    program: Option<(OsString, Vec<OsString>)>,
    after_dashes: bool,
) -> Result<Parsed, String> {
    if words.len() < verb.leading_words() {
        return Err(format!("{} needs the sandbox's NAME", verb.word()));
    }
    match (verb.takes_program(), program) {
        (TakesProgram::Required, None) if after_dashes => Err("no program given after --".into()),
        (TakesProgram::Required, None) => Err("no program given".into()),
        (TakesProgram::No, Some((word, _))) => {
            Err(format!("unexpected argument {:?}: {} takes no program", word.to_string_lossy(), verb.command()))
        }
        (_, program) => Ok(Parsed::Line(Line { words, program })),
    }
}

/// The text of `--help` for `verb`.
pub(crate) fn usage(verb: Verb) -> String {
    let mut s = format!("Usage: {}\n", verb.synopsis());
    if verb == Verb::Run {
        for v in Verb::SUBCOMMANDS {
            let _ = writeln!(s, "       {}", v.synopsis());
        }
    }
    let _ = write!(s, "{}\n\nOptions (with one or two dashes, as --opt VALUE or --opt=VALUE):\n", verb.about());
    for o in OPTIONS.iter().filter(|o| o.verbs & verb.bit() != 0) {
        let head = match o.value {
            Some(v) => format!("--{} {v}", o.name),
            None => format!("--{}", o.name),
        };
        let _ = writeln!(s, "  {head:<26} {}", o.help);
    }
    match verb {
        Verb::Run => s.push_str(
            "\nExit code: the program's; 128+N if it died of signal N; 125 if the command line is bad\n\
             or the sandbox could not be set up; 126 if PROGRAM cannot be executed; 127 if it is not found.\n\
             Each subcommand (start, exec, stop, list) has its own help: contain start --help.\n",
        ),
        Verb::Exec => s.push_str(
            "\nExit code: the program's; 128+N if it died of signal N; 125 if the command line is bad\n\
             or no sandbox NAME is running; 126 if PROGRAM cannot be executed; 127 if it is not found.\n",
        ),
        Verb::Start => s.push_str(
            "\nExit code: 0 once it runs; 125 if the command line is bad or the sandbox could not be set up;\n\
             126 if PROGRAM cannot be executed; 127 if it is not found.\n",
        ),
        Verb::Stop => {
            s.push_str("\nExit code: 0 once stopped; 1 if no sandbox NAME is running; 125 for a bad command line.\n")
        }
        Verb::List => s.push_str("\nExit code: 0; 1 if the sandboxes cannot be listed; 125 for a bad command line.\n"),
    }
    s
}

/// The value of the last `--name` option given, if any.
pub(crate) fn last_value<'a>(opts: &'a Opts, name: &str) -> Option<&'a OsStr> {
    opts.iter().rev().find(|(o, _)| o.name == name).map(|(_, v)| v.as_os_str())
}

/// The sandbox's name in `name`, checked.
pub(crate) fn checked_name(name: &OsStr) -> Result<&str, Error> {
    let text = utf8(name, ValueKind::Argument)?;
    validate_name(text)?;
    Ok(text)
}

/// Builds the command of a run from the options, the program and its arguments.
pub(crate) fn build(opts: &Opts, program: OsString, args: &[OsString]) -> Result<Command, Failure> {
    let b = build_sandbox(opts)?;
    let mut cmd = b.sandbox.command(program);
    cmd.args(args).envs(b.env);
    if let Some(dir) = b.cwd {
        cmd.current_dir(dir);
    }
    Ok(cmd)
}

/// Builds a new sandbox's description from the options (and what goes on its
/// main program's command).
pub(crate) fn build_sandbox(opts: &Opts) -> Result<Builder, Failure> {
    let mut b = Builder { sandbox: Sandbox::new(), ..Builder::default() };
    for (opt, value) in opts {
        apply(&mut b, opt.name, value).map_err(|e| Failure::setup(format!("--{}: {e}", opt.name)))?;
    }
    let net = std::mem::take(&mut b.net);
    if let Some(net) = net.resolve().map_err(|m| Failure::setup(format!("{m} (see contain --help)")))? {
        b.sandbox = std::mem::take(&mut b.sandbox).net(net);
    }
    Ok(b)
}

/// Applies one option to what is being built. (On an error the builder is left
/// half-made: the caller gives up on it.) Options that are not about a new
/// sandbox are left alone.
pub(crate) fn apply(b: &mut Builder, name: &str, value: &OsStr) -> Result<(), Error> {
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
        "net" => {
            b.net.mode = Some(parse_net_mode(value)?);
            sandbox
        }
        "network-address" => {
            b.net.address = Some(parse_ipv4_net(value)?);
            sandbox
        }
        "bridge" => {
            b.net.bridge = Some(utf8(value, ValueKind::Argument)?.to_string());
            sandbox
        }
        "gateway" => {
            b.net.gateway = Some(parse_gateway(value)?);
            sandbox
        }
        "mtu" => {
            let mtu = parse_count(value, 68..=65_535, "an MTU from 68 to 65535")?;
            b.net.mtu = Some(u32::try_from(mtu).unwrap_or(u32::MAX));
            sandbox
        }
        "create-bridge" => {
            b.net.create = Some(parse_ipv4_net(value)?);
            sandbox
        }
        // Read by their forms, not part of the sandbox.
        _ => sandbox,
    };
    Ok(())
}

impl NetOpts {
    /// The network the options ask for, if any; an error when they do not go
    /// together.
    pub(crate) fn resolve(self) -> Result<Option<Net>, String> {
        let bridge_opts = [
            ("network-address", self.address.is_some()),
            ("bridge", self.bridge.is_some()),
            ("gateway", self.gateway.is_some()),
            ("mtu", self.mtu.is_some()),
            ("create-bridge", self.create.is_some()),
        ];
        let first = bridge_opts.iter().find(|(_, given)| *given).map(|(name, _)| *name);
        let Some(first) = first else { return Ok(self.mode.map(|(_, net)| net)) };
        if let Some((mode, _)) = self.mode {
            return Err(format!(
                "--net {mode} conflicts with --{first}: the bridge options give the sandbox its own eth0 on a bridge"
            ));
        }
        match (self.address, self.bridge) {
            (Some(address), Some(bridge)) => {
                let mut net = Net::bridge(bridge, address);
                if let Some(g) = self.gateway {
                    net = net.gateway(g);
                }
                if let Some(m) = self.mtu {
                    net = net.mtu(m);
                }
                if let Some(c) = self.create {
                    net = net.create_bridge(c);
                }
                Ok(Some(net.into()))
            }
            (Some(_), None) => Err("--network-address needs --bridge BR, the bridge the sandbox's eth0 joins".into()),
            (None, Some(_)) => Err("--bridge needs --network-address A/P, the sandbox's address on it".into()),
            (None, None) => Err(format!("--{first} needs --network-address A/P and --bridge BR")),
        }
    }
}

/// Parses `--net`: `host` or `none`.
pub(crate) fn parse_net_mode(value: &OsStr) -> Result<(&'static str, Net), Error> {
    match value.as_bytes() {
        b"host" => Ok(("host", Net::host())),
        b"none" => Ok(("none", Net::none())),
        _ => Err(invalid(
            ValueKind::Argument,
            value,
            "it is not a network mode",
            "host or none (for a bridge, --network-address and --bridge)",
        )),
    }
}

/// Parses an interface address such as `10.77.0.17/24` (an IPv6 address gives
/// the library's [`Error::Unsupported`]).
pub(crate) fn parse_ipv4_net(value: &OsStr) -> Result<Ipv4Net, Error> {
    utf8(value, ValueKind::Address)?.parse()
}

/// Parses a gateway: an IPv4 address such as `10.77.0.1`.
pub(crate) fn parse_gateway(value: &OsStr) -> Result<Ipv4Addr, Error> {
    let text = utf8(value, ValueKind::Address)?;
    if text.parse::<Ipv6Addr>().is_ok() {
        return Err(Error::Unsupported {
            feature: "IPv6 addresses",
            reason: format!("{text:?} is an IPv6 address; only IPv4 gateways like 10.77.0.1 are supported"),
        });
    }
    text.parse()
        .map_err(|_| invalid(ValueKind::Address, value, "it is not an IPv4 address", "an IPv4 address like 10.77.0.1"))
}

/// An [`Error::InvalidValue`] about `value`.
pub(crate) fn invalid(kind: ValueKind, value: &OsStr, reason: impl Into<String>, expected: &'static str) -> Error {
    Error::InvalidValue { kind, value: value.to_string_lossy().into_owned(), reason: reason.into(), expected }
}

/// `path` made absolute against the current directory (bytes kept exact).
pub(crate) fn absolute(path: &OsStr) -> Result<PathBuf, Error> {
    std::path::absolute(Path::new(path)).map_err(|e| {
        invalid(ValueKind::Path, path, format!("it cannot be made absolute: {e}"), "an existing host path")
    })
}

/// `value` as UTF-8 text, or an error about a value of `kind`.
pub(crate) fn utf8(value: &OsStr, kind: ValueKind) -> Result<&str, Error> {
    value.to_str().ok_or_else(|| invalid(kind, value, "it is not valid UTF-8", "ASCII text"))
}

/// Parses a whole decimal number (digits only: no sign, no spaces) within `range`.
pub(crate) fn parse_count(value: &OsStr, range: RangeInclusive<u64>, expected: &'static str) -> Result<u64, Error> {
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
pub(crate) fn parse_decimal(value: &OsStr, expected: &'static str) -> Result<f64, Error> {
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
pub(crate) fn parse_quota(value: &OsStr) -> Result<f64, Error> {
    const EXPECTED: &str = "a fraction of CPUs greater than 0, such as 0.5 or 2";
    match parse_decimal(value, EXPECTED)? {
        q if q > 0.0 => Ok(q),
        _ => Err(invalid(ValueKind::Number, value, "a CPU quota must be greater than zero", EXPECTED)),
    }
}

/// Parses a timeout in seconds, greater than zero (`0.2`, `30`).
pub(crate) fn parse_timeout(value: &OsStr) -> Result<Duration, Error> {
    const EXPECTED: &str = "a number of seconds greater than 0, such as 0.5 or 30";
    let secs = parse_decimal(value, EXPECTED)?;
    if secs <= 0.0 {
        return Err(invalid(ValueKind::Number, value, "a timeout must be greater than zero", EXPECTED));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| invalid(ValueKind::Number, value, "it is too large", EXPECTED))
}

/// Parses `--grace`: a number of seconds, zero or more (`0`, `2.5`).
pub(crate) fn parse_grace(value: &OsStr) -> Result<Duration, Error> {
    const EXPECTED: &str = "a number of seconds, such as 0, 2.5 or 30";
    let secs = parse_decimal(value, EXPECTED)?;
    Duration::try_from_secs_f64(secs).map_err(|_| invalid(ValueKind::Number, value, "it is too large", EXPECTED))
}

/// Parses `NAME=VALUE` for `--rlimit`; an error names the whole specification.
pub(crate) fn parse_rlimit(value: &OsStr) -> Result<(Rlimit, u64), Error> {
    let text = utf8(value, ValueKind::Argument)?;
    parse_rlimit_spec(text).map_err(|e| match e {
        Error::InvalidValue { kind, value: part, reason, expected } if part != text => {
            Error::InvalidValue { kind, value: text.to_string(), reason: format!("{reason} ({part:?})"), expected }
        }
        e => e,
    })
}

/// Parses `UID[:GID]`.
pub(crate) fn parse_user(value: &OsStr) -> Result<(u32, u32), Error> {
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
pub(crate) fn parse_env(value: &OsStr) -> Result<(OsString, OsString), Error> {
    const EXPECTED: &str = "KEY=VALUE with a non-empty KEY, like LANG=C.UTF-8";
    let bytes = value.as_bytes();
    match bytes.iter().position(|&c| c == b'=') {
        Some(0) => Err(invalid(ValueKind::Environment, value, "the name before '=' is empty", EXPECTED)),
        Some(i) => Ok((OsString::from_vec(bytes[..i].to_vec()), OsString::from_vec(bytes[i + 1..].to_vec()))),
        None => Err(invalid(ValueKind::Environment, value, "there is no '='", EXPECTED)),
    }
}
