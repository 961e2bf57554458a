//! Compiling a [`Sandbox`]'s filesystem description into an [`FsPlan`].

use std::collections::HashSet;
#[cfg(test)]
use std::ffi::CStr;
use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;

use super::rootfs::{etc_secrets, DEV_LINKS, DEV_NODES, PROC_MASKED, PROC_READONLY, SYSTEM_DIRS};
use super::{Dest, FsPlan, Idmap, Layer, NodeKind, Op, RootOp};
use crate::error::{Error, Result, ValueKind};
use crate::resource::validate_destination;
use crate::sandbox::{Root, Sandbox, UserMount};
use crate::sys::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};

/// Where the whiteouts hiding `/etc` secrets are made: under the root's `proc`
/// directory, which the `/proc` mount then covers, so the sandbox never sees them.
const ETC_WHITEOUTS: &str = "/proc/.etc";

/// Size of the sandbox's `/dev` tmpfs: it only holds mount points and symlinks.
const DEV_SIZE: &str = "65536";

/// Builds the plan for `sandbox`. Reads the host (`stat` of sources, the default
/// root's directories) but changes nothing.
///
/// # Errors
/// [`Error::InvalidValue`] for a bad destination or a relative source,
/// [`Error::InvalidConfig`] for two mounts on one destination, [`Error::Os`] when a
/// source or the root directory cannot be found.
pub(crate) fn compile(sandbox: &Sandbox, devpts_gid: bool, in_userns: bool) -> Result<FsPlan> {
    let default_root = matches!(sandbox.root, Root::Default);
    let mut b = Builder {
        plan: FsPlan { root: RootOp::Tmpfs { options: vec![] }, ops: vec![], paths: vec![] },
        own_root: default_root,
        internal: true,
    };
    b.plan.root = match &sandbox.root {
        Root::Default => RootOp::Tmpfs { options: vec![opt("mode", "0755"), opt("size", "1048576")] },
        Root::Chroot(dir) => {
            let src = host_dir(dir, "chroot directory")?;
            RootOp::Bind { src, path: b.path(dir), tree: -1 }
        }
        Root::Overlay { template, upper } => {
            let lower = host_dir(template, "overlay template")?;
            let persist = match upper {
                None => None,
                Some(dir) => {
                    let dir = absolute(dir)?;
                    for d in [dir.join("upper"), dir.join("work")] {
                        std::fs::create_dir_all(&d).map_err(|e| os_err("create overlay directory", &d, e))?;
                    }
                    Some(cstring(&dir)?)
                }
            };
            RootOp::Overlay { lower, path: b.path(template), persist, tree: -1, persist_tree: -1, userxattr: in_userns }
        }
    };

    if default_root {
        b.system_dirs()?;
        b.etc()?;
    }
    b.proc();
    if sandbox.sysfs {
        b.sys();
    }
    b.dev(devpts_gid);
    let user_dsts = sandbox.mounts.iter().map(|m| m.dst()).collect::<Vec<_>>();
    if sandbox.private_tmp && !user_dsts.iter().any(|d| *d == Path::new("/tmp")) {
        let dst = b.dest("/tmp", NodeKind::Dir, false)?;
        b.plan.ops.push(Op::Fs {
            fstype: c"tmpfs",
            options: vec![opt("mode", "1777")],
            dst,
            attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        });
    }
    b.user_mounts(&sandbox.mounts)?;
    if default_root || sandbox.readonly_root {
        b.internal = true;
        let dst = b.dest("/", NodeKind::Dir, false)?;
        b.plan.ops.push(Op::SetAttr { dst, attrs: MOUNT_ATTR_RDONLY });
    }
    Ok(b.plan)
}

struct Builder {
    plan: FsPlan,
    /// The root is a tmpfs the sandbox makes (the default root).
    own_root: bool,
    /// Destinations come from the plan itself, not from the user.
    internal: bool,
}

impl Builder {
    fn path(&mut self, p: &Path) -> u32 {
        self.plan.paths.push(p.to_path_buf());
        (self.plan.paths.len() - 1) as u32
    }

    /// A destination inside the root; `inside` is absolute.
    fn dest(&mut self, inside: &str, kind: NodeKind, no_symlinks: bool) -> Result<Dest> {
        self.dest_path(Path::new(inside), kind, no_symlinks)
    }

