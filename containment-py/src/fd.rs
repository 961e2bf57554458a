//! The few system calls the bindings make themselves, on descriptors. The only
//! `unsafe` of the crate is here.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// `fcntl(fd, F_DUPFD_CLOEXEC, 3)`: a close-on-exec duplicate of a descriptor
/// number given by Python (`EBADF` when it is not open).
pub(crate) fn dup_raw(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: `fcntl` with `F_DUPFD_CLOEXEC` only reads its integer arguments; an
    // invalid descriptor is reported as `EBADF`.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a descriptor the kernel just created for this call; nothing
    // else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// `pipe2(O_CLOEXEC)`: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: `fds` is a writable array of two ints, as `pipe2` wants.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created by `pipe2` and are owned by no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// What `poll` reported for one descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ready {
    /// Readable, or at end of file, or in error (a read will not block).
    pub read: bool,
    /// Writable, or the reader is gone (a write will not block).
    pub write: bool,
}

/// `poll` on `fds` (descriptor, want read, want write) for at most `timeout`;
/// an interrupted call counts as nothing ready.
pub(crate) fn poll(fds: &[(BorrowedFd<'_>, bool, bool)], timeout: Duration) -> io::Result<Vec<Ready>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, r, w)| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: if *r { libc::POLLIN } else { 0 } | if *w { libc::POLLOUT } else { 0 },
            revents: 0,
        })
        .collect();
    // Round up so that a sub-millisecond wait does not spin.
    let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `pfds` is a valid array of `pfds.len()` pollfd structures that lives
    // across the call.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
        pfds.iter_mut().for_each(|p| p.revents = 0);
    }
    let gone = libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
    Ok(pfds
        .iter()
        .zip(fds)
        .map(|(p, (_, r, w))| Ready {
            read: *r && p.revents & (libc::POLLIN | gone) != 0,
            write: *w && p.revents & (libc::POLLOUT | gone) != 0,
        })
        .collect())
}

/// `pidfd_open(pid, 0)`: a close-on-exec pidfd of `pid` (readable once it exits).
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: `pidfd_open` takes a pid and a flags word and returns a new
    // descriptor or -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a descriptor the kernel just created for this call; nothing
    // else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `waitid(P_PIDFD, pidfd, WEXITED | WNOHANG | __WALL)` (`__WALL`: the init has
/// no exit signal): reaps the process if it has
/// ended; whether it did.
pub(crate) fn reap_nohang(pidfd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: `siginfo_t` is plain data; all zeroes is a valid value (and what
    // tells "nothing reaped" apart after WNOHANG).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a writable `siginfo_t` that lives across the call; the
    // other arguments are integers.
    let r = unsafe {
        libc::waitid(
            libc::P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::__WALL,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: after a successful `waitid`, the pid field is set (0 when nothing
    // was reaped).
    Ok(unsafe { info.si_pid() } != 0)
}
