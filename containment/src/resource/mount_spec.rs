//! Mount specifications: bind mounts (`SRC:DST`), tmpfs mounts (`DST:SIZE`), and the
//! checks every destination inside the sandbox goes through.
//!
//! Everything here works on the bytes of paths, so non-UTF-8 paths are kept
//! byte-exact; only `Display` is lossy for them.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::MemoryLimit;
use crate::error::{Error, Result, ValueKind};

/// The longest destination accepted, in bytes (`PATH_MAX` less the final NUL).
const MAX_PATH_LEN: usize = 4095;
/// The longest component of a destination accepted, in bytes (`NAME_MAX`).
const MAX_COMPONENT_LEN: usize = 255;

/// What a destination accepts, for error messages.
const EXPECTED_DST: &str = "an absolute path inside the sandbox other than /, without '..' \
                            components, shorter than 4096 bytes, like /data";
/// What a bind specification accepts, for error messages.
const EXPECTED_BIND: &str = "SRC:DST or SRC, where DST (or SRC when alone) is an absolute path \
                             inside the sandbox other than /, without '..', like /srv/data:/data";
/// What a source path accepts, for error messages.
const EXPECTED_SRC: &str = "a non-empty path without NUL bytes, like /srv/data";
/// What a tmpfs specification accepts, for error messages.
const EXPECTED_TMPFS: &str = "DST or DST:SIZE, where DST is an absolute path inside the sandbox \
                              other than /, without '..', and SIZE is like 64M, like /tmp:64M";

/// Checks `dst` and returns its normalized form; `Err` holds the reason, worded to
/// follow "the destination ...".
fn destination(bytes: &[u8]) -> std::result::Result<PathBuf, String> {
    if bytes.is_empty() {
        return Err("is empty".into());
    }
    if bytes.contains(&0) {
        return Err("contains a NUL byte".into());
    }
    let components: Vec<&[u8]> = bytes.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".").collect();
    if components.iter().any(|c| *c == b"..") {
        return Err("contains a \"..\" component; a destination cannot step out of a directory".into());
    }
    if bytes.first() != Some(&b'/') {
        return Err("is not absolute; a destination inside the sandbox starts with /".into());
    }
    if let Some(long) = components.iter().find(|c| c.len() > MAX_COMPONENT_LEN) {
        return Err(format!("has a component of {} bytes; the maximum is {MAX_COMPONENT_LEN}", long.len()));
    }
    if components.is_empty() {
        return Err("is the root directory /; mounting over the whole root is not allowed".into());
    }
    let mut out = Vec::with_capacity(bytes.len());
    for c in components {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.len() > MAX_PATH_LEN {
        return Err(format!("is {} bytes long; the maximum is {MAX_PATH_LEN}", out.len()));
    }
    Ok(PathBuf::from(OsString::from_vec(out)))
}

/// Checks a mount destination inside the sandbox and returns it normalized.
///
/// The destination must be absolute, must not contain a `..` component (not even
/// one that would stay inside the root, like `/a/..`), must not contain a NUL byte,
/// must not be `/` itself, must be shorter than 4096 bytes and every component
/// shorter than 256 bytes. The result has duplicate slashes and `.` components
/// removed and no trailing slash (`//a/./b/` becomes `/a/b`); the lengths are
/// checked on it. Non-UTF-8 bytes are kept as they are.
///
/// Errors are [`Error::InvalidValue`] of kind [`ValueKind::Path`].
pub fn validate_destination(dst: &Path) -> Result<PathBuf> {
    let bytes = dst.as_os_str().as_bytes();
    destination(bytes).map_err(|reason| Error::invalid(ValueKind::Path, bytes, format!("it {reason}"), EXPECTED_DST))
}

/// Checks the destination part `dst` of the specification `spec`: a failure is of
/// kind [`ValueKind::Path`], names the whole specification and says which part is
/// wrong.
fn spec_destination(spec: &[u8], dst: &[u8], alone: bool, expected: &'static str) -> Result<PathBuf> {
    destination(dst).map_err(|reason| {
        let reason = if alone {
            format!("the source is also the destination (there is no ':'), and it {reason}")
        } else {
            format!("the destination {:?} {reason}", String::from_utf8_lossy(dst))
        };
        Error::invalid(ValueKind::Path, spec, reason, expected)
    })
}

