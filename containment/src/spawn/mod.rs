//! The supervisor's side of a spawn: validate and compile the plan, open the
//! descriptors, `clone3` the init, and learn whether the program started.

mod dumpable;
mod launch;
pub(crate) mod plan;
mod stdio;
mod trees;

use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::OFlag;

use crate::cgroup::{Blueprint, Entry, Group, Parent};
use crate::child::{self, ChildFds, PATH_CWD, PATH_PROGRAM};
use crate::command::{Command, Defaults};
use crate::error::{Error, Result, Stage};
use crate::fault::{self, Who};
use crate::net::{self, Net};
use crate::process::{read_record, Child};
use crate::report::{Kind, Record};
use crate::sys;
use crate::userns::Resolved;
use plan::Plan;
use stdio::StdioFds;

/// How a new sandbox starts.
#[derive(Debug, Default)]
pub(crate) struct Start {
    /// Whether the init starts the command's program (else it starts none).
    pub program: bool,
    /// Whether the sandbox outlives the supervisor.
    pub persist: bool,
    /// The sandbox's name (its cgroup is named after it).
    pub name: Option<String>,
    /// Leases the init must hold for as long as it lives (a name's).
    pub leases: Vec<crate::lease::Lease>,
    /// Whether programs may be run in the sandbox later (a [`Running`](crate::Running)):
    /// they join the namespaces `clone3` made.
    pub joinable: bool,
}

/// What a started sandbox is made of, for running more programs in it.
pub(crate) struct Started {
    pub cgroups: Vec<(crate::cgroup::Version, PathBuf)>,
    pub placement: crate::cgroup::Placement,
    pub userns: bool,
    pub namespaces: libc::c_int,
}

/// A kept network namespace for the sandbox, when it asked for one and may use one
/// (see [`net::Kept`]); `plan` is then changed to start the init in it.
///
/// # Errors
/// [`Error::Os`] when a bridged namespace cannot be made or configured.
fn kept_namespace(
    plan: &mut Plan,
    cmd: &Command,
    joinable: bool,
    bridge: Option<&mut net::Prepared>,
) -> Result<Option<net::Kept>> {
    // A kept namespace is the host's: only a program without capabilities, in a
    // sandbox that mounts no sysfs and runs no programs later (named and persistent
    // sandboxes are all `Running`), may use one; and not as the host's root (in a
    // user namespace or not), which may write the namespace's sysctls through a
    // writable view of `/proc/sys`.
    let uid = plan.ids.as_ref().map_or(0, |i| i.uid);
    let host_root = match &plan.userns {
        Some(u) => u.uid_outside(uid) == Some(0),
        None => uid == 0,
    };
    let reusable = plan.keep_caps == 0 && !cmd.sandbox.sysfs && !joinable && !host_root;
    let kept = match bridge {
        Some(p) if p.wants_reuse() && reusable => Some(net::Kept::take(p)?),
        // Only root makes a namespace of the host's user namespace; where it cannot
        // (no CAP_SYS_ADMIN), the init makes one in the sandbox's, as for Net::None.
        None if cmd.sandbox.net == Net::NoneReused && reusable && nix::unistd::geteuid().is_root() => {
            net::Kept::take_loopback().ok()
        }
        _ => None,
    };
    if kept.is_some() {
        // The init starts in it: no namespace to make, nothing to hand over.
        plan.clone_flags &= !(libc::CLONE_NEWNET as u64);
        plan.lo_up = None;
        plan.net_handover = false;
        plan.net_by_helper = false;
    }
    Ok(kept)
}

/// Spawns `cmd`: returns once the program's `execve` succeeded, or with the error
/// that stopped it. On error, the sandbox is killed and reaped before returning.
pub(crate) fn spawn(cmd: &mut Command, defaults: Defaults) -> Result<Child> {
    if let Some(target) = cmd.target.clone() {
        return join(&target, cmd, defaults);
    }
    start(cmd, defaults, Start { program: true, ..Start::default() }).map(|(child, _)| child)
}

