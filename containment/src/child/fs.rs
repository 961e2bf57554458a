//! Executing a filesystem plan in the init: build the new root with the new mount
//! API, every destination resolved inside it, then pivot into it.

use std::ffi::CStr;
use std::os::fd::RawFd;

use nix::errno::Errno;

use super::buf::StackPath;
use super::{At, Failure};
use crate::error::Stage;
use crate::fault::{self, Fault};
use crate::mount::{Dest, FsPlan, Layer, NodeKind, Op, RootOp};
use crate::report::NO_PATH;
use crate::sys::{self, MountAttr, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID};

/// A descriptor closed when dropped (dropping runs no allocation).
struct Fd(RawFd);

impl Drop for Fd {
    fn drop(&mut self) {
        sys::close(self.0);
    }
}

/// `open_tree` flags for a detached recursive copy of a tree.
const TREE_FLAGS: libc::c_uint = sys::OPEN_TREE_CLONE | sys::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as libc::c_uint;

/// Builds the root described by `plan`, then makes it `/`. `chroot_fallback`: may
/// the root be entered with `chroot` where `pivot_root` cannot work (see [`pivot`]).
pub(super) fn build(plan: &FsPlan, chroot_fallback: bool, fault: Option<Fault>) -> Result<(), Failure> {
    sys::mount_flags(c"/", libc::MS_REC | libc::MS_PRIVATE).at(Stage::MountPrivate)?;
    let (root, staging) = make_root(&plan.root)?;
    for op in &plan.ops {
        run(root.0, op)?;
    }
    if let Some(s) = staging {
        // The staging mount becomes `/` first, which drops the host's tree.
        pivot(s.0, chroot_fallback, fault)?;
    }
    pivot(root.0, chroot_fallback, fault)
}

/// Attaches a detached mount on top of the current `/` of this (private) mount
/// namespace; paths from the old root keep resolving in the host's tree, and the
/// descriptor now refers to the attached mount.
fn attach_on_slash(mnt: RawFd) -> Result<(), Errno> {
    sys::move_mount(mnt, c"", libc::AT_FDCWD, c"/", sys::MOVE_MOUNT_F_EMPTY_PATH)
}

