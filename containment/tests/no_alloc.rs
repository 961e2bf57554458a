//! Proof that the child side of a spawn allocates nothing: this test binary's
//! global allocator kills any process other than the supervisor that allocates or
//! frees (exit code 86, with a message on stderr). Every sandbox feature that runs
//! code between `clone3` and `execve` is exercised here, on its success and its
//! failure paths, and each run must give its exact expected outcome; an
//! allocation in the init or in the program's process before `execve` would turn
//! it into an exit code 86 or an `InitDied` error.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use containment::{Error, ExitStatus, Sandbox, Stage, Stdio};

/// The pid of the supervisor (this test process); 0 until a test arms the guard.
static SUPERVISOR: AtomicI32 = AtomicI32::new(0);

const ALLOCATED_IN_CHILD: i32 = 86;

struct ChildAllocationGuard;

fn check() {
    let supervisor = SUPERVISOR.load(Ordering::Relaxed);
    // SAFETY: getpid is a plain system call.
    if supervisor != 0 && unsafe { libc::getpid() } != supervisor {
        let msg = b"no_alloc: a child process allocated between clone and exec\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe and touch no heap.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(ALLOCATED_IN_CHILD);
        }
    }
}

// SAFETY: every method checks, then forwards to the system allocator unchanged.
unsafe impl GlobalAlloc for ChildAllocationGuard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        check();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GUARD: ChildAllocationGuard = ChildAllocationGuard;

fn arm() {
    // SAFETY: getpid is a plain system call.
    SUPERVISOR.store(unsafe { libc::getpid() }, Ordering::Relaxed);
}

fn require_root() -> bool {
    // SAFETY: geteuid is a plain system call.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("CONTAINMENT_MUST_WORK").as_deref() == Ok("1") {
        panic!("needs root (CONTAINMENT_MUST_WORK=1 forbids skipping)");
    }
    eprintln!("skipped: needs root");
    false
}

/// The guard works: a forked child that allocates dies with exit code 86.
#[test]
fn guard_catches_an_allocation_in_a_child() {
    arm();
    // SAFETY: the child only allocates (which the guard turns into _exit) or exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let v = std::hint::black_box(vec![1u8; 64]);
        drop(v);
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status));
    assert_eq!(libc::WEXITSTATUS(status), ALLOCATED_IN_CHILD);
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ctm-noalloc-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every success path of the child side, in one sandbox and in several, with a
/// busy allocator in other threads of the supervisor.
#[test]
fn the_child_side_never_allocates() {
    if !require_root() {
        return;
    }
    arm();
    // Other threads allocate all the while, as in a real host process.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let noise = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::black_box(vec![0u8; 4096]);
            }
        })
    };

    let data = tempdir("data");
    std::fs::write(data.join("in"), "input\n").unwrap();
    let sandbox = Sandbox::new()
        .bind_ro(&data, "/in")
        .bind(&data, "/out")
        .tmpfs("/scratch", "1M".parse().unwrap())
        .hostname("noalloc")
        .memory("64M".parse().unwrap())
        .pids(32)
        .cpus("0".parse().unwrap())
        .rlimit(containment::Rlimit::OpenFiles, 64)
        .timeout(Duration::from_secs(60))
        .user(65534, 65534);
    for _ in 0..3 {
        let out = sandbox
            .command("sh")
            .args(["-c", "cat /in/in; hostname; id -u; cd /scratch && pwd; cat; ulimit -n"])
            .env("X", "y")
            .current_dir("/tmp")
            .stdin(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "input\nnoalloc\n65534\n/scratch\n64\n",
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status, ExitStatus::Exited(0));
    }

    // The overlay root and a chroot, and the program bound from the host.
    let empty_root = tempdir("root");
    std::fs::create_dir_all(empty_root.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", empty_root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", empty_root.join("bin/sh")).unwrap();
    let out = Sandbox::new()
        .overlay(&empty_root)
        .command("/bin/sh")
        .args(["-c", "echo x > /new && cat /new"])
        .output()
        .unwrap();
    assert_eq!((out.status, out.stdout.as_slice()), (ExitStatus::Exited(0), &b"x\n"[..]));
    assert!(!empty_root.join("new").exists(), "the template is untouched");
    let out = Sandbox::new().chroot(&empty_root).command_from_host("/bin/busybox").arg("true").output().unwrap();
    assert_eq!(out.status, ExitStatus::Exited(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Sandbox::new()
        .chroot(&empty_root)
        .user_namespace(containment::UserNamespace::Off)
        .readonly_root(true)
        .command_from_host("/bin/busybox")
        .arg("true")
        .output()
        .unwrap();
    assert_eq!(out.status, ExitStatus::Exited(0), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&empty_root).unwrap();

    // Signals forwarded by the init, and a timeout it enforces.
    let mut child = Sandbox::new().command("sleep").arg("30").spawn().unwrap();
    child.signal(libc::SIGTERM).unwrap();
    assert_eq!(child.wait().unwrap().status, ExitStatus::Signaled(libc::SIGTERM));
    let o = Sandbox::new().timeout(Duration::from_millis(100)).command("sleep").arg("30").status().unwrap();
    assert!(o.timed_out);

    stop.store(true, Ordering::Relaxed);
    noise.join().unwrap();
    std::fs::remove_dir_all(&data).unwrap();
}

/// The failure paths: each error record is written without allocating.
#[test]
fn the_child_side_never_allocates_when_failing() {
    if !require_root() {
        return;
    }
    arm();
    match Sandbox::new().command("/nonexistent/program").status() {
        Err(Error::ProgramNotFound { .. }) => {}
        other => panic!("{other:?}"),
    }
    match Sandbox::new().command("no-such-program-anywhere").status() {
        Err(Error::ProgramNotFound { .. }) => {}
        other => panic!("{other:?}"),
    }
    match Sandbox::new().command("/etc/passwd").status() {
        Err(Error::NotExecutable { errno, .. }) => assert_eq!(errno, containment::Errno::EACCES),
        other => panic!("{other:?}"),
    }
    let mut cmd = Sandbox::new().command("/bin/true");
    cmd.current_dir("/does/not/exist");
    match cmd.status() {
        Err(Error::Setup { stage: Stage::Chdir, errno, .. }) => assert_eq!(errno, containment::Errno::ENOENT),
        other => panic!("{other:?}"),
    }
    let data = tempdir("fail");
    let bad_root = data.join("root");
    std::fs::create_dir_all(&bad_root).unwrap();
    std::os::unix::fs::symlink("/etc", bad_root.join("proc")).unwrap();
    match Sandbox::new().chroot(&bad_root).command("/bin/true").status() {
        Err(Error::Setup { stage: Stage::MountPoint, errno, path }) => {
            assert_eq!(errno, containment::Errno::ELOOP);
            assert_eq!(path.as_deref(), Some(std::path::Path::new("/proc")));
        }
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&data).unwrap();
}

/// The child side's source uses nothing that allocates or locks: a static check
/// that catches a regression before any run does (the `#[cfg(test)]` parts of the
/// files are left out).
#[test]
fn child_side_source_uses_no_allocating_or_locking_api() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/child");
    let forbidden = [
        "format!",
        "String::",
        "Vec::",
        "vec!",
        "Box::",
        ".to_string(",
        ".to_owned(",
        "println!",
        "eprintln!",
        "Mutex",
        "RwLock",
        ".lock(",
        "OnceLock",
        "panic!",
        ".unwrap(",
        ".expect(",
        "std::fs::",
        "std::io::",
        "std::env::",
    ];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap();
            for f in forbidden {
                assert!(!line.contains(f), "{}:{}: `{f}` in the child side: {line}", path.display(), n + 1);
            }
        }
    }
}

