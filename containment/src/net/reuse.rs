//! Network namespaces kept for the next bridged sandbox (see [`BridgeNet::reuse`]).
//!
//! Making a veth costs about 0.6 ms in the kernel, and destroying one (with its
//! namespace, on the kernel's `netns` worker) about 16 ms, during which it holds
//! the lock the next veth's creation needs. A kept namespace costs neither: the
//! next sandbox's init starts in it (the supervisor's thread enters it around the
//! clone, see [`Entered`]) and only its address and route are set.
//!
//! A kept namespace is made by a thread of its own with `unshare`, so it belongs
//! to the host's user namespace: nothing in a sandbox can change it (its program
//! keeps no capability, see [`Prepared::reuse`](super::Prepared)), so the next
//! sandbox finds it as it was made.
//!
//! [`BridgeNet::reuse`]: super::BridgeNet::reuse

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use nix::errno::Errno;

use super::message::{self, PeerNs};
use super::socket::{Request, Rtnl};
use super::{configure, create_veth, Assigned, Prepared};
use crate::error::{Error, Result};
use crate::sys;

/// How many namespaces a process keeps at most; with as many kept, the oldest is
/// dropped for one given back.
pub const MAX_KEPT_NAMESPACES: usize = 16;

/// Which sandboxes a kept namespace suits: those on the same bridge, seen from the
/// same network namespace, with the same MTU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    netns: u64,
    bridge: u32,
    mtu: u32,
}

/// A network namespace of the host's user namespace with `eth0` on a bridge,
/// held by this process.
pub(crate) struct Kept {
    key: Key,
    bridge_name: String,
    ns: OwnedFd,
    /// A netlink socket in it, and the address `eth0` holds (removed before the
    /// namespace is kept, or when it is dropped).
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
        let key = Key { netns: p.netns, bridge: p.bridge, mtu: p.mtu };
        // The address is noted before it is set: a namespace dropped after a
        // partial failure loses it too.
        if let Some(mut k) = pop(key, &p.bridge_name) {
            k.assigned.address = Some(p.address);
            // Failing, it is dropped: its veth was deleted from the host, say.
            if configure(&mut k.assigned.inside, p.address, p.gateway, false).is_ok() {
                return Ok(k);
            }
        }
        let mut k = make(p, key)?;
        k.assigned.address = Some(p.address);
        configure(&mut k.assigned.inside, p.address, p.gateway, true)?;
        Ok(k)
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

    /// Keeps the namespace for a next sandbox, once its address is removed (drops it
    /// when that fails, or when a TCP socket of the sandbox is left in it).
    /// (Dropped, it loses its address too, see [`Assigned`].) With [`MAX_KEPT_NAMESPACES`] kept, the oldest is dropped:
    /// one whose bridge or veth is gone is never taken again. The sandbox must have
    /// ended: no process is left in it.
    pub(crate) fn give_back(mut self) {
        if self.assigned.remove().is_err() || !matches!(self.sockets_left(), Ok(false)) {
            return;
        }
        let mut pool = lock();
        if pool.kept.len() >= MAX_KEPT_NAMESPACES {
            drop(pool.kept.remove(0));
        }
        pool.kept.push(self);
    }
}

impl Kept {
    /// Whether an IP socket of the sandbox outlived it: a TCP connection closing or
    /// in `TIME_WAIT` (the next sandbox could not bind its port, and would see it
    /// in `/proc/net/tcp`), or a socket held from outside (passed out with
    /// `SCM_RIGHTS`, say), which could receive the next sandbox's traffic. Read
    /// from the namespace's own counters of sockets in use, which drop when a
    /// socket is closed (its count of all sockets drops only once the kernel freed
    /// them, later). (A `NETLINK_SOCK_DIAG` dump walks the sockets of every
    /// namespace: 0.4 ms here.)
    fn sockets_left(&self) -> Result<bool> {
        let mut buf = [0u8; 1024];
        for file in std::iter::once(&self.sockstat).chain(&self.sockstat6) {
            let n = file.read_at(&mut buf, 0).map_err(|e| io_error("read /proc/net/sockstat", &e))?;
            if ip_sockets_in(&buf[..n]) != Some(0) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Drops the network namespaces this process keeps for reuse (see
/// [`BridgeNet::reuse`](super::BridgeNet::reuse)) and returns how many there were.
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

/// A kept namespace for `key`. Those kept for an earlier bridge of the same name
/// (deleted and made again: another index) are dropped, with their veths.
fn pop(key: Key, bridge_name: &str) -> Option<Kept> {
    let mut pool = lock();
    pool.kept.retain(|k| k.key.netns != key.netns || k.bridge_name != bridge_name || k.key.bridge == key.bridge);
    let i = pool.kept.iter().rposition(|k| k.key == key)?;
    Some(pool.kept.swap_remove(i))
}

/// A new namespace with `lo` up and a veth whose peer is its `eth0`, up.
fn make(p: &mut Prepared, key: Key) -> Result<Kept> {
    // A thread of its own makes it, so the caller's thread stays where it is.
    let inside = std::thread::scope(|s| s.spawn(new_namespace).join())
        .unwrap_or_else(|_| Err(Error::os("make a network namespace", Errno::EIO)))?;
    create_veth(p, PeerNs::Fd(inside.ns.as_raw_fd()))?;
    Ok(Kept {
        key,
        bridge_name: p.bridge_name.clone(),
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
    let sockstat6 = File::open("/proc/thread-self/net/sockstat6").ok();
    Ok(Inside { ns: ns.into(), rtnl, sockstat, sockstat6 })
}

/// The IP sockets in use (`inuse` of the TCP, UDP, UDP-Lite and raw lines) plus
/// the TCP connections in `TIME_WAIT` (`tw`) in a `/proc/net/sockstat` or
/// `sockstat6` text; `None` when it has no TCP line or a count does not parse.
fn ip_sockets_in(text: &[u8]) -> Option<u64> {
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
        total += count("inuse")?;
        if *kind == "TCP:" || *kind == "TCP6:" {
            tcp = true;
        }
        if *kind == "TCP:" {
            total += count("tw")?;
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
    use super::ip_sockets_in;

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