/// The new root, and the staging mount to drop on the way to it, if any.
fn make_root(op: &RootOp) -> Result<(Fd, Option<Fd>), Failure> {
    match op {
        RootOp::Tmpfs { options } => {
            let m = new_fs(c"tmpfs", options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV).at(Stage::Root)?;
            attach_on_slash(m.0).at(Stage::Root)?;
            Ok((m, None))
        }
        RootOp::Bind { src, path, tree } => {
            let m = match *tree {
                t if t >= 0 => Fd(t),
                _ => Fd(sys::open_tree(libc::AT_FDCWD, src, TREE_FLAGS).at_path(Stage::Root, *path as i32)?),
            };
            attach_on_slash(m.0).at_path(Stage::Root, *path as i32)?;
            Ok((m, None))
        }
        RootOp::Overlay { lower, path, persist, tree, persist_tree, userxattr } => {
            // Everything the overlay needs lives in a staging tmpfs stacked on `/`,
            // the overlay itself is attached inside it, and `pivot` drops the host
            // first, then the staging tmpfs: nothing but the overlay stays reachable.
            let p = *path as i32;
            let staging = new_fs(c"tmpfs", &[], MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV).at(Stage::Root)?;
            attach_on_slash(staging.0).at(Stage::Root)?;
            for name in [c"upper", c"work", c"lower", c"persist", c"root"] {
                sys::mkdirat(staging.0, name, 0o700).at(Stage::Root)?;
            }
            let fs = Fd(sys::fsopen(c"overlay").at_path(Stage::Root, p)?);
            if *tree >= 0 {
                let t = Fd(*tree);
                attach_at(t.0, staging.0, c"lower").at_path(Stage::Root, p)?;
                add_lower_layers(fs.0, &[Some(LayerRef::InRoot(c"lower"))], staging.0).at_path(Stage::Root, p)?;
            } else {
                add_lower_layers(fs.0, &[Some(LayerRef::Host(lower))], -1).at_path(Stage::Root, p)?;
            }
            let (mut u, mut w) = match (persist, *persist_tree) {
                (Some(_), t) if t >= 0 => {
                    let t = Fd(t);
                    attach_at(t.0, staging.0, c"persist").at_path(Stage::Root, p)?;
                    (StackPath::fd_path(staging.0, c"persist/upper"), StackPath::fd_path(staging.0, c"persist/work"))
                }
                (Some(dir), _) => (host_join(dir, b"/upper"), host_join(dir, b"/work")),
                (None, _) => (StackPath::fd_path(staging.0, c"upper"), StackPath::fd_path(staging.0, c"work")),
            };
            let u = u.as_mut().map_err(|e| Failure { stage: Stage::Root, errno: *e, path: p })?;
            sys::fsconfig_string(fs.0, c"upperdir", u.as_cstr()).at_path(Stage::Root, p)?;
            let w = w.as_mut().map_err(|e| Failure { stage: Stage::Root, errno: *e, path: p })?;
            sys::fsconfig_string(fs.0, c"workdir", w.as_cstr()).at_path(Stage::Root, p)?;
            if *userxattr {
                // trusted.* xattrs are not for a user namespace: use user.* ones.
                sys::fsconfig_flag(fs.0, c"userxattr").at_path(Stage::Root, p)?;
            }
            sys::fsconfig_create(fs.0).at_path(Stage::Root, p)?;
            let m = Fd(sys::fsmount(fs.0, 0).at_path(Stage::Root, p)?);
            attach_at(m.0, staging.0, c"root").at_path(Stage::Root, p)?;
            Ok((m, Some(staging)))
        }
    }
}

/// Attaches the detached mount `m` at `name` below the directory `dir`.
fn attach_at(m: RawFd, dir: RawFd, name: &CStr) -> Result<(), Errno> {
    sys::move_mount(m, c"", dir, name, sys::MOVE_MOUNT_F_EMPTY_PATH)
}

/// `dir` followed by `suffix`, on the stack.
fn host_join(dir: &CStr, suffix: &[u8]) -> Result<StackPath, Errno> {
    let mut p = StackPath::new();
    p.push(dir.to_bytes())?.push(suffix)?;
    Ok(p)
}

