//! Executing a filesystem plan in the init: build the new root with the new mount
//! API, every destination resolved inside it, then pivot into it.

use std::ffi::CStr;
use std::os::fd::RawFd;

use nix::errno::Errno;

use super::buf::StackPath;
use super::{At, Failure};
use crate::error::Stage;
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

/// Builds the root described by `plan`, then makes it `/`.
pub(super) fn build(plan: &FsPlan) -> Result<(), Failure> {
    sys::mount_flags(c"/", libc::MS_REC | libc::MS_PRIVATE).at(Stage::MountPrivate)?;
    let root = make_root(&plan.root)?;
    for op in &plan.ops {
        run(root.0, op)?;
    }
    pivot(root.0)
}

/// Attaches a detached mount on top of the current `/` of this (private) mount
/// namespace; paths from the old root keep resolving in the host's tree, and the
/// descriptor now refers to the attached mount.
fn attach_on_slash(mnt: RawFd) -> Result<(), Errno> {
    sys::move_mount(mnt, c"", libc::AT_FDCWD, c"/", sys::MOVE_MOUNT_F_EMPTY_PATH)
}

fn make_root(op: &RootOp) -> Result<Fd, Failure> {
    match op {
        RootOp::Tmpfs { options } => {
            let m = new_fs(c"tmpfs", options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV).at(Stage::Root)?;
            attach_on_slash(m.0).at(Stage::Root)?;
            Ok(m)
        }
        RootOp::Bind { src, path, tree } => {
            let m = match *tree {
                t if t >= 0 => Fd(t),
                _ => Fd(sys::open_tree(libc::AT_FDCWD, src, TREE_FLAGS).at_path(Stage::Root, *path as i32)?),
            };
            attach_on_slash(m.0).at_path(Stage::Root, *path as i32)?;
            Ok(m)
        }
        RootOp::Overlay { lower, path, upper, tree } => {
            let p = *path as i32;
            let fs = Fd(sys::fsopen(c"overlay").at_path(Stage::Root, p)?);
            let _lower_tree; // an idmapped lower layer, attached so overlayfs takes it
            if *tree >= 0 {
                attach_on_slash(*tree).at_path(Stage::Root, p)?;
                let mut l = StackPath::fd_path(*tree, c".").at(Stage::Root)?;
                sys::fsconfig_string(fs.0, c"lowerdir+", l.as_cstr()).at_path(Stage::Root, p)?;
                _lower_tree = Fd(*tree);
            } else {
                add_lower_layers(fs.0, &[Some(LayerRef::Host(lower))], -1).at_path(Stage::Root, p)?;
            }
            let _upper_mount; // keeps the private upper tmpfs open until the overlay exists
            match upper {
                Some((u, w)) => {
                    sys::fsconfig_string(fs.0, c"upperdir", u).at_path(Stage::Root, p)?;
                    sys::fsconfig_string(fs.0, c"workdir", w).at_path(Stage::Root, p)?;
                }
                None => {
                    let t = new_fs(c"tmpfs", &[], MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV).at(Stage::Root)?;
                    attach_on_slash(t.0).at(Stage::Root)?;
                    for (name, _) in [(c"upper", 0), (c"work", 1)] {
                        sys::mkdirat(t.0, name, 0o755).at(Stage::Root)?;
                    }
                    let mut u = StackPath::fd_path(t.0, c"upper").at(Stage::Root)?;
                    sys::fsconfig_string(fs.0, c"upperdir", u.as_cstr()).at_path(Stage::Root, p)?;
                    let mut w = StackPath::fd_path(t.0, c"work").at(Stage::Root)?;
                    sys::fsconfig_string(fs.0, c"workdir", w.as_cstr()).at_path(Stage::Root, p)?;
                    _upper_mount = t;
                }
            }
            sys::fsconfig_create(fs.0).at_path(Stage::Root, p)?;
            let m = Fd(sys::fsmount(fs.0, 0).at_path(Stage::Root, p)?);
            attach_on_slash(m.0).at_path(Stage::Root, p)?;
            Ok(m)
        }
    }
}

