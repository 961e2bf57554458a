//! Thin wrappers over the system calls the crate makes, and nothing else.
//!
//! Every wrapper is a direct system call, takes `&CStr` for paths and raw
//! descriptors, never allocates and never takes a lock, so the child side of a
//! spawn can call them between `clone` and `execve`. Each one returns
//! `Result<_, Errno>`.
//!
//! The calls the child side makes go through [`raw!`], which on x86-64 issues the
//! `syscall` instruction itself: glibc's wrappers store a failure in `errno`, which
//! lives in the calling thread's TLS, and the sandbox's init runs in the
//! supervisor's memory (`CLONE_VM`) with the TLS of the supervisor thread that
//! started it, so a glibc wrapper failing in the init would change that thread's
//! `errno` under its feet.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// Converts a raw `-1`-means-error return value of a glibc function into a
/// `Result` (supervisor-side wrappers only).
fn check(ret: libc::c_long) -> Result<libc::c_long, Errno> {
    if ret == -1 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

fn check_int(ret: libc::c_int) -> Result<libc::c_int, Errno> {
    if ret == -1 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// Converts the kernel's return value (`-errno` on failure) into a `Result`.
fn kernel_result(ret: isize) -> Result<libc::c_long, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw(-ret as i32))
    } else {
        Ok(ret as libc::c_long)
    }
}

/// System call `nr` with up to six arguments, without touching `errno`.
///
/// # Safety
/// The arguments must be valid for that system call (pointers to live memory of
/// the types the kernel expects).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn raw_call(nr: libc::c_long, a: [usize; 6]) -> Result<libc::c_long, Errno> {
    let ret: isize;
    // SAFETY: the x86-64 Linux system call convention: number in rax, arguments in
    // rdi, rsi, rdx, r10, r8, r9; the kernel clobbers rcx and r11 and uses no user
    // stack. The caller vouches for the arguments.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    kernel_result(ret)
}

/// Elsewhere glibc's `syscall(2)`, which does set `errno`; the init is then a copy
/// of the supervisor (fork-like), not a sharer of its memory.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn raw_call(nr: libc::c_long, a: [usize; 6]) -> Result<libc::c_long, Errno> {
    // SAFETY: upheld by the caller.
    check(unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) })
}

/// `raw!(nr, args...)`: [`raw_call`] with each argument widened to a register.
macro_rules! raw {
    ($nr:expr $(, $arg:expr)* $(,)?) => {{
        let mut regs = [0usize; 6];
        let args: &[usize] = &[$($arg as usize),*];
        regs[..args.len()].copy_from_slice(args);
        raw_call($nr as libc::c_long, regs)
    }};
}

// The new mount API (Linux 5.2+, `mount_setattr` 5.12+). glibc 2.36 has no
// wrappers and the `libc` crate no constants for these on GNU targets.
pub const OPEN_TREE_CLONE: libc::c_uint = 1;
pub const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
pub const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
pub const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
pub const FSOPEN_CLOEXEC: libc::c_uint = 1;
pub const FSMOUNT_CLOEXEC: libc::c_uint = 1;
pub const FSCONFIG_SET_FLAG: libc::c_uint = 0;
pub const FSCONFIG_SET_STRING: libc::c_uint = 1;
pub const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
pub const MOUNT_ATTR_RDONLY: u64 = 0x01;
pub const MOUNT_ATTR_NOSUID: u64 = 0x02;
pub const MOUNT_ATTR_NODEV: u64 = 0x04;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x08;
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `struct mount_attr` of `mount_setattr(2)`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

/// `CLONE_INTO_CGROUP` (Linux 5.7+), wider than `libc`'s `c_int` constant.
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of `clone3(2)` (version 2, with `cgroup`).
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy)]
pub struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

/// What `clone3` returned: in the parent, the child's pid; in the child, nothing.
pub enum Forked {
    Parent(libc::pid_t),
    Child,
}