/// A lower layer by reference (the plan's strings are never copied).
enum LayerRef<'a> {
    Host(&'a CStr),
    InRoot(&'a CStr),
}

fn run(root: RawFd, op: &Op) -> Result<(), Failure> {
    match op {
        Op::Mkdir { dst } => ensure(root, dst).map(drop),
        Op::Symlink { target, dst } => make_node(root, dst, |dirfd, name| sys::symlinkat(target, dirfd, name)),
        Op::Whiteout { dst } => make_node(root, dst, |dirfd, name| sys::mknodat(dirfd, name, libc::S_IFCHR, 0)),
        Op::Bind { src, src_path, dst, attrs, tree, .. } => {
            if *tree >= 0 {
                // Made, and given its attributes and idmapping, by the supervisor.
                return attach(root, Fd(*tree), dst);
            }
            let tree = Fd(sys::open_tree(libc::AT_FDCWD, src, TREE_FLAGS).at_path(Stage::Mount, *src_path as i32)?);
            let attr = MountAttr { attr_set: *attrs, ..MountAttr::default() };
            sys::mount_setattr(tree.0, c"", (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint, &attr)
                .at_path(Stage::MountAttr, dst.path as i32)?;
            attach(root, tree, dst)
        }
        Op::Fs { fstype, options, dst, attrs } => {
            let m = new_fs(fstype, options, *attrs).at_path(Stage::Mount, dst.path as i32)?;
            attach(root, m, dst)
        }
        Op::Overlay { layers, dst, attrs } => {
            let p = dst.path as i32;
            let fs = Fd(sys::fsopen(c"overlay").at_path(Stage::Mount, p)?);
            let mut refs: [Option<LayerRef<'_>>; 4] = [None, None, None, None];
            for (slot, l) in refs.iter_mut().zip(layers) {
                *slot = Some(match l {
                    Layer::Host(s) => LayerRef::Host(s),
                    Layer::InRoot(s) => LayerRef::InRoot(s),
                });
            }
            add_lower_layers(fs.0, &refs, root).at_path(Stage::Mount, p)?;
            sys::fsconfig_create(fs.0).at_path(Stage::Mount, p)?;
            let m = Fd(sys::fsmount(fs.0, *attrs).at_path(Stage::Mount, p)?);
            attach(root, m, dst)
        }
        Op::Rebind { dst, attrs } => {
            let d = ensure(root, dst)?;
            let flags = TREE_FLAGS | d.at_empty();
            let tree = Fd(sys::open_tree(d.dirfd(), d.path(), flags).at_path(Stage::Mount, dst.path as i32)?);
            let attr = MountAttr { attr_set: *attrs, ..MountAttr::default() };
            sys::mount_setattr(tree.0, c"", (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint, &attr)
                .at_path(Stage::MountAttr, dst.path as i32)?;
            sys::move_mount(tree.0, c"", d.dirfd(), d.path(), sys::MOVE_MOUNT_F_EMPTY_PATH | d.t_empty())
                .at_path(Stage::Mount, dst.path as i32)
        }
        Op::SetAttr { dst, attrs } => {
            let d = ensure(root, dst)?;
            let attr = MountAttr { attr_set: *attrs, ..MountAttr::default() };
            sys::mount_setattr(d.dirfd(), d.path(), d.at_empty(), &attr).at_path(Stage::MountAttr, dst.path as i32)
        }
    }
}

/// Gives overlayfs its lower layers, topmost first, as one `lowerdir` option of
/// all of them joined by `:` (with `:` and `\\` escaped). The one form every kernel
/// with overlayfs in the new mount API takes; `lowerdir+` (6.5+) is not needed, and
/// older kernels accept it at `fsconfig` only to fail at `FSCONFIG_CMD_CREATE`.
fn add_lower_layers(fs: RawFd, layers: &[Option<LayerRef<'_>>], root: RawFd) -> Result<(), Errno> {
    let mut all = StackPath::new();
    for (i, l) in layers.iter().flatten().enumerate() {
        if i > 0 {
            all.push(b":")?;
        }
        let mut p = match l {
            LayerRef::Host(s) => {
                let mut p = StackPath::new();
                p.push(s.to_bytes())?;
                p
            }
            LayerRef::InRoot(rel) => StackPath::fd_path(root, rel)?,
        };
        for b in p.as_cstr().to_bytes() {
            if matches!(b, b':' | b'\\') {
                all.push(b"\\")?;
            }
            all.push(std::slice::from_ref(b))?;
        }
    }
    sys::fsconfig_string(fs, c"lowerdir", all.as_cstr())
}

/// A new detached filesystem instance with the given string options (an empty
/// value sets a flag) and mount attributes.
fn new_fs(fstype: &CStr, options: &[(std::ffi::CString, std::ffi::CString)], attrs: u64) -> Result<Fd, Errno> {
    let fs = Fd(sys::fsopen(fstype)?);
    for (k, v) in options {
        if v.is_empty() {
            sys::fsconfig_flag(fs.0, k)?;
        } else {
            sys::fsconfig_string(fs.0, k, v)?;
        }
    }
    sys::fsconfig_create(fs.0)?;
    Ok(Fd(sys::fsmount(fs.0, attrs)?))
}

/// Attaches the detached mount `m` at `dst` inside the root.
fn attach(root: RawFd, m: Fd, dst: &Dest) -> Result<(), Failure> {
    let place = ensure(root, dst)?;
    sys::move_mount(m.0, c"", place.dirfd(), place.path(), sys::MOVE_MOUNT_F_EMPTY_PATH | place.t_empty())
        .at_path(Stage::Mount, dst.path as i32)
}

/// A place in the root: a descriptor `openat2` gave, or, for a trusted
/// destination, the root's descriptor and the path relative to it.
enum Place<'a> {
    Opened(Fd),
    Relative(RawFd, &'a CStr),
}

impl Place<'_> {
    fn dirfd(&self) -> RawFd {
        match self {
            Place::Opened(fd) => fd.0,
            Place::Relative(root, _) => *root,
        }
    }
    fn path(&self) -> &CStr {
        match self {
            Place::Opened(_) => c"",
            Place::Relative(_, rel) => rel,
        }
    }
    /// `MOVE_MOUNT_T_EMPTY_PATH` when the place is a descriptor.
    fn t_empty(&self) -> libc::c_uint {
        match self {
            Place::Opened(_) => sys::MOVE_MOUNT_T_EMPTY_PATH,
            Place::Relative(..) => 0,
        }
    }
    /// `AT_EMPTY_PATH` when the place is a descriptor.
    fn at_empty(&self) -> libc::c_uint {
        match self {
            Place::Opened(_) => libc::AT_EMPTY_PATH as libc::c_uint,
            Place::Relative(..) => 0,
        }
    }
}

/// Creates a trusted destination (and its missing ancestors) with paths relative
/// to the root; it may exist already.
fn create_trusted(root: RawFd, dst: &Dest) -> Result<(), Failure> {
    let p = dst.path as i32;
    let make = || match dst.kind {
        NodeKind::Dir => sys::mkdirat(root, &dst.rel, 0o755),
        NodeKind::File => {
            // O_EXCL: an existing file (a /proc entry to mask) is never opened.
            let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
            sys::openat(root, &dst.rel, flags, 0o644).map(sys::close)
        }
    };
    match make() {
        Ok(()) | Err(Errno::EEXIST) => return Ok(()),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(Failure { stage: Stage::MountPoint, errno: e, path: p }),
    }
    make_ancestors_trusted(root, dst)?;
    match make() {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(Failure { stage: Stage::MountPoint, errno: e, path: p }),
    }
}

/// The ancestors of a trusted destination, outermost first, made with paths
/// relative to the root (ancestor `i` is the parent of ancestor `i + 1`, the last
/// one the destination's parent).
fn make_ancestors_trusted(root: RawFd, dst: &Dest) -> Result<(), Failure> {
    let n = dst.ancestors.len();
    for i in 0..n {
        let full = dst.ancestors.get(i + 1).map_or(dst.parent.as_c_str(), |(parent, _)| parent.as_c_str());
        match sys::mkdirat(root, full, 0o755) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Failure { stage: Stage::MountPoint, errno: e, path: dst.path as i32 }),
        }
    }
    Ok(())
}

fn resolve_flags(dst: &Dest) -> u64 {
    let mut r = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    if dst.no_symlinks {
        r |= libc::RESOLVE_NO_SYMLINKS;
    }
    r
}

fn open_in_root(root: RawFd, rel: &CStr, dst: &Dest) -> Result<Fd, Errno> {
    let flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    sys::openat2(root, rel, flags, 0, resolve_flags(dst)).map(Fd)
}

/// Creates the node `dst` (a symlink or a whiteout) with `make(dirfd, name)`;
/// one that exists already is left as it is.
fn make_node(root: RawFd, dst: &Dest, make: impl Fn(RawFd, &CStr) -> Result<(), Errno>) -> Result<(), Failure> {
    let fail = |errno| Failure { stage: Stage::MountPoint, errno, path: dst.path as i32 };
    if dst.trusted {
        match make(root, &dst.rel) {
            Ok(()) | Err(Errno::EEXIST) => return Ok(()),
            Err(Errno::ENOENT) => make_ancestors_trusted(root, dst)?,
            Err(e) => return Err(fail(e)),
        }
        return match make(root, &dst.rel) {
            Ok(()) | Err(Errno::EEXIST) => Ok(()),
            Err(e) => Err(fail(e)),
        };
    }
    let parent = ensure_parent(root, dst)?;
    match make(parent.0, &dst.name) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(fail(e)),
    }
}

/// Opens the parent directory of `dst`, creating the missing ancestors.
fn ensure_parent(root: RawFd, dst: &Dest) -> Result<Fd, Failure> {
    let p = dst.path as i32;
    match open_in_root(root, &dst.parent, dst) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(Failure { stage: Stage::MountPoint, errno: e, path: p }),
    }
    for (parent, name) in &dst.ancestors {
        let pfd = open_in_root(root, parent, dst).at_path(Stage::MountPoint, p)?;
        match sys::mkdirat(pfd.0, name, 0o755) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Failure { stage: Stage::MountPoint, errno: e, path: p }),
        }
    }
    open_in_root(root, &dst.parent, dst).at_path(Stage::MountPoint, p)
}

