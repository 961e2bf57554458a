//! Long-lived sandboxes: `Sandbox::start`, `Command::start`, programs run in them
//! with `Running::command`, `stop`, named state and what is left after. They need
//! root; without it they are skipped, unless `CONTAINMENT_MUST_WORK=1`.
//!
//! Every test names its sandbox uniquely (`ctmtest-<tag>-<pid>-<run>-<n>`) and holds a
//! [`Cleanup`] guard, so that a failed assertion still stops what it started.
//! Programs run in the sandboxes get pipes or `/dev/null`, never the harness's
//! descriptors.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use containment::{Error, ExitStatus, MemoryLimit, Net, Running, Sandbox, Stage, Stdio};
use nix::fcntl::OFlag;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

mod cgroups;
mod common;
mod named;

use common::{require_root, HostMounts};
use named::{assert_nothing_left, cgroup_dirs, pid_ns, processes_in, reap, state_dir, unique_name, Cleanup};

fn memory(text: &str) -> MemoryLimit {
    text.parse().expect("a memory limit")
}

/// A pipe whose ends are close-on-exec.
fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).expect("pipe2")
}

/// Runs `sh -c script` in `running` (stdin null, output piped); returns its
/// standard output once it exited with 0.
fn sh(running: &Running, script: &str) -> String {
    let out = running.command("/bin/sh").args(["-c", script]).output().expect("running a program in the sandbox");
    common::assert_exit(&out, 0);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The main program of a sandbox as a shell reading commands from a pipe, so that
/// a test can look at the sandbox from the main program's side.
struct Shell {
    input: File,
    output: BufReader<File>,
}

impl Shell {
    /// Starts `sandbox` with an interactive-less `/bin/sh` as its main program.
    fn start(sandbox: &Sandbox) -> (Running, Shell) {
        let (in_r, in_w) = pipe();
        let (out_r, out_w) = pipe();
        let mut cmd = sandbox.command("/bin/sh");
        cmd.stdin(Stdio::from(in_r)).stdout(Stdio::from(out_w)).stderr(Stdio::null());
        let running = cmd.start().expect("starting the sandbox with its main program");
        // The command's copies of the pipe ends go now: the shell holds its own.
        drop(cmd);
        (running, Shell { input: File::from(in_w), output: BufReader::new(File::from(out_r)) })
    }

    /// Runs `script` in the main program; returns what it printed.
    fn run(&mut self, script: &str) -> String {
        const END: &str = "@@end-of-output@@";
        writeln!(self.input, "{script}\necho {END}").expect("writing to the main program");
        let mut out = String::new();
        loop {
            let mut line = String::new();
            let n = self.output.read_line(&mut line).expect("reading the main program's output");
            assert!(n > 0, "the main program ended; it printed {out:?}");
            if line.trim_end() == END {
                return out;
            }
            out.push_str(&line);
        }
    }
}

/// The interface names of a `/proc/net/dev` text, sorted.
fn interfaces(proc_net_dev: &str) -> Vec<String> {
    let mut names: Vec<String> =
        proc_net_dev.lines().skip(2).filter_map(|l| Some(l.split(':').next()?.trim().to_string())).collect();
    names.sort();
    names
}

#[test]
fn programs_run_in_a_sandbox_share_its_root_names_network_and_pids() {
    require_root!();
    let mounts = HostMounts::snapshot();
    let name = unique_name("share");
    let _cleanup = Cleanup::new(&name);
    let sandbox = Sandbox::new().name(&name).hostname("shared-host").net(Net::none());
    let (running, mut main) = Shell::start(&sandbox);
    let init = running.pid();
    let ns = pid_ns(init).expect("the init's PID namespace");

    // The same host name and network (only lo) as the main program.
    assert_eq!(main.run("hostname"), "shared-host\n");
    assert_eq!(sh(&running, "hostname"), "shared-host\n");
    let main_dev = main.run("cat /proc/net/dev");
    let exec_dev = sh(&running, "cat /proc/net/dev");
    assert_eq!(interfaces(&main_dev), ["lo"]);
    assert_eq!(interfaces(&exec_dev), ["lo"]);

    // The very same namespaces (but the cgroup one, which each program makes).
    let links = "for n in mnt uts ipc net pid user; do readlink /proc/self/ns/$n; done";
    let main_ns = main.run(links);
    assert_eq!(main_ns.lines().count(), 6, "{main_ns}");
    assert_eq!(sh(&running, links), main_ns);
    let host_view: String = ["mnt", "uts", "ipc", "net", "pid", "user"]
        .iter()
        .map(|n| format!("{}\n", std::fs::read_link(format!("/proc/{init}/ns/{n}")).unwrap().display()))
        .collect();
    assert_eq!(main_ns, host_view, "the init's namespaces, seen from the host");

    // The same filesystem: files go both ways.
    main.run("echo from-main > /tmp/main-file");
    assert_eq!(sh(&running, "cat /tmp/main-file; echo from-exec > /tmp/exec-file"), "from-main\n");
    assert_eq!(main.run("cat /tmp/exec-file"), "from-exec\n");
    assert!(!std::path::Path::new("/tmp/main-file").exists(), "the sandbox's /tmp is its own");

    // The same PID namespace: the init is PID 1 for both, and they see each other.
    let main_pid: u32 = main.run("echo $$").trim().parse().unwrap();
    assert!(main_pid > 1);
    let seen = sh(&running, &format!("echo $$; tr '\\0' ' ' < /proc/1/cmdline | wc -c; cat /proc/{main_pid}/comm"));
    let seen: Vec<&str> = seen.lines().collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    let exec_pid: u32 = seen[0].parse().unwrap();
    assert!(exec_pid > 1 && exec_pid != main_pid, "{seen:?}");
    assert!(seen[1].parse::<u32>().unwrap() > 0, "/proc/1/cmdline is empty: {seen:?}");
    assert_eq!(seen[2], "sh");
    let mut waiting = running
        .command("/bin/sh")
        .args(["-c", "echo $$; read line; exit 0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waiting_pid: u32 = common::read_line_from(&mut waiting).parse().unwrap();
    assert_eq!(main.run(&format!("cat /proc/{waiting_pid}/comm")), "sh\n");
    assert_eq!(main.run("cat /proc/1/cmdline | wc -c").trim(), seen[1]);
    mounts.assert_unchanged();
    drop(waiting.stdin.take());
    assert_eq!(waiting.wait().unwrap().status, ExitStatus::Exited(0));

    // The main program ends when its input closes, and the sandbox with it.
    drop(main);
    let mut running = running;
    assert_eq!(running.wait().unwrap().status, ExitStatus::Exited(0));
    drop(running);
    mounts.assert_unchanged();
    assert_nothing_left(&name, init, &ns);
}

#[test]
fn a_file_written_by_one_program_is_seen_by_the_next() {
    require_root!();
    let name = unique_name("files");
    let _cleanup = Cleanup::new(&name);
    let running = Sandbox::new().name(&name).start().unwrap();
    let (init, ns) = (running.pid(), pid_ns(running.pid()).unwrap());
    let file = format!("/tmp/{name}");
    assert_eq!(sh(&running, &format!("echo one > {file}")), "");
    assert_eq!(sh(&running, &format!("cat {file}; echo two >> {file}")), "one\n");
    assert_eq!(sh(&running, &format!("cat {file}")), "one\ntwo\n");
    assert!(!std::path::Path::new(&file).exists(), "{file} is the sandbox's, not the host's");
    assert_eq!(running.stop(Duration::from_secs(5)).unwrap().map(|o| o.status), Some(ExitStatus::Signaled(9)));
    assert_nothing_left(&name, init, &ns);
}

/// The OOM kills counted in the memory group of the sandbox `name`.
fn oom_kills(name: &str) -> u64 {
    let dir = cgroup_dirs(name)
        .into_iter()
        .find(|d| d.join("memory.max_usage_in_bytes").exists() || d.join("program").exists());
    let dir = dir.unwrap_or_else(|| panic!("no memory group of {name}"));
    let (file, dir) = match dir.join("program").is_dir() {
        true => ("memory.events", dir.join("program")),
        false => ("memory.oom_control", dir),
    };
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    text.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[test]
fn a_program_run_in_a_sandbox_is_held_by_its_memory_limit() {
    let _layout = cgroups::require_cgroups!();
    let name = unique_name("oom");
    let _cleanup = Cleanup::new(&name);
    let running = Sandbox::new().name(&name).memory(memory("32M")).start().unwrap();
    let (init, ns) = (running.pid(), pid_ns(running.pid()).unwrap());
    assert_eq!(oom_kills(&name), 0);
    // tail keeps the whole "line" it reads from /dev/zero: it grows until killed.
    let hog = running.command("/usr/bin/tail").arg("/dev/zero").output().unwrap();
    assert_eq!(hog.status, ExitStatus::Signaled(libc::SIGKILL), "{}", String::from_utf8_lossy(&hog.stderr));
    // The kernel's counter is the sandbox's: the memory group is shared.
    assert_eq!(oom_kills(&name), 1);
    // The sandbox goes on: another program runs in it.
    assert_eq!(sh(&running, "echo alive"), "alive\n");
    // Its init ("the main program", here none) is killed by the stop; its outcome
    // reads the shared counter.
    let outcome = running.stop(Duration::from_secs(5)).unwrap().expect("the outcome of a sandbox started here");
    assert_eq!((outcome.status, outcome.oom_killed), (ExitStatus::Signaled(libc::SIGKILL), true));
    assert_nothing_left(&name, init, &ns);
}

/// The `Outcome` of a program run with `Running::command` says when the OOM
/// killer struck in the sandbox's memory group while it ran.
#[test]
fn an_oom_killed_program_run_in_a_sandbox_says_so() {
    let _layout = cgroups::require_cgroups!();
    let name = unique_name("oom-report");
    let _cleanup = Cleanup::new(&name);
    let running = Sandbox::new().name(&name).memory(memory("32M")).start().unwrap();
    let hog = running.command("/usr/bin/tail").arg("/dev/zero").output().unwrap();
    assert_eq!((hog.status, hog.oom_killed), (ExitStatus::Signaled(libc::SIGKILL), true));
}

#[test]
fn the_main_program_and_programs_run_in_a_sandbox_share_its_pids_limit() {
    let _layout = cgroups::require_cgroups!();
    let name = unique_name("pids");
    let _cleanup = Cleanup::new(&name);
    let sandbox = Sandbox::new().name(&name).pids(8);
    let (running, mut main) = Shell::start(&sandbox);
    let (init, ns) = (running.pid(), pid_ns(running.pid()).unwrap());
    // The main program: the shell and two sleeps, three of the eight.
    main.run("sleep 1000 & sleep 1000 &");
    assert_eq!(processes_in(&ns).len(), 4, "the init and the main program's three");
    // Each program run in the sandbox takes two: itself, and the joiner that
    // starts it from outside, which is in the sandbox's groups too.
    let mut programs = Vec::new();
    let refused = loop {
        let spawned = running
            .command("/bin/sh")
            .args(["-c", "read line; exit 0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match spawned {
            Ok(child) => programs.push(child),
            Err(e) => break e,
        }
        assert!(programs.len() <= 8, "the pids limit does not hold");
    };
    assert!(
        matches!(refused, Error::Setup { stage: Stage::Fork, errno: nix::errno::Errno::EAGAIN, .. }),
        "{refused:?}"
    );
    assert_eq!(programs.len(), 2);
    let pids_dir = cgroup_dirs(&name).into_iter().find(|d| d.join("pids.max").exists()).expect("a pids group");
    let current = |f: &str| std::fs::read_to_string(pids_dir.join(f)).unwrap().trim().to_string();
    // The init counts too: the group allows it one more. The third joiner took
    // the ninth, so its program found none left, and it is gone since.
    assert_eq!((current("pids.max"), current("pids.current")), ("9".to_string(), "8".to_string()));
    // One ends: one more can start.
    let mut first = programs.remove(0);
    drop(first.stdin.take());
    assert_eq!(first.wait().unwrap().status, ExitStatus::Exited(0));
    let ended = named::eventually(Duration::from_secs(5), || current("pids.current") == "6");
    assert!(ended, "pids.current is {}", current("pids.current"));
    let mut again = running.command("/bin/true").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    assert_eq!(again.wait().unwrap().status, ExitStatus::Exited(0));
    for mut p in programs {
        drop(p.stdin.take());
        assert_eq!(p.wait().unwrap().status, ExitStatus::Exited(0));
    }
    drop(main);
    running.stop(Duration::from_secs(5)).unwrap();
    assert_nothing_left(&name, init, &ns);
}

/// Starts `sh -c script` in `running`, with its output piped, and waits for its
/// first line, `ready`.
fn start_ready(running: &Running, script: &str) -> containment::Child {
    let mut child = running
        .command("/bin/sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(common::read_line_from(&mut child), "ready");
    child
}

#[test]
fn stop_lets_a_program_that_handles_sigterm_finish() {
    require_root!();
    let mounts = HostMounts::snapshot();
    let name = unique_name("stop-term");
    let _cleanup = Cleanup::new(&name);
    let running = Sandbox::new().name(&name).pids(32).start().unwrap();
    let (init, ns) = (running.pid(), pid_ns(running.pid()).unwrap());
    let script = "trap 'echo bye > /tmp/bye; cat /tmp/bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done";
    let mut child = start_ready(&running, script);
    assert!(!cgroup_dirs(&name).is_empty() && state_dir(&name).join("state").exists());
    mounts.assert_unchanged();
    let grace = Duration::from_secs(5);
    let started = Instant::now();
    running.stop(grace).unwrap();
    let took = started.elapsed();
    assert!(took < grace, "stop took {took:?}");
    let mut rest = String::new();
    child.stdout.take().unwrap().read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "bye\n");
    assert_eq!(child.wait().unwrap().status, ExitStatus::Exited(0));
    mounts.assert_unchanged();
    assert_nothing_left(&name, init, &ns);
}

#[test]
fn stop_kills_a_program_that_ignores_sigterm_after_the_grace_period() {
    require_root!();
    let name = unique_name("stop-kill");
    let _cleanup = Cleanup::new(&name);
    let running = Sandbox::new().name(&name).pids(32).start().unwrap();
    let (init, ns) = (running.pid(), pid_ns(running.pid()).unwrap());
    let mut child = start_ready(&running, "trap '' TERM; echo ready; while :; do sleep 0.05; done");
    let grace = Duration::from_secs(1);
    let started = Instant::now();
    running.stop(grace).unwrap();
    let took = started.elapsed();
    assert!(took >= grace && took < grace + Duration::from_secs(2), "stop took {took:?}");
    assert_eq!(child.wait().unwrap().status, ExitStatus::Signaled(libc::SIGKILL));
    assert_nothing_left(&name, init, &ns);
}

#[test]
fn a_killed_init_leaves_stale_state_that_open_detects_and_cleans() {
    let _layout = cgroups::require_cgroups!();
    let _serial = common::serial();
    let name = unique_name("stale-open");
    let mut running = Sandbox::new().name(&name).memory(memory("64M")).pids(16).persistent(true).start().unwrap();
    let (init, ns) = (running.pid(), pid_ns(running.pid()).unwrap());
    let _cleanup = named::Cleanup::with_init(&name, init);
    running.detach().unwrap();
    drop(running);
    assert!(!cgroup_dirs(&name).is_empty());
    assert!(Running::open(&name).is_ok(), "it runs");

    kill(Pid::from_raw(init as i32), Signal::SIGKILL).unwrap();
    reap(init);
    // The state and the groups are stale now, unless a `list()` of another
    // process came first: it cleans stale state too (this binary's tests that call
    // it hold the lock).
    let stale = state_dir(&name).join("state").exists();
    match Running::open(&name) {
        Err(Error::InvalidConfig(m)) => assert_eq!(m, format!("no sandbox named {name} is running")),
        other => panic!("open of a dead sandbox: {other:?}"),
    }
    if !stale {
        // `list()` leaves the name's directory, empty (a library bug).
        let _ = std::fs::remove_dir(state_dir(&name));
    }
    assert_nothing_left(&name, init, &ns);
    assert!(!containment::list().unwrap().iter().any(|s| s.name == name));

    // The name is free again.
    let running = Sandbox::new().name(&name).memory(memory("64M")).start().unwrap();
    let (init2, ns2) = (running.pid(), pid_ns(running.pid()).unwrap());
    assert_eq!(sh(&running, "echo again"), "again\n");
    running.stop(Duration::from_secs(5)).unwrap();
    assert_nothing_left(&name, init2, &ns2);
}

#[test]
fn a_killed_init_leaves_stale_state_that_the_next_start_cleans() {
    let _layout = cgroups::require_cgroups!();
    let _serial = common::serial();
    let name = unique_name("stale-start");
    let mut running = Sandbox::new().name(&name).pids(16).persistent(true).start().unwrap();
    let init = running.pid();
    let _cleanup = named::Cleanup::with_init(&name, init);
    running.detach().unwrap();
    drop(running);
    kill(Pid::from_raw(init as i32), Signal::SIGKILL).unwrap();
    reap(init);
    // Its state is stale now (unless a `list()` elsewhere already cleaned it).

    let running = Sandbox::new().name(&name).pids(4).start().expect("a start over stale state");
    let (init2, ns2) = (running.pid(), pid_ns(running.pid()).unwrap());
    let listed: Vec<_> = containment::list().unwrap().into_iter().filter(|s| s.name == name).collect();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].pid, listed[0].limits.as_str()), (init2, "pids=4"));
    // The stale group was removed and a fresh one made: it has the new limit.
    let pids_dir = cgroup_dirs(&name).into_iter().find(|d| d.join("pids.max").exists()).unwrap();
    assert_eq!(std::fs::read_to_string(pids_dir.join("pids.max")).unwrap().trim(), "5");
    running.stop(Duration::from_secs(5)).unwrap();
    assert_nothing_left(&name, init2, &ns2);
}

#[test]
fn list_shows_a_running_sandbox_with_its_pid_and_limits() {
    let _layout = cgroups::require_cgroups!();
    let _serial = common::serial();
    let name = unique_name("list");
    let _cleanup = Cleanup::new(&name);
    let running = Sandbox::new().name(&name).memory(memory("64M")).pids(16).start().unwrap();
    let (init, ns) = (running.pid(), pid_ns(running.pid()).unwrap());
    let all = containment::list().unwrap();
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "in name order");
    let info = all.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name} not in {names:?}"));
    assert_eq!((info.pid, info.limits.as_str()), (init, "memory=64M pids=16"));
    assert!(info.uptime < Duration::from_secs(60), "{info:?}");
    assert!(info.memory_current.is_some(), "{info:?}");
    running.stop(Duration::from_secs(5)).unwrap();
    assert!(!containment::list().unwrap().iter().any(|s| s.name == name));
    assert_nothing_left(&name, init, &ns);
}