/// Starts a new sandbox for `cmd`, as `how` says.
pub(crate) fn start(cmd: &mut Command, defaults: Defaults, mut how: Start) -> Result<(Child, Started)> {
    fill_standard_fds()?;
    let mut plan = Plan::compile(cmd)?;
    plan.start_program = how.program;
    plan.persist = how.persist;
    let mut net = match &cmd.sandbox.net {
        Net::Bridge(b) => Some(net::prepare(b)?),
        _ => None,
    };
    let kept = kept_namespace(&mut plan, cmd, how.joinable, net.as_mut())?;
    let mut io = StdioFds::new(cmd, defaults)?;
    let (report_rd, report_wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe2", e))?;
    // Where the groups are all v1, they are made after the clone, while the init
    // builds the root (see `make_groups`); on v2 the init starts in its group.
    let (later, group) = match cgroup_for(cmd, how.name.as_deref())? {
        Some(b) if b.v1_only() => (Some(b), None),
        Some(b) => (None, Some(b.make()?)),
        None => (None, None),
    };
    // A socket pair, not a pipe: the go-ahead is sent with MSG_NOSIGNAL, so an init
    // that died never raises SIGPIPE in a host that does not ignore it (C).
    let sync = match plan.net_handover || plan.userns.is_some() || later.is_some() {
        true => Some(sync_pair()?),
        false => None,
    };
    let root = nix::unistd::geteuid().is_root();
    // On error the group is dropped here, which removes it.
    let entry = group.as_ref().map(|g| g.placement().open()).transpose()?.unwrap_or_default();
    plan_entry(&mut plan, &entry);
    if let Some(b) = &later {
        plan_entry_later(&mut plan, b)?;
    }
    if let (Some(g), Some(u)) = (&group, &plan.userns) {
        // On v2 the program is started in its group by the init, with the init's
        // credentials: the sandbox's root must be able to write there.
        if root {
            g.delegate_program(u.root_outside(&u.uid), u.root_outside(&u.gid))?;
        }
    }
    if later.is_none() {
        fault::at(plan.fault, Who::Supervisor, Stage::Cgroup);
    }
    let trees = match plan.userns.is_some() && root && !cmd.sandbox.no_idmap {
        true => trees::prepare(&mut plan.fs)?,
        false => Vec::new(),
    };

    // Declared before the `Child`, so dropped after it (see `launch::Stacks`).
    let shared = shared_launch(plan.fault)?;
    // Taken out before the clone: an init in the supervisor's memory reads the plan
    // meanwhile, which must not change.
    let id_lease = plan.userns.as_mut().and_then(|u| u.lease.take());

    let started = Instant::now();
    let deadline = cmd.sandbox.timeout.map(|t| deadline_after(sys::monotonic_now(), t));
    let fds = ChildFds {
        report: report_wr.as_raw_fd(),
        sync: sync.as_ref().map_or(-1, |(r, _)| r.as_raw_fd()),
        stdio: io.child_raw(),
        deadline,
    };
    // The init inherits the leases' locks too: what the sandbox holds stays held
    // as long as it lives, whatever happens to the supervisor.
    let lease_fds = id_lease.as_ref().map(|l| l.raw_fd());
    let lease_fds = lease_fds.into_iter().chain(net.as_ref().map(|n| n.lease.raw_fd()));
    plan.lease_fds = lease_fds.chain(how.leases.iter().map(|l| l.raw_fd())).collect();
    plan.keep_fds = [0, 1, 2, fds.report, fds.sync]
        .into_iter()
        .chain(shared.as_ref().map(|s| s.exe.as_raw_fd()))
        .chain(fds.stdio)
        .chain(trees.iter().map(|t| t.raw()))
        .chain(plan.lease_fds.iter().copied())
        .chain(entry_fds(&plan))
        .filter(|fd| *fd >= 0)
        .collect();
    plan.keep_fds.sort_unstable();
    let v2_fd = group.as_ref().and_then(|g| g.v2_fd()).map(|fd| fd.as_raw_fd());
    let launch = launch_of(&shared, &plan, &fds);
    // On error the group is dropped here, which removes it.
    let entered = kept.as_ref().map(net::Entered::enter).transpose()?;
    let forked = child::fork_init(&plan, &fds, v2_fd, launch.as_ref().map(|(l, s)| (l, *s)));
    let left = entered.map(net::Entered::leave).transpose();
    let ((pid, pidfd), left) = match (forked, left) {
        (Ok(init), left) => (init, left),
        // This thread still being in the sandbox's namespace is the worse news.
        (Err(_), Err(e)) => return Err(e),
        (Err(e), Ok(_)) => return Err(clone_error(e)),
    };
    fault::at(plan.fault, Who::Supervisor, Stage::Clone);
    drop(entry);
    drop(report_wr);
    io.close_child_ends();
    let go = sync.map(|(r, w)| {
        drop(r);
        w
    });

    let mut child = Child::new(pid, pidfd, report_rd, started, group);
    child.kept_net = kept;
    if let Err(e) = left {
        // This thread is still in the sandbox's network namespace: say so.
        return Err(root_cause(child, &plan, cmd, e));
    }
    child.stdin = io.stdin.take();
    child.stdout = io.stdout.take();
    child.stderr = io.stderr.take();
    if let (Some(u), Some(go)) = (plan.userns.as_ref(), go.as_ref()) {
        let done = (|| {
            write_id_maps(pid, u)?;
            raise_limits(pid, &plan.rlimits)?;
            trees::idmap(pid, &trees)?;
            fault::at(plan.fault, Who::Supervisor, Stage::Sync);
            send_go(go, b'u')
        })();
        drop(trees);
        if let Err(e) = done {
            return Err(root_cause(child, &plan, cmd, e));
        }
    }
    if let (Some(blueprint), Some(go)) = (later, go.as_ref()) {
        if let Err(e) = make_groups(&mut child, blueprint, &plan, go) {
            return Err(root_cause(child, &plan, cmd, e));
        }
    }
    child.leases.extend(id_lease);
    let mut record = read_record(child.report_fd());
    if let (Some(prepared), Some(go), true) = (net.as_mut(), go, plan.net_handover) {
        match record {
            Some(Record { kind: Kind::Netlink, value, .. }) => {
                let done = (|| {
                    let inside = sys::pidfd_getfd(child.pidfd_raw(), value).map_err(|e| Error::os("pidfd_getfd", e))?;
                    child.net_address = Some(net::attach(prepared, pid as u32, inside)?);
                    fault::at(plan.fault, Who::Supervisor, Stage::Network);
                    send_go(&go, b'g')
                })();
                if let Err(e) = done {
                    return Err(root_cause(child, &plan, cmd, e));
                }
                record = read_record(child.report_fd());
            }
            Some(Record { kind: Kind::Error, .. }) | None => {}
            Some(other) => return Err(Error::InitDied(format!("unexpected report {other:?}"))),
        }
    }
    child.leases.extend(net.map(|n| n.lease));
    child.leases.append(&mut how.leases);
    match record {
        Some(Record { kind: Kind::Started, .. }) => {
            let started = Started {
                cgroups: child.cgroup_dirs(),
                placement: child.cgroup_placement(),
                userns: plan.userns.is_some(),
                namespaces: namespaces_of(&plan),
            };
            Ok((child, started))
        }
        Some(Record { kind: Kind::TimedOut, .. }) => {
            // The timeout passed during setup: the init has ended everything.
            Err(Error::Setup { stage: Stage::Exec, errno: Errno::ETIMEDOUT, path: None })
        }
        Some(rec @ Record { kind: Kind::Error, .. }) => {
            let err = setup_error(rec, &plan, cmd);
            drop(child); // kills and reaps what is left of the sandbox
            Err(err)
        }
        other => {
            let how = match child.reap() {
                Ok(e) if e.code == libc::CLD_EXITED => format!("exit code {}", e.status),
                Ok(e) => format!("signal {}", e.status),
                Err(e) => format!("{e}"),
            };
            Err(Error::InitDied(format!("{how}, report {other:?}")))
        }
    }
}

/// The stacks and the init program that let the init (or a joiner) run in this
/// process's memory, where it can (see `child::fork_init`); `None`: it is a copy.
/// (`CONTAINMENT_FAULT=einval:clone` makes it a copy, as where no memfd may be
/// executable, to test that path on any host.)
fn shared_launch(fault: Option<fault::Fault>) -> Result<Option<launch::Shared>> {
    if fault::einval(fault, Stage::Clone) {
        return Ok(None);
    }
    #[cfg(containment_exec_init)]
    if let Some(exe) = launch::init_program() {
        let stacks = launch::Stacks::new()?;
        return Ok(Some(launch::Shared { stacks, exe, in_flight: dumpable::InFlight::enter() }));
    }
    Ok(None)
}

/// What `child::fork_init` needs to start the init in this memory, from
/// [`shared_launch`]'s stacks and init program.
fn launch_of<'a>(
    shared: &'a Option<launch::Shared>,
    plan: &'a Plan,
    fds: &'a ChildFds,
) -> Option<(child::Launch<'a>, child::StackArea)> {
    shared.as_ref().map(|s| {
        let launch = child::Launch {
            plan,
            fds,
            exe: s.exe.as_raw_fd(),
            program_stack: s.stacks.program(),
            dumpable: s.in_flight.dumpable(),
        };
        (launch, s.stacks.init())
    })
}

