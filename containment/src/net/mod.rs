//! Networking: loopback only (the default), the host's network, or a veth on a
//! bridge with an address.
//!
//! Everything goes through rtnetlink (`netlink-sys` for the socket,
//! `netlink-packet-route` for the messages): no `ip` processes. The bridge is
//! checked before the sandbox exists; once its init is cloned, the supervisor
//! creates the veth pair with the peer directly in the sandbox's namespace and
//! configures it there through a netlink socket the init made and handed over. The
//! pair is never deleted on the spawn or wait path: it goes with the namespace.

pub(crate) mod message;
mod registry;
pub(crate) mod reuse;
mod socket;

use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, Ordering};

use nix::errno::Errno;

use crate::error::{Error, Result, ValueKind};
use crate::lease::Lease;
use crate::resource::Ipv4Net;
use message::{LinkFacts, PeerNs, Reply, Veth, PEER_INDEX};
pub use reuse::{release_kept_namespaces, MAX_KEPT_NAMESPACES};
pub(crate) use reuse::{Entered, Kept};
use socket::{Request, Rtnl};

/// The network of a sandbox. More kinds may come: a `match` on it needs a `_` arm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Net {
    /// Its own network namespace with only `lo`, up (the default).
    #[default]
    None,
    /// The host's network, shared: an explicit opt-in.
    Host,
    /// Its own namespace with `lo` and an `eth0` on a host bridge.
    Bridge(BridgeNet),
    /// As [`Net::None`], but the namespace is kept, with `lo` up, for the next
    /// sandbox of this process that asks for one, instead of being destroyed: it
    /// saves making and destroying a namespace, about 1 ms of CPU (most of it
    /// the kernel's) and 0.1 to 0.7 ms of the spawn (`benches/RESULTS.md`, run J).
    ///
    /// The conditions are those of [`BridgeNet::reuse`]: only a supervisor running
    /// as root (with `CAP_SYS_ADMIN`) keeps namespaces (they belong to the host's
    /// user namespace, so no sandbox can configure one), only for sandboxes whose
    /// program keeps no capability, does not run as the host's root, mounts no
    /// sysfs and is not [`Running`](crate::Running); the others get a new
    /// namespace, as with [`Net::None`]. A namespace in which a socket outlived its
    /// sandbox is not used again. At most [`MAX_KEPT_NAMESPACES`] are kept, bridged
    /// ones included (a full pool drops the oldest of the kind given back), until
    /// the process exits or calls
    /// [`release_kept_namespaces`]. What the kernel remembers of the previous
    /// sandbox's traffic on `lo` stays for the next: the counters
    /// (`/proc/net/dev`, `/proc/net/snmp`), TCP metrics per address (of all of
    /// `127.0.0.0/8`), the TCP Fast Open key. And a sandbox that passes a
    /// descriptor of its namespace, or of a file under `/proc/self/net`, out of
    /// the sandbox (over a Unix socket it was given) lets whoever holds it see the
    /// next sandbox's sockets.
    NoneReused,
}

impl Net {
    /// See [`Net::None`].
    pub fn none() -> Net {
        Net::None
    }

    /// See [`Net::NoneReused`].
    pub fn none_reused() -> Net {
        Net::NoneReused
    }

    /// See [`Net::Host`].
    pub fn host() -> Net {
        Net::Host
    }

    /// An `eth0` with `address` (`10.77.0.17/24`) on a veth whose host end joins
    /// the existing bridge `bridge`. The default route goes through the bridge's own
    /// IPv4 address when it lies in the subnet, or through
    /// [`BridgeNet::gateway`]. Two sandboxes on one bridge and subnet reach each
    /// other.
    pub fn bridge(bridge: impl Into<String>, address: Ipv4Net) -> BridgeNet {
        BridgeNet { bridge: bridge.into(), address, gateway: None, mtu: None, mac: None, create: None, reuse: false }
    }
}

/// A sandbox's interface on a bridge; see [`Net::bridge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeNet {
    bridge: String,
    address: Ipv4Net,
    gateway: Option<Ipv4Addr>,
    mtu: Option<u32>,
    mac: Option<[u8; 6]>,
    create: Option<Ipv4Net>,
    reuse: bool,
}

impl BridgeNet {
    /// The gateway of the default route (it must lie in the address's subnet).
    pub fn gateway(mut self, gateway: Ipv4Addr) -> BridgeNet {
        self.gateway = Some(gateway);
        self
    }