/// At run time: under `strace -f`, the sandbox's init and program processes make
/// no `futex` call (no lock taken, contended or not) between `clone3` and
/// `execve`.
#[test]
fn child_side_takes_no_lock() {
    if !require_root() {
        return;
    }
    if let Ok(mode) = std::env::var("CONTAINMENT_NOLOCK_CHILD") {
        // Under strace: spawn sandboxes exercising the child side, from several
        // threads (the allocator and std's locks are busy in the supervisor).
        let _ = mode;
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let out = Sandbox::new()
                        .memory("64M".parse().unwrap())
                        .hostname("nolock")
                        .command("/bin/true")
                        .output()
                        .unwrap();
                    assert!(out.status.success());
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        return;
    }
    if std::process::Command::new("strace").arg("-V").output().is_err() {
        if std::env::var("CONTAINMENT_MUST_WORK").as_deref() == Ok("1") {
            panic!("needs strace (CONTAINMENT_MUST_WORK=1 forbids skipping)");
        }
        eprintln!("skipped: needs strace");
        return;
    }
    let log = std::env::temp_dir().join(format!("ctm-nolock-{}.strace", std::process::id()));
    let status = std::process::Command::new("strace")
        // Pids as the host sees them, also those returned inside a PID namespace.
        .args(["-f", "-qq", "--decode-pids=pidns", "-e", "trace=clone,clone3,futex,execve", "-o"])
        .arg(&log)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "child_side_takes_no_lock", "--test-threads=1"])
        .env("CONTAINMENT_NOLOCK_CHILD", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the traced run failed: {status}");
    let trace = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    // Children made by a process-making clone (not a thread), and whether each has
    // called execve yet, in the order of the trace.
    // A call interrupted by another thread's shows as "<unfinished ...>" and later
    // "<... clone3 resumed> ... = PID": remember whether it was a thread.
    let mut children = std::collections::HashMap::<i32, bool>::new();
    let mut pending_thread = std::collections::HashMap::<i32, bool>::new();
    let mut futexes_before_exec = Vec::new();
    // "= 2 /* 4242 in strace's PID NS */" for a pid returned inside a namespace.
    let returned = |call: &str| {
        let r = call.rsplit_once("= ")?.1.trim();
        match r.split_once("/* ") {
            Some((_, host)) => host.split_whitespace().next()?.parse::<i32>().ok(),
            None => r.parse::<i32>().ok(),
        }
    };
    for line in trace.lines() {
        let Some((pid, call)) = line.split_once(' ') else { continue };
        let Ok(pid) = pid.trim().parse::<i32>() else { continue };
        let call = call.trim_start();
        let starts_clone = call.starts_with("clone3(") || call.starts_with("clone(");
        let resumes_clone = call.starts_with("<... clone3 resumed>") || call.starts_with("<... clone resumed>");
        if starts_clone && call.contains("<unfinished") {
            pending_thread.insert(pid, call.contains("CLONE_THREAD"));
        } else if starts_clone || resumes_clone {
            let thread =
                if starts_clone { call.contains("CLONE_THREAD") } else { pending_thread.remove(&pid).unwrap_or(true) };
            match returned(call) {
                Some(child) if child > 0 && !thread => {
                    children.insert(child, false);
                }
                _ => {}
            }
        } else if call.starts_with("execve(") {
            if let Some(done) = children.get_mut(&pid) {
                *done = true;
            }
        } else if call.starts_with("futex(") && children.get(&pid) == Some(&false) {
            futexes_before_exec.push(line.to_string());
        }
    }
    assert!(children.len() >= 8, "expected the inits and programs of 4 sandboxes in the trace: {children:?}");
    assert!(futexes_before_exec.is_empty(), "futex calls in the child side:\n{}", futexes_before_exec.join("\n"));
}
