//! Python values to the core's typed values.
//!
//! Every function here runs with the GIL held and only extracts and validates:
//! wrong Python types give `TypeError`, bad values `InvalidValueError` (a
//! `ValueError`) through the core's own error, mapped in [`crate::errors`].

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use containment::{BindSpec, CpuSet, MemoryLimit, Rlimit, TmpfsSpec, ValueKind};
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString, PyTuple};

use crate::errors::{invalid, lossy, os, type_error, CoreResult};
use crate::fd;

/// `subprocess.PIPE`: a new pipe.
pub(crate) const PIPE: i32 = -1;
/// `subprocess.STDOUT`: standard error goes where standard output goes.
pub(crate) const STDOUT: i32 = -2;
/// `subprocess.DEVNULL`: `/dev/null`.
pub(crate) const DEVNULL: i32 = -3;
/// The caller's own descriptor (also what `None` means).
pub(crate) const INHERIT: i32 = -4;

const PATH_TYPES: &str = "str, bytes or os.PathLike";

/// A keyword argument that was given: neither left out nor `None`.
pub(crate) fn given<'a, 'py>(o: &'a Option<Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    o.as_ref().filter(|v| !v.is_none())
}

/// `os.fsencode(obj)`: the exact bytes of a `str` (surrogate escapes undone),
/// `bytes` or `os.PathLike`.
pub(crate) fn fsencode(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<OsString> {
    static FSPATH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(OsString::from_vec(b.as_bytes().to_vec()));
    }
    if obj.is_instance_of::<PyString>() {
        return obj.extract::<OsString>();
    }
    let fspath = FSPATH.import(obj.py(), "os", "fspath")?;
    match fspath.call1((obj,)) {
        Ok(p) if p.is_instance_of::<PyString>() || p.is_instance_of::<PyBytes>() => fsencode(&p, what),
        _ => Err(type_error(what, PATH_TYPES, obj)),
    }
}

/// A path (see [`fsencode`]).
pub(crate) fn path(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<PathBuf> {
    fsencode(obj, what).map(PathBuf::from)
}

/// A `str` (only).
pub(crate) fn string(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if !obj.is_instance_of::<PyString>() {
        return Err(type_error(what, "str", obj));
    }
    obj.extract()
}

/// A `bool` (only: `1` is not one).
pub(crate) fn boolean(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<bool> {
    obj.cast::<PyBool>().map(|b| b.is_true()).map_err(|_| type_error(what, "bool", obj))
}

/// A whole number from 0 to `max`; `bool` is not one.
pub(crate) fn uint(
    obj: &Bound<'_, PyAny>,
    what: &str,
    kind: ValueKind,
    max: u64,
    expected: &'static str,
) -> PyResult<u64> {
    let py = obj.py();
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(type_error(what, "int", obj));
    }
    let text = obj.str().map(|s| s.to_string()).unwrap_or_default();
    match obj.extract::<u64>() {
        Ok(v) if v <= max => Ok(v),
        Ok(_) => Err(invalid(kind, text, format!("too large; the maximum is {max}"), expected)).py(py),
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
            let reason = if obj.lt(0)? {
                "must not be negative".to_string()
            } else {
                format!("too large; the maximum is {max}")
            };
            Err(invalid(kind, text, reason, expected)).py(py)
        }
        Err(e) => Err(e),
    }
}

