//! Network namespaces kept for the next sandbox (see [`BridgeNet::reuse`] and
//! [`Net::NoneReused`]).
//!
//! Making a veth costs about 0.6 ms in the kernel, and destroying one (with its
//! namespace, on the kernel's `netns` worker) about 16 ms, during which it holds
//! the lock the next veth's creation needs. A namespace with only `lo` costs about
//! 1 ms of CPU to make and destroy (`benches/RESULTS.md`, run J). A kept
//! namespace costs neither: the next sandbox's init starts in it (the supervisor's
//! thread enters it around the clone, see [`Entered`]); one on a bridge only gets
//! its address and route.
//!
//! A kept namespace is made by a thread of its own with `unshare`, so it belongs
//! to the host's user namespace: no sandbox can configure it (and only programs
//! that keep no capability run in one), so the next sandbox finds it as it was
//! made. It is taken again only when no socket of an earlier sandbox is left in it
//! and, on a bridge, its veth is still on the bridge.
//!
//! [`BridgeNet::reuse`]: super::BridgeNet::reuse
//! [`Net::NoneReused`]: super::Net::NoneReused

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use nix::errno::Errno;

use super::message::{self, PeerNs};
use super::socket::{Request, Rtnl};
use super::{configure, create_veth, get_link, Assigned, Prepared};
use crate::error::{Error, Result};
use crate::sys;

/// How many namespaces a process keeps at most; with as many kept, the oldest is
/// dropped for one given back.
pub const MAX_KEPT_NAMESPACES: usize = 16;

/// Which sandboxes a kept namespace suits: those with only `lo`, or those on the
/// same bridge, seen from the same network namespace, with the same MTU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Loopback,
    Bridge { netns: u64, bridge: u32, mtu: u32 },
}

/// A kept namespace's veth: its host end is a port of the bridge.
struct Veth {
    bridge_name: String,
    /// The host end's name.
    host: String,
}

/// A network namespace of the host's user namespace with `lo` up and, for a
/// bridge, `eth0` on it, held by this process.
pub(crate) struct Kept {
    key: Key,
    veth: Option<Veth>,
    ns: OwnedFd,
    /// A netlink socket in it, and the address `eth0` holds (removed before the
    /// namespace is kept, or when it is dropped; none with only `lo`).
    assigned: Assigned,
    /// Its `/proc/net/sockstat` and, with IPv6, `sockstat6`: opened from inside,
    /// they show its counters whoever reads them.
    sockstat: File,
    sockstat6: Option<File>,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept").field("key", &self.key).field("ns", &self.ns).field("assigned", &self.assigned).finish()
    }
}

/// The kept namespaces, and the process they belong to: a process made by `fork`
/// inherits them but must not use them (its parent may be using one), so it
/// forgets them at its first use of the pool.
static KEPT: Mutex<Pool> = Mutex::new(Pool { owner: 0, kept: Vec::new() });

struct Pool {
    owner: u32,
    kept: Vec<Kept>,
}

impl Kept {
    /// A namespace for the sandbox `p` was prepared for, with its address and
    /// route: a kept one, else a new one.
    ///
    /// # Errors
    /// [`Error::Os`] when making the namespace or the veth, or configuring it, fails.
    pub(crate) fn take(p: &mut Prepared) -> Result<Kept> {
        let key = Key::Bridge { netns: p.netns, bridge: p.bridge, mtu: p.mtu };
        if let Some(mut k) = pop(key, Some(&p.bridge_name)) {
            // Else it is dropped: a socket is left in it, its veth was deleted or
            // taken off the bridge.
            if k.settled() && k.on_the_bridge(p) {
                // Noted before it is set: dropped after a partial failure, the
                // namespace loses it too.
                k.assigned.address = Some(p.address);
                if configure(&mut k.assigned.inside, p.address, p.gateway, false).is_ok() {
                    return Ok(k);
                }
            }
        }
        let mut k = make(key)?;
        k.veth = Some(Veth { bridge_name: p.bridge_name.clone(), host: create_veth(p, PeerNs::Fd(k.ns.as_raw_fd()))? });
        k.assigned.address = Some(p.address);
        configure(&mut k.assigned.inside, p.address, p.gateway, true)?;
        Ok(k)
    }