/// The go-ahead channel: (the init's end, the supervisor's end).
fn sync_pair() -> Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC)
        .map_err(|e| Error::os("socketpair", e))
}

/// Sends one go-ahead byte, never raising SIGPIPE.
fn send_go(go: &std::os::fd::OwnedFd, byte: u8) -> Result<()> {
    sys::send_nosignal(go.as_raw_fd(), &[byte]).map(drop).map_err(|e| Error::os("send", e))
}

/// What made a setup step of the supervisor fail after `clone3`: the init's own
/// failure when it reported one (a step then fails only because the init is gone),
/// else the step's error. The init is killed and reaped either way.
fn root_cause(mut child: Child, plan: &Plan, cmd: &Command, step: Error) -> Error {
    // ESRCH (pidfd_getfd) and EPIPE (the go-ahead) mean the init is gone or going.
    let init_went = matches!(step.errno(), Some(libc::ESRCH) | Some(libc::EPIPE));
    let mut pfd = [libc::pollfd { fd: child.pidfd_raw(), events: libc::POLLIN, revents: 0 }];
    let gone_before = init_went || (sys::poll(&mut pfd, 0).is_ok() && pfd[0].revents != 0);
    let _ = child.kill();
    let ended = child.reap();
    loop {
        match read_record(child.report_fd()) {
            Some(rec @ Record { kind: Kind::Error, .. }) => return setup_error(rec, plan, cmd),
            Some(_) => continue,
            None if gone_before => {
                let how = match ended {
                    Ok(e) if e.code == libc::CLD_EXITED => format!("exit code {}", e.status),
                    Ok(e) => format!("signal {}", e.status),
                    Err(e) => e.to_string(),
                };
                return Error::InitDied(format!("{how}, during setup ({step})"));
            }
            None => return step,
        }
    }
}

