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

/// How many namespaces a process keeps at most; one more given back is dropped.
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

static KEPT: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

impl Kept {
    /// A namespace for the sandbox `p` was prepared for, with its address and
    /// route: a kept one, else a new one.
    ///
    /// # Errors
    /// [`Error::Os`] when making the namespace or the veth, or configuring it, fails.
    pub(crate) fn take(p: &mut Prepared) -> Result<Kept> {
        let key = Key { netns: p.netns, bridge: p.bridge, mtu: p.mtu };
        if let Some(mut k) = pop(key) {
            // Failing, it is dropped: its veth was deleted from the host, say.
            if configure(&mut k.assigned.inside, p.address, p.gateway, false).is_ok() {
                k.assigned.address = Some(p.address);
                return Ok(k);
            }
        }
        let mut k = make(p, key)?;
        configure(&mut k.assigned.inside, p.address, p.gateway, true)?;
        k.assigned.address = Some(p.address);
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
        if self.assigned.remove().is_err() || !matches!(self.tcp_left(), Ok(false)) {
            return;
        }
        let mut kept = lock();
        if kept.len() >= MAX_KEPT_NAMESPACES {
            drop(kept.remove(0));
        }
        kept.push(self);
    }
}

impl Kept {
    /// Whether a TCP socket of the sandbox outlived it (in `TIME_WAIT`, say): the
    /// next sandbox could not bind its port and would see it in `/proc/net/tcp`.
    /// (The namespace's own counters; a `NETLINK_SOCK_DIAG` dump walks the hash
    /// tables of every namespace: 0.4 ms here.)
    fn tcp_left(&self) -> Result<bool> {
        let mut buf = [0u8; 1024];
        for file in std::iter::once(&self.sockstat).chain(&self.sockstat6) {
            let n = file.read_at(&mut buf, 0).map_err(|e| io_error("read /proc/net/sockstat", &e))?;
            match tcp_in_use(&buf[..n]) {
                Some(0) => {}
                _ => return Ok(true),
            }
        }
        Ok(false)
    }
}

/// Drops the network namespaces this process keeps for reuse (see
/// [`BridgeNet::reuse`](super::BridgeNet::reuse)) and returns how many there were.
/// The kernel destroys them, and their veths, in the background.
pub fn release_kept_namespaces() -> usize {
    let all = std::mem::take(&mut *lock());
    all.len()
}

fn lock() -> MutexGuard<'static, Vec<Kept>> {
    KEPT.lock().unwrap_or_else(PoisonError::into_inner)
}

fn pop(key: Key) -> Option<Kept> {
    let mut kept = lock();
    let i = kept.iter().rposition(|k| k.key == key)?;
    Some(kept.swap_remove(i))
}

/// A new namespace with `lo` up and a veth whose peer is its `eth0`, up.
fn make(p: &mut Prepared, key: Key) -> Result<Kept> {
    // A thread of its own makes it, so the caller's thread stays where it is.
    let inside = std::thread::scope(|s| s.spawn(new_namespace).join())
        .unwrap_or_else(|_| Err(Error::os("make a network namespace", Errno::EIO)))?;
    create_veth(p, PeerNs::Fd(inside.ns.as_raw_fd()))?;
    Ok(Kept {
        key,
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
    // Without IPv6 there is no such file, and no TCP over IPv6.
    let sockstat6 = File::open("/proc/thread-self/net/sockstat6").ok();
    Ok(Inside { ns: ns.into(), rtnl, sockstat, sockstat6 })
}

/// The TCP sockets (`inuse`) plus those in `TIME_WAIT` (`tw`) in a
/// `/proc/net/sockstat` or `sockstat6` text (lines `TCP: inuse 0 orphan 0 tw 0 ...`
/// and `TCP6: inuse 0`); `None` when it has no TCP line or a count does not parse.
fn tcp_in_use(text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?;
    let line = text.lines().find(|l| l.starts_with("TCP: ") || l.starts_with("TCP6: "))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let count = |key: &str| -> Option<Option<u64>> {
        let i = words.iter().position(|w| *w == key)?;
        Some(words.get(i + 1).and_then(|n| n.parse().ok()))
    };
    let inuse = count("inuse")??;
    let tw = match count("tw") {
        Some(n) => n?,
        None => 0,
    };
    Some(inuse + tw)
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

    fn back(&mut self) -> Result<()> {
        match self.own.take() {
            Some(own) => {
                sys::setns(own.as_raw_fd(), libc::CLONE_NEWNET).map_err(|e| Error::os("setns(CLONE_NEWNET)", e))
            }
            None => Ok(()),
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = self.back();
    }
}

#[cfg(test)]
mod tests {
    use super::tcp_in_use;

    #[test]
    fn tcp_sockets_are_counted_with_those_in_time_wait() {
        let v4 = b"sockets: used 10\nTCP: inuse 1 orphan 0 tw 2 alloc 1 mem 29\nUDP: inuse 0 mem 0\n";
        assert_eq!(tcp_in_use(v4), Some(3));
        assert_eq!(tcp_in_use(b"sockets: used 3\nTCP: inuse 0 orphan 0 tw 0 alloc 9 mem 0\n"), Some(0));
        assert_eq!(tcp_in_use(b"TCP6: inuse 4\nUDP6: inuse 0\n"), Some(4));
        assert_eq!(tcp_in_use(b"TCP6: inuse 0\n"), Some(0));
        // Unreadable: counted as sockets left, so the namespace is not kept.
        for bad in [&b""[..], b"UDP: inuse 0\n", b"TCP: inuse x tw 0\n", b"TCP: inuse 0 tw\n", b"\xff\xfe"] {
            assert_eq!(tcp_in_use(bad), None, "{bad:?}");
        }
    }
}
