//! What the program may do once it runs: the capabilities it keeps and the system
//! calls it may not make.

mod capabilities;
mod seccomp;

pub(crate) use capabilities::mask as capability_mask;
pub use capabilities::{parse_capability, Capability};
pub(crate) use seccomp::compile as compile_seccomp;
pub use seccomp::{known_syscalls, Seccomp, DEFAULT_DENIED};
