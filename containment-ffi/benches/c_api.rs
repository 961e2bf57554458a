//! Spawn-to-outcome of `/bin/true` through the C entry point: the very
//! `libcontainment.so` a C program links (`target/release/`, beside this bench),
//! opened with `dlopen` and called through `dlsym`'s pointers as
//! `benches/c/spawn_loop.c` calls it. Cargo does not build a cdylib for a bench of
//! its own package, so build it first; the bench refuses a library older than the
//! sources. The C counterpart of the criterion bench
//! `spawn/default` (`c-api/default`) and of `layers/6-netns-full-default` with the
//! memory, cpuset and pids limits (`c-api/limits`).
//!
//! ```text
//! cargo build --release -p containment-ffi &&
//!   cargo bench -p containment-ffi --bench c_api -- --noplot      # as root
//! ```
//!
//! Without root it prints why and measures nothing.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr;

use criterion::{criterion_group, criterion_main, Criterion};

type Handle = *mut c_void;
type Status = c_int;
type ErrOut = *mut Handle;

/// `containment_outcome` is 48 bytes (two ints, two bools, four 64-bit counters);
/// only `exit_code` and `signal`, its first two ints, are read here.
#[repr(C, align(8))]
struct Outcome([u8; 64]);

const CONTAINMENT_OK: Status = 0;
const CONTAINMENT_STDIO_NULL: c_int = 1;

/// The entry points used, from `dlsym`.
struct Api {
    sandbox_new: unsafe extern "C" fn() -> Handle,
    sandbox_free: unsafe extern "C" fn(Handle),
    sandbox_memory: unsafe extern "C" fn(Handle, *const c_char, ErrOut) -> Status,
    sandbox_cpus: unsafe extern "C" fn(Handle, *const c_char, ErrOut) -> Status,
    sandbox_pids: unsafe extern "C" fn(Handle, u64, ErrOut) -> Status,
    command_new: unsafe extern "C" fn(Handle, *const c_char, *mut Handle, ErrOut) -> Status,
    command_stdin: unsafe extern "C" fn(Handle, c_int, c_int, ErrOut) -> Status,
    command_stdout: unsafe extern "C" fn(Handle, c_int, c_int, ErrOut) -> Status,
    command_stderr: unsafe extern "C" fn(Handle, c_int, c_int, ErrOut) -> Status,
    command_status: unsafe extern "C" fn(Handle, *mut Outcome, ErrOut) -> Status,
    command_free: unsafe extern "C" fn(Handle),
    error_message: unsafe extern "C" fn(Handle) -> *const c_char,
}

/// `target/<profile>/libcontainment.so`, beside `target/<profile>/deps/` where
/// this bench runs from.
fn library() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps").join("libcontainment.so")
}

/// The newest modification time of the files below `dir`.
fn newest(dir: &std::path::Path) -> std::time::SystemTime {
    let mut t = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let m = if meta.is_dir() { newest(&entry.path()) } else { meta.modified().unwrap_or(t) };
        t = t.max(m);
    }
    t
}

/// Panics unless `lib` is newer than every source it is built from.
fn check_fresh(lib: &std::path::Path) {
    let built = std::fs::metadata(lib)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}: build it with cargo build --release -p containment-ffi", lib.display()));
    let ffi = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let core = ffi.join("../containment");
    for dir in [ffi.join("src"), core.join("src"), core.join("init")] {
        assert!(
            newest(&dir) <= built,
            "{} is older than {}: build it again with cargo build --release -p containment-ffi",
            lib.display(),
            dir.display()
        );
    }
}

/// The function `name` of the library `lib`, as a pointer of type `F`.
///
/// # Safety
/// `F` is the type of a pointer to a function with the C signature of `name`.
unsafe fn symbol<F: Copy>(lib: *mut c_void, name: &CStr) -> F {
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: `lib` is a live handle and `name` NUL-terminated.
    let p = unsafe { libc::dlsym(lib, name.as_ptr()) };
    assert!(!p.is_null(), "{name:?} missing from libcontainment.so");
    // SAFETY: a function pointer of the size of a data pointer, as the caller says.
    unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) }
}

