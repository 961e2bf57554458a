//! Capabilities the program keeps (by default none).

pub use caps::Capability;

use crate::error::{Error, Result, ValueKind};

/// Parses a capability name: `CAP_NET_BIND_SERVICE`, `cap_net_bind_service` or
/// `net_bind_service`.
///
/// # Errors
/// [`Error::InvalidValue`] naming the value for an unknown name.
pub fn parse_capability(name: &str) -> Result<Capability> {
    let upper = name.trim().to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") };
    full.parse::<Capability>().map_err(|_| {
        Error::invalid(
            ValueKind::Argument,
            name,
            "unknown capability",
            "a capability name such as CAP_NET_BIND_SERVICE",
        )
    })
}

/// The bit mask of `names` (each validated), for the child.
pub(crate) fn mask(names: &[String]) -> Result<u64> {
    names.iter().try_fold(0u64, |m, n| Ok(m | 1u64 << parse_capability(n)?.index()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_every_spelling() {
        for n in ["CAP_NET_BIND_SERVICE", "cap_net_bind_service", "net_bind_service", " Net_Bind_Service "] {
            assert_eq!(parse_capability(n).unwrap(), Capability::CAP_NET_BIND_SERVICE, "{n}");
        }
        assert_eq!(mask(&["chown".into(), "kill".into()]).unwrap(), (1 << 0) | (1 << 5));
        assert_eq!(mask(&[]).unwrap(), 0);
    }

    #[test]
    fn unknown_names_are_an_error() {
        for bad in ["", "CAP_", "net_bind", "CAP_FLY"] {
            match parse_capability(bad) {
                Err(Error::InvalidValue { value, .. }) => assert_eq!(value, bad),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