    fn dest_path(&mut self, inside: &Path, kind: NodeKind, no_symlinks: bool) -> Result<Dest> {
        let comps: Vec<&OsStr> = inside
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s),
                _ => None,
            })
            .collect();
        let join = |parts: &[&OsStr]| -> Result<CString> {
            if parts.is_empty() {
                return Ok(c".".to_owned());
            }
            let mut v = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    v.push(b'/');
                }
                v.extend_from_slice(p.as_bytes());
            }
            bytes_cstring(v, ValueKind::Path)
        };
        let rel = join(&comps)?;
        let (parent, name) = match comps.split_last() {
            Some((last, init)) => (join(init)?, bytes_cstring(last.as_bytes().to_vec(), ValueKind::Path)?),
            None => (c".".to_owned(), c".".to_owned()),
        };
        let mut ancestors = Vec::new();
        for i in 0..comps.len().saturating_sub(1) {
            ancestors.push((join(&comps[..i])?, bytes_cstring(comps[i].as_bytes().to_vec(), ValueKind::Path)?));
        }
        let path = self.path(inside);
        // Strictly below /dev or /proc (byte prefixes: `Path::starts_with` compares
        // components, and "/proc" itself is a mount point in the rootfs).
        let bytes = inside.as_os_str().as_bytes();
        let in_own_mount = bytes.starts_with(b"/dev/") || bytes.starts_with(b"/proc/");
        let trusted = self.internal && (self.own_root || in_own_mount);
        Ok(Dest { rel, parent, name, ancestors, kind, no_symlinks, trusted, path })
    }

    /// The host's system directories, read-only, or the same symlinks.
    fn system_dirs(&mut self) -> Result<()> {
        for name in SYSTEM_DIRS {
            let host = Path::new("/").join(name);
            let Ok(meta) = std::fs::symlink_metadata(&host) else { continue };
            let inside = format!("/{name}");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&host).map_err(|e| os_err("readlink", &host, e))?;
                let dst = self.dest(&inside, NodeKind::File, false)?;
                self.plan.ops.push(Op::Symlink { target: cstring(&target)?, dst });
            } else if meta.is_dir() {
                let src_path = self.path(&host);
                let dst = self.dest(&inside, NodeKind::Dir, false)?;
                self.plan.ops.push(Op::Bind {
                    src: cstring(&host)?,
                    src_path,
                    dst,
                    attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                    idmap: Idmap::BestEffort,
                    tree: -1,
                });
            }
        }
        Ok(())
    }

    /// `/etc` as a read-only overlay of the host's, with whiteouts over the secrets.
    fn etc(&mut self) -> Result<()> {
        let mut made_dirs = HashSet::new();
        for secret in etc_secrets() {
            let inside = format!("{ETC_WHITEOUTS}/{secret}");
            // Whiteouts need their parent directories in the layer.
            let mut parent = Path::new(&inside).parent();
            let mut missing = vec![];
            while let Some(p) = parent {
                if p == Path::new("/proc") || !made_dirs.insert(p.to_path_buf()) {
                    break;
                }
                missing.push(p.to_path_buf());
                parent = p.parent();
            }
            for dir in missing.into_iter().rev() {
                let dst = self.dest_path(&dir, NodeKind::Dir, true)?;
                self.plan.ops.push(Op::Mkdir { dst });
            }
            let dst = self.dest(&inside, NodeKind::File, true)?;
            self.plan.ops.push(Op::Whiteout { dst });
        }
        let layer = CString::new(&ETC_WHITEOUTS[1..]).expect("constant has no NUL");
        let dst = self.dest("/etc", NodeKind::Dir, true)?;
        self.plan.ops.push(Op::Overlay {
            layers: vec![Layer::InRoot(layer), Layer::Host(c"/etc".to_owned())],
            dst,
            attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        });
        Ok(())
    }

    /// A fresh `/proc` with the kernel's tunables read-only and its sensitive files
    /// masked. Which entries exist is read from the host's `/proc` (the same
    /// kernel).
    fn proc(&mut self) {
        let dst = self.dest("/proc", NodeKind::Dir, true).expect("constant destination");
        self.plan.ops.push(Op::Fs {
            fstype: c"proc",
            options: vec![],
            dst,
            attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        });
        for name in PROC_READONLY {
            if std::fs::symlink_metadata(format!("/proc/{name}")).is_ok() {
                let dst = self.dest(&format!("/proc/{name}"), NodeKind::File, true).expect("constant destination");
                self.plan.ops.push(Op::Rebind {
                    dst,
                    attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                });
            }
        }
        for name in PROC_MASKED {
            let Ok(meta) = std::fs::symlink_metadata(format!("/proc/{name}")) else { continue };
            let inside = format!("/proc/{name}");
            if meta.is_dir() {
                let dst = self.dest(&inside, NodeKind::Dir, true).expect("constant destination");
                self.plan.ops.push(Op::Fs {
                    fstype: c"tmpfs",
                    options: vec![opt("size", "4096"), opt("mode", "0555")],
                    dst,
                    attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                });
            } else {
                let src_path = self.path(Path::new("/dev/null"));
                let dst = self.dest(&inside, NodeKind::File, true).expect("constant destination");
                // Not `nodev`: reading the mask must give end-of-file, not EACCES.
                self.plan.ops.push(Op::Bind {
                    src: c"/dev/null".to_owned(),
                    src_path,
                    dst,
                    attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
                    idmap: Idmap::No,
                    tree: -1,
                });
            }
        }
    }

    /// `/sys`, read-only.
    fn sys(&mut self) {
        let dst = self.dest("/sys", NodeKind::Dir, true).expect("constant destination");
        self.plan.ops.push(Op::Fs {
            fstype: c"sysfs",
            options: vec![],
            dst,
            attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        });
    }

    /// A minimal `/dev`: a small tmpfs with the host's harmless device nodes bound
    /// in, its own `devpts`, `shm`, and the standard symlinks; read-only at the end.
    fn dev(&mut self, devpts_gid: bool) {
        let dst = self.dest("/dev", NodeKind::Dir, true).expect("constant destination");
        self.plan.ops.push(Op::Fs {
            fstype: c"tmpfs",
            options: vec![opt("mode", "0755"), opt("size", DEV_SIZE)],
            dst,
            attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
        });
        for node in DEV_NODES {
            let host = format!("/dev/{node}");
            if std::fs::metadata(&host).is_err() {
                continue;
            }
            let src_path = self.path(Path::new(&host));
            let dst = self.dest(&host, NodeKind::File, true).expect("constant destination");
            self.plan.ops.push(Op::Bind {
                src: CString::new(host).expect("constant has no NUL"),
                src_path,
                dst,
                attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
                idmap: Idmap::No,
                tree: -1,
            });
        }
        let mut pts = vec![opt("newinstance", ""), opt("ptmxmode", "0666"), opt("mode", "0620")];
        if devpts_gid {
            pts.push(opt("gid", "5"));
        }
        let dst = self.dest("/dev/pts", NodeKind::Dir, true).expect("constant destination");
        self.plan.ops.push(Op::Fs {
            fstype: c"devpts",
            options: pts,
            dst,
            attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
        });
        let dst = self.dest("/dev/shm", NodeKind::Dir, true).expect("constant destination");
        self.plan.ops.push(Op::Fs {
            fstype: c"tmpfs",
            options: vec![opt("mode", "1777")],
            dst,
            attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
        });
        for (name, target) in DEV_LINKS {
            let dst = self.dest(&format!("/dev/{name}"), NodeKind::File, true).expect("constant destination");
            self.plan.ops.push(Op::Symlink { target: CString::new(*target).expect("constant has no NUL"), dst });
        }
        let dst = self.dest("/dev", NodeKind::Dir, true).expect("constant destination");
        self.plan.ops.push(Op::SetAttr { dst, attrs: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC });
    }

    fn user_mounts(&mut self, mounts: &[UserMount]) -> Result<()> {
        // The user's destinations are resolved inside the root, symlinks clamped.
        self.internal = false;
        let mut seen = HashSet::new();
        for m in mounts {
            let dst = validate_destination(m.dst())?;
            if !seen.insert(dst.clone()) {
                return Err(Error::InvalidConfig(format!(
                    "two mounts on {}; give each destination once",
                    dst.display()
                )));
            }
            match m {
                UserMount::Bind { src, readonly, .. } => {
                    let src = absolute(src)?;
                    let meta = std::fs::metadata(&src).map_err(|e| os_err("bind source", &src, e))?;
                    let kind = if meta.is_dir() { NodeKind::Dir } else { NodeKind::File };
                    let src_path = self.path(&src);
                    let dst = self.dest_path(&dst, kind, false)?;
                    let mut attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
                    if *readonly {
                        attrs |= MOUNT_ATTR_RDONLY;
                    }
                    self.plan.ops.push(Op::Bind {
                        src: cstring(&src)?,
                        src_path,
                        dst,
                        attrs,
                        idmap: Idmap::Required,
                        tree: -1,
                    });
                }
                UserMount::Tmpfs { size, .. } => {
                    let dst = self.dest_path(&dst, NodeKind::Dir, false)?;
                    let mut options = vec![opt("mode", "1777")];
                    if let Some(size) = size {
                        options.push(opt("size", &size.bytes().to_string()));
                    }
                    self.plan.ops.push(Op::Fs {
                        fstype: c"tmpfs",
                        options,
                        dst,
                        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                    });
                }
            }
        }
        Ok(())
    }
}