    /// The MTU of both ends of the veth (default: the bridge's).
    pub fn mtu(mut self, mtu: u32) -> BridgeNet {
        self.mtu = Some(mtu);
        self
    }

    /// The MAC address of the sandbox's `eth0` (default: random).
    pub fn mac(mut self, mac: [u8; 6]) -> BridgeNet {
        self.mac = Some(mac);
        self
    }

    /// Creates the bridge, up and with `address`, when it does not exist. It stays
    /// after the sandbox ends, for others to use.
    pub fn create_bridge(mut self, address: Ipv4Net) -> BridgeNet {
        self.create = Some(address);
        self
    }

    /// Keeps the sandbox's network namespace, with its veth on the bridge, for the
    /// next sandbox of this process on the same bridge (with the same MTU), instead
    /// of destroying it and making a new one: a bridge then adds about what
    /// configuring an address costs, where making and destroying a veth costs
    /// milliseconds.
    ///
    /// - A kept namespace holds no address: it is removed when the sandbox ends
    ///   (and its lease released), and the next sandbox's is added.
    /// - Its veth's host end stays on the bridge while this process keeps it; at
    ///   most [`MAX_KEPT_NAMESPACES`] are kept, [`Net::NoneReused`] ones included
    ///   (with as many kept, the oldest of the kind given back goes first). They go
    ///   when the process exits, or with [`release_kept_namespaces`].
    /// - The namespace belongs to the host's user namespace, not the sandbox's: no
    ///   process in the sandbox can configure it. So only sandboxes whose program
    ///   keeps no capability, does not run as the host's root (without a user
    ///   namespace, or with one that maps its uid to 0) and mounts no sysfs use
    ///   one. The others, sandboxes
    ///   started to run programs in later ([`Running`](crate::Running): named,
    ///   persistent or not) and those with a fixed [`BridgeNet::mac`] get a new
    ///   namespace as without this option. A process made by `fork` does not use
    ///   its parent's.
    /// - A namespace in which a socket outlived its sandbox (a TCP connection in
    ///   `TIME_WAIT`, any socket passed out of the sandbox, bound or not) is not
    ///   used again: the next sandbox can bind every port and receives only its
    ///   own traffic. Closed netlink sockets (of `ip`, say) count until the kernel
    ///   frees them, a grace period later, so the sandbox right after one that
    ///   used them may get a new namespace.
    /// - The next sandbox can still see what the kernel remembers of the previous
    ///   one's traffic: the counters (`/proc/net/dev`, `/proc/net/snmp`), the
    ///   neighbour cache, TCP metrics and path MTUs learnt; `eth0`'s MAC and IPv6
    ///   link-local address are the same.
    pub fn reuse(mut self, yes: bool) -> BridgeNet {
        self.reuse = yes;
        self
    }

    /// The bridge's name.
    pub fn bridge_name(&self) -> &str {
        &self.bridge
    }

    /// The sandbox's address.
    pub fn address(&self) -> Ipv4Net {
        self.address
    }
}

impl From<BridgeNet> for Net {
    fn from(b: BridgeNet) -> Net {
        Net::Bridge(b)
    }
}

/// What was checked and decided before the sandbox is cloned.
pub(crate) struct Prepared {
    rtnl: Rtnl,
    /// The bridge's name (and below, its index).
    bridge_name: String,
    /// The supervisor's network namespace (see `registry::netns_id`).
    netns: u64,
    reuse: bool,
    bridge: u32,
    address: Ipv4Net,
    gateway: Ipv4Addr,
    mtu: u32,
    mac: Option<[u8; 6]>,
    /// The address, held for as long as the sandbox runs.
    pub lease: Lease,
}

impl Prepared {
    /// Whether the sandbox asked for a kept namespace (see [`BridgeNet::reuse`]).
    pub(crate) fn wants_reuse(&self) -> bool {
        self.reuse
    }
}