/// `clone3(args, sizeof args)` without a new stack: the child continues on a copy
/// of the caller's stack, as after `fork`.
///
/// # Safety
/// In the child, only async-signal-safe code may run until `execve` or `_exit`: the
/// child is a copy of a possibly multithreaded process in which another thread may
/// have held a lock (the allocator's, stdio's) at the moment of the call. glibc's
/// cached thread id is also stale in the child, so functions that use it (`raise`,
/// `abort`, `pthread_*`) must not be called. `args` must not ask for `CLONE_VM`,
/// `CLONE_VFORK` or `CLONE_THREAD`.
pub unsafe fn clone3(args: &mut CloneArgs) -> Result<Forked, Errno> {
    // SAFETY: `args` points to a valid, correctly sized `clone_args`; the caller
    // upholds the contract about what the child may do.
    let ret = unsafe { raw!(libc::SYS_clone3, args as *mut CloneArgs, std::mem::size_of::<CloneArgs>()) };
    match ret? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// `clone(f, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, arg)`: starts `f(arg)` in a
/// new process that shares the caller's memory; the caller is suspended until the
/// new process calls `execve` or exits.
///
/// # Safety
/// `stack_top` must be the 16-byte aligned top of a stack that nothing else uses
/// while the new process runs, big enough for `f`. `f` must only run
/// async-signal-safe code and must not return to code that assumes it is the
/// caller; `arg` must stay valid until the call returns.
pub unsafe fn clone_vfork(
    f: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    stack_top: *mut libc::c_void,
    arg: *mut libc::c_void,
) -> Result<libc::pid_t, Errno> {
    // SAFETY: upheld by the caller, see above.
    let ret = unsafe { libc::clone(f, stack_top, libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD, arg) };
    check_int(ret)
}

/// `clone3` with `CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP`: starts `f(arg)` on
/// the stack `[stack, stack + size)` in a new process that shares the caller's
/// memory and starts in the cgroup whose directory is `cgroup` (v2), without a
/// migration; the caller is suspended until the new process calls `execve` or
/// exits. `ENOSYS` where this crate has no trampoline for the architecture.
///
/// # Safety
/// As [`clone_vfork`]: `stack` must be 16-byte aligned, `size` a multiple of 16, and
/// nothing else may use the stack while the new process runs.
pub unsafe fn clone3_vfork_into(
    f: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    stack: *mut libc::c_void,
    size: usize,
    arg: *mut libc::c_void,
    cgroup: RawFd,
) -> Result<libc::pid_t, Errno> {
    let mut args = CloneArgs {
        flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack as u64,
        stack_size: size as u64,
        cgroup: cgroup as u64,
        ..CloneArgs::default()
    };
    // SAFETY: upheld by the caller, see above.
    unsafe { clone3_on_stack(&mut args, f, arg) }
}

/// `clone3(args)` where `args` gives the child its own stack (`stack`,
/// `stack_size`): the child runs `f(arg)` there and exits with what it returns;
/// the caller gets the child's pid. `ENOSYS` where this crate has no trampoline
/// for the architecture.
///
/// # Safety
/// `args.stack` must be 16-byte aligned and `args.stack_size` a multiple of 16;
/// nothing else may use that stack while the child runs. With `CLONE_VM` the child
/// shares the caller's memory (and its thread's TLS): `f` must only make raw
/// system calls (this module's `raw!` ones), allocate nothing and take no lock,
/// and `arg`, the stack and everything `f` reads must stay valid until the child
/// has called `execve` or ended.
pub unsafe fn clone3_on_stack(
    args: &mut CloneArgs,
    f: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    arg: *mut libc::c_void,
) -> Result<libc::pid_t, Errno> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `args` is a valid `clone_args` of the size given; the caller
        // upholds the stack and `f` contract; the trampoline runs `f` on that stack
        // in the child and `_exit`s with its result, and returns in the parent.
        let ret = unsafe { clone3_trampoline(args, std::mem::size_of::<CloneArgs>(), f, arg) };
        kernel_result(ret as isize).map(|pid| pid as libc::pid_t)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (args, f, arg);
        Err(Errno::ENOSYS)
    }
}

/// `clone3(args, size)`; in the child (which the kernel starts on the stack of
/// `args`, with the caller's other registers) calls `f(arg)` and `_exit`s with what
/// it returns; in the parent returns the system call's result. Written out because
/// a child on a new stack cannot return into the caller's frames, as glibc's own
/// `clone` is.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
unsafe extern "C" fn clone3_trampoline(
    args: *mut CloneArgs,
    size: usize,
    f: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    arg: *mut libc::c_void,
) -> libc::c_long {
    // rdi = args, rsi = size, rdx = f, rcx = arg. `syscall` clobbers rcx and r11,
    // so f and arg move to r8 and r9, which the child inherits.
    // SAFETY: the System V ABI as above; the parent path only returns the system
    // call's result, and the child never returns (it `_exit`s).
    core::arch::naked_asm!(
        "mov r8, rdx",
        "mov r9, rcx",
        "mov eax, {clone3}",
        "syscall",
        "test rax, rax",
        "jnz 2f",
        // The child: rsp is the top of the new stack (16-byte aligned).
        "xor ebp, ebp",
        "mov rdi, r9",
        "call r8",
        "mov edi, eax",
        "mov eax, {exit}",
        "syscall",
        "ud2",
        "2:",
        "ret",
        clone3 = const libc::SYS_clone3,
        exit = const libc::SYS_exit,
    )
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`.
pub fn pidfd_send_signal(pidfd: RawFd, sig: libc::c_int) -> Result<(), Errno> {
    // SAFETY: plain system call on integers; a NULL siginfo is allowed.
    unsafe { raw!(libc::SYS_pidfd_send_signal, pidfd, sig, std::ptr::null::<libc::siginfo_t>(), 0) }.map(drop)
}

/// What `waitid` reported for a child that ended.
#[derive(Debug, Clone, Copy)]
pub struct Exited {
    /// `CLD_EXITED`, `CLD_KILLED` or `CLD_DUMPED`.
    pub code: libc::c_int,
    /// The exit code or the signal number.
    pub status: libc::c_int,
    /// The child's resource usage, including the children it waited for.
    pub rusage: libc::rusage,
}

/// `waitid(P_PIDFD, pidfd, &info, WEXITED | __WALL | extra, &rusage)`: `None` when
/// `WNOHANG` is in `extra` and the child has not ended.
pub fn waitid_pidfd(pidfd: RawFd, extra: libc::c_int) -> Result<Option<Exited>, Errno> {
    // SAFETY: zeroed siginfo_t and rusage are valid values of these plain C structs.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both out-pointers are valid for writes of their types; the raw
        // system call takes a fifth `struct rusage *` argument that glibc's wrapper hides.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_waitid,
                libc::P_PIDFD,
                pidfd,
                &mut info as *mut libc::siginfo_t,
                libc::WEXITED | libc::__WALL | extra,
                &mut rusage as *mut libc::rusage,
            )
        };
        match check(ret) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    // SAFETY: waitid filled `info` for a child state change; si_pid is 0 when
    // WNOHANG found nothing.
    let pid = unsafe { info.si_pid() };
    if pid == 0 {
        return Ok(None);
    }
    // SAFETY: as above, the status union member is the one waitid fills.
    let status = unsafe { info.si_status() };
    Ok(Some(Exited { code: info.si_code, status, rusage }))
}

/// `close_range(first, last, flags)`.
pub fn close_range(first: libc::c_uint, last: libc::c_uint, flags: libc::c_uint) -> Result<(), Errno> {
    // SAFETY: closing descriptors is memory-safe; the caller owns what it closes.
    unsafe { raw!(libc::SYS_close_range, first, last, flags) }.map(drop)
}

/// `close(fd)`, ignoring the result (Linux always releases the descriptor).
pub fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd`.
    let _ = unsafe { raw!(libc::SYS_close, fd) };
}

