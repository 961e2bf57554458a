//! An rtnetlink socket that sends requests and collects their replies.

use std::os::fd::OwnedFd;

use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use nix::errno::Errno;

use super::message::{parse_replies, Reply};
use crate::error::{Error, Result};

/// One request: its sequence number, its bytes, and whether it is a dump (ended by
/// `NLMSG_DONE`) or a request acknowledged by an `NLMSG_ERROR`.
pub(crate) struct Request {
    pub seq: u32,
    pub bytes: Vec<u8>,
    pub dump: bool,
}

/// A `NETLINK_ROUTE` socket, in the network namespace it was created in.
pub(crate) struct Rtnl {
    socket: Socket,
    seq: u32,
}

impl Rtnl {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> Result<Rtnl> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| io("socket(AF_NETLINK)", e))?;
        socket.bind_auto().map_err(|e| io("bind(AF_NETLINK)", e))?;
        Ok(Rtnl { socket, seq: 1 })
    }

    /// Wraps a netlink socket made elsewhere (inside a sandbox).
    pub fn from_fd(fd: OwnedFd) -> Rtnl {
        Rtnl { socket: crate::sys::netlink_socket(fd), seq: 1 }
    }

    /// The socket's descriptor.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.socket.as_raw_fd()
    }

    /// The next sequence number.
    pub fn seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends the requests in one write and reads until each has its answer.
    /// Returns every reply; the first negative acknowledgement is an error
    /// `Error::Os { op: what, errno }`.
    pub fn transact(&mut self, requests: &[Request], what: &'static str) -> Result<Vec<Reply>> {
        let all: Vec<u8> = requests.iter().flat_map(|r| r.bytes.iter().copied()).collect();
        self.socket.send(&all, 0).map_err(|e| io(what, e))?;
        let mut pending: Vec<&Request> = requests.iter().collect();
        let mut replies = Vec::new();
        let mut failure = None;
        while !pending.is_empty() {
            let (buf, _) = self.socket.recv_from_full().map_err(|e| io(what, e))?;
            for reply in parse_replies(&buf) {
                match reply {
                    Reply::Ack { seq, code } => {
                        pending.retain(|r| !(r.seq == seq && (!r.dump || code != 0)));
                        if code != 0 && failure.is_none() {
                            failure = Some(Errno::from_raw(-code));
                        }
                    }
                    Reply::Done { seq } => pending.retain(|r| r.seq != seq),
                    other => replies.push(other),
                }
            }
        }
        match failure {
            Some(errno) => Err(Error::os(what, errno)),
            None => Ok(replies),
        }
    }
}

fn io(op: &'static str, e: std::io::Error) -> Error {
    Error::os(op, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}
