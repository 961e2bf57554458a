//! `run()`, `spawn()` and `start()`: extract every Python value, build the core
//! `Command` (for a new sandbox, or for one that is running), then spawn and wait
//! without the GIL.

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::time::Instant;

use containment::{Child, Command, ExitStatus, Stdio};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::convert::{self, given, StdioArg};
use crate::errors::{self, to_py, CoreResult};
use crate::fd;
use crate::outcome::CompletedProcess;
use crate::process::{input_bytes, output_obj, Handle, Process};
use crate::pump::Pump;
use crate::running::PyRunning;
use crate::text::TextMode;

/// What to run and how to connect it (the arguments of `spawn()`).
pub(crate) struct CommandOpts<'py> {
    pub args: Bound<'py, PyAny>,
    pub env: Option<Bound<'py, PyAny>>,
    pub cwd: Option<Bound<'py, PyAny>>,
    pub executable: Option<Bound<'py, PyAny>>,
    pub stdin: Option<Bound<'py, PyAny>>,
    pub stdout: Option<Bound<'py, PyAny>>,
    pub stderr: Option<Bound<'py, PyAny>>,
    pub text: bool,
    pub encoding: Option<Bound<'py, PyAny>>,
    pub errors: Option<Bound<'py, PyAny>>,
    /// Start from the caller's whole environment.
    pub inherit_env: bool,
    /// Variables to remove from the environment.
    pub env_remove: Option<Bound<'py, PyAny>>,
    /// The program is a host file, bound into the sandbox.
    pub host_program: bool,
}

/// Where a command runs.
pub(crate) enum Target<'a> {
    /// A new sandbox made from this description.
    New(&'a containment::Sandbox),
    /// A sandbox that is already running.
    Running(&'a PyRunning),
}

impl Target<'_> {
    fn command(&self, py: Python<'_>, program: OsString, host: bool) -> PyResult<Command> {
        match self {
            Target::New(sb) if host => Ok(sb.command_from_host(program)),
            Target::New(sb) => Ok(sb.command(program)),
            Target::Running(_) if host => Err(to_py(
                py,
                containment::Error::Unsupported {
                    feature: "host programs in a running sandbox",
                    reason: "its mounts are fixed when it starts; bind the program's directory then".into(),
                },
            )),
            Target::Running(r) => r.command(py, program),
        }
    }
}

/// The arguments `run()` has on top of `spawn()`'s.
pub(crate) struct RunOpts<'py> {
    pub input: Option<Bound<'py, PyAny>>,
    pub capture_output: bool,
    pub check: bool,
}

/// A command ready to spawn, with nothing Python left in it.
struct Prepared {
    cmd: Command,
    /// The write end of a pipe made here for `stdin=PIPE` (`own_pipes` only).
    stdin_writer: Option<OwnedFd>,
    /// The read end of a pipe made here for `stdout=PIPE, stderr=STDOUT`, or for
    /// `stdout=PIPE` with `own_pipes`.
    stdout_reader: Option<OwnedFd>,
    /// The read end of a pipe made here for `stderr=PIPE` (`own_pipes` only).
    stderr_reader: Option<OwnedFd>,
}

fn core_stdio(a: StdioArg) -> Stdio {
    match a {
        StdioArg::Inherit => Stdio::inherit(),
        StdioArg::Null => Stdio::null(),
        StdioArg::Piped | StdioArg::Stdout => Stdio::piped(),
        StdioArg::Fd(fd) => Stdio::Fd(fd),
    }
}

fn dup(py: Python<'_>, fd: &OwnedFd) -> PyResult<OwnedFd> {
    fd.try_clone().map_err(|e| to_py(py, errors::os("dup", &e)))
}

fn pipe(py: Python<'_>) -> PyResult<(OwnedFd, OwnedFd)> {
    fd::pipe().map_err(|e| to_py(py, errors::os("pipe2", &e)))
}

/// The core `Stdio` for a standard descriptor of the program. With `own_pipes`,
/// a pipe asked for is made here, and this side's end comes with it: the write
/// end for standard input (`input`), the read end for the outputs.
fn connect(py: Python<'_>, arg: StdioArg, own_pipes: bool, input: bool) -> PyResult<(Stdio, Option<OwnedFd>)> {
    match arg {
        StdioArg::Piped if own_pipes => {
            let (r, w) = pipe(py)?;
            Ok(if input { (Stdio::Fd(r), Some(w)) } else { (Stdio::Fd(w), Some(r)) })
        }
        other => Ok((core_stdio(other), None)),
    }
}