/// A lower layer by reference (the plan's strings are never copied).
enum LayerRef<'a> {
    Host(&'a CStr),
    InRoot(&'a CStr),
}

fn run(root: RawFd, op: &Op) -> Result<(), Failure> {
    match op {
        Op::Mkdir { dst } => ensure(root, dst).map(drop),
        Op::Symlink { target, dst } => {
            let parent = ensure_parent(root, dst)?;
            match sys::symlinkat(target, parent.0, &dst.name) {
                Ok(()) | Err(Errno::EEXIST) => Ok(()),
                Err(e) => Err(Failure { stage: Stage::MountPoint, errno: e, path: dst.path as i32 }),
            }
        }
        Op::Whiteout { dst } => {
            let parent = ensure_parent(root, dst)?;
            match sys::mknodat(parent.0, &dst.name, libc::S_IFCHR, 0) {
                Ok(()) | Err(Errno::EEXIST) => Ok(()),
                Err(e) => Err(Failure { stage: Stage::MountPoint, errno: e, path: dst.path as i32 }),
            }
        }
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
            let flags = sys::OPEN_TREE_CLONE
                | sys::OPEN_TREE_CLOEXEC
                | (libc::AT_RECURSIVE | libc::AT_EMPTY_PATH) as libc::c_uint;
            let tree = Fd(sys::open_tree(d.0, c"", flags).at_path(Stage::Mount, dst.path as i32)?);
            let attr = MountAttr { attr_set: *attrs, ..MountAttr::default() };
            sys::mount_setattr(tree.0, c"", (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint, &attr)
                .at_path(Stage::MountAttr, dst.path as i32)?;
            sys::move_mount(tree.0, c"", d.0, c"", sys::MOVE_MOUNT_F_EMPTY_PATH | sys::MOVE_MOUNT_T_EMPTY_PATH)
                .at_path(Stage::Mount, dst.path as i32)
        }
        Op::SetAttr { dst, attrs } => {
            let d = ensure(root, dst)?;
            let attr = MountAttr { attr_set: *attrs, ..MountAttr::default() };
            sys::mount_setattr(d.0, c"", libc::AT_EMPTY_PATH as libc::c_uint, &attr)
                .at_path(Stage::MountAttr, dst.path as i32)
        }
    }
}

/// Gives overlayfs its lower layers, topmost first: one `lowerdir+` each (Linux
/// 6.8+), or, on older kernels, one `lowerdir` of all of them joined by `:`.
fn add_lower_layers(fs: RawFd, layers: &[Option<LayerRef<'_>>], root: RawFd) -> Result<(), Errno> {
    let layer_path = |l: &LayerRef<'_>| -> Result<StackPath, Errno> {
        match l {
            LayerRef::Host(s) => {
                let mut p = StackPath::new();
                p.push(s.to_bytes())?;
                Ok(p)
            }
            LayerRef::InRoot(rel) => StackPath::fd_path(root, rel),
        }
    };
    let mut first = true;
    for l in layers.iter().flatten() {
        let mut p = layer_path(l)?;
        match sys::fsconfig_string(fs, c"lowerdir+", p.as_cstr()) {
            Ok(()) => first = false,
            Err(Errno::EINVAL) if first => return joined_lowerdir(fs, layers, root, &layer_path),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn joined_lowerdir(
    fs: RawFd,
    layers: &[Option<LayerRef<'_>>],
    _root: RawFd,
    layer_path: &dyn Fn(&LayerRef<'_>) -> Result<StackPath, Errno>,
) -> Result<(), Errno> {
    let mut all = StackPath::new();
    for (i, l) in layers.iter().flatten().enumerate() {
        if i > 0 {
            all.push(b":")?;
        }
        let mut p = layer_path(l)?;
        // overlayfs splits `lowerdir` at unescaped ':'.
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
    let d = ensure(root, dst)?;
    sys::move_mount(m.0, c"", d.0, c"", sys::MOVE_MOUNT_F_EMPTY_PATH | sys::MOVE_MOUNT_T_EMPTY_PATH)
        .at_path(Stage::Mount, dst.path as i32)
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

/// Opens `dst` inside the root (`O_PATH`), creating it (and its ancestors) as a
/// directory or an empty file when it is missing.
fn ensure(root: RawFd, dst: &Dest) -> Result<Fd, Failure> {
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
/// new one, and detaching it leaves nothing of the host reachable. Where
/// `pivot_root` cannot work (an initramfs root), falls back to `chroot` into the
/// new root, which covers the old one.
fn pivot(root: RawFd) -> Result<(), Failure> {
    sys::fchdir(root).at(Stage::PivotRoot)?;
    match sys::pivot_root(c".", c".") {
        Ok(()) => sys::umount2(c".", libc::MNT_DETACH).at(Stage::DetachOldRoot)?,
        Err(Errno::EINVAL) => sys::chroot(c".").at(Stage::PivotRoot)?,
        Err(e) => return Err(Failure { stage: Stage::PivotRoot, errno: e, path: NO_PATH }),
    }
    sys::chdir(c"/").at(Stage::PivotRoot)
}
