//! What lets a sandbox's init run in the supervisor's memory instead of a copy of
//! it (see `child::fork_init`): a stack for the init and one for the program's
//! process, mapped per sandbox, and the small init program the init executes once
//! the sandbox is built, in a sealed memfd.

use std::os::fd::OwnedFd;

use crate::child::StackArea;
use crate::error::{Error, Result};
use crate::sys;

/// The init's stack: it builds the sandbox on it (paths of up to `PATH_MAX` on the
/// stack, a few levels deep, in larger frames in debug builds). Mapped without a
/// reservation: only the pages touched (a few) take memory.
const INIT_STACK: usize = 1024 * 1024;
/// The program's process, from its start to `execve`.
const PROGRAM_STACK: usize = 256 * 1024;
/// An inaccessible page below each stack.
const GUARD: usize = 4096;

fn mapping(size: usize) -> Result<sys::StackMapping> {
    sys::StackMapping::new(size, GUARD).map_err(|e| Error::os("mmap", e))
}

fn area(m: &sys::StackMapping) -> StackArea {
    let (base, size) = m.usable();
    StackArea { base, size }
}

/// The stacks of one sandbox's init and program process.
///
/// Dropping them is only sound once neither process runs on them any more: after
/// the init reported the program started (both have executed other programs by
/// then) or after the init was reaped. `spawn::start` declares them before the
/// `Child`, which kills and reaps the init when dropped on an error path, so they
/// are dropped after it.
pub(crate) struct Stacks {
    init: sys::StackMapping,
    program: sys::StackMapping,
}

impl Stacks {
    pub fn new() -> Result<Stacks> {
        Ok(Stacks { init: mapping(INIT_STACK)?, program: mapping(PROGRAM_STACK)? })
    }

    pub fn init(&self) -> StackArea {
        area(&self.init)
    }

    pub fn program(&self) -> StackArea {
        area(&self.program)
    }
}

/// What a spawn keeps while its init (or joiner) may run in this memory: declared
/// before the `Child` (see [`Stacks`]).
pub(crate) struct Shared {
    pub stacks: Stacks,
    /// The init program.
    pub exe: OwnedFd,
    pub in_flight: super::dumpable::InFlight,
}

/// The init program, built from `init/init.c` by `build.rs`.
#[cfg(containment_exec_init)]
const INIT_PROGRAM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/init"));

/// A sealed memfd holding the init program, made for one spawn (close-on-exec;
/// a few system calls, and no descriptor stays open in the supervisor between spawns);
/// `None` where no memfd may be executable (`vm.memfd_noexec = 2`), and then the
/// init is a copy of the supervisor, as on other architectures.
#[cfg(containment_exec_init)]
pub(crate) fn init_program() -> Option<OwnedFd> {
    sys::sealed_memfd(c"containment-init", INIT_PROGRAM).ok()
}
