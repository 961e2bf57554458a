//! The filesystem plan: the ordered list of mount operations that builds a sandbox's
//! root, compiled from a [`Sandbox`](crate::Sandbox) in the supervisor. It is plain
//! data holding every byte the child needs, so it can be checked without root
//! ("these options give these operations in this order"); the child side only
//! executes it.

mod plan;
mod rootfs;

use std::ffi::{CStr, CString};

pub(crate) use plan::{compile, cstring as cstring_path};

/// What kind of node a mount point is, when it has to be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Dir,
    File,
}

/// A place inside the new root, resolved by the child with `openat2` relative to
/// the root's descriptor and `RESOLVE_IN_ROOT`, so neither `..` nor a symlink planted
/// in the rootfs can lead outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dest {
    /// The path relative to the root (`usr/lib`), `.` for the root itself.
    pub rel: CString,
    /// The parent of `rel`, relative to the root (`.` at the top).
    pub parent: CString,
    /// The last component of `rel`.
    pub name: CString,
    /// Every ancestor directory to create when missing, outermost first, as
    /// (its parent relative to the root, its name).
    pub ancestors: Vec<(CString, CString)>,
    /// What to create when `rel` is missing.
    pub kind: NodeKind,
    /// Refuse symlinks anywhere on the way (`RESOLVE_NO_SYMLINKS`): for `/proc` and
    /// `/dev`, which a hostile rootfs might point elsewhere.
    pub no_symlinks: bool,
    /// Inside a mount the sandbox made itself (its tmpfs root, its `/dev`, its
    /// `/proc`) and named by the plan, not by the user: no symlink planted by
    /// anyone can be on the way, so the child uses the path relative to the root
    /// directly instead of resolving it with `openat2` first.
    pub trusted: bool,
    /// Index of the path (as seen inside) in the plan's path table, for errors.
    pub path: u32,
}

/// A lower layer of an overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layer {
    /// A path of the host.
    Host(CString),
    /// A directory inside the new root, relative to it (reached through
    /// `/proc/self/fd/<root>/...` before the pivot).
    InRoot(CString),
}

/// Whether a bind is made as an idmapped mount (under a user namespace, by a root
/// supervisor), so that host files keep their owners inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idmap {
    /// Never (device nodes, masks).
    No,
    /// When the filesystem supports it (the default root's system directories:
    /// only how owners look is at stake).
    BestEffort,
    /// Always, or the spawn fails saying why (the user's binds and root).
    Required,
}

/// A detached mount tree the supervisor prepared, or -1 for "the init makes it".
pub(crate) type Tree = std::os::fd::RawFd;

/// How the new root is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootOp {
    /// A fresh tmpfs.
    Tmpfs { options: Vec<(CString, CString)> },
    /// A recursive bind of a host directory.
    Bind { src: CString, path: u32, tree: Tree },
    /// An overlay with `lower` as its only lower layer; the upper layer is a fresh
    /// tmpfs, or `upper` and `work` in the host directory `persist`. With a `tree`,
    /// the lower layer is that (idmapped) tree; with a `persist_tree`, the host
    /// directory is. `userxattr`: the overlay is made in a user namespace.
    Overlay { lower: CString, path: u32, persist: Option<CString>, tree: Tree, persist_tree: Tree, userxattr: bool },
}

/// One step after the root exists, executed in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Make sure a directory exists.
    Mkdir { dst: Dest },
    /// Create a symlink `dst` pointing to `target`.
    Symlink { target: CString, dst: Dest },
    /// Create an overlayfs whiteout (character device 0/0) at `dst`.
    Whiteout { dst: Dest },
    /// Bind a host path onto `dst`, recursively, with mount attributes `attrs`;
    /// from `tree` when the supervisor prepared it.
    Bind { src: CString, src_path: u32, dst: Dest, attrs: u64, idmap: Idmap, tree: Tree },
    /// Mount a new filesystem instance (`tmpfs`, `proc`, `devpts`) with string options.
    Fs { fstype: &'static CStr, options: Vec<(CString, CString)>, dst: Dest, attrs: u64 },
    /// Mount a read-only overlay of `layers` (topmost first).
    Overlay { layers: Vec<Layer>, dst: Dest, attrs: u64 },
    /// Set mount attributes on the mount at `dst` (not recursively).
    SetAttr { dst: Dest, attrs: u64 },
    /// Bind `dst` (inside the root) onto itself with attributes `attrs`: makes a
    /// part of a mount read-only, such as `/proc/sys`.
    Rebind { dst: Dest, attrs: u64 },
}

/// The whole filesystem plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FsPlan {
    pub root: RootOp,
    pub ops: Vec<Op>,
    /// Paths named by errors, indexed by the `path` fields above.
    pub paths: Vec<std::path::PathBuf>,
}