    /// A namespace with only `lo`, up: a kept one, else a new one.
    ///
    /// # Errors
    /// [`Error::Os`] when making the namespace fails.
    pub(crate) fn take_loopback() -> Result<Kept> {
        match pop(Key::Loopback, None) {
            // Else it is dropped: a socket is left in it.
            Some(k) if k.settled() => Ok(k),
            _ => make(Key::Loopback),
        }
    }

    /// The namespace.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.ns.as_fd()
    }

    /// Leaves the address in place when this goes (a copy of the handle made by
    /// `fork`: the sandbox is the original process's).
    pub(crate) fn keep_address(&mut self) {
        self.assigned.keep();
    }

    /// Keeps the namespace for a next sandbox, once its address is removed; drops
    /// it when that fails or when an IP socket of the sandbox is left in it. With
    /// [`MAX_KEPT_NAMESPACES`] kept, the oldest is dropped (one whose bridge or
    /// veth is gone is never taken again). The sandbox must have ended: no process
    /// is left in it.
    pub(crate) fn give_back(mut self) {
        if self.assigned.remove().is_err() || !matches!(self.ip_sockets_left(), Ok(false)) {
            return;
        }
        let mut pool = lock();
        if pool.kept.len() >= MAX_KEPT_NAMESPACES {
            let loopback: Vec<bool> = pool.kept.iter().map(|k| k.key == Key::Loopback).collect();
            drop(pool.kept.remove(oldest_to_drop(&loopback, self.key == Key::Loopback)));
        }
        pool.kept.push(self);
    }
}

/// Which of a full pool's namespaces (oldest first; whether each has only `lo`) to
/// drop for one given back: the oldest of the same kind, else the oldest. So many
/// sandboxes at once with only `lo` do not push out the bridged namespaces kept,
/// whose veths cost much more to make again, nor the other way round.
fn oldest_to_drop(loopback: &[bool], giving_loopback: bool) -> usize {
    loopback.iter().position(|l| *l == giving_loopback).unwrap_or(0)
}

