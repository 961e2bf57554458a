//! The child side of a spawn: the sandbox's init and the program's process up to
//! `execve`. Nothing else lives here.
//!
//! Everything in this module runs between `clone3` and `execve` in a copy of a
//! possibly multithreaded process, so it must contain no call of `malloc` or
//! `free`, take no lock, format nothing and never panic: it makes raw system calls
//! (`crate::sys`) on bytes the supervisor prepared in a [`Plan`], and reports
//! failures as fixed-size records. The test `tests/no_alloc.rs` runs the whole
//! pipeline under a global allocator that kills any process but the supervisor
//! that allocates.
#![allow(unsafe_code)]

mod buf;
mod exec_init;
mod fs;
mod netns;
mod program;

use std::cell::Cell;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::error::Stage;
use crate::fault::{self, Who};
use crate::report::Record;
use crate::spawn::plan::{Plan, MAX_LATER};
use crate::sys;

/// Path index meaning "the working directory" in a failure.
pub(crate) const PATH_CWD: i32 = -2;
/// Path index meaning "the program" in a failure.
pub(crate) const PATH_PROGRAM: i32 = -3;
/// The bit of `CAP_SYS_CHROOT` in a capability mask (`linux/capability.h`).
pub(crate) const CAP_SYS_CHROOT: u32 = 18;

/// Descriptors the init starts with, all created by the supervisor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChildFds {
    /// Write end of the report pipe.
    pub report: RawFd,
    /// Read end of the go-ahead pipe, or -1 when the supervisor has nothing to do
    /// after `clone3`.
    pub sync: RawFd,
    /// Sources of the program's descriptors 0, 1, 2; -1 leaves one as inherited.
    pub stdio: [RawFd; 3],
    /// When the sandbox's timeout passes (`CLOCK_MONOTONIC`), if it has one.
    pub deadline: Option<libc::timespec>,
}

/// A stack for a process started on its own stack: `[base, base + size)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StackArea {
    pub base: *mut u8,
    pub size: usize,
}

/// What an init (or a joiner) that runs in the supervisor's memory needs besides
/// the plan; it lives in the supervisor's `spawn` frame, which outlasts the use.
pub(crate) struct Launch<'a> {
    pub plan: &'a Plan,
    pub fds: &'a ChildFds,
    /// The init program (a sealed memfd) the init executes once the sandbox is built.
    pub exe: RawFd,
    /// The program process's stack.
    pub program_stack: StackArea,
    /// The supervisor's dumpable flag, which its processes set back after they
    /// change ids (see `spawn::dumpable`).
    pub dumpable: libc::c_ulong,
}

/// A failed step: the stage, the error, and the index of the path involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failure {
    pub stage: Stage,
    pub errno: Errno,
    pub path: i32,
}

/// Attaches a stage (and a path) to a system call's error.
trait At<T> {
    fn at(self, stage: Stage) -> Result<T, Failure>;
    fn at_path(self, stage: Stage, path: i32) -> Result<T, Failure>;
}

impl<T> At<T> for Result<T, Errno> {
    fn at(self, stage: Stage) -> Result<T, Failure> {
        self.at_path(stage, crate::report::NO_PATH)
    }
    fn at_path(self, stage: Stage, path: i32) -> Result<T, Failure> {
        self.map_err(|errno| Failure { stage, errno, path })
    }
}

fn report(fd: RawFd, record: Record) {
    // A failed write means the supervisor is gone; there is nobody to tell.
    let _ = sys::write(fd, &record.to_bytes());
}

