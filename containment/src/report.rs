//! The fixed-size records the sandbox's init sends to the supervisor over the
//! report pipe. Both sides use this; the child side only builds and writes them,
//! which allocates nothing.

/// Kind of a [`Record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Kind {
    /// Setup failed: `stage`, `errno`, `value` = index of the path involved or -1.
    Error = 1,
    /// The program's `execve` succeeded: `value` = its pid inside the sandbox.
    Started = 2,
    /// The program ended: `value` = its wait status.
    Exited = 3,
    /// The sandbox's timeout passed; the init kills everything by exiting.
    TimedOut = 4,
    /// A netlink socket in the sandbox's network namespace: `value` = its
    /// descriptor number in the init, for `pidfd_getfd`.
    Netlink = 5,
}

/// One message from the init. 16 bytes, far below `PIPE_BUF`, so each write is atomic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub kind: Kind,
    pub stage: u32,
    pub errno: i32,
    pub value: i32,
}

/// Size of a record on the wire.
pub(crate) const RECORD_LEN: usize = 16;

/// The value of `Record::value` when no path is involved.
pub(crate) const NO_PATH: i32 = -1;

impl Record {
    pub fn error(stage: u32, errno: i32, path: i32) -> Record {
        Record { kind: Kind::Error, stage, errno, value: path }
    }

    pub fn started(pid: i32) -> Record {
        Record { kind: Kind::Started, stage: 0, errno: 0, value: pid }
    }

    pub fn exited(status: i32) -> Record {
        Record { kind: Kind::Exited, stage: 0, errno: 0, value: status }
    }

    pub fn netlink(fd: i32) -> Record {
        Record { kind: Kind::Netlink, stage: 0, errno: 0, value: fd }
    }

    pub fn timed_out() -> Record {
        Record { kind: Kind::TimedOut, stage: 0, errno: 0, value: 0 }
    }

    pub fn to_bytes(self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[0..4].copy_from_slice(&(self.kind as u32).to_ne_bytes());
        b[4..8].copy_from_slice(&self.stage.to_ne_bytes());
        b[8..12].copy_from_slice(&self.errno.to_ne_bytes());
        b[12..16].copy_from_slice(&self.value.to_ne_bytes());
        b
    }

    pub fn from_bytes(b: &[u8; RECORD_LEN]) -> Option<Record> {
        let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        let kind = match u32::from_ne_bytes(word(0)) {
            1 => Kind::Error,
            2 => Kind::Started,
            3 => Kind::Exited,
            4 => Kind::TimedOut,
            5 => Kind::Netlink,
            _ => return None,
        };
        Some(Record {
            kind,
            stage: u32::from_ne_bytes(word(4)),
            errno: i32::from_ne_bytes(word(8)),
            value: i32::from_ne_bytes(word(12)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        for r in [
            Record::error(7, 2, 3),
            Record::started(2),
            Record::exited(0x8b00),
            Record::error(1, 1, NO_PATH),
            Record::timed_out(),
        ] {
            assert_eq!(Record::from_bytes(&r.to_bytes()), Some(r));
        }
    }

    #[test]
    fn unknown_kinds_are_rejected() {
        let mut b = Record::started(2).to_bytes();
        b[0..4].copy_from_slice(&99u32.to_ne_bytes());
        assert_eq!(Record::from_bytes(&b), None);
    }
}