/// Checks and names the sandbox's cgroup when its limits need one.
fn cgroup_for(cmd: &Command, name: Option<&str>) -> Result<Option<Blueprint>> {
    let limits = &cmd.sandbox.limits;
    if limits.controllers().is_empty() {
        // No group to make; a parent given all the same must still exist.
        if let Some(p) = &cmd.sandbox.cgroup_parent {
            Group::check_parent_exists(&Parent::given(p)?)?;
        }
        return Ok(None);
    }
    let parent = match &cmd.sandbox.cgroup_parent {
        Some(p) => Parent::given(p)?,
        None if !nix::unistd::geteuid().is_root() => {
            return Err(Error::NeedsPrivilege {
                feature: "cgroup limits (memory, cpus, pids, cpu quota and weight)",
                how: "run as root, or give a writable delegated cgroup with cgroup_parent".into(),
            })
        }
        None => Parent::default_parent(),
    };
    Blueprint::check(limits, &parent, name).map(Some)
}

/// Makes the v1 groups of `blueprint` after the clone, while the init builds the
/// root, gives them to `child` (which removes them), and sends the init the
/// go-ahead with a descriptor of each `tasks` file to enter, in the plan's order
/// (`Plan::later_tasks`): the init and the program enter them before the program
/// starts. Making them took 0.3-0.7 ms (four groups, more where the default
/// parents are made too) that the spawn waited for before the clone.
fn make_groups(child: &mut Child, blueprint: Blueprint, plan: &Plan, go: &std::os::fd::OwnedFd) -> Result<()> {
    let files = blueprint.tasks_files();
    let group = blueprint.make()?;
    child.set_group(group);
    if fault::einval(plan.fault, Stage::Cgroup) {
        return Err(Error::os("open", Errno::EINVAL));
    }
    let flags = OFlag::O_WRONLY | OFlag::O_CLOEXEC;
    let opened = files
        .iter()
        .map(|f| {
            let path = f.mount.join(&f.rel);
            nix::fcntl::open(&path, flags, nix::sys::stat::Mode::empty()).map_err(|e| Error::os_path("open", path, e))
        })
        .collect::<Result<Vec<_>>>()?;
    fault::at(plan.fault, Who::Supervisor, Stage::Cgroup);
    let raw: Vec<std::os::fd::RawFd> = opened.iter().map(|fd| fd.as_raw_fd()).collect();
    sys::send_with_fds(go.as_raw_fd(), b"c", &raw).map(drop).map_err(|e| Error::os("sendmsg", e))
}