/// `clone3`s the sandbox's init into new namespaces and returns its pid and pidfd
/// in the supervisor; the init runs [`run_init`] and never returns here.
///
/// Every signal is blocked in the calling thread around the call, so no handler of
/// the host process (Python's, for instance) can run in the child before the init
/// takes over its signals; the caller's mask is restored afterwards. The exit
/// signal is 0: no SIGCHLD reaches the host, and a host that reaps with
/// `waitpid(-1)` cannot take the sandbox's status (it is waited for through its
/// pidfd with `__WALL`).
///
/// With `cgroup` (a v2 group's directory), the init starts in that group
/// (`CLONE_INTO_CGROUP`).
///
/// With `shared` (a [`Launch`] and the init's stack), the init is started with
/// `CLONE_VM` on that stack: it runs in the supervisor's memory, so nothing of the
/// supervisor's address space is copied (the copy, page tables and copy-on-write
/// faults, costs in proportion to the supervisor's size: 24-36 µs per MiB it has
/// touched, `benches/RESULTS.md` run F); it leaves that memory by executing the init program before any code
/// of the sandbox runs (see [`exec_init`]). The caller must keep the launch, the
/// plan, the descriptors and both stacks valid and unchanged until the init has
/// reported the program started, or has been reaped. Without it the init is a
/// copy of the supervisor, as after `fork`.
pub(crate) fn fork_init(
    plan: &Plan,
    fds: &ChildFds,
    cgroup: Option<RawFd>,
    shared: Option<(&Launch<'_>, StackArea)>,
) -> Result<(libc::pid_t, OwnedFd), Errno> {
    let mut pidfd: RawFd = -1;
    let mut args = sys::CloneArgs {
        flags: plan.clone_flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: 0,
        ..sys::CloneArgs::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= sys::CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    let old = sys::sigmask(libc::SIG_SETMASK, &sys::sigset(true))?;
    if let Some((launch, stack)) = shared {
        args.flags |= libc::CLONE_VM as u64;
        if plan.net_by_helper {
            // The init has it made beside its other work (see `netns`).
            args.flags &= !(libc::CLONE_NEWNET as u64);
        }
        args.stack = stack.base as u64;
        args.stack_size = stack.size as u64;
        let arg = (launch as *const Launch<'_>).cast_mut().cast();
        // SAFETY: the stack is this sandbox's own init stack (16-byte aligned, a
        // multiple of 16 long); `shared_init` makes only raw system calls, allocates
        // nothing, takes no lock and never returns; the caller keeps `launch` and
        // what it refers to valid until the init has left this memory.
        let started = unsafe { sys::clone3_on_stack(&mut args, shared_init, arg) };
        let _ = sys::sigmask(libc::SIG_SETMASK, &old);
        // SAFETY: with CLONE_PIDFD the kernel stored a new descriptor that nothing
        // else owns.
        return started.map(|pid| (pid, unsafe { OwnedFd::from_raw_fd(pidfd) }));
    }
    // SAFETY: the child runs only `run_init`, which is async-signal-safe (this
    // module's contract) and never returns; the arguments ask for no shared memory.
    let forked = unsafe { sys::clone3(&mut args) };
    if let Ok(sys::Forked::Child) = forked {
        match plan.join {
            Some(_) => run_joiner(plan, fds, None),
            None => run_init(plan, fds, None),
        }
    }
    let _ = sys::sigmask(libc::SIG_SETMASK, &old);
    match forked? {
        sys::Forked::Parent(pid) => {
            // SAFETY: with CLONE_PIDFD the kernel stored a new descriptor that
            // nothing else owns.
            Ok((pid, unsafe { OwnedFd::from_raw_fd(pidfd) }))
        }
        sys::Forked::Child => unreachable!("the child never returns from run_init"),
    }
}

/// The sandbox's init: builds the sandbox, starts the program, then reaps every
/// process and forwards signals until the program ends.
///
/// Called in the child of `clone3`, with every signal blocked.
pub(crate) fn run_init(plan: &Plan, fds: &ChildFds, launch: Option<&Launch<'_>>) -> ! {
    match init(plan, fds, launch) {
        Ok(never) => match never {},
        Err(f) => {
            report(fds.report, Record::error(f.stage as u32, f.errno as i32, f.path));
            sys::exit_now(1)
        }
    }
}

/// The init started in the supervisor's memory (see [`fork_init`]).
extern "C" fn shared_init(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `fork_init` passes a pointer to a `Launch` that the supervisor keeps
    // valid until this process has executed the init program or ended.
    let launch = unsafe { &*(arg as *const Launch<'_>) };
    match launch.plan.join {
        Some(_) => run_joiner(launch.plan, launch.fds, Some(launch)),
        None => run_init(launch.plan, launch.fds, Some(launch)),
    }
}

enum Never {}

fn init(plan: &Plan, fds: &ChildFds, launch: Option<&Launch<'_>>) -> Result<Never, Failure> {
    close_inherited(&plan.keep_fds).at(Stage::Prepare)?;
    fault::at(plan.fault, Who::Init, Stage::Sync);
    // In the supervisor's memory, the network namespace is made beside the rest
    // (`fork_init` left it out of `clone3`).
    let wanted = netns::wanted(plan, launch);
    let job = wanted.and_then(|(request, _)| netns::Job::new(request, plan.fault).ok());
    let helper = netns::start(job.as_ref(), wanted)?;
    if plan.ns_root {
        // The supervisor writes the id maps meanwhile; then become root of the
        // namespace, so files made inside get mapped owners.
        wait_go(fds.sync)?;
        become_root(launch)?;
    }
    let netlink = match wanted {
        Some(_) => -1,
        None => network(plan, fds)?,
    };
    join_cgroups(plan)?;
    fault::at(plan.fault, Who::Init, Stage::Mount);
    fs::build(&plan.fs, plan.keep_caps & (1 << CAP_SYS_CHROOT) == 0, plan.fault)?;
    fault::at(plan.fault, Who::Init, Stage::Hostname);
    sys::sethostname(&plan.hostname).at(Stage::Hostname)?;
    let signals = sys::signalfd(&sys::sigset(true)).at(Stage::InitSignals)?;
    let timer = match &fds.deadline {
        Some(deadline) => sys::timerfd_at(deadline).at(Stage::InitSignals)?,
        None => -1,
    };

    let later = match plan.groups_later() {
        // The supervisor has made the groups meanwhile (see `spawn::make_groups`).
        true => enter_later_groups(plan, fds.sync)?,
        false => LaterFds::NONE,
    };
    if netlink >= 0 {
        // The supervisor configures the bridge interface meanwhile.
        wait_go(fds.sync)?;
        sys::close(netlink);
    }
    if fds.sync >= 0 {
        sys::close(fds.sync);
    }

    let program_pid = netns::finish(helper)?;
    // (Closes the host's /proc.)
    drop(job);

    fault::at(plan.fault, Who::Init, Stage::Fork);
    if let Some(launch) = launch {
        return exec_init::finish(plan, fds, launch, signals, timer, program_pid, later.fds());
    }
    let pid = if plan.start_program {
        start_program(plan, fds, later.fds())?
    } else {
        // No program to hand them to: keep none of the supervisor's descriptors
        // (a pipe it reads would never see end-of-file otherwise).
        close_program_fds(plan, fds, later.fds());
        NO_PROGRAM
    };
    fault::at(plan.fault, Who::Init, Stage::Exec);
    report(fds.report, Record::started(pid));
    // A persistent sandbox outlives the process that started it.
    let supervisor = if plan.persist { -1 } else { fds.report };
    serve(pid, signals, timer, supervisor, fds.report)
}

/// The program's pid when there is none (a sandbox started without a program).
const NO_PROGRAM: libc::pid_t = -1;

/// Starts the program's process and returns its pid once it called `execve`;
/// `later`: the groups made after the clone it enters (see [`LaterFds`]).
fn start_program(plan: &Plan, fds: &ChildFds, later: &[(RawFd, i32)]) -> Result<libc::pid_t, Failure> {
    let cgroup = program_cgroup(plan).unwrap_or(-1);
    let shared = program::Shared {
        plan,
        fds,
        cgroup,
        later,
        placed: Cell::new(false),
        failure: Cell::new(None),
        reached_exec: Cell::new(false),
        gate: None,
        dumpable: None,
    };
    let pid = program::start(&shared)?;
    if let Some(f) = shared.failure.get() {
        let _ = sys::waitpid(pid, 0);
        return Err(f);
    }
    if !shared.reached_exec.get() {
        // The process ended (killed, or died) before it could even try execve.
        let _ = sys::waitpid(pid, 0);
        return Err(Failure { stage: Stage::Fork, errno: Errno::ECHILD, path: crate::report::NO_PATH });
    }
    // The program holds its descriptors now; this process keeps none of them, so
    // pipes see end-of-file when the program closes them.
    close_program_fds(plan, fds, later);
    Ok(pid)
}

/// A process that joins a running sandbox's namespaces (all of them at once,
/// through the init's pidfd) and its cgroups, starts the program there (as the
/// init would), and relays its signals and its wait status, as the init does for
/// the main program. It stays outside the sandbox's PID namespace; the program is
/// inside, and dies with it (`PR_SET_PDEATHSIG`).
pub(crate) fn run_joiner(plan: &Plan, fds: &ChildFds, launch: Option<&Launch<'_>>) -> ! {
    match join(plan, fds, launch) {
        Ok(never) => match never {},
        Err(f) => {
            report(fds.report, Record::error(f.stage as u32, f.errno as i32, f.path));
            sys::exit_now(1)
        }
    }
}

fn join(plan: &Plan, fds: &ChildFds, launch: Option<&Launch<'_>>) -> Result<Never, Failure> {
    close_inherited(&plan.keep_fds).at(Stage::Prepare)?;
    let Some(target) = &plan.join else {
        return Err(Failure { stage: Stage::Join, errno: Errno::EINVAL, path: crate::report::NO_PATH });
    };
    join_cgroups(plan)?;
    sys::setns(target.pidfd, target.namespaces).at(Stage::Join)?;
    if plan.ns_root {
        become_root(launch)?;
    }
    let signals = sys::signalfd(&sys::sigset(true)).at(Stage::InitSignals)?;
    if let Some(launch) = launch {
        return exec_init::finish(plan, fds, launch, signals, -1, 0, &[]);
    }
    let pid = start_program(plan, fds, &[])?;
    report(fds.report, Record::started(pid));
    serve(pid, signals, -1, fds.report, fds.report)
}

/// Becomes root of the sandbox's user namespace; in the supervisor's memory, sets
/// its dumpable flag back (see `spawn::dumpable`).
fn become_root(launch: Option<&Launch<'_>>) -> Result<(), Failure> {
    sys::setresgid(0).at(Stage::Identity)?;
    sys::setresuid(0).at(Stage::Identity)?;
    keep_dumpable(launch.map(|l| l.dumpable));
    Ok(())
}

/// Sets the dumpable flag of the memory this process shares with the supervisor
/// back to `dumpable` after an id change reset it (nothing without one).
fn keep_dumpable(dumpable: Option<libc::c_ulong>) {
    if let Some(d) = dumpable {
        let _ = sys::prctl(libc::PR_SET_DUMPABLE, d);
    }
}

/// Waits for the supervisor's go-ahead (one byte); exits quietly if the supervisor
/// gave up on the sandbox (end of file).
fn wait_go(sync: RawFd) -> Result<(), Failure> {
    let mut go = [0u8; 1];
    if sys::read(sync, &mut go).at(Stage::Sync)? == 0 {
        sys::exit_now(1);
    }
    Ok(())
}

/// Brings `lo` up with the request the plan holds; when the supervisor is to
/// configure a bridge interface, hands it the netlink socket (it takes a copy with
/// `pidfd_getfd`) and returns it, else -1.
fn network(plan: &Plan, fds: &ChildFds) -> Result<RawFd, Failure> {
    let Some(request) = &plan.lo_up else { return Ok(-1) };
    let nl = lo_up_socket(request).at(Stage::Network)?;
    if !plan.net_handover {
        sys::close(nl);
        return Ok(-1);
    }
    report(fds.report, Record::netlink(nl));
    Ok(nl)
}

/// Brings `lo` up: sends `request` on a new netlink socket of the current network
/// namespace and checks the kernel's answer.
fn lo_up(request: &[u8]) -> Result<(), Errno> {
    lo_up_socket(request).map(sys::close)
}

/// [`lo_up`], returning the socket.
fn lo_up_socket(request: &[u8]) -> Result<RawFd, Errno> {
    let nl = sys::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE)?;
    let answered = sys::write(nl, request).and_then(|_| {
        let mut ack = [0u8; 256];
        let n = sys::read(nl, &mut ack)?;
        // An NLMSG_ERROR message: type at bytes 4-5, the error (0 or -errno) at 16-19.
        let ty = u16::from_ne_bytes([ack[4], ack[5]]);
        let code = i32::from_ne_bytes([ack[16], ack[17], ack[18], ack[19]]);
        match (n < 20 || ty != libc::NLMSG_ERROR as u16, code) {
            (false, 0) => Ok(()),
            (_, c) if c < 0 => Err(Errno::from_raw(-c)),
            _ => Err(Errno::EPROTO),
        }
    });
    match answered {
        Ok(()) => Ok(nl),
        Err(e) => {
            sys::close(nl);
            Err(e)
        }
    }
}

/// Joins the v1 cgroups made before the clone (a joiner's, or a group with v2
/// hierarchies too; v2 placed the init with `CLONE_INTO_CGROUP`): writes `0` (this
/// process, whose only thread this is) to each group's `tasks`, through the
/// descriptors the supervisor opened, and closes them. The memory and cpuset groups
/// and the cgroup namespace are the program's business. (Groups made after the
/// clone: [`enter_later_groups`].)
fn join_cgroups(plan: &Plan) -> Result<(), Failure> {
    for &(fd, path) in &plan.cgroup_enter {
        let written = sys::write(fd, b"0");
        sys::close(fd);
        written.at_path(Stage::Cgroup, path)?;
    }
    Ok(())
}

/// The descriptors of the groups made after the clone that the program enters
/// (see `Plan::later_tasks`), with their paths' indices, in this process's frame.
#[derive(Clone, Copy)]
struct LaterFds {
    fds: [(RawFd, i32); MAX_LATER],
    n: usize,
}

impl LaterFds {
    const NONE: LaterFds = LaterFds { fds: [(-1, 0); MAX_LATER], n: 0 };

    fn fds(&self) -> &[(RawFd, i32)] {
        &self.fds[..self.n]
    }
}

/// Waits for the supervisor's go-ahead that the groups made after the clone exist
/// (`spawn::make_groups`), which brings a descriptor of each `tasks` file of
/// `plan.later_tasks`: enters the init's groups (writes `0`: this thread, the
/// process's only one) and returns the program's. Exits quietly if the
/// supervisor gave up on the sandbox.
fn enter_later_groups(plan: &Plan, sync: RawFd) -> Result<LaterFds, Failure> {
    let mut byte = [0u8; 1];
    let mut got = [-1; MAX_LATER];
    let want = plan.later_tasks.len().min(MAX_LATER);
    let (n, count) = sys::recv_with_fds(sync, &mut byte, &mut got[..want]).at(Stage::Sync)?;
    if n == 0 {
        sys::exit_now(1);
    }
    if count != plan.later_tasks.len() {
        return Err(Failure { stage: Stage::Cgroup, errno: Errno::EPROTO, path: crate::report::NO_PATH });
    }
    let mut program = LaterFds::NONE;
    for (t, &fd) in plan.later_tasks.iter().zip(&got) {
        if t.program {
            program.fds[program.n] = (fd, t.path);
            program.n += 1;
        } else {
            let written = sys::write(fd, b"0");
            sys::close(fd);
            written.at_path(Stage::Cgroup, t.path)?;
        }
    }
    Ok(program)
}

/// Closes this process's copies of the program's descriptors (0-2, their sources,
/// its groups'): the program holds its own, or there is none, and a pipe the
/// supervisor reads sees end-of-file only once every copy is closed.
fn close_program_fds(plan: &Plan, fds: &ChildFds, later: &[(RawFd, i32)]) {
    let groups = program_cgroup(plan).into_iter().chain(plan.program_enter.iter().map(|(fd, _)| *fd));
    let groups = groups.chain(later.iter().map(|(fd, _)| *fd));
    for fd in [0, 1, 2].into_iter().chain(fds.stdio).chain(groups) {
        if fd >= 0 {
            sys::close(fd);
        }
    }
}

/// The descriptor by which the program enters its group, if it has one.
fn program_cgroup(plan: &Plan) -> Option<RawFd> {
    plan.program_cgroup.map(|(fd, _)| fd)
}

/// Closes every descriptor the supervisor had open except `keep` (sorted: 0-2,
/// the pipes, the program's stdio sources, prepared mount trees), so that no other
/// sandbox's pipe or host file is held by this one.
fn close_inherited(keep: &[RawFd]) -> Result<(), Errno> {
    let mut next: libc::c_uint = 0;
    for &fd in keep {
        if fd < 0 {
            continue;
        }
        let fd = fd as libc::c_uint;
        if fd > next {
            sys::close_range(next, fd - 1, 0)?;
        }
        if fd >= next {
            next = fd + 1;
        }
    }
    sys::close_range(next, libc::c_uint::MAX, 0)
}

/// The init's loop: forwards signals to the program, reaps every child, reports the
/// program's wait status and exits when it ends (the kernel then kills whatever is
/// left in the PID namespace). Exits at once if the supervisor is gone.
fn serve(program: libc::pid_t, signals: RawFd, timer: RawFd, supervisor: RawFd, report_fd: RawFd) -> ! {
    let mut info = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
    loop {
        let mut pfds = [
            libc::pollfd { fd: signals, events: libc::POLLIN, revents: 0 },
            // Polling the write end of the report pipe gives POLLERR once every read
            // end is closed: the supervisor process has died. (-1: not watched.)
            libc::pollfd { fd: supervisor, events: 0, revents: 0 },
            // A negative descriptor is ignored by poll.
            libc::pollfd { fd: timer, events: libc::POLLIN, revents: 0 },
        ];
        if sys::poll(&mut pfds, -1).is_err() {
            sys::exit_now(1);
        }
        if pfds[1].revents & (libc::POLLERR | libc::POLLHUP) != 0 {
            sys::exit_now(1);
        }
        if pfds[2].revents & libc::POLLIN != 0 {
            // Exiting kills everything in the PID namespace.
            report(report_fd, Record::timed_out());
            sys::exit_now(0);
        }
        if pfds[0].revents & libc::POLLIN == 0 {
            continue;
        }
        if sys::read(signals, &mut info) != Ok(info.len()) {
            continue;
        }
        let signo = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]) as libc::c_int;
        if signo != libc::SIGCHLD {
            if program != NO_PROGRAM {
                let _ = sys::kill(program, signo);
            }
            continue;
        }
        while let Ok(Some((pid, status))) = sys::waitpid(-1, libc::WNOHANG | libc::__WALL) {
            if pid == program {
                report(report_fd, Record::exited(status));
                sys::exit_now(0);
            }
        }
    }
}
