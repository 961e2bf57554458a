//! `seccomp=`: `True` (the default filter), `False` (none), or a
//! `containment.Seccomp` (the default filter with changes).

use containment::ValueKind;
use pyo3::prelude::*;
use pyo3::types::PyBool;

use crate::convert::{self, quote};
use crate::errors::{invalid, type_error, CoreResult};

/// The default seccomp filter with changes: `allow_ptrace` lets the program
/// trace its own processes (`ptrace`, `process_vm_readv`/`writev`),
/// `allow_user_namespaces` lets it create user namespaces, and `deny` refuses
/// more system calls (by name, with `EPERM`).
#[pyclass(frozen, module = "containment", name = "Seccomp")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PySeccomp {
    /// Whether `ptrace` and `process_vm_readv`/`writev` are allowed.
    #[pyo3(get)]
    allow_ptrace: bool,
    /// Whether new user namespaces are allowed.
    #[pyo3(get)]
    allow_user_namespaces: bool,
    deny: Vec<String>,
}

impl PySeccomp {
    fn policy(&self) -> containment::Seccomp {
        let mut p = containment::Seccomp::default_filter()
            .allow_ptrace(self.allow_ptrace)
            .allow_user_namespaces(self.allow_user_namespaces);
        for name in &self.deny {
            p = p.deny(name.clone());
        }
        p
    }
}

/// Checks a system call name against the core's table, as the core does at
/// spawn, so that a bad name raises when given.
fn check_syscall(py: Python<'_>, name: &str) -> PyResult<()> {
    if containment::known_syscalls().any(|(n, _)| n == name) {
        return Ok(());
    }
    Err(invalid(
        ValueKind::Argument,
        name,
        "not a system call containment knows",
        "an x86-64 system call name such as ptrace or io_uring_setup",
    ))
    .py(py)
}

#[pymethods]
impl PySeccomp {
    #[new]
    #[pyo3(signature = (*, allow_ptrace=false, allow_user_namespaces=false, deny=None))]
    fn new(
        py: Python<'_>,
        allow_ptrace: bool,
        allow_user_namespaces: bool,
        deny: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySeccomp> {
        let deny = match deny.filter(|d| !d.is_none()) {
            Some(d) => convert::strings(d, "deny")?,
            None => Vec::new(),
        };
        for name in &deny {
            check_syscall(py, name)?;
        }
        Ok(PySeccomp { allow_ptrace, allow_user_namespaces, deny })
    }

    /// The system calls denied on top of the default filter's.
    #[getter]
    fn deny(&self) -> Vec<String> {
        self.deny.clone()
    }

    fn __repr__(&self) -> String {
        let py_bool = |b: bool| if b { "True" } else { "False" };
        let deny: Vec<String> = self.deny.iter().map(|d| quote(d)).collect();
        format!(
            "Seccomp(allow_ptrace={}, allow_user_namespaces={}, deny=[{}])",
            py_bool(self.allow_ptrace),
            py_bool(self.allow_user_namespaces),
            deny.join(", ")
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PySeccomp>().is_ok_and(|o| *o.get() == *self)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

/// `seccomp=`: the core's policy and its `repr` for `Sandbox.__repr__`.
pub(crate) fn seccomp(obj: &Bound<'_, PyAny>) -> PyResult<(containment::Seccomp, String)> {
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(if b.is_true() {
            (containment::Seccomp::default_filter(), "True".into())
        } else {
            (containment::Seccomp::disabled(), "False".into())
        });
    }
    if let Ok(s) = obj.cast::<PySeccomp>() {
        let s = s.get();
        return Ok((s.policy(), s.__repr__()));
    }
    Err(type_error("seccomp", "bool or a containment.Seccomp", obj))
}