#[test]
fn names_are_checked_and_unique() {
    require_root!();
    for bad in ["", "a/b", "a b", ".hidden", "-x", "ids", "net", &"x".repeat(65), "é"] {
        match Sandbox::new().name(bad).start() {
            Err(Error::InvalidValue { kind: containment::ValueKind::Argument, value, .. }) => assert_eq!(value, bad),
            other => panic!("start named {bad:?}: {other:?}"),
        }
        assert!(matches!(Running::open(bad), Err(Error::InvalidValue { .. })), "open {bad:?}");
        assert!(matches!(containment::validate_name(bad), Err(Error::InvalidValue { .. })), "{bad:?}");
    }
    match Sandbox::new().persistent(true).start() {
        Err(Error::InvalidConfig(m)) => assert_eq!(m, "a persistent sandbox needs a name (Sandbox::name)"),
        other => panic!("{other:?}"),
    }
    match Running::open(&unique_name("never-started")) {
        Err(Error::InvalidConfig(m)) => assert!(m.starts_with("no sandbox named ctmtest-never-started-"), "{m}"),
        other => panic!("{other:?}"),
    }

    let name = unique_name("names");
    let _cleanup = Cleanup::new(&name);
    let mut running = Sandbox::new().name(&name).hostname("first").start().unwrap();
    let (init, ns) = (running.pid(), pid_ns(running.pid()).unwrap());
    assert_eq!(running.name(), Some(name.as_str()));
    assert!(!running.is_persistent());
    match running.detach() {
        Err(Error::InvalidConfig(m)) => assert_eq!(m, "only a persistent sandbox can be detached"),
        other => panic!("detach of a sandbox that is not persistent: {other:?}"),
    }
    for second in [Sandbox::new().name(&name).start(), Sandbox::new().name(&name).command("/bin/true").start()] {
        match second {
            Err(Error::InvalidConfig(m)) => {
                assert_eq!(m, format!("a sandbox named {name} is running; stop it or choose another name"))
            }
            other => panic!("a second start named {name}: {other:?}"),
        }
    }
    // The first is untouched.
    assert_eq!(sh(&running, "hostname"), "first\n");
    let opened = Running::open(&name).unwrap();
    assert_eq!((opened.pid(), opened.name()), (init, Some(name.as_str())));
    assert_eq!(sh(&opened, "hostname"), "first\n");
    drop(opened);
    running.stop(Duration::from_secs(5)).unwrap();
    assert_nothing_left(&name, init, &ns);
}

/// On x86-64 the sandbox's init and the joiner that runs a program in it are the
/// small init program, not copies of this process (see `process.rs`'s
/// `the_init_is_a_small_program_of_its_own`).
#[test]
fn the_init_and_a_joiner_are_the_small_init_program() {
    require_root!();
    let name = unique_name("init-program");
    let _cleanup = Cleanup::new(&name);
    let running = Sandbox::new().name(&name).start().unwrap();
    let (init, ns) = (running.pid(), pid_ns(running.pid()).unwrap());
    let mut joined = start_ready(&running, "echo ready; sleep 1");
    for (who, pid) in [("the init", init), ("the joiner", joined.pid())] {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let rss: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS for {who}:\n{status}"));
        if cfg!(target_arch = "x86_64") {
            assert!(status.starts_with("Name:\tinit\n"), "{who} is not the init program:\n{status}");
            assert!(rss < 1024, "{who} has a resident set of {rss} KiB");
        }
    }
    assert_eq!(joined.wait().unwrap().status, ExitStatus::Exited(0));
    assert_eq!(running.stop(Duration::from_secs(5)).unwrap().map(|o| o.status), Some(ExitStatus::Signaled(9)));
    assert_nothing_left(&name, init, &ns);
}