impl Kept {
    /// Whether an IP socket of the sandbox outlived it: a TCP connection closing or
    /// in `TIME_WAIT` (the next sandbox could not bind its port, and would see it
    /// in `/proc/net/tcp`), or a bound or connected socket held from outside
    /// (passed out with `SCM_RIGHTS`, say), which could receive the next
    /// sandbox's traffic. Read from the namespace's own counters of hashed
    /// sockets, which drop when a socket is closed. (A `NETLINK_SOCK_DIAG` dump
    /// walks the sockets of every namespace: 0.4 ms here.)
    fn ip_sockets_left(&self) -> Result<bool> {
        for file in std::iter::once(&self.sockstat).chain(&self.sockstat6) {
            if ip_sockets_in(&read_sockstat(file)?) != Some(0) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the namespace holds no socket but this supervisor's (any family,
    /// bound or not: a socket passed out unbound could be bound later). A closed
    /// netlink socket (the sandbox's `ip`, say) is counted until the kernel frees
    /// it, after a grace period: so this is asked when the namespace is taken, not
    /// when it is given back.
    fn settled(&self) -> bool {
        read_sockstat(&self.sockstat).is_ok_and(|t| sockets_used(&t) == Some(OUR_SOCKETS))
    }

    /// Whether its veth's host end is still a port of the bridge `p` is for (it
    /// may have been deleted, or its bridge deleted and made again).
    fn on_the_bridge(&self, p: &mut Prepared) -> bool {
        let Some(veth) = &self.veth else { return false };
        matches!(get_link(&mut p.rtnl, &veth.host), Ok(Some(l)) if l.controller == Some(p.bridge))
    }
}

/// Drops the network namespaces this process keeps for reuse (see
/// [`BridgeNet::reuse`](super::BridgeNet::reuse) and
/// [`Net::NoneReused`](super::Net::NoneReused)) and returns how many there were.
/// The kernel destroys them, and their veths, in the background.
pub fn release_kept_namespaces() -> usize {
    let all = std::mem::take(&mut lock().kept);
    all.len()
}

/// The pool of this process (see [`KEPT`]).
fn lock() -> MutexGuard<'static, Pool> {
    let mut pool = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    let me = std::process::id();
    if pool.owner != me {
        // Their addresses were removed before they were kept: dropping closes
        // this process's copies of the descriptors, nothing else.
        pool.kept.clear();
        pool.owner = me;
    }
    pool
}

/// A kept namespace for `key`, on the bridge named `bridge_name` for a bridge.
/// Those kept for an earlier bridge of that name, or of that index, are dropped,
/// with their veths.
fn pop(key: Key, bridge_name: Option<&str>) -> Option<Kept> {
    let mut pool = lock();
    if let (Key::Bridge { netns, bridge, .. }, Some(name)) = (key, bridge_name) {
        // Same namespace, and the name or the index but not both: a bridge gone.
        pool.kept.retain(|k| match (k.key, &k.veth) {
            (Key::Bridge { netns: n, bridge: b, .. }, Some(v)) => {
                n != netns || (v.bridge_name == name) == (b == bridge)
            }
            _ => true,
        });
    }
    let same_bridge = |k: &Kept| k.veth.as_ref().map(|v| v.bridge_name.as_str()) == bridge_name;
    let i = pool.kept.iter().rposition(|k| k.key == key && same_bridge(k))?;
    // `remove`, not `swap_remove`: the pool stays oldest first.
    Some(pool.kept.remove(i))
}

/// A new namespace with `lo` up (a veth is added for a bridge).
fn make(key: Key) -> Result<Kept> {
    // A thread of its own makes it, so the caller's thread stays where it is.
    let inside = std::thread::scope(|s| s.spawn(new_namespace).join())
        .unwrap_or_else(|_| Err(Error::os("make a network namespace", Errno::EIO)))?;
    Ok(Kept {
        key,
        veth: None,
        ns: inside.ns,
        assigned: Assigned { inside: inside.rtnl, address: None },
        sockstat: inside.sockstat,
        sockstat6: inside.sockstat6,
    })
}

/// What the thread that makes a namespace brings back from inside it.
struct Inside {
    ns: OwnedFd,
    rtnl: Rtnl,
    sockstat: File,
    sockstat6: Option<File>,
}

fn new_namespace() -> Result<Inside> {
    sys::unshare(libc::CLONE_NEWNET).map_err(|e| Error::os("unshare(CLONE_NEWNET)", e))?;
    let open = |path: &'static str| File::open(path).map_err(|e| io_error(path, &e));
    let ns = open("/proc/thread-self/ns/net")?;
    let mut rtnl = Rtnl::open()?;
    let seq = rtnl.seq();
    rtnl.transact(&[Request { seq, bytes: message::link_up(1, seq), dump: false }], "bring lo up")?;
    let sockstat = open("/proc/thread-self/net/sockstat")?;
    // Without IPv6 there is no such file, and no IPv6 socket.
    let sockstat6 = match File::open("/proc/thread-self/net/sockstat6") {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_error("/proc/thread-self/net/sockstat6", &e)),
    };
    Ok(Inside { ns: ns.into(), rtnl, sockstat, sockstat6 })
}

/// The sockets of a kept namespace between sandboxes: the supervisor's netlink
/// socket.
const OUR_SOCKETS: u64 = 1;

fn read_sockstat(file: &File) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 1024];
    let n = file.read_at(&mut buf, 0).map_err(|e| io_error("read /proc/net/sockstat", &e))?;
    buf.truncate(n);
    Ok(buf)
}

/// `sockets: used` of a `/proc/net/sockstat` text: every socket of the namespace.
pub(crate) fn sockets_used(text: &[u8]) -> Option<u64> {
    let line = std::str::from_utf8(text).ok()?.lines().find(|l| l.starts_with("sockets: used "))?;
    line.strip_prefix("sockets: used ")?.trim().parse().ok()
}

/// The IP sockets in use (`inuse` of the TCP, UDP, UDP-Lite and raw lines) plus
/// the TCP connections in `TIME_WAIT` (`tw`) in a `/proc/net/sockstat` or
/// `sockstat6` text; `None` when it has no TCP line or a count does not parse.
pub(crate) fn ip_sockets_in(text: &[u8]) -> Option<u64> {
    const COUNTED: [&str; 8] = ["TCP:", "UDP:", "UDPLITE:", "RAW:", "TCP6:", "UDP6:", "UDPLITE6:", "RAW6:"];
    let text = std::str::from_utf8(text).ok()?;
    let (mut total, mut tcp) = (0u64, false);
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(kind) = words.first().filter(|w| COUNTED.contains(w)) else { continue };
        let count = |key: &str| -> Option<u64> {
            let i = words.iter().position(|w| *w == key)?;
            words.get(i + 1)?.parse().ok()
        };
        // Counts that overflow are no kernel's: `None`, and nothing is kept.
        total = total.checked_add(count("inuse")?)?;
        if *kind == "TCP:" || *kind == "TCP6:" {
            tcp = true;
        }
        if *kind == "TCP:" {
            total = total.checked_add(count("tw")?)?;
        }
    }
    tcp.then_some(total)
}