impl Api {
    fn open() -> Api {
        let path = library();
        check_fresh(&path);
        let c_path = CString::new(path.as_os_str().as_bytes()).expect("no NUL in the path");
        // SAFETY: a NUL-terminated path; the library stays loaded for the process's life.
        let lib = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        assert!(!lib.is_null(), "dlopen {}: build it with cargo build --release -p containment-ffi", path.display());
        // SAFETY: each symbol is the function of include/containment.h of that name,
        // whose C signature the field's type spells out.
        unsafe {
            Api {
                sandbox_new: symbol(lib, c"containment_sandbox_new"),
                sandbox_free: symbol(lib, c"containment_sandbox_free"),
                sandbox_memory: symbol(lib, c"containment_sandbox_memory"),
                sandbox_cpus: symbol(lib, c"containment_sandbox_cpus"),
                sandbox_pids: symbol(lib, c"containment_sandbox_pids"),
                command_new: symbol(lib, c"containment_command_new"),
                command_stdin: symbol(lib, c"containment_command_stdin"),
                command_stdout: symbol(lib, c"containment_command_stdout"),
                command_stderr: symbol(lib, c"containment_command_stderr"),
                command_status: symbol(lib, c"containment_command_status"),
                command_free: symbol(lib, c"containment_command_free"),
                error_message: symbol(lib, c"containment_error_message"),
            }
        }
    }

    /// Panics with the library's message unless `status` is CONTAINMENT_OK.
    fn check(&self, what: &str, status: Status, error: Handle) {
        if status != CONTAINMENT_OK {
            // SAFETY: a failed call stored a live error (it is not freed: the
            // bench stops here).
            let message = unsafe { CStr::from_ptr((self.error_message)(error)) };
            panic!("{what}: status {status}: {}", message.to_string_lossy());
        }
    }

    /// A sandbox description: the default one, or with the three limits.
    fn sandbox(&self, limits: bool) -> Handle {
        let mut error = ptr::null_mut();
        // SAFETY: the handle is this bench's, used on this thread; strings are
        // NUL-terminated literals.
        unsafe {
            let sb = (self.sandbox_new)();
            assert!(!sb.is_null());
            if limits {
                self.check("memory", (self.sandbox_memory)(sb, c"64M".as_ptr(), &mut error), error);
                self.check("cpus", (self.sandbox_cpus)(sb, c"0".as_ptr(), &mut error), error);
                self.check("pids", (self.sandbox_pids)(sb, 64, &mut error), error);
            }
            sb
        }
    }

    /// One spawn-to-outcome of `/bin/true` in `sb`, as `spawn_loop.c`'s `run_true`.
    fn run_true(&self, sb: Handle) {
        let mut error = ptr::null_mut();
        let mut cmd = ptr::null_mut();
        let mut outcome = Outcome([0; 64]);
        // SAFETY: live handles of this bench, NUL-terminated strings, an outcome
        // buffer larger than `containment_outcome` and as aligned.
        unsafe {
            self.check("command_new", (self.command_new)(sb, c"/bin/true".as_ptr(), &mut cmd, &mut error), error);
            for set in [self.command_stdin, self.command_stdout, self.command_stderr] {
                self.check("stdio", set(cmd, CONTAINMENT_STDIO_NULL, -1, &mut error), error);
            }
            self.check("status", (self.command_status)(cmd, &mut outcome, &mut error), error);
            (self.command_free)(cmd);
        }
        let code = c_int::from_ne_bytes([outcome.0[0], outcome.0[1], outcome.0[2], outcome.0[3]]);
        assert_eq!(code, 0, "/bin/true did not exit 0");
    }
}

fn bench_c_api(c: &mut Criterion) {
    if !nix_is_root() {
        eprintln!("c_api: not root: measuring nothing (spawning needs root here)");
        return;
    }
    let api = Api::open();
    let mut group = c.benchmark_group("c-api");
    for (name, limits) in [("default", false), ("limits", true)] {
        let sb = api.sandbox(limits);
        group.bench_function(name, |b| b.iter(|| api.run_true(sb)));
        // SAFETY: made above, freed once.
        unsafe { (api.sandbox_free)(sb) };
    }
    group.finish();
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

criterion_group!(benches, bench_c_api);
criterion_main!(benches);