impl CommandOpts<'_> {
    /// The text mode asked for (`text`, `encoding`, `errors`), if any.
    fn text_mode(&self, py: Python<'_>) -> PyResult<Option<TextMode>> {
        TextMode::from_args(py, self.text, given(&self.encoding), given(&self.errors))
    }
}

/// Extracts everything from Python and builds the core command; `stdin` stands
/// for the `stdin` argument (`run()` replaces it for `input`). With `own_pipes`,
/// the pipes asked for are made here (for `start()`, whose program's pipe ends
/// the core keeps to itself).
fn prepare(
    py: Python<'_>,
    target: &Target<'_>,
    c: &CommandOpts<'_>,
    stdin: Option<&Bound<'_, PyAny>>,
    own_pipes: bool,
) -> PyResult<Prepared> {
    let stdio = [
        convert::stdio(stdin, "stdin")?,
        convert::stdio(given(&c.stdout), "stdout")?,
        convert::stdio(given(&c.stderr), "stderr")?,
    ];
    let argv = convert::argv(&c.args)?;
    let env = given(&c.env).map(convert::env).transpose()?;
    let env_remove = given(&c.env_remove).map(|e| convert::fsencodes(e, "env_remove")).transpose()?;
    let cwd = given(&c.cwd).map(|d| convert::path(d, "cwd")).transpose()?;
    let executable = given(&c.executable).map(|e| convert::fsencode(e, "executable")).transpose()?;
    if c.inherit_env && env.is_some() {
        return Err(errors::config("env (the whole environment) and inherit_env=True are exclusive: give one")).py(py);
    }

    let mut argv = argv.into_iter();
    let first: OsString = argv.next().unwrap_or_default();
    let mut cmd = match executable {
        Some(exe) => {
            let mut cmd = target.command(py, exe, c.host_program)?;
            cmd.arg0(&first);
            cmd
        }
        None => target.command(py, first, c.host_program)?,
    };
    cmd.args(argv);
    if c.inherit_env {
        cmd.inherit_env();
    }
    if let Some(env) = env {
        cmd.env_clear();
        cmd.envs(env);
    }
    for key in env_remove.into_iter().flatten() {
        cmd.env_remove(key);
    }
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }

    let [stdin, stdout, stderr] = stdio;
    let mut stdout_reader = None;
    let stderr = match (stderr, &stdout) {
        (StdioArg::Stdout, StdioArg::Inherit) => {
            StdioArg::Fd(fd::dup_raw(1).map_err(|e| to_py(py, errors::os("dup", &e)))?)
        }
        (StdioArg::Stdout, StdioArg::Null) => StdioArg::Null,
        (StdioArg::Stdout, StdioArg::Fd(f)) => StdioArg::Fd(dup(py, f)?),
        (StdioArg::Stdout, StdioArg::Piped | StdioArg::Stdout) => {
            // One pipe for both: made here, its read end becomes `stdout`.
            let (r, w) = pipe(py)?;
            stdout_reader = Some(r);
            cmd.stdout(Stdio::Fd(dup(py, &w)?));
            StdioArg::Fd(w)
        }
        (other, _) => other,
    };
    if stdout_reader.is_none() {
        let (s, reader) = connect(py, stdout, own_pipes, false)?;
        cmd.stdout(s);
        stdout_reader = reader;
    }
    let (s, stdin_writer) = connect(py, stdin, own_pipes, true)?;
    cmd.stdin(s);
    let (s, stderr_reader) = connect(py, stderr, own_pipes, false)?;
    cmd.stderr(s);
    Ok(Prepared { cmd, stdin_writer, stdout_reader, stderr_reader })
}

/// Runs `f` (`Command::spawn` or `Command::start`) on `cmd` without the GIL.
/// The command (holding the program's ends of the pipes) is dropped before
/// returning, so the pipes see their end when the program closes them.
fn launch<T: Send>(
    py: Python<'_>,
    mut cmd: Command,
    f: impl FnOnce(&mut Command) -> containment::Result<T> + Send,
) -> PyResult<T> {
    let r = py.detach(move || {
        let r = f(&mut cmd);
        drop(cmd);
        r
    });
    r.py(py)
}

