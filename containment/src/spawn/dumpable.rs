//! Keeps the supervisor as dumpable as it was while sandboxes start in its memory.
//!
//! A process's "dumpable" flag belongs to its memory (`mm`), which an init started
//! with `CLONE_VM` (see `child::fork_init`) shares with the supervisor, as do its
//! joiners and the program's process until `execve`. The kernel resets the flag to
//! `fs.suid_dumpable` (0 on most hosts) whenever a process's uid or gid changes,
//! and those processes change theirs (to the sandbox's root, to the program's
//! ids). Left so, the embedding process would become undumpable after its first
//! sandbox with a user namespace: no core dumps, no debugger of the same user, its
//! `/proc/PID` files owned by root. So each of them sets the flag back right after
//! changing ids, to the value read here before the first sandbox in flight
//! started, and when the last one in flight is done the supervisor sets it back
//! itself (a value it read while another sandbox's process had just changed its
//! ids would be that process's 0).

use std::sync::{Mutex, PoisonError};

use crate::sys;

struct State {
    /// Sandboxes started in this memory whose processes may still change ids.
    in_flight: usize,
    /// The flag as it was before the first of them started.
    dumpable: libc::c_ulong,
}

static STATE: Mutex<State> = Mutex::new(State { in_flight: 0, dumpable: 1 });

/// One sandbox in flight; dropped once its processes are past their id changes
/// (they have executed other programs, or ended).
pub(crate) struct InFlight {
    dumpable: libc::c_ulong,
}

impl InFlight {
    pub fn enter() -> InFlight {
        let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
        if state.in_flight == 0 {
            if let Ok(now) = sys::prctl(libc::PR_GET_DUMPABLE, 0) {
                state.dumpable = now as libc::c_ulong;
            }
        }
        state.in_flight += 1;
        InFlight { dumpable: state.dumpable }
    }

    /// The flag the sandbox's processes set back after changing ids.
    pub fn dumpable(&self) -> libc::c_ulong {
        self.dumpable
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
        state.in_flight -= 1;
        if state.in_flight == 0 {
            let _ = sys::prctl(libc::PR_SET_DUMPABLE, state.dumpable);
        }
    }
}