/// Tells the plan which descriptors the init (v1 groups) and the program enter
/// their groups through; they stay open in the supervisor until the clone.
fn plan_entry(plan: &mut Plan, entry: &Entry) {
    for (fd, path) in &entry.enter {
        plan.fs.paths.push(path.clone());
        plan.cgroup_enter.push((fd.as_raw_fd(), (plan.fs.paths.len() - 1) as i32));
    }
    if let Some((fd, path)) = &entry.program {
        plan.fs.paths.push(path.clone());
        plan.program_cgroup = Some((fd.as_raw_fd(), (plan.fs.paths.len() - 1) as i32));
        plan.program_cgroup_dir = entry.program_dir;
    }
    for (fd, path) in &entry.program_enter {
        plan.fs.paths.push(path.clone());
        plan.program_enter.push((fd.as_raw_fd(), (plan.fs.paths.len() - 1) as i32));
    }
}

/// Tells the plan which `tasks` files the init and the program enter when the
/// group is made after the clone, in the order their descriptors are sent.
fn plan_entry_later(plan: &mut Plan, blueprint: &Blueprint) -> Result<()> {
    let files = blueprint.tasks_files();
    if files.len() > plan::MAX_LATER {
        return Err(Error::InvalidConfig(format!("{} cgroup hierarchies to enter", files.len())));
    }
    for f in files {
        plan.fs.paths.push(f.mount.join(&f.rel));
        plan.later_tasks.push(plan::LaterTasks { program: f.program, path: (plan.fs.paths.len() - 1) as i32 });
    }
    Ok(())
}

/// The descriptors of [`plan_entry`], which the init keeps.
fn entry_fds(plan: &Plan) -> impl Iterator<Item = std::os::fd::RawFd> + '_ {
    let program = plan.program_enter.iter().map(|(fd, _)| *fd).chain(plan.program_cgroup.map(|(fd, _)| fd));
    plan.cgroup_enter.iter().map(|(fd, _)| *fd).chain(program)
}

/// The namespaces a program joining the sandbox enters (all the init has; the
/// program makes its own cgroup namespace, as the main program does).
fn namespaces_of(plan: &Plan) -> libc::c_int {
    plan.clone_flags as libc::c_int
}

