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

use crate::convert::{self, StdioArg};
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

fn some<'a, 'py>(o: &'a Option<Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    o.as_ref().filter(|v| !v.is_none())
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

/// Extracts everything from Python and builds the core command. With
/// `own_pipes`, the pipes asked for are made here (for `start()`, whose
/// program's pipe ends the core keeps to itself).
fn prepare(
    py: Python<'_>,
    target: &Target<'_>,
    c: &CommandOpts<'_>,
    stdio: [StdioArg; 3],
    own_pipes: bool,
) -> PyResult<Prepared> {
    let argv = convert::argv(&c.args)?;
    let env = some(&c.env).map(convert::env).transpose()?;
    let env_remove = some(&c.env_remove).map(|e| convert::fsencodes(e, "env_remove")).transpose()?;
    let cwd = some(&c.cwd).map(|d| convert::path(d, "cwd")).transpose()?;
    let executable = some(&c.executable).map(|e| convert::fsencode(e, "executable")).transpose()?;
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

    let pipe = || fd::pipe().map_err(|e| to_py(py, errors::os("pipe2", &e)));
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
            let (r, w) = pipe()?;
            stdout_reader = Some(r);
            cmd.stdout(Stdio::Fd(dup(py, &w)?));
            StdioArg::Fd(w)
        }
        (other, _) => other,
    };
    let mut stdin_writer = None;
    let mut stderr_reader = None;
    if stdout_reader.is_none() {
        match stdout {
            StdioArg::Piped if own_pipes => {
                let (r, w) = pipe()?;
                stdout_reader = Some(r);
                cmd.stdout(Stdio::Fd(w));
            }
            other => {
                cmd.stdout(core_stdio(other));
            }
        }
    }
    match stdin {
        StdioArg::Piped if own_pipes => {
            let (r, w) = pipe()?;
            stdin_writer = Some(w);
            cmd.stdin(Stdio::Fd(r));
        }
        other => {
            cmd.stdin(core_stdio(other));
        }
    }
    match stderr {
        StdioArg::Piped if own_pipes => {
            let (r, w) = pipe()?;
            stderr_reader = Some(r);
            cmd.stderr(Stdio::Fd(w));
        }
        other => {
            cmd.stderr(core_stdio(other));
        }
    }
    Ok(Prepared { cmd, stdin_writer, stdout_reader, stderr_reader })
}

/// Spawns without the GIL. The command (holding the program's ends of the
/// pipes) is dropped before returning, so the pipes see their end when the
/// program closes them.
fn spawn_child(py: Python<'_>, p: Prepared) -> PyResult<(Child, Option<File>)> {
    let Prepared { mut cmd, stdout_reader, .. } = p;
    let child = py.detach(move || {
        let r = cmd.spawn();
        drop(cmd);
        r
    });
    Ok((child.py(py)?, stdout_reader.map(File::from)))
}

fn stdio_args(c: &CommandOpts<'_>, stdin: Option<&Bound<'_, PyAny>>) -> PyResult<[StdioArg; 3]> {
    Ok([
        convert::stdio(stdin, "stdin")?,
        convert::stdio(some(&c.stdout), "stdout")?,
        convert::stdio(some(&c.stderr), "stderr")?,
    ])
}

/// `spawn()`: starts the program and returns its `Process`.
pub(crate) fn spawn(py: Python<'_>, target: &Target<'_>, c: CommandOpts<'_>) -> PyResult<Process> {
    let text = TextMode::from_args(py, c.text, some(&c.encoding), some(&c.errors))?;
    let stdio = stdio_args(&c, some(&c.stdin))?;
    let prepared = prepare(py, target, &c, stdio, false)?;
    let (child, stdout_reader) = spawn_child(py, prepared)?;
    Process::new(py, c.args.unbind(), child, stdout_reader, text)
}

/// `start()`: starts a sandbox that stays up with the program as its main
/// program; `sandbox` holds the name and persistence.
pub(crate) fn start(py: Python<'_>, sandbox: &containment::Sandbox, c: CommandOpts<'_>) -> PyResult<PyRunning> {
    let text = TextMode::from_args(py, c.text, some(&c.encoding), some(&c.errors))?;
    let stdio = stdio_args(&c, some(&c.stdin))?;
    let Prepared { mut cmd, stdin_writer, stdout_reader, stderr_reader } =
        prepare(py, &Target::New(sandbox), &c, stdio, true)?;
    // The command (holding the program's ends of the pipes) is dropped before
    // returning, so the pipes see their end when the program closes them.
    let running = py.detach(move || {
        let r = cmd.start();
        drop(cmd);
        r
    });
    let running = running.py(py)?;
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
    let text = TextMode::from_args(py, c.text, some(&c.encoding), some(&c.errors))?;
    let input = some(&r.input).map(|i| input_bytes(i, text.as_ref())).transpose()?;
    if input.is_some() && some(&c.stdin).is_some() {
        return Err(PyValueError::new_err("stdin and input arguments may not both be used."));
    }
    if r.capture_output {
        if some(&c.stdout).is_some() || some(&c.stderr).is_some() {
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
        None => some(&c.stdin),
    };
    let stdio = stdio_args(&c, stdin)?;
    let prepared = prepare(py, target, &c, stdio, false)?;
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
