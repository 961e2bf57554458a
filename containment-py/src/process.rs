//! A running sandbox: the GIL-free waiting loop shared by `run()` and `Process`,
//! and the `Process` handle.
//!
//! Blocking happens in slices of [`SLICE`] without the GIL; between slices the
//! GIL is taken back to run `py.check_signals()`, so Ctrl-C works. When that (or
//! anything else) raises, the sandbox is killed and reaped before the exception
//! propagates. The state lock is only ever taken without the GIL, and no Python
//! code runs while it is held, so threads cannot deadlock on it.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use containment::{Child, Error, Outcome};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::convert;
use crate::errors::{self, to_py, CoreResult};
use crate::fd;
use crate::outcome::{returncode, Usage};
use crate::pump::Pump;
use crate::text::TextMode;

/// How long one blocking step may last before signals are checked.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// A `Child` that is only killed and reaped on drop by the process that spawned
/// it: after `os.fork()` the copy in the new process is not its parent's to kill.
struct Owned {
    child: Option<Child>,
    owner: u32,
}

impl Drop for Owned {
    fn drop(&mut self) {
        if std::process::id() != self.owner {
            std::mem::forget(self.child.take());
        }
    }
}

struct State {
    child: Owned,
    /// A duplicate of the init's pidfd, polled without the state lock; `None`
    /// once the outcome is known.
    pidfd: Option<Arc<OwnedFd>>,
    outcome: Option<Outcome>,
    pump: Option<Pump>,
}

impl State {
    /// Records the outcome and closes what is no longer needed: the `Child`
    /// (reaped: its pidfd and report pipe) and the polled pidfd.
    fn ended(&mut self, o: Outcome) -> Outcome {
        self.outcome = Some(o);
        self.child.child = None;
        self.pidfd = None;
        o
    }
}

/// A running sandbox, without anything Python in it.
pub(crate) struct Handle {
    state: Mutex<State>,
}