/// Why `src` is not a bind source, if it is not one.
fn source_problem(src: &[u8]) -> Option<&'static str> {
    if src.is_empty() {
        Some("the source is empty")
    } else if src.contains(&0) {
        Some("the source contains a NUL byte")
    } else {
        None
    }
}

/// Splits `spec` at its last `:`.
fn split_last_colon(spec: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = spec.iter().rposition(|&b| b == b':')?;
    Some((spec.get(..i)?, spec.get(i + 1..)?))
}

/// A bind mount: the host path `src` appears at `dst` inside the sandbox.
///
/// # Text form
///
/// `SRC:DST`, or `SRC` alone meaning the same path inside as outside. The text is
/// split at its **last** `:`, since sources (host paths) contain colons more often
/// than destinations: `/srv/a:b:/data` binds `/srv/a:b` on `/data`. So a
/// destination cannot contain `:` in this form (use [`BindSpec::new`]), and a lone
/// `SRC` must not contain one either.
///
/// `src` must be non-empty and free of NUL bytes; it may be relative (the caller
/// decides what it is relative to) and is kept as given. `dst` goes through
/// [`validate_destination`] and is stored normalized.
///
/// [`BindSpec::parse_os`] works on arbitrary bytes and keeps them exact;
/// [`FromStr`] calls it. [`Display`](fmt::Display) prints `SRC:DST` (lossily for
/// non-UTF-8 paths); for a value whose `dst` has no `:` the output parses back to an
/// equal value.
///
/// Errors about the destination are of kind [`ValueKind::Path`], the others of kind
/// [`ValueKind::MountSpec`]; both name the whole specification.
///
/// ```
/// use containment::BindSpec;
/// let b: BindSpec = "/srv/data:/data/".parse().unwrap();
/// assert_eq!(b.src.to_str(), Some("/srv/data"));
/// assert_eq!(b.dst.to_str(), Some("/data"));
/// assert_eq!(b.to_string(), "/srv/data:/data");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BindSpec {
    /// The path outside the sandbox (as given; possibly relative).
    pub src: PathBuf,
    /// The normalized absolute path inside the sandbox.
    pub dst: PathBuf,
}

impl BindSpec {
    /// A bind mount of `src` on `dst`, checked like a parsed one (`dst` may contain
    /// `:` here, though such a value does not round-trip through its text form).
    ///
    /// Errors about `src` or `dst` are of kind [`ValueKind::Path`] and name that path.
    pub fn new(src: impl Into<PathBuf>, dst: impl AsRef<Path>) -> Result<BindSpec> {
        let src = src.into();
        let bytes = src.as_os_str().as_bytes();
        if let Some(problem) = source_problem(bytes) {
            return Err(Error::invalid(ValueKind::Path, bytes, problem, EXPECTED_SRC));
        }
        let dst = validate_destination(dst.as_ref())?;
        Ok(BindSpec { src, dst })
    }

    /// Parses `SRC:DST` or `SRC` from arbitrary bytes, keeping them exact.
    pub fn parse_os(spec: &OsStr) -> Result<BindSpec> {
        let bytes = spec.as_bytes();
        let err = |reason: &str| Error::invalid(ValueKind::MountSpec, bytes, reason, EXPECTED_BIND);
        if bytes.is_empty() {
            return Err(err("is empty"));
        }
        if bytes.contains(&0) {
            return Err(err("contains a NUL byte"));
        }
        let (src, dst) = match split_last_colon(bytes) {
            Some(([], _)) => {
                return Err(err("the source before ':' is empty"));
            }
            Some((_, [])) => {
                return Err(err("the destination after ':' is empty"));
            }
            Some((src, dst)) => (src, spec_destination(bytes, dst, false, EXPECTED_BIND)?),
            None => (bytes, spec_destination(bytes, bytes, true, EXPECTED_BIND)?),
        };
        if let Some(problem) = source_problem(src) {
            return Err(err(problem));
        }
        Ok(BindSpec { src: PathBuf::from(OsString::from_vec(src.to_vec())), dst })
    }
}

