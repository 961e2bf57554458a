//! `run()` and `spawn()`: extract every Python value, build the core `Command`,
//! then spawn and wait without the GIL.

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::OwnedFd;

use containment::{Child, Command, Stdio};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::convert::{self, StdioArg};
use crate::errors::{self, to_py, CoreResult};
use crate::fd;
use crate::outcome::CompletedProcess;
use crate::process::{input_bytes, output_obj, Handle, Process};
use crate::pump::Pump;
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
    /// The read end of a pipe made here for `stdout=PIPE, stderr=STDOUT`.
    stdout_reader: Option<OwnedFd>,
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

/// Extracts everything from Python and builds the core command.
fn prepare(
    py: Python<'_>,
    sandbox: &containment::Sandbox,
    c: &CommandOpts<'_>,
    stdio: [StdioArg; 3],
) -> PyResult<Prepared> {
    let argv = convert::argv(&c.args)?;
    let env = some(&c.env).map(convert::env).transpose()?;
    let cwd = some(&c.cwd).map(|d| convert::path(d, "cwd")).transpose()?;
    let executable = some(&c.executable).map(|e| convert::fsencode(e, "executable")).transpose()?;

    let mut argv = argv.into_iter();
    let first: OsString = argv.next().unwrap_or_default();
    let mut cmd = match executable {
        Some(exe) => {
            let mut cmd = sandbox.command(exe);
            cmd.arg0(&first);
            cmd
        }
        None => sandbox.command(first),
    };
    cmd.args(argv);
    if let Some(env) = env {
        cmd.env_clear();
        cmd.envs(env);
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
            let (r, w) = fd::pipe().map_err(|e| to_py(py, errors::os("pipe2", &e)))?;
            stdout_reader = Some(r);
            cmd.stdout(Stdio::Fd(dup(py, &w)?));
            StdioArg::Fd(w)
        }
        (other, _) => other,
    };
    if stdout_reader.is_none() {
        cmd.stdout(core_stdio(stdout));
    }
    cmd.stdin(core_stdio(stdin));
    cmd.stderr(core_stdio(stderr));
    Ok(Prepared { cmd, stdout_reader })
}

/// Spawns without the GIL. The command (holding the program's ends of the
/// pipes) is dropped before returning, so the pipes see their end when the
/// program closes them.
fn spawn_child(py: Python<'_>, p: Prepared) -> PyResult<(Child, Option<File>)> {
    let Prepared { mut cmd, stdout_reader } = p;
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
pub(crate) fn spawn(py: Python<'_>, sandbox: &containment::Sandbox, c: CommandOpts<'_>) -> PyResult<Process> {
    let text = TextMode::from_args(py, c.text, some(&c.encoding), some(&c.errors))?;
    let stdio = stdio_args(&c, some(&c.stdin))?;
    let prepared = prepare(py, sandbox, &c, stdio)?;
    let (child, stdout_reader) = spawn_child(py, prepared)?;
    Process::new(py, c.args.unbind(), child, stdout_reader, text)
}

/// `run()`: starts the program, feeds `input`, collects what is piped, waits.
pub(crate) fn run<'py>(
    py: Python<'py>,
    sandbox: &containment::Sandbox,
    mut c: CommandOpts<'py>,
    r: RunOpts<'py>,
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
    let prepared = prepare(py, sandbox, &c, stdio)?;
    let (mut child, stdout_reader) = spawn_child(py, prepared)?;

    let stdin = child.stdin.take().map(|s| File::from(OwnedFd::from(s)));
    let stdout = stdout_reader.or_else(|| child.stdout.take().map(|s| File::from(OwnedFd::from(s))));
    let stderr = child.stderr.take().map(|s| File::from(OwnedFd::from(s)));
    let handle = Handle::new(py, child)?;
    handle.set_pump(py, Pump::new(stdin, input.unwrap_or_default(), stdout, stderr));
    handle.communicate(py, None)?;
    let outcome = match handle.wait(py, None)? {
        Some(o) => o,
        // Without a deadline the wait only ends with the outcome.
        None => handle.kill_and_reap(py)?,
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