/// Runs `cmd` in the running sandbox `target`: a joiner process enters its
/// namespaces and cgroups and starts the program there.
fn join(target: &crate::running::JoinTarget, cmd: &mut Command, defaults: Defaults) -> Result<Child> {
    fill_standard_fds()?;
    let mut plan = Plan::compile(cmd)?;
    plan.join = Some(plan::Join { pidfd: target.pidfd.as_raw_fd(), namespaces: target.namespaces });
    plan.ns_root = target.userns;
    let entry = target.placement.open()?;
    plan_entry(&mut plan, &entry);
    let v2 = match &target.placement.start_in {
        Some(dir) => {
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
            Some(
                nix::fcntl::open(dir, flags, nix::sys::stat::Mode::empty())
                    .map_err(|e| Error::os_path("open", dir, e))?,
            )
        }
        None => None,
    };
    let mut io = StdioFds::new(cmd, defaults)?;
    let (report_rd, report_wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| Error::os("pipe2", e))?;
    let fds = ChildFds { report: report_wr.as_raw_fd(), sync: -1, stdio: io.child_raw(), deadline: None };
    // Declared before the `Child`, so dropped after it (see `launch::Stacks`).
    let shared = shared_launch(plan.fault)?;
    plan.keep_fds = [0, 1, 2, fds.report, target.pidfd.as_raw_fd()]
        .into_iter()
        .chain(shared.as_ref().map(|s| s.exe.as_raw_fd()))
        .chain(fds.stdio)
        .chain(entry_fds(&plan))
        .filter(|fd| *fd >= 0)
        .collect();
    plan.keep_fds.sort_unstable();
    let started = Instant::now();
    let launch = launch_of(&shared, &plan, &fds);
    let v2_fd = v2.as_ref().map(|fd| fd.as_raw_fd());
    let (pid, pidfd) =
        child::fork_init(&plan, &fds, v2_fd, launch.as_ref().map(|(l, s)| (l, *s))).map_err(clone_error)?;
    drop(entry);
    drop(report_wr);
    io.close_child_ends();
    let mut child = Child::new(pid, pidfd, report_rd, started, None);
    child.stdin = io.stdin.take();
    child.stdout = io.stdout.take();
    child.stderr = io.stderr.take();
    child.oom_watch = target.placement.program.as_deref().and_then(crate::cgroup::OomWatch::start);
    match read_record(child.report_fd()) {
        Some(Record { kind: Kind::Started, .. }) => Ok(child),
        Some(rec @ Record { kind: Kind::Error, .. }) => Err(setup_error(rec, &plan, cmd)),
        other => {
            let how = child.reap().map(|e| e.status);
            Err(Error::InitDied(format!("the joiner ended ({how:?}) with report {other:?}")))
        }
    }
}

/// Opens `/dev/null` on each of this process's descriptors 0, 1 and 2 that is
/// closed (a daemon's may be), as a Rust program's runtime does at its start: the
/// pipes and files a spawn makes for its sandbox must not take those numbers,
/// which the sandbox's processes reserve for the program's standard streams (the
/// init closes its copies of them, the program connects its own there). Left
/// open afterwards.
pub(crate) fn fill_standard_fds() -> Result<()> {
    if (0..3).all(sys::fd_is_open) {
        return Ok(());
    }
    // The kernel gives the lowest free number: open until one is above 2, keeping
    // those below (also right when other threads fill or open meanwhile).
    loop {
        let null = nix::fcntl::open("/dev/null", OFlag::O_RDWR, nix::sys::stat::Mode::empty())
            .map_err(|e| Error::os_path("open", "/dev/null", e))?;
        if null.as_raw_fd() > 2 {
            return Ok(()); // closed as it is dropped
        }
        // Stays open as this process's descriptor 0, 1 or 2.
        std::mem::forget(null);
    }
}

/// Raises the init's hard limits where the plan asks for more than the supervisor
/// has: inside its user namespace the sandbox lacks the `CAP_SYS_RESOURCE` that
/// takes (the supervisor has it, or the plan was refused). The program inherits
/// them and sets the same values itself.
fn raise_limits(pid: libc::pid_t, rlimits: &[(libc::c_int, u64, u64)]) -> Result<()> {
    for &(resource, soft, hard) in rlimits {
        // Only raising needs this: compare with the supervisor's own hard limit.
        let own = sys::hard_limit(resource).unwrap_or(u64::MAX);
        if hard > own {
            sys::prlimit(pid, resource, soft, hard).map_err(|e| Error::os("prlimit", e))?;
        }
    }
    Ok(())
}