/// `open_tree(dirfd, path, flags)`.
pub fn open_tree(dirfd: RawFd, path: &CStr, flags: libc::c_uint) -> Result<RawFd, Errno> {
    // SAFETY: `path` is a valid NUL-terminated string.
    unsafe { raw!(libc::SYS_open_tree, dirfd, path.as_ptr(), flags) }.map(|fd| fd as RawFd)
}

/// `move_mount(from_dirfd, from_path, to_dirfd, to_path, flags)`.
pub fn move_mount(
    from_dirfd: RawFd,
    from_path: &CStr,
    to_dirfd: RawFd,
    to_path: &CStr,
    flags: libc::c_uint,
) -> Result<(), Errno> {
    // SAFETY: both paths are valid NUL-terminated strings.
    unsafe { raw!(libc::SYS_move_mount, from_dirfd, from_path.as_ptr(), to_dirfd, to_path.as_ptr(), flags) }.map(drop)
}

/// `fsopen(fsname, FSOPEN_CLOEXEC)`.
pub fn fsopen(fsname: &CStr) -> Result<RawFd, Errno> {
    // SAFETY: `fsname` is a valid NUL-terminated string.
    unsafe { raw!(libc::SYS_fsopen, fsname.as_ptr(), FSOPEN_CLOEXEC) }.map(|fd| fd as RawFd)
}

/// `fsconfig(fd, FSCONFIG_SET_STRING, key, value, 0)`.
pub fn fsconfig_string(fd: RawFd, key: &CStr, value: &CStr) -> Result<(), Errno> {
    // SAFETY: key and value are valid NUL-terminated strings.
    unsafe { raw!(libc::SYS_fsconfig, fd, FSCONFIG_SET_STRING, key.as_ptr(), value.as_ptr(), 0) }.map(drop)
}

/// `fsconfig(fd, FSCONFIG_SET_FLAG, key, NULL, 0)`.
pub fn fsconfig_flag(fd: RawFd, key: &CStr) -> Result<(), Errno> {
    // SAFETY: key is a valid NUL-terminated string; value may be NULL for a flag.
    unsafe { raw!(libc::SYS_fsconfig, fd, FSCONFIG_SET_FLAG, key.as_ptr(), std::ptr::null::<libc::c_char>(), 0) }
        .map(drop)
}

/// `fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)`.
pub fn fsconfig_create(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: no pointers are passed.
    unsafe {
        raw!(
            libc::SYS_fsconfig,
            fd,
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    }
    .map(drop)
}

/// `fsmount(fd, FSMOUNT_CLOEXEC, attrs)`.
pub fn fsmount(fd: RawFd, attrs: u64) -> Result<RawFd, Errno> {
    // SAFETY: plain system call on integers.
    unsafe { raw!(libc::SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs) }.map(|fd| fd as RawFd)
}

/// `mount_setattr(dirfd, path, flags, attr, sizeof attr)`.
pub fn mount_setattr(dirfd: RawFd, path: &CStr, flags: libc::c_uint, attr: &MountAttr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated and `attr` a valid `struct mount_attr`.
    unsafe {
        raw!(
            libc::SYS_mount_setattr,
            dirfd,
            path.as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    }
    .map(drop)
}

/// `openat2(dirfd, path, {flags, mode, resolve}, sizeof how)`.
pub fn openat2(dirfd: RawFd, path: &CStr, flags: u64, mode: u64, resolve: u64) -> Result<RawFd, Errno> {
    // SAFETY: open_how is a plain struct of integers; zero is valid for all fields.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    loop {
        // SAFETY: `path` is NUL-terminated and `how` a valid `struct open_how`.
        let ret = unsafe {
            raw!(
                libc::SYS_openat2,
                dirfd,
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>()
            )
        };
        // EAGAIN: a concurrent rename raced with RESOLVE_IN_ROOT; the kernel asks to retry.
        match ret {
            Err(Errno::EAGAIN) => continue,
            r => return r.map(|fd| fd as RawFd),
        }
    }
}

/// `mount(NULL, target, NULL, flags, NULL)`: changes propagation or flags only.
pub fn mount_flags(target: &CStr, flags: libc::c_ulong) -> Result<(), Errno> {
    // SAFETY: `target` is NUL-terminated; NULL source, type and data are allowed here.
    unsafe {
        raw!(
            libc::SYS_mount,
            std::ptr::null::<libc::c_char>(),
            target.as_ptr(),
            std::ptr::null::<libc::c_char>(),
            flags,
            std::ptr::null::<libc::c_void>()
        )
    }
    .map(drop)
}

/// `pivot_root(new_root, put_old)`.
pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> Result<(), Errno> {
    // SAFETY: both paths are NUL-terminated.
    unsafe { raw!(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) }.map(drop)
}

/// `umount2(target, flags)`.
pub fn umount2(target: &CStr, flags: libc::c_int) -> Result<(), Errno> {
    // SAFETY: `target` is NUL-terminated.
    unsafe { raw!(libc::SYS_umount2, target.as_ptr(), flags) }.map(drop)
}

/// `chroot(path)`.
pub fn chroot(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated.
    unsafe { raw!(libc::SYS_chroot, path.as_ptr()) }.map(drop)
}

/// `chdir(path)`.
pub fn chdir(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated.
    unsafe { raw!(libc::SYS_chdir, path.as_ptr()) }.map(drop)
}

/// `fchdir(fd)`.
pub fn fchdir(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: plain system call on an integer.
    unsafe { raw!(libc::SYS_fchdir, fd) }.map(drop)
}

/// `mkdirat(dirfd, path, mode)`.
pub fn mkdirat(dirfd: RawFd, path: &CStr, mode: libc::mode_t) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated.
    unsafe { raw!(libc::SYS_mkdirat, dirfd, path.as_ptr(), mode) }.map(drop)
}