/// Checks `b` against the host, before anything is created: the bridge exists (or
/// is created when asked), the address is a host address of the bridge's subnet
/// and free, the gateway is known.
///
/// # Errors
/// [`Error::InvalidConfig`] and [`Error::InvalidValue`] naming what is wrong;
/// [`Error::Os`] when netlink fails.
pub(crate) fn prepare(b: &BridgeNet) -> Result<Prepared> {
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::NeedsPrivilege {
            feature: "a bridge network",
            how: "run as root; without privileges use Net::none() or Net::host()".into(),
        });
    }
    validate_ifname(&b.bridge)?;
    b.address.check_host()?;
    if let Some(mtu) = b.mtu {
        if !(68..=65535).contains(&mtu) {
            return Err(Error::invalid(
                ValueKind::Number,
                mtu.to_string(),
                "MTU out of range",
                "an MTU from 68 to 65535",
            ));
        }
    }
    if let Some(mac) = b.mac {
        // Bit 0 of the first octet: multicast; all zero: no address at all.
        if mac[0] & 1 == 1 || mac == [0; 6] {
            let text = mac.iter().map(|o| format!("{o:02x}")).collect::<Vec<_>>().join(":");
            return Err(Error::invalid(
                ValueKind::Argument,
                text,
                "not a unicast MAC address",
                "a unicast MAC address (even first octet, not all zero), such as 02:00:00:00:00:01",
            ));
        }
    }
    let mut rtnl = Rtnl::open()?;
    let link = match get_link(&mut rtnl, &b.bridge)? {
        Some(l) => l,
        None => match b.create {
            Some(addr) => {
                // Check everything against the bridge-to-be before making it.
                addr.check_host()?;
                choose_gateway(&b.bridge, b.address, b.gateway, &[addr])?;
                create_bridge(&mut rtnl, &b.bridge, addr)?
            }
            None => {
                return Err(Error::InvalidConfig(format!(
                    "bridge {} does not exist; create it first (or ask containment to create it)",
                    b.bridge
                )))
            }
        },
    };
    if link.kind.as_deref() != Some("bridge") {
        return Err(Error::InvalidConfig(format!("{} is not a bridge", b.bridge)));
    }
    let seq = rtnl.seq();
    let replies = rtnl.transact(&[Request { seq, bytes: message::get_addrs(seq), dump: true }], "RTM_GETADDR")?;
    let gateway = choose_gateway(&b.bridge, b.address, b.gateway, &message::ipv4_addrs_of(&replies, link.index))?;
    let netns = registry::netns_id(rtnl.raw_fd());
    let lease = registry::take_address(&b.bridge, b.address.addr(), netns)?;
    Ok(Prepared {
        rtnl,
        bridge_name: b.bridge.clone(),
        netns,
        reuse: b.reuse && b.mac.is_none(),
        bridge: link.index,
        address: b.address,
        gateway,
        mtu: b.mtu.or(link.mtu).unwrap_or(1500),
        mac: b.mac,
        lease,
    })
}

/// Creates the veth pair of the sandbox whose init is `pid`, with `eth0` inside,
/// and configures `eth0` through `inside`, a netlink socket in the sandbox's
/// network namespace. Returns the address, held until the sandbox ended.
pub(crate) fn attach(p: &mut Prepared, pid: u32, inside: OwnedFd) -> Result<Assigned> {
    create_veth(p, PeerNs::Pid(pid))?;
    // Noted before it is set: after a partial failure it is removed too.
    let mut assigned = Assigned { inside: Rtnl::from_fd(inside), address: Some(p.address) };
    configure(&mut assigned.inside, p.address, p.gateway, true)?;
    Ok(assigned)
}

/// A bridged sandbox's address, removed from its namespace when this goes (before
/// its lease is released): a namespace the kernel destroys in the background keeps
/// answering for its address meanwhile, against the next sandbox given it.
pub(crate) struct Assigned {
    /// A netlink socket in the sandbox's namespace (which it keeps alive).
    inside: Rtnl,
    address: Option<Ipv4Net>,
}

impl Assigned {
    /// Removes the address now.
    ///
    /// # Errors
    /// [`Error::Os`] when the kernel refuses (the interface is gone, say).
    fn remove(&mut self) -> Result<()> {
        match self.address.take() {
            Some(a) => {
                let seq = self.inside.seq();
                let del = Request { seq, bytes: message::del_addr(PEER_INDEX, a, seq), dump: false };
                self.inside.transact(&[del], "remove address").map(drop)
            }
            None => Ok(()),
        }
    }

    /// Leaves the address in place when this goes: the sandbox runs on without this
    /// handle (a persistent sandbox, or a copy of the handle made by `fork`).
    pub(crate) fn keep(&mut self) {
        self.address = None;
    }
}

