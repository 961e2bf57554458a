//! Long-lived sandboxes: `Sandbox.start()` gives a `Running`, which runs programs
//! in the sandbox over time (`spawn`, `run`), waits for its main program, and
//! stops it; `Running.open(name)` finds a named one another process started;
//! `list()` says which named ones run; `gc()` removes what dead ones left.
//!
//! The core handle sits behind a lock that is only ever taken without the GIL and
//! never held while blocking: waiting polls a pidfd of the init, and stopping
//! takes the handle out of the lock first (the core's `stop` consumes it).

use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use containment::{Command, Error, Outcome};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::command::{self, CommandOpts, RunOpts, Target};
use crate::convert::{self, given};
use crate::errors::{self, to_py, CoreResult};
use crate::fd;
use crate::outcome::{returncode, CompletedProcess};
use crate::process::{close_files, deadline_after, file_objs, next_slice, wait_deadline, Process};
use crate::text::TextMode;

/// The grace period of `stop()` by default, and of leaving a `with` block.
pub(crate) const DEFAULT_GRACE: f64 = 10.0;

/// The core handle, which the copy a forked process holds never ends: after
/// `os.fork()` the sandbox is still the parent's.
struct ForkSafe {
    inner: Option<containment::Running>,
    owner: u32,
}

impl Drop for ForkSafe {
    fn drop(&mut self) {
        if std::process::id() != self.owner {
            std::mem::forget(self.inner.take());
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Running (or its main program ended and was waited for: nothing of it is left).
    Up,
    /// A thread is stopping it.
    Stopping,
    /// Stopped or killed.
    Stopped,
    /// Left running on purpose (`detach()`).
    Detached,
}

struct State {
    running: ForkSafe,
    phase: Phase,
    /// The main program's outcome, once known.
    outcome: Option<Outcome>,
    /// A pidfd of the init while it may need waiting for or reaping (only for a
    /// sandbox this process started), polled without the lock.
    pidfd: Option<Arc<OwnedFd>>,
}

/// A sandbox that is up: run programs in it, wait for its main program, stop it.
#[pyclass(frozen, module = "containment", name = "Running")]
pub struct PyRunning {
    /// The main program's arguments as given, or `None` (started without one, or
    /// opened).
    #[pyo3(get)]
    args: Py<PyAny>,
    /// The host pid of the sandbox's init.
    #[pyo3(get)]
    pid: u32,
    /// The sandbox's name, if it has one.
    #[pyo3(get)]
    name: Option<String>,
    persistent: bool,
    /// The main program's standard input, if `stdin=PIPE`.
    #[pyo3(get)]
    stdin: Option<Py<PyAny>>,
    /// The main program's standard output, if `stdout=PIPE`.
    #[pyo3(get)]
    stdout: Option<Py<PyAny>>,
    /// The main program's standard error, if `stderr=PIPE`.
    #[pyo3(get)]
    stderr: Option<Py<PyAny>>,
    /// Whether this process started the sandbox (and so collects its outcome).
    own: bool,
    state: Mutex<State>,
}

fn detached_error() -> Error {
    errors::config("the sandbox was detached; stop it from a handle of Running.open(name)")
}

fn stopped_error() -> Error {
    errors::config("the sandbox was stopped")
}

impl PyRunning {
    fn with_state(running: containment::Running, args: Py<PyAny>, pidfd: Option<OwnedFd>) -> Self {
        let pid = running.pid();
        let name = running.name().map(str::to_string);
        let persistent = running.is_persistent();
        let running = ForkSafe { inner: Some(running), owner: std::process::id() };
        PyRunning {
            args,
            pid,
            name,
            persistent,
            stdin: None,
            stdout: None,
            stderr: None,
            own: pidfd.is_some(),
            state: Mutex::new(State { running, phase: Phase::Up, outcome: None, pidfd: pidfd.map(Arc::new) }),
        }
    }

    /// Takes over a sandbox this process started; `pipes` are this side's ends of
    /// the main program's pipes (stdin, stdout, stderr).
    pub(crate) fn started(
        py: Python<'_>,
        running: containment::Running,
        args: Py<PyAny>,
        pipes: [Option<OwnedFd>; 3],
        text: Option<TextMode>,
    ) -> PyResult<PyRunning> {
        // The init is our unreaped child: its pid cannot be reused meanwhile. On
        // error `running` is dropped, which kills the sandbox.
        let pidfd = fd::pidfd_open(running.pid()).map_err(|e| to_py(py, errors::os("pidfd_open", &e)))?;
        let mut r = PyRunning::with_state(running, args, Some(pidfd));
        [r.stdin, r.stdout, r.stderr] = file_objs(py, pipes, text.as_ref())?;
        Ok(r)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A core command that runs `program` in this sandbox.
    pub(crate) fn command(&self, py: Python<'_>, program: OsString) -> PyResult<Command> {
        let r = py.detach(|| {
            let st = self.lock();
            match (st.phase, st.running.inner.as_ref()) {
                (Phase::Up | Phase::Detached, Some(r)) => Ok(r.command(program)),
                _ => Err(stopped_error()),
            }
        });
        r.py(py)
    }

    /// Waits until the main program has ended (its outcome) or `deadline` passes
    /// (`None`). Ctrl-C kills the sandbox and raises.
    fn wait_until(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<Option<Outcome>> {
        enum Next {
            Done(Outcome),
            Poll(Arc<OwnedFd>),
            Sleep,
        }
        loop {
            let next = py.detach(|| {
                let mut st = self.lock();
                if let Some(o) = st.outcome {
                    return Ok(Next::Done(o));
                }
                match st.phase {
                    Phase::Up if !self.own => match st.running.inner.as_mut() {
                        // Opened from another process: the core says why it cannot wait.
                        Some(r) => r.wait().map(Next::Done),
                        None => Err(stopped_error()),
                    },
                    Phase::Up => match st.pidfd.clone() {
                        Some(p) => Ok(Next::Poll(p)),
                        None => Err(stopped_error()),
                    },
                    Phase::Stopping => Ok(Next::Sleep),
                    Phase::Stopped => Err(stopped_error()),
                    Phase::Detached => Err(detached_error()),
                }
            });
            let (left, slice) = next_slice(deadline);
            match next.py(py)? {
                Next::Done(o) => return Ok(Some(o)),
                Next::Poll(pidfd) => {
                    let ready = py.detach(|| {
                        fd::poll(&[(pidfd.as_fd(), true, false)], slice).map(|r| r.first().is_some_and(|r| r.read))
                    });
                    drop(pidfd);
                    if ready.map_err(|e| to_py(py, errors::os("poll", &e)))? {
                        self.reap(py)?;
                        continue;
                    }
                }
                Next::Sleep => py.detach(|| std::thread::sleep(slice)),
            }
            if let Err(e) = py.check_signals() {
                let _ = self.end(py, |r| r.kill());
                return Err(e);
            }
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(None);
            }
        }
    }

    /// Collects the outcome of the main program, which has ended.
    fn reap(&self, py: Python<'_>) -> PyResult<()> {
        let r = py.detach(|| {
            let mut st = self.lock();
            if st.outcome.is_some() || st.phase != Phase::Up {
                return Ok(());
            }
            match st.running.inner.as_mut() {
                Some(r) => {
                    st.outcome = Some(r.wait()?);
                    st.pidfd = None;
                    Ok(())
                }
                None => Ok(()),
            }
        });
        r.py(py)
    }

    /// Ends the sandbox with `f` (the core's `stop` or `kill`), once: later calls
    /// return the same outcome.
    fn end(
        &self,
        py: Python<'_>,
        f: impl FnOnce(containment::Running) -> containment::Result<Option<Outcome>> + Send,
    ) -> PyResult<Option<Outcome>> {
        let taken = py.detach(|| loop {
            let mut st = self.lock();
            match st.phase {
                Phase::Up => {
                    st.phase = Phase::Stopping;
                    return Ok(st.running.inner.take());
                }
                Phase::Stopped => return Ok(None),
                Phase::Detached => return Err(detached_error()),
                Phase::Stopping => {
                    // Another thread is stopping it: wait for it to finish.
                    drop(st);
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        let taken = taken.py(py)?;
        let result = match taken {
            Some(r) => py.detach(move || f(r)),
            None => Ok(None),
        };
        let outcome = py.detach(|| {
            let mut st = self.lock();
            st.phase = Phase::Stopped;
            st.pidfd = None;
            if let Ok(Some(o)) = &result {
                st.outcome = Some(*o);
            }
            st.outcome
        });
        result.py(py)?;
        Ok(outcome)
    }

    fn completed(&self, py: Python<'_>, o: Option<Outcome>) -> PyResult<Option<CompletedProcess>> {
        o.map(|o| CompletedProcess::from_outcome(py, self.args.clone_ref(py), o, py.None(), py.None())).transpose()
    }

    fn phase(&self, py: Python<'_>) -> Phase {
        py.detach(|| self.lock().phase)
    }
}

impl Drop for PyRunning {
    /// A detached sandbox's init is still this process's child: once someone
    /// stopped it, reap it rather than leave a zombie.
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        if st.phase == Phase::Detached && st.running.owner == std::process::id() {
            if let Some(p) = &st.pidfd {
                let _ = fd::reap_nohang(p.as_fd());
            }
        }
    }
}

#[pymethods]
impl PyRunning {
    /// Opens the running sandbox named `name`, which any process may have
    /// started. The handle runs programs in it and stops it; dropping it leaves
    /// the sandbox running.
    #[staticmethod]
    fn open(py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<PyRunning> {
        let name = convert::string(name, "name")?;
        let running = py.detach(|| containment::Running::open(&name)).py(py)?;
        Ok(PyRunning::with_state(running, py.None(), None))
    }

    /// Whether the sandbox outlives the process that started it once detached.
    #[getter]
    fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// The main program's return code once it ended (and was waited for or the
    /// sandbox stopped), else `None`.
    #[getter]
    fn returncode(&self, py: Python<'_>) -> Option<i32> {
        py.detach(|| self.lock().outcome).map(|o| returncode(o.status))
    }

    /// Starts `args` in the running sandbox (its namespaces, root, cgroups,
    /// limits and security profile) and returns its `Process`.
    #[pyo3(signature = (
        args, *, stdin=None, stdout=None, stderr=None, text=false, encoding=None, errors=None, env=None,
        inherit_env=false, env_remove=None, cwd=None, executable=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn spawn<'py>(
        &self,
        py: Python<'py>,
        args: Bound<'py, PyAny>,
        stdin: Option<Bound<'py, PyAny>>,
        stdout: Option<Bound<'py, PyAny>>,
        stderr: Option<Bound<'py, PyAny>>,
        text: bool,
        encoding: Option<Bound<'py, PyAny>>,
        errors: Option<Bound<'py, PyAny>>,
        env: Option<Bound<'py, PyAny>>,
        inherit_env: bool,
        env_remove: Option<Bound<'py, PyAny>>,
        cwd: Option<Bound<'py, PyAny>>,
        executable: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Process> {
        let cmd = CommandOpts {
            args,
            env,
            cwd,
            executable,
            stdin,
            stdout,
            stderr,
            text,
            encoding,
            errors,
            inherit_env,
            env_remove,
            host_program: false,
        };
        command::spawn(py, &Target::Running(self), cmd)
    }

    /// Runs `args` in the running sandbox and waits for it, like `Sandbox.run`.
    /// `timeout` kills the program (not the sandbox) after that many seconds; the
    /// result then has `timed_out=True` and `returncode == -9`.
    #[pyo3(signature = (
        args, *, stdin=None, stdout=None, stderr=None, input=None, capture_output=false, check=false,
        text=false, encoding=None, errors=None, env=None, inherit_env=false, env_remove=None, cwd=None,
        executable=None, timeout=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        args: Bound<'py, PyAny>,
        stdin: Option<Bound<'py, PyAny>>,
        stdout: Option<Bound<'py, PyAny>>,
        stderr: Option<Bound<'py, PyAny>>,
        input: Option<Bound<'py, PyAny>>,
        capture_output: bool,
        check: bool,
        text: bool,
        encoding: Option<Bound<'py, PyAny>>,
        errors: Option<Bound<'py, PyAny>>,
        env: Option<Bound<'py, PyAny>>,
        inherit_env: bool,
        env_remove: Option<Bound<'py, PyAny>>,
        cwd: Option<Bound<'py, PyAny>>,
        executable: Option<Bound<'py, PyAny>>,
        timeout: Option<Bound<'py, PyAny>>,
    ) -> PyResult<CompletedProcess> {
        let deadline = given(&timeout).map(|t| convert::duration(t, "timeout")).transpose()?.map(deadline_after);
        let cmd = CommandOpts {
            args,
            env,
            cwd,
            executable,
            stdin,
            stdout,
            stderr,
            text,
            encoding,
            errors,
            inherit_env,
            env_remove,
            host_program: false,
        };
        command::run(py, &Target::Running(self), cmd, RunOpts { input, capture_output, check }, deadline)
    }

    /// Waits for the main program to end (the sandbox ends with it; for a sandbox
    /// started without one, for it to be stopped or killed) and returns a
    /// `CompletedProcess` (`stdout` and `stderr` are `None`: read the pipes).
    /// Raises `TimeoutExpired` after `timeout` seconds, leaving it running;
    /// `UnsupportedError` for a sandbox opened with `Running.open`.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<CompletedProcess> {
        let (secs, deadline) = wait_deadline(timeout)?;
        match self.wait_until(py, deadline)? {
            Some(o) => Ok(CompletedProcess::from_outcome(py, self.args.clone_ref(py), o, py.None(), py.None())?),
            None => Err(errors::timeout_expired(py, &self.args, secs, py.None(), py.None())),
        }
    }

    /// The main program's return code if it has ended, else `None`; never blocks.
    fn poll(&self, py: Python<'_>) -> PyResult<Option<i32>> {
        Ok(self.wait_until(py, Some(Instant::now()))?.map(|o| returncode(o.status)))
    }

    /// Stops the sandbox: SIGTERM to every process in it, up to `grace` seconds
    /// for them to end, then SIGKILL to what is left; everything it held (its
    /// cgroups, its state under /run/containment) is removed. Returns the main
    /// program's outcome (for a sandbox without one: the init's, killed) when
    /// this process started the sandbox, `None` for one opened. Stopping again
    /// returns the same.
    #[pyo3(signature = (grace=None), text_signature = "($self, grace=10.0)")]
    fn stop(&self, py: Python<'_>, grace: Option<&Bound<'_, PyAny>>) -> PyResult<Option<CompletedProcess>> {
        let grace = match grace.filter(|g| !g.is_none()) {
            Some(g) => convert::wait_time(Some(g), "grace")?.map_or(Duration::ZERO, |(_, d)| d),
            None => Duration::from_secs_f64(DEFAULT_GRACE),
        };
        let o = self.end(py, move |r| r.stop(grace))?;
        self.completed(py, o)
    }

    /// Kills the sandbox at once (everything in it) and removes what it held;
    /// returns as `stop()` does.
    fn kill(&self, py: Python<'_>) -> PyResult<Option<CompletedProcess>> {
        let o = self.end(py, |r| r.kill())?;
        self.completed(py, o)
    }

    /// Leaves a persistent sandbox running when this handle goes (and when the
    /// process ends); stop it later from `Running.open(name)`. Programs can still
    /// be run through this handle; `wait`, `stop` and `kill` raise.
    fn detach(&self, py: Python<'_>) -> PyResult<()> {
        let r = py.detach(|| {
            let mut st = self.lock();
            match st.phase {
                Phase::Up => match st.running.inner.as_mut() {
                    Some(r) => {
                        r.detach()?;
                        st.phase = Phase::Detached;
                        Ok(())
                    }
                    None => Err(stopped_error()),
                },
                Phase::Detached => Ok(()),
                Phase::Stopping | Phase::Stopped => Err(stopped_error()),
            }
        });
        r.py(py)
    }

    fn __enter__(slf: Py<PyRunning>) -> Py<PyRunning> {
        slf
    }

    /// Stops the sandbox (`stop()`) unless it was detached or already stopped,
    /// and closes the main program's pipes.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        let r = match self.phase(py) {
            Phase::Up | Phase::Stopping => self.end(py, |r| r.stop(Duration::from_secs_f64(DEFAULT_GRACE))).map(drop),
            Phase::Stopped | Phase::Detached => Ok(()),
        };
        close_files(py, [&self.stdin, &self.stdout, &self.stderr]);
        r.map(|()| false)
    }

    /// `types.GenericAlias`, so that `Running[bytes]` works in annotations.
    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, pyo3::types::PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        crate::outcome::generic_alias(cls, item)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let state = match self.phase(py) {
            Phase::Up | Phase::Stopping => "running",
            Phase::Stopped => "stopped",
            Phase::Detached => "detached",
        };
        let name = self.name.as_deref().map_or("None".to_string(), convert::quote);
        Ok(format!("<containment.Running name={name} pid={} {state} args={}>", self.pid, self.args.bind(py).repr()?))
    }
}

/// What `containment.list()` says of one running sandbox.
#[pyclass(frozen, module = "containment", get_all)]
#[derive(Debug, Clone)]
pub struct RunningInfo {
    /// Its name.
    pub name: String,
    /// The host pid of its init.
    pub pid: u32,
    /// Seconds since it started.
    pub uptime: f64,
    /// Its limits as text (`"memory=64M pids=16"`), empty without any.
    pub limits: String,
    /// Memory in use now, in bytes, when it has a memory limit.
    pub memory_current: Option<u64>,
}

#[pymethods]
impl RunningInfo {
    fn __repr__(&self) -> String {
        let mem = self.memory_current.map_or("None".to_string(), |m| m.to_string());
        format!(
            "RunningInfo(name={}, pid={}, uptime={:.0}, limits={}, memory_current={mem})",
            convert::quote(&self.name),
            self.pid,
            self.uptime,
            convert::quote(&self.limits)
        )
    }
}

/// The named sandboxes that are running (started by any process), in name order.
#[pyfunction]
#[pyo3(name = "list")]
pub(crate) fn list_running(py: Python<'_>) -> PyResult<Vec<RunningInfo>> {
    let infos = py.detach(containment::list).py(py)?;
    Ok(infos
        .into_iter()
        .map(|i| RunningInfo {
            name: i.name,
            pid: i.pid,
            uptime: i.uptime.as_secs_f64(),
            limits: i.limits,
            memory_current: i.memory_current,
        })
        .collect())
}

/// Removes the cgroups left by supervisors that died without cleaning up, under
/// the default parent and under each of `parents` (cgroup paths as for
/// `cgroup_parent`); returns how many were removed.
#[pyfunction]
#[pyo3(signature = (parents=None))]
pub(crate) fn gc(py: Python<'_>, parents: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let parents: Vec<std::path::PathBuf> = match parents.filter(|p| !p.is_none()) {
        Some(p) => convert::fsencodes(p, "parents")?.into_iter().map(Into::into).collect(),
        None => Vec::new(),
    };
    let r = py.detach(|| {
        let refs: Vec<&std::path::Path> = parents.iter().map(|p| p.as_path()).collect();
        containment::gc(&refs)
    });
    r.py(py)
}