/// `mknodat(dirfd, path, mode, dev)`.
pub fn mknodat(dirfd: RawFd, path: &CStr, mode: libc::mode_t, dev: libc::dev_t) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated.
    // The kernel takes the device number as a 32-bit `new_encode_dev` value, which
    // glibc's `makedev` encoding equals for numbers that fit.
    let dev = u32::try_from(dev).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `path` is NUL-terminated.
    unsafe { raw!(libc::SYS_mknodat, dirfd, path.as_ptr(), mode, dev) }.map(drop)
}

/// `symlinkat(target, dirfd, linkpath)`.
pub fn symlinkat(target: &CStr, dirfd: RawFd, linkpath: &CStr) -> Result<(), Errno> {
    // SAFETY: both strings are NUL-terminated.
    unsafe { raw!(libc::SYS_symlinkat, target.as_ptr(), dirfd, linkpath.as_ptr()) }.map(drop)
}

/// `openat(dirfd, path, flags, mode)`.
pub fn openat(dirfd: RawFd, path: &CStr, flags: libc::c_int, mode: libc::mode_t) -> Result<RawFd, Errno> {
    // SAFETY: `path` is NUL-terminated.
    unsafe { raw!(libc::SYS_openat, dirfd, path.as_ptr(), flags, mode) }.map(|fd| fd as RawFd)
}

/// `sethostname(name, len)`.
pub fn sethostname(name: &[u8]) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe `name`.
    unsafe { raw!(libc::SYS_sethostname, name.as_ptr(), name.len()) }.map(drop)
}

/// `atexit(f)`: `f` runs when the process calls `exit` (returning from `main`
/// included), not when it is killed or calls `_exit`. Not for the child side.
pub fn at_exit(f: extern "C" fn()) -> Result<(), Errno> {
    // SAFETY: `f` is a plain function without captured state, valid for the whole
    // life of the process.
    match unsafe { libc::atexit(f) } {
        0 => Ok(()),
        _ => Err(Errno::ENOMEM),
    }
}

/// `setsid()`.
pub fn setsid() -> Result<(), Errno> {
    // SAFETY: no arguments.
    unsafe { raw!(libc::SYS_setsid) }.map(drop)
}