/// The place of `dst` inside the root, created (with its ancestors) as a
/// directory or an empty file when it is missing.
fn ensure(root: RawFd, dst: &Dest) -> Result<Place<'_>, Failure> {
    if dst.trusted {
        create_trusted(root, dst)?;
        return Ok(Place::Relative(root, &dst.rel));
    }
    resolve(root, dst).map(Place::Opened)
}

/// Opens `dst` inside the root (`O_PATH`, resolved with `RESOLVE_IN_ROOT`),
/// creating it (and its ancestors) when it is missing.
fn resolve(root: RawFd, dst: &Dest) -> Result<Fd, Failure> {
    let p = dst.path as i32;
    match open_in_root(root, &dst.rel, dst) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(Failure { stage: Stage::MountPoint, errno: e, path: p }),
    }
    let parent = ensure_parent(root, dst)?;
    let made = match dst.kind {
        NodeKind::Dir => sys::mkdirat(parent.0, &dst.name, 0o755),
        NodeKind::File => {
            let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
            sys::openat(parent.0, &dst.name, flags, 0o644).map(sys::close)
        }
    };
    match made {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(Failure { stage: Stage::MountPoint, errno: e, path: p }),
    }
    open_in_root(root, &dst.rel, dst).at_path(Stage::MountPoint, p)
}

