//! The program's standard descriptors: what the child gets and what the supervisor
//! keeps.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::fcntl::OFlag;

use crate::command::{Command, Defaults, Stdio};
use crate::error::{Error, Result};
use crate::process::{ChildStderr, ChildStdin, ChildStdout};

/// Descriptors for one spawn: the child's sources for 0-2 (`None` = inherit) and
/// the supervisor's ends of the pipes.
pub(crate) struct StdioFds {
    child: [Option<OwnedFd>; 3],
    pub stdin: Option<ChildStdin>,
    pub stdout: Option<ChildStdout>,
    pub stderr: Option<ChildStderr>,
}

impl StdioFds {
    /// Opens what `cmd` asks for, with the defaults of `defaults` for what it leaves
    /// unset. Every descriptor is close-on-exec.
    pub fn new<'a>(cmd: &'a Command, defaults: Defaults) -> Result<StdioFds> {
        let cfg = |set: &'a Option<Stdio>, i: usize| -> Kind<'a> {
            match set {
                Some(Stdio::Inherit) => Kind::Inherit,
                Some(Stdio::Null) => Kind::Null,
                Some(Stdio::Piped) => Kind::Piped,
                Some(Stdio::Fd(fd)) => Kind::Fd(fd),
                None => match (defaults, i) {
                    (Defaults::Spawn, _) => Kind::Inherit,
                    (Defaults::Output, 0) => Kind::Null,
                    (Defaults::Output, _) => Kind::Piped,
                },
            }
        };
        let mut fds = StdioFds { child: [None, None, None], stdin: None, stdout: None, stderr: None };
        for (i, set) in [&cmd.stdin, &cmd.stdout, &cmd.stderr].into_iter().enumerate() {
            fds.child[i] = match cfg(set, i) {
                Kind::Inherit => None,
                Kind::Null => {
                    let flags = if i == 0 { OFlag::O_RDONLY } else { OFlag::O_WRONLY };
                    let null = nix::fcntl::open("/dev/null", flags | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
                        .map_err(|e| Error::os_path("open", "/dev/null", e))?;
                    Some(null)
                }
                Kind::Fd(fd) => {
                    // A duplicate (close-on-exec, above 2), so the command can be spawned again.
                    let dup = fd.try_clone().map_err(|e| {
                        Error::os("dup", nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EBADF)))
                    })?;
                    Some(dup)
                }
                Kind::Piped => {
                    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe2", e))?;
                    match i {
                        0 => {
                            fds.stdin = Some(ChildStdin::new(w));
                            Some(r)
                        }
                        1 => {
                            fds.stdout = Some(ChildStdout::new(r));
                            Some(w)
                        }
                        _ => {
                            fds.stderr = Some(ChildStderr::new(r));
                            Some(w)
                        }
                    }
                }
            };
        }
        Ok(fds)
    }

    /// The child's sources as raw descriptors, -1 for inherit.
    pub fn child_raw(&self) -> [RawFd; 3] {
        let raw = |f: &Option<OwnedFd>| f.as_ref().map_or(-1, |f| f.as_raw_fd());
        [raw(&self.child[0]), raw(&self.child[1]), raw(&self.child[2])]
    }

    /// Closes the supervisor's copies of the child's sources (after `clone3`).
    pub fn close_child_ends(&mut self) {
        self.child = [None, None, None];
    }
}

enum Kind<'a> {
    Inherit,
    Null,
    Piped,
    Fd(&'a OwnedFd),
}