/// `dup3(old, new, 0)` (`dup2` for distinct descriptors).
pub fn dup2(old: RawFd, new: RawFd) -> Result<(), Errno> {
    // SAFETY: plain system call on integers; the caller owns `new`.
    unsafe { raw!(libc::SYS_dup3, old, new, 0) }.map(drop)
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, min)`.
pub fn dup_above(fd: RawFd, min: RawFd) -> Result<RawFd, Errno> {
    // SAFETY: plain system call on integers.
    unsafe { raw!(libc::SYS_fcntl, fd, libc::F_DUPFD_CLOEXEC, min) }.map(|fd| fd as RawFd)
}

/// Clears `FD_CLOEXEC` on `fd`.
pub fn clear_cloexec(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: plain system call on integers.
    unsafe { raw!(libc::SYS_fcntl, fd, libc::F_SETFD, 0) }.map(drop)
}

/// `read(fd, buf, len)`, retried on `EINTR`.
pub fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: the pointer and length describe `buf`, valid for writes.
        let ret = unsafe { raw!(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) };
        match ret {
            Err(Errno::EINTR) => continue,
            r => return r.map(|n| n as usize),
        }
    }
}

/// `write(fd, buf, len)`, retried on `EINTR`.
pub fn write(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: the pointer and length describe `buf`.
        let ret = unsafe { raw!(libc::SYS_write, fd, buf.as_ptr(), buf.len()) };
        match ret {
            Err(Errno::EINTR) => continue,
            r => return r.map(|n| n as usize),
        }
    }
}

/// `poll(fds, n, timeout_ms)`, retried on `EINTR` (with the same timeout).
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> Result<usize, Errno> {
    loop {
        // SAFETY: the pointer and length describe `fds`, valid for writes.
        let ts = libc::timespec {
            tv_sec: (timeout_ms / 1000) as libc::time_t,
            tv_nsec: (timeout_ms % 1000) as libc::c_long * 1_000_000,
        };
        let tsp = if timeout_ms < 0 { std::ptr::null() } else { &ts as *const libc::timespec };
        // SAFETY: as above; `tsp` is NULL or points to `ts`; no signal mask is given.
        let ret = unsafe { raw!(libc::SYS_ppoll, fds.as_mut_ptr(), fds.len(), tsp, 0, 8usize) };
        match ret {
            Err(Errno::EINTR) => continue,
            r => return r.map(|n| n as usize),
        }
    }
}

/// A full signal set (every signal), or an empty one.
pub fn sigset(full: bool) -> libc::sigset_t {
    // SAFETY: sigset_t is a plain bit array; sigfillset/sigemptyset initialise it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        if full {
            libc::sigfillset(&mut set);
        } else {
            libc::sigemptyset(&mut set);
        }
        set
    }
}

/// `pthread_sigmask(how, set, &old)`: returns the previous mask of this thread.
pub fn sigmask(how: libc::c_int, set: &libc::sigset_t) -> Result<libc::sigset_t, Errno> {
    let mut old = sigset(false);
    // SAFETY: both pointers are valid sigset_t values.
    let ret = unsafe { libc::pthread_sigmask(how, set, &mut old) };
    if ret != 0 {
        return Err(Errno::from_raw(ret));
    }
    Ok(old)
}

/// `rt_sigprocmask(how, set, NULL)` as a raw system call (no glibc bookkeeping:
/// glibc's wrapper silently keeps its internal signals blocked).
pub fn sigprocmask_raw(how: libc::c_int, set: &libc::sigset_t) -> Result<(), Errno> {
    // SAFETY: `set` is a valid kernel sigset (the first 8 bytes of glibc's sigset_t).
    unsafe {
        raw!(libc::SYS_rt_sigprocmask, how, set as *const libc::sigset_t, std::ptr::null::<libc::sigset_t>(), 8usize,)
    }
    .map(drop)
}

/// Resets the disposition of signal `sig` to `SIG_DFL` (errors for `SIGKILL` and
/// `SIGSTOP` and the signals glibc reserves are ignored by the caller).
pub fn reset_signal(sig: libc::c_int) -> Result<(), Errno> {
    /// The kernel's `struct sigaction` (x86-64 and most others: handler, flags,
    /// restorer, mask); SIG_DFL needs no restorer.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let act = KernelSigaction { handler: libc::SIG_DFL, flags: 0, restorer: 0, mask: 0 };
    // SAFETY: `act` is a valid kernel sigaction of the size given; the old action is not read.
    unsafe {
        raw!(libc::SYS_rt_sigaction, sig, &act as *const KernelSigaction, std::ptr::null::<KernelSigaction>(), 8usize)
    }
    .map(drop)
}

/// `signalfd(-1, mask, SFD_CLOEXEC)`.
pub fn signalfd(mask: &libc::sigset_t) -> Result<RawFd, Errno> {
    // SAFETY: `mask` is a valid sigset_t.
    unsafe { raw!(libc::SYS_signalfd4, -1i32, mask as *const libc::sigset_t, 8usize, libc::SFD_CLOEXEC) }
        .map(|fd| fd as RawFd)
}

/// `kill(pid, sig)`.
pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> Result<(), Errno> {
    // SAFETY: plain system call on integers.
    unsafe { raw!(libc::SYS_kill, pid, sig) }.map(drop)
}

/// `waitpid(pid, &status, flags)`: `Some((pid, status))`, or `None` with `WNOHANG`
/// when nothing changed.
pub fn waitpid(pid: libc::pid_t, flags: libc::c_int) -> Result<Option<(libc::pid_t, libc::c_int)>, Errno> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is valid for writes.
        let ret = unsafe {
            raw!(libc::SYS_wait4, pid, &mut status as *mut libc::c_int, flags, std::ptr::null::<libc::rusage>())
        };
        match ret.map(|p| p as libc::pid_t) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(0) => return Ok(None),
            Ok(p) => return Ok(Some((p, status))),
        }
    }
}

/// `prctl(option, arg2, 0, 0, 0)`.
pub fn prctl(option: libc::c_int, arg2: libc::c_ulong) -> Result<libc::c_int, Errno> {
    // SAFETY: the options used by the crate take integers only.
    unsafe { raw!(libc::SYS_prctl, option, arg2, 0, 0, 0) }.map(|r| r as libc::c_int)
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)`.
pub fn clear_ambient_caps() -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    unsafe { raw!(libc::SYS_prctl, libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) }.map(drop)
}

/// `capset` with every set (effective, permitted, inheritable) given by `masks`
/// (`[effective, permitted, inheritable]`, 64 bits each).
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), Errno> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header { version: VERSION_3, pid: 0 };
    let data = [
        Data { effective: effective as u32, permitted: permitted as u32, inheritable: inheritable as u32 },
        Data {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and two data structs are the layout capset v3 expects.
    unsafe { raw!(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) }.map(drop)
}

/// `setgroups(len, groups)` as a raw system call (glibc's wrapper synchronises all
/// threads, which is neither needed nor safe in a child).
pub fn setgroups(groups: &[libc::gid_t]) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe `groups`.
    unsafe { raw!(libc::SYS_setgroups, groups.len(), groups.as_ptr()) }.map(drop)
}

/// `setresgid(g, g, g)` as a raw system call (see [`setgroups`]).
pub fn setresgid(gid: libc::gid_t) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    unsafe { raw!(libc::SYS_setresgid, gid, gid, gid) }.map(drop)
}

