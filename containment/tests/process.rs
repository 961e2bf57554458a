//! The `Child` handle: signals, kill, the wait family, drop, orphans, stdio, and the
//! death of the supervisor.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use common::{assert_exit, assert_pid_gone, pid_exists, read_line_from, require_root, text, wait_until, HostMounts};
use containment::{ExitStatus, Sandbox, Stdio};

#[test]
fn signal_is_delivered_to_the_program() {
    require_root!();
    let mounts = HostMounts::snapshot();
    let mut child = Sandbox::new()
        .command("/bin/sh")
        .args(["-c", "trap 'echo got-term; exit 7' TERM; echo ready; sleep 1000 & wait"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.pid();
    assert_eq!(read_line_from(&mut child), "ready");
    child.signal(libc::SIGTERM).expect("signal");
    assert_eq!(read_line_from(&mut child), "got-term");
    let outcome = child.wait().expect("wait");
    assert_eq!(outcome.status, ExitStatus::Exited(7));
    assert!(!outcome.timed_out);
    assert!(!outcome.oom_killed);
    assert_pid_gone(pid);
    // Signalling a sandbox that ended does nothing.
    child.signal(libc::SIGTERM).expect("signal after the end");
    mounts.assert_unchanged();
}

#[test]
fn kill_gives_sigkill() {
    require_root!();
    let mounts = HostMounts::snapshot();
    let mut child = Sandbox::new()
        .command("/bin/sh")
        .args(["-c", "echo ready; exec sleep 1000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.pid();
    assert_eq!(read_line_from(&mut child), "ready");
    child.kill().expect("kill");
    assert_eq!(child.wait().expect("wait").status, ExitStatus::Signaled(libc::SIGKILL));
    assert_pid_gone(pid);
    // Waiting again gives the same outcome; killing again does nothing.
    assert_eq!(child.wait().expect("wait again").status, ExitStatus::Signaled(libc::SIGKILL));
    child.kill().expect("kill after the end");
    mounts.assert_unchanged();
}

#[test]
fn try_wait_is_none_while_running_then_the_outcome() {
    require_root!();
    let mounts = HostMounts::snapshot();
    let mut child = Sandbox::new()
        .command("/bin/sh")
        .args(["-c", "read line; echo \"got $line\"; exit 3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.pid();
    assert_eq!(child.try_wait().expect("try_wait"), None);
    assert_eq!(child.try_wait().expect("try_wait"), None);
    child.stdin.take().expect("stdin").write_all(b"x\n").expect("write stdin");
    assert_eq!(read_line_from(&mut child), "got x");
    let mut outcome = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            outcome = child.try_wait().expect("try_wait");
            outcome.is_some()
        }),
        "the sandbox did not end"
    );
    assert_eq!(outcome.expect("outcome").status, ExitStatus::Exited(3));
    assert_pid_gone(pid);
    assert_eq!(child.try_wait().expect("try_wait after the end").map(|o| o.status), Some(ExitStatus::Exited(3)));
    assert_eq!(child.wait().expect("wait after try_wait").status, ExitStatus::Exited(3));
    mounts.assert_unchanged();
}

#[test]
fn wait_timeout_returns_none_then_the_child_can_be_killed() {
    require_root!();
    let mounts = HostMounts::snapshot();
    let mut child = Sandbox::new().command("/bin/sleep").arg("10").stdin(Stdio::null()).spawn().expect("spawn");
    let pid = child.pid();
    let start = Instant::now();
    assert_eq!(child.wait_timeout(Duration::from_millis(50)).expect("wait_timeout"), None);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(50), "wait_timeout returned after {waited:?}");
    assert!(waited < Duration::from_secs(5), "wait_timeout returned after {waited:?}");
    assert!(pid_exists(pid as i32), "the sandbox must be left running");
    child.kill().expect("kill");
    let outcome = child.wait_timeout(Duration::from_secs(10)).expect("wait_timeout").expect("ended after kill");
    assert_eq!(outcome.status, ExitStatus::Signaled(libc::SIGKILL));
    assert_pid_gone(pid);
    mounts.assert_unchanged();
}

#[test]
fn wait_timeout_returns_the_outcome_of_a_quick_program() {
    require_root!();
    let mut child = Sandbox::new().command("/bin/sh").args(["-c", "exit 5"]).stdin(Stdio::null()).spawn().unwrap();
    let outcome = child.wait_timeout(Duration::from_secs(10)).expect("wait_timeout").expect("it ends quickly");
    assert_eq!(outcome.status, ExitStatus::Exited(5));
    assert_pid_gone(child.pid());
}

#[test]
fn dropping_an_unwaited_child_kills_and_reaps_the_sandbox() {
    require_root!();
    let mounts = HostMounts::snapshot();
    let dir = common::TempDir::new("heartbeat");
    let beat = dir.join("beat");
    // The program writes an increasing counter into a bind-mounted host directory.
    let script = "i=0; while :; do i=$((i+1)); echo $i > /hb/beat.new && mv /hb/beat.new /hb/beat; sleep 0.01; done";
    let child = Sandbox::new()
        .bind(dir.path(), "/hb")
        .command("/bin/sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    let init = child.pid();
    let read_beat = || std::fs::read_to_string(&beat).ok().and_then(|s| s.trim().parse::<u64>().ok());
    assert!(wait_until(Duration::from_secs(10), || read_beat().is_some_and(|n| n >= 3)), "no heartbeat");
    let program = common::children_of(init);
    assert_eq!(program.len(), 1, "the init has one child, the program: {program:?}");
    drop(child);
    // Right after drop: the init is reaped, and with it every process of the sandbox.
    assert_pid_gone(init);
    for p in &program {
        assert_pid_gone(*p);
    }
    let last = read_beat();
    // Observe for a while that nothing writes any more (this sleep is an
    // observation window, not synchronization).
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(read_beat(), last, "the heartbeat went on after the Child was dropped");
    assert!(!dir.join("beat.new").exists() || read_beat() == last);
    mounts.assert_unchanged();
}

#[test]
fn orphaned_grandchildren_are_reaped() {
    require_root!();
    // A double fork: the subshell starts `cat` in the background and exits, so cat
    // is re-parented to the init. cat waits on a FIFO, so the test knows when it
    // runs and when it ends; then nothing may stay a zombie.
    let script = r#"
        mkfifo /tmp/fifo
        ( cat /tmp/fifo > /dev/null & echo $! > /tmp/gpid )
        g=$(cat /tmp/gpid)
        read -r _ _ _ ppid _ < /proc/$g/stat
        echo "ppid=$ppid"
        echo done > /tmp/fifo
        i=0
        while [ -e /proc/$g ] && [ $i -lt 1000 ]; do sleep 0.005; i=$((i+1)); done
        [ -e /proc/$g ] && echo "grandchild $g still exists: $(cat /proc/$g/stat)"
        for s in /proc/[0-9]*/stat; do
            read -r pid comm state rest < $s && echo "$pid $state"
        done
        exit 0
    "#;
    let out = common::sh(&Sandbox::new(), script);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("ppid=1"), "stdout: {stdout}");
    let states: Vec<&str> = lines.collect();
    assert!(!states.is_empty(), "no process listed: {stdout}");
    for l in &states {
        let (pid, state) = l.split_once(' ').unwrap_or_else(|| panic!("unexpected line {l:?} in {stdout}"));
        assert_ne!(state, "Z", "process {pid} is a zombie: {stdout}");
    }
    assert!(states.contains(&"1 S"), "the init is listed: {stdout}");
}

#[test]
fn large_stdout_and_stderr_are_captured_byte_exact_without_deadlock() {
    require_root!();
    const N: usize = 5 * 1024 * 1024;
    let script = format!("(yes stderr-line-0123456789 | head -c {N} >&2) & yes out-line-abcdef | head -c {N}; wait");
    let out = common::sh(&Sandbox::new(), &script);
    assert_exit(&out, 0);
    let pattern = |line: &str| line.repeat(N / line.len() + 1).into_bytes()[..N].to_vec();
    assert_eq!(out.stdout.len(), N);
    assert_eq!(out.stderr.len(), N);
    assert!(out.stdout == pattern("out-line-abcdef\n"), "stdout differs");
    assert!(out.stderr == pattern("stderr-line-0123456789\n"), "stderr differs");
}

#[test]
fn output_defaults_to_null_stdin_and_piped_stdout_and_stderr() {
    require_root!();
    let out = Sandbox::new()
        .command("/bin/sh")
        .args(["-c", "echo out; echo err >&2; cat; echo \"cat=$?\""])
        .output()
        .expect("output");
    assert_exit(&out, 0);
    assert_eq!(out.stdout, b"out\ncat=0\n");
    assert_eq!(out.stderr, b"err\n");
}

#[test]
fn stdin_piped_is_read_by_the_program() {
    require_root!();
    let mounts = HostMounts::snapshot();
    let data: Vec<u8> = (0..2 * 1024 * 1024u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut child = Sandbox::new()
        .command("/bin/cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.pid();
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = {
        let data = data.clone();
        std::thread::spawn(move || {
            stdin.write_all(&data).expect("write stdin");
            // Dropping stdin closes it: cat sees end of file.
        })
    };
    let mut echoed = Vec::new();
    child.stdout.take().expect("stdout").read_to_end(&mut echoed).expect("read stdout");
    writer.join().expect("writer thread");
    let outcome = child.wait().expect("wait");
    assert_eq!(outcome.status, ExitStatus::Exited(0));
    assert!(echoed == data, "cat gave back {} bytes, not the {} written", echoed.len(), data.len());
    assert_pid_gone(pid);
    mounts.assert_unchanged();
}

#[test]
fn wait_closes_piped_stdin() {
    require_root!();
    let mut child =
        Sandbox::new().command("/bin/cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().expect("spawn");
    // If wait did not close stdin first, cat would never end.
    assert_eq!(child.wait().expect("wait").status, ExitStatus::Exited(0));
}

/// The env var that makes [`supervisor_death_kills_the_sandbox`] act as the
/// supervisor when the test binary re-executes itself.
const SUPERVISOR_ENV: &str = "CTMTEST_ACT_AS_SUPERVISOR";
const SUPERVISOR_TEST: &str = "supervisor_death_kills_the_sandbox";

#[test]
fn supervisor_death_kills_the_sandbox() {
    if std::env::var_os(SUPERVISOR_ENV).is_some() {
        act_as_supervisor();
    }
    require_root!();
    let mounts = HostMounts::snapshot();
    let exe = std::env::current_exe().expect("current_exe");
    let helper = std::process::Command::new(exe)
        .args(["--exact", SUPERVISOR_TEST, "--nocapture", "--test-threads=1"])
        .env(SUPERVISOR_ENV, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the helper");
    // Kills the helper if this test fails half-way (it also ends by itself when
    // its stdin, held here, is closed).
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut helper = KillOnDrop(helper);
    let mut lines = BufReader::new(helper.0.stdout.take().expect("helper stdout")).lines();
    let init: u32 = loop {
        let line = lines.next().expect("the helper ended before printing the pid").expect("read helper");
        // libtest may print "test <name> ... " on the same line first.
        if let Some((_, pid)) = line.split_once("ctmtest-init-pid=") {
            break pid.trim().parse().expect("pid");
        }
        assert!(!line.contains("ctmtest-spawn-failed="), "the helper could not spawn: {line}");
    };
    assert!(pid_exists(init as i32), "the sandbox runs");
    let program = common::children_of(init);
    assert_eq!(program.len(), 1, "the init's child is the program: {program:?}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(helper.0.id() as i32), nix::sys::signal::SIGKILL)
        .expect("kill the helper");
    let status = helper.0.wait().expect("wait for the helper");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
    // The init was the helper's child: now an orphan, it is reaped by the host's
    // init, whenever that gets to it. Dead (a zombie) is what counts.
    let dead = |p: u32| common::pid_dead(p as i32);
    assert!(
        wait_until(Duration::from_secs(2), || dead(init) && program.iter().all(|p| dead(*p))),
        "the sandbox (init {init}: {:?}, program {program:?}: {:?}) outlived its supervisor by 2 s",
        common::pid_state(init as i32),
        program.iter().map(|p| common::pid_state(*p as i32)).collect::<Vec<_>>()
    );
    mounts.assert_unchanged();
    // The helper's lease on its id range stays on disk, held by nobody, until
    // someone collects it.
    containment::gc(&[]).expect("gc");
}

/// The helper's side: start a sandbox, say its init's pid, wait to be killed (or,
/// should the test die first, for end of file on stdin).
fn act_as_supervisor() -> ! {
    let child = Sandbox::new().command("/bin/sleep").arg("1000").stdin(Stdio::null()).stdout(Stdio::null()).spawn();
    match child {
        Ok(child) => {
            println!("ctmtest-init-pid={}", child.pid());
            std::io::stdout().flush().expect("flush");
            // Keep the Child alive (dropping it would kill the sandbox).
            let _keep = child;
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            std::process::exit(0);
        }
        Err(e) => {
            println!("ctmtest-spawn-failed={e}");
            std::process::exit(1);
        }
    }
}

#[test]
fn many_sequential_sandboxes_leave_nothing_behind() {
    require_root!();
    let mounts = HostMounts::snapshot();
    for i in 0..20 {
        let out = common::sh(&Sandbox::new(), &format!("exit {i}"));
        assert_exit(&out, i);
    }
    mounts.assert_unchanged();
}

/// The init is not a copy of the supervisor: on x86-64 it is the small init program
/// (`containment/init/init.c`, executed from a memfd once the sandbox is built),
/// whatever the size of the process that spawned it, and it adds under 1 MiB of
/// private memory (performance target 7).
#[test]
fn the_init_is_a_small_program_of_its_own() {
    require_root!();
    // A supervisor with 64 MiB in use, which a copy would carry along.
    let big = vec![7u8; 64 << 20];
    let mut child = Sandbox::new()
        .command("/bin/sh")
        .args(["-c", "echo ready; read line; exit 0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    assert_eq!(read_line_from(&mut child), "ready");
    let init = child.pid();
    let status = std::fs::read_to_string(format!("/proc/{init}/status")).expect("the init's status");
    let rollup = std::fs::read_to_string(format!("/proc/{init}/smaps_rollup")).expect("the init's smaps_rollup");
    let kib = |key: &str| -> u64 {
        let line = rollup.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("no {key} in {rollup}"));
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number of kB")
    };
    let private = kib("Private_Clean:") + kib("Private_Dirty:");
    assert!(private < 1024, "the init has {private} KiB of private memory:\n{rollup}");
    if cfg!(target_arch = "x86_64") {
        assert!(status.starts_with("Name:\tinit\n"), "the init is not the init program:\n{status}");
        let vm_rss = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
        let rss: u64 = vm_rss.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("kB");
        assert!(rss < 1024, "the init's whole resident set is {rss} KiB: a copy of this process?");
    }
    drop(child.stdin.take());
    let outcome = child.wait().expect("wait");
    assert_eq!(outcome.status, ExitStatus::Exited(0));
    assert_eq!(std::hint::black_box(big)[1 << 20], 7);
}

/// The sandbox's network namespace (made beside the rest of the setup, see
/// `child::netns`) is the init's and the program's, not the host's, and belongs to
/// the sandbox's user namespace; the program is still PID 2.
#[test]
fn the_network_namespace_is_the_sandboxs_own() {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    require_root!();
    let mut child = Sandbox::new()
        .command("/bin/sh")
        .args(["-c", "echo $$; read line; exit 0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    assert_eq!(read_line_from(&mut child), "2", "the program's pid inside");
    let init = child.pid();
    let children = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children")).expect("the init's children");
    let program: i32 = children.split_whitespace().next().and_then(|p| p.parse().ok()).expect("a program");
    let ns = |pid: &str, kind: &str| std::fs::metadata(format!("/proc/{pid}/ns/{kind}")).expect("a namespace").ino();
    let (init, program) = (init.to_string(), program.to_string());
    assert_eq!(ns(&init, "net"), ns(&program, "net"), "the init and the program share one network namespace");
    assert_ne!(ns(&program, "net"), ns("self", "net"), "the program has the host's network namespace");
    let net = std::fs::File::open(format!("/proc/{program}/ns/net")).expect("the network namespace");
    // NS_GET_USERNS (linux/nsfs.h): the user namespace that owns it.
    // SAFETY: the ioctl takes no argument and returns a new descriptor or -1.
    let owner = unsafe { libc::ioctl(net.as_raw_fd(), 0xb701) };
    assert!(owner >= 0, "NS_GET_USERNS: {}", std::io::Error::last_os_error());
    // SAFETY: a new descriptor that nothing else owns.
    let owner = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(owner) });
    assert_eq!(owner.metadata().expect("fstat").ino(), ns(&program, "user"), "owned by the sandbox's user namespace");
    drop(child.stdin.take());
    assert_eq!(child.wait().expect("wait").status, ExitStatus::Exited(0));
}
