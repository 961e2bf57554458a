//! The one place where a core [`containment::Error`] becomes a Python exception.
//!
//! The exception classes live in `containment/_errors.py` (Python expresses their
//! multiple inheritance, `InvalidValueError(ContainmentError, ValueError)`, directly);
//! this module picks the class for each variant and fills in its attributes.

use std::ffi::OsStr;
use std::path::Path;

use containment::{Errno, Error, ValueKind};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The module that defines the exception classes.
const ERRORS_MODULE: &str = "containment._errors";

/// An exception class of `containment._errors`.
pub(crate) fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import(ERRORS_MODULE)?.getattr(name)
}

/// A stable short name for a [`ValueKind`] (the `.kind` of `InvalidValueError`).
pub(crate) fn kind_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Size => "size",
        ValueKind::CpuSet => "cpuset",
        ValueKind::Address => "address",
        ValueKind::MountSpec => "mount",
        ValueKind::Path => "path",
        ValueKind::Argument => "argument",
        ValueKind::Environment => "environment",
        ValueKind::Hostname => "hostname",
        ValueKind::Id => "id",
        ValueKind::Number => "number",
        ValueKind::Signal => "signal",
        _ => "value",
    }
}

/// A path as Python shows file names: `str`, with undecodable bytes as surrogate
/// escapes (so `os.fsencode` gives the exact bytes back).
fn path_obj<'py>(py: Python<'py>, path: Option<&Path>) -> PyResult<Bound<'py, PyAny>> {
    match path {
        Some(p) => Ok(p.as_os_str().into_pyobject(py)?.into_any()),
        None => Ok(py.None().into_bound(py)),
    }
}

/// Instantiates `class_name(*args)` and sets `attrs` on the instance.
fn build<'py>(
    py: Python<'py>,
    class_name: &str,
    message: String,
    attrs: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<PyErr> {
    let exc = class(py, class_name)?.call1((message,))?;
    for (name, value) in attrs {
        exc.setattr(*name, value)?;
    }
    Ok(PyErr::from_value(exc))
}

/// An `OSError` subclass instance: `args == (errno, strerror[, filename])`.
fn os_error<'py>(
    py: Python<'py>,
    class_name: &str,
    errno: Errno,
    strerror: String,
    path: Option<&Path>,
    attrs: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<PyErr> {
    let filename = path_obj(py, path)?;
    let exc = if filename.is_none() {
        class(py, class_name)?.call1((errno as i32, strerror))?
    } else {
        class(py, class_name)?.call1((errno as i32, strerror, filename.clone()))?
    };
    exc.setattr("path", filename)?;
    for (name, value) in attrs {
        exc.setattr(*name, value)?;
    }
    Ok(PyErr::from_value(exc))
}

fn s<'py>(py: Python<'py>, v: &str) -> Bound<'py, PyAny> {
    v.into_pyobject(py).map(Bound::into_any).unwrap_or_else(|e| match e {})
}

fn try_to_py(py: Python<'_>, err: Error) -> PyResult<PyErr> {
    let message = err.to_string();
    match err {
        Error::InvalidValue { kind, value, reason, expected } => build(
            py,
            "InvalidValueError",
            message.clone(),
            &[
                ("kind", s(py, kind_name(kind))),
                ("value", s(py, &value)),
                ("reason", s(py, &reason)),
                ("expected", s(py, expected)),
            ],
        ),
        Error::InvalidConfig(reason) => build(
            py,
            "InvalidValueError",
            message.clone(),
            &[("kind", s(py, "config")), ("value", py.None().into_bound(py)), ("reason", s(py, &reason))],
        ),
        Error::ProgramNotFound { program } => os_error(
            py,
            "ProgramNotFoundError",
            Errno::ENOENT,
            "program not found in the sandbox".into(),
            Some(&program),
            &[("stage", s(py, "exec"))],
        ),
        Error::NotExecutable { program, errno } => os_error(
            py,
            "NotExecutableError",
            errno,
            format!("program cannot be executed in the sandbox: {}", errno.desc()),
            Some(&program),
            &[("stage", s(py, "exec"))],
        ),
        Error::Setup { stage, errno, path } => os_error(
            py,
            "SetupError",
            errno,
            format!("sandbox setup failed at stage {stage}: {}", errno.desc()),
            path.as_deref(),
            &[("stage", s(py, stage.name()))],
        ),
        Error::Os { op, path, errno } => os_error(
            py,
            "ContainmentOSError",
            errno,
            format!("{op} failed: {}", errno.desc()),
            path.as_deref(),
            &[("op", s(py, op))],
        ),
        Error::CgroupParent { path, errno } => os_error(
            py,
            "ContainmentOSError",
            errno,
            format!(
                "cgroup parent is not usable: {}; create it and make it writable, or choose another with \
                 cgroup_parent",
                errno.desc()
            ),
            Some(&path),
            &[("op", s(py, "cgroup parent"))],
        ),
        Error::Unsupported { feature, reason } => {
            build(py, "UnsupportedError", message.clone(), &[("feature", s(py, feature)), ("reason", s(py, &reason))])
        }
        Error::NeedsPrivilege { feature, how } => {
            build(py, "NeedsPrivilegeError", message.clone(), &[("feature", s(py, feature)), ("how", s(py, &how))])
        }
        Error::InitDied(_) => build(py, "InitDiedError", message.clone(), &[]),
        // `AlreadyWaited` cannot happen through these bindings (the outcome is kept),
        // and variants added later land here until they get a class of their own.
        _ => build(py, "ContainmentError", message.clone(), &[]),
    }
}