/// `setresuid(u, u, u)` as a raw system call (see [`setgroups`]).
pub fn setresuid(uid: libc::uid_t) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    unsafe { raw!(libc::SYS_setresuid, uid, uid, uid) }.map(drop)
}

/// `setrlimit(resource, {soft, hard})`.
pub fn setrlimit(resource: libc::c_int, soft: u64, hard: u64) -> Result<(), Errno> {
    let lim = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: `lim` is a valid rlimit.
    unsafe { raw!(libc::SYS_prlimit64, 0, resource, &lim as *const libc::rlimit, std::ptr::null::<libc::rlimit>()) }
        .map(drop)
}

/// `keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)`: a new, anonymous session keyring.
pub fn join_new_session_keyring() -> Result<(), Errno> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a NULL name is allowed and asks for an anonymous keyring.
    unsafe { raw!(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, std::ptr::null::<libc::c_char>()) }.map(drop)
}

/// Whether `fd` is an open descriptor of this process (`fcntl(F_GETFD)` does not
/// fail with `EBADF`).
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    let flags = unsafe { raw!(libc::SYS_fcntl, fd, libc::F_GETFD) };
    flags != Err(Errno::EBADF)
}

/// The control buffer for up to [`FDS_MAX`] descriptors (`SCM_RIGHTS`), aligned
/// for `cmsghdr`.
#[repr(C, align(8))]
struct FdsControl([u8; 64]);

/// At most how many descriptors [`send_with_fds`] and [`recv_with_fds`] carry.
pub const FDS_MAX: usize = 8;

/// `sendmsg` of `buf` with `fds` (`SCM_RIGHTS`, at most [`FDS_MAX`]), never raising
/// SIGPIPE. (Supervisor side.)
pub fn send_with_fds(fd: RawFd, buf: &[u8], fds: &[RawFd]) -> Result<usize, Errno> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
    if fds.len() > FDS_MAX {
        return Err(Errno::EINVAL);
    }
    let iov = [std::io::IoSlice::new(buf)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &cmsg };
    loop {
        match sendmsg::<UnixAddr>(fd, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// `recvmsg` of up to `buf.len()` bytes and up to `fds.len()` (at most [`FDS_MAX`])
/// descriptors, received close-on-exec; returns how many bytes and how many
/// descriptors came. Allocates nothing (the child side calls it).
pub fn recv_with_fds(fd: RawFd, buf: &mut [u8], fds: &mut [RawFd]) -> Result<(usize, usize), Errno> {
    let want = fds.len().min(FDS_MAX);
    let mut control = FdsControl([0; 64]);
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: `msghdr` is plain data, for which all zeroes is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE((want * 4) as libc::c_uint) } as usize;
    let n = loop {
        // SAFETY: `msg` points at `iov` (describing `buf`) and at `control`, which is
        // at least `msg_controllen` bytes long (64 >= CMSG_SPACE(8 * 4) = 48); all
        // outlive the call.
        match unsafe { raw!(libc::SYS_recvmsg, fd, &mut msg as *mut libc::msghdr, libc::MSG_CMSG_CLOEXEC) } {
            Err(Errno::EINTR) => continue,
            r => break r? as usize,
        }
    };
    let mut got = 0;
    let header = std::mem::size_of::<libc::cmsghdr>();
    if msg.msg_controllen >= header {
        // SAFETY: the kernel wrote a `cmsghdr` at the start of `control` (it said
        // `msg_controllen` bytes, at least a header); `control` is aligned for it.
        let h = unsafe { std::ptr::read(control.0.as_ptr().cast::<libc::cmsghdr>()) };
        if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_RIGHTS {
            // SAFETY: CMSG_LEN only computes a size.
            let data = h.cmsg_len as usize - unsafe { libc::CMSG_LEN(0) } as usize;
            got = (data / 4).min(want);
            // The descriptors follow the header (CMSG_DATA: the header's aligned size).
            let start = header;
            for (i, slot) in fds.iter_mut().take(got).enumerate() {
                let at = start + i * 4;
                *slot = i32::from_ne_bytes([control.0[at], control.0[at + 1], control.0[at + 2], control.0[at + 3]]);
            }
        }
    }
    Ok((n, got))
}

/// `send(fd, buf, len, MSG_NOSIGNAL)`, retried on `EINTR`: a closed peer gives
/// `EPIPE`, never SIGPIPE.
pub fn send_nosignal(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: the pointer and length describe `buf`.
        let ret = unsafe { raw!(libc::SYS_sendto, fd, buf.as_ptr(), buf.len(), libc::MSG_NOSIGNAL, 0, 0) };
        match ret {
            Err(Errno::EINTR) => continue,
            r => return r.map(|n| n as usize),
        }
    }
}

/// `getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE)`: the cookie of the network
/// namespace the socket lives in (Linux 5.14+), unique for the boot.
pub fn netns_cookie(fd: RawFd) -> Result<u64, Errno> {
    const SO_NETNS_COOKIE: libc::c_int = 71;
    let mut cookie: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: the out-pointers are valid for the sizes given.
    check_int(unsafe {
        libc::getsockopt(fd, libc::SOL_SOCKET, SO_NETNS_COOKIE, (&mut cookie as *mut u64).cast(), &mut len)
    })?;
    Ok(cookie)
}

/// `flock(fd, operation)`.
pub fn flock(fd: RawFd, operation: libc::c_int) -> Result<(), Errno> {
    loop {
        // SAFETY: plain system call on integers.
        match check_int(unsafe { libc::flock(fd, operation) }) {
            Err(Errno::EINTR) => continue,
            r => return r.map(drop),
        }
    }
}

