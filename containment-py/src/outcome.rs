//! What a finished sandbox gives back: `Usage` and `CompletedProcess`.

use containment::{ExitStatus, Outcome};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::{called_process_error, Failed};

/// `subprocess`'s return code: the exit code, or minus the signal that killed it.
pub(crate) fn returncode(status: ExitStatus) -> i32 {
    match status {
        ExitStatus::Exited(c) => c,
        ExitStatus::Signaled(s) => -s,
    }
}

/// What a sandbox used.
#[pyclass(frozen, module = "containment", get_all)]
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// Seconds from spawn to the end of the sandbox.
    pub wall: f64,
    /// CPU seconds in user mode.
    pub user: f64,
    /// CPU seconds in kernel mode.
    pub system: f64,
    /// Peak memory in bytes, if the kernel told.
    pub peak_memory: Option<u64>,
}

#[pymethods]
impl Usage {
    #[new]
    #[pyo3(signature = (wall=0.0, user=0.0, system=0.0, peak_memory=None))]
    fn new(wall: f64, user: f64, system: f64, peak_memory: Option<u64>) -> Usage {
        Usage { wall, user, system, peak_memory }
    }

    fn __repr__(&self) -> String {
        let peak = self.peak_memory.map_or("None".to_string(), |p| p.to_string());
        format!("Usage(wall={:.6}, user={:.6}, system={:.6}, peak_memory={peak})", self.wall, self.user, self.system)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Usage>().is_ok_and(|o| *o.get() == *self)
    }

    fn __hash__(&self) -> u64 {
        (self.wall.to_bits() ^ self.user.to_bits().rotate_left(21) ^ self.system.to_bits().rotate_left(42))
            ^ self.peak_memory.unwrap_or(0)
    }
}

impl From<containment::Usage> for Usage {
    fn from(u: containment::Usage) -> Usage {
        Usage {
            wall: u.wall.as_secs_f64(),
            user: u.user.as_secs_f64(),
            system: u.system.as_secs_f64(),
            peak_memory: u.peak_memory,
        }
    }
}

/// The result of `run()`: shaped like `subprocess.CompletedProcess`, plus
/// `oom_killed`, `timed_out` and `usage`.
#[pyclass(frozen, module = "containment", get_all)]
pub struct CompletedProcess {
    /// The arguments as given.
    pub args: Py<PyAny>,
    /// The exit code, or minus the signal number that killed the program.
    pub returncode: i32,
    /// The captured standard output (`bytes`, or `str` in text mode), else `None`.
    pub stdout: Py<PyAny>,
    /// The captured standard error, else `None`.
    pub stderr: Py<PyAny>,
    /// Whether the kernel's OOM killer killed a process of the sandbox.
    pub oom_killed: bool,
    /// Whether the sandbox was killed because its timeout passed.
    pub timed_out: bool,
    /// What the sandbox used.
    pub usage: Py<Usage>,
}

impl CompletedProcess {
    pub(crate) fn from_outcome(
        py: Python<'_>,
        args: Py<PyAny>,
        o: Outcome,
        stdout: Py<PyAny>,
        stderr: Py<PyAny>,
    ) -> PyResult<CompletedProcess> {
        Ok(CompletedProcess {
            args,
            returncode: returncode(o.status),
            stdout,
            stderr,
            oom_killed: o.oom_killed,
            timed_out: o.timed_out,
            usage: Py::new(py, Usage::from(o.usage))?,
        })
    }

    /// `CalledProcessError` unless the return code is 0.
    pub(crate) fn check(&self, py: Python<'_>) -> PyResult<()> {
        if self.returncode == 0 {
            return Ok(());
        }
        Err(called_process_error(
            py,
            Failed {
                returncode: self.returncode,
                cmd: &self.args,
                stdout: self.stdout.clone_ref(py),
                stderr: self.stderr.clone_ref(py),
                oom_killed: self.oom_killed,
                timed_out: self.timed_out,
            },
        ))
    }
}

#[pymethods]
impl CompletedProcess {
    #[new]
    #[pyo3(signature = (args, returncode, stdout=None, stderr=None, *, oom_killed=false, timed_out=false, usage=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        args: Py<PyAny>,
        returncode: i32,
        stdout: Option<Py<PyAny>>,
        stderr: Option<Py<PyAny>>,
        oom_killed: bool,
        timed_out: bool,
        usage: Option<Py<Usage>>,
    ) -> PyResult<CompletedProcess> {
        let usage = match usage {
            Some(u) => u,
            None => Py::new(py, Usage::new(0.0, 0.0, 0.0, None))?,
        };
        Ok(CompletedProcess {
            args,
            returncode,
            stdout: stdout.unwrap_or_else(|| py.None()),
            stderr: stderr.unwrap_or_else(|| py.None()),
            oom_killed,
            timed_out,
            usage,
        })
    }

    /// Raises `CalledProcessError` if the return code is not 0.
    fn check_returncode(&self, py: Python<'_>) -> PyResult<()> {
        self.check(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut s = format!("CompletedProcess(args={}, returncode={}", self.args.bind(py).repr()?, self.returncode);
        if !self.stdout.is_none(py) {
            s += &format!(", stdout={}", self.stdout.bind(py).repr()?);
        }
        if !self.stderr.is_none(py) {
            s += &format!(", stderr={}", self.stderr.bind(py).repr()?);
        }
        if self.oom_killed {
            s += ", oom_killed=True";
        }
        if self.timed_out {
            s += ", timed_out=True";
        }
        Ok(s + ")")
    }

    /// `types.GenericAlias`, as `subprocess.CompletedProcess[bytes]` allows.
    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, pyo3::types::PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        generic_alias(cls, item)
    }
}

/// `types.GenericAlias(cls, item)`.
pub(crate) fn generic_alias(cls: &Bound<'_, pyo3::types::PyType>, item: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let py = cls.py();
    let alias = py.import("types")?.getattr("GenericAlias")?;
    Ok(alias.call1(PyTuple::new(py, [cls.as_any(), item])?)?.unbind())
}