impl Handle {
    /// Takes `child` over. Its piped ends must have been taken out already.
    pub fn new(py: Python<'_>, child: Child) -> PyResult<Handle> {
        let pidfd = child.as_fd().try_clone_to_owned().map_err(|e| to_py(py, errors::os("dup", &e)))?;
        let child = Owned { child: Some(child), owner: std::process::id() };
        let state = State { child, pidfd: Some(Arc::new(pidfd)), outcome: None, pump: None };
        Ok(Handle { state: Mutex::new(state) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The outcome, if known.
    pub fn outcome(&self, py: Python<'_>) -> Option<Outcome> {
        py.detach(|| self.lock().outcome)
    }

    /// The outcome if known, else the pidfd to poll.
    fn outcome_or_pidfd(&self, py: Python<'_>) -> Result<Outcome, Option<Arc<OwnedFd>>> {
        py.detach(|| {
            let st = self.lock();
            st.outcome.ok_or_else(|| st.pidfd.clone())
        })
    }

    /// Reaps the ended sandbox and records its outcome.
    fn finish(&self, py: Python<'_>) -> PyResult<Outcome> {
        let r = py.detach(|| {
            let mut st = self.lock();
            if let Some(o) = st.outcome {
                return Ok(o);
            }
            let o = match st.child.child.as_mut() {
                Some(c) => c.wait()?,
                None => return Err(Error::AlreadyWaited),
            };
            Ok(st.ended(o))
        });
        r.py(py)
    }

    /// Kills the sandbox and reaps it (nothing if it has ended and was reaped).
    pub fn kill_and_reap(&self, py: Python<'_>) -> PyResult<Outcome> {
        let r = py.detach(|| {
            let mut st = self.lock();
            if let Some(o) = st.outcome {
                return Ok(o);
            }
            let o = match st.child.child.as_mut() {
                Some(c) => {
                    c.kill()?;
                    c.wait()?
                }
                None => return Err(Error::AlreadyWaited),
            };
            Ok(st.ended(o))
        });
        r.py(py)
    }

    /// Sends `sig` to the program (nothing once it has ended).
    pub fn signal(&self, py: Python<'_>, sig: i32) -> PyResult<()> {
        let r = py.detach(|| {
            let st = self.lock();
            match (st.outcome, st.child.child.as_ref()) {
                (None, Some(c)) => c.signal(sig),
                _ => Ok(()),
            }
        });
        r.py(py)
    }

    /// Checks for signals between slices; on an exception (`KeyboardInterrupt`)
    /// kills and reaps the sandbox and returns it.
    fn interruptible(&self, py: Python<'_>) -> PyResult<()> {
        if let Err(e) = py.check_signals() {
            let _ = self.kill_and_reap(py);
            return Err(e);
        }
        Ok(())
    }

    /// Waits until the sandbox ends (its outcome) or `deadline` passes (`None`).
    pub fn wait(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<Option<Outcome>> {
        loop {
            let pidfd = match self.outcome_or_pidfd(py) {
                Ok(o) => return Ok(Some(o)),
                Err(Some(fd)) => fd,
                Err(None) => return self.finish(py).map(Some),
            };
            let (left, slice) = next_slice(deadline);
            let ready = py.detach(|| fd::poll(&[(pidfd.as_fd(), true, false)], slice));
            drop(pidfd);
            let ready = ready.map_err(|e| to_py(py, errors::os("poll", &e)))?;
            if ready.first().is_some_and(|r| r.read) {
                return self.finish(py).map(Some);
            }
            self.interruptible(py)?;
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(None);
            }
        }
    }

    /// Installs the pump (once).
    pub fn set_pump(&self, py: Python<'_>, pump: Pump) {
        py.detach(|| self.lock().pump = Some(pump));
    }

    /// Whether a pump was installed.
    pub fn has_pump(&self, py: Python<'_>) -> bool {
        py.detach(|| self.lock().pump.is_some())
    }

    /// Runs the pump until its pipes are closed (`true`) or `deadline` passes.
    pub fn communicate(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<bool> {
        loop {
            let (left, slice) = next_slice(deadline);
            let r = py.detach(|| {
                let mut st = self.lock();
                match st.pump.as_mut() {
                    Some(p) if !p.done() => p.run_for(slice).map(|()| p.done()),
                    _ => Ok(true),
                }
            });
            match r {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(e) => {
                    let _ = self.kill_and_reap(py);
                    return Err(to_py(py, errors::os("read", &e)));
                }
            }
            self.interruptible(py)?;
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(false);
            }
        }
    }

    /// What the pump collected so far: (stdout, stderr), `None` for a pipe that
    /// was not there.
    pub fn collected(&self, py: Python<'_>) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        py.detach(|| match self.lock().pump.as_ref() {
            Some(p) => (p.has_out.then(|| p.out.clone()), p.has_err.then(|| p.err.clone())),
            None => (None, None),
        })
    }
}

/// Output bytes as Python wants them: `bytes`, `str` in text mode, or `None`.
pub(crate) fn output_obj(py: Python<'_>, data: Option<Vec<u8>>, text: Option<&TextMode>) -> PyResult<Py<PyAny>> {
    match (data, text) {
        (None, _) => Ok(py.None()),
        (Some(d), Some(t)) => t.decode(py, &d),
        (Some(d), None) => Ok(PyBytes::new(py, &d).into_any().unbind()),
    }
}

/// `input=` as bytes: `bytes`-like, or `str` in text mode.
pub(crate) fn input_bytes(input: &Bound<'_, PyAny>, text: Option<&TextMode>) -> PyResult<Vec<u8>> {
    match text {
        Some(t) => {
            if !input.is_instance_of::<PyString>() {
                return Err(errors::type_error("input", "str (text mode)", input));
            }
            t.encode(input)
        }
        None => {
            if input.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err("input: expected bytes, not str (pass text=True for str)"));
            }
            input.extract::<Vec<u8>>().map_err(|_| errors::type_error("input", "bytes", input))
        }
    }
}

/// A handle on a running program, like `subprocess.Popen`: a new sandbox's
/// (`Sandbox.spawn`) or one run in a running sandbox (`Running.spawn`).
#[pyclass(frozen, module = "containment")]
pub struct Process {
    /// The arguments as given.
    #[pyo3(get)]
    args: Py<PyAny>,
    /// The host pid of the sandbox's init, or for a program run in a running
    /// sandbox of the process that relays to it (signals to either go to the
    /// program).
    #[pyo3(get)]
    pid: u32,
    /// The program's standard input, if `stdin=PIPE` (binary, or text in text mode).
    #[pyo3(get)]
    stdin: Option<Py<PyAny>>,
    /// The program's standard output, if `stdout=PIPE`.
    #[pyo3(get)]
    stdout: Option<Py<PyAny>>,
    /// The program's standard error, if `stderr=PIPE`.
    #[pyo3(get)]
    stderr: Option<Py<PyAny>>,
    text: Option<TextMode>,
    handle: Handle,
}

/// The time left until `deadline` (`None`: no deadline), and how long the next
/// blocking step may last: a [`SLICE`], or less when the deadline is nearer.
pub(crate) fn next_slice(deadline: Option<Instant>) -> (Option<Duration>, Duration) {
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    (left, left.map_or(SLICE, |l| l.min(SLICE)))
}