/// `setns(fd, nstype)`: with a pidfd, joins several namespaces of that process at
/// once (Linux 5.8+).
pub fn setns(fd: RawFd, nstype: libc::c_int) -> Result<(), Errno> {
    // SAFETY: plain system call on integers.
    unsafe { raw!(libc::SYS_setns, fd, nstype) }.map(drop)
}

/// `prlimit64(pid, resource, {soft, hard}, NULL)`: sets another process's limits.
pub fn prlimit(pid: libc::pid_t, resource: libc::c_int, soft: u64, hard: u64) -> Result<(), Errno> {
    let lim = libc::rlimit64 { rlim_cur: soft, rlim_max: hard };
    // SAFETY: `lim` is a valid rlimit64; the old value is not asked for.
    check_int(unsafe { libc::prlimit64(pid, resource as libc::__rlimit_resource_t, &lim, std::ptr::null_mut()) })
        .map(drop)
}

/// This process's hard limit of `resource`.
pub fn hard_limit(resource: libc::c_int) -> Result<u64, Errno> {
    let mut lim = libc::rlimit64 { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is valid for writes; no new value is given.
    check_int(unsafe { libc::prlimit64(0, resource as libc::__rlimit_resource_t, std::ptr::null(), &mut lim) })?;
    Ok(lim.rlim_max)
}

/// `unshare(flags)`.
pub fn unshare(flags: libc::c_int) -> Result<(), Errno> {
    // SAFETY: plain system call on an integer.
    unsafe { raw!(libc::SYS_unshare, flags) }.map(drop)
}

/// `timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)` armed to expire once at the
/// absolute monotonic time `deadline`.
pub fn timerfd_at(deadline: &libc::timespec) -> Result<RawFd, Errno> {
    // SAFETY: plain system call on integers.
    let fd = unsafe { raw!(libc::SYS_timerfd_create, libc::CLOCK_MONOTONIC, libc::TFD_CLOEXEC) }? as RawFd;
    let spec = libc::itimerspec { it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 }, it_value: *deadline };
    // SAFETY: `spec` is a valid itimerspec; the old value is not asked for.
    let set =
        unsafe { raw!(libc::SYS_timerfd_settime, fd, libc::TFD_TIMER_ABSTIME, &spec as *const libc::itimerspec, 0) };
    if let Err(e) = set {
        close(fd);
        return Err(e);
    }
    Ok(fd)
}

/// `clock_gettime(CLOCK_MONOTONIC)`.
pub fn monotonic_now() -> libc::timespec {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is valid for writes; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts
}

/// Takes ownership of a descriptor a system call just returned.
pub fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: callers pass a fresh descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// `pidfd_open(pid, 0)`.
pub fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd, Errno> {
    // SAFETY: plain system call on integers.
    let fd = unsafe { raw!(libc::SYS_pidfd_open, pid, 0) }?;
    Ok(owned(fd as RawFd))
}

