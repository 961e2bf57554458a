//! Typed primitives: parsed with `FromStr`, printed with `Display`, validated where
//! they are made. Pure code, no system calls.

mod cpuset;
mod ipv4;
mod memory;
mod mount_spec;
mod rlimit;

pub use cpuset::CpuSet;
pub use ipv4::Ipv4Net;
pub use memory::MemoryLimit;
pub use mount_spec::{validate_destination, BindSpec, TmpfsSpec};
pub use rlimit::{parse_rlimit_spec, Rlimit};