/// The deadline `d` from now (one that never comes if that is beyond what an
/// `Instant` holds).
pub(crate) fn deadline_after(d: Duration) -> Instant {
    Instant::now().checked_add(d).unwrap_or_else(far_future)
}

/// The `timeout=` of a wait: the seconds as given (0 without one), for
/// `TimeoutExpired`, and the deadline (`None`: wait forever).
pub(crate) fn wait_deadline(timeout: Option<&Bound<'_, PyAny>>) -> PyResult<(f64, Option<Instant>)> {
    let t = convert::wait_time(timeout, "timeout")?;
    Ok((t.map_or(0.0, |(s, _)| s), t.map(|(_, d)| deadline_after(d))))
}

/// `os.fdopen(fd, mode)`, wrapped in a text layer in text mode.
pub(crate) fn file_obj(py: Python<'_>, fd: OwnedFd, write: bool, text: Option<&TextMode>) -> PyResult<Py<PyAny>> {
    use std::os::fd::IntoRawFd;
    let os = py.import("os")?;
    let raw = fd.into_raw_fd();
    let f = match os.call_method1("fdopen", (raw, if write { "wb" } else { "rb" })) {
        Ok(f) => f,
        Err(e) => {
            let _ = os.call_method1("close", (raw,));
            return Err(e);
        }
    };
    match text {
        Some(t) => t.wrap(py, &f, write),
        None => Ok(f.unbind()),
    }
}

/// The Python file objects of a program's pipes (stdin, stdout, stderr: this
/// side's ends, `None` where not piped), as [`file_obj`] makes them.
pub(crate) fn file_objs(
    py: Python<'_>,
    pipes: [Option<OwnedFd>; 3],
    text: Option<&TextMode>,
) -> PyResult<[Option<Py<PyAny>>; 3]> {
    let [stdin, stdout, stderr] = pipes;
    let wrap = |fd: Option<OwnedFd>, write| fd.map(|fd| file_obj(py, fd, write, text)).transpose();
    Ok([wrap(stdin, true)?, wrap(stdout, false)?, wrap(stderr, false)?])
}

/// Closes the Python file objects of a program's pipes, ignoring errors (a broken
/// pipe on flushing standard input).
pub(crate) fn close_files(py: Python<'_>, files: [&Option<Py<PyAny>>; 3]) {
    for f in files.into_iter().flatten() {
        let _ = f.bind(py).call_method0("close");
    }
}

impl Process {
    pub(crate) fn new(
        py: Python<'_>,
        args: Py<PyAny>,
        mut child: Child,
        stdout_reader: Option<File>,
        text: Option<TextMode>,
    ) -> PyResult<Process> {
        let pid = child.pid();
        let stdin = child.stdin.take().map(OwnedFd::from);
        let stdout = stdout_reader.map(OwnedFd::from).or_else(|| child.stdout.take().map(OwnedFd::from));
        let stderr = child.stderr.take().map(OwnedFd::from);
        // On error, `child` is dropped: killed and reaped.
        let handle = Handle::new(py, child)?;
        let [stdin, stdout, stderr] = file_objs(py, [stdin, stdout, stderr], text.as_ref())?;
        Ok(Process { args, pid, stdin, stdout, stderr, text, handle })
    }

    /// A duplicate of the descriptor of an open Python file object, for the pump;
    /// the Python object is flushed and closed (so only the pump holds the pipe).
    fn take_file(py: Python<'_>, f: Option<&Py<PyAny>>, write: bool) -> PyResult<Option<File>> {
        let Some(f) = f.map(|f| f.bind(py)) else { return Ok(None) };
        if f.getattr("closed")?.is_truthy()? {
            return Ok(None);
        }
        if write {
            let _ = f.call_method0("flush");
        }
        let raw: i32 = f.call_method0("fileno")?.extract()?;
        let dup = fd::dup_raw(raw).map_err(|e| to_py(py, errors::os("dup", &e)))?;
        let _ = f.call_method0("close");
        Ok(Some(File::from(dup)))
    }

    fn timeout_error(&self, py: Python<'_>, secs: f64) -> PyErr {
        let (out, err) = self.handle.collected(py);
        let out = output_obj(py, out, None).unwrap_or_else(|_| py.None());
        let err = output_obj(py, err, None).unwrap_or_else(|_| py.None());
        errors::timeout_expired(py, &self.args, secs, out, err)
    }
}

#[pymethods]
impl Process {
    /// The exit code, minus the signal number, or `None` while it runs.
    #[getter]
    fn returncode(&self, py: Python<'_>) -> Option<i32> {
        self.handle.outcome(py).map(|o| returncode(o.status))
    }