/// Makes the root descriptor `/`: `pivot_root(".", ".")` stacks the old root on the
/// new one, and detaching it leaves nothing of the host reachable.
///
/// Where `pivot_root` cannot work (`EINVAL`: an initramfs root; a supervisor whose
/// own root is not a mount point fails before, at `mount-private`), falls back to
/// `chroot` into the new root. The old root then stays in the mount
/// namespace, out of reach only of a program without `CAP_SYS_CHROOT` (the classic
/// escape needs it): when `chroot_fallback` is false (the program would keep that
/// capability) the sandbox is refused instead, with `EPERM` at this stage.
fn pivot(root: RawFd, chroot_fallback: bool, fault: Option<Fault>) -> Result<(), Failure> {
    fault::at(fault, fault::Who::Init, Stage::PivotRoot);
    sys::fchdir(root).at(Stage::PivotRoot)?;
    let pivoted = match fault::einval(fault, Stage::PivotRoot) {
        true => Err(Errno::EINVAL),
        false => sys::pivot_root(c".", c"."),
    };
    match pivoted {
        Ok(()) => sys::umount2(c".", libc::MNT_DETACH).at(Stage::DetachOldRoot)?,
        Err(Errno::EINVAL) if chroot_fallback => sys::chroot(c".").at(Stage::PivotRoot)?,
        Err(Errno::EINVAL) => return Err(Failure { stage: Stage::PivotRoot, errno: Errno::EPERM, path: NO_PATH }),
        Err(e) => return Err(Failure { stage: Stage::PivotRoot, errno: e, path: NO_PATH }),
    }
    sys::chdir(c"/").at(Stage::PivotRoot)
}
