//! Resource limits of the program's process (`setrlimit`).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result, ValueKind};
use crate::resource::MemoryLimit;

/// A resource limited with `setrlimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Rlimit {
    /// `RLIMIT_AS`: address space in bytes (the old executor's "virtual size").
    AddressSpace,
    /// `RLIMIT_NOFILE`: open descriptors.
    OpenFiles,
    /// `RLIMIT_NPROC`: processes of the real user id (not enforced for uid 0).
    Processes,
    /// `RLIMIT_CPU`: CPU seconds; SIGXCPU at the soft limit, SIGKILL at the hard one.
    CpuSeconds,
    /// `RLIMIT_FSIZE`: the largest file the program may write, in bytes.
    FileSize,
    /// `RLIMIT_CORE`: the largest core dump, in bytes.
    CoreSize,
    /// `RLIMIT_STACK`: stack size in bytes.
    Stack,
    /// `RLIMIT_DATA`: data segment size in bytes.
    Data,
    /// `RLIMIT_MEMLOCK`: locked memory in bytes.
    LockedMemory,
}

const NAMES: &[(Rlimit, &str)] = &[
    (Rlimit::AddressSpace, "as"),
    (Rlimit::OpenFiles, "nofile"),
    (Rlimit::Processes, "nproc"),
    (Rlimit::CpuSeconds, "cpu"),
    (Rlimit::FileSize, "fsize"),
    (Rlimit::CoreSize, "core"),
    (Rlimit::Stack, "stack"),
    (Rlimit::Data, "data"),
    (Rlimit::LockedMemory, "memlock"),
];

const EXPECTED_NAME: &str = "one of as, nofile, nproc, cpu, fsize, core, stack, data, memlock";
const EXPECTED_VALUE: &str = "a whole number (sizes may have a unit such as 512M), or unlimited";

impl Rlimit {
    /// The short name used in text form (`as`, `nofile`, ...).
    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(r, _)| *r == self).map(|(_, n)| *n).unwrap_or("?")
    }

    /// The `RLIMIT_*` resource number.
    pub(crate) fn resource(self) -> libc::c_int {
        (match self {
            Rlimit::AddressSpace => libc::RLIMIT_AS,
            Rlimit::OpenFiles => libc::RLIMIT_NOFILE,
            Rlimit::Processes => libc::RLIMIT_NPROC,
            Rlimit::CpuSeconds => libc::RLIMIT_CPU,
            Rlimit::FileSize => libc::RLIMIT_FSIZE,
            Rlimit::CoreSize => libc::RLIMIT_CORE,
            Rlimit::Stack => libc::RLIMIT_STACK,
            Rlimit::Data => libc::RLIMIT_DATA,
            Rlimit::LockedMemory => libc::RLIMIT_MEMLOCK,
        }) as libc::c_int
    }

    /// The resource for `nix`'s `getrlimit`.
    pub(crate) fn resource_nix(self) -> nix::sys::resource::Resource {
        use nix::sys::resource::Resource;
        match self {
            Rlimit::AddressSpace => Resource::RLIMIT_AS,
            Rlimit::OpenFiles => Resource::RLIMIT_NOFILE,
            Rlimit::Processes => Resource::RLIMIT_NPROC,
            Rlimit::CpuSeconds => Resource::RLIMIT_CPU,
            Rlimit::FileSize => Resource::RLIMIT_FSIZE,
            Rlimit::CoreSize => Resource::RLIMIT_CORE,
            Rlimit::Stack => Resource::RLIMIT_STACK,
            Rlimit::Data => Resource::RLIMIT_DATA,
            Rlimit::LockedMemory => Resource::RLIMIT_MEMLOCK,
        }
    }

    /// Whether the limit is a number of bytes (and so accepts unit suffixes).
    fn is_bytes(self) -> bool {
        !matches!(self, Rlimit::OpenFiles | Rlimit::Processes | Rlimit::CpuSeconds)
    }

    /// Parses a value for this limit: a number, a size for byte limits, or
    /// `unlimited` (`u64::MAX`, the kernel's `RLIM_INFINITY`).
    pub fn parse_value(self, s: &str) -> Result<u64> {
        if s == "unlimited" || s == "infinity" {
            return Ok(u64::MAX);
        }
        if let Ok(n) = s.parse::<u64>() {
            if s.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(n);
            }
        }
        if self.is_bytes() {
            if let Ok(m) = s.parse::<MemoryLimit>() {
                return Ok(m.bytes());
            }
        }
        Err(Error::invalid(
            ValueKind::Number,
            s,
            format!("not a valid value for rlimit {}", self.name()),
            EXPECTED_VALUE,
        ))
    }
}

impl fmt::Display for Rlimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Rlimit {
    type Err = Error;

    /// Accepts the short names (`as`, `nofile`, `nproc`, `cpu`, `fsize`, `core`,
    /// `stack`, `data`, `memlock`), case-insensitively, with or without an
    /// `RLIMIT_` prefix.
    fn from_str(s: &str) -> Result<Rlimit> {
        let lower = s.to_ascii_lowercase();
        let name = lower.strip_prefix("rlimit_").unwrap_or(&lower);
        NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(r, _)| *r)
            .ok_or_else(|| Error::invalid(ValueKind::Argument, s, "unknown rlimit name", EXPECTED_NAME))
    }
}

/// Parses `NAME=VALUE` (as on `contain --rlimit`), giving the same value to the soft
/// and the hard limit.
pub fn parse_rlimit_spec(s: &str) -> Result<(Rlimit, u64)> {
    let Some((name, value)) = s.split_once('=') else {
        return Err(Error::invalid(ValueKind::Argument, s, "missing '='", "NAME=VALUE, such as nofile=256 or as=512M"));
    };
    let r: Rlimit = name.parse()?;
    Ok((r, r.parse_value(value)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (r, n) in NAMES {
            assert_eq!(n.parse::<Rlimit>().unwrap(), *r);
            assert_eq!(r.to_string(), *n);
            assert_eq!(format!("RLIMIT_{}", n.to_uppercase()).parse::<Rlimit>().unwrap(), *r);
        }
    }

    #[test]
    fn specs_parse_with_units_only_for_byte_limits() {
        assert_eq!(parse_rlimit_spec("as=512M").unwrap(), (Rlimit::AddressSpace, 512 << 20));
        assert_eq!(parse_rlimit_spec("nofile=64").unwrap(), (Rlimit::OpenFiles, 64));
        assert_eq!(parse_rlimit_spec("core=0").unwrap(), (Rlimit::CoreSize, 0));
        assert_eq!(parse_rlimit_spec("cpu=unlimited").unwrap(), (Rlimit::CpuSeconds, u64::MAX));
        for bad in ["nofile=1K", "as", "bogus=1", "nofile=-1", "nofile=", "=5", "as=1XB", "nofile=+5"] {
            let e = parse_rlimit_spec(bad).unwrap_err();
            assert!(matches!(e, Error::InvalidValue { .. }), "{bad}: {e}");
        }
    }
}