    /// Whether the kernel's OOM killer struck (false while it runs).
    #[getter]
    fn oom_killed(&self, py: Python<'_>) -> bool {
        self.handle.outcome(py).is_some_and(|o| o.oom_killed)
    }

    /// Whether the sandbox's timeout killed it (false while it runs).
    #[getter]
    fn timed_out(&self, py: Python<'_>) -> bool {
        self.handle.outcome(py).is_some_and(|o| o.timed_out)
    }

    /// What the sandbox used, once it has ended.
    #[getter]
    fn usage(&self, py: Python<'_>) -> PyResult<Option<Py<Usage>>> {
        self.handle.outcome(py).map(|o| Py::new(py, Usage::from(o.usage))).transpose()
    }

    /// Waits for the sandbox to end and returns `returncode`. Raises
    /// `TimeoutExpired` after `timeout` seconds, leaving it running.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<i32> {
        let (secs, deadline) = wait_deadline(timeout)?;
        match self.handle.wait(py, deadline)? {
            Some(o) => Ok(returncode(o.status)),
            None => Err(self.timeout_error(py, secs)),
        }
    }

    /// `returncode` if the sandbox has ended, else `None`; never blocks.
    fn poll(&self, py: Python<'_>) -> PyResult<Option<i32>> {
        Ok(self.handle.wait(py, Some(Instant::now()))?.map(|o| returncode(o.status)))
    }

    /// Sends the signal `sig` to the program (through the sandbox's init;
    /// `SIGKILL` ends the whole sandbox). Does nothing once it has ended.
    fn send_signal(&self, py: Python<'_>, sig: &Bound<'_, PyAny>) -> PyResult<()> {
        let sig = convert::uint(sig, "signal", containment::ValueKind::Signal, 64, "a signal number from 0 to 64")?;
        self.handle.signal(py, sig as i32)
    }

    /// `send_signal(SIGTERM)`.
    fn terminate(&self, py: Python<'_>) -> PyResult<()> {
        self.handle.signal(py, libc::SIGTERM)
    }

    /// `send_signal(SIGKILL)`: every process of the sandbox dies.
    fn kill(&self, py: Python<'_>) -> PyResult<()> {
        self.handle.signal(py, libc::SIGKILL)
    }

    /// Sends `input` to standard input (then closes it), reads standard output and
    /// error to their ends and waits for the sandbox to end; returns
    /// `(stdout, stderr)`, `None` for those not piped. Raises `TimeoutExpired`
    /// after `timeout` seconds (call again to go on; nothing is lost).
    #[pyo3(signature = (input=None, timeout=None))]
    fn communicate(
        &self,
        py: Python<'_>,
        input: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Py<PyAny>, Py<PyAny>)> {
        let (secs, deadline) = wait_deadline(timeout)?;
        let input = input.filter(|i| !i.is_none());
        if !self.handle.has_pump(py) {
            let data = match input {
                Some(i) => {
                    if self.stdin.is_none() {
                        return Err(to_py(py, errors::config("communicate(input=...) needs stdin=PIPE")));
                    }
                    input_bytes(i, self.text.as_ref())?
                }
                None => Vec::new(),
            };
            let stdin = Process::take_file(py, self.stdin.as_ref(), true)?;
            let stdout = Process::take_file(py, self.stdout.as_ref(), false)?;
            let stderr = Process::take_file(py, self.stderr.as_ref(), false)?;
            self.handle.set_pump(py, Pump::new(stdin, data, stdout, stderr));
        } else if input.is_some() {
            return Err(PyValueError::new_err("Cannot send input after starting communication"));
        }
        if !self.handle.communicate(py, deadline)? {
            return Err(self.timeout_error(py, secs));
        }
        if self.handle.wait(py, deadline)?.is_none() {
            return Err(self.timeout_error(py, secs));
        }
        let (out, err) = self.handle.collected(py);
        Ok((output_obj(py, out, self.text.as_ref())?, output_obj(py, err, self.text.as_ref())?))
    }

    fn __enter__(slf: Py<Process>) -> Py<Process> {
        slf
    }

    /// Closes the pipes, kills the sandbox and reaps it.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        close_files(py, [&self.stdin, &self.stdout, &self.stderr]);
        self.handle.kill_and_reap(py)?;
        Ok(false)
    }

    /// `types.GenericAlias`, so that `Process[bytes]` works in annotations.
    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, pyo3::types::PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        crate::outcome::generic_alias(cls, item)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let rc = self.handle.outcome(py).map_or("None".to_string(), |o| returncode(o.status).to_string());
        Ok(format!("<containment.Process pid={} returncode={rc} args={}>", self.pid, self.args.bind(py).repr()?))
    }
}

/// A deadline so far away that it never comes.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}