/// Writes the user namespace's maps of the init `pid` (after `setgroups` is denied
/// when that is required).
fn write_id_maps(pid: libc::pid_t, u: &Resolved) -> Result<()> {
    let write = |file: &str, text: &str| {
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        std::fs::write(&path, text)
            .map_err(|e| Error::os_path("write", path, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))))
    };
    if u.deny_setgroups {
        write("setgroups", "deny")?;
    }
    write("uid_map", &Resolved::map_text(&u.uid))?;
    write("gid_map", &Resolved::map_text(&u.gid))
}

/// `now + t` as a `timespec`, saturating far in the future.
fn deadline_after(now: libc::timespec, t: std::time::Duration) -> libc::timespec {
    let nanos = now.tv_nsec as u64 + u64::from(t.subsec_nanos());
    let secs = (now.tv_sec as u64).saturating_add(t.as_secs()).saturating_add(nanos / 1_000_000_000);
    libc::timespec {
        tv_sec: secs.min(i64::MAX as u64 / 2) as libc::time_t,
        tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
    }
}

fn clone_error(e: Errno) -> Error {
    match e {
        Errno::EPERM => Error::Unsupported {
            feature: "namespaces",
            reason: "creating mount, PID, UTS, IPC, network and cgroup namespaces needs CAP_SYS_ADMIN; \
                     run as root"
                .into(),
        },
        Errno::ENOSYS => Error::Unsupported { feature: "clone3", reason: "this kernel is older than Linux 5.3".into() },
        e => Error::Setup { stage: Stage::Clone, errno: e, path: None },
    }
}

/// Turns an error record from the init into the error it stands for.
fn setup_error(rec: Record, plan: &Plan, cmd: &Command) -> Error {
    let errno = Errno::from_raw(rec.errno);
    let stage = Stage::from_raw(rec.stage).unwrap_or(Stage::Prepare);
    if stage == Stage::Exec {
        let program = PathBuf::from(&cmd.program);
        return match errno {
            Errno::ENOENT | Errno::ENOTDIR => Error::ProgramNotFound { program },
            errno => Error::NotExecutable { program, errno },
        };
    }
    if stage == Stage::MountPrivate && errno == Errno::EINVAL {
        return Error::Unsupported {
            feature: "a sandbox spawned by a process whose root is not a mount point",
            reason: "the sandbox's mount tree must be made private from `/`, which needs `/` to be a mount point \
                     (is this process in a plain chroot?); bind-mount the chroot directory onto itself before \
                     entering it"
                .into(),
        };
    }
    if stage == Stage::PivotRoot && errno == Errno::EPERM && plan.keep_caps & (1 << crate::child::CAP_SYS_CHROOT) != 0 {
        return Error::Unsupported {
            feature: "keeping CAP_SYS_CHROOT",
            reason: "pivot_root cannot work here (the root is an initramfs, or this process's root is not a mount \
                     point), and in the chroot used instead the capability would let the program climb out to \
                     the host's root; drop sys_chroot from the capabilities kept"
                .into(),
        };
    }
    let path = match rec.value {
        PATH_CWD => Some(PathBuf::from(OsStr::from_bytes(plan.cwd.as_bytes()))),
        PATH_PROGRAM => Some(plan.program.clone()),
        i if i >= 0 => plan.fs.paths.get(i as usize).cloned(),
        _ => None,
    };
    Error::Setup { stage, errno, path }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn deadlines_carry_nanoseconds_and_saturate() {
        let now = libc::timespec { tv_sec: 10, tv_nsec: 900_000_000 };
        let d = deadline_after(now, Duration::from_millis(250));
        assert_eq!((d.tv_sec, d.tv_nsec), (11, 150_000_000));
        let far = deadline_after(now, Duration::MAX);
        assert!(far.tv_sec > 1 << 40);
    }
}