impl FromStr for BindSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<BindSpec> {
        BindSpec::parse_os(OsStr::new(s))
    }
}

impl fmt::Display for BindSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.src.display(), self.dst.display())
    }
}

/// A tmpfs mounted at `dst` inside the sandbox, of at most `size` bytes (the
/// kernel's default, half of the memory, when `None`).
///
/// # Text form
///
/// `DST` or `DST:SIZE`, like `/tmp` or `/tmp:64M`. When there is a `:`, the text
/// after the last one must be a valid [`MemoryLimit`]; so `DST` cannot contain `:`
/// in this form. `dst` goes through [`validate_destination`] and is stored
/// normalized.
///
/// [`TmpfsSpec::parse_os`] works on arbitrary bytes and keeps them exact;
/// [`FromStr`] calls it. [`Display`](fmt::Display) prints `/tmp:64M` or `/tmp`
/// (lossily for non-UTF-8 paths); for a value whose `dst` has no `:` the output
/// parses back to an equal value.
///
/// Errors about the destination are of kind [`ValueKind::Path`], the others
/// (including a bad size) of kind [`ValueKind::MountSpec`]; both name the whole
/// specification.
///
/// ```
/// use containment::TmpfsSpec;
/// let t: TmpfsSpec = "/tmp:64M".parse().unwrap();
/// assert_eq!(t.dst.to_str(), Some("/tmp"));
/// assert_eq!(t.size.map(|s| s.bytes()), Some(64 << 20));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TmpfsSpec {
    /// The normalized absolute path inside the sandbox.
    pub dst: PathBuf,
    /// The size limit of the tmpfs, if any.
    pub size: Option<MemoryLimit>,
}

impl TmpfsSpec {
    /// A tmpfs at `dst` of at most `size` bytes, `dst` checked by
    /// [`validate_destination`] (errors of kind [`ValueKind::Path`]).
    pub fn new(dst: impl AsRef<Path>, size: Option<MemoryLimit>) -> Result<TmpfsSpec> {
        Ok(TmpfsSpec { dst: validate_destination(dst.as_ref())?, size })
    }

    /// Parses `DST` or `DST:SIZE` from arbitrary bytes, keeping them exact.
    pub fn parse_os(spec: &OsStr) -> Result<TmpfsSpec> {
        let bytes = spec.as_bytes();
        let err = |reason: String| Error::invalid(ValueKind::MountSpec, bytes, reason, EXPECTED_TMPFS);
        if bytes.is_empty() {
            return Err(err("is empty".into()));
        }
        if bytes.contains(&0) {
            return Err(err("contains a NUL byte".into()));
        }
        let Some((dst, size)) = split_last_colon(bytes) else {
            let dst = spec_destination(bytes, bytes, false, EXPECTED_TMPFS)?;
            return Ok(TmpfsSpec { dst, size: None });
        };
        if dst.is_empty() {
            return Err(err("the destination before ':' is empty".into()));
        }
        if size.is_empty() {
            return Err(err("the size after ':' is empty".into()));
        }
        let dst = spec_destination(bytes, dst, false, EXPECTED_TMPFS)?;
        let Ok(size_text) = std::str::from_utf8(size) else {
            return Err(err("the size after ':' is not valid UTF-8".into()));
        };
        let size = size_text.parse::<MemoryLimit>().map_err(|e| {
            let why = match e {
                Error::InvalidValue { reason, .. } => reason,
                other => other.to_string(),
            };
            err(format!("the size {size_text:?} after ':' is not valid: {why}"))
        })?;
        Ok(TmpfsSpec { dst, size: Some(size) })
    }
}

impl FromStr for TmpfsSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<TmpfsSpec> {
        TmpfsSpec::parse_os(OsStr::new(s))
    }
}

