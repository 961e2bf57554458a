//! `user_namespace=`: `"auto"`, `"off"`, `"own"`, `"range"`, `("range", size)`
//! or `IdMaps(uid=[...], gid=[...])`; and the `IdMaps` class.

use std::hash::{Hash, Hasher};
use std::str::FromStr;

use containment::{IdMap, UserNamespace, ValueKind, DEFAULT_RANGE_SIZE};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::convert;
use crate::errors::{invalid, type_error, CoreResult};

const MAP_TYPES: &str = "an iterable of (inside, outside, count) triples or \"INSIDE:OUTSIDE:COUNT\" strings";
const NS_TYPES: &str = "\"auto\", \"off\", \"own\", \"range\", (\"range\", size) or a containment.IdMaps";

/// Explicit id maps of a user namespace: each `(inside, outside, count)` range
/// makes `count` ids from `inside` in the sandbox the host ids from `outside`.
#[pyclass(frozen, module = "containment")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdMaps {
    uid: Vec<IdMap>,
    gid: Vec<IdMap>,
}

/// One range: `(inside, outside, count)` or `"INSIDE:OUTSIDE:COUNT"`.
fn one_map(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<IdMap> {
    let py = obj.py();
    if obj.is_instance_of::<PyString>() {
        return IdMap::from_str(&convert::string(obj, what)?).py(py);
    }
    let is_seq = obj.is_instance_of::<PyTuple>() || obj.is_instance_of::<PyList>();
    if !is_seq || obj.len()? != 3 {
        return Err(type_error(what, "an (inside, outside, count) triple or an \"INSIDE:OUTSIDE:COUNT\" string", obj));
    }
    let id = |i: usize| -> PyResult<u32> {
        let v = obj.get_item(i)?;
        Ok(convert::uint(&v, what, ValueKind::Id, u64::from(u32::MAX), "an id from 0 to 4294967295")? as u32)
    };
    IdMap::new(id(0)?, id(1)?, id(2)?).py(py)
}

/// A map: an iterable of ranges, at least one.
fn maps(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<IdMap>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(type_error(what, MAP_TYPES, obj));
    }
    let iter = obj.try_iter().map_err(|_| type_error(what, MAP_TYPES, obj))?;
    let out = iter.map(|m| one_map(&m?, what)).collect::<PyResult<Vec<_>>>()?;
    if out.is_empty() {
        return Err(invalid(ValueKind::Id, "", format!("the {what} map is empty"), "at least one range")).py(obj.py());
    }
    Ok(out)
}

fn show(maps: &[IdMap]) -> String {
    let items: Vec<String> = maps.iter().map(|m| format!("({}, {}, {})", m.inside, m.outside, m.count)).collect();
    format!("[{}]", items.join(", "))
}

fn triples(maps: &[IdMap]) -> Vec<(u32, u32, u32)> {
    maps.iter().map(|m| (m.inside, m.outside, m.count)).collect()
}

#[pymethods]
impl IdMaps {
    /// `IdMaps(uid=[(0, 100000, 65536)], gid=[(0, 100000, 65536)])`; `gid`
    /// defaults to the same ranges as `uid`.
    #[new]
    #[pyo3(signature = (uid, gid=None))]
    fn new(uid: &Bound<'_, PyAny>, gid: Option<&Bound<'_, PyAny>>) -> PyResult<IdMaps> {
        let uid = maps(uid, "uid")?;
        let gid = match gid.filter(|g| !g.is_none()) {
            Some(g) => maps(g, "gid")?,
            None => uid.clone(),
        };
        Ok(IdMaps { uid, gid })
    }

    /// The uid map, as `(inside, outside, count)` triples.
    #[getter]
    fn uid(&self) -> Vec<(u32, u32, u32)> {
        triples(&self.uid)
    }

    /// The gid map, as `(inside, outside, count)` triples.
    #[getter]
    fn gid(&self) -> Vec<(u32, u32, u32)> {
        triples(&self.gid)
    }

    fn __repr__(&self) -> String {
        format!("IdMaps(uid={}, gid={})", show(&self.uid), show(&self.gid))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<IdMaps>().is_ok_and(|o| *o.get() == *self)
    }

    fn __hash__(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

/// `user_namespace=`: the core's value and its `repr` for `Sandbox.__repr__`.
pub(crate) fn user_namespace(obj: &Bound<'_, PyAny>) -> PyResult<(UserNamespace, String)> {
    let py = obj.py();
    if let Ok(m) = obj.cast::<IdMaps>() {
        let m = m.get();
        return Ok((UserNamespace::Maps { uid: m.uid.clone(), gid: m.gid.clone() }, m.__repr__()));
    }
    if obj.is_instance_of::<PyString>() {
        let s: String = obj.extract()?;
        let ns = match s.as_str() {
            "auto" => UserNamespace::Auto,
            "off" => UserNamespace::Off,
            "own" => UserNamespace::Own,
            "range" => UserNamespace::Range { size: DEFAULT_RANGE_SIZE },
            _ => return Err(invalid(ValueKind::Argument, s, "unknown user namespace mode", NS_TYPES)).py(py),
        };
        return Ok((ns, convert::quote(&s)));
    }
    if obj.is_instance_of::<PyTuple>() && obj.len()? == 2 {
        let mode = obj.get_item(0)?;
        if mode.is_instance_of::<PyString>() && mode.extract::<String>()? == "range" {
            let size_obj = obj.get_item(1)?;
            const EXPECTED: &str = "a number of ids from 1 to 65536";
            let size = convert::uint(&size_obj, "user_namespace range size", ValueKind::Id, u64::MAX, EXPECTED)?;
            if !(1..=u64::from(DEFAULT_RANGE_SIZE)).contains(&size) {
                let reason = "a range size must be from 1 to 65536";
                return Err(invalid(ValueKind::Id, size.to_string(), reason, EXPECTED)).py(py);
            }
            return Ok((UserNamespace::Range { size: size as u32 }, format!("('range', {size})")));
        }
    }
    Err(type_error("user_namespace", NS_TYPES, obj))
}
