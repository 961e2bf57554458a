//! The last steps of an init (or a joiner) that runs in the supervisor's memory:
//! start the program's process at a gate, then execute the small init program
//! (`init/init.c`, from a sealed memfd), which lets the process go, learns whether
//! its `execve` succeeded, reports it, and serves as the sandbox's PID 1 as
//! [`super::serve`] does. Executing it is how the init leaves the supervisor's
//! memory: nothing of the sandbox runs before.

use std::cell::Cell;
use std::os::fd::RawFd;

use nix::errno::Errno;

use super::program::{self, Gate, Shared};
use super::{close_program_fds, program_cgroup, ChildFds, Failure, Launch, Never, NO_PROGRAM};
use crate::error::Stage;
use crate::fault::{self, Who};
use crate::spawn::plan::Plan;
use crate::sys;

/// Starts the program (if the sandbox has one; as `program_pid` in its PID
/// namespace unless 0, see [`program::start_gated`]; entering the groups of
/// `later` too) and executes the init program;
/// returns only on failure, with the program's process gone.
pub(super) fn finish(
    plan: &Plan,
    fds: &ChildFds,
    launch: &Launch<'_>,
    signals: RawFd,
    timer: RawFd,
    program_pid: libc::pid_t,
    later: &[(RawFd, i32)],
) -> Result<Never, Failure> {
    let (gate, check) = match plan.start_program {
        true => program::gate_pipes()?,
        false => ([-1; 2], [-1; 2]),
    };
    // The program's process reads this until its `execve`: it stays in this frame,
    // which is left only by executing the init program or after killing it.
    let shared = Shared {
        plan,
        fds,
        cgroup: program_cgroup(plan).unwrap_or(-1),
        later,
        placed: Cell::new(plan.program_cgroup_dir && program_cgroup(plan).is_some()),
        failure: Cell::new(None),
        reached_exec: Cell::new(false),
        gate: Some(Gate { wait: gate[0], check: check[1], init_ends: [gate[1], check[0]] }),
        dumpable: Some(launch.dumpable),
    };
    let pid = match plan.start_program {
        true => {
            let pid = program::start_gated(&shared, launch.program_stack, program_pid)?;
            sys::close(gate[0]);
            sys::close(check[1]);
            pid
        }
        false => NO_PROGRAM,
    };
    // The program's process has its own copies.
    close_program_fds(plan, fds, later);
    let failed = |errno| {
        if pid != NO_PROGRAM {
            let _ = sys::kill(pid, libc::SIGKILL);
            let _ = sys::waitpid(pid, libc::__WALL);
        }
        Failure { stage: Stage::InitSignals, errno, path: crate::report::NO_PATH }
    };
    // The descriptors the init program works with, and the leases' locks the
    // sandbox holds for as long as it lives, survive `execve`; every other one is
    // close-on-exec.
    let passed = [signals, timer, fds.report, gate[1], check[0]];
    for &fd in passed.iter().chain(&plan.lease_fds) {
        if fd >= 0 {
            sys::clear_cloexec(fd).map_err(failed)?;
        }
    }
    let supervisor = if plan.persist { -1 } else { fds.report };
    // (A joiner has no fault point of its own there.)
    let die = plan.join.is_none() && fault::dies(plan.fault, Who::Init, Stage::Exec);
    let mut argv = Argv::new();
    for n in [pid, signals, timer, supervisor, fds.report, gate[1], check[0], die as i32, Stage::Fork as i32] {
        argv.push(n);
    }
    argv.push(Errno::ECHILD as i32);
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: argv and envp are NULL-terminated arrays of NUL-terminated strings in
    // this frame, which the call does not outlive.
    let errno = unsafe { sys::execveat_fd(launch.exe, argv.as_ptr(), envp.as_ptr()) };
    Err(failed(errno))
}

/// The init program's arguments: `init` and up to [`Argv::MAX`] decimal numbers,
/// written into fixed buffers (nothing is allocated).
struct Argv {
    text: [u8; Argv::MAX * 12 + 5],
    len: usize,
    ptrs: [*const libc::c_char; Argv::MAX + 2],
    count: usize,
}

impl Argv {
    const MAX: usize = 10;

    fn new() -> Argv {
        let mut a = Argv { text: [0; Argv::MAX * 12 + 5], len: 5, ptrs: [std::ptr::null(); Argv::MAX + 2], count: 0 };
        a.text[..5].copy_from_slice(b"init\0");
        a
    }

    /// Appends `n` in decimal; beyond [`Argv::MAX`] numbers, nothing.
    fn push(&mut self, n: i32) {
        if self.count == Argv::MAX {
            return;
        }
        if n < 0 {
            self.text[self.len] = b'-';
            self.len += 1;
        }
        let mut digits = [0u8; 10];
        let mut v = n.unsigned_abs();
        let mut k = 0;
        loop {
            digits[k] = b'0' + (v % 10) as u8;
            k += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        while k > 0 {
            k -= 1;
            self.text[self.len] = digits[k];
            self.len += 1;
        }
        self.text[self.len] = 0;
        self.len += 1;
        self.count += 1;
    }

    /// The NULL-terminated array of pointers into the text; valid while `self` is.
    fn as_ptr(&mut self) -> *const *const libc::c_char {
        let base = self.text.as_ptr().cast::<libc::c_char>();
        self.ptrs[0] = base;
        let mut at = 5;
        for i in 0..self.count {
            // SAFETY: `at` is the start of the i-th number, inside `text`.
            self.ptrs[i + 1] = unsafe { base.add(at) };
            while self.text[at] != 0 {
                at += 1;
            }
            at += 1;
        }
        self.ptrs[self.count + 1] = std::ptr::null();
        self.ptrs.as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_written_in_decimal_and_null_terminated() {
        let mut a = Argv::new();
        for n in [0, -1, 42, i32::MIN, i32::MAX] {
            a.push(n);
        }
        let p = a.as_ptr();
        let words: Vec<String> = (0..6)
            // SAFETY: the first six pointers are NUL-terminated strings in `a`.
            .map(|i| unsafe { std::ffi::CStr::from_ptr(*p.add(i)) }.to_string_lossy().into_owned())
            .collect();
        assert_eq!(words, ["init", "0", "-1", "42", "-2147483648", "2147483647"]);
        // SAFETY: the array has six strings and then NULL.
        assert!(unsafe { *p.add(6) }.is_null());
    }

    #[test]
    fn no_more_than_max_numbers_are_taken() {
        let mut a = Argv::new();
        for n in 0..20 {
            a.push(i32::MAX - n);
        }
        assert_eq!(a.count, Argv::MAX);
        let p = a.as_ptr();
        // SAFETY: MAX numbers after "init", then NULL.
        assert!(unsafe { *p.add(Argv::MAX + 1) }.is_null());
    }
}