fn opt(key: &str, value: &str) -> (CString, CString) {
    (CString::new(key).expect("option key has no NUL"), CString::new(value).expect("option value has no NUL"))
}

fn os_err(op: &'static str, path: &Path, e: std::io::Error) -> Error {
    Error::os_path(op, path, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// Checks that `p` is absolute and has no NUL.
fn absolute(p: &Path) -> Result<PathBuf> {
    if !p.is_absolute() {
        return Err(Error::invalid(
            ValueKind::Path,
            p.as_os_str().as_bytes(),
            "a host path must be absolute",
            "an absolute path such as /srv/data",
        ));
    }
    cstring(p)?;
    Ok(p.to_path_buf())
}

/// An absolute host directory that exists, as a C string.
fn host_dir(p: &Path, what: &'static str) -> Result<CString> {
    let p = absolute(p)?;
    let meta = std::fs::metadata(&p).map_err(|e| os_err(what, &p, e))?;
    if !meta.is_dir() {
        return Err(Error::os_path(what, p, Errno::ENOTDIR));
    }
    cstring(&p)
}

pub(crate) fn cstring(p: &Path) -> Result<CString> {
    bytes_cstring(p.as_os_str().as_bytes().to_vec(), ValueKind::Path)
}

fn bytes_cstring(v: Vec<u8>, kind: ValueKind) -> Result<CString> {
    CString::new(v).map_err(|e| {
        let bytes = e.into_vec();
        Error::invalid(kind, &bytes, "contains a NUL byte", "a path without NUL bytes")
    })
}

/// The name of a C string constant, for tests.
#[cfg(test)]
fn s(c: &CStr) -> &str {
    c.to_str().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryLimit;

    fn ops_summary(plan: &FsPlan) -> Vec<String> {
        plan.ops
            .iter()
            .map(|op| match op {
                Op::Mkdir { dst } => format!("mkdir {}", s(&dst.rel)),
                Op::Symlink { target, dst } => format!("symlink {} -> {}", s(&dst.rel), s(target)),
                Op::Whiteout { dst } => format!("whiteout {}", s(&dst.rel)),
                Op::Bind { src, dst, attrs, .. } => {
                    format!(
                        "bind {} {} {}",
                        s(src),
                        s(&dst.rel),
                        if attrs & MOUNT_ATTR_RDONLY != 0 { "ro" } else { "rw" }
                    )
                }
                Op::Fs { fstype, dst, .. } => format!("{} {}", s(fstype), s(&dst.rel)),
                Op::Overlay { dst, .. } => format!("overlay {}", s(&dst.rel)),
                Op::SetAttr { dst, attrs } => format!("setattr {} {attrs:#x}", s(&dst.rel)),
                Op::Rebind { dst, .. } => format!("rebind {}", s(&dst.rel)),
            })
            .collect()
    }

    #[test]
    fn chroot_gives_proc_dev_tmp_then_user_mounts_in_order() {
        let sb =
            Sandbox::new().chroot("/").bind_ro("/usr", "/in").tmpfs("/scratch", "1M".parse::<MemoryLimit>().unwrap());
        let plan = compile(&sb, true, false).unwrap();
        assert_eq!(plan.root, RootOp::Bind { src: c"/".to_owned(), path: 0, tree: -1 });
        let ops = ops_summary(&plan);
        let pos = |needle: &str| ops.iter().position(|o| o == needle).unwrap_or_else(|| panic!("{needle} in {ops:?}"));
        assert!(pos("proc proc") < pos("tmpfs dev"));
        assert!(pos("proc proc") < pos("rebind proc/sys"));
        assert!(pos("proc proc") < pos("bind /dev/null proc/keys ro"));
        assert!(pos("tmpfs dev") < pos("bind /dev/null dev/null rw"));
        assert!(pos("devpts dev/pts") < pos("tmpfs tmp"));
        assert!(pos("tmpfs tmp") < pos("bind /usr in ro"));
        assert!(pos("bind /usr in ro") < pos("tmpfs scratch"));
        assert!(!ops.iter().any(|o| o.starts_with("setattr . ")), "a chroot stays writable by default: {ops:?}");
        // Only what lies inside the sandbox's own mounts skips resolution.
        let trusted = |rel: &str| {
            plan.ops.iter().find_map(|op| match op {
                Op::Bind { dst, .. } | Op::Fs { dst, .. } if s(&dst.rel) == rel => Some(dst.trusted),
                _ => None,
            })
        };
        assert_eq!(trusted("proc"), Some(false), "the rootfs's /proc may be a planted symlink");
        assert_eq!(trusted("dev/null"), Some(true));
        assert_eq!(trusted("in"), Some(false), "a user's destination");
    }

    #[test]
    fn default_root_hides_etc_secrets_and_ends_read_only() {
        let plan = compile(&Sandbox::new(), true, false).unwrap();
        let ops = ops_summary(&plan);
        assert!(ops.contains(&"whiteout proc/.etc/shadow".to_string()), "{ops:?}");
        assert!(ops.contains(&"whiteout proc/.etc/gshadow".to_string()));
        assert!(ops.contains(&"mkdir proc/.etc/ssl".to_string()));
        assert!(ops.contains(&"whiteout proc/.etc/ssl/private".to_string()));
        let overlay = ops.iter().position(|o| o == "overlay etc").unwrap();
        let proc = ops.iter().position(|o| o == "proc proc").unwrap();
        assert!(overlay < proc, "whiteouts must be covered by /proc afterwards");
        assert_eq!(ops.last().unwrap(), &format!("setattr . {MOUNT_ATTR_RDONLY:#x}"));
        assert!(ops.iter().any(|o| o == "bind /usr usr ro"));
    }

    #[test]
    fn destinations_are_split_for_mkdir_p() {
        let mut b = Builder {
            plan: FsPlan { root: RootOp::Tmpfs { options: vec![] }, ops: vec![], paths: vec![] },
            own_root: false,
            internal: false,
        };
        let d = b.dest("/a/b/c", NodeKind::Dir, false).unwrap();
        assert_eq!(s(&d.rel), "a/b/c");
        assert_eq!(s(&d.parent), "a/b");
        assert_eq!(s(&d.name), "c");
        let anc: Vec<(String, String)> =
            d.ancestors.iter().map(|(p, n)| (s(p).to_string(), s(n).to_string())).collect();
        assert_eq!(anc, vec![(".".into(), "a".into()), ("a".into(), "b".into())]);
        let root = b.dest("/", NodeKind::Dir, false).unwrap();
        assert_eq!(s(&root.rel), ".");
    }

    #[test]
    fn bad_mounts_are_rejected_before_anything_is_made() {
        let dup = Sandbox::new().bind("/usr", "/x").bind("/etc", "/x/");
        assert!(matches!(compile(&dup, true, false), Err(Error::InvalidConfig(m)) if m.contains("/x")));
        let rel = Sandbox::new().bind("usr", "/x");
        assert!(matches!(compile(&rel, true, false), Err(Error::InvalidValue { kind: ValueKind::Path, .. })));
        let missing = Sandbox::new().bind("/nonexistent-containment-src", "/x");
        match compile(&missing, true, false) {
            Err(Error::Os { errno: Errno::ENOENT, path: Some(p), .. }) => {
                assert_eq!(p, Path::new("/nonexistent-containment-src"))
            }
            other => panic!("{other:?}"),
        }
        let dotdot = Sandbox::new().bind("/usr", "/a/../../etc");
        assert!(matches!(compile(&dotdot, true, false), Err(Error::InvalidValue { kind: ValueKind::Path, .. })));
        let no_root = Sandbox::new().chroot("/nonexistent-containment-root");
        assert!(matches!(compile(&no_root, true, false), Err(Error::Os { errno: Errno::ENOENT, .. })));
    }

    #[test]
    fn non_utf8_paths_are_kept_byte_exact() {
        let dir = std::env::temp_dir().join(OsStr::from_bytes(b"containment-\xff-src"));
        std::fs::create_dir_all(&dir).unwrap();
        let sb = Sandbox::new().bind(&dir, OsStr::from_bytes(b"/in-\xfe"));
        let plan = compile(&sb, true, false).unwrap();
        let found = plan.ops.iter().any(|op| {
            matches!(op, Op::Bind { src, dst, .. }
                if src.as_bytes() == dir.as_os_str().as_bytes() && dst.rel.as_bytes() == b"in-\xfe")
        });
        std::fs::remove_dir(&dir).unwrap();
        assert!(found);
    }
}