impl fmt::Display for TmpfsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dst.display())?;
        if let Some(size) = self.size {
            write!(f, ":{size}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn os(b: &[u8]) -> &OsStr {
        OsStr::from_bytes(b)
    }

    /// Checks that `err` is an `InvalidValue` of `kind` naming `value`, whose
    /// reason contains `fact`.
    fn check_err(err: &Error, kind: ValueKind, value: &[u8], fact: &str) {
        let shown = String::from_utf8_lossy(value);
        match err {
            Error::InvalidValue { kind: k, value: v, reason, .. } => {
                assert_eq!(*k, kind, "{shown:?}: {err}");
                assert_eq!(*v, shown, "{err}");
                assert!(reason.contains(fact), "{shown:?}: reason {reason:?} lacks {fact:?}");
            }
            other => panic!("{shown:?}: unexpected error {other:?}"),
        }
        // The message shows the value quoted and escaped (`{:?}`).
        assert!(err.to_string().contains(&format!("{shown:?}")), "{shown:?}: {err}");
    }

    #[test]
    fn good_destinations() {
        let table: &[(&[u8], &[u8])] = &[
            (b"/data", b"/data"),
            (b"/data/", b"/data"),
            (b"//data//x///", b"/data/x"),
            (b"/./a/./b/.", b"/a/b"),
            (b"/a/.../b", b"/a/.../b"),
            (b"/a/..b/c..", b"/a/..b/c.."),
            (b"/a:b", b"/a:b"),
            (b"/d\xff\xfe/\x80", b"/d\xff\xfe/\x80"),
        ];
        for (input, out) in table {
            let got = validate_destination(Path::new(os(input))).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(got.as_os_str().as_bytes(), *out);
        }
        let long_component = format!("/{}", "c".repeat(255));
        assert!(validate_destination(Path::new(&long_component)).is_ok());
        let long_path = format!("/{}", "a/".repeat(2047));
        let got = validate_destination(Path::new(&long_path)).unwrap();
        assert_eq!(got.as_os_str().len(), 4094);
        // Only the normalized length counts.
        let padded = format!("/{}x", "./".repeat(3000));
        assert_eq!(validate_destination(Path::new(&padded)).unwrap(), Path::new("/x"));
    }

    #[test]
    fn bad_destinations() {
        let long_component = format!("/{}", "c".repeat(256));
        let long_path = format!("/{}", "ab/".repeat(1366));
        let table: Vec<(&[u8], &str)> = vec![
            (b"../../etc", "\"..\" component"),
            (b"/a/../../b", "\"..\" component"),
            (b"/a/..", "\"..\" component"),
            (b"/..", "\"..\" component"),
            (b"/a\0b", "NUL byte"),
            (b"", "empty"),
            (b"/", "root directory"),
            (b"///", "root directory"),
            (b"/./.", "root directory"),
            (b"relative/path", "not absolute"),
            (b".", "not absolute"),
            (long_component.as_bytes(), "component of 256 bytes; the maximum is 255"),
            (long_path.as_bytes(), "is 4098 bytes long; the maximum is 4095"),
        ];
        for (input, fact) in table {
            let err = validate_destination(Path::new(os(input))).expect_err("bad destination");
            check_err(&err, ValueKind::Path, input, fact);
        }
    }

    #[test]
    fn good_bind_specs() {
        let table: &[(&[u8], &[u8], &[u8])] = &[
            (b"/srv/data:/data", b"/srv/data", b"/data"),
            (b"/srv/data:/data/", b"/srv/data", b"/data"),
            (b"/srv/data", b"/srv/data", b"/srv/data"),
            (b"/srv/data/", b"/srv/data/", b"/srv/data"),
            (b"relative/dir:/mnt", b"relative/dir", b"/mnt"),
            (b"/a:b:/c", b"/a:b", b"/c"),
            (b"/srv/\xff:/data/\xfe\x80", b"/srv/\xff", b"/data/\xfe\x80"),
        ];
        for (input, src, dst) in table {
            let b = BindSpec::parse_os(os(input)).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(b.src.as_os_str().as_bytes(), *src, "{input:?}");
            assert_eq!(b.dst.as_os_str().as_bytes(), *dst, "{input:?}");
        }
        let b: BindSpec = "/srv/data:/data".parse().unwrap();
        assert_eq!(b, BindSpec::new("/srv/data", "/data").unwrap());
        assert_eq!(b.to_string(), "/srv/data:/data");
        assert_eq!("/x".parse::<BindSpec>().unwrap().to_string(), "/x:/x");
    }

    #[test]
    fn bad_bind_specs() {
        let table: &[(&[u8], ValueKind, &str)] = &[
            (b"", ValueKind::MountSpec, "empty"),
            (b":/data", ValueKind::MountSpec, "source before ':' is empty"),
            (b"/srv:", ValueKind::MountSpec, "destination after ':' is empty"),
            (b":", ValueKind::MountSpec, "source before ':' is empty"),
            (b"/srv\0:/data", ValueKind::MountSpec, "NUL byte"),
            (b"/srv:../../etc", ValueKind::Path, "destination \"../../etc\" contains a \"..\""),
            (b"/srv:/a/../../b", ValueKind::Path, "\"..\" component"),
            (b"/srv:/a/..", ValueKind::Path, "\"..\" component"),
            (b"/srv:/", ValueKind::Path, "root directory"),
            (b"/srv:data", ValueKind::Path, "destination \"data\" is not absolute"),
            (b"data", ValueKind::Path, "no ':'), and it is not absolute"),
            (b"/", ValueKind::Path, "root directory"),
            (b"/a:b", ValueKind::Path, "destination \"b\" is not absolute"),
        ];
        for (input, kind, fact) in table {
            let err = BindSpec::parse_os(os(input)).expect_err("bad bind spec");
            check_err(&err, *kind, input, fact);
            if let Ok(text) = std::str::from_utf8(input) {
                let err = text.parse::<BindSpec>().expect_err(text);
                check_err(&err, *kind, input, fact);
            }
        }
        check_err(&BindSpec::new("", "/x").unwrap_err(), ValueKind::Path, b"", "source is empty");
        check_err(&BindSpec::new("/a\0", "/x").unwrap_err(), ValueKind::Path, b"/a\0", "NUL byte");
        check_err(&BindSpec::new("/a", "/x/..").unwrap_err(), ValueKind::Path, b"/x/..", "\"..\"");
    }

    /// Input, destination, size in bytes, and the value's `Display`.
    type TmpfsCase = (&'static [u8], &'static [u8], Option<u64>, &'static str);

    #[test]
    fn good_tmpfs_specs() {
        let table: &[TmpfsCase] = &[
            (b"/tmp", b"/tmp", None, "/tmp"),
            (b"/tmp/", b"/tmp", None, "/tmp"),
            (b"/tmp:64M", b"/tmp", Some(64 << 20), "/tmp:64M"),
            (b"/run//user:1048576", b"/run/user", Some(1 << 20), "/run/user:1M"),
            (b"/tmp:1000", b"/tmp", Some(1000), "/tmp:1000"),
            (b"/t\xff:2g", b"/t\xff", Some(2 << 30), "/t\u{fffd}:2G"),
        ];
        for (input, dst, size, shown) in table {
            let t = TmpfsSpec::parse_os(os(input)).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(t.dst.as_os_str().as_bytes(), *dst, "{input:?}");
            assert_eq!(t.size.map(MemoryLimit::bytes), *size, "{input:?}");
            assert_eq!(t.to_string(), *shown);
        }
        let t: TmpfsSpec = "/tmp:64M".parse().unwrap();
        assert_eq!(t, TmpfsSpec::new("/tmp", Some(MemoryLimit::from_bytes(64 << 20).unwrap())).unwrap());
    }

    #[test]
    fn bad_tmpfs_specs() {
        let table: &[(&[u8], ValueKind, &str)] = &[
            (b"", ValueKind::MountSpec, "empty"),
            (b"/tmp:", ValueKind::MountSpec, "size after ':' is empty"),
            (b":64M", ValueKind::MountSpec, "destination before ':' is empty"),
            (b"/tmp:64X", ValueKind::MountSpec, "unknown suffix \"X\""),
            (b"/tmp:0", ValueKind::MountSpec, "greater than zero"),
            (b"/tmp:-1M", ValueKind::MountSpec, "sign"),
            (b"/tmp:\xff", ValueKind::MountSpec, "not valid UTF-8"),
            (b"/a:b", ValueKind::MountSpec, "size \"b\" after ':' is not valid"),
            (b"/t\0mp", ValueKind::MountSpec, "NUL byte"),
            (b"tmp", ValueKind::Path, "not absolute"),
            (b"/", ValueKind::Path, "root directory"),
            (b"/:64M", ValueKind::Path, "root directory"),
            (b"/tmp/..:64M", ValueKind::Path, "\"..\" component"),
            (b"../tmp", ValueKind::Path, "\"..\" component"),
        ];
        for (input, kind, fact) in table {
            let err = TmpfsSpec::parse_os(os(input)).expect_err("bad tmpfs spec");
            check_err(&err, *kind, input, fact);
        }
        check_err(&TmpfsSpec::new("x", None).unwrap_err(), ValueKind::Path, b"x", "not absolute");
    }

    /// A normalized absolute UTF-8 path without ':'.
    fn arb_dst() -> impl Strategy<Value = String> {
        "(/[a-zA-Z0-9_é-][a-zA-Z0-9._é-]{0,10}){1,5}"
    }

    proptest! {
        #[test]
        fn bind_round_trips(src in "[a-zA-Z0-9._/é-]{1,30}", dst in arb_dst()) {
            let b = BindSpec::new(src, &dst).unwrap();
            prop_assert_eq!(b.to_string().parse::<BindSpec>().unwrap(), b);
        }

        #[test]
        fn bind_round_trips_with_colons_in_source(src in "[a-z:/]{1,20}", dst in arb_dst()) {
            let b = BindSpec::new(src, &dst).unwrap();
            prop_assert_eq!(b.to_string().parse::<BindSpec>().unwrap(), b);
        }

        #[test]
        fn tmpfs_round_trips(dst in arb_dst(), size in proptest::option::of(1..=u64::MAX)) {
            let size = size.map(|s| MemoryLimit::from_bytes(s).unwrap());
            let t = TmpfsSpec::new(&dst, size).unwrap();
            prop_assert_eq!(t.to_string().parse::<TmpfsSpec>().unwrap(), t);
        }

        #[test]
        fn validated_destinations_are_normal(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = validate_destination(Path::new(os(&bytes))) {
                let b = p.as_os_str().as_bytes();
                prop_assert!(b.starts_with(b"/") && !b.ends_with(b"/"));
                prop_assert!(!b.windows(2).any(|w| w == b"//"));
                prop_assert!(!b.split(|&c| c == b'/').any(|c| c == b"." || c == b".."));
                prop_assert_eq!(validate_destination(&p).unwrap(), p);
            }
        }

        #[test]
        fn non_utf8_specs_are_kept_exact(
            src in prop::collection::vec(any::<u8>().prop_filter("no ':' or NUL", |b| *b != b':' && *b != 0), 1..20),
            dst in prop::collection::vec(any::<u8>().prop_filter("no ':', '/', '.' or NUL", |b| !b":/.\0".contains(b)), 1..20),
        ) {
            let mut spec = src.clone();
            spec.push(b':');
            spec.push(b'/');
            spec.extend_from_slice(&dst);
            let b = BindSpec::parse_os(os(&spec)).unwrap();
            prop_assert_eq!(b.src.as_os_str().as_bytes(), &src[..]);
            prop_assert_eq!(&b.dst.as_os_str().as_bytes()[1..], &dst[..]);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = BindSpec::parse_os(os(&bytes));
            let _ = TmpfsSpec::parse_os(os(&bytes));
            let _ = validate_destination(Path::new(os(&bytes)));
        }

        #[test]
        fn parsing_arbitrary_strings_never_panics(s in any::<String>()) {
            let _ = s.parse::<BindSpec>();
            let _ = s.parse::<TmpfsSpec>();
            let _ = validate_destination(Path::new(&s));
        }

        #[test]
        fn parsing_spec_like_strings_never_panics(s in "[/.:a0-9MkG]{0,16}") {
            if let Ok(b) = s.parse::<BindSpec>() {
                prop_assert_eq!(b.to_string().parse::<BindSpec>().unwrap(), b);
            }
            if let Ok(t) = s.parse::<TmpfsSpec>() {
                prop_assert_eq!(t.to_string().parse::<TmpfsSpec>().unwrap(), t);
            }
        }
    }
}
