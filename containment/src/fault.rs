//! Fault injection, for tests only (the `fault-injection` feature; compiled out
//! otherwise): `CONTAINMENT_FAULT=<who>:<stage>` makes the supervisor, the init or
//! the program's process die at that point of the setup, so tests can check that
//! nothing is left behind whatever dies when.
//!
//! `<who>` is `supervisor` (killed by SIGKILL), `init` or `program` (they exit at
//! once with code 99; the init cannot receive SIGKILL from inside its own PID
//! namespace); `<stage>` is a [`Stage`](crate::Stage) name, such as `mount` or `exec`.
//! `stop-supervisor` and `stop-program` stop that process there instead (SIGSTOP,
//! as a debugger or `kill -STOP` from the host would), for the test to resume it or
//! kill the supervisor. (A PID namespace's init cannot stop itself: the kernel
//! drops a SIGSTOP it sends itself.)
//!
//! `einval:pivot-root` instead makes the init's `pivot_root` fail with `EINVAL`, as
//! it does on an initramfs root, to test the `chroot` fallback on any host;
//! `einval:clone` makes the supervisor start the init as a copy of itself, as where
//! the init program's memfd may not be executed (`vm.memfd_noexec = 2`) and on
//! architectures other than x86-64, to test that path here; `einval:network`
//! makes the helper that makes the network namespace fail, so that the init makes
//! it itself (`child::netns`); `einval:cgroup` makes the supervisor's step after
//! it made the v1 groups (after the clone) fail (`spawn::make_groups`).

use crate::error::Stage;

/// Who dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    Supervisor,
    Init,
    Program,
    /// Not a death: the stage's system call fails with `EINVAL` (see [`einval`]).
    Einval,
    /// Not a death: the supervisor stops (SIGSTOP) at the stage.
    StopSupervisor,
    /// Not a death: the program's process stops (SIGSTOP) at the stage.
    StopProgram,
}

impl Who {
    /// Whether this fault stops `who` (rather than killing it).
    fn stops(self, who: Who) -> bool {
        matches!((self, who), (Who::StopSupervisor, Who::Supervisor) | (Who::StopProgram, Who::Program))
    }
}

/// Where to die, from `CONTAINMENT_FAULT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fault {
    pub who: Who,
    pub stage: Stage,
}

/// The fault the environment asks for, read in the supervisor (the child reads the
/// plan's copy: it may not touch the environment).
pub(crate) fn from_env() -> Option<Fault> {
    if !cfg!(feature = "fault-injection") {
        return None;
    }
    let v = std::env::var("CONTAINMENT_FAULT").ok()?;
    let (who, stage) = v.split_once(':')?;
    let who = match who {
        "supervisor" => Who::Supervisor,
        "init" => Who::Init,
        "program" => Who::Program,
        "einval" => Who::Einval,
        "stop-supervisor" => Who::StopSupervisor,
        "stop-program" => Who::StopProgram,
        _ => return None,
    };
    let stage = Stage::ALL.into_iter().find(|s| s.name() == stage)?;
    Some(Fault { who, stage })
}

/// Dies (or stops) here if `fault` says so. Async-signal-safe: the child side calls it.
pub(crate) fn at(fault: Option<Fault>, who: Who, stage: Stage) {
    if !cfg!(feature = "fault-injection") {
        return;
    }
    match fault {
        Some(f) if f.who == who && f.stage == stage => match who {
            Who::Supervisor => {
                let _ = crate::sys::kill(crate::sys::getpid(), libc::SIGKILL);
            }
            Who::Init | Who::Program => crate::sys::exit_now(99),
            Who::Einval | Who::StopSupervisor | Who::StopProgram => {}
        },
        Some(f) if f.stage == stage && f.who.stops(who) => {
            // Stops every thread of the process, until a SIGCONT or a SIGKILL.
            let _ = crate::sys::kill(crate::sys::getpid(), libc::SIGSTOP);
        }
        _ => {}
    }
}

/// Whether `fault` says `who` dies at `stage`, for a process that acts on it later
/// (the init program). Async-signal-safe.
pub(crate) fn dies(fault: Option<Fault>, who: Who, stage: Stage) -> bool {
    cfg!(feature = "fault-injection") && fault == Some(Fault { who, stage })
}

/// Whether `fault` makes the system call of `stage` fail with `EINVAL` here.
/// Async-signal-safe: the child side calls it.
pub(crate) fn einval(fault: Option<Fault>, stage: Stage) -> bool {
    cfg!(feature = "fault-injection") && fault == Some(Fault { who: Who::Einval, stage })
}