/// Spawns without the GIL (see [`launch`]).
fn spawn_child(py: Python<'_>, p: Prepared) -> PyResult<(Child, Option<File>)> {
    let Prepared { cmd, stdout_reader, .. } = p;
    let child = launch(py, cmd, Command::spawn)?;
    Ok((child, stdout_reader.map(File::from)))
}

/// `spawn()`: starts the program and returns its `Process`.
pub(crate) fn spawn(py: Python<'_>, target: &Target<'_>, c: CommandOpts<'_>) -> PyResult<Process> {
    let text = c.text_mode(py)?;
    let prepared = prepare(py, target, &c, given(&c.stdin), false)?;
    let (child, stdout_reader) = spawn_child(py, prepared)?;
    Process::new(py, c.args.unbind(), child, stdout_reader, text)
}

/// `start()`: starts a sandbox that stays up with the program as its main
/// program; `sandbox` holds the name and persistence.
pub(crate) fn start(py: Python<'_>, sandbox: &containment::Sandbox, c: CommandOpts<'_>) -> PyResult<PyRunning> {
    let text = c.text_mode(py)?;
    let Prepared { cmd, stdin_writer, stdout_reader, stderr_reader } =
        prepare(py, &Target::New(sandbox), &c, given(&c.stdin), true)?;
    let running = launch(py, cmd, Command::start)?;
    PyRunning::started(py, running, c.args.unbind(), [stdin_writer, stdout_reader, stderr_reader], text)
}

/// `run()`: starts the program, feeds `input`, collects what is piped, waits.
/// With a `deadline` (a program in a running sandbox, which has no timeout of its
/// own), the program is killed when it passes, and the result says `timed_out`.
pub(crate) fn run<'py>(
    py: Python<'py>,
    target: &Target<'_>,
    mut c: CommandOpts<'py>,
    r: RunOpts<'py>,
    deadline: Option<Instant>,
) -> PyResult<CompletedProcess> {
    let text = c.text_mode(py)?;
    let input = given(&r.input).map(|i| input_bytes(i, text.as_ref())).transpose()?;
    if input.is_some() && given(&c.stdin).is_some() {
        return Err(PyValueError::new_err("stdin and input arguments may not both be used."));
    }
    if r.capture_output {
        if given(&c.stdout).is_some() || given(&c.stderr).is_some() {
            return Err(PyValueError::new_err("stdout and stderr arguments may not be used with capture_output."));
        }
        let pipe = convert::PIPE.into_pyobject(py)?.into_any();
        c.stdout = Some(pipe.clone());
        c.stderr = Some(pipe);
    }
    let stdin_pipe;
    let stdin = match input {
        Some(_) => {
            stdin_pipe = convert::PIPE.into_pyobject(py)?.into_any();
            Some(&stdin_pipe)
        }
        None => given(&c.stdin),
    };
    let prepared = prepare(py, target, &c, stdin, false)?;
    let (mut child, stdout_reader) = spawn_child(py, prepared)?;

    let stdin = child.stdin.take().map(|s| File::from(OwnedFd::from(s)));
    let stdout = stdout_reader.or_else(|| child.stdout.take().map(|s| File::from(OwnedFd::from(s))));
    let stderr = child.stderr.take().map(|s| File::from(OwnedFd::from(s)));
    let handle = Handle::new(py, child)?;
    handle.set_pump(py, Pump::new(stdin, input.unwrap_or_default(), stdout, stderr));
    // Without a deadline, `communicate` only ends with every pipe closed and
    // `wait` with the outcome.
    let ended = match handle.communicate(py, deadline)? {
        true => handle.wait(py, deadline)?,
        false => None,
    };
    let outcome = match ended {
        Some(o) => o,
        None => {
            let mut o = handle.kill_and_reap(py)?;
            // What the program wrote before it was killed is in the pipes.
            handle.communicate(py, Some(Instant::now()))?;
            o.timed_out = o.status == ExitStatus::Signaled(libc::SIGKILL);
            o
        }
    };
    let (out, err) = handle.collected(py);
    let done = CompletedProcess::from_outcome(
        py,
        c.args.unbind(),
        outcome,
        output_obj(py, out, text.as_ref())?,
        output_obj(py, err, text.as_ref())?,
    )?;
    if r.check {
        done.check(py)?;
    }
    Ok(done)
}