/// A `u32` id (uid or gid).
pub(crate) fn id(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u32> {
    let v = uint(obj, what, ValueKind::Id, u64::from(u32::MAX - 1), "an id from 0 to 4294967294")?;
    Ok(v as u32)
}

/// A size: `"128M"` or a number of bytes.
pub(crate) fn size(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<MemoryLimit> {
    const EXPECTED: &str = "a number of bytes greater than zero, or a string like \"128M\"";
    let py = obj.py();
    if obj.is_instance_of::<PyString>() {
        return MemoryLimit::from_str(&string(obj, what)?).py(py);
    }
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(type_error(what, "str or int", obj));
    }
    let bytes = uint(obj, what, ValueKind::Size, u64::MAX, EXPECTED)?;
    MemoryLimit::from_bytes(bytes).py(py)
}

/// A CPU set: `"0-2,7"`, one CPU number, or an iterable of CPU numbers.
pub(crate) fn cpuset(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<CpuSet> {
    const EXPECTED: &str = "CPU numbers from 0 to 65535";
    let py = obj.py();
    if obj.is_instance_of::<PyString>() {
        return CpuSet::from_str(&string(obj, what)?).py(py);
    }
    let one = |o: &Bound<'_, PyAny>| uint(o, what, ValueKind::CpuSet, u64::from(CpuSet::MAX_CPU), EXPECTED);
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return CpuSet::from_cpus([one(obj)? as u32]).py(py);
    }
    if obj.is_instance_of::<PyBytes>() {
        return Err(type_error(what, "str, int or an iterable of int", obj));
    }
    let iter = obj.try_iter().map_err(|_| type_error(what, "str, int or an iterable of int", obj))?;
    let mut cpus = Vec::new();
    for item in iter {
        cpus.push(one(&item?)? as u32);
    }
    CpuSet::from_cpus(cpus).py(py)
}

/// Seconds as `int`, `float` or `datetime.timedelta`, as a float.
fn seconds_f64(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    if obj.is_instance_of::<PyBool>() {
        return Err(type_error(what, "float, int or datetime.timedelta", obj));
    }
    if obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>() {
        return obj.extract::<f64>();
    }
    if obj.is_instance_of::<pyo3::types::PyDelta>() {
        return obj.call_method0("total_seconds")?.extract::<f64>();
    }
    Err(type_error(what, "float, int or datetime.timedelta", obj))
}

/// A duration greater than zero (a sandbox's timeout).
pub(crate) fn duration(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Duration> {
    const EXPECTED: &str = "a number of seconds greater than zero";
    let secs = seconds_f64(obj, what)?;
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(invalid(ValueKind::Number, secs.to_string(), "must be greater than zero", EXPECTED)).py(obj.py()),
        Err(_) => {
            Err(invalid(ValueKind::Number, secs.to_string(), "not a finite positive number", EXPECTED)).py(obj.py())
        }
    }
}

/// How long to wait (`wait(timeout=...)`): `None` forever; negative means zero.
pub(crate) fn wait_time(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<(f64, Duration)>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    let secs = seconds_f64(obj, what)?;
    if secs.is_nan() {
        return Err(invalid(ValueKind::Number, "nan", "not a number", "a number of seconds")).py(obj.py());
    }
    Ok(Some((secs, Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX))))
}

/// A pair from a 2-item tuple or list.
fn pair<'py>(obj: &Bound<'py, PyAny>) -> Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    if (obj.is_instance_of::<PyTuple>() || obj.is_instance_of::<pyo3::types::PyList>()) && obj.len().ok()? == 2 {
        return Some((obj.get_item(0).ok()?, obj.get_item(1).ok()?));
    }
    None
}

/// A mount argument's item: a path or spec, and an optional second part.
type MountItem<'py> = (Bound<'py, PyAny>, Option<Bound<'py, PyAny>>);

/// The items of a mount argument: a mapping's `(key, value)` pairs, or each item
/// of an iterable with `None` as its second part unless it is a pair itself.
fn mount_items<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Vec<MountItem<'py>>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(type_error(what, "a list or a dict (not a single string)", obj));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return Ok(d.iter().map(|(k, v)| (k, Some(v))).collect());
    }
    if obj.hasattr("items")? && obj.hasattr("keys")? {
        let mut out = Vec::new();
        for kv in obj.call_method0("items")?.try_iter()? {
            let kv = kv?;
            let (k, v) = pair(&kv).ok_or_else(|| type_error(what, "a mapping", obj))?;
            out.push((k, Some(v)));
        }
        return Ok(out);
    }
    let iter = obj.try_iter().map_err(|_| type_error(what, "a list of mounts or a dict", obj))?;
    let mut out = Vec::new();
    for item in iter {
        let item = item?;
        match pair(&item) {
            Some((a, b)) => out.push((a, Some(b))),
            None => out.push((item, None)),
        }
    }
    Ok(out)
}

/// A bind mount from `src` and an optional `dst` (default: the same path).
pub(crate) fn bind_spec(src: &Bound<'_, PyAny>, dst: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<BindSpec> {
    let py = src.py();
    let src = path(src, what)?;
    let dst = match dst.filter(|d| !d.is_none()) {
        Some(d) => path(d, what)?,
        None => src.clone(),
    };
    BindSpec::new(src, dst).py(py)
}

/// The mounts of a mount argument (see [`mount_items`]): a string item is a
/// whole spec, which `parse` reads; any other item is a path and an optional
/// second part, which `spec` takes.
fn mount_specs<T>(
    obj: &Bound<'_, PyAny>,
    what: &str,
    spec: impl Fn(&Bound<'_, PyAny>, Option<&Bound<'_, PyAny>>, &str) -> PyResult<T>,
    parse: impl Fn(&OsStr) -> containment::Result<T>,
) -> PyResult<Vec<T>> {
    let py = obj.py();
    let mut out = Vec::new();
    for (a, b) in mount_items(obj, what)? {
        let item = match b {
            Some(b) => spec(&a, Some(&b), what)?,
            None if a.is_instance_of::<PyString>() || a.is_instance_of::<PyBytes>() => {
                parse(&fsencode(&a, what)?).py(py)?
            }
            None => spec(&a, None, what)?,
        };
        out.push(item);
    }
    Ok(out)
}