impl Drop for Assigned {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

impl std::fmt::Debug for Assigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assigned").field("address", &self.address).finish_non_exhaustive()
    }
}

/// Creates a veth pair whose host end joins the bridge and whose peer is `eth0` (at
/// [`PEER_INDEX`]) in `peer_ns`.
/// Returns the host end's name.
fn create_veth(p: &mut Prepared, peer_ns: PeerNs) -> Result<String> {
    let mut attempts = 0;
    loop {
        let host = host_name();
        let seq = p.rtnl.seq();
        let v = Veth { host: &host, bridge: p.bridge, peer_ns, mtu: p.mtu, mac: p.mac };
        match p.rtnl.transact(&[Request { seq, bytes: message::new_veth(&v, seq), dump: false }], "create veth") {
            // A name left by a dead process with our pid, still being torn down.
            Err(Error::Os { errno: Errno::EEXIST, .. }) if attempts < 8 => attempts += 1,
            r => return r.map(|_| host),
        }
    }
}

/// Gives `eth0` its address and the default route, through `ns`, a netlink socket
/// in its namespace; brings it up first when `up`.
fn configure(ns: &mut Rtnl, address: Ipv4Net, gateway: Ipv4Addr, up: bool) -> Result<()> {
    let (s0, s1, s2) = (ns.seq(), ns.seq(), ns.seq());
    let mut requests = Vec::with_capacity(3);
    if up {
        requests.push(Request { seq: s0, bytes: message::link_up(PEER_INDEX, s0), dump: false });
    }
    requests.push(Request { seq: s1, bytes: message::new_addr(PEER_INDEX, address, s1), dump: false });
    requests.push(Request { seq: s2, bytes: message::default_route(PEER_INDEX, gateway, s2), dump: false });
    ns.transact(&requests, "configure eth0").map(drop)
}