fn io_error(what: &'static str, e: &std::io::Error) -> Error {
    Error::os(what, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// The calling thread inside a kept namespace, until [`Entered::leave`] (or drop)
/// takes it back to its own.
pub(crate) struct Entered {
    own: Option<OwnedFd>,
}

impl Entered {
    /// Moves the calling thread into `k`'s namespace.
    ///
    /// # Errors
    /// [`Error::Os`] when `setns` fails; the thread is then where it was.
    pub(crate) fn enter(k: &Kept) -> Result<Entered> {
        let own: OwnedFd =
            File::open("/proc/thread-self/ns/net").map_err(|e| io_error("open /proc/thread-self/ns/net", &e))?.into();
        sys::setns(k.fd().as_raw_fd(), libc::CLONE_NEWNET).map_err(|e| Error::os("setns(CLONE_NEWNET)", e))?;
        Ok(Entered { own: Some(own) })
    }

    /// Takes the thread back to its own namespace.
    ///
    /// # Errors
    /// [`Error::Os`] when `setns` fails.
    pub(crate) fn leave(mut self) -> Result<()> {
        self.back()
    }

    /// Keeps the descriptor until it worked: dropping tries again.
    fn back(&mut self) -> Result<()> {
        if let Some(own) = &self.own {
            sys::setns(own.as_raw_fd(), libc::CLONE_NEWNET).map_err(|e| Error::os("setns(CLONE_NEWNET)", e))?;
            self.own = None;
        }
        Ok(())
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = self.back();
    }
}

#[cfg(test)]
mod tests {
    use super::{ip_sockets_in, oldest_to_drop, sockets_used};

    #[test]
    fn a_full_pool_drops_the_oldest_of_the_kind_given_back() {
        // Oldest first: bridged, loopback, bridged, loopback.
        let pool = [false, true, false, true];
        assert_eq!(oldest_to_drop(&pool, true), 1, "a loopback one for a loopback one");
        assert_eq!(oldest_to_drop(&pool, false), 0, "a bridged one for a bridged one");
        assert_eq!(oldest_to_drop(&[false, false], true), 0, "none of its kind: the oldest");
        assert_eq!(oldest_to_drop(&[true, true], false), 0);
    }

    #[test]
    fn every_socket_is_counted() {
        assert_eq!(sockets_used(b"sockets: used 3\nTCP: inuse 0 orphan 0 tw 0 alloc 1 mem 0\n"), Some(3));
        assert_eq!(sockets_used(b"sockets: used 1\n"), Some(1));
        for bad in [&b""[..], b"sockets: used\n", b"sockets: used x\n", b"TCP: inuse 0\n", b"\xff"] {
            assert_eq!(sockets_used(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ip_sockets_are_counted_with_the_connections_in_time_wait() {
        let v4 = b"sockets: used 10\nTCP: inuse 1 orphan 0 tw 2 alloc 1 mem 29\nUDP: inuse 3 mem 0\n\
                   UDPLITE: inuse 0\nRAW: inuse 4\nFRAG: inuse 5 memory 0\n";
        assert_eq!(ip_sockets_in(v4), Some(10), "not FRAG, not the sockets used (netlink, unix)");
        let idle = b"sockets: used 1\nTCP: inuse 0 orphan 0 tw 0 alloc 9 mem 0\nUDP: inuse 0 mem 0\n";
        assert_eq!(ip_sockets_in(idle), Some(0));
        assert_eq!(ip_sockets_in(b"TCP6: inuse 0\nUDP6: inuse 2\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n"), Some(2));
        // Unreadable: counted as sockets left, so the namespace is not kept.
        for bad in [&b""[..], b"UDP: inuse 0 mem 0\n", b"TCP: inuse x tw 0\n", b"TCP: inuse 0 tw\n", b"\xff\xfe"] {
            assert_eq!(ip_sockets_in(bad), None, "{bad:?}");
        }
    }
}