/// The Python exception for `err`.
pub(crate) fn to_py(py: Python<'_>, err: Error) -> PyErr {
    try_to_py(py, err).unwrap_or_else(|e| e)
}

/// `InvalidValueError` for a value the bindings themselves reject.
pub(crate) fn invalid(
    kind: ValueKind,
    value: impl Into<String>,
    reason: impl Into<String>,
    expected: &'static str,
) -> Error {
    Error::InvalidValue { kind, value: value.into(), reason: reason.into(), expected }
}

/// `InvalidValueError` for an inconsistent combination of arguments.
pub(crate) fn config(reason: impl Into<String>) -> Error {
    Error::InvalidConfig(reason.into())
}

/// A failed system call in the bindings, as the core would report it.
pub(crate) fn os(op: &'static str, e: &std::io::Error) -> Error {
    Error::Os { op, path: None, errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)) }
}

/// `TypeError("<what>: expected <expected>, not <type name>")`.
pub(crate) fn type_error(what: &str, expected: &str, got: &Bound<'_, PyAny>) -> PyErr {
    let name = got.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    PyTypeError::new_err(format!("{what}: expected {expected}, not {name}"))
}

/// `containment.TimeoutExpired(cmd, timeout, output, stderr)`.
pub(crate) fn timeout_expired(
    py: Python<'_>,
    cmd: &Py<PyAny>,
    timeout: f64,
    output: Py<PyAny>,
    stderr: Py<PyAny>,
) -> PyErr {
    let make = || -> PyResult<PyErr> {
        let exc = class(py, "TimeoutExpired")?.call1((cmd.clone_ref(py), timeout, output, stderr))?;
        Ok(PyErr::from_value(exc))
    };
    make().unwrap_or_else(|e| e)
}

/// `containment.CalledProcessError` for a finished program.
pub(crate) struct Failed<'a> {
    pub returncode: i32,
    pub cmd: &'a Py<PyAny>,
    pub stdout: Py<PyAny>,
    pub stderr: Py<PyAny>,
    pub oom_killed: bool,
    pub timed_out: bool,
}

pub(crate) fn called_process_error(py: Python<'_>, f: Failed<'_>) -> PyErr {
    let make = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("output", f.stdout)?;
        kwargs.set_item("stderr", f.stderr)?;
        let exc = class(py, "CalledProcessError")?.call((f.returncode, f.cmd.clone_ref(py)), Some(&kwargs))?;
        exc.setattr("oom_killed", f.oom_killed)?;
        exc.setattr("timed_out", f.timed_out)?;
        Ok(PyErr::from_value(exc))
    };
    make().unwrap_or_else(|e| e)
}

/// Extension for results of the core: `.py(py)?` maps the error.
pub(crate) trait CoreResult<T> {
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> CoreResult<T> for containment::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}

/// The bytes of a path for an error message value.
pub(crate) fn lossy(b: &OsStr) -> String {
    b.to_string_lossy().into_owned()
}