fn get_link(rtnl: &mut Rtnl, name: &str) -> Result<Option<LinkFacts>> {
    let seq = rtnl.seq();
    let mut bytes = message::get_link(name, seq);
    // Ask for an acknowledgement too, so the reply is always closed by one.
    bytes[6] |= libc::NLM_F_ACK as u8;
    match rtnl.transact(&[Request { seq, bytes, dump: false }], "RTM_GETLINK") {
        Ok(replies) => Ok(replies.iter().find_map(|r| match r {
            Reply::Link(l) => Some(message::link_facts(l)),
            _ => None,
        })),
        Err(Error::Os { errno: Errno::ENODEV, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn create_bridge(rtnl: &mut Rtnl, name: &str, addr: Ipv4Net) -> Result<LinkFacts> {
    let seq = rtnl.seq();
    match rtnl.transact(&[Request { seq, bytes: message::new_bridge(name, seq), dump: false }], "create bridge") {
        Ok(_) | Err(Error::Os { errno: Errno::EEXIST, .. }) => {}
        Err(e) => return Err(e),
    }
    let link = get_link(rtnl, name)?.ok_or_else(|| Error::os("create bridge", Errno::ENODEV))?;
    let seq = rtnl.seq();
    match rtnl
        .transact(&[Request { seq, bytes: message::new_addr(link.index, addr, seq), dump: false }], "address bridge")
    {
        Ok(_) | Err(Error::Os { errno: Errno::EEXIST, .. }) => Ok(link),
        Err(e) => Err(e),
    }
}

/// The gateway of a sandbox with `address` on `bridge`, whose IPv4 addresses are
/// `bridge_addrs`, and checks of the address against the bridge's subnets.
fn choose_gateway(
    bridge: &str,
    address: Ipv4Net,
    gateway: Option<Ipv4Addr>,
    bridge_addrs: &[Ipv4Net],
) -> Result<Ipv4Addr> {
    let ip = address.addr();
    if bridge_addrs.iter().any(|b| b.addr() == ip) {
        return Err(Error::InvalidConfig(format!("address {ip} is the bridge {bridge}'s own address")));
    }
    let subnet = bridge_addrs.iter().find(|b| b.contains(ip) && b.prefix() == address.prefix());
    if !bridge_addrs.is_empty() && subnet.is_none() {
        let list = bridge_addrs.iter().map(|b| format!("{}/{}", b.network(), b.prefix())).collect::<Vec<_>>();
        return Err(Error::InvalidConfig(format!(
            "address {address} is outside the subnet of bridge {bridge} ({}); choose an address in it",
            list.join(", ")
        )));
    }
    let gw = match (gateway, subnet) {
        (Some(g), _) => g,
        (None, Some(s)) => s.addr(),
        (None, None) => {
            return Err(Error::InvalidConfig(format!(
                "bridge {bridge} has no IPv4 address and no gateway was given; add an address to the bridge or give a gateway"
            )))
        }
    };
    let special = address.prefix() <= 30 && (gw == address.network() || gw == address.broadcast());
    if !address.contains(gw) || gw == ip || special {
        return Err(Error::InvalidConfig(format!(
            "gateway {gw} is not another host address of the subnet of {address}"
        )));
    }
    Ok(gw)
}

/// A name for the host end of a veth, unique among this process's sandboxes and
/// across processes (it holds the pid): `ctm<pid>x<counter>`, in base 36, at most
/// 15 bytes.
fn host_name() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    // Six base-36 digits at most, so the whole name fits in 15 bytes.
    let n = SEQ.fetch_add(1, Ordering::Relaxed) % 36u32.pow(6);
    format!("ctm{}x{}", base36(std::process::id()), base36(n))
}

fn base36(mut n: u32) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn validate_ifname(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 15 || name.bytes().any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace()) {
        return Err(Error::invalid(
            ValueKind::Argument,
            name,
            "not a valid interface name",
            "1 to 15 characters without '/', ':' or spaces, such as br0",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn gateway_is_the_bridges_address_in_the_subnet() {
        let gw = choose_gateway("br0", net("10.77.0.17/24"), None, &[net("10.77.0.1/24")]).unwrap();
        assert_eq!(gw, Ipv4Addr::new(10, 77, 0, 1));
        let gw =
            choose_gateway("br0", net("10.77.0.17/24"), Some(Ipv4Addr::new(10, 77, 0, 254)), &[net("10.77.0.1/24")]);
        assert_eq!(gw.unwrap(), Ipv4Addr::new(10, 77, 0, 254));
    }

    #[test]
    fn bad_addresses_and_gateways_are_named() {
        let cases: Vec<(Ipv4Net, Option<Ipv4Addr>, Vec<Ipv4Net>, &str)> = vec![
            (net("10.78.0.5/24"), None, vec![net("10.77.0.1/24")], "outside the subnet of bridge br0 (10.77.0.0/24)"),
            (net("10.77.0.1/24"), None, vec![net("10.77.0.1/24")], "the bridge br0's own address"),
            (net("10.77.0.5/24"), None, vec![], "has no IPv4 address and no gateway"),
            (net("10.77.0.5/24"), Some(Ipv4Addr::new(10, 9, 0, 1)), vec![], "gateway 10.9.0.1 is not"),
            (net("10.77.0.5/24"), Some(Ipv4Addr::new(10, 77, 0, 5)), vec![], "gateway 10.77.0.5 is not"),
            (net("10.77.0.5/24"), Some(Ipv4Addr::new(10, 77, 0, 0)), vec![], "gateway 10.77.0.0 is not"),
            (net("10.77.0.5/24"), Some(Ipv4Addr::new(10, 77, 0, 255)), vec![], "gateway 10.77.0.255 is not"),
        ];
        for (addr, gw, bridge, needle) in cases {
            match choose_gateway("br0", addr, gw, &bridge) {
                Err(Error::InvalidConfig(m)) => assert!(m.contains(needle), "{m}"),
                other => panic!("{addr}: {other:?}"),
            }
        }
        let gw = choose_gateway("br0", net("10.77.0.5/24"), Some(Ipv4Addr::new(10, 77, 0, 1)), &[]).unwrap();
        assert_eq!(gw, Ipv4Addr::new(10, 77, 0, 1));
    }

    #[test]
    fn host_names_fit_ifnamsiz_and_differ() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        let longest = format!("ctm{}x{}", base36(4_194_304), base36(36u32.pow(6) - 1));
        assert!(longest.len() <= 15, "{longest}");
        assert_ne!(host_name(), host_name());
    }

    #[test]
    fn interface_names_are_checked() {
        for bad in ["", "a/b", "this-is-too-long-x", "a b", "a:b"] {
            assert!(validate_ifname(bad).is_err(), "{bad}");
        }
        validate_ifname("br0").unwrap();
    }
}