/// `pidfd_getfd(pidfd, targetfd, 0)`: a duplicate, in this process, of descriptor
/// `targetfd` of the process `pidfd` refers to (close-on-exec).
pub fn pidfd_getfd(pidfd: RawFd, targetfd: RawFd) -> Result<OwnedFd, Errno> {
    // SAFETY: plain system call on integers.
    let fd = unsafe { raw!(libc::SYS_pidfd_getfd, pidfd, targetfd, 0) }?;
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A `netlink_sys::Socket` owning `fd`, which must be a netlink socket.
pub fn netlink_socket(fd: OwnedFd) -> netlink_sys::Socket {
    // SAFETY: ownership of the descriptor moves into the socket, which closes it.
    unsafe { netlink_sys::Socket::from_raw_fd(fd.into_raw_fd()) }
}

/// `socket(domain, type | SOCK_CLOEXEC, protocol)`.
pub fn socket(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> Result<RawFd, Errno> {
    // SAFETY: plain system call on integers.
    unsafe { raw!(libc::SYS_socket, domain, ty | libc::SOCK_CLOEXEC, protocol) }.map(|fd| fd as RawFd)
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, {len, filter})`: installs a BPF program
/// (needs `no_new_privs` or `CAP_SYS_ADMIN`).
pub fn seccomp_install(program: &[seccompiler::sock_filter]) -> Result<(), Errno> {
    #[repr(C)]
    struct SockFprog {
        len: libc::c_ushort,
        filter: *const seccompiler::sock_filter,
    }
    let len = libc::c_ushort::try_from(program.len()).map_err(|_| Errno::E2BIG)?;
    let prog = SockFprog { len, filter: program.as_ptr() };
    // SAFETY: `prog` describes `program`, which outlives the call; the kernel copies it.
    unsafe { raw!(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog as *const SockFprog) }.map(drop)
}

/// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0)`.
pub fn raise_ambient_cap(cap: u32) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    unsafe { raw!(libc::SYS_prctl, libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, cap, 0, 0) }.map(drop)
}

/// `execve(path, argv, envp)`: returns only on failure.
///
/// # Safety
/// `argv` and `envp` must be NULL-terminated arrays of pointers to NUL-terminated
/// strings that stay valid for the call.
pub unsafe fn execve(path: &CStr, argv: *const *const libc::c_char, envp: *const *const libc::c_char) -> Errno {
    // SAFETY: upheld by the caller.
    match unsafe { raw!(libc::SYS_execve, path.as_ptr(), argv, envp) } {
        Err(e) => e,
        Ok(_) => Errno::EINVAL, // execve does not return on success
    }
}

/// `exit_group(code)`: ends the process at once, running nothing (no atexit
/// handlers, no stdio flush).
pub fn exit_now(code: libc::c_int) -> ! {
    // SAFETY: `_exit` never returns and touches no user-space state.
    let _ = unsafe { raw!(libc::SYS_exit_group, code) };
    // SAFETY: exit_group does not return; this is never reached.
    unsafe { std::hint::unreachable_unchecked() }
}

/// `getpid()`.
pub fn getpid() -> libc::pid_t {
    // SAFETY: no arguments; glibc 2.25+ does not cache the pid.
    unsafe { raw!(libc::SYS_getpid) }.map_or(0, |p| p as libc::pid_t)
}

/// `pipe2(flags)`: `[read end, write end]`.
pub fn pipe2(flags: libc::c_int) -> Result<[RawFd; 2], Errno> {
    let mut fds: [libc::c_int; 2] = [-1, -1];
    // SAFETY: `fds` is valid for writes of two ints.
    unsafe { raw!(libc::SYS_pipe2, fds.as_mut_ptr(), flags) }?;
    Ok(fds)
}

/// `execveat(dirfd, "", argv, envp, AT_EMPTY_PATH)`: executes the file `dirfd`
/// refers to; returns only on failure.
///
/// # Safety
/// As [`execve`].
pub unsafe fn execveat_fd(dirfd: RawFd, argv: *const *const libc::c_char, envp: *const *const libc::c_char) -> Errno {
    // SAFETY: upheld by the caller; the path is an empty NUL-terminated string.
    match unsafe { raw!(libc::SYS_execveat, dirfd, c"".as_ptr(), argv, envp, libc::AT_EMPTY_PATH) } {
        Err(e) => e,
        Ok(_) => Errno::EINVAL, // execveat does not return on success
    }
}

/// A sealed memfd (`MFD_CLOEXEC`) holding `bytes`, executable and not readable
/// (mode 0111), that nobody can change any more (write, grow, shrink, chmod and
/// seal seals). Not for the child
/// side.
pub fn sealed_memfd(name: &CStr, bytes: &[u8]) -> Result<OwnedFd, Errno> {
    // Linux 6.3+: sealing the mode, and executable whatever vm.memfd_noexec says.
    const F_SEAL_EXEC: libc::c_int = 0x20;
    const MFD_EXEC: libc::c_uint = 0x10;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: `name` is NUL-terminated.
    let fd = match unsafe { raw!(libc::SYS_memfd_create, name.as_ptr(), flags | MFD_EXEC) } {
        // SAFETY: as above; a kernel before 6.3 knows no MFD_EXEC (and makes
        // every memfd executable).
        Err(Errno::EINVAL) => unsafe { raw!(libc::SYS_memfd_create, name.as_ptr(), flags) }?,
        other => other?,
    };
    let fd = owned(fd as RawFd);
    let mut done = 0;
    while done < bytes.len() {
        done += write(fd.as_raw_fd(), &bytes[done..])?;
    }
    // Executable, not readable: a process executing it becomes undumpable with its
    // memory's user namespace one that owns the file (the host's for root), so a
    // sandbox's program cannot trace it even with CAP_SYS_PTRACE in its own.
    // SAFETY: plain system call on integers.
    unsafe { raw!(libc::SYS_fchmod, fd.as_raw_fd(), 0o111) }?;
    let seals = libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
    // SAFETY: plain system calls on integers.
    if unsafe { raw!(libc::SYS_fcntl, fd.as_raw_fd(), libc::F_ADD_SEALS, seals | F_SEAL_EXEC) }.is_err() {
        // SAFETY: as above; kernels before 6.3 know no F_SEAL_EXEC.
        unsafe { raw!(libc::SYS_fcntl, fd.as_raw_fd(), libc::F_ADD_SEALS, seals) }?;
    }
    Ok(fd)
}

/// A private, zeroed mapping for a stack whose lowest `guard` bytes are
/// inaccessible (an overflow faults instead of writing below); unmapped when
/// dropped. Not for the child side.
///
/// Whoever runs a process on it must keep it until that process no longer does
/// (see `spawn::launch::Stacks`).
#[derive(Debug)]
pub struct StackMapping {
    base: *mut u8,
    len: usize,
    guard: usize,
}

impl StackMapping {
    /// Maps `size` usable bytes above `guard` inaccessible ones (both multiples of
    /// the page size).
    pub fn new(size: usize, guard: usize) -> Result<StackMapping, Errno> {
        let len = size + guard;
        // SAFETY: a fresh anonymous mapping chosen by the kernel; nothing is overwritten.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let mapping = StackMapping { base: base.cast(), len, guard };
        // SAFETY: the first `guard` bytes of the mapping just made.
        if unsafe { libc::mprotect(base, guard, libc::PROT_NONE) } != 0 {
            return Err(Errno::last()); // dropping `mapping` unmaps it
        }
        Ok(mapping)
    }

    /// The usable part: its lowest address and its size.
    pub fn usable(&self) -> (*mut u8, usize) {
        (self.base.wrapping_add(self.guard), self.len - self.guard)
    }
}

impl Drop for StackMapping {
    fn drop(&mut self) {
        // SAFETY: the mapping `new` made, which its owner no longer runs anything on.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}
