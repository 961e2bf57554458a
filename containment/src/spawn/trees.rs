//! Mount trees the supervisor prepares for a sandbox with a user namespace, so that
//! they can be idmapped: only a process privileged over the host's filesystems
//! may idmap a mount, and the sandbox's init is not one. The supervisor clones each
//! tree (`open_tree`) before `clone3`, the init inherits the descriptors, the
//! supervisor idmaps the trees with the init's user namespace once it exists, and
//! the init attaches them.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::mount::{FsPlan, Idmap, Op, RootOp};
use crate::sys::{self, MountAttr};

/// One prepared tree.
pub(crate) struct Tree {
    fd: OwnedFd,
    attrs: u64,
    idmap: Idmap,
    path: PathBuf,
}

impl Tree {
    pub fn raw(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

/// Clones the trees `plan` binds with an idmapping and records their descriptors
/// in it.
pub(crate) fn prepare(plan: &mut FsPlan) -> Result<Vec<Tree>> {
    let mut trees = Vec::new();
    let paths = plan.paths.clone();
    let mut make = |src: &std::ffi::CStr, path: u32, attrs: u64, idmap: Idmap| -> Result<i32> {
        let path = paths.get(path as usize).cloned().unwrap_or_default();
        let flags = sys::OPEN_TREE_CLONE | sys::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as libc::c_uint;
        let fd = sys::open_tree(libc::AT_FDCWD, src, flags).map_err(|e| Error::os_path("open_tree", &path, e))?;
        let fd = sys::owned(fd);
        let raw = fd.as_raw_fd();
        trees.push(Tree { fd, attrs, idmap, path });
        Ok(raw)
    };
    match &mut plan.root {
        RootOp::Bind { src, path, tree } => *tree = make(src, *path, 0, Idmap::Required)?,
        RootOp::Overlay { lower, path, tree, persist, persist_tree, .. } => {
            *tree = make(lower, *path, 0, Idmap::Required)?;
            if let Some(dir) = persist {
                // The sandbox's root writes there: idmapped so it may.
                *persist_tree = make(dir, *path, 0, Idmap::Required)?;
            }
        }
        RootOp::Tmpfs { .. } => {}
    }
    for op in &mut plan.ops {
        if let Op::Bind { src, src_path, attrs, idmap, tree, .. } = op {
            if *idmap != Idmap::No {
                *tree = make(src, *src_path, *attrs, *idmap)?;
            }
        }
    }
    Ok(trees)
}

/// Idmaps the trees with the user namespace of process `pid` and gives them their
/// attributes.
///
/// # Errors
/// [`Error::Unsupported`] naming the path when a tree that must be idmapped cannot
/// be (a filesystem without idmapped mounts, a kernel before 5.12).
pub(crate) fn idmap(pid: libc::pid_t, trees: &[Tree]) -> Result<()> {
    if trees.is_empty() {
        return Ok(());
    }
    let ns_path = format!("/proc/{pid}/ns/user");
    let userns = nix::fcntl::open(
        ns_path.as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::os_path("open", &ns_path, e))?;
    let flags = (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint;
    for t in trees {
        let mapped = MountAttr {
            attr_set: t.attrs | sys::MOUNT_ATTR_IDMAP,
            userns_fd: userns.as_raw_fd() as u64,
            ..MountAttr::default()
        };
        match sys::mount_setattr(t.fd.as_raw_fd(), c"", flags, &mapped) {
            Ok(()) => {}
            Err(e) if t.idmap == Idmap::BestEffort => {
                let _ = e;
                let plain = MountAttr { attr_set: t.attrs, ..MountAttr::default() };
                sys::mount_setattr(t.fd.as_raw_fd(), c"", flags, &plain)
                    .map_err(|e| Error::os_path("mount_setattr", &t.path, e))?;
            }
            Err(e) => return Err(unsupported(&t.path, e)),
        }
    }
    Ok(())
}

fn unsupported(path: &std::path::Path, e: Errno) -> Error {
    Error::Unsupported {
        feature: "idmapped bind mounts",
        reason: format!(
            "{} cannot be idmapped ({e}): its filesystem or this kernel (before 5.12) does not support it; \
             bind it without a user namespace (UserNamespace::Off) or without idmapping (idmap_binds(false))",
            path.display()
        ),
    }
}
