//! `net=`: `None`/`"none"`, `"none-reused"`, `"host"`, or a `Bridge`.

use std::net::Ipv4Addr;
use std::str::FromStr;

use containment::{BridgeNet, Ipv4Net, Net, ValueKind};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyString};

use crate::convert::{self, quote};
use crate::errors::{invalid, type_error, CoreResult};

/// An `eth0` with an address on a host bridge (a veth pair; the host end joins
/// the bridge).
#[pyclass(frozen, module = "containment")]
#[derive(Debug, Clone)]
pub struct Bridge {
    inner: BridgeNet,
    /// The bridge's name.
    #[pyo3(get)]
    name: String,
    /// The sandbox's address with its prefix, like `"10.77.0.17/24"`.
    #[pyo3(get)]
    address: String,
    /// The default route's gateway, if given.
    #[pyo3(get)]
    gateway: Option<String>,
    /// The MTU of the veth, if given.
    #[pyo3(get)]
    mtu: Option<u32>,
    /// The MAC address of `eth0`, if given.
    #[pyo3(get)]
    mac: Option<String>,
    /// The address the bridge is created with when missing, if any.
    #[pyo3(get)]
    create: Option<String>,
    /// Whether the network namespace is kept for the next sandbox.
    #[pyo3(get)]
    reuse: bool,
}

fn parse_mac(py: Python<'_>, s: &str) -> PyResult<[u8; 6]> {
    const EXPECTED: &str = "six hexadecimal bytes separated by ':', like 02:00:0a:4d:00:11";
    let bad = || invalid(ValueKind::Address, s, "not a MAC address", EXPECTED);
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad()).py(py);
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 2 {
            return Err(bad()).py(py);
        }
        *m = u8::from_str_radix(p, 16).map_err(|_| bad()).py(py)?;
    }
    Ok(mac)
}

#[pymethods]
impl Bridge {
    /// `Bridge("br0", "10.77.0.17/24")`: the sandbox gets `eth0` with that address
    /// on a veth whose host end joins the existing bridge `br0`. `create=True` (or
    /// the bridge's own address, like `"10.77.0.1/24"`) creates the bridge when
    /// it does not exist (with the subnet's first host address for `True`).
    /// `reuse=True` keeps the sandbox's network namespace, with its veth on the
    /// bridge and without its address, for the next sandbox of this process on the
    /// same bridge (see `containment.release_kept_namespaces`).
    #[new]
    #[pyo3(signature = (name, address, *, gateway=None, mtu=None, mac=None, create=None, reuse=false))]
    #[allow(clippy::too_many_arguments)] // one per keyword of the Python signature
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        address: &Bound<'_, PyAny>,
        gateway: Option<&Bound<'_, PyAny>>,
        mtu: Option<&Bound<'_, PyAny>>,
        mac: Option<&Bound<'_, PyAny>>,
        create: Option<&Bound<'_, PyAny>>,
        reuse: bool,
    ) -> PyResult<Bridge> {
        let name = convert::string(name, "name")?;
        let addr = Ipv4Net::from_str(&convert::address_text(address, "address")?).py(py)?;
        let mut inner = Net::bridge(name.clone(), addr).reuse(reuse);
        let mut out = Bridge {
            inner: inner.clone(),
            name,
            address: addr.to_string(),
            gateway: None,
            mtu: None,
            mac: None,
            create: None,
            reuse,
        };
        if let Some(g) = gateway.filter(|g| !g.is_none()) {
            let text = convert::address_text(g, "gateway")?;
            let ip = Ipv4Addr::from_str(&text)
                .map_err(|_| {
                    invalid(ValueKind::Address, &text, "not an IPv4 address", "an IPv4 address like 10.77.0.1")
                })
                .py(py)?;
            inner = inner.gateway(ip);
            out.gateway = Some(ip.to_string());
        }
        if let Some(m) = mtu.filter(|m| !m.is_none()) {
            let m = convert::uint(m, "mtu", ValueKind::Number, u64::from(u32::MAX), "an MTU from 68 to 65535")? as u32;
            inner = inner.mtu(m);
            out.mtu = Some(m);
        }
        if let Some(m) = mac.filter(|m| !m.is_none()) {
            let text = convert::string(m, "mac")?;
            inner = inner.mac(parse_mac(py, &text)?);
            out.mac = Some(text.to_ascii_lowercase());
        }
        if let Some(c) = create.filter(|c| !c.is_none()) {
            let bridge_addr = if let Ok(b) = c.cast::<PyBool>() {
                if !b.is_true() {
                    None
                } else {
                    let first = addr.first_host();
                    let own = if first == addr.addr() { addr.last_host() } else { first };
                    Some(Ipv4Net::new(own, addr.prefix()).py(py)?)
                }
            } else {
                Some(Ipv4Net::from_str(&convert::address_text(c, "create")?).py(py)?)
            };
            if let Some(b) = bridge_addr {
                inner = inner.create_bridge(b);
                out.create = Some(b.to_string());
            }
        }
        out.inner = inner;
        Ok(out)
    }

    fn __repr__(&self) -> String {
        let mut s = format!("Bridge({}, {}", quote(&self.name), quote(&self.address));
        if let Some(g) = &self.gateway {
            s += &format!(", gateway={}", quote(g));
        }
        if let Some(m) = self.mtu {
            s += &format!(", mtu={m}");
        }
        if let Some(m) = &self.mac {
            s += &format!(", mac={}", quote(m));
        }
        if let Some(c) = &self.create {
            s += &format!(", create={}", quote(c));
        }
        if self.reuse {
            s += ", reuse=True";
        }
        s + ")"
    }
}

/// `release_kept_namespaces()`: drops the network namespaces this process keeps
/// for reuse (see `Bridge(reuse=True)` and `net="none-reused"`); returns how many
/// there were.
#[pyfunction]
pub(crate) fn release_kept_namespaces() -> usize {
    containment::release_kept_namespaces()
}

/// `net=`: `None` or `"none"` (only `lo`), `"none-reused"` (only `lo`, the namespace
/// kept for the next sandbox), `"host"`, or a `Bridge`.
pub(crate) fn net(obj: &Bound<'_, PyAny>) -> PyResult<Net> {
    const EXPECTED: &str = "None, \"none\", \"none-reused\", \"host\" or a containment.Bridge";
    if obj.is_none() {
        return Ok(Net::none());
    }
    if let Ok(b) = obj.cast::<Bridge>() {
        return Ok(Net::Bridge(b.get().inner.clone()));
    }
    if obj.is_instance_of::<PyString>() {
        let s: String = obj.extract()?;
        return match s.as_str() {
            "none" => Ok(Net::none()),
            "none-reused" => Ok(Net::none_reused()),
            "host" => Ok(Net::host()),
            _ => Err(invalid(ValueKind::Argument, s, "unknown network", EXPECTED)).py(obj.py()),
        };
    }
    Err(type_error("net", EXPECTED, obj))
}