/// `binds=` / `ro_binds=`: `{src: dst}`, or a list of `(src, dst)`, `"SRC:DST"`
/// strings, or single paths (bound at the same path inside).
pub(crate) fn binds(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<BindSpec>> {
    mount_specs(obj, what, bind_spec, BindSpec::parse_os)
}

/// A tmpfs at `dst` with an optional size.
pub(crate) fn tmpfs_spec(
    dst: &Bound<'_, PyAny>,
    size_obj: Option<&Bound<'_, PyAny>>,
    what: &str,
) -> PyResult<TmpfsSpec> {
    let py = dst.py();
    let dst = path(dst, what)?;
    let size = match size_obj.filter(|s| !s.is_none()) {
        Some(s) => Some(size(s, what)?),
        None => None,
    };
    TmpfsSpec::new(dst, size).py(py)
}

/// `tmpfs=`: `{dst: size}`, or a list of `(dst, size)`, `"DST:SIZE"` strings, or
/// single paths (a tmpfs of the kernel's default size).
pub(crate) fn tmpfs(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<TmpfsSpec>> {
    mount_specs(obj, what, tmpfs_spec, TmpfsSpec::parse_os)
}

/// One rlimit value: a number, `"512M"`, `"unlimited"`, or `None` (unlimited).
fn rlimit_value(r: Rlimit, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    if obj.is_none() {
        return Ok(u64::MAX);
    }
    if obj.is_instance_of::<PyString>() {
        return r.parse_value(&string(obj, what)?).py(obj.py());
    }
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(type_error(what, "int, str or None", obj));
    }
    uint(obj, what, ValueKind::Number, u64::MAX, "a whole number, or \"unlimited\"")
}

/// An rlimit name (`"nofile"`, `"RLIMIT_AS"`).
pub(crate) fn rlimit_name(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Rlimit> {
    Rlimit::from_str(&string(obj, what)?).py(obj.py())
}

/// `(soft, hard)` of one rlimit from `value` (both alike) or `(soft, hard)`.
pub(crate) fn rlimit_pair(r: Rlimit, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(u64, u64)> {
    match pair(obj) {
        Some((soft, hard)) => Ok((rlimit_value(r, &soft, what)?, rlimit_value(r, &hard, what)?)),
        None => {
            let v = rlimit_value(r, obj, what)?;
            Ok((v, v))
        }
    }
}

/// `rlimits=`: `{"nofile": 64, "as": "512M", "core": (0, 0)}`.
pub(crate) fn rlimits(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<(Rlimit, u64, u64)>> {
    if !obj.hasattr("items")? || obj.is_instance_of::<PyString>() {
        return Err(type_error(what, "a mapping of names to values", obj));
    }
    let mut out = Vec::new();
    for kv in obj.call_method0("items")?.try_iter()? {
        let kv = kv?;
        let (k, v) = pair(&kv).ok_or_else(|| type_error(what, "a mapping of names to values", obj))?;
        let r = rlimit_name(&k, what)?;
        let (soft, hard) = rlimit_pair(r, &v, what)?;
        out.push((r, soft, hard));
    }
    Ok(out)
}

/// An iterable of ids (supplementary groups).
pub(crate) fn ids(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u32>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(type_error(what, "an iterable of int", obj));
    }
    let iter = obj.try_iter().map_err(|_| type_error(what, "an iterable of int", obj))?;
    iter.map(|i| id(&i?, what)).collect()
}

/// An iterable of strings (capability names).
pub(crate) fn strings(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(type_error(what, "an iterable of str", obj));
    }
    let iter = obj.try_iter().map_err(|_| type_error(what, "an iterable of str", obj))?;
    iter.map(|i| string(&i?, what)).collect()
}

/// An iterable of `str`/`bytes`/`os.PathLike` (not a single one), each as
/// [`fsencode`] gives it.
pub(crate) fn fsencodes(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<OsString>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(type_error(what, "an iterable of str or bytes (not a single string)", obj));
    }
    let iter = obj.try_iter().map_err(|_| type_error(what, "an iterable of str or bytes", obj))?;
    iter.map(|i| fsencode(&i?, what)).collect()
}

/// The program and its arguments: a sequence, or a single program.
pub(crate) fn argv(obj: &Bound<'_, PyAny>) -> PyResult<Vec<OsString>> {
    let single = obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() || obj.hasattr("__fspath__")?;
    if single {
        return Ok(vec![fsencode(obj, "args")?]);
    }
    let iter = obj.try_iter().map_err(|_| type_error("args", "a sequence of str, bytes or os.PathLike", obj))?;
    let argv = iter.map(|a| fsencode(&a?, "args")).collect::<PyResult<Vec<_>>>()?;
    if argv.is_empty() {
        return Err(invalid(ValueKind::Argument, "", "args is empty", "a program and its arguments")).py(obj.py());
    }
    Ok(argv)
}

/// `env=`: a mapping of `str`/`bytes` to `str`/`bytes`.
pub(crate) fn env(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(OsString, OsString)>> {
    if !obj.hasattr("items")? || obj.is_instance_of::<PyString>() {
        return Err(type_error("env", "a mapping", obj));
    }
    let mut out = Vec::new();
    for kv in obj.call_method0("items")?.try_iter()? {
        let kv = kv?;
        let (k, v) = pair(&kv).ok_or_else(|| PyTypeError::new_err("env: items() must give (key, value) pairs"))?;
        out.push((fsencode(&k, "env key")?, fsencode(&v, "env value")?));
    }
    Ok(out)
}

/// Where a standard descriptor goes, as asked from Python.
#[derive(Debug)]
pub(crate) enum StdioArg {
    Inherit,
    Null,
    Piped,
    /// `STDOUT` (standard error only).
    Stdout,
    Fd(OwnedFd),
}

/// `stdin=`, `stdout=`, `stderr=`: `None`, `PIPE`, `DEVNULL`, `INHERIT`, `STDOUT`
/// (for `stderr` only), a descriptor number, or an object with `fileno()`.
pub(crate) fn stdio(obj: Option<&Bound<'_, PyAny>>, what: &'static str) -> PyResult<StdioArg> {
    const EXPECTED: &str = "None, PIPE, DEVNULL, INHERIT, STDOUT (stderr only), a descriptor or a file object";
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(StdioArg::Inherit) };
    let py = obj.py();
    if obj.is_instance_of::<PyBool>() {
        return Err(type_error(what, "an int or a file object", obj));
    }
    let fd_number: i64 = if obj.is_instance_of::<PyInt>() {
        obj.extract().map_err(|_| type_error(what, "a descriptor number", obj))?
    } else if obj.hasattr("fileno")? {
        let n = obj.call_method0("fileno")?;
        n.extract().map_err(|_| type_error(what, "a file object whose fileno() is an int", obj))?
    } else {
        return Err(type_error(what, "an int or a file object", obj));
    };
    let text = fd_number.to_string();
    match fd_number {
        n if n == i64::from(PIPE) => Ok(StdioArg::Piped),
        n if n == i64::from(DEVNULL) => Ok(StdioArg::Null),
        n if n == i64::from(INHERIT) => Ok(StdioArg::Inherit),
        n if n == i64::from(STDOUT) && what == "stderr" => Ok(StdioArg::Stdout),
        n if (0..=i64::from(i32::MAX)).contains(&n) => {
            fd::dup_raw(n as i32).map(StdioArg::Fd).map_err(|e| crate::errors::to_py(py, os("dup", &e)))
        }
        _ => Err(invalid(ValueKind::Argument, text, format!("not a valid value for {what}"), EXPECTED)).py(py),
    }
}

/// A host name (`str` or `bytes`).
pub(crate) fn hostname(obj: &Bound<'_, PyAny>) -> PyResult<OsString> {
    if !(obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>()) {
        return Err(type_error("hostname", "str or bytes", obj));
    }
    fsencode(obj, "hostname")
}

/// The `str` form of a value given as `str` or as an `ipaddress` object.
pub(crate) fn address_text(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if obj.is_instance_of::<PyString>() {
        return obj.extract();
    }
    let module = obj.get_type().getattr("__module__").and_then(|m| m.extract::<String>()).unwrap_or_default();
    if module == "ipaddress" {
        return Ok(obj.str()?.to_string());
    }
    Err(type_error(what, "str or an ipaddress object", obj))
}

/// The bytes of a path, lossily, for messages.
pub(crate) fn show(p: &std::path::Path) -> String {
    lossy(p.as_os_str())
}

/// A Python-style `repr` of a string (for `repr()` of the classes).
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}
